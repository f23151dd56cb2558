# Helpers that turn the typed config into file lists and per-job parameters.
import os
import shlex

from taskconflict import factors, registry
from taskconflict.cache import MANIFEST, ModelSource, is_local_checkpoint
from taskconflict.config import to_json
from taskconflict.provenance import of_run
from taskconflict.registry import benchmark_title, benchmark_titles

TC_ONLINE = "python -m taskconflict"
TC = f"HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 {TC_ONLINE}"
"""Every job but the cache stage runs with the hub switched off: compute nodes need no
internet, and a job never downloads behind the workflow's back."""
CACHE = f"{RESULTS}/cache"
CONDA_ENV = "../../envs/taskconflict.yaml"
"""The environment of every rule that runs the package, for `--use-conda` (relative to the
rule files in workflow/rules/)."""


def as_arg(obj):
    """A config dataclass as one shell-quoted JSON argument; also the job's params, so a
    change to it (and only to it) reruns the job."""
    return shlex.quote(to_json(obj))


def as_list_arg(objs):
    """Config dataclasses as one shell-quoted JSON list."""
    return shlex.quote("[" + ", ".join(to_json(o) for o in objs) + "]")


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


def test_files(benchmark):
    """The test splits of a benchmark's tasks: the tables read their labels for each metric's
    floor (majority-class accuracy)."""
    return [f"{data_dir(t)}/{split}.parquet" for t in PRESET.data.tasks.get(benchmark, ())
            for split in registry.get_task(t).test_splits]


def rendered_outputs():
    """Every task rendered in the prompt styles and output spaces the reported cells use
    (canonical cells read the default rendering too)."""
    needed = {(c.benchmark, t, c.prompts, c.output_space) for c in report_cells()
              for t in cell_tasks(c)}
    return [
        f"{RESULTS}/rendered/{benchmark}/{t}/{prompts}-{output_space}/{split}.parquet"
        for benchmark, t, prompts, output_space in sorted(needed)
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
    cell = Cell(w.benchmark, w.model, w.architecture, w.tasks, w.variant, int(w.seed))
    return CELLS.get(cell.id, cell)


def cell_tasks(w):
    if w.tasks == "multi":
        return list(PRESET.data.tasks[w.benchmark])
    return [w.tasks]


def rendered_file(cell, task, split):
    return (f"{RESULTS}/rendered/{cell.benchmark}/{task}/{cell.prompts}-{cell.output_space}/"
            f"{split}.parquet")


def model_path(size):
    """Where from_pretrained finds a model size: our pre-trained folder, a local checkpoint
    folder, or the cache stage's copy of a hub checkpoint."""
    spec = PRESET.models[size]
    if spec.pretrained_here:
        return f"{RESULTS}/models/{size}"
    return spec.checkpoint if is_local_checkpoint(spec.checkpoint) else f"{CACHE}/models/{size}"


def model_inputs(size):
    spec = PRESET.models[size]
    if spec.pretrained_here:
        return [f"{RESULTS}/models/{size}/model.safetensors"]
    return [f"{CACHE}/models/{size}/{MANIFEST}"]


def real_data_tasks():
    """The preset's tasks read from the hub or local files (not generated)."""
    return [t for t in PRESET.data.task_names if PRESET.data.source_of(t) != "generated"]


def checkpoint_models():
    """The model sizes the reported cells train that come from a checkpoint."""
    sizes = {c.model for c in report_cells()}
    return [ModelSource(size, spec.checkpoint) for size, spec in PRESET.models.items()
            if not spec.pretrained_here and size in sizes]


def data_source_inputs(task):
    """A real-data task waits for the cache stage, which fetched or checked its source."""
    return [f"{CACHE}/datasets/{task}/{MANIFEST}"] if task in real_data_tasks() else []


def train_priority(w):
    """Longest cells first: a multi-task step costs one pass per task, so a multi-task cell
    runs about K times longer than a single-task one. Started last, it would run alone at the
    end with the other cores idle; started first, the short cells fill in around it."""
    return len(cell_tasks(w))


def train_resources(w):
    return PRESET.resources.for_job(w.model, w.tasks == "multi")


def report_cells():
    """Every cell of every experiment, on the benchmarks the preset has data for."""
    return [c for c in CELLS.values() if c.benchmark in PRESET.data.tasks]


def experiment_benchmarks(experiment):
    """The benchmarks an experiment runs on that the preset has data for (none if the config
    has no such experiment)."""
    exp = CFG.experiments.get(experiment)
    return [b for b in exp.benchmarks if b in PRESET.data.tasks] if exp else []


def provenance(experiment=None, benchmarks=None, model=None):
    """What was run (`provenance.Provenance`): preset, data source, model, steps, seeds; of
    one experiment's outputs, or of the preset (cross-experiment outputs and the home page)."""
    return of_run(CFG, experiment, benchmarks, model)


def provenance_params(experiment=None, benchmarks=None, model=None):
    """The job's params: the provenance as JSON for the stage and as a sentence for the
    report caption."""
    record = provenance(experiment, benchmarks, model)
    return {"json": record.to_json(), "sentence": record.sentence(),
            "comparable": record.comparable}


REPORT_HOME = provenance()
config["report_home"] = {"sentence": REPORT_HOME.sentence(),
                         "comparable": REPORT_HOME.comparable}
"""The report's home text is rendered with nothing but the config, so what was run is added
to it here, after the schema has validated what the user wrote."""


TABLE_EXTS = ("csv", "md", "tex", "html")
FIGURE_EXTS = ("png", "pdf")
from taskconflict.figures import FIGURES  # each figure's experiment and the run files it reads


from taskconflict.tables import TABLES  # each table's rows; Table N shows experiment tableN


def table_outputs():
    return [f"{RESULTS}/tables/table{n}_{b}.{ext}"
            for n in TABLES for b in experiment_benchmarks(f"table{n}")
            for ext in TABLE_EXTS]


def figure_files(number):
    """Figure `number`'s file stems: one per benchmark, or one for all of them (named
    figure2_glue-decanlp) when the figure sets them side by side."""
    spec, benchmarks = FIGURES[number], experiment_benchmarks(FIGURES[number].experiment)
    groups = ([benchmarks] if benchmarks else []) if spec.joint_benchmarks else [
        [b] for b in benchmarks]
    return [f"{RESULTS}/figures/figure{number}_{'-'.join(group)}" for group in groups]


def figure_outputs():
    return [f"{stem}.{ext}" for number in FIGURES for stem in figure_files(number)
            for ext in FIGURE_EXTS]


def cosine_outputs():
    return [f"{RESULTS}/figures/cosines/{c.id}.png" for c in report_cells() if c.multi_task]


ANALYSIS = f"{RESULTS}/analysis"


def analysis_outputs():
    """Beyond the paper: conflict vs. transfer over every multi-task cell, and the noise
    scales (when any multi-task cell is reported)."""
    if not any(c.multi_task for c in report_cells()):
        return []
    return [f"{ANALYSIS}/transfer.html", f"{ANALYSIS}/transfer.png", f"{ANALYSIS}/noise.html"]


def report_outputs():
    return [*table_outputs(), *figure_outputs(), *cosine_outputs(), *analysis_outputs(),
            f"{RESULTS}/tables/paper_comparison.md", f"{RESULTS}/tables/paper_comparison.html"]
