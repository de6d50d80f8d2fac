"""``torch.utils.model_zoo``: :func:`load_url`, torch.hub's ``load_state_dict_from_url`` restricted to the
local cache — ember never downloads, so the file must already be in ``model_dir`` (default
``$TORCH_HOME/hub/checkpoints``), named as torch names it: ``file_name`` or the last path component of the URL."""

from __future__ import annotations

import os
import zipfile
from typing import Any
from urllib.parse import urlparse

from .._core.warn import warn

__all__ = ["load_url"]


def _get_torch_home() -> str:
    """``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch`` (as torch.hub)."""
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return os.path.expanduser(os.getenv("TORCH_HOME", default))


def _hub_dir() -> str:
    if os.getenv("TORCH_HUB"):
        warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead", stacklevel=3)
    return os.path.join(_get_torch_home(), "hub")


def _single_member_zip(filename: str) -> zipfile.ZipInfo | None:
    """The one member of a pre-1.6 (legacy) zipped checkpoint, else None."""
    if not zipfile.is_zipfile(filename):
        return None
    with zipfile.ZipFile(filename) as zf:
        members = zf.infolist()
    return members[0] if len(members) == 1 and not members[0].is_dir() else None


def load_url(url: str, model_dir: str | None = None, map_location: Any = None, progress: bool = True,
             check_hash: bool = False, file_name: str | None = None, weights_only: bool = False) -> Any:
    """Load the object serialized at ``url`` from the local checkpoint cache (``ember.load``)."""
    from ..serialization import load

    if os.getenv("TORCH_MODEL_ZOO"):
        warn("TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead", stacklevel=2)
    if model_dir is None:
        model_dir = os.path.join(_hub_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        raise FileNotFoundError(f'Cannot download "{url}": ember has no network access. Place the file at '
                                f"{cached_file} (or pass model_dir / file_name) and retry.")
    member = _single_member_zip(cached_file)
    if member is not None:
        warn("Falling back to the old format < 1.6. This support will be deprecated in favor of default "
             "zipfile format introduced in 1.6. Please redo torch.save() to save it in the new zipfile "
             "format.", FutureWarning, stacklevel=2)
        target = os.path.realpath(os.path.join(model_dir, member.filename))
        if not target.startswith(os.path.realpath(model_dir) + os.sep):
            raise ValueError(f"Attempted path traversal in zip file: {member.filename}")
        with zipfile.ZipFile(cached_file) as zf:
            zf.extract(member, model_dir)
        cached_file = target
    return load(cached_file, map_location=map_location, weights_only=weights_only)
