"""ShuffleNet V2 x0.5/x1.0/x1.5/x2.0 (Ma et al. 2018) with torchvision's module tree, names and weight files."""

from __future__ import annotations

from typing import Any

from ... import nn
from ..._tensor import Tensor
from ...ops.shape import cat
from ._api import WeightsEnum, build, imagenet

__all__ = ["ShuffleNetV2", "ShuffleNet_V2_X0_5_Weights", "ShuffleNet_V2_X1_0_Weights", "ShuffleNet_V2_X1_5_Weights",
           "ShuffleNet_V2_X2_0_Weights", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
           "shufflenet_v2_x2_0"]


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` equal channel groups."""
    b, c, h, w = x.size()
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)


def _depthwise(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride, 1, bias=False, groups=channels)


class InvertedResidual(nn.Module):
    """Split (stride 1) or duplicate (stride > 1) the input, transform one half or both, concatenate, shuffle."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        if not 1 <= stride <= 3:
            raise ValueError("illegal stride value")
        self.stride = stride
        branch = oup // 2
        if stride == 1 and inp != branch << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} values. "
                             "If stride == 1 then inp should be equal to oup // 2 << 1.")
        if stride > 1:
            self.branch1 = nn.Sequential(_depthwise(inp, stride), nn.BatchNorm2d(inp),
                                         nn.Conv2d(inp, branch, 1, 1, 0, bias=False), nn.BatchNorm2d(branch),
                                         nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch, branch, 1, 1, 0, bias=False), nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True), _depthwise(branch, stride), nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, 1, 0, bias=False), nn.BatchNorm2d(branch), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = cat((x1, self.branch2(x2)), 1)
        else:
            out = cat((self.branch1(x), self.branch2(x)), 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """``conv1``, ``maxpool``, ``stage2``-``stage4`` of inverted residuals, ``conv5``, global mean, ``fc``."""

    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int], num_classes: int = 1000,
                 inverted_residual: type[nn.Module] = InvertedResidual) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        channels = stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels),
                                   nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.stage2: nn.Sequential
        self.stage3: nn.Sequential
        self.stage4: nn.Sequential
        for i, (repeats, out) in enumerate(zip(stages_repeats, stages_out_channels[1:4], strict=True)):
            layers = [inverted_residual(channels, out, 2)]
            layers += [inverted_residual(out, out, 1) for _ in range(repeats - 1)]
            setattr(self, f"stage{i + 2}", nn.Sequential(*layers))
            channels = out
        out = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(channels, out, 1, 1, 0, bias=False), nn.BatchNorm2d(out),
                                   nn.ReLU(inplace=True))
        self.fc = nn.Linear(out, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv5(self.stage4(self.stage3(self.stage2(self.maxpool(self.conv1(x))))))
        return self.fc(x.mean([2, 3]))


def _weights(name: str, file: str, resize_size: int = 256) -> type[WeightsEnum]:
    w = imagenet("https://download.pytorch.org/models/" + file, resize_size=resize_size)
    return WeightsEnum(name, {"IMAGENET1K_V1": w, "DEFAULT": w}, module=__name__)   # type: ignore[call-overload]


ShuffleNet_V2_X0_5_Weights = _weights("ShuffleNet_V2_X0_5_Weights", "shufflenetv2_x0.5-f707e7126e.pth")
ShuffleNet_V2_X1_0_Weights = _weights("ShuffleNet_V2_X1_0_Weights", "shufflenetv2_x1-5666bf0f80.pth")
ShuffleNet_V2_X1_5_Weights = _weights("ShuffleNet_V2_X1_5_Weights", "shufflenetv2_x1_5-3c479a10.pth", 232)
ShuffleNet_V2_X2_0_Weights = _weights("ShuffleNet_V2_X2_0_Weights", "shufflenetv2_x2_0-8be3c8ee.pth", 232)


def _shufflenet(channels: list[int], enum_cls: type[WeightsEnum], weights: Any, pretrained: Any,
                kwargs: dict[str, Any]) -> ShuffleNetV2:
    return build(lambda **kw: ShuffleNetV2([4, 8, 4], channels, **kw), enum_cls, weights, kwargs, pretrained)


def shufflenet_v2_x0_5(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet V2 with 0.5x output channels."""
    return _shufflenet([24, 48, 96, 192, 1024], ShuffleNet_V2_X0_5_Weights, weights, pretrained, kwargs)


def shufflenet_v2_x1_0(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet V2 with 1.0x output channels."""
    return _shufflenet([24, 116, 232, 464, 1024], ShuffleNet_V2_X1_0_Weights, weights, pretrained, kwargs)


def shufflenet_v2_x1_5(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet V2 with 1.5x output channels."""
    return _shufflenet([24, 176, 352, 704, 1024], ShuffleNet_V2_X1_5_Weights, weights, pretrained, kwargs)


def shufflenet_v2_x2_0(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet V2 with 2.0x output channels."""
    return _shufflenet([24, 244, 488, 976, 2048], ShuffleNet_V2_X2_0_Weights, weights, pretrained, kwargs)
