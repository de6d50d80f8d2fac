"""The ATen operators an exported graph calls: one ``AtenOp`` object per ``aten.<name>.<overload>`` (spelled
``torch.ops.aten.linear.default`` in graphs and generated code), how each runs on ember (``_IMPL``), how a traced
ember call becomes one (``to_aten``: torch's pre-dispatch "training IR" spelling, trailing defaults dropped), and
the core-ATen decompositions ``run_decompositions`` applies (``DECOMP``)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import ember
from ember.fx import _names
from ember.nn import functional as F

_MAXINT = 9223372036854775807


class AtenOp:
    """``aten.<name>.<overload>``: callable (runs ember's implementation), compares equal to
    ``ember.ops.aten.<name>.<overload>``."""

    __module__ = "ember.ops.aten"

    def __init__(self, name: str, overload: str) -> None:
        self._opname, self._overloadname = name, overload
        self.__name__ = f"{name}.{overload}"
        self._fn = _IMPL.get(self.__name__) or _IMPL.get(name) or _builtin(name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def name(self) -> str:
        return f"aten::{self._opname}" + ("" if self._overloadname == "default" else f".{self._overloadname}")

    def __str__(self) -> str:
        return f"aten.{self.__name__}"

    def __repr__(self) -> str:
        return f"<OpOverload(op='aten.{self._opname}', overload='{self._overloadname}')>"

    def __eq__(self, other: object) -> bool:
        return self is other or str(other) == str(self) and type(other).__name__ in ("OpOverload", "AtenOp")

    def __hash__(self) -> int:
        return hash(str(self))

    def __reduce__(self) -> tuple:
        return (op, (self._opname, self._overloadname))


def _builtin(name: str) -> Callable:
    from ember.library import _builtin as find
    fn = find(name)
    if fn is None:
        def missing(*args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError(f"aten.{name} has no ember implementation")
        return missing
    return fn


_OPS: dict[str, AtenOp] = {}


def op(name: str, overload: str = "default") -> AtenOp:
    """The (unique) ``aten.<name>.<overload>`` object, registered so generated code spells it torch's way."""
    key = f"{name}.{overload}"
    o = _OPS.get(key)
    if o is None:
        o = _OPS[key] = AtenOp(name, overload)
        _names.register(o, f"torch.ops.aten.{key}")
    return o


# ---- running an aten call on ember ---------------------------------------------------------------------------
def _slice(x: Any, dim: int = 0, start: Any = None, end: Any = None, step: int = 1) -> Any:
    idx = [slice(None)] * x.dim()
    idx[dim] = slice(start, None if end == _MAXINT else end, step)
    return x[tuple(idx)]


def _conv(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Any:
    return getattr(F, f"conv{w.dim() - 2}d")(x, w, b, stride, padding, dilation, groups)


def _convolution(x: Any, w: Any, b: Any, stride: Any, padding: Any, dilation: Any, transposed: bool,
                 output_padding: Any, groups: int) -> Any:
    if transposed:
        return getattr(F, f"conv_transpose{w.dim() - 2}d")(x, w, b, stride, padding, output_padding, groups, dilation)
    return _conv(x, w, b, stride, padding, dilation, groups)


def _bn_no_training(x: Any, w: Any, b: Any, rm: Any, rv: Any, momentum: float, eps: float) -> tuple:
    empty = x.new_zeros(0)
    return F.batch_norm(x, rm, rv, w, b, False, momentum, eps), empty, empty


def _bn_functional(x: Any, w: Any, b: Any, rm: Any, rv: Any, training: bool, momentum: float, eps: float
                   ) -> tuple:
    """Batch norm with the running statistics' new values returned rather than written."""
    new_rm, new_rv = rm.detach().clone(), rv.detach().clone()
    out = F.batch_norm(x, new_rm, new_rv, w, b, training, momentum, eps)
    dims = [0] + list(range(2, x.dim()))
    xd = x.detach()
    mean = xd.mean(dims)
    rstd = (xd.var(dims, unbiased=False) + eps).rsqrt()
    return out, mean, rstd, new_rm, new_rv


def _native_layer_norm(x: Any, shape: Any, w: Any, b: Any, eps: float) -> tuple:
    dims = list(range(x.dim() - len(shape), x.dim()))
    mean = x.detach().mean(dims, keepdim=True)
    rstd = ((x.detach() - mean).pow(2).mean(dims, keepdim=True) + eps).rsqrt()
    return F.layer_norm(x, list(shape), w, b, eps), mean, rstd


def _add(a: Any, b: Any, alpha: Any = 1) -> Any:
    return a + (b if alpha == 1 else b * alpha)


def _sub(a: Any, b: Any, alpha: Any = 1) -> Any:
    return a - (b if alpha == 1 else b * alpha)


_IMPL: dict[str, Callable] = {
    "add.Tensor": _add, "sub.Tensor": _sub, "mul.Tensor": operator.mul, "div.Tensor": operator.truediv,
    "rsub.Scalar": lambda x, other, alpha=1: other - (x if alpha == 1 else x * alpha),
    "pow.Tensor_Scalar": ember.pow, "pow.Tensor_Tensor": ember.pow,
    "view.default": lambda x, size: x.view(list(size)), "reshape.default": lambda x, size: x.reshape(list(size)),
    "expand.default": lambda x, size, implicit=False: x.expand(list(size)),
    "permute.default": lambda x, dims: x.permute(list(dims)), "transpose.int": ember.transpose,
    "flatten.using_ints": lambda x, s=0, e=-1: ember.flatten(x, s, e),
    "sum.default": lambda x, dtype=None: ember.sum(x, dtype=dtype),
    "sum.dim_IntList": lambda x, dim, keepdim=False, dtype=None: ember.sum(x, list(dim) or None, keepdim,
                                                                          dtype=dtype),
    "mean.default": lambda x, dtype=None: ember.mean(x, dtype=dtype),
    "mean.dim": lambda x, dim, keepdim=False, dtype=None: ember.mean(x, list(dim), keepdim, dtype=dtype),
    "select.int": ember.select, "slice.Tensor": _slice, "squeeze.dim": ember.squeeze, "squeeze.default": ember.squeeze,
    "squeeze.dims": lambda x, dims: x.squeeze(tuple(dims)),
    "softmax.int": lambda x, dim, dtype=None: ember.softmax(x, dim, dtype=dtype),
    "log_softmax.int": lambda x, dim, dtype=None: ember.log_softmax(x, dim, dtype=dtype),
    "_softmax.default": lambda x, dim, half: ember.softmax(x, dim), "_log_softmax.default":
        lambda x, dim, half: ember.log_softmax(x, dim),
    "clone.default": lambda x, memory_format=None: x.clone(memory_format=memory_format or ember.preserve_format),
    "contiguous.default": lambda x, memory_format=None: x.contiguous(),
    "conv1d.default": _conv, "conv2d.default": _conv, "conv3d.default": _conv, "convolution.default": _convolution,
    "batch_norm.default": lambda x, w, b, rm, rv, training, momentum, eps, cudnn=False:
        F.batch_norm(x, rm, rv, w, b, training, momentum, eps),
    "_native_batch_norm_legit_no_training.default": _bn_no_training,
    "_native_batch_norm_legit_functional.default": _bn_functional, "copy_.default": lambda x, src: x.copy_(src),
    "layer_norm.default": lambda x, shape, w=None, b=None, eps=1e-5, cudnn=True:
        F.layer_norm(x, list(shape), w, b, eps),
    "native_layer_norm.default": _native_layer_norm,
    "dropout.default": lambda x, p, train: F.dropout(x, p, train),
    "max_pool2d.default": lambda x, k, s=(), p=0, d=1, ceil=False: F.max_pool2d(x, k, list(s) or None, p, d, ceil),
    "max_pool2d_with_indices.default": lambda x, k, s=(), p=0, d=1, ceil=False:
        F.max_pool2d(x, k, list(s) or None, p, d, ceil, return_indices=True),
    "adaptive_avg_pool2d.default": F.adaptive_avg_pool2d, "linear.default": F.linear, "gelu.default": F.gelu,
    "cat.default": ember.cat, "stack.default": ember.stack,
    "ones.default": lambda size, *, dtype=None, layout=None, device=None, pin_memory=False:
        ember.ones(list(size), dtype=dtype, device=device),
    "zeros.default": lambda size, *, dtype=None, layout=None, device=None, pin_memory=False:
        ember.zeros(list(size), dtype=dtype, device=device),
    "full.default": lambda size, value, *, dtype=None, layout=None, device=None, pin_memory=False:
        ember.full(list(size), value, dtype=dtype, device=device),
    "to.dtype": lambda x, dtype, non_blocking=False, copy=False, memory_format=None: x.to(dtype, copy=copy),
    "_to_copy.default": lambda x, *, dtype=None, layout=None, device=None, pin_memory=None, non_blocking=False,
    memory_format=None: x.to(dtype=dtype, device=device, copy=True),
    "_assert_tensor_metadata.default": lambda *args, **kwargs: None,
    "sym_size.int": lambda x, dim: x.size(dim),
}


# ---- traced ember call -> aten call ------------------------------------------------------------------------------
def _trim(args: list, defaults: tuple) -> tuple:
    """Positional args with the trailing ones equal to the schema's defaults (aligned to the end) dropped."""
    args = list(args)
    first_default = len(args) - len(defaults)
    while len(args) > first_default and args[-1] == defaults[len(args) - 1 - first_default] \
            and type(args[-1]) is type(defaults[len(args) - 1 - first_default]):
        args.pop()
    return tuple(args)


def _ints(v: Any, n: int) -> list:
    return [v] * n if isinstance(v, int) else list(v)


def _shape(size: tuple) -> list:
    return list(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else list(size)


def _dims(dim: Any) -> list:
    return list(dim) if isinstance(dim, (tuple, list)) else [dim]


Call = tuple[AtenOp, tuple, dict]
_H: dict[str, Callable[..., Call]] = {}


def _handler(*names: str) -> Callable:
    def deco(fn: Callable[..., Call]) -> Callable[..., Call]:
        for n in names:
            _H[n] = fn
        return fn
    return deco


@_handler("linear")
def _(input: Any, weight: Any, bias: Any = None) -> Call:
    return op("linear"), _trim([input, weight, bias], (None,)), {}


@_handler("conv1d", "conv2d", "conv3d")
def _(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
      groups: int = 1) -> Call:
    n = weight.dim() - 2
    return op(f"conv{n}d"), _trim([input, weight, bias, _ints(stride, n), _ints(padding, n), _ints(dilation, n),
                                   groups], (None, [1] * n, [0] * n, [1] * n, 1)), {}


@_handler("batch_norm")
def _(input: Any, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None, training: bool = False,
      momentum: float = 0.1, eps: float = 1e-5) -> Call:
    return op("batch_norm"), (input, weight, bias, running_mean, running_var, training, momentum, eps, False), {}


@_handler("layer_norm")
def _(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Call:
    return op("layer_norm"), (input, list(normalized_shape), weight, bias, eps, False), {}


@_handler("add", "__add__", "__radd__", "__iadd__", "add_", "sub", "__sub__", "__isub__", "sub_", "subtract")
def _add_like(input: Any, other: Any, *, alpha: Any = 1, _name: str = "add") -> Call:
    return op(_name, "Tensor"), (input, other), ({} if alpha == 1 else {"alpha": alpha})


@_handler("mul", "__mul__", "__rmul__", "multiply", "div", "__truediv__", "divide", "true_divide")
def _mul_like(input: Any, other: Any, *, rounding_mode: Any = None, _name: str = "mul") -> Call:
    if rounding_mode is not None:
        return op(_name, "Tensor_mode"), (input, other), {"rounding_mode": rounding_mode}
    return op(_name, "Tensor"), (input, other), {}


@_handler("__rsub__", "rsub")
def _(input: Any, other: Any, alpha: Any = 1) -> Call:
    return op("rsub", "Tensor" if isinstance(other, ember.Tensor) else "Scalar"), (input, other), \
        ({} if alpha == 1 else {"alpha": alpha})


@_handler("pow", "__pow__")
def _(input: Any, exponent: Any) -> Call:
    return op("pow", "Tensor_Tensor" if isinstance(exponent, ember.Tensor) else "Tensor_Scalar"), (input, exponent), {}


@_handler("view")
def _(input: Any, *size: Any) -> Call:
    if len(size) == 1 and not isinstance(size[0], (int, tuple, list)):
        return op("view", "dtype"), (input, size[0]), {}
    return op("view"), (input, _shape(size)), {}


@_handler("reshape", "expand", "permute")
def _shape_op(input: Any, *size: Any, _name: str = "reshape") -> Call:
    return op(_name), (input, _shape(size)), {}


@_handler("flatten")
def _(input: Any, start_dim: int = 0, end_dim: int = -1) -> Call:
    return op("flatten", "using_ints"), _trim([input, start_dim, end_dim], (0, -1)), {}


@_handler("transpose", "swapaxes", "swapdims")
def _(input: Any, dim0: int, dim1: int) -> Call:
    return op("transpose", "int"), (input, dim0, dim1), {}


@_handler("sum", "mean")
def _reduce(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, _name: str = "sum") -> Call:
    kw = {} if dtype is None else {"dtype": dtype}
    if dim is None:
        return op(_name), (input,), kw
    return op(_name, "dim_IntList" if _name == "sum" else "dim"), _trim([input, _dims(dim), keepdim], (False,)), kw


@_handler("squeeze")
def _(input: Any, dim: Any = None) -> Call:
    if dim is None:
        return op("squeeze"), (input,), {}
    if isinstance(dim, (tuple, list)):
        return op("squeeze", "dims"), (input, list(dim)), {}
    return op("squeeze", "dim"), (input, dim), {}


@_handler("softmax", "log_softmax")
def _softmax(input: Any, dim: Any = None, _stacklevel: int = 3, dtype: Any = None, *, _name: str = "softmax") -> Call:
    return op(_name, "int"), _trim([input, dim, dtype], (None,)), {}


@_handler("contiguous", "clone")
def _copy(input: Any, memory_format: Any = None, *, _name: str = "clone") -> Call:
    default = ember.contiguous_format if _name == "contiguous" else ember.preserve_format
    fmt = {} if memory_format is None or memory_format == default else {"memory_format": memory_format}
    return op(_name), (input,), fmt


@_handler("cat", "concat", "concatenate", "stack")
def _cat(tensors: Any, dim: int = 0, *, _name: str = "cat") -> Call:
    return op(_name), _trim([list(tensors), dim], (0,)), {}


@_handler("dropout")
def _(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Call:
    return op("dropout"), (input, p, training), {}


@_handler("max_pool2d")
def _(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
      return_indices: bool = False) -> Call:
    return op("max_pool2d"), _trim([input, _ints(kernel_size, 2), [] if stride is None else _ints(stride, 2),
                                    _ints(padding, 2), _ints(dilation, 2), ceil_mode],
                                   ([], [0, 0], [1, 1], False)), {}


@_handler("adaptive_avg_pool2d")
def _(input: Any, output_size: Any) -> Call:
    return op("adaptive_avg_pool2d"), (input, _ints(output_size, 2)), {}


@_handler("relu", "hardtanh", "relu6", "elu", "leaky_relu", "silu", "hardswish", "hardsigmoid", "mish")
def _activation(input: Any, *args: Any, inplace: bool = False, _name: str = "relu") -> Call:
    if len(args) and isinstance(args[-1], bool):   # inplace passed positionally
        *args, inplace = args   # type: ignore[assignment]
    return op(_name + ("_" if inplace else "")), (input, *args), {}


@_handler("ones", "zeros")
def _creation(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, layout: Any = None,
              pin_memory: bool = False, out: Any = None, _name: str = "ones") -> Call:
    kw = ({} if dtype is None else {"dtype": dtype}) | {"device": ember.device(device or "cpu"),
                                                         "pin_memory": pin_memory}
    return op(_name), (_shape(size),), kw


@_handler("to")
def _(input: Any, *args: Any, **kwargs: Any) -> Call:
    if len(args) == 1 and isinstance(args[0], ember.dtype) and not kwargs:
        return op("to", "dtype"), (input, args[0]), {}
    return op("to"), (input, *args), kwargs


@_handler("gelu")
def _(input: Any, approximate: str = "none") -> Call:
    return op("gelu"), (input,), ({} if approximate == "none" else {"approximate": approximate})


_ALIASES = {"__add__": "add", "__radd__": "add", "__iadd__": "add_", "add_": "add_", "sub": "sub", "__sub__": "sub",
            "__isub__": "sub_", "sub_": "sub_", "subtract": "sub", "__mul__": "mul", "__rmul__": "mul",
            "multiply": "mul", "__truediv__": "div", "divide": "div", "true_divide": "div", "div": "div",
            "expand": "expand", "permute": "permute", "reshape": "reshape", "sum": "sum", "mean": "mean",
            "log_softmax": "log_softmax", "softmax": "softmax", "contiguous": "contiguous", "clone": "clone",
            "cat": "cat", "concat": "cat", "concatenate": "cat", "stack": "stack", "__pow__": "pow", "abs": "abs",
            "__neg__": "neg", "__abs__": "abs", "__matmul__": "matmul", "swapaxes": "transpose"}
_NAMED = {_add_like, _mul_like, _shape_op, _reduce, _softmax, _copy, _cat, _activation, _creation}


def to_aten(func_name: str, args: tuple, kwargs: dict) -> Call:
    """The aten call torch's pre-dispatch export records for ember's ``func_name(*args, **kwargs)``."""
    name = _ALIASES.get(func_name, func_name)
    h = _H.get(func_name)
    if h is not None:
        if h in _NAMED:
            kwargs = {**kwargs, "_name": name}
        return h(*args, **kwargs)
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
    return op(name), tuple(args), dict(kwargs)


# ---- core-ATen decompositions (run_decompositions) ---------------------------------------------------------------
Emit = Any   # emit(aten_op, *args, **kwargs) -> a new node (value in meta['val']); emit.items, emit.mutate
# rule(emit, original node, *args, **kwargs) -> the replacement node, (operator.getitem, node) for element 0 of a
# tuple-valued node, or None to keep the original call
DECOMP: dict[str, Callable[..., Any]] = {}


def _decomp(*names: str) -> Callable:
    def deco(fn: Callable) -> Callable:
        for n in names:
            DECOMP[n] = fn
        return fn
    return deco


@_decomp("linear.default")
def _(emit: Emit, orig: Any, x: Any, w: Any, b: Any = None) -> Any:
    shape = list(_shape_of(x))
    x2 = x if len(shape) == 2 else emit(op("view"), x, [_prod(shape[:-1]), shape[-1]])
    wt = emit(op("permute"), w, [1, 0])
    out = emit(op("mm"), x2, wt) if b is None else emit(op("addmm"), b, x2, wt)
    return out if len(shape) == 2 else emit(op("view"), out, shape[:-1] + [_shape_of(w)[0]])


TRACE = [0]   # which recorded run decomposition rules read shapes from (run_decompositions lowers each run)


def val_of(n: Any) -> Any:
    """A node's value in the current run (``meta['_vals']``, one per run of a dynamic export)."""
    vals = n.meta.get("_vals")
    return vals[TRACE[0]] if vals and TRACE[0] < len(vals) else n.meta["val"]


def _shape_of(n: Any) -> list:
    return list(val_of(n).shape)


def _prod(s: list) -> int:
    r = 1
    for v in s:
        r *= v
    return r


@_decomp("conv1d.default", "conv2d.default", "conv3d.default")
def _(emit: Emit, orig: Any, x: Any, w: Any, b: Any = None, stride: Any = None, padding: Any = None,
      dilation: Any = None, groups: int = 1) -> Any:
    n = len(_shape_of(w)) - 2
    return emit(op("convolution"), x, w, b, stride or [1] * n, padding or [0] * n, dilation or [1] * n, False,
                [0] * n, groups)


@_decomp("batch_norm.default")
def _(emit: Emit, orig: Any, x: Any, w: Any, b: Any, rm: Any, rv: Any, training: bool, momentum: float, eps: float,
      cudnn: bool = False) -> Any:
    if not training:
        return operator.getitem, emit(op("_native_batch_norm_legit_no_training"), x, w, b, rm, rv, momentum, eps)
    if rm is None:
        return None
    out, _, _, new_rm, new_rv = emit.items(emit(op("_native_batch_norm_legit_functional"), x, w, b, rm, rv, True,
                                                momentum, eps))
    emit.mutate(rm, new_rm)
    emit.mutate(rv, new_rv)
    return out


@_decomp("layer_norm.default")
def _(emit: Emit, orig: Any, x: Any, shape: Any, w: Any = None, b: Any = None, eps: float = 1e-5,
      cudnn: bool = True) -> Any:
    return operator.getitem, emit(op("native_layer_norm"), x, shape, w, b, eps)


@_decomp("max_pool2d.default")
def _(emit: Emit, orig: Any, x: Any, *rest: Any) -> Any:
    return operator.getitem, emit(op("max_pool2d_with_indices"), x, *rest)


@_decomp("contiguous.default")
def _(emit: Emit, orig: Any, x: Any, memory_format: Any = None) -> Any:
    return emit(op("clone"), x, memory_format=ember.contiguous_format)


@_decomp("transpose.int")
def _(emit: Emit, orig: Any, x: Any, d0: int, d1: int) -> Any:
    n = len(_shape_of(x))
    perm = list(range(n))
    perm[d0 % n], perm[d1 % n] = perm[d1 % n], perm[d0 % n]
    return emit(op("permute"), x, perm)


@_decomp("t.default")
def _(emit: Emit, orig: Any, x: Any) -> Any:
    return x if len(_shape_of(x)) < 2 else emit(op("permute"), x, [1, 0])


@_decomp("matmul.default")
def _(emit: Emit, orig: Any, a: Any, b: Any) -> Any:
    if len(_shape_of(a)) == 2 and len(_shape_of(b)) == 2:
        return emit(op("mm"), a, b)
    return None


@_decomp("reshape.default")
def _(emit: Emit, orig: Any, x: Any, shape: Any) -> Any:
    try:
        val_of(x).view([val_of(v) if hasattr(v, "meta") else v for v in shape])
    except RuntimeError:   # not expressible as a view: a contiguous copy first, then the resolved shape
        x = emit(op("clone"), x, memory_format=ember.contiguous_format)
        shape = list(val_of(orig).shape)
    return emit(op("view"), x, shape)


@_decomp("flatten.using_ints")
def _(emit: Emit, orig: Any, x: Any, *args: Any) -> Any:
    shape = list(val_of(orig).shape)
    return x if shape == list(_shape_of(x)) else emit(op("view"), x, shape)


@_decomp("ones.default", "zeros.default")
def _(emit: Emit, orig: Any, size: Any, *, dtype: Any = None, device: Any = None, pin_memory: bool = False,
      layout: Any = None) -> Any:
    return emit(op("full"), size, 1 if orig.target._opname == "ones" else 0,
                dtype=dtype or ember.get_default_dtype(), layout=ember.strided, device=device, pin_memory=pin_memory)


@_decomp("to.dtype")
def _(emit: Emit, orig: Any, x: Any, dtype: Any) -> Any:
    return emit(op("_to_copy"), x, dtype=dtype)


@_decomp("_assert_tensor_metadata.default")
def _(emit: Emit, orig: Any, x: Any, *, dtype: Any = None, device: Any = None, layout: Any = None) -> Any:
    return emit(op("_assert_tensor_metadata"), x, None, None, dtype, device=device, layout=layout)


@_decomp("softmax.int", "log_softmax.int")
def _(emit: Emit, orig: Any, x: Any, dim: int, dtype: Any = None) -> Any:
    return emit(op("_" + orig.target._opname), x, dim, False) if dtype is None else None


@_decomp("dropout.default")
def _(emit: Emit, orig: Any, x: Any, p: float, train: bool) -> Any:
    return None if train else emit(op("clone"), x)


@_decomp("sum.default")
def _(emit: Emit, orig: Any, x: Any, dtype: Any = None) -> Any:
    return emit(op("sum", "dim_IntList"), x, []) if dtype is None else None


@_decomp("squeeze.dim")
def _(emit: Emit, orig: Any, x: Any, dim: int) -> Any:
    return emit(op("squeeze", "dims"), x, [dim])


@_decomp("rsub.Scalar")
def _(emit: Emit, orig: Any, x: Any, other: Any, alpha: Any = 1) -> Any:
    return emit(op("sub", "Tensor"), other, x) if alpha == 1 else None


@_decomp("adaptive_avg_pool2d.default")
def _(emit: Emit, orig: Any, x: Any, size: Any) -> Any:
    return emit(op("mean", "dim"), x, [-1, -2], True) if list(size) == [1, 1] else None


@_decomp("relu_.default", "add_.Tensor", "sub_.Tensor", "mul_.Tensor", "div_.Tensor")
def _(emit: Emit, orig: Any, x: Any, *args: Any, **kwargs: Any) -> Any:
    t = orig.target
    new = emit(op(t._opname[:-1], t._overloadname), x, *args, **kwargs)
    emit.mutate(x, new)
    return new
