"""ResNet-18..152, ResNeXt, Wide ResNet: torchvision's module tree, parameter names, init order, weight files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import nn
from ..._tensor import Tensor
from ._api import Weights, WeightsEnum, build, imagenet

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights",
           "ResNet101_Weights", "ResNet152_Weights", "ResNeXt50_32X4D_Weights", "ResNeXt101_32X8D_Weights",
           "ResNeXt101_64X4D_Weights", "Wide_ResNet50_2_Weights", "Wide_ResNet101_2_Weights", "resnet18", "resnet34",
           "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
           "wide_resnet50_2", "wide_resnet101_2"]

_URL = "https://download.pytorch.org/models/"


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution, padded to keep the size, no bias (a norm layer follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut (ResNet-18/34)."""

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (stride here, as torchvision's V1.5), 1x1 expand, and a shortcut (ResNet-50+)."""

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class ResNet(nn.Module):
    """Stem (7x7 conv, BN, ReLU, max pool), four stages of residual blocks, global average pool, ``fc``."""

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 replace_stride_with_dilation: list[bool] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self._norm_layer = norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None "
                             f"or a 3-element tuple, got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:   # each block starts as the identity
            for m in self.modules():
                last = m.bn3 if isinstance(m, Bottleneck) else m.bn2 if isinstance(m, BasicBlock) else None
                if last is not None and last.weight is not None:
                    nn.init.constant_(last.weight, 0)

    def _make_layer(self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                        norm_layer)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                         dilation=self.dilation, norm_layer=norm_layer) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _weights(name: str, v1: str, v2: str | None = None, v1_resize: int = 256) -> type[WeightsEnum]:
    members: dict[str, Weights] = {"IMAGENET1K_V1": imagenet(_URL + v1, resize_size=v1_resize)}
    if v2:
        members["IMAGENET1K_V2"] = imagenet(_URL + v2, resize_size=232)
    members["DEFAULT"] = members["IMAGENET1K_V2" if v2 else "IMAGENET1K_V1"]
    cls = WeightsEnum(name, members, module=__name__)   # type: ignore[call-overload]
    return cls


ResNet18_Weights = _weights("ResNet18_Weights", "resnet18-f37072fd.pth")
ResNet34_Weights = _weights("ResNet34_Weights", "resnet34-b627a593.pth")
ResNet50_Weights = _weights("ResNet50_Weights", "resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth")
ResNet101_Weights = _weights("ResNet101_Weights", "resnet101-63fe2227.pth", "resnet101-cd907fc2.pth")
ResNet152_Weights = _weights("ResNet152_Weights", "resnet152-394f9c45.pth", "resnet152-f82ba261.pth")
ResNeXt50_32X4D_Weights = _weights("ResNeXt50_32X4D_Weights", "resnext50_32x4d-7cdf4587.pth",
                                   "resnext50_32x4d-1a0047aa.pth")
ResNeXt101_32X8D_Weights = _weights("ResNeXt101_32X8D_Weights", "resnext101_32x8d-8ba56ff5.pth",
                                    "resnext101_32x8d-110c445d.pth")
ResNeXt101_64X4D_Weights = _weights("ResNeXt101_64X4D_Weights", "resnext101_64x4d-173b62eb.pth", v1_resize=232)
Wide_ResNet50_2_Weights = _weights("Wide_ResNet50_2_Weights", "wide_resnet50_2-95faca4d.pth",
                                   "wide_resnet50_2-9ba9bcbe.pth")
Wide_ResNet101_2_Weights = _weights("Wide_ResNet101_2_Weights", "wide_resnet101_2-32ee1156.pth",
                                    "wide_resnet101_2-d733dc28.pth")


def _resnet(block: type[BasicBlock | Bottleneck], layers: list[int], enum_cls: type[WeightsEnum], weights: Any,
            pretrained: Any, kwargs: dict[str, Any], **fixed: int) -> ResNet:
    """Build through ``build``; ``fixed`` (``groups``, ``width_per_group``) are the variant's own: a different
    explicit value raises, as torchvision's."""
    for name, value in fixed.items():
        if kwargs.setdefault(name, value) != value:
            raise ValueError(f"The parameter '{name}' expected value {value} but got {kwargs[name]} instead.")
    return build(lambda **kw: ResNet(block, layers, **kw), enum_cls, weights, kwargs, pretrained)


def resnet18(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-18 (He et al. 2015). ``weights``: a ``ResNet18_Weights``, its name, or a checkpoint path."""
    return _resnet(BasicBlock, [2, 2, 2, 2], ResNet18_Weights, weights, pretrained, kwargs)


def resnet34(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-34. ``weights``: a ``ResNet34_Weights``, its name, or a checkpoint path."""
    return _resnet(BasicBlock, [3, 4, 6, 3], ResNet34_Weights, weights, pretrained, kwargs)


def resnet50(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-50. ``weights``: a ``ResNet50_Weights``, its name, or a checkpoint path."""
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNet50_Weights, weights, pretrained, kwargs)


def resnet101(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-101. ``weights``: a ``ResNet101_Weights``, its name, or a checkpoint path."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNet101_Weights, weights, pretrained, kwargs)


def resnet152(*, weights: Any = None, progress: bool = True, pretrained: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-152. ``weights``: a ``ResNet152_Weights``, its name, or a checkpoint path."""
    return _resnet(Bottleneck, [3, 8, 36, 3], ResNet152_Weights, weights, pretrained, kwargs)


def resnext50_32x4d(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                    **kwargs: Any) -> ResNet:
    """ResNeXt-50 32x4d (Xie et al. 2016): ResNet-50 with 32 groups of width 4 in its 3x3 convolutions."""
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNeXt50_32X4D_Weights, weights, pretrained, kwargs,
                   groups=32, width_per_group=4)


def resnext101_32x8d(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                     **kwargs: Any) -> ResNet:
    """ResNeXt-101 32x8d."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNeXt101_32X8D_Weights, weights, pretrained, kwargs,
                   groups=32, width_per_group=8)


def resnext101_64x4d(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                     **kwargs: Any) -> ResNet:
    """ResNeXt-101 64x4d."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNeXt101_64X4D_Weights, weights, pretrained, kwargs,
                   groups=64, width_per_group=4)


def wide_resnet50_2(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                    **kwargs: Any) -> ResNet:
    """Wide ResNet-50-2 (Zagoruyko & Komodakis 2016): bottlenecks twice as wide as ResNet-50's."""
    return _resnet(Bottleneck, [3, 4, 6, 3], Wide_ResNet50_2_Weights, weights, pretrained, kwargs,
                   width_per_group=128)


def wide_resnet101_2(*, weights: Any = None, progress: bool = True, pretrained: Any = None,
                     **kwargs: Any) -> ResNet:
    """Wide ResNet-101-2."""
    return _resnet(Bottleneck, [3, 4, 23, 3], Wide_ResNet101_2_Weights, weights, pretrained, kwargs,
                   width_per_group=128)
