"""``ember.export.dynamic_shapes``: ``Dim`` — which input dimensions an exported program keeps symbolic, and
over which range."""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["Dim", "DimHint"]

INT_OO = "int_oo"


class DimHint(Enum):
    """``Dim.AUTO`` (dynamic when the code allows it), ``Dim.STATIC``, ``Dim.DYNAMIC`` (must stay dynamic)."""

    AUTO = "AUTO"
    STATIC = "STATIC"
    DYNAMIC = "DYNAMIC"

    def __repr__(self) -> str:
        return f"DimHint({self.value})"

    def __call__(self, min: int | None = None, max: int | None = None) -> DimHint:
        return self


class _DimMeta(type):
    AUTO = DimHint.AUTO
    STATIC = DimHint.STATIC
    DYNAMIC = DimHint.DYNAMIC


class Dim(metaclass=_DimMeta):
    """A named symbolic dimension: ``Dim("batch", min=2, max=64)`` (``min`` defaults to 0, ``max`` to ∞)."""

    def __init__(self, name: str, *, min: int | None = None, max: int | None = None) -> None:
        lo = 0 if min is None else min
        if max is not None and max < lo:
            raise AssertionError(f"Cannot create Dim with inconsistent min={lo}, max={max}")
        self.__name__, self.min, self.max = name, lo, max

    def __repr__(self) -> str:
        parts = [repr(self.__name__)] + ([f"min={self.min}"] if self.min != 2 else []) + \
            ([f"max={self.max}"] if self.max is not None else [])
        return f"Dim({', '.join(parts)})"

    def range(self) -> str:
        return f"VR[{self.min}, {INT_OO if self.max is None else self.max}]"


def dims(*names: str, min: int | None = None, max: int | None = None) -> tuple[Dim, ...]:
    """One ``Dim`` per name, sharing the bounds."""
    return tuple(Dim(n, min=min, max=max) for n in names)


def flatten_spec(dynamic_shapes: Any, arg_names: list[str], n_args: int) -> list[dict[int, Any]]:
    """Per user input (positional order), {dim: Dim | DimHint}, from a dict keyed by argument name or a sequence."""
    specs: list[Any] = [None] * n_args
    if dynamic_shapes is None:
        pass
    elif isinstance(dynamic_shapes, dict):
        for k, v in dynamic_shapes.items():
            if k not in arg_names:
                from ember.export import UserError
                raise UserError(f"When `dynamic_shapes` is specified as a dict, its top-level keys must be the "
                                f"arg names {arg_names} of `inputs`, but here they are {list(dynamic_shapes)}. "
                                "Alternatively, you could also ignore arg names entirely and specify `dynamic_shapes` "
                                "as a list/tuple matching `inputs`. For more information about this error, see: "
                                "https://pytorch.org/docs/main/generated/exportdb/index.html#dynamic-shapes-validation")
            specs[arg_names.index(k)] = v
    else:
        specs[:len(dynamic_shapes)] = list(dynamic_shapes)
    out = []
    for s in specs:
        if s is None:
            out.append({})
        elif isinstance(s, dict):
            out.append({int(k): v for k, v in s.items() if v is not None})
        else:
            out.append({i: v for i, v in enumerate(s) if v is not None})
    return out
