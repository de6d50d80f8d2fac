"""PNG figures of a run (matplotlib, headless Agg backend, imported only when a figure is drawn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._core.atomic import atomic_write

__all__ = ["plot_curves", "plot_confusion_matrix"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    """Atomically: a reader never sees a half-written PNG."""
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110, bbox_inches="tight"))


def plot_curves(history: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Loss (train and validation) and each scalar validation metric, per epoch."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    metrics = [k for k in history[-1] if k.startswith("val_") and k != "val_loss"
               and isinstance(history[-1][k], (int, float))]
    fig, axes = plt.subplots(1, 1 + bool(metrics), figsize=(10 if metrics else 5.5, 3.8), squeeze=False)
    ax = axes[0][0]
    for key in ("train_loss", "val_loss"):
        if key in history[-1]:
            ax.plot(epochs, [h.get(key) for h in history], marker="o", ms=3, label=key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    if metrics:
        ax = axes[0][1]
        for key in metrics:
            ax.plot(epochs, [h.get(key) for h in history], marker="o", ms=3, label=key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation metric")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_confusion_matrix(cm: list[list[int]], classes: list[str], path: Path, title: str = "") -> None:
    """Counts per (true, predicted) class, with the count written in each non-empty cell."""
    plt = _pyplot()
    n = len(cm)
    labels = classes if len(classes) == n else [str(i) for i in range(n)]
    size = min(max(4.0, 0.45 * n + 2), 14.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), labels, rotation=90 if n > 12 else 0)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = max(max(r) for r in cm) or 1
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if cm[i][j]:
                    ax.text(j, i, cm[i][j], ha="center", va="center", fontsize=8,
                            color="white" if cm[i][j] > top / 2 else "black")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
