"""The experiment factors: every choice a cell of the grid or its training recipe varies, once.

A factor lists its levels: the name config.yaml writes and a cell id spells, the words a table
row or figure legend shows, and what it means. Everything else reads these entries: the
config schema's enums (`workflow/schemas/factors.schema.yaml` is generated from this module:
`python -m taskconflict.factors`; a test checks that it is current), the grid's cell ids, the
Snakemake wildcards, the tables' row names and the figures' legends, colours and order.

Grid factors (`GRID_FACTORS`) make different cells:
- `architecture` is a folder of the cell id, and `mode` says whether the id names one task
  or `multi`;
- the variant factors (`VARIANT_FACTORS`: prompts, output space, decoder, aggregator) are
  joined into the id's `<prompts>-<output_space>-<decoder>-<aggregator>` folder, in this
  order. A new one is added
  here, with a default, and nothing else changes: config runs may list it, cells expand over
  it, its level is one more part of the variant folder.

Recipe factors (`RECIPE_FACTORS`) are options of `train:` (how every cell is trained): one
value per preset, no new cells.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Level:
    name: str
    """How config.yaml and a cell id spell it (no `-`: the variant folder joins with it)."""
    meaning: str
    label: str = ""
    """Figure legends (the name when empty)."""
    row: str = ""
    """What a table row's name adds for a variant factor's non-default level."""
    color: str = ""
    """Matplotlib colour of its lines (matplotlib's cycle when empty)."""

    @property
    def display(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Factor:
    key: str
    """The config key of a run (grid factors) or of `train:` (recipe factors), and the
    attribute of a cell."""
    title: str
    """Legend title and human name."""
    meaning: str
    levels: tuple[Level, ...]
    default: str | None = None
    """The level a config that names none gets (None: a run must name it)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(level.name for level in self.levels)

    def level(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise ValueError(f"unknown {self.title} {name!r}; known: {', '.join(self.names)}")

    def check(self, name: str) -> str:
        """`name` if it is one of the levels; a ValueError naming the factor otherwise."""
        return self.level(name).name

    def label(self, name: str) -> str:
        return self.level(name).display

    def color(self, name: str) -> str:
        return self.level(name).color or f"C{self.names.index(name)}"


ARCHITECTURE = Factor("architecture", "architecture", "how the tasks share the model", (
    Level("canonical", "shared T5 encoder, a head per task (mean-pooled linear; span heads)",
          color="tab:blue"),
    Level("text-to-text-id", "shared encoder, a copy of the pre-trained decoder per task",
          color="tab:orange"),
    Level("text-to-text", "one fully shared T5, the task in the prompt", color="tab:green"),
))
MODE = Factor("mode", "training mode", "one model per task, or one for all tasks", (
    Level("single-task", "one cell per task"),
    Level("multi-task", "one cell for all tasks, following the sum of their gradients"),
))
PROMPTS = Factor("prompts", "prompt style", "what the input says about the task", (
    Level("null", "the bare input", label="null prompts", row="null prompts"),
    Level("default", "T5's task prefixes", label="default prompts", row="default prompts"),
    Level("diverse", "one of several templates per task, drawn per training row",
          label="diverse prompts", row="diverse prompts"),
), default="default")
OUTPUT_SPACE = Factor("output_space", "output space",
                      "which words a text-to-text model answers a classification task with", (
    Level("default", "the T5 paper's label words", label="T5 label words",
          row="default output space"),
    Level("overlapping", "a few letters shared across tasks", label="overlapping letters",
          row="overlapping letters"),
    Level("distinct", "letters no two classes of any task share", label="distinct letters",
          row="distinct letters"),
), default="default")
DECODER = Factor("decoder", "decoder initialisation", "where the decoder (and LM head) starts", (
    Level("pretrained", "the pre-trained weights", label="pre-trained",
          row="pre-trained decoder", color="tab:blue"),
    Level("reinit", "T5's fresh initialisation", label="re-initialised", row="re-init decoder",
          color="tab:red"),
), default="pretrained")

AGGREGATOR = Factor("aggregator", "aggregator",
                    "how a multi-task step combines the task gradients of the shared "
                    "parameters (aggregators.py: TorchJD's weighting of each)", (
    Level("sum", "the paper's step: the sum of the task gradients", label="sum (the paper)",
          row="sum", color="black"),
    Level("mean", "their mean (weights 1/K)", row="mean", color="tab:gray"),
    Level("random", "random loss weighting: softmax of K normal draws per step", label="RLW",
          row="RLW", color="tab:olive"),
    Level("upgrad", "UPGrad: each gradient projected onto the dual cone of all",
          label="UPGrad", row="UPGrad", color="tab:blue"),
    Level("dualproj", "DualProj: the mean projected onto the dual cone", label="DualProj",
          row="DualProj", color="tab:cyan"),
    Level("mgda", "MGDA: the minimum-norm point of the gradients' convex hull", label="MGDA",
          row="MGDA", color="tab:green"),
    Level("pcgrad", "PCGrad: conflicting components projected away", label="PCGrad",
          row="PCGrad", color="tab:red"),
    Level("cagrad", "CAGrad: the worst task's progress maximised near the mean",
          label="CAGrad", row="CAGrad", color="tab:purple"),
    Level("imtl_g", "IMTL-G: equal projections on every unit task gradient", label="IMTL-G",
          row="IMTL-G", color="tab:orange"),
    Level("aligned_mtl", "Aligned-MTL: gradients made orthogonal and equal in norm",
          label="Aligned-MTL", row="Aligned-MTL", color="tab:brown"),
    Level("fairgrad", "FairGrad: alpha-fair progress among tasks", label="FairGrad",
          row="FairGrad", color="tab:pink"),
    Level("gradvac", "GradVac: cosines moved towards their running average",
          label="GradVac", row="GradVac", color="navy"),
    Level("pcd", "Priority-Constrained Descent: the first task first", label="PCD",
          row="PCD", color="gold"),
    Level("krum", "Krum: the gradient closest to its nearest others", label="Krum",
          row="Krum", color="teal"),
), default="sum")

GRID_FACTORS: tuple[Factor, ...] = (ARCHITECTURE, MODE, PROMPTS, OUTPUT_SPACE, DECODER,
                                    AGGREGATOR)
VARIANT_FACTORS: tuple[Factor, ...] = (PROMPTS, OUTPUT_SPACE, DECODER, AGGREGATOR)
"""The factors joined, in this order, into a cell id's variant folder."""

DEFAULT_PROMPTS = {"canonical": "null"}
"""The prompt style of a run that names none, where it is not `PROMPTS.default`: canonical
heads read the bare input (the paper's canonical style, `'{}'` / `'{} {}'`: no task prefix,
since each task has its own head)."""


def default_level(factor: Factor, architecture: str) -> str:
    """The level of a variant factor that a run of `architecture` gets when it names none."""
    if factor is PROMPTS:
        return DEFAULT_PROMPTS.get(architecture, PROMPTS.default)
    assert factor.default is not None, factor.key
    return factor.default


STEP_MODE = Factor("step_mode", "step mode", "how many passes compute a multi-task step", (
    Level("auto", "the fastest measured on the device (per-task on CPU, fused on CUDA)"),
    Level("fused", "one forward/backward over the concatenated task batches"),
    Level("per-task", "one pass per task, as the paper's code"),
    Level("grouped", "one pass per group of tasks whose inputs have similar lengths"),
), default="auto")
SCHEDULE = Factor("schedule", "learning-rate schedule",
                  "the rate after the linear warm-up (transformers' get_scheduler)", (
    Level("constant", "constant"),
    Level("linear", "linear decay to 0 at the last step"),
    Level("cosine", "cosine decay to 0 at the last step"),
), default="constant")
CONFLICT_PARAMETERS = Factor(
    "conflict_parameters", "conflict parameter set",
    "the tensors of each stack whose task gradients are compared", (
        Level("blocks-without-norms", "the paper's code: the blocks without layer norms or "
              "embedding (names with 'encoder' and without 'layer_norm')"),
        Level("blocks", "the blocks with their layer norms"),
        Level("stack", "every tensor of the stack, embedding and final layer norm included"),
    ), default="blocks-without-norms")
DECODER_REINIT = Factor("decoder_reinit", "decoder re-initialisation",
                        "what a re-initialised decoder starts afresh", (
    Level("blocks", "the paper's code: blocks and layer norms; embedding and LM head stay "
          "pre-trained"),
    Level("full", "the embedding and LM head too"),
), default="blocks")
EVAL_MODE = Factor("eval_mode", "evaluation mode", "how a text-to-text cell's answers are read", (
    Level("generate", "greedy decoding: real outputs"),
    Level("teacher_forced", "the argmax of the logits given the gold prefix, as the paper's "
          "code scores (inflates sequence scores)"),
), default="generate")
PRECISION = Factor("precision", "precision", "the arithmetic of training", (
    Level("fp32", "fp32 throughout"),
    Level("bf16", "bf16 autocast, fp32 weights and optimizer state"),
    Level("fp16", "refused: T5 v1.1 overflows fp16"),
), default="fp32")

RECIPE_FACTORS: tuple[Factor, ...] = (STEP_MODE, SCHEDULE, CONFLICT_PARAMETERS, DECODER_REINIT,
                                      EVAL_MODE, PRECISION)
FACTORS: dict[str, Factor] = {f.key: f for f in (*GRID_FACTORS, *RECIPE_FACTORS)}


def variant_keys() -> tuple[str, ...]:
    return tuple(f.key for f in VARIANT_FACTORS)


def variant_pattern() -> str:
    """A regular expression that matches every variant folder (Snakemake's wildcard)."""
    return "-".join("(?:" + "|".join(f.names) + ")" for f in VARIANT_FACTORS)


def variant_name(**levels: str) -> str:
    """A cell id's variant folder, `<prompts>-<output_space>-<decoder>-<aggregator>`, from the
    levels given (defaults for the others)."""
    unknown = set(levels) - set(variant_keys())
    if unknown:
        raise ValueError(f"not a variant factor: {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(variant_keys())}")
    return "-".join(f.check(levels.get(f.key, f.default)) for f in VARIANT_FACTORS)


def parse_variant(variant: str) -> dict[str, str]:
    """The levels of a variant folder, by factor key."""
    parts = variant.split("-")
    if len(parts) != len(VARIANT_FACTORS):
        raise ValueError(f"variant {variant!r} is not {'-'.join(variant_keys())}")
    return {f.key: f.check(part) for f, part in zip(VARIANT_FACTORS, parts, strict=True)}


# --- the schema's enums ------------------------------------------------------------------------

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "factors.schema.yaml"


def schema() -> dict:
    """JSON-schema definitions of every factor: `$defs/<key>` (one level) and, for the variant
    factors, `$defs/<key>_list` (one level or a list to expand over); `$defs/run` is a run of
    an experiment."""
    defs: dict = {}
    for f in (*GRID_FACTORS, *RECIPE_FACTORS):
        levels = "; ".join(f"{level.name}: {level.meaning}" for level in f.levels)
        default = f" (default {f.default})" if f.default else ""
        defs[f.key] = {"description": f"{f.title}, {f.meaning}{default}. {levels}",
                       "enum": list(f.names)}
    for f in VARIANT_FACTORS:
        one = {"$ref": f"#/$defs/{f.key}"}
        defs[f"{f.key}_list"] = {
            "description": f"one {f.title} or a list of them to expand over",
            "oneOf": [one, {"type": "array", "minItems": 1, "uniqueItems": True, "items": one}]}
    defs["run"] = {
        "description": "one line of an experiment: an architecture and mode, with the variant "
                       "factors to expand over",
        "type": "object",
        "required": ["architecture", "mode"],
        "additionalProperties": False,
        "properties": {
            "architecture": {"$ref": "#/$defs/architecture"},
            "mode": {"$ref": "#/$defs/mode"},
            **{f.key: {"$ref": f"#/$defs/{f.key}_list"} for f in VARIANT_FACTORS},
            "measure_decoder": {"description": "measure conflict in the decoder too (not part "
                                "of the cell id)", "type": "boolean"},
        },
    }
    defs["restriction"] = {
        "description": "a preset's selection from an experiment: its benchmarks, and the "
                       "levels of each variant factor to keep",
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            "benchmarks": {"type": "array", "minItems": 1, "uniqueItems": True,
                           "items": {"enum": ["glue", "decanlp"]}},
            **{f.key: {"type": "array", "minItems": 1, "uniqueItems": True,
                       "items": {"$ref": f"#/$defs/{f.key}"}} for f in VARIANT_FACTORS},
        },
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs}


def schema_text() -> str:
    import yaml

    header = ("# Generated from src/taskconflict/factors.py by `python -m taskconflict.factors`:"
              " do not edit.\n")
    return header + yaml.safe_dump(schema(), sort_keys=False, width=100)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    path.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {path}")
