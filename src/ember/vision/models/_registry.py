"""Models by name, as torchvision's ``list_models`` / ``get_model`` / ``get_model_weights`` / ``get_weight``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import nn
from . import alexnet, densenet, efficientnet, lenet, mobilenetv2, resnet, shufflenetv2, squeezenet, vgg
from ._api import WeightsEnum

__all__ = ["list_models", "get_model", "get_model_builder", "get_model_weights", "get_weight"]

_BUILDERS: dict[str, tuple[Callable[..., nn.Module], type[WeightsEnum] | None]] = {
    "alexnet": (alexnet.alexnet, alexnet.AlexNet_Weights),
    "densenet121": (densenet.densenet121, densenet.DenseNet121_Weights),
    "densenet161": (densenet.densenet161, densenet.DenseNet161_Weights),
    "densenet169": (densenet.densenet169, densenet.DenseNet169_Weights),
    "densenet201": (densenet.densenet201, densenet.DenseNet201_Weights),
    "efficientnet_b0": (efficientnet.efficientnet_b0, efficientnet.EfficientNet_B0_Weights),
    "lenet": (lenet.lenet, None),
    "mobilenet_v2": (mobilenetv2.mobilenet_v2, mobilenetv2.MobileNet_V2_Weights),
    "resnet18": (resnet.resnet18, resnet.ResNet18_Weights),
    "resnet34": (resnet.resnet34, resnet.ResNet34_Weights),
    "resnet50": (resnet.resnet50, resnet.ResNet50_Weights),
    "resnet101": (resnet.resnet101, resnet.ResNet101_Weights),
    "resnet152": (resnet.resnet152, resnet.ResNet152_Weights),
    "resnext50_32x4d": (resnet.resnext50_32x4d, resnet.ResNeXt50_32X4D_Weights),
    "resnext101_32x8d": (resnet.resnext101_32x8d, resnet.ResNeXt101_32X8D_Weights),
    "resnext101_64x4d": (resnet.resnext101_64x4d, resnet.ResNeXt101_64X4D_Weights),
    "wide_resnet50_2": (resnet.wide_resnet50_2, resnet.Wide_ResNet50_2_Weights),
    "wide_resnet101_2": (resnet.wide_resnet101_2, resnet.Wide_ResNet101_2_Weights),
    "shufflenet_v2_x0_5": (shufflenetv2.shufflenet_v2_x0_5, shufflenetv2.ShuffleNet_V2_X0_5_Weights),
    "shufflenet_v2_x1_0": (shufflenetv2.shufflenet_v2_x1_0, shufflenetv2.ShuffleNet_V2_X1_0_Weights),
    "shufflenet_v2_x1_5": (shufflenetv2.shufflenet_v2_x1_5, shufflenetv2.ShuffleNet_V2_X1_5_Weights),
    "shufflenet_v2_x2_0": (shufflenetv2.shufflenet_v2_x2_0, shufflenetv2.ShuffleNet_V2_X2_0_Weights),
    "squeezenet1_0": (squeezenet.squeezenet1_0, squeezenet.SqueezeNet1_0_Weights),
    "squeezenet1_1": (squeezenet.squeezenet1_1, squeezenet.SqueezeNet1_1_Weights),
    "vgg11": (vgg.vgg11, vgg.VGG11_Weights),
    "vgg11_bn": (vgg.vgg11_bn, vgg.VGG11_BN_Weights),
    "vgg16": (vgg.vgg16, vgg.VGG16_Weights),
    "vgg13": (vgg.vgg13, vgg.VGG13_Weights),
    "vgg13_bn": (vgg.vgg13_bn, vgg.VGG13_BN_Weights),
    "vgg16_bn": (vgg.vgg16_bn, vgg.VGG16_BN_Weights),
    "vgg19": (vgg.vgg19, vgg.VGG19_Weights),
    "vgg19_bn": (vgg.vgg19_bn, vgg.VGG19_BN_Weights),
}


def list_models(module: Any = None, include: str | list[str] | None = None,
                exclude: str | list[str] | None = None) -> list[str]:
    """Sorted model names, filtered by Unix-style patterns (``include="resnet*"``)."""
    import fnmatch

    names = sorted(_BUILDERS)
    if include:
        pats = [include] if isinstance(include, str) else include
        names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in pats)]
    if exclude:
        pats = [exclude] if isinstance(exclude, str) else exclude
        names = [n for n in names if not any(fnmatch.fnmatch(n, p) for p in pats)]
    return names


def get_model_builder(name: str) -> Callable[..., nn.Module]:
    name = name.lower()
    if name not in _BUILDERS:
        raise ValueError(f"Unknown model {name}")
    return _BUILDERS[name][0]


def get_model(name: str, **config: Any) -> nn.Module:
    """Build the model called ``name`` with keyword ``config`` (``weights=``, ``num_classes=`` ...)."""
    return get_model_builder(name)(**config)


def get_model_weights(name: str | Callable[..., nn.Module]) -> type[WeightsEnum]:
    """The weights enum of a model, given its name or builder."""
    for key, (builder, weights) in _BUILDERS.items():
        if name == key or name is builder:
            if weights is None:
                raise ValueError(f"The model {key} has no published weights")
            return weights
    raise ValueError(f"Unknown model {name}")


def get_weight(name: str) -> WeightsEnum:
    """A weights member from its full name, e.g. ``"ResNet50_Weights.IMAGENET1K_V2"``."""
    enum_name, _, value = name.partition(".")
    for _, weights in _BUILDERS.values():
        if weights is not None and weights.__name__ == enum_name:
            return weights.verify(value)
    raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be retrieved.")
