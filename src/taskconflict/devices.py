"""Where a cell runs and in what precision (`train.device`, `train.precision`).

`auto` is CUDA when this machine has it, else the CPU. `bf16` autocasts the forward and
backward passes to bfloat16 while the weights, their gradients and the optimizer's state stay
fp32 (no loss scaling is needed: bf16 has fp32's exponent range), and lets the fp32 matmuls
that remain use TF32 on GPUs that have it. `fp32` is exact fp32 everywhere, TF32 off: the
reference a GPU run is compared with. fp16 is refused: T5 v1.1 was pre-trained in bf16 and
its activations overflow fp16's range (inf, then NaN losses).
"""

from __future__ import annotations

import contextlib
import platform
import re
import resource
from collections.abc import Iterator

import torch

from taskconflict import factors

DEVICE_PATTERN = r"^(auto|cpu|cuda|cuda:\d+)$"
PRECISIONS = tuple(p for p in factors.PRECISION.names if p != "fp16")
"""The precisions a run may use (fp16 is a level only to be refused with a reason)."""
FP16_REFUSAL = ("fp16 is refused: T5 v1.1 was pre-trained in bf16 and its activations "
                "overflow fp16 (inf, then NaN losses); use bf16 (as fast on GPUs that have "
                "it) or fp32")


def check_precision(precision: str) -> None:
    if precision == "fp16":
        raise ValueError(FP16_REFUSAL)
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")


def resolve_device(spec: str) -> torch.device:
    """`auto`, `cpu`, `cuda` or `cuda:N` as a device this machine has; a CUDA device on a
    machine without one is an error that says so, not a silent fall-back to the CPU."""
    if not re.fullmatch(DEVICE_PATTERN, spec):
        raise ValueError(f"device {spec!r}: expected auto, cpu, cuda or cuda:N")
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {spec!r}: this machine has no CUDA GPU (torch "
                               f"{torch.__version__}); set train.device: auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(f"device {spec!r}: only {torch.cuda.device_count()} GPU(s) "
                               "visible")
    return device


def configure(device: torch.device, precision: str) -> None:
    """Process-wide matmul settings for the precision: TF32 only with bf16."""
    check_precision(precision)
    if device.type == "cuda":
        fast = precision == "bf16"
        torch.backends.cuda.matmul.allow_tf32 = fast
        torch.backends.cudnn.allow_tf32 = fast


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The forward pass's precision context (a no-op for fp32)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def frees_gradients(device: torch.device) -> bool:
    """Whether to free the gradients between steps (`zero_grad(set_to_none=...)`): on a GPU
    the caching allocator makes freeing and re-allocating cheap, and no zeros are written; on
    the CPU every step would map the gradients' memory anew from the kernel (300 MB for
    T5-small), whose page faults made one backward pass 0.5 s or, intermittently, 6-12 s on
    this project's 2-core VMs. Zeroing in place keeps it at 0.5 s."""
    return device.type != "cpu"


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels, so that a wall-clock time covers the work it names."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def peak_memory(device: torch.device) -> Iterator[dict[str, float]]:
    """Peak memory while the block runs, in MB, in the dict it yields (`peak_memory_mb`): the
    CUDA allocator's peak on a GPU, the process's peak resident size on the CPU."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    out: dict[str, float] = {}
    try:
        yield out
    finally:
        if device.type == "cuda":
            out["peak_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
        else:  # ru_maxrss is in KiB on Linux
            out["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


def describe(device: torch.device, precision: str) -> dict[str, object]:
    """What a run ran on, for run_info.json."""
    import transformers

    return {
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or platform.machine()),
        "precision": precision,
        "tf32": bool(device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda,
        "threads": torch.get_num_threads(),
    }
