"""Resumable training: a run's whole state in one file, written atomically.

Cluster jobs get killed and requeued (pre-emption, time limits). The training loop writes
`checkpoint.pt` beside its outputs every `checkpoint_every` steps, at its last step, and when
SLURM announces the end of the job (SIGTERM; SIGUSR1 when the job asked for an early
`--signal`). Started again on the same output folder, the run goes on from the last checkpoint
and, on CPU, ends bit-identical to a run that was never interrupted: the file holds the
weights, the optimizer's moments, the random states of Python, NumPy and torch, every batch
stream's position, the step and the logs so far. A checkpoint made for another cell, recipe
or input is ignored, never resumed. The train command removes it once the outputs are
complete.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from taskconflict.io import atomic_path

CHECKPOINT = "checkpoint.pt"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


def fingerprint(recipe: dict[str, Any], inputs: list[str | Path]) -> str:
    """What a checkpoint is valid for: the cell and recipe, and the inputs' sizes and
    modification times (a re-trained model or re-generated data invalidates it)."""
    stats = []
    for path in map(Path, inputs):
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        stats += [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    text = json.dumps({"recipe": recipe, "inputs": stats}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path: str | Path, key: str, state: dict[str, Any]) -> None:
    """Write the state with its fingerprint; a kill mid-write leaves the previous file."""
    with atomic_path(path) as tmp:
        torch.save({"fingerprint": key, **state}, tmp)


def load(path: str | Path, key: str) -> dict[str, Any] | None:
    """The state saved for this fingerprint, or None (no checkpoint, or a stale one)."""
    path = Path(path)
    if not path.exists():
        return None
    # our own file: it holds RNG states and logs. Everything comes back on the CPU (the RNG
    # states must), so a checkpoint written on a GPU resumes on the CPU and vice versa:
    # load_state_dict copies the weights and the optimizer's moments to the model's device
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.pop("fingerprint", None) != key:
        print(f"{path}: made for another recipe or input; starting from step 0",
              file=sys.stderr)
        return None
    return state


def remove(path: str | Path) -> None:
    Path(path).unlink(missing_ok=True)


class StopRequest:
    """Turns SLURM's stop signals into a flag the loop checks after each step, so the job
    writes a checkpoint before it exits instead of dying mid-step."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        self.signal = signum

    def __bool__(self) -> bool:
        return self.signal is not None
