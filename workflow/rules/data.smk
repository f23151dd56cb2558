# Data: one job per task writes its normalised splits; one job per task, prompt style and
# output space renders them as text-to-text source/target pairs. Tasks differ in their test
# splits (MNLI has a mismatched one), so each rule has one variant per set of splits.


def split_files(prefix, splits):
    return [f"{prefix}/{split}.parquet" for split in splits]


for splits, tasks in tasks_by_splits().items():
    extra = "".join(f"_with_{s}" for s in splits[3:])

    rule:
        name:
            f"prepare_data{extra}"
        wildcard_constraints:
            task="|".join(tasks),
        input:
            lambda w: data_source_inputs(w.task),
        output:
            split_files(f"{RESULTS}/data/{{benchmark}}/{{task}}", splits),
        params:
            config=lambda w: as_arg(PRESET.data.for_task(w.task)),
            source_dir=lambda w: f"--source-dir {CACHE}/datasets/{w.task}"
            if PRESET.data.source_of(w.task) == "hub" else "",
        log:
            f"{RESULTS}/logs/prepare_data/{{benchmark}}/{{task}}.log",
        threads: 1
        priority: 100  # seconds of work that training cells wait for
        resources:
            mem_mb=8000 if real_data_tasks() else 2000,
        conda:
            CONDA_ENV
        shell:
            "{TC} prepare-data --config {params.config} {params.source_dir} "
            "--out $(dirname {output[0]}) > {log} 2>&1"

    rule:
        name:
            f"render_prompts{extra}"
        wildcard_constraints:
            task="|".join(tasks),
            style="|".join(factors.PROMPTS.names),
            output_space="|".join(factors.OUTPUT_SPACE.names),
        input:
            split_files(f"{RESULTS}/data/{{benchmark}}/{{task}}", splits),
        output:
            split_files(f"{RESULTS}/rendered/{{benchmark}}/{{task}}/{{style}}-{{output_space}}", splits),
        params:
            seed=PRESET.data.seed,
            # only STS-B's rendering depends on it, so only its jobs rerun when it changes
            stsb_target=lambda w: f"--stsb-target {PRESET.data.stsb_target}"
            if registry.get_task(w.task).kind == registry.REGRESSION else "",
        log:
            f"{RESULTS}/logs/render_prompts/{{benchmark}}/{{task}}/{{style}}-{{output_space}}.log",
        threads: 1
        priority: 100  # a multi-task cell waits for every task's rendering
        resources:
            mem_mb=2000,
        conda:
            CONDA_ENV
        shell:
            "{TC} render --task {wildcards.task} --style {wildcards.style} "
            "--output-space {wildcards.output_space} --seed {params.seed} {params.stsb_target} "
            "--data $(dirname {input[0]}) --out $(dirname {output[0]}) > {log} 2>&1"
