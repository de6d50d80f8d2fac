"""AlexNet (the one-weird-trick variant torchvision ships)."""

from __future__ import annotations

from typing import Any

from ... import nn
from ..._tensor import Tensor
from ._api import WeightsEnum, build, imagenet

__all__ = ["AlexNet", "AlexNet_Weights", "alexnet"]


class AlexNet(nn.Module):
    """Five convolutions with three max pools, a 6x6 adaptive average pool and a dropout MLP head."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


_W = imagenet("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth")
AlexNet_Weights = WeightsEnum("AlexNet_Weights", {"IMAGENET1K_V1": _W, "DEFAULT": _W},  # type: ignore[call-overload]
                              module=__name__)


def alexnet(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> AlexNet:
    """AlexNet. ``weights``: an ``AlexNet_Weights``, its name, or a checkpoint path."""
    return build(AlexNet, AlexNet_Weights, weights, kwargs, pretrained)
