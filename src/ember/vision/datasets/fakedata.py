"""FakeData: random images, each a pure function of its index (torchvision's seeding, so the same images)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...ops.random import get_rng_state, manual_seed, randint, randn, set_rng_state
from ..transforms import functional as F
from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` PIL images of ``image_size`` (C, H, W) drawn from N(0, 1) and integer targets.

    Sample ``i`` is drawn under ``manual_seed(i + random_offset)``; the global generator's state is restored.
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224), num_classes: int = 10,
                 transform: Callable[..., Any] | None = None, target_transform: Callable[..., Any] | None = None,
                 random_offset: int = 0) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple[Any, int]:
        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        state = get_rng_state()
        manual_seed(index + self.random_offset)
        img = randn(*self.image_size)
        target = int(randint(0, self.num_classes, size=(1,))[0].item())
        set_rng_state(state)
        sample: Any = F.to_pil_image(img)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self) -> int:
        return self.size
