"""``FullyShardedDataParallel`` (FSDP1): each unit's parameters live as one flat buffer cut into equal shards, one
per rank; a unit gathers its parameters just before its forward and frees them after, and its gradient is
reduce-scattered so that every rank keeps the averaged gradient of its own shard, which the optimizer steps.

How it is built on ember's autograd:

- ``_Unshard`` (an autograd Function) all-gathers the flat shard into the padded full buffer; its backward
  reduce-scatters the full gradient (averaged over ranks) into the shard's gradient. The unit's parameters are
  views of the gathered buffer, set as plain tensor attributes of their modules during the unit's forward, so
  gradients reach the shard through ordinary view backward nodes.
- FULL_SHARD frees the gathered buffer after forward: tensors the forward saves that are views of it are packed
  (``saved_tensors_hooks``) as (offset, shape, strides) and unpacked by gathering the shard again in backward
  (once per unit and backward pass). SHARD_GRAD_OP keeps the buffer until backward; NO_SHARD keeps the whole flat
  parameter on every rank and all-reduces its gradient (DDP's arithmetic).
- With ``use_orig_params=True`` the module keeps its parameters' names: each becomes a 1-d Parameter viewing its
  part of this rank's shard (empty when it lies in other ranks' shards), and receives its part of the gradient.
- HYBRID_SHARD / _HYBRID_SHARD_ZERO2 shard within one group (a 2-d mesh's dim 1, or the first of a process-group
  pair) and replicate across another: the reduce-scattered gradient is then all-reduced over the replicas.
- ``mixed_precision``: the shard is cast to ``param_dtype`` before the all-gather (forward and backward compute in
  it), the gradient is reduced in ``reduce_dtype`` and handed to the optimizer in the parameters' dtype (or kept
  in ``reduce_dtype``: ``keep_low_precision_grads``); the root casts floating inputs, and the root's first forward
  casts buffers to ``buffer_dtype`` for good (state dicts hold them, and the parameters, in full precision).
- State dicts: FULL_STATE_DICT gathers the full tensors; SHARDED_STATE_DICT gives each parameter as a DTensor
  sharded on dim 0 (torch's layout when wrapping with a ``device_mesh``; torch's ShardedTensor otherwise, which
  ember lacks), and loading gathers DTensor values; LOCAL_STATE_DICT (a ShardedTensor of the flat parameter) only
  without sharding, where both give the full tensors as torch.

Every rank must run the same units in the same order (their collectives are matched by order, as in torch).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ... import nn
from ..._core.warn import warn
from ..._tensor import Tensor, from_array
from ...autograd import Function
from ...autograd.grad_mode import no_grad
from ...nn.parameter import Parameter
from .. import distributed_c10d as c10d
from ._common import Regathering, Slot, cast_floating, managed_params
from .api import (
    BackwardPrefetch,
    CPUOffload,
    FullOptimStateDictConfig,
    FullStateDictConfig,
    LocalOptimStateDictConfig,
    LocalStateDictConfig,
    MixedPrecision,
    OptimStateDictConfig,
    ShardedOptimStateDictConfig,
    ShardedStateDictConfig,
    ShardingStrategy,
    StateDictConfig,
    StateDictSettings,
    StateDictType,
)
from .wrap import ModuleWrapPolicy, _recursive_wrap

__all__ = ["FullyShardedDataParallel"]

_PREFIX = "_fsdp_wrapped_module."
_FLAT = "_flat_param"
_CONFIGS = {   # each state-dict type's default configs (model, optimizer), as torch
    StateDictType.FULL_STATE_DICT: (FullStateDictConfig, FullOptimStateDictConfig),
    StateDictType.LOCAL_STATE_DICT: (LocalStateDictConfig, LocalOptimStateDictConfig),
    StateDictType.SHARDED_STATE_DICT: (ShardedStateDictConfig, ShardedOptimStateDictConfig),
}


class _Unshard(Function):
    """shard -> gathered full flat buffer; backward: full gradient -> this rank's averaged shard gradient."""

    @staticmethod
    def forward(ctx: Any, shard: Tensor, handle: _Handle) -> Tensor:
        ctx.handle = handle
        return handle.wrap(handle.gather(handle.compute_dtype), handle.compute_dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None]:
        return ctx.handle.reduce(grad), None


class _Handle(Regathering):
    """One unit's parameters as a flat buffer sharded over ``group`` (torch's ``FlatParamHandle``)."""

    def __init__(self, wrapped: nn.Module, slots: list[Slot], params: list[Parameter], group: Any,
                 strategy: ShardingStrategy, use_orig_params: bool, mixed_precision: MixedPrecision,
                 replicate: Any = None) -> None:
        super().__init__()
        self.wrapped, self.slots, self.group = wrapped, slots, group
        self.replicate = replicate if replicate is not None and c10d.get_world_size(replicate) > 1 else None
        self.world, self.rank = c10d.get_world_size(group), c10d.get_rank(group)
        self.shapes = [p._data.shape for p in params]
        self.numels = [p.numel() for p in params]
        self.offsets = [0, *itertools.accumulate(self.numels)][:-1]
        self.requires_grad = [p.requires_grad for p in params]
        self.dtype, self.device = params[0]._dtype, params[0]._device
        for p in params:
            if p._dtype is not self.dtype:
                raise ValueError(f"Must flatten tensors with uniform dtype but got {self.dtype} and {p._dtype}")
            if not use_orig_params and p.requires_grad != self.requires_grad[0]:
                raise ValueError("Must flatten tensors with uniform ``requires_grad`` when ``use_orig_params=False``")
        # mixed precision (floating parameters only): gathered and computed in param_dtype, gradients reduced in
        # reduce_dtype (default: param_dtype), then kept in it (keep_low_precision_grads) or cast back
        low = (lambda d: d if d is not None and self.dtype.is_floating_point else self.dtype)
        self.compute_dtype = low(mixed_precision.param_dtype)
        self.reduce_dtype = low(mixed_precision.reduce_dtype or mixed_precision.param_dtype)
        self.grad_dtype = self.reduce_dtype if mixed_precision.keep_low_precision_grads else self.dtype
        self.no_shard = strategy == ShardingStrategy.NO_SHARD
        self.free_after_forward = strategy in (ShardingStrategy.FULL_SHARD, ShardingStrategy.HYBRID_SHARD) and \
            self.world > 1
        total = sum(self.numels)
        self.shard_numel = total if self.no_shard else -(-total // self.world)
        self.padded = total if self.no_shard else self.shard_numel * self.world
        xp = self.xp = c10d._resolve(group)._xp
        full = xp.zeros(self.padded, params[0]._data.dtype)
        for p, off, n in zip(params, self.offsets, self.numels, strict=True):
            full[off:off + n] = p._data.reshape(-1)
        start = 0 if self.no_shard else self.rank * self.shard_numel
        shard = self.wrap(full[start:start + self.shard_numel].copy())
        self.start = start
        self.use_orig_params = use_orig_params
        self.pending: Any = None  # the gradient accumulated under no_sync, not yet reduced
        self.no_sync = False
        if use_orig_params:
            self.flat = Parameter(shard, requires_grad=any(self.requires_grad))   # internal, not registered
            # 1-d pieces of the shard; NO_SHARD: views of the whole flat parameter in their own shapes
            self.orig = [Parameter(self.wrap(shard._data[lo - start:hi - start].reshape(
                shape if self.no_shard else -1)), requires_grad=rg) for (lo, hi), shape, rg in
                zip(self._local_ranges(), self.shapes, self.requires_grad, strict=True)]
            for module, name, i in slots:
                module._parameters[name] = self.orig[i]
        else:
            self.flat = Parameter(shard, requires_grad=self.requires_grad[0])
            for module, name, _ in slots:
                del module._parameters[name]
            wrapped.register_parameter(_FLAT, self.flat)
            self.drop()
        if use_orig_params or self.grad_dtype is not self.dtype:
            self.flat.register_post_accumulate_grad_hook(self._give_grads)

    # ---- arrays ---------------------------------------------------------------------------------------------
    def wrap(self, arr: Any, dtype: Any = None) -> Tensor:
        return from_array(arr, dtype or self.dtype, self.device)

    def _local_ranges(self) -> list[tuple[int, int]]:
        """Each parameter's range in the full buffer clipped to this rank's shard."""
        lo_s, hi_s = self.start, self.start + self.shard_numel
        return [(min(max(o, lo_s), hi_s), max(min(o + n, hi_s), lo_s)) for o, n in zip(self.offsets, self.numels,
                                                                                      strict=True)]

    def gather(self, dtype: Any = None) -> Any:
        """The full flat buffer (this rank's copy for NO_SHARD), in ``dtype`` (default: the parameters'): the
        shard is cast before the all-gather, as torch's mixed precision does."""
        dtype = dtype or self.dtype
        shard = self.flat._data
        if dtype is not self.dtype:
            shard = shard.astype(dtype.np)
        elif self.no_shard:
            shard = shard.copy()
        if self.no_shard:
            return shard
        full = self.xp.empty(self.padded, shard.dtype)
        c10d.all_gather_single(self.wrap(full, dtype), self.wrap(shard, dtype), group=self.group)
        return full

    def gather_all(self) -> list[Any]:
        return [self.gather(self.compute_dtype)]

    def reduce(self, grad: Tensor) -> Tensor | None:
        """The shard's averaged gradient from this rank's full-buffer gradient (None under no_sync: kept)."""
        self.cache = None
        rd = self.reduce_dtype
        g = grad._data.astype(rd.np) if grad._dtype is not rd else self.xp.ascontiguousarray(grad._data)
        if self.pending is not None:
            g = g + self.pending
            self.pending = None
        if self.no_sync:
            self.pending = g
            return None
        if self.world == 1:
            out = self.wrap(g.copy() if g is grad._data else g, rd)
        elif self.no_shard:
            out = self.wrap(g if g is not grad._data else g.copy(), rd)
            c10d.all_reduce(out, op=c10d.ReduceOp.AVG, group=self.group)
        else:
            out = self.wrap(self.xp.empty(self.shard_numel, g.dtype), rd)
            c10d.reduce_scatter_single(out, self.wrap(g, rd), op=c10d.ReduceOp.AVG, group=self.group)
        if self.replicate is not None:   # hybrid sharding: the shard's gradient averaged over its replicas
            c10d.all_reduce(out, op=c10d.ReduceOp.AVG, group=self.replicate)
        return out if rd is self.dtype else self.wrap(out._data.astype(self.dtype.np))   # (the engine's dtype)

    def _give_grads(self, flat: Tensor) -> None:
        """After the shard's gradient is accumulated: in ``grad_dtype`` (keep_low_precision_grads), and with
        use_orig_params handed to each original parameter as its part."""
        g = flat.grad._data
        low = self.grad_dtype is not self.dtype
        if not self.use_orig_params:
            flat._grad = self.wrap(g.astype(self.grad_dtype.np), self.grad_dtype)   # (past grad_dtype's check)
            return
        flat.grad = None
        for p, (lo, hi), rg in zip(self.orig, self._local_ranges(), self.requires_grad, strict=True):
            if not rg:
                continue
            part = g[lo - self.start:hi - self.start].reshape(p._data.shape)
            if p.grad is None:
                p._grad = self.wrap(part.astype(self.grad_dtype.np) if low else part.copy(), self.grad_dtype)
            else:
                p.grad._data += part.astype(p.grad._data.dtype, copy=False)

    # ---- optimizer state -------------------------------------------------------------------------------------
    def full_state(self, v: Any, i: int, flat: bool) -> Any:
        """Parameter ``i``'s full optimizer state from this rank's state ``v`` of the flat shard (``flat``) or
        of the parameter's shard; scalars as they are."""
        if not isinstance(v, Tensor) or v.dim() == 0:
            return v
        buf = self.xp.zeros(self.shard_numel, v._data.dtype)
        lo, hi = self._local_ranges()[i]
        buf[lo - self.start:hi - self.start] = v._data.reshape(-1)[lo - self.start:hi - self.start] if flat else \
            v._data.reshape(-1)
        if self.no_shard:
            full = buf
        else:
            full = self.xp.empty(self.padded, buf.dtype)
            c10d.all_gather_single(from_array(full, v._dtype, v._device), from_array(buf, v._dtype, v._device),
                                   group=self.group)
        o, n = self.offsets[i], self.numels[i]
        return from_array(full[o:o + n].reshape(self.shapes[i]).copy(), v._dtype, v._device)

    def shard_state(self, values: list[Any], indices: list[int], flat: bool) -> Any:
        """This rank's shard of full optimizer states ``values`` of parameters ``indices`` (the inverse of
        :meth:`full_state`)."""
        first = values[0]
        if not isinstance(first, Tensor) or first.dim() == 0:
            return first
        full = self.xp.zeros(self.padded, first._data.dtype)
        for v, i in zip(values, indices, strict=True):
            full[self.offsets[i]:self.offsets[i] + self.numels[i]] = v._data.reshape(-1)
        shard = full[self.start:self.start + self.shard_numel]
        if not flat:
            lo, hi = self._local_ranges()[indices[0]]
            shard = shard[lo - self.start:hi - self.start].reshape(self.orig[indices[0]]._data.shape)
        return from_array(shard.copy(), first._dtype, first._device)

    # ---- forward ----------------------------------------------------------------------------------------------
    def use(self, fulls: list[Tensor]) -> None:
        """Set each parameter's module attribute to its view of the gathered buffer."""
        full = fulls[0]
        views = [full[o:o + n].view(s) for o, n, s in zip(self.offsets, self.numels, self.shapes, strict=True)]
        for module, name, i in self.slots:
            module.__dict__[name] = views[i]

    def drop(self) -> None:
        """Free the views (use_orig_params: the sharded Parameters show through again). Without
        use_orig_params each attribute becomes a read-only placeholder of the parameter's shape, as torch's
        views of freed storage: code reading shapes (``extra_repr``) keeps working."""
        for module, name, i in self.slots:
            if self.use_orig_params:
                module.__dict__.pop(name, None)
            else:
                zero = self.xp.zeros((), self.flat._data.dtype)
                module.__dict__[name] = self.wrap(self.xp.broadcast_to(zero, self.shapes[i]))
        self.live = []

    # ---- full parameters (summon_full_params) ---------------------------------------------------------------
    def summon(self, with_grads: bool = False) -> Any:
        full = self.gather()
        params = [Parameter(self.wrap(full[o:o + n].reshape(s)), requires_grad=rg) for o, n, s, rg in
                  zip(self.offsets, self.numels, self.shapes, self.requires_grad, strict=True)]
        if with_grads:
            self._summon_grads(params)
        if not self.use_orig_params:
            del self.wrapped._parameters[_FLAT]
        for module, name, i in self.slots:
            module.__dict__.pop(name, None)
            module._parameters[name] = params[i]
        return full

    def _summon_grads(self, params: list[Parameter]) -> None:
        """use_orig_params: the full gradients of ``params`` from the original parameters' sharded ones (none when no
        rank has any)."""
        grads = [p.grad for p in self.orig]
        flag = self.wrap(self.xp.asarray([float(any(g is not None for g in grads))], self.flat._data.dtype))
        if self.world > 1:
            c10d.all_reduce(flag, op=c10d.ReduceOp.MAX, group=self.group)
        if not float(flag._data[0]):
            return
        dtype = next((g._dtype for g in grads if g is not None), self.dtype)
        shard = self.xp.zeros(self.shard_numel, dtype.np)
        for g, (lo, hi) in zip(grads, self._local_ranges(), strict=True):
            if g is not None:
                shard[lo - self.start:hi - self.start] = g._data.reshape(-1)
        if self.no_shard:
            full = shard
        else:
            full = self.xp.empty(self.padded, shard.dtype)
            c10d.all_gather_single(self.wrap(full, dtype), self.wrap(shard, dtype), group=self.group)
        for p, o, n, s in zip(params, self.offsets, self.numels, self.shapes, strict=True):
            if p.requires_grad:
                p._grad = self.wrap(full[o:o + n].reshape(s), dtype)

    def unsummon(self, full: Any, writeback: bool) -> None:
        if writeback:
            self.flat._data[...] = full[self.start:self.start + self.shard_numel]
        for module, name, i in self.slots:
            if self.use_orig_params:
                module._parameters[name] = self.orig[i]
            else:
                del module._parameters[name]
        if not self.use_orig_params:
            self.wrapped.register_parameter(_FLAT, self.flat)
            self.drop()


class FullyShardedDataParallel(nn.Module):
    """Shard ``module``'s parameters, gradients and optimizer state across the ranks of ``process_group``
    (default: the world; or ``device_mesh``'s group). ``auto_wrap_policy`` makes submodules their own units
    (gathered one at a time); ``state_dict_type`` / ``summon_full_params`` give the full parameters back."""

    def __init__(self, module: nn.Module, process_group: Any = None,
                 sharding_strategy: ShardingStrategy | None = None, cpu_offload: CPUOffload | None = None,
                 auto_wrap_policy: Callable | ModuleWrapPolicy | None = None,
                 backward_prefetch: BackwardPrefetch | None = BackwardPrefetch.BACKWARD_PRE,
                 mixed_precision: MixedPrecision | None = None, ignored_modules: Iterable[nn.Module] | None = None,
                 param_init_fn: Callable[[nn.Module], None] | None = None, device_id: Any = None,
                 sync_module_states: bool = False, forward_prefetch: bool = False, limit_all_gathers: bool = True,
                 use_orig_params: bool = False, ignored_states: Iterable[Any] | None = None,
                 device_mesh: Any = None) -> None:
        super().__init__()
        if process_group is not None and device_mesh is not None:
            raise ValueError("Cannot pass both process_group and device_mesh at the same time. Please just pass "
                             "only one of them.")
        strategy = sharding_strategy or ShardingStrategy.FULL_SHARD
        replicate = None   # hybrid sharding: the group the shards are replicated over (gradients all-reduced)
        if strategy in _HYBRID:
            group, replicate = _hybrid_groups(process_group, device_mesh, auto_wrap_policy)
            process_group, device_mesh = (group, replicate), None   # (what auto-wrapped units share)
        else:
            group = device_mesh.get_group() if device_mesh is not None else process_group
        # one rank holds everything (raises first when there is no process group); torch also switches when there
        # are replicas, and then leaves their gradients apart: ember keeps hybrid sharding's all-reduce there
        if c10d.get_world_size(group) == 1 and (replicate is None or c10d.get_world_size(replicate) == 1):
            if sharding_strategy != ShardingStrategy.NO_SHARD:
                warn(f"FSDP is switching to use `NO_SHARD` instead of {strategy} since the world size is "
                     "1.", stacklevel=2)
            strategy = ShardingStrategy.NO_SHARD
        ignored = set(ignored_modules or ())
        loose = [s for s in ignored_states or () if not isinstance(s, nn.Module)]
        ignored.update(s for s in ignored_states or () if isinstance(s, nn.Module))
        ignored_params = {id(p) for p in loose} | {id(p) for m in ignored for p in m.parameters()}
        if param_init_fn is not None:
            param_init_fn(module)
        if sync_module_states:   # from the group's first rank (hybrid: the world's, replicas included)
            source = None if replicate is not None else group
            with no_grad():
                for t in [*module.parameters(), *module.buffers()]:
                    c10d.broadcast(t, src=c10d.get_global_rank(c10d._resolve(source), 0) if source else 0,
                                   group=source)
        settings = dict(process_group=process_group, sharding_strategy=strategy, cpu_offload=cpu_offload,
                        backward_prefetch=backward_prefetch, device_id=device_id, forward_prefetch=forward_prefetch,
                        limit_all_gathers=limit_all_gathers, use_orig_params=use_orig_params,
                        device_mesh=device_mesh, ignored_modules=list(ignored), ignored_states=loose)
        settings["mixed_precision"] = mixed_precision
        if auto_wrap_policy is not None:
            if mixed_precision is not None and mixed_precision._module_classes_to_ignore:
                auto_wrap_policy = _exempt_from_mixed_precision(module, auto_wrap_policy,
                                                                tuple(mixed_precision._module_classes_to_ignore))

            def wrap(m: nn.Module, overrides: dict) -> nn.Module:
                return FullyShardedDataParallel(m, **{**settings, **overrides})
            _recursive_wrap(module, auto_wrap_policy, wrap, ignored, ignored_params, only_children=True)
        self._fsdp_wrapped_module = module
        self.sharding_strategy = strategy
        self.mixed_precision = mixed_precision or MixedPrecision()
        self._low_buffers: dict[tuple[int, str], tuple[nn.Module, Any]] | None = None   # cast in the first forward
        self.cpu_offload = cpu_offload or CPUOffload()
        self.process_group = c10d._resolve(group)
        self.rank, self.world_size = c10d.get_rank(group), c10d.get_world_size(group)
        self._use_orig_params = use_orig_params
        self._state_dict_type = StateDictType.FULL_STATE_DICT
        self._state_dict_config: StateDictConfig = FullStateDictConfig()
        self._optim_state_dict_config: OptimStateDictConfig = FullOptimStateDictConfig()
        self._device_mesh = device_mesh   # SHARDED_STATE_DICT's DTensors live on it (else on the group's ranks)
        self._in_summon = False
        slots, params = managed_params(module, ignored_params, FullyShardedDataParallel)
        self._handle = _Handle(module, slots, params, group, strategy, use_orig_params,
                               self.mixed_precision, replicate) if params else None
        self._is_root = True
        for m in module.modules():
            if isinstance(m, FullyShardedDataParallel):
                m._is_root = False

    @property
    def module(self) -> nn.Module:
        """The wrapped module."""
        return self._fsdp_wrapped_module

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "_fsdp_wrapped_module":
                raise
            return getattr(self._fsdp_wrapped_module, name)

    def __getitem__(self, key: int) -> Any:
        return self._fsdp_wrapped_module.__getitem__(key)

    # ---- forward ------------------------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        mp = self.mixed_precision
        if self._is_root and self._low_buffers is None:
            self._low_buffers = self._cast_buffers()
        if mp.param_dtype is not None and (mp.cast_root_forward_inputs if self._is_root else mp.cast_forward_inputs):
            args, kwargs = cast_floating((args, kwargs), mp.param_dtype)
        h = self._handle
        if h is None:
            return self._fsdp_wrapped_module(*args, **kwargs)
        return h.run([_Unshard.apply(h.flat, h)], lambda: self._fsdp_wrapped_module(*args, **kwargs),
                     h.free_after_forward)

    def _cast_buffers(self) -> dict[tuple[int, str], tuple[nn.Module, Any]]:
        """Root, first forward: every unit's floating buffers to its ``buffer_dtype`` (kept so from then on, as
        torch's); returns {(id(module), name): (module, the original dtype)} for full-precision state dicts."""
        cast: dict[tuple[int, str], tuple[nn.Module, Any]] = {}
        for unit in self.fsdp_modules(self):
            dtype = unit.mixed_precision.buffer_dtype
            if dtype is None:
                continue
            stack = [unit._fsdp_wrapped_module]
            while stack:
                m = stack.pop()
                stack.extend(c for c in m.children() if not isinstance(c, FullyShardedDataParallel))
                for name, b in m._buffers.items():
                    if b is not None and b.is_floating_point() and b._dtype is not dtype:
                        cast.setdefault((id(m), name), (m, b._dtype))
                        m._buffers[name] = b.to(dtype)
        return cast

    @contextlib.contextmanager
    def _full_precision_buffers(self) -> Iterator[None]:
        """Buffers in their original dtypes (checkpoints hold them so), low precision again afterwards."""
        cast = self._low_buffers or {}
        low = {key: m._buffers[key[1]]._dtype for key, (m, _) in cast.items()}
        for (_, name), (m, dtype) in cast.items():
            m._buffers[name] = m._buffers[name].to(dtype)
        try:
            yield
        finally:
            for key, (m, _) in cast.items():
                m._buffers[key[1]] = m._buffers[key[1]].to(low[key])

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate unsharded, unreduced gradients; the first backward after reduces
        them with its own."""
        handles = [m._handle for m in self.modules() if isinstance(m, FullyShardedDataParallel) and m._handle]
        for h in handles:
            h.no_sync = True
        try:
            yield
        finally:
            for h in handles:
                h.no_sync = False

    # ---- names ---------------------------------------------------------------------------------------------------
    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Parameter]]:
        """As nn.Module's; inside ``summon_full_params`` the names lose FSDP's ``_fsdp_wrapped_module.``."""
        for name, p in super().named_parameters(*args, **kwargs):
            yield (name.replace(_PREFIX, "") if self._in_summon else name), p

    def named_buffers(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Tensor]]:
        for name, b in super().named_buffers(*args, **kwargs):
            yield (name.replace(_PREFIX, "") if self._in_summon else name), b

    @staticmethod
    def fsdp_modules(module: nn.Module, root_only: bool = False) -> list[FullyShardedDataParallel]:
        """The FSDP units in ``module`` (only the roots with ``root_only``)."""
        units = [m for m in module.modules() if isinstance(m, FullyShardedDataParallel)]
        return [m for m in units if m._is_root] if root_only else units

    def check_is_root(self) -> bool:
        return self._is_root

    # ---- full parameters -----------------------------------------------------------------------------------------
    @staticmethod
    @contextlib.contextmanager
    def summon_full_params(module: nn.Module, recurse: bool = True, writeback: bool = True,
                           rank0_only: bool = False, offload_to_cpu: bool = False,
                           with_grads: bool = False) -> Iterator[None]:
        """Inside, every unit of ``module`` (only ``module`` itself without ``recurse``) has its full parameters
        as Parameters of their modules, under their original names; with ``writeback`` changes made to them are
        kept (each rank keeps its shard of them)."""
        if rank0_only and writeback:
            raise NotImplementedError("writeback=True and rank0_only=True is not supported, as model parameter "
                                      "shapes will be different across ranks, and writing to them can lead to "
                                      "inconsistencies across ranks when the context is exited.")
        units = FullyShardedDataParallel.fsdp_modules(module) if recurse else [module]
        for u in units:
            if with_grads and (offload_to_cpu or not u._use_orig_params):
                raise NotImplementedError(f"with_grads={with_grads}, use_orig_params={u._use_orig_params}, "
                                          f"offload_to_cpu={offload_to_cpu} is not supported yet")
        if any(u._in_summon for u in units):
            raise AssertionError("Non-FSDP modules should not be in summon_full_params")   # (nested summons)
        gathered = []
        try:
            with no_grad():
                for u in units:
                    u._in_summon = True
                    if u._handle is not None:
                        gathered.append((u._handle, u._handle.summon(with_grads)))
            yield
        finally:
            with no_grad():
                for h, full in reversed(gathered):
                    h.unsummon(full, writeback)
            for u in units:
                u._in_summon = False

    @staticmethod
    @contextlib.contextmanager
    def state_dict_type(module: nn.Module, state_dict_type: StateDictType,
                        state_dict_config: StateDictConfig | None = None,
                        optim_state_dict_config: OptimStateDictConfig | None = None) -> Iterator[None]:
        """Within, ``state_dict()`` / ``load_state_dict()`` of the FSDP units of ``module`` use
        ``state_dict_type`` (FULL_STATE_DICT: the unsharded parameters under the wrapped model's names)."""
        before = FullyShardedDataParallel.set_state_dict_type(module, state_dict_type, state_dict_config,
                                                              optim_state_dict_config)
        try:
            yield
        finally:
            FullyShardedDataParallel.set_state_dict_type(module, before.state_dict_type, before.state_dict_config,
                                                         before.optim_state_dict_config)

    @staticmethod
    def set_state_dict_type(module: nn.Module, state_dict_type: StateDictType,
                            state_dict_config: StateDictConfig | None = None,
                            optim_state_dict_config: OptimStateDictConfig | None = None) -> StateDictSettings:
        """Set the state-dict type of every FSDP unit of ``module`` (configs default to the type's); returns the
        previous settings."""
        config_cls, optim_config_cls = _CONFIGS[state_dict_type]
        units = FullyShardedDataParallel.fsdp_modules(module)
        if not units:
            raise ValueError("No FSDP modules found in the given module.")
        prev = StateDictSettings(units[0]._state_dict_type, units[0]._state_dict_config,
                                 units[0]._optim_state_dict_config)
        for u in units:
            u._state_dict_type = state_dict_type
            u._state_dict_config = state_dict_config or config_cls()
            u._optim_state_dict_config = optim_state_dict_config or optim_config_cls()
        return prev

    @staticmethod
    def get_state_dict_type(module: nn.Module) -> StateDictSettings:
        units = FullyShardedDataParallel.fsdp_modules(module)
        if not units:
            raise ValueError("No FSDP modules found in the given module.")
        u = units[0]
        return StateDictSettings(u._state_dict_type, u._state_dict_config, u._optim_state_dict_config)

    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False) -> Any:
        """The state dict under the wrapped model's names. FULL_STATE_DICT: the full (unsharded) tensors, none on
        ranks other than 0 with ``FullStateDictConfig(rank0_only=True)``. SHARDED_STATE_DICT: each parameter as
        a DTensor sharded on dim 0 (torch.chunk's pieces) over the unit's ranks (torch gives DTensors when the
        model was wrapped with a ``device_mesh``, else ShardedTensors, which ember does not have), buffers
        whole. Without sharding (NO_SHARD, a world of one) SHARDED and LOCAL give the full tensors, as torch."""
        if self._in_summon:   # reached from an enclosing unit's state_dict
            return super().state_dict(*args, destination=destination, prefix=prefix, keep_vars=keep_vars)
        kind, config = self._state_dict_type, self._state_dict_config
        sharded = kind != StateDictType.FULL_STATE_DICT and self.sharding_strategy != ShardingStrategy.NO_SHARD
        if sharded and kind == StateDictType.LOCAL_STATE_DICT:
            raise NotImplementedError("FullyShardedDataParallel: LOCAL_STATE_DICT of a sharded model (torch: a "
                                      "ShardedTensor of the flat parameter) is not supported; use "
                                      "SHARDED_STATE_DICT")
        rank0_only = getattr(config, "rank0_only", False)
        with FullyShardedDataParallel.summon_full_params(self, writeback=False), self._full_precision_buffers():
            full = super().state_dict(*args, prefix=prefix, keep_vars=True)
        out = destination if destination is not None else type(full)()
        if hasattr(full, "_metadata") and destination is None:
            out._metadata = type(full._metadata)((k.replace(_PREFIX, ""), v) for k, v in full._metadata.items())
        if rank0_only and self.rank != 0:
            return out
        mesh = self._state_dict_mesh() if sharded else None
        for k, v in full.items():
            if isinstance(v, Tensor):
                is_param = isinstance(v, Parameter)
                v = v.detach().clone()   # (the summoned tensors are freed after)
                if mesh is not None and is_param:
                    from ..tensor import Shard, distribute_tensor
                    v = distribute_tensor(v, mesh, [Shard(0)], src_data_rank=None)   # (every rank holds it whole)
                elif config.offload_to_cpu:
                    v = v.cpu()
            out[k.replace(_PREFIX, "")] = v
        return out

    def _state_dict_mesh(self) -> Any:
        """The 1-d mesh SHARDED_STATE_DICT's DTensors live on: the wrapping ``device_mesh``, else one over this
        unit's ranks (made once)."""
        if self._device_mesh is None:
            from ..device_mesh import DeviceMesh
            device = next(iter(self.parameters()), None)
            kind = device.device.type if device is not None else "cpu"
            self._device_mesh = DeviceMesh(kind, c10d.get_process_group_ranks(self.process_group))
        return self._device_mesh

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Load a state dict (the wrapped model's names; DTensor values, as SHARDED_STATE_DICT gives, are
        gathered first); each rank keeps its shard of it."""
        if self._in_summon:
            return super().load_state_dict(state_dict, strict, assign)
        # DTensor values (SHARDED_STATE_DICT) are gathered; their module is loaded if one exists (importing it
        # would switch the __torch_function__ protocol on for nothing)
        dtensor = getattr(sys.modules.get("ember.distributed.tensor"), "DTensor", None)
        if dtensor is not None and any(isinstance(v, dtensor) for v in state_dict.values()):
            state_dict = {k: v.full_tensor() if isinstance(v, dtensor) else v for k, v in state_dict.items()}
        with FullyShardedDataParallel.summon_full_params(self, writeback=True):
            names = {k.replace(_PREFIX, ""): k for k in super().state_dict(keep_vars=True)}
            mapped = {names.get(k, k): v for k, v in state_dict.items()}
            result = super().load_state_dict(mapped, strict, assign=False)
        result.missing_keys[:] = [k.replace(_PREFIX, "") for k in result.missing_keys]
        result.unexpected_keys[:] = [k.replace(_PREFIX, "") for k in result.unexpected_keys]
        return result

    # ---- optimizer state -------------------------------------------------------------------------------------------
    @staticmethod
    def _fqn_table(model: nn.Module) -> dict[int, list[tuple[str, _Handle, int]] | str]:
        """For each parameter the optimizer may hold (by id): the (name, handle, index) of the original parameters
        it stands for (a flat shard: several; an original's shard: one), or the name of an unmanaged one."""
        table: dict[int, Any] = {}
        names = {id(m): n for n, m in model.named_modules()}
        for unit in FullyShardedDataParallel.fsdp_modules(model):
            h = unit._handle
            if h is None:
                continue
            first: dict[int, str] = {}
            for module, name, i in h.slots:
                prefix = names[id(module)]
                first.setdefault(i, (prefix + "." + name if prefix else name).replace(_PREFIX, ""))
            entries = [(first[i], h, i) for i in range(len(h.shapes))]
            if h.use_orig_params:
                for e, q in zip(entries, h.orig, strict=True):
                    table[id(q)] = [e]
            else:
                table[id(h.flat)] = entries
        for n, q in model.named_parameters():
            table.setdefault(id(q), n.replace(_PREFIX, ""))
        return table

    @staticmethod
    def optim_state_dict(model: nn.Module, optim: Any, optim_state_dict: dict[str, Any] | None = None,
                         group: Any = None) -> dict[str, Any]:
        """``optim``'s state dict with the full (unsharded) state of every original parameter, keyed by the
        parameter's name as in the model's full state dict (FULL_STATE_DICT; every rank takes part)."""
        sd = optim.state_dict() if optim_state_dict is None else optim_state_dict
        table = FullyShardedDataParallel._fqn_table(model)
        params = [q for g in optim.param_groups for q in g["params"]]
        state: dict[str, Any] = {}
        groups = []
        for g in sd["param_groups"]:
            fqns = []
            for idx in g["params"]:
                entry = table[id(params[idx])]
                own = sd["state"].get(idx, {})
                if isinstance(entry, str):
                    fqns.append(entry)
                    if own:
                        state[entry] = dict(own)
                    continue
                for fqn, h, i in entry:
                    fqns.append(fqn)
                    if own:
                        state[fqn] = {k: h.full_state(v, i, len(entry) > 1) for k, v in own.items()}
            groups.append({**g, "params": fqns})
        return {"state": state, "param_groups": groups}

    @staticmethod
    def optim_state_dict_to_load(model: nn.Module, optim: Any, optim_state_dict: dict[str, Any],
                                 is_named_optimizer: bool = False, load_directly: bool = False,
                                 group: Any = None) -> dict[str, Any]:
        """The inverse of :meth:`optim_state_dict`: this rank's shards of the full state, keyed as ``optim``
        expects (``optim.load_state_dict`` it, or pass ``load_directly=True``)."""
        table = FullyShardedDataParallel._fqn_table(model)
        full = optim_state_dict["state"]
        state: dict[int, Any] = {}
        groups = []
        index = 0
        for g, saved in zip(optim.param_groups, optim_state_dict["param_groups"], strict=True):
            ids = []
            for q in g["params"]:
                entry = table[id(q)]
                names = [entry] if isinstance(entry, str) else [e[0] for e in entry]
                if names[0] in full:
                    if isinstance(entry, str):
                        state[index] = dict(full[entry])
                    else:
                        h = entry[0][1]
                        state[index] = {k: h.shard_state([full[n][k] for n in names], [e[2] for e in entry],
                                                         len(entry) > 1) for k in full[names[0]]}
                ids.append(index)
                index += 1
            groups.append({**{k: v for k, v in saved.items() if k != "params"}, "params": ids})
        out = {"state": state, "param_groups": groups}
        if load_directly:
            optim.load_state_dict(out)
        return out

    # ---- gradients ----------------------------------------------------------------------------------------------
    def clip_grad_norm_(self, max_norm: float, norm_type: float = 2.0) -> Tensor:
        """Scale every gradient so that the norm of the whole (unsharded) gradient is at most ``max_norm``;
        returns that norm (the same on every rank)."""
        from ... import stack, tensor
        if not self._is_root:
            raise RuntimeError("`clip_grad_norm_()` should only be called on the root FSDP instance")
        p = float(norm_type)
        sharded, local = [], []
        managed: set[int] = set()
        for u in self.fsdp_modules(self):
            h = u._handle
            if h is None:
                continue
            grads = [q.grad for q in (h.orig if h.use_orig_params else [h.flat]) if q.grad is not None]
            managed.update(id(q) for q in (h.orig if h.use_orig_params else [h.flat]))
            (local if h.no_shard else sharded).extend(grads)
        local += [q.grad for q in self.parameters() if id(q) not in managed and q.grad is not None]
        grads = sharded + local
        dtype = grads[0].dtype if grads else None

        def part(gs: list[Tensor]) -> Tensor:
            if not gs:
                return tensor(0.0, dtype=dtype)
            norms = stack([g.detach().float().norm(p) for g in gs])
            return norms.max() if math.isinf(p) else (norms ** p).sum()
        shard_part = part(sharded)
        c10d.all_reduce(shard_part, op=c10d.ReduceOp.MAX if math.isinf(p) else c10d.ReduceOp.SUM,
                        group=self.process_group)
        local_part = part(local)
        total = stack([shard_part, local_part]).max() if math.isinf(p) else (shard_part + local_part) ** (1.0 / p)
        coef = float(max_norm) / (float(total) + 1e-6)
        if coef < 1.0:
            with no_grad():
                for g in grads:
                    g.mul_(coef)
        return total.to(dtype) if dtype is not None else total


FullyShardedDataParallel.__module__ = "ember.distributed.fsdp.fully_sharded_data_parallel"


_HYBRID = (ShardingStrategy.HYBRID_SHARD, ShardingStrategy._HYBRID_SHARD_ZERO2)


def _hybrid_groups(process_group: Any, device_mesh: Any, auto_wrap_policy: Any) -> tuple[Any, Any]:
    """(shard group, replicate group) of hybrid sharding: a 2-d mesh's (dim 1, dim 0), a given (intra-node,
    inter-node) pair, or — auto-wrapping without either — the ranks of one node (``LOCAL_WORLD_SIZE`` of them, all
    by default) and the ranks with the same local rank, as torch's."""
    if device_mesh is not None:
        if device_mesh.ndim != 2:
            raise ValueError(f"Expected device_mesh to have ndim=2 but got {device_mesh.ndim}")
        return device_mesh.get_group(1), device_mesh.get_group(0)
    if process_group is None:
        if auto_wrap_policy is None:
            raise ValueError("Manual wrapping with ShardingStrategy.HYBRID_SHARD requires explicit specification of "
                             "process group or device_mesh.")
        import os
        world = c10d.get_world_size()
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        intra, _ = c10d.new_subgroups(per_node)
        inter, _ = c10d.new_subgroups_by_enumeration([list(range(r, world, per_node)) for r in range(per_node)])
        return intra, inter
    if not (isinstance(process_group, tuple) and len(process_group) == 2
            and all(isinstance(g, c10d.ProcessGroup) for g in process_group)):
        raise ValueError("Expected process_group to be passed in as either None or Tuple[dist.ProcessGroup, "
                         f"dist.ProcessGroup] but got {type(process_group)}")
    return process_group


def _exempt_from_mixed_precision(module: nn.Module, policy: Callable[..., Any], classes: tuple[type, ...]
                                 ) -> Callable[..., Any]:
    """``policy``, except that modules of ``classes`` (batch norms by default) become units of their own with
    mixed precision off (torch warns when the model has some)."""
    present = {type(m) for m in module.modules() if isinstance(m, classes)}
    if present:
        warn("Both mixed precision and an auto_wrap_policy were specified to FSDP, where the wrapped module "
             f"has submodules of type:\n{present}\nThese modules will be wrapped as separate FSDP instacnes "
             "with mixed precision disabled.", stacklevel=3)

    def exempting(module: nn.Module, recurse: bool, nonwrapped_numel: int) -> Any:
        if isinstance(module, classes):
            return True if recurse else {"mixed_precision": MixedPrecision()}
        return policy(module=module, recurse=recurse, nonwrapped_numel=nonwrapped_numel)
    return exempting
