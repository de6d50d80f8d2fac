"""``torch.nested``: nested tensors (batches of tensors of different sizes), strided and jagged layouts.

The tensor type and its design are in :mod:`ember.nested._tensor`; what ops do with it in :mod:`._ops`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._tensor import Tensor
from ..ops import creation as C
from ..ops import reduction as R
from ..ops import shape as SH
from ..ops.extra import strided
from ..sparse._coo import not_implemented as _dispatch_error
from ._tensor import NestedTensor, from_list, jagged, prototype_warning, to_padded, wrap

__all__ = ["to_padded_tensor", "as_nested_tensor", "nested_tensor", "nested_tensor_from_jagged", "narrow",
           "masked_select"]


def _check_layout(layout: Any) -> bool:
    """Whether ``layout`` asks for the jagged layout (``None`` is strided); torch's error for others."""
    if layout is None or layout is strided:
        return False
    if layout is jagged:
        return True
    raise RuntimeError(f"Specified layout is unsupported for nested tensors: {layout}")


def _make(buf: Tensor, sizes: np.ndarray, is_jagged: bool) -> NestedTensor:
    if is_jagged:
        if sizes.shape[1] == 0 or (len(sizes) and (sizes[:, 1:] != sizes[0, 1:]).any()):
            raise RuntimeError("Cannot represent given tensor list as a nested tensor with the jagged layout. Note "
                               "that the jagged layout only allows for a single ragged dimension. For example: "
                               "(B, *, D_0, D_1, ..., D_N), with ragged * dim.")
    else:
        prototype_warning()
    return wrap(buf, sizes, is_jagged=is_jagged)


def nested_tensor(tensor_list: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                  requires_grad: bool = False, pin_memory: bool = False) -> NestedTensor:
    """A new nested tensor (a leaf, no autograd history) copying ``tensor_list``'s tensors (or lists of
    numbers)."""
    is_jagged = _check_layout(layout)
    if not isinstance(tensor_list, list):
        raise TypeError("Only lists (List[Tensor] and List[List...[Scalar]]) are accepted in nested_tensor")
    tensors = [t if isinstance(t, Tensor) else C.tensor(t, dtype=dtype) for t in tensor_list]
    buf, sizes = from_list(tensors, dtype, device, detach=True)
    nt = _make(buf, sizes, is_jagged)
    if requires_grad:
        nt.requires_grad_(True)
    return nt


def as_nested_tensor(ts: Any, dtype: Any = None, device: Any = None, layout: Any = None) -> NestedTensor:
    """A nested tensor that keeps autograd history: from a list/tuple of tensors (their gradients flow back)
    or from a tensor whose dim 0 is the batch (a view of its memory)."""
    is_jagged = _check_layout(layout)
    if isinstance(ts, Tensor):
        if ts.dim() < 1:
            raise RuntimeError("as_nested_tensor(): Expected tensor argument to have dim() > 1")
        src = ts.to(device=device or ts.device, dtype=dtype or ts.dtype)
        sizes = np.tile(np.array(src.shape[1:], dtype=np.int64), (src.shape[0], 1))
        return _make(src.reshape(-1), sizes, is_jagged)
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError("as_nested_tensor(): Expected first argument to be a tensor or a list / tuple of tensors ")
    buf, sizes = from_list(list(ts), dtype, device, detach=False)
    return _make(buf, sizes, is_jagged)


def nested_tensor_from_jagged(values: Tensor, offsets: Tensor | None = None, lengths: Tensor | None = None,
                              jagged_dim: int | None = None, min_seqlen: int | None = None,
                              max_seqlen: int | None = None) -> NestedTensor:
    """A jagged nested tensor over ``values`` (``(sum of lengths, *inner)``): constituent ``i`` is
    ``values[offsets[i] : offsets[i] + lengths[i]]`` (``lengths`` defaults to the offsets' differences;
    with it the tensor has holes and is not contiguous). Gradients flow back to ``values``."""
    if jagged_dim not in (None, 1):
        raise ValueError("nested_tensor_from_jagged(): only jagged_dim=1 is supported by ember")
    if offsets is None:
        if lengths is None:
            raise RuntimeError("nested_tensor_from_jagged(): At least one of offsets or lengths is required.")
        offsets = SH.cat([C.zeros(1, dtype=lengths.dtype), R.cumsum(lengths, 0)])
        lengths, holes = None, False
    else:
        holes = lengths is not None
    off = np.asarray(offsets.tolist(), dtype=np.int64)
    lens = np.asarray(lengths.tolist(), dtype=np.int64) if holes else np.diff(off)
    inner = tuple(values.shape[1:])
    sizes = np.array([(int(n), *inner) for n in lens], dtype=np.int64).reshape(len(lens), 1 + len(inner))
    if holes:
        rows = np.concatenate([np.arange(o, o + n) for o, n in zip(off[:-1] if len(off) > len(lens) else off, lens,
                                                                        strict=True)]) if len(lens) else \
            np.zeros(0, np.int64)
        buf = values[C.tensor(rows.tolist(), dtype=D.int64)]
    else:
        buf = values[int(off[0]):int(off[-1])] if len(off) else values
    nt = wrap(buf.reshape(-1) if not holes else buf, sizes, is_jagged=True, contiguous=not holes)
    nt._joffsets = offsets
    nt._jlengths = lengths
    return nt


def narrow(tensor: Tensor, dim: int, start: Any, length: Any, layout: Any = strided) -> NestedTensor:
    """A nested tensor of ``tensor``'s rows narrowed along ``dim``: strided, only ``dim=0`` with int bounds;
    jagged, ``dim=1`` with a start and length per row (a non-contiguous tensor with holes)."""
    is_jagged = _check_layout(layout)
    if not is_jagged:
        if isinstance(start, Tensor) or isinstance(length, Tensor):
            raise RuntimeError("start and length must be integers for the strided layout NT impl")
        if dim != 0:
            raise RuntimeError(f"narrow(): only dim=0 supported for nested tensors, but got: {dim}")
        return as_nested_tensor(list(tensor.unbind(0))[start:start + length])
    if dim != 1:
        raise RuntimeError("jagged layout only supports dim=1")
    b, t = tensor.shape[0], tensor.shape[1]
    starts = np.broadcast_to(np.asarray(start.tolist() if isinstance(start, Tensor) else start, np.int64), (b,))
    lens = np.broadcast_to(np.asarray(length.tolist() if isinstance(length, Tensor) else length, np.int64), (b,))
    offsets = C.tensor(np.concatenate([starts + np.arange(b) * t, [starts[-1] + (b - 1) * t + lens[-1]]]).tolist(),
                           dtype=D.int64)
    values = tensor.reshape(-1, *tensor.shape[2:])
    return nested_tensor_from_jagged(values, offsets, C.tensor(lens.tolist(), dtype=D.int64))


def to_padded_tensor(input: Tensor, padding: float, output_size: Sequence[int] | None = None) -> Tensor:
    """The dense tensor of ``input``'s constituents padded with ``padding`` to the largest (or
    ``output_size``) sizes."""
    if not isinstance(input, NestedTensor):
        raise _dispatch_error("to_padded_tensor", "CPU")
    if input._is_jagged and not input._contig:
        raise RuntimeError("to_padded_tensor(): not supported for nested tensors with holes")
    return to_padded(input, padding, output_size)


def masked_select(tensor: Tensor, mask: Tensor) -> NestedTensor:
    """A jagged nested tensor whose constituent ``i`` holds ``tensor[i][mask[i]]`` (gradients flow back)."""
    if tensor.dim() != 2 or mask.shape != tensor.shape:
        raise RuntimeError(f"Mask with shape {tuple(mask.shape)} is not compatible with input's shape "
                           f"{tuple(tensor.shape)}")
    lengths = mask.sum(-1)
    sizes = np.asarray(lengths.tolist(), dtype=np.int64).reshape(-1, 1)
    return wrap(tensor[mask], sizes, is_jagged=True)
