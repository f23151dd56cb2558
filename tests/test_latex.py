"""The LaTeX tables are booktabs tabulars that compile when \\input into a document.

With pdflatex and booktabs installed the table is compiled; either way its source is parsed
with pylatexenc and checked: one cell per column in every row, \\toprule < \\midrule <
\\bottomrule, and no unescaped special character in the text. The checker is itself tested on
broken tables, so a table it passes is not merely one it cannot read.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from taskconflict.grid import Cell, main_variant
from taskconflict.provenance import DataSource, Provenance
from taskconflict.registry import TASKS
from taskconflict.tables import TABLE1, build_table, write_table

try:
    from pylatexenc import latexwalker
except ImportError:  # the compile test still runs where pdflatex is
    latexwalker = None
needs_parser = pytest.mark.skipif(latexwalker is None, reason="pylatexenc is not installed")

DEMO = Provenance("demo", (DataSource("glue", "generated"),),
                  "small: T5 v1.1-style 128-d, 2+2 layers, pre-trained here", True, 200, 16, 1)
RULES = ("toprule", "midrule", "bottomrule")
SPECIAL_IN_TEXT = set("#_^&$%")
"""Characters that must reach LaTeX escaped (as \\_ etc.) when they are meant as text."""


def metrics(cell: Cell, scores: dict[str, float]) -> dict:
    return {"cell": cell.id, "tasks": {
        task: {"test": {TASKS[task].metric: score}} for task, score in scores.items()}}


def table_source(tmp_path: Path) -> str:
    """Table 1 with at-floor cells, negative numbers, a missing result (no CoLA for the
    text-to-text multi-task row) and a row label full of special characters."""
    canonical = main_variant("canonical")
    t2t = main_variant("text-to-text")
    single = {"cola": -64.5, "rte": 60.0}
    runs = [(c, metrics(c, {task: score})) for task, score in single.items()
            for c in [Cell("glue", "small", "canonical", task, canonical)]]
    multi = Cell("glue", "small", "canonical", "multi", canonical)
    runs.append((multi, metrics(multi, {"cola": 2.0, "rte": 52.0})))
    t2t_multi = Cell("glue", "small", "text-to-text", "multi", t2t)
    runs.append((t2t_multi, metrics(t2t_multi, {"rte": 70.0})))
    frame = build_table(TABLE1, runs, "glue", floors={"cola": 0.0, "rte": 50.0})
    frame["row"] = frame["row"].replace("canonical single-task", "canonical_single & #1 50% ~^$")
    stem = tmp_path / "table"
    write_table(frame, stem, TABLE1, DEMO)
    return stem.with_name("table.tex").read_text(encoding="utf-8")


def _nodes_below(node) -> list:
    """Child nodes of a group, environment or macro (its arguments); none of math."""
    w = latexwalker
    if isinstance(node, w.LatexMathNode):
        return []
    children = list(getattr(node, "nodelist", None) or [])
    if isinstance(node, w.LatexMacroNode) and node.nodeargd is not None:
        children += [a for a in node.nodeargd.argnlist if a is not None]
    return children


def _text_errors(nodes: list, where: str) -> list[str]:
    """Unescaped special characters or a comment (an unescaped %) in the text of `nodes`."""
    w = latexwalker
    errors = []
    for node in nodes:
        if isinstance(node, w.LatexCommentNode):
            errors.append(f"{where}: unescaped % starts a comment: {node.latex_verbatim()!r}")
        elif isinstance(node, w.LatexCharsNode) and SPECIAL_IN_TEXT & set(node.chars):
            errors.append(f"{where}: unescaped {''.join(sorted(SPECIAL_IN_TEXT & set(node.chars)))}"
                          f" in {node.chars!r}")
        errors += _text_errors(_nodes_below(node), where)
    return errors


def _column_count(spec: str) -> int:
    return sum(ch in "lcr" for ch in spec)


def tabular_errors(source: str) -> list[str]:
    """What is wrong with the one booktabs tabular in `source` (empty: nothing found)."""
    w = latexwalker
    try:
        nodes, _, _ = w.LatexWalker(source, tolerant_parsing=False).get_latex_nodes()
    except w.LatexWalkerError as error:
        return [f"does not parse: {error}"]
    tabulars = [n for n in nodes
                if isinstance(n, w.LatexEnvironmentNode) and n.environmentname == "tabular"]
    if len(tabulars) != 1:
        return [f"{len(tabulars)} top-level tabular environments, not 1"]
    tabular = tabulars[0]
    spec = [a for a in tabular.nodeargd.argnlist if a is not None][-1].latex_verbatim()[1:-1]
    columns = _column_count(spec)
    errors, rules, rows, current = [], [], [], []
    for node in tabular.nodelist:
        if isinstance(node, w.LatexMacroNode) and node.macroname == "\\":
            rows.append(current)
            current = []
        elif isinstance(node, w.LatexMacroNode) and node.macroname in RULES:
            if any(not (isinstance(n, w.LatexCharsNode) and not n.chars.strip())
                   for n in current):
                errors.append(f"\\{node.macroname} inside row {len(rows) + 1}")
            rules.append((node.macroname, len(rows)))
        else:
            current.append(node)
    if any(not (isinstance(n, w.LatexCharsNode) and not n.chars.strip()) for n in current):
        errors.append("text after the last row's \\\\")
    for i, row in enumerate(rows, start=1):
        amps = sum(isinstance(n, w.LatexSpecialsNode) and n.specials_chars == "&" for n in row)
        if amps + 1 != columns:
            errors.append(f"row {i}: {amps + 1} cells for {columns} columns ({spec})")
        errors += _text_errors(row, f"row {i}")
    names = [name for name, _ in rules]
    if names != list(RULES):
        errors.append(f"rules {names}, not {list(RULES)} once each in order")
    else:
        at = dict(rules)
        if not (at["toprule"] == 0 and at["midrule"] == 1 and at["bottomrule"] == len(rows)):
            errors.append(f"rules at rows {at}: \\toprule first, \\midrule after the header, "
                          f"\\bottomrule last ({len(rows)} rows)")
    return errors


@needs_parser
def test_the_table_passes_the_checker(tmp_path: Path) -> None:
    source = table_source(tmp_path)
    assert tabular_errors(source) == []
    assert r"canonical\_single \& \#1 50\% \textasciitilde{}\textasciicircum{}\$" in source
    assert r"\ddag{}" in source and "$-$64.5" in source  # an at-floor cell, a negative score


def _body_row(source: str, label: str) -> str:
    return next(line for line in source.splitlines() if line.startswith(label))


@needs_parser
@pytest.mark.parametrize("breakage, message", [
    ("one & too many", "cells for"),
    ("one & too few", "cells for"),
    ("unescaped _", "unescaped _"),
    ("unescaped %", "unescaped % starts a comment"),
    ("rules swapped", "rules ['midrule', 'toprule', 'bottomrule']"),
    ("no bottomrule", "rules ['toprule', 'midrule']"),
])
def test_the_checker_rejects_a_broken_table(tmp_path: Path, breakage: str, message: str) -> None:
    source = table_source(tmp_path)
    row = _body_row(source, "canonical multi-task")
    broken = {
        "one & too many": lambda s: s.replace(row, row.removesuffix(r" \\") + r" & x \\"),
        "one & too few": lambda s: s.replace(row, row.replace(" & ", " ", 1)),
        "unescaped _": lambda s: s.replace(row, row.replace("canonical multi-task",
                                                            "canonical_multi")),
        "unescaped %": lambda s: s.replace(row, row.replace("canonical multi-task",
                                                            "canonical 50% multi-task")),
        "rules swapped": lambda s: s.replace("\\toprule\n", "\\TMP\n")
        .replace("\\midrule\n", "\\toprule\n").replace("\\TMP\n", "\\midrule\n"),
        "no bottomrule": lambda s: s.replace("\\bottomrule\n", ""),
    }[breakage](source)
    assert broken != source
    errors = tabular_errors(broken)
    assert any(message in e for e in errors), errors


def _latex_with_booktabs() -> bool:
    if not (shutil.which("pdflatex") and shutil.which("kpsewhich")):
        return False
    found = subprocess.run(["kpsewhich", "booktabs.sty"], capture_output=True, text=True)
    return found.returncode == 0 and bool(found.stdout.strip())


@pytest.mark.skipif(not _latex_with_booktabs(), reason="no pdflatex with booktabs")
def test_the_table_compiles_with_booktabs_only(tmp_path: Path) -> None:
    table_source(tmp_path)  # writes tmp_path/table.tex
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
        "\\input{table.tex}\n\\end{document}\n", encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "-no-shell-escape", "doc.tex"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    log = (tmp_path / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    assert "\n! " not in log and "Undefined control sequence" not in log


@needs_parser
def test_a_table_of_no_runs_parses(tmp_path: Path) -> None:
    """No runs: one row of dashes per table row, still a well-formed tabular."""
    write_table(build_table(TABLE1, [], "glue"), tmp_path / "empty", TABLE1, DEMO)
    assert tabular_errors((tmp_path / "empty.tex").read_text(encoding="utf-8")) == []
