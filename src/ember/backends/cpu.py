"""``ember.backends.cpu``: the CPU capability string torch reports (ember runs on NumPy's kernels)."""

from __future__ import annotations


def get_cpu_capability() -> str:
    return "DEFAULT"
