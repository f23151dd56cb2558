"""The slurm profile against a real SLURM: the smoke grid, each job an sbatch job through
snakemake-executor-plugin-slurm, to the tables.

Runs where a SLURM answers (`tests/slurm/cluster.sh start` makes a single-node one on this
machine; .ci/run does so); skipped elsewhere.
"""

import os
import re
import shutil
import subprocess
import time

import pandas as pd
import pytest
from workflow_helpers import copy_workflow

pytestmark = pytest.mark.workflow


def slurm_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1"}


def slurm_is_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                           env=slurm_env(), timeout=30)
    return state.returncode == 0 and "idle" in state.stdout.split()


@pytest.mark.skipif(not slurm_is_up(), reason="no SLURM here: tests/slurm/cluster.sh start")
def test_smoke_grid_runs_through_the_slurm_profile_to_the_tables(tmp_path):
    workdir = copy_workflow(tmp_path)
    # the project's profile as users run it, plus what a cluster without accounting needs:
    # status from squeue (the plugin's sacct default would lose track of jobs), no account
    command = ["timeout", "-s", "INT", "1500", "snakemake", "--profile", "workflow/profiles/slurm",
               "all", "--config", "preset=smoke", "--slurm-status-command", "squeue",
               "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "1",
               "--seconds-between-status-checks", "2", "--slurm-keep-successful-logs"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                            env=slurm_env(), timeout=1600)
    elapsed = time.perf_counter() - start
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]

    submitted = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log)
    planned = int(re.search(r"^total\s+(\d+)$", log, flags=re.MULTILINE).group(1))
    local = len(re.findall(r"^localrule ", log, flags=re.MULTILINE))
    assert len(submitted) >= 40 and len(submitted) + local == planned
    slurm_logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert any("rule_train" in str(p) for p in slurm_logs)

    tables = workdir / "results" / "smoke" / "tables"
    for name in ("table1_glue", "table1_decanlp", "table2_glue", "table3_glue", "table4_glue"):
        table = pd.read_csv(tables / f"{name}.csv")
        assert table["mean"].notna().any(), name
    print(f"smoke grid through SLURM: {len(submitted)} sbatch jobs, {local} local, "
          f"{elapsed:.0f} s")
