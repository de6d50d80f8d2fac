"""``ember.vision``: torchvision's role — models, transforms, datasets and image utilities.

``import ember.vision as torchvision`` gives the familiar names. PIL and scikit-learn are optional and
imported only by the features that need them (PIL images, ``Digits``, ``save_image``).
"""

from __future__ import annotations

from . import datasets, models, ops, transforms, utils

__all__ = ["datasets", "models", "ops", "transforms", "utils"]
