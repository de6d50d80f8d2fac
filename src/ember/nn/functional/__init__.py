"""``torch.nn.functional``: activations, linear maps, dropout, embeddings, normalisation, padding,
distances and losses as functions."""

from __future__ import annotations

from ._activation import *  # noqa: F403
from ._activation import __all__ as _activation_all
from ._layers import *  # noqa: F403
from ._layers import __all__ as _layers_all
from ._loss import *  # noqa: F403
from ._loss import __all__ as _loss_all

__all__ = [*_activation_all, *_layers_all, *_loss_all]
