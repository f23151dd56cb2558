"""The cache stage: every hub dataset and checkpoint a preset reads, fetched once.

It runs as a local rule on the host that submits the jobs (the one with internet access) and
copies each hub dataset and checkpoint into the workflow's own folder
(`results/<preset>/cache/`), pinned to the revision it saw (recorded in the manifest): a
dataset through `datasets.load_dataset(id, config, revision=...)`, which reuses the user's own
hub cache, saved with `save_to_disk` (`data.sources.save_hub_copy`). Every other job runs with
the hub switched off (`HF_HUB_OFFLINE=1`, `HF_DATASETS_OFFLINE=1`), so compute nodes without
internet work. Local sources are checked here too, down to every file each task's loader will
open (`Task.local.files`). Every problem is reported at once, each naming the dataset, file or
model and how to provide it, before any data is prepared or any model trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from taskconflict import registry
from taskconflict.config import TaskDataConfig
from taskconflict.data import sources

MANIFEST = "manifest.json"
CHECKPOINT_FILES = ["*.json", "*.model", "*.safetensors", "*.bin", "*.txt"]
"""What from_pretrained needs of a T5 checkpoint (config, SentencePiece model, weights)."""


class SourceError(RuntimeError):
    """A dataset or checkpoint cannot be read; each problem says how to provide it."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n- ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class ModelSource:
    size: str
    checkpoint: str
    """A hub id (google/t5-v1_1-small) or a local folder with config.json and weights."""

    @property
    def local(self) -> bool:
        return is_local_checkpoint(self.checkpoint)


def is_local_checkpoint(checkpoint: str) -> bool:
    """A folder on disk (used in place) rather than a hub id (copied into the cache). A
    path-like name that does not exist is taken for a hub id; fetching it then fails with a
    message that also mentions the missing folder."""
    path = Path(checkpoint)
    return path.is_dir() or checkpoint.startswith((".", "/", "~")) or len(path.parts) != 2


def cache_sources(datasets: list[TaskDataConfig], models: list[ModelSource],
                  out_dir: str | Path, preset: str = "") -> None:
    """Resolve every real-data task and checkpoint; write one manifest per dataset
    (`datasets/<task>/manifest.json`) and per model (`models/<size>/manifest.json`)."""
    out_dir = Path(out_dir)
    todo = [(out_dir / "datasets" / cfg.task, _dataset, cfg) for cfg in datasets]
    todo += [(out_dir / "models" / model.size, _model, model) for model in models]
    problems, failed = [], 0
    for folder, resolve, source in todo:
        try:
            manifest = resolve(source, folder, preset)
        except SourceError as error:
            problems += error.problems
            failed += 1
            continue
        _write_manifest(folder, manifest)
    if problems:
        raise SourceError(
            f"{failed} source(s) cannot be read; nothing was trained:\n- " + "\n- ".join(problems)
        )


def _dataset(cfg: TaskDataConfig, folder: Path, preset: str) -> dict:
    task = registry.get_task(cfg.task)
    key = f"presets.{preset}.data" if preset else "data"
    name = f"{task.benchmark}/{task.name}"
    if cfg.source == "local":
        return _local_dataset(task, cfg, f"{key}.local.{task.benchmark}")
    if cfg.source != "hub":
        raise SourceError(f"{task.name}: source {cfg.source!r} needs no cache")
    if task.from_hub is None:
        raise SourceError(f"{name}: the hub has no copy of this task; set "
                          f"{key}.sources.{task.name}: local")
    local = f" ({task.local.remedy})" if task.local else ""
    what = f"{name}: the hub dataset {cfg.location}"
    try:
        revision = _revision(cfg.location, "dataset")
        folder.mkdir(parents=True, exist_ok=True)
        sources.save_hub_copy(cfg.location, task.hub_config, revision, folder)
    except Exception as error:  # offline mode, DNS, refused, 401/404: all say the same
        raise _unreachable(what, error, f"or set {key}.sources.{task.name}: local{local}") from None
    return {"task": task.name, "source": "hub", "repo": cfg.location, "config": task.hub_config,
            "revision": revision, "location": str(folder.resolve())}


def _local_dataset(task: registry.Task, cfg: TaskDataConfig, key: str) -> dict:
    """A local source: its directory and every file the task's loader opens must be there."""
    name = f"{task.benchmark}/{task.name}"
    if task.local is None:
        raise SourceError(f"{name}: has no local files to read; use source hub")
    directory = Path(cfg.location).expanduser()
    hub = ", or use source hub" if task.from_hub else ""
    if not directory.is_dir():
        raise SourceError(f"{name}: the local directory {directory} ({key}) does not exist; "
                          f"{task.local.remedy}{hub}")
    missing = sources.missing_files(task, directory)
    if missing:
        raise SourceError(*(f"{name}: no {path} ({key}: {directory}){then}"
                            for path, then in missing))
    return {"task": task.name, "source": "local", "location": str(directory.resolve())}


def _model(model: ModelSource, folder: Path, preset: str) -> dict:
    key = f"presets.{preset}.models.{model.size}.checkpoint" if preset else "checkpoint"
    if model.local:
        path = Path(model.checkpoint).expanduser()
        if not (path / "config.json").is_file():
            raise SourceError(
                f"model {model.size}: {path} is not a checkpoint folder (no config.json); "
                f"set {key} to a folder written by save_pretrained, or to a hub id"
            )
        return {"size": model.size, "source": "local", "location": str(path.resolve())}
    revision = _download(model.checkpoint, "model", folder, CHECKPOINT_FILES,
                         what=f"model {model.size}: the hub checkpoint {model.checkpoint}",
                         hint=f"or set {key} to a local folder with config.json and the "
                              "weights (if it is meant to be one: it does not exist)")
    return {"size": model.size, "source": "hub", "repo": model.checkpoint,
            "revision": revision, "location": str(folder.resolve())}


def _revision(repo: str, kind: str) -> str:
    """The hub's current revision (commit) of a repository."""
    from huggingface_hub import HfApi

    return HfApi().repo_info(repo, repo_type=kind).sha or ""


def _download(repo: str, kind: str, folder: Path, patterns: list[str] | None, what: str,
              hint: str) -> str:
    """A snapshot of a hub repository in `folder`; its revision."""
    from huggingface_hub import snapshot_download

    try:
        revision = _revision(repo, kind)
        snapshot_download(repo_id=repo, repo_type=kind, revision=revision,
                          allow_patterns=patterns, local_dir=folder)
        return revision
    except Exception as error:  # offline mode, DNS, refused, 401/404: all say the same
        raise _unreachable(what, error, hint) from None


def _unreachable(what: str, error: Exception, hint: str) -> SourceError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return SourceError(
        f"{what} cannot be fetched ({type(error).__name__}: {reason[:200]}). Run this "
        f"stage where the hub is reachable (it copies the files into the workflow's "
        f"cache once; training jobs then run offline), {hint}"
    )


def _write_manifest(folder: Path, manifest: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    partial.replace(folder / MANIFEST)

