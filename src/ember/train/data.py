"""Datasets for a run: the bundled digits, an ImageFolder tree, CSV / NumPy files, or a user's ``module:function``.

File data is read once into memory as arrays; the train/val/test split is a permutation fixed by the seed.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import from_numpy
from ..utils.data import Dataset, Subset
from ..utils.data import default_collate as _default_collate
from .config import import_object

__all__ = ["ArrayDataset", "DataInfo", "build_datasets", "collate", "load_inputs"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class DataInfo:
    """What the model and the predict command need to know about the data (stored in checkpoints)."""

    task: str
    num_classes: int
    sample_shape: list[int]
    classes: list[str] = field(default_factory=list)
    kind: str = "tensor"  # image | table | tensor: how `ember predict` reads its inputs
    grayscale: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ArrayDataset(Dataset):
    """Inputs and targets held as two arrays; ``__getitems__`` slices a whole batch at once."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = from_numpy(np.ascontiguousarray(x))
        self.y = from_numpy(np.ascontiguousarray(y))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        return self.x[i], self.y[i]

    def __getitems__(self, indices: list[int]) -> tuple[Any, Any]:
        idx = from_numpy(np.asarray(indices, dtype=np.int64))
        return self.x[idx], self.y[idx]


def collate(data: Any) -> Any:
    """A batch already sliced by ArrayDataset passes through; a list of samples is stacked as torch does."""
    return data if isinstance(data, tuple) else _default_collate(data)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits as (N, 1, 8, 8) float32 in [0, 1] and int64 labels.

    Read straight from scikit-learn's data file (the same values as ``sklearn.datasets.load_digits``) without
    importing scikit-learn, which costs seconds.
    """
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the digits dataset comes with scikit-learn: pip install 'ember[train]'")
    path = Path(next(iter(spec.submodule_search_locations)), "datasets", "data", "digits.csv.gz")
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    return (table[:, :64] / 16.0).reshape(-1, 1, 8, 8), table[:, 64].astype(np.int64)


def _split(n: int, fractions: list[float], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    n_val, n_test = round(n * fractions[1]), round(n * fractions[2])
    n_train = n - n_val - n_test
    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]


def _targets(y: np.ndarray, task: str) -> tuple[np.ndarray, list[str]]:
    """Class labels → int64 indices into the sorted class names; regression targets → float32 columns."""
    if task == "regression":
        y = y.astype(np.float32)
        return (y[:, None] if y.ndim == 1 else y), []
    classes, idx = np.unique(y, return_inverse=True)
    return idx.astype(np.int64).reshape(-1), [str(c) for c in classes]


def _image_array(path: Path, grayscale: bool, size: list[int] | None) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("L" if grayscale else "RGB")
        if size is not None and (im.height, im.width) != tuple(size):
            im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _image_folder(root: Path, grayscale: bool, size: list[int] | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``root/<class>/*.png`` (one pool, split later) or ``root/{train,val,test}/<class>/*.png`` (pre-split)."""
    splits = [s for s in ("train", "val", "test") if (root / s).is_dir()]
    parts = {s: root / s for s in splits} if "train" in splits else {"all": root}
    classes = sorted(p.name for p in parts.get("train", root).iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"data.path: no class folders under {str(parts.get('train', root))!r}")
    out = {}
    for name, folder in parts.items():
        xs, ys = [], []
        for label, cls in enumerate(classes):
            for f in sorted((folder / cls).glob("*")):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    xs.append(_image_array(f, grayscale, size))
                    ys.append(label)
        shapes = {a.shape for a in xs}
        if len(shapes) > 1:
            raise ValueError(f"data.path: images of different sizes {sorted(shapes)[:3]}...; set data.image_size")
        if not xs:
            raise ValueError(f"data.path: no images under {str(folder)!r}")
        out[name] = (np.stack(xs), np.asarray(ys, dtype=np.int64))
    out["classes"] = classes  # type: ignore[assignment]
    return out


def _read_csv(path: Path, target: int | str) -> tuple[np.ndarray, np.ndarray]:
    with path.open(newline="") as fh:
        rows = [r for r in csv.reader(fh) if r]
    header = None
    try:
        [float(v) for i, v in enumerate(rows[0]) if not isinstance(target, int) or i != target % len(rows[0])]
    except ValueError:
        header, rows = rows[0], rows[1:]
    width = len(rows[0])
    if isinstance(target, str):
        if header is None or target not in header:
            raise ValueError(f"data.target: got {target!r}; expected a column of {header}")
        col = header.index(target)
    else:
        col = target % width
    y = np.asarray([r[col] for r in rows])
    x = np.asarray([[float(v) for i, v in enumerate(r) if i != col] for r in rows], dtype=np.float32)
    try:
        y = y.astype(np.float64)
    except ValueError:
        pass
    return x, y


def build_datasets(cfg: dict[str, Any]) -> tuple[Dataset, Dataset, Dataset, DataInfo]:
    """The train, validation and test datasets of ``cfg['data']`` and their DataInfo."""
    d = cfg["data"]
    task, seed = d["task"], cfg["seed"]
    source = d["dataset"]
    base = Path(cfg.get("config_dir") or ".")
    kind, classes, grayscale = "tensor", [], False
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if source == "digits":
        arrays["all"] = load_digits()
        classes, kind, grayscale = [str(i) for i in range(10)], "image", True
    elif source == "image_folder":
        found = _image_folder(base / d["path"], d["grayscale"], d["image_size"])
        classes = found.pop("classes")  # type: ignore[assignment]
        arrays = found
        kind, grayscale = "image", d["grayscale"]
    elif source == "csv":
        x, y = _read_csv(base / d["path"], d["target"])
        y, classes = _targets(y, task)
        arrays["all"] = (x, y)
        kind = "table"
    elif source == "numpy":
        with np.load(base / d["path"]) as f:
            if "x" not in f or "y" not in f:
                raise ValueError(f"data.path: expected arrays 'x' and 'y' in {d['path']!r}, found {list(f)}")
            x, y = f["x"].astype(np.float32), f["y"]
        y, classes = _targets(y, task)
        arrays["all"] = (x, y)
    else:
        return _user_datasets(cfg)
    if "all" in arrays:
        x, y = arrays.pop("all")
        tr, va, te = _split(len(x), d["split"], seed)
        arrays = {"train": (x[tr], y[tr]), "val": (x[va], y[va]), "test": (x[te], y[te])}
    empty_like = (arrays["train"][0][:0], arrays["train"][1][:0])
    sets = [ArrayDataset(*arrays.get(s, empty_like)) for s in ("train", "val", "test")]
    x, y = arrays["train"]
    num = len(classes) if task == "classification" else int(np.prod(y.shape[1:]) or 1)
    info = DataInfo(task, num, list(x.shape[1:]), classes, kind, grayscale)
    return sets[0], sets[1], sets[2], info


def _user_datasets(cfg: dict[str, Any]) -> tuple[Dataset, Dataset, Dataset, DataInfo]:
    """``module:function(**kwargs)`` returns a dataset (split here), a (train, val, test) tuple or a dict with
    those keys (optionally ``num_classes`` / ``classes``)."""
    d = cfg["data"]
    fn = import_object(d["dataset"], cfg.get("config_dir"))
    got = fn(**d["kwargs"])
    extra: dict[str, Any] = {}
    if isinstance(got, dict):
        extra = got
        got = (got["train"], got.get("val"), got.get("test"))
    if isinstance(got, (tuple, list)):
        train, val, test = (list(got) + [None, None])[:3]
    else:
        tr, va, te = _split(len(got), d["split"], cfg["seed"])
        train, val, test = Subset(got, tr.tolist()), Subset(got, va.tolist()), Subset(got, te.tolist())
    empty = Subset(train, [])
    val, test = val if val is not None else empty, test if test is not None else empty
    x0, y0 = train[0]
    classes = [str(c) for c in extra.get("classes", getattr(train, "classes", []))]
    num = extra.get("num_classes") or len(classes)
    if not num:
        y0 = np.asarray(y0)
        if d["task"] == "classification":
            num = 1 + max(int(train[i][1]) for i in range(len(train)))
        else:
            num = int(np.prod(y0.shape) or 1)
    info = DataInfo(d["task"], int(num), list(x0.shape), classes, "tensor")
    return train, val, test, info


def load_inputs(paths: list[str], info: DataInfo) -> tuple[Any, list[str]]:
    """Read ``ember predict`` inputs (image files, .npy/.npz arrays, CSV rows) into one batch + a label each."""
    xs: list[np.ndarray] = []
    labels: list[str] = []
    shape = tuple(info.sample_shape)
    for p in map(Path, paths):
        suffix = p.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            a = _image_array(p, info.grayscale, list(shape[-2:]))
            xs.append(a[None])
            labels.append(str(p))
        elif suffix in (".npy", ".npz"):
            if suffix == ".npz":
                with np.load(p) as f:
                    a = f["x"] if "x" in f else f[next(iter(f))]
            else:
                a = np.load(p)
            a = a.astype(np.float32)
            single = a.shape == shape
            xs.append(a[None] if single else a)
            labels += [str(p)] if single else [f"{p}[{i}]" for i in range(len(a))]
        elif suffix == ".csv":
            with p.open(newline="") as fh:
                rows = [r for r in csv.reader(fh) if r]
            try:
                float(rows[0][0])
            except ValueError:
                rows = rows[1:]
            a = np.asarray([[float(v) for v in r[: int(np.prod(shape))]] for r in rows], dtype=np.float32)
            xs.append(a.reshape(-1, *shape))
            labels += [f"{p}:{i + 1}" for i in range(len(a))]
        else:
            raise ValueError(f"{p}: unsupported input {suffix!r}; expected an image, .npy/.npz or .csv file")
    for a, p in zip(xs, paths, strict=True):
        if tuple(a.shape[1:]) != shape:
            raise ValueError(f"{p}: got inputs of shape {list(a.shape[1:])}; the model expects {list(shape)}")
    return from_numpy(np.concatenate(xs)), labels
