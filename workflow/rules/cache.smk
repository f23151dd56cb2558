# Real-data presets: one local job (on the submit host, which has internet access) fetches
# every hub dataset and checkpoint into results/<preset>/cache/ and checks the local sources.
# It reports every unreachable source at once, before any data is prepared; all other jobs
# run with the hub switched off (TC in common.smk).


if real_data_tasks() or checkpoint_models():

    localrules:
        cache,

    rule cache:
        output:
            [f"{CACHE}/datasets/{task}/{MANIFEST}" for task in real_data_tasks()],
            [f"{CACHE}/models/{m.size}/{MANIFEST}" for m in checkpoint_models()],
        params:
            datasets=as_list_arg([PRESET.data.for_task(t) for t in real_data_tasks()]),
            models=as_list_arg(checkpoint_models()),
        log:
            f"{RESULTS}/logs/cache.log",
        conda:
            CONDA_ENV
        shell:
            "{TC_ONLINE} cache --datasets {params.datasets} --models {params.models} "
            "--out {CACHE} --preset {PRESET.name} 2>&1 | tee {log}"
