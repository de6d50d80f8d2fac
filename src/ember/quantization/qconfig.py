"""``torch.quantization.qconfig``: the legacy path of ``torch.ao.quantization.qconfig``."""

from ..ao.quantization.qconfig import *  # noqa: F403
from ..ao.quantization.qconfig import __all__  # noqa: F401
