"""Elementwise operators: arithmetic, comparisons, and the unary math set, forward and backward together.

Each op is declared once with :func:`unary` or :func:`binary`, which build the function, its in-place
variant, its ``out=`` handling, and its grad_fn class (torch's name) from the forward array function and
the backward formula (written with ember ops, so it is differentiable again).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from ..autograd.grad_mode import STATE
from ..autograd.graph import SavedOutput
from ._dispatch import (
    Node,
    Tensor,
    array_of,
    binary_dtype,
    bind,
    broadcast_error,
    check_inplace,
    check_same_device,
    history_alias,
    inplace,
    make_node_class,
    new_tensor,
    operand,
    record,
    write_out,
    xp_of,
)

_FLOAT, _SAME, _BOOL = "float", "same", "bool"
_isinstance = isinstance


def _fn(xp: Any, name: str | Callable) -> Callable:
    return name if callable(name) else getattr(xp, name)


def _check_tensor(x: Any, op: str) -> None:
    if not _isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


# ---- unary ----------------------------------------------------------------------------------------------
def unary(name: str, forward: str | Callable, grad: Callable | None, *, kind: str = _FLOAT,
          saves: str = "input", grad_name: str | None = None, ints: bool = True,
          complex_ok: bool = True) -> Callable:
    """Declare a unary elementwise op ``name`` (function, ``Tensor.name``, ``Tensor.name_``).

    ``forward``: the xp function name (or ``f(xp, array) -> array``); ``grad(g, x, result) -> grad_x``
    or None for non-differentiable ops; ``kind``: result dtype rule (``float`` promotes integer inputs to
    the default float dtype, ``same`` keeps the dtype, ``bool`` gives bool); ``saves``: which of the input
    and result the backward needs ('input', 'result', 'both', '').
    """
    node_cls = make_node_class(grad_name or f"{name.capitalize()}Backward0",
                               lambda self, g: (grad(g, *self.saved),)) if grad is not None else None
    call = (lambda xp, a: forward(xp, a)) if callable(forward) else (lambda xp, a: getattr(xp, forward)(a))
    save_in = saves in ("input", "both")
    save_out = saves in ("result", "both")

    def result_type(dt: D.dtype) -> D.dtype:
        if kind == _BOOL:
            return D.bool
        if kind == _FLOAT and dt.category < 2:
            return D.get_default_dtype()
        if dt.category == 0 and not ints:
            raise RuntimeError(f"\"{name}\" not implemented for 'Bool'")
        return dt

    def op(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        _check_tensor(input, name)
        if not complex_ok and input._dtype.is_complex:
            raise RuntimeError(f"{name} is not supported for complex inputs")
        rt = result_type(input._dtype)
        dev = input._device
        a = input._data
        if rt is not input._dtype and kind == _FLOAT:
            a = a.astype(rt.np)
        res = new_tensor(call(np if dev is CPU else xp_of(dev), a), rt, dev)
        if res._data.dtype != rt.np:
            res._data = res._data.astype(rt.np)
        if node_cls is not None and input._rg and STATE.enabled:
            node = record(res, node_cls(), (input,))
            node.save(input if save_in else None, SavedOutput(res) if save_out else None)
        if out is not None:
            return write_out(out, res)
        return res

    def op_(self: Tensor) -> Tensor:
        if self._rg and STATE.enabled:
            check_inplace(self)
            return inplace(self, op(history_alias(self)))
        check_inplace(self)
        rt = result_type(self._dtype)
        if not D.can_cast(rt, self._dtype):
            raise RuntimeError(f"result type {rt._short} can't be cast to the desired output type "
                               f"{self._dtype._short}")
        dev = self._device
        r = call(np if dev is CPU else xp_of(dev), self._data)
        self._data[...] = r
        self._vc[0] += 1
        return self

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}``, as ``torch.{name}``."
    op_.__name__ = op_.__qualname__ = name + "_"
    op._inplace = op_  # type: ignore[attr-defined]
    bind({name: op, name + "_": op_})
    return op


# ---- binary ---------------------------------------------------------------------------------------------
class _BinaryNode(Node):
    """Base for binary op nodes: ``formula(g, a, b)`` gives both gradients."""

    __slots__ = ()


def binary(name: str, forward: str | Callable, grad: Callable | None, *, kind: str = _SAME,
           grad_name: str | Callable | None = None, saves: str = "both", check: Callable | None = None) -> Callable:
    """Declare a binary elementwise op with broadcasting and torch's promotion.

    ``grad(g, a, b, result) -> (grad_a, grad_b)``; ``a``/``b`` are the saved operands (Python scalars
    stay scalars). ``kind``: ``same`` = promoted dtype, ``float`` = integer results promote to the
    default float dtype (true division), ``bool`` = comparison. ``check(a, b, dtype)`` may raise
    torch's errors before computing.
    """
    classes: dict[str, type[Node]] = {}

    def node_for(a: Any, b: Any) -> type[Node]:
        cls_name = grad_name(a, b) if callable(grad_name) else grad_name or f"{name.capitalize()}Backward0"
        cls = classes.get(cls_name)
        if cls is None:
            cls = classes[cls_name] = make_node_class(cls_name, lambda self, g: grad(g, *self.saved))
        return cls
    call = (lambda xp, a, b, dt: forward(xp, a, b, dt)) if callable(forward) else None
    save_out = saves == "all"

    def op(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
        return _binary_apply(input, other, out)

    def _binary_apply(a: Any, b: Any, out: Tensor | None) -> Tensor:
        if not _isinstance(a, Tensor):
            if not _isinstance(b, Tensor):
                raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                                f"{type(a).__name__}")
            operand(a, "input")
            like = b
        else:
            operand(b)
            like = a
        ct = binary_dtype(a, b)
        if check is not None:
            check(a, b, ct)
        rt = D.bool if kind == _BOOL else (D.get_default_dtype() if kind == _FLOAT and ct.category < 2
                                           else ct)
        compute = rt if kind == _FLOAT else ct
        dev = like._device
        xa = array_of(a, like, compute)
        xb = array_of(b, like, compute)
        xp = np if dev is CPU else xp_of(dev)
        try:
            if call is not None:
                r = call(xp, xa, xb, compute)
            else:
                fn = getattr(xp, forward)
                da = xa.dtype if type(xa) is np.ndarray or hasattr(xa, "dtype") else None
                db = xb.dtype if type(xb) is np.ndarray or hasattr(xb, "dtype") else None
                if (da is None or da is compute.np) and (db is None or db is compute.np) and \
                        (da is not None or db is not None):
                    r = fn(xa, xb)
                else:
                    r = fn(xa, xb, dtype=compute.np)
        except ValueError:
            sa = a._data.shape if _isinstance(a, Tensor) else ()
            sb = b._data.shape if _isinstance(b, Tensor) else ()
            raise broadcast_error(sa, sb) from None
        res = new_tensor(r, rt, dev)
        if res._data.dtype != rt.np:
            res._data = res._data.astype(rt.np)
        if grad is not None and STATE.enabled and (
                (_isinstance(a, Tensor) and a._rg) or (_isinstance(b, Tensor) and b._rg)):
            node = record(res, node_for(a, b)(), (a, b))
            node.save(a, b, SavedOutput(res) if save_out else None)
        if out is not None:
            return write_out(out, res)
        return res

    def op_(self: Tensor, other: Any) -> Tensor:
        operand(other)
        if STATE.enabled and (self._rg or (_isinstance(other, Tensor) and other._rg)):
            check_inplace(self)
            return inplace(self, _binary_apply(history_alias(self), other, None))
        check_inplace(self)
        ct = binary_dtype(self, other)
        if check is not None:
            check(self, other, ct)
        rt = D.bool if kind == _BOOL else (D.get_default_dtype() if kind == _FLOAT and ct.category < 2
                                           else ct)
        if not D.can_cast(rt, self._dtype):
            raise RuntimeError(f"result type {rt._short} can't be cast to the desired output type "
                               f"{self._dtype._short}")
        dev = self._device
        xp = np if dev is CPU else xp_of(dev)
        xb = array_of(other, self, rt)
        if _isinstance(other, Tensor):
            check_same_device(self, other)
            if len(other._data.shape) > self._data.ndim or any(
                    s != 1 and s != d for s, d in zip(reversed(other._data.shape), reversed(self._data.shape))):
                try:
                    shape = np.broadcast_shapes(self._data.shape, other._data.shape)
                except ValueError:
                    raise broadcast_error(self._data.shape, other._data.shape) from None
                raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast "
                                   f"shape {list(shape)}")
        try:
            if call is not None:
                self._data[...] = call(xp, self._data, xb, rt)
            elif self._dtype is rt:
                getattr(xp, forward)(self._data, xb, out=self._data)
            else:
                self._data[...] = getattr(xp, forward)(self._data, xb, dtype=rt.np)
        except ValueError as e:
            if "read-only" in str(e):
                raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                                   "refers to a single memory location. Please clone() the tensor before "
                                   "performing the operation.") from None
            raise
        self._vc[0] += 1
        return self

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` with broadcasting, as ``torch.{name}``."
    op_.__name__ = op_.__qualname__ = name + "_"
    op._inplace = op_  # type: ignore[attr-defined]
    bind({name: op, name + "_": op_})
    return op


def _scale(x: Any, alpha: Any) -> Any:
    return x if alpha == 1 else x * alpha


# ---- arithmetic ----------------------------------------------------------------------------------------
def _no_bool_sub(a: Any, b: Any, dt: D.dtype) -> None:
    if dt is D.bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
                           "`^` or `logical_xor()` operator instead.")


_add = binary("add", "add", lambda g, a, b, r: (g, g))
_sub = binary("sub", "subtract", lambda g, a, b, r: (g, -g), check=_no_bool_sub)
mul = binary("mul", "multiply",
             lambda g, a, b, r: (g * _conj(b) if _needs(a) else None, g * _conj(a) if _needs(b) else None))


def _needs(x: Any) -> bool:
    return _isinstance(x, Tensor) and x._rg


def _conj(x: Any) -> Any:
    if _isinstance(x, Tensor):
        return x.conj() if x._dtype.is_complex else x
    return x.conjugate() if type(x) is complex else x


def _div_check(a: Any, b: Any, dt: D.dtype) -> None:
    """Integer division or remainder by zero raises in torch (floats give inf/nan)."""
    if dt.category < 2 and (bool((b._data == 0).any()) if _isinstance(b, Tensor) else b == 0):
        raise RuntimeError("ZeroDivisionError")


_true_div = binary("true_divide", "true_divide",
                   lambda g, a, b, r: (g / _conj(b) if _needs(a) else None,
                                       -g * _conj(a) / (_conj(b) * _conj(b)) if _needs(b) else None),
                   kind=_FLOAT, grad_name="DivBackward0")
_floor_div = binary("floor_divide", lambda xp, a, b, dt: _floordiv(xp, a, b, dt), None, check=_div_check)
_trunc_div = binary("_trunc_divide", lambda xp, a, b, dt: _truncdiv(xp, a, b, dt), None, check=_div_check)


def _floordiv(xp: Any, a: Any, b: Any, dt: D.dtype) -> Any:
    return xp.floor_divide(a, b, dtype=dt.np)


def _truncdiv(xp: Any, a: Any, b: Any, dt: D.dtype) -> Any:
    if dt.category < 2:
        q = xp.floor_divide(a, b, dtype=dt.np)
        fix = (xp.remainder(a, b, dtype=dt.np) != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0))
        return q + fix.astype(dt.np)
    return xp.trunc(xp.true_divide(a, b, dtype=dt.np))


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """``input / other``; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient (integer results stay
    integer)."""
    if rounding_mode is None:
        return _true_div(input, other, out=out)
    if rounding_mode == "floor":
        return _floor_div(input, other, out=out)
    if rounding_mode == "trunc":
        return _trunc_div(input, other, out=out)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                       f"'{rounding_mode}'")


def div_(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    op = {None: _true_div, "floor": _floor_div, "trunc": _trunc_div}[rounding_mode]
    return op._inplace(self, other)  # type: ignore[attr-defined]


divide, divide_ = div, div_


def add(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """``input + alpha * other`` with broadcasting and promotion."""
    if alpha != 1:
        other = other * alpha
    return _add(input, other, out=out)


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """``input - alpha * other``."""
    if alpha != 1:
        other = other * alpha
    return _sub(input, other, out=out)


def add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        other = other * alpha
    return _add._inplace(self, other)  # type: ignore[attr-defined]


def sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        other = other * alpha
    return _sub._inplace(self, other)  # type: ignore[attr-defined]


subtract, subtract_ = sub, sub_
multiply = mul


_rsub = binary("rsub", lambda xp, a, b, dt: xp.subtract(b, a, dtype=dt.np), lambda g, a, b, r: (-g, g),
               check=_no_bool_sub, grad_name="RsubBackward1")


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``."""
    return _rsub(input * alpha if alpha != 1 else input, other)


def _pow_check(a: Any, b: Any, dt: D.dtype) -> None:
    if dt.category < 2:
        neg = (b._data < 0).any() if _isinstance(b, Tensor) else (b < 0)
        if neg:
            raise RuntimeError("Integers to negative integer powers are not allowed.")


def _pow_grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
    ga = gb = None
    if _needs(a):
        if _isinstance(b, Tensor):
            ga = g * b * a ** (b - 1)
        else:
            ga = g * 0.0 if b == 0 else g * b * a ** (b - 1) if b != 1 else g * 1
            if b == 0:
                ga = g * 0
    if _needs(b):
        la = a.log() if _isinstance(a, Tensor) else math.log(a) if a > 0 else float("nan")
        gb = g * r * la
        if _isinstance(a, Tensor):
            gb = gb.masked_fill((a == 0) & (b >= 0), 0)
        elif a == 0:
            gb = gb.masked_fill(b >= 0, 0)
    return ga, gb


def _pow_fwd(xp: Any, a: Any, b: Any, dt: D.dtype) -> Any:
    return xp.power(a, b, dtype=dt.np)


def _pow_name(a: Any, b: Any) -> str:
    if not _isinstance(a, Tensor):
        return "PowBackward2"
    return "PowBackward1" if _isinstance(b, Tensor) else "PowBackward0"


pow = binary("pow", _pow_fwd, _pow_grad, check=_pow_check, saves="all", grad_name=_pow_name)
float_power = binary("float_power", lambda xp, a, b, dt: xp.power(a, b, dtype=np.float64), None)


def _remainder_grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
    gb = None
    if _needs(b):
        gb = -g * (a / b).floor() if _isinstance(a, Tensor) else -g * (a / b).floor()
    return (g if _needs(a) else None, gb)


def _fmod_grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
    gb = -g * (a / b).trunc() if _needs(b) else None
    return (g if _needs(a) else None, gb)


remainder = binary("remainder", lambda xp, a, b, dt: xp.remainder(a, b, dtype=dt.np), _remainder_grad,
                   check=_div_check)
fmod = binary("fmod", lambda xp, a, b, dt: xp.fmod(a, b, dtype=dt.np), _fmod_grad, check=_div_check)


def _minmax_grad(pick_a: Callable) -> Callable:
    def grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
        ta = pick_a(a, b)
        tie = (a == b)
        w_a = ta.to(g.dtype) - tie.to(g.dtype) * 0.5
        return (g * w_a if _needs(a) else None, g * (1 - w_a) if _needs(b) else None)
    return grad


maximum = binary("maximum", "maximum", _minmax_grad(lambda a, b: a > b))
minimum = binary("minimum", "minimum", _minmax_grad(lambda a, b: a < b))
fmax = binary("fmax", "fmax", _minmax_grad(lambda a, b: (a >= b) | b.isnan()))
fmin = binary("fmin", "fmin", _minmax_grad(lambda a, b: (a <= b) | b.isnan()))
atan2 = binary("atan2", "arctan2",
               lambda g, a, b, r: (g * b / (a * a + b * b) if _needs(a) else None,
                                   -g * a / (a * a + b * b) if _needs(b) else None), kind=_FLOAT)
arctan2 = atan2
hypot = binary("hypot", "hypot", lambda g, a, b, r: (g * a / r if _needs(a) else None,
                                                     g * b / r if _needs(b) else None), saves="all")
logaddexp = binary("logaddexp", "logaddexp",
                   lambda g, a, b, r: (g * (a - r).exp() if _needs(a) else None,
                                       g * (b - r).exp() if _needs(b) else None), saves="all", kind=_FLOAT)
logaddexp2 = binary("logaddexp2", "logaddexp2",
                    lambda g, a, b, r: (g * (a - r).exp2() if _needs(a) else None,
                                        g * (b - r).exp2() if _needs(b) else None), saves="all", kind=_FLOAT)
copysign = binary("copysign", "copysign",
                  lambda g, a, b, r: (g * (r / a).nan_to_num(0.0) if _needs(a) else None,
                                      g * 0 if _needs(b) else None), saves="all", kind=_FLOAT)
nextafter = binary("nextafter", "nextafter", None)


def _xlogy_fwd(xp: Any, a: Any, b: Any, dt: D.dtype) -> Any:
    a = xp.asarray(a, dtype=dt.np)
    b = xp.asarray(b, dtype=dt.np)
    with np.errstate(all="ignore"):
        r = xp.multiply(a, xp.log(b))
    return xp.where((a == 0) & ~xp.isnan(b), xp.zeros((), dt.np), r)


xlogy = binary("xlogy", _xlogy_fwd,
               lambda g, a, b, r: (g * (b.log() if _isinstance(b, Tensor) else math.log(b)) if _needs(a)
                                   else None, g * a / b if _needs(b) else None), kind=_FLOAT)


# ---- bitwise and logical ------------------------------------------------------------------------------
def _int_only(op: str) -> Callable:
    def check(a: Any, b: Any, dt: D.dtype) -> None:
        if dt.category >= 2:
            raise RuntimeError(f"\"{op}_cpu\" not implemented for '{dt._short}'")
    return check


bitwise_and = binary("bitwise_and", "bitwise_and", None, check=_int_only("bitwise_and"))
bitwise_or = binary("bitwise_or", "bitwise_or", None, check=_int_only("bitwise_or"))
bitwise_xor = binary("bitwise_xor", "bitwise_xor", None, check=_int_only("bitwise_xor"))
bitwise_left_shift = binary("bitwise_left_shift", "left_shift", None, check=_int_only("lshift"))
bitwise_right_shift = binary("bitwise_right_shift", "right_shift", None, check=_int_only("rshift"))


def _logical(fn: str) -> Callable:
    return lambda xp, a, b, dt: getattr(xp, fn)(a, b)


logical_and = binary("logical_and", _logical("logical_and"), None, kind=_BOOL)
logical_or = binary("logical_or", _logical("logical_or"), None, kind=_BOOL)
logical_xor = binary("logical_xor", _logical("logical_xor"), None, kind=_BOOL)

eq = binary("eq", "equal", None, kind=_BOOL)
ne = binary("ne", "not_equal", None, kind=_BOOL)
lt = binary("lt", "less", None, kind=_BOOL)
le = binary("le", "less_equal", None, kind=_BOOL)
gt = binary("gt", "greater", None, kind=_BOOL)
ge = binary("ge", "greater_equal", None, kind=_BOOL)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


# ---- unary math ------------------------------------------------------------------------------------------
def _neg_fwd(xp: Any, a: Any) -> Any:
    if a.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    return xp.negative(a)


neg = unary("neg", _neg_fwd, lambda g, x, r: -g, kind=_SAME, saves="")
negative = neg
abs = unary("abs", "absolute", lambda g, x, r: g * x.sgn(), kind=_SAME)
absolute = abs
exp = unary("exp", "exp", lambda g, x, r: g * _conj(r), saves="result")
exp2 = unary("exp2", "exp2", lambda g, x, r: g * r * math.log(2.0), saves="result")
expm1 = unary("expm1", "expm1", lambda g, x, r: g * (r + 1), saves="result")
log = unary("log", "log", lambda g, x, r: g / _conj(x))
log2 = unary("log2", "log2", lambda g, x, r: g / (x * math.log(2.0)))
log10 = unary("log10", "log10", lambda g, x, r: g / (x * math.log(10.0)))
log1p = unary("log1p", "log1p", lambda g, x, r: g / (x + 1))
sqrt = unary("sqrt", "sqrt", lambda g, x, r: g / (2 * _conj(r)), saves="result")
rsqrt = unary("rsqrt", lambda xp, a: 1 / xp.sqrt(a), lambda g, x, r: -0.5 * g * r ** 3, saves="result")
sin = unary("sin", "sin", lambda g, x, r: g * _conj(x.cos()))
cos = unary("cos", "cos", lambda g, x, r: -g * _conj(x.sin()))
tan = unary("tan", "tan", lambda g, x, r: g * (1 + r * r), saves="result")
asin = unary("asin", "arcsin", lambda g, x, r: g * (1 - x * x).rsqrt())
acos = unary("acos", "arccos", lambda g, x, r: -g * (1 - x * x).rsqrt())
atan = unary("atan", "arctan", lambda g, x, r: g / (1 + x * x))
sinh = unary("sinh", "sinh", lambda g, x, r: g * x.cosh())
cosh = unary("cosh", "cosh", lambda g, x, r: g * x.sinh())
tanh = unary("tanh", "tanh", lambda g, x, r: g * (1 - r * r), saves="result")
asinh = unary("asinh", "arcsinh", lambda g, x, r: g * (x * x + 1).rsqrt())
acosh = unary("acosh", "arccosh", lambda g, x, r: g * (x * x - 1).rsqrt())
atanh = unary("atanh", "arctanh", lambda g, x, r: g / (1 - x * x))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def _sigmoid_fwd(xp: Any, a: Any) -> Any:
    # 1 / (1 + exp(-x)) without overflow warnings for large |x|
    with np.errstate(over="ignore"):
        return xp.reciprocal(1 + xp.exp(-a))


sigmoid = unary("sigmoid", _sigmoid_fwd, lambda g, x, r: g * r * (1 - r), saves="result")
reciprocal = unary("reciprocal", "reciprocal", lambda g, x, r: -g * r * r, saves="result")


square = unary("square", "square", lambda g, x, r: 2 * g * x, kind=_SAME, grad_name="PowBackward0")
sign = unary("sign", "sign", lambda g, x, r: g * 0, kind=_SAME, saves="", complex_ok=False)
sgn = unary("sgn", lambda xp, a: a / xp.where(a == 0, 1, xp.abs(a)) if a.dtype.kind == "c" else xp.sign(a),
            lambda g, x, r: g * 0 if not x.is_complex() else (g - (g * r.conj()).real * r) / x.abs()
            .masked_fill(x == 0, 1), kind=_SAME)
floor = unary("floor", lambda xp, a: a if a.dtype.kind in "biu" else xp.floor(a), lambda g, x, r: g * 0,
              kind=_SAME, saves="")
ceil = unary("ceil", lambda xp, a: a if a.dtype.kind in "biu" else xp.ceil(a), lambda g, x, r: g * 0,
             kind=_SAME, saves="")
trunc = unary("trunc", lambda xp, a: a if a.dtype.kind in "biu" else xp.trunc(a), lambda g, x, r: g * 0,
              kind=_SAME, saves="")
fix = trunc
frac = unary("frac", lambda xp, a: a - xp.trunc(a), lambda g, x, r: g, kind=_SAME, saves="")
relu = unary("relu", lambda xp, a: xp.maximum(a, 0) if a.dtype != np.bool_ else a,
             lambda g, x, r: g * (r > 0), kind=_SAME, saves="result")
logical_not = unary("logical_not", "logical_not", None, kind=_BOOL)
bitwise_not = unary("bitwise_not", lambda xp, a: xp.invert(a), None, kind=_SAME)
isnan = unary("isnan", lambda xp, a: xp.isnan(a) if a.dtype.kind in "fcV" else xp.zeros(a.shape, bool), None,
              kind=_BOOL)
isinf = unary("isinf", lambda xp, a: xp.isinf(a) if a.dtype.kind in "fcV" else xp.zeros(a.shape, bool), None,
              kind=_BOOL)
isfinite = unary("isfinite", lambda xp, a: xp.isfinite(a) if a.dtype.kind in "fcV" else xp.ones(a.shape, bool),
                 None, kind=_BOOL)
isposinf = unary("isposinf", lambda xp, a: xp.isposinf(a) if a.dtype.kind in "fV" else xp.zeros(a.shape, bool),
                 None, kind=_BOOL)
isneginf = unary("isneginf", lambda xp, a: xp.isneginf(a) if a.dtype.kind in "fV" else xp.zeros(a.shape, bool),
                 None, kind=_BOOL)
signbit = unary("signbit", lambda xp, a: xp.signbit(a) if a.dtype.kind != "b" else xp.zeros(a.shape, bool),
                None, kind=_BOOL)
deg2rad = unary("deg2rad", "deg2rad", lambda g, x, r: g * (math.pi / 180), saves="")
rad2deg = unary("rad2deg", "rad2deg", lambda g, x, r: g * (180 / math.pi), saves="")
sinc = unary("sinc", "sinc", lambda g, x, r: g * ((x * math.pi).cos() - r) / x.masked_fill(x == 0, 1)
             * (x != 0), saves="both")
conj_physical = unary("conj_physical", "conjugate", lambda g, x, r: g.conj(), kind=_SAME, saves="")


def _round_fwd(decimals: int) -> Callable:
    def fwd(xp: Any, a: Any) -> Any:
        if a.dtype.kind in "biu":
            return a
        if decimals == 0:
            return xp.round(a)
        scale = 10.0 ** decimals
        return xp.round(a * scale) / scale if decimals > 0 else xp.round(a / 10.0 ** -decimals) * 10.0 ** -decimals
    return fwd


_round0 = unary("round", _round_fwd(0), lambda g, x, r: g * 0, kind=_SAME, saves="")


class RoundBackward1(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g * 0,)


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:
    """Round half to even; with ``decimals``, to that many decimal places."""
    if decimals == 0:
        return _round0(input, out=out)
    _check_tensor(input, "round")
    dev = input._device
    res = new_tensor(_round_fwd(decimals)(np if dev is CPU else xp_of(dev), input._data), input._dtype, dev)
    if input._rg and STATE.enabled:
        record(res, RoundBackward1(), (input,))
    return write_out(out, res) if out is not None else res


def round_(self: Tensor, *, decimals: int = 0) -> Tensor:
    if decimals == 0:
        return _round0._inplace(self)  # type: ignore[attr-defined]
    check_inplace(self)
    if self._rg and STATE.enabled:
        return inplace(self, round(history_alias(self), decimals=decimals))
    self._data[...] = round(self, decimals=decimals)._data
    self._vc[0] += 1
    return self


bind({"round": round, "round_": round_})

__all__ = ["mul", "div", "div_", "divide", "divide_", "add", "sub", "add_", "sub_", "subtract", "subtract_", "multiply", "rsub", "pow", "float_power", "remainder", "fmod", "maximum", "minimum", "fmax", "fmin", "atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "copysign", "nextafter", "xlogy", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "logical_and", "logical_or", "logical_xor", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal", "neg", "negative", "abs", "absolute", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "sigmoid", "reciprocal", "square", "sign", "sgn", "floor", "ceil", "trunc", "fix", "frac", "relu", "logical_not", "bitwise_not", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "deg2rad", "rad2deg", "sinc", "conj_physical", "round", "round_"]


# ---- clamp ---------------------------------------------------------------------------------------------
class ClampBackward1(Node):
    """clamp with scalar bounds: the gradient passes where the input is inside [min, max]."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (x,) = self.saved
        lo, hi = self.bounds
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            mask = (x <= hi) if mask is None else mask & (x <= hi)
        return (g * mask if mask is not None else g,)


class ClampMinBackward0(ClampBackward1):
    __slots__ = ()


class ClampMaxBackward0(ClampBackward1):
    __slots__ = ()


class ClampBackward0(Node):
    """clamp with tensor bounds: gradients flow to the input or to the bound that was selected."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, lo, hi = self.saved
        keep = None
        g_lo = g_hi = None
        if lo is not None:
            below = x < lo
            keep = ~below
            g_lo = g * below if self._next[1] is not None else None
        if hi is not None:
            above = x > hi
            if lo is not None:
                above = above & ~(x < lo)
            keep = ~above if keep is None else keep & ~above
            g_hi = g * above if self._next[2] is not None else None
        return (g * keep if keep is not None else g, g_lo, g_hi)


def _clamp_arrays(xp: Any, a: Any, lo: Any, hi: Any) -> Any:
    r = a
    if lo is not None:
        r = xp.maximum(r, lo) if a.dtype.kind != "f" else xp.where(xp.isnan(a), a, xp.maximum(r, lo))
    if hi is not None:
        r = xp.minimum(r, hi) if a.dtype.kind != "f" else xp.where(xp.isnan(a), a, xp.minimum(r, hi))
    return r


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Tensor | None = None) -> Tensor:
    """Limit values to ``[min, max]`` (either bound may be None, a number or a tensor)."""
    _check_tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tensor_bounds = _isinstance(min, Tensor) or _isinstance(max, Tensor)
    from ._dispatch import result_dtype
    dt = result_dtype(input, min, max)
    dev = input._device
    xp = np if dev is CPU else xp_of(dev)
    a = input._data if input._dtype is dt else input._data.astype(dt.np)
    lo = min._data if _isinstance(min, Tensor) else min
    hi = max._data if _isinstance(max, Tensor) else max
    if lo is not None and hi is not None and not tensor_bounds and lo > hi:
        arr = xp.full(a.shape, hi, dt.np)
    else:
        try:
            arr = _clamp_arrays(xp, a, lo, hi)
        except ValueError:
            shape_b = (min if _isinstance(min, Tensor) else max)._data.shape
            raise broadcast_error(a.shape, shape_b) from None
    res = new_tensor(arr, dt, dev)
    if res._data.dtype != dt.np:
        res._data = res._data.astype(dt.np)
    if STATE.enabled and (input._rg or (tensor_bounds and any(_isinstance(b, Tensor) and b._rg
                                                               for b in (min, max)))):
        if tensor_bounds:
            node = record(res, ClampBackward0(), (input, min, max))
            node.save(input, min if _isinstance(min, Tensor) else None, max if _isinstance(max, Tensor) else None)
        else:
            node = record(res, ClampBackward1(), (input,))
            node.save(input)
            node.bounds = (min, max)
    return write_out(out, res) if out is not None else res


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    check_inplace(self)
    if STATE.enabled and (self._rg or _isinstance(min, Tensor) and min._rg or _isinstance(max, Tensor) and max._rg):
        return inplace(self, clamp(history_alias(self), min, max))
    res = clamp(self, min, max)
    if not D.can_cast(res._dtype, self._dtype):
        raise RuntimeError(f"result type {res._dtype._short} can't be cast to the desired output type "
                           f"{self._dtype._short}")
    self._data[...] = res._data
    self._vc[0] += 1
    return self


def clamp_min(input: Tensor, min: Any) -> Tensor:
    res = clamp(input, min=min)
    if res._grad_fn is not None and type(res._grad_fn) is ClampBackward1:
        res._grad_fn.__class__ = ClampMinBackward0
    return res


def clamp_max(input: Tensor, max: Any) -> Tensor:
    res = clamp(input, max=max)
    if res._grad_fn is not None and type(res._grad_fn) is ClampBackward1:
        res._grad_fn.__class__ = ClampMaxBackward0
    return res


clip, clip_ = clamp, clamp_
bind({"clamp": clamp, "clamp_": clamp_, "clip": clamp, "clip_": clamp_, "clamp_min": clamp_min,
      "clamp_max": clamp_max, "clamp_min_": lambda self, min: clamp_(self, min=min),
      "clamp_max_": lambda self, max: clamp_(self, max=max)})
__all__ += ["clamp", "clamp_", "clip", "clip_", "clamp_min", "clamp_max"]
