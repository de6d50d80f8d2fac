"""Connectionist temporal classification loss, the Gumbel-softmax and the triplet loss with a custom distance.

``ctc_loss`` runs torch's forward-backward algorithm on arrays, vectorised over the batch and the extended
label axis (blank, l1, blank, l2, …, blank) and looping only over time; its gradient (``CtcLossBackward0``)
comes from the saved forward variables, as torch's, and cannot be differentiated again (as in torch)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..._core import dtype as D
from ..._core.warn import warn
from ...ops._dispatch import record
from ...ops.creation import empty, tensor, zeros_like
from ...ops.indexing import NotImplemented_, where
from ._activation import softmax
from ._common import STATE, Node, Tensor, check_reduction, fused, reduce_loss, result, xp
from ._layers import pairwise_distance

__all__ = ["ctc_loss", "gumbel_softmax", "triplet_margin_with_distance_loss"]

_WHERE = " (while checking arguments for ctc_loss_allocate_outputs)"


# ---- CTC: arrays ---------------------------------------------------------------------------------
def _lse3(ns: Any, a: Any, b: Any, c: Any) -> Any:
    """``log(e^a + e^b + e^c)`` stable as torch's (a max of -inf counts as 0, so all -inf gives -inf)."""
    m = ns.maximum(ns.maximum(a, b), c)
    m = ns.where(ns.isneginf(m), 0, m)
    return ns.log(ns.exp(a - m) + ns.exp(b - m) + ns.exp(c - m)) + m


class _Ctc:
    """The forward-backward variables of one CTC problem batch: extended labels ``ext`` (N, S'), their
    log-probabilities ``lpg`` (T, N, S'), log-alpha, negative log-likelihood; log-beta on demand. The
    recursions read neighbours ``s-1``, ``s-2`` (``s+1``, ``s+2``) as views of buffers padded with -inf, and
    masks enter as added 0 / -inf."""

    def __init__(self, ns: Any, lp: Any, labels: Any, il: Any, tl: Any, blank: int) -> None:
        t_max, n = lp.shape[:2]
        s2 = 2 * labels.shape[1] + 1
        ext = ns.full((n, s2), blank, labels.dtype)
        ext[:, 1::2] = labels
        pos = ns.arange(s2)
        self.ns, self.lp, self.ext, self.il, self.tl = ns, lp, ext, il, tl
        self.valid = pos[None] < (2 * tl + 1)[:, None]
        prev2 = ns.concatenate((ext[:, :2], ext[:, :-2]), axis=1)
        # s may come from s-2 when the labels differ (torch does not also exclude blank-valued labels)
        self.skip = (pos[None] >= 2) & (ext != prev2)
        self.lpg = lp[:, ns.arange(n)[:, None], ext]
        ninf = -ns.inf
        skip_add, valid_add = (ns.where(m, 0, ninf).astype(lp.dtype) for m in (self.skip, self.valid))
        padded = ns.full((t_max, n, s2 + 2), ninf, lp.dtype)   # alpha[t, :, s] at padded[t, :, s + 2]
        first = ns.where(pos[None] == 0, self.lpg[0], ninf)
        padded[0, :, 2:] = ns.where((pos[None] == 1) & (tl[:, None] > 0), self.lpg[0], first)
        for t in range(1, t_max):
            a = padded[t - 1]
            padded[t, :, 2:] = _lse3(ns, a[:, 2:], a[:, 1:-1], a[:, :-2] + skip_add) + self.lpg[t] + valid_add
        self.alpha = alpha = padded[:, :, 2:]
        last = alpha[ns.maximum(il - 1, 0), ns.arange(n)]                      # (N, S')
        end = ns.take_along_axis(last, (2 * tl)[:, None], 1)[:, 0]
        before = ns.where(tl > 0, ns.take_along_axis(last, ns.maximum(2 * tl - 1, 0)[:, None], 1)[:, 0], ninf)
        nll = -_lse3(ns, end, before, ns.full_like(end, ninf))
        self.nll = ns.where(il == 0, ns.where(tl == 0, -0.0, ns.inf), nll)

    def grad(self, gout: Any, zero_infinity: bool) -> Any:
        """torch's gradient w.r.t. the log-probs: ``exp(lp) - Σ_{s: l'(s)=c} exp(α+β+nll-lp)`` for t below the
        input length (it assumes ``lp`` came from a log_softmax), times the incoming gradient."""
        ns, lp, lpg, il, tl = self.ns, self.lp, self.lpg, self.il, self.tl
        t_max, n, c = lp.shape
        s2 = lpg.shape[2]
        pos = ns.arange(s2)[None]
        ninf = -ns.inf
        ends = self.valid & ((pos == 2 * tl[:, None]) | ((pos == 2 * tl[:, None] - 1) & (tl[:, None] > 0)))
        skip_next = ns.zeros_like(self.skip)
        skip_next[:, :-2] = self.skip[:, 2:]
        skip_add, valid_add = (ns.where(m, 0, ninf).astype(lp.dtype) for m in (skip_next, self.valid))
        beta = ns.full((t_max + 1, n, s2 + 2), ninf, lp.dtype)   # beta[t, :, s] at [t, :, s]; row T: -inf
        for t in range(t_max - 1, -1, -1):
            b = beta[t + 1]
            rec = _lse3(ns, b[:, :-2], b[:, 1:-1], b[:, 2:] + skip_add) + lpg[t] + valid_add
            tt = (t - il + 1)[:, None]   # 0 at the last frame of an item
            beta[t, :, :-2] = ns.where(tt == 0, ns.where(ends, lpg[t], ninf), ns.where(tt < 0, rec, ninf))
        before_end = ns.arange(t_max)[:, None, None] < il[None, :, None]
        live = before_end & self.valid[None]
        # torch's quirk: when the last label equals blank, only position 2L-1 counts at the last frame
        last_label = ns.take_along_axis(self.ext, ns.maximum(2 * tl - 1, 0)[:, None], 1)[:, 0]
        last_blank = (tl > 0) & (last_label == self.ext[:, 0])
        live &= ~((ns.arange(t_max)[:, None, None] == (il - 1)[None, :, None]) & (pos == 2 * tl[:, None])[None]
                  & last_blank[None, :, None])
        occ = ns.where(live, ns.exp(self.alpha + beta[:t_max, :, :-2] + self.nll[None, :, None] - lpg), 0)
        flat = ((ns.arange(t_max)[:, None, None] * n + ns.arange(n)[None, :, None]) * c + self.ext[None]).ravel()
        occ_c = ns.bincount(flat, weights=occ.ravel(), minlength=t_max * n * c).reshape(t_max, n, c)
        g = ns.exp(lp) - occ_c.astype(lp.dtype)
        infeasible = ns.isposinf(self.nll)[None, :, None]   # torch's formula gives nan for every class then
        g = ns.where(before_end, ns.where(infeasible, ns.nan, g), 0)
        g = g * gout[None, :, None]
        if zero_infinity:
            g = ns.where(infeasible, 0, g)
        return g


class CtcLossBackward0(Node):
    """CTC: the gradient w.r.t. the log-probs from the saved forward variables (no double backward, as torch)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (lp,) = self.saved
        ns = xp(g)
        out = result(self.ctc.grad(ns.asarray(g._data, dtype=self.ctc.lp.dtype), self.zero_infinity), lp)
        if STATE.enabled:
            node = record(out, NotImplemented_(), (g, lp))
            node.op = "_ctc_loss_backward"
        return (out,)


# ---- CTC: checks and the public function -----------------------------------------------------------
def _lengths(name: str, value: Tensor | Sequence[int]) -> list[int]:
    if isinstance(value, Tensor):
        if value._dtype.category != 1:   # (bool is not integral here)
            raise RuntimeError(f"{name} must be integral")
        return [int(v) for v in value.reshape(-1).tolist()]
    return [int(v) for v in value]


def _check_ctc(lp: Tensor, targets: Tensor, il: list[int], tl: list[int], blank: int) -> None:
    """torch's argument checks (``ctc_loss_allocate_outputs``), in its order."""
    if lp.dim() != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {lp.dim()}-dimensional tensor for argument #1 "
                           f"'log_probs'{_WHERE}")
    if targets.dim() not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {targets.dim()}-dimensional tensor for argument #2 "
                           f"'targets'{_WHERE}")
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    if len(il) != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tl) != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    for v in tl:
        if v < 0:
            raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value {v}{_WHERE}")
    if targets.dim() == 1:
        if targets.shape[0] != sum(tl):
            raise RuntimeError(f"Expected tensor to have size {sum(tl)} at dimension 0, but got size "
                               f"{targets.shape[0]} for argument #2 'targets'{_WHERE}")
    elif targets.shape[1] < max(tl, default=0):
        raise RuntimeError(f"Expected tensor to have size at least {max(tl)} at dimension 1, but got size "
                           f"{targets.shape[1]} for argument #2 'targets'{_WHERE}")
    for v in il:
        if v < 0:
            raise RuntimeError(f"Expected input_lengths to have value at least 0, but got value {v}{_WHERE}")
        if v > t_max:
            raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got value {v}{_WHERE}")


def _padded_labels(ns: Any, targets: Tensor, tl: Any, blank: int) -> Any:
    """The targets as an ``(N, max target length)`` integer array (padding: ``blank``), from either layout."""
    tg = ns.asarray(targets._data).astype(ns.int64)
    s = int(tl.max()) if tl.size else 0
    cols = ns.arange(s)[None]
    if tg.ndim == 1:
        starts = ns.cumsum(tl) - tl
        idx = ns.minimum(starts[:, None] + cols, max(tg.shape[0] - 1, 0))
        got = tg[idx] if tg.size else ns.zeros(idx.shape, ns.int64)
    else:
        got = tg[: tl.shape[0], :s]
    return ns.where(cols < tl[:, None], got, blank)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """The CTC loss of log-probabilities ``(T, N, C)`` (or unbatched ``(T, C)``) against targets padded
    ``(N, S)`` or concatenated; 'mean' divides each loss by its target length before the batch mean."""
    check_reduction(reduction)
    il, tl = _lengths("input_lengths", input_lengths), _lengths("target_lengths", target_lengths)
    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    _check_ctc(lp, targets, il, tl, blank)
    if lp._dtype not in (D.float32, D.float64):
        raise NotImplementedError(f"\"ctc_loss_{lp.device.type}\" not implemented for '{lp._dtype._short}'")
    ns = xp(lp)
    il_a, tl_a = ns.asarray(il, dtype=ns.int64), ns.asarray(tl, dtype=ns.int64)
    ctc = _Ctc(ns, ns.asarray(lp._data), _padded_labels(ns, targets, tl_a, blank), il_a, tl_a, blank)
    res = fused(result(ctc.nll, lp), CtcLossBackward0, (lp,), (lp,), ctc=ctc, zero_infinity=zero_infinity)
    if zero_infinity:
        res = where(res == float("inf"), tensor(0.0, dtype=res.dtype, device=res.device), res)
    if reduction == "mean":
        return (res / tensor(tl, dtype=res.dtype, device=res.device).clamp_min(1)).mean()
    if reduction == "sum":
        return res.sum()
    return res if batched else res.squeeze(0)


# ---- Gumbel-softmax ----------------------------------------------------------------------------------
def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A sample of the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with Gumbel noise drawn as
    torch draws it (``-log`` of standard exponentials), or its one-hot argmax with the soft sample's gradient
    (straight-through) when ``hard``."""
    if eps != 1e-10:
        warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    # drawn in a contiguous buffer (torch's legacy format), so a transposed ``logits`` gets torch's numbers
    noise = -empty(tuple(logits.shape), dtype=logits.dtype, device=logits.device).exponential_().log()
    soft = softmax((logits + noise) / tau, dim)
    if not hard:
        return soft
    index = soft.max(dim, keepdim=True)[1]
    one_hot = zeros_like(logits).scatter_(dim, index, 1.0)
    return one_hot - soft.detach() + soft


# ---- triplet loss with a distance function ---------------------------------------------------------
def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with any distance ``d`` (default: the pairwise 2-norm); ``swap``
    takes the smaller of ``d(a, n)`` and ``d(p, n)``."""
    check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.dim() == positive.dim() == negative.dim()):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and "
            f"negative {negative.dim()}D inputs"
        )
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return reduce_loss((margin + d_pos - d_neg).clamp_min(0), reduction)
