"""MNIST and its look-alikes (FashionMNIST, KMNIST, EMNIST, QMNIST) read from the IDX files, as torchvision."""

from __future__ import annotations

import os
import shutil
import string
import warnings
from collections.abc import Callable
from typing import Any
from urllib.error import URLError

import numpy as np

from ..._core import dtype as D
from ..._tensor import Tensor
from ...ops.creation import from_numpy
from ...serialization import load
from ..transforms import functional as F
from .utils import check_integrity, download_and_extract_archive, extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "read_sn3_pascalvincent_tensor",
           "read_image_file", "read_label_file"]

_MNIST_CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
                  "8 - eight", "9 - nine"]


def _renamed(old: str, new: str) -> property:
    """A deprecated alias of attribute ``new`` that warns (UserWarning) on each read."""
    def get(self: Any) -> Any:
        warnings.warn(f"{old} has been renamed {new}", stacklevel=2)
        return getattr(self, new)
    return property(get, doc=f"Deprecated alias of ``{new}``.")


class MNIST(VisionDataset):
    """MNIST handwritten digits from ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``.

    ``download=True`` fetches the gzipped files from the mirrors (md5-checked) and unpacks them unless they are
    there already; a ``.gz`` already in ``raw`` with the right md5 is unpacked without fetching. Samples are
    ("L"-mode PIL image, int label); ``data`` is the uint8 (N, 28, 28) tensor, ``targets`` the int64 labels.
    Subclasses change the folder name (the class name), mirrors, files and classes.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = _MNIST_CLASSES

    def __init__(self, root: str | os.PathLike[str], train: bool = True,
                 transform: Callable[..., Any] | None = None, target_transform: Callable[..., Any] | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if self._check_legacy_exist():   # tensors cached by old torchvision versions under processed/
            self.data, self.targets = self._load_legacy_data()
            return
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self.data, self.targets = self._load_data()

    train_labels = _renamed("train_labels", "targets")
    test_labels = _renamed("test_labels", "targets")
    train_data = _renamed("train_data", "data")
    test_data = _renamed("test_data", "data")

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def _check_legacy_exist(self) -> bool:
        return os.path.exists(self.processed_folder) and all(
            check_integrity(os.path.join(self.processed_folder, name)) for name in (self.training_file, self.test_file))

    def _load_legacy_data(self) -> tuple[Tensor, Tensor]:
        return load(os.path.join(self.processed_folder, self.training_file if self.train else self.test_file),
                    weights_only=True)

    def _load_data(self) -> tuple[Tensor, Tensor]:
        prefix = "train" if self.train else "t10k"
        return (read_image_file(os.path.join(self.raw_folder, f"{prefix}-images-idx3-ubyte")),
                read_label_file(os.path.join(self.raw_folder, f"{prefix}-labels-idx1-ubyte")))

    def _check_exists(self) -> bool:
        return all(check_integrity(os.path.join(self.raw_folder, os.path.splitext(name)[0]))
                   for name, _ in self.resources)

    def download(self) -> None:
        """Fetch and unpack each file, trying the mirrors in turn; RuntimeError listing each mirror's error."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            errors: list[Exception] = []
            for mirror in self.mirrors:
                try:
                    download_and_extract_archive(f"{mirror}{filename}", download_root=self.raw_folder,
                                                 filename=filename, md5=md5)
                    break
                except (RuntimeError, URLError) as e:
                    errors.append(e)
            else:
                raise RuntimeError(f"Error downloading {filename}:\n" + "".join(
                    f"Tried {mirror}, got:\n{err}\n" for mirror, err in zip(self.mirrors, errors, strict=True)))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = F.to_pil_image(self.data[index].numpy(), mode="L")
        target: Any = int(self.targets[index])
        return self._transformed(img, target)

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (clothing, 10 classes) in MNIST's layout under ``root/FashionMNIST/raw``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST (cursive Japanese, 10 classes) in MNIST's layout under ``root/KMNIST/raw``."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """Extended MNIST: ``split`` in byclass / bymerge / balanced / letters / digits / mnist.

    Files are ``root/EMNIST/raw/emnist-<split>-<train|test>-{images-idx3,labels-idx1}-ubyte``; the download is
    one zip of all splits whose inner .gz files are unpacked into ``raw``.
    """

    url = "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged_classes = set("cijklmopsuvwxyz")   # letters whose upper and lower case look alike
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str | os.PathLike[str], split: str, **kwargs: Any) -> None:
        self.split = verify_str_arg(split, "split", self.splits)
        self.training_file = f"training_{split}.pt"
        self.test_file = f"test_{split}.pt"
        super().__init__(root, **kwargs)
        self.classes = self.classes_split_dict[self.split]

    @property
    def _file_prefix(self) -> str:
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    @property
    def images_file(self) -> str:
        return os.path.join(self.raw_folder, f"{self._file_prefix}-images-idx3-ubyte")

    @property
    def labels_file(self) -> str:
        return os.path.join(self.raw_folder, f"{self._file_prefix}-labels-idx1-ubyte")

    def _load_data(self) -> tuple[Tensor, Tensor]:
        return read_image_file(self.images_file), read_label_file(self.labels_file)

    def _check_exists(self) -> bool:
        return all(check_integrity(path) for path in (self.images_file, self.labels_file))

    def download(self) -> None:
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)
        shutil.rmtree(gzip_folder)


class QMNIST(MNIST):
    """QMNIST: MNIST regenerated from NIST with 8 label columns per image.

    ``what`` picks 'train', 'test' (60k), 'test10k' (MNIST's test images), 'test50k' (the rest) or 'nist'
    (default from ``train``). With ``compat`` the target is the class int, else the int64 row of 8 fields.
    """

    subsets = {"train": "train", "test": "test", "test10k": "test", "test50k": "test", "nist": "nist"}
    _base = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"
    resources: dict[str, list[tuple[str, str]]] = {  # type: ignore[assignment]
        "train": [(_base + "qmnist-train-images-idx3-ubyte.gz", "ed72d4157d28c017586c42bc6afe6370"),
                  (_base + "qmnist-train-labels-idx2-int.gz", "0058f8dd561b90ffdd0f734c6a30e5e4")],
        "test": [(_base + "qmnist-test-images-idx3-ubyte.gz", "1394631089c404de565df7b7aeaf9412"),
                 (_base + "qmnist-test-labels-idx2-int.gz", "5b5b05890a5e13444e108efe57b788aa")],
        "nist": [(_base + "xnist-images-idx3-ubyte.xz", "7f124b3b8ab81486c9d8c2749c17f834"),
                 (_base + "xnist-labels-idx2-int.xz", "5ed0e788978e45d4a8bd4b7caec3d79d")],
    }
    classes = _MNIST_CLASSES

    def __init__(self, root: str | os.PathLike[str], what: str | None = None, compat: bool = True,
                 train: bool = True, **kwargs: Any) -> None:
        if what is None:
            what = "train" if train else "test"
        self.what = verify_str_arg(what, "what", tuple(self.subsets))
        self.compat = compat
        self.data_file = what + ".pt"
        self.training_file = self.data_file
        self.test_file = self.data_file
        super().__init__(root, train, **kwargs)

    def _raw_path(self, which: int) -> str:
        url, _ = self.resources[self.subsets[self.what]][which]
        return os.path.join(self.raw_folder, os.path.splitext(os.path.basename(url))[0])

    @property
    def images_file(self) -> str:
        return self._raw_path(0)

    @property
    def labels_file(self) -> str:
        return self._raw_path(1)

    def _check_exists(self) -> bool:
        return all(check_integrity(path) for path in (self.images_file, self.labels_file))

    def _load_data(self) -> tuple[Tensor, Tensor]:
        data = read_sn3_pascalvincent_tensor(self.images_file)
        if data.dtype != D.uint8:
            raise TypeError(f"data should be of dtype torch.uint8 instead of {data.dtype}")
        if data.ndim != 3:
            raise ValueError(f"data should have 3 dimensions instead of {data.ndim}")
        targets = read_sn3_pascalvincent_tensor(self.labels_file).long()
        if targets.ndim != 2:
            raise ValueError(f"targets should have 2 dimensions instead of {targets.ndim}")
        if self.what == "test10k":
            return data[:10000].clone(), targets[:10000].clone()
        if self.what == "test50k":
            return data[10000:].clone(), targets[10000:].clone()
        return data, targets

    def download(self) -> None:
        """Fetch only the files of the ``what`` subset."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for url, md5 in self.resources[self.subsets[self.what]]:
            download_and_extract_archive(url, self.raw_folder, md5=md5)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = F.to_pil_image(self.data[index].numpy(), mode="L")
        target: Any = self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.compat:
            target = int(target[0])
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return f"Split: {self.what}"


# IDX ("SN3 Pascal Vincent") type codes → big-endian NumPy dtypes
_IDX_DTYPES = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}


def read_sn3_pascalvincent_tensor(path: str, strict: bool = True) -> Tensor:
    """Read an IDX file: 4-byte magic (0, 0, type code, ndim), ndim big-endian int32 sizes, then the values.

    ``strict`` asserts the value count is the product of the sizes; the reshape fails anyway when it is not.
    """
    with open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    nd, ty = magic % 256, magic // 256
    assert 1 <= nd <= 3, f"IDX file {path}: expected 1 to 3 dimensions, got {nd}"
    assert ty in _IDX_DTYPES, f"IDX file {path}: unknown type code {ty}"
    sizes = [int.from_bytes(raw[4 * (i + 1):4 * (i + 2)], "big") for i in range(nd)]
    big_endian = np.dtype(_IDX_DTYPES[ty])
    values = np.frombuffer(raw, dtype=big_endian, offset=4 * (nd + 1)).astype(big_endian.newbyteorder("="))
    assert values.shape[0] == int(np.prod(sizes)) or not strict
    return from_numpy(values).view(*sizes)


def read_label_file(path: str) -> Tensor:
    """An IDX file of uint8 labels as an int64 (N,) tensor."""
    x = read_sn3_pascalvincent_tensor(path, strict=False)
    if x.dtype != D.uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"x should have 1 dimension instead of {x.ndim}")
    return x.long()


def read_image_file(path: str) -> Tensor:
    """An IDX file of uint8 images as a (N, H, W) tensor."""
    x = read_sn3_pascalvincent_tensor(path, strict=False)
    if x.dtype != D.uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {x.dtype}")
    if x.ndim != 3:
        raise ValueError(f"x should have 3 dimension instead of {x.ndim}")
    return x
