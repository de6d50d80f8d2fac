"""``torchvision.datasets``: MNIST family, CIFAR, Digits (offline), ImageFolder / DatasetFolder, FakeData."""

from __future__ import annotations

from ...utils.data import TensorDataset
from .cifar import CIFAR10, CIFAR100
from .digits import Digits
from .fakedata import FakeData
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, find_classes, make_dataset
from .mnist import EMNIST, KMNIST, MNIST, QMNIST, FashionMNIST
from .vision import StandardTransform, VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "CIFAR10", "CIFAR100", "Digits", "FakeData",
           "DatasetFolder", "ImageFolder", "TensorDataset", "VisionDataset", "StandardTransform",
           "IMG_EXTENSIONS", "default_loader", "find_classes", "make_dataset"]
