"""The experiment grid: the training cells that the config's experiments ask for.

A cell is one training run. Experiments list runs with variant factors to expand over
(`factors.VARIANT_FACTORS`: prompt style, output space, decoder initialisation) and a seed
set; a cell that several experiments share (e.g. the default-prompt text-to-text multi-task
run of Tables 1, 2 and 3) is trained once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from taskconflict import factors
from taskconflict.config import Config
from taskconflict.factors import variant_name
from taskconflict.registry import benchmark_title

MULTI = "multi"


def main_variant(architecture: str, **levels: str) -> str:
    """The variant of an architecture's Table 1 cells: its default level of every variant
    factor (canonical: the bare input), except the `levels` given."""
    defaults = {f.key: factors.default_level(f, architecture) for f in factors.VARIANT_FACTORS}
    return variant_name(**(defaults | levels))


@dataclass(frozen=True)
class Cell:
    """One training run. `tasks` is a task name (single-task) or "multi" (all tasks);
    `variant` spells the level of every variant factor (`factors.VARIANT_FACTORS`), which
    `cell.prompts`, `cell.output_space`, `cell.decoder`, ... read."""

    benchmark: str
    model: str
    architecture: str
    tasks: str
    variant: str = ""
    """Empty: every variant factor at its default."""
    seed: int = 0
    measure_decoder: bool = False
    """Measure conflict in the (shared) decoder too. Not part of the id: asking for it
    does not make another run."""

    def __post_init__(self) -> None:
        factors.ARCHITECTURE.check(self.architecture)
        if not self.variant:
            object.__setattr__(self, "variant", variant_name())
        factors.parse_variant(self.variant)

    def level(self, key: str) -> str:
        """The cell's level of a variant factor."""
        return factors.parse_variant(self.variant)[key]

    def __getattr__(self, key: str) -> str:
        if key in factors.variant_keys():
            return self.level(key)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    @property
    def multi_task(self) -> bool:
        return self.tasks == MULTI

    @property
    def mode(self) -> str:
        return "multi-task" if self.multi_task else "single-task"

    @property
    def id(self) -> str:
        """The cell's folder under results/<preset>/runs/."""
        return (
            f"{self.benchmark}/{self.model}/{self.architecture}/{self.tasks}/"
            f"{self.variant}/seed{self.seed}"
        )

    def levels(self) -> dict[str, str]:
        """Each variant factor's level, by factor key."""
        return factors.parse_variant(self.variant)

    def level_labels(self) -> dict[str, str]:
        """Each variant factor's level in words ("default prompts", "T5 label words", ...)."""
        return {key: factors.FACTORS[key].label(name) for key, name in self.levels().items()}

    @property
    def title(self) -> str:
        """The cell in words, for titles and the report's labels, e.g. "GLUE, text-to-text
        multi-task: default prompts, T5 label words, pre-trained decoder, sum (the paper),
        seed 0"; a factor's level shows only where the architecture uses it (no prompts on
        canonical heads)."""
        labels = self.level_labels()
        if self.architecture == "canonical":
            labels.pop("prompts", None)
            labels.pop("output_space", None)
        if not self.multi_task:
            labels.pop("aggregator", None)
        if "decoder" in labels:
            labels["decoder"] += " decoder"
        tasks = self.mode if self.multi_task else f"single-task {self.tasks}"
        return (f"{benchmark_title(self.benchmark)}, {self.architecture} {tasks}: "
                f"{', '.join(labels.values())}, seed {self.seed}")

    @classmethod
    def from_run_file(cls, path: str | Path) -> Cell:
        """The cell whose run folder holds `path` (results/<preset>/runs/<cell id>/<file>)."""
        parts = Path(path).parts
        start = len(parts) - 1 - parts[::-1].index("runs")
        return cls.from_id("/".join(parts[start + 1 : -1]))

    @classmethod
    def from_id(cls, cell_id: str, measure_decoder: bool = False) -> Cell:
        benchmark, model, architecture, tasks, variant, seed = cell_id.split("/")
        return cls(benchmark, model, architecture, tasks, variant,
                   int(seed.removeprefix("seed")), measure_decoder)


def experiment_cells(cfg: Config, experiment: str) -> list[Cell]:
    """The cells of one experiment, in config order."""
    exp = cfg.experiments[experiment]
    seeds = range(cfg.preset.seeds[exp.seeds])
    cells = []
    for benchmark in exp.benchmarks:
        tasks = cfg.preset.data.tasks.get(benchmark, ())
        if not tasks:
            continue
        for run in exp.runs:
            targets = [MULTI] if run.mode == "multi-task" else list(tasks)
            keys = list(run.levels)
            for target, *levels, seed in itertools.product(
                targets, *run.levels.values(), seeds
            ):
                variant = variant_name(**dict(zip(keys, levels, strict=True)))
                cells.append(Cell(benchmark, exp.model, run.architecture, target, variant,
                                  seed, run.measure_decoder))
    return cells


def all_cells(cfg: Config) -> dict[str, Cell]:
    """Every cell of every experiment, once, by id (measuring the decoder if any asks)."""
    cells: dict[str, Cell] = {}
    for experiment in cfg.experiments:
        for cell in experiment_cells(cfg, experiment):
            known = cells.get(cell.id)
            if known is None or (cell.measure_decoder and not known.measure_decoder):
                cells[cell.id] = cell
    return cells
