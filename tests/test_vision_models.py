"""ember.vision.models against torchvision (facts recorded by tests/data/vision/make_fixtures.py).

Same module tree, state_dict keys, shapes, dtypes and reprs; bit-identical initial weights under
``manual_seed(0)``; ResNet-18 loads a checkpoint written by real torch and gives torchvision's logits.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import ember
import ember.nn as nn
from ember.vision import models

DATA = Path(__file__).parent / "data" / "vision"
FACTS = json.loads(gzip.open(DATA / "models.json.gz", "rt").read())
SLOW = {"resnet34", "resnet50", "resnet101", "resnet152", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "alexnet"}


def _build(name: str) -> nn.Module:
    base, _, tag = name.partition("@")
    kwargs: dict[str, Any] = {"10": {"num_classes": 10}, "zero_init": {"zero_init_residual": True, "num_classes": 7},
                              "": {}}[tag]
    ember.manual_seed(0)
    return getattr(models, base)(**kwargs)


def _digest(t: ember.Tensor) -> str:
    return hashlib.sha1(t.detach().contiguous().numpy().tobytes()).hexdigest()[:16]


def _check_against_torchvision(name: str, model: nn.Module) -> None:
    facts = FACTS["models"][name]
    sd = model.state_dict()
    assert list(sd) == facts["keys"]
    assert [list(v.shape) for v in sd.values()] == facts["shapes"]
    assert [str(v.dtype) for v in sd.values()] == facts["dtypes"]
    wrong = [k for k, v, h in zip(facts["keys"], sd.values(), facts["sha1"], strict=True) if _digest(v) != h]
    assert not wrong, f"initial values differ from torchvision's under manual_seed(0): {wrong[:5]}"
    assert repr(model) == facts["repr"]


@pytest.fixture(scope="module")
def resnet18_seed0() -> nn.Module:
    return _build("resnet18")


def test_resnet18_matches_torchvision(resnet18_seed0: nn.Module) -> None:
    _check_against_torchvision("resnet18", resnet18_seed0)


@pytest.mark.parametrize("name", [
    *["resnet18@zero_init", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0"],
    *[pytest.param(n, marks=pytest.mark.slow) for n in
      ["resnet34", "resnet50", "resnet101", "resnet152", "vgg11@10", "vgg11_bn@10", "vgg16@10", "vgg16_bn@10",
       "alexnet@10", "alexnet"]],
])
def test_model_matches_torchvision(name: str) -> None:
    _check_against_torchvision(name, _build(name))


def _torch_checkpoint(model: nn.Module, path: Path) -> Path:
    """The model's weights written by real torch (``torch.save`` of a state_dict of torch tensors)."""
    torch = pytest.importorskip("torch")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}, path)
    return path


def test_resnet18_torch_checkpoint_gives_torchvision_logits(resnet18_seed0: nn.Module, tmp_path: Path) -> None:
    ckpt = _torch_checkpoint(resnet18_seed0, tmp_path / "resnet18_seed0.pth")
    want = FACTS["resnet18_logits"]
    ember.manual_seed(1)
    x = ember.randn(2, 3, 224, 224)
    assert float(x.double().sum()) == pytest.approx(want["input_sum"], abs=1e-6)
    ember.manual_seed(5)   # different random init: everything must come from the file
    model = models.resnet18(weights=str(ckpt)).eval()
    with ember.no_grad():
        logits = model(x)
    assert logits.shape == (2, 1000)
    assert (logits - ember.tensor(want["logits"])).abs().max().item() < 1e-4


def test_weights_found_in_torch_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ember.manual_seed(3)
    source = models.squeezenet1_1()
    _torch_checkpoint(source, tmp_path / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    by_enum = models.squeezenet1_1(weights=models.SqueezeNet1_1_Weights.DEFAULT)
    by_name = models.squeezenet1_1(weights="IMAGENET1K_V1")
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        legacy = models.squeezenet1_1(pretrained=True)
    for m in (by_enum, by_name, legacy):
        assert all(a.equal(b) for a, b in zip(m.state_dict().values(), source.state_dict().values(), strict=True))
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.checkpoint_dir() == str(tmp_path / "xdg" / "torch" / "hub" / "checkpoints")


def test_missing_weights_explain_how_to_supply_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
    with pytest.raises(FileNotFoundError) as info:
        models.squeezenet1_1(weights="DEFAULT")
    msg = str(info.value)
    assert str(expected) in msg and "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth" in msg
    assert "does not download" in msg
    with pytest.raises(FileNotFoundError, match="neither a SqueezeNet1_1_Weights member"):
        models.squeezenet1_1(weights=str(tmp_path / "nope.pth"))
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 1000 but got 10 instead."):
        models.squeezenet1_1(weights="IMAGENET1K_V1", num_classes=10)
    with pytest.raises(TypeError, match="expected SqueezeNet1_1_Weights but received ResNet18_Weights"):
        models.squeezenet1_1(weights=models.ResNet18_Weights.DEFAULT)


def test_weight_enums() -> None:
    W = models.ResNet50_Weights
    assert list(W) == [W.IMAGENET1K_V1, W.IMAGENET1K_V2] and W.DEFAULT is W.IMAGENET1K_V2
    assert W.verify("DEFAULT") is W.IMAGENET1K_V2 and W.verify("ResNet50_Weights.IMAGENET1K_V1") is W.IMAGENET1K_V1
    assert repr(W.DEFAULT) == "ResNet50_Weights.IMAGENET1K_V2"
    assert W.IMAGENET1K_V1.file_name == "resnet50-0676ba61.pth"
    assert models.ResNet18_Weights.DEFAULT.url == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    with pytest.raises(ValueError, match="Failed to find Weights IMAGENET1K_V9 in ResNet50_Weights"):
        W.verify("IMAGENET1K_V9")


def test_finetuning_recipe_changes_only_fc(resnet18_seed0: nn.Module) -> None:
    """The seed's recipe: pretrained ResNet-18, freeze everything, new ``fc``, SGD on ``fc`` only."""
    model = copy.deepcopy(resnet18_seed0)
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(512, 100)
    optimizer = ember.optim.SGD(model.fc.parameters(), lr=1e-2, momentum=0.9)
    before = {k: v.clone() for k, v in model.named_parameters()}
    x, y = ember.randn(4, 3, 64, 64), ember.randint(0, 100, (4,))
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    changed = {k for k, v in model.named_parameters() if not v.equal(before[k])}
    assert changed == {"fc.weight", "fc.bias"}
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith("fc."))
    assert losses[-1] < losses[0]


def test_lenet() -> None:
    ember.manual_seed(0)
    model = models.lenet()
    assert sum(p.numel() for p in model.parameters()) == 61706
    assert [k for k in model.state_dict()][:2] == ["features.0.weight", "features.0.bias"]
    out = model(ember.randn(3, 1, 28, 28))
    assert out.shape == (3, 10)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    assert models.lenet(num_classes=4, in_channels=3)(ember.randn(1, 3, 28, 28)).shape == (1, 4)


def test_small_models_run_forward_and_backward() -> None:
    ember.manual_seed(0)
    for builder in (models.squeezenet1_1, models.mobilenet_v2):
        model = builder(num_classes=5)
        out = model(ember.randn(2, 3, 32, 32))
        assert out.shape == (2, 5)
        out.sum().backward()
        assert all(p.grad is not None for p in model.parameters())


def test_block_argument_errors() -> None:
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        models.BasicBlock(4, 4, groups=2)
    with pytest.raises(ValueError, match="replace_stride_with_dilation should be None or a 3-element tuple"):
        models.ResNet(models.BasicBlock, [1, 1, 1, 1], replace_stride_with_dilation=[False])
    with pytest.raises(ValueError, match="Unsupported SqueezeNet version 2_0: 1_0 or 1_1 expected"):
        models.SqueezeNet("2_0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models.lenet()


def test_finetune_example_prints_what_torchvision_prints() -> None:
    """examples/seed_000_finetune_resnet.py under ember against its recorded torch + torchvision output.

    (tests/test_examples.py cannot run its torch side here: torchvision is not installed beside torch.)
    """
    import re
    import subprocess
    import sys

    example = Path(__file__).parent.parent / "examples" / "seed_000_finetune_resnet.py"
    proc = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    ours, theirs = proc.stdout.splitlines(), (DATA / "finetune_example.out").read_text().splitlines()
    assert len(ours) == len(theirs)
    number = re.compile(r"-?\d+\.\d+")
    for a, b in zip(ours, theirs, strict=True):
        assert number.sub("#", a) == number.sub("#", b), (a, b)
        for x, y in zip(number.findall(a), number.findall(b), strict=True):
            assert float(x) == pytest.approx(float(y), rel=2e-2, abs=2e-4), (a, b)


def test_registry() -> None:
    assert models.list_models(include="resnet*") == ["resnet101", "resnet152", "resnet18", "resnet34", "resnet50"]
    assert "lenet" in models.list_models() and "vgg16_bn" in models.list_models(exclude="resnet*")
    assert models.get_model_builder("ResNet18") is models.resnet18
    assert models.get_model_weights("resnet50") is models.ResNet50_Weights
    assert models.get_model_weights(models.squeezenet1_1) is models.SqueezeNet1_1_Weights
    assert models.get_weight("ResNet50_Weights.IMAGENET1K_V2") is models.ResNet50_Weights.IMAGENET1K_V2
    assert models.get_model("lenet", num_classes=3).classifier[-1].out_features == 3
    with pytest.raises(ValueError, match="Unknown model resnet9"):
        models.get_model("resnet9")


def test_lenet_weights_from_a_file(tmp_path: Path) -> None:
    ember.manual_seed(0)
    source = models.lenet(num_classes=3)
    ember.save(source.state_dict(), tmp_path / "lenet.pt")
    loaded = models.lenet(weights=tmp_path / "lenet.pt", num_classes=3)
    assert all(a.equal(b) for a, b in zip(loaded.state_dict().values(), source.state_dict().values(), strict=True))
