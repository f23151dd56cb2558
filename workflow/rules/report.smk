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
    figure,
    cosines,
    comparison,
    transfer,
    noise,


rule table:
    input:
        metrics=table_inputs,
        tests=lambda w: test_files(w.benchmark),
    output:
        csv=f"{RESULTS}/tables/table{{number}}_{{benchmark}}.csv",
        md=f"{RESULTS}/tables/table{{number}}_{{benchmark}}.md",
        tex=f"{RESULTS}/tables/table{{number}}_{{benchmark}}.tex",
        html=report(f"{RESULTS}/tables/table{{number}}_{{benchmark}}.html",
                    caption="../report/table.rst", category="Tables",
                    subcategory=lambda w: benchmark_title(w.benchmark),
                    labels=lambda w: {"table": f"Table {w.number}: {TABLES[int(w.number)].title}",
                                      "benchmark": benchmark_title(w.benchmark)}),
    wildcard_constraints:
        number="|".join(map(str, TABLES)),
    params:
        model=lambda w: CFG.experiments[f"table{w.number}"].model,
        title=lambda w: f"Table {w.number} ({benchmark_title(w.benchmark)}), "
        f"{TABLES[int(w.number)].title}",
        provenance=lambda w: provenance_params(f"table{w.number}", [w.benchmark]),
    log:
        f"{RESULTS}/logs/table{{number}}_{{benchmark}}.log",
    conda:
        CONDA_ENV
    shell:
        "{TC} table --number {wildcards.number} --benchmark {wildcards.benchmark} "
        "--model {params.model} --provenance {params.provenance[json]:q} "
        "--metrics {input.metrics} --tests {input.tests} "
        "--out {RESULTS}/tables/table{wildcards.number}_{wildcards.benchmark} > {log} 2>&1"


def figure_spec(w):
    return FIGURES[int(w.number)]


def figure_benchmarks(w):
    """The benchmarks a figure file shows: figure2_glue-decanlp shows both."""
    return w.benchmark.split("-")


def figure_inputs(w):
    """The files (FIGURES) of the figure's experiment's multi-task runs on its benchmarks."""
    spec = figure_spec(w)
    return [f for name in spec.files for benchmark in figure_benchmarks(w)
            for f in experiment_runs(spec.experiment, benchmark, name, multi_only=True)]


def figure_labels(w):
    """What the figure shows goes into the first label: Snakemake's report turns a later label
    with two values into a toggle, which breaks the page when the entries do not pair up."""
    return {"figure": f"Figure {w.number}: {figure_spec(w).shows}",
            "benchmark": benchmark_titles(figure_benchmarks(w))}


rule figure:
    input:
        figure_inputs,
    output:
        png=report(f"{RESULTS}/figures/figure{{number}}_{{benchmark}}.png",
                   caption="../report/figure.rst", category="Figures",
                   subcategory=lambda w: benchmark_titles(figure_benchmarks(w)),
                   labels=figure_labels),
        pdf=f"{RESULTS}/figures/figure{{number}}_{{benchmark}}.pdf",
    wildcard_constraints:
        number="|".join(map(str, FIGURES)),
        benchmark=r"[a-z]+(-[a-z]+)*",
    params:
        benchmarks=lambda w: benchmark_titles(figure_benchmarks(w)),
        provenance=lambda w: provenance_params(figure_spec(w).experiment,
                                               figure_benchmarks(w)),
    log:
        f"{RESULTS}/logs/figure{{number}}_{{benchmark}}.log",
    conda:
        CONDA_ENV
    shell:
        "{TC} figure --number {wildcards.number} --runs {input} --png {output.png} "
        "--pdf {output.pdf} --provenance {params.provenance[json]:q} > {log} 2>&1"


def cosine_group(w):
    """Heatmaps are grouped by benchmark and architecture (e.g. "GLUE · text-to-text"), so
    the labels beside them stay few and the image keeps its width in the report."""
    cell = Cell.from_id(w.cell)
    return f"{benchmark_title(cell.benchmark)} · {cell.architecture}"


def cosine_labels(w):
    """A heatmap's cell within its group, in the factors' short level names."""
    cell = Cell.from_id(w.cell)
    levels = cell.levels()
    return {"model": cell.model,
            "prompts": levels["prompts"] if cell.architecture != "canonical" else "none",
            "labels": levels["output_space"], "decoder": levels["decoder"],
            "aggregator": levels["aggregator"], "seed": str(cell.seed)}


rule cosines:
    input:
        f"{RESULTS}/runs/{{cell}}/conflict.parquet",
    output:
        report(f"{RESULTS}/figures/cosines/{{cell}}.png", caption="../report/cosines.rst",
               category="Task-gradient cosines", subcategory=cosine_group,
               labels=cosine_labels),
    wildcard_constraints:
        cell=rf"[a-z]+/[A-Za-z0-9_.]+/[a-z-]+/multi/{factors.variant_pattern()}/seed\d+",
    params:
        title=lambda w: Cell.from_id(w.cell).title,
        provenance=lambda w: provenance_params(
            None, [Cell.from_id(w.cell).benchmark], Cell.from_id(w.cell).model),
    log:
        f"{RESULTS}/logs/cosines/{{cell}}.log",
    conda:
        CONDA_ENV
    shell:
        "{TC} cosines --conflict {input} --png {output} "
        "--provenance {params.provenance[json]:q} > {log} 2>&1"


rule comparison:
    input:
        lambda w: [f for f in table_outputs() if f.endswith(".csv")],
    output:
        md=f"{RESULTS}/tables/paper_comparison.md",
        html=report(f"{RESULTS}/tables/paper_comparison.html",
                    caption="../report/comparison.rst", category="This run vs. the paper",
                    labels={"table": "every table: ours, the paper's, the difference"}),
    params:
        provenance=provenance_params(),
    log:
        f"{RESULTS}/logs/comparison.log",
    conda:
        CONDA_ENV
    shell:
        "{TC} comparison --tables {input} --provenance {params.provenance[json]:q} "
        "--out {output.md} --html {output.html} > {log} 2>&1"


def run_files(name, multi_task):
    """`name` of every reported cell of one mode (every table, every seed)."""
    return [f"{RESULTS}/runs/{c.id}/{name}" for c in report_cells()
            if c.multi_task == multi_task]


rule transfer:
    """Beyond the paper: does a task's conflict with the others predict its transfer?"""
    input:
        multi=lambda w: run_files("metrics.json", True),
        conflict=lambda w: run_files("conflict.parquet", True),
        single=lambda w: run_files("metrics.json", False),
        tests=lambda w: [f for b in PRESET.data.tasks for f in test_files(b)],
    output:
        csv=f"{ANALYSIS}/transfer.csv",
        correlations=f"{ANALYSIS}/transfer_correlations.csv",
        md=f"{ANALYSIS}/transfer.md",
        html=report(f"{ANALYSIS}/transfer.html", caption="../report/transfer.rst",
                    category="Beyond the paper",
                    labels={"analysis": "conflict vs. transfer: correlations"}),
        png=report(f"{ANALYSIS}/transfer.png", caption="../report/transfer.rst",
                   category="Beyond the paper",
                   labels={"analysis": "conflict vs. transfer: scatter plot"}),
        pdf=f"{ANALYSIS}/transfer.pdf",
    params:
        provenance=provenance_params(),
    log:
        f"{RESULTS}/logs/transfer.log",
    conda:
        CONDA_ENV
    shell:
        "{TC} transfer --multi {input.multi} --single {input.single} --tests {input.tests} "
        "--provenance {params.provenance[json]:q} --out {ANALYSIS}/transfer > {log} 2>&1"


rule noise:
    """Beyond the paper: each task's gradient-noise scale, from the conflict probes."""
    input:
        conflict=lambda w: run_files("conflict.parquet", True),
        norms=lambda w: run_files("probe_norms.parquet", True),
    output:
        csv=f"{ANALYSIS}/noise.csv",
        html=report(f"{ANALYSIS}/noise.html", caption="../report/noise.rst",
                    category="Beyond the paper",
                    labels={"analysis": "gradient noise: noise scale per task"}),
    params:
        provenance=provenance_params(),
    log:
        f"{RESULTS}/logs/noise.log",
    conda:
        CONDA_ENV
    shell:
        "{TC} noise --conflict {input.conflict} --provenance {params.provenance[json]:q} "
        "--out {ANALYSIS}/noise > {log} 2>&1"
