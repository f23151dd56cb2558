"""Run the workflow from a copy of the project's workflow files in a temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Snakefile", dest / "Snakefile")
    shutil.copy(ROOT / "config.yaml", dest / "config.yaml")
    shutil.copytree(ROOT / "workflow", dest / "workflow", dirs_exist_ok=True)
    shutil.copytree(ROOT / "envs", dest / "envs", dirs_exist_ok=True)  # the rules' conda env
    return dest


def snakemake(workdir: Path, *args: str, overrides: dict | None = None,
              timeout: int = 900) -> subprocess.CompletedProcess:
    """`snakemake --cores 2 ARGS` in `workdir`, with `overrides` as an extra config file."""
    command = ["snakemake", "--cores", "2", *args]
    if overrides is not None:
        path = workdir / "override.yaml"
        path.write_text(yaml.safe_dump(overrides))
        command += ["--configfile", str(path)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                          timeout=timeout, env=env)


def planned_jobs(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}; empty when nothing is to do."""
    jobs = {}
    for match in re.finditer(r"^(\w+)\s+(\d+)$", output, flags=re.MULTILINE):
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs
