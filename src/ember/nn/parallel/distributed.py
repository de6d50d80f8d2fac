"""``DistributedDataParallel``: one model replica per process, gradients averaged across processes during
backward.

At construction the replicas are checked to have the same parameters and made identical (rank 0's parameters and
buffers are broadcast). Parameters that require grad are grouped, in reverse registration order (the order their
gradients tend to become ready), into buckets of one dtype up to ``bucket_cap_mb`` (the first bucket 1 MB, as
torch). A post-accumulate-grad hook copies each gradient into its bucket; a bucket whose gradients are all in is
all-reduced with a nonblocking collective while backward goes on, buckets always launched in index order so all
ranks post their collectives in the same order. When the last bucket has been launched, the collectives are waited
for and the averaged gradients written back into ``.grad`` (ember's engine has no end-of-backward callback, so this
happens in the last gradient hook).

``register_comm_hook(state, hook)`` replaces the averaging all-reduce of each bucket by ``hook(state, bucket)``
(a :class:`~ember.distributed.GradBucket` in, a Future of the reduced buffer out). ``join()`` handles uneven
inputs: a rank out of batches shadows the others' per-iteration collectives (one all-reduce agreeing on the
iteration, buffer broadcast, the bucket reductions with zero gradients) until all ranks have joined.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ... import distributed as dist
from ..._tensor import Tensor, from_array
from ...autograd.grad_mode import is_grad_enabled
from ...autograd.graph import AccumulateGrad
from ...distributed._grad_bucket import GradBucket
from ...distributed.algorithms.join import Join, Joinable, JoinHook, _JoinConfig
from ...distributed.distributed_c10d import ProcessGroup, _resolve
from ...futures import Future
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024


class _Bucket:
    __slots__ = ("params", "offsets", "flat", "pending", "work")

    def __init__(self, params: list[Tensor], xp: Any) -> None:
        self.params = params
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.flat = xp.zeros(self.offsets[-1], params[0]._data.dtype)
        self.pending = len(params)
        self.work: Any = None

    def view(self, i: int) -> Any:
        return self.flat[self.offsets[i]:self.offsets[i + 1]]


def _tensors_in(obj: Any) -> Iterator[Tensor]:
    """The tensors in a (possibly nested) forward output."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, list | tuple):
        for o in obj:
            yield from _tensors_in(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors_in(o)


def _reachable_leaves(outputs: Any) -> set[int]:
    """ids of the leaf tensors whose AccumulateGrad nodes the outputs' graph reaches."""
    found: set[int] = set()
    seen: set[int] = set()
    stack = []
    for t in _tensors_in(outputs):
        if t._grad_fn is not None:
            stack.append(t._grad_fn)
        elif t._rg:
            found.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is AccumulateGrad:
            found.add(id(node.variable))
            continue
        stack.extend(e[0] for e in node._next if e is not None)
    return found


class _DDPJoinHook(JoinHook):
    """A joined rank's part in DDP's iterations: shadow them, then take the last joiner's replica."""

    def __init__(self, ddp: DistributedDataParallel, divide_by_initial_world_size: bool) -> None:
        self.ddp = ddp
        ddp._divide_by_initial_world_size = divide_by_initial_world_size

    def main_hook(self) -> None:
        self.ddp._shadow_iteration()

    def post_hook(self, is_last_joiner: bool) -> None:
        self.ddp._sync_final_model(is_last_joiner)


class DistributedDataParallel(Module, Joinable):
    """Data parallelism across processes: wrap the replica of each rank; ``loss.backward()`` leaves every rank
    with the gradients averaged over all ranks."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True,
                 process_group: ProcessGroup | None = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params: Any = None, param_to_hook_all_reduce: Any = None,
                 mixed_precision: Any = None, device_mesh: Any = None, skip_all_reduce_unused_params: bool = False,
                 bucket_cap_mb_list: list[int] | None = None, batched_grad_copy: bool = False,
                 forward_sync_buffers: bool | None = None) -> None:
        """torch's signature; ``device_ids``/``output_device`` (one device per process here), the gradient copy
        and graph hints (``gradient_as_bucket_view``, ``static_graph``, ...) are accepted and have no effect."""
        super().__init__()
        pg = _resolve(process_group)
        if pg is None:
            raise RuntimeError("DistributedDataParallel: this rank is not a member of process_group")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter that "
                               "requires a gradient.")
        self.module = module
        self.process_group = pg
        self.dim = dim
        self.device_ids = device_ids
        self.output_device = output_device
        self.broadcast_buffers = True if broadcast_buffers is None else broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._default_cap = bucket_cap_mb is None
        self._verify_replicas(pg, module)
        if init_sync and pg.size() > 1:
            self._broadcast_coalesced([*module.parameters(), *module.buffers()])
        self._params = params
        self._set_buckets(list(reversed(params)))
        self._rebuilt = False
        self._ready: set[int] = set()
        self._order: list[Tensor] = []
        self._next_bucket = 0
        self._expect = False
        self._started = False
        self._unused: list[Tensor] = []
        self._used_flags: Any = None
        self._used_work: Any = None
        self._comm_hook: tuple[Any, Any] | None = None   # (hook, state)
        self._join_config = _JoinConfig.construct_disabled_join_config()
        self._divide_by_initial_world_size = True
        self._divisor = pg.size()   # of the default bucket reduction (the running ranks' count under join)
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    # ---- construction ------------------------------------------------------------------------------------
    @staticmethod
    def _verify_replicas(pg: ProcessGroup, module: Module) -> None:
        """The same number of parameters with the same shapes on every rank (torch's check, with its texts)."""
        if pg.size() == 1:
            return
        mine = [tuple(p._data.shape) for p in module.parameters()]
        every: list[Any] = [None] * pg.size()
        dist.all_gather_object(every, mine, group=pg)
        me = pg.rank()
        for r, theirs in enumerate(every):
            if len(theirs) != len(mine):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {pg._ranks[me]} has "
                                   f"{len(mine)} params, while rank {pg._ranks[r]} has inconsistent {len(theirs)} "
                                   "params.")
            for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                if a != b:
                    raise RuntimeError(f"DDP expects same model across all ranks, but Rank {pg._ranks[me]} has "
                                       f"parameter {i} of shape {list(a)}, while rank {pg._ranks[r]} has "
                                       f"inconsistent shape {list(b)}.")

    def _broadcast_coalesced(self, tensors: list[Tensor], src: int = 0) -> None:
        """Copy group rank ``src``'s values into ``tensors``: one broadcast per dtype of their concatenation."""
        pg = self.process_group
        xp = pg._xp
        by_dtype: dict[Any, list[Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault(t._data.dtype, []).append(t)
        for group in by_dtype.values():
            flat = xp.concatenate([t._data.reshape(-1) for t in group])
            dist.Work(pg._direct().broadcast(flat, src), pg,
                      f"DistributedDataParallel broadcast from rank {src}").wait()
            off = 0
            for t in group:
                n = t._data.size
                t._data[...] = flat[off:off + n].reshape(t._data.shape)
                off += n

    def _set_buckets(self, ordered: list[Tensor]) -> None:
        """Bucket the parameters in the order their gradients are expected: one dtype per bucket, a bucket closed
        once it holds ``bucket_cap_mb`` (the first one 1 MB unless a cap was given, as torch)."""
        buckets: list[_Bucket] = []
        open_: dict[Any, tuple[list[Tensor], int]] = {}
        cap = _FIRST_BUCKET_BYTES if self._default_cap else self.bucket_bytes_cap
        xp = self.process_group._xp
        for p in ordered:
            key = p._data.dtype
            members, size = open_.get(key, ([], 0))
            members.append(p)
            size += p._data.nbytes
            if size >= cap:
                buckets.append(_Bucket(members, xp))
                members, size = [], 0
                cap = self.bucket_bytes_cap
            open_[key] = (members, size)
        buckets.extend(_Bucket(members, xp) for members, _ in open_.values() if members)
        self._buckets = buckets
        self._where = {id(p): (b, i) for b in buckets for i, p in enumerate(b.params)}

    def _rebuild_buckets(self) -> None:
        """After the first synchronised backward, as torch: re-bucket in the order the gradients actually became
        ready (rank 0's order, so that all ranks agree), so that buckets fill, and launch, during backward."""
        self._rebuilt = True
        pg = self.process_group
        index = {id(p): i for i, p in enumerate(self._params)}
        seen = [index[id(p)] for p in self._order]
        missing = set(range(len(self._params))) - set(seen)
        order = np.asarray(seen + sorted(missing), np.int64)
        order = pg._xp.asarray(order)
        if pg.size() > 1:
            dist.Work(pg._direct().broadcast(order, 0), pg, "DistributedDataParallel bucket order").wait()
        self._set_buckets([self._params[i] for i in order.tolist()])

    # ---- communication hook, uneven inputs ------------------------------------------------------------------
    def register_comm_hook(self, state: object, hook: Callable[..., Any]) -> None:
        """Reduce each gradient bucket with ``hook(state, bucket)`` instead of the averaging all-reduce: ``bucket``
        is a :class:`~ember.distributed.GradBucket`, the hook returns a Future of the reduced (averaged) buffer,
        which DDP writes back into the gradients. Register once, before training (see ``ddp_comm_hooks``)."""
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        sig = inspect.signature(hook)
        ann = sig.parameters["bucket"].annotation if "bucket" in sig.parameters else inspect.Parameter.empty
        if ann is not inspect.Parameter.empty and ann is not GradBucket and \
                not (isinstance(ann, str) and re.fullmatch(r"([\w.]+\.)?GradBucket", ann)):
            raise ValueError("Communication hook: bucket annotation should be dist.GradBucket.")
        ret = sig.return_annotation
        if ret is not inspect.Signature.empty and ret != Future[Tensor] and \
                not (isinstance(ret, str) and re.fullmatch(r"([\w.]+\.)?Future\[([\w.]+\.)?Tensor\]", ret)):
            raise ValueError("Communication hook: return annotation should be torch.futures.Future[torch.Tensor].")
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        self._comm_hook = (hook, state)

    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False) -> Join:
        """Context manager for uneven inputs across ranks (``with model.join(): for batch in my_batches: ...``):
        a rank out of batches shadows the others' iterations. ``divide_by_initial_world_size=False`` averages the
        gradients over the ranks still running instead of all ranks."""
        return Join([self], enable, throw_on_early_termination,
                    divide_by_initial_world_size=divide_by_initial_world_size)

    def join_hook(self, **kwargs: Any) -> JoinHook:
        return _DDPJoinHook(self, kwargs.get("divide_by_initial_world_size", True))

    @property
    def join_device(self) -> Any:
        return self._params[0].device

    @property
    def join_process_group(self) -> ProcessGroup:
        return self.process_group

    def _agree(self, running: bool, sync: bool) -> tuple[bool, int, int]:
        """The per-iteration agreement under join (one all-reduce, shadowed by the joined ranks): whether any rank
        synchronises gradients this iteration, the highest running rank (the source of the buffers), and how many
        ranks run."""
        pg = self.process_group
        flags = np.zeros(1 + pg.size(), np.int64)
        flags[0] = sync
        flags[1 + pg.rank()] = running
        t = from_array(pg._xp.asarray(flags), None, self.join_device)
        dist.all_reduce(t, group=pg)
        got = t._data.tolist()
        ranks = [r for r, on in enumerate(got[1:]) if on]
        return got[0] > 0, ranks[-1] if ranks else 0, len(ranks)

    def _shadow_iteration(self) -> None:
        """A joined rank's part in one iteration of the running ranks: the agreement, the buffer broadcast and,
        when they synchronise gradients, every bucket's reduction with zero gradients."""
        any_sync, src, _ = self._agree(False, False)
        self._sync_buffers(src)
        if not any_sync:
            return
        self._reset()
        for index, bucket in enumerate(self._buckets):
            bucket.flat[...] = 0
            self._launch(index)
        self._next_bucket = len(self._buckets)
        self._finish(shadow=True)

    def _sync_final_model(self, is_last_joiner: bool) -> None:
        """Once every rank has joined: all replicas take the parameters and buffers of the last joiner (the highest
        rank among them), whose optimizer saw every iteration."""
        pg = self.process_group
        if pg.size() == 1:
            return
        t = from_array(pg._xp.asarray(np.asarray([pg.rank() if is_last_joiner else -1], np.int64)), None,
                       self.join_device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=pg)
        self._broadcast_coalesced([*self.module.parameters(), *self.module.buffers()], int(t.item()))

    # ---- forward -----------------------------------------------------------------------------------------
    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate gradients locally, without communication."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        pg = self.process_group
        pg._usable()
        if self._started:
            self._unfinished_error()
        self._expect = is_grad_enabled() and self.require_backward_grad_sync
        if self._expect:
            self._reset()
        src, self._divisor = 0, pg.size()
        if self._join_config.enable:
            notified = Join.notify_join_context(self)
            _, src, running = self._agree(True, self._expect)
            if notified is not None:
                notified.wait()
            if not self._divide_by_initial_world_size:
                self._divisor = running
        self._sync_buffers(src)
        out = self.module(*inputs, **kwargs)
        if self._expect and self.find_unused_parameters:
            used = _reachable_leaves(out)
            self._unused = [p for p in self._params if id(p) not in used]
        return out

    def _sync_buffers(self, src: int) -> None:
        if self.broadcast_buffers and self.process_group.size() > 1:
            buffers = list(self.module.buffers())
            if buffers:
                self._broadcast_coalesced(buffers, src)

    def _reset(self) -> None:
        for b in self._buckets:
            b.pending = len(b.params)
            b.work = None
        self._ready = set()
        self._order = []
        self._next_bucket = 0
        self._unused = []

    def _unfinished_error(self) -> None:
        missing = [i for i, p in enumerate(self._params) if id(p) not in self._ready]
        self._started = False
        self._expect = False
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new one. This error "
            "indicates that your module has parameters that were not used in producing loss. You can enable unused "
            "parameter detection by passing the keyword argument `find_unused_parameters=True` to "
            "`torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` function outputs "
            "participate in calculating loss. \nParameter indices which did not receive grad for rank "
            f"{dist.get_rank()}: {' '.join(map(str, missing))}")

    # ---- backward ----------------------------------------------------------------------------------------
    def _grad_ready(self, p: Tensor) -> None:
        if not self._expect:
            return
        if not self._started:
            self._started = True
            for q in self._unused:   # find_unused_parameters: they count as ready, with zero (or their) grads
                self._mark(q)
        if id(p) in self._ready:
            raise RuntimeError("Expected to mark a variable ready only once. This error is caused by one of the "
                               "following reasons: 1) Use of a module parameter outside the `forward` function; "
                               "2) Reused parameters in multiple reentrant backward passes.")
        self._mark(p)

    def _mark(self, p: Tensor) -> None:
        self._ready.add(id(p))
        self._order.append(p)
        b, i = self._where[id(p)]
        view = b.view(i)
        g = p._grad_or_none()
        if g is None:
            view[...] = 0
        elif self._comm_hook is None and self.process_group.size() > 1:   # averaged as it is copied in: one pass
            self.process_group._xp.divide(g._data.reshape(-1), self._divisor, out=view)
        else:
            view[...] = g._data.reshape(-1)
        b.pending -= 1
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
            self._launch(self._next_bucket)
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets):
            self._finish()
        else:
            for bucket in self._buckets[:self._next_bucket]:   # let MPI progress the launched collectives
                w = bucket.work
                if w is not None and not (w.done() if isinstance(w, Future) else w.is_completed()):
                    break

    def _launch(self, index: int) -> None:
        """Start the reduction of bucket ``index``: the communication hook, or the averaging all-reduce."""
        bucket = self._buckets[index]
        pg = self.process_group
        if self._comm_hook is not None:
            hook, state = self._comm_hook
            p0 = bucket.params[0]
            buffer = from_array(bucket.flat, p0._dtype, p0._device)
            fut = hook(state, GradBucket(index, buffer, bucket.params, index == len(self._buckets) - 1))
            if not isinstance(fut, Future):
                raise RuntimeError("DDP communication hook's callback must return a torch.futures.Future object, "
                                   f"but got {type(fut).__module__}.{type(fut).__qualname__}")
            bucket.work = fut
        elif pg.size() > 1:
            bucket.work = dist.Work(pg._direct().allreduce(bucket.flat, 0), pg,
                                    f"DistributedDataParallel gradient bucket {index}")

    @staticmethod
    def _collect(bucket: _Bucket, index: int) -> None:
        """Wait for the bucket's reduction; a hook's result is copied into the bucket (unless it is the bucket)."""
        w = bucket.work
        if not isinstance(w, Future):
            if w is not None:
                w.wait()
            return
        value = w.wait()
        if not isinstance(value, Tensor) or value._data.size != bucket.flat.size:
            got = f"a tensor of shape {list(value.shape)}" if isinstance(value, Tensor) else type(value).__name__
            raise RuntimeError(f"DDP communication hook: the future of bucket {index} must hold a tensor of "
                               f"{bucket.flat.size} elements (the bucket's buffer), got {got}")
        if value._data is not bucket.flat:
            bucket.flat[...] = value._data.reshape(-1)

    def _finish(self, shadow: bool = False) -> None:
        """Wait for the buckets and write the averaged gradients back (globally unused parameters keep theirs).
        A joined rank's ``shadow`` pass takes part in the same collectives, with nothing used, and writes nothing."""
        pg = self.process_group
        unused = {id(q) for q in self._unused}
        used = [not shadow and id(p) not in unused for p in self._params]
        if self.find_unused_parameters:   # every rank takes part (the flag is the same on all)
            flags = pg._xp.asarray(np.asarray(used, np.int32))   # used by any rank: MAX over ranks
            dist.Work(pg._direct().allreduce(flags, 4), pg, "DistributedDataParallel unused parameter map").wait()
            used = [bool(u) for u in flags.tolist()]
        globally_used = {id(p) for p, u in zip(self._params, used, strict=True) if u}
        for index, b in enumerate(self._buckets):
            self._collect(b, index)
            if shadow:
                continue
            for i, p in enumerate(b.params):
                if id(p) not in globally_used:
                    continue
                g = p._grad_or_none()
                if g is None:
                    p.grad = from_array(b.view(i).reshape(p._data.shape).copy(), p._dtype, p._device)
                else:
                    g._data[...] = b.view(i).reshape(g._data.shape)
        self._started = False
        self._expect = False
        if not self._rebuilt:
            self._rebuild_buckets()
