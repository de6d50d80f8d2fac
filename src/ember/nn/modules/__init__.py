"""Every ``nn`` module class, re-exported by ``ember.nn``."""

from __future__ import annotations

from .activation import *  # noqa: F403
from .activation import __all__ as _activation
from .adaptive import *  # noqa: F403
from .adaptive import __all__ as _adaptive
from .batchnorm import *  # noqa: F403
from .batchnorm import __all__ as _batchnorm
from .channelshuffle import *  # noqa: F403
from .channelshuffle import __all__ as _channelshuffle
from .container import *  # noqa: F403
from .container import __all__ as _container
from .conv import *  # noqa: F403
from .conv import __all__ as _conv
from .distance import *  # noqa: F403
from .distance import __all__ as _distance
from .dropout import *  # noqa: F403
from .dropout import __all__ as _dropout
from .flatten import *  # noqa: F403
from .flatten import __all__ as _flatten
from .fold import *  # noqa: F403
from .fold import __all__ as _fold
from .instancenorm import *  # noqa: F403
from .instancenorm import __all__ as _instancenorm
from .lazy import LazyModuleMixin
from .linear import *  # noqa: F403
from .linear import __all__ as _linear
from .linear_cross_entropy_options import *  # noqa: F403
from .linear_cross_entropy_options import __all__ as _linear_cross_entropy_options
from .loss import *  # noqa: F403
from .loss import __all__ as _loss
from .module import Module
from .normalization import *  # noqa: F403
from .normalization import __all__ as _normalization
from .padding import *  # noqa: F403
from .padding import __all__ as _padding
from .pixelshuffle import *  # noqa: F403
from .pixelshuffle import __all__ as _pixelshuffle
from .pooling import *  # noqa: F403
from .pooling import __all__ as _pooling
from .rnn import *  # noqa: F403
from .rnn import __all__ as _rnn
from .sparse import *  # noqa: F403
from .sparse import __all__ as _sparse
from .transformer import *  # noqa: F403
from .transformer import __all__ as _transformer
from .upsampling import *  # noqa: F403
from .upsampling import __all__ as _upsampling

__all__ = [
    "Module",
    "LazyModuleMixin",
    *_activation,
    *_container,
    *_distance,
    *_dropout,
    *_flatten,
    *_linear,
    *_loss,
    *_normalization,
    *_sparse,
    *_batchnorm,
    *_conv,
    *_instancenorm,
    *_padding,
    *_pixelshuffle,
    *_pooling,
    *_rnn,
    *_transformer,
    *_upsampling,
    *_fold,
    *_channelshuffle,
    *_adaptive,
    *_linear_cross_entropy_options,
]
