"""``torch.utils.flop_counter``: count the FLOPs of the matrix products, convolutions and attention kernels run
inside a :class:`FlopCounterMode`, forward and backward, per module (``"Global"``, ``"Model.layer"``) and per aten
op (``aten.mm``, ``aten.convolution``, ...), with torch's formulas and its table.

torch counts at its dispatcher, below autograd, so it sees the aten ops each call runs. ember has no such layer;
the counter sees the same work from two places:

- forward: a :class:`~ember.overrides.TorchFunctionMode` recognises the public ops that run a counted aten op
  (``mm``, ``matmul``, ``linear``, ``conv*``, ``einsum``, ...) and names the op torch's decomposition would run
  (``linear`` → ``addmm``; ``matmul`` → ``mm`` or ``bmm`` by torch's folding rule). Other calls run with the mode
  still entered, so the public ops they are built from (``scaled_dot_product_attention``'s math path) are seen;
- backward: the engine's node hook (``autograd.graph.PROFILER``, shared with the profiler) counts each node's
  products from its inputs' shapes: ``MmBackward0`` runs one ``mm`` per input that needs a gradient,
  ``ConvolutionBackward0`` one ``convolution_backward`` with torch's output mask. Calls made by custom
  ``autograd.Function`` backwards go through the mode instead.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .._core.warn import warn
from .._tensor import Size, Tensor
from ..autograd import graph
from ..autograd.function import BackwardCFunction
from ..library import OpOverloadPacket
from ..overrides import TorchFunctionMode
from ._pytree import tree_map
from .module_tracker import ModuleTracker

__all__ = ["FlopCounterMode", "register_flop_formula"]

flop_registry: dict[Any, Callable[..., int]] = {}   # formula per op, keyed by the op's packet
_PACKETS: dict[str, OpOverloadPacket] = {}           # one packet per qualified name: the count keys


def _packet(target: Any) -> OpOverloadPacket:
    """The one packet standing for ``target``'s op (``ember.ops.aten.mm`` builds a new object on each access)."""
    name = str(target)
    if name not in _PACKETS:
        _PACKETS[name] = target
    return _PACKETS[name]


def _aten(name: str) -> OpOverloadPacket:
    import ember

    def run(*args: Any, **kwargs: Any) -> Any:
        return getattr(ember.ops.aten, name)(*args, **kwargs)
    return _packet(OpOverloadPacket("aten", name, run))


def get_shape(i: Any) -> Any:
    """A tensor's shape; anything else unchanged."""
    return i.shape if isinstance(i, Tensor) else i


def shape_wrapper(f: Callable[..., int]) -> Callable[..., int]:
    """``f`` called with shapes in place of tensors and the output's shape as ``out_shape``."""
    def nf(*args: Any, out_val: Any = None, **kwargs: Any) -> int:
        args, kwargs, out_shape = tree_map(get_shape, (args, kwargs, out_val))
        return f(*args, out_shape=out_shape, **kwargs)
    nf.__name__, nf.__doc__, nf.__wrapped__ = f.__name__, f.__doc__, f   # type: ignore[attr-defined]
    return nf


def register_flop_formula(targets: Any, get_raw: bool = False) -> Callable[[Callable], Callable]:
    """Decorator registering a FLOP formula for an op (``ember.ops.aten.mm``, a custom op) or a list of ops;
    the formula receives the op's arguments as shapes and ``out_shape`` (the raw values with ``get_raw``)."""
    def register_fun(flop_formula: Callable) -> Callable:
        if not get_raw:
            flop_formula = shape_wrapper(flop_formula)

        def register(target: Any) -> None:
            if not isinstance(target, OpOverloadPacket):
                raise ValueError("register_flop_formula(targets): expected each target to be OpOverloadPacket (i.e. "
                                 "torch.ops.mylib.foo), JitFunction, or HigherOrderOperator, got "
                                 f"{target} which is of type {type(target)}")
            key = _packet(target)
            if key in flop_registry:
                raise RuntimeError(f"duplicate registrations for {target}")
            flop_registry[key] = flop_formula

        tree_map(register, targets)
        return flop_formula
    return register_fun


def _aten_formula(*names: str) -> Callable[[Callable], Callable]:
    return register_flop_formula([_aten(n) for n in names])


# ---------------------------------------------------------------------------------------------- formulas

@_aten_formula("mm")
def mm_flop(a_shape: Any, b_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """2·m·k·n for (m, k) @ (k, n)."""
    m, k = a_shape
    k2, n = b_shape
    if k != k2:
        raise AssertionError(f"matmul: inner dimensions must match (k == k2), got {k} and {k2}")
    return m * n * 2 * k


@_aten_formula("addmm")
def addmm_flop(self_shape: Any, a_shape: Any, b_shape: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """The product's FLOPs (the addition is not counted)."""
    return mm_flop(a_shape, b_shape)


@_aten_formula("bmm")
def bmm_flop(a_shape: Any, b_shape: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """2·b·m·k·n for (b, m, k) @ (b, k, n)."""
    b, m, k = a_shape
    b2, k2, n = b_shape
    if b != b2:
        raise AssertionError(f"bmm: batch dimensions must match (b == b2), got {b} and {b2}")
    if k != k2:
        raise AssertionError(f"bmm: inner dimensions must match (k == k2), got {k} and {k2}")
    return b * m * n * 2 * k


@_aten_formula("baddbmm")
def baddbmm_flop(self_shape: Any, a_shape: Any, b_shape: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """The batched product's FLOPs."""
    return bmm_flop(a_shape, b_shape)


@_aten_formula("_scaled_mm")
def _scaled_mm_flop(a_shape: Any, b_shape: Any, scale_a_shape: Any, scale_b_shape: Any, bias_shape: Any = None,
                    scale_result_shape: Any = None, out_dtype: Any = None, use_fast_accum: bool = False,
                    out_shape: Any = None, **kwargs: Any) -> int:
    """The product's FLOPs."""
    return mm_flop(a_shape, b_shape)


def conv_flop_count(x_shape: Any, w_shape: Any, out_shape: Any, transposed: bool = False) -> int:
    """2 · batch · C_out · C_in/groups · kernel size · spatial size, the spatial size being the output's (the
    input's for a transposed convolution, whose kernel visits each input point); the bias is not counted."""
    c_out, c_in, *kernel = w_shape
    spatial = (x_shape if transposed else out_shape)[2:]
    return math.prod(spatial) * math.prod(kernel) * x_shape[0] * c_out * c_in * 2


@_aten_formula("convolution", "_convolution", "cudnn_convolution", "_slow_conv2d_forward",
               "convolution_overrideable")
def conv_flop(x_shape: Any, w_shape: Any, _bias: Any, _stride: Any, _padding: Any, _dilation: Any,
              transposed: bool, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """A convolution's FLOPs."""
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=transposed)


@_aten_formula("convolution_backward")
def conv_backward_flop(grad_out_shape: Any, x_shape: Any, w_shape: Any, _bias: Any, _stride: Any, _padding: Any,
                       _dilation: Any, transposed: bool, _output_padding: Any, _groups: Any, output_mask: Any,
                       out_shape: Any, **kwargs: Any) -> int:
    """The input gradient is the transposed convolution of the output gradient with the weight; the weight
    gradient a convolution of the input with the output gradient (batch and channel axes swapped)."""
    def t(shape: Any) -> list[int]:
        return [shape[1], shape[0], *shape[2:]]
    flops = 0
    if output_mask[0]:
        flops += conv_flop_count(grad_out_shape, w_shape, get_shape(out_shape[0]), not transposed)
    if output_mask[1]:
        gw = t(get_shape(out_shape[1]))
        flops += (conv_flop_count(t(grad_out_shape), t(x_shape), gw) if transposed
                  else conv_flop_count(t(x_shape), t(grad_out_shape), gw))
    return flops


def _attention_shapes(query_shape: Any, key_shape: Any, value_shape: Any) -> tuple[int, int, int, int, int, int]:
    b, h_q, s_q, d_q = query_shape
    b2, h_kv, s_k, d2 = key_shape
    b3, h3, s3, d_v = value_shape
    if not (b == b2 == b3 and h_kv == h3 and d_q == d2 and s_k == s3):
        raise AssertionError(f"sdpa_flop_count: query/key/value shapes are incompatible: q={query_shape}, "
                             f"k={key_shape}, v={value_shape}")
    if h_q < h_kv or h_q % h_kv != 0:
        raise AssertionError(f"sdpa_flop_count: query heads ({h_q}) must be a multiple of key/value heads ({h_kv})")
    return b * h_q, s_q, s_k, d_q, d_v, h_q


def sdpa_flop_count(query_shape: Any, key_shape: Any, value_shape: Any) -> int:
    """Attention's two batched products, Q·Kᵀ and P·V (key/value heads broadcast over query heads)."""
    bh, s_q, s_k, d_q, d_v, _ = _attention_shapes(query_shape, key_shape, value_shape)
    return bmm_flop((bh, s_q, d_q), (bh, d_q, s_k)) + bmm_flop((bh, s_q, s_k), (bh, s_k, d_v))


def sdpa_backward_flop_count(grad_out_shape: Any, query_shape: Any, key_shape: Any, value_shape: Any) -> int:
    """Attention's backward: the scores recomputed, then the gradients of P·V (two products) and of Q·Kᵀ (two)."""
    bh, s_q, s_k, d_q, d_v, h_q = _attention_shapes(query_shape, key_shape, value_shape)
    if tuple(grad_out_shape) != (query_shape[0], h_q, s_q, d_v):
        raise AssertionError("sdpa_backward_flop_count: grad_out/value/key/query shapes are incompatible")
    return (bmm_flop((bh, s_q, d_q), (bh, d_q, s_k)) + bmm_flop((bh, s_q, d_v), (bh, d_v, s_k))
            + bmm_flop((bh, s_k, s_q), (bh, s_q, d_v)) + bmm_flop((bh, s_q, s_k), (bh, s_k, d_q))
            + bmm_flop((bh, d_q, s_q), (bh, s_q, s_k)))


@_aten_formula("_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
               "_scaled_dot_product_cudnn_attention")
def sdpa_flop(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, out_shape: Any = None,
              **kwargs: Any) -> int:
    """A fused attention kernel's FLOPs (a causal mask is not accounted for)."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


@_aten_formula("_scaled_dot_product_efficient_attention_backward", "_scaled_dot_product_flash_attention_backward",
               "_scaled_dot_product_cudnn_attention_backward")
def sdpa_backward_flop(grad_out_shape: Any, query_shape: Any, key_shape: Any, value_shape: Any, *args: Any,
                       out_shape: Any = None, **kwargs: Any) -> int:
    """A fused attention kernel's backward FLOPs."""
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


# ---------------------------------------------------------------------------------------------- display

suffixes = ["", "K", "M", "B", "T"]


def get_suffix_str(number: int) -> str:
    """The suffix for ``number``'s magnitude, one step late (1001M rather than 1.001B)."""
    return suffixes[max(0, min(len(suffixes) - 1, (len(str(number)) - 2) // 3))]


def convert_num_with_suffix(number: int, suffix: str) -> str:
    """``number`` in units of ``suffix``, three decimals."""
    return f"{number / 1000 ** suffixes.index(suffix):.3f}" + suffix


def convert_to_percent_str(num: int, denom: int) -> str:
    """``num`` as a percentage of ``denom`` (``"0%"`` when ``denom`` is 0)."""
    return "0%" if denom == 0 else f"{num / denom:.2%}"


def normalize_tuple(x: Any) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def _number(s: str) -> int | float | None:
    try:
        return int(s)
    except ValueError:
        try:
            return float(s)
        except ValueError:
            return None


def _tabulate(rows: list[list[str]], headers: list[str], colalign: tuple[str, ...]) -> str:
    """tabulate's "simple" table as torch prints it: cells stripped, columns whose cells all read as numbers
    reformatted (``"1360.000"`` → ``1360``), widths of at least the header plus two, columns two spaces apart."""
    cols = [[r[i].strip() for r in rows] for i in range(len(headers))]
    for i, col in enumerate(cols):
        nums = [_number(c) for c in col]
        if col and all(n is not None for n in nums):
            cols[i] = ([str(n) for n in nums] if all(isinstance(n, int) for n in nums)
                       else [format(float(n), "g") for n in nums])   # type: ignore[arg-type]
    widths = [max(len(h) + 2, *(len(c) for c in col)) for h, col in zip(headers, cols, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if a == "left" else c.rjust(w)
                         for c, w, a in zip(cells, widths, colalign, strict=True))
    body = [line([col[j] for col in cols]) for j in range(len(rows))]
    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *body])


# ---------------------------------------------------------------------------------------------- forward rules

def _arg(args: tuple, kwargs: dict, i: int, name: str, default: Any = None) -> Any:
    return args[i] if len(args) > i else kwargs.get(name, default)


def _t(s: tuple) -> tuple:
    return (*s[:-2], s[-1], s[-2])


def _should_fold(t1: Tensor, t2: Tensor) -> bool:
    """torch's matmul: whether the larger operand (transposed when it is the second) folds into a matrix so one
    ``mm``/``mv`` does the product instead of a ``bmm``."""
    larger = t1.dim() >= t2.dim()
    big = t1 if larger else t2.mT
    small_dim = t2.dim() if larger else t1.dim()
    if not (big.dim() >= 3 and small_dim <= 2):
        return False
    if (t2 if larger else t1).requires_grad:   # folding keeps the backward from building a large expanded tensor
        return True
    if t1.dim() == 2:
        return False
    if big.numel() == 0:
        return True
    shape, strides = big.shape, big.stride()
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(big.dim() - 2))


def _matmul_ops(a: Tensor, b: Tensor) -> list[tuple[str, tuple]]:
    """The counted aten op torch's ``matmul`` runs for these operands, with its operands' shapes (none for the
    vector products ``dot`` and ``mv``)."""
    da, db = a.dim(), b.dim()
    if da == 0 or db == 0:
        return []
    if da <= 2 and db <= 2:
        return [] if db == 1 else [("mm", (Size((1, a.shape[0]) if da == 1 else a.shape), b.shape))]
    if _should_fold(a, b):
        if da >= db:   # (..., n, m) @ (m, p): one (N, m) @ (m, p) product
            return [] if db == 1 else [("mm", (Size((a.numel() // a.shape[-1], a.shape[-1])), b.shape))]
        # (n, m) @ (..., m, p) folds as ((..., p, m) @ (m, n))ᵀ
        return [] if da == 1 else [("mm", (Size((b.numel() // b.shape[-2], b.shape[-2])), _t(a.shape)))]
    sa = (1, a.shape[0]) if da == 1 else tuple(a.shape)
    sb = (b.shape[0], 1) if db == 1 else tuple(b.shape)
    batch = math.prod(_broadcast(sa[:-2], sb[:-2]))
    return [("bmm", (Size((batch, *sa[-2:])), Size((batch, *sb[-2:]))))]


def _broadcast(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(a, b, strict=True))


def _rule_mm(args: tuple, kwargs: dict, out: Any) -> list:
    return [("mm", (args[0], _arg(args, kwargs, 1, "mat2")))]


def _rule_bmm(args: tuple, kwargs: dict, out: Any) -> list:
    return [("bmm", (args[0], _arg(args, kwargs, 1, "mat2")))]


def _rule_addmm(args: tuple, kwargs: dict, out: Any) -> list:
    return [("addmm", (args[0], _arg(args, kwargs, 1, "mat1"), _arg(args, kwargs, 2, "mat2")))]


def _rule_baddbmm(args: tuple, kwargs: dict, out: Any) -> list:
    return [("baddbmm", (args[0], _arg(args, kwargs, 1, "batch1"), _arg(args, kwargs, 2, "batch2")))]


def _rule_matmul(args: tuple, kwargs: dict, out: Any) -> list:
    a, b = args[0], _arg(args, kwargs, 1, "other")
    return _matmul_ops(a, b) if isinstance(a, Tensor) and isinstance(b, Tensor) else []


def _rule_linear(args: tuple, kwargs: dict, out: Any) -> list:
    """torch's linear: ``addmm`` on the input seen as a matrix when there is a bias and the input is a vector,
    a matrix or contiguous; otherwise ``matmul`` with the transposed weight."""
    x, w, bias = args[0], _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
    if bias is not None and (x.dim() <= 2 or x.is_contiguous()):
        rows = x.numel() // x.shape[-1] if x.shape[-1] else 0
        return [("addmm", (bias.shape, Size((rows, x.shape[-1])), Size(_t(w.shape))))]
    return _matmul_ops(x, w.t())


def _rule_conv(transposed: bool) -> Callable[[tuple, dict, Any], list]:
    def rule(args: tuple, kwargs: dict, out: Any) -> list:
        x, w = args[0], _arg(args, kwargs, 1, "weight")
        xs, os_ = tuple(x.shape), tuple(out.shape)
        if len(xs) == w.dim() - 1:   # unbatched: torch adds the batch axis first
            xs, os_ = (1, *xs), (1, *os_)
        return [("convolution", (Size(xs), w.shape, None, None, None, None, transposed),
                 {"out_val": Size(os_)})]
    return rule


def _rule_convolution(args: tuple, kwargs: dict, out: Any) -> list:
    return _rule_conv(bool(_arg(args, kwargs, 6, "transposed")))(args, kwargs, out)


def _rule_tensordot(args: tuple, kwargs: dict, out: Any) -> list:
    """One ``mm``: (free a, contracted) @ (contracted, free b)."""
    a, b = args[0], args[1]
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return []
    k = math.prod(a.shape) * math.prod(b.shape) // max(math.prod(out.shape), 1)
    k = math.isqrt(k) if k else 0
    m = math.prod(a.shape) // k if k else 0
    n = math.prod(b.shape) // k if k else 0
    return [("mm", (Size((m, k)), Size((k, n))))]


def _rule_einsum(args: tuple, kwargs: dict, out: Any) -> list:
    """torch's einsum contracts the operands left to right, one ``bmm`` per pair: batch (indices in both and
    kept), left and right (kept, in one of them) and contracted (in both, not kept)."""
    eq = args[0]
    ops = list(args[1]) if len(args) == 2 and isinstance(args[1], (list, tuple)) else list(args[1:])
    if not isinstance(eq, str) or len(ops) < 2 or "..." in eq:
        return []
    lhs, _, rhs = eq.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if not rhs and "->" not in eq:
        rhs = "".join(sorted(c for c in set(lhs) - {","} if lhs.count(c) == 1))
    sizes = {c: s for term, t in zip(terms, ops, strict=True) for c, s in zip(term, t.shape, strict=True)}
    found, cur = [], terms[0]
    for i, term in enumerate(terms[1:], 1):
        later = set(rhs) | set("".join(terms[i + 1:]))   # indices still needed after this product
        a_only = {c for c in cur if c not in term and c in later}
        b_only = {c for c in term if c not in cur and c in later}
        both = {c for c in cur if c in term}
        batch = both & later
        k = both - batch
        p = [math.prod(sizes[c] for c in g) for g in (batch, a_only, k, b_only)]
        found.append(("bmm", (Size((p[0], p[1], p[2])), Size((p[0], p[2], p[3])))))
        cur = "".join(sorted(batch | a_only | b_only))
    return found


def _rule_multi_dot(args: tuple, kwargs: dict, out: Any) -> list:
    """torch's ``multi_dot``: the matrices multiplied in the order of least cost, one ``mm`` per product (a
    leading vector as a row, a trailing one as a column)."""
    ts = list(args[0]) if args and isinstance(args[0], (list, tuple)) else list(args)
    if len(ts) < 2 or not all(isinstance(t, Tensor) for t in ts):
        return []
    dims = [1 if ts[0].dim() == 1 else ts[0].shape[0], *(t.shape[-1] if t.dim() == 2 else 1 for t in ts[:-1]),
            1 if ts[-1].dim() == 1 else ts[-1].shape[-1]]
    n = len(ts)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for span in range(1, n):
        for i in range(n - span):
            j = i + span
            cost[i][j] = -1
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] < 0 or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    found: list = []

    def walk(i: int, j: int) -> None:
        if i < j:
            k = split[i][j]
            walk(i, k)
            walk(k + 1, j)
            found.append(("mm", (Size((dims[i], dims[k + 1])), Size((dims[k + 1], dims[j + 1])))))
    walk(0, n - 1)
    return found


_RULES: dict[str, Callable[[tuple, dict, Any], list]] = {
    "mm": _rule_mm, "bmm": _rule_bmm, "addmm": _rule_addmm, "baddbmm": _rule_baddbmm, "matmul": _rule_matmul,
    "linear": _rule_linear, "conv1d": _rule_conv(False), "conv2d": _rule_conv(False), "conv3d": _rule_conv(False),
    "conv_transpose1d": _rule_conv(True), "conv_transpose2d": _rule_conv(True),
    "conv_transpose3d": _rule_conv(True), "convolution": _rule_convolution, "tensordot": _rule_tensordot,
    "einsum": _rule_einsum, "multi_dot": _rule_multi_dot, "chain_matmul": _rule_multi_dot,
}
# ops torch runs as one uncounted kernel (ember may build them from counted ones): not looked into
_OPAQUE = frozenset("addbmm addmv addr bilinear mv dot vdot inner outer ger kron".split())


# ---------------------------------------------------------------------------------------------- backward rules

def _node_ops(node: Any, grads: list) -> list:
    """The counted aten ops a built-in backward node runs: per input needing a gradient, one product."""
    name = type(node).__name__
    need = [e is not None for e in node._next]
    shapes = [Size(m[0]) if m is not None else None for m in node._meta]
    if name in ("MmBackward0", "BmmBackward0", "AddmmBackward0", "BaddbmmBackward0"):
        op = "bmm" if name[0] == "B" else "mm"
        off = 1 if name.startswith("Add") or name.startswith("Badd") else 0
        a, b = shapes[off], shapes[off + 1]
        g = Size((*a[:-1], b[-1]))
        found = []
        if need[off]:
            found.append((op, (g, Size(_t(b)))))
        if need[off + 1]:
            found.append((op, (Size(_t(a)), g)))
        return found
    if name == "ConvolutionBackward0" and grads and isinstance(grads[0], Tensor):
        mask = [need[0], need[1], len(need) > 2 and need[2]]
        outs = tuple(s if m else None for s, m in zip((shapes[0], shapes[1], shapes[2] if len(shapes) > 2 else None),
                                                      mask, strict=True))
        return [("convolution_backward", (grads[0].shape, shapes[0], shapes[1], None, None, None, None,
                                          bool(getattr(node, "transposed", False)), None, None, mask),
                 {"out_val": outs})]
    return []


# ---------------------------------------------------------------------------------------------- the counter

class FlopCounterMode:
    """Context manager counting the FLOPs run inside it (forward and backward), per module and per op.

    ``depth`` limits the module levels of the table printed on exit (when ``display``); ``custom_mapping`` adds
    or replaces formulas (``{ember.ops.aten.mm: fn}``) for this counter only; ``mods`` is no longer needed.
    """

    def __init__(self, mods: Any = None, depth: int = 2, display: bool = True,
                 custom_mapping: dict[Any, Any] | None = None) -> None:
        self.flop_counts: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self.mode: _FlopCounterMode | None = None
        if mods is not None:
            warn("mods argument is not needed anymore, you can stop passing it", stacklevel=2)
        self.flop_registry = {**flop_registry, **{
            _packet(k): v if getattr(v, "_get_raw", False) else shape_wrapper(v)
            for k, v in (custom_mapping or {}).items()}}
        self.mod_tracker = ModuleTracker()

    def get_total_flops(self) -> int:
        """All FLOPs counted."""
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self) -> dict[str, dict[Any, int]]:
        """``{module path: {op: FLOPs}}``, ``"Global"`` holding everything."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth: int | None = None) -> str:
        """The counts as torch's table: each module down to ``depth`` levels with its ops, and ``Global`` first
        when some FLOPs ran outside every module."""
        if depth is None:
            depth = self.depth if self.depth is not None else 999999
        total = self.get_total_flops()
        suffix = get_suffix_str(total)
        subsumed = False

        def rows_of(mod: str, level: int) -> list[list[str]]:
            nonlocal subsumed
            flops = sum(self.flop_counts[mod].values())
            subsumed |= flops >= total
            pad = " " * level
            return [[pad + mod, convert_num_with_suffix(flops, suffix), convert_to_percent_str(flops, total)],
                    *([pad + " - " + str(k), convert_num_with_suffix(v, suffix), convert_to_percent_str(v, total)]
                      for k, v in self.flop_counts[mod].items())]

        rows: list[list[str]] = []
        for mod in sorted(self.flop_counts):
            level = mod.count(".") + 1
            if mod != "Global" and level <= depth:
                rows += rows_of(mod, level - 1)
        if "Global" in self.flop_counts and not subsumed:
            rows = rows_of("Global", 0) + [[" " + r[0], *r[1:]] for r in rows]
        if not rows:
            rows = [["Global", "0", "0%"]]
        return _tabulate(rows, ["Module", "FLOP", "% Total"], ("left", "right", "right"))

    def __enter__(self) -> FlopCounterMode:
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self.mode = _FlopCounterMode(self)
        self.mode.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        if self.mode is None:
            raise AssertionError("Internal error: FlopCounter.__exit__ called but mode is None")
        self.mode.__exit__(*args)
        self.mode = None
        self.mod_tracker.__exit__()
        if self.display:
            print(self.get_table(self.depth))

    def _count(self, op: str, args: tuple, kwargs: dict | None = None) -> None:
        key = _aten(op)
        formula = self.flop_registry.get(key)
        if formula is not None:
            flops = formula(*args, **(kwargs or {}))
            for par in set(self.mod_tracker.parents):
                self.flop_counts[par][key] += flops


class _FlopCounterMode(TorchFunctionMode):
    """The forward side (a function mode) and the backward side (the engine's node hook) of a counter."""

    def __init__(self, counter: FlopCounterMode) -> None:
        super().__init__()
        self.counter = counter
        self._quiet = 0   # > 0 while a built-in backward node runs: its inner calls are counted by the node

    def __enter__(self) -> _FlopCounterMode:
        self._prev_hook = prev = graph.PROFILER[0]

        def hook(call: Callable) -> Callable:
            return self._node_call(prev(call) if prev is not None else call)
        graph.PROFILER[0] = hook
        super().__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        graph.PROFILER[0] = self._prev_hook

    def _node_call(self, call: Callable) -> Callable:
        def run(node: Any, grads: list, *rest: Any) -> Any:
            if type(node) is graph.AccumulateGrad or isinstance(node, BackwardCFunction):
                return call(node, grads, *rest)
            for op, *a in _node_ops(node, grads):
                self.counter._count(op, *a)
            self._quiet += 1
            try:
                return call(node, grads, *rest)
            finally:
                self._quiet -= 1
        return run

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        ours = (getattr(func, "__module__", None) or "").startswith("ember")
        rule = _RULES.get(name) if ours else None
        raw = getattr(func, "__wrapped__", None)
        if self._quiet or rule is not None or raw is None or name in _OPAQUE or name.endswith("_"):
            out = func(*args, **kwargs)
        else:   # look into it: the public ops it is built from come back here
            TorchFunctionMode.__enter__(self)
            try:
                out = raw(*args, **kwargs)
            finally:
                TorchFunctionMode.__exit__(self, None, None, None)
        if rule is not None and not self._quiet:
            for op, *a in rule(args, kwargs, out):
                self.counter._count(op, *a)
        return out
