"""``torch.quantization``: the legacy path of ``torch.ao.quantization``, kept because older code imports from it."""

from __future__ import annotations

from ..ao.quantization import *  # noqa: F403
from ..ao.quantization import (  # noqa: F401
    __all__,  # noqa: F401
    fake_quantize,
    observer,
    qconfig,
    quantization_mappings,
    stubs,
)
