"""ember.vision.transforms against torchvision's recorded behaviour (tests/data/vision/make_fixtures.py).

torchvision cannot be installed beside the oracle torch, so its reprs, random draws and outputs on small
images were recorded once; each test rebuilds the same inputs and compares.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.vision import datasets
from ember.vision import transforms as T
from ember.vision.transforms import functional as F
from ember.vision.utils import make_grid, save_image

Image = pytest.importorskip("PIL.Image")

DATA = Path(__file__).parent / "data" / "vision"
JS = json.loads((DATA / "transforms.json").read_text())
NP = dict(np.load(DATA / "transforms.npz"))
IMG_U8 = ember.from_numpy(NP["img_u8"].copy())
IMG_F = ember.from_numpy(NP["img_f"].copy())
PIL = Image.fromarray(np.ascontiguousarray(NP["img_u8"].transpose(1, 2, 0)))


def close(a: ember.Tensor | np.ndarray, key: str, atol: float = 2e-6) -> None:
    got = a.numpy() if isinstance(a, ember.Tensor) else np.asarray(a)
    want = NP[key]
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=0, atol=atol)


def test_reprs() -> None:
    ts = [
        T.Compose([T.Resize(32), T.CenterCrop(28), T.ToTensor(), T.Normalize((0.5,), (0.25,))]),
        T.ToTensor(), T.PILToTensor(), T.ToPILImage(), T.ToPILImage("RGB"),
        T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225], inplace=True),
        T.Resize((20, 30), interpolation=T.InterpolationMode.NEAREST, antialias=False),
        T.Resize(16, max_size=40), T.CenterCrop(10), T.CenterCrop((10, 12)),
        T.RandomCrop(8, padding=2), T.RandomCrop((8, 9), padding=(1, 2), pad_if_needed=True),
        T.RandomResizedCrop(24), T.RandomResizedCrop((24, 20), scale=(0.5, 0.9), ratio=(0.5, 2.0)),
        T.RandomHorizontalFlip(), T.RandomVerticalFlip(0.3),
        T.ColorJitter(), T.ColorJitter(0.4, 0.3, 0.2, 0.1), T.ColorJitter((0.5, 1.5)),
        T.Grayscale(), T.Grayscale(3), T.Lambda(lambda x: x),
        T.Pad(3), T.Pad((1, 2), fill=7, padding_mode="edge"), T.Pad([1, 2, 3, 4]),
        T.RandomGrayscale(), T.RandomApply([T.ColorJitter(0.2), T.Grayscale()]),
        T.RandomOrder([T.Grayscale(), T.ToTensor()]), T.RandomChoice([T.Grayscale(), T.ToTensor()], p=[0.3, 0.7]),
    ]
    assert [repr(t) for t in ts] == JS["reprs"]


def test_random_parameters_follow_torchvision_draws() -> None:
    ember.manual_seed(0)
    rrc = [list(T.RandomResizedCrop.get_params(IMG_U8, [0.08, 1.0], [3 / 4, 4 / 3])) for _ in range(20)]
    narrow = [list(T.RandomResizedCrop.get_params(IMG_U8, [0.9, 1.0], [3.0, 4.0])) for _ in range(3)]
    rc = [list(T.RandomCrop.get_params(IMG_U8, (6, 20))) for _ in range(10)]
    cj = T.ColorJitter(0.4, 0.3, 0.2, 0.1)
    cjp = [[p.tolist() if isinstance(p, ember.Tensor) else p
            for p in cj.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)] for _ in range(5)]
    assert rrc == JS["rrc_params"]
    assert narrow == JS["rrc_params_narrow"]   # the fallback centre crop
    assert rc == JS["rc_params"]
    assert cjp == JS["cj_params"]
    ember.manual_seed(0)
    flip = T.RandomHorizontalFlip()
    assert [bool((flip(IMG_U8) != IMG_U8).any()) for _ in range(12)] == JS["hflip"]
    gray, apply = T.RandomGrayscale(0.5), T.RandomApply([F.vflip], p=0.4)
    assert [[bool((gray(IMG_U8) != IMG_U8).any()), bool((apply(IMG_U8) != IMG_U8).any())]
            for _ in range(8)] == JS["random_gray_apply"]


@pytest.mark.parametrize("key,args,kwargs,atol", [
    ("resize_u8_bilinear", ("u8", [10, 14]), {}, 0),
    ("resize_f_bilinear", ("f", [10, 14]), {}, 2e-6),
    ("resize_f_bilinear_noaa", ("f", [10, 14]), {"antialias": False}, 2e-6),
    ("resize_f_up", ("f", [25, 31]), {}, 2e-6),
    ("resize_f_short", ("f", 13), {}, 2e-6),
    ("resize_f_nearest", ("f", [8, 35]), {"interpolation": T.InterpolationMode.NEAREST}, 0),
    ("resize_f_nearest_exact", ("f", [8, 35]), {"interpolation": T.InterpolationMode.NEAREST_EXACT}, 0),
    ("resize_f_bicubic", ("f", [10, 14]), {"interpolation": T.InterpolationMode.BICUBIC}, 2e-6),
    ("resize_f_bicubic_up", ("f", [25, 31]), {"interpolation": T.InterpolationMode.BICUBIC, "antialias": False},
     2e-6),
])
def test_resize_tensor(key: str, args: tuple, kwargs: dict, atol: float) -> None:
    img = IMG_U8 if args[0] == "u8" else IMG_F
    close(F.resize(img, args[1], **kwargs), key, atol)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
@pytest.mark.parametrize("size,antialias", [([10, 14], True), ([7, 33], True), ([25, 31], False), ([3, 1], True)])
def test_resize_integer_images_as_torchvision(mode: str, size: list[int], antialias: bool) -> None:
    """torchvision resizes integer tensors as float32 through torch's ``interpolate`` (uint8 bicubic clamped),
    rounds and casts back: the same with torch's interpolate, for uint8 and int16 images and a batch (float32
    sums in another order may round a value lying within an ulp of .5 the other way: at most a few by 1)."""
    torch = pytest.importorskip("torch")
    for img in (IMG_U8, IMG_U8.to(ember.int16) * 100 - 9000, ember.stack([IMG_U8, IMG_U8.flip(-1)])):
        t = torch.tensor(img.numpy()).float().reshape(-1, 1, *img.shape[-2:])
        want = torch.nn.functional.interpolate(t, size=size, mode=mode, antialias=antialias and mode != "nearest",
                                               align_corners=None if mode == "nearest" else False)
        if mode == "bicubic" and img.dtype == ember.uint8:
            want = want.clamp(0, 255)
        want = want.round().to(getattr(torch, str(img.dtype).split(".")[1])).reshape(*img.shape[:-2], *size)
        interp = getattr(T.InterpolationMode, mode.upper())
        got = F.resize(img, size, interpolation=interp, antialias=antialias)
        assert got.dtype == img.dtype and got.shape == want.shape
        off = np.abs(got.numpy().astype(np.int64) - want.numpy().astype(np.int64))
        assert off.max() <= 1 and (off > 0).mean() < 0.02, (off.max(), (off > 0).mean())


def test_geometry_tensor_and_pil() -> None:
    close(F.resize(PIL, [10, 14]), "resize_pil", 0)
    close(F.center_crop(IMG_F, [6, 30]), "center_crop_f", 0)   # wider than the image: zero-padded
    close(F.pad(IMG_F, [1, 2, 3, 4], padding_mode="reflect"), "pad_f_reflect", 0)
    close(F.pad(IMG_F, [3, 2, 1, 4], padding_mode="symmetric"), "pad_f_symmetric", 0)
    close(F.pad(IMG_F, [2, 2], padding_mode="edge"), "pad_f_edge", 0)
    close(F.pad(IMG_F, 2, fill=0.5), "pad_f_const", 0)
    close(F.pad(PIL, [1, 2, 3, 4], padding_mode="reflect"), "pad_pil_reflect", 0)
    close(F.pad(PIL, [1, 2], fill=(10, 20, 30)), "pad_pil_const", 0)
    assert F.hflip(IMG_F).equal(IMG_F.flip(-1)) and F.vflip(IMG_F).equal(IMG_F.flip(-2))
    assert np.array_equal(np.asarray(F.hflip(PIL)), NP["img_u8"].transpose(1, 2, 0)[:, ::-1])
    assert F.crop(IMG_F, -1, 2, 3, 4)[:, 0].eq(0).all() and F.crop(IMG_F, -1, 2, 3, 4)[:, 1:].equal(IMG_F[:, :2, 2:6])


def test_colour_tensor_and_pil() -> None:
    close(F.rgb_to_grayscale(IMG_U8), "gray_u8", 0)
    close(F.rgb_to_grayscale(IMG_F, 3), "gray_f3", 2e-7)
    close(F.rgb_to_grayscale(PIL), "gray_pil", 0)
    for name, fn, factor in [("brightness", F.adjust_brightness, 1.3), ("contrast", F.adjust_contrast, 0.6),
                             ("saturation", F.adjust_saturation, 1.7), ("hue", F.adjust_hue, 0.2)]:
        close(fn(IMG_F, factor), f"{name}_f", 2e-6)
        close(fn(IMG_U8, factor), f"{name}_u8", 1)   # float rounding may move a uint8 value by one
        close(fn(PIL, factor), f"{name}_pil", 0)


def test_random_transforms_outputs() -> None:
    cj = T.ColorJitter(0.4, 0.3, 0.2, 0.1)
    ember.manual_seed(5)
    close(ember.stack([cj(IMG_F) for _ in range(4)]), "colorjitter_f", 2e-6)
    rrc = T.RandomResizedCrop(12)
    ember.manual_seed(6)
    close(ember.stack([rrc(IMG_F) for _ in range(4)]), "rrc_f", 2e-6)
    ember.manual_seed(6)
    close(np.stack([np.asarray(rrc(PIL)) for _ in range(4)]), "rrc_pil", 0)
    rc = T.RandomCrop((27, 22), padding=3, pad_if_needed=True, padding_mode="reflect")
    ember.manual_seed(7)
    close(ember.stack([rc(IMG_F) for _ in range(3)]), "rc_f", 0)


def test_conversions() -> None:
    close(F.to_tensor(PIL), "to_tensor_pil", 0)
    close(T.ToTensor()(NP["img_u8"].transpose(1, 2, 0).copy()), "to_tensor_np", 0)
    close(F.to_pil_image(IMG_F), "to_pil_f", 0)
    close(F.to_pil_image(IMG_F[:1]), "to_pil_f1", 0)
    close(F.normalize(IMG_F, [0.1, 0.2, 0.3], [0.5, 0.6, 0.7]), "normalize", 2e-7)
    close(F.convert_image_dtype(IMG_U8, ember.float32), "convert_u8_f", 0)
    close(F.convert_image_dtype(IMG_F, ember.uint8), "convert_f_u8", 0)
    pt = T.PILToTensor()(PIL)
    assert pt.dtype == ember.uint8 and pt.equal(IMG_U8)
    back = T.ToPILImage()(IMG_U8)
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), np.asarray(PIL))
    assert T.ToPILImage()(ember.zeros(1, 2, 3)).mode == "L"


def test_normalize_inplace_and_errors() -> None:
    x = IMG_F.clone()
    y = T.Normalize([0.5] * 3, [0.5] * 3, inplace=True)(x)
    assert y is x
    z = T.Normalize([0.5] * 3, [0.5] * 3)(IMG_F)
    assert z is not IMG_F and z.equal(x)
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got torch.uint8."):
        F.normalize(IMG_U8, [0.5], [0.5])
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to torch.float32"):
        F.normalize(IMG_F, [0.5], [0.0])
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, H, W\)"):
        F.normalize(ember.zeros(3, 4), [0.5], [0.5])


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match=r"Required crop size \(30, 30\) is larger than input image size \(19, 26\)"):
        T.RandomCrop(30)(IMG_F)
    with pytest.raises(ValueError, match="If size is a sequence, it should have 1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)   # type: ignore[arg-type]
    with pytest.raises(ValueError, match="If brightness is a single number, it must be non negative."):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match=r"hue values should be between \(-0.5, 0.5\), but got \[-0.7, 0.7\]."):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="max_size = 10 must be strictly greater than the requested"):
        F.resize(IMG_F, 12, max_size=10)
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class 'list'>"):
        F.to_tensor([1, 2])


def test_resize_rules() -> None:
    assert F.resize(IMG_F, 13).shape == (3, 13, 17)          # smaller edge → 13, aspect kept (int truncation)
    assert F.resize(IMG_F, 13, max_size=15).shape == (3, 11, 15)
    assert F.resize(IMG_F, [19, 26]) is IMG_F                 # same size: returned as is
    assert F.resize(PIL, 10).size == (13, 10)
    with pytest.warns(UserWarning, match="Anti-alias option is always applied for PIL Image input"):
        F.resize(PIL, 10, antialias=False)
    batch = ember.stack([IMG_F, IMG_F.flip(-1)])              # leading batch dimensions are kept
    assert F.resize(batch, [10, 14])[1].allclose(F.resize(IMG_F.flip(-1), [10, 14]))


def test_fakedata_same_images_as_torchvision() -> None:
    ember.manual_seed(123)
    before = ember.rand(3)
    ember.manual_seed(123)
    fake = datasets.FakeData(size=3, image_size=(3, 6, 5), num_classes=4, random_offset=2)
    samples = [fake[i] for i in range(3)]
    assert np.array_equal(np.stack([np.asarray(s[0]) for s in samples]), NP["fakedata"])
    assert [s[1] for s in samples] == JS["fakedata_targets"]
    assert ember.rand(3).equal(before)                      # the global generator is left as it was
    with pytest.raises(IndexError, match="FakeData index out of range"):
        fake[3]
    assert repr(datasets.FakeData(size=3, transform=T.ToTensor(), target_transform=T.Lambda(int))) \
        == JS["fakedata_repr"]


def test_make_grid_and_save_image(tmp_path: Path) -> None:
    batch = ember.from_numpy(NP["grid_in"].copy())
    close(make_grid(batch, nrow=2, padding=1, pad_value=0.25), "grid", 0)
    close(make_grid(batch * 3 - 1, normalize=True, scale_each=True), "grid_norm", 2e-6)
    close(make_grid(batch[:, :1] * 3 - 1, nrow=3, normalize=True, value_range=(-1, 1)), "grid_norm_range", 2e-6)
    assert make_grid(batch[:1]).equal(batch[0])
    path = tmp_path / "grid.png"
    save_image(batch, path, nrow=2, padding=1)
    saved = np.asarray(Image.open(path))
    grid = make_grid(batch, nrow=2, padding=1)
    assert saved.shape == (grid.shape[1], grid.shape[2], 3)
    np.testing.assert_array_equal(saved, np.clip(grid.numpy().transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8))


def test_weights_preprocessing_presets() -> None:
    from ember.vision import models
    from ember.vision.transforms._presets import ImageClassification

    assert [repr(models.ResNet50_Weights.DEFAULT.transforms()),
            repr(models.EfficientNet_B0_Weights.DEFAULT.transforms())] == JS["preset_reprs"]
    preset = ImageClassification(crop_size=8, resize_size=12)
    close(preset(IMG_U8), "preset_u8", 2e-5)
    close(preset(PIL), "preset_pil", 2e-6)
