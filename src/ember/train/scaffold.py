"""``ember new NAME``: a project folder in the config / model / data / entry-point layout that trains as is."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["new_project"]

CONFIG = '''# {name}: trained with `ember train --config {name}/config.toml` (or `python {name}/train.py`).
# Every key is optional; `ember train --help` and docs/train.md list them all.
name = "{name}"
seed = 0
device = "cpu"
output_dir = "runs"
metrics = ["accuracy", "f1"]

[model]
name = "model:Net"          # module:Class, imported from this folder (or an ember.vision.models name)
kwargs = {{ hidden = 64 }}   # in_features / num_classes are filled in from the data

[data]
dataset = "data:load"       # module:function returning train/val/test datasets
kwargs = {{ n = 1200 }}

[loader]
batch_size = 32

[optimizer]
name = "Adam"
lr = 0.01

[scheduler]
name = "CosineAnnealingLR"

[trainer]
epochs = 10
monitor = "val_accuracy"
early_stopping = 5          # patience in epochs (0: off)
'''

MODEL = '''"""The model: any ember.nn.Module; its constructor's keyword arguments come from config.toml [model]."""

import ember.nn as nn


class Net(nn.Module):
    def __init__(self, in_features: int, num_classes: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.net(x)
'''

DATA = '''"""The data: a function returning datasets; replace the synthetic spirals with your own."""

import numpy as np

import ember
from ember.utils.data import TensorDataset


def load(n: int = 1200, classes: int = 3, seed: int = 0) -> dict:
    """Interleaved 2-D spirals, one arm per class, split 70/15/15."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, classes, n)
    r = rng.uniform(0.1, 1.0, n)
    angle = 2 * np.pi * label / classes + 3.0 * r + rng.normal(0, 0.15, n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1).astype(np.float32)
    x, y = ember.from_numpy(x), ember.from_numpy(label.astype(np.int64))
    a, b = int(0.7 * n), int(0.85 * n)
    return {
        "train": TensorDataset(x[:a], y[:a]),
        "val": TensorDataset(x[a:b], y[a:b]),
        "test": TensorDataset(x[b:], y[b:]),
        "classes": [f"arm {i}" for i in range(classes)],
    }
'''

TRAIN = '''"""Train entry: `python {name}/train.py [-o key=value ...]` = `ember train --config {name}/config.toml`."""

import sys
from pathlib import Path

from ember.train.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["train", "--config", str(Path(__file__).with_name("config.toml")), *sys.argv[1:]]))
'''


def new_project(name: str) -> Path:
    """Create ``name/`` with config.toml, model.py, data.py and train.py; refuses to touch an existing path."""
    folder = Path(name)
    if not re.fullmatch(r"[A-Za-z_][\w-]*", folder.name):
        raise ValueError(f"got {name!r}; expected a folder name of letters, digits, '_' or '-'")
    folder.mkdir(parents=True, exist_ok=False)
    files = {"config.toml": CONFIG, "model.py": MODEL, "data.py": DATA, "train.py": TRAIN}
    for fname, text in files.items():
        (folder / fname).write_text(text.format(name=folder.name) if "{name}" in text else text)
    return folder
