"""NumPy's keyword spellings ``axis=`` and ``keepdims=`` for ``dim=`` and ``keepdim=``, as torch takes them.

torch's argument parser accepts these aliases on every natively bound function and Tensor method with a ``dim``
or ``keepdim`` parameter (``P.sum(1, keepdims=True)``, ``x.mean(axis=0)``, ``torch.cat(ts, axis=1)``), not on
the functions torch writes in Python (``torch.norm``, ``Tensor.split``, ``nn.functional.softmax`` ...).
``install()`` rebinds the entry points NumPy users reach with these spellings (the reductions, sorts, joins and
softmaxes below, and linalg/fft/special) to a wrapper that renames them. The wrapper costs a call one more
Python frame, so shape and indexing methods that ember itself calls in hot loops (``size``, ``unsqueeze``,
``select``, ``narrow``, ``gather`` ...) are left out: there ``axis=`` raises TypeError.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from ._core.warn import transparent

_ALIASES = {"axis": "dim", "keepdims": "keepdim"}
# the ember.* functions and Tensor methods given the aliases: those NumPy has with ``axis``/``keepdims``
_NUMPY_STYLE = frozenset({
    "sum", "mean", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "std", "var", "std_mean",
    "var_mean", "prod", "any", "all", "nansum", "nanmean", "median", "nanmedian", "quantile", "nanquantile",
    "logsumexp", "count_nonzero", "cumsum", "cumprod", "diff", "sort", "argsort", "cat", "concat",
    "concatenate", "stack", "softmax", "log_softmax", "take_along_dim", "mode", "cummax", "cummin", "logcumsumexp",
})


def _canonical(fn: Callable) -> frozenset[str]:
    """The canonical names among ``fn``'s parameters that have an alias (read off the code object of the
    innermost wrapped function: ``inspect.signature`` on every entry point would slow the import)."""
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    code = getattr(fn, "__code__", None)
    if code is None:
        return frozenset()
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    return frozenset(n for n in _ALIASES.values() if n in params)


def _accepting_aliases(fn: Callable, accepted: frozenset[str]) -> Callable:
    @transparent   # (warnings' stack levels skip it)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs and ("axis" in kwargs or "keepdims" in kwargs):
            # an alias stands for its name when fn takes that name and it was not also given (else: TypeError)
            kwargs = {(c if (c := _ALIASES.get(k)) in accepted and c not in kwargs else k): v
                      for k, v in kwargs.items()}
        return fn(*args, **kwargs)
    functools.update_wrapper(wrapper, fn)
    wrapper._numpy_names = True   # type: ignore[attr-defined]
    return wrapper


def install() -> None:
    """Rebind the entry points named above to accept NumPy's spellings. Idempotent."""
    import ember

    from . import fft, linalg, special
    from ._tensor import Tensor

    wrapped: dict[int, Callable] = {}
    for ns, names in ((ember, _NUMPY_STYLE), (Tensor, _NUMPY_STYLE), (linalg, None), (fft, None), (special, None)):
        for name in sorted(_NUMPY_STYLE if names else (n for n in dir(ns) if not n.startswith("_"))):
            fn = getattr(ns, name, None)
            if not isinstance(fn, types.FunctionType) or getattr(fn, "_numpy_names", False):
                continue
            if id(fn) not in wrapped:
                accepted = _canonical(fn)
                if not accepted:
                    continue
                wrapped[id(fn)] = _accepting_aliases(fn, accepted)
            setattr(ns, name, wrapped[id(fn)])
