"""``Trainer``: the epoch loop (gradient accumulation, clipping, schedulers, validation metrics, best tracking)
with callbacks, and a state that resumes bit-identically, at an epoch boundary or mid-epoch after Ctrl-C."""

from __future__ import annotations

import contextlib
import math
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import Generator, get_rng_state, no_grad, set_rng_state, tensor
from .. import nn as _nn
from ..optim.lr_scheduler import ReduceLROnPlateau
from .metrics import compute_metrics

__all__ = ["Callback", "Trainer", "rng_states", "set_rng_states"]


class Callback:
    """Hooks into ``Trainer.fit``; override what you need. ``on_batch_end`` follows each optimizer step (with the
    index of the step's last batch and its loss); ``on_epoch_end`` gets the epoch's logs. A hook may set
    ``trainer.stop_training``. ``state_dict``/``load_state_dict`` (optional) are saved in checkpoints under the
    callback's class name."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None: ...
    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None: ...
    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...
    def on_interrupt(self, trainer: Trainer) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...


def rng_states() -> dict[str, Any]:
    """Every global random stream a run may draw from: ember's, Python's, NumPy's (and CUDA's when in use)."""
    import ember

    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    states: dict[str, Any] = {
        "ember": get_rng_state(),
        "python": random.getstate(),
        "numpy": [kind, tensor(keys.astype(np.int64)), pos, has_gauss, gauss],
    }
    cuda = ember.cuda
    if hasattr(cuda, "get_rng_state_all") and cuda.is_available() and cuda.is_initialized():
        states["cuda"] = cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what ``rng_states`` returned."""
    import ember

    set_rng_state(states["ember"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    if "cuda" in states and hasattr(ember.cuda, "set_rng_state_all") and ember.cuda.is_available():
        ember.cuda.set_rng_state_all(states["cuda"])


class Trainer:
    """Train ``model`` with ``optimizer`` on ``loss_fn(model(x), y)`` over ``train_loader`` for ``epochs``.

    After each epoch: the validation loss and ``metrics`` on ``val_loader``, a scheduler step, best tracking on
    ``monitor`` (``mode`` min/max, improvement beyond ``min_delta``), then the callbacks' ``on_epoch_end`` with the
    epoch's logs. ``state_dict()`` captures everything needed to resume exactly (model, optimizer, scheduler,
    counters, history, callbacks, RNG streams and the loader's generator); SIGINT (Ctrl-C) during ``fit`` ends
    the current optimizer step, calls ``on_interrupt`` (e.g. to save) and returns.
    """

    def __init__(
        self,
        model: _nn.Module,
        optimizer: Any,
        loss_fn: Callable[[Any, Any], Any],
        train_loader: Any,
        val_loader: Any = None,
        *,
        epochs: int = 1,
        scheduler: Any = None,
        scheduler_interval: str = "epoch",
        metrics: Sequence[str] = ("accuracy",),
        task: str = "classification",
        device: Any = "cpu",
        grad_clip: float | None = None,
        grad_accum: int = 1,
        amp: bool = False,
        monitor: str = "val_loss",
        mode: str = "min",
        min_delta: float = 0.0,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        import ember

        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.train_loader, self.val_loader = train_loader, val_loader
        self.epochs, self.scheduler, self.scheduler_interval = epochs, scheduler, scheduler_interval
        self.metrics, self.task = list(metrics), task
        self.device = ember.device(device)
        self.grad_clip, self.grad_accum, self.amp = grad_clip, grad_accum, amp
        self.monitor, self.mode, self.min_delta = monitor, mode, min_delta
        self.callbacks = list(callbacks)
        self.epoch = 0            # completed epochs
        self.step_in_epoch = 0    # optimizer steps done in the current, unfinished epoch
        self.global_step = 0
        self.history: list[dict[str, Any]] = []
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.stop_training = False
        self.stop_reason = ""
        self.interrupted = False
        self._partial = {"loss_sum": 0.0, "count": 0, "seconds": 0.0}
        self._epoch_generator_state: Any = None
        self._epoch_rng: dict[str, Any] = {}
        self._pending_rng: dict[str, Any] | None = None

    # ---- the loop -------------------------------------------------------------------------------------------
    @property
    def generator(self) -> Generator | None:
        return getattr(self.train_loader, "generator", None)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.amp:
            return contextlib.nullcontext()
        import ember

        return ember.autocast(self.device.type)  # validated: only enabled where ember provides autocast

    def _batches(self) -> Iterator[tuple[int, Any]]:
        """The epoch's batches, skipping those already trained when resuming mid-epoch."""
        gen = self.generator
        sampler = getattr(self.train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):   # DistributedSampler: the epoch seeds its shuffle
            sampler.set_epoch(self.epoch)
        skip = self.step_in_epoch * self.grad_accum
        if skip:   # resuming mid-epoch: the streams as they were when the epoch began, to replay its order
            set_rng_states(self._epoch_rng)
            if gen is not None:
                gen.set_state(self._epoch_generator_state)
        else:
            self._epoch_rng = rng_states()
            self._epoch_generator_state = gen.get_state() if gen is not None else None
        it = iter(self.train_loader)
        for _ in range(skip):
            next(it)
        if self._pending_rng is not None:
            set_rng_states(self._pending_rng)
            self._pending_rng = None
        yield from enumerate(it, start=skip)

    def _to(self, batch: Any) -> tuple[Any, Any]:
        x, y = batch
        return x.to(self.device), y.to(self.device)

    def train_epoch(self) -> bool:
        """One pass over train_loader (or the rest of one after a mid-epoch resume); False if interrupted."""
        self.model.train()
        n = len(self.train_loader)
        start = time.perf_counter()
        part = self._partial
        for i, batch in self._batches():
            x, y = self._to(batch)
            stepping = (i + 1) % self.grad_accum == 0 or i + 1 == n
            no_sync = getattr(self.model, "no_sync", None)   # DDP: all-reduce only before the optimizer step
            with contextlib.nullcontext() if stepping or no_sync is None else no_sync():
                with self._autocast():
                    loss = self.loss_fn(self.model(x), y)
                group_start = i - i % self.grad_accum
                (loss / min(self.grad_accum, n - group_start)).backward()
            value = float(loss.item())
            part["loss_sum"] += value * len(x)
            part["count"] += len(x)
            if not stepping:
                continue
            if self.grad_clip:
                _nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.optimizer.step()
            self.optimizer.zero_grad()
            if self.scheduler is not None and self.scheduler_interval == "step":
                self.scheduler.step()
            self.step_in_epoch += 1
            self.global_step += 1
            for cb in self.callbacks:
                cb.on_batch_end(self, i, value)
            if self.interrupted and i + 1 != n:
                part["seconds"] += time.perf_counter() - start
                return False
        part["seconds"] += time.perf_counter() - start
        return True

    def evaluate(self, loader: Any, metrics: Sequence[str] | None = None) -> dict[str, Any]:
        """Mean loss and ``metrics`` over ``loader`` in eval mode, without gradients."""
        self.model.eval()
        outputs, targets = [], []
        loss_sum, count = 0.0, 0
        with no_grad(), self._autocast():
            for batch in loader:
                x, y = self._to(batch)
                out = self.model(x)
                loss_sum += float(self.loss_fn(out, y).item()) * len(x)
                count += len(x)
                outputs.append(out.float().cpu().numpy())
                targets.append(y.cpu().numpy())
        if not count:
            return {}
        logs: dict[str, Any] = {"loss": loss_sum / count}
        logs.update(compute_metrics(list(self.metrics if metrics is None else metrics),
                                    np.concatenate(outputs), np.concatenate(targets), self.task))
        return logs

    def predict(self, x: Any, batch_size: int = 256) -> Any:
        """Model outputs for a batch of inputs, in eval mode, without gradients."""
        import ember

        self.model.eval()
        with no_grad(), self._autocast():
            return ember.cat([self.model(x[i:i + batch_size].to(self.device)).float().cpu()
                              for i in range(0, len(x), batch_size)])

    def _improved(self, value: float) -> bool:
        if self.best is None or math.isnan(self.best):
            return not math.isnan(value)
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def _end_epoch(self) -> dict[str, Any]:
        part = self._partial
        logs: dict[str, Any] = {"epoch": self.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"],
                                "train_loss": part["loss_sum"] / max(part["count"], 1)}
        start = time.perf_counter()
        if self.val_loader is not None:
            logs.update({f"val_{k}": v for k, v in self.evaluate(self.val_loader).items()})
        logs["seconds"] = round(part["seconds"] + time.perf_counter() - start, 3)
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            if isinstance(self.scheduler, ReduceLROnPlateau):
                self.scheduler.step(logs.get(self.monitor, logs["train_loss"]))
            else:
                self.scheduler.step()
        value = logs.get(self.monitor)
        logs["best"] = value is not None and self._improved(float(value))
        if logs["best"]:
            self.best, self.best_epoch = float(value), self.epoch + 1  # type: ignore[arg-type]
        self.epoch += 1
        self.step_in_epoch = 0
        self._partial = {"loss_sum": 0.0, "count": 0, "seconds": 0.0}
        self.history.append(logs)
        return logs

    def fit(self) -> list[dict[str, Any]]:
        """Train until ``epochs`` are done, a callback sets ``stop_training``, or SIGINT; returns the history."""
        self.stop_training = self.interrupted = False
        with self._sigint():
            for cb in self.callbacks:
                cb.on_fit_start(self)
            while self.epoch < self.epochs and not self.stop_training:
                for cb in self.callbacks:
                    cb.on_epoch_start(self, self.epoch)
                if not self.train_epoch():
                    break
                logs = self._end_epoch()
                for cb in self.callbacks:
                    cb.on_epoch_end(self, logs)
                if self.interrupted:
                    break
            if self.interrupted:
                for cb in self.callbacks:
                    cb.on_interrupt(self)
            for cb in self.callbacks:
                cb.on_fit_end(self)
        return self.history

    @contextlib.contextmanager
    def _sigint(self) -> Iterator[None]:
        """First Ctrl-C: finish the optimizer step, then stop cleanly; a second one interrupts at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            self.interrupted = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    # ---- state ----------------------------------------------------------------------------------------------
    @property
    def bare_model(self) -> _nn.Module:
        """The model without its DistributedDataParallel wrapper (what checkpoints hold)."""
        from ..nn.parallel import DistributedDataParallel

        return self.model.module if isinstance(self.model, DistributedDataParallel) else self.model

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue as if never stopped."""
        gen = self.generator
        mid_epoch = self.step_in_epoch > 0
        return {
            "model": self.bare_model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "partial": dict(self._partial) if mid_epoch else None,
            "history": self.history,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "callbacks": {type(cb).__name__: cb.state_dict() for cb in self.callbacks if hasattr(cb, "state_dict")},
            "rng": rng_states(),
            "generator": gen.get_state() if gen is not None else None,
            "epoch_generator": self._epoch_generator_state if mid_epoch else None,
            "epoch_rng": self._epoch_rng if mid_epoch else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from ``state_dict()``; mid-epoch states replay the epoch's batch order and skip what was done."""
        self.bare_model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step_in_epoch = state["epoch"], state["step_in_epoch"]
        self.global_step = state["global_step"]
        self.history = list(state["history"])
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        for cb in self.callbacks:
            if type(cb).__name__ in state["callbacks"] and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(state["callbacks"][type(cb).__name__])
        gen = self.generator
        if self.step_in_epoch:
            self._partial = dict(state["partial"])
            self._epoch_generator_state = state["epoch_generator"]
            self._epoch_rng = state["epoch_rng"]
            self._pending_rng = state["rng"]   # restored after the skipped batches are replayed
        else:
            if gen is not None and state["generator"] is not None:
                gen.set_state(state["generator"])
            set_rng_states(state["rng"])
