"""torch's Python argument parser, reproduced for its errors.

:func:`install` wraps the public functions and Tensor methods listed in :mod:`._overloads` (torch's overloads,
one table). A call runs the op directly; only if the op raises are the original arguments matched against the
overloads, and when none accepts them the op's exception is replaced by the one torch's parser raises
("argument 'dim' (position 1) must be int, not float", "got an unexpected keyword argument 'dims'", "received
an invalid combination of arguments - got (...)"). Otherwise the op's own exception stands. Before the call
only a few cheap checks run (:class:`_Precheck`); an op that would otherwise accept a wrongly typed argument
raises any TypeError and the wrapper words it.

A signature is written as in torch's ``native_functions.yaml``: ``"sum(Tensor input, int[1]? dim, bool
keepdim=False, *, ScalarType? dtype=None)"``. The method form drops the leading ``Tensor input``/``self`` and
``out=``.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import device as _device
from .._core.memory_format import memory_format as _memory_format
from .._core.warn import transparent, warn
from .._tensor import Size, Tensor

__all__ = ["install", "Signature", "check", "parse_error", "type_name"]

_isinstance = isinstance
_TYPES: dict[type, str] = {Tensor: "Tensor", Size: "torch.Size", D.dtype: "torch.dtype", _device: "torch.device",
                           _memory_format: "torch.memory_format"}


def type_name(v: Any) -> str:
    """The name torch's parser gives the type of ``v`` ("float", "Tensor", "numpy.float64", "torch.Size")."""
    t = type(v)
    if _isinstance(v, Tensor):
        return "Tensor"
    name = _TYPES.get(t)
    if name is not None:
        return name
    mod = t.__module__
    if mod == "builtins":
        return t.__qualname__
    if mod.split(".")[0] == "ember":
        return "torch." + t.__qualname__
    return f"{mod}.{t.__qualname__}"


# ---- what each parameter type accepts ------------------------------------------------------------------------
def _int_like(v: Any, sym: bool = False) -> bool:
    """An int argument: Python int (not bool), NumPy integer, 0-d integer tensor (SymInt: any one-element
    integer tensor or 0-d integer array too)."""
    if _isinstance(v, (int, np.integer)):
        return not _isinstance(v, (bool, np.bool_))
    if _isinstance(v, Tensor):
        return v._dtype.category == 1 and (v._data.ndim == 0 or sym and v._data.size == 1)
    return sym and _isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iu"


class _Eager(str):
    """A message raised at once, whichever overload is being tried (torch fails while converting)."""
    exc: type[Exception] = TypeError


class _Overflow(_Eager):
    exc = ValueError


class _ScalarOverflow(_Eager):
    exc = OverflowError


class _Binding(str):
    """A message about the count or names of the arguments (not their types)."""


_OVERFLOW = "Overflow when unpacking long long"


def _overflows(v: Any) -> bool:
    return _isinstance(v, int) and not -1 << 63 <= v < 1 << 63


def _float_like(v: Any) -> bool:
    if _isinstance(v, (int, float, np.integer, np.floating)):
        return not _isinstance(v, np.bool_)
    return _isinstance(v, Tensor) and v._data.ndim == 0 and not v._dtype.is_complex


def _number(v: Any) -> bool:
    if _isinstance(v, (int, float, complex, np.number, np.bool_)):
        return True
    return _isinstance(v, Tensor) and v._data.ndim == 0


def _dtype(v: Any) -> bool:
    return _isinstance(v, D.dtype) or v is int or v is float or v is bool or v is complex or \
        _isinstance(v, type) and hasattr(v, "_legacy_dtype")


def _dev(v: Any) -> bool:
    return _isinstance(v, (_device, str)) or _isinstance(v, int) and not _isinstance(v, bool)


def _layout(v: Any) -> bool:
    return type(v).__name__ == "layout"


def _generator(v: Any) -> bool:
    return type(v).__name__ == "Generator"


_CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "Tensor": ("Tensor", lambda v: _isinstance(v, Tensor)),
    "int": ("int", _int_like),
    "SymInt": ("int", lambda v: _int_like(v, True)),
    "bool": ("bool", lambda v: v is True or v is False),
    "float": ("float", _float_like),
    "Scalar": ("Number", _number),
    "ScalarType": ("torch.dtype", _dtype),
    "Device": ("torch.device", _dev),
    "Layout": ("torch.layout", _layout),
    "MemoryFormat": ("torch.memory_format", lambda v: _isinstance(v, _memory_format)),
    "Generator": ("torch.Generator", _generator),
    "str": ("str", lambda v: _isinstance(v, str)),
    "object": ("object", lambda v: True),
    "Storage": ("torch.Storage", lambda v: type(v).__name__.endswith("Storage")),
}
_LISTS = {"int[]": "tuple of ints", "SymInt[]": "tuple of ints", "Tensor[]": "tuple of Tensors"}


_UNPACK = "failed to unpack the object at pos "
# the functions whose Tensor parameters torch's parser also fills with a Python number (its arithmetic)
_NUMBERS_AS_TENSORS = frozenset(f"{name}{suffix}" for suffix in ("", "_") for name in (
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "subtract", "multiply", "divide", "copy"))
# NumPy's names that torch's parser takes for its own (when the function has that parameter)
_ALIASES = {"axis": "dim", "keepdims": "keepdim", "a": "input", "x": "input", "x1": "input", "x2": "other"}


class _Param:
    """One parameter of a signature: ``Type[N]? name/shown=default`` (``[N]``: a list, N for the length a
    single int stands for; ``?``: None accepted)."""

    __slots__ = ("type", "name", "shown", "optional", "default", "kw_only", "size", "display", "type_shown")

    def __init__(self, text: str, kw_only: bool) -> None:
        # "bool training/train=True": Python's keyword ``training``, named ``train`` in torch's messages
        m = re.fullmatch(r"(\w+)(\[(\d*)\])?(\?)? (\w+)(?:/(\w+))?(?:=(.+))?", text.strip())
        if m is None:
            raise ValueError(f"bad parameter {text!r}")
        base, is_list, size, opt, self.name, shown, self.default = m.groups()
        self.shown = shown or self.name
        self.type = base + "[]" if is_list else base
        self.size = int(size) if size else 0
        self.optional = bool(opt)
        self.kw_only = kw_only
        shown = self.type_shown = _LISTS[self.type] if is_list else _CHECKS[base][0]
        default = self.default
        if default is not None:
            default = {"[]": "None"}.get(default, default)
            shown += f" {self.shown} = {default}"
        else:
            shown += f" {self.shown}"
        self.display = shown

    @property
    def required(self) -> bool:
        return self.default is None

    def int_list_failure(self, v: Any) -> str | None:
        """Why ``v`` is not an int list (a message, or '' when its type is simply wrong); None when it is."""
        sym = self.type == "SymInt[]"
        if _int_like(v) and (self.size or _isinstance(v, Tensor)) or self.size and _int_like(v, sym):
            return _Overflow(_OVERFLOW) if _overflows(v) else None
        if _isinstance(v, (tuple, list, Size)):
            for j, e in enumerate(v):
                if _overflows(e):   # (torch's text has no closing quote here)
                    return _Eager(f"{_UNPACK}{j + 1} with error \"{_OVERFLOW}")
                if not _int_like(e, True):   # (an element may be any one-element integer tensor)
                    if not j:   # torch reads the first element to decide that this is an int list at all
                        return f"but found element of type {type_name(e)} at pos 0"
                    return _Eager(f"{_UNPACK}{j + 1} with error \"type must be tuple of ints,but got {type_name(e)}\"")
            return None
        return ""

    def failure(self, v: Any, pos: int | None, fn: str) -> str | None:
        """torch's message for ``v`` given for this parameter (``pos``: its position, None for a keyword)."""
        if v is None and (self.optional or self.default == "None"):
            return None
        at = f"argument '{self.shown}'" + ("" if pos is None else f" (position {pos})")
        if self.type in ("int[]", "SymInt[]"):
            why = self.int_list_failure(v)
            if why is None:
                return None
            if _isinstance(why, _Overflow):
                return why
            if _isinstance(why, _Eager):
                return _Eager(f"{fn}(): argument '{self.shown}' {why}")
            return f"{fn}(): {at} must be tuple of ints, " + (why or f"not {type_name(v)}")
        if self.type == "Tensor[]":
            if _isinstance(v, (tuple, list)):
                for j, e in enumerate(v):
                    if not _isinstance(e, Tensor):
                        return f"expected Tensor as element {j} in argument {(pos or 1) - 1}, but got " \
                               f"{type_name(e)}"
                return None
            return f"{fn}(): {at} must be tuple of Tensors, not {type_name(v)}"
        if self.type in ("int", "SymInt") and _overflows(v):
            return _Overflow(_OVERFLOW)
        if self.type == "Scalar" and _isinstance(v, int) and not -1 << 63 <= v < 1 << 64:   # (nor int64, nor uint64)
            return _ScalarOverflow("int too big to convert" if v > 0 else "can't convert negative int to unsigned")
        if self.type == "Tensor" and fn in _NUMBERS_AS_TENSORS and _number(v):
            return None
        shown, check = _CHECKS[self.type]
        return None if check(v) else f"{fn}(): {at} must be {shown}, not {type_name(v)}"


class Signature:
    """One of torch's overloads of a function, as its parser reads it."""

    __slots__ = ("name", "py_name", "params", "min_args", "max_pos", "varargs", "deprecated")

    def __init__(self, text: str, method: bool) -> None:
        # "cross_entropy/cross_entropy_loss(...)": Python's function cross_entropy, whose arguments torch's
        # parser reads as cross_entropy_loss's; "~add(...)": a deprecated overload (accepted with a warning,
        # never shown in errors)
        self.deprecated = text.startswith("~")
        # "Tensor.split/split(...)": a method written in Python (its own errors name it so; it counts self)
        m = re.fullmatch(r"([\w.]+)(?:/(\w+))?\((.*)\)", text.strip().lstrip("~"))
        if m is None:
            raise ValueError(f"bad signature {text!r}")
        self.py_name = m.group(1)
        self.name = m.group(2) or self.py_name
        params: list[_Param] = []
        kw_only = False
        for part in _split(m.group(3)):
            if part == "*":
                kw_only = True
            else:
                params.append(_Param(part, kw_only))
        if method:   # self is not a parameter of the method; methods never take out=
            if params and params[0].type == "Tensor" and params[0].name in ("input", "self"):
                params = params[1:]
            params = [p for p in params if p.name != "out"]
        self.params = params
        self.min_args = sum(p.required for p in params)
        self.max_pos = sum(not p.kw_only for p in params)
        # f(2, 3) for f((2, 3)): an int list of any length that is the only positional parameter
        self.varargs = self.max_pos == 1 and params[0].type in ("int[]", "SymInt[]") and not params[0].size

    def tokens(self) -> list[str]:
        """The shown type of each part of :meth:`display`, "*" included."""
        return self._parts(lambda p: p.type_shown)

    def _parts(self, show: Callable[[_Param], str]) -> list[str]:
        shown = []
        star = False
        for p in self.params:
            if p.kw_only and not star:
                shown.append("*")
                star = True
            shown.append(show(p))
        return shown

    def display(self) -> str:
        return ", ".join(self._parts(lambda p: p.display))

    def binds(self, n: int, keys: tuple[str, ...]) -> bool:
        """Whether ``n`` positional arguments and the keywords ``keys`` fit this overload, their types aside."""
        names = [p.name for p in self.params]
        given = {c if (c := _ALIASES.get(k)) in names and c not in keys else k for k in keys}
        if self.varargs and n:
            n = 1
        return n <= self.max_pos and given <= set(names) and all(
            p.name not in given if i < n else not p.required or p.name in given for i, p in enumerate(self.params))

    def error(self, args: tuple, kwargs: dict) -> str | None:
        """torch's message for this call of this overload, or None when the overload accepts it."""
        fn = self.name
        if kwargs and not _ALIASES.keys().isdisjoint(kwargs):
            names = {p.name for p in self.params}
            kwargs = {(c if (c := _ALIASES.get(k)) in names and c not in kwargs else k): v for k, v in kwargs.items()}
        if self.varargs and args and _int_like(args[0], True):
            args = (args,)
        if len(args) > self.max_pos:
            lo = sum(p.required for p in self.params)   # (torch counts required keyword-only ones: "from 1 to 0")
            if lo == self.max_pos:
                takes = f"{lo} positional argument{'s' if lo != 1 else ''} but {len(args)} " \
                        f"{'was' if len(args) == 1 else 'were'}"
            else:
                takes = f"from {lo} to {self.max_pos} positional arguments but {len(args)} were"
            return _Binding(f"{fn}() takes {takes} given")
        used = 0
        for i, p in enumerate(self.params):
            if i < len(args):
                why = p.failure(args[i], i + 1, fn) if args[i] is not _DEFAULT else None
                if why is None and p.name in kwargs:
                    return _Binding(f"{fn}() got multiple values for argument '{p.name}'")
            elif p.name in kwargs:
                used += 1
                why = p.failure(kwargs[p.name], None, fn)
            elif p.required:
                missing = [q.name for q in self.params[i:] if q.required]   # (given by keyword or not)
                n = len(missing)
                names = ", ".join(f'"{m}"' for m in missing)
                return _Binding(f"{fn}() missing {n} required positional argument{'s' if n == 1 else ''}: {names}")
            else:
                continue
            if why is not None:
                return why
        if used < len(kwargs):
            names = {p.name for p in self.params}
            extra = next(k for k in kwargs if k not in names)
            return _Binding(f"{fn}() got an unexpected keyword argument '{extra}'")
        return None


def _split(params: str) -> list[str]:
    """Parameters split at top-level commas."""
    out, depth, cur = [], 0, ""
    for ch in params:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch in "([" and 1 or (ch in ")]" and -1 or 0)
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _got(args: tuple, kwargs: dict, sig: Signature | None = None) -> str:
    """The given arguments' types as torch lists them; with ``sig``, those unlike its parameters (by the type
    names shown, position by position, "*" included; keywords by name) marked ``!...!``."""
    if sig is None:
        pos = [type_name(a) for a in args]
        kw = [f"{k}={type_name(kwargs[k])}" for k in reversed(kwargs)]   # as torch: the last given first
    else:
        types = sig.tokens()
        by_name = {p.name: p.type_shown for p in sig.params}
        pos = [_marked(_detailed_name(a), types[i] if i < len(types) else None) for i, a in enumerate(args)]
        kw = [_marked(f"{k}={_detailed_name(kwargs[k])}", None if k not in by_name else f"{k}={by_name[k]}")
              for k in reversed(kwargs)]
    if pos:
        return ", ".join(pos + kw)
    return "".join(k + ", " for k in kw)


def _marked(given: str, expected: str | None) -> str:
    return given if given == expected else f"!{given}!"


def _detailed_name(v: Any) -> str:
    """torch's name for an argument's type where it explains a mismatch: sequences with their elements'."""
    if _isinstance(v, tuple) and type(v) is tuple:
        return f"tuple of ({', '.join(_detailed_name(e) for e in v)})"
    if _isinstance(v, list):
        return f"list of [{', '.join(_detailed_name(e) for e in v)}]"
    return type_name(v)


def _explained(sig: Signature, args: tuple, kwargs: dict) -> str:
    """torch's line under an overload given as many arguments as its shown signature has parts ("*" and an
    empty list counting as one): the keywords it does not know, else the arguments marked where they differ."""
    if len(args) + len(kwargs) != max(len(sig.tokens()), 1):
        return ""
    names = {p.name for p in sig.params}
    unknown = [k for k in kwargs if k not in names]
    if unknown:
        return f"      didn't match because some of the keywords were incorrect: {', '.join(unknown)}\n"
    return f"      didn't match because some of the arguments have invalid types: ({_got(args, kwargs, sig)})\n"


def parse_error(sigs: tuple[Signature, ...], args: tuple, kwargs: dict, python: bool = False) -> str | None:
    """torch's parser message for a call that no overload in ``sigs`` accepts (None when one does). ``python``:
    torch's function is Python code (one signature) passing its arguments in order to the parsed function:
    Python's own message for wrong counts or names, then the parser's with every argument positional."""
    if python:
        sig = sigs[0]
        msg = _python_binding(sig, args, kwargs)
        if msg is not None:
            return msg
        given = [*args, *(kwargs.get(p.name, _DEFAULT) for p in sig.params[len(args):])]
        while given and given[-1] is _DEFAULT:
            given.pop()
        args, kwargs = tuple(given), {}
    return _parse_error(sigs, args, kwargs)


_DEFAULT = object()   # a parameter left at its default by Python code passing all positionally


def _python_binding(sig: Signature, args: tuple, kwargs: dict) -> str | None:
    """Python's message (in its order: names, then counts) when a ``def`` with ``sig``'s parameters cannot
    take the call."""
    fn, names = sig.py_name, [p.name for p in sig.params]
    for k in kwargs:
        if k not in names:
            return f"{fn}() got an unexpected keyword argument '{k}'"
        if names.index(k) < len(args):
            return f"{fn}() got multiple values for argument '{k}'"
    if len(args) > sig.max_pos:
        bound = "." in fn   # a method's own count includes self
        lo, hi, n = bound + sum(p.required for p in sig.params), bound + sig.max_pos, bound + len(args)
        takes = f"{lo} positional argument{'s' if lo != 1 else ''}" if lo == hi else \
            f"from {lo} to {hi} positional arguments"
        return f"{fn}() takes {takes} but {n} {'was' if n == 1 else 'were'} given"
    missing = [f"'{p.name}'" for p in sig.params[len(args):] if p.required and p.name not in kwargs]
    if not missing:
        return None
    listed = missing[0] if len(missing) == 1 else \
        ", ".join(missing[:-1]) + ("," if len(missing) > 2 else "") + f" and {missing[-1]}"
    return f"{fn}() missing {len(missing)} required positional argument{'s' if len(missing) > 1 else ''}: {listed}"


def _parse_error(sigs: tuple[Signature, ...], args: tuple, kwargs: dict) -> str | None:
    """torch's message for a call no overload takes (deprecated ones: accepted, never shown, but they count:
    with one, a lone current overload is listed as the one "expected")."""
    shown = tuple(s for s in sigs if not s.deprecated)
    errors = []
    for s in shown:
        e = s.error(args, kwargs)
        if e is None:
            return None
        if _isinstance(e, _Eager):
            return e
        errors.append(e)
    if len(sigs) == 1:
        return errors[0]
    n = len(args) + len(kwargs)
    plausible = [e for s, e in zip(shown, errors, strict=True) if s.min_args <= n <= len(s.params)]
    if len(plausible) == 1:
        return plausible[0]
    head = f"{shown[0].name}() received an invalid combination of arguments - got"
    if len(shown) == 1:
        sig = shown[0]
        counted = len(args) + len(kwargs) == max(len(sig.tokens()), 1)
        return f"{head} ({_got(args, kwargs, sig if counted else None)}), but expected ({sig.display()})"
    lines = "".join(f" * ({s.display()})\n{_explained(s, args, kwargs)}" for s in shown)
    return f"{head} ({_got(args, kwargs)}), but expected one of:\n{lines}"


class _Precheck:
    """What is checked before a call, cheaply, because the op itself would accept it where torch refuses:
    a non-bool in a bool slot (NumPy takes ints or tensors there), a bare int where every overload wants a
    sequence of ints, more positional arguments than any overload takes (ops that read sizes as ``*args``).
    ``first``: the first position where a check applies (calls with fewer positional arguments and no keyword
    among ``kw`` skip it all)."""

    __slots__ = ("sigs", "python", "bools", "strict", "kw", "lists", "max_pos", "first", "binds", "deprecated")

    def __init__(self, sigs: tuple[Signature, ...], python: bool) -> None:
        self.sigs, self.python = sigs, python
        self.deprecated = tuple(s for s in sigs if s.deprecated)
        n = max((s.max_pos for s in sigs), default=0)
        self.bools = [i for i in range(n) if all(s.params[i].type == "bool" for s in sigs if i < s.max_pos)]
        self.strict = [i for i in self.bools if not any(s.params[i].optional for s in sigs if i < s.max_pos)]
        self.lists = [i for i in range(n) if all(s.params[i].type in ("int[]", "SymInt[]") and not s.params[i].size
                                                 and not s.varargs for s in sigs if i < s.max_pos)]
        names = {p.name for s in sigs for p in s.params}
        kw = {k for k in names if all(p.type == "bool" for s in sigs for p in s.params if p.name == k)}
        self.kw = frozenset(kw | {alias for alias, k in _ALIASES.items() if k in kw})
        self.max_pos = 1 << 30 if any(s.varargs for s in sigs) else n
        self.first = min([*self.bools, *self.lists, self.max_pos])
        self.binds: dict[tuple, bool] = {}   # (number of positional arguments, *keywords) -> some overload fits

    def fits(self, n: int, kwargs: dict) -> bool:
        """Whether some overload takes ``n`` positional arguments with these keywords (``sum(keepdim=True)``
        fits none: ``keepdim`` comes with ``dim``)."""
        key = (n, *kwargs)
        fit = self.binds.get(key)
        if fit is None:
            fit = self.binds[key] = any(s.binds(n, key[1:]) for s in self.sigs)
        return fit

    def __call__(self, args: tuple, kwargs: dict) -> None:
        """The cheap checks (plain loops over the few checked positions, ascending: this runs on every call passing
        a bool or an int list positionally); where one fails, torch's parser error if no overload takes the call."""
        if kwargs:
            for k in self.kw:
                v = kwargs.get(k)
                if v is not None and v is not True and v is not False:
                    return self._refuse(args, kwargs)
        n = len(args)
        if n > self.first:
            if n > self.max_pos:
                return self._refuse(args, kwargs)
            for i in self.lists:
                if i >= n:
                    break
                if _isinstance(args[i], (int, np.integer)):
                    return self._refuse(args, kwargs)
            for i in self.bools:
                if i >= n:
                    break
                v = args[i]
                if v is not True and v is not False and (v is not None or i in self.strict):
                    return self._refuse(args, kwargs)
        if kwargs and not self.python and not self.fits(n, kwargs):
            return self._refuse(args, kwargs)
        return None

    def _refuse(self, args: tuple, kwargs: dict) -> None:
        if self.deprecated and _old_form(self.sigs, args, kwargs) is not None:
            return   # (the op refuses it in turn, and the wrapper calls it in its current form)
        check(self.sigs, args, kwargs, self.python)


def check(sigs: tuple[Signature, ...], args: tuple, kwargs: dict, python: bool = False) -> None:
    """torch's parser error raised when no overload in ``sigs`` takes the call (for ops that pick their
    overloads themselves, as torch's Python code does)."""
    msg = parse_error(sigs, args, kwargs, python)
    if msg is not None:
        raise (msg.exc if _isinstance(msg, _Eager) else TypeError)(str(msg))


def _wrapped(fn: Callable[..., Any], sigs: tuple[Signature, ...], method: bool,
             python: bool = False) -> Callable[..., Any]:
    """``fn`` raising torch's parser error instead of its own when no overload in ``sigs`` accepts the call
    (``method``: the first argument is ``self``, outside the signatures; ``python``: see :func:`parse_error`),
    after a :class:`_Precheck`. The layers ember may already have put around ``fn`` (NumPy's keyword names,
    then autocast) are merged into this one: one wrapper, one added frame at most, which warnings' stack levels
    do not count. A call that only a deprecated overload in ``sigs`` takes is made again in the current form,
    with torch's warning."""
    dep = tuple(s for s in sigs if s.deprecated)
    check = _Precheck(sigs, python)
    first, kw = check.first, check.kw
    inner, accepted, policies = _layers(fn)
    if accepted is not None or policies is not None:
        from .. import _numpy_names as names
        from ..amp import autocast_mode as amp
        run, aliases = amp._run, names._ALIASES

        @transparent
        @functools.wraps(fn)
        def call_merged(*args: Any, **kwargs: Any) -> Any:
            if len(args) > first + method or kwargs and not kw.isdisjoint(kwargs):
                check(args[method:], kwargs)
            try:
                given = kwargs
                if accepted is not None and kwargs and ("axis" in kwargs or "keepdims" in kwargs):
                    given = {(c if (c := aliases.get(k)) in accepted and c not in kwargs else k): v
                             for k, v in kwargs.items()}
                if policies is None or not amp._ACTIVE:
                    return inner(*args, **given)
                return run(inner, policies, args, given)
            except Exception as e:
                if not dep or (old := _old_form(sigs, args[method:], kwargs)) is None:
                    _reraise(e, sigs, args[method:], kwargs, python)
                    raise
            return _call_deprecated(fn, old, sigs, args[:method], args[method:], kwargs)
        if policies is not None:
            call_merged._autocast_policies = policies   # type: ignore[attr-defined]
        if accepted is not None:
            call_merged._numpy_names = True   # type: ignore[attr-defined]
        return call_merged
    if method:
        @transparent
        @functools.wraps(fn)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            if len(args) > first or kwargs and not kw.isdisjoint(kwargs):
                check(args, kwargs)
            try:
                return fn(self, *args, **kwargs)
            except Exception as e:
                if not dep or (old := _old_form(sigs, args, kwargs)) is None:
                    _reraise(e, sigs, args, kwargs, python)
                    raise
            return _call_deprecated(fn, old, sigs, (self,), args, kwargs)
        return call

    @transparent
    @functools.wraps(fn)
    def call_fn(*args: Any, **kwargs: Any) -> Any:
        if len(args) > first or kwargs and not kw.isdisjoint(kwargs):
            check(args, kwargs)
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            if not dep or (old := _old_form(sigs, args, kwargs)) is None:
                _reraise(e, sigs, args, kwargs, python)
                raise
        return _call_deprecated(fn, old, sigs, (), args, kwargs)
    return call_fn


def _old_form(sigs: tuple[Signature, ...], args: tuple, kwargs: dict) -> Signature | None:
    """The first deprecated overload in ``sigs`` that takes the call, when no current one does (copy_'s
    takes ``copy_(x)`` too)."""
    old = None
    for s in sigs:
        if s.error(args, kwargs) is None:
            if not s.deprecated:
                return None
            old = old or s
    return old


_DEPRECATION_WARNED = [False]   # torch warns once per process, whichever deprecated overload is used


def _call_deprecated(fn: Callable[..., Any], old: Signature, current: tuple[Signature, ...], lead: tuple,
                     args: tuple, kwargs: dict) -> Any:
    """``fn`` called with the arguments a deprecated overload ``old`` took (``add(x, 2, y)`` as
    ``add(x, y, alpha=2)``: by name), after torch's warning naming the ``current`` overloads."""
    if not _DEPRECATION_WARNED[0]:
        _DEPRECATION_WARNED[0] = True
        name = old.name
        instead = "\n".join(f"\t{name}({s.display()})" for s in current if not s.deprecated)
        warn(f"This overload of {name} is deprecated:\n\t{name}({old.display()})\nConsider using one of the "
             f"following signatures instead:\n{instead} (Triggered internally at /__w/pytorch/pytorch/torch/csrc/"
             "utils/python_arg_parser.cpp:1841.)", UserWarning, stacklevel=2)
    # a keyword only the old overload knows (copy_'s ``async``) is the current one's in its place
    new = next(s for s in current if not s.deprecated).params
    known = {p.name for p in new}
    renamed = {p.name: q.name for p, q in zip(old.params, new, strict=False) if p.name not in known}
    kwargs = {renamed.get(k, k): v for k, v in kwargs.items()}
    return fn(*lead, **dict(zip((p.name for p in old.params), args, strict=False)), **kwargs)


def _layers(fn: Callable[..., Any]) -> tuple[Callable[..., Any], frozenset[str] | None, dict[str, str] | None]:
    """``fn`` without the wrappers of ``_numpy_names`` (the parameters taking NumPy's names) and amp (the
    autocast policies) when it is made of them, with what each knew (None for a layer that is not there)."""
    from .. import _numpy_names as names
    accepted = policies = None
    numpy_code, amp_code = _codes()
    if getattr(fn, "__code__", None) is numpy_code:
        accepted = names._canonical(fn)
        fn = fn.__wrapped__   # type: ignore[attr-defined]
    if getattr(fn, "__code__", None) is amp_code:
        policies = fn._autocast_policies   # type: ignore[attr-defined]
        fn = fn.__wrapped__   # type: ignore[attr-defined]
    return fn, accepted, policies


@functools.cache
def _codes() -> tuple[Any, Any]:
    """The code of ``_numpy_names``'s and amp's wrappers (layers that this module's wrapper takes over)."""
    from .. import _numpy_names as names
    from ..amp import autocast_mode as amp
    return names._accepting_aliases(len, frozenset()).__code__, amp._autocast_wrap(len, {}).__code__


def _reraise(e: Exception, sigs: tuple[Signature, ...], args: tuple, kwargs: dict, python: bool) -> None:
    msg = parse_error(sigs, args, kwargs, python)
    if msg is not None:
        exc = msg.exc if _isinstance(msg, _Eager) else TypeError
        raise exc(str(msg)) from (None if _isinstance(e, TypeError) else e)


def install(namespace: dict[str, Any], table: dict[str, Any] | None = None, python: bool = False,
            modules: bool = True) -> None:
    """Wrap the functions of ``namespace`` named in ``table`` (by default :data:`._overloads.OVERLOADS`, for the
    public ``ember`` namespace, whose Tensor methods are wrapped too) so that their argument errors are torch's
    (``python``: see :func:`parse_error`); nn modules holding one as a staticmethod (``ReLU.fn``) get the
    wrapper too (unless ``modules`` is False: ``special.expit`` is ``sigmoid``, which ``Sigmoid`` calls as
    itself)."""
    from ..nn import modules as nn_modules
    from ._overloads import OVERLOADS
    wrapped: dict[int, Callable[..., Any]] = {}
    for name, spec in (table or OVERLOADS).items():
        funcs, meths = (spec, None) if isinstance(spec[0], str) else spec
        fn = namespace.get(name)
        if funcs and callable(fn):
            namespace[name] = wrapped[id(fn)] = _wrapped(fn, tuple(Signature(t, False) for t in funcs), False,
                                                         python)
        fn = Tensor.__dict__.get(name)
        if table is None and isinstance(fn, types.FunctionType):   # ("Scalar self" overloads: functions only)
            sigs = tuple(Signature(t, True) for t in (meths or funcs) if "(Scalar self" not in t)
            setattr(Tensor, name, _wrapped(fn, sigs, True, "." in sigs[0].py_name))
    if not modules:
        return
    classes = {k for cls in vars(nn_modules).values() if isinstance(cls, type) for k in cls.__mro__}
    for cls in classes:   # (private bases too: Dropout's fn is _DropoutNd's)
        for attr, value in list(vars(cls).items()):
            if isinstance(value, staticmethod) and id(value.__func__) in wrapped:
                setattr(cls, attr, staticmethod(wrapped[id(value.__func__)]))
