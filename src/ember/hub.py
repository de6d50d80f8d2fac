"""``torch.hub``: load models from a local repository's ``hubconf.py`` and checkpoints from torch's cache.

ember has no network access: ``source='github'`` and downloads raise with the path where the file is expected,
using torch's cache layout (``$TORCH_HOME/hub``, checkpoints in ``<hub dir>/checkpoints/<url basename>``)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import sys
import types
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load", "load_state_dict_from_url", "set_dir"]

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
MODULE_HUBCONF = "hubconf.py"
VAR_DEPENDENCY = "dependencies"
_hub_dir: str | None = None


def get_dir() -> str:
    """The hub cache directory: the one given to :func:`set_dir`, else ``$TORCH_HOME/hub``."""
    from .utils.model_zoo import _hub_dir as default_hub_dir
    return _hub_dir if _hub_dir is not None else default_hub_dir()


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub cache directory."""
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


def _import_hubconf(repo_dir: str) -> types.ModuleType:
    """Import ``repo_dir/hubconf.py`` (with ``repo_dir`` on ``sys.path`` for its own imports)."""
    path = os.path.join(repo_dir, MODULE_HUBCONF)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"[Errno 2] No such file or directory: '{path}'")
    sys.path.insert(0, repo_dir)
    try:
        spec = importlib.util.spec_from_file_location(MODULE_HUBCONF, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.path.remove(repo_dir)
    missing = [d for d in getattr(module, VAR_DEPENDENCY, []) if importlib.util.find_spec(d) is None]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    return module


def _repo_dir(repo_or_dir: str, source: str) -> str:
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "github":
        raise RuntimeError(f"Cannot fetch GitHub repository {repo_or_dir!r}: ember has no network access. Clone it "
                           f"locally and use source='local' with its directory.")
    return repo_or_dir


def _entrypoint(module: types.ModuleType, model: str) -> Callable[..., Any]:
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    fn = getattr(module, model, None)
    if fn is None or not callable(fn):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return fn


def _auto(github: str, source: str | None) -> str:
    """torch's ``list``/``help`` take only GitHub repos; ember also accepts a local directory (``source`` extra)."""
    return _repo_dir(github, source if source is not None else "local" if os.path.isdir(github) else "github")


def list(github: str, force_reload: bool = False, skip_validation: bool = False, trust_repo: Any = "check",
         verbose: bool = True, *, source: str | None = None) -> list[str]:  # noqa: A001
    """The public callables (entrypoints) a repository's ``hubconf.py`` defines."""
    module = _import_hubconf(_auto(github, source))
    return [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]


def help(github: str, model: str, force_reload: bool = False, skip_validation: bool = False,  # noqa: A001
         trust_repo: Any = "check", *, source: str | None = None) -> str | None:
    """The docstring of entrypoint ``model``."""
    return _entrypoint(_import_hubconf(_auto(github, source)), model).__doc__


def load(repo_or_dir: str, model: str, *args: Any, source: str = "github", trust_repo: Any = "check",
         force_reload: bool = False, verbose: bool = True, skip_validation: bool = False, **kwargs: Any) -> Any:
    """Call entrypoint ``model`` of the repository's ``hubconf.py`` with ``*args, **kwargs``."""
    return _entrypoint(_import_hubconf(_repo_dir(repo_or_dir, source)), model)(*args, **kwargs)


def _check_hash(filename: str, hash_prefix: str) -> None:
    with open(filename, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest[:len(hash_prefix)] != hash_prefix:
        raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
    """Copy ``url``'s cached file (``<hub dir>/checkpoints/<basename>``, or a ``file://`` URL) to ``dst``."""
    parsed = urlparse(url)
    src = parsed.path if parsed.scheme == "file" else os.path.join(get_dir(), "checkpoints",
                                                                     os.path.basename(parsed.path))
    if not os.path.exists(src):
        raise FileNotFoundError(f'Cannot download "{url}": ember has no network access. Place the file at {src} '
                                f"and retry.")
    if hash_prefix is not None:
        _check_hash(src, hash_prefix)
    if os.path.abspath(src) != os.path.abspath(dst):
        shutil.copyfile(src, os.path.expanduser(dst))


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None,
                             progress: bool = True, check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = False) -> dict[str, Any]:
    """Load the checkpoint of ``url`` from the cache (``model_dir``, default ``<hub dir>/checkpoints``).

    With ``check_hash`` the file's SHA-256 must start with the hex digits after the last ``-`` of its name."""
    from .utils.model_zoo import load_url

    model_dir = model_dir if model_dir is not None else os.path.join(get_dir(), "checkpoints")
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    if check_hash and os.path.exists(cached):
        match = HASH_REGEX.search(filename)
        if match:
            _check_hash(cached, match.group(1))
    return load_url(url, model_dir, map_location, progress, False, file_name, weights_only)
