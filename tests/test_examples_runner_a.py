"""Regressions found running pytorch/examples programs (gat, imagenet, mnist_hogwild, legacy, fast_neural_style)
under ember. Facts recorded from torchvision 0.29.1 with torch 2.13 (torchvision is not installed here)."""

from __future__ import annotations

import hashlib

import pytest

import ember
from ember.vision import models


def _digest(module: ember.nn.Module) -> str:
    h = hashlib.sha1()
    for v in module.state_dict().values():
        h.update(v.detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _n_params(module: ember.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_imagenet_example_architectures_exist() -> None:
    """imagenet/main.py offers every lowercase callable of torchvision.models as ``-a``."""
    for name in ["resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
                 "squeezenet1_0", "vgg13", "vgg13_bn", "vgg19", "vgg19_bn", "densenet121", "densenet161",
                 "densenet169", "densenet201", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
                 "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]:
        assert callable(models.__dict__[name]) and name in models.list_models()


def test_resnext_and_wide_resnet_match_torchvision() -> None:
    ember.manual_seed(0)
    m = models.resnext50_32x4d(num_classes=10)
    assert (_digest(m), _n_params(m), tuple(m.layer1[0].conv2.weight.shape)) == (
        "c015b90cd2139385", 23000394, (128, 4, 3, 3))
    assert models.get_model_weights("resnext101_64x4d").DEFAULT.url.endswith("resnext101_64x4d-173b62eb.pth")
    assert models.ResNeXt101_64X4D_Weights.IMAGENET1K_V1.transforms().resize_size == [232]
    assert models.Wide_ResNet50_2_Weights.DEFAULT.url.endswith("wide_resnet50_2-9ba9bcbe.pth")
    with pytest.raises(ValueError, match="The parameter 'groups' expected value 32 but got 3 instead."):
        models.resnext50_32x4d(groups=3)


def test_squeezenet1_0_and_vgg13_19_match_torchvision() -> None:
    ember.manual_seed(0)
    assert _digest(models.squeezenet1_0(num_classes=10)) == "1f5dea9070a6b8df"
    for cfg, bn, length, n in [("B", True, 35, 9410880), ("E", False, 37, 20024384)]:
        features = models.vgg.make_layers(models.vgg.cfgs[cfg], bn)
        assert (len(features), _n_params(features)) == (length, n)
    assert models.VGG19_BN_Weights.DEFAULT.url.endswith("vgg19_bn-c79401a0.pth")


def test_densenet121_matches_torchvision(tmp_path) -> None:
    ember.manual_seed(0)
    m = models.densenet121(num_classes=10)
    assert (_digest(m), _n_params(m), len(m.state_dict())) == ("1309fa75e945357c", 6964106, 727)
    ember.manual_seed(0)
    x = ember.randn(1, 3, 32, 32, dtype=ember.float64)
    logits = m.double().eval()(x)[0, :3].tolist()
    assert logits == pytest.approx([-0.4270163614233, 0.17597645459590933, -0.5422497809317294], rel=1e-12)
    # the published checkpoints (older than num_batches_tracked) name the dense layers' modules norm.1 / conv.2
    legacy = {k.replace("norm1", "norm.1").replace("conv2", "conv.2"): v for k, v in m.state_dict().items()
              if not k.endswith("num_batches_tracked")}
    ember.save(legacy, tmp_path / "densenet.pth")
    loaded = models.densenet121(weights=str(tmp_path / "densenet.pth"), num_classes=10).double()
    assert _digest(loaded) == _digest(m)
    assert models.DenseNet201_Weights.DEFAULT.url.endswith("densenet201-c1103571.pth")


def test_shufflenet_v2_matches_torchvision() -> None:
    ember.manual_seed(0)
    m = models.shufflenet_v2_x0_5(num_classes=10)
    assert (_digest(m), len(m.state_dict())) == ("10278701ea8723d6", 338)
    assert tuple(m(ember.randn(2, 3, 32, 32)).shape) == (2, 10)
    with pytest.raises(ValueError, match="expected stages_repeats as list of 3 positive ints"):
        models.ShuffleNetV2([4, 8], [1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match=r"Invalid combination of stride 1, inp 10 and oup 24 values. If stride == 1 "
                                         r"then inp should be equal to oup // 2 << 1."):
        models.shufflenetv2.InvertedResidual(10, 24, 1)
    assert models.ShuffleNet_V2_X2_0_Weights.DEFAULT.transforms().resize_size == [232]
