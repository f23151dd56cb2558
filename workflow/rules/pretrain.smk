# Offline presets: the workflow makes its own pre-trained T5. An unlabelled corpus from the
# generated world trains a SentencePiece tokenizer, then a T5 v1.1 of each size is
# pre-trained on it with span corruption and saved with `save_pretrained`, to be loaded by
# the same `from_pretrained` call as google/t5-v1_1-small.


rule corpus:
    output:
        train=f"{RESULTS}/corpus/train.txt",
        heldout=f"{RESULTS}/corpus/heldout.txt",
    params:
        config=as_arg(PRESET.corpus),
    log:
        f"{RESULTS}/logs/corpus.log",
    threads: 1
    conda:
        CONDA_ENV
    shell:
        "{TC} corpus --config {params.config} "
        "--train {output.train} --heldout {output.heldout} > {log} 2>&1"


rule tokenizer:
    input:
        f"{RESULTS}/corpus/train.txt",
    output:
        f"{RESULTS}/tokenizer/spiece.model",
        f"{RESULTS}/tokenizer/tokenizer.json",
    params:
        config=as_arg(PRESET.tokenizer),
    log:
        f"{RESULTS}/logs/tokenizer.log",
    threads: 1
    conda:
        CONDA_ENV
    shell:
        "{TC} tokenizer --config {params.config} --corpus {input} "
        "--out $(dirname {output[0]}) > {log} 2>&1"


rule pretrain:
    input:
        corpus=f"{RESULTS}/corpus/train.txt",
        heldout=f"{RESULTS}/corpus/heldout.txt",
        tokenizer=f"{RESULTS}/tokenizer/spiece.model",
    output:
        model=f"{RESULTS}/models/{{size}}/model.safetensors",
        log=f"{RESULTS}/models/{{size}}/pretrain_log.parquet",
    params:
        config=lambda w: as_arg(PRESET.pretrain_for(w.size)),
        shape=lambda w: as_arg(PRESET.models[w.size].shape),
    log:
        f"{RESULTS}/logs/pretrain/{{size}}.log",
    threads: PRESET.pretrain.threads
    priority: 100  # every cell of its size waits for it
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    shell:
        "{TC} pretrain --config {params.config} --shape {params.shape} "
        "--corpus {input.corpus} --heldout {input.heldout} "
        "--tokenizer $(dirname {input.tokenizer}) --out $(dirname {output.model}) "
        "--threads {threads} > {log} 2>&1"
