"""Whole-training workloads of the nn/optim/data stack and of checkpoints (issues 4 and 6)."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from typing import Any


def mlp_digits_epoch(lib: Any) -> Callable[[], Any]:
    """One epoch of an MLP (64→512→512→10, ReLU) on scikit-learn's digits: Adam, CrossEntropyLoss, batch 128,
    shuffled by a DataLoader."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    lib.manual_seed(0)
    x = lib.tensor(digits.data / 16.0, dtype=lib.float32)
    y = lib.tensor(digits.target)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True)

    def step() -> Any:
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss
    return step


def _state_dict(lib: Any) -> dict:
    """A 64 MB state_dict: 16 float32 matrices of 1024x1024."""
    lib.manual_seed(0)
    return {f"layer{i}.weight": lib.randn(1024, 1024) for i in range(16)}


def save_to_file(lib: Any) -> Callable[[], Any]:
    """``save`` of a 64 MB state_dict to a file on disk (ember's save is atomic: temp file, fsync, rename)."""
    state = _state_dict(lib)
    path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    return lambda: lib.save(state, path)


def save_to_file_durable(lib: Any) -> Callable[[], Any]:
    """The same save with the same durability on both sides: torch's ``save`` followed by an fsync of the file
    (torch does not sync), ember's atomic save as is (it syncs the temporary file before the rename)."""
    state = _state_dict(lib)
    path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    if lib.__name__ == "ember":
        return lambda: lib.save(state, path)

    def step() -> None:
        lib.save(state, path)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return step


def load_from_file(lib: Any) -> Callable[[], Any]:
    """``load`` (weights_only) of a 64 MB state_dict from a file on disk."""
    path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    lib.save(_state_dict(lib), path)
    return lambda: lib.load(path, weights_only=True)


def save_load_memory(lib: Any) -> Callable[[], Any]:
    """``save`` then ``load`` of a 64 MB state_dict through an in-memory buffer (no disk)."""
    state = _state_dict(lib)

    def step() -> Any:
        buf = io.BytesIO()
        lib.save(state, buf)
        buf.seek(0)
        return lib.load(buf)
    return step


WORKLOADS = {
    "mlp epoch (digits, Adam, batch 128)": (mlp_digits_epoch, 1),
    "save 64 MB state_dict to file": (save_to_file, 1),
    "save 64 MB to file, both fsynced": (save_to_file_durable, 1),
    "load 64 MB state_dict from file": (load_from_file, 1),
    "save+load 64 MB in memory": (save_load_memory, 1),
}
