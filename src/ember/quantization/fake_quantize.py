"""``torch.quantization.fake_quantize``: the legacy path of ``torch.ao.quantization.fake_quantize``."""

from ..ao.quantization.fake_quantize import *  # noqa: F403
from ..ao.quantization.fake_quantize import __all__  # noqa: F401
