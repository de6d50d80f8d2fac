"""``DataLoader``: batches from a dataset through a sampler and a collate function, in the main process or
in worker processes, consuming the random streams exactly as torch's (same seed ⇒ same batch order)."""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import numpy as np

from ..._core import dtype as D
from ..._core.warn import warn
from ...ops.creation import empty
from ...ops.info import set_num_threads
from ...ops.random import Generator, manual_seed
from ._utils import worker as _worker
from ._utils.collate import default_collate, default_convert
from ._utils.worker import WorkerInfo, get_worker_info
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: yields None forever (and has no length, as torch's)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


_T_co = TypeVar("_T_co", covariant=True)


class DataLoader(Generic[_T_co]):
    """Iterate over ``dataset`` in batches (see torch.utils.data.DataLoader for the arguments); generic, as
    torch's (``DataLoader[int]``)."""

    _FIXED = frozenset({"dataset", "batch_size", "sampler", "batch_sampler", "drop_last", "persistent_workers"})
    _initialized = False

    def __init__(
        self,
        dataset: Dataset | Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable[Any] | None = None,
        batch_sampler: Sampler | Iterable[list[Any]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                "to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.in_order = in_order
        self.multiprocessing_context = multiprocessing_context
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                    f"shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                    f"sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                    f"got batch_sampler={batch_sampler}"
                )
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                    "drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator: Any = None
        self._len_reported: int | None = None   # an iterable dataset's length, once len(loader) asked for it
        self._initialized = True
        self._warn_worker_count()

    def __setattr__(self, name: str, value: Any) -> None:
        if self._initialized and name in self._FIXED:   # the batching was derived from them in __init__
            raise ValueError(f"{name} attribute should not be set after DataLoader is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self) -> Any:
        """The context worker processes are started with (None: fork)."""
        return self._mp_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context: Any) -> None:
        if context is not None:
            import multiprocessing

            if self.num_workers <= 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                    f"but got num_workers={self.num_workers}"
                )
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(
                        f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                        f"but got multiprocessing_context={context!r}"
                    )
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError(
                    "multiprocessing_context option should be a valid context object or a string specifying "
                    f"the start method, but got multiprocessing_context={context}"
                )
        self._mp_context = context

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def _warn_worker_count(self) -> None:
        """torch's warning (as a loader is made and as it starts its workers) when there are more workers
        than CPUs this process may run on."""
        if self.num_workers == 0:
            return
        affinity = hasattr(os, "sched_getaffinity")
        cpus = len(os.sched_getaffinity(0)) if affinity else os.cpu_count()
        if cpus is not None and self.num_workers <= cpus:
            return
        suggestion = ("DataLoader is not able to compute a suggested max number of worker in current system."
                      if cpus is None else
                      f"Our suggested max number of worker in current system is {cpus}"
                      f"{'' if affinity else ' (`cpuset` is not taken into account)'}, which is smaller than what "
                      "this DataLoader is going to create.")
        warn(f"This DataLoader will create {self.num_workers} worker processes in total. {suggestion} "
             "Please be aware that excessive worker creation might get DataLoader running slow or even "
             "freeze, lower the worker number to avoid potential slowness/freeze if necessary.",
             stacklevel=2)   # at the loader's own line, as torch (so shown once, not once per caller)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers and self._iterator is not None:
            self._iterator._reset(self)
            return self._iterator
        self._warn_worker_count()
        it = _MultiProcessIter(self)
        if self.persistent_workers:
            self._iterator = it
        return it

    def __len__(self) -> int:
        if self._iterable:
            n = self._len_reported = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)


# ---- fetching ---------------------------------------------------------------------------------------------
class _Fetcher:
    """Turns one entry of the index sampler into one (collated) batch."""

    def __init__(
        self, loader_dataset: Any, iterable: bool, auto_collation: bool, collate_fn: Callable, drop_last: bool
    ) -> None:
        self.dataset = loader_dataset
        self.iterable = iterable
        self.auto = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.stream: Iterator[Any] | None = iter(loader_dataset) if iterable else None
        self.ended = False

    def fetch(self, index: Any) -> Any:
        if self.iterable:
            if self.ended:
                raise StopIteration
            if not self.auto:
                return self.collate_fn(next(self.stream))  # type: ignore[arg-type]
            data = []
            for _ in index:
                try:
                    data.append(next(self.stream))  # type: ignore[arg-type]
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(index)):
                raise StopIteration
            return self.collate_fn(data)
        if self.auto:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


def _base_seed(generator: Generator | None) -> int:
    return int(empty((), dtype=D.int64).random_(generator=generator).item())


def _pin_memory_warnings(loader: DataLoader) -> None:
    """torch's warnings as an iterator starts: ``pin_memory_device`` is deprecated, and pinning needs an
    accelerator (ember's batches are never pinned on the host)."""
    if not loader.pin_memory:
        return
    if loader.pin_memory_device:
        warn("pin_memory_device is deprecated, the current accelerator will be used as the device,ignore "
             f"pin_memory_device='{loader.pin_memory_device}'.", stacklevel=4)
    from ... import accelerator
    if not accelerator.is_available():
        warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned memory "
             "won't be used.", stacklevel=4)


class _LoaderIter:
    """What the single- and multi-process iterators share: the sampler's iterator, the base seed, and the count
    of batches yielded, checked against the length an iterable dataset reported."""

    def __init__(self, loader: DataLoader) -> None:
        _pin_memory_warnings(loader)
        self._loader = loader   # its length is asked for lazily: a custom sampler may have none
        self._start(loader)
        self._base_seed = _base_seed(loader.generator)

    def _start(self, loader: DataLoader) -> None:
        self._sampler_iter = iter(loader._index_sampler)
        self._num_yielded = 0
        self._len_reported = loader._len_reported

    def _yielded(self, data: Any) -> Any:
        """Count ``data`` as yielded, warning as torch once more batches came than the dataset's length."""
        self._num_yielded += 1
        if self._loader._iterable and self._len_reported is not None and self._num_yielded > self._len_reported:
            msg = (f"Length of IterableDataset {self._loader.dataset} was reported to be {self._len_reported}(when "
                   f"accessing len(dataloader)), but {self._num_yielded} samples have been fetched. ")
            if self._loader.num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly configuring the "
                        "IterableDataset replica at each worker. Please see "
                        "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset for examples.")
            warn(msg, stacklevel=3)
        return data

    def __iter__(self) -> _LoaderIter:
        return self

    def __len__(self) -> int:
        return len(self._loader._index_sampler)


class _SingleProcessIter(_LoaderIter):
    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = _Fetcher(
            loader.dataset, loader._iterable, loader._auto_collation, loader.collate_fn, loader.drop_last
        )

    def __next__(self) -> Any:
        return self._yielded(self._fetcher.fetch(next(self._sampler_iter)))


# ---- worker processes -------------------------------------------------------------------------------------
class _Verbatim(str):
    """A string whose repr is itself."""

    def __repr__(self) -> str:
        return str(self)


class _WorkerError:
    """An exception raised in a worker, carried to the main process with its formatted traceback."""

    def __init__(self, worker_id: int) -> None:
        exc_type, exc, tb = sys.exc_info()
        self.exc_type = exc_type
        self.text = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = f"in DataLoader worker process {worker_id}"

    def reraise(self) -> None:
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.text}"  # type: ignore[union-attr]
        if self.exc_type is KeyError:   # str(KeyError) is the repr of its argument: keep the text readable
            msg = _Verbatim(msg)
        try:
            exc = self.exc_type(msg)  # type: ignore[misc]
        except Exception:
            raise RuntimeError(msg) from None
        raise exc


class _EndOfData:
    """Sent by an iterable-dataset worker whose stream is exhausted."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


def _worker_loop(
    dataset: Any,
    iterable: bool,
    auto: bool,
    collate_fn: Callable,
    drop_last: bool,
    base_seed: int,
    init_fn: Callable[[int], None] | None,
    worker_id: int,
    num_workers: int,
    index_queue: Any,
    result_queue: Any,
) -> None:
    """One intra-op thread (as torch: workers run side by side), seeds as torch's workers (ember's and Python's
    generators with ``base_seed + id``; NumPy's global one with a SeedSequence state of the id and the two halves
    of ``base_seed``, so workers do not repeat each other's NumPy draws), run ``worker_init_fn``, then fetch
    batches until told to stop. Tensors in batches travel back as shared memory (ember.multiprocessing's
    reductions), not pickled copies."""
    from ... import multiprocessing as _shared  # noqa: F401 - registers the reductions in spawned workers too
    set_num_threads(1)
    seed = base_seed + worker_id
    manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]).generate_state(4))
    _worker._worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    fetcher: _Fetcher | None = None
    init_error = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = _Fetcher(dataset, iterable, auto, collate_fn, drop_last)
    except Exception:
        init_error = _WorkerError(worker_id)
    while True:
        task = index_queue.get()
        if task is None:
            break
        if isinstance(task, _EndOfData):  # persistent workers: a new epoch restarts the stream
            fetcher = _Fetcher(dataset, iterable, auto, collate_fn, drop_last)
            continue
        send_id, index = task
        if init_error is not None:
            result_queue.put((send_id, init_error))
            init_error = None
            continue
        try:
            data = fetcher.fetch(index)  # type: ignore[union-attr]
        except StopIteration:
            data = _EndOfData(worker_id)
        except Exception:
            data = _WorkerError(worker_id)
        result_queue.put((send_id, data))


def _stop_workers(pid: int, index_queues: list[Any], workers: list[Any]) -> None:
    """Tell each worker to stop, wait for it (terminating one that hangs) and forget them all; nothing in a
    forked process that inherited the iterator (the workers are not its children)."""
    if os.getpid() != pid:
        return
    for q in index_queues:
        try:
            q.put(None)
        except (ValueError, OSError):
            pass
    for w in workers:
        w.join(timeout=5)
        if w.is_alive():
            w.terminate()
    workers.clear()
    index_queues.clear()


class _MultiProcessIter(_LoaderIter):
    """Round-robin task dispatch to ``num_workers`` processes; results are yielded in sampler order, or as
    soon as they arrive with ``in_order=False``."""

    def __init__(self, loader: DataLoader) -> None:
        import multiprocessing  # only loaders with workers pay for it

        from ... import multiprocessing as _shared  # noqa: F401 - batches arrive as shared memory (1.5x faster)

        ctx = loader.multiprocessing_context or multiprocessing.get_context("fork")
        self._result_queue = ctx.Queue()
        self._index_queues: list[Any] = []
        self._workers: list[Any] = []
        # Stopping the workers is a finalizer, not __del__: it holds the queues, so a garbage collection of this
        # iterator cannot also finalize their pipes before it writes to them (their descriptors would be closed
        # twice). Interpreter exit leaves the daemonic workers to multiprocessing.
        self._shutdown = weakref.finalize(self, _stop_workers, os.getpid(), self._index_queues, self._workers)
        self._shutdown.atexit = False
        super().__init__(loader)
        if loader.prefetch_factor <= 0:   # type: ignore[operator]  (None: num_workers set after __init__, as torch)
            raise AssertionError("prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter")
        for i in range(loader.num_workers):
            q = ctx.Queue()
            w = ctx.Process(
                target=_worker_loop,
                daemon=True,
                args=(
                    loader.dataset,
                    loader._iterable,
                    loader._auto_collation,
                    loader.collate_fn,
                    loader.drop_last,
                    self._base_seed,
                    loader.worker_init_fn,
                    i,
                    loader.num_workers,
                    q,
                    self._result_queue,
                ),
            )
            try:
                w.start()
            except (TypeError, AttributeError, pickle.PicklingError):
                warn(
                    "Could not start a DataLoader worker: its arguments (dataset, collate_fn, worker_init_fn) "
                    f"must be picklable with the {ctx.get_start_method()!r} start method; define them at module "
                    "level or use multiprocessing_context='fork'.",
                    stacklevel=3,
                )
                self._shutdown()
                raise
            self._index_queues.append(q)
            self._workers.append(w)
        self._start_epoch()

    def _start_epoch(self) -> None:
        self._send_idx = 0
        self._rcvd_idx = 0
        self._pending: dict[int, int] = {}  # task id -> worker id, for tasks not yet yielded
        self._results: dict[int, Any] = {}
        self._active = [True] * len(self._workers)
        self._next_worker = 0
        for _ in range(self._loader.prefetch_factor * len(self._workers)):  # type: ignore[operator]
            self._dispatch()

    def _reset(self, loader: DataLoader) -> None:
        self._start(loader)
        if loader._iterable:
            for q in self._index_queues:
                q.put(_EndOfData(-1))
        self._start_epoch()

    def _dispatch(self) -> None:
        if not any(self._active):
            return
        while not self._active[self._next_worker]:
            self._next_worker = (self._next_worker + 1) % len(self._workers)
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        w = self._next_worker
        self._index_queues[w].put((self._send_idx, index))
        self._pending[self._send_idx] = w
        self._send_idx += 1
        self._next_worker = (w + 1) % len(self._workers)

    def _get(self) -> tuple[int, Any]:
        timeout = self._loader.timeout or None
        while True:
            try:
                return self._result_queue.get(timeout=timeout if timeout else 5.0)
            except queue.Empty:
                if timeout:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None
                dead = [str(w.pid) for w in self._workers if not w.is_alive()]
                if dead:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(dead)}) exited unexpectedly") from None

    def __next__(self) -> Any:
        if not self._loader.in_order:
            return self._next_arrived()
        while True:
            while self._rcvd_idx < self._send_idx and self._rcvd_idx not in self._pending:
                self._rcvd_idx += 1
            if self._rcvd_idx >= self._send_idx:
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            if self._rcvd_idx in self._results:
                data = self._results.pop(self._rcvd_idx)
            else:
                task, data = self._get()
                if task != self._rcvd_idx:
                    self._results[task] = data
                    continue
            self._rcvd_idx += 1
            if self._accept(self._rcvd_idx - 1, data):
                return self._yielded(data)

    def _next_arrived(self) -> Any:
        """The first batch any worker finishes (``in_order=False``)."""
        while True:
            if not self._pending:
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            task, data = self._get()
            if self._accept(task, data):
                return self._yielded(data)

    def _accept(self, task: int, data: Any) -> bool:
        """Retire ``task``; False when its worker's stream ended, else refill the pipeline (re-raising a
        worker's exception) and True."""
        del self._pending[task]
        if isinstance(data, _EndOfData):
            self._active[data.worker_id] = False
            return False
        self._dispatch()
        if isinstance(data, _WorkerError):
            self._shutdown()
            data.reraise()
        return True
