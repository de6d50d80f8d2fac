"""The training application: a config-driven trainer (``ember train``) and the ``Trainer`` library with callbacks.

``Trainer`` runs the epoch loop; ``callbacks`` has the pieces a command-line run uses (progress bar, metrics log,
checkpoints, early stopping, curves, TensorBoard); ``config`` loads and validates run configs; ``run`` builds and
trains a run from one; ``cli.main`` is the ``ember`` command.
"""

from __future__ import annotations

from .callbacks import Checkpoint, CurvesPlot, EarlyStopping, EpochLine, MetricsLog, ProgressBar, TensorBoard
from .config import ConfigError, load_config
from .trainer import Callback, Trainer

__all__ = ["Callback", "Checkpoint", "ConfigError", "CurvesPlot", "EarlyStopping", "EpochLine", "MetricsLog",
           "ProgressBar", "TensorBoard", "Trainer", "load_config"]
