"""The op machinery shared by every operator: operand conversion, promotion, device checks, recording
the autograd node, ``out=``, and in-place variants.

An op's forward is written once against the array namespace ``xp`` (NumPy or CuPy); its backward is a
:class:`~ember.autograd.graph.Node` subclass next to it, written with ember ops so it is itself
differentiable. Broadcast reduction and dtype casting of gradients are done by the engine from the
``(shape, dtype)`` metadata that :func:`record` stores.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from types import FunctionType
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU, xp_of
from .._core.warn import _TRANSPARENT, transparent, warn
from .._tensor import _INFERENCE, Tensor, from_array, wrap_dim, zeros_of
from ..autograd import forward_ad as _fw
from ..autograd.grad_mode import STATE
from ..autograd.graph import (
    Node,
    SavedOutput,
    _strip_backward,
    grad_edge,
    move_retain_grad,
    multi_output_view_error,
)

__all__ = ["Tensor", "Node", "record", "tie", "needs_grad", "result_dtype", "operand", "bind", "wrap_dim", "xp_of",
           "from_array", "factory_requires_grad", "make_node_class", "inplace", "write_out", "check_out_grad",
           "no_unsigned_kernel",
           "out_dtype_error", "check_same_device",
           "scalar_for", "torch_names"]

_isinstance = isinstance
_FW = _fw.ACTIVE   # a forward-AD level is active: record takes record_dual's path
_scalar_types = (int, float, bool, complex)


def needs_grad(*tensors: Any) -> bool:
    """True when grad mode is on and some tensor operand requires grad."""
    if not STATE.enabled:
        return False
    for t in tensors:
        if _isinstance(t, Tensor) and t._rg:
            return True
    return False


def record(out: Tensor | Sequence[Tensor], node: Node, inputs: Sequence[Any]) -> Node:
    """Link ``node`` as ``grad_fn`` of ``out`` with edges to the tensor ``inputs`` (others get no edge).

    For a view the node also notes the version of its memory (``_vv``): once the base or another view
    is modified in place, the engine regenerates the view's history from its base's (as torch does).
    """
    if _FW[0] and not _record_dual(out, node, inputs):
        return node
    edges = []
    meta = []
    for t in inputs:
        if _isinstance(t, Tensor):
            fn = t._grad_fn
            # the common edges inline (a non-view's grad_fn; no history), the rest through grad_edge
            if fn is not None and t._base is None:
                edges.append((fn, t._output_nr))
            elif fn is None and not t._rg:
                edges.append(None)
            else:
                edges.append(grad_edge(t))
            meta.append((t._data.shape, t._dtype))
        else:
            edges.append(None)
            meta.append(None)
    node._next = edges   # lists: the engine only iterates and indexes them
    node._meta = meta
    if _isinstance(out, Tensor):
        if out._dtype.category < 2:   # (an integer dtype= of a reduction or scan, as torch's set_history)
            raise RuntimeError(f"Autograd not support dtype: {out._dtype._short}")
        out._grad_fn = node
        out._rg = True
        if out._base is not None:
            node._vv = out._vc[0]
    else:
        node._n_outputs = len(out)
        node._out_meta = tuple((o._data.shape, o._dtype, o._device) for o in out)
        for i, o in enumerate(out):
            if o is not None and (o._dtype.is_floating_point or o._dtype.is_complex):
                o._grad_fn = node
                o._output_nr = i
                o._rg = True
                if o._base is not None:
                    node._vv = o._vc[0]
    return node


class _Tie(Node):
    """A gradient computed in some node's backward, passed through, and zero (or undefined) toward that node's
    inputs, or torch's error for a backward kernel torch cannot differentiate."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        if self.error is not None:
            raise self.error[0](self.error[1])
        return (g, *(None if z else zeros_of(m[0], m[1], g._device)
                     for z, m in zip(self.undefined, self._meta[1:], strict=True)))


_TIES: dict[str, type[Node]] = {}


def tie(out: Tensor, owner: Node, name: str, inputs: Sequence[int] = (0,),
        error: tuple[type[Exception], str] | None = None, undefined: Sequence[int] = ()) -> Tensor:
    """``out``, a gradient computed by ``owner``'s backward, depending also on ``owner``'s ``inputs`` (their
    positions) while a graph of the gradient is built. torch's backward kernels that take the forward's input
    (pooling, padding, nll_loss, the normalisations...) give gradients that require grad whenever that input
    does, differentiating to zeros there (no gradient at all for the positions in ``undefined``, whose torch
    formula gives none), or raising ``error``; the grad_fn is called ``name``. Without ``create_graph`` nothing
    is done, nor under forward AD (the tie's tangent is ``out``'s)."""
    if not STATE.grad or _FW[0]:
        return out
    inputs = [i for i in inputs if owner._next[i] is not None]
    if not inputs and (error is None or not out._rg):
        return out
    cls = _TIES.get(name)
    if cls is None:
        cls = _TIES[name] = type(name, (_Tie,), {"__slots__": ()})
    res = out
    if out._rg:   # an alias: one memory, one version counter (an in-place change of it is seen by out's savers)
        res = new_tensor(out._data, out._dtype, out._device)
        res._vc = out._vc
    node = record(res, cls(), (out,))
    node._next.extend(owner._next[i] for i in inputs)
    node._meta.extend(owner._meta[i] for i in inputs)
    node.error = error
    node.undefined = [i in undefined for i in inputs]
    return res


def _record_dual(out: Tensor | Sequence[Tensor], node: Node, inputs: Sequence[Any]) -> bool:
    """:func:`record`'s part while a forward-AD level is active: the outputs get their tangents. Returns
    whether some input really requires grad (then record links ``node`` as usual: dual tensors that only carry
    a tangent get no edge); if not, the outputs get no grad_fn and ``node`` only serves the tangents."""
    grad = STATE.grad
    real = grad and any(_isinstance(t, Tensor) and t._rg and not t._fw_only for t in inputs)
    if not real:
        node._next = [None] * len(inputs)
        node._meta = [(t._data.shape, t._dtype) if _isinstance(t, Tensor) else None for t in inputs]
        if not _isinstance(out, Tensor):
            node._n_outputs = len(out)
            node._out_meta = tuple((o._data.shape, o._dtype, o._device) for o in out)
    _fw.record_dual(out, node, inputs, real)
    if not grad:
        _no_grad_views(out, inputs)
    return real


def _no_grad_views(out: Tensor | Sequence[Tensor], inputs: Sequence[Any]) -> None:
    """Under no_grad (with a level active, so the op recorded its tangents): a view of a tensor that requires
    grad still requires grad, as a leaf that in-place ops refuse (what views do under no_grad anyway)."""
    for o in (out,) if _isinstance(out, Tensor) else out:
        if o is None or o._base is None:
            continue
        for t in inputs:
            if (_isinstance(t, Tensor) and t._rg and not t._fw_only and (t is o._base or t._base is o._base)
                    and (o._dtype.is_floating_point or o._dtype.is_complex)):
                o._rg = True
                o._no_grad_view = True
                o.__dict__.pop("_fw_only", None)
                break


_UNIMPLEMENTED: dict[tuple[str, str], type[Node]] = {}


def unimplemented_node(name: str, op: str) -> Node:
    """A node named ``name`` for an op torch records but cannot differentiate: its backward raises torch's
    ``NotImplementedError`` naming ``op``."""
    cls = _UNIMPLEMENTED.get((name, op))
    if cls is None:
        def backward(node: Node, *grads: Any) -> tuple:
            raise NotImplementedError(f"the derivative for '{op}' is not implemented.")
        cls = _UNIMPLEMENTED[(name, op)] = make_node_class(name, backward)
    return cls()


def make_node_class(name: str, backward: Callable, saves: int = 0) -> type[Node]:
    """A Node subclass named like torch's (``ExpBackward0``) whose backward is ``backward(node, grad)``."""
    return type(name, (Node,), {"__slots__": (), "backward": backward, "__module__": "torch.autograd.graph"})


# ---- dtypes of operands ------------------------------------------------------------------------------
def operand(x: Any, name: str = "other") -> Any:
    """Validate a non-self operand: a Tensor or a Python/NumPy scalar."""
    if _isinstance(x, Tensor) or type(x) in _scalar_types:
        return x
    if _isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"unsupported operand type for {name}: '{type(x).__name__}'")


def result_dtype(*operands: Any) -> D.dtype:
    """torch's result_type over tensors and Python scalars (tiers: dims > 0-d > scalars)."""
    dims: list[D.dtype] = []
    zero: list[D.dtype] = []
    scal: list[D.dtype] = []
    for x in operands:
        if _isinstance(x, Tensor):
            (dims if x._data.ndim else zero).append(x._dtype)
        elif type(x) is int:   # (one only uint64 holds is a uint64 Scalar in torch's promotion)
            scalar_range(x)
            scal.append(D.uint64 if x >= 1 << 63 else D.int64)
        elif x is not None:
            scal.append(D.scalar_dtype(x))
    return D.result_type_of(dims, zero, scal)


def _weak(da: D.dtype, s: Any) -> D.dtype | None:
    """The result dtype of a tensor of ``da`` with Python scalar ``s`` when the tensor's dtype wins."""
    ts = type(s)
    if ts is float:
        return da if da.category >= 2 else None
    if ts is int:
        return da if da.category >= 1 else None
    if ts is bool:
        return da
    return None


def binary_dtype(a: Any, b: Any) -> D.dtype:
    """Fast path of :func:`result_dtype` for two operands (the common case)."""
    if _isinstance(a, Tensor):
        if _isinstance(b, Tensor):
            if a._dtype is b._dtype:
                return a._dtype
        else:
            r = _weak(a._dtype, b)
            if r is not None:
                return r
    elif _isinstance(b, Tensor):
        r = _weak(b._dtype, a)
        if r is not None:
            return r
    return result_dtype(a, b)


def scalar_range(value: int) -> None:
    """torch's OverflowError for a Python int no Scalar holds (beyond int64 and uint64), raised by its argument
    parser before anything else."""
    if not -(1 << 63) <= value < 1 << 64:
        raise OverflowError("int too big to convert" if value > 0 else "can't convert negative int to unsigned")


def scalar_for(value: Any, dtype: D.dtype) -> Any:
    """A Python scalar ready to meet an array of ``dtype``: ints out of range wrap as in torch (beyond int64
    and uint64 no torch Scalar holds them: its OverflowError); for float16 the float32 it passes through
    (c10::Half converts only from float)."""
    if type(value) is int:
        scalar_range(value)
    if dtype is D.float16 and (type(value) is float or type(value) is int):
        with np.errstate(over="ignore"):
            return float(np.float32(value))
    if type(value) is int and dtype.category == 1:
        info = np.iinfo(dtype.np)
        if not info.min <= value <= info.max:
            bits = dtype.itemsize * 8
            value &= (1 << bits) - 1
            if dtype.is_signed and value >= 1 << (bits - 1):
                value -= 1 << bits
    return value


def check_same_device(a: Tensor, b: Tensor) -> None:
    """torch's error for mixing devices (0-d CPU tensors may join any device)."""
    if a._device is not b._device:
        if (b._device is CPU and b._data.ndim == 0) or (a._device is CPU and a._data.ndim == 0):
            return
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a._device} and {b._device}!")


def array_of(x: Any, like: Tensor, dtype: D.dtype) -> Any:
    """The backend value of operand ``x`` to combine with ``like`` (tensors: their array; scalars: as is)."""
    if _isinstance(x, Tensor):
        if x._device is not like._device:
            check_same_device(like, x)
            return x._data.item() if x._device is CPU else x._data.get()[()]
        return x._data
    return scalar_for(x, dtype)


def broadcast_error(a_shape: tuple, b_shape: tuple) -> RuntimeError:
    """torch's message for shapes that do not broadcast."""
    na, nb = len(a_shape), len(b_shape)
    n = max(na, nb)
    for i in range(1, n + 1):
        sa = a_shape[-i] if i <= na else 1
        sb = b_shape[-i] if i <= nb else 1
        if sa != sb and sa != 1 and sb != 1:
            return RuntimeError(f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                                f"non-singleton dimension {n - i}")
    return RuntimeError(f"shapes {list(a_shape)} and {list(b_shape)} cannot be broadcast")


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The broadcast of several shapes, with torch's error text."""
    out: list[int] = []
    for shape in shapes:
        shape = tuple(shape)
        if len(shape) > len(out):
            out = [1] * (len(shape) - len(out)) + out
        for i in range(1, len(shape) + 1):
            s, o = shape[-i], out[-i]
            if s == o or s == 1:
                continue
            if o == 1:
                out[-i] = s
            else:
                raise broadcast_error(tuple(out), shape)
    return tuple(out)


# ---- out= and in-place ---------------------------------------------------------------------------------
def _cast_error(src: D.dtype, dst: D.dtype) -> RuntimeError:
    return RuntimeError(f"result type {src._short} can't be cast to the desired output type {dst._short}")


def write_out(out: Tensor, result: Tensor, op: str | None = None,
              dtype_error: Callable[[D.dtype, D.dtype], Exception] | None = None, grad_check: bool = True) -> Tensor:
    """Copy ``result`` into the user's ``out=`` tensor (resizing it as torch does) and return ``out``.

    ``op`` names the operator in torch's error for ``out=`` with inputs that require grad; without it the
    name comes from the result's grad_fn (``MmBackward0`` → ``mm``). ``dtype_error`` (result's dtype, out's
    dtype → exception), when given, makes ``out`` need exactly the result's dtype, as torch's kernels that
    refuse even a widening cast (``out_dtype_error`` is their common message). ``grad_check=False``: an op
    torch's autograd layer does not check (not differentiable, or checked before by :func:`check_out_grad`).
    """
    if not _isinstance(out, Tensor):
        raise TypeError(f"argument 'out' must be Tensor, not {type(out).__name__}")
    if grad_check and STATE.enabled and (out._rg or result._rg):
        history = (out._rg and not out._fw_only) or (result._rg and not result._fw_only)
        if history and STATE.grad:
            raise _out_grad_error(op or _op_name(result))
        if out._fw_only or result._fw_only:   # dual tensors
            raise NotImplementedError(f"Trying to use forward AD with {op or _op_name(result)}_out that does not "
                                      "support it because it is an out= function")
    if dtype_error is not None and out._dtype is not result._dtype:
        raise dtype_error(result._dtype, out._dtype)
    if not D.can_cast(result._dtype, out._dtype):
        raise _cast_error(result._dtype, out._dtype)
    if _FW[0]:
        _fw.flush()   # pending tangents may depend on out's values
    if out._data.shape != result._data.shape:
        if out._data.size:
            warn("An output with one or more elements was resized since it had shape "
                 f"{list(out._data.shape)}, which does not match the required output shape "
                 f"{list(result._data.shape)}. This behavior is deprecated, and in a future PyTorch release "
                 "outputs will not be resized unless they have zero elements. You can explicitly reuse an "
                 "out tensor t by resizing it, inplace, to zero elements with t.resize_(0).",
                 UserWarning, stacklevel=3)
        out._data = xp_of(out._device).empty(result._data.shape, out._dtype.np)
        out._base = None
    _assign(out._data, result._data)   # an expanded out: torch's overlap error
    out._vc[0] += 1
    return out


def out_dtype_error(want: D.dtype, got: D.dtype) -> RuntimeError:
    """torch's error for an ``out=`` of another dtype than a structured kernel's result."""
    from .matmul import cpp_name
    return RuntimeError(f"Expected out tensor to have dtype {cpp_name(want)}, but got {cpp_name(got)} instead")


def _op_name(result: Tensor) -> str:
    """The name of the op that made ``result`` (see :func:`node_op`)."""
    fn = result._grad_fn or _fw.node_of(result)
    return "op" if fn is None else node_op(type(fn).__name__)


def node_op(node: str) -> str:
    """``add`` from ``AddBackward0``, ``log_softmax`` from ``LogSoftmaxBackward0``: the op torch's autograd
    layer names in its errors."""
    name = node[:node.rfind("Backward")] if "Backward" in node else node
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _out_grad_error(op: str) -> RuntimeError:
    return RuntimeError(f"{op}(): functions with out=... arguments don't support automatic differentiation, but one "
                        "of the arguments requires grad.")


def no_unsigned_kernel(kernel: str, dt: D.dtype) -> None:
    """torch's NotImplementedError for an op whose CPU kernel (``kernel``, as torch's message names it) has no
    version for ``dt`` when that is uint16, uint32 or uint64 (torch's "barebones" unsigned types: few kernels)."""
    if dt.few and not dt.kind:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")


def check_out_grad(op: str, out: Any, *inputs: Any) -> None:
    """torch's refusal of ``out=`` for a differentiable op when ``out`` or an input requires grad (grad mode on),
    raised before the kernel's own checks of ``out`` (dtype, shape, overlap): torch's autograd layer runs first.
    ``op``: the name torch's autograd layer gives (``div`` for ``true_divide``)."""
    if STATE.enabled and STATE.grad:
        for t in (out, *inputs):
            if _isinstance(t, Tensor) and t._rg and not t._fw_only:
                raise _out_grad_error(op)


def check_inplace(t: Tensor) -> None:
    """torch's errors for in-place ops on leaves (or views of leaves) that require grad, and on inference
    tensors outside inference mode."""
    if _FW[0]:
        _fw.flush()   # pending tangents first: they depend on the values about to change
    if STATE.grad:
        if t._no_grad_view:   # made under no_grad, or (with a grad_fn) a view of such a view
            what = "A view" if t._grad_fn is None else \
                f"Output {t._output_nr} of {_strip_backward(type(t._grad_fn).__name__)} is a view of a view which"
            raise RuntimeError(f"{what} was created in no_grad mode and is being modified inplace with grad mode "
                               "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
                               "You can clarify your code by moving both the view and the inplace either both "
                               "inside the no_grad block (if you don't want the inplace to be tracked) or both "
                               "outside (if you want the inplace to be tracked).")
        if t._rg and t._grad_fn is None and not t._fw_only:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if t._multi_output_view and t._grad_fn is not None:
            raise multi_output_view_error(t, "is being modified inplace")
        base = t._base
        if base is not None and base._rg and base._grad_fn is None and not base._fw_only:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
    if _INFERENCE[0] and not STATE.inference and t.is_inference():
        raise RuntimeError("Inplace update to inference tensor outside InferenceMode is not allowed.You can "
                           "make a clone to get a normal tensor before doing inplace update.See "
                           "https://github.com/pytorch/rfcs/pull/17 for more details.")


def inplace(self: Tensor, result: Tensor) -> Tensor:
    """Write an out-of-place ``result`` into ``self`` and move ``self``'s autograd history onto it.

    Used when autograd must record the in-place op: the result's node becomes ``self``'s ``grad_fn``;
    when ``self`` is a view, its base's history is rebased through a CopySlices node, as in torch.
    """
    if result._data.shape != self._data.shape:
        raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                           f"{list(result._data.shape)}")
    if not D.can_cast(result._dtype, self._dtype):
        raise _cast_error(result._dtype, self._dtype)
    fw = _FW[0]
    if fw:
        _fw.flush()
    _assign(self._data, result._data)
    self._vc[0] += 1
    if fw:
        _fw.inplace_tangent(self, result)
    node = result._grad_fn
    if node is None:
        return self
    if fw:
        self.__dict__.pop("_fw_only", None)
        if self._base is not None:
            self._base.__dict__.pop("_fw_only", None)
    _retarget_saved_output(node, result, self)
    old_fn, old_nr = self._grad_fn, self._output_nr
    base = self._base
    if base is not None:
        from .views import rebase_view
        rebase_view(self, node)
        self._grad_fn._vv = self._vc[0]
    else:
        self._grad_fn = node
        self._output_nr = result._output_nr
        self._rg = True
    move_retain_grad(self, old_fn, old_nr)
    return self


def _retarget_saved_output(node: Node, result: Tensor, self: Tensor) -> None:
    """The op saved its out-of-place result; after the in-place write that is ``self``: save ``self``
    instead (no extra copy kept, and later in-place changes to ``self`` are detected, as in torch)."""
    saved = node._saved
    if not saved:
        return
    vc = result._vc
    for i, s in enumerate(saved):
        if type(s) is SavedOutput and s._vc is vc:
            s.data, s._vc = self._data, self._vc
            node._versions = (*node._versions[:i], self._vc[0], *node._versions[i + 1:])


def writable_alias(view: Any, overlapping: bool = False) -> Any:
    """A writable array over the memory of read-only NumPy ``view`` (part of an expanded tensor) when torch
    writes there: no dim of ``view`` repeats its elements (stride 0, size above 1; other overlaps are too hard
    for torch to see) — or whatever its layout, ``overlapping``: for writes of one value, as torch's fill_ —
    else None."""
    if type(view) is not np.ndarray or not view.size or not overlapping and any(
            st == 0 and n > 1 for st, n in zip(view.strides, view.shape, strict=True)):
        return None   # (an empty view: nothing to write)
    root = view
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.writeable and root.flags.c_contiguous):
        return None
    offset = view.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(view.shape, view.dtype, buffer=root, offset=offset, strides=view.strides)


def _assign(dst: Any, src: Any) -> None:
    if not dst.size:   # nothing to write (NumPy refuses even that into an empty expanded view)
        return
    try:
        dst[...] = src
    except ValueError as e:
        if "read-only" in str(e):
            raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers "
                               "to a single memory location. Please clone() the tensor before performing the "
                               "operation.") from None
        raise


def history_alias(t: Tensor) -> Tensor:
    """A snapshot of ``t`` (copied values, same autograd history) for an in-place op to differentiate."""
    a = from_array(t._data.copy(), t._dtype, t._device)
    a._grad_fn = t._grad_fn
    a._output_nr = t._output_nr
    a._rg = t._rg
    if _FW[0]:   # and a copy of its tangent (a dual tensor stays one; the write then updates t's tangent in place)
        tangent = _fw.tangent_of(t)
        if tangent is not None:
            _fw.set_tangent(a, _fw.snapshot(tangent))
            a._fw_only = t._fw_only
    return a


def factory_requires_grad(t: Tensor) -> Tensor:
    """Make a freshly created tensor require grad, with the text torch's factories use for a bad dtype
    (it differs from ``Tensor.requires_grad_``'s)."""
    t._set_requires_grad(True, "Only Tensors of floating point and complex dtype can require gradients")
    return t


def torch_names(fn: Callable, names: Sequence[str]) -> Callable:
    """``fn`` (one body generated for many ops) with its leading parameters renamed to ``names``, the keywords
    torch's binding of that op takes (``special.airy_ai(x=)``, ``sparse_csr_tensor(crow_indices=)``)."""
    if names:
        code = fn.__code__
        fn.__code__ = code.replace(co_varnames=tuple(names) + code.co_varnames[len(names):])
        renamed = dict(zip(code.co_varnames[:len(names)], names, strict=True))
        fn.__annotations__ = {renamed.get(k, k): v for k, v in fn.__annotations__.items()}
    return fn


def bind(names: dict[str, Callable]) -> None:
    """Install functions as Tensor methods (see :func:`_method_form`)."""
    for name, fn in names.items():
        setattr(Tensor, name, _method_form(fn))


def _method_form(fn: Callable) -> Callable:
    """``fn`` as a Tensor method: torch's methods take no ``out=``, so a keyword-only ``out`` parameter is renamed
    ``_out`` (in a copy of the function: Python then raises its "unexpected keyword argument 'out'"), at no cost
    per call."""
    code = getattr(fn, "__code__", None)
    if type(fn) is not FunctionType or "out" in code.co_cellvars or \
            "out" not in code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]:
        return fn
    i = code.co_varnames.index("out")
    method = FunctionType(code.replace(co_varnames=code.co_varnames[:i] + ("_out",) + code.co_varnames[i + 1:]),
                          fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    method.__kwdefaults__ = {("_out" if k == "out" else k): v for k, v in (fn.__kwdefaults__ or {}).items()}
    method.__dict__.update(fn.__dict__)
    method.__qualname__, method.__doc__, method.__module__ = fn.__qualname__, fn.__doc__, fn.__module__
    if code in _TRANSPARENT:
        transparent(method)
    return method


def new_tensor(arr: Any, dtype: D.dtype, dev: Any) -> Tensor:
    """Wrap a freshly computed array (NumPy may return scalars from 0-d math: make them arrays)."""
    if type(arr) is not np.ndarray and dev is CPU:
        arr = np.asarray(arr, dtype=dtype.np)
    return from_array(arr, dtype, dev)


def sized(args: tuple, keyword: Any, fn: str, name: str) -> tuple:
    """The sizes of ``fn(*sizes)`` or of its keyword form ``fn(name=sizes)`` (torch takes either), as given."""
    if keyword is None:
        if not args:
            raise TypeError(f'{fn}() missing 1 required positional arguments: "{name}"')
        return args
    if args:
        raise TypeError(f"{fn}() got multiple values for argument '{name}'")
    return (keyword,)


class _NoDim:
    """The default ``dim`` of the reductions whose ``dim`` torch types ``int``, not ``int?``: none given (an
    explicit ``dim=None`` is refused, as torch's parser does)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "None"


NO_DIM: Any = _NoDim()


def given_dim(name: str, dim: Any) -> Any:
    """``dim`` as the op reads it: None for :data:`NO_DIM`; TypeError for an explicit None (which the argument
    parser layer words as torch's parser does)."""
    if dim is None:
        raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")
    return None if dim is NO_DIM else dim


def dim_list(dim: Any, ndim: int) -> tuple[int, ...]:
    """Normalise ``dim`` (int, tuple/list, or None for all dims) to a tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if _isinstance(dim, int):
        return (wrap_dim(dim, ndim),)
    if _isinstance(dim, np.integer) or _isinstance(dim, Tensor) and not dim.ndim and dim._dtype.category == 1:
        return (wrap_dim(int(dim), ndim),)   # torch takes NumPy and 0-d tensor integers as ints
    dims = tuple(wrap_dim(d, ndim) for d in dim)
    if len(set(dims)) != len(dims):
        d = next(d for d in dims if dims.count(d) > 1)
        raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return dims
