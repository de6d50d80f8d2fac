"""Image utilities: ``make_grid`` tiles a batch into one image; ``save_image`` writes it with PIL."""

from __future__ import annotations

import math
import os
from typing import IO, Any

from .._core import dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.shape import cat, stack

__all__ = ["make_grid", "save_image"]


def make_grid(tensor: Tensor | list[Tensor], nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile a (B, C, H, W) batch (or list of images) into one (C, H', W') image, ``nrow`` images per row.

    ``normalize`` shifts values to [0, 1] using ``value_range`` (default: the min and max, per image with
    ``scale_each``). Single-channel images are repeated to three channels.
    """
    if isinstance(tensor, list):
        tensor = stack(tensor, dim=0)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = cat((tensor, tensor, tensor), 1)
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")
        tensor = tensor.clone()
        dims = (1, 2, 3) if scale_each else (0, 1, 2, 3)
        if value_range is not None:
            low, high = (tensor.new_tensor(float(v)) for v in value_range)
        else:
            low, high = tensor.amin(dim=dims, keepdim=True), tensor.amax(dim=dims, keepdim=True)
        tensor = tensor.clamp(min=low, max=high).sub_(low).div_((high - low).clamp(min=1e-5))
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    c, h, w = tensor.shape[1:]
    height, width = h + padding, w + padding
    # every cell is an image with `padding` rows/columns before it; one more band closes the grid
    cells = tensor.new_full((ymaps * xmaps, c, height, width), pad_value)
    cells[:nmaps, :, padding:, padding:] = tensor
    grid = tensor.new_full((c, height * ymaps + padding, width * xmaps + padding), pad_value)
    grid[:, :height * ymaps, :width * xmaps] = (
        cells.view(ymaps, xmaps, c, height, width).permute(2, 0, 3, 1, 4).reshape(c, ymaps * height, xmaps * width))
    return grid


def save_image(tensor: Tensor | list[Tensor], fp: str | os.PathLike[str] | IO[bytes], format: str | None = None,
               **kwargs: Any) -> None:
    """Save a tensor (or a batch, tiled by ``make_grid(**kwargs)``) of values in [0, 1] as an image file."""
    from PIL import Image

    with no_grad():
        grid = make_grid(tensor, **kwargs)
        arr = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", D.uint8).numpy()
    Image.fromarray(arr).save(fp, format=format)
