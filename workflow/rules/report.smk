# Tables and figures, from the cells' metrics and conflict logs.


rule table1:
    input:
        lambda w: [
            f"{RESULTS}/runs/{c.id}/metrics.json" for c in table_cells("table1", w.benchmark)
        ],
    output:
        multiext(f"{RESULTS}/tables/table1_{{benchmark}}", ".csv", ".md", ".tex"),
    log:
        f"{RESULTS}/logs/table1_{{benchmark}}.log",
    shell:
        "{TC} table1 --benchmark {wildcards.benchmark} --metrics {input} "
        "--out {RESULTS}/tables/table1_{wildcards.benchmark} > {log} 2>&1"


rule figure2:
    input:
        lambda w: [
            f"{RESULTS}/runs/{c.id}/conflict.parquet"
            for c in table_cells("table1", w.benchmark)
            if c.multi_task
        ],
    output:
        png=f"{RESULTS}/figures/figure2_{{benchmark}}.png",
        pdf=f"{RESULTS}/figures/figure2_{{benchmark}}.pdf",
    log:
        f"{RESULTS}/logs/figure2_{{benchmark}}.log",
    shell:
        "{TC} figure2 --conflict {input} --png {output.png} --pdf {output.pdf} > {log} 2>&1"
