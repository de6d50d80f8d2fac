"""``torchvision.datasets``: Digits (offline), ImageFolder / DatasetFolder, FakeData, TensorDataset."""

from __future__ import annotations

from ...utils.data import TensorDataset
from .digits import Digits
from .fakedata import FakeData
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, find_classes, make_dataset
from .vision import StandardTransform, VisionDataset

__all__ = ["Digits", "FakeData", "DatasetFolder", "ImageFolder", "TensorDataset", "VisionDataset",
           "StandardTransform", "IMG_EXTENSIONS", "default_loader", "find_classes", "make_dataset"]
