"""vision.datasets MNIST family and CIFAR: tiny fake raw files in torchvision's formats, no network.

Expectations are torchvision 0.29's behaviour (checked against it once); downloads go through a fake
``urllib.request.urlopen`` serving local bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest

import ember
from ember.vision import transforms as T
from ember.vision.datasets import CIFAR10, CIFAR100, EMNIST, KMNIST, MNIST, QMNIST, FashionMNIST
from ember.vision.datasets.mnist import read_image_file, read_label_file, read_sn3_pascalvincent_tensor
from ember.vision.datasets.utils import download_url

pytest.importorskip("PIL")

_IDX = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}


def idx(arr, code: int = 8) -> bytes:
    """IDX bytes: magic (0, 0, type, ndim), big-endian int32 sizes, big-endian values."""
    arr = np.asarray(arr)
    head = bytes([0, 0, code, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return head + arr.astype(_IDX[code]).tobytes()


def write(path, blob: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(blob)


def md5(blob: bytes) -> str:
    return hashlib.md5(blob).hexdigest()


IMAGES = {"train": np.arange(3 * 28 * 28).reshape(3, 28, 28) % 251, "t10k": np.full((2, 28, 28), 7)}
LABELS = {"train": [5, 0, 9], "t10k": [1, 2]}


def mnist_files(gz: bool = False) -> dict[str, bytes]:
    files = {}
    for pre in ("train", "t10k"):
        files[f"{pre}-images-idx3-ubyte"] = idx(IMAGES[pre])
        files[f"{pre}-labels-idx1-ubyte"] = idx(LABELS[pre])
    return {k + ".gz": gzip.compress(v) for k, v in files.items()} if gz else files


def write_mnist(root, name: str = "MNIST") -> None:
    for fname, blob in mnist_files().items():
        write(os.path.join(root, name, "raw", fname), blob)


class FakeResponse(io.BytesIO):
    pass


@pytest.fixture
def served(monkeypatch):
    """url → bytes served by a fake urlopen (records the URLs asked); unknown URLs raise URLError."""
    table: dict[str, bytes] = {}
    asked: list[str] = []

    def urlopen(req, *args, **kwargs):
        url = req.full_url
        asked.append(url)
        assert req.get_header("User-agent") == "pytorch/vision"
        if url not in table:
            raise urllib.error.URLError("offline")
        return FakeResponse(table[url])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    table["asked"] = asked   # type: ignore[assignment]
    return table


# ----------------------------------------------------------------------------------------------- MNIST
def test_mnist_loads_raw_files(tmp_path):
    write_mnist(tmp_path)
    ds = MNIST(str(tmp_path))
    assert ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == (3, 28, 28) and ds.data.is_contiguous()
    np.testing.assert_array_equal(ds.data.numpy(), IMAGES["train"])
    assert ds.targets.dtype == ember.int64 and ds.targets.tolist() == LABELS["train"]
    assert len(ds) == 3 and ds.train is True
    img, target = ds[1]
    assert img.mode == "L" and img.size == (28, 28) and target == 0 and type(target) is int
    np.testing.assert_array_equal(np.asarray(img), IMAGES["train"][1])
    assert ds.classes[9] == "9 - nine" and ds.class_to_idx["3 - three"] == 3
    assert ds.raw_folder == os.path.join(str(tmp_path), "MNIST", "raw")
    assert ds.processed_folder == os.path.join(str(tmp_path), "MNIST", "processed")
    test = MNIST(tmp_path, train=False)
    assert test.targets.tolist() == [1, 2] and int(test.data.sum()) == 2 * 28 * 28 * 7
    assert repr(test) == f"Dataset MNIST\n    Number of datapoints: 2\n    Root location: {tmp_path}\n    Split: Test"


def test_mnist_transforms_and_repr(tmp_path):
    write_mnist(tmp_path)
    ds = MNIST(str(tmp_path), transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]),
               target_transform=lambda t: t * 10)
    x, y = ds[2]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype == ember.float32 and y == 90
    expected = (IMAGES["train"][2] / 255.0 - 0.5) / 0.5
    np.testing.assert_allclose(x.numpy()[0], expected, rtol=1e-6, atol=1e-6)
    text = repr(ds).replace(hex(id(ds.target_transform)), "ADDR")
    assert text == (f"Dataset MNIST\n    Number of datapoints: 3\n    Root location: {tmp_path}\n    Split: Train\n"
                    "    StandardTransform\nTransform: Compose(\n               ToTensor()\n"
                    "               Normalize(mean=(0.5,), std=(0.5,))\n           )\n"
                    "Target transform: <function test_mnist_transforms_and_repr.<locals>.<lambda> at ADDR>")


def test_mnist_deprecated_aliases(tmp_path):
    write_mnist(tmp_path)
    ds = MNIST(tmp_path)
    for alias, msg, attr in (("train_data", "train_data has been renamed data", "data"),
                             ("test_labels", "test_labels has been renamed targets", "targets")):
        with pytest.warns(UserWarning, match=f"^{msg}$"):
            assert getattr(ds, alias) is getattr(ds, attr)


@pytest.mark.parametrize("cls, first_class", [(FashionMNIST, "T-shirt/top"), (KMNIST, "o")])
def test_mnist_lookalikes_use_their_folder(tmp_path, cls, first_class):
    write_mnist(tmp_path, cls.__name__)
    ds = cls(tmp_path, train=False)
    assert ds.classes[0] == first_class and len(ds.classes) == 10 and ds.targets.tolist() == [1, 2]
    assert repr(ds).startswith(f"Dataset {cls.__name__}\n")
    with pytest.raises(RuntimeError, match="^Dataset not found. You can use download=True to download it$"):
        MNIST(tmp_path)


def test_mnist_legacy_processed_tensors(tmp_path):
    os.makedirs(tmp_path / "MNIST" / "processed")
    data = ember.arange(2 * 28 * 28).to(ember.uint8).view(2, 28, 28)
    ember.save((data, ember.tensor([3, 4])), str(tmp_path / "MNIST" / "processed" / "training.pt"))
    ember.save((data[:1].clone(), ember.tensor([8])), str(tmp_path / "MNIST" / "processed" / "test.pt"))
    ds = MNIST(tmp_path, train=False)
    assert ds.targets.tolist() == [8] and ds[0][0].size == (28, 28)


def test_mnist_download_offline_lists_each_mirror(tmp_path, served):
    with pytest.raises(RuntimeError) as info:
        MNIST(tmp_path, download=True)
    assert str(info.value) == ("Error downloading train-images-idx3-ubyte.gz:\n"
                               "Tried https://ossci-datasets.s3.amazonaws.com/mnist/, got:\n<urlopen error offline>\n"
                               "Tried http://yann.lecun.com/exdb/mnist/, got:\n<urlopen error offline>\n")
    # the failing https URL is retried over http before the next mirror
    assert served["asked"] == ["https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
                               "http://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
                               "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz"]


def test_mnist_download_verifies_extracts_and_skips(tmp_path, served, monkeypatch):
    files = mnist_files(gz=True)
    monkeypatch.setattr(MNIST, "resources", [(name, md5(blob)) for name, blob in files.items()])
    served.update({f"http://yann.lecun.com/exdb/mnist/{name}": blob for name, blob in files.items()})
    ds = MNIST(tmp_path, train=False, download=True)
    assert ds.targets.tolist() == [1, 2]
    assert sorted(os.listdir(ds.raw_folder)) == sorted(list(files) + [n[:-3] for n in files])
    asked = len(served["asked"])
    MNIST(tmp_path, download=True)   # everything present: nothing fetched
    assert len(served["asked"]) == asked


def test_mnist_download_uses_verified_gz_and_rejects_bad_md5(tmp_path, served, monkeypatch):
    files = mnist_files(gz=True)
    for name, blob in files.items():
        write(os.path.join(tmp_path, "MNIST", "raw", name), blob)
    with pytest.raises(RuntimeError, match="^Dataset not found"):   # .gz alone is not read without download
        MNIST(tmp_path)
    monkeypatch.setattr(MNIST, "resources", [(name, md5(blob)) for name, blob in files.items()])
    assert MNIST(tmp_path, download=True).targets.tolist() == LABELS["train"] and served["asked"] == []
    monkeypatch.setattr(MNIST, "resources", [(name, "0" * 32) for name in files])
    monkeypatch.setattr(MNIST, "mirrors", ["http://m/"])
    served["http://m/train-images-idx3-ubyte.gz"] = files["train-images-idx3-ubyte.gz"]
    with pytest.raises(RuntimeError) as info:
        MNIST(tmp_path / "other", download=True)
    assert str(info.value) == ("Error downloading train-images-idx3-ubyte.gz:\n"
                               "Tried http://m/, got:\nFile not found or corrupted.\n")


def test_download_url_https_falls_back_to_http(tmp_path, served):
    served["http://h/x.bin"] = b"abc"
    download_url("https://h/x.bin", str(tmp_path), md5=md5(b"abc"))
    assert (tmp_path / "x.bin").read_bytes() == b"abc"


# ------------------------------------------------------------------------------------------ IDX reader
@pytest.mark.parametrize("values, code, dtype", [
    (np.arange(-3, 3).reshape(2, 3), 12, ember.int32), (np.array([0.5, -2.25, 1e300]), 14, ember.float64),
    (np.array([[-1.5], [3.0]]), 13, ember.float32), (np.array([-128, 5, 127]), 9, ember.int8),
    (np.array([-300, 2]), 11, ember.int16)])
def test_read_sn3_types_are_big_endian(tmp_path, values, code, dtype):
    write(tmp_path / "f", idx(values, code))
    x = read_sn3_pascalvincent_tensor(str(tmp_path / "f"))
    assert x.dtype == dtype and tuple(x.shape) == values.shape and x.tolist() == values.tolist()


def test_read_idx_errors(tmp_path):
    write(tmp_path / "labels", idx([1, 2, 3]))
    write(tmp_path / "images16", idx(np.zeros((1, 2, 2)), 11))
    write(tmp_path / "short", idx(np.zeros((2, 2, 2)))[:-1])
    with pytest.raises(ValueError, match="^x should have 3 dimension instead of 1$"):
        read_image_file(str(tmp_path / "labels"))
    with pytest.raises(TypeError, match="^x should be of dtype torch.uint8 instead of torch.int16$"):
        read_image_file(str(tmp_path / "images16"))
    with pytest.raises(RuntimeError, match=r"^shape '\[2, 2, 2\]' is invalid for input of size 7$"):
        read_image_file(str(tmp_path / "short"))
    with pytest.raises(AssertionError):
        read_sn3_pascalvincent_tensor(str(tmp_path / "short"))   # strict: the count must match
    assert read_label_file(str(tmp_path / "labels")).dtype == ember.int64


# --------------------------------------------------------------------------------------- EMNIST / QMNIST
def emnist_files(split: str) -> dict[str, bytes]:
    return {f"emnist-{split}-{t}-{kind}": idx(arr) for t, n in (("train", 2), ("test", 1))
            for kind, arr in (("images-idx3-ubyte", np.full((n, 28, 28), n)), ("labels-idx1-ubyte", [26] * n))}


def test_emnist_splits_and_download_from_zip(tmp_path, served, monkeypatch):
    with pytest.raises(ValueError, match=r"^Unknown value 'foo' for argument split. Valid values are "
                                         r"\{'byclass', 'bymerge', 'balanced', 'letters', 'digits', 'mnist'\}.$"):
        EMNIST(tmp_path, split="foo")
    with pytest.raises(ValueError, match="^Expected type str for argument split, but got type <class 'int'>.$"):
        EMNIST(tmp_path, split=3)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, blob in emnist_files("letters").items():
            z.writestr(f"gzip/{name}.gz", gzip.compress(blob))
    monkeypatch.setattr(EMNIST, "md5", md5(buf.getvalue()))
    served[EMNIST.url] = buf.getvalue()
    ds = EMNIST(tmp_path, split="letters", train=False, download=True)
    assert ds.classes[:3] == ["N/A", "a", "b"] and len(ds.classes) == 27 and ds[0][1] == 26
    assert ds.data.shape == (1, 28, 28) and int(ds.data.max()) == 1
    assert "gzip" not in os.listdir(ds.raw_folder) and repr(ds).endswith("Split: Test")
    assert len(EMNIST.classes_split_dict["byclass"]) == 62 and len(EMNIST.classes_split_dict["bymerge"]) == 47


def test_qmnist_subsets_and_compat(tmp_path):
    labels = np.arange(3 * 8).reshape(3, 8) - 4
    for t in ("train", "test"):
        write(tmp_path / "QMNIST" / "raw" / f"qmnist-{t}-images-idx3-ubyte", idx(np.zeros((3, 28, 28))))
        write(tmp_path / "QMNIST" / "raw" / f"qmnist-{t}-labels-idx2-int", idx(labels, 12))
    ds = QMNIST(tmp_path, train=False)
    assert ds.targets.dtype == ember.int64 and ds.targets.tolist() == labels.tolist()
    assert ds[1][1] == 4 and repr(ds).endswith("Split: test")
    raw = QMNIST(tmp_path, what="test50k", compat=False)
    assert len(raw) == 0 and len(QMNIST(tmp_path, what="test10k")) == 3
    assert QMNIST(tmp_path, compat=False)[2][1].tolist() == labels[2].tolist()
    with pytest.raises(RuntimeError, match="^Dataset not found"):
        QMNIST(tmp_path, what="nist")


# ----------------------------------------------------------------------------------------------- CIFAR
def cifar_archive(cls, label_key: str, names_key: str, n: int = 2) -> tuple[bytes, dict[str, str]]:
    """A tar.gz of ``cls.base_folder`` with tiny pickled batches; returns it and each member's md5."""
    blobs = {}
    for k, (name, _) in enumerate(cls.train_list + cls.test_list):
        data = np.arange(n * 3072).reshape(n, 3072) % 251 + k
        blobs[name] = pickle.dumps({"data": data.astype(np.uint8), label_key: [k, k + 1][:n], "batch_label": name})
    blobs[cls.meta["filename"]] = pickle.dumps({names_key: [f"class{i}" for i in range(10)]})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, blob in blobs.items():
            info = tarfile.TarInfo(f"{cls.base_folder}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buf.getvalue(), {name: md5(blob) for name, blob in blobs.items()}


def patch_cifar(monkeypatch, cls, served, label_key, names_key):
    tgz, sums = cifar_archive(cls, label_key, names_key)
    monkeypatch.setattr(cls, "train_list", [[name, sums[name]] for name, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[name, sums[name]] for name, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", dict(cls.meta, md5=sums[cls.meta["filename"]]))
    monkeypatch.setattr(cls, "tgz_md5", md5(tgz))
    served[cls.url] = tgz


def test_cifar10_download_and_load(tmp_path, served, monkeypatch):
    with pytest.raises(RuntimeError, match="^Dataset not found or corrupted. You can use download=True to download"):
        CIFAR10(tmp_path)
    patch_cifar(monkeypatch, CIFAR10, served, "labels", "label_names")
    ds = CIFAR10(str(tmp_path), download=True)
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8 and ds.data.shape == (10, 32, 32, 3)
    assert ds.targets == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5] and len(ds) == 10
    # a row is the R, G then B plane (32x32 each); batch k's values are position % 251 + k
    assert ds.data[0, 0, 1].tolist() == [1, 21, 41] and ds.data[1, 0, 0].tolist() == [60, 80, 100]
    assert ds.data[2, 1, 0].tolist() == [33, 53, 73]
    img, target = ds[3]
    assert img.mode == "RGB" and img.size == (32, 32) and target == 2
    np.testing.assert_array_equal(np.asarray(img), ds.data[3])
    assert ds.classes[4] == "class4" and ds.class_to_idx["class9"] == 9
    assert repr(ds) == f"Dataset CIFAR10\n    Number of datapoints: 10\n    Root location: {tmp_path}\n    Split: Train"
    assert sorted(os.listdir(tmp_path)) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    served.clear()
    assert len(CIFAR10(tmp_path, train=False, download=True)) == 2   # present and intact: no fetch
    with open(tmp_path / "cifar-10-batches-py" / "batches.meta", "ab") as f:
        f.write(b"x")
    with pytest.raises(RuntimeError, match="^Dataset metadata file not found or corrupted. You can use download"):
        CIFAR10(tmp_path)


def test_cifar100_fine_labels(tmp_path, served, monkeypatch):
    patch_cifar(monkeypatch, CIFAR100, served, "fine_labels", "fine_label_names")
    ds = CIFAR100(tmp_path, train=False, download=True, transform=T.ToTensor())
    x, y = ds[1]
    assert ds.targets == [1, 2] and y == 2 and tuple(x.shape) == (3, 32, 32) and ds.classes[0] == "class0"
    assert os.path.isdir(tmp_path / "cifar-100-python") and repr(ds).startswith("Dataset CIFAR100\n")


def test_cifar_download_offline(tmp_path, served):
    with pytest.raises(urllib.error.URLError):
        CIFAR10(tmp_path, download=True)
