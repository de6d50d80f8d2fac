"""``torch.utils.tensorboard``: write TensorBoard event files (scalars, histograms, images, text, hparams, PR
curves, embeddings) with no dependency on the ``tensorboard`` or ``protobuf`` packages."""

from __future__ import annotations

from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
