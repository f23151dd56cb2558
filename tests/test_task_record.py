"""One record per task: every task's registry entry names the functions that generate, load
and score it, and a new task is one new entry. A toy task, registered here and nowhere else,
is generated, read from local files and from a hub copy, checked by the cache stage and
scored, through the same code paths as the paper's tasks."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hub_helpers import cache_copy

from taskconflict import registry
from taskconflict.cache import SourceError, cache_sources
from taskconflict.config import TaskDataConfig
from taskconflict.data import sources
from taskconflict.data.prepare import check_splits, load_splits
from taskconflict.metrics import parse_prediction, score

# --- the paper's tasks -------------------------------------------------------------------------


def refs(task: registry.Task) -> list[registry.Ref]:
    """Every function the task's record names."""
    named: list[registry.Ref | None] = [task.parse, *(m.function for m in task.metric_fns)]
    if task.generated:
        named += [task.generated.build, task.generated.draw, task.generated.draw_test]
    if task.local:
        named += [task.local.load, task.local.files, task.local.read, task.local.near_miss]
    if task.from_hub:
        named += [task.from_hub.load, task.from_hub.convert]
    return [ref for ref in named if ref is not None]


@pytest.mark.parametrize("name", registry.TASKS)
def test_every_function_a_record_names_resolves(name):
    task = registry.get_task(name)
    for ref in refs(task):
        assert callable(registry.resolve(ref)), (name, ref)
    assert task.generated and task.local, name  # every task has offline and local data
    official = {"train", *task.test_splits}
    assert set(registry.resolve(task.local.files)(task, Path("/data"))) == official, name
    if task.from_hub:
        assert {ours for ours, _ in task.from_hub.splits} == official, name
    assert len(set(task.metrics)) == len(task.metrics)


def test_an_unknown_function_is_named():
    with pytest.raises(ValueError, match="taskconflict.metrics:nope"):
        registry.resolve("taskconflict.metrics:nope")
    with pytest.raises(ValueError, match="names no function"):
        registry.resolve("taskconflict.metrics")


def test_the_registry_imports_no_loader_metric_or_library():
    code = ("import sys, taskconflict.registry as r; r.get_task('squad').metric_fns; "
            "print(sorted(m for m in ('torch', 'numpy', 'pandas', 'datasets', "
            "'taskconflict.metrics', 'taskconflict.data.glue_real', 'taskconflict.config') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_each_local_loader_names_every_file_it_opens(tmp_path):
    """A directory holding only the files the records name loads as the full one does (the
    fixtures also hold files no loader reads: test splits, tst2014, ...)."""
    from test_decanlp_real import write_decanlp
    from test_glue_real import write_tsv

    full = {"glue": write_tsv(tmp_path / "glue"), "decanlp": write_decanlp(tmp_path / "deca")}
    with contextlib.redirect_stderr(io.StringIO()):
        for name, task in registry.TASKS.items():
            root, only = full[task.benchmark], tmp_path / "only" / name
            for path in sources.needed_files(task, root):
                (only / path.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, only / path.relative_to(root))
            assert len(list(only.rglob("*.*"))) < len(list(root.rglob("*.*"))), name
            cfg = TaskDataConfig(name, "local", 3, 1, 1, 0.25, 0.0, location=str(root))
            everything = load_splits(cfg)
            for split, frame in load_splits(replace_location(cfg, only)).items():
                pd.testing.assert_frame_equal(frame, everything[split])


def replace_location(cfg: TaskDataConfig, location: Path) -> TaskDataConfig:
    from dataclasses import replace

    return replace(cfg, location=str(location))


# --- a toy task, registered here only ----------------------------------------------------------

def toy_draw(rng, genres):
    """An example: a number, labelled by its parity."""
    number = rng.randrange(10**6)
    return {"text": f"the number {number} ."}, number % 2


def toy_parse(task, text, words=()):
    """Answers in any case."""
    answer = text.strip().lower()
    return task.label_words.index(answer) if answer in task.label_words else None


def toy_hits(predictions: np.ndarray, labels: np.ndarray) -> float:
    return 100 * float(np.mean(predictions == labels))


def toy_longest(predictions, references, weights):
    """A text metric that takes a data column: the weighted share of answers at least as long
    as their reference."""
    hits = [w * (len(p) >= len(r[0])) for p, r, w in zip(predictions, references, weights,
                                                          strict=True)]
    return 100 * sum(hits) / sum(weights)


TOY = registry.Task(
    name="toy",
    benchmark="toybench",
    display="Toy",
    kind=registry.CLASSIFICATION,
    fields=("text",),
    metric_fns=(registry.Metric("hits", toy_hits), registry.ACCURACY),
    parse=toy_parse,
    generated=registry.Generated("taskconflict.data.glue_generated:generate_task", toy_draw),
    local=registry.Local(load="taskconflict.data.glue_real:load_tsv",
                         files="taskconflict.data.glue_real:tsv_files",
                         remedy="put TOY/train.tsv and TOY/dev.tsv in data.local.toybench",
                         tsv=registry.TsvFormat("TOY", (0,), 1)),
    from_hub=registry.Hub("someone/toy", "taskconflict.data.glue_real:load_hub",
                          columns=("text", "label")),
    label_words=("even", "odd"),
    prompt="toy text: {text}",
)
TOY_TEXT = registry.Task(
    name="toy_text",
    benchmark="toybench",
    display="Toy text",
    kind=registry.SEQUENCE,
    fields=("context", "question"),
    metric_fns=(registry.Metric("longest", toy_longest, inputs=("weights",)),),
    parse=registry.PARSE_TEXT,
    extra_columns=("weights",),
)


@pytest.fixture
def toy(monkeypatch) -> registry.Task:
    monkeypatch.setitem(registry.TASKS, "toy", TOY)
    monkeypatch.setitem(registry.TASKS, "toy_text", TOY_TEXT)
    monkeypatch.setitem(registry.BENCHMARKS, "toybench", ("toy", "toy_text"))
    return TOY


def toy_rows(split: str, n: int) -> list[tuple[str, int]]:
    return [(f"{split} number {i} .", i % 2) for i in range(n)]


def test_a_toy_task_is_generated_by_its_records_generator(toy):
    splits = load_splits(TaskDataConfig("toy", "generated", 0, 50, 10, 0.2, 0.0))
    check_splits(toy, splits)
    assert [len(splits[s]) for s in ("train", "validation", "test")] == [40, 10, 10]
    for frame in splits.values():
        numbers = frame["text"].str.split().str[2].astype(int)
        assert (numbers % 2 == frame["label"]).all()  # test labels: the rule's


def test_a_toy_task_is_read_from_its_local_files_and_checked_by_the_cache_stage(toy, tmp_path):
    folder = tmp_path / "toy" / "TOY"
    folder.mkdir(parents=True)
    for name, split, n in (("train.tsv", "train", 10), ("dev.tsv", "dev", 4)):
        lines = ["text\tlabel", *(f"{t}\t{y}" for t, y in toy_rows(split, n))]
        (folder / name).write_text("\n".join(lines) + "\n")
    cfg = TaskDataConfig("toy", "local", 0, 1, 1, 0.2, 0.0, location=str(tmp_path / "toy"))
    splits = load_splits(cfg)
    check_splits(toy, splits)
    assert splits["test"]["text"].tolist() == [t for t, _ in toy_rows("dev", 4)]
    cache_sources([cfg], [], tmp_path / "cache")
    assert (tmp_path / "cache" / "datasets" / "toy" / "manifest.json").is_file()
    (folder / "dev.tsv").unlink()
    with pytest.raises(SourceError) as error:
        cache_sources([cfg], [], tmp_path / "cache2")
    assert (f"toybench/toy: no {folder / 'dev.tsv'} (data.local.toybench: {tmp_path / 'toy'}); "
            "put TOY/train.tsv and TOY/dev.tsv in data.local.toybench, or use source hub"
            ) in str(error.value)


def test_a_toy_task_is_read_from_the_cache_stages_copy_of_its_hub_dataset(toy, tmp_path):
    snapshot = tmp_path / "someone-toy"  # jsonl files named by their split, as on the hub
    snapshot.mkdir()
    for split, n in (("train", 10), ("validation", 4)):
        lines = [f'{{"text": "{t}", "label": {y}}}' for t, y in toy_rows(split, n)]
        (snapshot / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    folder = cache_copy(snapshot, toy.hub_config, tmp_path / "cache" / "toy")
    splits = load_splits(TaskDataConfig("toy", "hub", 0, 1, 1, 0.2, 0.0, location="someone/toy"),
                         folder)
    check_splits(toy, splits)
    assert splits["test"]["text"].tolist() == [t for t, _ in toy_rows("validation", 4)]
    assert len(splits["train"]) + len(splits["validation"]) == 10


def test_a_toy_task_is_parsed_and_scored_by_its_records_functions(toy):
    assert [parse_prediction(toy, t) for t in ("ODD", " even ", "one")] == [1, 0, None]
    result = score(toy, [parse_prediction(toy, t) for t in ("odd", "EVEN", "?")], [1, 1, 0])
    assert result == {"hits": pytest.approx(100 / 3), "accuracy": pytest.approx(100 / 3),
                      "bad_outputs": 1, "examples": 3}


def test_a_toy_text_task_is_scored_with_the_columns_its_metric_names(toy):
    from taskconflict.evaluate import score_text

    frame = pd.DataFrame({"answer": ["abc", "abcd", "ab"], "weights": [1.0, 2.0, 1.0]})
    data = SimpleNamespace(frame=frame, lost_answers=0)
    scores = score_text(TOY_TEXT, ["abcd", "ab", " "], data)
    # "abcd" >= "abc" (weight 1), "ab" < "abcd", " " < "ab": 1 / 4; the blank one is bad
    assert scores == {"longest": pytest.approx(25.0), "examples": 3, "bad_outputs": 1}
