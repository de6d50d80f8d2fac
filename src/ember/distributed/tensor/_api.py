"""``DTensor``: an ember Tensor subclass whose array is this rank's local shard, with the mesh, the placements and
the global shape/stride as metadata; ``distribute_tensor``, ``distribute_module`` and the factories.

Autograd runs at the DTensor level: each DTensor op, redistribution, ``to_local`` and ``from_local`` records one
graph node whose backward receives and returns DTensor gradients (their placements as torch gives them), so
gradients of different layouts meet in DTensor additions. Gradients reaching a leaf DTensor are brought to the
leaf's own placements (pending partial sums reduced), so ember's optimizers update local shards directly.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

from ... import nn
from ..._core.warn import warn
from ..._tensor import Size, Tensor, _new
from ...autograd.grad_mode import STATE, no_grad
from ...autograd.graph import Node
from ...ops._dispatch import record
from ..device_mesh import DeviceMesh, _current_mesh
from ._redistribute import (
    global_stride,
    grad_placements,
    local_shape_and_offset,
    mesh_broadcast,
    normalize_placements,
    partition_value,
    redistribute_local,
    shard_of,
)
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["DTensor", "DTensorSpec", "distribute_tensor", "distribute_module", "zeros", "ones", "empty", "full",
           "rand", "randn"]


class DTensorSpec:
    """A DTensor's layout: mesh, placements (one per mesh dimension), global shape and stride."""

    __slots__ = ("mesh", "placements", "shape", "stride")

    def __init__(self, mesh: DeviceMesh, placements: tuple[Placement, ...], shape: Sequence[int],
                 stride: Sequence[int]) -> None:
        self.mesh, self.placements, self.shape, self.stride = mesh, tuple(placements), Size(shape), tuple(stride)

    def with_placements(self, placements: Sequence[Placement]) -> DTensorSpec:
        return DTensorSpec(self.mesh, tuple(placements), self.shape, self.stride)

    def __repr__(self) -> str:
        return f"Spec({'x'.join(map(str, self.shape))}({''.join(map(str, self.placements))}))"


def _contiguous_stride(shape: Sequence[int]) -> tuple[int, ...]:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


class DTensor(Tensor):
    """A tensor distributed over a :class:`DeviceMesh`: this rank holds ``to_local()``; ``placements`` say how the
    pieces make the global tensor of ``shape``. ember ops on DTensors run on the local shards after the
    redistributions sharding propagation asks for (torch's rules)."""

    _spec: DTensorSpec

    def __new__(cls, local_tensor: Tensor, spec: DTensorSpec, *, requires_grad: bool = False) -> DTensor:
        return _wrap(local_tensor, spec, requires_grad, cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        from ._dispatch import dispatch
        return dispatch(func, types, args, kwargs or {})

    # ---- metadata: the global tensor's ----------------------------------------------------------------------
    @property
    def device_mesh(self) -> DeviceMesh:
        return self._spec.mesh

    @property
    def placements(self) -> tuple[Placement, ...]:
        return self._spec.placements

    @property
    def shape(self) -> Size:
        return self._spec.shape

    def size(self, dim: int | None = None) -> Any:
        return self._spec.shape if dim is None else self._spec.shape[self._wrap_global(dim)]

    def stride(self, dim: int | None = None) -> Any:
        return self._spec.stride if dim is None else self._spec.stride[self._wrap_global(dim)]

    @property
    def ndim(self) -> int:
        return len(self._spec.shape)

    def dim(self) -> int:
        return len(self._spec.shape)

    ndimension = dim

    def numel(self) -> int:
        return math.prod(self._spec.shape)

    nelement = numel

    @property
    def nbytes(self) -> int:
        return self.numel() * self._dtype.itemsize

    def __len__(self) -> int:
        if not self._spec.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._spec.shape[0]

    def _wrap_global(self, dim: int) -> int:
        from ..._tensor import wrap_dim
        return wrap_dim(dim, len(self._spec.shape))

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return self._spec.stride == _contiguous_stride(self._spec.shape)

    # ---- local shard ------------------------------------------------------------------------------------------
    @property
    def _local_tensor(self) -> Tensor:
        """A plain tensor sharing this DTensor's local array and version counter (kept while the array is)."""
        loc = self.__dict__.get("_local")
        if loc is None or loc._data is not self._data:
            loc = self.__dict__["_local"] = _alias_plain(self)
        return loc

    def to_local(self, *, grad_placements: Sequence[Placement] | None = None) -> Tensor:
        """This rank's shard as a plain tensor (sharing memory); under autograd, its gradient comes back as a
        DTensor with ``grad_placements`` (default: these placements, partial ones as replicas)."""
        if not (STATE.enabled and self._rg):
            return self._local_tensor
        out = _alias_plain(self)
        node = _ToTorchTensorBackward()
        node.spec = self._spec
        node.grad_placements = None if grad_placements is None else tuple(grad_placements)
        record(out, node, (self,))
        return out

    def full_tensor(self, *, grad_placements: Sequence[Placement] | None = None) -> Tensor:
        """The global tensor on every rank (all-gathered / all-reduced), as a plain tensor."""
        full = self.redistribute(self.device_mesh, [Replicate()] * self.device_mesh.ndim)
        return full.to_local(grad_placements=grad_placements)

    def redistribute(self, device_mesh: DeviceMesh | None = None, placements: Sequence[Placement] | None = None, *,
                     async_op: bool = False, forward_dtype: Any = None, backward_dtype: Any = None) -> DTensor:
        """This tensor laid out by ``placements`` on the same mesh (collectives as needed); differentiable."""
        device_mesh = device_mesh or self.device_mesh
        if device_mesh != self.device_mesh:
            raise NotImplementedError("Cross device mesh comm not supported yet!")
        if placements is None:
            raise RuntimeError("placements is needed for redistribute!")
        placements = normalize_placements(placements, self.ndim, device_mesh)
        for cur, new in zip(self.placements, placements, strict=True):
            if isinstance(new, Partial) and cur != new:
                raise RuntimeError(f"Can not redistribute from {cur} to {new}, redistributing to Partial is for "
                                   "internal use only!")
        return _redistribute(self, placements, forward_dtype, backward_dtype)

    @staticmethod
    def from_local(local_tensor: Tensor, device_mesh: DeviceMesh | None = None,
                   placements: Sequence[Placement] | None = None, *, run_check: bool = False,
                   shape: Sequence[int] | None = None, stride: Sequence[int] | None = None,
                   grad_placements: Sequence[Placement] | None = None) -> DTensor:
        """A DTensor whose local shard on this rank is ``local_tensor`` (memory shared; differentiable). The global
        shape assumes even shards unless ``shape`` and ``stride`` are given; ``run_check`` checks dtypes (and
        shapes) across ranks and broadcasts replicas from the first rank of each mesh dimension."""
        device_mesh = device_mesh or _current_mesh()
        if placements is None:
            placements = [Replicate()] * device_mesh.ndim
        placements = normalize_placements(placements, local_tensor.ndim, device_mesh)
        if (shape is None) != (stride is None):
            raise RuntimeError(f"Found shape:{shape}, stride:{stride}.",
                               "Please pass both shape and stride at the same time.")
        if shape is None:
            gshape = list(local_tensor.shape)
            lstride = list(local_tensor.stride())
            gstride = list(lstride)
            for k, p in enumerate(placements):
                if isinstance(p, Shard):
                    n = device_mesh.size(k)
                    for i in range(len(gshape)):
                        if i != p.dim and lstride[i] > lstride[p.dim]:
                            gstride[i] *= n
                    gshape[p.dim] *= n
            shape, stride = gshape, gstride
        if run_check:
            _check_tensor_meta(local_tensor, check_shape_stride=shape is None)
            for k, p in enumerate(placements):
                if isinstance(p, Replicate):
                    local_tensor = local_tensor.contiguous()
                    with no_grad():
                        mesh_broadcast(local_tensor, device_mesh, k)
        spec = DTensorSpec(device_mesh, placements, shape, stride)
        out = _wrap(local_tensor.detach(), spec, False)
        if STATE.enabled and local_tensor._rg:
            node = _FromTorchTensorBackward()
            node.spec = spec
            node.grad_placements = None if grad_placements is None else tuple(grad_placements)
            record(out, node, (local_tensor,))
            out._local_rg = True
        return out

    # ---- autograd -----------------------------------------------------------------------------------------------
    @property
    def grad(self) -> DTensor | None:
        g = self._grad_or_none()
        if g is not None and not isinstance(g, DTensor):   # the engine stored the local array of a DTensor gradient
            g = _wrap(g, self._spec.with_placements(grad_placements(self.placements)), False)
            self._grad = g
        return g

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        Tensor.grad.fset(self, value)   # type: ignore[attr-defined]

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    def requires_grad_(self, requires_grad: bool = True) -> DTensor:
        super().requires_grad_(requires_grad)
        self.__dict__["_local_rg"] = False   # torch flags the DTensor only: its local shard prints no requires_grad
        return self

    # ---- printing, copying ---------------------------------------------------------------------------------
    def __repr__(self, *, tensor_contents: Any = None) -> str:
        loc = self._local_tensor
        if self._rg and self.__dict__.get("_local_rg", self._grad_fn is None):   # (as torch's local shows)
            loc = _alias_plain(self)
            loc._rg = True
        return f"DTensor(local_tensor={loc}, device_mesh={self.device_mesh}, placements={self.placements})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __deepcopy__(self, memo: dict) -> DTensor:
        if id(self) in memo:
            return memo[id(self)]
        with no_grad():
            loc = self._local_tensor.clone()
        out = _wrap(loc, self._spec, self.requires_grad, type(self))
        memo[id(self)] = out
        extra = {k: v for k, v in self.__dict__.items() if k not in ("_spec", "_local")}   # _is_param, ...
        out.__dict__.update(copy.deepcopy(extra, memo))
        return out

    def __reduce_ex__(self, protocol: int) -> Any:
        return (_rebuild_dtensor, (self._local_tensor.detach().clone(), self._spec.mesh, self._spec.placements,
                                   tuple(self._spec.shape), self._spec.stride, self.requires_grad))


def _rebuild_dtensor(local: Tensor, mesh: DeviceMesh, placements: tuple, shape: tuple, stride: tuple,
                     requires_grad: bool) -> DTensor:
    return _wrap(local, DTensorSpec(mesh, placements, shape, stride), requires_grad)


def _wrap(local: Tensor | Any, spec: DTensorSpec, requires_grad: bool, cls: type = DTensor) -> DTensor:
    """A new leaf DTensor of class ``cls`` over ``local``'s array (shared memory and version counter)."""
    from ...overrides import _ACTIVE, activate
    if not _ACTIVE:   # (a process that switched the protocol off again: DTensors need it)
        activate()
    t = _new(cls)
    t._data, t._dtype, t._device = local._data, local._dtype, local._device
    t._vc = local._vc
    t._base, t._grad_fn, t._output_nr = None, None, 0
    t._rg = bool(requires_grad)
    t._spec = spec
    return t


def _alias_plain(d: DTensor) -> Tensor:
    """A plain tensor over ``d``'s local array (memory and version counter shared, no history)."""
    loc = _new(Tensor)
    loc._data, loc._dtype, loc._device, loc._vc = d._data, d._dtype, d._device, d._vc
    loc._base, loc._rg, loc._grad_fn, loc._output_nr = None, False, None, 0
    return loc


def spec_for(local: Tensor, mesh: DeviceMesh, placements: Sequence[Placement], shape: Sequence[int]) -> DTensorSpec:
    return DTensorSpec(mesh, tuple(placements), shape, global_stride(local, shape))


# ---- autograd nodes of the layout changes -----------------------------------------------------------------------
class _ToTorchTensorBackward(Node):
    """``to_local``'s node: the plain gradient becomes a DTensor of the forward layout (partials as replicas)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        spec = self.spec
        pl = self.grad_placements or grad_placements(spec.placements)
        if isinstance(g, DTensor):
            return (g,)
        return (_wrap(g, DTensorSpec(spec.mesh, pl, spec.shape, global_stride(g, spec.shape)), False),)


class _FromTorchTensorBackward(Node):
    """``from_local``'s node: the DTensor gradient laid out as the forward's placements (partials as replicas),
    its local shard handed back."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        if not isinstance(g, DTensor):
            return (g,)
        target = self.grad_placements or grad_placements(self.spec.placements)
        with no_grad():
            loc = redistribute_local(g._local_tensor, g.device_mesh, g.placements, target, g.shape)
        return (loc,)


class RedistributeBackward(Node):
    """``redistribute``'s node: the gradient goes back to the source placements (a replica or shard gradient
    of a partial source stays a replica, as torch)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        src = self.src
        if not isinstance(g, DTensor):
            g = _wrap(g, self.out_spec.with_placements(grad_placements(self.out_spec.placements)), False)
        target = tuple(Replicate() if isinstance(s, Partial) and not isinstance(c, Partial) else s
                       for c, s in zip(g.placements, src, strict=True))
        with no_grad():
            loc = redistribute_local(g._local_tensor, g.device_mesh, g.placements, target, g.shape)
            if self.back_dtype is not None and loc.dtype != self.back_dtype:
                loc = loc.to(self.back_dtype)
        return (_wrap(loc, spec_for(loc, g.device_mesh, target, g.shape), False),)


def _redistribute(d: DTensor, placements: tuple[Placement, ...], forward_dtype: Any = None,
                  backward_dtype: Any = None) -> DTensor:
    with no_grad():
        loc = d._local_tensor
        if forward_dtype is not None and loc.dtype != forward_dtype:
            loc = loc.to(forward_dtype)
        loc = redistribute_local(loc, d.device_mesh, d.placements, placements, d.shape)
        if forward_dtype is not None and loc.dtype != d.dtype:
            loc = loc.to(d.dtype)
    if loc is d._local_tensor:
        loc = _alias_plain(d)
    out = _wrap(loc, spec_for(loc, d.device_mesh, placements, d.shape) if placements != d.placements else d._spec,
                False)
    if STATE.enabled and d._rg:
        node = RedistributeBackward()
        node.src = d.placements
        node.out_spec = out._spec
        node.back_dtype = d.dtype if backward_dtype is not None else None
        record(out, node, (d,))
    return out


# ---- creation -----------------------------------------------------------------------------------------------------
def _check_tensor_meta(local: Tensor, check_shape_stride: bool) -> None:
    """torch's ``run_check``: the same dtype and requires_grad (and shape/stride) on every rank."""
    from .. import distributed_c10d as c10d
    meta: dict[str, Any] = {"dtype": str(local.dtype), "requires_grad": local.requires_grad}
    if check_shape_stride:
        meta.update(shape=tuple(local.shape), stride=tuple(local.stride()))
    gathered: list[Any] = [None] * c10d.get_world_size()
    c10d.all_gather_object(gathered, meta)
    if not all(m == meta for m in gathered):
        raise ValueError("Inconsistent tensor metadata (including shape and stride) across ranks.")


def distribute_tensor(tensor: Tensor, device_mesh: DeviceMesh | None = None,
                      placements: Sequence[Placement] | None = None, *, src_data_rank: int | None = 0) -> DTensor:
    """Split a leaf ``tensor`` (the global tensor) over ``device_mesh`` as ``placements`` say (default: replicas).
    With ``src_data_rank`` (default 0) the global tensor of that rank of each mesh dimension is the truth (it is
    broadcast first); with None each rank splits its own. Uneven shards follow ``torch.chunk``."""
    device_mesh = device_mesh or _current_mesh()
    if not tensor.is_leaf:
        raise RuntimeError("`distribute_tensor` should be used to distribute leaf tensors! but found non-leaf "
                           "tensor!")
    if placements is None:
        placements = [Replicate()] * device_mesh.ndim
    if len(placements) != device_mesh.ndim:
        raise ValueError(f"`placements` must have the same length as `device_mesh.ndim`! Found placements length: "
                         f"{len(placements)}, and device_mesh.ndim: {device_mesh.ndim}.")
    placements = normalize_placements(placements, tensor.ndim, device_mesh)
    if isinstance(tensor, DTensor):
        if tensor.device_mesh != device_mesh:
            raise ValueError(f"Cannot distribute a DTensor with device mesh {tensor.device_mesh} to a different "
                             f"device mesh {device_mesh}.")
        if tensor.placements != placements:
            raise ValueError(f"Cannot distribute a DTensor with placements {tensor.placements} to a different "
                             f"placements {list(placements)}. do you want to call `redistribute` instead?")
        return tensor
    if tensor.device.type != device_mesh.device_type:
        tensor = tensor.to(device_mesh.device_type)
    with no_grad():
        loc = tensor.detach()
        coord = device_mesh.get_coordinate()
        if src_data_rank is not None:
            loc = loc.contiguous().clone()
            for k in range(device_mesh.ndim):
                mesh_broadcast(loc, device_mesh, k, src_data_rank)
        for k, p in enumerate(placements):
            if isinstance(p, Shard):
                loc = shard_of(loc, device_mesh, k, p.dim, coord[k])
            elif isinstance(p, Partial):
                loc = partition_value(loc, device_mesh, k, p.reduce_op)
    spec = DTensorSpec(device_mesh, placements, tensor.shape, tensor.stride())
    return _wrap(loc, spec, tensor.requires_grad)


def distribute_module(module: nn.Module, device_mesh: DeviceMesh | None = None,
                      partition_fn: Callable[[str, nn.Module, DeviceMesh], None] | None = None,
                      input_fn: Callable[..., Any] | None = None,
                      output_fn: Callable[..., Any] | None = None) -> nn.Module:
    """Turn ``module``'s parameters and buffers into DTensors (``partition_fn(name, submodule, mesh)`` for each
    submodule, then replicas for the rest) and install ``input_fn``/``output_fn`` as forward pre-/post-hooks."""
    if getattr(module, "_distribute_module_applied", False):
        raise RuntimeError("distribute_module should only be called once on a module, but it has already been "
                           "called on this module!")
    device_mesh = device_mesh or _current_mesh()

    def replicate_rest(m: nn.Module) -> None:
        full = [Replicate()] * device_mesh.ndim
        for key, param in list(m._parameters.items()):
            if param is not None and not isinstance(param, DTensor):
                m.register_parameter(key, nn.Parameter(distribute_tensor(param.data, device_mesh, full),
                                                       param.requires_grad))
        for key, buf in list(m._buffers.items()):
            if buf is not None and not isinstance(buf, DTensor):
                m._buffers[key] = distribute_tensor(buf, device_mesh, full)

    if partition_fn is None:
        for sub in module.modules():
            replicate_rest(sub)
    else:
        for name, sub in module.named_modules():
            partition_fn(name, sub, device_mesh)
            replicate_rest(sub)
    if input_fn is not None:
        n = len(inspect.signature(input_fn).parameters)
        if n == 2:
            warn("Deprecating input_fn that takes two arguments (inputs, device_mesh), please use input_fn "
                 "that takes in (module, inputs, device_mesh) instead!", FutureWarning, stacklevel=2)
            module.register_forward_pre_hook(lambda _, inputs: input_fn(inputs, device_mesh))
        elif n == 3:
            module.register_forward_pre_hook(lambda mod, inputs: input_fn(mod, inputs, device_mesh))
        else:
            raise ValueError(f"input_fn should take in 3 arguments, but got {n} arguments!")
    if output_fn is not None:
        n = len(inspect.signature(output_fn).parameters)
        if n == 2:
            warn("Deprecating output_fn that takes two arguments (inputs, device_mesh), please use "
                 "output_fn that takes in (module, inputs, device_mesh) instead!", FutureWarning,
                 stacklevel=2)
            module.register_forward_hook(lambda mod, inputs, outputs: output_fn(outputs, device_mesh))
        elif n == 3:
            module.register_forward_hook(lambda mod, inputs, outputs: output_fn(mod, outputs, device_mesh))
        else:
            raise ValueError(f"output_fn should take in 3 arguments, but got {n} arguments!")
    module._distribute_module_applied = True
    return module


def _size(size: tuple) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (list, tuple, Size)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _factory(make: Callable[[tuple[int, ...]], Tensor], size: tuple[int, ...], device_mesh: DeviceMesh | None,
             placements: Sequence[Placement] | None, requires_grad: bool, layout: Any, whole: bool = False) -> DTensor:
    """A DTensor made by ``make(local_shape)``; with ``whole`` the global tensor is made on every rank (random
    numbers: the same stream as an undistributed call) and this rank keeps its shard."""
    device_mesh = device_mesh or _current_mesh()
    placements = placements or [Replicate()] * device_mesh.ndim
    if device_mesh.ndim != len(placements):
        raise AssertionError("mesh dimension does not match the length of placements")
    if str(layout) not in ("torch.strided", "strided"):
        raise AssertionError("layout value not supported!")
    placements = normalize_placements(placements, len(size), device_mesh)
    with no_grad():
        if whole:
            loc = make(size)
            coord = device_mesh.get_coordinate()
            for k, p in enumerate(placements):
                if isinstance(p, Shard):
                    loc = shard_of(loc, device_mesh, k, p.dim, coord[k])
        else:
            loc = make(local_shape_and_offset(size, device_mesh, placements)[0])
    return _wrap(loc, DTensorSpec(device_mesh, placements, size, _contiguous_stride(size)), requires_grad)


_STRIDED = "torch.strided"


def zeros(*size: Any, requires_grad: bool = False, dtype: Any = None, layout: Any = _STRIDED,
          device_mesh: DeviceMesh | None = None, placements: Sequence[Placement] | None = None) -> DTensor:
    """A DTensor of zeros of global ``size`` laid out by ``placements`` (default: replicas) on ``device_mesh``."""
    import ember
    mesh = device_mesh or _current_mesh()
    return _factory(lambda s: ember.zeros(s, dtype=dtype, device=mesh.device_type), _size(size), mesh,
                    placements, requires_grad, layout)


def ones(*size: Any, dtype: Any = None, layout: Any = _STRIDED, requires_grad: bool = False,
         device_mesh: DeviceMesh | None = None, placements: Sequence[Placement] | None = None) -> DTensor:
    """A DTensor of ones of global ``size``."""
    import ember
    mesh = device_mesh or _current_mesh()
    return _factory(lambda s: ember.ones(s, dtype=dtype, device=mesh.device_type), _size(size), mesh,
                    placements, requires_grad, layout)


def empty(*size: Any, dtype: Any = None, layout: Any = _STRIDED, requires_grad: bool = False,
          device_mesh: DeviceMesh | None = None, placements: Sequence[Placement] | None = None) -> DTensor:
    """An uninitialised DTensor of global ``size``."""
    import ember
    mesh = device_mesh or _current_mesh()
    return _factory(lambda s: ember.empty(s, dtype=dtype, device=mesh.device_type), _size(size), mesh,
                    placements, requires_grad, layout)


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, layout: Any = _STRIDED,
         requires_grad: bool = False, device_mesh: DeviceMesh | None = None,
         placements: Sequence[Placement] | None = None) -> DTensor:
    """A DTensor of global ``size`` filled with ``fill_value``."""
    import ember
    mesh = device_mesh or _current_mesh()
    return _factory(lambda s: ember.full(s, fill_value, dtype=dtype, device=mesh.device_type), _size((size,)),
                    mesh, placements, requires_grad, layout)


def rand(*size: Any, requires_grad: bool = False, dtype: Any = None, layout: Any = _STRIDED,
         device_mesh: DeviceMesh | None = None, placements: Sequence[Placement] | None = None) -> DTensor:
    """Uniform [0, 1) numbers: the global tensor is what ``rand(size)`` gives on every rank under the same seed
    (torch supports DTensor random numbers on accelerators only; ember makes them on every device)."""
    import ember
    mesh = device_mesh or _current_mesh()
    return _factory(lambda s: ember.rand(s, dtype=dtype, device=mesh.device_type), _size(size), mesh,
                    placements, requires_grad, layout, whole=True)


def randn(*size: Any, requires_grad: bool = False, dtype: Any = None, layout: Any = _STRIDED,
          device_mesh: DeviceMesh | None = None, placements: Sequence[Placement] | None = None) -> DTensor:
    """Standard normal numbers (the global tensor ``randn(size)`` gives on every rank under the same seed)."""
    import ember
    mesh = device_mesh or _current_mesh()
    return _factory(lambda s: ember.randn(s, dtype=dtype, device=mesh.device_type), _size(size), mesh,
                    placements, requires_grad, layout, whole=True)
