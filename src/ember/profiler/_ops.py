"""Timing wrappers on ember's public entry points, installed only while a profile records.

Each public op (``ember.*``, ``Tensor`` methods and operators, ``nn.functional``, ``linalg``, ``fft``,
``special``, and module classes holding one as a staticmethod) is rebound to a wrapper that records it
under torch's aten name (``aten::add``, ``aten::linalg_det``, ...). Where torch's op always runs a fixed
inner op the profile names too (``linear`` → ``addmm``, ``matmul`` → ``mm``/``dot``/``mv``/``bmm``, conv →
``convolution``), the wrapper opens those nested events as well. Names that are not aten ops in torch
(Python helpers, queries such as ``size`` or ``is_tensor``) are left alone. :func:`uninstall` puts every
original back, so an op costs nothing extra when no profile records.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from .._tensor import Tensor
from ..autograd.profiler import _call_annotated, _call_op

__all__ = ["install", "uninstall", "aten_names"]

# Tensor operators → torch's op
_OPERATORS = {
    "__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub", "__rsub__": "rsub",
    "__isub__": "sub_", "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul_", "__truediv__": "div",
    "__rtruediv__": "div", "__itruediv__": "div_", "__floordiv__": "floor_divide",
    "__rfloordiv__": "floor_divide", "__ifloordiv__": "floor_divide_", "__mod__": "remainder",
    "__rmod__": "remainder", "__imod__": "remainder_", "__pow__": "pow", "__rpow__": "pow", "__ipow__": "pow_",
    "__and__": "bitwise_and", "__rand__": "bitwise_and", "__iand__": "bitwise_and_", "__or__": "bitwise_or",
    "__ror__": "bitwise_or", "__ior__": "bitwise_or_", "__xor__": "bitwise_xor", "__rxor__": "bitwise_xor",
    "__ixor__": "bitwise_xor_", "__lshift__": "__lshift__", "__rlshift__": "__lshift__",
    "__ilshift__": "__ilshift__", "__rshift__": "__rshift__", "__rrshift__": "__rshift__",
    "__irshift__": "__irshift__", "__neg__": "neg", "__pos__": "positive", "__abs__": "abs",
    "__invert__": "bitwise_not", "__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le", "__gt__": "gt",
    "__ge__": "ge", "__matmul__": "matmul", "__rmatmul__": "matmul", "__float__": "item", "__int__": "item",
    "__complex__": "item", "__bool__": "is_nonzero", "__getitem__": "index", "__setitem__": "index_put_",
}
# ember names whose torch op has another name
_RENAMED = {"cross_entropy": "cross_entropy_loss", "tensor": "lift_fresh", "nll_loss": "nll_loss_nd",
            "unique": "_unique2",
            "float": "to", "double": "to", "half": "to", "bfloat16": "to", "long": "to", "int": "to",
            "short": "to", "char": "to", "byte": "to", "bool": "to", "cfloat": "to", "cdouble": "to"}
# inner ops torch always records under an op (besides those chosen by shapes, below)
_INNER = {"item": ("_local_scalar_dense",), "is_nonzero": ("item", "_local_scalar_dense"),
          "conv1d": ("convolution", "_convolution"), "conv2d": ("convolution", "_convolution"),
          "conv3d": ("convolution", "_convolution"), "conv_transpose1d": ("convolution", "_convolution"),
          "conv_transpose2d": ("convolution", "_convolution"),
          "conv_transpose3d": ("convolution", "_convolution"), "nll_loss_nd": ("nll_loss", "nll_loss_forward"),
          "layer_norm": ("native_layer_norm",), "batch_norm": ("_batch_norm_impl_index", "native_batch_norm"),
          "softmax": ("_softmax",), "log_softmax": ("_log_softmax",), "dropout": ("native_dropout",),
          "embedding": ("index_select",), "relu": ("clamp_min",)}
# public names that are not (recorded) aten ops in torch: queries, conversions, Python-level helpers
_SKIP = frozenset("""
are_deterministic_algorithms_enabled asarray compile cond from_dlpack from_numpy frombuffer
get_deterministic_debug_mode get_device_module get_num_interop_threads get_num_threads get_rng_state
init_num_threads is_deterministic_algorithms_warn_only_enabled is_storage is_tensor is_warn_always_enabled
set_default_tensor_type set_deterministic_debug_mode set_num_interop_threads set_num_threads set_rng_state
set_warn_always to_dlpack typename unravel_index use_deterministic_algorithms while_loop manual_seed seed
initial_seed eig lstsq lu solve symeig pca_lowrank svd_lowrank householder_product lu_factor lu_factor_ex
matrix_rank numel is_complex is_floating_point is_same_size is_conj is_neg is_inference is_contiguous
is_pinned is_shared is_signed is_set_to is_distributed
adaptive_max_pool1d_with_indices adaptive_max_pool2d_with_indices adaptive_max_pool3d_with_indices
affine_grid dropout1d dropout2d dropout3d fold fractional_max_pool2d_with_indices
fractional_max_pool3d_with_indices gaussian_nll_loss grid_sample gumbel_softmax interpolate
linear_cross_entropy local_response_norm logsigmoid lp_pool1d lp_pool2d lp_pool3d max_unpool1d
multi_head_attention_forward multilabel_soft_margin_loss normalize softmin softsign tanhshrink
triplet_margin_with_distance_loss upsample upsample_bilinear upsample_nearest
apply_ as_subclass const_data_ptr data_ptr dim dim_order size stride storage_offset element_size get_device
ndimension nelement new new_tensor numpy register_hook register_post_accumulate_grad_hook retain_grad
requires_grad_ backward share_memory_ storage storage_type untyped_storage tolist type module_load map_
map2_ fmax_ fmin_ maximum_ minimum_ cpu cuda
""".split())
_PREFIX = {"linalg": "linalg_", "fft": "fft_", "special": "special_"}
_OP_MODULES = ("ember.ops", "ember.nn.functional", "ember.linalg", "ember.fft", "ember.special")
_NOT_OP_MODULES = ("ember.ops.info",)

_saved: list[tuple[Any, str, Any]] = []   # (owner, attribute, original) to restore, in install order


def _matmul_inner(args: tuple, kwargs: dict) -> tuple[str, ...]:
    """The kernel torch's matmul runs for these operand ranks."""
    a, b = (args + (None, None))[:2]
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return ()
    da, db = a.dim(), b.dim()
    if da == 1 and db == 1:
        return ("aten::dot",)
    if da == 2 and db == 1:
        return ("aten::mv",)
    if db <= 2 and da >= 1:
        return ("aten::mm",)
    return ("aten::bmm",)


def _linear_inner(args: tuple, kwargs: dict) -> tuple[str, ...]:
    """torch's linear: ``addmm`` with a bias, else ``matmul`` → ``mm``."""
    bias = args[2] if len(args) > 2 else kwargs.get("bias")
    return ("aten::addmm",) if bias is not None else ("aten::matmul", "aten::mm")


def _index_name(args: tuple, kwargs: dict) -> str:
    """``t[key]`` as torch names its first step: ``select`` for an integer, ``slice`` for a partial slice,
    ``unsqueeze`` for None (full slices and ``...`` add nothing); ``index`` for tensors, lists and masks."""
    key = args[1] if len(args) > 1 else None
    parts = key if isinstance(key, tuple) else (key,)
    for k in parts:
        if isinstance(k, bool) or not isinstance(k, (int, slice, type(None), type(Ellipsis))):
            return "aten::index"
    for k in parts:
        if isinstance(k, int):
            return "aten::select"
        if k is None:
            return "aten::unsqueeze"
        if isinstance(k, slice) and k != slice(None):
            return "aten::slice"
    return "aten::alias"


_SHAPED_INNER: dict[str, Callable[[tuple, dict], tuple[str, ...]]] = {
    "matmul": _matmul_inner, "linear": _linear_inner}


def aten_names(name: str) -> tuple[str, ...] | None:
    """torch's aten name for an ember op name (already prefixed for its namespace), with the fixed inner
    ops; None when torch records no op of that name."""
    if name in _SKIP or name.startswith("_"):
        return None
    name = _RENAMED.get(name, name)
    return ("aten::" + name, *("aten::" + n for n in _INNER.get(name, ())))


def _wrap(fn: Callable, names: tuple[str, ...], op: str) -> Callable:
    """A wrapper recording ``fn``'s calls under ``names`` (plus shape-dependent inner ops for ``op``)."""
    inner = _SHAPED_INNER.get(op)
    if op == "index":
        def timed(*args: Any, **kwargs: Any) -> Any:
            return _call_op((_index_name(args, kwargs),), fn, args, kwargs)
    elif inner is not None:
        def timed(*args: Any, **kwargs: Any) -> Any:
            return _call_op(names + inner(args, kwargs), fn, args, kwargs)
    else:
        def timed(*args: Any, **kwargs: Any) -> Any:
            return _call_op(names, fn, args, kwargs)
    functools.update_wrapper(timed, fn)
    return timed


def _wrap_optimizer(fn: Callable, method: str) -> Callable:
    """``Optimizer.step`` / ``zero_grad`` recorded as torch's ``Optimizer.<method>#<class>.<method>`` range."""
    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _call_annotated(f"Optimizer.{method}#{type(self).__name__}.{method}", fn, (self, *args), kwargs)

    functools.update_wrapper(timed, fn)
    return timed


def _subclasses(root: type) -> list[type]:
    """``root`` and every class derived from it (imported so far)."""
    found, todo = [], [root]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.append(cls)
            todo += cls.__subclasses__()
    return found


def _is_op(fn: Any) -> bool:
    if not callable(fn) or isinstance(fn, type) or not hasattr(fn, "__code__") and not hasattr(fn, "__wrapped__"):
        return False
    mod = getattr(fn, "__module__", None) or ""
    return mod.startswith(_OP_MODULES) and not mod.startswith(_NOT_OP_MODULES)


def _rebind(owner: Any, attr: str, value: Any) -> None:
    _saved.append((owner, attr, owner.__dict__[attr]))
    setattr(owner, attr, value)


def _namespaces() -> list[tuple[Any, str]]:
    import ember

    from .. import fft, linalg, special
    from ..nn import functional

    return [(ember, ""), (functional, ""), (linalg, "linalg"), (fft, "fft"), (special, "special")]


def install() -> None:
    """Rebind the public ops to timing wrappers (idempotent)."""
    if _saved:
        return
    from ..nn import Module
    from ..optim import Optimizer

    made: dict[tuple[int, tuple[str, ...]], Callable] = {}

    def wrapper(fn: Callable, name: str) -> Callable | None:
        names = aten_names(name)
        if names is None:
            return None
        key = (id(fn), names)
        if key not in made:
            made[key] = _wrap(fn, names, name if name in _SHAPED_INNER else "")
        return made[key]

    by_id: dict[int, Callable] = {}
    for ns, kind in _namespaces():
        for attr, fn in list(vars(ns).items()):
            if attr.startswith("_") or not _is_op(fn):
                continue
            w = wrapper(fn, _PREFIX.get(kind, "") + attr)
            if w is not None:
                _rebind(ns, attr, w)
                by_id.setdefault(id(fn), w)
    for attr, fn in list(vars(Tensor).items()):
        if not isinstance(fn, type(install)):
            continue
        if attr.startswith("__"):
            op = _OPERATORS.get(attr)
            w = None if op is None else (_wrap(fn, ("aten::index",), "index") if op == "index"
                                         else wrapper(fn, op))
        elif attr.startswith("_"):
            continue
        else:
            w = wrapper(fn, attr)
        if w is not None:
            _rebind(Tensor, attr, w)
    for cls in _subclasses(Module):   # module classes holding an op as a staticmethod (``fn = staticmethod(F.relu)``)
        for attr, value in list(vars(cls).items()):
            if isinstance(value, staticmethod) and id(value.__func__) in by_id:
                _rebind(cls, attr, staticmethod(by_id[id(value.__func__)]))
    for cls in _subclasses(Optimizer):
        for method in ("step", "zero_grad"):
            if method in vars(cls):
                _rebind(cls, method, _wrap_optimizer(vars(cls)[method], method))


def uninstall() -> None:
    """Put every original entry point back."""
    while _saved:
        owner, attr, original = _saved.pop()
        setattr(owner, attr, original)


def wrapped_names(ns: Any) -> Sequence[str]:
    """Attributes of ``ns`` now rebound (for tests)."""
    return [attr for owner, attr, _ in _saved if owner is ns]
