"""VGG-11/13/16/19 (with and without batch norm), torchvision's layout: ``features``, ``avgpool``, ``classifier``."""

from __future__ import annotations

from typing import Any

from ... import nn
from ..._tensor import Tensor
from ._api import WeightsEnum, build, imagenet

__all__ = ["VGG", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights",
           "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn", "make_layers"]

_URL = "https://download.pytorch.org/models/"
cfgs: dict[str, list[str | int]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """Convolutional ``features``, a 7x7 adaptive average pool and a three-layer ``classifier``."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def make_layers(cfg: list[str | int], batch_norm: bool = False) -> nn.Sequential:
    """3x3 convolutions (+ BN) + ReLU per int in ``cfg``, a 2x2 max pool per ``"M"``."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv = nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(int(v)), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
        in_channels = int(v)
    return nn.Sequential(*layers)


def _weights(name: str, file: str) -> type[WeightsEnum]:
    w = imagenet(_URL + file)
    return WeightsEnum(name, {"IMAGENET1K_V1": w, "DEFAULT": w}, module=__name__)   # type: ignore[call-overload]


VGG11_Weights = _weights("VGG11_Weights", "vgg11-8a719046.pth")
VGG11_BN_Weights = _weights("VGG11_BN_Weights", "vgg11_bn-6002323d.pth")
VGG13_Weights = _weights("VGG13_Weights", "vgg13-19584684.pth")
VGG13_BN_Weights = _weights("VGG13_BN_Weights", "vgg13_bn-abd245e5.pth")
VGG16_Weights = _weights("VGG16_Weights", "vgg16-397923af.pth")
VGG16_BN_Weights = _weights("VGG16_BN_Weights", "vgg16_bn-6c64b313.pth")
VGG19_Weights = _weights("VGG19_Weights", "vgg19-dcbb9e9d.pth")
VGG19_BN_Weights = _weights("VGG19_BN_Weights", "vgg19_bn-c79401a0.pth")


def _vgg(cfg: str, batch_norm: bool, enum_cls: type[WeightsEnum], weights: Any, pretrained: Any,
         kwargs: dict[str, Any]) -> VGG:
    return build(lambda **kw: VGG(make_layers(cfgs[cfg], batch_norm), **kw), enum_cls, weights, kwargs, pretrained,
                 fixed={"init_weights": False})


def vgg11(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> VGG:
    """VGG-11 (configuration A)."""
    return _vgg("A", False, VGG11_Weights, weights, pretrained, kwargs)


def vgg11_bn(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> VGG:
    """VGG-11 with batch normalisation."""
    return _vgg("A", True, VGG11_BN_Weights, weights, pretrained, kwargs)


def vgg13(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> VGG:
    """VGG-13 (configuration B)."""
    return _vgg("B", False, VGG13_Weights, weights, pretrained, kwargs)


def vgg13_bn(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> VGG:
    """VGG-13 with batch normalisation."""
    return _vgg("B", True, VGG13_BN_Weights, weights, pretrained, kwargs)


def vgg16(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> VGG:
    """VGG-16 (configuration D)."""
    return _vgg("D", False, VGG16_Weights, weights, pretrained, kwargs)


def vgg16_bn(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> VGG:
    """VGG-16 with batch normalisation."""
    return _vgg("D", True, VGG16_BN_Weights, weights, pretrained, kwargs)


def vgg19(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> VGG:
    """VGG-19 (configuration E)."""
    return _vgg("E", False, VGG19_Weights, weights, pretrained, kwargs)


def vgg19_bn(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> VGG:
    """VGG-19 with batch normalisation."""
    return _vgg("E", True, VGG19_BN_Weights, weights, pretrained, kwargs)
