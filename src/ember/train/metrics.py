"""Evaluation metrics computed from a whole split's model outputs and targets (NumPy arrays).

Classification: ``accuracy``, ``top<k>`` (top-k accuracy), macro-averaged ``precision`` / ``recall`` / ``f1``,
``confusion_matrix`` (rows: true class, columns: predicted). Regression: ``mse``, ``mae``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = ["compute_metrics", "confusion_matrix"]


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs, shape (num_classes, num_classes)."""
    return np.bincount(target * num_classes + pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def _macro(cm: np.ndarray) -> dict[str, float]:
    """Macro averages over the classes present in targets or predictions (as scikit-learn's, zero_division=0)."""
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(0), cm.sum(1)
    present = (predicted + actual) > 0
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {k: float(v[present].mean()) if present.any() else 0.0
            for k, v in (("precision", precision), ("recall", recall), ("f1", f1))}


def compute_metrics(names: list[str], outputs: np.ndarray, targets: np.ndarray, task: str) -> dict[str, Any]:
    """``names`` evaluated on ``outputs`` (logits or predictions) against ``targets``."""
    out: dict[str, Any] = {}
    if len(targets) == 0:
        return out
    if task == "regression":
        diff = outputs.reshape(targets.shape).astype(np.float64) - targets
        for n in names:
            out[n] = float(np.mean(diff**2)) if n == "mse" else float(np.mean(np.abs(diff)))
        return out
    num_classes = outputs.shape[1]
    pred = outputs.argmax(1)
    cm = confusion_matrix(pred, targets, num_classes)
    macro = _macro(cm)
    for n in names:
        if n == "accuracy":
            out[n] = float((pred == targets).mean())
        elif n == "confusion_matrix":
            out[n] = cm.tolist()
        elif n in macro:
            out[n] = macro[n]
        elif m := re.fullmatch(r"top(\d+)", n):
            k = min(int(m[1]), num_classes)
            top = np.argpartition(-outputs, k - 1, axis=1)[:, :k]
            out[n] = float((top == targets[:, None]).any(1).mean())
    return out
