# Training and evaluation: one job per cell (grid.py). A cell's folder is its id:
# runs/<benchmark>/<model>/<architecture>/<task or multi>/<variant>/seed<n>, where the
# variant joins the level of every variant factor: <prompts>-<output_space>-<decoder>
# (factors.py).


wildcard_constraints:
    benchmark="[a-z]+",
    model="[A-Za-z0-9_.]+",
    architecture="|".join(factors.ARCHITECTURE.names),
    tasks="[a-z0-9_]+",
    variant=factors.variant_pattern(),
    seed=r"\d+",


CELL_DIR = f"{RESULTS}/runs/{{benchmark}}/{{model}}/{{architecture}}/{{tasks}}/{{variant}}/seed{{seed}}"


rule train:
    """Train one cell and evaluate its final model, in one process: starting Python with torch
    and transformers costs seconds, more than many small cells take to evaluate."""
    input:
        model=lambda w: model_inputs(w.model),
        data=lambda w: [
            rendered_file(cell_of(w), task, split)
            for task in cell_tasks(w)
            for split in registry.get_task(task).splits
        ],
    output:
        weights=f"{CELL_DIR}/model.safetensors",
        log=f"{CELL_DIR}/train_log.parquet",
        conflict=f"{CELL_DIR}/conflict.parquet",
        probe_norms=f"{CELL_DIR}/probe_norms.parquet",
        metrics=f"{CELL_DIR}/metrics.json",
        run_info=f"{CELL_DIR}/run_info.json",
    params:
        cell=lambda w: as_arg(cell_of(w)),
        config=as_arg(PRESET.train),
        model=lambda w: model_path(w.model),
        data=lambda w: " ".join(
            f"{task}={os.path.dirname(rendered_file(cell_of(w), task, 'train'))}"
            for task in cell_tasks(w)
        ),
    log:
        f"{RESULTS}/logs/train/{CELL_DIR.removeprefix(RESULTS + '/runs/')}.log",
    threads: PRESET.train.threads
    priority: lambda w: train_priority(w)
    resources:  # preset.resources: by model size and mode, for a cluster profile
        gpu=lambda w: train_resources(w)["gpu"],  # the SLURM plugin's name: --gpus
        mem_mb=lambda w: train_resources(w)["mem_mb"],
        runtime=lambda w: train_resources(w)["runtime"],
    conda:
        CONDA_ENV
    shell:
        "{TC} train --cell {params.cell} --config {params.config} --model {params.model} "
        "--data {params.data} --out $(dirname {output.weights}) > {log} 2>&1"
