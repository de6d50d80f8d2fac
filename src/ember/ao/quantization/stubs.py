"""Markers of where a model's quantized region starts and ends (identities until ``convert``)."""

from __future__ import annotations

from typing import Any

from ... import nn

__all__ = ["QuantStub", "DeQuantStub", "QuantWrapper"]


class _Stub(nn.Module):
    """An identity marker carrying an optional qconfig (the two stubs differ only in how ``convert`` maps them)."""

    def __init__(self, qconfig: Any = None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x: Any) -> Any:
        return x


class QuantStub(_Stub):
    """Start of a quantized region: observes its input during calibration / QAT, otherwise the identity."""


class DeQuantStub(_Stub):
    """End of a quantized region: the identity (never observed)."""


class QuantWrapper(nn.Module):
    """``module`` between a QuantStub and a DeQuantStub (its qconfig passed on to both)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X: Any) -> Any:
        return self.dequant(self.module(self.quant(X)))
