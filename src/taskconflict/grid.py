"""The experiment grid: the training cells that the config's experiments ask for.

A cell is one training run. Experiments list runs with factors to expand over (prompt style,
label style, decoder initialisation) and a seed set; a cell that several experiments share
(e.g. the default-prompt text-to-text multi-task run of Tables 1, 2 and 3) is trained once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from taskconflict.config import Config, default_prompts

MULTI = "multi"


def variant_name(prompts: str = "default", labels: str = "default",
                 decoder: str = "pretrained") -> str:
    """The `<prompts>-<labels>-<decoder>` part of a cell id (default: Table 1's text-to-text
    variant)."""
    return f"{prompts}-{labels}-{decoder}"


def main_variant(architecture: str, decoder: str = "pretrained") -> str:
    """The variant of an architecture's Table 1 cells: its default prompts (canonical: the
    bare input), T5's label words, and `decoder`."""
    return variant_name(default_prompts(architecture), decoder=decoder)


@dataclass(frozen=True)
class Cell:
    """One training run. `tasks` is a task name (single-task) or "multi" (all tasks)."""

    benchmark: str
    model: str
    architecture: str
    tasks: str
    prompts: str = "default"
    labels: str = "default"
    decoder: str = "pretrained"
    seed: int = 0
    measure_decoder: bool = False
    """Measure conflict in the (shared) decoder too. Not part of the id: asking for it
    does not make another run."""

    @property
    def multi_task(self) -> bool:
        return self.tasks == MULTI

    @property
    def mode(self) -> str:
        return "multi-task" if self.multi_task else "single-task"

    @property
    def variant(self) -> str:
        return variant_name(self.prompts, self.labels, self.decoder)

    @property
    def id(self) -> str:
        """The cell's folder under results/<preset>/runs/."""
        return (
            f"{self.benchmark}/{self.model}/{self.architecture}/{self.tasks}/"
            f"{self.variant}/seed{self.seed}"
        )

    @classmethod
    def from_id(cls, cell_id: str, measure_decoder: bool = False) -> Cell:
        benchmark, model, architecture, tasks, variant, seed = cell_id.split("/")
        prompts, labels, decoder = variant.split("-")
        return cls(benchmark, model, architecture, tasks, prompts, labels, decoder,
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
            for target, prompts, labels, decoder, seed in itertools.product(
                targets, run.prompts, run.labels, run.decoder, seeds
            ):
                cells.append(Cell(benchmark, exp.model, run.architecture, target, prompts,
                                  labels, decoder, seed, run.measure_decoder))
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
