"""The cache stage: every hub dataset and checkpoint a preset reads, fetched once.

It runs as a local rule on the host that submits the jobs (the one with internet access) and
copies each hub dataset and checkpoint into the workflow's own folder
(`results/<preset>/cache/`). Every other job runs with the hub switched off
(`HF_HUB_OFFLINE=1`), so compute nodes without internet work. Local sources are checked here
too. Every problem is reported at once, each naming the dataset or model and how to provide
it, before any data is prepared or any model trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from taskconflict import registry
from taskconflict.config import TaskDataConfig

MANIFEST = "manifest.json"
CHECKPOINT_FILES = ["*.json", "*.model", "*.safetensors", "*.bin", "*.txt"]
"""What from_pretrained needs of a T5 checkpoint (config, SentencePiece model, weights)."""


class SourceError(RuntimeError):
    """A dataset or checkpoint cannot be read; the message says how to provide it."""


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
    sources = [(out_dir / "datasets" / cfg.task, _dataset, cfg) for cfg in datasets]
    sources += [(out_dir / "models" / model.size, _model, model) for model in models]
    problems = []
    for folder, resolve, source in sources:
        try:
            manifest = resolve(source, folder, preset)
        except SourceError as error:
            problems.append(str(error))
            continue
        _write_manifest(folder, manifest)
    if problems:
        raise SourceError(
            f"{len(problems)} source(s) cannot be read; nothing was trained:\n- "
            + "\n- ".join(problems)
        )


def _dataset(cfg: TaskDataConfig, folder: Path, preset: str) -> dict:
    task = registry.get_task(cfg.task)
    key = f"presets.{preset}.data" if preset else "data"
    if cfg.source == "local":
        directory = Path(cfg.location).expanduser()
        if not directory.is_dir():
            raise SourceError(
                f"{task.benchmark}/{task.name}: the local directory {directory} "
                f"({key}.local.{task.benchmark}) does not exist; "
                + _local_hint(task.benchmark)
            )
        return {"task": task.name, "source": "local", "location": str(directory.resolve())}
    if cfg.source != "hub":
        raise SourceError(f"{task.name}: source {cfg.source!r} needs no cache")
    patterns = [f"{task.hub_config}/*"] if task.hub_config and cfg.location == task.hub else None
    revision = _download(cfg.location, "dataset", folder, patterns,
                         what=f"{task.benchmark}/{task.name}: the hub dataset {cfg.location}",
                         hint=f"or set {key}.sources.{task.name}: local and "
                              f"{key}.local.{task.benchmark}: " + _local_hint(task.benchmark))
    return {"task": task.name, "source": "hub", "repo": cfg.location, "revision": revision,
            "location": str(folder.resolve())}


def _local_hint(benchmark: str) -> str:
    if benchmark == "glue":
        return ("a GLUE directory in its original TSV layout (CoLA/train.tsv, ...; "
                "GLUE-baselines' download_glue_data.py writes it)")
    return "decaNLP's data directory (.data/ after decaNLP's download: sst/, squad/, ...)"


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


def _download(repo: str, kind: str, folder: Path, patterns: list[str] | None, what: str,
              hint: str) -> str:
    """A snapshot of a hub repository in `folder`; its revision."""
    from huggingface_hub import HfApi, snapshot_download

    try:
        revision = HfApi().repo_info(repo, repo_type=kind).sha
        snapshot_download(repo_id=repo, repo_type=kind, revision=revision,
                          allow_patterns=patterns, local_dir=folder)
        return revision or ""
    except Exception as error:  # offline mode, DNS, refused, 401/404: all say the same
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SourceError(
            f"{what} cannot be fetched ({type(error).__name__}: {reason[:200]}). Run this "
            f"stage where the hub is reachable (it copies the files into the workflow's "
            f"cache once; training jobs then run offline), {hint}"
        ) from None


def _write_manifest(folder: Path, manifest: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    partial.replace(folder / MANIFEST)

