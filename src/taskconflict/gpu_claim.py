"""Give each training job on a multi-GPU machine a GPU of its own.

`snakemake --cores 16 --resources gpu=4` runs up to four training jobs at once, but the
local executor assigns no devices: every job sees all GPUs and would put its model on
cuda:0. So a job claims a free GPU by holding an exclusive `fcntl.flock` on one lock file
per GPU, and keeps it for as long as it trains.

flock is used because the kernel drops the lock when the process ends, however it ends
(exception, Ctrl-C, SIGKILL, out-of-memory killer): release never depends on code that a
dying process might not run, and never on deleting files. A lock file left in the folder
is harmless; it is locked only while its holder lives. The lock folder must be on a local
file system of the machine whose GPUs it guards (the default, under the temp folder, is).
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

LOCK_DIR_ENV = "TASKCONFLICT_GPU_LOCKS"


def visible_gpus() -> list[str]:
    """The GPUs this process may use, named as they are known machine-wide.

    Local CUDA index `i` is entry `i` of the list. With `CUDA_VISIBLE_DEVICES` set, its
    entries (indices such as "0,2,3" or UUIDs such as "GPU-...") are the names, so two
    jobs that see different subsets still agree on which physical GPU a lock guards.
    """
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [name.strip() for name in env.split(",") if name.strip()]
    import torch  # lazily: importing torch is slow, and most callers never need it

    return [str(i) for i in range(torch.cuda.device_count())]


def default_lock_dir() -> Path:
    """`$TASKCONFLICT_GPU_LOCKS`, else a folder per user under the temp folder."""
    env = os.environ.get(LOCK_DIR_ENV)
    if env:
        return Path(env)
    return Path(tempfile.gettempdir()) / f"taskconflict-gpu-locks-{os.getuid()}"


def lock_path(lock_dir: Path, name: str) -> Path:
    """The lock file of GPU `name`; characters unsafe in a file name become "_"."""
    return Path(lock_dir) / f"gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.lock"


def _try_lock(path: Path) -> TextIO | None:
    """The open, exclusively locked file at `path`, or None if another holder has it."""
    # Not opened with "w": that would truncate the current holder's note before we lock.
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    except BaseException:
        handle.close()
        raise
    # A note for humans reading the folder; the lock itself is what counts.
    handle.truncate(0)
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()
    return handle


def _holder(path: Path) -> str:
    """Who holds `path`, from the note its holder wrote after locking it."""
    try:
        return path.read_text().strip() or "unknown holder"
    except OSError:
        return "unknown holder"


@contextmanager
def claim_gpu(
    names: list[str],
    lock_dir: Path | None = None,
    timeout_s: float | None = None,
    poll_s: float = 1.0,
) -> Iterator[int]:
    """Hold the first free GPU of `names` for the duration of the context; yield its index.

    The index is the position in `names`, that is the local CUDA index when `names` is
    `visible_gpus()`. If all are held, waits (polling every `poll_s` seconds) until one is
    free, or raises TimeoutError after `timeout_s` seconds (None: wait for ever).
    """
    if not names:
        raise ValueError("claim_gpu needs at least one GPU name")
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    paths = [lock_path(lock_dir, name) for name in names]
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    told = False
    while True:
        for index, path in enumerate(paths):
            handle = _try_lock(path)
            if handle is not None:
                with handle:  # closing the file releases the lock
                    yield index
                return
        if deadline is not None and time.monotonic() >= deadline:
            holders = "; ".join(f"GPU {n}: {_holder(p)}" for n, p in zip(names, paths, strict=True))
            raise TimeoutError(
                f"no free GPU among {', '.join(names)} after {timeout_s} s (locks in "
                f"{lock_dir}; {holders}). A lock is held only while its process lives: to "
                "free a GPU, end the process named above; deleting lock files frees nothing "
                "and would let two jobs share a GPU."
            )
        if not told:
            print(
                f"taskconflict: all GPUs ({', '.join(names)}) are claimed by other jobs "
                f"(locks in {lock_dir}); waiting for one to be free",
                file=sys.stderr,
                flush=True,
            )
            told = True
        wait = poll_s if deadline is None else min(poll_s, max(0.0, deadline - time.monotonic()))
        time.sleep(wait)


@contextmanager
def claim_device(spec: str, timeout_s: float | None = None, poll_s: float = 1.0) -> Iterator[str]:
    """The device a training job should use, held for the duration of the context.

    "cpu", an explicit "cuda:N" or any other device is yielded unchanged: the user chose.
    Plain "cuda" with several visible GPUs claims a free one by lock (`claim_gpu`) and
    yields "cuda:{index}". With at most one visible GPU it yields "cuda:0" and locks
    nothing: there is nothing to choose, and under SLURM each job sees only its own GPU,
    often as index 0 in every job on a node, so locking by that name would make jobs on
    one node wait for each other although their GPUs differ.
    """
    if spec != "cuda":
        yield spec
        return
    names = visible_gpus()
    if len(names) <= 1:
        yield "cuda:0"
        return
    with claim_gpu(names, timeout_s=timeout_s, poll_s=poll_s) as index:
        yield f"cuda:{index}"
