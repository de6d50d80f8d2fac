"""Calling a module with some parameters/buffers swapped for given tensors (by dotted name), restoring the
originals afterwards: the one implementation behind ``torch.func.functional_call`` and the deprecated
``nn.utils.stateless.functional_call``."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from ..._core.warn import warn
from ..._tensor import Tensor
from ..modules.module import Module

__all__ = ["functional_call"]

_MISSING: Any = object()


def _submodule(module: Any, path: str) -> Any:
    """The submodule at dotted ``path`` ('' is ``module`` itself), with torch's errors."""
    for attr in path.split(".") if path else ():
        try:
            child = getattr(module, attr)
        except AttributeError as ex:
            raise AttributeError(f"{module._get_name()} has no attribute `{attr}`") from ex
        if not isinstance(child, Module):
            raise TypeError(f"submodule `{path}`: {child} is not an instance of torch.nn.Module")
        module = child
    return module


def _swap_tensor(root: Any, name: str, tensor: Any) -> Any:
    """Put ``tensor`` (``_MISSING``: delete) at dotted ``name`` of ``root`` — into the owner's parameter or
    buffer slot when it has one, else as a plain attribute — and return what was there (``_MISSING`` if
    nothing)."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of torch.Tensor")
    prefix, _, attr = name.rpartition(".")
    owner = _submodule(root, prefix)
    if attr == "":
        raise KeyError('tensor name can\'t be empty string ""')
    for slots in (owner._parameters, owner._buffers):
        if attr in slots:
            old = slots[attr]
            if tensor is _MISSING:
                del slots[attr]
            else:
                slots[attr] = tensor
            return old
    old = getattr(owner, attr) if hasattr(owner, attr) else _MISSING
    if old is not _MISSING and old is not None and not isinstance(old, Tensor):
        raise TypeError(f"attribute `{attr}`: {old} is not an instance of torch.Tensor")
    if tensor is not _MISSING:
        setattr(owner, attr, tensor)
    elif hasattr(owner, attr):
        delattr(owner, attr)
    return old


def _swap_all(root: Any, tensors: dict[str, Any]) -> dict[str, Any]:
    """Swap every entry in; on an error, swap back what was already swapped and re-raise."""
    old: dict[str, Any] = {}
    try:
        for name, t in tensors.items():
            old[name] = _swap_tensor(root, name, t)
    except Exception:
        for name, t in old.items():
            _swap_tensor(root, name, t)
        raise
    return old


def _named_tensors(module: Any) -> list[tuple[str, Tensor]]:
    """Every parameter and buffer name, a shared tensor once per name."""
    return [*module.named_parameters(remove_duplicate=False), *module.named_buffers(remove_duplicate=False)]


def _untie(module: Any, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` extended to every name tied (the same tensor) to a given name, refusing two different
    values for one tied tensor."""
    names_of: dict[int, set[str]] = {}
    for name, t in dict(_named_tensors(module)).items():
        names_of.setdefault(id(t), set()).add(name)
    tied = {n: group for group in names_of.values() if len(group) > 1 for n in group}
    untied = dict(given)
    for name in [n for n in given if n in tied]:
        group = tied[name]
        values = {id(given[n]) for n in group if n in given}
        if len(values) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(group)}, which are tied. "
                             "Consider using tie_weights=False")
        untied.update(dict.fromkeys(group, given[name]))
    return untied


@contextlib.contextmanager
def _reparametrize_module(module: Any, parameters_and_buffers: dict[str, Any], tie_weights: bool = False,
                          strict: bool = False) -> Iterator[None]:
    """Within the block, ``module`` sees the given tensors in place of its own; afterwards the originals are
    back and any entry the module rebound during the block is written back into ``parameters_and_buffers``."""
    tensors = _untie(module, parameters_and_buffers) if tie_weights else parameters_and_buffers
    if strict:
        valid = {name for name, _ in _named_tensors(module)}
        missing, unexpected = sorted(valid - set(tensors)), sorted(set(tensors) - valid)
        msgs = ([f"Unexpected key(s): {', '.join(map(repr, unexpected))}."] if unexpected else []) + \
            ([f"Missing key(s): {', '.join(map(repr, missing))}."] if missing else [])
        if msgs:
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(msgs))
    originals: dict[str, Any] = {}
    try:
        originals = _swap_all(module, tensors)
        yield
    finally:
        current = _swap_all(module, originals)
        parameters_and_buffers.update({k: current[k] for k in parameters_and_buffers if k in current})


def _functional_call(module: Any, parameters_and_buffers: dict[str, Any], args: Any = None, kwargs: Any = None,
                     *, tie_weights: bool = True, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with ``parameters_and_buffers`` swapped in (a non-tuple ``args`` is the one
    positional argument)."""
    parallel = sys.modules.get("ember.nn.parallel.data_parallel")   # (not loaded: no DataParallel exists)
    if parallel is not None and isinstance(module, parallel.DataParallel):
        raise RuntimeError("The stateless API can't be used with nn.DataParallel module")
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights, strict=strict):
        return module(*args, **(kwargs or {}))


def functional_call(module: Any, parameters_and_buffers: dict[str, Any], args: Any = None, kwargs: Any = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """Deprecated alias of ``torch.func.functional_call`` (one dict of replacements)."""
    warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed "
         "in a future version of PyTorch. Please use `torch.func.functional_call` instead which is a "
         "drop-in replacement.", FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
