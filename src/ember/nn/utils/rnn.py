"""Variable-length sequences for the recurrent layers: ``PackedSequence`` and packing/padding helpers.

A packed sequence stores the time steps of a batch sorted by decreasing length one after another: step
``t`` holds the ``batch_sizes[t]`` sequences still running, so an RNN never computes on padding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..._core import dtype as D
from ..._tensor import Tensor
from ...ops import creation as C
from ...ops.shape import stack
from ..functional import pad
from ..functional._common import Node, fused, result, xp

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``: made by :func:`pack_padded_sequence` or
    :func:`pack_sequence`, accepted and returned by the RNN modules. ``unsorted_indices`` is derived from
    ``sorted_indices`` when not given; ``data`` may also be a ``(data, batch_sizes)`` pair."""

    def __new__(
        cls,
        data: Any,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never be created "
                "manually. They should be instantiated by functions like pack_sequence and "
                "pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence"
            )
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with(self, data: Tensor) -> PackedSequence:
        """This sequence with ``data`` replaced; the permutations follow its device, ``batch_sizes`` stays on
        the CPU."""
        if data is self.data:
            return self
        move = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self._with(self.data.to(*args, **kwargs))

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self._with(self.data.cuda(*args, **kwargs))

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self._with(self.data.cpu(*args, **kwargs))

    def pin_memory(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(dtype=D.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=D.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=D.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=D.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=D.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=D.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=D.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=D.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    return permutation.argsort()


# ---- packing ----------------------------------------------------------------------------------------
def _packed_rows(lengths: list[int], steps: int, batch: int, batch_first: bool, ns: Any) -> Any:
    """Flat row indices (into the padded input viewed as ``(steps*batch, *)``) of the packed elements, in
    packed order: time step by time step, the running sequences of each step in batch order."""
    t = ns.arange(steps)[:, None]
    b = ns.arange(batch)[None, :]
    running = t < ns.asarray(lengths)[None, :]
    flat = b * steps + t if batch_first else t * batch + b
    return flat[running]


def _counts_above(values: list[int], n: int) -> list[int]:
    """``[#{v > k} for k in range(n)]`` (host metadata): batch sizes from lengths and lengths from batch
    sizes."""
    return (np.asarray(values)[None, :] > np.arange(n)[:, None]).sum(1).tolist()


class PackPaddedSequenceBackward0(Node):
    """Packing gathers rows of the padded input: its gradient scatters them back (zeros on padding)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        shape, rows = self.shape, self.rows
        zeros = g.new_zeros((shape[0] * shape[1], *shape[2:]))
        return (zeros.index_add(0, rows, g).view(shape),)


def _pack(input: Tensor, lengths: Tensor, batch_first: bool) -> tuple[Tensor, Tensor]:
    """torch's ``_pack_padded_sequence``: (packed data, batch_sizes) from a padded batch sorted by length."""
    if lengths.dim() != 1 or lengths.device.type != "cpu" or lengths.dtype is not D.int64:
        raise RuntimeError(
            f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.dim()}D "
            f"{lengths.device.type} {lengths.dtype._legacy.replace('Tensor', '')} tensor"
        )
    if input.dim() < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{input.dim()}, "
                         f"{input.dim() - 1}], but got 1)")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    lens = lengths.tolist()
    if len(lens) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={batch})")
    if batch and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if any(a < b for a, b in zip(lens, lens[1:], strict=False)):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
            "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement "
            "if you do not need ONNX exportability."
        )
    if batch and lens[0] > steps:
        raise RuntimeError(f"Expected sequence lengths to be at most the padded length {steps}, but got "
                           f"{lens[0]}")
    ns = xp(input)
    rows = _packed_rows(lens, steps, batch, batch_first, ns)
    data = result(input._data.reshape(steps * batch, *input.shape[2:])[rows], input)
    sizes = _counts_above(lens, lens[0] if batch else 0)
    out = fused(data, PackPaddedSequenceBackward0, (input,), shape=tuple(input.shape),
                rows=result(rows, input, D.int64))
    return out, C.tensor(sizes, dtype=D.int64)


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | Sequence[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences with the given
    lengths; without ``enforce_sorted`` the batch is sorted by decreasing length first (and the
    permutation is kept in the result)."""
    if not isinstance(lengths, Tensor):
        lengths = C.as_tensor(lengths, dtype=D.int64, device="cpu")
    else:
        lengths = lengths.to(dtype=D.int64)
    sorted_indices = None
    if not enforce_sorted:
        lengths, sorted_indices = lengths.sort(descending=True)
        sorted_indices = sorted_indices.to(input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    data, batch_sizes = _pack(input, lengths, batch_first)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`pack_padded_sequence`: (padded batch, lengths), in the original batch order,
    padded with ``padding_value`` up to ``total_length`` steps (default: the longest sequence)."""
    sizes = sequence.batch_sizes.tolist()
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total_length} and max sequence length being {steps}"
            )
        steps = total_length
    data = sequence.data
    batch = sizes[0] if sizes else 0
    lens = _counts_above(sizes, batch)
    padded = C.full((steps, batch, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    rows = _packed_rows(lens, steps, batch, False, xp(data))
    padded.view(steps * batch, *data.shape[1:])[result(rows, data, D.int64)] = data
    if batch_first:
        padded = padded.transpose(0, 1)
    lengths = C.tensor(lens, dtype=D.int64)
    if sequence.unsorted_indices is not None:
        return (padded.index_select(0 if batch_first else 1, sequence.unsorted_indices),
                lengths[sequence.unsorted_indices.cpu()])
    return padded, lengths


def pad_sequence(
    sequences: Tensor | Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """(max_len, batch, *) — or (batch, max_len, *) with ``batch_first`` — padded with ``padding_value``."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError(
            f"pad_sequence: Expected iterable for input sequences, but got arg of type: {type(sequences)}"
        )
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    seqs = list(sequences.unbind(0)) if isinstance(sequences, Tensor) else list(sequences)
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s.shape[0]
        amounts = [0, 0] * (s.dim() - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(pad(s, amounts, value=padding_value) if extra else s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False) -> list[Tensor]:
    """The list of sequences in a padded batch, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    steps = C.arange(padded_sequences.shape[1], device=lengths.device)
    return [seq[steps < length] for seq, length in zip(padded_sequences, lengths, strict=True)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences (each ``(L_i, *)``)."""
    lengths = C.as_tensor([v.size(0) for v in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences held by a packed sequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
