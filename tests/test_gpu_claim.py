"""GPU claims by flock: exclusive while held, released on exit, on exceptions and on SIGKILL."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from taskconflict.gpu_claim import (
    LOCK_DIR_ENV,
    claim_device,
    claim_gpu,
    default_lock_dir,
    lock_path,
    visible_gpus,
)

HOLDER = textwrap.dedent(
    """
    import sys, time
    from taskconflict.gpu_claim import claim_gpu
    with claim_gpu(["0"], sys.argv[1], timeout_s=5, poll_s=0.05) as index:
        print("locked", index, flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def start_holder(lock_dir: Path, sleep_s: float) -> subprocess.Popen[str]:
    """A child process that claims GPU "0" and sleeps; returns once it holds the lock."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir), str(sleep_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().split() == ["locked", "0"]
    return child


def test_flock_conflicts_between_opens_in_one_process(tmp_path: Path) -> None:
    # The tests below rely on this: flock locks belong to the open file description.
    path = tmp_path / "x.lock"
    with open(path, "w") as first, open(path, "w") as second:
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BlockingIOError):
            fcntl.flock(second, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_claims_are_exclusive_and_time_out(tmp_path: Path) -> None:
    lock_path(tmp_path, "0").write_text("pid 123456789 on a-long-gone-host-name\n")  # stale note
    with claim_gpu(["0", "1"], tmp_path) as first, claim_gpu(["0", "1"], tmp_path) as second:
        assert (first, second) == (0, 1)
        assert (
            lock_path(tmp_path, "0").read_text() == f"pid {os.getpid()} on {socket.gethostname()}\n"
        )
        started = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            with claim_gpu(["0", "1"], tmp_path, timeout_s=0.2, poll_s=0.05):
                pytest.fail("a third claim must not succeed")
        assert 0.2 <= time.monotonic() - started < 2
        message = str(info.value)
        assert str(tmp_path) in message
        assert "GPU 0" in message and "GPU 1" in message
        assert f"pid {os.getpid()}" in message


def test_release_on_exit_and_on_exception(tmp_path: Path) -> None:
    with claim_gpu(["0", "1"], tmp_path) as index:
        assert index == 0
    with claim_gpu(["0", "1"], tmp_path, timeout_s=0) as index:
        assert index == 0
    with pytest.raises(RuntimeError):
        with claim_gpu(["0"], tmp_path, timeout_s=0):
            raise RuntimeError("training failed")
    with claim_gpu(["0"], tmp_path, timeout_s=0) as index:
        assert index == 0


def test_release_when_killed(tmp_path: Path) -> None:
    child = start_holder(tmp_path, sleep_s=60)
    try:
        with claim_gpu(["0", "1"], tmp_path, timeout_s=0) as index:
            assert index == 1
        with pytest.raises(TimeoutError, match=f"pid {child.pid} on "):
            with claim_gpu(["0"], tmp_path, timeout_s=0):
                pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    with claim_gpu(["0"], tmp_path, timeout_s=0) as index:
        assert index == 0


def test_waits_until_a_gpu_is_free(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    child = start_holder(tmp_path, sleep_s=1.0)
    try:
        started = time.monotonic()
        with claim_gpu(["0"], tmp_path, timeout_s=10, poll_s=0.05) as index:
            waited = time.monotonic() - started
            assert index == 0
            # The lock comes free while the child exits; it may not be reaped yet.
            assert child.wait(timeout=5) == 0
    finally:
        child.kill()
        child.wait(timeout=10)
    assert 0.5 < waited < 5  # the child held the lock for 1 s after we started
    err = capsys.readouterr().err
    assert err.count("waiting") == 1  # one message, not one per poll
    assert str(tmp_path) in err and "(0)" in err


def test_visible_gpus_reads_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert visible_gpus() == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []
    uuids = "GPU-1234abcd-0000-1111-2222-333344445555,GPU-deadbeef"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", uuids)
    assert visible_gpus() == uuids.split(",")


def test_visible_gpus_counts_devices_without_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert visible_gpus() == ["0", "1", "2"]


def test_lock_file_names_are_safe(tmp_path: Path) -> None:
    assert lock_path(tmp_path, "0") == tmp_path / "gpu-0.lock"
    assert lock_path(tmp_path, "GPU-1234abcd") == tmp_path / "gpu-GPU-1234abcd.lock"
    assert lock_path(tmp_path, "../x y/z").name == "gpu-.._x_y_z.lock"
    assert lock_path(tmp_path, "../x y/z").parent == tmp_path
    with claim_gpu(["MIG-a/b:1"], tmp_path / "new" / "dir"):
        assert [p.name for p in (tmp_path / "new" / "dir").iterdir()] == ["gpu-MIG-a_b_1.lock"]


def test_default_lock_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path))
    assert default_lock_dir() == tmp_path
    monkeypatch.delenv(LOCK_DIR_ENV)
    assert default_lock_dir().name == f"taskconflict-gpu-locks-{os.getuid()}"


def test_claim_device_passes_explicit_choices_through(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    locks = tmp_path / "locks"
    monkeypatch.setenv(LOCK_DIR_ENV, str(locks))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,6")
    for spec in ("cpu", "cuda:1"):
        with claim_device(spec) as device:
            assert device == spec
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    with claim_device("cuda") as device:
        assert device == "cuda:0"
    assert not locks.exists()


def test_claim_device_claims_a_free_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,6")
    with claim_gpu(["5"], tmp_path):
        with claim_device("cuda", timeout_s=0) as device:
            assert device == "cuda:1"
            with pytest.raises(TimeoutError):
                with claim_gpu(["6"], tmp_path, timeout_s=0):
                    pass
    with claim_gpu(["6"], tmp_path, timeout_s=0):  # released when claim_device's context ended
        pass
