"""QConfig: which observer (or fake-quantize) constructors a module's activations and weights get, and the
default configurations per backend."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from ... import nn
from .fake_quantize import (
    FakeQuantize,
    FusedMovingAvgObsFakeQuantize,
    default_fake_quant,
    default_fused_act_fake_quant,
    default_fused_per_channel_wt_fake_quant,
    default_fused_wt_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
)
from .observer import (
    HistogramObserver,
    MovingAverageMinMaxObserver,
    default_dynamic_quant_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_weight_observer,
)

__all__ = ["QConfig", "default_qconfig", "default_per_channel_qconfig", "default_qat_qconfig",
           "default_qat_qconfig_v2", "default_dynamic_qconfig", "get_default_qat_qconfig",
           "get_default_qconfig"]

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


def _assert_valid_qconfig(qconfig: QConfig | None, mod: nn.Module) -> None:
    """ConvTranspose modules cannot take per-channel weight observers."""
    if qconfig is None or qconfig.weight is None:
        return
    if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        from .observer import PerChannelMinMaxObserver
        if isinstance(qconfig.weight(), PerChannelMinMaxObserver):
            raise AssertionError("Per channel weight observer is not supported yet for ConvTranspose{n}d.")
