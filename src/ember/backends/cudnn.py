"""``ember.backends.cudnn``: torch's cuDNN switches. ember's GPU convolutions are cuBLAS GEMMs (CuPy
has no cuDNN module), already deterministic, so the flags are recorded for scripts that set them."""

from __future__ import annotations

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: ember does not call cuDNN."""
    return False


def version() -> None:
    """None, as torch reports without cuDNN."""
    return None
