"""``torch.quantization.fuser_method_mappings``: the legacy path of ``torch.ao.quantization.fuser_method_mappings``."""

from ..ao.quantization.fuser_method_mappings import *  # noqa: F403
from ..ao.quantization.fuser_method_mappings import __all__  # noqa: F401
