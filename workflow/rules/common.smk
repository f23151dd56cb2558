# Helpers that turn the typed config into file lists and per-job parameters.
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
    return [
        f"{RESULTS}/models/{size}/model.safetensors"
        for size, spec in PRESET.models.items()
        if spec.pretrained_here
    ]


def tasks_by_splits():
    """The preset's tasks grouped by the splits they have: {splits: [task, ...]}."""
    groups = {}
    for task in PRESET.data.task_names:
        groups.setdefault(registry.get_task(task).splits, []).append(task)
    return groups
