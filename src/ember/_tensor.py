"""The Tensor: one backend array (a NumPy or CuPy ndarray, possibly a view) plus torch's metadata.

Views hold views of their base's array, so memory is shared exactly as in torch; a base and all its
views share one version counter (``_vc``, a one-element list) that in-place ops bump and autograd
checks. Operators are not defined here: each ``ember.ops`` module binds its functions as methods.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._core import dtype as D
from ._core.device import CPU, PENDING_CHECKS, device, flush_checks, to_host
from ._core.memory_format import channels_last, channels_last_3d, is_contiguous_as
from ._core.warn import warn

__all__ = ["Tensor", "Size", "from_array", "zeros_of", "dense_empty"]


class Size(tuple):
    """The shape of a tensor: a tuple printing as ``torch.Size([2, 3])``.

    A tuple is taken as it is (ember's own shapes, symbolic sizes); any other iterable is read item by item as
    torch reads it: index-like items (bools, NumPy integers, one-element integer tensors) become ints.
    """

    __slots__ = ()

    def __new__(cls, sizes: Any = ()) -> Size:
        if type(sizes) is not tuple:
            sizes = tuple(_size_item(v, i) for i, v in enumerate(sizes))
        return tuple.__new__(cls, sizes)

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key: Any) -> Any:
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other: tuple) -> Size:  # type: ignore[override]
        return Size(tuple.__add__(self, other))

    def __radd__(self, other: tuple) -> Size:
        return Size(tuple.__add__(tuple(other), self))

    def __reduce__(self) -> tuple:
        return (Size, (tuple(self),))


def _size_item(v: Any, i: int) -> int:
    """Item ``i`` of a user's size as the int torch reads (its errors for other types and out-of-range ones)."""
    try:
        n = v.__index__()
    except (AttributeError, TypeError):
        raise TypeError(f"torch.Size() takes an iterable of 'int' (item {i} is '{type(v).__name__}')") from None
    if not -(1 << 63) <= n < 1 << 63:
        raise ValueError("Overflow when unpacking long long")
    return n


_new = object.__new__
# ``Tensor._math_bits``. torch's ``conj()`` / ``_neg_view()`` are lazy views carrying these bits; ember's array is
# always the values themselves (NumPy has no lazily conjugated or negated view of memory), so those ops copy and
# the bits are flags only: views, ``detach()`` and ``.data`` keep them, ``is_conj()`` / ``is_neg()`` read them, and
# ``numpy()``, ``view_as_real()`` and ``view(dtype)`` refuse them as torch does. Writes do not reach the source.
CONJ, NEG = 1, 2
_shape = tuple.__new__   # Size from a shape tuple, without Size.__new__ (the hot path)


SAME_DTYPE: Any = object()   # ``Tensor._grad_dtype`` default: gradients take the tensor's own dtype
# set by ember.func.vmap while it runs: each sees every value read out of a tensor ("item", "bool", "data")
VMAP_READS: list[Callable[[str, Any], None]] = []


class Tensor:
    """A multi-dimensional array with torch's semantics (dtype, device, views, autograd)."""

    __slots__ = ("_data", "_dtype", "_device", "_base", "_vc", "_rg", "_grad_fn", "_output_nr", "_grad",
                 "_accum", "_hooks", "_post_acc_hooks", "_retains_grad", "_inference", "__weakref__",
                 "__dict__")
    __hash__ = object.__hash__
    _no_grad_view = False   # a view of a tensor requiring grad made under no_grad (set per instance)
    _fw_only = False   # forward AD: ``_rg`` is set only so that ops carry this tensor's tangent (set per instance)
    _multi_output_view = False   # an output (or a view of one) of split/chunk/unbind: no in-place under autograd
    _grad_dtype: Any = SAME_DTYPE   # a leaf's ``grad_dtype`` (SAME_DTYPE: its own dtype; None: any dtype)
    _sparse_layout = False   # a sparse tensor, COO or compressed (ember.sparse's tensor classes set it)
    _math_bits = 0   # torch's conjugate / negative bits (CONJ | NEG; set per instance): see ``CONJ``
    __array_priority__ = 1000

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        from .ops.creation import legacy_new
        return legacy_new(cls, D.get_default_dtype(), args, kwargs)

    # ---- __torch_function__ protocol (ember.overrides) -------------------------------------------------
    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        """torch's default: run ``func`` with subclass dispatch off and return Tensor results as ``cls``."""
        from .overrides import _default_torch_function
        return _default_torch_function(cls, func, types, args, kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        from .overrides import _subclass_created
        _subclass_created(cls)

    @staticmethod
    def _make_subclass(cls: type, data: Tensor, require_grad: bool = False, **kwargs: Any) -> Tensor:
        """A new leaf of Tensor subclass ``cls`` sharing ``data``'s memory, requiring grad if asked."""
        from .overrides import _make_subclass
        return _make_subclass(cls, data, require_grad)

    # ---- metadata ---------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return _shape(Size, self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return _shape(Size, self._data.shape)
        return self._data.shape[self._method_dim(dim, "size")]

    @property
    def dtype(self) -> D.dtype:
        return self._dtype

    @property
    def device(self) -> device:
        return self._device

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def is_quantized(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return False

    @property
    def layout(self) -> str:
        return "torch.strided"

    def get_device(self) -> int:
        return -1 if self._device.type == "cpu" else self._device.index

    def is_floating_point(self) -> bool:
        return self._dtype.is_floating_point

    def is_complex(self) -> bool:
        return self._dtype.is_complex

    def is_signed(self) -> bool:
        return self._dtype.is_signed

    def element_size(self) -> int:
        return self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.size * self._dtype.itemsize

    def stride(self, dim: int | None = None) -> Any:
        a = self._data
        item = self._dtype.itemsize
        if a.size == 0 and not any(a.strides):   # NumPy gives new empty arrays 0 strides: torch's are dense
            strides = tuple(s // item for s in _dense_strides(a.shape, item))
        else:
            strides = tuple(s // item for s in a.strides)
        if dim is None:
            return strides
        return strides[self._method_dim(dim, "stride")]

    def _root_array(self) -> Any:
        """The array owning the memory this tensor views (its storage)."""
        from .ops.storage import storage_root
        return storage_root(self._data)

    def storage_offset(self) -> int:
        return (_data_ptr(self._data) - _data_ptr(self._root_array())) // self._dtype.itemsize

    def data_ptr(self) -> int:
        return _data_ptr(self._data)

    def untyped_storage(self) -> Any:
        from .ops.storage import UntypedStorage
        return UntypedStorage(self._root_array(), self._device)

    def is_contiguous(self, memory_format: Any = None) -> bool:
        a = self._data
        if memory_format is channels_last or memory_format is channels_last_3d:
            return is_contiguous_as(a.shape, tuple(s // a.itemsize for s in a.strides), memory_format)
        if a.flags.c_contiguous:
            return True
        # torch ignores the strides of size-1 dims
        expected = 1
        for n, s in zip(reversed(a.shape), reversed(a.strides), strict=True):
            if n == 0:
                return True
            if n != 1 and s != expected * self._dtype.itemsize:
                return False
            expected *= n
        return True

    def _wrap_dim(self, dim: int) -> int:
        return wrap_dim(dim, self._data.ndim)

    def _method_dim(self, dim: Any, method: str) -> int:
        """The ``dim`` argument of ``size``/``stride`` wrapped: a wrongly typed one gets torch's parser error (as if
        passed by position), then any dim of a 0-d tensor its IndexError."""
        n = self._data.ndim
        try:
            d = wrap_dim(dim, n)
        except TypeError:
            raise TypeError(f"{method}(): argument 'dim' (position 1) must be int, not {type(dim).__name__}") from None
        except IndexError:
            if n:
                raise
        if not n:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return d

    # ---- autograd fields --------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._rg and not self._fw_only

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._set_requires_grad(bool(value), "only Tensors of floating point and complex dtype can require "
                                "gradients", attr=True)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self._set_requires_grad(bool(requires_grad), "only Tensors of floating point dtype can require "
                                                     "gradients")
        return self

    def _set_requires_grad(self, value: bool, dtype_error: str, attr: bool = False) -> None:
        """Flip the flag of a leaf, with torch's errors (texts differ between the attribute and the "
        "method)."""
        if self._grad_fn is not None:
            if value and not attr:
                return
            raise RuntimeError("you can only change requires_grad flags of leaf variables." + (
                "" if value else " If you want to use a computed variable in a subgraph that doesn't require "
                "differentiation use var_no_grad = var.detach()."))
        if value:
            if not (self._dtype.is_floating_point or self._dtype.is_complex):
                raise RuntimeError(dtype_error)
            if _INFERENCE[0] and self.is_inference() and not GRAD_STATE.inference:
                raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is "
                                   "not allowed.")
        if self._fw_only:   # a dual tensor: it becomes a real leaf, or keeps carrying its tangent
            if not value:
                return
            del self._fw_only
        self._rg = value

    @property
    def grad_fn(self) -> Any:
        fn = self._grad_fn
        if fn is not None and self._base is not None and fn._vv is not None and fn._vv != self._vc[0]:
            from .autograd.graph import regenerate_view_history  # the view was modified in place
            regenerate_view_history(self)
            fn = self._grad_fn
        return fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _version(self) -> int:
        return self._vc[0]

    def _grad_or_none(self) -> Tensor | None:
        try:
            return self._grad
        except AttributeError:
            return None

    @property
    def grad(self) -> Tensor | None:
        g = self._grad_or_none()
        if g is None and self._grad_fn is not None and not getattr(self, "_retains_grad", False):
            warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
                "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
                "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
                "github.com/pytorch/pytorch/pull/30531 for more information. (Triggered internally at "
                "/__w/pytorch/pytorch/build/aten/src/ATen/core/TensorBody.h:493.)", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value._data.shape)}' to "
                                   f"a tensor of size '{list(self._data.shape)}'. Please ensure that the "
                                   "gradient and the tensor are the same size")
            allowed = self._dtype if self._grad_dtype is SAME_DTYPE else self._grad_dtype
            if allowed is not None and value._dtype is not allowed:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_cpp_name(value._dtype)}' to a tensor "
                    f"with grad_dtype '{allowed._short}'. The gradient must match the tensor's "
                    "grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype "
                    "attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with "
                    "caution. Diverging the dtypes of a tensor and its gradient may break downstream "
                    "systems that assume they match.")
            if value._device is not self._device:
                raise RuntimeError("assigned grad has data located on a different device")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def grad_dtype(self) -> D.dtype | None:
        """The dtype a leaf's ``.grad`` takes (its own dtype by default; None: whatever arrives)."""
        if self._grad_fn is not None:
            raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
        return self._dtype if self._grad_dtype is SAME_DTYPE else self._grad_dtype

    @grad_dtype.setter
    def grad_dtype(self, value: D.dtype | None) -> None:
        if self._grad_fn is not None:
            raise RuntimeError("grad_dtype can only be set on leaf tensors.")
        if value is not None and not isinstance(value, D.dtype):
            raise RuntimeError(f"grad_dtype must be a torch.dtype or None, but got {type(value).__name__}")
        grad = self._grad_or_none()
        if grad is not None and value is not None and grad._dtype is not value:
            raise RuntimeError(
                f"Cannot set grad_dtype to '{value._short}' because there is already a gradient with dtype "
                f"'{_cpp_name(grad._dtype)}'. Please clear the gradient (.grad = None) before changing grad_dtype, "
                "or ensure the new grad_dtype matches the existing gradient's dtype.")
        self._grad_dtype = value

    @property
    def data(self) -> Tensor:
        """The same memory as a tensor outside autograd, with its own version counter (as torch); an inference
        tensor only if this one is."""
        t = from_array(self._data, self._dtype, self._device)
        if _INFERENCE[0]:   # (no tensor is an inference one before inference mode was first used)
            t._inference = self.is_inference()
        if self._math_bits:
            t._math_bits = self._math_bits
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if self._rg and not (value._dtype.is_floating_point or value._dtype.is_complex):
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or "
                               "complex dtype")
        self._data = value._data
        self._dtype = value._dtype
        self._device = value._device

    def _is_view(self) -> bool:
        """Whether this tensor is a view of another (it has a ``_base``)."""
        return self._base is not None

    def is_inference(self) -> bool:
        """Whether this tensor was made in inference mode (views answer for their base)."""
        if self._base is not None:
            return self._base.is_inference()
        return getattr(self, "_inference", False)

    # ---- Python protocol --------------------------------------------------------------------------
    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from ._tensor_str import prints_as_tensor, tensor_repr
        cls = type(self)
        if prints_as_tensor(cls):
            return tensor_repr(self, contents=tensor_contents)
        prefix = cls.__name__ + "("   # a user's subclass prints under its own name, as torch
        out = tensor_repr(self, prefix=prefix, indent=len(prefix), contents=tensor_contents)
        return f"Parameter({out})" if getattr(self, "_is_param", False) else out   # nn.Parameter(subclass)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        from ._tensor_str import prints_as_tensor, tensor_format
        if not prints_as_tensor(type(self)):   # torch formats only a plain Tensor as its number
            return object.__format__(self, spec)
        return tensor_format(self, spec)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __reversed__(self) -> Tensor:
        """``reversed(t)``: as torch's, ``t`` flipped along dim 0 (a 0-d tensor: itself)."""
        return self if self._data.ndim == 0 else self.flip(0)

    def __bool__(self) -> bool:
        n = self._data.size
        if n != 1:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if n == 0 else
                               "Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._uint64_checked(self._scalar("bool")))

    def _uint64_checked(self, v: Any) -> Any:
        """``v``, unless a uint64 value above int64's range: torch reads those through int64 and refuses."""
        if self._dtype is D.uint64 and v >= 1 << 63:
            raise RuntimeError("value cannot be converted to type int64_t without overflow")
        return v

    def _scalar(self, read: str = "item") -> Any:
        """The single element as a Python number (bfloat16 → float); ``read``: what for (``VMAP_READS``)."""
        if PENDING_CHECKS and not isinstance(self._data, np.ndarray):
            flush_checks()   # reading a GPU value: the queued device-side checks first
        v = self._data.reshape(-1)[0] if self._data.ndim else self._data[()]
        v = float(v) if self._dtype is D.bfloat16 or self._dtype is D.float16 else v.item()
        for check in VMAP_READS:
            check(read, v)
        return v

    def item(self) -> Any:
        n = self._data.size
        if n != 1:
            raise RuntimeError(f"a Tensor with {n} elements cannot be converted to Scalar")
        return self._scalar()

    def _one_element(self) -> Any:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._scalar()

    def __float__(self) -> float:
        if self.requires_grad and GRAD_STATE.grad:   # torch warns (once per process) before any check
            from .ops.views import warn_once
            warn_once("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                      "Consider using tensor.detach() first. (Triggered internally at "
                      "/__w/pytorch/pytorch/torch/csrc/autograd/generated/python_variable_methods.cpp:822.)")
        return float(self._real_element("double"))

    def __int__(self) -> int:
        return int(self._real_element("int64_t"))

    def _real_element(self, ctype: str) -> Any:
        """The one element, a complex one only with no imaginary part (and for an int, a real part in int64's
        range: torch's checked conversion); a real value converts as Python converts it."""
        v = self._one_element()
        if isinstance(v, complex):
            if v.imag or (ctype == "int64_t" and not -(2.0 ** 63) <= v.real <= 2.0 ** 63):
                raise RuntimeError(f"value cannot be converted to type {ctype} without overflow")
            v = v.real if v.real != 2.0 ** 63 or ctype != "int64_t" else -(2 ** 63)   # (2**63 passes, wraps)
        return self._uint64_checked(v) if ctype == "int64_t" else v

    def __complex__(self) -> complex:
        return complex(self._one_element())

    def __index__(self) -> int:
        if self._dtype.is_floating_point or self._dtype.is_complex or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._uint64_checked(self._scalar()))

    def tolist(self) -> Any:
        a = _host(self._data)
        if self._dtype is D.bfloat16:
            a = a.astype(np.float32)
        for check in VMAP_READS:
            check("data", a)
        return a.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._rg and not self._fw_only and not force and _grad_enabled():
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        if self._device.type != "cpu":
            if not force:
                raise TypeError(f"can't convert {self._device.type}:{self._device.index} device type tensor "
                                "to numpy. Use Tensor.cpu() to copy the tensor to host memory first.")
            return _host(self._data)
        if self._dtype not in _NUMPY_DTYPES:
            raise TypeError(f"Got unsupported ScalarType {self._dtype._short}")
        if self._math_bits and not force:   # (forced: ember's array holds the values, resolved already)
            what, fix = ("conjugate", "conj") if self._math_bits & CONJ else ("negative", "neg")
            raise RuntimeError(f"Can't call numpy() on Tensor that has {what} bit set. Use tensor.resolve_{fix}()"
                               ".numpy() instead.")
        for check in VMAP_READS:
            check("data", self._data)
        return self._data.view()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        a = self.numpy()   # (a tensor that requires grad: numpy()'s error, as torch)
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __contains__(self, element: Any) -> bool:
        """``element in t``: whether any element equals it (a tensor or a number only, as torch)."""
        if not isinstance(element, (Tensor, numbers.Number)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{type(element)}.")
        return bool((self == element).any())

    def __array_wrap__(self, array: np.ndarray, context: Any = None, return_scalar: bool = False) -> Tensor:
        """A NumPy ufunc's result on a tensor, as a tensor sharing it (a bool result as uint8, as torch's)."""
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        from .ops.creation import from_numpy
        return from_numpy(np.asarray(array))

    def __reduce_ex__(self, protocol: int) -> Any:
        """As torch's: the whole storage (by reference: ``copy.copy`` shares it, ``pickle`` writes it all), the
        offset, sizes and strides, ``requires_grad`` and the Python attributes, not ``.grad``."""
        root, offset, stride = self._storage_view()   # (a view of root: two tensors pickle two storages, as torch)
        return (_rebuild, (type(self), root.view(), str(self._device), self._dtype.name, offset, self._data.shape,
                           stride, self._rg, python_state(self)))

    def _storage_view(self) -> tuple[Any, int, tuple[int, ...]]:
        """(root array, offset, strides in elements) of this tensor's memory as torch describes a view of its
        storage; a contiguous copy of the data alone where that cannot describe it."""
        data, item = self._data, self._dtype.itemsize
        if data.base is None and (data.flags.c_contiguous or data.flags.f_contiguous):   # owns its memory
            return data, 0, tuple(s // item for s in data.strides)
        from .ops.storage import memory_bytes
        root = self._root_array()
        offset = _data_ptr(data) - _data_ptr(root)
        if memory_bytes(root) is None or offset % item or any(s < 0 or s % item for s in data.strides):
            data = root = data.copy()
            offset = 0
        return root, offset // item, tuple(s // item for s in data.strides)

    def __deepcopy__(self, memo: dict) -> Tensor:
        """As torch's: a leaf over a copy of the storage, which the views copied with it share (through
        ``memo``), same offset and strides; ``.grad`` and the Python attributes deep-copied."""
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                               "deepcopy protocol at the moment.  If you were attempting to deepcopy a "
                               "module, this may be because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        if id(self) in memo:
            return memo[id(self)]
        root, offset, stride = self._storage_view()
        new_root = memo.get(id(root))
        if new_root is None:
            new_root = memo[id(root)] = root.copy(order="K")
            memo.setdefault(id(memo), []).append(root)   # (keeps ``root`` and so its id alive, as copy does)
        state = python_state(self)
        if state:
            import copy
            state = copy.deepcopy(state, memo)
        new = _rebuild(type(self), new_root, self._device, self._dtype.name, offset, self._data.shape, stride,
                       self._rg, state)
        g = self._grad_or_none()
        if g is not None:
            new._grad = g.__deepcopy__(memo)
        memo[id(self)] = new
        return new

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """Without argument: torch's type string ('torch.FloatTensor'); otherwise a converted tensor (a dtype,
        a legacy tensor type, or its name)."""
        if non_blocking is not True and non_blocking is not False:
            raise TypeError("type(): non_blocking must be bool")   # worded as torch's by ops/_signature
        if dtype is None:
            prefix = "torch.cuda." if self._device.type == "cuda" else "torch."
            return prefix + self._dtype._legacy
        if isinstance(dtype, str):
            cuda = dtype.startswith("torch.cuda.")
            name = dtype.rsplit(".", 1)[-1]
            if name not in D.BY_LEGACY or not dtype.startswith("torch."):
                raise ValueError(f"invalid type: '{dtype}'")
            target = D.BY_LEGACY[name]
            dev = "cuda" if cuda else "cpu"
            return self.to(device=dev, dtype=target)
        if isinstance(dtype, D.dtype):
            return self.to(dtype)
        if not isinstance(dtype, type):
            raise TypeError("dtype must be a type, str, or dtype object")
        if dtype is Tensor:   # the default tensor type
            return self.to(D.get_default_dtype())
        if not hasattr(dtype, "_legacy_dtype"):
            mod = dtype.__module__
            name = dtype.__qualname__ if mod == "builtins" or mod.split(".")[0] == "ember" else \
                f"{mod}.{dtype.__qualname__}"
            raise ValueError(f"invalid type: '{name}'")
        return self.to(device=dtype._legacy_device, dtype=dtype._legacy_dtype)


def _as_subclass(t: Tensor, cls: type) -> Tensor:
    new = _new(cls)
    for slot in ("_data", "_dtype", "_device", "_base", "_vc", "_rg", "_grad_fn", "_output_nr"):
        setattr(new, slot, getattr(t, slot))
    return new


def python_state(t: Tensor) -> dict[str, Any]:
    """The Python attributes set on ``t`` (what torch pickles and saves with a tensor), without ember's own:
    its per-instance flags (class attributes set on the instance) and forward-AD tangents (``_fwt``, ``_fwa``)."""
    d = getattr(t, "__dict__", None)
    if not d:
        return {}
    cls = type(t)
    return {k: v for k, v in d.items() if not hasattr(cls, k) and k not in ("_fwt", "_fwa")}


def _rebuild(cls: type, memory: Any, dev: str | device, dtype_name: str, offset: int, size: tuple[int, ...],
             stride: tuple[int, ...], requires_grad: bool, state: dict[str, Any]) -> Tensor:
    """A pickled or copied tensor: the view of the storage owning ``memory`` it was, of class ``cls``, with its
    ``requires_grad`` and attributes."""
    from ._core.device import canonical
    dt, dev = D.BY_NAME[dtype_name], canonical(dev)
    item = dt.itemsize
    if (not offset and memory.dtype == dt.np and memory.shape == tuple(size)
            and memory.strides == tuple(s * item for s in stride)):
        t = from_array(memory, dt, dev)   # the whole storage (the common case)
    else:
        from .ops.storage import UntypedStorage
        from .serialization._globals import _build
        t = _build(UntypedStorage(memory, dev), dt, offset, size, stride)
    if cls is not Tensor:
        t = _as_subclass(t, cls)
    t._rg = requires_grad
    if state:
        t.__dict__.update(state)
    return t


_host = to_host


def _data_ptr(arr: Any) -> int:
    if isinstance(arr, np.ndarray):
        return arr.__array_interface__["data"][0]
    return arr.data.ptr


def wrap_dim(dim: int, ndim: int) -> int:
    """Normalise a possibly negative dim, raising torch's IndexError when out of range. NumPy integers and 0-d
    integer tensors are ints, as for torch; bools are not."""
    n = ndim if ndim > 0 else 1
    if type(dim) is not int:
        if isinstance(dim, np.integer) or isinstance(dim, Tensor) and not dim._data.ndim and \
                dim._dtype.category == 1:
            dim = int(dim)
        elif isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"argument 'dim' must be int, not {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                         f"{dim})")
    return dim + n if dim < 0 else dim


def _dense_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """torch's strides (here in bytes) for a new tensor of ``shape``: contiguous over ``max(size, 1)``."""
    acc, out = itemsize, []
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


def dense_empty(arr: Any) -> Any:
    """The new empty NumPy array ``arr`` with torch's strides (NumPy's are 0s, which its views would keep: a
    transposed empty tensor would lose torch's strides)."""
    if type(arr) is not np.ndarray:
        return arr
    return np.ndarray(arr.shape, arr.dtype, buffer=arr, strides=_dense_strides(arr.shape, arr.itemsize))


def from_array(arr: Any, dtype: D.dtype | None = None, dev: device = CPU) -> Tensor:
    """Wrap a backend array (never copied) as a fresh leaf tensor."""
    t = _new(Tensor)
    t._data = arr
    t._dtype = dtype = dtype if dtype is not None else D.from_numpy_dtype(arr.dtype)
    if dtype is _unwarned:
        _warn_experimental()
    t._device = dev
    t._base = None
    t._vc = [0]
    t._rg = False
    t._grad_fn = None
    t._output_nr = 0
    if _INFERENCE[0] and GRAD_STATE.inference:
        t._inference = True
    return t


_unwarned: Any = D.complex32   # the dtype whose first tensor warns (torch warns once a process)


def warn_complex32_once() -> None:
    """torch's one-time complex32 warning, for an op whose kernel allocates its complex32 result before failing."""
    if _unwarned is D.complex32:
        _warn_experimental()


def _warn_experimental() -> None:
    """torch's one-time warning on the first complex32 tensor allocated (views of float16 data do not warn),
    attributed to the first caller outside ember."""
    global _unwarned
    _unwarned = SAME_DTYPE   # (never a tensor's dtype)
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "ember":
        frame, level = frame.f_back, level + 1
    warnings.warn("ComplexHalf support is experimental and many operators don't support it yet. (Triggered "
                  "internally at /__w/pytorch/pytorch/aten/src/ATen/EmptyTensor.cpp:54.)", UserWarning,
                  stacklevel=level)


def _cpp_name(dt: D.dtype) -> str:
    """The C++ type name torch prints for ``dt`` in some messages ('float', 'long int', 'c10::Half')."""
    names = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
             "complex64": "c10::complex<float>", "complex128": "c10::complex<double>", "int64": "long int",
             "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char"}
    return names.get(dt.name, dt.name)


# the dtypes whose tensors ``numpy()`` shares as arrays (NumPy's own types; not bfloat16, complex32, float8,
# quantized or bit-packed ones, as torch)
_NUMPY_DTYPES = frozenset(D.ALL_DTYPES) - {D.bfloat16}
_INFERENCE = [False]   # set once inference_mode or a forward-AD level was used: in-place ops check in after
GRAD_STATE: Any = None  # the thread-local grad-mode state, installed by ember.autograd.grad_mode


def zeros_of(shape: tuple, dtype: D.dtype, dev: device) -> Tensor:
    """A zero tensor of the given metadata (used to materialise missing gradients)."""
    from ._core.device import xp_of
    return from_array(xp_of(dev).zeros(shape, dtype.np), dtype, dev)


def _grad_enabled() -> bool:
    """Whether grad mode is on (torch refuses ``numpy()`` on a tensor requiring grad only then)."""
    return GRAD_STATE.grad
