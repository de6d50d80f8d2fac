"""FlexAttention (torch's ``torch.nn.attention.flex_attention``): attention whose scores a Python
``score_mod(score, b, h, q_idx, kv_idx)`` rewrites and whose pattern a ``mask_mod(b, h, q_idx, kv_idx)``
selects, plus the block-sparse :class:`BlockMask` that describes the pattern.

torch runs it eagerly as a dense "math" composite that evaluates the mods element by element under
``vmap``; ember runs the same composite with the mods called once on broadcast index grids
(``b`` of shape (B,1,1,1), ``h`` (1,H,1,1), ``q_idx`` (1,1,L,1), ``kv_idx`` (1,1,1,S)), so every mod
written with tensor operations (comparisons, ``where``, indexing captured tensors) is vectorised. The
composite is built from ember ops, so gradients reach query, key, value and any tensor a mod captures.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import operator
from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple, TypedDict

from ..._core import dtype as D
from ..._core.warn import warn
from ..._tensor import Tensor
from ...compiler import is_compiling
from ...ops.creation import arange, ones, zeros
from ...ops.indexing import where
from ..functional import pad
from ..functional._attention import _safe_softmax
from ..functional._common import Node, fused, result

__all__ = [
    "BlockMask",
    "flex_attention",
    "AuxOutput",
    "AuxRequest",
    "FlexKernelOptions",
    "create_block_mask",
    "create_mask",
    "or_masks",
    "and_masks",
    "noop_mask",
]

_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = False
_WARNINGS_SHOWN: set[str] = set()
_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30
_BACKENDS = ("AUTO", "TRITON", "FLASH", "TRITON_DECODE")

_score_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]
_mask_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


def _warn_once(warning_id: str, message: str, category: type[Warning] = UserWarning) -> None:
    """Each warning once per process, as torch."""
    if warning_id not in _WARNINGS_SHOWN:
        if not is_compiling():
            warn(message, category, stacklevel=3)
        _WARNINGS_SHOWN.add(warning_id)


class FlexKernelOptions(TypedDict, total=False):
    """Options torch passes to its fused kernels; ember's composite validates ``BACKEND`` and ignores the rest."""

    num_warps: int
    num_stages: int
    BLOCK_M: int
    BLOCK_N: int
    PRESCALE_QK: bool
    ROWS_GUARANTEED_SAFE: bool
    BLOCKS_ARE_CONTIGUOUS: bool
    WRITE_DQ: bool
    FORCE_USE_FLEX_ATTENTION: bool
    USE_TMA: bool
    kpack: int
    matrix_instr_nonkdim: int
    waves_per_eu: int
    BACKEND: str


class AuxRequest(NamedTuple):
    """Which auxiliary outputs :func:`flex_attention` should return."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """Auxiliary outputs of :func:`flex_attention` (None where not requested)."""

    lse: Tensor | None = None
    max_scores: Tensor | None = None


class _ModificationType(Enum):
    SCORE_MOD = 1
    MASK_MOD = 2
    UNKNOWN = 3


def _get_mod_type(fn: Callable[..., Any]) -> _ModificationType:
    """A score_mod takes 5 positional arguments, a mask_mod 4 (those without defaults are counted)."""
    if hasattr(fn, "__code__"):
        n = fn.__code__.co_argcount - len(getattr(fn, "__defaults__", None) or ())
    else:
        n = sum(1 for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty)
    if n not in (4, 5):
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    return _ModificationType.SCORE_MOD if n == 5 else _ModificationType.MASK_MOD


def _identity(score: Tensor, batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    return score


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """A mask_mod that keeps every position."""
    return ones((), dtype=D.bool, device=batch.device)


def _sliced_mask_mod_error(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """The mask_mod of a sliced BlockMask: slicing cannot know the mod's meaning, so using it is an error."""
    raise RuntimeError(
        "Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask using [], the mask_mod attribute "
        "is reset. You must set it from the original BlockMask's mask_mod.\n\nIncorrect usage:\n"
        "  base_mask = create_block_mask(my_mask_fn, ...)\n  sliced_mask = base_mask[:, :, block_idx]\n"
        "  sliced_mask.mask_mod = apply_offset(sliced_mask.mask_mod, offset)  # WRONG!\n\nCorrect usage:\n"
        "  base_mask = create_block_mask(my_mask_fn, ...)\n  sliced_mask = base_mask[:, :, block_idx]\n"
        "  sliced_mask.mask_mod = apply_offset(base_mask.mask_mod, offset)  # Use base_mask!"
    )


def or_masks(*mask_mods: _mask_mod_signature) -> _mask_mod_signature:
    """A mask_mod keeping the positions any of ``mask_mods`` keeps."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        out = zeros((), dtype=D.bool, device=b.device)
        for m in mask_mods:
            out = out | m(b, h, q_idx, kv_idx)
        return out

    return or_mask


def and_masks(*mask_mods: _mask_mod_signature) -> _mask_mod_signature:
    """A mask_mod keeping the positions every one of ``mask_mods`` keeps."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        out = ones((), dtype=D.bool, device=b.device)
        for m in mask_mods:
            out = out & m(b, h, q_idx, kv_idx)
        return out

    return and_mask


def _index_grids(shape: tuple[int, int, int, int], device: Any) -> list[Tensor]:
    """int64 index tensors for (b, h, q_idx, kv_idx), each along its own axis of a 4-d broadcast grid."""
    grids = []
    for axis, n in enumerate(shape):
        view = [1, 1, 1, 1]
        view[axis] = n
        grids.append(arange(n, device=device).view(view))
    return grids


# ---- block-sparse layout helpers ------------------------------------------------------------------------
def _ordered_to_dense(num_blocks_in_row: Tensor, col_indices: Tensor, num_cols: int) -> Tensor:
    """(num, indices) → a dense int32 0/1 block matrix of ``num_cols`` columns; entries past ``num`` ignored."""
    *lead, rows, entries = col_indices.shape
    valid = arange(entries, dtype=D.int32, device=col_indices.device) < num_blocks_in_row.unsqueeze(-1)
    cols = where(valid, col_indices, num_cols).long()   # invalid entries land in a spare last column
    dense = zeros(*lead, rows, num_cols + 1, dtype=D.int32, device=col_indices.device)
    dense.scatter_(-1, cols, 1)
    return dense[..., :num_cols].contiguous()


def _dense_to_ordered(dense_mask: Tensor) -> tuple[Tensor, Tensor]:
    """A dense 0/1 block matrix → (blocks per row, column indices with the present blocks first)."""
    dense_mask = dense_mask.to(D.int32)
    num = dense_mask.sum(-1).to(D.int32)
    idx = dense_mask.argsort(dim=-1, descending=True, stable=True).to(D.int32)
    return num.contiguous(), idx.contiguous()


def _transpose_ordered(num_blocks_in_row: Tensor, col_indices: Tensor) -> tuple[Tensor, Tensor]:
    dense = _ordered_to_dense(num_blocks_in_row, col_indices, col_indices.shape[-1])
    return _dense_to_ordered(dense.transpose(-2, -1))


def _adjust_num_blocks_and_indices(num_blocks: Tensor, indices: Tensor, new_num_rows: int,
                                   new_num_cols: int) -> tuple[Tensor, Tensor]:
    indices = indices[:, :, :new_num_rows, :new_num_cols]
    num_blocks = num_blocks[:, :, :new_num_rows]
    num_blocks = where(num_blocks < new_num_cols, num_blocks, new_num_cols)
    num_blocks = (indices < num_blocks[:, :, :, None]).sum(-1).to(D.int32)
    return num_blocks, indices


class BlockMask:
    """A block-sparse attention mask: for each (batch, head, query block) the number of key blocks that take
    part (``kv_num_blocks``) and their indices (``kv_indices``), optionally split into partial blocks and
    "full" blocks (``full_kv_*``, where the mask_mod needs no evaluation); the ``q_*`` transposes serve the
    backward. ``BLOCK_SIZE`` is (query block, key block); ``mask_mod`` gives the exact mask inside blocks.
    """

    _TENSOR_ATTRS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks",
                     "q_indices", "full_q_num_blocks", "full_q_indices", "dq_write_order", "dq_write_order_full",
                     "dq_kv_order"]
    _CONTEXT_ATTRS = ["seq_lengths", "BLOCK_SIZE", "mask_mod", "dq_kv_order_spt"]

    def __init__(self, seq_lengths: tuple[int, int], kv_num_blocks: Tensor, kv_indices: Tensor,
                 full_kv_num_blocks: Tensor | None, full_kv_indices: Tensor | None, q_num_blocks: Tensor | None,
                 q_indices: Tensor | None, full_q_num_blocks: Tensor | None, full_q_indices: Tensor | None,
                 BLOCK_SIZE: tuple[int, int] = (_DEFAULT_SPARSE_BLOCK_SIZE, _DEFAULT_SPARSE_BLOCK_SIZE),
                 mask_mod: _mask_mod_signature = noop_mask, *, dq_write_order: Tensor | None = None,
                 dq_write_order_full: Tensor | None = None, dq_kv_order: Tensor | None = None,
                 dq_kv_order_spt: bool | None = None) -> None:
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if kv_num_blocks is None:
            raise AssertionError("kv_num_blocks must be provided")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError("full_q_num_blocks and full_q_indices must be both provided or omitted")
        if dq_write_order_full is not None and dq_write_order is None:
            raise ValueError("dq_write_order_full requires dq_write_order")
        self.seq_lengths = seq_lengths
        self.kv_num_blocks = kv_num_blocks
        self.kv_indices = kv_indices
        self.full_kv_num_blocks = full_kv_num_blocks
        self.full_kv_indices = full_kv_indices
        self.q_num_blocks = q_num_blocks
        self.q_indices = q_indices
        self.full_q_num_blocks = full_q_num_blocks
        self.full_q_indices = full_q_indices
        self.dq_write_order = dq_write_order
        self.dq_write_order_full = dq_write_order_full
        self.dq_kv_order = dq_kv_order
        self.dq_kv_order_spt = dq_kv_order_spt
        self.BLOCK_SIZE = BLOCK_SIZE
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks: Tensor, kv_indices: Tensor, full_kv_num_blocks: Tensor | None = None,
                       full_kv_indices: Tensor | None = None,
                       BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE,
                       mask_mod: _mask_mod_signature | None = None, seq_lengths: tuple[int, int] | None = None,
                       compute_q_blocks: bool = True, *, dq_write_order: Tensor | None = None,
                       dq_write_order_full: Tensor | None = None,
                       dq_kv_order: Tensor | bool | None = None) -> BlockMask:
        """A BlockMask from its key-block description; the query-block transposes are derived."""
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        q_num_blocks = q_indices = full_q_num_blocks = full_q_indices = None
        if compute_q_blocks:
            q_num_blocks, q_indices = _transpose_ordered(kv_num_blocks, kv_indices)
            if full_kv_num_blocks is not None:
                full_q_num_blocks, full_q_indices = _transpose_ordered(full_kv_num_blocks, full_kv_indices)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0], kv_indices.shape[-1] * BLOCK_SIZE[1])
        if dq_kv_order is not None and not isinstance(dq_kv_order, (bool, Tensor)):
            raise ValueError("dq_kv_order must be a bool, Tensor, or None")
        return cls(seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices, q_num_blocks,
                   q_indices, full_q_num_blocks, full_q_indices, BLOCK_SIZE,
                   mask_mod if mask_mod is not None else noop_mask, dq_write_order=dq_write_order,
                   dq_write_order_full=dq_write_order_full,
                   dq_kv_order=dq_kv_order if isinstance(dq_kv_order, Tensor) else None,
                   dq_kv_order_spt=dq_kv_order if isinstance(dq_kv_order, bool) else None)

    def as_tuple(self, flatten: bool = True) -> tuple[Any, ...]:
        """The attributes as a tuple (``BLOCK_SIZE`` and ``seq_lengths`` spread out when ``flatten``)."""
        seq = tuple(self.seq_lengths) if flatten else (self.seq_lengths,)
        block = tuple(self.BLOCK_SIZE) if flatten else (self.BLOCK_SIZE,)
        return (*seq, *(getattr(self, a) for a in self._TENSOR_ATTRS), self.dq_kv_order_spt, *block, self.mask_mod)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.kv_indices.shape[:-2]) + tuple(self.seq_lengths)

    def numel(self) -> int:
        """Elements of the mask, sparsity not counted."""
        return functools.reduce(operator.mul, self.shape, 1)

    def sparsity(self) -> float:
        """Percentage of blocks that are skipped (not computed)."""
        computed = self.kv_num_blocks.sum()
        if self.full_kv_num_blocks is not None:
            computed += self.full_kv_num_blocks.sum()
        size = computed.item() * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1]
        return 100 * (1 - size / self.numel())

    def to_dense(self) -> Tensor:
        """The block pattern as a dense int32 0/1 tensor of shape (*batch, query blocks, key blocks)."""
        dense = _ordered_to_dense(self.kv_num_blocks, self.kv_indices, self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            dense = dense | _ordered_to_dense(self.full_kv_num_blocks, self.full_kv_indices,
                                              self.full_kv_indices.shape[-1])
        return dense

    def to_string(self, grid_size: int | tuple[int, int] = (20, 20), limit: int = 4) -> str:
        """A picture of the block pattern per (batch, head): █ all blocks of a cell present, ░ some, blank none.
        ``grid_size=-1`` draws every block (a step of 1 block per cell)."""
        dense = self.to_dense().cpu().numpy()
        *batch_dims, rows, cols = dense.shape
        max_rows, max_cols = (grid_size, grid_size) if isinstance(grid_size, int) else grid_size
        row_step, col_step = max(1, -(-rows // max_rows)), max(1, -(-cols // max_cols))

        def picture(idx: tuple[int, ...]) -> str:
            cur = dense[idx]
            lines = [f"{idx}"]
            for r in range(0, rows, row_step):
                cells = [cur[r:r + row_step, c:c + col_step].mean() for c in range(0, cols, col_step)]
                lines.append("".join(("█" if m == 1 else " " if m == 0 else "░") * 2 for m in cells))
            return "\n".join(lines) + "\n"

        out = []
        for n, idx in enumerate(itertools.product(*[range(i) for i in batch_dims])):
            if n == limit:
                out += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                        "You can also index (BlockMask[batch, head]) to choose a specific batch or head"]
                break
            out.append(picture(idx))
        return "\n".join(out)

    def __str__(self) -> str:
        return f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n{self.to_string().strip()}\n)"

    def __repr__(self) -> str:
        def shape_or_none(t: Tensor | None) -> Any:
            return None if t is None else t.shape

        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return (f"BlockMask(\n    kv_num_blocks={self.kv_num_blocks.shape},\n    kv_indices={self.kv_indices.shape},\n"
                f"    full_kv_num_blocks={shape_or_none(self.full_kv_num_blocks)},\n"
                f"    full_kv_indices={shape_or_none(self.full_kv_indices)},\n"
                f"    q_num_blocks={shape_or_none(self.q_num_blocks)},\n"
                f"    q_indices={shape_or_none(self.q_indices)},\n"
                f"    full_q_num_blocks={shape_or_none(self.full_q_num_blocks)},\n"
                f"    full_q_indices={shape_or_none(self.full_q_indices)},\n"
                f"    BLOCK_SIZE={self.BLOCK_SIZE},\n    shape={self.shape},\n"
                f"    sparsity={self.sparsity():.2f}%,\n    mask_mod={name}\n)")

    def __getitem__(self, index: Any) -> BlockMask:
        """The mask of some batches / heads / query blocks (integers keep their dimension)."""
        if self.dq_kv_order is not None:
            raise NotImplementedError(
                "Slicing BlockMask with tensor dq_kv_order is not supported yet. "
                "Construct a new BlockMask with matching precomputed dq_write_order metadata."
            )
        index = index if isinstance(index, tuple) else (index,)
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        index = tuple((slice(i + n, i + n + 1) if -n <= i < 0 else slice(i, i + 1)) if isinstance(i, int) else i
                      for i, n in zip(padded, self.kv_num_blocks.shape[:3], strict=True))
        full = self.full_kv_num_blocks is not None
        new = BlockMask.from_kv_blocks(
            self.kv_num_blocks[index], self.kv_indices[index],
            self.full_kv_num_blocks[index] if full else None, self.full_kv_indices[index] if full else None,
            BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=_sliced_mask_mod_error, seq_lengths=self.seq_lengths,
            compute_q_blocks=self.q_indices is not None)
        new.dq_kv_order_spt = self.dq_kv_order_spt
        return new

    def _adjust(self, new_q_len: int, new_kv_len: int) -> BlockMask:
        """The mask cropped (or extended) to new sequence lengths, keeping the upper-left corner."""
        if self.dq_kv_order is not None:
            raise NotImplementedError(
                "Adjusting BlockMask with tensor dq_kv_order is not supported yet. "
                "Construct a new BlockMask with matching precomputed dq_write_order metadata."
            )
        rows = (new_q_len + self.BLOCK_SIZE[0] - 1) // self.BLOCK_SIZE[0]
        cols = (new_kv_len + self.BLOCK_SIZE[1] - 1) // self.BLOCK_SIZE[1]
        num, idx = _adjust_num_blocks_and_indices(self.kv_num_blocks, self.kv_indices, rows, cols)
        full_num = full_idx = None
        if self.full_kv_num_blocks is not None:
            full_num, full_idx = _adjust_num_blocks_and_indices(self.full_kv_num_blocks, self.full_kv_indices,
                                                                rows, cols)
        new = self.from_kv_blocks(num, idx, full_num, full_idx, BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                                  seq_lengths=(new_q_len, new_kv_len), compute_q_blocks=self.q_indices is not None)
        new.dq_kv_order_spt = self.dq_kv_order_spt
        return new

    def to(self, device: Any) -> BlockMask:
        """A copy with every tensor moved to ``device``."""
        moved = {a: (None if getattr(self, a) is None else getattr(self, a).to(device)) for a in self._TENSOR_ATTRS}
        return BlockMask(seq_lengths=self.seq_lengths, BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                         dq_kv_order_spt=self.dq_kv_order_spt, **moved)


def _default_device() -> Any:
    from ... import accelerator

    return accelerator.current_accelerator() or "cpu"


def create_mask(mod_fn: _score_mod_signature | _mask_mod_signature, B: int | None, H: int | None, Q_LEN: int,
                KV_LEN: int, device: Any = None) -> Tensor:
    """The dense (B, H, Q_LEN, KV_LEN) mask of a mask_mod (or of a score_mod: where it does not give -inf)."""
    device = _default_device() if device is None else device
    shape = (B or 1, H or 1, Q_LEN, KV_LEN)
    grids = _index_grids(shape, device)
    if _get_mod_type(mod_fn) == _ModificationType.SCORE_MOD:
        out = mod_fn(zeros(shape, device=device), *grids)
        return where(out.isneginf(), False, True).expand(shape).contiguous()
    return mod_fn(*grids).expand(shape).contiguous()


def _convert_mask_to_block_mask(mask: Tensor, Q_BLOCK_SIZE: int = _DEFAULT_SPARSE_BLOCK_SIZE,
                                KV_BLOCK_SIZE: int = _DEFAULT_SPARSE_BLOCK_SIZE,
                                separate_full_blocks: bool = False) -> tuple[Tensor, Tensor | None]:
    """Per block: 1 where some (and, split out, where all) of its positions are kept (int8)."""
    if mask.dtype is not D.bool:
        raise AssertionError(f"mask.dtype must be torch.bool, got {mask.dtype}")
    while mask.dim() < 4:
        mask = mask.unsqueeze(0)
    mask = pad(mask, (0, -mask.shape[-1] % KV_BLOCK_SIZE, 0, -mask.shape[-2] % Q_BLOCK_SIZE))
    B, H, Q, KV = mask.shape
    counts = (mask.view(B, H, Q // Q_BLOCK_SIZE, Q_BLOCK_SIZE, KV // KV_BLOCK_SIZE, KV_BLOCK_SIZE)
              .permute(0, 1, 2, 4, 3, 5).sum(dim=[-2, -1]))
    if separate_full_blocks:
        whole = Q_BLOCK_SIZE * KV_BLOCK_SIZE
        return ((counts > 0) & (counts < whole)).to(D.int8), (counts == whole).to(D.int8)
    return (counts > 0).to(D.int8), None


def create_block_mask(mask_mod: _mask_mod_signature, B: int | None, H: int | None, Q_LEN: int, KV_LEN: int,
                      device: Any = None, BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE,
                      _compile: bool = False, separate_full_blocks: bool = True, compute_dq_write_order: bool = False,
                      dq_kv_order: bool = True) -> BlockMask:
    """The BlockMask of ``mask_mod`` over (B, H, Q_LEN, KV_LEN) (``None`` for B/H: broadcast over it):
    blocks with no kept position are dropped, blocks with all positions kept are stored as full blocks."""
    device = _default_device() if device is None else device
    if _get_mod_type(mask_mod) != _ModificationType.MASK_MOD:
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    q_block, kv_block = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else BLOCK_SIZE
    if _compile:
        warn(
            "_compile flag on create_block_mask was originally added to work around a torch.compile limitation. "
            "That limitation has since been addressed. So, to compile create_block_mask, we suggest doing "
            "torch.compile(create_block_mask). This still works for now, but will be removed in the future.",
            DeprecationWarning, stacklevel=2)
    if not isinstance(dq_kv_order, bool):
        raise ValueError("dq_kv_order must be a bool when using create_block_mask")
    if compute_dq_write_order:
        raise NotImplementedError("compute_dq_write_order: ember has no FLASH backward kernel to order dQ writes for")
    mask = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    partial, full = _convert_mask_to_block_mask(mask, q_block, kv_block, separate_full_blocks)
    num, idx = _dense_to_ordered(partial)
    full_num, full_idx = _dense_to_ordered(full) if full is not None else (None, None)
    return BlockMask.from_kv_blocks(num, idx, full_num, full_idx, BLOCK_SIZE=(q_block, kv_block),
                                    mask_mod=mask_mod, seq_lengths=(Q_LEN, KV_LEN))


def _create_empty_block_mask(query: Tensor, key: Tensor) -> BlockMask:
    """The BlockMask used without one: a single block covering everything, no mask."""
    return BlockMask.from_kv_blocks(ones([1, 1, 1], dtype=D.int32, device=query.device),
                                    zeros([1, 1, 1, 1], dtype=D.int32, device=query.device),
                                    BLOCK_SIZE=_LARGE_SPARSE_BLOCK_SIZE, seq_lengths=(1, 1))


# ---- flex_attention -------------------------------------------------------------------------------------
class FlexAttentionAutogradOpBackward(Node):
    """The node torch's flex_attention output carries; the composite below it does the differentiation."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g,)


def _math_attention(query: Tensor, key: Tensor, value: Tensor, score_mod: Callable, mask_mod: Callable,
                    scale: float, want_lse: bool = True,
                    want_max: bool = False) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """torch's dense eager FlexAttention: scores in float32 (float64 for float64 queries), score_mod where
    mask_mod keeps a position and -inf elsewhere, safe softmax (fully masked rows give zeros), then ·V.
    Returns the output and, when wanted, the logsumexp and the row maxima, in log2 units as torch's kernels."""
    g = query.shape[1] // key.shape[1]
    if g > 1:
        key, value = key.repeat_interleave(g, 1), value.repeat_interleave(g, 1)
    bq, bkv = query.shape[0], key.shape[0]
    if not (bq == bkv or (bq > 1 and bkv == 1)):
        raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={bq} and Bkv={bkv}")
    key, value = key.expand(bq, *key.shape[1:]), value.expand(bq, *value.shape[1:])
    work = D.float64 if query.dtype is D.float64 else D.float32
    scores = query.to(work).matmul(key.to(work).transpose(-2, -1)) * scale
    grids = _index_grids(tuple(scores.shape), query.device)
    neg_inf = result(-math.inf, scores, work)
    post = where(mask_mod(*grids), score_mod(scores, *grids), neg_inf)
    out = _safe_softmax(post).to(query.dtype).matmul(value.to(query.dtype))
    ln2 = math.log(2)
    lse = where((post == -math.inf).all(-1), -math.inf, post.logsumexp(-1)) / ln2 if want_lse else None
    return out, lse, post.amax(-1) / ln2 if want_max else None


def _apply_kernel_options(query: Tensor, return_lse: bool, kernel_options: FlexKernelOptions | None,
                          return_aux: AuxRequest | None) -> dict:
    """torch's option checks and defaults."""
    opts: dict = {} if kernel_options is None else dict(kernel_options)
    if "BACKEND" in opts and opts.get("FORCE_USE_FLEX_ATTENTION", False):
        raise RuntimeError(
            "BACKEND cannot be combined with legacy FORCE_USE_FLEX_ATTENTION. BACKEND supersedes the legacy knob; "
            "please drop FORCE_USE_FLEX_ATTENTION and only specify the desired BACKEND."
        )
    if "BACKEND" in opts and opts["BACKEND"] not in _BACKENDS:
        raise ValueError(f"Invalid BACKEND value '{opts['BACKEND']}'. Must be one of {_BACKENDS}")
    opts.setdefault("BACKEND", "AUTO")
    output_max = return_aux is not None and return_aux.max_scores
    if "OUTPUT_LOGSUMEXP" in opts:
        raise AssertionError("OUTPUT_LOGSUMEXP must not be in kernel_options")
    if "OUTPUT_MAX" in opts:
        raise AssertionError("OUTPUT_MAX must not be in kernel_options")
    if opts["BACKEND"] == "FLASH" and output_max:
        raise NotImplementedError("Returning max scores is not supported with BACKEND='FLASH'. "
                                  "Use return_aux=AuxRequest(lse=True) or omit max_scores.")
    if query.device.type == "cpu" and output_max:
        raise NotImplementedError("Returning max scores is not supported on CPU/MPS.")
    return opts


def _validate_inputs(query: Tensor, key: Tensor, value: Tensor) -> None:
    """torch's checks, in its order and words (same dtype is not required: low-precision K/V are allowed)."""
    if query.device != key.device or query.device != value.device:
        raise ValueError(f"Expected query, key, and value to have the same device type, but got query.device: "
                         f"{query.device}, key.device: {key.device}, and value.device: {value.device} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise ValueError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                         f"{query.dim()}, key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but got "
                         f"E={query.shape[-1]} and E={key.shape[-1]}.")
    if query.device.type == "cpu" and (query.requires_grad or key.requires_grad or value.requires_grad):
        raise NotImplementedError("FlexAttention does not support backward on CPU. Please set the input "
                                  "requires_grad to False or use another device.")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")


def _check_block_mask(block_mask: BlockMask, q_len: int, kv_len: int) -> None:
    """The mask must have been made for exactly these sequence lengths."""
    if block_mask.BLOCK_SIZE[0] == _LARGE_SPARSE_BLOCK_SIZE and block_mask.BLOCK_SIZE[1] == _LARGE_SPARSE_BLOCK_SIZE:
        return
    bq, bkv = block_mask.shape[-2], block_mask.shape[-1]
    where_ = (f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={q_len} and "
              f"kv_len={kv_len}. ")
    if q_len > bq or kv_len > bkv:
        raise ValueError(where_ + "As the block mask was created for a smaller length than you're using it for, "
                         "you likely need to create a new block mask.")
    if (q_len < bq and kv_len <= bkv) or (q_len <= bq and kv_len < bkv):
        raise ValueError(where_ + "As the block mask was created for a larger length than you're using it for, you "
                         "can either 1. create a new block mask with the correct length, or 2. 'adjust' the existing "
                         "block mask to the correct length by calling block_mask._adjust(q_len, kv_len). This "
                         "essentially 'crops' the block mask to the upper left corner, which does not work for all "
                         "mask_mods!")


def flex_attention(query: Tensor, key: Tensor, value: Tensor, score_mod: _score_mod_signature | None = None,
                   block_mask: BlockMask | None = None, scale: float | None = None, enable_gqa: bool = False,
                   return_lse: bool = False, kernel_options: FlexKernelOptions | None = None, *,
                   return_aux: AuxRequest | None = None) -> Any:
    """Attention on (B, H, L, E) query and (B, Hkv, S, E) key / (B, Hkv, S, Ev) value with
    ``score_mod(score, b, h, q_idx, kv_idx)`` applied to the scaled scores and positions outside
    ``block_mask.mask_mod`` masked out; returns (B, H, L, Ev) and, when asked (``return_aux=AuxRequest(lse=True)``
    or the deprecated ``return_lse``), the logsumexp of each row (-inf for fully masked rows)."""
    _validate_inputs(query, key, value)
    if not enable_gqa and query.shape[-3] != key.shape[-3]:
        raise ValueError(f"Expect query and key/value to have the same number of heads but got "
                         f"Hq={query.shape[-3]} and Hkv={key.shape[-3]}. Try setting enable_gqa=True for GQA.")
    if enable_gqa and query.shape[1] % key.shape[1]:
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA but got "
                         f"Hq={query.shape[1]} and Hkv={key.shape[1]}.")
    if query.shape[0] != key.shape[0]:
        if block_mask is None:
            raise ValueError(f"Expect query and key/value to have the same batch size, or non-none block_mask, "
                             f"but got block_mask=None, Bq={query.shape[0]}, and Bkv={key.shape[0]}.")
        if block_mask.kv_num_blocks.shape[0] != query.shape[0]:
            raise ValueError(f"Expect query and key/value to have the same batch size, or block_mask and query to "
                             f"have the same batch size, but got Bq={query.shape[0]}, Bkv={key.shape[0]}, "
                             f"B_block_mask={block_mask.kv_num_blocks.shape[0]}.")
    score_mod = _identity if score_mod is None else score_mod
    block_mask = _create_empty_block_mask(query, key) if block_mask is None else block_mask
    if getattr(block_mask, "mask_mod", None) is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")
    _check_block_mask(block_mask, query.shape[-2], key.shape[-2])
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if query.device != block_mask.kv_num_blocks.device:
        raise RuntimeError(f"Expect q/k/v and block_mask to be on the same device but got {query.device} and "
                           f"{block_mask.kv_num_blocks.device}.")
    if return_lse and return_aux is not None:
        raise ValueError("Cannot specify both return_lse and return_aux. "
                         "return_lse is deprecated, please use return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        _warn_once("deprecated_return_lse", "return_lse is deprecated and will be removed in v2.10. "
                   "Please use return_aux=AuxRequest(lse=True) instead.", FutureWarning)
    _apply_kernel_options(query, return_lse, kernel_options, return_aux)
    if not _FLEX_ATTENTION_DISABLE_COMPILE_DEBUG:
        _warn_once(
            "flex_attention_performance",
            "flex_attention called without torch.compile() - this will use an unfused implementation that "
            "materializes the full scores matrix instead of generating a fused kernel.\n\nSOLUTION: Use "
            "torch.compile(flex_attention)(...)\n\nIf you want to debug your score_mod/mask_mod, you can set:\n"
            "torch.nn.attention.flex_attention._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = True\n\nThis will allow you "
            "to use print statements or breakpoints. Note: This doesn't work with the backwards pass and may "
            "produce incorrect results.")
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores
    out, lse, max_scores = _math_attention(query, key, value, score_mod, block_mask.mask_mod, scale, want_lse,
                                           want_max)
    out = fused(result(out._data, out), FlexAttentionAutogradOpBackward, (out,))
    ln2 = math.log(2.0)
    lse = lse * ln2 if want_lse and lse.numel() > 0 else None
    if return_aux is not None:
        max_scores = max_scores * ln2 if want_max and max_scores.numel() > 0 else None
        return out, AuxOutput(lse=lse, max_scores=max_scores)
    return (out, lse) if return_lse else out
