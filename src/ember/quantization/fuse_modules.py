"""``torch.quantization.fuse_modules``: the legacy path of ``torch.ao.quantization.fuse_modules``."""

from ..ao.quantization.fuse_modules import *  # noqa: F403
from ..ao.quantization.fuse_modules import __all__  # noqa: F401
