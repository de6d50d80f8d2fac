"""FSDP2's ``fully_shard``: shard each parameter of a module on dim 0 across the ranks of a 1-d mesh, in place.

The module's class becomes ``FSDP<Class>`` (a subclass of :class:`FSDPModule` and the original class) and its
parameters keep their names; each parameter becomes a DTensor parameter of the original's shape, ``Shard(0)`` over
the mesh, holding this rank's rows (``torch.chunk`` of dim 0 over the ranks: trailing ranks may hold fewer rows,
or none), as torch's; their gradients and ``state_dict()`` are DTensors of the same layout.

Each forward gathers the module's parameters in one all-gather (``_GatherParams``: every parameter's padded rows
packed into one buffer) and sets the full parameters as the modules' attributes; the backward of that gather
reduce-scatters the gradients (averaged over ranks) into the local parameters' gradients. With
``reshard_after_forward`` (default) the full parameters are freed after forward and gathered again in backward
(saved-tensor hooks, as FSDP1's FULL_SHARD). A ``MixedPrecisionPolicy`` casts the shards before the gather and the
gradients for their reduction, the inputs and the outputs, as torch's. Call ``fully_shard`` on submodules first,
then on the root: a module manages the parameters of its subtree that no sharded submodule manages.
"""

from __future__ import annotations

import math
from typing import Any

from ... import nn
from ..._tensor import Tensor, from_array
from ...autograd import Function
from ...autograd.grad_mode import no_grad
from ...nn.parameter import Parameter
from .. import distributed_c10d as c10d
from ._common import Regathering, Slot, cast_floating, managed_params

__all__ = ["fully_shard", "FSDPModule", "UnshardHandle", "MixedPrecisionPolicy", "OffloadPolicy",
           "CPUOffloadPolicy"]


class MixedPrecisionPolicy:
    """Mixed precision of a ``fully_shard``-ed module: parameters gathered (and computed with) in ``param_dtype``,
    gradients reduce-scattered in ``reduce_dtype`` (default: ``param_dtype``) and then kept in the sharded
    parameters' dtype; forward inputs cast to ``param_dtype`` (``cast_forward_inputs``), outputs to
    ``output_dtype``. Only floating parameters and tensors are cast."""

    def __init__(self, param_dtype: Any = None, reduce_dtype: Any = None, output_dtype: Any = None,
                 cast_forward_inputs: bool = True) -> None:
        self.param_dtype, self.reduce_dtype, self.output_dtype = param_dtype, reduce_dtype, output_dtype
        self.cast_forward_inputs = cast_forward_inputs

    def __repr__(self) -> str:
        return (f"MixedPrecisionPolicy(param_dtype={self.param_dtype}, reduce_dtype={self.reduce_dtype}, "
                f"output_dtype={self.output_dtype}, cast_forward_inputs={self.cast_forward_inputs})")


class OffloadPolicy:
    """No offloading (the default)."""

    def __repr__(self) -> str:
        return "OffloadPolicy()"


class CPUOffloadPolicy(OffloadPolicy):
    """Keep the sharded parameters on the CPU (ember's CPU backend always does)."""

    def __init__(self, pin_memory: bool = True) -> None:
        self.pin_memory = pin_memory

    def __repr__(self) -> str:
        return f"CPUOffloadPolicy(pin_memory={self.pin_memory})"


class _GatherParams(Function):
    """local shards -> full parameters (one all-gather); backward: full gradients -> averaged local gradients."""

    @staticmethod
    def forward(ctx: Any, state: _State, *locals_: Tensor) -> tuple[Tensor, ...]:
        ctx.state = state
        return tuple(state.wrap(a, i, state.compute_dtype) for i, a in enumerate(state.gather()))

    @staticmethod
    def backward(ctx: Any, *grads: Tensor | None) -> tuple:
        return (None, *ctx.state.reduce(grads))


class _State(Regathering):
    """The sharded parameters of one ``fully_shard``-ed module and their communication."""

    def __init__(self, module: nn.Module, slots: list[Slot], params: list[Parameter], mesh: Any,
                 reshard_after_forward: bool, mp_policy: MixedPrecisionPolicy) -> None:
        from ..tensor import DTensor, Shard
        super().__init__()
        group = mesh.get_group()
        self.module, self.slots, self.group = module, slots, group
        pg = c10d._resolve(group)
        self.xp, self.world, self.rank = pg._xp, pg.size(), pg.rank()
        self.reshard_after_forward = reshard_after_forward and self.world > 1
        for p in params:
            if p.dim() == 0:
                raise NotImplementedError("fully_shard: 0-dim parameters are not supported here")
            if isinstance(p, DTensor):   # (torch shards them again over a 2-d mesh: FSDP + tensor parallel)
                raise NotImplementedError("fully_shard: parameters that are already DTensors (a module parallelized "
                                          "by parallelize_module / distribute_module) are not supported here")
        self.meta = [(p._data.shape, p._dtype, p._device, p._data.dtype, p.requires_grad) for p in params]
        self.dtype, self.device = params[0]._dtype, params[0]._device   # (one dtype: checked by fully_shard)
        low = (lambda d: d if d is not None and self.dtype.is_floating_point else self.dtype)
        self.compute_dtype = low(mp_policy.param_dtype)
        self.reduce_dtype = low(mp_policy.reduce_dtype or mp_policy.param_dtype)
        self.chunk = [-(-p._data.shape[0] // self.world) for p in params]        # rows per rank (torch.chunk)
        self.row = [math.prod(p._data.shape[1:]) for p in params]               # elements per row
        self.offsets: list[int] = []
        off = 0
        for c, r in zip(self.chunk, self.row, strict=True):
            self.offsets.append(off)
            off += c * r
        self.shard_numel = off
        self.locals = []
        for p, c in zip(params, self.chunk, strict=True):
            lo = min(self.rank * c, p._data.shape[0])
            hi = min(lo + c, p._data.shape[0])
            shard = DTensor.from_local(from_array(p._data[lo:hi].copy(), p._dtype, p._device), mesh, [Shard(0)],
                                       shape=p.shape, stride=p.stride())
            self.locals.append(Parameter(shard, requires_grad=p.requires_grad))
        for module_, name, i in slots:
            module_._parameters[name] = self.locals[i]
        self.pending: list[Any] | None = None   # gradients kept while gradient sync is off
        self.sync = True
        self.unsharded = False

    def wrap(self, arr: Any, i: int, dtype: Any = None) -> Tensor:
        return from_array(arr, dtype or self.meta[i][1], self.meta[i][2])

    def _t(self, arr: Any, dtype: Any) -> Tensor:
        return from_array(arr, dtype, self.device)

    def gather(self, dtype: Any = None) -> list[Any]:
        """Every parameter in full, in ``dtype`` (default: the compute dtype): one all-gather of the packed, padded
        local rows, cast before it."""
        xp = self.xp
        dtype = dtype or self.compute_dtype
        send = xp.zeros(self.shard_numel, dtype.np)
        for p, off in zip(self.locals, self.offsets, strict=True):
            send[off:off + p._data.size] = p._data.reshape(-1)
        if self.world == 1:
            rows = send.reshape(1, -1)
        else:
            rows = xp.empty((self.world, self.shard_numel), dtype.np)
            c10d.all_gather_single(self._t(rows, dtype), self._t(send, dtype), group=self.group)
        out = []
        for (shape, *_), c, r, off in zip(self.meta, self.chunk, self.row, self.offsets, strict=True):
            out.append(xp.ascontiguousarray(rows[:, off:off + c * r].reshape(self.world * c, *shape[1:])[:shape[0]]))
        return out

    def gather_all(self) -> list[Any]:
        return self.gather()

    def reduce(self, grads: tuple[Tensor | None, ...]) -> list[Tensor | None]:
        """Each local parameter's gradient: the full gradients padded and packed, reduce-scattered (averaged)."""
        self.cache = None
        xp = self.xp
        rd = self.reduce_dtype
        dt = rd.np
        buf = xp.zeros((self.world, self.shard_numel), dt)
        for g, (shape, *_), c, r, off in zip(grads, self.meta, self.chunk, self.row, self.offsets, strict=True):
            if g is not None:
                padded = xp.zeros((self.world * c, *shape[1:]), dt)
                padded[:shape[0]] = g._data
                buf[:, off:off + c * r] = padded.reshape(self.world, c * r)
        if self.pending is not None:
            buf += self.pending
            self.pending = None
        if not self.sync:
            self.pending = buf
            return [None] * len(grads)
        if self.world == 1:
            out = buf.reshape(-1)
        else:
            out = xp.empty(self.shard_numel, dt)
            c10d.reduce_scatter_single(self._t(out, rd), self._t(buf, rd), op=c10d.ReduceOp.AVG, group=self.group)
        result: list[Tensor | None] = []
        for i, (p, off) in enumerate(zip(self.locals, self.offsets, strict=True)):
            keep = self.meta[i][4] and grads[i] is not None
            part = out[off:off + p._data.size].reshape(p._data.shape)
            result.append(self.wrap(part.astype(self.meta[i][3]), i) if keep else None)   # (astype copies)
        return result

    # ---- forward ----------------------------------------------------------------------------------------------
    def use(self, fulls: list[Tensor]) -> None:
        for module_, name, i in self.slots:
            module_.__dict__[name] = fulls[i]

    def drop(self) -> None:
        for module_, name, _ in self.slots:
            module_.__dict__.pop(name, None)
        self.live = []

class UnshardHandle:
    """What ``FSDPModule.unshard(async_op=True)`` returns: ``wait()`` (the gather has completed already)."""

    def wait(self) -> None:
        return None


class FSDPModule:
    """The class every ``fully_shard``-ed module gains (its class becomes ``FSDP<Class>``)."""

    _fsdp_state: _State | None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        state = self._fsdp_state
        mp = self._mp_policy
        if mp.cast_forward_inputs and mp.param_dtype is not None:
            args, kwargs = cast_floating((args, kwargs), mp.param_dtype)
        if state is None or state.unsharded:
            out = super().forward(*args, **kwargs)   # type: ignore[misc]
        else:
            fulls = _GatherParams.apply(state, *state.locals)
            out = state.run(list(fulls) if isinstance(fulls, tuple) else [fulls],
                            lambda: super(FSDPModule, self).forward(*args, **kwargs), state.reshard_after_forward)
        return out if mp.output_dtype is None else cast_floating(out, mp.output_dtype)

    def unshard(self, async_op: bool = False) -> UnshardHandle | None:
        """Gather the full parameters and make them the module's attributes (until :meth:`reshard`)."""
        state = self._fsdp_state
        if state is not None and not state.unsharded:
            with no_grad():
                state.use([state.wrap(a, i, state.compute_dtype) for i, a in enumerate(state.gather())])
            state.unsharded = True
        return UnshardHandle() if async_op else None

    def reshard(self) -> None:
        """Free the full parameters :meth:`unshard` gathered (not recursive)."""
        state = self._fsdp_state
        if state is not None and state.unsharded:
            state.drop()
            state.unsharded = False

    def _fsdp_modules(self, recurse: bool) -> list[FSDPModule]:
        mods = self.modules() if recurse else [self]   # type: ignore[attr-defined]
        return [m for m in mods if isinstance(m, FSDPModule)]

    def set_requires_gradient_sync(self, requires_gradient_sync: bool, *, recurse: bool = True) -> None:
        """Off: backward keeps unreduced full gradients; the next backward with sync on reduces them too."""
        for m in self._fsdp_modules(recurse):
            if m._fsdp_state is not None:
                m._fsdp_state.sync = requires_gradient_sync

    def set_reshard_after_forward(self, reshard_after_forward: bool, recurse: bool = True) -> None:
        for m in self._fsdp_modules(recurse):
            if m._fsdp_state is not None:
                m._fsdp_state.reshard_after_forward = bool(reshard_after_forward) and m._fsdp_state.world > 1

    def set_is_last_backward(self, is_last_backward: bool) -> None:
        """Accepted (ember reduces every gradient in its backward pass)."""

    def set_reshard_after_backward(self, reshard_after_backward: bool, *, recurse: bool = True) -> None:
        """Accepted (full parameters never outlive the backward pass here)."""

    def set_requires_all_reduce(self, requires_all_reduce: bool, *, recurse: bool = True) -> None:
        """Accepted (no replicate dimension without HSDP)."""


_CLASSES: dict[type, type] = {}


def fully_shard(module: nn.Module | list[nn.Module], *, mesh: Any = None, reshard_after_forward: bool | int | None =
                None, shard_placement_fn: Any = None, mp_policy: MixedPrecisionPolicy | None = None,
                offload_policy: OffloadPolicy | None = None, ignored_params: set[Parameter] | None = None
                ) -> nn.Module:
    """Shard ``module``'s parameters (those not already in a sharded submodule) on dim 0 across ``mesh``'s ranks
    (default: the world) and make its class ``FSDP<Class>``; returns ``module``."""
    if isinstance(module, list):
        raise NotImplementedError("fully_shard: a list of modules (one group of parameters) is not supported here")
    if shard_placement_fn is not None:
        raise NotImplementedError("fully_shard: shard_placement_fn is not supported here (parameters shard on dim 0)")
    if mesh is not None and mesh.ndim != 1:
        raise NotImplementedError("fully_shard: only a 1-d mesh is supported here (no HSDP)")
    c10d._resolve(mesh.get_group() if mesh is not None else None)   # raises when there is no process group
    if type(module).forward is nn.Module.forward:
        raise ValueError(f"fully_shard does not support containers that do not implement forward: {module}")
    slots, params = managed_params(module, {id(p) for p in ignored_params or ()}, FSDPModule)
    dtypes = {p._dtype for p in params}
    if len(dtypes) > 1:
        raise NotImplementedError(f"fully_shard: parameters of one module must share a dtype here, got {dtypes}")
    cls = type(module)
    if not isinstance(module, FSDPModule):
        new = _CLASSES.get(cls)
        if new is None:
            new = _CLASSES[cls] = type(f"FSDP{cls.__name__}", (FSDPModule, cls), {"__module__": __name__})
        module.__class__ = new
    reshard = True if reshard_after_forward is None else bool(reshard_after_forward)
    module._mp_policy = mp_policy or MixedPrecisionPolicy()
    if mesh is None and params:
        from ..device_mesh import init_device_mesh
        mesh = init_device_mesh(params[0].device.type, (c10d.get_world_size(),))
    module._fsdp_state = _State(module, slots, params, mesh, reshard, module._mp_policy) if params else None
    return module
