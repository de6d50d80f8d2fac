"""QAT twins of the fused containers whose weights are fake-quantized (conv + relu, linear + relu)."""

from .modules import *  # noqa: F403
from .modules import __all__ as __all__
