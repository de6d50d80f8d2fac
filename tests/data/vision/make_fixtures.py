"""Record torchvision's facts that tests/test_vision*.py compare ember.vision against.

Run with an environment that has torchvision (it cannot sit beside the main environment's torch):
    python -m venv /tmp/tvenv && /tmp/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /tmp/tvenv/bin/python tests/data/vision/make_fixtures.py [example] [transforms] [models]
Writes models.json.gz (per model: state_dict keys, shapes, dtypes, a SHA-1 of each tensor's bytes under
``torch.manual_seed(0)`` init, the repr; resnet18's eval logits on a seeded batch) and transforms.npz /
transforms.json (reprs, random parameters drawn under fixed seeds, outputs on small images) and
finetune_example.out (what examples/seed_000_finetune_resnet.py prints under torch + torchvision).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import datasets, models, transforms
from torchvision.transforms import functional as F
from torchvision.transforms._presets import ImageClassification
from torchvision.utils import make_grid

HERE = Path(__file__).parent
MODELS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn",
          "mobilenet_v2", "alexnet", "squeezenet1_1", "efficientnet_b0"]
SMALL_HEAD = {"vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "alexnet"}   # also recorded with num_classes=10


def digest(t: torch.Tensor) -> str:
    return hashlib.sha1(t.detach().contiguous().numpy().tobytes()).hexdigest()[:16]


def describe(name: str, **kwargs: object) -> dict:
    torch.manual_seed(0)
    model = getattr(models, name)(**kwargs)
    sd = model.state_dict()
    return {
        "keys": list(sd),
        "shapes": [list(v.shape) for v in sd.values()],
        "dtypes": [str(v.dtype) for v in sd.values()],
        "sha1": [digest(v) for v in sd.values()],
        "sums": [float(v.double().sum()) for v in sd.values()],
        "repr": repr(model),
    }


def model_facts() -> dict:
    out = {"torch": torch.__version__, "torchvision": torchvision.__version__, "models": {}}
    for name in MODELS:
        out["models"][name] = describe(name)
        if name in SMALL_HEAD:
            out["models"][name + "@10"] = describe(name, num_classes=10)
        print(name, flush=True)
    out["models"]["resnet18@zero_init"] = describe("resnet18", zero_init_residual=True, num_classes=7)
    torch.manual_seed(0)
    model = models.resnet18().eval()
    torch.manual_seed(1)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        logits = model(x)
    out["resnet18_logits"] = {"input_sum": float(x.double().sum()), "logits": logits.tolist()}
    return out


def transform_facts() -> tuple[dict, dict]:
    js: dict = {}
    arrays: dict = {}
    g = torch.Generator().manual_seed(3)
    img_u8 = torch.randint(0, 256, (3, 19, 26), dtype=torch.uint8, generator=g)
    img_f = torch.rand(3, 19, 26, generator=g)
    arrays["img_u8"] = img_u8.numpy()
    arrays["img_f"] = img_f.numpy()
    pil = F.to_pil_image(img_u8)

    reprs = [
        transforms.Compose([transforms.Resize(32), transforms.CenterCrop(28), transforms.ToTensor(),
                            transforms.Normalize((0.5,), (0.25,))]),
        transforms.ToTensor(), transforms.PILToTensor(), transforms.ToPILImage(), transforms.ToPILImage("RGB"),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225], inplace=True),
        transforms.Resize((20, 30), interpolation=transforms.InterpolationMode.NEAREST, antialias=False),
        transforms.Resize(16, max_size=40), transforms.CenterCrop(10), transforms.CenterCrop((10, 12)),
        transforms.RandomCrop(8, padding=2), transforms.RandomCrop((8, 9), padding=(1, 2), pad_if_needed=True),
        transforms.RandomResizedCrop(24), transforms.RandomResizedCrop((24, 20), scale=(0.5, 0.9), ratio=(0.5, 2.0)),
        transforms.RandomHorizontalFlip(), transforms.RandomVerticalFlip(0.3),
        transforms.ColorJitter(), transforms.ColorJitter(0.4, 0.3, 0.2, 0.1), transforms.ColorJitter((0.5, 1.5)),
        transforms.Grayscale(), transforms.Grayscale(3), transforms.Lambda(lambda x: x),
        transforms.Pad(3), transforms.Pad((1, 2), fill=7, padding_mode="edge"), transforms.Pad([1, 2, 3, 4]),
        transforms.RandomGrayscale(), transforms.RandomApply([transforms.ColorJitter(0.2), transforms.Grayscale()]),
        transforms.RandomOrder([transforms.Grayscale(), transforms.ToTensor()]),
        transforms.RandomChoice([transforms.Grayscale(), transforms.ToTensor()], p=[0.3, 0.7]),
    ]
    js["reprs"] = [repr(t) for t in reprs]

    # random parameters under fixed seeds, in torchvision's draw order
    torch.manual_seed(0)
    js["rrc_params"] = [transforms.RandomResizedCrop.get_params(img_u8, [0.08, 1.0], [3 / 4, 4 / 3])
                        for _ in range(20)]
    js["rrc_params_narrow"] = [transforms.RandomResizedCrop.get_params(img_u8, [0.9, 1.0], [3.0, 4.0])
                               for _ in range(3)]
    js["rc_params"] = [transforms.RandomCrop.get_params(img_u8, (6, 20)) for _ in range(10)]
    cj = transforms.ColorJitter(0.4, 0.3, 0.2, 0.1)
    js["cj_params"] = [[p.tolist() if isinstance(p, torch.Tensor) else p
                        for p in cj.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)] for _ in range(5)]
    torch.manual_seed(0)
    flip = transforms.RandomHorizontalFlip()
    js["hflip"] = [bool((flip(img_u8) != img_u8).any()) for _ in range(12)]
    gray, apply = transforms.RandomGrayscale(0.5), transforms.RandomApply([transforms.functional.vflip], p=0.4)
    js["random_gray_apply"] = [[bool((gray(img_u8) != img_u8).any()), bool((apply(img_u8) != img_u8).any())]
                               for _ in range(8)]

    # outputs on the small images (tensor and PIL paths)
    def pil_arr(im: Image.Image) -> np.ndarray:
        return np.asarray(im)

    arrays["resize_u8_bilinear"] = F.resize(img_u8, [10, 14]).numpy()
    arrays["resize_f_bilinear"] = F.resize(img_f, [10, 14]).numpy()
    arrays["resize_f_bilinear_noaa"] = F.resize(img_f, [10, 14], antialias=False).numpy()
    arrays["resize_f_up"] = F.resize(img_f, [25, 31]).numpy()
    arrays["resize_f_short"] = F.resize(img_f, 13).numpy()
    arrays["resize_f_nearest"] = F.resize(img_f, [8, 35], interpolation=transforms.InterpolationMode.NEAREST).numpy()
    arrays["resize_f_nearest_exact"] = F.resize(
        img_f, [8, 35], interpolation=transforms.InterpolationMode.NEAREST_EXACT).numpy()
    arrays["resize_f_bicubic"] = F.resize(img_f, [10, 14], interpolation=transforms.InterpolationMode.BICUBIC).numpy()
    arrays["resize_f_bicubic_up"] = F.resize(
        img_f, [25, 31], interpolation=transforms.InterpolationMode.BICUBIC, antialias=False).numpy()
    arrays["resize_pil"] = pil_arr(F.resize(pil, [10, 14]))
    arrays["center_crop_f"] = F.center_crop(img_f, [6, 30]).numpy()
    arrays["pad_f_reflect"] = F.pad(img_f, [1, 2, 3, 4], padding_mode="reflect").numpy()
    arrays["pad_f_symmetric"] = F.pad(img_f, [3, 2, 1, 4], padding_mode="symmetric").numpy()
    arrays["pad_f_edge"] = F.pad(img_f, [2, 2], padding_mode="edge").numpy()
    arrays["pad_f_const"] = F.pad(img_f, 2, fill=0.5).numpy()
    arrays["pad_pil_reflect"] = pil_arr(F.pad(pil, [1, 2, 3, 4], padding_mode="reflect"))
    arrays["pad_pil_const"] = pil_arr(F.pad(pil, [1, 2], fill=(10, 20, 30)))
    arrays["gray_u8"] = F.rgb_to_grayscale(img_u8).numpy()
    arrays["gray_f3"] = F.rgb_to_grayscale(img_f, 3).numpy()
    arrays["gray_pil"] = pil_arr(F.rgb_to_grayscale(pil))
    for name, fn, factor in [("brightness", F.adjust_brightness, 1.3), ("contrast", F.adjust_contrast, 0.6),
                             ("saturation", F.adjust_saturation, 1.7), ("hue", F.adjust_hue, 0.2)]:
        arrays[f"{name}_f"] = fn(img_f, factor).numpy()
        arrays[f"{name}_u8"] = fn(img_u8, factor).numpy()
        arrays[f"{name}_pil"] = pil_arr(fn(pil, factor))
    torch.manual_seed(5)
    arrays["colorjitter_f"] = torch.stack([cj(img_f) for _ in range(4)]).numpy()
    torch.manual_seed(6)
    rrc = transforms.RandomResizedCrop(12)
    arrays["rrc_f"] = torch.stack([rrc(img_f) for _ in range(4)]).numpy()
    torch.manual_seed(6)
    arrays["rrc_pil"] = np.stack([pil_arr(rrc(pil)) for _ in range(4)])
    torch.manual_seed(7)
    rc = transforms.RandomCrop((27, 22), padding=3, pad_if_needed=True, padding_mode="reflect")
    arrays["rc_f"] = torch.stack([rc(img_f) for _ in range(3)]).numpy()
    arrays["to_tensor_pil"] = F.to_tensor(pil).numpy()
    arrays["to_tensor_np"] = F.to_tensor(np.ascontiguousarray(img_u8.permute(1, 2, 0).numpy())).numpy()
    arrays["to_pil_f"] = pil_arr(F.to_pil_image(img_f))
    arrays["to_pil_f1"] = pil_arr(F.to_pil_image(img_f[:1]))
    arrays["normalize"] = F.normalize(img_f, [0.1, 0.2, 0.3], [0.5, 0.6, 0.7]).numpy()
    arrays["convert_u8_f"] = F.convert_image_dtype(img_u8, torch.float32).numpy()
    arrays["convert_f_u8"] = F.convert_image_dtype(img_f, torch.uint8).numpy()

    # FakeData: same seed scheme, PIL images built by ToPILImage from randn
    fake = datasets.FakeData(size=3, image_size=(3, 6, 5), num_classes=4, random_offset=2)
    arrays["fakedata"] = np.stack([pil_arr(fake[i][0]) for i in range(3)])
    js["fakedata_targets"] = [fake[i][1] for i in range(3)]
    js["fakedata_repr"] = repr(datasets.FakeData(size=3, transform=transforms.ToTensor(),
                                                 target_transform=transforms.Lambda(int)))

    # make_grid
    torch.manual_seed(8)
    batch = torch.rand(5, 3, 4, 6)
    arrays["grid_in"] = batch.numpy()
    arrays["grid"] = make_grid(batch, nrow=2, padding=1, pad_value=0.25).numpy()
    arrays["grid_norm"] = make_grid(batch * 3 - 1, normalize=True, scale_each=True).numpy()
    arrays["grid_norm_range"] = make_grid(batch[:, :1] * 3 - 1, nrow=3, normalize=True, value_range=(-1, 1)).numpy()
    # the preprocessing presets that weights carry
    js["preset_reprs"] = [repr(models.ResNet50_Weights.DEFAULT.transforms()),
                          repr(models.EfficientNet_B0_Weights.DEFAULT.transforms())]
    preset = ImageClassification(crop_size=8, resize_size=12)
    arrays["preset_u8"] = preset(img_u8).numpy()
    arrays["preset_pil"] = preset(pil).numpy()
    return js, arrays


def example_output() -> str:
    """What examples/seed_000_finetune_resnet.py prints under torch + torchvision."""
    source = (HERE.parent.parent.parent / "examples" / "seed_000_finetune_resnet.py").read_text()
    source = re.sub(r"\bember\b", "torch", re.sub(r"\bember\.vision\b", "torchvision", source))
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True).stdout


def main(parts: list[str]) -> None:
    """Write the named parts (example, transforms, models), all by default."""
    parts = parts or ["example", "transforms", "models"]
    if "example" in parts:
        (HERE / "finetune_example.out").write_text(example_output())
    if "transforms" in parts:
        js, arrays = transform_facts()
        (HERE / "transforms.json").write_text(json.dumps(js, indent=1) + "\n")
        np.savez_compressed(HERE / "transforms.npz", **arrays)
    if "models" not in parts:
        return
    text = json.dumps(model_facts()).encode()
    with open(HERE / "models.json.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(text)   # mtime=0: the same facts give the same bytes


if __name__ == "__main__":
    main(sys.argv[1:])
