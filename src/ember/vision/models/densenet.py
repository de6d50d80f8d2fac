"""DenseNet-121/161/169/201 (Huang et al. 2016) with torchvision's module tree, names, init order and weight files."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

from ... import nn
from ..._tensor import Tensor
from ...nn import functional as F
from ...ops.shape import cat
from ._api import WeightsEnum, build, imagenet

__all__ = ["DenseNet", "DenseNet121_Weights", "DenseNet161_Weights", "DenseNet169_Weights", "DenseNet201_Weights",
           "densenet121", "densenet161", "densenet169", "densenet201"]


class _DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (bottleneck to ``bn_size * growth_rate``) then BN-ReLU-3x3 conv to ``growth_rate`` maps."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int, drop_rate: float,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient   # torchvision's checkpointing switch; same values either way

    def forward(self, input: Tensor | list[Tensor]) -> Tensor:
        prev = [input] if isinstance(input, Tensor) else input
        new = self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(cat(prev, 1)))))))
        if self.drop_rate > 0:
            new = F.dropout(new, p=self.drop_rate, training=self.training)
        return new


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers, each fed the concatenation of the block input and all earlier outputs."""

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int, growth_rate: int, drop_rate: float,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(num_input_features + i * growth_rate, growth_rate,
                                                               bn_size, drop_rate, memory_efficient))

    def forward(self, init_features: Tensor) -> Tensor:
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return cat(features, 1)


class _Transition(nn.Sequential):
    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """Stem, dense blocks joined by halving transitions, a final BN, global average pool and ``classifier``."""

    def __init__(self, growth_rate: int = 32, block_config: tuple[int, int, int, int] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, drop_rate: float = 0, num_classes: int = 1000,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", _DenseBlock(num_layers, num_features, bn_size, growth_rate,
                                                                       drop_rate, memory_efficient))
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        out = F.adaptive_avg_pool2d(F.relu(self.features(x), inplace=True), (1, 1))
        return self.classifier(out.flatten(1))


_LEGACY_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var))$")


def _remap(state: dict[str, Any]) -> dict[str, Any]:
    """The published checkpoints name ``norm.1``/``conv.2`` what the modules call ``norm1``/``conv2``."""
    return {(m.group(1) + m.group(2) if (m := _LEGACY_KEY.match(k)) else k): v for k, v in state.items()}


def _weights(name: str, file: str) -> type[WeightsEnum]:
    w = imagenet("https://download.pytorch.org/models/" + file)
    return WeightsEnum(name, {"IMAGENET1K_V1": w, "DEFAULT": w}, module=__name__)   # type: ignore[call-overload]


DenseNet121_Weights = _weights("DenseNet121_Weights", "densenet121-a639ec97.pth")
DenseNet161_Weights = _weights("DenseNet161_Weights", "densenet161-8d451a50.pth")
DenseNet169_Weights = _weights("DenseNet169_Weights", "densenet169-b2777c0a.pth")
DenseNet201_Weights = _weights("DenseNet201_Weights", "densenet201-c1103571.pth")


def _densenet(growth_rate: int, block_config: tuple[int, int, int, int], num_init_features: int,
              enum_cls: type[WeightsEnum], weights: Any, pretrained: Any, kwargs: dict[str, Any]) -> DenseNet:
    return build(lambda **kw: DenseNet(growth_rate, block_config, num_init_features, **kw), enum_cls, weights,
                 kwargs, pretrained, remap=_remap)


def densenet121(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> DenseNet:
    """DenseNet-121. ``weights``: a ``DenseNet121_Weights``, its name, or a checkpoint path."""
    return _densenet(32, (6, 12, 24, 16), 64, DenseNet121_Weights, weights, pretrained, kwargs)


def densenet161(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> DenseNet:
    """DenseNet-161."""
    return _densenet(48, (6, 12, 36, 24), 96, DenseNet161_Weights, weights, pretrained, kwargs)


def densenet169(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> DenseNet:
    """DenseNet-169."""
    return _densenet(32, (6, 12, 32, 32), 64, DenseNet169_Weights, weights, pretrained, kwargs)


def densenet201(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> DenseNet:
    """DenseNet-201."""
    return _densenet(32, (6, 12, 48, 32), 64, DenseNet201_Weights, weights, pretrained, kwargs)
