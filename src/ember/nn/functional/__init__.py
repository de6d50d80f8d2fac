"""``torch.nn.functional``: activations, linear maps, dropout, embeddings, normalisation, padding,
distances and losses as functions."""

from __future__ import annotations

from ._activation import *  # noqa: F403
from ._activation import __all__ as _activation_all
from ._attention import *  # noqa: F403
from ._attention import __all__ as _attention_all
from ._conv import *  # noqa: F403
from ._conv import __all__ as _conv_all
from ._extra_losses import *  # noqa: F403
from ._extra_losses import __all__ as _extra_losses_all
from ._layers import *  # noqa: F403
from ._layers import __all__ as _layers_all
from ._linear_cross_entropy import *  # noqa: F403
from ._linear_cross_entropy import __all__ as _linear_cross_entropy_all
from ._loss import *  # noqa: F403
from ._loss import __all__ as _loss_all
from ._normalization import *  # noqa: F403
from ._normalization import __all__ as _normalization_all
from ._pooling import *  # noqa: F403
from ._pooling import __all__ as _pooling_all

__all__ = [*_activation_all, *_layers_all, *_loss_all, *_attention_all, *_conv_all, *_normalization_all, *_pooling_all,
           *_extra_losses_all, *_linear_cross_entropy_all]

from .. import grad as grad  # noqa: E402  (torch.nn.functional.grad is the torch.nn.grad module)
