"""``torch.quantization.stubs``: the legacy path of ``torch.ao.quantization.stubs``."""

from ..ao.quantization.stubs import *  # noqa: F403
from ..ao.quantization.stubs import __all__  # noqa: F401
