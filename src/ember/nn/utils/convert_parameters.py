"""``parameters_to_vector`` / ``vector_to_parameters``."""

from __future__ import annotations

from collections.abc import Iterable

from ..._tensor import Tensor
from ...ops.shape import cat
from ..modules.module import typename

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _same_device(param: Tensor, device: object) -> object:
    if device is not None and param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return param.device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-d tensor."""
    device = None
    flat = []
    for p in parameters:
        device = _same_device(p, device)
        flat.append(p.view(-1))
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (replacing their data)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {typename(vec)}")
    device = None
    pointer = 0
    for p in parameters:
        device = _same_device(p, device)
        n = p.numel()
        p.data = vec[pointer : pointer + n].view_as(p).data
        pointer += n
