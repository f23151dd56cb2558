"""Save and load a model's weights as safetensors, byte-for-byte reproducibly.

Tied tensors (the shared embedding, the encoder that text-to-text-id shares) are stored once,
under the alphabetically first of their names, so the same weights give the same file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from taskconflict.io import atomic_path


def _groups(model: nn.Module) -> list[list[str]]:
    """State-dict names grouped by the storage they share, each group sorted."""
    groups: dict[tuple[int, int], list[str]] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
        groups.setdefault(key, []).append(name)
    return sorted(sorted(names) for names in groups.values())


def save_weights(model: nn.Module, path: str | Path) -> None:
    state = model.state_dict()
    tensors = {names[0]: state[names[0]].cpu().contiguous() for names in _groups(model)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))


@torch.no_grad()
def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load weights saved by `save_weights` into a model of the same architecture."""
    tensors = load_file(str(path))
    state = model.state_dict()
    expected = set()
    for names in _groups(model):
        expected.add(names[0])
        if names[0] not in tensors:
            raise ValueError(f"{path}: no weights for {names[0]!r}; wrong architecture?")
        state[names[0]].copy_(tensors[names[0]])
    unexpected = set(tensors) - expected
    if unexpected:
        raise ValueError(f"{path}: weights the model does not have: {sorted(unexpected)[:3]}")
