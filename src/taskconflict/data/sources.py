"""What the real-data loaders share: the files a task needs, the cache stage's copy of a hub
dataset, and notes about the rows they drop.

Local files: each task's `Local.files` lists every file its loader opens, so the cache stage
can check them all before any job runs (`missing_files`) and the loader fails before reading
anything (`require`), each naming the task, the file and how to provide it.

Hub datasets: the cache stage (online) saves `datasets.load_dataset(id, config, revision=sha)`
into the workflow's cache folder with `save_to_disk` (`save_hub_copy`); the prepare stage
(offline) reads it with `load_from_disk` (`hub_split`), and the task's converter turns its rows
into the normalised frame. `load_dataset` reuses the user's own hub cache and knows how each
dataset lays out its files.

Notes (`note`) are one line each on stderr, naming the file and the first few line (or row)
numbers they are about.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from taskconflict import registry

if TYPE_CHECKING:
    import datasets

HUB_COPY = "dataset"
"""The folder, in the cache stage's folder of a task, that holds its hub dataset."""
SHOWN = 5
"""How many line numbers a note lists before "and N more"."""


# --- notes -------------------------------------------------------------------------------------

def note(message: str) -> None:
    """One clean line on stderr (the prepare stage's log)."""
    print(f"warning: {' '.join(message.splitlines())}", file=sys.stderr, flush=True)


def numbers(unit: str, items: Sequence[str | int]) -> str:
    """`line 3`; `lines 3, 5-6, 9, 12, 20 and 7 more`."""
    shown = ", ".join(str(i) for i in items[:SHOWN])
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return f"{unit}{'s' if len(items) > 1 else ''} {shown}{more}"


Place = tuple[str, str, int]
"""Where a row comes from: (file or hub split, unit: line / row / schema / question, number)."""


def places(where: Iterable[Place]) -> str:
    """`a.jsonl lines 3, 7; b.jsonl line 2`: the places grouped by file, in order."""
    grouped: dict[tuple[str, str], list[int]] = {}
    for origin, unit, number in where:
        grouped.setdefault((origin, unit), []).append(number)
    return "; ".join(f"{origin} {numbers(unit, items)}"
                     for (origin, unit), items in grouped.items())  # fmt: skip


# --- local files -------------------------------------------------------------------------------

def _local(task: registry.Task) -> registry.Local:
    if task.local is None:
        raise ValueError(f"{task.benchmark} {task.name}: has no local files to read "
                         f"(its registry entry names no loader for them)")
    return task.local


def needed_files(task: registry.Task, directory: Path) -> list[Path]:
    """Every file the task's local loader opens, once each, in order."""
    files = registry.resolve(_local(task).files)(task, directory)
    return list(dict.fromkeys(path for paths in files.values() for path in paths))


def missing_files(task: registry.Task, directory: Path) -> list[tuple[Path, str]]:
    """Each file the task needs that is not there, with the rest of the sentence "no <path>":
    what to do (", but <its raw download> is there: ..." where the task sees a near miss)."""
    local = _local(task)
    near_miss = registry.resolve(local.near_miss) if local.near_miss else None
    hub = ", or use source hub" if task.from_hub else ""
    missing = []
    for path in needed_files(task, directory):
        if not path.is_file():
            instead = near_miss(task, directory, path) if near_miss else ""
            missing.append((path, (instead or f"; {local.remedy}") + hub))
    return missing


def require(task: registry.Task, directory: Path) -> dict[str, tuple[Path, ...]]:
    """The task's files by official split; fails naming every missing one (and how to provide
    it) before anything is read."""
    local = _local(task)
    if not directory.is_dir():
        hub = ", or use source hub" if task.from_hub else ""
        raise FileNotFoundError(f"{task.benchmark} {task.name}: no directory {directory}; "
                                f"{local.remedy}{hub}")
    missing = missing_files(task, directory)
    if missing:
        raise FileNotFoundError("; ".join(f"{task.benchmark} {task.name}: no {path}{then}"
                                          for path, then in missing))
    return registry.resolve(local.files)(task, directory)


# --- hub datasets ------------------------------------------------------------------------------

def save_hub_copy(path: str, config: str, revision: str | None, folder: Path,
                  cache_dir: str | None = None) -> None:
    """The cache stage's copy of a hub dataset: every split of `load_dataset(path, config,
    revision=...)` saved into `folder/HUB_COPY` (`path`: a hub id, or a folder laid out as the
    hub stores the dataset)."""
    import datasets

    data = datasets.load_dataset(path, config or None, revision=revision, cache_dir=cache_dir)
    partial, copy = folder / (HUB_COPY + ".partial"), folder / HUB_COPY
    shutil.rmtree(partial, ignore_errors=True)
    data.save_to_disk(str(partial))
    shutil.rmtree(copy, ignore_errors=True)
    partial.replace(copy)


def hub_split(task: registry.Task, directory: Path, split: str) -> datasets.Dataset:
    """One split of the cache stage's copy of the task's hub dataset, checked for the columns
    the task reads (`Hub.columns`)."""
    import datasets

    hub = task.from_hub
    if hub is None:
        raise ValueError(f"{task.benchmark} {task.name}: the hub has no copy of this task; "
                         f"it needs local files: {_local(task).remedy}")
    copy = directory / HUB_COPY
    if not (copy / "dataset_dict.json").is_file():
        raise FileNotFoundError(
            f"{task.benchmark} {task.name}: no copy of the hub dataset {hub.id} in {copy}; the "
            f"cache stage saves it there (run `taskconflict cache`, or the workflow's cache "
            f"rule, where the hub is reachable), or use source local: {_local(task).remedy}")
    data = datasets.load_from_disk(str(copy))
    if split not in data:
        raise ValueError(f"{task.benchmark} {task.name}: the hub dataset {hub.id} "
                         f"({hub.config or 'default'}) in {copy} has no split {split!r} "
                         f"(it has {', '.join(data)})")
    absent = [c for c in hub.columns if c not in data[split].column_names]
    if absent:
        raise ValueError(f"{task.benchmark} {task.name}: the {split} split of {hub.id} in {copy} "
                         f"lacks column(s) {', '.join(absent)}")
    return data[split]


def hub_origin(task: registry.Task, split: str) -> str:
    """How notes and errors name a hub split."""
    hub = task.from_hub
    config = f" {hub.config}" if hub and hub.config else ""
    return f"{task.hub}{config} {split} split"
