"""``torch.quantization.observer``: the legacy path of ``torch.ao.quantization.observer``."""

from ..ao.quantization.observer import *  # noqa: F403
from ..ao.quantization.observer import __all__  # noqa: F401
