"""The factor registry: the schema's enums, cell ids, table rows and the config read it, and a new
factor is a one-place addition."""

from __future__ import annotations

import copy
import re
import shutil

import pytest
import yaml
from snakemake.utils import validate
from workflow_helpers import ROOT

from taskconflict import factors
from taskconflict.config import TrainConfig, load_config
from taskconflict.grid import Cell, all_cells, experiment_cells, main_variant
from taskconflict.tables import TABLES

SCHEMAS = ROOT / "workflow" / "schemas"


def test_the_generated_schema_is_current():
    """workflow/schemas/factors.schema.yaml is `python -m taskconflict.factors`'s output."""
    assert (SCHEMAS / "factors.schema.yaml").read_text() == factors.schema_text()


def test_schema_enums_equal_the_registry():
    defs = yaml.safe_load((SCHEMAS / "factors.schema.yaml").read_text())["$defs"]
    for factor in (*factors.GRID_FACTORS, *factors.RECIPE_FACTORS):
        assert defs[factor.key]["enum"] == list(factor.names), factor.key
    run = defs["run"]["properties"]
    assert set(run) == {"architecture", "mode", "measure_decoder", *factors.variant_keys()}
    config_schema = (SCHEMAS / "config.schema.yaml").read_text()
    for factor in factors.RECIPE_FACTORS:  # the train section refers to them, lists none
        assert f'{factor.key}: {{$ref: "factors.schema.yaml#/$defs/{factor.key}"}}' in (
            config_schema)
    assert "canonical" not in config_schema and "overlapping" not in config_schema


def test_defaults_live_in_the_typed_config_only():
    """The schema sets no default; a key left out takes its dataclass default, which for a
    recipe factor is the factor's."""
    schema = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text())

    def keys(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from keys(value)
        elif isinstance(node, list):
            for value in node:
                yield from keys(value)

    assert "default" not in set(keys(schema)) - {"required"}
    for factor in factors.RECIPE_FACTORS:
        assert getattr(TrainConfig(), factor.key) == factor.default


def test_cell_ids_spell_every_variant_factor_in_order():
    cell = Cell("glue", "small", "text-to-text", "multi",
                factors.variant_name(prompts="diverse", decoder="reinit"), seed=2)
    assert cell.id == "glue/small/text-to-text/multi/diverse-default-reinit-sum/seed2"
    assert (cell.prompts, cell.output_space, cell.decoder, cell.aggregator) == (
        "diverse", "default", "reinit", "sum")
    assert Cell.from_id(cell.id) == cell
    assert re.fullmatch(factors.variant_pattern(), cell.variant)
    assert main_variant("canonical") == "null-default-pretrained-sum"
    with pytest.raises(ValueError, match="unknown prompt style 'fancy'"):
        factors.variant_name(prompts="fancy")
    with pytest.raises(ValueError, match="unknown architecture"):
        Cell("glue", "small", "rnn", "multi")


def test_table_rows_and_legends_read_the_levels():
    rows = {row.label: row for row in TABLES[3].rows}
    assert rows["text-to-text multi-task re-init decoder"].variant == (
        "default-default-reinit-sum")
    assert factors.DECODER.label("reinit") == "re-initialised"
    assert factors.OUTPUT_SPACE.label("default") == "T5 label words"
    assert factors.ARCHITECTURE.color("text-to-text") == "tab:green"
    assert factors.PROMPTS.color("diverse") == "C2"  # no colour of its own: the cycle's


# --- a new factor is one entry in factors.py -------------------------------------------------

TOY = factors.Factor("toy", "toy factor", "a harmless extra choice", (
    factors.Level("plain", "as before"), factors.Level("fancy", "the other way")),
    default="plain")


@pytest.fixture
def toy_factor(monkeypatch, tmp_path):
    """factors.py with one more variant factor: the only edit a new factor needs (and the
    schema file that `python -m taskconflict.factors` writes from it)."""
    monkeypatch.setattr(factors, "VARIANT_FACTORS", (*factors.VARIANT_FACTORS, TOY))
    monkeypatch.setattr(factors, "GRID_FACTORS", (*factors.GRID_FACTORS, TOY))
    monkeypatch.setattr(factors, "FACTORS", {**factors.FACTORS, "toy": TOY})
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    (schemas / "factors.schema.yaml").write_text(factors.schema_text())
    return schemas / "config.schema.yaml"


def test_a_new_factor_is_a_one_place_addition(toy_factor):
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["preset"] = "smoke"
    raw["experiments"]["table2"]["runs"][1]["toy"] = ["plain", "fancy"]
    validate(raw, str(toy_factor))  # the schema accepts it ...
    bad = copy.deepcopy(raw)
    bad["experiments"]["table2"]["runs"][1]["toy"] = "odd"
    with pytest.raises(Exception, match="odd"):  # ... and only its levels
        validate(bad, str(toy_factor))

    cfg = load_config(raw)
    cells = experiment_cells(cfg, "table2")
    multi = [c for c in cells if c.multi_task and c.benchmark == "glue" and c.seed == 0]
    assert sorted(c.variant for c in multi) == [
        f"{prompts}-default-pretrained-sum-{toy}" for prompts in ("default", "diverse", "null")
        for toy in ("fancy", "plain")]
    fancy = next(c for c in multi if c.toy == "fancy")
    assert Cell.from_id(fancy.id) == fancy
    assert fancy.id.split("/")[-2].endswith("-default-pretrained-sum-fancy")
    # runs that do not name it get its default
    single = [c for c in cells if not c.multi_task]
    assert {c.variant for c in single} == {"null-default-pretrained-sum-plain"}
    assert all(c.toy == "plain" for c in all_cells(cfg).values()
               if c.architecture == "canonical")
    assert re.fullmatch(factors.variant_pattern(), fancy.variant)
