"""Elementwise operators: arithmetic, comparisons, bitwise/logical, the unary math set, complex parts.

Each op is declared once with :func:`unary` or :func:`binary`, which build the function, its in-place
variant, its ``out=`` handling, its dtype rules and errors, and its grad_fn class (torch's name) from the
forward array function and the backward formula. Backward formulas are written with ember ops, so they
are differentiable again (double backward). Gradients follow torch's complex convention: for a
holomorphic ``f``, ``grad_input = grad * conj(f'(z))``.
"""

from __future__ import annotations

import builtins
import cmath
import math
from collections.abc import Callable
from inspect import CO_VARARGS as _CO_VARARGS
from types import FunctionType as _FunctionType
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU, xp_of_array
from .._core.fma import fused_multiply_add, wide_dtype
from .._core.memory_format import storage_order
from .._core.warn import warn
from .._tensor import _INFERENCE, CONJ, NEG, warn_complex32_once
from ..autograd.grad_mode import STATE
from ..autograd.graph import _FREED, _RELEASED, _SCALAR_OVERLOADS, FREED, Node, SavedOutput
from ._dispatch import (
    NO_DIM,
    Tensor,
    array_of,
    binary_dtype,
    bind,
    broadcast_error,
    broadcast_shapes,
    check_inplace,
    check_out_grad,
    check_same_device,
    from_array,
    history_alias,
    inplace,
    new_tensor,
    no_unsigned_kernel,
    node_op,
    operand,
    record,
    result_dtype,
    scalar_for,
    scalar_range,
    torch_names,
    write_out,
    xp_of,
)
from ._parallel import split_rows
from .creation import c_like, follow_first, zeros_like
from .indexing import where as _where
from .reduction import return_type
from .views import int_arg, make_view

_isinstance = isinstance
_py_complex = builtins.complex
_SCALARS = (int, float, bool, _py_complex)
_CATS = "bifc"          # dtype.category → letter: bool, integer, floating, complex
_LN2, _LN10 = math.log(2.0), math.log(10.0)

Denial = tuple[type[Exception], str]


# ---- shared helpers ---------------------------------------------------------------------------------------
def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _out_grad(rule: str | None, grad: Callable | None, kind: Callable) -> str:
    """How torch refuses ``out=`` with tensors that require grad: "autograd" (a differentiable op: any input or
    ``out``, before the kernel), "fallback" (an op without a derivative: ``out`` only, as ``aten::<op>()``) or
    "none" (comparisons and logical ops, not differentiable: never)."""
    if rule is not None:
        return rule
    return "autograd" if grad is not None else "none" if kind is _k_bool else "fallback"


def _autograd_name(name: str, node: str | None) -> str:
    """The op's name in torch's autograd errors: its own, or the one its gradient node names (``div`` for
    ``true_divide``, whose node is ``DivBackward0``)."""
    return name if node is None or node.startswith(_camel(name) + "Backward") else node_op(node)


def _camel(name: str) -> str:
    """torch's grad_fn spelling of an op name: ``log1p`` → ``Log1P``, ``nan_to_num`` → ``NanToNum``."""
    out = []
    for part in name.split("_"):
        chars = list(part)
        for i, c in enumerate(chars):
            if i == 0 or chars[i - 1].isdigit():
                chars[i] = c.upper()
        out.append("".join(chars))
    return "".join(out)


class _OpNode(Node):
    """Base of the nodes built here; ``params`` holds an op's non-tensor arguments (decimals, alpha…)."""

    __slots__ = ()
    params: tuple = ()

    def __getattr__(self, name: str) -> Any:
        """torch's ``_saved_self`` / ``_saved_other`` / ``_saved_result``: what a unary ``(self, result)`` or
        binary ``(self, other, result)`` node saved (a Python-number operand as a 0-d tensor). An operand a
        binary node did not need is None; a slot never saved has no attribute; freed ones raise torch's error."""
        saved = self._saved if name.startswith("_saved_") else None
        i = _SAVED_AT.get(len(saved), {}).get(name) if saved is not None else None
        if i is None or (saved[i] is None and (len(saved) == 2 or name == "_saved_result")):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        if self._versions is _RELEASED:
            raise RuntimeError(FREED)
        v = self.saved[i]
        return v if v is None or _isinstance(v, Tensor) else from_array(np.asarray(v), D.scalar_dtype(v), CPU)


_SAVED_AT = {2: {"_saved_self": 0, "_saved_result": 1}, 3: {"_saved_self": 0, "_saved_other": 1, "_saved_result": 2}}


class _WrappedScalarNode(_OpNode):
    """A binary op's node: torch wraps a Python-number operand as a 0-d tensor and saves that, so it is freed
    with the graph and a second backward reading it raises torch's error (its Scalar overloads, which keep
    the number, use plain :class:`_OpNode`)."""

    __slots__ = ()

    def release(self) -> None:
        saved = self._saved   # (a, b, result): only the operands may be numbers
        if saved is not None and self._versions is not _RELEASED and (
                type(saved[0]) in _SCALARS or type(saved[1]) in _SCALARS):
            self._saved = tuple([_FREED if type(t) in _SCALARS else t for t in saved])
        Node.release(self)


def node_class(name: str, backward: Callable, base: type[Node] | None = None) -> type[Node]:
    """A Node subclass (of ``base``, default :class:`_OpNode`) named like torch's grad_fn whose
    ``backward(node, grad)`` returns input grads."""
    attrs = {"__slots__": (), "backward": backward, "__module__": "torch.autograd.graph"}
    return type(name, (base or _OpNode,), attrs)


def _no_inplace_grad(op: str) -> Callable:
    """The backward of an in-place form torch has no derivative for (``asinh_`` & co): it raises."""
    def backward(node: Node, g: Tensor) -> tuple:
        raise NotImplementedError(f"the derivative for 'inplace version of {op}' is not implemented.")
    return backward


def no_derivative(op: str) -> Callable:
    """The backward of an op torch records under a ``NotImplemented`` grad_fn: it raises."""
    def grad(g: Tensor, *args: Any) -> tuple:
        raise RuntimeError(f"derivative for aten::{op} is not implemented")
    return grad


def ni(kernel: str) -> Denial:
    """torch's NotImplementedError for a dtype a kernel lacks (``"abs_cpu" not implemented for 'Bool'``)."""
    return NotImplementedError, f"\"{kernel}\" not implemented for '{{}}'"


def deny_table(spec: dict[str, Denial] | None) -> dict[D.dtype, Denial]:
    """Expand ``{category letter or dtype name: (exception, message)}`` to a per-dtype table."""
    if not spec:
        return {}
    table = {d: spec.get(d.name, spec.get(_CATS[d.category])) for d in (*D.ALL_DTYPES, D.complex32, *D.FLOAT8_DTYPES)}
    return {d: err for d, err in table.items() if err is not None}


def raise_denied(err: Denial, dt: D.dtype) -> None:
    raise err[0](err[1].format(dt._short))


def _early(denied: dict[D.dtype, Denial], dt: D.dtype) -> bool:
    """Whether torch raises this dtype's error before checking ``out=`` (its own message, not the
    kernel-dispatch one)."""
    err = denied.get(dt)
    return err is not None and not err[1].startswith('"')


# ---- the float8 types and complex32: torch has CPU kernels for only a few elementwise ops --------------------
# the kernel torch's NotImplementedError names, where it is not "<op>_cpu"
_FEW_KERNEL = {"add": "add_stub", "sub": "add_stub", "rsub": "add_stub", "true_divide": "div_cpu", "div": "div_cpu",
               "floor_divide": "div_floor_cpu", "pow": "pow", "square": "pow", "ldexp": "pow", "arctan2": "atan2_cpu",
               "bitwise_left_shift": "lshift_cpu", "bitwise_right_shift": "rshift_cpu", "exp2": "exp2",
               "sigmoid": "sigmoid_cpu_reduced_float", "sgn": "sign_cpu", "relu": "clamp_min_scalar_cpu",
               "_neg_view": "neg_cpu", "isinf": "isinf", "isfinite": "isfinite", "deg2rad": "mul_cpu_reduced_float",
               "rad2deg": "mul_cpu_reduced_float", "nan_to_num": "nan_to_num", "clamp_min": "maximum_cpu",
               "clamp_max": "minimum_cpu",
               **{n: n + "_vml_cpu" for n in ("exp expm1 log log2 log10 log1p sqrt sin cos tan asin acos atan tanh "
                                              "floor ceil trunc round").split()}}
# … with a Python number (or 0-d tensor) operand, float8 goes to torch's "reduced float" kernels
_FEW_SCALAR_KERNEL = {"mul": "mul_cpu_reduced_float", "true_divide": "div_cpu_reduced_float",
                      "div": "div_cpu_reduced_float", "floor_divide": "div_floor_cpu_reduced_float"}
_FEW_OK = {"abs", "conj", "conj_physical", "eq", "ne", "float_power", "isnan", "isreal", "mul", "positive", "real",
           "resolve_conj", "resolve_neg"}
_FEW_OK_DTYPE = {D.float8_e5m2: _FEW_OK | {"isinf", "isfinite"}, D.float8_e8m0fnu: _FEW_OK - {"abs"} | {"isfinite"},
                 D.complex32: _FEW_OK | {"add", "sub", "rsub", "neg", "_neg_view", "sgn", "imag", "isinf", "isfinite"}}


# … and where it has one, it computes in float32 (complex64) and rounds back with its own conversion
_FEW_COMPUTE = {**{d: D.float32 for d in D.FLOAT8_DTYPES}, D.complex32: D.complex64}


def _round_to(arr: Any, dt: D.dtype) -> Any:
    """``arr`` converted to ``dt`` (torch's float8 rounding and overflow rules)."""
    if dt.kind == "float8":
        return D.convert(arr, D.from_numpy_dtype(arr.dtype), dt)
    return arr.astype(dt.np)


# the ops torch has CPU kernels of uint16/uint32/uint64 for (where they compute in that dtype; the others refuse)
_UNSIGNED_OK = {"clone", "conj", "conj_physical", "resolve_conj", "resolve_neg", "real", "positive", "isnan", "isinf",
                "isfinite", "isposinf", "isneginf", "isreal", "signbit", "floor", "ceil", "trunc", "round",
                "nan_to_num", "mul", "eq", "ne", "bitwise_and", "bitwise_or", "bitwise_xor"}
_UNSIGNED_KERNEL = {"fmax": "maximum_cpu", "fmin": "minimum_cpu"}


def few_kernels(name: str, dt: D.dtype, scalar: bool = False) -> None:
    """torch's NotImplementedError for op ``name`` on a ``dt`` with few CPU kernels (``dt.few``: float8, complex32,
    uint16/32/64) that it has no kernel for (``scalar``: one operand is a number or a 0-d tensor)."""
    if not dt.kind:   # uint16, uint32, uint64
        if name not in _UNSIGNED_OK:
            no_unsigned_kernel(_UNSIGNED_KERNEL.get(name) or _FEW_KERNEL.get(name, name + "_cpu"), dt)
        return
    if dt.kind in ("storage", "quantized"):
        raise NotImplementedError(f"\"{_FEW_KERNEL.get(name, name + '_cpu')}\" not implemented for '{dt._short}'")
    if scalar and dt.kind == "float8" and name in _FEW_SCALAR_KERNEL:
        kernel = _FEW_SCALAR_KERNEL[name]
    elif name in _FEW_OK_DTYPE.get(dt, _FEW_OK):
        return
    elif dt is D.complex32 and name == "sigmoid":
        kernel = "sigmoid_cpu"
    else:
        kernel = _FEW_KERNEL.get(name, name + "_cpu")
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")


def _binary_kernel(name: str, dt: D.dtype, a: Any, b: Any) -> None:
    """:func:`few_kernels` for a binary op, in torch's order: a Python int no Scalar holds (its parser's
    OverflowError), the operands' broadcasting, the kernel. ``pow`` by a number 0 or 1, or of the number 1, runs
    no kernel (torch fills ones or copies)."""
    try:
        few_kernels(name, dt, _is_scalar(a) or _is_scalar(b))
    except NotImplementedError:
        if name == "pow" and (not _isinstance(b, Tensor) and b in (0, 1) or
                              not _isinstance(a, Tensor) and type(a) is not bool and a == 1):
            return
        for x in (a, b):
            if type(x) is int:
                scalar_range(x)
        broadcast_shapes(_shape(a), _shape(b))
        raise


def _is_scalar(x: Any) -> bool:
    return not _isinstance(x, Tensor) or x._data.ndim == 0


def cast_error(src: D.dtype, dst: D.dtype) -> RuntimeError:
    return RuntimeError(f"result type {src._short} can't be cast to the desired output type {dst._short}")


def _finish(r: Any, rt: D.dtype, dev: Any) -> Tensor:
    """Wrap a computed array as a tensor of ``rt`` (0-d NumPy results come back as scalars)."""
    res = new_tensor(r, rt, dev)
    if res._data.dtype != rt.np:
        res._data = _round_to(res._data, rt)
    return res


def _overlap_error() -> RuntimeError:
    return RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                        "single memory location. Please clone() the tensor before performing the operation.")


def _check_written(t: Tensor) -> None:
    """torch's error for writing into a tensor whose elements share memory (an expanded view: read-only in
    NumPy; an empty one has none), raised before its dtype checks as TensorIterator does."""
    if not getattr(t._data.flags, "writeable", True) and t._data.size:
        raise _overlap_error()


_COMPLEX_CAST_WARNING = ["Casting complex values to real discards the imaginary part"]   # warned once, as torch


def _check_out(out: Tensor, *operands: Any) -> None:
    """torch's checks of an ``out=`` tensor before writing: no overlapping elements; an input that is ``out``
    itself (same memory and layout) keeps its shape, one overlapping it partly is refused."""
    _check_written(out)
    o = out._data
    if type(o) is not np.ndarray:
        return
    for t in operands:
        if _isinstance(t, Tensor) and type(t._data) is np.ndarray and np.may_share_memory(o, t._data):
            a = t._data
            if t is not out and not (_dense(a) and _dense(o)):
                continue   # torch can't tell: it lets them be
            start, ostart = a.__array_interface__["data"][0], o.__array_interface__["data"][0]
            if start != ostart or a.nbytes != o.nbytes or a.strides != o.strides:
                raise RuntimeError("unsupported operation: some elements of the input tensor and the written-to "
                                   "tensor refer to a single memory location. Please clone() the tensor before "
                                   "performing the operation.")
            shape = broadcast_shapes(*(_shape(x) for x in operands))
            if shape != o.shape:
                raise _shape_error(o.shape, shape)


def _dense(a: Any) -> bool:
    return a.flags.c_contiguous or a.flags.f_contiguous


def _shape_error(self_shape: tuple, result_shape: tuple) -> RuntimeError:
    return RuntimeError(f"output with shape {list(self_shape)} doesn't match the broadcast shape "
                        f"{list(result_shape)}")


def _store(self: Tensor, r: Any) -> Tensor:
    """Write a computed array into ``self`` (in-place op without autograd) and bump its version."""
    if r.shape != self._data.shape:
        raise _shape_error(self._data.shape, np.broadcast_shapes(r.shape, self._data.shape))
    if self._dtype.kind == "float8" and r.dtype != self._data.dtype:
        r = _round_to(r, self._dtype)
    elif type(r) is not np.ndarray and self._device is CPU:
        r = np.asarray(r)   # a NumPy scalar: assigned as an array, it wraps into a narrower integer dtype
    if not r.size:   # nothing to write (NumPy refuses even that into an empty expanded view), still a write
        self._vc[0] += 1
        return self
    try:
        self._data[...] = r
    except ValueError as e:
        if "read-only" in str(e):
            raise _overlap_error() from None
        raise
    self._vc[0] += 1
    return self


def inplace_via(self: Tensor, fn: Callable, *args: Any, **kwargs: Any) -> Tensor:
    """The in-place form of an out-of-place op ``fn(self, *args)``: same dtype rules as torch
    (the result must be castable to ``self``'s dtype and have its shape)."""
    if not _isinstance(self, Tensor):
        raise TypeError(f"descriptor requires a 'Tensor' object but received a '{type(self).__name__}'")
    if STATE.enabled and (self._rg or builtins.any(_isinstance(x, Tensor) and x._rg for x in args)):
        check_inplace(self)
        return inplace(self, fn(history_alias(self), *args, **kwargs))
    if _INFERENCE[0]:
        check_inplace(self)
    _check_written(self)
    res = fn(self, *args, **kwargs)
    if res._data.shape != self._data.shape:
        raise _shape_error(self._data.shape, res._data.shape)
    if not D.can_cast(res._dtype, self._dtype):
        raise cast_error(res._dtype, self._dtype)
    return _store(self, res._data)


def _c(x: Any) -> Any:
    """Complex conjugate of a gradient factor (identity for real tensors and scalars)."""
    if _isinstance(x, Tensor):
        return conj(x) if x._dtype.is_complex else x
    return x.conjugate() if type(x) is _py_complex else x


def _rg(x: Any) -> bool:
    return _isinstance(x, Tensor) and x._rg


# ---- result-dtype rules ---------------------------------------------------------------------------------
# Each maps an input dtype to (compute dtype, result dtype).
def _k_float(dt: D.dtype) -> tuple[D.dtype, D.dtype]:
    """Floating math: integer and bool inputs compute in the default float dtype."""
    if dt.category >= 2:
        return dt, dt
    d = D.get_default_dtype()
    return d, d


def _k_same(dt: D.dtype) -> tuple[D.dtype, D.dtype]:
    return dt, dt


def _k_bool(dt: D.dtype) -> tuple[D.dtype, D.dtype]:
    return dt, D.bool


def _k_real(dt: D.dtype) -> tuple[D.dtype, D.dtype]:
    """abs: complex inputs give their real dtype."""
    return dt, dt.to_real()


def _k_complex(dt: D.dtype) -> tuple[D.dtype, D.dtype]:
    """complex/polar: two real parts make their complex dtype."""
    return dt, dt.to_complex()


def _k_float_real(dt: D.dtype) -> tuple[D.dtype, D.dtype]:
    """angle: integers go to the default float dtype, complex to its real dtype."""
    if dt.category < 2:
        d = D.get_default_dtype()
        return d, d
    return dt, dt.to_real()


# ---- unary ----------------------------------------------------------------------------------------------
def _check_out_dtype(name: str, rule: str, out: Any, rt: D.dtype, dt: D.dtype) -> None:
    """torch's ``out=`` dtype rules for unary ops (see :func:`unary`)."""
    if not _isinstance(out, Tensor):
        return
    if rule == "cast" or (rule == "strict" and dt.is_complex and not rt.is_complex):
        if not D.can_cast(rt, out._dtype):
            raise cast_error(rt, out._dtype)
        return
    if rule == "bool" and out._dtype is not D.bool:
        raise RuntimeError(f"{name} does not support non-boolean outputs.")
    if rule == "strict" and out._dtype is not rt:
        raise RuntimeError(f"Found dtype {out._dtype._short} but expected {rt._short}")
    if rule == "input" and out._dtype is not dt:
        raise RuntimeError(f"{name}: dtype of out: {out._dtype._short} should be same as input: {dt._short}")


def _arity(forward: str | Callable, operands: int) -> int | None:
    """How many parameters an op's ``forward(xp, *operands, *params)`` takes after its operands (None: any
    number), so that a call passing more raises Python's TypeError instead of ignoring them."""
    code = getattr(forward, "__code__", None) if type(forward) is _FunctionType else None
    if code is None:
        return 0 if isinstance(forward, str) else None
    return None if code.co_flags & _CO_VARARGS else code.co_argcount - 1 - operands


def _arity_error(name: str, takes: int, given: int) -> TypeError:
    return TypeError(f"{name}() takes {takes} positional argument{'s' * (takes != 1)} but {given} "
                     f"{'was' if given == 1 else 'were'} given")


# float32 functions computed in double and rounded once for small arrays: correctly rounded in practice, which
# is what torch's vectorised CPU kernels (Sleef) give for these in all but ~0.1-1% of inputs, where NumPy's float32
# loops (SVML on AVX512) differ in 11-50%; double costs 2.5-5x NumPy's float32 loop, bounded by the size limit
# (larger arrays keep the float32 loop).
_VIA_DOUBLE = frozenset({"exp", "expm1", "log", "log2", "log10", "log1p", "tanh", "sinh", "cosh", "arctanh"})
_VIA_DOUBLE_MAX = 4096


def via_double(ufunc: Any) -> Callable[[Any], Any]:
    """``ufunc`` on a NumPy array; a float32 array of at most ``_VIA_DOUBLE_MAX`` elements goes through double."""
    def run(a: Any) -> Any:
        if a.dtype == _F32 and a.size <= _VIA_DOUBLE_MAX:
            return ufunc(a, dtype=np.float64).astype(_F32)   # (the loop casts: the result keeps a's layout)
        return ufunc(a)
    return run


_F32 = np.dtype(np.float32)


def unary(name: str, forward: str | Callable, grad: Callable | None = None, *, kind: Callable = _k_float,
          saves: str = "x", deny: dict[str, Denial] | None = None, grad_name: str | None = None,
          method: bool = True, inplace_method: bool = True, out_rule: str | None = None,
          names: tuple[str, ...] = (), inplace_grad: bool = True, out_grad: str | None = None) -> Callable:
    """Declare a unary elementwise op ``name``: the function ``name(input, *params, out=None)``, the
    Tensor method and its in-place ``name_`` (unless disabled; ``inplace_grad=False``: the in-place form's node,
    ``<Name>Backward1``, raises torch's NotImplementedError in backward).

    ``forward``: an xp function name, or ``f(xp, array, *params) -> array``; ``grad(g, x, result, *params)``
    the input gradient (None: not differentiable); ``kind``: the dtype rule; ``saves``: which of the input
    ``x`` and the result ``r`` the backward reads; ``deny``: ``{category letter or dtype name: (exception,
    message)}`` for dtypes torch refuses; ``out_rule``: how ``out=`` may differ from the result dtype:
    ``cast`` (any dtype the result casts to; the default for promoting ops), ``strict`` (the same dtype;
    the default for dtype-preserving ops), ``bool``, ``input`` (the input's dtype) or ``none`` (no
    ``out=`` argument); ``names``: torch's keyword names for the operand(s) when not ``input`` (``x``).
    """
    if out_rule is None:
        out_rule = "strict" if kind in (_k_same, _k_real) else "cast"
    np_fn = None if callable(forward) else getattr(np, forward)
    if np_fn is not None and forward in _VIA_DOUBLE:
        np_fn = via_double(np_fn)
    if callable(forward):
        fwd = forward
    elif np_fn is not None and forward in _VIA_DOUBLE:
        fwd = lambda xp, a: np_fn(a) if xp is np else getattr(xp, forward)(a)  # noqa: E731
    else:
        fwd = lambda xp, a: getattr(xp, forward)(a)  # noqa: E731
    denied = deny_table(deny)
    save_x, save_r = "x" in saves, "r" in saves
    node_cls = None
    if grad is not None:
        node_cls = node_class(grad_name or f"{_camel(name)}Backward0",
                              lambda self, g: (grad(g, *self.saved, *self.params),))
    inplace_cls = None if inplace_grad or grad is None else \
        node_class(f"{_camel(name)}Backward1", _no_inplace_grad(name))

    arg_a = names[0] if names else "input"   # the operand's name in torch's errors
    out_op = _autograd_name(name, node_cls and node_cls.__name__)
    out_grad = _out_grad(out_grad, grad, kind)
    takes = _arity(forward, 1)

    def op(input: Tensor, *params: Any, out: Tensor | None = None) -> Tensor:
        if params and takes is not None and len(params) > takes:
            raise _arity_error(name, 1 + takes, 1 + len(params))
        if not _isinstance(input, Tensor):
            _tensor_arg(input, name, arg_a, 1)
        if input._sparse_layout:
            from ..sparse._coo import sparse_unary
            return sparse_unary(op, input, params)
        dt = input._dtype
        ct, rt = kind(dt)
        if out is not None:
            if out_rule == "none":
                raise TypeError(f"{name}() got an unexpected keyword argument 'out'")
            if out_grad == "autograd":
                check_out_grad(out_op, out, input)
            elif out_grad == "fallback":
                check_out_grad(f"aten::{name}", out)
            if denied and _early(denied, dt):
                raise_denied(denied[dt], dt)
            if out_rule in ("bool", "input"):   # these messages come first, casts after the overlap checks
                _check_out_dtype(name, out_rule, out, rt, dt)
            if _isinstance(out, Tensor):
                _check_out(out, input)
            if out_rule not in ("bool", "input"):
                _check_out_dtype(name, out_rule, out, rt, dt)
        if denied and dt in denied:
            raise_denied(denied[dt], dt)
        if dt.few and (dt.kind or ct is dt):   # (uint16/32/64: the kernels computing in them)
            few_kernels(name, dt)
            if name != "abs":
                ct = _FEW_COMPUTE.get(ct, ct)
        a = input._data if ct is dt else _astype(input._data, ct.np)
        dev = input._device
        if np_fn is not None and dev is CPU:
            r = np_fn(a)
        elif a.flags.c_contiguous or (perm := _storage_order(a)) is None:
            r = fwd(np if dev is CPU else xp_of(dev), a, *params)
        else:   # a kernel that may flatten, on the C-contiguous view: the result keeps the layout, as torch's
            back = tuple(np.argsort(perm).tolist())
            r = fwd(np if dev is CPU else xp_of(dev), a.transpose(perm), *params).transpose(back)
        res = from_array(r, rt, dev) if type(r) is np.ndarray and r.dtype is rt.np else _finish(r, rt, dev)
        if node_cls is not None and input._rg and STATE.enabled:
            node = node_cls()
            record(res, node, (input,))
            node.save(input if save_x else None, SavedOutput(res) if save_r else None)
            if params:
                node.params = params
        if out is not None:
            return write_out(out, res, name, grad_check=out_grad == "autograd")
        return res

    def op_(self: Tensor, *params: Any) -> Tensor:
        if params and takes is not None and len(params) > takes:
            raise _arity_error(name + "_", 1 + takes, 1 + len(params))
        if self._sparse_layout:
            from ..sparse._coo import sparse_unary_
            return sparse_unary_(op, self, params)
        if kind is _k_real and self._dtype.is_complex:
            raise RuntimeError(f"In-place {name} is not supported for complex tensors.")
        if STATE.enabled and self._rg:
            check_inplace(self)
            res = op(history_alias(self), *params)
            if inplace_cls is not None:
                res._grad_fn.__class__ = inplace_cls
            return inplace(self, res)
        if _INFERENCE[0]:
            check_inplace(self)
        dt = self._dtype
        if denied and _early(denied, dt):
            raise_denied(denied[dt], dt)
        _check_written(self)
        if denied and dt in denied:
            raise_denied(denied[dt], dt)
        ct, rt = kind(dt)
        if dt.few and (dt.kind or ct is dt):
            few_kernels(name, dt)
            if name != "abs":
                ct = _FEW_COMPUTE.get(ct, ct)
        if not D.can_cast(rt, dt):
            raise cast_error(rt, dt)
        a = self._data if ct is dt else self._data.astype(ct.np)
        return _store(self, fwd(_xp(self), a, *params))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}``, as ``torch.{name}``."
    op_.__name__ = op_.__qualname__ = name + "_"
    op._inplace = torch_names(op_, ("input",))  # type: ignore[attr-defined]  # torch.<name>_(input=)
    if method:
        bind({name: op, **({name + "_": op_} if inplace_method else {})})
    return torch_names(op, names)


# ---- binary ---------------------------------------------------------------------------------------------
def _scalar_operand(x: Any, name: str, arg: str, pos: int, allowed: bool) -> Any:
    if allowed and type(x) in _SCALARS:
        return x
    if allowed and _isinstance(x, np.generic):
        return operand(x)
    raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")


_CPU_SCALARS: dict[tuple, Any] = {}   # (type, value, dtype) -> read-only 0-d array


def _astype(arr: Any, np_dtype: Any) -> Any:
    """``arr`` cast to ``np_dtype``; an expanded array stays expanded (its compact part cast), so that the kernel
    lays the result out as torch's over the original (NumPy's copy would put the 0-stride dims innermost)."""
    if 0 in arr.strides and arr.size > 1:
        if c_like(arr.strides):
            return arr.astype(np_dtype, order="C")
        xp = xp_of_array(arr)
        return xp.broadcast_to(arr[tuple(slice(0, 1) if s == 0 else slice(None) for s in arr.strides)]
                               .astype(np_dtype), arr.shape)
    return arr.astype(np_dtype)


def _array(x: Any, like: Tensor, ct: D.dtype) -> Any:
    """An operand as a backend value of compute dtype ``ct``. A scalar meeting a CPU tensor becomes a cached
    0-d array of ``ct`` (NumPy's ufuncs take those ~1 µs faster than Python numbers); on other devices it stays
    a Python scalar, passed to the kernel as an argument. Out-of-range ints wrap as in torch."""
    if _isinstance(x, Tensor):
        if x._device is not like._device:
            x = array_of(x, like, ct)
            return x if type(x) in _SCALARS else x.astype(ct.np)
        arr = x._data
        return arr if arr.dtype is ct.np or arr.dtype == ct.np else _astype(arr, ct.np)
    tx = type(x)
    if like._device is not CPU or tx is complex or (tx is float and x == 0.0):   # keys can't tell -0.0 from 0.0
        return scalar_for(x, ct)
    key = (tx, x, ct)
    arr = _CPU_SCALARS.get(key)
    if arr is None:
        if len(_CPU_SCALARS) >= 1024:
            _CPU_SCALARS.clear()
        arr = np.array(scalar_for(x, ct), ct.np)
        arr.flags.writeable = False
        _CPU_SCALARS[key] = arr
    return arr


def _check_inplace_shape(shape: tuple, other: tuple) -> None:
    """An in-place op may broadcast ``other`` into ``self`` but never grow ``self``."""
    full = broadcast_shapes(shape, other)
    if full != shape:
        raise _shape_error(shape, full)


def _scalar_array(xp: Any, x: Any, ct: D.dtype) -> Any:
    return xp.asarray(x, dtype=ct.np) if type(x) in _SCALARS else x


_HALF_NP = frozenset({D.float16.np, D.bfloat16.np})


def _cpu_scalar(b: Tensor, a: Tensor) -> bool:
    """Whether a second operand ``b`` is a CPU scalar to torch's kernels beside a dimensioned ``a``: a 0-d
    CPU tensor, which mul/div take at its own precision (opmath), as a Python number."""
    return b._data.ndim == 0 < a._data.ndim and b._device is CPU


def _storage_order(a: Any) -> tuple[int, ...] | None:
    return storage_order(a.shape, tuple(s // a.itemsize for s in a.strides))


def _shape(x: Any) -> tuple:
    return x._data.shape if _isinstance(x, Tensor) else ()


def binary(name: str, forward: str | Callable, grad: Callable | None = None, *, kind: Callable = _k_same,
           deny: dict[str, Denial] | None = None, check: Callable | None = None,
           grad_name: str | Callable | None = None, saves: str = "ab", scalars: str = "ab",
           method: bool = True, inplace_method: bool = True, precheck: Callable | None = None,
           cast_name: str | None = None, scalar_pair: bool = False, reflected: bool = False,
           names: tuple[str, ...] = (), opmath_scalars: str = "",
           complex_via: Callable | None = None, comparison: bool = False, out_grad: str | None = None) -> Callable:
    """Declare a binary elementwise op with broadcasting and torch's promotion.

    ``forward``: an xp ufunc name or ``f(xp, a, b, *params)`` on operands already in the compute dtype;
    ``grad(g, a, b, result, *params) -> (grad_a, grad_b)`` (``a``/``b`` may be Python scalars);
    ``kind``: the dtype rule applied to the promoted dtype; ``check(a, b, dtype, *params)`` raises torch's
    kernel-time (value-dependent) errors, ``precheck(a, b)`` those torch raises before looking at shapes;
    ``grad_name``: a name or ``f(a, b) -> name``; ``saves``: which of ``a``, ``b``, result ``r`` the
    backward reads (with ``"x"``, an operand not listed is saved only when the other requires grad, as
    torch's mul (``"x"``) and div (``"xb"``) save; ``"R"``: the result only when ``b`` requires grad);
    ``scalars``: which operands may be Python scalars (``scalar_pair``: both at once, the
    first becoming a 0-d tensor); ``cast_name``: the op name torch puts in its cast error instead of
    "result type <dtype>" for an integer or bool destination (checked before shapes); ``reflected``: the ufunc
    ``forward`` takes the operands swapped (``rsub``: ``other - input``); ``names``: torch's keyword names for
    the operands when not ``input``/``other`` (``x``, ``n``); ``opmath_scalars``: the operands (``"ab"``, ``"b"``)
    that, as a Python number or a 0-d CPU tensor, a 16-bit float tensor meets in float32, not rounded to the
    16-bit type first (torch's mul/div kernels; its rounding divisions only for the divisor);
    ``complex_via``: the op (taking an ``alpha`` of 1) that computes complex results instead (add/sub: torch's
    kernel multiplies the second operand by a complex alpha, which turns infinities' other parts NaN);
    ``comparison``: the in-place form on a tensor with history records ``<Op>Backward0`` (a number operand) or
    ``<Op>Backward1`` (a tensor), whose gradients are zeros (torch's ``x.gt_(y)``).
    """
    np_fn = None if callable(forward) else getattr(np, forward)
    if callable(forward):
        fwd = forward
    elif reflected:
        np_fn = lambda a, b, ufunc=np_fn, **kw: ufunc(b, a, **kw)  # noqa: E731
        fwd = lambda xp, a, b: getattr(xp, forward)(b, a)  # noqa: E731
    else:
        fwd = lambda xp, a, b: getattr(xp, forward)(a, b)  # noqa: E731
    denied = deny_table(deny)
    sa, sb, sr, cross = "a" in saves, "b" in saves, "r" in saves, "x" in saves
    sr_b = "R" in saves
    scalar_a, scalar_b = "a" in scalars, "b" in scalars
    classes: dict[str, type[Node]] = {}
    fixed_name = None if callable(grad_name) else grad_name or f"{_camel(name)}Backward0"

    def make_class(cls_name: str) -> type[Node]:
        return node_class(cls_name, lambda self, g: grad(g, *self.saved, *self.params),
                          None if cls_name in _SCALAR_OVERLOADS else _WrappedScalarNode)

    def node_for(a: Any, b: Any) -> Node:
        cls_name = grad_name(a, b)  # type: ignore[misc]
        cls = classes.get(cls_name)
        if cls is None:
            cls = classes[cls_name] = make_class(cls_name)
        return cls()

    fixed_cls = make_class(fixed_name) if fixed_name is not None and grad is not None else None
    out_op = _autograd_name(name, fixed_name)
    out_grad = _out_grad(out_grad, grad, kind)
    compared = [node_class(f"{_camel(name)}Backward{i}", lambda node, g, n=i + 1: _zero_grads(g)[:n])
                for i in (0, 1)] if comparison else []   # self (and a tensor other): zero gradients

    def promoted(a: Any, b: Any) -> D.dtype:
        """The operands' promoted dtype, after torch's parser's range check of a Python int; where they do not
        promote, torch's broadcasting error comes first."""
        if type(b) is int:
            scalar_range(b)
        elif type(a) is int:
            scalar_range(a)
        try:
            return binary_dtype(a, b)
        except RuntimeError:
            broadcast_shapes(_shape(a), _shape(b))
            raise

    def dtypes(a: Any, b: Any, params: tuple, dst: Any = None) -> tuple[D.dtype, D.dtype]:
        """(compute, result) dtypes, raising torch's errors in its order: an op's own dtype message, the
        cast to the destination (``out=`` or self) dtype, the kernel's dtype message, value checks."""
        ct = promoted(a, b)
        cp, rt = kind(ct)
        if denied and ct in denied and _early(denied, ct):
            raise_denied(denied[ct], ct)
        if kind is _k_bool and ct.is_complex and _isinstance(dst, Tensor) and dst._dtype is not D.bool and \
                not dst._dtype.is_complex and _COMPLEX_CAST_WARNING:   # (torch casts through the complex dtype)
            warn(_COMPLEX_CAST_WARNING.pop(), UserWarning, stacklevel=3)
        if _isinstance(dst, Tensor) and not D.can_cast(rt, dst._dtype):
            if cast_name is not None and dst._dtype.category < 2:
                raise RuntimeError(f"{cast_name} can't be cast to the desired output type "
                                   f"{dst._dtype._short}")
            broadcast_shapes(_shape(a), _shape(b))   # shapes that don't broadcast fail first
            raise cast_error(rt, dst._dtype)
        if denied and ct in denied:
            broadcast_shapes(_shape(a), _shape(b))
            raise_denied(denied[ct], ct)
        if ct.few and (ct.kind or cp is ct):   # (uint16/32/64: the kernels computing in them)
            _binary_kernel(name, ct, a, b)
            cp = _FEW_COMPUTE.get(cp, cp)
        if check is not None:
            check(a, b, ct, *params)
        return cp, rt

    # ops with no dtype rule beyond promotion skip the checks on the hot path
    plain = kind is _k_same and not denied and check is None and cast_name is None

    arg_a, arg_b = names or ("input", "other")   # the operands' names in torch's errors
    takes = _arity(forward, 2)

    def op(input: Any, other: Any, *params: Any, out: Tensor | None = None) -> Tensor:
        if params and takes is not None and len(params) > takes:
            raise _arity_error(name, 2 + takes, 2 + len(params))
        a, b = input, other
        ta = _isinstance(a, Tensor)
        tb = _isinstance(b, Tensor)
        if ta:
            if name == "mul" and out is None and (a._sparse_layout or tb and b._sparse_layout):
                return a.mul(b) if a._sparse_layout else b.mul(a)   # a sparse product: ember.sparse
            like = a
            if tb:
                if b._device is not a._device:
                    check_same_device(a, b)
                    if a._device is CPU:   # a 0-d CPU tensor meets a tensor on another device: that device
                        like = b
            elif type(b) not in _SCALARS or not scalar_b:
                b = _scalar_operand(b, name, arg_b, 2, scalar_b)
        elif tb:
            like = b
            a = _scalar_operand(a, name, arg_a, 1, scalar_a)
        elif scalar_pair and type(a) in _SCALARS:
            a = like = _finish(np.asarray(a), D.scalar_dtype(a), CPU)
            b = _scalar_operand(b, name, arg_b, 2, True)
            ta = True
        else:
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(a).__name__}")
        if precheck is not None:
            if type(b) is int:   # (torch's parser converts the number first)
                scalar_range(b)
            precheck(a, b)
        if out is not None and _isinstance(out, Tensor):
            if out_grad == "autograd":
                check_out_grad(out_op, out, a, b)
            elif out_grad == "fallback":
                check_out_grad(f"aten::{name}", out)
            if denied:   # an op's own dtype message comes first (after torch's parser's)
                ct = promoted(a, b)
                if ct in denied and _early(denied, ct):
                    raise_denied(denied[ct], ct)
            _check_out(out, a, b)
        if plain and out is None:
            if ta and tb and a._dtype is b._dtype:
                cp = rt = a._dtype
            else:
                try:
                    cp = rt = binary_dtype(a, b)
                except RuntimeError:   # (no promotion: torch's broadcasting error first)
                    broadcast_shapes(_shape(a), _shape(b))
                    raise
            if cp.few:
                _binary_kernel(name, cp, a, b)
                cp = _FEW_COMPUTE.get(cp, cp)
        else:
            cp, rt = dtypes(a, b, params, out)
        if complex_via is not None and cp.is_complex:
            return complex_via(input, other, 1, out=out)
        dev = like._device
        cpn = cp.np
        xa = a._data if ta and a._data.dtype is cpn and a._device is dev else _array(a, like, cp)
        xb = b._data if tb and b._data.dtype is cpn and b._device is dev else _array(b, like, cp)
        if opmath_scalars and cpn in _HALF_NP and ("a" in opmath_scalars if not ta else
                                                   not tb or _cpu_scalar(b, a)):
            xa, xb = (xa.astype(np.float32), np.float32(b._data if tb else b)) if ta else \
                (np.float32(a), xb.astype(np.float32))
        try:
            if np_fn is not None and dev is CPU:
                r = np_fn(xa, xb)
            else:
                xp = _xp(like)
                if np_fn is None:   # custom forwards see scalars as 0-d arrays of the compute dtype
                    xa, xb = _scalar_array(xp, xa, cp), _scalar_array(xp, xb, cp)
                if np_fn is None and xa.ndim == 0 and xb.ndim == 0:   # NumPy gives 0-d results as scalars,
                    r = fwd(xp, xa.reshape(1), xb.reshape(1), *params).reshape(())   # which refuse out=
                else:
                    r = fwd(xp, xa, xb, *params)
        except ValueError:
            raise broadcast_error(_shape(a), _shape(b)) from None
        if ta and getattr(xa, "ndim", 0) > 1 and not xa.flags.c_contiguous:   # (a 0-d CPU operand: a number)
            r = follow_first(r, xa, _xp(like))
        res = from_array(r, rt, dev) if type(r) is np.ndarray and r.dtype is rt.np else _finish(r, rt, dev)
        if grad is not None and ((ta and a._rg) or (tb and b._rg)) and STATE.enabled:
            node = fixed_cls() if fixed_cls is not None else node_for(a, b)
            record(res, node, (a, b))
            if cross:   # an operand only for the other's gradient: saved when the other requires grad
                node.save(a if sa or (tb and b._rg) else None, b if sb or (ta and a._rg) else None, None)
            else:
                node.save(a if sa else None, b if sb else None,
                          SavedOutput(res) if sr or (sr_b and tb and b._rg) else None)
            if params:
                node.params = params
        if out is not None:
            return write_out(out, res, name, grad_check=out_grad == "autograd")
        return res

    def op_(self: Tensor, other: Any, *params: Any) -> Tensor:
        if params and takes is not None and len(params) > takes:
            raise _arity_error(name + "_", 2 + takes, 2 + len(params))
        tb = _isinstance(other, Tensor)
        if not tb:   # the argument's type first, then autograd's checks, the kernel's (cast, overlap, shape)
            other = _scalar_operand(other, name + "_", arg_b, 1, scalar_b)   # (a method: self not counted)
        recording = (self._rg or (tb and other._rg)) and STATE.enabled
        if recording or _INFERENCE[0]:
            check_inplace(self)
        if precheck is not None:
            precheck(self, other)
        if cast_name is not None and self._dtype.category < 2:
            dtypes(self, other, params, self)
        _check_written(self)
        if tb:
            if other._data.shape != self._data.shape:
                _check_inplace_shape(self._data.shape, other._data.shape)
            if other._device is not self._device:
                check_same_device(self, other)
        if recording:
            dtypes(self, other, params, self)   # (the cast to self's dtype checked before the kernel's, as unrecorded)
            alias = history_alias(self)
            res = op(alias, other, *params)
            if comparison:   # the 0/1 values in self's dtype, under a node of zero gradients
                res = from_array(res._data.astype(self._dtype.np), self._dtype, self._device)
                record(res, compared[tb](), (alias, other) if tb else (alias,))   # (a number is no input)
            return inplace(self, res)
        dt = self._dtype
        if plain and tb and other._dtype is dt:
            cp = rt = dt
            if dt.few:
                few_kernels(name, dt, _is_scalar(self) or _is_scalar(other))
                cp = _FEW_COMPUTE.get(cp, cp)
        else:
            cp, rt = dtypes(self, other, params, self)
        if complex_via is not None and cp.is_complex:
            return complex_via._inplace(self, other, 1)
        xb = other._data if tb and other._device is self._device and other._data.dtype is cp.np else \
            _array(other, self, cp)
        try:
            if opmath_scalars and cp.np in _HALF_NP and (not tb or _cpu_scalar(other, self)):
                return _store(self, fwd(_xp(self), self._data.astype(np.float32),
                                        np.float32(other._data if tb else other), *params))
            if np_fn is not None and self._device is CPU and cp is dt and rt is dt:
                np_fn(self._data, xb, out=self._data)
            else:
                xp = _xp(self)
                xa = self._data if cp is dt else self._data.astype(cp.np)
                return _store(self, fwd(xp, xa, _scalar_array(xp, xb, cp) if np_fn is None else xb, *params))
        except ValueError as e:
            if "read-only" in str(e):
                if not self._data.size:   # an empty expanded self: nothing to write, still a write
                    self._vc[0] += 1
                    return self
                raise _overlap_error() from None
            raise _shape_error(self._data.shape, broadcast_shapes(self._data.shape, _shape(other))) from None
        self._vc[0] += 1
        return self

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` with broadcasting, as ``torch.{name}``."
    op_.__name__ = op_.__qualname__ = name + "_"
    op._inplace = torch_names(op_, ("input",))  # type: ignore[attr-defined]  # torch.<name>_(input=)
    if method:
        bind({name: op, **({name + "_": op_} if inplace_method else {})})
    return torch_names(op, names)


# ---- add / sub / mul -----------------------------------------------------------------------------------
def _no_bool_sub(a: Any, b: Any) -> None:
    bool_a = a._dtype is D.bool if _isinstance(a, Tensor) else type(a) is bool
    bool_b = b._dtype is D.bool if _isinstance(b, Tensor) else type(b) is bool
    if bool_a and bool_b:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
                           "`^` or `logical_xor()` operator instead.")
    if bool_a or bool_b:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def _checked_number(value: Any, dt: D.dtype) -> Any:
    """A real Python number converted to ``dt`` as torch's kernels take their Scalar arguments (checked: its
    overflow errors; negative ints wrap into unsigned types)."""
    if type(value) is int:
        scalar_for(value, dt)   # beyond int64/uint64: OverflowError
    return D.checked_scalar(dt, value, half_range=True)


def _alpha_check(dt: D.dtype, alpha: Any) -> None:
    """torch's rules for the ``alpha`` multiplier of add/sub (a real one must fit the result dtype)."""
    if type(alpha) is bool or _isinstance(alpha, np.bool_):
        if dt is not D.bool:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    elif _isinstance(alpha, (float, np.floating, _py_complex, np.complexfloating)) and dt.category < 2:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point "
                           "number.")
    elif _isinstance(alpha, (_py_complex, np.complexfloating)) and not dt.is_complex:
        raise RuntimeError("For non-complex input tensors, argument alpha must not be a complex number.")
    elif dt in _COMPLEX_PART_MAX:   # each part must fit the complex type's real type
        if not builtins.all(builtins.abs(p) <= _COMPLEX_PART_MAX[dt] or not math.isfinite(p)
                            for p in (_py_complex(alpha).real, _py_complex(alpha).imag)):
            raise RuntimeError(f"value cannot be converted to type {D.CPP_NAMES[dt]} "
                               "without overflow")
    elif not dt.is_complex and not dt.kind:
        _checked_number(alpha.item() if _isinstance(alpha, np.generic) else alpha, dt)


_COMPLEX_PART_MAX = {D.complex64: 3.4028234663852886e38, D.complex32: 65504.0}


def _scaled_check(a: Any, b: Any, dt: D.dtype, alpha: Any) -> None:
    try:
        _alpha_check(dt, alpha)
    except RuntimeError:
        broadcast_shapes(_shape(a), _shape(b))   # torch checks alpha once the shapes broadcast
        raise


def _times_alpha(xp: Any, x: Any, alpha: Any) -> Any:
    """``x * alpha``, an integer alpha wrapped into ``x``'s integer dtype as torch converts it."""
    if type(alpha) is int and x.dtype.kind in "iu":
        alpha = xp.asarray(alpha).astype(x.dtype)
    return xp.multiply(x, alpha)


_FMA_BLOCK = 1 << 15   # elements per block of a large fused multiply-add (its temporaries stay in cache)


def _fma(xp: Any, x: Any, y: Any, z: Any) -> Any:
    """``x*y + z`` rounded once, as torch's vectorised kernels (fmadd), for real floats of ``z``'s dtype (16-bit
    ones given as float32, their opmath type, and rounded back at the end). Large C-contiguous ``x`` and ``z`` of
    one shape with a number ``y`` go a cache-sized block at a time, the blocks split over the intra-op threads
    (float32 ones through two float64 scratch blocks per thread: no temporaries)."""
    if xp is np and np.ndim(y) == 0 and getattr(x, "shape", None) == z.shape and z.size > 2 * _FMA_BLOCK and \
            x.flags.c_contiguous and z.flags.c_contiguous and x.dtype == z.dtype:
        out = np.empty(z.shape, z.dtype)
        xf, zf, of = x.reshape(-1), z.reshape(-1), out.reshape(-1)
        single = z.dtype == np.float32

        def part(lo: int, hi: int) -> None:
            if single:
                product, addend = np.empty(_FMA_BLOCK, np.float64), np.empty(_FMA_BLOCK, np.float64)
            for i in range(lo * _FMA_BLOCK, min(hi * _FMA_BLOCK, z.size), _FMA_BLOCK):
                j = min(i + _FMA_BLOCK, z.size)
                if single:   # the product is exact in float64; the sum is rounded there, then to float32
                    p, q = product[: j - i], addend[: j - i]
                    np.multiply(xf[i:j], y, out=p, dtype=np.float64)
                    q[...] = zf[i:j]
                    p += q
                    of[i:j] = p
                else:
                    of[i:j] = _fma(xp, xf[i:j], y, zf[i:j])

        split_rows(xp, -(-z.size // _FMA_BLOCK), _FMA_BLOCK, part)
        return out
    dtype = z.dtype
    if dtype == np.float64:
        shape = np.broadcast_shapes(xp.shape(x), xp.shape(y), xp.shape(z))
        r = fused_multiply_add(xp.atleast_1d(x), y, xp.atleast_1d(z)).reshape(shape)
        if not xp.isfinite(r).all():   # the emulation's error terms are NaN beside infinities
            r = xp.where(xp.isfinite(r), r, x * y + z)
        return r
    return xp.add(xp.multiply(x, y, dtype=np.float64), z).astype(np.float32)   # the product is exact


def axpy(xp: Any, a: Any, b: Any, alpha: Any) -> Any:
    """``a + alpha * b`` as torch's add kernel: for real floats fused, alpha rounded to the compute type (16-bit
    floats come back as float32 for the caller to round; in the kernel's scalar tail, :func:`_scalar_tail`, the
    product is rounded to the 16-bit type before the sum)."""
    half = a.dtype in _HALF_NP
    if a.dtype.kind != "f" and not half:
        return xp.add(a, _times_alpha(xp, b, alpha))
    if not half:
        return _fma(xp, b, alpha if a.dtype == np.float64 else np.float32(alpha), a)
    dt, alpha = a.dtype, np.float32(a.dtype.type(alpha))   # (alpha is rounded to the 16-bit type first)
    tail = _scalar_tail(xp, a, b)
    a, b = a.astype(np.float32), b.astype(np.float32)
    if tail is None:
        return _fma(xp, b, alpha, a)
    if tail is True:
        return a + (b * alpha).astype(dt).astype(np.float32)
    return np.where(tail, a + (b * alpha).astype(dt).astype(np.float32), _fma(xp, b, alpha, a))


def _scalar_tail(xp: Any, a: Any, b: Any) -> Any:
    """Where torch's 16-bit CPU kernel for ``a op b`` computes in its scalar tail (a mask over the trailing dims): in
    each innermost loop of its iterator (the trailing dims across which every operand's strides run on; size-1
    dims skipped), those past the last whole step of its vector loop, 32 elements on AVX2 and AVX512 (as on one
    thread: torch's threads split loops of 32768 elements and more further). True for all of them, None for none
    or when an operand is not C-contiguous (torch's iterator would reorder the dims)."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    numel = math.prod(shape)
    if xp is not np or not (a.flags.c_contiguous and b.flags.c_contiguous) or not numel:
        return None
    strides = [[s // x.itemsize for s in np.broadcast_to(x, shape).strides] for x in (a, b)]
    inner, prev = 1, None
    for d in reversed(range(len(shape))):
        if shape[d] == 1:
            continue
        if prev is not None and any(st[d] != st[prev] * shape[prev] for st in strides):
            break
        inner, prev = inner * shape[d], d
    start = inner // 32 * 32
    if start == inner:
        return None
    if start == 0:
        return True
    return (np.arange(inner) >= start).reshape(shape[prev:])


def _scaled(xp_name: str) -> Callable:
    def fwd(xp: Any, a: Any, b: Any, alpha: Any) -> Any:
        dtype = a.dtype
        r = axpy(xp, a, b, alpha if xp_name == "add" else -alpha)
        return r.astype(dtype) if dtype in _HALF_NP else r
    return fwd


_add_alpha = binary("add", _scaled("add"), lambda g, a, b, r, alpha: (g, g * _c(alpha)), saves="",
                    check=_scaled_check, method=False, scalar_pair=True)
_add = binary("add", "add", lambda g, a, b, r: (g, g), saves="", method=False, scalar_pair=True,
              complex_via=_add_alpha)
_sub_alpha = binary("sub", _scaled("subtract"), lambda g, a, b, r, alpha: (g, -g * _c(alpha)), saves="",
                    precheck=_no_bool_sub, check=_scaled_check, method=False, scalar_pair=True)
_sub = binary("sub", "subtract", lambda g, a, b, r: (g, -g), saves="", precheck=_no_bool_sub, method=False,
              scalar_pair=True, complex_via=_sub_alpha)
mul = binary("mul", "multiply", lambda g, a, b, r: (g * _c(b) if b is not None else None,
                                                    g * _c(a) if a is not None else None), saves="x",
             scalar_pair=True, opmath_scalars="ab")
multiply = mul


def sparse_operand(x: Any) -> bool:
    """Whether ``x`` is a sparse tensor of any layout (COO or compressed), whose ops live in ``ember.sparse``."""
    return type(x) is not Tensor and _isinstance(x, Tensor) and x._sparse_layout


def add(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """``input + alpha * other`` with broadcasting and promotion (dense + sparse gives a dense result)."""
    if out is None and (sparse_operand(input) or sparse_operand(other)):
        from ..sparse._coo import add_dense_sparse
        return input.add(other, alpha=alpha) if sparse_operand(input) else add_dense_sparse(input, other, alpha)
    if alpha == 1 and type(alpha) is int:
        return _add(input, other, out=out)
    return _add_alpha(input, other, alpha, out=out)


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """``input - alpha * other``."""
    if alpha == 1 and type(alpha) is int:
        return _sub(input, other, out=out)
    return _sub_alpha(input, other, alpha, out=out)


def add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    if alpha == 1 and type(alpha) is int:
        return _add._inplace(self, other)  # type: ignore[attr-defined]
    return _add_alpha._inplace(self, other, alpha)  # type: ignore[attr-defined]


def sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    if alpha == 1 and type(alpha) is int:
        return _sub._inplace(self, other)  # type: ignore[attr-defined]
    return _sub_alpha._inplace(self, other, alpha)  # type: ignore[attr-defined]


subtract, subtract_ = sub, sub_


def _rsub_fwd(xp: Any, a: Any, b: Any, alpha: Any) -> Any:
    """``b - alpha * a`` (torch's sub(b, a, alpha))."""
    dtype = b.dtype
    r = axpy(xp, b, a, -alpha)
    return r.astype(dtype) if dtype in _HALF_NP else r


_rsub = binary("rsub", _rsub_fwd, lambda g, a, b, r, alpha: (-g * _c(alpha), g), saves="",
               precheck=_no_bool_sub, check=_scaled_check, scalars="b", method=False,
               grad_name=lambda a, b: "RsubBackward0" if _isinstance(b, Tensor) else "RsubBackward1")


_rsub1 = binary("rsub", "subtract", lambda g, a, b, r: (-g, g), saves="", precheck=_no_bool_sub, scalars="b",
                method=False, reflected=True, complex_via=_rsub,
                grad_name=lambda a, b: "RsubBackward0" if _isinstance(b, Tensor) else "RsubBackward1")


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``."""
    if alpha == 1 and type(alpha) is int:
        return _rsub1(input, other)
    return _rsub(input, other, alpha)


# ---- division ------------------------------------------------------------------------------------------
def _zero_div_check(a: Any, b: Any, dt: D.dtype, *params: Any) -> None:
    """Integer division or remainder by zero raises in torch (floats give inf/nan) when its kernel runs: an
    empty result computes nothing, and shapes that don't broadcast fail first."""
    if dt.category < 2 and (bool((_divisor(b, dt) == 0).any()) if _isinstance(b, Tensor) else
                            scalar_for(b, dt) == 0) and math.prod(broadcast_shapes(_shape(a), _shape(b))):
        raise RuntimeError("ZeroDivisionError")


def _divisor(b: Tensor, dt: D.dtype) -> Any:
    """A divisor tensor's values in the compute dtype (a wider 0-d one wraps: int32 -2**31 is uint8 0)."""
    return b._data if b._dtype is dt else b._data.astype(dt.np)


def _div_grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
    """(``a`` is saved only when ``b`` requires grad; the engine drops a gradient ``a`` does not need.)"""
    gb = -g * _c(a / b / b) if a is not None else None    # torch's order: b*b would round differently
    return g / _c(b), gb


true_divide = binary("true_divide", "true_divide", _div_grad, kind=_k_float, grad_name="DivBackward0",
                     saves="xb", scalar_pair=True, opmath_scalars="ab")


def _kind(a: Any, b: Any) -> str:
    """The dtype kind of a binary forward's operands (at least one is an array)."""
    return (a if hasattr(a, "dtype") else b).dtype.kind


def _floordiv(xp: Any, a: Any, b: Any) -> Any:
    if xp is np and a.dtype in _HALF_NP and b.dtype == a.dtype and b.size > 1:
        return _floordiv_half(a, b)
    return xp.floor_divide(a, b)


def _floordiv_half(a: Any, b: Any) -> Any:
    """Python's floor division of 16-bit floats by a divisor of several elements as torch's CPU kernel: its
    steps (remainder, quotient, corrections) each rounded to the type (NumPy's 16-bit arithmetic rounds so);
    a single-element divisor takes its float32 path instead (NumPy's floor_divide, rounded once)."""
    one, half = a.dtype.type(1), a.dtype.type(0.5)
    with np.errstate(all="ignore"):
        mod = np.fmod(a, b)
        div = (a - mod) / b
        div = np.where((mod != 0) & ((b < 0) != (mod < 0)), div - one, div)
        floor = np.floor(div)
        floor = np.where(div - floor > half, floor + one, floor)
        return np.where(b == 0, a / b, np.where(div != 0, floor, np.copysign(a.dtype.type(0), a / b)))


def _truncdiv(xp: Any, a: Any, b: Any) -> Any:
    if _kind(a, b) in "iu":
        q = xp.floor_divide(a, b)
        fix = (xp.remainder(a, b) != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0))
        return q + fix.astype(q.dtype)
    if a.dtype in _HALF_NP and getattr(b, "size", 1) == 1:   # torch's single-element divisor: float32, rounded once
        return xp.trunc(xp.true_divide(a, b, dtype=np.float32))
    return xp.trunc(xp.true_divide(a, b))


def _zero_grads(g: Tensor, *args: Any) -> tuple:
    """Piecewise-constant ops: zero gradients (the engine drops those of scalar operands)."""
    zero = zeros_like(g)   # not g * 0: an inf or NaN upstream gradient gives 0 as in torch
    return zero, zero


_DIV_DENY = {"c": ni("div_floor_cpu"), "b": ni("div_floor_cpu")}
floor_divide = binary("floor_divide", _floordiv, no_derivative("floor_divide"), deny=_DIV_DENY, out_grad="fallback",
                      check=_zero_div_check, saves="", grad_name="NotImplemented", scalar_pair=True,
                      opmath_scalars="b")
_floor_div = floor_divide
_div_floor = binary("div", _floordiv, _zero_grads, deny=_DIV_DENY, check=_zero_div_check, saves="",
                    grad_name="DivBackward2", method=False, scalar_pair=True, opmath_scalars="b")
_div_trunc = binary("div", _truncdiv, _zero_grads, deny={"c": ni("div_trunc_cpu"), "b": ni("div_trunc_cpu")},
                    check=_zero_div_check, saves="", grad_name="DivBackward2", method=False, scalar_pair=True,
                    opmath_scalars="b")
_DIV_MODES = {None: true_divide, "floor": _div_floor, "trunc": _div_trunc}


def _div_mode(rounding_mode: str | None) -> Callable:
    op = _DIV_MODES.get(rounding_mode)
    if op is None:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    return op


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """``input / other``; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient (integer results stay
    integer)."""
    if rounding_mode is None:
        return true_divide(input, other, out=out)
    return _div_mode(rounding_mode)(input, other, out=out)


def div_(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    return _div_mode(rounding_mode)._inplace(self, other)  # type: ignore[attr-defined]


divide, divide_ = div, div_
true_divide_ = true_divide._inplace  # type: ignore[attr-defined]


def _remainder_grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
    if not _isinstance(a, Tensor):
        raise RuntimeError("derivative for aten::remainder is not implemented")
    return (g if _rg(a) else None, -g * (a / b).floor() if _rg(b) else None)


def _fmod_grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
    return (g if _rg(a) else None, -g * (a / b).trunc() if _rg(b) else None)


def _variant_name(op: str) -> Callable:
    """grad_fn names of ops whose second operand may be a scalar: ``<Op>Backward0`` for a scalar,
    ``<Op>Backward1`` for a tensor (torch's Scalar/Tensor overloads)."""
    def name(a: Any, b: Any) -> str:
        if not _isinstance(a, Tensor):
            return "NotImplemented"
        return f"{op}Backward1" if _isinstance(b, Tensor) else f"{op}Backward0"
    return name


def _remainder_fwd(xp: Any, a: Any, b: Any) -> Any:
    """Python's modulo, except that a float zero takes the dividend's sign as torch's (fmod's, where NumPy
    gives the divisor's)."""
    r = xp.remainder(a, b)
    if r.dtype.kind == "f" or r.dtype in _HALF_NP:
        if xp.count_nonzero(r) < r.size:   # (the zeros are rare: one cheap count first)
            r = xp.where(r == 0, xp.copysign(r, a), r)
    return r


remainder = binary("remainder", _remainder_fwd, _remainder_grad, deny={"b": ni("remainder_cpu"),
                   "c": ni("remainder_cpu")}, check=_zero_div_check, grad_name=_variant_name("Remainder"))
fmod = binary("fmod", "fmod", _fmod_grad, deny={"b": ni("fmod_cpu"), "c": ni("fmod_cpu")},
              check=_zero_div_check, grad_name=_variant_name("Fmod"), scalars="b")


# ---- pow ----------------------------------------------------------------------------------------------
def _pow_precheck(a: Any, b: Any) -> None:
    """torch's Scalar-exponent checks, made before overlap, shape and dtype checks: its parser's (an int no
    Scalar holds), then an integer (or bool) base's: the exponent as an int64, not negative."""
    if type(b) is int and _isinstance(a, Tensor) and a._dtype.category < 2:
        scalar_range(b)
        if b < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if b >= 1 << 63:
            raise RuntimeError("value cannot be converted to type int64_t without overflow")


def _pow_check(a: Any, b: Any, dt: D.dtype, *params: Any) -> None:
    if dt is D.bool and _isinstance(b, Tensor):
        raise_denied(ni("pow"), dt)
    if type(b) is int and dt in _C_TYPES and not _fits(b, dt):
        raise RuntimeError(f"value cannot be converted to type {_C_TYPES[dt]} without overflow")
    if type(b) is float and dt.np in _HALF_NP:   # a float exponent converts to a 16-bit float type, checked
        D.checked_scalar(dt, b, half_range=True)


_C_TYPES = {D.uint8: "uint8_t", D.int8: "int8_t", D.int16: "int16_t", D.int32: "int", D.float16: "c10::Half",
            D.bfloat16: "c10::BFloat16", D.float32: "float"}


def _fits(value: int, dt: D.dtype) -> bool:
    """Whether a Python int is within the range of ``dt`` (torch checks scalar exponents)."""
    info = D.iinfo(dt) if dt.category == 1 else D.finfo(dt)
    return info.min <= value <= info.max


def _cpow(xp: Any, a: Any, b: Any, number: bool) -> Any:
    """Complex powers as torch's kernels: a number exponent 0, 1, 2, 3, 0.5, -0.5, -1 or -2 as ones, a copy,
    products, a square root and reciprocals; anything else exp(b * log(a)) (NumPy multiplies out small
    integer powers, which treats infinities and zeros differently)."""
    if number:
        e = b.item()
        if e in (0, 1, 2, 3):
            return xp.ones_like(a) if e == 0 else a.copy() if e == 1 else a * a if e == 2 else a * a * a
        if e in (0.5, -0.5):
            return xp.sqrt(a) if e == 0.5 else _recip(xp, xp.sqrt(a))
        if e in (-1, -2):
            return _recip(xp, a if e == -1 else a * a)
    with np.errstate(all="ignore"):
        return xp.exp(b * xp.log(a))


def _power_via_double(a: Any, b: Any) -> Any:
    """``a ** b`` on NumPy arrays; small float32 ones through double (see :func:`via_double`: torch's Sleef powf
    is correctly rounded for ~98% of inputs, NumPy's float32 power for ~89%)."""
    if a.dtype == _F32 and getattr(b, "dtype", None) == _F32 and max(a.size, b.size) <= _VIA_DOUBLE_MAX:
        return np.power(a, b, dtype=np.float64).astype(_F32)
    return np.power(a, b)


def _pow_fwd(xp: Any, a: Any, b: Any, number: bool = False) -> Any:
    if _kind(a, b) == "c":
        return _cpow(xp, a, b, number)
    if b.ndim == 0 and a.dtype.kind not in "biuc" and b.item() in (3, -2, -0.5):
        # torch's kernel takes these real exponents as products and a reciprocal square root, float16 (and
        # bfloat16's rsqrt) computed in float32 and rounded once, bfloat16's products rounded at each step
        w = a.astype(np.float32) if a.itemsize == 2 and (a.dtype == np.float16 or b == -0.5) else a
        r = w * w * w if b == 3 else xp.reciprocal(w * w) if b == -2 else xp.reciprocal(xp.sqrt(w))
        return r.astype(a.dtype, copy=False)
    if _kind(a, b) not in "iu" or not hasattr(b, "dtype") or not bool((b < 0).any()):
        return _power_via_double(a, b) if xp is np else xp.power(a, b)
    # integer tensor exponents may be negative: 1 ** -n = 1, (-1) ** -n = ±1, anything else → 0
    neg = b < 0
    r = xp.power(a, xp.where(neg, 0, b))
    sign = xp.where(b % 2 == 0, 1, -1).astype(r.dtype)
    special = xp.where(a == 1, 1, xp.where(a == -1, sign, 0)).astype(r.dtype)
    return xp.where(neg, special, r)


def _pow_grad(g: Tensor, a: Any, b: Any, r: Any, number: bool = False) -> tuple:
    ga = gb = None
    if _rg(a):
        if _isinstance(b, Tensor):
            ga = (g * _c(b * a ** (b - 1))).masked_fill(b == 0, 0)
        else:
            ga = zeros_like(g) if b == 0 else g * _c(b * a ** (b - 1))
    if _rg(b):
        # d/db a**b = a**b log(a), taken as 0 where a == 0 and b >= 0 (torch's convention)
        if _isinstance(a, Tensor):
            gb = (g * _c(r * log(a))).masked_fill((a == 0) & (real(b) >= 0), 0)
        else:
            log_a = cmath.log(a) if type(a) is _py_complex else math.log(a) if a > 0 else \
                -math.inf if a == 0 else math.nan
            gb = g * _c(r * log_a)
            if a == 0:
                gb = gb.masked_fill(real(b) >= 0, 0)
    return ga, gb


def _pow_name(a: Any, b: Any) -> str:
    if not _isinstance(a, Tensor):
        return "PowBackward2"
    return "PowBackward1" if _isinstance(b, Tensor) else "PowBackward0"


_pow = binary("pow", _pow_fwd, _pow_grad, check=_pow_check, saves="abR", grad_name=_pow_name, method=False)


def pow(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:
    """``input ** exponent`` (torch's names for the operands); a number exponent takes torch's Scalar kernel."""
    if out is None and sparse_operand(input):
        return input.pow(exponent)
    _pow_precheck(input, exponent)
    return _pow(input, exponent, not _isinstance(exponent, Tensor), out=out)


def pow_(self: Tensor, exponent: Any) -> Tensor:
    if sparse_operand(self):
        return self.pow_(exponent)
    _pow_precheck(self, exponent)
    return _pow._inplace(self, exponent, not _isinstance(exponent, Tensor))  # type: ignore[attr-defined]


pow._inplace = pow_  # type: ignore[attr-defined]
bind({"pow": pow, "pow_": pow_})


def float_power(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:
    """``input ** exponent`` computed in double precision (complex128 when either is complex)."""
    dt = _double_of(input, exponent)
    if _isinstance(out, Tensor) and out._dtype is not dt:
        raise RuntimeError(f"the output given to float_power has dtype {out._dtype._short} but the "
                           f"operation's result requires dtype {dt._short}")
    return pow(_to_double(input, dt), _to_double(exponent, dt), out=out)


def _double_of(*xs: Any) -> D.dtype:
    """float_power's dtype: complex128 if any operand is complex, else float64."""
    cplx = builtins.any(x._dtype.is_complex if _isinstance(x, Tensor) else type(x) is _py_complex for x in xs)
    return D.complex128 if cplx else D.float64


def _to_double(x: Any, dt: D.dtype) -> Any:
    if _isinstance(x, Tensor):
        return x if x._dtype is dt else x.to(dt)
    return _py_complex(x) if dt.is_complex else float(x)


def float_power_(self: Tensor, exponent: Any) -> Tensor:
    dt = _double_of(self, exponent)
    if self._dtype is not dt:
        raise RuntimeError(f"the base given to float_power_ has dtype {self._dtype._short} but the "
                           f"operation's result requires dtype {dt._short}")
    return pow._inplace(self, _to_double(exponent, dt))  # type: ignore[attr-defined]


def square(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input ** 2`` (bool becomes int64, as in torch)."""
    return pow(input, 2, out=out)


def square_(input: Tensor) -> Tensor:
    return pow._inplace(input, 2)  # type: ignore[attr-defined]


def _ldexp_fwd(xp: Any, a: Any, b: Any, power: Any) -> Any:
    """``a * power`` (``power``: 2**other as torch computes it, see :func:`_powers_of_two`); None: an integer
    exponent scaling a real ``a`` exactly as torch's kernel (std::ldexp: no power of two to overflow or
    underflow on the way, so -inf stays -inf and tiny values come back)."""
    if power is None:
        return xp.ldexp(a, xp.clip(b, -(1 << 14), 1 << 14).astype(np.int32))
    return a * (power.astype(a.dtype) if a.dtype.kind == "c" else power)


def _powers_of_two(other: Tensor) -> Any:
    """``2 ** other`` as torch's ldexp takes it (pow(2., other)): in other's own dtype (integers: the default
    float dtype), 16-bit floats computed in float32 and rounded; complex as exp(other * log(2))."""
    dt = other._dtype if other._dtype.category >= 2 else D.get_default_dtype()
    xp, x = _xp(other), other._data
    if dt.is_complex:
        return _cpow(xp, xp.asarray(2, dt.np), x.astype(dt.np), False)
    return xp.exp2(x.astype(np.float32 if dt.itemsize < 4 else dt.np)).astype(dt.np)


def _ldexp_check(a: Tensor, b: Tensor, dt: D.dtype, power: Any) -> None:
    if b._dtype is D.bool and a._dtype.is_floating_point:
        broadcast_shapes(_shape(a), _shape(b))   # (shapes first)
        raise_denied(ni("ldexp_cpu_exp"), D.bool)


_ldexp = binary("ldexp", _ldexp_fwd, lambda g, a, b, r, power: (g * _c(exp2(b)) if _rg(a) else None,
                                                                g * _c(a * exp2(b) * _LN2) if _rg(b) else None),
                kind=_k_float, scalars="", check=_ldexp_check, cast_name="ldexp", method=False)


def _ldexp_power(input: Any, other: Any) -> Any:
    """None where torch's exact kernel applies (a floating ``input``, an integer exponent), else the powers of
    two it multiplies by."""
    if not _isinstance(other, Tensor) or other._dtype is D.bool and _isinstance(input, Tensor) and \
            input._dtype.category == 2:
        return None   # (binary's checks refuse these)
    if other._dtype.category < 2 and _isinstance(input, Tensor) and input._dtype.category == 2:
        return None
    return _powers_of_two(other)


def ldexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input * 2**other``, exact for a floating ``input`` and an integer ``other``."""
    return _ldexp(input, other, _ldexp_power(input, other), out=out)


def ldexp_(input: Tensor, other: Tensor) -> Tensor:
    return _ldexp._inplace(input, other, _ldexp_power(input, other))  # type: ignore[attr-defined]


bind({"ldexp": ldexp, "ldexp_": ldexp_})


# ---- min / max family --------------------------------------------------------------------------------
def _maximum_grad(greater: bool) -> Callable:
    """torch: ties split the gradient in half; the losing side gets zero (NaNs reach both sides)."""
    def grad(g: Tensor, a: Tensor, b: Tensor, r: Any) -> tuple:
        half = _where(a == b, g / 2, g)
        lose_a, lose_b = (a < b, a > b) if greater else (a > b, a < b)
        return (half.masked_fill(lose_a, 0) if _rg(a) else None,
                half.masked_fill(lose_b, 0) if _rg(b) else None)
    return grad


def _fmax_grad(greater: bool) -> Callable:
    def grad(g: Tensor, a: Tensor, b: Tensor, r: Any) -> tuple:
        pick_a = ((a >= b) if greater else (a <= b)) | b.isnan()
        return (g.masked_fill(~pick_a, 0) if _rg(a) else None, g.masked_fill(pick_a, 0) if _rg(b) else None)
    return grad


def _no_complex(msg: str) -> dict[str, Denial]:
    return {"c": (RuntimeError, msg)}


# (torch's Tensor has no in-place maximum_/minimum_/fmax_/fmin_)
maximum = binary("maximum", "maximum", _maximum_grad(True), scalars="", inplace_method=False,
                 deny=_no_complex("maximum not implemented for complex tensors."))
minimum = binary("minimum", "minimum", _maximum_grad(False), scalars="", inplace_method=False,
                 deny=_no_complex("minimum not implemented for complex tensors."))
fmax = binary("fmax", "fmax", _fmax_grad(True), scalars="", inplace_method=False,
              deny=_no_complex("fmax not implemented for complex tensors."))
fmin = binary("fmin", "fmin", _fmax_grad(False), scalars="", inplace_method=False,
              deny=_no_complex("fmin not implemented for complex tensors."))


# ---- other binary math ---------------------------------------------------------------------------------
def _atan2_grad(g: Tensor, a: Tensor, b: Tensor, r: Any) -> tuple:
    d = a * a + b * b
    return (g * b / d if _rg(a) else None, -g * a / d if _rg(b) else None)


_ATAN2: dict = {"kind": _k_float, "scalars": "", "deny": {"c": ni("atan2_cpu")},
                "grad_name": "Atan2Backward0"}
atan2 = binary("atan2", "arctan2", _atan2_grad, **_ATAN2)
arctan2 = binary("arctan2", "arctan2", _atan2_grad, **_ATAN2)
hypot = binary("hypot", "hypot",
               lambda g, a, b, r: (g * a / r if _rg(a) else None, g * b / r if _rg(b) else None),
               saves="abr", scalars="", deny={c: ni("hypot_cpu") for c in "bic"})


def _logaddexp_fwd(base2: bool) -> Callable:
    def fwd(xp: Any, a: Any, b: Any) -> Any:
        if a.dtype.kind != "c":
            return (xp.logaddexp2 if base2 else xp.logaddexp)(a, b)
        hi = xp.where(a.real >= b.real, a, b)
        lo = xp.where(a.real >= b.real, b, a)
        both_inf = xp.isinf(hi.real) & (hi == lo)
        return xp.where(both_inf, hi, hi + xp.log1p(xp.exp(lo - hi)))
    return fwd


def _logaddexp_grad(base2: bool) -> Callable:
    def grad(g: Tensor, a: Tensor, b: Tensor, r: Tensor) -> tuple:
        w = (lambda x: exp2(x - r)) if base2 else (lambda x: exp(x - r))
        return (g * _c(w(a)) if _rg(a) else None, g * _c(w(b)) if _rg(b) else None)
    return grad


logaddexp = binary("logaddexp", _logaddexp_fwd(False), _logaddexp_grad(False), saves="abr", scalars="",
                   deny={"b": ni("logaddexp_cpu"), "i": ni("logaddexp_cpu")}, inplace_method=False)
logaddexp2 = binary("logaddexp2", _logaddexp_fwd(True), _logaddexp_grad(True), saves="abr", scalars="",
                    deny={c: ni("logaddexp2_cpu") for c in "bic"}, inplace_method=False)


def _copysign_grad(g: Tensor, a: Tensor, b: Any, r: Tensor) -> tuple:
    ga = g * (r / a).masked_fill(a == 0, 0) if _rg(a) else None
    return ga, zeros_like(g) if _rg(b) else None


copysign = binary("copysign", "copysign", _copysign_grad, kind=_k_float, saves="abr", scalars="b",
                  deny={"c": ni("copysign_cpu")},
                  grad_name=lambda a, b: f"CopysignBackward{0 if _isinstance(b, Tensor) else 1}")
nextafter = binary("nextafter", "nextafter", lambda g, a, b, r: (g.masked_fill(a == b, 0), zeros_like(g)), scalars="",
                   deny={c: ni("nextafter_cpu") for c in "bic"})


def _xlogy_fwd(xp: Any, a: Any, b: Any) -> Any:
    r = xp.multiply(a, xp.log(b))
    return xp.where((xp.asarray(a) == 0) & ~xp.isnan(b), xp.zeros((), r.dtype), r)


def _xlogy_grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
    ga = gb = None
    if _rg(a):
        ga = xlogy(g, b)
        ga = ga.masked_fill((a == 0) & (b <= 0), 0) if _isinstance(b, Tensor) else \
            (ga.masked_fill(a == 0, 0) if b <= 0 else ga)
    if _rg(b):
        gb = g * a / b
    return ga, gb


def _xy_names(op: str) -> Callable:
    def name(a: Any, b: Any) -> str:
        if not _isinstance(a, Tensor):
            return f"{op}Backward1"
        return f"{op}Backward0" if _isinstance(b, Tensor) else f"{op}Backward2"
    return name


xlogy = binary("xlogy", _xlogy_fwd, _xlogy_grad, kind=_k_float, deny={"c": ni("xlogy_cpu")},
               grad_name=_xy_names("Xlogy"))


def _heaviside_check(a: Tensor, b: Any) -> None:
    if a._dtype.is_complex or (_isinstance(b, Tensor) and b._dtype.is_complex):
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if _isinstance(b, Tensor) and a._dtype is not b._dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")


def _heaviside_fwd(xp: Any, a: Any, b: Any) -> Any:
    return xp.where(a == 0, b, (a > 0).astype(a.dtype))


def _heaviside(input: Tensor, values: Tensor, *, out: Tensor | None = None) -> Tensor:
    _tensor_arg(values, "heaviside", "values", 2)
    if _isinstance(out, Tensor) and _isinstance(input, Tensor) and out._dtype is not input._dtype:
        _heaviside_check(input, values if values._dtype.is_complex else out)   # complex operands first
    return _heaviside_op(input, values, out=out)


_heaviside_op = binary("heaviside", _heaviside_fwd, no_derivative("heaviside"), out_grad="fallback",
                       saves="", scalars="", precheck=_heaviside_check, grad_name="NotImplemented",
                       method=False)
heaviside = _heaviside
heaviside_ = torch_names(_heaviside_op._inplace, ("self", "values"))  # type: ignore[attr-defined]
bind({"heaviside": heaviside, "heaviside_": heaviside_})

gcd = binary("gcd", "gcd", None, scalars="", deny={c: ni("gcd_cpu") for c in "bfc"})
def _lcm_fwd(xp: Any, a: Any, b: Any) -> Any:
    """``|a / gcd * b|`` in the operands' integer type as torch's (NumPy's takes |a| and |b| first, which
    overflows differently), 0 where the gcd is 0."""
    g = xp.gcd(a, b)
    zero = g == 0
    r = xp.abs(a // xp.where(zero, 1, g) * b)
    return xp.where(zero, 0, r) if zero.any() else r


lcm = binary("lcm", _lcm_fwd, None, scalars="", deny={c: ni("lcm_cpu") for c in "bfc"})


# ---- bitwise and logical ------------------------------------------------------------------------------
def _int_only(kernel: str, with_bool: bool = True) -> dict[str, Denial]:
    return {c: ni(kernel) for c in ("fc" if with_bool else "bfc")}


def _shift(left: bool) -> Callable:
    """Shifts with torch's rules for counts outside [0, bits): left → 0, right → sign fill."""
    def fwd(xp: Any, a: Any, b: Any) -> Any:
        arr = a if hasattr(a, "dtype") else xp.asarray(a, dtype=b.dtype)
        bits = arr.dtype.itemsize * 8
        count = xp.asarray(b)
        ok = (count >= 0) & (count < bits)
        safe = xp.where(ok, count, 0).astype(arr.dtype)
        if left:
            return xp.where(ok, xp.left_shift(arr, safe), xp.zeros((), arr.dtype))
        fill = xp.where(arr < 0, -1, 0).astype(arr.dtype) if arr.dtype.kind == "i" else \
            xp.zeros((), arr.dtype)
        return xp.where(ok, xp.right_shift(arr, safe), fill)
    return fwd


bitwise_and = binary("bitwise_and", "bitwise_and", None, deny=_int_only("bitwise_and_cpu"))
bitwise_or = binary("bitwise_or", "bitwise_or", None, deny=_int_only("bitwise_or_cpu"))
bitwise_xor = binary("bitwise_xor", "bitwise_xor", None, deny=_int_only("bitwise_xor_cpu"))
bitwise_left_shift = binary("bitwise_left_shift", _shift(True), None, deny=_int_only("lshift_cpu", False))
bitwise_right_shift = binary("bitwise_right_shift", _shift(False), None, deny=_int_only("rshift_cpu", False))


def _logical(fn: str) -> Callable:
    return lambda xp, a, b: getattr(xp, fn)(a, b)


logical_and = binary("logical_and", _logical("logical_and"), None, kind=_k_bool, scalars="")
logical_or = binary("logical_or", _logical("logical_or"), None, kind=_k_bool, scalars="")
logical_xor = binary("logical_xor", _logical("logical_xor"), None, kind=_k_bool, scalars="")

eq = binary("eq", "equal", None, kind=_k_bool, scalars="b", comparison=True)
ne = binary("ne", "not_equal", None, kind=_k_bool, scalars="b", comparison=True)
lt = binary("lt", "less", None, kind=_k_bool, scalars="b", comparison=True, deny={"c": ni("lt_cpu")})
le = binary("le", "less_equal", None, kind=_k_bool, scalars="b", comparison=True, deny={"c": ni("le_cpu")})
gt = binary("gt", "greater", None, kind=_k_bool, scalars="b", comparison=True, deny={"c": ni("gt_cpu")})
ge = binary("ge", "greater_equal", None, kind=_k_bool, scalars="b", comparison=True, deny={"c": ni("ge_cpu")})
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
bind({alias + suffix: getattr(Tensor, name + suffix) for suffix in ("", "_") for alias, name in (
    ("greater", "gt"), ("greater_equal", "ge"), ("less", "lt"), ("less_equal", "le"), ("not_equal", "ne"))})


def _tensor_arg(x: Any, name: str, arg: str, pos: int) -> None:
    if not _isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (equal values, infinities included, are
    close; NaNs only with ``equal_nan``)."""
    _tensor_arg(input, "isclose", "input", 1)
    _tensor_arg(other, "isclose", "other", 2)
    if input._dtype is not other._dtype:
        raise RuntimeError(f"{input._dtype._short} did not match {other._dtype._short}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol:g}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol:g}")
    check_same_device(input, other)
    xp = _xp(input)
    a, b = input._data, other._data
    try:
        close = a == b
    except ValueError:
        raise broadcast_error(a.shape, b.shape) from None
    if equal_nan and input._dtype.category >= 2:
        close = close | (xp.isnan(a) & xp.isnan(b))
    if rtol or atol:
        if input._dtype.category < 2:
            a, b = a.astype(D.get_default_dtype().np), b.astype(D.get_default_dtype().np)
        err = xp.abs(a - b)
        close = close | (xp.isfinite(err) & (err <= atol + xp.abs(rtol * b)))
    return _finish(close, D.bool, input._device)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether every element of ``input`` is close to ``other`` (see :func:`isclose`)."""
    _tensor_arg(input, "allclose", "input", 1)
    _tensor_arg(other, "allclose", "other", 2)
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and equal elements."""
    _tensor_arg(input, "equal", "input", 1)
    _tensor_arg(other, "equal", "other", 2)
    check_same_device(input, other)
    if input._data.shape != other._data.shape:
        return False
    return bool(eq(input, other)._data.all())


# ---- unary math --------------------------------------------------------------------------------------------
def _neg_fwd(xp: Any, a: Any) -> Any:
    return xp.negative(a)


_NEG_BOOL = (RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
             "to invert a mask, use the `~` or `logical_not()` operator instead.")
neg = unary("neg", _neg_fwd, lambda g, x, r: -g, kind=_k_same, saves="", deny={"b": _NEG_BOOL})
negative = neg
bind({"negative": neg, "negative_": neg._inplace})  # type: ignore[attr-defined]
_F8_NP = frozenset(d.np for d in D.FLOAT8_DTYPES)


def _abs_fwd(xp: Any, a: Any) -> Any:
    if a.dtype in _F8_NP:     # torch negates only values below 0: -0 and NaN bytes stay as they are
        return xp.where(a < 0, -a, a)
    return xp.absolute(a)


abs = unary("abs", _abs_fwd, lambda g, x, r: g * sgn(x), kind=_k_real, deny={"b": ni("abs_cpu")})
absolute = abs
bind({"absolute": abs, "absolute_": abs._inplace})  # type: ignore[attr-defined]

exp = unary("exp", "exp", lambda g, x, r: g * _c(r), saves="r")
def _exp2_fwd(xp: Any, a: Any) -> Any:
    """2**a; complex as torch's exp(ln2·a), ln2 a real factor of each part (so 0 parts stay 0 beside inf/NaN)."""
    if a.dtype.kind != "c":
        return xp.exp2(a)
    z = xp.empty_like(a)
    ln2 = a.real.dtype.type(_LN2)
    z.real, z.imag = a.real * ln2, a.imag * ln2
    return xp.exp(z)


exp2 = unary("exp2", _exp2_fwd, lambda g, x, r: g * _c(r * _LN2), saves="r")
expm1 = unary("expm1", "expm1", lambda g, x, r: g * _c(r + 1), saves="r")
log = unary("log", "log", lambda g, x, r: g / _c(x))
log2 = unary("log2", "log2", lambda g, x, r: g / _c(x * _LN2))
log10 = unary("log10", "log10", lambda g, x, r: g / _c(x * _LN10))
def _log1p_fwd(xp: Any, a: Any) -> Any:
    """log1p; for complex ``z`` near 0 the real part 0.5*log1p(x*(2+x) + y*y), as torch's (NumPy's complex
    log1p is log(1 + z), which cancels)."""
    if a.dtype.kind != "c":
        return _log1p_via_double(a) if xp is np else xp.log1p(a)
    x, y = a.real, a.imag
    with np.errstate(all="ignore"):
        r = x * (2 + x) + y * y
        near = xp.where(r == 0, x, 0.5 * xp.log1p(r))
        re = xp.where(xp.abs(a) < 0.5, near, xp.log(xp.hypot(x + 1, y)))
        out = xp.empty(a.shape, a.dtype)
        out.real, out.imag = re, xp.arctan2(y, x + 1)
    return out


_log1p_via_double = via_double(np.log1p)
log1p = unary("log1p", _log1p_fwd, lambda g, x, r: g / _c(x + 1))
sqrt = unary("sqrt", "sqrt", lambda g, x, r: g / (2 * _c(r)), saves="r")
def _recip(xp: Any, a: Any) -> Any:
    """``1 / a``; a complex zero gives inf+nanj as torch's (NumPy's complex division gives nan+nanj)."""
    r = xp.reciprocal(a)
    if a.dtype.kind == "c":
        zero = a == 0
        if zero.any():
            r = xp.where(zero, r.dtype.type(_py_complex(math.inf, math.nan)), r)
    return r


def _rsqrt_fwd(xp: Any, a: Any) -> Any:
    """``1 / sqrt(a)``; 16-bit floats computed in float32 and rounded once, as torch's kernel."""
    if a.dtype.itemsize == 2 and a.dtype.kind != "c":
        return _recip(xp, xp.sqrt(a.astype(np.float32))).astype(a.dtype)
    return _recip(xp, xp.sqrt(a))


rsqrt = unary("rsqrt", _rsqrt_fwd, lambda g, x, r: -0.5 * g * _c(r * r * r), saves="r")
reciprocal = unary("reciprocal", _recip, lambda g, x, r: -g * _c(r * r), saves="r")
def _output_derivative(name: str, kernel: Callable, factor_grad: Callable) -> Callable:
    """torch's ``<op>_backward(grad_output, output)`` for an op whose derivative is a function of its output:
    ``kernel(xp, grad_output, output)`` computes it in one pass over arrays instead of a chain of ops, recorded
    as ``<Op>BackwardBackward0`` (``factor_grad``: the derivative of the factor) so double backward works."""
    def grad(gg: Tensor, g: Tensor, y: Tensor, res: Any) -> tuple:
        return (op(gg, _c(y)) if _rg(g) else None, _c(gg) * g * _c(factor_grad(y)) if _rg(y) else None)

    op = binary(name, kernel, grad, method=False, inplace_method=False, scalars="")
    return op


def _times_conj(xp: Any, g: Any, t: Any) -> Any:
    if t.dtype.kind == "c":
        xp.conjugate(t, out=t)
    return xp.multiply(g, t, out=t) if g.shape == t.shape else xp.multiply(g, t)


def _tanh_backward_kernel(xp: Any, g: Any, y: Any) -> Any:
    """``g·(1 - y²)`` as torch's CPU kernel: ``1 - y·y`` is one fused multiply-add, formed exactly in float64
    for float32 and rounded once; 16-bit floats are computed in float32 and rounded once. float64 keeps the
    two roundings (an exact float64 multiply-add costs ~20 NumPy passes), as does complex."""
    wide = wide_dtype(y) if y.dtype != np.float64 else None
    t = y.astype(wide) if wide is not None else xp.multiply(y, y)
    if wide is not None:      # in place: a fresh temporary per step costs page faults on large tensors
        xp.multiply(t, t, out=t)
    xp.subtract(1, t, out=t)
    if wide is None:
        return _times_conj(xp, g, t)
    if y.dtype.itemsize == 2:
        return (xp.multiply(t, g, out=t) if g.shape == t.shape else xp.multiply(t, g)).astype(y.dtype)
    return _times_conj(xp, g, t.astype(y.dtype))


def _sigmoid_backward_kernel(xp: Any, g: Any, y: Any) -> Any:
    """``g·(1 - y)·y`` as torch's CPU kernel: left to right, bfloat16 in float32 (rounded once)."""
    if y.dtype.kind == "c":
        t = xp.subtract(1, y)
        return _times_conj(xp, g, xp.multiply(t, y, out=t))
    if y.dtype.itemsize == 2 and y.dtype != np.float16:
        y32 = y.astype(np.float32)
        t = xp.multiply(g.astype(np.float32), xp.subtract(1, y32))
        return xp.multiply(t, y32, out=t).astype(y.dtype)
    t = xp.subtract(1, y)
    t = xp.multiply(g, t, out=t) if g.shape == t.shape else xp.multiply(g, t)
    return xp.multiply(t, y, out=t)


tanh_backward = _output_derivative("tanh_backward", _tanh_backward_kernel, lambda y: -2 * y)
sigmoid_backward = _output_derivative("sigmoid_backward", _sigmoid_backward_kernel, lambda y: 1 - 2 * y)


sin = unary("sin", "sin", lambda g, x, r: g * _c(cos(x)))
cos = unary("cos", "cos", lambda g, x, r: -g * _c(sin(x)))
tan = unary("tan", "tan", lambda g, x, r: g * _c(1 + r * r), saves="r")
asin = unary("asin", "arcsin", lambda g, x, r: g * _c(rsqrt(1 - x * x)))
acos = unary("acos", "arccos", lambda g, x, r: -g * _c(rsqrt(1 - x * x)))
atan = unary("atan", "arctan", lambda g, x, r: g / _c(1 + x * x))
sinh = unary("sinh", "sinh", lambda g, x, r: g * _c(cosh(x)))
cosh = unary("cosh", "cosh", lambda g, x, r: g * _c(sinh(x)))
tanh = unary("tanh", "tanh", lambda g, x, r: tanh_backward(g, r), saves="r")
asinh = unary("asinh", "arcsinh", lambda g, x, r: g * _c(rsqrt(x * x + 1)), inplace_grad=False)
acosh = unary("acosh", "arccosh", lambda g, x, r: g * _c(rsqrt(x - 1) * rsqrt(x + 1)), inplace_grad=False)
atanh = unary("atanh", "arctanh", lambda g, x, r: g / _c(1 - x * x), inplace_grad=False)
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
bind({f"arc{n[1:]}{s}": getattr(Tensor, n + s) for n in ("asin", "acos", "atan", "asinh", "acosh", "atanh")
      for s in ("", "_")})


def _sigmoid_fwd(xp: Any, a: Any) -> Any:
    """``1 / (1 + exp(-a))``; 16-bit floats computed in float32 and rounded once, as torch's kernel."""
    if a.dtype.itemsize == 2 and a.dtype.kind != "c":
        return xp.reciprocal(1 + xp.exp(-a.astype(np.float32))).astype(a.dtype)
    return xp.reciprocal(1 + (_exp_via_double(-a) if xp is np else xp.exp(-a)))


_exp_via_double = via_double(np.exp)


sigmoid = unary("sigmoid", _sigmoid_fwd, lambda g, x, r: sigmoid_backward(g, r), saves="r")


def _logit_fwd(xp: Any, a: Any, eps: float | None) -> Any:
    if eps is not None:   # torch's clamp: below eps gives eps, else above 1 - eps gives 1 - eps (eps > 0.5 too)
        a = xp.where(a < eps, xp.asarray(eps, a.dtype), xp.minimum(a, xp.asarray(1 - eps, a.dtype)))
    return xp.log(a / (1 - a))


def _logit_grad(g: Tensor, x: Tensor, r: Any, eps: float | None) -> Tensor:
    d = g / (x * (1 - x))
    if eps is None or eps < 0:   # (torch: a negative eps is no clamp)
        return d.masked_fill((x < 0) | (x > 1), math.nan)
    return d.masked_fill((x < eps) | (x > 1 - eps), 0)


_logit = unary("logit", _logit_fwd, _logit_grad, deny={"c": ni("logit_cpu")}, method=False)


def logit(input: Tensor, eps: float | None = None, *, out: Tensor | None = None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    return _logit(input, eps, out=out)


def logit_(input: Tensor, eps: float | None = None) -> Tensor:
    return _logit._inplace(input, eps)  # type: ignore[attr-defined]


bind({"logit": logit, "logit_": logit_})


def _sign_fwd(xp: Any, a: Any) -> Any:
    if a.dtype.kind == "b":
        return a.copy()
    return (a > 0).astype(a.dtype) - (a < 0).astype(a.dtype)   # NaN → 0, as torch


def _sgn_fwd(xp: Any, a: Any) -> Any:
    if a.dtype.kind != "c":
        return _sign_fwd(xp, a)
    mag = xp.abs(a)
    return xp.where(mag == 0, xp.zeros((), a.dtype), a / xp.where(mag == 0, 1, mag))


def _sgn_grad(g: Tensor, x: Tensor, r: Tensor) -> Tensor:
    if not x._dtype.is_complex:
        return zeros_like(g)
    mag = abs(x)
    return ((g - (g * conj(r)).real * r) / mag.masked_fill(mag == 0, 1)).masked_fill(mag == 0, 0)


sign = unary("sign", _sign_fwd, lambda g, x, r: zeros_like(g), kind=_k_same, saves="", deny={"c": (
    NotImplementedError, "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
    "torch.sgn instead.")})
sgn = unary("sgn", _sgn_fwd, _sgn_grad, kind=_k_same, saves="xr")


def _signbit_fwd(xp: Any, a: Any) -> Any:
    if a.dtype.kind == "b":
        return xp.zeros(a.shape, bool)
    return a < 0 if a.dtype.kind in "iu" else xp.signbit(a)


signbit = unary("signbit", _signbit_fwd, kind=_k_bool, inplace_method=False, out_rule="bool",
                deny={"c": (NotImplementedError, "signbit is not implemented for complex tensors.")})


def _rounding(name: str, fn: str) -> Callable:
    def fwd(xp: Any, a: Any) -> Any:
        return a.copy() if a.dtype.kind in "iu" else getattr(xp, fn)(a)
    return unary(name, fwd, lambda g, x, r: zeros_like(g), kind=_k_same, saves="", deny={
        "b": ni(f"{name}_vml_cpu"),
        "c": (NotImplementedError, f"{name} is not supported for complex inputs")})


floor = _rounding("floor", "floor")
ceil = _rounding("ceil", "ceil")
trunc = _rounding("trunc", "trunc")
fix = trunc
bind({"fix": trunc, "fix_": trunc._inplace})  # type: ignore[attr-defined]
frac = unary("frac", lambda xp, a: a - xp.trunc(a), lambda g, x, r: g, kind=_k_same, saves="",
             deny={c: ni("frac_cpu") for c in "bic"})


def _round_fwd(xp: Any, a: Any, decimals: int = 0) -> Any:
    if a.dtype.kind in "iu":
        return a.copy()
    if decimals == 0:
        return xp.round(a)
    ct = np.promote_types(a.dtype, np.float32)   # 16-bit floats scale in float32 (torch's opmath): no overflow
    x = a.astype(ct, copy=False)
    if decimals > 0:
        scale = ct.type(10.0 ** decimals)
        return (xp.round(x * scale) / scale).astype(a.dtype, copy=False)
    scale = ct.type(10.0 ** -decimals)
    return (xp.round(x / scale) * scale).astype(a.dtype, copy=False)


_round = unary("round", _round_fwd, lambda g, x, r: zeros_like(g), kind=_k_same, saves="", method=False,
               deny={"b": ni("round_vml_cpu"), "c": ni("round_vml_cpu")})


def _round_decimals(kernel: str) -> Callable:
    """torch's ``round`` overload taking ``decimals`` (even 0): RoundBackward1, and no integer, bool or complex
    kernel (``kernel`` names the one refusing them: the plain rounding for 0, the scaled one otherwise)."""
    return unary("round", _round_fwd, lambda g, x, r, decimals: zeros_like(g), kind=_k_same, saves="",
                 method=False, grad_name="RoundBackward1", deny={c: ni(kernel) for c in "bic"})


_round_dec0, _round_dec = _round_decimals("round_vml_cpu"), _round_decimals("round_cpu")
_NO_DECIMALS: Any = NO_DIM   # ``decimals`` not given: the plain overload (integers round to themselves)


def round(input: Tensor, *, decimals: int = _NO_DECIMALS, out: Tensor | None = None) -> Tensor:
    """Round half to even; with ``decimals``, to that many decimal places (negative: tens, hundreds…)."""
    if decimals is _NO_DECIMALS:
        return _round(input, out=out)
    decimals = int_arg(decimals, "round", "decimals", 2)
    return (_round_dec if decimals else _round_dec0)(input, decimals, out=out)


def round_(input: Tensor, *, decimals: int = _NO_DECIMALS) -> Tensor:
    if decimals is _NO_DECIMALS:
        return _round._inplace(input)  # type: ignore[attr-defined]
    decimals = int_arg(decimals, "round_", "decimals", 2)
    return (_round_dec if decimals else _round_dec0)._inplace(input, decimals)  # type: ignore[attr-defined]


bind({"round": round, "round_": round_})


def _relu_fwd(xp: Any, a: Any) -> Any:
    return xp.maximum(a, xp.zeros((), a.dtype))


def _bit_mask(g: Any, mask: Any) -> tuple[Any, Any] | None:
    """Float array ``g``'s bits as integers and an integer mask of their width, all ones where ``mask`` is False
    and 0 where True (None where ``g`` is no n-d float array of ``mask``'s shape). Selecting by bit operations is
    ~4x faster than a select on a data-dependent mask, which branches per element."""
    size = getattr(g, "itemsize", 0)
    if getattr(g, "dtype", None) is None or g.dtype.kind != "f" or size not in (2, 4, 8) or \
            g.shape != getattr(mask, "shape", None) or not g.ndim:
        return None
    off = mask.astype(f"i{size}")
    off -= 1
    return g.view(f"i{size}"), off


def _zero_where(xp: Any, drop: Any, g: Any) -> Any:
    """``g`` with exactly 0 where ``drop`` (even for an infinite ``g``)."""
    bits = _bit_mask(g, drop)
    if bits is None:
        return xp.where(drop, 0, g)
    gi, keep = bits
    xp.bitwise_and(gi, keep, out=keep)
    return keep.view(g.dtype)


def _select(xp: Any, cond: Any, a: Any, b: Any) -> Any:
    """``a`` where ``cond``, else ``b`` (by bits for float arrays of one dtype and shape)."""
    bits = _bit_mask(a, cond)
    if bits is None or b.shape != a.shape or b.dtype != a.dtype:
        return xp.where(cond, a, b)
    ai, not_cond = bits
    out = xp.bitwise_and(b.view(ai.dtype), not_cond)
    xp.invert(not_cond, out=not_cond)
    xp.bitwise_and(ai, not_cond, out=not_cond)
    out |= not_cond
    return out.view(a.dtype)


def _threshold_backward_fwd(xp: Any, g: Any, y: Any, threshold: Any) -> Any:
    """``g`` where ``y > threshold`` (or NaN), else exactly 0 (even for an infinite ``g``)."""
    return _zero_where(xp, y <= threshold, g)


threshold_backward = binary(
    "threshold_backward", _threshold_backward_fwd,
    lambda gg, g, y, r, threshold: (threshold_backward(gg, y, threshold) if _rg(g) else None,
                                    new_tensor(_xp(gg).zeros(y.shape, gg._dtype.np), gg._dtype, gg._device)
                                    if _rg(y) else None),
    method=False, inplace_method=False, scalars="")
threshold_backward.__doc__ = ("torch's ``threshold_backward(grad, self, threshold)``: ``grad`` where ``self > "
                              "threshold``, else 0 (NaN passes the gradient); ``ThresholdBackwardBackward0``.")
def _grad_op(name: str, fwd: Callable, differentiable: bool = True) -> Callable:
    """torch's first-order formula ``<name>(grad, self, *params)`` (linear in ``grad``) as an op of its own, so
    a gradient built with ``create_graph`` depends on ``self`` as torch's does: its node
    (``<Name>BackwardBackward0``) gives ``grad`` the formula again and ``self`` zeros (``differentiable=False``:
    torch's NotImplemented node, which raises)."""
    def grad(gg: Tensor, g: Any, x: Tensor, r: Any, *params: Any) -> tuple:
        return op(gg, x, *params), zeros_like(gg)

    op = binary(name, fwd, grad if differentiable else no_derivative(name), saves="b", scalars="", method=False,
                inplace_method=False, grad_name=None if differentiable else "NotImplemented")
    return op


# where torch's kernels drop the gradient; a NaN input drops it as their vectorised loops do (their scalar
# tails, the last few elements, keep it)
hardtanh_backward = _grad_op("hardtanh_backward", lambda xp, g, x, lo, hi: _zero_where(xp, ~((x > lo) & (x < hi)), g))
softshrink_backward = _grad_op("softshrink_backward", lambda xp, g, x, lambd: _zero_where(xp, ~(xp.abs(x) > lambd), g))
hardshrink_backward = _grad_op("hardshrink_backward", lambda xp, g, x, lambd: _zero_where(xp, ~(xp.abs(x) > lambd), g))
leaky_relu_backward = _grad_op("leaky_relu_backward", lambda xp, g, x, slope: _select(xp, x > 0, g, g * slope))
hardsigmoid_backward = _grad_op("hardsigmoid_backward", lambda xp, g, x: _zero_where(
    xp, ~((x > -3) & (x < 3)), _times_sixth(g)), differentiable=False)


def _times_sixth(g: Any) -> Any:
    """``g`` times torch's float literal 1/6: a 16-bit float ``g`` in float32 (its opmath), rounded once."""
    if getattr(g, "dtype", None) in _HALF_NP:
        return (g.astype(np.float32) * np.float32(1 / 6)).astype(g.dtype)
    return g * float(np.float32(1 / 6))


relu = unary("relu", _relu_fwd, lambda g, x, r: threshold_backward(g, r, 0), kind=_k_same, saves="r",
             out_rule="none", deny={
    "b": (RuntimeError, "Boolean inputs not supported for relu"),
    "c": (NotImplementedError, "clamp is not supported for complex types")})


def positive(input: Tensor) -> Tensor:
    """``+input``: the tensor itself (refused for bool, as in torch)."""
    _tensor_arg(input, "positive", "input", 1)
    if input._dtype is D.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


bind({"positive": positive, "__pos__": positive})

logical_not = unary("logical_not", "logical_not", kind=_k_bool)
bitwise_not = unary("bitwise_not", "invert", kind=_k_same, deny=_int_only("bitwise_not_cpu"))


def invert(self: Tensor) -> Tensor:
    """``~self``: Python's operator refuses floating and complex tensors before reaching ``bitwise_not``."""
    if self._dtype.category > 1:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(self)


def _float_test(fn: str, other: Callable) -> Callable:
    """A floating-point predicate; integers and bool give ``other(shape)``."""
    def fwd(xp: Any, a: Any) -> Any:
        return getattr(xp, fn)(a) if a.dtype.kind in "fcV" else other(xp, a.shape)
    return fwd


def _falses(xp: Any, shape: tuple) -> Any:
    return xp.zeros(shape, bool)


def _trues(xp: Any, shape: tuple) -> Any:
    return xp.ones(shape, bool)


isnan = unary("isnan", _float_test("isnan", _falses), kind=_k_bool, inplace_method=False, out_rule="none")
isinf = unary("isinf", _float_test("isinf", _falses), kind=_k_bool, inplace_method=False, out_rule="none")
isfinite = unary("isfinite", _float_test("isfinite", _trues), kind=_k_bool, inplace_method=False,
                 out_rule="none")
isposinf = unary("isposinf", _float_test("isposinf", _falses), kind=_k_bool, inplace_method=False,
                 out_rule="bool", deny=_no_complex("isposinf does not support complex inputs."))
isneginf = unary("isneginf", _float_test("isneginf", _falses), kind=_k_bool, inplace_method=False,
                 out_rule="bool", deny=_no_complex("isneginf does not support complex inputs."))
isreal = unary("isreal", lambda xp, a: a.imag == 0 if a.dtype.kind == "c" else xp.ones(a.shape, bool),
               kind=_k_bool, inplace_method=False, out_rule="none")

deg2rad = unary("deg2rad", "deg2rad", lambda g, x, r: g * (math.pi / 180), saves="",
                deny=_no_complex("deg2rad is not supported for complex tensors."))
rad2deg = unary("rad2deg", "rad2deg", lambda g, x, r: g * (180 / math.pi), saves="",
                deny=_no_complex("rad2deg is not supported for complex tensors."))


def _sinc_grad(g: Tensor, x: Tensor, r: Any) -> Tensor:
    """From the input alone, as torch's (which saves no result: changing it in place is allowed). Under
    ``create_graph`` the division by x = 0 stays in the graph: the second derivative there is NaN, as torch's."""
    zero = x == 0
    return g * _c(((cos(x * math.pi) - sinc(x)) / (x if STATE.grad else x.masked_fill(zero, 1))).masked_fill(zero, 0))


def _sinc_fwd(xp: Any, a: Any) -> Any:
    """sin(πx)/(πx); 16-bit floats in float32 (torch's opmath type), rounded once."""
    return xp.sinc(a.astype(np.float32)).astype(a.dtype) if a.dtype in _HALF_NP else xp.sinc(a)


sinc = unary("sinc", _sinc_fwd, _sinc_grad)


def _nan_to_num_fwd(xp: Any, a: Any, nan: float, posinf: float | None, neginf: float | None) -> Any:
    if a.dtype.kind == "c":
        parts = (_nan_to_num_fwd(xp, p, nan, posinf, neginf) for p in (a.real, a.imag))
        return next(parts) + 1j * next(parts)
    if a.dtype.kind not in "fV":
        return a.copy()
    info = D.finfo(D.from_numpy_dtype(a.dtype))
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    r = xp.where(xp.isnan(a), xp.asarray(nan, a.dtype), a)
    r = xp.where(xp.isneginf(a), xp.asarray(lo, a.dtype), r)
    return xp.where(xp.isposinf(a), xp.asarray(hi, a.dtype), r)


_nan_to_num = unary("nan_to_num", _nan_to_num_fwd, lambda g, x, r, *p: g * isfinite(x), kind=_k_same,
                    method=False, out_rule="input")


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None, *,
               out: Tensor | None = None) -> Tensor:
    """Replace NaN by ``nan`` and ±inf by ``posinf``/``neginf`` (default: the dtype's largest/lowest)."""
    _real_numbers("nan_to_num", nan, posinf, neginf)
    return _nan_to_num(input, nan, posinf, neginf, out=out)


def nan_to_num_(input: Tensor, nan: float = 0.0, posinf: float | None = None,
                neginf: float | None = None) -> Tensor:
    _real_numbers("nan_to_num_", nan, posinf, neginf)
    if input._dtype.category < 2 and not input._sparse_layout:   # nothing to replace: no write (so an expanded
        input._vc[0] += 1                                          # integer tensor is fine), as torch
        return input
    return _nan_to_num._inplace(input, nan, posinf, neginf)  # type: ignore[attr-defined]


def _real_numbers(fn: str, *values: Any) -> None:
    """TypeError unless each of ``values`` is None or a real number (checked even where an integer input,
    having no NaN, never reads them)."""
    for v in values:
        if v is not None and not (_isinstance(v, (int, float, np.integer, np.floating)) or
                                  _isinstance(v, Tensor) and not v._dtype.is_complex):
            raise TypeError(f"{fn}(): expected real numbers, got {type(v).__name__}")


bind({"nan_to_num": nan_to_num, "nan_to_num_": nan_to_num_})


FrexpBackward0 = node_class("FrexpBackward0", lambda self, g: (g / self.saved[0].exp2(),))


def frexp(input: Tensor, *, out: Any = None) -> Any:
    """Mantissa in [0.5, 1) and int32 exponent with ``input = mantissa * 2 ** exponent``."""
    _tensor_arg(input, "frexp", "input", 1)
    if not input._dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = _xp(input).frexp(input._data)
    res = return_type("frexp", ("mantissa", "exponent"))(
        _finish(m, input._dtype, input._device), _finish(e, D.int32, input._device))
    if input._rg and STATE.enabled:   # d mantissa / d input = 2^-exponent
        record(res[0], FrexpBackward0(), (input,)).save(res[1])
    if out is not None:
        for o, r in zip(out, res, strict=True):
            write_out(o, r)
        return type(res)(*out)
    return res


bind({"frexp": frexp, "square": square, "square_": square_,
      "float_power": float_power, "float_power_": float_power_, "true_divide": true_divide,
      "true_divide_": true_divide_})


# ---- complex numbers -------------------------------------------------------------------------------------
def _angle_fwd(xp: Any, a: Any) -> Any:
    if a.dtype.kind == "c":
        return xp.angle(a)
    return xp.where(xp.isnan(a), a, xp.where(a < 0, xp.asarray(math.pi, a.dtype), xp.zeros((), a.dtype)))


def _angle_grad(g: Tensor, x: Tensor, r: Any) -> Tensor:
    if not x._dtype.is_complex:
        return zeros_like(g)
    mag2 = (x * conj(x)).real
    zero = mag2 == 0
    return (g * x * 1j / mag2.masked_fill(zero, 1)).masked_fill(zero, 0)


angle = unary("angle", _angle_fwd, _angle_grad, kind=_k_float_real, inplace_method=False)
_conj_physical = unary("conj_physical", "conjugate", lambda g, x, r: conj_physical(g), kind=_k_same, saves="",
                       out_grad="fallback",
                       method=False)
_conj = unary("conj", "conjugate", lambda g, x, r: conj(g), kind=_k_same, saves="", method=False)
_NEG_BOOL_KERNEL = "\"neg_cpu\" not implemented for 'Bool'"   # (torch's, on resolving a negated bool)
_neg = unary("_neg_view", _neg_fwd, lambda g, x, r: -g, kind=_k_same, saves="", method=False,
             grad_name="NegViewBackward0", out_rule="none", deny={"b": (NotImplementedError, _NEG_BOOL_KERNEL)})


def _flipped(r: Tensor, input: Tensor, bit: int) -> Tensor:
    """``r`` (a copy of ``input`` conjugated or negated) marked as torch's lazy view would be: ``input``'s
    conjugate / negative bits with ``bit`` toggled (see ``ember._tensor.CONJ``)."""
    r._math_bits = input._math_bits ^ bit
    return r


def conj(input: Tensor) -> Tensor:
    """The complex conjugate, marked ``is_conj()``; real tensors are returned as they are.

    torch returns a lazily conjugated view; ember's is a copy carrying the bit (writes do not reach ``input``).
    """
    _tensor_arg(input, "conj", "input", 1)
    return _flipped(_conj(input), input, CONJ) if input._dtype.is_complex else input


def _neg_view(input: Tensor) -> Tensor:
    """The negation, marked ``is_neg()`` (torch's lazily negated view; ember's is a copy carrying the bit)."""
    return _flipped(_neg(input), input, NEG)


def conj_physical(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The complex conjugate as a new tensor; real tensors are returned as they are."""
    if out is None and _isinstance(input, Tensor) and not input._dtype.is_complex:
        return input
    return _conj_physical(input, out=out)


def conj_physical_(input: Tensor) -> Tensor:
    if _isinstance(input, Tensor) and not input._dtype.is_complex and not (input._rg and STATE.enabled):
        check_inplace(input)   # a real tensor: torch's kernel writes nothing (an expanded one is fine), a write still
        input._vc[0] += 1
        return input
    return _conj_physical._inplace(input)  # type: ignore[attr-defined]


def _resolve(input: Tensor, bit: int, name: str) -> Tensor:
    """``input`` without its lazy ``bit``: a plain copy (``CloneBackward0``) when it has it, else itself."""
    _tensor_arg(input, name, "input", 1)
    return input.clone() if input._math_bits & bit else input


def resolve_conj(input: Tensor) -> Tensor:
    return _resolve(input, CONJ, "resolve_conj")


def resolve_neg(input: Tensor) -> Tensor:
    return _resolve(input, NEG, "resolve_neg")


def is_conj(input: Tensor) -> bool:
    """Whether ``input`` carries torch's conjugate bit (``conj()`` of a complex tensor, and its views)."""
    return bool(input._math_bits & CONJ)


def is_neg(input: Tensor) -> bool:
    """Whether ``input`` carries torch's negative bit (``_neg_view()``, the ``imag`` of a conjugate, their views)."""
    return bool(input._math_bits & NEG)


_HALF_PAIR = np.dtype([("re", np.float16), ("im", np.float16)])


def _component(input: Tensor, part: int) -> Tensor:
    """The real (0) or imaginary (1) part as a view; under autograd composed as torch does it,
    ``view_as_real(input).select(-1, part)`` (its graph: SelectBackward0 → ViewAsRealBackward0)."""
    if input._rg and STATE.enabled:
        from .extra import as_real
        v = as_real(input).select(-1, part)
    else:
        arr = input._data
        if input._dtype is D.complex32:    # NumPy has no float16 parts of ml_dtypes' complex32: a (re, im) record view
            arr = arr.view(_HALF_PAIR)["re" if part == 0 else "im"]
        else:
            arr = arr.real if part == 0 else arr.imag
        v = make_view(input, arr)
        v._dtype = input._dtype.to_real()
    bits = input._math_bits
    if bits:   # the imaginary part of a conjugate is a negative view, as torch's
        v._math_bits = (bits & NEG) ^ (NEG if part and bits & CONJ else 0)
    return v


def real(input: Tensor) -> Tensor:
    """The real part, a view sharing memory (real tensors are returned as they are)."""
    _tensor_arg(input, "real", "input", 1)
    return _component(input, 0) if input._dtype.is_complex else input


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, a view sharing memory."""
    _tensor_arg(input, "imag", "input", 1)
    if not input._dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _component(input, 1)


def _set_part(getter: Callable) -> Callable:
    def setter(self: Tensor, value: Any) -> None:
        getter(self).copy_(value)
    return setter


Tensor.real = property(real, _set_part(real))  # type: ignore[attr-defined]
Tensor.imag = property(imag, _set_part(imag))  # type: ignore[attr-defined]


def _pair_check(name: str, real: Any, imag: Any, out: Any) -> None:
    _tensor_arg(real, name, "real" if name == "complex" else "abs", 1)
    _tensor_arg(imag, name, "imag" if name == "complex" else "angle", 2)
    if any(t._dtype not in (D.float16, D.float32, D.float64) for t in (real, imag)):
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got "
                           f"{real._dtype._short} and {imag._dtype._short}")
    if real._dtype is D.float16 and out is None:
        warn_complex32_once()   # (torch allocates the complex32 result here, before the checks below)
    if real._dtype is not imag._dtype:
        raise RuntimeError(f"Expected object of scalar type {real._dtype._short} but got scalar type "
                           f"{imag._dtype._short} for second argument")
    if real._dtype is D.float16 and name == "polar":
        raise NotImplementedError("\"polar_cpu\" not implemented for 'Half'")


def _complex_fwd(xp: Any, re: Any, im: Any) -> Any:
    dt = np.complex128 if re.dtype == np.float64 else np.complex64
    out = xp.empty(np.broadcast_shapes(re.shape, im.shape), dt)
    out.real = re
    out.imag = im
    return out


def _polar_fwd(xp: Any, r: Any, theta: Any) -> Any:
    return _complex_fwd(xp, r * xp.cos(theta), r * xp.sin(theta))


def _complex_grad(g: Tensor, re: Tensor, im: Tensor, r: Any) -> tuple:
    return real(g), imag(g)


def _polar_grad(g: Tensor, mag: Tensor, theta: Tensor, r: Tensor) -> tuple:
    # d/d|z| along the result's own direction, sgn(r): its sign flips where ``abs`` < 0, and it is 0 where 0 (as torch)
    return (real(g * conj(sgn(r))) if _rg(mag) else None,
            real(g * conj(r * 1j)) if _rg(theta) else None)


_complex = binary("complex", _complex_fwd, _complex_grad, kind=_k_complex, saves="", scalars="", method=False)
_polar = binary("polar", _polar_fwd, _polar_grad, kind=_k_complex, saves="abr", scalars="", method=False)


def complex(real: Tensor, imag: Tensor, *, out: Tensor | None = None) -> Tensor:
    """A complex tensor from real and imaginary parts (both float16, float32 or float64; float16 gives
    complex32, built through complex64)."""
    _pair_check("complex", real, imag, out)
    if real._dtype is D.float16:
        res = _complex(real.float(), imag.float()).to(D.complex32)
        return res if out is None else write_out(out, res, "complex")
    return _complex(real, imag, out=out)


def polar(abs: Tensor, angle: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``abs * (cos(angle) + i sin(angle))``."""
    _pair_check("polar", abs, angle, out)
    return _polar(abs, angle, out=out)


bind({"conj": conj, "conj_physical": conj_physical, "conj_physical_": conj_physical_,
      "resolve_conj": resolve_conj, "resolve_neg": resolve_neg, "is_conj": is_conj, "is_neg": is_neg,
      "_neg_view": _neg_view})


# ---- clamp ---------------------------------------------------------------------------------------------
def _clamp_scalar_grad(g: Tensor, x: Tensor, r: Any, lo: Any, hi: Any) -> Tensor:
    mask = None
    if lo is not None:
        mask = x >= lo
    if hi is not None:
        mask = (x <= hi) if mask is None else mask & (x <= hi)
    return _where(mask, g, 0)   # a select, not g * mask: an infinite gradient outside the bounds gives 0


def _clamp_tensor_grad(g: Tensor, x: Tensor, lo: Any, hi: Any) -> tuple:
    """torch's clamp_backward_min_max: the input keeps the gradient inside the bounds; a bound gets it
    where it was selected (``max`` wins when the bounds cross; with equal bounds below the input neither
    does); elsewhere exactly 0, even for an infinite gradient."""
    zero = 0
    if lo is not None and hi is not None:
        return (_where((x >= lo) & (x <= hi), g, zero), _where((lo > x) & (lo < hi), g, zero),
                _where((hi < x) | (hi < lo), g, zero))
    if lo is not None:
        return _where(x >= lo, g, zero), _where(x < lo, g, zero), None
    return _where(x <= hi, g, zero), None, _where(x > hi, g, zero)


def _clamp_node(name: str, keep: tuple[int, ...]) -> tuple[type[Node], tuple[int, ...]]:
    """A tensor-bound clamp node whose edges are the operands ``keep`` of (input, min, max)."""
    return node_class(name, lambda self, g: tuple(_clamp_tensor_grad(g, *self.saved)[i] for i in keep)), keep


# op name → (node class for tensor bounds, which operands it has edges to), node class for number bounds
_TENSOR_CLAMP = {"clamp": _clamp_node("ClampBackward0", (0, 1, 2)),
                 "clamp_min": _clamp_node("ClampMinBackward1", (0, 1)),
                 "clamp_max": _clamp_node("ClampMaxBackward1", (0, 2))}
_SCALAR_CLAMP = {op: node_class(name, lambda self, g: (_clamp_scalar_grad(g, *self.saved, *self.params),))
                 for op, name in (("clamp", "ClampBackward1"), ("clamp_min", "ClampMinBackward0"),
                                  ("clamp_max", "ClampMaxBackward0"))}
_CLAMP_COMPLEX = "clamp is not supported for complex types"


def _clamp_bound(value: Any, dt: D.dtype) -> Any:
    """A number bound as torch's clamp kernel converts it to ``dt`` (checked: its overflow errors)."""
    if type(value) is _py_complex:
        if value.imag:
            raise RuntimeError("value cannot be converted to type double without overflow")
        value = value.real
    return _checked_number(value, dt)


def _clamp_dtype(name: str, input: Tensor, lo: Any, hi: Any, dst: Tensor | None, self_: bool) -> tuple:
    """(result dtype, min, max) of clamp/clamp_min/clamp_max, raising torch's errors in its order; ``dst``: the
    ``out=`` tensor or (``self_``) the in-place destination. Number bounds come back converted to the result
    dtype. A 0-d tensor next to a number bound is read as a number (torch's Scalar overload)."""
    _tensor_arg(input, name, "input", 1)
    if lo is None and hi is None:
        if name != "clamp":
            raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, NoneType), "
                            "but expected one of:")
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tensors = [b for b in (lo, hi) if _isinstance(b, Tensor)]
    if tensors and len(tensors) + (lo is None) + (hi is None) < 2:   # a tensor and a number
        if builtins.any(t._data.ndim for t in tensors):
            got = ", ".join(type(x).__name__ for x in (input, lo, hi) if x is not None)
            raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected "
                            "one of:")
        lo, hi = (b.item() if _isinstance(b, Tensor) else b for b in (lo, hi))
        tensors = []
    dt_in = input._dtype
    if tensors:   # torch's Tensor overload: maximum/minimum/clamp kernels under TensorIterator's promotion
        if dt_in.is_complex and name == "clamp":
            raise NotImplementedError(_CLAMP_COMPLEX)
        shape = broadcast_shapes(input._data.shape, *(t._data.shape for t in tensors))
        if dst is not None and (self_ or dst._data.shape == shape):
            _check_written(dst)
        if dst is not None and not self_:
            _check_out(dst, input, lo, hi)
        if self_ and shape != input._data.shape:
            raise _shape_error(input._data.shape, shape)
        dt = result_dtype(input, lo, hi)
        if dst is not None and not D.can_cast(dt, dst._dtype):
            raise cast_error(dt, dst._dtype)
        if dt.is_complex or dt is D.bool and lo is not None and hi is not None or dt.few and not dt.kind:
            # (bool: maximum, minimum only; uint16/32/64: none)
            kernel = "clamp_cpu" if lo is not None and hi is not None else \
                "maximum_cpu" if lo is not None else "minimum_cpu"
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")
        return dt, lo, hi
    if dt_in.is_complex:
        raise NotImplementedError(_CLAMP_COMPLEX)
    # number bounds: a floating input keeps its dtype under clamp (the bounds are converted to it)
    dt = dt_in if name == "clamp" and dt_in.category == 2 else result_dtype(input, lo, hi)
    cast_first = name == "clamp"
    if cast_first and self_ and dt is not dt_in:
        raise RuntimeError(f"result type {dt._short} can't be cast to the desired output type {D.CPP_NAMES[dt_in]}")
    if dt.is_complex:
        raise NotImplementedError(_CLAMP_COMPLEX)
    if not cast_first and self_ and not D.can_cast(dt, dt_in):
        raise RuntimeError(f"result type {dt._short} can't be cast to the desired output type {D.CPP_NAMES[dt_in]}")
    if self_:
        _check_written(dst)
    if dst is not None and not self_:
        _check_out_dtype(name, "strict", dst, dt, dt)
    if dt is D.bool or dt.few and not dt.kind:   # (uint16/32/64)
        kernel = "clamp" if lo is not None and hi is not None else "clamp_min" if lo is not None else "clamp_max"
        raise NotImplementedError(f"\"{kernel}_scalar_cpu\" not implemented for '{dt._short}'")
    return dt, *(None if b is None else _clamp_bound(b, dt) for b in (lo, hi))


def _clamp(name: str, input: Tensor, lo: Any, hi: Any, out: Tensor | None) -> Tensor:
    if out is not None:
        _tensor_arg(input, name, "input", 1)
        check_out_grad(name, out, input, lo, hi)
    dt, lo, hi = _clamp_dtype(name, input, lo, hi, out, out is input)   # out=input: in-place rules
    xp = _xp(input)
    r = _array(input, input, dt)
    try:
        if lo is not None:
            r = xp.maximum(r, _array(lo, input, dt))
        if hi is not None:
            r = xp.minimum(r, _array(hi, input, dt))
    except ValueError:
        raise broadcast_error(input._data.shape, _shape(lo if _isinstance(lo, Tensor) else hi)) from None
    if not input._data.flags.c_contiguous:
        r = follow_first(r, input._data, xp)
    res = _finish(r, dt, input._device)
    if STATE.enabled and (input._rg or _rg(lo) or _rg(hi)):
        if _isinstance(lo, Tensor) or _isinstance(hi, Tensor):
            cls, keep = _TENSOR_CLAMP[name]
            node = cls()
            operands = (input, lo, hi)
            record(res, node, tuple(operands[i] for i in keep))
            node.save(*operands)
        else:
            node = _SCALAR_CLAMP[name]()
            record(res, node, (input,))
            node.save(input, None)
            node.params = (lo, hi)
    return write_out(out, res, name) if out is not None else res


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Tensor | None = None) -> Tensor:
    """Limit values to ``[min, max]`` (each bound None, a number or a tensor; ``max`` wins if they cross)."""
    return _clamp("clamp", input, min, max, out)


def clamp_min(input: Tensor, min: Any, *, out: Tensor | None = None) -> Tensor:
    return _clamp("clamp_min", input, min, None, out)


def clamp_max(input: Tensor, max: Any, *, out: Tensor | None = None) -> Tensor:
    return _clamp("clamp_max", input, None, max, out)


def _clamp_inplace(self: Tensor, name: str, lo: Any, hi: Any) -> Tensor:
    if _isinstance(self, Tensor):
        _clamp_dtype(name, self, lo, hi, self, True)
    return inplace_via(self, lambda x, lo, hi: _clamp(name, x, lo, hi, None), lo, hi)


def clamp_(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    return _clamp_inplace(input, "clamp", min, max)


def clamp_min_(input: Tensor, min: Any) -> Tensor:
    return _clamp_inplace(input, "clamp_min", min, None)


def clamp_max_(input: Tensor, max: Any) -> Tensor:
    return _clamp_inplace(input, "clamp_max", None, max)


clip, clip_ = clamp, clamp_
bind({"clamp": clamp, "clamp_": clamp_, "clip": clamp, "clip_": clamp_, "clamp_min": clamp_min,
      "clamp_max": clamp_max, "clamp_min_": clamp_min_, "clamp_max_": clamp_max_})


# ---- three-operand ops: lerp, addcmul, addcdiv -------------------------------------------------------------
def _ternary(name: str, node_cls: type[Node] | None, operands: tuple, dt: D.dtype, fwd: Callable,
             params: tuple, out: Tensor | None, saves: Callable | None = None) -> Tensor:
    """Broadcast three operands (tensors or scalars) in dtype ``dt``, apply ``fwd(xp, a, b, c, *params)``
    and record ``node_cls`` with the operands (and params) saved: those ``saves(*requires_grad)`` selects (as
    torch saves only what the gradients asked for read), all without it."""
    like = operands[0]
    xp = _xp(like)
    arrays = [_array(x, like, dt) for x in operands]
    try:
        r = fwd(xp, *arrays, *params)
    except ValueError:
        broadcast_shapes(*(_shape(x) for x in operands))
        raise
    if out is not None:
        _check_out(out, *operands)
    res = _finish(follow_first(r, arrays[0], xp), dt, like._device)
    if node_cls is not None and STATE.enabled and builtins.any(_rg(x) for x in operands):
        node = node_cls()
        record(res, node, operands)
        if saves is None:
            node.save(*operands)
        else:
            node.save(*[x if s else None for x, s in zip(operands, saves(*[_rg(x) for x in operands]), strict=True)])
        node.params = params
    return write_out(out, res, name) if out is not None else res


def _lerp_fwd(xp: Any, a: Any, b: Any, w: Any, number: Any = None) -> Any:
    """torch's two-sided formula, exact at both ends, each side one fused multiply-add as in its vectorised
    CPU kernel (emulated in a wider dtype). A ``number`` weight goes to the compute dtype directly."""
    if number is not None:
        w = number
    dtype = getattr(b - a, "dtype", None)
    half = dtype is not None and dtype.itemsize == 2 and dtype.kind in "fV"
    if half:   # 16-bit floats compute in float32 (torch's opmath type), rounded once at the end
        a, b = a.astype(np.float32), b.astype(np.float32)
    diff = b - a
    wide = wide_dtype(diff) if dtype is not None else None
    if wide is None:
        return xp.where(xp.abs(w) < 0.5, a + w * diff, b - diff * (1 - w))
    ww = xp.asarray(w, dtype=diff.dtype).astype(wide)   # a number weight: cast to the (opmath) dtype first
    near = xp.multiply(ww, diff, dtype=wide) + a   # (not in place: 0-d operands give NumPy scalars)
    far = b - xp.multiply(diff, 1 - ww, dtype=wide)
    res = xp.where(xp.abs(ww) < 0.5, near, far).astype(diff.dtype)
    return res.astype(dtype) if half else res


def _lerp_grad(g: Tensor, a: Tensor, b: Tensor, w: Any) -> tuple:
    return (g * _c(1 - w) if _rg(a) else None, g * _c(w) if _rg(b) else None,
            g * _c(b - a) if _rg(w) else None)


LerpBackward0 = node_class("LerpBackward0", lambda self, g: _lerp_grad(g, *self.saved))
LerpBackward1 = node_class("LerpBackward1", lambda self, g: _lerp_grad(g, *self.saved))


def lerp(input: Tensor, end: Tensor, weight: Any, *, out: Tensor | None = None) -> Tensor:
    """``input + weight * (end - input)`` (weight a number or a tensor of the same dtype)."""
    _tensor_arg(input, "lerp", "input", 1)
    _tensor_arg(end, "lerp", "end", 2)
    tensor_w = _isinstance(weight, Tensor)
    # a 0-d weight may have another dtype (it acts as a number)
    for what, t in (("end", end), ("weight", weight if tensor_w and weight._data.ndim else None)):
        if t is not None and t._dtype is not input._dtype:
            raise RuntimeError(f"expected dtype {D.CPP_NAMES[input._dtype]} for `{what}` but got dtype "
                               f"{D.CPP_NAMES[t._dtype]}")
    dt = result_dtype(input, end, weight) if tensor_w else input._dtype   # (a 0-d weight's dtype may win)
    if dt.category < 2:
        raise_denied(ni("lerp_kernel_tensor" if tensor_w else "lerp_kernel_scalar"), dt)
    if tensor_w:
        return _ternary("lerp", LerpBackward1, (input, end, weight), dt, _lerp_fwd, (), out)
    weight = _opmath_number(weight, dt)
    return _ternary("lerp", LerpBackward0, (input, end, weight), dt, _lerp_fwd, (weight,), out)


def lerp_(self: Tensor, end: Tensor, weight: Any) -> Tensor:
    return inplace_via(self, lerp, end, weight)


def _opmath_number(value: Any, dt: D.dtype) -> Any:
    """A number argument as torch's kernels for ``dt`` take it: converted (checked) to the type they compute
    in (float32 for 16-bit floats); a complex number fits a real type only without an imaginary part."""
    if dt.is_complex or type(value) is bool:
        return value
    op = D.float32 if dt.itemsize == 2 and dt.category == 2 else dt
    if _isinstance(value, (_py_complex, np.complexfloating)):
        if value.imag:
            name = "double" if op is D.float64 else D._C_TYPES[op.name]
            raise RuntimeError(f"value cannot be converted to type {name} without overflow")
        value = value.real
    return _checked_number(value.item() if _isinstance(value, np.generic) else value, op)


def _addc_value(dt: D.dtype, value: Any) -> Any:
    return _opmath_number(value, dt)


def _addcmul_grad(g: Tensor, a: Any, t1: Tensor | None, t2: Tensor | None, value: Any) -> tuple:
    """(Each tensor is saved for the other's gradient; the engine drops the gradients not needed.)"""
    return g, g * _c(t2 * value) if t2 is not None else None, g * _c(t1 * value) if t1 is not None else None


def _addcdiv_grad(g: Tensor, a: Any, t1: Tensor | None, t2: Tensor | None, value: Any) -> tuple:
    """(``tensor1`` is saved only for ``tensor2``'s gradient.)"""
    return (g, g * _c(value / t2) if t2 is not None else None,
            -g * _c(t1 * value / (t2 * t2)) if t1 is not None else None)


AddcmulBackward0 = node_class("AddcmulBackward0", lambda self, g: _addcmul_grad(g, *self.saved, *self.params))
AddcdivBackward0 = node_class("AddcdivBackward0", lambda self, g: _addcdiv_grad(g, *self.saved, *self.params))


def _addc_fwd(mul: bool) -> Callable:
    """``a + v * b * c`` (or ``/ c``) as torch's kernels: 16-bit floats in float32 (opmath) rounded at the end;
    for real floats addcmul's last step is a fused multiply-add ``fma(v * b, c, a)`` (emulated)."""
    def fwd(xp: Any, a: Any, b: Any, c: Any, v: Any) -> Any:
        dtype = a.dtype
        if dtype in _HALF_NP:
            a, b, c = a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)
        r = _fma(xp, v * b, c, a) if mul and a.dtype.kind == "f" else a + (v * b * c if mul else v * b / c)
        return r.astype(dtype) if dtype in _HALF_NP else r
    return fwd


def _addc(name: str, input: Tensor, tensor1: Tensor, tensor2: Tensor, value: Any,
          out: Tensor | None) -> Tensor:
    _tensor_arg(input, name, "input", 1)
    _tensor_arg(tensor1, name, "tensor1", 2)
    _tensor_arg(tensor2, name, "tensor2", 3)
    dt = result_dtype(input, tensor1, tensor2)
    if name == "addcdiv":
        if tensor1._dtype.category < 2 and tensor2._dtype.category < 2:
            raise RuntimeError(
                "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will "
                "perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "
                "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer "
                "inputs and as (input + value * tensor1 / tensor2) for float inputs. The future addcdiv "
                "behavior is just the latter implementation: (input + value * tensor1 / tensor2), for all "
                "dtypes.")
        return _ternary(name, AddcdivBackward0, (input, tensor1, tensor2), dt,
                        _addc_fwd(False), (_addc_value(dt, value),), out,
                        lambda ra, r1, r2: (False, r2, r1 or r2))
    if dt is D.bool:
        raise_denied(ni("addcmul_cpu_out"), dt)
    no_unsigned_kernel("addcmul_cpu_out", dt)
    return _ternary(name, AddcmulBackward0, (input, tensor1, tensor2), dt,
                    _addc_fwd(True), (_addc_value(dt, value),), out,
                    lambda ra, r1, r2: (False, r2, r1))


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1,
            out: Tensor | None = None) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    return _addc("addcmul", input, tensor1, tensor2, value, out)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1,
            out: Tensor | None = None) -> Tensor:
    """``input + value * tensor1 / tensor2`` (refused when both tensors are integer)."""
    return _addc("addcdiv", input, tensor1, tensor2, value, out)


def addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    return inplace_via(self, addcmul, tensor1, tensor2, value=value)


def addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    return inplace_via(self, addcdiv, tensor1, tensor2, value=value)


bind({"lerp": lerp, "lerp_": lerp_, "addcmul": addcmul, "addcmul_": addcmul_, "addcdiv": addcdiv,
      "addcdiv_": addcdiv_, "add": add, "add_": add_, "sub": sub, "sub_": sub_, "subtract": sub,
      "subtract_": sub_, "div": div, "div_": div_, "divide": div, "divide_": div_, "multiply": mul,
      "multiply_": mul._inplace, "isclose": isclose, "allclose": allclose, "equal": equal})  # type: ignore


def result_type(tensor: Any, other: Any) -> D.dtype:
    """The dtype an arithmetic op on ``tensor`` and ``other`` (tensors or numbers) would produce."""
    for x in (tensor, other):
        if not _isinstance(x, Tensor):
            operand(x)
    return result_dtype(tensor, other)


# torch.<name>_ functions that exist for these ops
_TORCH_INPLACE = ("abs neg negative exp exp2 expm1 log log2 log10 log1p sqrt rsqrt square reciprocal sin cos "
                  "tan asin acos atan arcsin arccos arctan sinh cosh tanh asinh acosh atanh arcsinh arccosh "
                  "arctanh sigmoid logit floor ceil trunc fix frac round clamp clip clamp_min clamp_max "
                  "nan_to_num gcd lcm "
                  "xlogy deg2rad rad2deg conj_physical relu ldexp sinc").split()
for _n in _TORCH_INPLACE:
    globals()[_n + "_"] = getattr(Tensor, _n + "_")

# ---- torch's Tensor-Scalar overloads, as its C++ composites record them ----------------------------------
# Python's ``t + 0.5`` records AddBackward0 with an edge for the wrapped number; torch's own composites (losses,
# norms, attention) call the Scalar overloads, whose nodes have one edge. These serve ember's versions of them.
AddBackward1 = node_class("AddBackward1", lambda self, g: (g,))
SubBackward1 = node_class("SubBackward1", lambda self, g: (g,))
MulBackward1 = node_class("MulBackward1", lambda self, g: (g * _conj_scalar(self.params[0]),))
DivBackward1 = node_class("DivBackward1", lambda self, g: (g / _conj_scalar(self.params[0]),))


def _conj_scalar(s: Any) -> Any:
    return s.conjugate() if type(s) is complex else s


def _scalar_overload(node_cls: type[Node], t: Tensor, s: Any, arr: Any) -> Tensor:
    res = new_tensor(arr, result_dtype(t, s), t._device)
    if STATE.enabled and t._rg:
        node = node_cls()
        node.params = (s,)
        record(res, node, (t,))
    return res


def add_scalar(t: Tensor, s: Any) -> Tensor:
    """``t + s`` for a Python number ``s``, recorded as torch's add(Tensor, Scalar) (``AddBackward1``)."""
    return _scalar_overload(AddBackward1, t, s, t.detach().add(s)._data)


def sub_scalar(t: Tensor, s: Any) -> Tensor:
    """``t - s`` for a Python number ``s``, recorded as torch's sub(Tensor, Scalar) (``SubBackward1``)."""
    return _scalar_overload(SubBackward1, t, s, t.detach().sub(s)._data)


def mul_scalar(t: Tensor, s: Any) -> Tensor:
    """``t * s`` for a Python number ``s``, recorded as torch's mul(Tensor, Scalar) (``MulBackward1``)."""
    return _scalar_overload(MulBackward1, t, s, t.detach().mul(s)._data)


def div_scalar(t: Tensor, s: Any) -> Tensor:
    """``t / s`` for a Python number ``s``, recorded as torch's div(Tensor, Scalar) (``DivBackward1``)."""
    return _scalar_overload(DivBackward1, t, s, t.detach().div(s)._data)


def scalar_minus(s: Any, t: Tensor) -> Tensor:
    """``s - t`` as torch's C++ composites compute it: the number wrapped as a 0-d tensor (``SubBackward0``
    with no edge for it)."""
    return new_tensor(_xp(t).asarray(s, dtype=t._dtype.np), t._dtype, t._device) - t


__all__ = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "rsub",
    "remainder", "fmod", "pow", "float_power", "square", "ldexp", "frexp", "maximum", "minimum", "fmax",
    "fmin", "atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "copysign", "nextafter", "xlogy",
    "heaviside", "gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_left_shift", "bitwise_right_shift", "logical_and", "logical_or", "logical_xor", "logical_not",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
    "isclose", "allclose", "equal", "neg", "negative", "abs", "absolute", "exp", "exp2", "expm1", "log",
    "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan",
    "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh",
    "arctanh", "sigmoid", "logit", "sign", "sgn", "signbit", "floor", "ceil", "trunc", "fix", "frac",
    "round", "relu", "positive", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal", "deg2rad",
    "rad2deg", "sinc", "nan_to_num", "angle", "conj", "conj_physical", "resolve_conj", "resolve_neg", "real",
    "_neg_view",
    "imag", "complex", "polar", "clamp", "clip", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv",
    "result_type", *(n + "_" for n in _TORCH_INPLACE),
]
