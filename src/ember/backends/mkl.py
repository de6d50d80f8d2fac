"""``ember.backends.mkl``: whether Intel MKL does ember's CPU linear algebra (it does when NumPy is built on
MKL; the pip wheels use OpenBLAS)."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["is_available", "VERBOSE_OFF", "VERBOSE_ON", "verbose"]

VERBOSE_OFF = 0
VERBOSE_ON = 1


@functools.cache
def is_available() -> bool:
    """Whether NumPy's BLAS is MKL."""
    import numpy as np

    config = np.show_config(mode="dicts") or {}
    blas = config.get("Build Dependencies", {}).get("blas", {}).get("name", "")
    return "mkl" in str(blas).lower()


class verbose:
    """``with mkl.verbose(VERBOSE_ON):`` MKL's call log inside the block (nothing to switch: ember does not
    drive MKL's verbosity)."""

    def __init__(self, enable: int) -> None:
        self.enable = enable

    def __enter__(self) -> verbose:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False
