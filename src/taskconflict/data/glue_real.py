"""The real GLUE benchmark, read into the normalised data schema.

Two sources, so that a run never needs the network after the cache stage:

- `tsv` (source local): the original GLUE directory that GLUE-baselines'
  `download_glue_data.py` writes, `<dir>/<Folder>/train.tsv` and `dev.tsv` (MNLI:
  `dev_matched.tsv`, `dev_mismatched.tsv`); each task's registry entry says where its columns
  are (`registry.TsvFormat`). MRPC must be `MRPC/train.tsv` and `MRPC/dev.tsv` as that script
  makes them from Microsoft's `msr_paraphrase_train.txt` and GLUE's dev ids; the raw
  `msr_paraphrase_*.txt` files alone are not read, because the dev split is defined by those
  ids.
- `hub` (source hub): the cache stage's copy of the hub dataset `nyu-mll/glue`
  (`datasets.load_dataset("nyu-mll/glue", task)` saved to disk; `sources.hub_split`).

GLUE's test labels are hidden (the hub stores -1), so, as in the paper, the official dev split
is the test set and a seeded random fraction of the official train split is held out as
validation (the paper's code takes the last 5% unshuffled).

Rows with an empty text or no label are dropped, and QQP's malformed rows skipped, each with a
note on stderr that names the file and the lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from taskconflict import registry
from taskconflict.data import sources
from taskconflict.data.holdout import held_out

LAYOUTS = ("tsv", "hub")

MISSING_WORDS = ("", "-")
"""Label cells that mean "no gold label" (MultiNLI writes `-` where annotators disagreed)."""


class _Official(NamedTuple):
    """One official split as read: text fields and a float label (NaN: none), and where each
    row comes from (`at`: its line, or its row in the hub split)."""

    frame: pd.DataFrame
    origin: str
    unit: str
    at: list[int]


def load_glue_task(task: str, layout: str, directory: str | Path, seed: int,
                   validation_fraction: float) -> dict[str, pd.DataFrame]:
    """All splits of one real GLUE task, normalised, from the TSV layout or the cache stage's
    copy of the hub dataset (`layout` hub)."""
    if task not in registry.BENCHMARKS["glue"]:
        raise ValueError(
            f"unknown GLUE task {task!r}; GLUE tasks: {', '.join(registry.BENCHMARKS['glue'])}"
        )
    if layout not in LAYOUTS:
        raise ValueError(f"glue {task}: unknown layout {layout!r}; layouts: {', '.join(LAYOUTS)}")
    spec = registry.get_task(task)
    load = load_tsv if layout == "tsv" else load_hub
    return load(spec, Path(directory), seed, validation_fraction)


def load_tsv(task: registry.Task, directory: Path, seed: int,
             validation_fraction: float) -> dict[str, pd.DataFrame]:
    """All splits of a task from GLUE's TSV files (`Local.load` of the GLUE tasks).

    `train` and `validation` partition the official train rows that have text and a label
    (validation: a `validation_fraction` of them drawn by `seed`, at least one row, both kept in
    file order); `test` is the official dev split (MNLI: matched; `test_mismatched`:
    mismatched).
    """
    _check_fraction(task, validation_fraction)
    files = sources.require(task, directory)
    raw = {split: _read_tsv(task, path) for split, (path,) in files.items()}
    return _finish(task, raw, seed, validation_fraction)


def tsv_files(task: registry.Task, directory: Path) -> dict[str, tuple[Path, ...]]:
    """The TSV file of each official split (`Local.files` of the GLUE tasks)."""
    tsv = _format(task)
    return {split: (directory / tsv.folder / name,) for split, name in tsv.files}


def load_hub(task: registry.Task, directory: Path, seed: int,
             validation_fraction: float) -> dict[str, pd.DataFrame]:
    """All splits of a task from the cache stage's copy of its hub dataset (`Hub.load` of the
    GLUE tasks): the same frames as `load_tsv` gives for the same rows."""
    _check_fraction(task, validation_fraction)
    hub = task.from_hub
    if hub is None:
        raise ValueError(f"{_who(task)}: the registry names no hub dataset for it")
    raw = {ours: _read_hub(task, directory, theirs) for ours, theirs in hub.splits}
    return _finish(task, raw, seed, validation_fraction)


def _who(task: registry.Task) -> str:
    """How messages name the task (GLUE's or another benchmark's reusing these readers)."""
    return f"{task.benchmark} {task.name}"


def _check_fraction(task: registry.Task, validation_fraction: float) -> None:
    if not 0 < validation_fraction < 1:
        raise ValueError(
            f"{_who(task)}: validation_fraction must lie in (0, 1), not {validation_fraction}"
        )


def _format(task: registry.Task) -> registry.TsvFormat:
    if task.local is None or task.local.tsv is None:
        raise ValueError(f"{_who(task)}: the registry gives no TSV format for it")
    return task.local.tsv


def _finish(task: registry.Task, raw: dict[str, _Official], seed: int,
            fraction: float) -> dict[str, pd.DataFrame]:
    kept = {split: _drop_unusable(task, split, official) for split, official in raw.items()}
    train, validation = _hold_out(task, kept.pop("train"), seed, fraction)
    splits = {"train": train, "validation": validation, **kept}
    return {name: _numbered(task, frame) for name, frame in splits.items()}


# --- the TSV layout ----------------------------------------------------------------------------

class _Malformed(ValueError):
    """A row that QQP skips and every other task rejects."""


def _read_tsv(task: registry.Task, path: Path) -> _Official:
    """One GLUE TSV file as text fields and a float label (NaN: no label).

    Quoting is off (GLUE's texts contain unbalanced quotes), so a row is its line split at
    tabs; `utf-8-sig` drops MRPC's byte order mark. Where the format skips malformed rows
    (QQP), a row whose text holds a line break is one malformed row, however many lines it
    spans.
    """
    fmt = _format(task)
    texts: list[tuple[str, ...]] = []
    labels: list[float] = []
    lines: list[int] = []
    skipped: list[str] = []
    width = fmt.width
    with path.open(encoding="utf-8-sig") as file:
        numbered = _Lines(file)
        for number, line in numbered:
            cells = line.split("\t")
            if width is None:
                width = len(cells)
                continue
            if not line:
                continue
            try:
                if len(cells) != width:
                    raise _Malformed(f"{len(cells)} tab-separated columns, expected {width}")
                labels.append(_tsv_label(task, fmt, cells[fmt.label]))
            except ValueError as error:
                if fmt.skip_malformed and isinstance(error, _Malformed):
                    last = numbered.rest_of_row(len(cells), width) if len(cells) < width else 0
                    skipped.append(f"{number}-{last}" if last else str(number))
                    continue
                raise ValueError(f"{_who(task)}: {path} line {number}: {error}") from None
            texts.append(tuple(cells[i] for i in fmt.texts))
            lines.append(number)
    if skipped:
        sources.note(f"{_who(task)}: skipped {len(skipped)} malformed rows of {path} (wrong "
                     f"column count or a non-integer label): {sources.numbers('line', skipped)}")
    frame = pd.DataFrame(texts, columns=list(task.fields), dtype=object)
    frame["label"] = np.asarray(labels, dtype="float64")
    return _Official(frame, str(path), "line", lines)


class _Lines:
    """(number, text) of a file's lines, with room to put lines back after looking ahead."""

    def __init__(self, file) -> None:
        self._lines = enumerate(file, start=1)
        self._back: list[tuple[int, str]] = []

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return self

    def __next__(self) -> tuple[int, str]:
        if self._back:
            return self._back.pop()
        number, line = next(self._lines)
        return number, line.rstrip("\n")

    def rest_of_row(self, cells: int, width: int) -> int:
        """Where a row of `cells` < `width` columns continues on the next lines (a line break
        in its text), the number of its last line, those lines consumed; else 0."""
        taken: list[tuple[int, str]] = []
        while cells < width:
            following = next(self, None)
            if following is None or not following[1]:
                if following is not None:
                    taken.append(following)
                break
            taken.append(following)
            cells += len(following[1].split("\t")) - 1
        if cells == width and taken:
            return taken[-1][0]
        self._back.extend(reversed(taken))
        return 0


def _tsv_label(task: registry.Task, fmt: registry.TsvFormat, cell: str) -> float:
    """A label cell as a class index or score; NaN where the row has no label."""
    cell = cell.strip()
    words = task.label_words
    if task.kind == registry.REGRESSION:
        if cell == "":
            return math.nan
        try:
            return float(cell)
        except ValueError:
            raise ValueError(f"score {cell!r} is not a number") from None
    if fmt.words:
        if cell in words:
            return float(words.index(cell))
        if cell in MISSING_WORDS:
            return math.nan
        raise ValueError(f"unknown label {cell!r}; expected one of {', '.join(words)}")
    if cell == "":
        return math.nan
    try:
        value = int(cell)
    except ValueError:
        raise _Malformed(f"label {cell!r} is not an integer") from None
    if not 0 <= value < len(words):
        raise ValueError(f"label {value} outside 0..{len(words) - 1}")
    return float(value)


# --- the hub copy ------------------------------------------------------------------------------

def _read_hub(task: registry.Task, directory: Path, split: str) -> _Official:
    """One hub split as text fields and a float label (NaN where the hub stores -1)."""
    hub = task.from_hub
    assert hub is not None
    origin = sources.hub_origin(task, split)
    frame = sources.hub_split(task, directory, split).select_columns(list(hub.columns))
    frame = frame.to_pandas()
    label = frame["label"]
    if label.dtype == np.float32:
        # The hub stores STS-B scores as float32; their shortest decimal is the TSV's text.
        label = pd.to_numeric(label.astype(str))
    label = label.astype("float64").where(label != -1)
    if task.kind == registry.CLASSIFICATION:
        bad = label.notna() & ~label.isin(range(len(task.label_words)))
        if bad.any():
            raise ValueError(
                f"{_who(task)}: {origin} (in {directory}) row {int(np.flatnonzero(bad)[0])}: "
                f"label {label[bad].iloc[0]:g} outside 0..{len(task.label_words) - 1}"
            )
    frame["label"] = label
    return _Official(frame[[*task.fields, "label"]], origin, "row", list(range(len(frame))))


# --- shared ------------------------------------------------------------------------------------

def _drop_unusable(task: registry.Task, split: str, official: _Official) -> pd.DataFrame:
    """Strip the texts and drop rows with an empty text or no label, naming them."""
    frame = official.frame.copy()
    bad = frame["label"].isna().to_numpy(copy=True)
    for field in task.fields:
        frame[field] = frame[field].astype("string").str.strip()
        bad |= frame[field].fillna("").eq("").to_numpy(dtype=bool)
    if bad.any():
        at = [official.at[i] for i in np.flatnonzero(bad)]
        sources.note(f"{_who(task)}: dropped {int(bad.sum())} of {len(frame)} rows of "
                     f"{official.origin} (our {split} split) with an empty text or no label: "
                     f"{sources.numbers(official.unit, at)}")
    return frame[~bad]


def _hold_out(task: registry.Task, frame: pd.DataFrame, seed: int,
              fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation): a seeded random `fraction` of the rows held out, order kept."""
    held = held_out(len(frame), seed, fraction, f"{_who(task)}")
    return frame[~held], frame[held]


def _numbered(task: registry.Task, frame: pd.DataFrame) -> pd.DataFrame:
    """The data contract's columns and dtypes, `idx` counting the split's rows from 0."""
    label_dtype = "float64" if task.kind == registry.REGRESSION else "int64"
    out = frame[list(task.fields)].astype("string").reset_index(drop=True)
    out.insert(0, "idx", np.arange(len(out), dtype="int64"))
    out["label"] = frame["label"].to_numpy().astype(label_dtype)
    return out

