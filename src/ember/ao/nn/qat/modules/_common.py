"""What the QAT layers share: the weight fake-quantizer taken from the qconfig, and ``from_float``'s checks."""

from __future__ import annotations

from typing import Any

from ...intrinsic.modules.fused import _FusedModule


def attach_weight_fake_quant(module: Any, qconfig: Any, factory_kwargs: dict) -> None:
    """Give ``module`` its ``qconfig`` and the ``weight_fake_quant`` module built from it (torch's errors)."""
    if not qconfig:
        raise AssertionError("qconfig must be provided for QAT module")
    module.qconfig = qconfig
    module.weight_fake_quant = qconfig.weight(factory_kwargs=factory_kwargs)


def float_source(cls: Any, mod: Any) -> Any:
    """The float layer ``cls.from_float`` converts, after torch's checks (a fused container gives its first)."""
    if type(mod) is not cls._FLOAT_MODULE:
        raise AssertionError(f"qat.{cls.__name__}.from_float only works for {cls._FLOAT_MODULE.__name__}, "
                             f"got {type(mod).__name__}")
    if not hasattr(mod, "qconfig"):
        raise AssertionError("Input float module must have qconfig defined")
    if not mod.qconfig:
        raise AssertionError("Input float module must have a valid qconfig")
    return mod[0] if isinstance(mod, _FusedModule) else mod


def share_parameters(qat: Any, mod: Any) -> Any:
    """``qat`` using ``mod``'s own weight and bias (not copies), as torch's ``from_float``."""
    qat.weight = mod.weight
    qat.bias = mod.bias
    return qat
