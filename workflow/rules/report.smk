# Tables, figures and the comparison with the paper, from the cells' metrics, conflict and
# training logs. Each output is flagged for `snakemake --report` with a caption that says
# what was run (workflow/report/*.rst get the job's params).


def experiment_runs(experiment, benchmark, name, multi_only=False):
    return [f"{RESULTS}/runs/{c.id}/{name}" for c in experiment_cells(CFG, experiment)
            if c.benchmark == benchmark and (c.multi_task or not multi_only)]


def table_inputs(w):
    """The table's own cells plus Table 1's (baselines such as the text-to-text single-task
    row of Table 3 are trained once, for Table 1)."""
    experiments = {f"table{w.number}", "table1"} if w.number != "4" else {"table4"}
    return sorted({f for e in experiments & set(CFG.experiments)
                   for f in experiment_runs(e, w.benchmark, "metrics.json")})


# Seconds of pandas and matplotlib each: on a cluster they run on the submit host, not in the
# queue.
localrules:
    table,
    figure2,
    figure3,
    figure4,
    figure5,
    cosines,
    comparison,


rule table:
    input:
        table_inputs,
    output:
        csv=f"{RESULTS}/tables/table{{number}}_{{benchmark}}.csv",
        md=f"{RESULTS}/tables/table{{number}}_{{benchmark}}.md",
        tex=f"{RESULTS}/tables/table{{number}}_{{benchmark}}.tex",
        html=report(f"{RESULTS}/tables/table{{number}}_{{benchmark}}.html",
                    caption="../report/table.rst", category="Tables",
                    subcategory="{benchmark}", labels={"table": "Table {number}",
                                                       "benchmark": "{benchmark}"}),
    wildcard_constraints:
        number="[1-4]",
    params:
        model=lambda w: CFG.experiments[f"table{w.number}"].model,
        context=lambda w: run_context(f"table{w.number}"),
    log:
        f"{RESULTS}/logs/table{{number}}_{{benchmark}}.log",
    shell:
        "{TC} table --number {wildcards.number} --benchmark {wildcards.benchmark} "
        "--model {params.model} --context {params.context:q} --metrics {input} "
        "--out {RESULTS}/tables/table{wildcards.number}_{wildcards.benchmark} > {log} 2>&1"


def figure_report(name):
    return report(f"{RESULTS}/figures/{name}_{{benchmark}}.png",
                  caption=f"../report/{name}.rst", category="Figures",
                  subcategory="{benchmark}",
                  labels={"figure": name.replace("figure", "Figure "), "benchmark": "{benchmark}"})


rule figure2:
    input:
        lambda w: experiment_runs("table1", w.benchmark, "conflict.parquet", multi_only=True),
    output:
        png=figure_report("figure2"),
        pdf=f"{RESULTS}/figures/figure2_{{benchmark}}.pdf",
    params:
        context=run_context("table1"),
    log:
        f"{RESULTS}/logs/figure2_{{benchmark}}.log",
    shell:
        "{TC} figure2 --conflict {input} --png {output.png} --pdf {output.pdf} > {log} 2>&1"


rule figure3:
    input:
        lambda w: experiment_runs("table2", w.benchmark, "conflict.parquet", multi_only=True),
    output:
        png=figure_report("figure3"),
        pdf=f"{RESULTS}/figures/figure3_{{benchmark}}.pdf",
    params:
        context=run_context("table2"),
    log:
        f"{RESULTS}/logs/figure3_{{benchmark}}.log",
    shell:
        "{TC} figure3 --conflict {input} --png {output.png} --pdf {output.pdf} > {log} 2>&1"


rule figure4:
    input:
        conflict=lambda w: experiment_runs("figure4", w.benchmark, "conflict.parquet", True),
        metrics=lambda w: experiment_runs("figure4", w.benchmark, "metrics.json", True),
    output:
        png=figure_report("figure4"),
        pdf=f"{RESULTS}/figures/figure4_{{benchmark}}.pdf",
    params:
        context=run_context("figure4"),
    log:
        f"{RESULTS}/logs/figure4_{{benchmark}}.log",
    shell:
        "{TC} figure4 --conflict {input.conflict} --metrics {input.metrics} "
        "--png {output.png} --pdf {output.pdf} > {log} 2>&1"


rule figure5:
    input:
        lambda w: experiment_runs("table3", w.benchmark, "train_log.parquet", multi_only=True),
    output:
        png=figure_report("figure5"),
        pdf=f"{RESULTS}/figures/figure5_{{benchmark}}.pdf",
    params:
        context=run_context("table3"),
    log:
        f"{RESULTS}/logs/figure5_{{benchmark}}.log",
    shell:
        "{TC} figure5 --logs {input} --png {output.png} --pdf {output.pdf} > {log} 2>&1"


rule cosines:
    input:
        f"{RESULTS}/runs/{{cell}}/conflict.parquet",
    output:
        report(f"{RESULTS}/figures/cosines/{{cell}}.png", caption="../report/cosines.rst",
               category="Task-gradient cosines", subcategory="{cell}"),
    wildcard_constraints:
        cell=r"[a-z]+/[A-Za-z0-9_.]+/[a-z-]+/multi/[a-z]+-[a-z]+-[a-z]+/seed\d+",
    log:
        f"{RESULTS}/logs/cosines/{{cell}}.log",
    shell:
        "{TC} cosines --conflict {input} --png {output} > {log} 2>&1"


rule comparison:
    input:
        lambda w: [f for f in table_outputs() if f.endswith(".csv")],
    output:
        report(f"{RESULTS}/tables/paper_comparison.md", caption="../report/comparison.rst",
               category="This run vs. the paper"),
    params:
        context=f"{PRESET.name} preset",
    log:
        f"{RESULTS}/logs/comparison.log",
    shell:
        "{TC} comparison --tables {input} --context {params.context:q} --out {output} "
        "> {log} 2>&1"
