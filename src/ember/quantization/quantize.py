"""``torch.quantization.quantize``: the legacy path of ``torch.ao.quantization.quantize``."""

from ..ao.quantization.quantize import *  # noqa: F403
from ..ao.quantization.quantize import __all__  # noqa: F401
