"""Pretrained weights without downloads: torchvision's weight names, resolved to local checkpoint files.

``weights=`` takes a ``WeightsEnum`` member (``ResNet18_Weights.DEFAULT``), its name as a string
(``"IMAGENET1K_V1"``, ``"DEFAULT"``) or the path of a checkpoint file. A member is looked up where torch
caches it (``$TORCH_HOME/hub/checkpoints/<file>``, TORCH_HOME defaulting to ``$XDG_CACHE_HOME/torch`` or
``~/.cache/torch``), so files fetched once by torchvision are found; ember itself never downloads.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from ... import nn
from ..._core.warn import warn
from ...serialization import load
from ..transforms._presets import ImageClassification

__all__ = ["Weights", "WeightsEnum", "checkpoint_dir"]

M = TypeVar("M", bound=nn.Module)


@dataclass(frozen=True)
class Weights:
    """One set of published weights: where torchvision downloads it from and what it was trained on."""

    url: str
    meta: dict[str, Any] = field(default_factory=dict)
    transforms: Callable[..., Any] | None = None   # builds the preprocessing the weights expect

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


class WeightsEnum(enum.Enum):
    """Base of ``ResNet18_Weights`` and friends: members wrap a ``Weights``; ``DEFAULT`` aliases the best."""

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """Turn a member name (``"IMAGENET1K_V1"``, ``"DEFAULT"`` or ``"ResNet18_Weights.DEFAULT"``) into a member."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            name = obj.replace(cls.__name__ + ".", "")
            if name in cls.__members__:
                return cls.__members__[name]
            raise ValueError(f"Failed to find Weights {obj} in {cls.__name__}. "
                             f"Try one of {', '.join(cls.__members__)}.")
        raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} "
                        f"but received {obj.__class__.__name__}.")

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta

    @property
    def file_name(self) -> str:
        return self.value.file_name

    @property
    def transforms(self) -> Callable[..., Any]:
        """``weights.transforms()`` builds the preprocessing these weights were trained with."""
        return self.value.transforms

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}.{self._name_}"

    def get_state_dict(self, progress: bool = True, check_hash: bool = False) -> dict[str, Any]:
        """The checkpoint from the local cache; a clear FileNotFoundError when it is not there."""
        path = os.path.join(checkpoint_dir(), self.file_name)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{self!r}: no checkpoint at {path}. ember does not download weights; fetch {self.url} "
                f"(for example with torchvision, or curl -o {path} {self.url}) or pass the file's path as "
                f"weights='/path/to/{self.file_name}'.")
        return _load_state_dict(path)


def imagenet(url: str, crop_size: int = 224, resize_size: int = 256, **preset: Any) -> Weights:
    """ImageNet-1K classification weights at ``url`` with their preprocessing preset."""
    return Weights(url, {"num_classes": 1000},
                   partial(ImageClassification, crop_size=crop_size, resize_size=resize_size, **preset))


def checkpoint_dir() -> str:
    """Where torch.hub caches checkpoints: ``$TORCH_HOME/hub/checkpoints``."""
    home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return os.path.join(os.path.expanduser(home), "hub", "checkpoints")


def _load_state_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    obj = load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]   # training checkpoints wrap the weights
    if not isinstance(obj, dict):
        raise TypeError(f"{os.fspath(path)} holds a {type(obj).__name__}, not a state_dict")
    return obj


def _resolve(enum_cls: type[WeightsEnum], weights: Any) -> WeightsEnum | str | os.PathLike[str] | None:
    """Resolve ``weights=``: None, a member, a member's name, or a checkpoint path."""
    if weights is None or isinstance(weights, enum_cls):
        return weights
    if isinstance(weights, WeightsEnum):
        return enum_cls.verify(weights)   # raises: another model's weights
    if isinstance(weights, str) and weights.replace(enum_cls.__name__ + ".", "") in enum_cls.__members__:
        return enum_cls.verify(weights)
    if isinstance(weights, (str, os.PathLike)):
        if not os.path.isfile(weights):
            raise FileNotFoundError(
                f"weights={os.fspath(weights)!r} is neither a {enum_cls.__name__} member "
                f"({', '.join(enum_cls.__members__)}) nor an existing checkpoint file")
        return weights
    raise TypeError(f"weights should be None, a {enum_cls.__name__}, its name or a checkpoint path; "
                    f"got {type(weights).__name__}")


def build(builder: Callable[..., M], enum_cls: type[WeightsEnum], weights: Any, kwargs: dict[str, Any],
          pretrained: Any = None, fixed: dict[str, Any] | None = None,
          remap: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> M:
    """Build a model and load its weights, following torchvision's builders.

    ``pretrained=True`` (deprecated in torchvision) means the legacy ``IMAGENET1K_V1`` weights. With
    weights, ``num_classes`` is set from them (an explicit different value raises, as in torchvision);
    ``fixed`` holds keyword overrides that weights imply (VGG skips its init); ``remap`` rewrites a loaded
    state_dict's legacy keys (DenseNet's ``norm.1`` for ``norm1``).
    """
    if pretrained is not None:
        warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed in the future, "
             "please use 'weights' instead.", stacklevel=3)
        if weights is not None:
            raise ValueError("pass either 'weights' or the deprecated 'pretrained', not both")
        weights = enum_cls.IMAGENET1K_V1 if pretrained else None   # type: ignore[attr-defined]
    resolved = _resolve(enum_cls, weights)
    if isinstance(resolved, WeightsEnum):
        classes = resolved.meta.get("num_classes")
        if classes is not None:
            if "num_classes" in kwargs and kwargs["num_classes"] != classes:
                raise ValueError(f"The parameter 'num_classes' expected value {classes} "
                                 f"but got {kwargs['num_classes']} instead.")
            kwargs["num_classes"] = classes
    if resolved is not None:
        kwargs.update(fixed or {})
    model = builder(**kwargs)
    if resolved is not None:
        state = resolved.get_state_dict() if isinstance(resolved, WeightsEnum) else _load_state_dict(resolved)
        model.load_state_dict(remap(state) if remap else state)
    return model
