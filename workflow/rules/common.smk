# Helpers that turn the typed config into file lists and per-job parameters.
import os
import shlex

from taskconflict import registry
from taskconflict.config import to_json
from taskconflict.prompts import PROMPT_STYLES

TC = "python -m taskconflict"


def as_arg(obj):
    """A config dataclass as one shell-quoted JSON argument; also the job's params, so a
    change to it (and only to it) reruns the job."""
    return shlex.quote(to_json(obj))


def task_benchmark(task):
    return registry.get_task(task).benchmark


def data_dir(task):
    return f"{RESULTS}/data/{task_benchmark(task)}/{task}"


def data_outputs():
    return [
        f"{data_dir(t)}/{split}.parquet"
        for t in PRESET.data.task_names
        for split in registry.get_task(t).splits
    ]


def rendered_outputs():
    return [
        f"{RESULTS}/rendered/{task_benchmark(t)}/{t}/{style}/{split}.parquet"
        for t in PRESET.data.task_names
        for style in PROMPT_STYLES
        for split in registry.get_task(t).splits
    ]


def model_outputs():
    """The models pre-trained here that the cells `all` asks for train on."""
    sizes = {c.model for c in report_cells()}
    return [
        f"{RESULTS}/models/{size}/model.safetensors"
        for size, spec in PRESET.models.items()
        if spec.pretrained_here and size in sizes
    ]


def tasks_by_splits():
    """The preset's tasks grouped by the splits they have: {splits: [task, ...]}."""
    groups = {}
    for task in PRESET.data.task_names:
        groups.setdefault(registry.get_task(task).splits, []).append(task)
    return groups


from taskconflict.grid import Cell, all_cells, experiment_cells

CELLS = all_cells(CFG)


def cell_of(w):
    """The grid's cell for a job's wildcards (it knows whether to measure the decoder)."""
    cell = Cell(w.benchmark, w.model, w.architecture, w.tasks, w.prompts, w.labels,
                w.decoder, int(w.seed))
    return CELLS.get(cell.id, cell)


def cell_tasks(w):
    if w.tasks == "multi":
        return list(PRESET.data.tasks[w.benchmark])
    return [w.tasks]


def rendered_file(w, task, split):
    return f"{RESULTS}/rendered/{w.benchmark}/{task}/{w.prompts}/{split}.parquet"


def model_path(size):
    """Where from_pretrained finds a model size: our pre-trained folder, or the checkpoint."""
    spec = PRESET.models[size]
    return f"{RESULTS}/models/{size}" if spec.pretrained_here else spec.checkpoint


def model_inputs(size):
    spec = PRESET.models[size]
    return [f"{RESULTS}/models/{size}/model.safetensors"] if spec.pretrained_here else []


def table_cells(experiment, benchmark):
    return [c for c in experiment_cells(CFG, experiment) if c.benchmark == benchmark]


REPORTED_EXPERIMENTS = ("table1",)
"""The experiments whose tables and figures `all` builds."""


def report_cells():
    return [c for e in REPORTED_EXPERIMENTS for c in experiment_cells(CFG, e)
            if c.benchmark in PRESET.data.tasks]


def report_outputs():
    outputs = []
    for benchmark in CFG.experiments["table1"].benchmarks:
        if benchmark in PRESET.data.tasks:
            outputs += expand(f"{RESULTS}/tables/table1_{benchmark}.{{ext}}",
                              ext=("csv", "md", "tex"))
            outputs += expand(f"{RESULTS}/figures/figure2_{benchmark}.{{ext}}",
                              ext=("png", "pdf"))
    return outputs
