"""``torch.quantization``: the legacy path of ``torch.ao.quantization``, kept because older code imports from it."""

from __future__ import annotations

from ..ao.quantization import *  # noqa: F403
from ..ao.quantization import __all__  # noqa: F401

# the submodules whose names no function takes (``quantize`` / ``fuse_modules`` load on ``import``)
from . import (  # noqa: F401
    fake_quantize,
    fuser_method_mappings,
    observer,
    qconfig,
    quant_type,
    quantization_mappings,
    stubs,
)
