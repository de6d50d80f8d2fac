"""SqueezeNet 1.0 and 1.1: Fire modules (squeeze 1x1, expand 1x1 + 3x3) and a convolutional classifier."""

from __future__ import annotations

from typing import Any

from ... import nn
from ..._tensor import Tensor
from ...ops.shape import cat
from ._api import WeightsEnum, build, imagenet

__all__ = ["SqueezeNet", "Fire", "SqueezeNet1_0_Weights", "SqueezeNet1_1_Weights", "squeezenet1_0", "squeezenet1_1"]


class Fire(nn.Module):
    """Squeeze to few channels, then expand with 1x1 and 3x3 convolutions side by side."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return cat([self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet; ``version`` "1_0" or "1_1" (the smaller, faster one)."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                pool(), Fire(512, 64, 256, 256))
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x)).flatten(1)


def _weights(name: str, file: str) -> type[WeightsEnum]:
    w = imagenet("https://download.pytorch.org/models/" + file)
    return WeightsEnum(name, {"IMAGENET1K_V1": w, "DEFAULT": w}, module=__name__)   # type: ignore[call-overload]


SqueezeNet1_0_Weights = _weights("SqueezeNet1_0_Weights", "squeezenet1_0-b66bff10.pth")
SqueezeNet1_1_Weights = _weights("SqueezeNet1_1_Weights", "squeezenet1_1-b8a52dc0.pth")


def squeezenet1_0(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                  **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.0 (Iandola et al. 2016). ``weights``: a ``SqueezeNet1_0_Weights``, its name, or a path."""
    return build(lambda **kw: SqueezeNet("1_0", **kw), SqueezeNet1_0_Weights, weights, kwargs, pretrained)


def squeezenet1_1(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                  **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.1. ``weights``: a ``SqueezeNet1_1_Weights``, its name, or a checkpoint path."""
    return build(lambda **kw: SqueezeNet("1_1", **kw), SqueezeNet1_1_Weights, weights, kwargs, pretrained)
