"""The preprocessing that published classification weights expect (``weights.transforms()``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import nn
from ..._core import dtype as D
from ..._tensor import Tensor
from . import functional as F
from .functional import InterpolationMode

__all__ = ["ImageClassification"]


class ImageClassification(nn.Module):
    """Resize the smaller edge to ``resize_size``, centre-crop ``crop_size``, scale to [0, 1], normalise."""

    def __init__(self, *, crop_size: int, resize_size: int = 256,
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 interpolation: InterpolationMode = InterpolationMode.BILINEAR, antialias: bool | None = True) -> None:
        super().__init__()
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img: Any) -> Tensor:
        img = F.resize(img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        if not isinstance(img, Tensor):
            img = F.pil_to_tensor(img)
        return F.normalize(F.convert_image_dtype(img, D.float32), mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        fields = [f"crop_size={self.crop_size}", f"resize_size={self.resize_size}", f"mean={self.mean}",
                  f"std={self.std}", f"interpolation={self.interpolation}"]
        return self.__class__.__name__ + "(" + "".join(f"\n    {f}" for f in fields) + "\n)"
