"""Small models for the bundled data: the default run's CNN on 8x8 digits and an MLP for tabular data."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .._tensor import Tensor
from ..nn import functional as F

__all__ = ["DigitsCNN", "MLP"]


class DigitsCNN(nn.Module):
    """Two 3x3 conv blocks (BatchNorm, ReLU, 2x2 max pool) and a linear classifier: 8x8 → 2x2 features."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * width * 4, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.classifier(x)


class MLP(nn.Module):
    """Flatten, then Linear+ReLU per hidden width, then a Linear head (classes, or outputs for regression)."""

    def __init__(self, in_features: int, num_classes: int, hidden: Sequence[int] = (128,), dropout: float = 0.0
                 ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        for width in hidden:
            layers += [nn.Linear(in_features, width), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            in_features = width
        layers.append(nn.Linear(in_features, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
