"""``torch.torch_version``: the version string that compares with strings and tuples (``__version__ >= "2.0"``,
``__version__ < (2, 14)``) by PEP 440 order, as torch's ``TorchVersion`` does."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["TorchVersion"]

_PEP440 = re.compile(r"v?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|rc|alpha|beta|c)[-_.]?(\d*))?(?:[-_.]?post[-_.]?(\d*))?"
                     r"(?:[-_.]?dev[-_.]?(\d*))?(?:\+([a-z0-9._-]*))?", re.IGNORECASE)
_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2}


def _key(version: Any) -> tuple:
    """A sort key of a version (string, or tuple/list of numbers): release, pre-release, post- and dev-release,
    local label."""
    if isinstance(version, (tuple, list)):
        version = ".".join(str(v) for v in version)
    match = _PEP440.fullmatch(str(version).strip())
    if match is None:
        raise ValueError(f"Invalid version: '{version}'")
    release, pre, pre_n, post, dev, local = match.groups()
    numbers = [int(v) for v in release.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:   # 2.13 == 2.13.0
        numbers.pop()
    pre_key = (_PRE[pre.lower()], int(pre_n or 0)) if pre else ((-1, 0) if dev is not None and post is None
                                                                  else (3, 0))
    labels = tuple((1, int(part), "") if part.isdigit() else (0, 0, part.lower())
                   for part in re.split(r"[._-]", local or "") if part)   # a local label sorts after none
    return (tuple(numbers), pre_key, int(post or 0) if post is not None else -1,
            int(dev or 0) if dev is not None else float("inf"), labels)


class TorchVersion(str):
    """A version string comparing as a version with other strings and with tuples of numbers."""

    def __lt__(self, other: Any) -> bool:
        return _key(self) < _key(other)

    def __le__(self, other: Any) -> bool:
        return _key(self) <= _key(other)

    def __gt__(self, other: Any) -> bool:
        return _key(self) > _key(other)

    def __ge__(self, other: Any) -> bool:
        return _key(self) >= _key(other)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, tuple, list)):
            try:
                return _key(self) == _key(other)
            except ValueError:
                return str.__eq__(self, other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = str.__hash__
