"""The callbacks a command-line run uses (each usable on its own with ``Trainer``): progress bar, per-epoch
line, metrics log (CSV + JSON lines), checkpoints (last, best, periodic), early stopping, curves PNG and
TensorBoard scalars."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from .trainer import Callback, Trainer

__all__ = ["Checkpoint", "CurvesPlot", "EarlyStopping", "EpochLine", "MetricsLog", "ProgressBar", "TensorBoard",
           "format_logs"]


def _scalars(logs: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in logs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def format_logs(logs: dict[str, Any]) -> str:
    """``train_loss 0.1234  val_accuracy 0.9815 …``: the scalar entries, 4 significant decimals."""
    parts = []
    for k, v in _scalars(logs).items():
        if k in ("epoch", "seconds", "lr"):
            continue
        parts.append(f"{k} {v:.4f}")
    return "  ".join(parts)


class EarlyStopping(Callback):
    """Stop when the monitored metric has not improved for ``patience`` epochs."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.bad_epochs = 0

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.bad_epochs = 0 if logs.get("best") else self.bad_epochs + 1
        if self.bad_epochs >= self.patience:
            trainer.stop_training = True
            trainer.stop_reason = f"early stopping: {trainer.monitor} did not improve for {self.patience} epochs"

    def state_dict(self) -> dict[str, Any]:
        return {"bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.bad_epochs = state["bad_epochs"]


class ProgressBar(Callback):
    """A tqdm bar per epoch on stderr (batches, running loss); it disappears when the epoch ends."""

    def __init__(self) -> None:
        self._bar: Any = None

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        from tqdm import tqdm

        done = trainer.step_in_epoch * trainer.grad_accum
        self._bar = tqdm(total=len(trainer.train_loader), initial=done, desc=f"epoch {epoch + 1}/{trainer.epochs}",
                         unit="batch", leave=False, file=sys.stderr, dynamic_ncols=True,
                         disable=None)

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None:
        self._bar.update(batch + 1 - self._bar.n)
        self._bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._close()

    def on_fit_end(self, trainer: Trainer) -> None:
        self._close()


class EpochLine(Callback):
    """One line per epoch on stdout: ``epoch  3/12  train_loss …  val_accuracy …  lr …  1.9s  *`` (* = best)."""

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        width = len(str(trainer.epochs))
        mark = "  *" if logs.get("best") else ""
        print(f"epoch {logs['epoch']:>{width}}/{trainer.epochs}  {format_logs(logs)}  lr {logs['lr']:.3g}  "
              f"{logs['seconds']:.1f}s{mark}", flush=True)


class MetricsLog(Callback):
    """``metrics.csv`` (scalars, one row per epoch) and ``metrics.jsonl`` (everything, confusion matrices too).

    A resumed run starts its new folder with the history it inherited, so each log is complete on its own.
    """

    def __init__(self, folder: Path) -> None:
        self.csv_path, self.jsonl_path = Path(folder) / "metrics.csv", Path(folder) / "metrics.jsonl"
        self._columns: list[str] | None = None

    def _append(self, logs: dict[str, Any]) -> None:
        row = _scalars(logs)
        if self._columns is None:
            self._columns = list(row)
            with self.csv_path.open("w", newline="") as fh:
                csv.writer(fh).writerow(self._columns)
        with self.csv_path.open("a", newline="") as fh:
            csv.writer(fh).writerow([row.get(c, "") for c in self._columns])
        with self.jsonl_path.open("a") as fh:
            fh.write(json.dumps(logs) + "\n")

    def on_fit_start(self, trainer: Trainer) -> None:
        for logs in trainer.history:
            self._append(logs)

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._append(logs)


class Checkpoint(Callback):
    """``last.pt`` after every epoch (and on Ctrl-C), ``best.pt`` when the monitored metric improves
    (``keep_best``), ``epoch_NNN.pt`` every ``save_period`` epochs; ``extra`` (config, data info) goes in each.
    Files are written atomically by ``ember.save``: a kill never leaves a partial checkpoint."""

    def __init__(self, folder: Path, extra: dict[str, Any] | None = None, keep_best: bool = True,
                 save_period: int = 0) -> None:
        self.folder, self.extra = Path(folder), extra or {}
        self.keep_best, self.save_period = keep_best, save_period

    def _save(self, trainer: Trainer, name: str) -> Path:
        import ember

        path = self.folder / name
        ember.save({**trainer.state_dict(), **self.extra}, path)
        return path

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self._save(trainer, "last.pt")
        if self.keep_best and logs.get("best"):
            self._save(trainer, "best.pt")
        if self.save_period and logs["epoch"] % self.save_period == 0:
            self._save(trainer, f"epoch_{logs['epoch']:03d}.pt")

    def on_interrupt(self, trainer: Trainer) -> None:
        path = self._save(trainer, "last.pt")
        print(f"interrupted: saved {path}", flush=True)


class CurvesPlot(Callback):
    """``curves.png``: loss and validation metrics per epoch, drawn when fitting ends (or is interrupted)."""

    def __init__(self, folder: Path, title: str = "") -> None:
        self.path, self.title = Path(folder) / "curves.png", title

    def on_fit_end(self, trainer: Trainer) -> None:
        if trainer.history:
            from .plots import plot_curves

            plot_curves(trainer.history, self.path, self.title)


class TensorBoard(Callback):
    """TensorBoard scalars (``events.out.tfevents.*``) per epoch, tagged ``loss/train``, ``val/accuracy``…"""

    def __init__(self, folder: Path) -> None:
        from .tensorboard import EventWriter

        self.writer = EventWriter(Path(folder))

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        tags = {k.replace("_", "/", 1) if k.startswith(("val_", "train_")) else k: float(v)
                for k, v in _scalars(logs).items() if k != "epoch"}
        self.writer.add_scalars(logs["epoch"], tags)

    def on_fit_end(self, trainer: Trainer) -> None:
        self.writer.close()
