"""Outputs a shared cluster can read, and rules that run in the declared environment."""

from __future__ import annotations

import os
import re
import stat

import pandas as pd
import pytest
import tomllib
import yaml
from workflow_helpers import ROOT

from taskconflict.io import atomic_path, write_json, write_lines, write_parquet


@pytest.fixture
def umask():
    """Set the process umask for one test, and restore it."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_final_files_get_the_permissions_of_a_normal_write(tmp_path, umask, mask, mode):
    umask(mask)
    write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "x.parquet")
    write_json({"a": 1}, tmp_path / "x.json")
    write_lines(["a"], tmp_path / "x.txt")
    with atomic_path(tmp_path / "weights.bin") as tmp:
        tmp.write_bytes(b"\0")
    plain = tmp_path / "plain.txt"
    plain.write_text("a")  # what a normal write gives, for comparison
    assert stat.S_IMODE(plain.stat().st_mode) == mode
    for name in ("x.parquet", "x.json", "x.txt", "weights.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "x.json") as tmp:
        tmp.write_text("half")
        raise RuntimeError("stopped")
    assert list(tmp_path.iterdir()) == []


def _rule_blocks(text: str) -> list[str]:
    """The text of each rule of a rule file (from one `rule` line to the next)."""
    starts = [m.start() for m in re.finditer(r"^\s*rule\b.*:\s*$", text, flags=re.MULTILINE)]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=False)]


def test_every_rule_that_runs_the_package_declares_the_conda_environment():
    """`--use-conda` builds envs/taskconflict.yaml for each job that runs the package."""
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    env = re.search(r'^CONDA_ENV = "([^"]+)"', common, flags=re.MULTILINE).group(1)
    assert (ROOT / "workflow" / "rules" / env).resolve() == ROOT / "envs" / "taskconflict.yaml"
    running = 0
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in _rule_blocks(path.read_text()):
            if "{TC" in block:
                running += 1
                assert re.search(r"conda:\s+CONDA_ENV", block), f"{path.name}: {block[:60]}"
    assert running >= 8


def test_the_conda_environment_pins_what_pyproject_pins():
    """Exact pins (torch) are repeated, so conda's pip does not pull another build; the rest
    comes from pyproject.toml through the editable install of this checkout."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = sorted(d.replace(" ", "") for d in project["dependencies"] if "==" in d)
    env = yaml.safe_load((ROOT / "envs" / "taskconflict.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(p for p in pip if "==" in p) == pins
    assert "-e .." in pip
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    minimum = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.split("=")[1].split("."))) >= tuple(map(int, minimum.split(".")))
