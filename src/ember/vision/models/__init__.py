"""``torchvision.models``: classification networks with torchvision's structure, names and weight files."""

from __future__ import annotations

from ._api import Weights, WeightsEnum, checkpoint_dir
from ._registry import get_model, get_model_builder, get_model_weights, get_weight, list_models
from .alexnet import *  # noqa: F403
from .alexnet import __all__ as _alexnet
from .densenet import *  # noqa: F403
from .densenet import __all__ as _densenet
from .efficientnet import *  # noqa: F403
from .efficientnet import __all__ as _efficientnet
from .lenet import *  # noqa: F403
from .lenet import __all__ as _lenet
from .mobilenetv2 import *  # noqa: F403
from .mobilenetv2 import __all__ as _mobilenetv2
from .resnet import *  # noqa: F403
from .resnet import __all__ as _resnet
from .shufflenetv2 import *  # noqa: F403
from .shufflenetv2 import __all__ as _shufflenetv2
from .squeezenet import *  # noqa: F403
from .squeezenet import __all__ as _squeezenet
from .vgg import *  # noqa: F403
from .vgg import __all__ as _vgg

__all__ = ["Weights", "WeightsEnum", "checkpoint_dir", "get_model", "get_model_builder", "get_model_weights",
           "get_weight", "list_models", *_alexnet, *_densenet, *_efficientnet, *_lenet,
           *_mobilenetv2, *_resnet, *_shufflenetv2, *_squeezenet, *_vgg]
