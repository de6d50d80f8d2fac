"""Fused module containers (``torch.ao.nn.intrinsic``): a sequence of layers that quantization treats as one
(one observer after it, one QAT twin for it). In float they run as the Sequential they are."""

from __future__ import annotations

from typing import Any

from ..... import nn

__all__ = ["_FusedModule", "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearReLU", "BNReLU2d", "BNReLU3d",
           "ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d", "LinearBn1d"]


class _FusedModule(nn.Sequential):
    """Base of the fused containers (and a marker mixin of their QAT twins)."""


def _checked_init(self: nn.Sequential, *mods: Any) -> None:
    if tuple(type(m) for m in mods) != self._TYPES:
        raise AssertionError("Incorrect types for input modules" + "".join(str(type(m)) for m in mods))
    nn.Sequential.__init__(self, *mods)


def _fused(name: str, *types: Any) -> type:
    """A fused container class that accepts exactly ``types``, in order."""
    doc = f"``{' + '.join(t.__name__ for t in types)}`` fused for quantization (runs as the sequence)."
    return type(name, (_FusedModule,), {"_TYPES": types, "__init__": _checked_init, "__doc__": doc,
                                        "__module__": __name__})


ConvReLU1d = _fused("ConvReLU1d", nn.Conv1d, nn.ReLU)
ConvReLU2d = _fused("ConvReLU2d", nn.Conv2d, nn.ReLU)
ConvReLU3d = _fused("ConvReLU3d", nn.Conv3d, nn.ReLU)
LinearReLU = _fused("LinearReLU", nn.Linear, nn.ReLU)
BNReLU2d = _fused("BNReLU2d", nn.BatchNorm2d, nn.ReLU)
BNReLU3d = _fused("BNReLU3d", nn.BatchNorm3d, nn.ReLU)
ConvBn1d = _fused("ConvBn1d", nn.Conv1d, nn.BatchNorm1d)
ConvBn2d = _fused("ConvBn2d", nn.Conv2d, nn.BatchNorm2d)
ConvBn3d = _fused("ConvBn3d", nn.Conv3d, nn.BatchNorm3d)
ConvBnReLU1d = _fused("ConvBnReLU1d", nn.Conv1d, nn.BatchNorm1d, nn.ReLU)
ConvBnReLU2d = _fused("ConvBnReLU2d", nn.Conv2d, nn.BatchNorm2d, nn.ReLU)
ConvBnReLU3d = _fused("ConvBnReLU3d", nn.Conv3d, nn.BatchNorm3d, nn.ReLU)
LinearBn1d = _fused("LinearBn1d", nn.Linear, nn.BatchNorm1d)
