"""LeNet-5 for 1x28x28 inputs (MNIST / upscaled Digits): two conv-ReLU-max-pool stages and a 3-layer head.

Not in torchvision; the modern reading of LeCun et al. 1998 (ReLU and max pooling instead of scaled tanh
and subsampling), with the first convolution padded so 28x28 inputs give the classic 16x5x5 features.
"""

from __future__ import annotations

from typing import Any

from ... import nn
from ..._tensor import Tensor
from ._api import _load_state_dict

__all__ = ["LeNet", "lenet"]


class LeNet(nn.Module):
    """``features`` (conv 6@5x5, pool, conv 16@5x5, pool) then ``classifier`` (400 → 120 → 84 → classes)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(inplace=True),
            nn.Linear(120, 84), nn.ReLU(inplace=True),
            nn.Linear(84, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))


def lenet(*, weights: Any = None, **kwargs: Any) -> LeNet:
    """LeNet-5; ``weights`` is a checkpoint path (there are no published weights to name)."""
    model = LeNet(**kwargs)
    if weights is not None:
        model.load_state_dict(_load_state_dict(weights))
    return model
