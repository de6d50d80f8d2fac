"""Digits: scikit-learn's bundled 8x8 handwritten digits (1797 images), an offline MNIST stand-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...ops.creation import from_numpy
from ...ops.random import Generator, randperm
from ..transforms import functional as F
from .vision import VisionDataset

__all__ = ["Digits"]


class Digits(VisionDataset):
    """Handwritten digits 0-9 from ``sklearn.datasets.load_digits`` (no download), served like MNIST.

    Samples are ("L"-mode PIL image, int label) pairs; ``data`` holds the uint8 images (N, S, S) scaled to
    0-255 and ``targets`` the int64 labels. ``upscale=True`` resizes to 28x28 (an int picks the size),
    bilinear with antialiasing. The train/test split is a random permutation from ``seed``; ``test_fraction``
    of the images form the test split.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root: str | None = None, train: bool = True, transform: Callable[..., Any] | None = None,
                 target_transform: Callable[..., Any] | None = None, *, upscale: bool | int = False,
                 test_fraction: float = 0.2, seed: int = 0) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction should be in (0, 1), got {test_fraction}")
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:
            raise ImportError("Digits needs scikit-learn: pip install 'ember[vision]' (or scikit-learn)") from e
        bunch = load_digits()
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)   # 0..16 → 0..255
        size = 28 if upscale is True else int(upscale) if upscale else 8
        data = from_numpy(images)
        if size != 8:
            data = F.resize(data, [size, size])   # uint8 in, rounded uint8 out
        perm = randperm(len(images), generator=Generator().manual_seed(seed))
        n_test = int(round(len(images) * test_fraction))
        index = (perm[n_test:] if train else perm[:n_test]).sort().values
        self.train = train
        self.data = data[index].contiguous()
        self.targets = from_numpy(bunch.target.astype(np.int64))[index].contiguous()

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, int]:
        img: Any = F.to_pil_image(self.data[index].numpy(), mode="L")
        target = int(self.targets[index])
        return self._transformed(img, target)

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


