"""ember.vision.datasets: Digits (scikit-learn's bundled digits), ImageFolder / DatasetFolder, re-exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ember
from ember.utils.data import DataLoader
from ember.vision import datasets
from ember.vision import transforms as T

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def sk_digits() -> object:
    sk = pytest.importorskip("sklearn.datasets")
    return sk.load_digits()


def test_digits_split_and_values(sk_digits: object) -> None:
    train, test = datasets.Digits(), datasets.Digits(train=False)
    assert len(train) + len(test) == 1797 and len(test) == 359
    assert train.data.shape == (1438, 8, 8) and train.data.dtype == ember.uint8
    assert train.targets.dtype == ember.int64
    # the split partitions the images: every sklearn image appears exactly once, scaled 0..16 → 0..255
    ours = np.concatenate([train.data.numpy(), test.data.numpy()]).reshape(1797, -1)
    want = np.rint(sk_digits.images * 255 / 16).astype(np.uint8).reshape(1797, -1)   # type: ignore[attr-defined]
    labels = np.concatenate([train.targets.numpy(), test.targets.numpy()])
    order = np.lexsort(ours.T[::-1])
    worder = np.lexsort(want.T[::-1])
    assert np.array_equal(ours[order], want[worder])
    assert np.array_equal(np.sort(labels), np.sort(sk_digits.target))   # type: ignore[attr-defined]
    # seeded: the same seed gives the same split, another seed another split
    assert datasets.Digits(train=False).targets.equal(test.targets)
    assert not datasets.Digits(train=False, seed=1).data.equal(test.data)
    assert len(datasets.Digits(train=False, test_fraction=0.5)) == 898


def test_digits_samples_transforms_and_upscale() -> None:
    ds = datasets.Digits(train=False, upscale=True, transform=T.ToTensor(), target_transform=lambda t: t + 100)
    img, target = ds[3]
    assert img.shape == (1, 28, 28) and img.dtype == ember.float32 and 0 <= img.min() and img.max() <= 1
    assert target == int(ds.targets[3]) + 100
    small = datasets.Digits(train=False)
    pil, label = small[3]
    assert pil.mode == "L" and pil.size == (8, 8) and isinstance(label, int)
    # upscaling is the antialiased bilinear resize of the 8x8 images
    want = T.functional.resize(small.data[3:4], [28, 28])
    assert ds.data[3:4].equal(want)
    assert datasets.Digits(upscale=16).data.shape[1:] == (16, 16)
    assert repr(small) == "Dataset Digits\n    Number of datapoints: 359\n    Split: Test"
    assert small.class_to_idx["3 - three"] == 3
    with pytest.raises(ValueError, match=r"test_fraction should be in \(0, 1\)"):
        datasets.Digits(test_fraction=1.0)


def test_digits_feed_a_dataloader() -> None:
    ds = datasets.Digits(upscale=True, transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    x, y = next(iter(DataLoader(ds, batch_size=16, shuffle=False)))
    assert x.shape == (16, 1, 28, 28) and y.shape == (16,) and y.dtype == ember.int64


def _tree(root: Path) -> None:
    for cls, names in {"cat": ["b.png", "a.jpg", "notes.txt"], "dog": ["x.PNG", "sub/y.bmp"], "empty": []}.items():
        (root / cls).mkdir(parents=True)
        for i, name in enumerate(names):
            path = root / cls / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".txt"):
                path.write_text("not an image")
            else:
                fmt = {"png": "PNG", "jpg": "JPEG", "bmp": "BMP"}[name.rsplit(".", 1)[1].lower()]
                Image.new("L", (4 + i, 3), color=40 * i).save(path, format=fmt)


def test_image_folder(tmp_path: Path) -> None:
    _tree(tmp_path)
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty. Supported extensions are: "
                                                ".jpg, .jpeg, .png"):
        datasets.ImageFolder(tmp_path)
    ds = datasets.ImageFolder(tmp_path, transform=T.ToTensor(), allow_empty=True)
    assert ds.classes == ["cat", "dog", "empty"] and ds.class_to_idx == {"cat": 0, "dog": 1, "empty": 2}
    assert [(Path(p).relative_to(tmp_path).as_posix(), t) for p, t in ds.samples] == [
        ("cat/a.jpg", 0), ("cat/b.png", 0), ("dog/x.PNG", 1), ("dog/sub/y.bmp", 1)]   # folder by folder
    assert ds.targets == [0, 0, 1, 1] and ds.imgs is ds.samples and len(ds) == 4
    img, target = ds[1]
    assert img.shape == (3, 3, 4) and target == 0   # loaded as RGB
    assert repr(ds).splitlines()[:3] == ["Dataset ImageFolder", "    Number of datapoints: 4",
                                         f"    Root location: {tmp_path}"]


def test_dataset_folder_custom_loader(tmp_path: Path) -> None:
    _tree(tmp_path)
    ds = datasets.DatasetFolder(str(tmp_path), loader=lambda p: Path(p).name, extensions=(".txt",),
                                allow_empty=True)
    assert ds.samples == [(str(tmp_path / "cat" / "notes.txt"), 0)] and ds[0] == ("notes.txt", 0)
    only_dogs = datasets.DatasetFolder(tmp_path, loader=str, is_valid_file=lambda p: "/dog/" in p, allow_empty=True)
    assert only_dogs.targets == [1, 1]
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None or not None"):
        datasets.DatasetFolder(tmp_path, loader=str)
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder in"):
        datasets.ImageFolder(tmp_path / "cat")
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform can be passed"):
        datasets.VisionDataset(tmp_path, transforms=lambda a, b: (a, b), transform=str)


def test_reexports() -> None:
    assert datasets.TensorDataset is ember.utils.data.TensorDataset
    import ember.vision as torchvision

    assert torchvision.transforms.functional is T.functional and torchvision.models.resnet18
