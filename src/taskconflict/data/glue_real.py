"""The real GLUE benchmark, read from local files into the normalised data schema.

Two on-disk layouts, so that a run never needs the network:

- `tsv`: the original GLUE directory that GLUE-baselines' `download_glue_data.py` writes,
  `<dir>/<Folder>/train.tsv` and `dev.tsv` (MNLI: `dev_matched.tsv`, `dev_mismatched.tsv`).
  MRPC must be `MRPC/train.tsv` and `MRPC/dev.tsv` as that script makes them from Microsoft's
  `msr_paraphrase_train.txt` and GLUE's dev ids; the raw `msr_paraphrase_*.txt` files alone are
  not read, because the dev split is defined by those ids.
- `hub`: a local snapshot of the hub dataset `nyu-mll/glue`, parquet files
  `<dir>/<config>/<split>-NNNNN-of-NNNNN.parquet` (the parquet-converter layout
  `<dir>/<config>/<split>/NNNN.parquet` is read too).

GLUE's test labels are hidden (the hub stores -1), so, as in the paper, the official dev split
is the test set and a seeded random fraction of the official train split is held out as
validation (the paper's code takes the last 5% unshuffled). The hub's config names are the
registry's task names.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from taskconflict import registry
from taskconflict.data.holdout import held_out

LAYOUTS = ("tsv", "hub")

MISSING_WORDS = ("", "-")
"""Label cells that mean "no gold label" (MultiNLI writes `-` where annotators disagreed)."""


@dataclass(frozen=True)
class _TsvFormat:
    """Where a task's GLUE TSV files keep the fields we read (0-based columns)."""

    folder: str
    texts: tuple[int, ...]
    """Columns of the registry's `fields`, in their order."""
    label: int
    """Column of the label; -1 is the last column (its position differs between files)."""
    width: int | None = None
    """Column count of a file without a header row; None: the header row fixes it."""
    words: bool = False
    """The label is a label word (registry order), not a number."""
    skip_malformed: bool = False
    """Skip rows with the wrong column count or a non-integer label instead of failing (QQP,
    whose questions contain stray line breaks)."""


_TSV = {
    "cola": _TsvFormat("CoLA", (3,), 1, width=4),
    "sst2": _TsvFormat("SST-2", (0,), 1),
    "mrpc": _TsvFormat("MRPC", (3, 4), 0),
    "stsb": _TsvFormat("STS-B", (7, 8), -1),
    "qqp": _TsvFormat("QQP", (3, 4), 5, skip_malformed=True),
    "mnli": _TsvFormat("MNLI", (8, 9), -1, words=True),
    "qnli": _TsvFormat("QNLI", (1, 2), -1, words=True),
    "rte": _TsvFormat("RTE", (1, 2), -1, words=True),
}

_TSV_HINT = (
    "point data.local.glue at a GLUE directory laid out as download_glue_data.py writes it, "
    "or use source hub"
)
_HUB_HINT = (
    "point data.local.glue at a local snapshot of the hub dataset nyu-mll/glue "
    "(hf download nyu-mll/glue --repo-type dataset --local-dir DIR), or use source tsv"
)
_MRPC_HINT = (
    " (MRPC's msr_paraphrase_*.txt files are not enough: download_glue_data.py "
    "--path_to_mrpc makes train.tsv and dev.tsv from them)"
)


class _Malformed(ValueError):
    """A row that QQP skips and every other task rejects."""


def load_glue_task(task: str, layout: str, directory: str | Path, seed: int,
                   validation_fraction: float) -> dict[str, pd.DataFrame]:
    """All splits of one real GLUE task, normalised.

    `train` and `validation` partition the official train rows that have text and a label
    (validation: a `validation_fraction` of them drawn by `seed`, at least one row, both kept in
    file order); `test` is the official dev split (MNLI: matched; `test_mismatched`:
    mismatched). Rows without text or label are dropped, with a warning that counts them.
    """
    if task not in registry.BENCHMARKS["glue"]:
        raise ValueError(
            f"unknown GLUE task {task!r}; GLUE tasks: {', '.join(registry.BENCHMARKS['glue'])}"
        )
    if layout not in LAYOUTS:
        raise ValueError(f"glue {task}: unknown layout {layout!r}; layouts: {', '.join(LAYOUTS)}")
    if not 0 < validation_fraction < 1:
        raise ValueError(
            f"glue {task}: validation_fraction must lie in (0, 1), not {validation_fraction}"
        )
    spec = registry.get_task(task)
    directory = Path(directory)
    official = _official_splits(spec)
    if layout == "tsv":
        files = {name: _tsv_path(spec, directory, source) for name, source in official.items()}
        raw = {name: _read_tsv(spec, path) for name, path in files.items()}
    else:
        shards = {name: _hub_shards(spec, directory, source) for name, source in official.items()}
        raw = {name: _read_hub(spec, paths) for name, paths in shards.items()}
    kept = {name: _drop_unusable(spec, frame, f"{name} (official {official[name]} split)")
            for name, frame in raw.items()}
    train, validation = _hold_out(spec, kept.pop("train"), seed, validation_fraction)
    splits = {"train": train, "validation": validation, **kept}
    return {name: _numbered(spec, frame) for name, frame in splits.items()}


def _official_splits(task: registry.Task) -> dict[str, str]:
    """Our split names -> the official split each comes from, by the hub's split names."""
    dev = {"test": "validation"}
    if "test_mismatched" in task.test_splits:
        dev = {"test": "validation_matched", "test_mismatched": "validation_mismatched"}
    return {"train": "train", **dev}


def _tsv_path(task: registry.Task, directory: Path, split: str) -> Path:
    """The TSV file of an official split; fails naming the path and how to provide it."""
    folder = directory / _TSV[task.name].folder
    name = "train.tsv" if split == "train" else split.replace("validation", "dev") + ".tsv"
    path = folder / name
    if not path.is_file():
        hint = _MRPC_HINT if task.name == "mrpc" else ""
        raise _missing(task, path, directory, f"{hint}; {_TSV_HINT}")
    return path


def _missing(task: registry.Task, path: Path, directory: Path, hint: str) -> FileNotFoundError:
    gone = "" if directory.is_dir() else f" (the directory {directory} does not exist)"
    return FileNotFoundError(f"glue {task.name}: no {path}{gone}{hint}")


def _read_tsv(task: registry.Task, path: Path) -> pd.DataFrame:
    """One GLUE TSV file as text fields and a float label (NaN: no label).

    Quoting is off (GLUE's texts contain unbalanced quotes), so a row is its line split at
    tabs; `utf-8-sig` drops MRPC's byte order mark.
    """
    fmt = _TSV[task.name]
    texts: list[tuple[str, ...]] = []
    labels: list[float] = []
    skipped = 0
    width = fmt.width
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, start=1):
            cells = line.rstrip("\n").split("\t")
            if width is None:
                width = len(cells)
                continue
            if not line.rstrip("\n"):
                continue
            try:
                if len(cells) != width:
                    raise _Malformed(f"{len(cells)} tab-separated columns, expected {width}")
                labels.append(_tsv_label(task, fmt, cells[fmt.label]))
            except ValueError as error:
                if fmt.skip_malformed and isinstance(error, _Malformed):
                    skipped += 1
                    continue
                raise ValueError(f"glue {task.name}: {path} line {number}: {error}") from None
            texts.append(tuple(cells[i] for i in fmt.texts))
    if skipped:
        warnings.warn(f"glue {task.name}: skipped {skipped} malformed rows of {path}",
                      stacklevel=2)
    frame = pd.DataFrame(texts, columns=list(task.fields), dtype=object)
    frame["label"] = np.asarray(labels, dtype="float64")
    return frame


def _tsv_label(task: registry.Task, fmt: _TsvFormat, cell: str) -> float:
    """A label cell as a class index or score; NaN where the row has no label."""
    cell = cell.strip()
    if task.kind == registry.REGRESSION:
        if cell == "":
            return math.nan
        try:
            return float(cell)
        except ValueError:
            raise ValueError(f"score {cell!r} is not a number") from None
    if fmt.words:
        if cell in task.labels:
            return float(task.labels.index(cell))
        if cell in MISSING_WORDS:
            return math.nan
        raise ValueError(f"unknown label {cell!r}; expected one of {', '.join(task.labels)}")
    if cell == "":
        return math.nan
    try:
        value = int(cell)
    except ValueError:
        raise _Malformed(f"label {cell!r} is not an integer") from None
    if not 0 <= value < len(task.labels):
        raise ValueError(f"label {value} outside 0..{len(task.labels) - 1}")
    return float(value)


def _hub_shards(task: registry.Task, directory: Path, split: str) -> list[Path]:
    """The parquet shards of one split, in order; fails naming the pattern it looked for."""
    folder = directory / task.name
    shards = sorted(folder.glob(f"{split}-*.parquet")) or sorted(
        (folder / split).glob("*.parquet"))
    if not shards:
        raise _missing(task, folder / f"{split}-*.parquet", directory, f"; {_HUB_HINT}")
    columns = [*task.fields, "label"]
    for shard in shards:
        absent = sorted(set(columns) - set(pq.read_schema(shard).names))
        if absent:
            raise ValueError(f"glue {task.name}: {shard} lacks columns {absent}")
    return shards


def _read_hub(task: registry.Task, shards: list[Path]) -> pd.DataFrame:
    """One hub split as text fields and a float label (NaN where the hub stores -1)."""
    frames = []
    for shard in shards:
        frame = pd.read_parquet(shard, columns=[*task.fields, "label"])
        label = frame["label"]
        if label.dtype == np.float32:
            # The hub stores STS-B scores as float32; their shortest decimal is the TSV's text.
            label = pd.to_numeric(label.astype(str))
        label = label.astype("float64").where(label != -1)
        if task.kind == registry.CLASSIFICATION:
            bad = label.notna() & ~label.isin(range(len(task.labels)))
            if bad.any():
                raise ValueError(
                    f"glue {task.name}: {shard} row {int(np.flatnonzero(bad)[0])}: label "
                    f"{label[bad].iloc[0]:g} outside 0..{len(task.labels) - 1}"
                )
        frame["label"] = label
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _drop_unusable(task: registry.Task, frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Strip the texts and drop rows with an empty text or no label, saying how many."""
    frame = frame.copy()
    bad = frame["label"].isna().to_numpy(copy=True)
    for field in task.fields:
        frame[field] = frame[field].astype("string").str.strip()
        bad |= frame[field].fillna("").eq("").to_numpy(dtype=bool)
    if bad.any():
        warnings.warn(
            f"glue {task.name}: dropped {int(bad.sum())} of {len(frame)} rows of {origin} "
            "with an empty text or no label",
            stacklevel=2,
        )
    return frame[~bad]


def _hold_out(task: registry.Task, frame: pd.DataFrame, seed: int,
              fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation): a seeded random `fraction` of the rows held out, order kept."""
    held = held_out(len(frame), seed, fraction, f"glue {task.name}")
    return frame[~held], frame[held]


def _numbered(task: registry.Task, frame: pd.DataFrame) -> pd.DataFrame:
    """The data contract's columns and dtypes, `idx` counting the split's rows from 0."""
    label_dtype = "float64" if task.kind == registry.REGRESSION else "int64"
    out = frame[list(task.fields)].astype("string").reset_index(drop=True)
    out.insert(0, "idx", np.arange(len(out), dtype="int64"))
    out["label"] = frame["label"].to_numpy().astype(label_dtype)
    return out
