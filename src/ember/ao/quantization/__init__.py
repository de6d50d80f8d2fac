"""torch.ao.quantization: observers, fake quantization, qconfigs and eager-mode QAT preparation."""

from .fake_quantize import (
    FakeQuantize,
    FakeQuantizeBase,
    FixedQParamsFakeQuantize,
    FusedMovingAvgObsFakeQuantize,
    default_embedding_fake_quant,
    default_fake_quant,
    default_fixed_qparams_range_0to1_fake_quant,
    default_fixed_qparams_range_neg1to1_fake_quant,
    default_fused_act_fake_quant,
    default_fused_per_channel_wt_fake_quant,
    default_fused_wt_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
    disable_fake_quant,
    disable_observer,
    enable_fake_quant,
    enable_observer,
    fused_per_channel_wt_fake_quant_range_neg_127_to_127,
    fused_wt_fake_quant_range_neg_127_to_127,
)
from .fuse_modules import fuse_known_modules, fuse_modules, fuse_modules_qat, get_fuser_method
from .observer import (
    FixedQParamsObserver,
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    ObserverBase,
    PerChannelMinMaxObserver,
    PlaceholderObserver,
    UniformQuantizationObserverBase,
    default_dynamic_quant_observer,
    default_float_qparams_observer,
    default_histogram_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_weight_observer,
    per_channel_weight_observer_range_neg_127_to_127,
    weight_observer_range_neg_127_to_127,
)
from .qconfig import (
    QConfig,
    default_dynamic_qconfig,
    default_per_channel_qconfig,
    default_qat_qconfig,
    default_qat_qconfig_v2,
    default_qconfig,
    get_default_qat_qconfig,
    get_default_qconfig,
)
from .quantization_mappings import (
    get_default_dynamic_quant_module_mappings,
    get_default_qat_module_mappings,
    get_default_qconfig_propagation_list,
)
from .quantize import (
    add_quant_dequant,
    convert,
    prepare,
    prepare_qat,
    propagate_qconfig_,
    quantize_dynamic,
    swap_module,
)
from .stubs import DeQuantStub, QuantStub, QuantWrapper

__all__ = [
    "FakeQuantize", "FakeQuantizeBase", "FusedMovingAvgObsFakeQuantize", "default_embedding_fake_quant",
    "default_fake_quant", "default_fused_act_fake_quant", "default_fused_per_channel_wt_fake_quant",
    "default_fused_wt_fake_quant", "default_per_channel_weight_fake_quant", "default_weight_fake_quant",
    "disable_fake_quant", "disable_observer", "enable_fake_quant", "enable_observer",
    "fused_per_channel_wt_fake_quant_range_neg_127_to_127", "fused_wt_fake_quant_range_neg_127_to_127",
    "MinMaxObserver", "MovingAverageMinMaxObserver", "MovingAveragePerChannelMinMaxObserver", "ObserverBase",
    "PerChannelMinMaxObserver", "UniformQuantizationObserverBase", "default_float_qparams_observer",
    "default_observer", "default_per_channel_weight_observer", "default_weight_observer",
    "per_channel_weight_observer_range_neg_127_to_127", "weight_observer_range_neg_127_to_127", "QConfig",
    "default_per_channel_qconfig", "default_qat_qconfig", "default_qat_qconfig_v2", "default_qconfig",
    "get_default_qat_qconfig", "get_default_qat_module_mappings", "get_default_qconfig_propagation_list",
    "add_quant_dequant", "prepare", "prepare_qat", "propagate_qconfig_", "swap_module", "DeQuantStub",
    "QuantStub", "QuantWrapper", "convert", "quantize_dynamic", "default_dynamic_qconfig", "PlaceholderObserver",
    "default_dynamic_quant_observer", "get_default_dynamic_quant_module_mappings", "FixedQParamsFakeQuantize",
    "FixedQParamsObserver", "default_fixed_qparams_range_0to1_fake_quant",
    "default_fixed_qparams_range_neg1to1_fake_quant", "HistogramObserver", "default_histogram_observer",
    "get_default_qconfig", "fuse_known_modules", "fuse_modules", "fuse_modules_qat", "get_fuser_method",
]
