"""Every ``nn`` module class, re-exported by ``ember.nn``."""

from __future__ import annotations

from .activation import *  # noqa: F403
from .activation import __all__ as _activation
from .container import *  # noqa: F403
from .container import __all__ as _container
from .distance import *  # noqa: F403
from .distance import __all__ as _distance
from .dropout import *  # noqa: F403
from .dropout import __all__ as _dropout
from .flatten import *  # noqa: F403
from .flatten import __all__ as _flatten
from .lazy import LazyModuleMixin
from .linear import *  # noqa: F403
from .linear import __all__ as _linear
from .loss import *  # noqa: F403
from .loss import __all__ as _loss
from .module import Module
from .normalization import *  # noqa: F403
from .normalization import __all__ as _normalization
from .sparse import *  # noqa: F403
from .sparse import __all__ as _sparse

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
]
