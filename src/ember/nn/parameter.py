"""``nn.Parameter`` (a leaf Tensor subclass that modules register), ``nn.Buffer`` and the lazy
``UninitializedParameter``/``UninitializedBuffer`` placeholders."""

from __future__ import annotations

from typing import Any

from .._core.memory_format import preserve_format
from .._tensor import Tensor, _new, python_state
from .._tensor_str import tensor_repr
from ..overrides import _takes_part

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]

_SLOTS = ("_data", "_dtype", "_device", "_vc")


def _alias(cls: type, data: Tensor) -> Any:
    """A new leaf of class ``cls`` sharing ``data``'s memory and version counter (no autograd history)."""
    t = _new(cls)
    for slot in _SLOTS:
        setattr(t, slot, getattr(data, slot))
    t._base = None
    t._rg = False
    t._grad_fn = None
    t._output_nr = 0
    return t


class _ParameterMeta(type):
    """``isinstance(t, Parameter)`` also holds for a tensor subclass made a parameter (``Parameter(dtensor)``
    stays a DTensor, flagged ``_is_param``), as torch."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return _subclass_instance(cls, obj) or (getattr(obj, "_is_param", False) is True and cls is Parameter
                                                and isinstance(obj, Tensor))


_subclass_instance = type.__instancecheck__


class Parameter(Tensor, metaclass=_ParameterMeta):
    """A tensor that is a module parameter: a leaf with ``requires_grad=True`` by default, sharing the
    memory of the tensor it wraps. A tensor subclass that takes part in ``__torch_function__`` (DTensor, a
    user's subclass) stays of its class: its ``detach()`` flagged as a parameter, as torch."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        if type(data) is not Tensor and not issubclass(type(data), Parameter) and _takes_part(type(data)):
            t = data.detach()
            if type(t) is not type(data):
                raise RuntimeError(f"Creating a Parameter from an instance of type {type(data).__name__} requires "
                                   "that detach() returns an instance of the same type, but return type "
                                   f"{type(t).__name__} was found instead. To use the type as a Parameter, please "
                                   "correct the detach() semantics defined by its __torch_dispatch__() "
                                   "implementation.")
            t.requires_grad_(requires_grad)
            t._is_param = True
            return t
        if requires_grad and not (data.dtype.is_floating_point or data.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        p = _alias(cls, data)
        p._rg = bool(requires_grad)
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return "Parameter containing:\n" + tensor_repr(self)

    __str__ = __repr__
    __format__ = object.__format__   # not a plain Tensor: no number formats, even when 0-d (as torch)

    def __deepcopy__(self, memo: dict) -> Parameter:
        """A new parameter of the same class over a clone of the data (``preserve_format``); as torch, neither
        ``.grad`` nor attributes set on the parameter are copied."""
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.detach().clone(memory_format=preserve_format), self._rg)
        return memo[id(self)]

    def __reduce_ex__(self, protocol: int) -> Any:
        return (_rebuild_parameter, (Tensor.__reduce_ex__(self, protocol), self._rg))


def _rebuild_parameter(reduced: tuple, requires_grad: bool) -> Parameter:
    fn, args = reduced
    t = fn(*args)
    p = Parameter(t, requires_grad)
    p.__dict__.update(python_state(t))   # the parameter's attributes, as torch pickles them
    return p


class _BufferMeta(type):
    """``isinstance(t, Buffer)`` is true for tensors made by ``Buffer(...)`` (they stay plain tensors)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and getattr(obj, "_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """Marks a tensor to be registered as a module buffer when assigned as an attribute."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Any:  # type: ignore[misc]
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        t = data.detach()
        t.requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


class _Uninitialized:
    """What lazy placeholders share: their shape is not known yet, so asking for it fails as in torch."""

    @property
    def shape(self) -> Any:
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
            "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
            "`forward` to initialize the parameters before accessing their attributes."
        )


class UninitializedParameter(_Uninitialized, Parameter):
    """A parameter whose shape is not known yet (``LazyLinear``); ``materialize(shape)`` allocates it."""

    cls_to_become: type = Parameter

    def __new__(cls, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> Any:
        from ..ops.creation import empty

        return super().__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        pass

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Allocate storage of ``shape`` and turn into a regular :class:`Parameter`."""
        from ..ops.creation import empty

        self.data = empty(shape, device=device or self.device, dtype=dtype or self.dtype)
        self.__class__ = self.cls_to_become

    def __deepcopy__(self, memo: dict) -> UninitializedParameter:
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._rg, self.device, self.dtype)
        return memo[id(self)]

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return "<UninitializedParameter>"

    __str__ = __repr__


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is not known yet; ``materialize(shape)`` allocates it as a plain tensor."""

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> Any:
        from ..ops.creation import empty

        t = _alias(cls, empty(0, device=device, dtype=dtype))
        t._rg = requires_grad
        return t

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        from ..ops.creation import empty

        self.data = empty(shape, device=device or self.device, dtype=dtype or self.dtype)
        self.__class__ = Tensor

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return "<UninitializedBuffer>"

    __str__ = __repr__


def is_lazy(param: Any) -> bool:
    """Whether ``param`` is an uninitialized (lazy) parameter or buffer."""
    return isinstance(param, (UninitializedParameter, UninitializedBuffer))
