"""``torch.quantization.quant_type``: the legacy path of ``torch.ao.quantization.quant_type``."""

from ..ao.quantization.quant_type import *  # noqa: F403
from ..ao.quantization.quant_type import __all__  # noqa: F401
