"""Typed configuration, built once from the schema-validated config dictionary.

The Snakefile validates `config.yaml` against the JSON schema, then calls `load_config`,
which checks what a schema cannot (task names against the registry, references between
keys) and returns frozen dataclasses. Rules hand each job only the section it needs, as
JSON (`to_json`), so a change to one task's data parameters reruns only that task's jobs.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from taskconflict import factors, registry
from taskconflict.devices import check_precision


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key."""


@dataclass(frozen=True)
class TaskDataConfig:
    """Everything that determines one task's data files."""

    task: str
    source: str
    seed: int
    train_size: int
    test_size: int
    validation_fraction: float
    label_noise: float
    location: str = ""
    """Real data: the hub dataset id (source hub) or the benchmark's directory (source local)."""


@dataclass(frozen=True)
class DataConfig:
    source: str
    """Every task's source unless `sources` names another: generated, hub or local."""
    tasks: dict[str, tuple[str, ...]]
    seed: int = 0
    train_size: int = 2000
    test_size: int = 400
    validation_fraction: float = 0.05
    label_noise: float = 0.1
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    """Per-task source, e.g. {iwslt: local}: the hub has no parquet copy of some tasks."""
    local: dict[str, str] = field(default_factory=dict)
    """Per benchmark, the local directory: GLUE's original TSV layout (glue_data/), or
    decaNLP's data root (.data/)."""
    hub: dict[str, str] = field(default_factory=dict)
    """Per-task hub dataset ids replacing the registry's (a mirror or a private copy)."""
    stsb_target: str = "paper"
    """How the render stage writes STS-B's score as its target (`prompts.STSB_TARGETS`):
    paper, '{:.1f}' of the raw score as the paper's code does; t5, rounded to 0.2 first."""

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(t for names in self.tasks.values() for t in names)

    def source_of(self, task: str) -> str:
        return self.sources.get(task, self.source)

    def location_of(self, task: str) -> str:
        """The hub id or local directory a real-data task is read from ("" if generated)."""
        source = self.source_of(task)
        if source == "hub":
            return self.hub.get(task) or registry.get_task(task).hub
        if source == "local":
            return self.local.get(registry.get_task(task).benchmark, "")
        return ""

    def for_task(self, task: str) -> TaskDataConfig:
        values = {
            "seed": self.seed,
            "train_size": self.train_size,
            "test_size": self.test_size,
            "validation_fraction": self.validation_fraction,
            "label_noise": self.label_noise,
        }
        values.update(self.overrides.get(task, {}))
        return TaskDataConfig(task=task, source=self.source_of(task),
                              location=self.location_of(task), **values)


@dataclass(frozen=True)
class CorpusConfig:
    """Unlabelled generated text for the tokenizer and pre-training."""

    seed: int = 0
    sentences: int = 20000
    heldout_sentences: int = 500


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int = 1000


@dataclass(frozen=True)
class PretrainConfig:
    steps: int = 1000
    batch_size: int = 32
    input_length: int = 64
    learning_rate: float = 2e-3
    warmup_steps: int = 100
    noise_density: float = 0.15
    mean_span_length: float = 3.0
    seed: int = 0
    log_every: int = 20
    threads: int = 2
    """CPU threads of one pre-training job (1: two model sizes pre-train side by side)."""


@dataclass(frozen=True)
class TrainConfig:
    """The fine-tuning recipe of every cell (the paper's Appendix A in the paper preset)."""

    steps: int = 300
    batch_size: int = 16
    """Examples per task per step."""
    lr_multi_task: float = 5e-4
    lr_single_task: float = 3e-4
    schedule: str = factors.SCHEDULE.default
    """The learning rate after `warmup_steps` of linear warm-up from 0: constant, or linear
    or cosine decay to 0 at the last step (transformers' `get_scheduler`)."""
    warmup_steps: int = 0
    clip_norm: float = 5.0
    max_input_length: int = 256
    max_target_length: int = 16
    step_mode: str = factors.STEP_MODE.default
    """fused: one forward/backward over the concatenated task batches; per-task: one pass per
    task (as the paper's code); grouped: one pass per group of tasks with similar input
    lengths; auto: what benchmarks/throughput.py measured fastest on the device
    (`batches.AUTO_STEP_MODE`). All give the sum of the task gradients."""
    log_every: int = 10
    conflict_every: int = 50
    """Measure conflict at step 0, every this many steps and at the end (0: never)."""
    conflict_batches: int = 4
    conflict_batch_size: int = 32
    conflict_parameters: str = factors.CONFLICT_PARAMETERS.default
    """The tensors of each stack in which conflict is measured (`models.CONFLICT_PARAMETERS`):
    by default the paper's code's, the blocks without layer norms or embedding."""
    decoder_reinit: str = factors.DECODER_REINIT.default
    """What a re-initialised decoder starts afresh (`models.REINIT_SCOPES`): blocks (the
    paper's code) or full (its embedding and LM head too)."""
    eval_batch_size: int = 64
    checkpoint_every: int = 500
    """Write a resumable checkpoint every this many steps (and at the last step, and on
    SIGTERM / SIGUSR1); 0: only on those signals."""
    threads: int = 1
    device: str = "auto"
    """auto (CUDA when available), cpu, cuda or cuda:N (devices.py)."""
    precision: str = factors.PRECISION.default
    """fp32, or bf16 autocast with fp32 weights and optimizer state (devices.py)."""
    dropout: float = 0.0
    """Set on the checkpoint when it is loaded: google/t5-v1_1 ships with 0.1, the paper uses 0."""
    eval_mode: str = factors.EVAL_MODE.default
    """generate: greedy decoding; teacher_forced: the argmax of the logits given the gold
    prefix, as the paper's code scores (for like-for-like comparison only: it inflates
    sequence scores)."""


@dataclass(frozen=True)
class Resources:
    """What one training job asks a cluster for (Snakemake resources; a profile maps them)."""

    gpus: int = 0
    mem_mb: dict[str, int] = field(default_factory=dict)
    """By model size (default 4000)."""
    runtime: dict[str, dict[str, int]] = field(default_factory=dict)
    """Minutes, by model size and mode (single-task / multi-task; default 60)."""

    def for_job(self, size: str, multi_task: bool) -> dict[str, int]:
        mode = "multi-task" if multi_task else "single-task"
        return {"gpu": self.gpus, "mem_mb": self.mem_mb.get(size, 4000),
                "runtime": self.runtime.get(size, {}).get(mode, 60)}


@dataclass(frozen=True)
class ModelShape:
    """The shape of a T5 v1.1 (gated-GELU, no dropout) that the workflow pre-trains."""

    d_model: int
    d_ff: int
    d_kv: int
    num_heads: int
    num_layers: int
    num_decoder_layers: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    """A model size: either an existing checkpoint or a shape to pre-train."""

    name: str
    checkpoint: str | None = None
    shape: ModelShape | None = None
    pretrain_steps: int | None = None

    @property
    def pretrained_here(self) -> bool:
        return self.shape is not None


@dataclass(frozen=True)
class RunSpec:
    """One line of an experiment: an architecture and mode, with the levels of each variant
    factor to expand over (`factors.VARIANT_FACTORS`, by key, every factor present)."""

    architecture: str
    mode: str
    levels: dict[str, tuple[str, ...]]
    measure_decoder: bool = False


@dataclass(frozen=True)
class Experiment:
    name: str
    benchmarks: tuple[str, ...]
    runs: tuple[RunSpec, ...]
    model: str = "small"
    seeds: str = "default"
    description: str = ""


@dataclass(frozen=True)
class Preset:
    name: str
    seeds: dict[str, int]
    data: DataConfig
    models: dict[str, ModelSpec]
    corpus: CorpusConfig = CorpusConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    pretrain: PretrainConfig = PretrainConfig()
    train: TrainConfig = TrainConfig()
    resources: Resources = Resources()

    @property
    def generated(self) -> bool:
        return self.data.source == "generated"

    def pretrain_for(self, size: str) -> PretrainConfig:
        """The pre-training recipe of one model size (its own step count, if it has one)."""
        steps = self.models[size].pretrain_steps
        return dataclasses.replace(self.pretrain, steps=steps) if steps else self.pretrain


@dataclass(frozen=True)
class Config:
    preset: Preset
    experiments: dict[str, Experiment]

    @property
    def results(self) -> str:
        return f"results/{self.preset.name}"


def load_config(raw: dict[str, Any]) -> Config:
    """Build the typed config from a dictionary that passed the JSON schema."""
    name = raw["preset"]
    if name not in raw["presets"]:
        raise ConfigError(f"preset: {name!r} has no entry under 'presets'")
    preset = _load_preset(name, raw["presets"][name], f"presets.{name}")
    wanted: dict[str, dict[str, Any]] = {}  # experiment -> its selection (empty: all of it)
    for i, entry in enumerate(raw["presets"][name].get("experiments", list(raw["experiments"]))):
        experiment, selection = next(iter(entry.items())) if isinstance(entry, dict) else (
            entry, {})
        if isinstance(selection, list):
            selection = {"benchmarks": selection}
        key = f"presets.{name}.experiments[{i}]"
        if experiment not in raw["experiments"]:
            raise ConfigError(f"{key}: unknown experiment {experiment!r}; "
                              f"known: {', '.join(raw['experiments'])}")
        extra = set(selection.get("benchmarks", ())) - set(
            raw["experiments"][experiment]["benchmarks"])
        if extra:
            raise ConfigError(f"{key}.{experiment}: {', '.join(sorted(extra))} is not a "
                              f"benchmark of experiment {experiment!r}")
        wanted[experiment] = selection
    experiments = {  # every experiment is checked, the preset's are kept
        key: _load_experiment(key, value, preset, f"experiments.{key}")
        for key, value in raw["experiments"].items()
    }
    return Config(preset=preset, experiments={
        key: _select(exp, wanted[key], f"presets.{name}.experiments.{key}")
        for key, exp in experiments.items() if key in wanted})


def _select(exp: Experiment, selection: dict[str, Any], key: str) -> Experiment:
    """The part of an experiment a preset runs: some of its benchmarks, and of each variant
    factor only the levels the selection lists (a run left with none of them is dropped)."""
    benchmarks = tuple(b for b in exp.benchmarks
                       if "benchmarks" not in selection or b in selection["benchmarks"])
    runs = []
    for run in exp.runs:
        levels = {factor: tuple(v for v in values if v in selection.get(factor, values))
                  for factor, values in run.levels.items()}
        if all(levels.values()):
            runs.append(dataclasses.replace(run, levels=levels))
    if not runs:
        raise ConfigError(f"{key}: the selection leaves no run of experiment {exp.name!r}")
    return dataclasses.replace(exp, benchmarks=benchmarks, runs=tuple(runs))


def _load_preset(name: str, raw: dict[str, Any], key: str) -> Preset:
    data = raw["data"]
    tasks = {}
    for benchmark, names in data["tasks"].items():
        known = registry.BENCHMARKS.get(benchmark, ())
        for i, task in enumerate(names):
            if task not in known:
                raise ConfigError(
                    f"{key}.data.tasks.{benchmark}[{i}]: unknown task {task!r}; "
                    f"{benchmark} tasks are: {', '.join(known) or '(none yet)'}"
                )
        tasks[benchmark] = tuple(names)
    all_tasks = {t for names in tasks.values() for t in names}
    for section in ("overrides", "sources", "hub"):
        for task in data.get(section, {}):
            if task not in all_tasks:
                raise ConfigError(
                    f"{key}.data.{section}.{task}: not a task of this preset "
                    f"({', '.join(sorted(all_tasks))})"
                )
    for size in raw.get("resources", {}).get("mem_mb", {}) | raw.get("resources", {}).get(
            "runtime", {}):
        if size not in raw["models"]:
            raise ConfigError(f"{key}.resources: {size!r} is not a model of this preset "
                              f"({', '.join(raw['models'])})")
    models = {}
    for size, spec in raw["models"].items():
        if "checkpoint" in spec:
            models[size] = ModelSpec(name=size, checkpoint=spec["checkpoint"])
        else:
            models[size] = ModelSpec(
                name=size, shape=_build(ModelShape, spec), pretrain_steps=spec.get("pretrain_steps")
            )
    if any(m.pretrained_here for m in models.values()):
        for section in ("corpus", "tokenizer", "pretrain"):
            if section not in raw:
                raise ConfigError(f"{key}.{section}: required to pre-train models here")
    train = _build(TrainConfig, raw.get("train", {}))
    try:
        check_precision(train.precision)
    except ValueError as error:
        raise ConfigError(f"{key}.train.precision: {error}") from None
    data = _build(DataConfig, {**data, "tasks": tasks})
    for task in data.task_names:
        _check_source(data, task, key)
    return Preset(
        name=name,
        seeds=dict(raw["seeds"]),
        data=data,
        models=models,
        corpus=_build(CorpusConfig, raw.get("corpus", {})),
        tokenizer=_build(TokenizerConfig, raw.get("tokenizer", {})),
        pretrain=_build(PretrainConfig, raw.get("pretrain", {})),
        train=train,
        resources=_build(Resources, raw.get("resources", {})),
    )


def _check_source(data: DataConfig, task: str, key: str) -> None:
    """A real-data task needs somewhere to read from: a hub id with parquet data, or the
    benchmark's local directory."""
    source, benchmark = data.source_of(task), registry.get_task(task).benchmark
    if source == "generated" or data.location_of(task):
        return
    where = f"{key}.data.sources.{task}" if task in data.sources else f"{key}.data.source"
    if source == "hub":
        raise ConfigError(
            f"{where}: the hub has no parquet copy of {task} (only a loading script, which "
            f"datasets >= 4 cannot run); set {key}.data.sources.{task}: local and "
            f"{key}.data.local.{benchmark} to decaNLP's data directory"
        )
    raise ConfigError(
        f"{where}: {task} is read from local files, but {key}.data.local.{benchmark} "
        f"names no directory"
    )


def _load_experiment(name: str, raw: dict[str, Any], preset: Preset, key: str) -> Experiment:
    model = raw.get("model", Experiment.model)
    if model not in preset.models:
        raise ConfigError(
            f"{key}.model: {model!r} is not a model of preset {preset.name!r} "
            f"({', '.join(preset.models)})"
        )
    seeds = raw.get("seeds", Experiment.seeds)
    if seeds not in preset.seeds:
        raise ConfigError(
            f"{key}.seeds: {seeds!r} is not a seed set of preset {preset.name!r} "
            f"({', '.join(preset.seeds)})"
        )
    runs = []
    for run in raw["runs"]:
        levels = {}
        for factor in factors.VARIANT_FACTORS:
            value = run.get(factor.key, factors.default_level(factor, run["architecture"]))
            levels[factor.key] = (value,) if isinstance(value, str) else tuple(value)
        if run["mode"] == "single-task" and levels["aggregator"] != (
                factors.AGGREGATOR.default,):
            raise ConfigError(f"{key}.runs[{len(runs)}].aggregator: a single-task run has one "
                              "task gradient, nothing to aggregate; leave it out")
        runs.append(RunSpec(run["architecture"], run["mode"], levels,
                            run.get("measure_decoder", False)))
    return Experiment(
        name=name,
        benchmarks=tuple(raw["benchmarks"]),
        runs=tuple(runs),
        model=model,
        seeds=seeds,
        description=raw.get("description", Experiment.description),
    )


T = TypeVar("T")


def _build(cls: type[T], values: dict[str, Any]) -> T:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def to_json(obj: Any) -> str:
    """Serialise a config dataclass for a job's command line (sorted, so stable)."""
    return json.dumps(dataclasses.asdict(obj), sort_keys=True)


def from_json(cls: type[T], text: str) -> T:
    """Rebuild a config dataclass (or grid Cell) from `to_json`."""
    return cls(**json.loads(text))
