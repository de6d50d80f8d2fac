"""torch.ao.nn.intrinsic: fused layer sequences (``conv + relu`` …) and, in ``qat``, their QAT twins."""

from . import qat, quantized
from .modules import *  # noqa: F403
from .modules import __all__ as _modules

__all__ = [*_modules, "qat", "quantized"]
