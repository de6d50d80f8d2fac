"""torch.ao.quantization: observers, fake quantization, qconfigs, fusion and eager-mode preparation and
conversion (post-training static and dynamic quantization, quantization-aware training)."""

from . import fuser_method_mappings, qconfig_mapping, quant_type
from .fake_quantize import *  # noqa: F403
from .fake_quantize import __all__ as _fake_quantize
from .fuse_modules import *  # noqa: F403
from .fuse_modules import __all__ as _fuse_modules
from .fuser_method_mappings import get_fuser_method_new
from .observer import *  # noqa: F403
from .observer import __all__ as _observer
from .qconfig import *  # noqa: F403
from .qconfig import __all__ as _qconfig
from .qconfig_mapping import QConfigMapping, get_default_qat_qconfig_mapping, get_default_qconfig_mapping
from .quant_type import QuantType
from .quantization_mappings import *  # noqa: F403
from .quantization_mappings import __all__ as _mappings
from .quantize import *  # noqa: F403
from .quantize import __all__ as _quantize
from .stubs import DeQuantStub, QuantStub, QuantWrapper

ObserverOrFakeQuantize = ObserverBase | FakeQuantizeBase  # noqa: F405


def get_default_custom_config_dict() -> dict:
    """The default custom-module configuration of eager mode (no custom module classes)."""
    return {"float_to_observed_custom_module_class": {}, "observed_to_quantized_custom_module_class": {}}


__all__ = [*_fake_quantize, *_fuse_modules, *_observer, *_qconfig, *_mappings, *_quantize, "QConfigMapping",
           "get_default_qconfig_mapping", "get_default_qat_qconfig_mapping", "QuantType", "DeQuantStub",
           "QuantStub", "QuantWrapper", "ObserverOrFakeQuantize", "get_default_custom_config_dict",
           "get_fuser_method_new", "fuser_method_mappings", "qconfig_mapping", "quant_type"]
