"""``pad_sequence``: stack variable-length sequences into one padded tensor."""

from __future__ import annotations

from collections.abc import Sequence

from ..._tensor import Tensor
from ...ops.shape import stack
from ..functional import pad

__all__ = ["pad_sequence"]


def pad_sequence(
    sequences: Tensor | Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """(max_len, batch, *) — or (batch, max_len, *) with ``batch_first`` — padded with ``padding_value``."""
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
