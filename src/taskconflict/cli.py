"""Command line of the workflow's stages: each subcommand calls one function of the package.

Snakemake rules call these with explicit input and output paths and the job's own slice of
the typed config as JSON (see `config.to_json`). They can also be run by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from taskconflict import config as cfg


def _prepare_data(a: argparse.Namespace) -> None:
    from taskconflict.data.prepare import prepare_task

    prepare_task(cfg.from_json(cfg.TaskDataConfig, a.config), a.out, a.source_dir)


def _render(a: argparse.Namespace) -> None:
    from taskconflict.prompts import render_task

    render_task(a.task, a.style, a.output_space, a.seed, a.data, a.out, a.stsb_target)


def _corpus(a: argparse.Namespace) -> None:
    from taskconflict.data.corpus import build_corpus

    build_corpus(cfg.from_json(cfg.CorpusConfig, a.config), a.train, a.heldout)


def _tokenizer(a: argparse.Namespace) -> None:
    from taskconflict.tokenizer import build_workflow_tokenizer

    build_workflow_tokenizer(a.corpus, a.out, cfg.from_json(cfg.TokenizerConfig, a.config))


def _pretrain(a: argparse.Namespace) -> None:
    from taskconflict.pretrain import pretrain

    pretrain(
        corpus=a.corpus,
        heldout=a.heldout,
        tokenizer_dir=a.tokenizer,
        shape=cfg.from_json(cfg.ModelShape, a.shape),
        cfg=cfg.from_json(cfg.PretrainConfig, a.config),
        out_dir=a.out,
        threads=a.threads,
    )


def _task_paths(pairs: list[str]) -> dict[str, str]:
    """`task=path` arguments, in the order given."""
    out = {}
    for pair in pairs:
        task, sep, path = pair.partition("=")
        if not sep:
            raise ValueError(f"--data expects task=path, got {pair!r}")
        out[task] = path
    return out


def _train(a: argparse.Namespace) -> None:
    from pathlib import Path

    from taskconflict.grid import Cell
    from taskconflict.run import run_cell

    data = {task: Path(folder) for task, folder in _task_paths(a.data).items()}
    run_cell(cfg.from_json(Cell, a.cell), cfg.from_json(cfg.TrainConfig, a.config), a.model,
             data, a.out)


def _cache(a: argparse.Namespace) -> None:
    import json

    from taskconflict.cache import ModelSource, SourceError, cache_sources

    datasets = [cfg.TaskDataConfig(**d) for d in json.loads(a.datasets)]
    models = [ModelSource(**m) for m in json.loads(a.models)]
    try:
        cache_sources(datasets, models, a.out, a.preset)
    except SourceError as error:
        raise SystemExit(str(error)) from None


def _provenance(text: str | None):
    """The stage's `--provenance` JSON (what was run, for titles and captions), or None."""
    from taskconflict.provenance import Provenance

    return Provenance.from_json(text) if text else None


def _table(a: argparse.Namespace) -> None:
    from taskconflict.report import write_table_files

    write_table_files(a.number, a.benchmark, a.model, a.metrics, a.out,
                      _provenance(a.provenance), a.tests)


def _figure(a: argparse.Namespace) -> None:
    from taskconflict.report import write_figure

    write_figure(a.number, a.runs, a.png, a.pdf, _provenance(a.provenance))


def _cosines(a: argparse.Namespace) -> None:
    from taskconflict.report import write_cosines

    write_cosines(a.conflict, a.png, _provenance(a.provenance))


def _transfer(a: argparse.Namespace) -> None:
    from taskconflict.transfer import write_transfer_analysis

    stem = a.out
    write_transfer_analysis(a.multi, a.single, f"{stem}.csv", f"{stem}.md", f"{stem}.png",
                            f"{stem}.pdf", n_boot=a.n_boot, seed=a.seed,
                            out_corr_csv=f"{stem}_correlations.csv", out_html=f"{stem}.html",
                            provenance=_provenance(a.provenance), test_files=a.tests)


def _noise(a: argparse.Namespace) -> None:
    from taskconflict.noise import write_noise_table

    write_noise_table(a.conflict, f"{a.out}.csv", f"{a.out}.html", _provenance(a.provenance))


def _comparison(a: argparse.Namespace) -> None:
    from taskconflict.report import write_comparison

    write_comparison(a.tables, a.out, _provenance(a.provenance), a.html)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskconflict", description=__doc__)
    sub = parser.add_subparsers(dest="stage", required=True)

    def stage(name: str, run: Callable[[argparse.Namespace], None], help: str):
        p = sub.add_parser(name, help=help)
        p.set_defaults(run=run)
        return p

    p = stage("prepare-data", _prepare_data, "write one task's normalised splits")
    p.add_argument("--config", required=True, help="TaskDataConfig as JSON")
    p.add_argument("--out", required=True, help="folder for <split>.parquet")
    p.add_argument("--source-dir", help="source hub: the cache stage's copy of the dataset")

    p = stage("cache", _cache, "fetch the hub datasets and checkpoints once; check local ones")
    p.add_argument("--datasets", required=True, help="JSON list of TaskDataConfig (real data)")
    p.add_argument("--models", required=True, help="JSON list of {size, checkpoint}")
    p.add_argument("--out", required=True, help="the cache folder")
    p.add_argument("--preset", default="", help="names config keys in messages")

    p = stage("render", _render,
              "add source/target text in one prompt style and output space")
    p.add_argument("--task", required=True)
    p.add_argument("--style", required=True, help="prompt style: null, default, diverse")
    p.add_argument("--output-space", default="default",
                   help="output space: default, overlapping, distinct")
    p.add_argument("--seed", type=int, default=0, help="seeds diverse prompts and letters")
    p.add_argument("--stsb-target", default="paper",
                   help="STS-B targets: paper ('{:.1f}' of the raw score) or t5 (0.2 steps)")
    p.add_argument("--data", required=True, help="folder of the task's normalised splits")
    p.add_argument("--out", required=True)

    p = stage("corpus", _corpus, "write the unlabelled pre-training corpus")
    p.add_argument("--config", required=True, help="CorpusConfig as JSON")
    p.add_argument("--train", required=True)
    p.add_argument("--heldout", required=True)

    p = stage("tokenizer", _tokenizer, "train the SentencePiece / T5 tokenizer")
    p.add_argument("--config", required=True, help="TokenizerConfig as JSON")
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True)

    p = stage("pretrain", _pretrain, "pre-train a small T5 with span corruption")
    p.add_argument("--config", required=True, help="PretrainConfig as JSON")
    p.add_argument("--shape", required=True, help="ModelShape as JSON")
    p.add_argument("--corpus", required=True)
    p.add_argument("--heldout", required=True)
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=1)

    p = stage("train", _train, "train one cell of the grid, then evaluate it")
    p.add_argument("--cell", required=True, help="Cell as JSON")
    p.add_argument("--config", required=True, help="TrainConfig as JSON")
    p.add_argument("--model", required=True, help="pre-trained checkpoint: folder or hub id")
    p.add_argument("--data", required=True, nargs="+", help="task=rendered split folder")
    p.add_argument("--out", required=True, help="the cell's run folder")

    p = stage("table", _table, "one of Tables 1-5 (one benchmark) as CSV, Markdown, LaTeX, HTML")
    p.add_argument("--number", required=True, type=int, help="tables.TABLES")
    p.add_argument("--benchmark", required=True)
    p.add_argument("--model", default="small", help="the config's model key of the cells")
    p.add_argument("--metrics", required=True, nargs="+", help="the cells' metrics.json")
    p.add_argument("--tests", nargs="*", default=[],
                   help="the benchmark's test splits (data/<benchmark>/<task>/<split>.parquet): "
                   "their labels give each metric's floor")
    p.add_argument("--out", required=True, help="output path without extension")
    p.add_argument("--provenance", help="what was run (provenance.Provenance as JSON)")

    p = stage("figure", _figure, "one of Figures 2-6 as PNG and PDF")
    p.add_argument("--number", required=True, type=int, help="figures.FIGURES")
    p.add_argument("--runs", required=True, nargs="+",
                   help="the multi-task cells' run files the figure draws (conflict.parquet, "
                   "metrics.json, train_log.parquet: figures.FIGURES)")
    p.add_argument("--png", required=True)
    p.add_argument("--pdf", required=True)
    p.add_argument("--provenance", help="what was run (provenance.Provenance as JSON)")

    p = stage("cosines", _cosines, "task-gradient cosine heatmaps of one multi-task cell")
    p.add_argument("--conflict", required=True, help="the cell's conflict.parquet")
    p.add_argument("--png", required=True)
    p.add_argument("--provenance", help="what was run (provenance.Provenance as JSON)")

    p = stage("transfer", _transfer, "does conflict predict transfer? (every multi-task cell)")
    p.add_argument("--multi", required=True, nargs="+",
                   help="metrics.json of the multi-task cells (conflict.parquet beside each)")
    p.add_argument("--single", required=True, nargs="+",
                   help="metrics.json of the single-task cells (the baselines)")
    p.add_argument("--tests", nargs="*", default=[],
                   help="the test splits (data/<benchmark>/<task>/<split>.parquet): their "
                   "labels give each metric's floor")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples of cells")
    p.add_argument("--seed", type=int, default=0, help="seeds the bootstrap")
    p.add_argument("--out", required=True, help="output path without extension")
    p.add_argument("--provenance", help="what was run (provenance.Provenance as JSON)")

    p = stage("noise", _noise, "gradient-noise scale per task of each multi-task cell")
    p.add_argument("--conflict", required=True, nargs="+",
                   help="the cells' conflict.parquet (probe_norms.parquet beside each)")
    p.add_argument("--out", required=True, help="output path without extension")
    p.add_argument("--provenance", help="what was run (provenance.Provenance as JSON)")

    p = stage("comparison", _comparison, "our tables beside the paper's, with differences")
    p.add_argument("--tables", required=True, nargs="*", help="the tables' CSV files")
    p.add_argument("--out", required=True, help="Markdown file")
    p.add_argument("--html", help="the same as an HTML page, for the report")
    p.add_argument("--provenance", help="what was run (provenance.Provenance as JSON)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        args.run(args)
    except (ValueError, NotImplementedError, FileNotFoundError, KeyError) as error:
        print(f"taskconflict {args.stage}: error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
