"""QConfig: which observer (or fake-quantize) constructors a module's activations and weights get, and the
default configurations per backend."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from ... import nn
from ..._core import dtype as D
from ..._core.warn import warn
from ...ops.quantize import per_channel_symmetric, per_tensor_symmetric
from .fake_quantize import (
    FakeQuantize,
    FusedMovingAvgObsFakeQuantize,
    default_dynamic_fake_quant,
    default_embedding_fake_quant,
    default_embedding_fake_quant_4bit,
    default_fake_quant,
    default_fused_act_fake_quant,
    default_fused_per_channel_wt_fake_quant,
    default_fused_wt_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
)
from .observer import (
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    NoopObserver,
    PerChannelMinMaxObserver,
    PlaceholderObserver,
    ReuseInputObserver,
    default_debug_observer,
    default_dynamic_quant_observer,
    default_float_qparams_observer,
    default_float_qparams_observer_4bit,
    default_observer,
    default_per_channel_weight_observer,
    default_placeholder_observer,
    default_weight_observer,
)

__all__ = ["QConfig", "QConfigDynamic", "QConfigAny", "default_qconfig", "default_per_channel_qconfig",
           "default_qat_qconfig", "default_qat_qconfig_v2", "default_dynamic_qconfig", "get_default_qat_qconfig",
           "get_default_qconfig", "get_default_qconfig_dict", "get_default_qat_qconfig_dict", "qconfig_equals",
           "default_debug_qconfig", "default_weight_only_qconfig", "default_activation_only_qconfig",
           "default_dynamic_qat_qconfig", "default_embedding_qat_qconfig", "default_embedding_qat_qconfig_4bit",
           "default_quint8_weight_qconfig", "default_reuse_input_qconfig", "default_symmetric_qnnpack_qconfig",
           "default_per_channel_symmetric_qnnpack_qconfig", "default_symmetric_qnnpack_qat_qconfig",
           "default_per_channel_symmetric_qnnpack_qat_qconfig", "float16_dynamic_qconfig", "float16_static_qconfig",
           "float_qparams_weight_only_qconfig", "float_qparams_weight_only_qconfig_4bit",
           "per_channel_dynamic_qconfig"]

_BACKENDS = ["fbgemm", "x86", "qnnpack", "onednn"]


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """Observer constructors (classes or ``with_args`` factories, never instances) for activations and weights."""

    __slots__ = ()

    def __new__(cls, activation: Any, weight: Any) -> QConfig:
        if isinstance(activation, nn.Module) or isinstance(weight, nn.Module):
            raise ValueError("QConfig received observer instance, please pass observer class instead. "
                             "Use MyObserver.with_args(x=1) to override arguments to constructor if needed")
        return super().__new__(cls, activation, weight)


default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_per_channel_qconfig = QConfig(activation=default_observer, weight=default_per_channel_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer, weight=default_weight_observer)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)
default_qat_qconfig_v2 = QConfig(activation=default_fused_act_fake_quant, weight=default_fused_wt_fake_quant)


class QConfigDynamic(namedtuple("QConfigDynamic", ["activation", "weight"])):
    """The deprecated dynamic-quantization qconfig (``QConfig`` serves both now)."""

    __slots__ = ()

    def __new__(cls, activation: Any = nn.Identity, weight: Any = nn.Identity) -> QConfigDynamic:
        if isinstance(weight, nn.Module):
            raise ValueError("QConfigDynamic received observer instance, please pass observer class instead. "
                             "Use MyObserver.with_args(x=1) to override arguments to constructor if needed")
        warn("QConfigDynamic is going to be deprecated in PyTorch 1.12, please use QConfig instead",
             stacklevel=2)
        return super().__new__(cls, activation, weight)


QConfigAny = QConfig | None

_EPS_2_12 = 2 ** -12
default_debug_qconfig = QConfig(weight=default_weight_observer, activation=default_debug_observer)
default_weight_only_qconfig = QConfig(activation=nn.Identity, weight=default_weight_fake_quant)
default_activation_only_qconfig = QConfig(activation=default_fake_quant, weight=nn.Identity)
default_dynamic_qat_qconfig = QConfig(activation=default_dynamic_fake_quant, weight=default_weight_fake_quant)
float16_dynamic_qconfig = QConfig(activation=PlaceholderObserver.with_args(dtype=D.float16, is_dynamic=True),
                                  weight=PlaceholderObserver.with_args(dtype=D.float16))
float16_static_qconfig = QConfig(activation=PlaceholderObserver.with_args(dtype=D.float16),
                                 weight=PlaceholderObserver.with_args(dtype=D.float16))
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
float_qparams_weight_only_qconfig = QConfig(activation=default_placeholder_observer,
                                            weight=default_float_qparams_observer)
float_qparams_weight_only_qconfig_4bit = QConfig(activation=default_placeholder_observer,
                                                 weight=default_float_qparams_observer_4bit)
default_embedding_qat_qconfig = QConfig(activation=NoopObserver.with_args(dtype=D.float32),
                                        weight=default_embedding_fake_quant)
default_embedding_qat_qconfig_4bit = QConfig(activation=NoopObserver.with_args(dtype=D.float32),
                                             weight=default_embedding_fake_quant_4bit)
default_quint8_weight_qconfig = QConfig(activation=HistogramObserver, weight=MinMaxObserver)
default_reuse_input_qconfig = QConfig(activation=ReuseInputObserver, weight=NoopObserver)
default_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=D.qint8, reduce_range=False, eps=_EPS_2_12),
    weight=MinMaxObserver.with_args(dtype=D.qint8, qscheme=per_tensor_symmetric, quant_min=-127, quant_max=127,
                                    eps=_EPS_2_12))
default_per_channel_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=D.qint8, reduce_range=False, eps=_EPS_2_12),
    weight=PerChannelMinMaxObserver.with_args(dtype=D.qint8, qscheme=per_channel_symmetric, quant_min=-127,
                                              quant_max=127, eps=_EPS_2_12))
default_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=FusedMovingAvgObsFakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=-128,
                                                       quant_max=127, dtype=D.qint8, reduce_range=False,
                                                       eps=_EPS_2_12),
    weight=FusedMovingAvgObsFakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=-127,
                                                   quant_max=127, dtype=D.qint8, qscheme=per_tensor_symmetric,
                                                   eps=_EPS_2_12))
default_per_channel_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=FusedMovingAvgObsFakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=-128,
                                                       quant_max=127, dtype=D.qint8, reduce_range=False,
                                                       eps=_EPS_2_12),
    weight=FusedMovingAvgObsFakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver,
                                                   quant_min=-127, quant_max=127, dtype=D.qint8,
                                                   qscheme=per_channel_symmetric, eps=_EPS_2_12))


def _check_backend(backend: str) -> None:
    if backend not in _BACKENDS:
        raise AssertionError(f"backend: {backend} not supported. backend must be one of {_BACKENDS}")


def get_default_qconfig(backend: str = "x86", version: int = 0) -> QConfig:
    """The default post-training qconfig of ``backend``: histogram-observed uint8 activations (7-bit on
    x86/fbgemm), int8 symmetric weights (per channel except on qnnpack)."""
    _check_backend(backend)
    if version != 0:
        raise AssertionError(f"Version number: {version} in get_default_qconfig is not supported. Version number "
                             "must be 0")
    weight = default_weight_observer if backend == "qnnpack" else default_per_channel_weight_observer
    return QConfig(activation=HistogramObserver.with_args(reduce_range=backend in ("x86", "fbgemm")), weight=weight)


def get_default_qat_qconfig(backend: str = "x86", version: int = 1) -> QConfig:
    """The default QAT qconfig of ``backend``: per-tensor uint8 activations (7-bit on x86/fbgemm), int8
    weights, per channel except on qnnpack; ``version=1`` uses the fused observer+fake-quantize modules."""
    _check_backend(backend)
    if version not in (0, 1):
        raise AssertionError(f"Version number: {version}in get_default_qat_qconfig is not supported. Version "
                             "number must be 0 or 1")
    fq = FakeQuantize if version == 0 else FusedMovingAvgObsFakeQuantize
    kwargs: dict[str, Any] = {"observer": MovingAverageMinMaxObserver, "quant_min": 0, "quant_max": 255}
    if backend in ("fbgemm", "x86", "qnnpack"):
        kwargs["reduce_range"] = backend != "qnnpack"
    if backend == "qnnpack":
        weight = default_weight_fake_quant if version == 0 else default_fused_wt_fake_quant
    else:
        weight = default_per_channel_weight_fake_quant if version == 0 else default_fused_per_channel_wt_fake_quant
    return QConfig(activation=fq.with_args(**kwargs), weight=weight)


def get_default_qconfig_dict(backend: str = "x86", version: int = 0) -> dict:
    """The default qconfig mapping of ``backend`` as a dict (deprecated form)."""
    from .qconfig_mapping import get_default_qconfig_mapping
    return get_default_qconfig_mapping(backend, version).to_dict()


def get_default_qat_qconfig_dict(backend: str = "x86", version: int = 1) -> dict:
    """The default QAT qconfig mapping of ``backend`` as a dict (deprecated form)."""
    from .qconfig_mapping import get_default_qat_qconfig_mapping
    return get_default_qat_qconfig_mapping(backend, version).to_dict()


def _partial_equals(p1: Any, p2: Any) -> bool:
    """Whether two observer constructors (classes or ``with_args`` factories) build the same thing."""
    f1, f2 = getattr(p1, "p", p1), getattr(p2, "p", p2)
    if hasattr(f1, "func") and hasattr(f2, "func"):
        return f1.func == f2.func and f1.keywords == f2.keywords and f1.args == f2.args and \
            getattr(p1, "callable_args", {}) == getattr(p2, "callable_args", {})
    return f1 == f2


def qconfig_equals(q1: Any, q2: Any) -> bool:
    """Whether two qconfigs hold equal activation and weight constructors."""
    if q1 is None or q2 is None:
        return q1 == q2
    try:
        return _partial_equals(q1.activation, q2.activation) and _partial_equals(q1.weight, q2.weight)
    except AttributeError:
        return q1 == q2


def _assert_valid_qconfig(qconfig: QConfig | None, mod: nn.Module) -> None:
    """ConvTranspose modules cannot take per-channel weight observers."""
    if qconfig is None or qconfig.weight is None:
        return
    if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        from .observer import PerChannelMinMaxObserver
        if isinstance(qconfig.weight(), PerChannelMinMaxObserver):
            raise AssertionError("Per channel weight observer is not supported yet for ConvTranspose{n}d.")
