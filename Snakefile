# The task-conflict workflow: "Do Text-to-Text Multi-Task Learners Suffer from Task Conflict?"
#
#   snakemake --cores 2 all                         # the default preset (demo), offline
#   snakemake --cores 2 all --config preset=smoke   # the test suite's preset
#
# The config is validated against the JSON schema, then turned into typed objects
# (src/taskconflict/config.py) that check task names against the task registry. Every rule
# calls one stage of the package (`python -m taskconflict <stage>`) with explicit paths.

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


validate(config, "workflow/schemas/config.schema.yaml")

from taskconflict.config import load_config, ConfigError

try:
    CFG = load_config(config)
except ConfigError as error:
    raise WorkflowError(f"Invalid config: {error}") from None

PRESET = CFG.preset
RESULTS = CFG.results


include: "workflow/rules/common.smk"
include: "workflow/rules/cache.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        data_outputs(),
        rendered_outputs(),
        model_outputs(),
        report_outputs(),
