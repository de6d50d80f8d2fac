"""ember on a CUDA GPU (CuPy): every operator family run on cuda against ember's CPU result and, where
torch CUDA is installed, against torch on the same GPU; the ``ember.cuda`` API; devices, errors,
modules, optimizers, data loading and checkpoints with cuda tensors. Skipped without a GPU."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember

FAKE = bool(os.environ.get("EMBER_FAKE_CUPY"))
if FAKE:   # run this suite on the NumPy-backed CuPy stand-in (tests/fake_cupy.py): no GPU needed
    import fake_cupy
    from ember._core import device as _device

    _device._cupy = fake_cupy.namespace()
real_gpu = pytest.mark.skipif(FAKE, reason="CUDA graphs, memory statistics, event timing and TF32 need a real GPU")

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not ember.cuda.is_available(), reason="needs a CUDA GPU and CuPy")]

try:
    import torch

    TORCH_CUDA = torch.cuda.is_available()
    torch.backends.cudnn.allow_tf32 = False   # torch's CUDA convolutions default to TF32; compare in float32
except ImportError:  # pragma: no cover - torch is the test oracle
    torch, TORCH_CUDA = None, False

F_ = "f"  # float32 input in [-1, 1)
P_ = "p"  # positive float32 in [0.5, 2)
U_ = "u"  # float32 in (-0.9, 0.9) (for asin, erfinv, atanh)
I_ = "i"  # int64 in [0, 5)
B_ = "b"  # bool


def _array(spec: tuple, seed: int) -> np.ndarray:
    kind, shape = spec[0], spec[1:]
    rng = np.random.default_rng(seed)
    if kind == F_:
        return rng.uniform(-1, 1, shape).astype(np.float32)
    if kind == P_:
        return rng.uniform(0.5, 2, shape).astype(np.float32)
    if kind == U_:
        return rng.uniform(-0.9, 0.9, shape).astype(np.float32)
    if kind == I_:
        return rng.integers(0, 5, shape).astype(np.int64)
    return rng.integers(0, 2, shape).astype(bool)


def _run(lib: Any, device: str, fn: Callable, arrays: list[np.ndarray], grad: bool) -> tuple[Any, list[Any]]:
    """Run ``fn`` with ``lib`` on ``device``; return (outputs as host arrays, input grads as host arrays)."""
    ins = []
    for a in arrays:
        t = lib.tensor(a, device=device)
        if grad and a.dtype == np.float32:
            t.requires_grad_(True)
        ins.append(t)
    out = fn(lib, *ins)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        assert str(o.device).startswith(device), f"output on {o.device}, expected {device}"
    grads: list[Any] = []
    if grad:
        diff = [o for o in outs if o.requires_grad]
        if diff:
            total = sum((o.float() * lib.tensor(_array((F_, *o.shape), 7), device=device)).sum() for o in diff)
            total.backward()
            grads = [None if t.grad is None else t.grad.detach().cpu().float().numpy() for t in ins if t.requires_grad]
    host = [o.detach().cpu().numpy() if o.dtype != lib.bfloat16 else o.detach().float().cpu().numpy() for o in outs]
    dtypes = [str(o.dtype) for o in outs]
    return (host, dtypes), grads


def _close(a: Any, b: Any, rtol: float, atol: float) -> None:
    (ha, da), (hb, db) = a, b
    assert [d.split(".")[-1] for d in da] == [d.split(".")[-1] for d in db]
    for x, y in zip(ha, hb, strict=True):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, equal_nan=True)


def _close_grads(ga: list, gb: list, rtol: float, atol: float) -> None:
    assert len(ga) == len(gb)
    for x, y in zip(ga, gb, strict=True):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


# (id, fn(lib, *inputs), input specs, differentiable)
CASES: list[tuple[str, Callable, list[tuple], bool]] = []


def case(name: str, *specs: tuple, grad: bool = True) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        CASES.append((name, fn, list(specs), grad))
        return fn

    return register


def _unary(name: str, spec: str = F_, grad: bool = True) -> None:
    CASES.append((name, lambda lib, x: getattr(lib, name)(x), [(spec, 3, 4)], grad))


for _n in [
    "abs",
    "neg",
    "exp",
    "exp2",
    "expm1",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sinh",
    "cosh",
    "atan",
    "sigmoid",
    "relu",
    "erf",
    "erfc",
    "square",
    "floor",
    "ceil",
    "trunc",
    "frac",
    "round",
    "isnan",
    "isfinite",
    "logical_not",
    "nan_to_num",
    "deg2rad",
    "rad2deg",
    "signbit",
    "positive",
]:
    _unary(_n)
for _n in ["log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "lgamma", "digamma", "logit"]:
    _unary(_n, P_)
for _n in ["asin", "acos", "atanh", "erfinv"]:
    _unary(_n, U_)
for _n in ["abs", "neg", "sign", "bitwise_not", "square"]:
    _unary(_n, I_, grad=False)
for _n in ["sign", "sgn"]:  # zero gradient everywhere (torch returns a ZeroTensor, which has no NumPy view)
    _unary(_n, grad=False)

for _n in [
    "add",
    "sub",
    "mul",
    "div",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "atan2",
    "hypot",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "logaddexp",
    "copysign",
    "xlogy",
    "remainder",
    "fmod",
]:
    CASES.append((_n, (lambda n: lambda lib, a, b: getattr(lib, n)(a, b))(_n), [(F_, 3, 4), (P_, 4)], True))
for _n in [
    "add",
    "sub",
    "mul",
    "floor_divide",
    "remainder",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_left_shift",
    "eq",
    "maximum",
    "gcd",
]:
    CASES.append(
        (f"{_n}_int", (lambda n: lambda lib, a, b: getattr(lib, n)(a, b + 1))(_n), [(I_, 3, 4), (I_, 3, 4)], False)
    )


@case("div_floor", (F_, 3, 4), (P_, 3, 4))
def _div_floor(lib, a, b):
    return lib.div(a, b, rounding_mode="floor"), lib.div(a, b, rounding_mode="trunc")


@case("int_true_div", (I_, 3, 4), (I_, 3, 4), grad=False)
def _int_div(lib, a, b):
    return a / (b + 1)


@case("pow", (P_, 3, 4), (F_, 3, 4))
def _pow(lib, a, b):
    return a**b, a**2, 2**b, a.pow(0.5)


@case("scalars", (F_, 3, 4))
def _scalars(lib, a):
    return a + 1, 2 * a, a / 3, 1 - a, a * True, a.add(1, alpha=2)


@case("zero_dim_cpu_operand", (F_, 3, 4))
def _zero_dim(lib, a):
    return a * lib.tensor(2.5), lib.tensor(3.0) - a


@case("clamp", (F_, 3, 4), (F_, 3, 4), (P_, 3, 4))
def _clamp(lib, x, lo, hi):
    return x.clamp(-0.5, 0.5), x.clamp(min=0), lib.clamp(x, lo, hi), x.clip(max=0.2)


@case("lerp_addcmul_addcdiv", (F_, 3, 4), (F_, 3, 4), (P_, 3, 4))
def _ternary(lib, a, b, c):
    return lib.lerp(a, b, 0.3), lib.lerp(a, b, c / 2), lib.addcmul(a, b, c, value=0.5), lib.addcdiv(a, b, c, value=2)


@case("where", (B_, 3, 4), (F_, 3, 4), (F_, 4))
def _where(lib, m, a, b):
    return lib.where(m, a, b), lib.where(a > 0, a, 0.0)


@case("logical", (B_, 3, 4), (B_, 3, 4), grad=False)
def _logical(lib, a, b):
    return lib.logical_and(a, b), lib.logical_or(a, b), lib.logical_xor(a, b), a & b, a | b, a ^ b, ~a


@case("type_promotion", (I_, 3, 4), (F_, 3, 4), grad=False)
def _promotion(lib, i, f):
    return i + f, i * 2.5, i.float() + f.double(), (i > 2) + i, i.to(lib.float16) * 3


@case("half_math", (F_, 3, 4), (F_, 3, 4), grad=False)
def _half(lib, a, b):
    a, b = a.half(), b.half()
    return a + b, a * b, a.exp(), a.sum(), a @ b.t()


# ---- reductions -------------------------------------------------------------------------------------
@case("sum_mean_prod", (F_, 3, 4, 5))
def _sum(lib, x):
    return x.sum(), x.sum(1), x.sum((0, 2), keepdim=True), x.mean(), x.mean(-1), x.prod(1), x.nansum()


@case("max_min", (F_, 3, 4, 5))
def _max(lib, x):
    v, i = x.max(1)
    w, j = x.min(dim=-1, keepdim=True)
    return x.max(), x.min(), v, i, w, j, x.amax((0, 1)), x.amin(2), x.argmax(), x.argmin(1)


@case("var_std", (F_, 3, 4, 5))
def _var(lib, x):
    return x.var(), x.var(1), x.std(0, unbiased=False), *lib.var_mean(x, 2), x.std(dim=(0, 2), correction=0)


@case("logsumexp_norm", (F_, 3, 4, 5))
def _lse(lib, x):
    return (
        x.logsumexp(1),
        x.norm(),
        x.norm(p=1, dim=0),
        lib.linalg.vector_norm(x, 3, dim=-1),
    )


@case("cumulative", (F_, 3, 4))
def _cum(lib, x):
    return x.cumsum(1), x.cumprod(0), lib.cummax(x, 1)[0], lib.logcumsumexp(x, 0)


@case("bool_int_reductions", (B_, 3, 4), (I_, 3, 4), grad=False)
def _boolred(lib, b, i):
    return b.all(), b.any(1), b.sum(), i.sum(0), i.prod(), lib.count_nonzero(i, 1), i.max(), i.float().mean()


@case("median_kthvalue_mode", (F_, 3, 5))
def _median(lib, x):
    return x.median(), x.median(1)[0], x.kthvalue(2, 1)[0], x.quantile(0.3, dim=1)


# ---- shape, views, joins ---------------------------------------------------------------------------------
@case("views", (F_, 2, 3, 4))
def _views(lib, x):
    return (
        x.view(6, 4),
        x.reshape(-1),
        x.transpose(0, 2),
        x.permute(2, 0, 1).contiguous(),
        x.t() if x.dim() == 2 else x[0].t(),
        x.unsqueeze(1),
        x[:, :1].squeeze(1),
        x.flatten(1),
        x.expand(3, 2, 3, 4),
        x.narrow(2, 1, 2),
        x.select(1, 0),
        x.unfold(2, 2, 1),
        x.movedim(0, -1),
        x.diagonal(0, 1, 2),
        x.view(lib.int32) if False else x,
    )


@case("joins_splits", (F_, 2, 3), (F_, 2, 3))
def _joins(lib, a, b):
    return (
        lib.cat([a, b]),
        lib.cat([a, b], 1),
        lib.stack([a, b], 2),
        *lib.split(a, [1, 2], 1),
        *a.chunk(2),
        *a.unbind(1),
        lib.hstack([a, b]),
        lib.vstack([a, b]),
    )


@case("reorder", (F_, 3, 4))
def _reorder(lib, x):
    return (
        x.flip(0),
        x.roll(1, 1),
        x.repeat(2, 1),
        x.tile((1, 2)),
        x.tril(),
        x.triu(1),
        lib.diag(x[0]),
        lib.diag(x),
        x.rot90(),
        x.repeat_interleave(2, 0),
    )


# ---- indexing ---------------------------------------------------------------------------------------------
@case("getitem", (F_, 5, 4), (I_, 3), (B_, 5, 4))
def _getitem(lib, x, idx, mask):
    return x[1], x[1:4:2], x[:, -1], x[idx], x[idx, 1:], x[mask], x[..., None], x[[0, 2], [1, 3]], x[x > 0]


@case("gather_scatter", (F_, 5, 4), (I_, 5, 2))
def _gather(lib, x, idx):
    idx = idx.clamp(max=3)
    src = x[:, :2] * 2
    unique = lib.tensor([[0, 2], [1, 3], [3, 0], [2, 1], [0, 1]], device=x.device)   # scatter: no repeats per row
    return (
        x.gather(1, idx),
        lib.zeros(5, 4, device=x.device).scatter(1, unique, src),
        x.scatter_add(1, idx, src),
        x.index_select(0, idx[:, 0]),
        x.index_add(0, idx[:3, 0], x[:3]),
        x.masked_fill(x > 0.5, -1.0),
        x.masked_select(x > 0),
        x.take(idx),
        x.scatter_reduce(1, idx, src, "amax"),
    )


@case("setitem_index_put", (F_, 5, 4), (I_, 3), (F_, 3, 4))
def _setitem(lib, x, idx, v):
    y = x * 1
    idx = lib.tensor([3, 0, 2], device=x.device)   # unique: with repeats torch leaves the winner undefined
    y[idx] = v
    z = x * 1
    z[z > 0.5] = 0.0
    w = x * 1
    w[1:3, 2] = 7.0
    u = x.index_put((idx,), v, accumulate=True)
    return y, z, w, u


@case("nonzero_unique", (I_, 4, 5), grad=False)
def _nonzero(lib, x):
    u, inv, cnt = lib.unique(x, return_inverse=True, return_counts=True)
    return x.nonzero(), lib.argwhere(x), u, inv, cnt, lib.bincount(x.flatten()), lib.unique_consecutive(x.flatten())


@case("sort_topk", (F_, 4, 6))
def _sort(lib, x):
    s, i = x.sort(1, descending=True)
    v, j = x.topk(3, 1)
    return s, i, v, j, x.argsort(0), lib.msort(x), lib.searchsorted(s.flip(1).contiguous(), x[:, :2].contiguous())


# ---- matmul and linalg -------------------------------------------------------------------------------------
@case("matmul", (F_, 4, 5), (F_, 5, 3), (F_, 2, 4, 5), (F_, 5))
def _matmul(lib, a, b, c, v):
    return (
        a @ b,
        lib.mm(a, b),
        c @ b,
        lib.bmm(c, b.expand(2, 5, 3)),
        a @ v,
        v @ b,
        lib.outer(v, v),
        lib.dot(v, v),
        lib.addmm(a[:, :3], a, b),
        lib.einsum("bij,jk->bik", c, b),
        lib.tensordot(c, b, 1),
        lib.kron(a[:2, :2], b[:2, :2]),
    )


@case("linalg", (F_, 4, 4), (F_, 4, 2))
def _linalg(lib, a, b):
    m = a @ a.mT + 4 * lib.eye(4, device=a.device)
    return (
        lib.linalg.inv(m),
        lib.linalg.det(m),
        lib.linalg.solve(m, b),
        lib.linalg.cholesky(m),
        lib.linalg.eigvalsh(m),
        lib.linalg.svdvals(a),
        lib.linalg.norm(a),
        lib.linalg.matrix_norm(a, "nuc"),
        lib.linalg.slogdet(m)[1],
        lib.linalg.pinv(a),
        lib.trace(a),
    )


@case("qr_lstsq", (F_, 5, 3), grad=False)
def _qr(lib, a):
    q, r = lib.linalg.qr(a)
    return (q @ r, lib.linalg.lstsq(a, a[:, :1]).solution, lib.linalg.matrix_rank(a))


# ---- nn.functional ---------------------------------------------------------------------------------------
@case("activations", (F_, 3, 8))
def _acts(lib, x):
    F = lib.nn.functional
    return (
        F.gelu(x),
        F.gelu(x, approximate="tanh"),
        F.silu(x),
        F.elu(x),
        F.leaky_relu(x, 0.1),
        F.hardtanh(x),
        F.softplus(x),
        F.mish(x),
        F.hardswish(x),
        F.relu6(x * 8),
        F.selu(x),
        F.celu(x),
        F.logsigmoid(x),
        F.softsign(x),
        F.tanhshrink(x),
        F.glu(x),
        F.prelu(x, lib.full((1,), 0.2, device=x.device)),
    )


@case("softmax", (F_, 3, 8))
def _softmax(lib, x):
    F = lib.nn.functional
    return F.softmax(x, 1), F.log_softmax(x, 0), F.softmin(x, 1), x.softmax(-1)


@case("linear_bilinear", (F_, 4, 5), (F_, 3, 5), (F_, 3))
def _linear(lib, x, w, b):
    F = lib.nn.functional
    return (
        F.linear(x, w, b),
        F.linear(x, w),
        F.normalize(x),
        F.cosine_similarity(x, x.flip(0)),
        F.pairwise_distance(x, x),
    )


@case("conv", (F_, 2, 3, 9, 9), (F_, 4, 3, 3, 3), (F_, 4))
def _conv(lib, x, w, b):
    F = lib.nn.functional
    return (
        F.conv2d(x, w, b),
        F.conv2d(x, w, None, stride=2, padding=1),
        F.conv2d(x, w, b, dilation=2),
        F.conv2d(x, w[:3, :1].contiguous(), None, groups=3),
        F.conv_transpose2d(x, w.transpose(0, 1).contiguous(), None, stride=2),
    )


@case("conv1d_3d", (F_, 2, 3, 10), (F_, 4, 3, 3), (F_, 1, 2, 5, 5, 5), (F_, 3, 2, 2, 2, 2))
def _conv13(lib, x1, w1, x3, w3):
    F = lib.nn.functional
    return (
        F.conv1d(x1, w1, padding=1),
        F.conv3d(x3, w3, stride=1),
        F.conv_transpose1d(x1, w1.transpose(0, 1).contiguous()),
    )


@case("pooling", (F_, 2, 3, 8, 8))
def _pool(lib, x):
    F = lib.nn.functional
    return (
        F.max_pool2d(x, 2),
        F.max_pool2d(x, 3, 2, 1),
        F.avg_pool2d(x, 2),
        F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
        F.adaptive_avg_pool2d(x, (3, 3)),
        F.adaptive_max_pool2d(x, 1),
        F.lp_pool2d(x, 2, 2),
        F.max_pool1d(x[0], 2),
    )


@case("norms", (F_, 4, 6, 5, 5), (P_, 6), (F_, 6))
def _norms(lib, x, w, b):
    F = lib.nn.functional
    rm, rv = lib.zeros(6, device=x.device), lib.ones(6, device=x.device)
    return (
        F.batch_norm(x, rm, rv, w, b, training=True),
        rm,
        rv,
        F.layer_norm(x, (5, 5)),
        F.group_norm(x, 3, w, b),
        F.instance_norm(x),
        F.layer_norm(x.transpose(1, 3), (6,), w, b),
        F.local_response_norm(x, 2),
        F.rms_norm(x, (5,)),
    )


@case("resize_pad", (F_, 1, 2, 4, 4))
def _resize(lib, x):
    F = lib.nn.functional
    return (
        F.interpolate(x, scale_factor=2),
        F.interpolate(x, size=(7, 5), mode="bilinear", align_corners=False),
        F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=True),
        F.pad(x, (1, 2, 0, 1)),
        F.pad(x, (1, 1, 1, 1), mode="reflect"),
        F.pad(x, (2, 0, 1, 0), mode="replicate"),
        F.pixel_shuffle(x.repeat(1, 2, 1, 1), 2),
        F.unfold(x, 2),
        F.fold(F.unfold(x, 2), (4, 4), 2),
    )


@case("grid_sample_affine", (F_, 2, 3, 5, 5), (F_, 2, 2, 3))
def _grid(lib, x, theta):
    F = lib.nn.functional
    grid = F.affine_grid(theta, (2, 3, 4, 4), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False), grid


@case("losses", (F_, 6, 5), (I_, 6), (F_, 6, 5))
def _losses(lib, x, y, t):
    F = lib.nn.functional
    p = x.sigmoid()
    tgt = t.sigmoid().detach()
    sgn = t.detach().sign()
    return (
        F.cross_entropy(x, y),
        F.cross_entropy(x, y, reduction="none", label_smoothing=0.1),
        F.nll_loss(x.log_softmax(1), y),
        F.mse_loss(x, t),
        F.l1_loss(x, t),
        F.smooth_l1_loss(x, t),
        F.huber_loss(x, t, delta=0.5),
        F.binary_cross_entropy(p, tgt),
        F.binary_cross_entropy_with_logits(x, tgt),
        F.kl_div(x.log_softmax(1), tgt.softmax(1), reduction="batchmean"),
        F.soft_margin_loss(x, sgn),
        F.multi_margin_loss(x, y),
        F.multilabel_soft_margin_loss(x, tgt),
        F.hinge_embedding_loss(x, sgn),
        F.poisson_nll_loss(x, tgt),
        F.gaussian_nll_loss(x, t, tgt + 0.1),
        F.cross_entropy(x, tgt.softmax(1)),
        F.triplet_margin_loss(x, t, x.flip(0)),
        F.margin_ranking_loss(x[:, 0], t[:, 0], sgn[:, 1]),
    )


@case("embedding_onehot", (I_, 3, 4), (F_, 5, 3), grad=True)
def _embed(lib, i, w):
    F = lib.nn.functional
    return F.embedding(i, w), F.embedding(i, w, padding_idx=0), F.one_hot(i, 5), F.embedding_bag(i, w, mode="mean")


@case("attention", (F_, 2, 3, 5, 4), (F_, 2, 3, 6, 4), (F_, 2, 3, 6, 4))
def _attn(lib, q, k, v):
    F = lib.nn.functional
    return (
        F.scaled_dot_product_attention(q, k, v),
        F.scaled_dot_product_attention(q, k[:, :, :5], v[:, :, :5], is_causal=True),
    )


@case("cdist_misc", (F_, 4, 3), (F_, 5, 3))
def _cdist(lib, a, b):
    return (
        lib.cdist(a, b),
        lib.pdist(a),
        lib.cross(a[:, :3], a.flip(0), dim=1),
        lib.diff(a, dim=0),
        lib.histc(a, 4, -1, 1),
    )


@case("special", (P_, 3, 4), (U_, 3, 4))
def _special(lib, p, u):
    sp = lib.special
    return (sp.i0(p), sp.i1(p), sp.ndtr(u), sp.ndtri(u.abs() / 2 + 0.25), sp.log_ndtr(u), sp.erfcx(p),
            sp.xlog1py(p, u), sp.polygamma(1, p), sp.multigammaln(p + 2, 2), sp.zeta(p.detach() + 1, p.detach()),
            sp.expit(u), sp.sinc(u), sp.entr(p))


def _real(lib: Any, z: Any) -> Any:
    return lib.view_as_real(z.resolve_conj())


@case("fft", (F_, 4, 8))
def _fft(lib, x):
    fft = lib.fft
    return (_real(lib, fft.fft(x)), _real(lib, fft.ifft(x, norm="ortho")), _real(lib, fft.rfft(x)),
            fft.irfft(fft.rfft(x)), _real(lib, fft.fft2(x)), fft.fftshift(x), fft.hfft(fft.rfft(x)[:, :3]))


@case("complex", (F_, 3, 4), (P_, 3, 4), grad=False)
def _complex(lib, x, r):
    z = lib.complex(x, r)
    return _real(lib, z * z), z.abs(), z.angle(), _real(lib, z.conj()), _real(lib, lib.polar(r, x))


@case("linalg_more", (F_, 4, 4), (F_, 4, 3))
def _linalg_more(lib, a, b):
    la = lib.linalg
    m = a @ a.mT + 4 * lib.eye(4, device=a.device)
    tri = m.tril()
    u, s_, vh = la.svd(b, full_matrices=False)
    return (u @ lib.diag_embed(s_) @ vh, la.matrix_exp(a / 4), la.solve_triangular(tri, b, upper=False),
            la.multi_dot([a, m, b]), la.matrix_power(a, 3), la.cross(b[:, :3], b.flip(0)[:, :3]),
            la.eigh(m)[0], la.tensorinv(m, 1), la.lu_solve(*lib.linalg.lu_factor_ex(m)[:2], b)
            if hasattr(la, "lu_factor_ex") else la.solve(m, b))


@case("stats_and_misc", (F_, 4, 6), (I_, 5), grad=False)
def _misc(lib, x, i):
    edges = lib.tensor([-0.5, 0.0, 0.5], device=x.device)
    ints = i.float()
    return (lib.cov(x), lib.corrcoef(x), lib.trapezoid(x, dim=1), lib.bucketize(x, edges), lib.isin(i, i[:2]),
            lib.cartesian_prod(ints[:2], ints[2:4]), lib.combinations(ints, 2), lib.aminmax(x, dim=1)[0],
            lib.cummin(x, 1)[0], lib.nanmean(x), lib.nanmedian(x), lib.histc(x, 5, -1, 1),
            lib.kron(x[:2, :2], x[:2, :2]))


@case("windows_stft", (F_, 64), grad=False)
def _stft(lib, x):
    w = lib.hann_window(16, device=x.device)
    spec = lib.stft(x, 16, 4, window=w, return_complex=True)
    return w, lib.hamming_window(8, device=x.device), _real(lib, spec)


CASE_IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,fn,specs,grad", CASES, ids=CASE_IDS)
def test_op_on_cuda_matches_cpu_and_torch(name: str, fn: Callable, specs: list, grad: bool) -> None:
    arrays = [_array(s, i) for i, s in enumerate(specs)]
    cpu_out, cpu_grads = _run(ember, "cpu", fn, arrays, grad)
    gpu_out, gpu_grads = _run(ember, "cuda", fn, arrays, grad)
    _close(gpu_out, cpu_out, rtol=2e-4, atol=2e-5)
    _close_grads(gpu_grads, cpu_grads, rtol=2e-4, atol=2e-5)
    if TORCH_CUDA:
        t_out, t_grads = _run(torch, "cuda", fn, arrays, grad)
        _close(gpu_out, t_out, rtol=1e-3, atol=1e-4)
        _close_grads(gpu_grads, t_grads, rtol=1e-3, atol=1e-4)


# ---- devices, conversion, errors, printing -------------------------------------------------------------------
def test_moving_between_devices() -> None:
    x = ember.arange(6.0).reshape(2, 3)
    g = x.cuda()
    assert g.is_cuda and g.device == ember.device("cuda", 0) and g.get_device() == 0
    assert x.to("cuda").device.type == "cuda" and x.to("cuda:0", non_blocking=True).is_cuda
    assert g.cpu().device.type == "cpu" and np.array_equal(g.cpu().numpy(), x.numpy())
    assert g.to(ember.float64).dtype is ember.float64 and g.to(ember.float64).is_cuda
    assert g.to("cpu", ember.int32).dtype is ember.int32
    assert x.get_device() == -1
    assert ember.zeros(2, device="cuda").is_cuda and ember.randn(2, 3, device="cuda:0").is_cuda
    assert ember.tensor([1, 2], device="cuda").device == ember.device("cuda:0")
    assert ember.zeros_like(g).is_cuda and ember.empty(3, device=g.device).is_cuda and g.new_ones(2).is_cuda


def test_legacy_cuda_types() -> None:
    t = ember.cuda.FloatTensor(2, 3)
    assert t.is_cuda and t.dtype is ember.float32 and t.shape == (2, 3)
    assert ember.cuda.LongTensor([1, 2]).dtype is ember.int64
    x = ember.randn(2, 2)
    y = x.type(ember.cuda.FloatTensor)
    assert y.is_cuda and y.type() == "torch.cuda.FloatTensor"
    assert x.type("torch.cuda.DoubleTensor").type() == "torch.cuda.DoubleTensor"
    assert y.type("torch.FloatTensor").device.type == "cpu"


def test_printing_cuda_tensors() -> None:
    assert repr(ember.tensor([1.0, 2.0], device="cuda")) == "tensor([1., 2.], device='cuda:0')"
    w = ember.ones(2, device="cuda", requires_grad=True)
    assert repr((w * 2).sum()) == "tensor(4., device='cuda:0', grad_fn=<SumBackward0>)"
    assert repr(ember.zeros(2, dtype=ember.int64, device="cuda")) == "tensor([0, 0], device='cuda:0')"


def test_mixed_device_errors_and_numpy() -> None:
    g = ember.ones(3, device="cuda")
    c = ember.ones(3)
    with pytest.raises(
        RuntimeError,
        match="Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!",
    ):
        g + c
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        ember.mm(g.view(1, 3), c.view(3, 1))
    with pytest.raises(
        TypeError,
        match="can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu\\(\\) to "
        "copy the tensor to host memory first.",
    ):
        g.numpy()
    assert (g + ember.tensor(2.0)).is_cuda and (g * 2).is_cuda
    assert g.sum().item() == 3.0 and float(g[0]) == 1.0 and g.tolist() == [1.0, 1.0, 1.0]


def test_autograd_on_cuda_seed_two_layer_net() -> None:
    """The seeds' two-layer net with ``dtype = torch.cuda.FloatTensor``: same losses as on the CPU."""

    def train(dtype: Any) -> list[float]:
        ember.manual_seed(0)
        x = ember.randn(64, 100).type(dtype)
        y = ember.randn(64, 10).type(dtype)
        w1 = ember.randn(100, 50).type(dtype).requires_grad_()
        w2 = ember.randn(50, 10).type(dtype).requires_grad_()
        losses = []
        for _ in range(5):
            loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
            losses.append(loss.item())
            loss.backward()
            with ember.no_grad():
                w1 -= 1e-6 * w1.grad
                w2 -= 1e-6 * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
        return losses

    np.testing.assert_allclose(train(ember.cuda.FloatTensor), train(ember.FloatTensor), rtol=1e-4)


def test_custom_function_and_double_backward_on_cuda() -> None:
    class MyReLU(ember.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            g = grad.clone()
            g[x < 0] = 0
            return g

    x = ember.tensor([-1.0, 2.0, 3.0], device="cuda", requires_grad=True)
    MyReLU.apply(x).sum().backward()
    assert x.grad.is_cuda and x.grad.tolist() == [0.0, 1.0, 1.0]
    y = ember.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    (g,) = ember.autograd.grad((y**3).sum(), y, create_graph=True)
    g.sum().backward()
    assert y.grad.tolist() == [6.0, 12.0]


def test_gpu_random_numbers_are_philox_draws_under_the_seed() -> None:
    """uniform_ on a float64 cuda tensor equals the NumPy Philox4x32-10 reference for (seed, offset)."""
    from philox_ref import uniform64

    ember.manual_seed(123)
    a = ember.empty(1000, dtype=ember.float64, device="cuda").uniform_()
    b = ember.empty(500, dtype=ember.float64, device="cuda").uniform_()   # continues at offset 1000
    np.testing.assert_array_equal(a.cpu().numpy(), uniform64(123, 0, 1000))
    np.testing.assert_array_equal(b.cpu().numpy(), uniform64(123, 1000, 500))
    state = ember.cuda.get_rng_state()
    assert state.dtype is ember.uint8 and state.shape == (16,)
    assert np.frombuffer(state.numpy().tobytes(), "<u8").tolist() == [123, 1500]


def test_gpu_random_distributions_and_reproducibility() -> None:
    ember.manual_seed(3)
    u = ember.rand(200_000, device="cuda")
    n = ember.randn(200_000, device="cuda")
    m = ember.empty(200_000, device="cuda").bernoulli_(0.3)
    assert u.is_cuda and 0.0 <= u.min().item() and u.max().item() < 1.0 and abs(u.mean().item() - 0.5) < 0.005
    assert abs(n.mean().item()) < 0.01 and abs(n.std().item() - 1.0) < 0.01
    assert abs(m.mean().item() - 0.3) < 0.005 and set(m.unique().tolist()) <= {0.0, 1.0}
    h = ember.randn(1000, device="cuda", dtype=ember.float16)
    assert h.dtype is ember.float16 and abs(h.float().std().item() - 1.0) < 0.1
    probs = ember.tensor([0.0, 1.0, 0.5], device="cuda").expand(50_000, 3)
    draws = ember.bernoulli(probs).mean(0).tolist()
    assert draws[0] == 0.0 and draws[1] == 1.0 and abs(draws[2] - 0.5) < 0.01
    ember.manual_seed(3)
    assert ember.equal(ember.rand(200_000, device="cuda"), u)
    state = ember.cuda.get_rng_state()
    d1 = ember.nn.functional.dropout(ember.ones(100, device="cuda"), 0.5)
    ember.cuda.set_rng_state(state)
    d2 = ember.nn.functional.dropout(ember.ones(100, device="cuda"), 0.5)
    assert d1.is_cuda and ember.equal(d1, d2) and set(d1.unique().tolist()) == {0.0, 2.0}
    g = ember.Generator(device="cuda").manual_seed(7)
    x = ember.rand(5, device="cuda", generator=g)
    g.manual_seed(7)
    assert ember.equal(x, ember.rand(5, device="cuda", generator=g))
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
        ember.rand(3, device="cuda", generator=ember.Generator())
    assert ember.randint(0, 10, (5,), device="cuda").dtype is ember.int64
    assert sorted(ember.randperm(6, device="cuda").tolist()) == list(range(6))
    assert ember.multinomial(ember.ones(4, device="cuda"), 2).is_cuda
    x = ember.empty(3, 4, device="cuda").t().normal_(2.0, 0.5)   # non-contiguous target
    assert x.is_cuda and x.shape == (4, 3)


def test_default_device() -> None:
    ember.set_default_device("cuda")
    try:
        assert ember.zeros(2).is_cuda and ember.tensor([1.0]).is_cuda and ember.get_default_device().type == "cuda"
        assert ember.nn.Linear(2, 3).weight.is_cuda
    finally:
        ember.set_default_device("cpu")
    assert not ember.zeros(2).is_cuda


# ---- modules, optimizers, data, checkpoints ------------------------------------------------------------------
def _module_pair(make: Callable[[], Any]) -> tuple[Any, Any]:
    ember.manual_seed(0)
    cpu = make()
    ember.manual_seed(0)
    gpu = make().cuda()
    return cpu, gpu


@pytest.mark.parametrize("kind", ["mlp", "cnn", "lstm", "gru", "transformer", "mha"])
def test_module_forward_backward_matches_cpu(kind: str) -> None:
    nn = ember.nn
    makers = {
        "mlp": (lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 4)), (5, 8)),
        "cnn": (
            lambda: nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(8 * 4 * 4, 5),
            ),
            (2, 3, 8, 8),
        ),
        "lstm": (lambda: nn.LSTM(6, 8, num_layers=2, batch_first=True, bidirectional=True), (3, 5, 6)),
        "gru": (lambda: nn.GRU(6, 8), (5, 3, 6)),
        "transformer": (lambda: nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True), (2, 5, 16)),
        "mha": (lambda: nn.MultiheadAttention(16, 4, batch_first=True), (2, 5, 16)),
    }
    make, shape = makers[kind]
    cpu, gpu = _module_pair(make)
    assert all(p.is_cuda for p in gpu.parameters()) and all(b.is_cuda for b in gpu.buffers())
    x = _array((F_, *shape), 1)
    outs = []
    for m, dev in ((cpu, "cpu"), (gpu, "cuda")):
        inp = ember.tensor(x, device=dev)
        out = m(inp, inp, inp) if kind == "mha" else m(inp)
        out = out[0] if isinstance(out, tuple) else out
        out.square().sum().backward()
        outs.append((out.detach().cpu().numpy(), [p.grad.cpu().numpy() for p in m.parameters()]))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-4, atol=1e-5)
    for gg, gc in zip(outs[1][1], outs[0][1], strict=True):
        np.testing.assert_allclose(gg, gc, rtol=1e-3, atol=1e-4)


OPTIMIZER_CASES = {
    "SGD": ("SGD", {"lr": 0.1}),
    "SGD-momentum": ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-2}),
    "SGD-nesterov-maximize": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    "Adam": ("Adam", {"lr": 1e-2}),
    "Adam-wd-maximize": ("Adam", {"lr": 1e-2, "weight_decay": 0.1, "maximize": True}),
    "AdamW-amsgrad": ("AdamW", {"lr": 1e-2, "amsgrad": True}),
    "RMSprop": ("RMSprop", {"lr": 1e-2, "momentum": 0.5}),
    "Adagrad": ("Adagrad", {"lr": 0.1}),
}


@pytest.mark.parametrize("case_name", list(OPTIMIZER_CASES))
def test_optimizers_on_cuda_match_cpu(case_name: str) -> None:
    """SGD and Adam/AdamW run fused GPU kernels on cuda; the parameters must follow the CPU path's."""
    opt, kwargs = OPTIMIZER_CASES[case_name]
    results = []
    for dev in ("cpu", "cuda"):
        ember.manual_seed(0)
        model = ember.nn.Linear(4, 3).to(dev)
        o = getattr(ember.optim, opt)(model.parameters(), **kwargs)
        x = ember.tensor(_array((F_, 8, 4), 0), device=dev)
        for _ in range(4):
            o.zero_grad()
            model(x).square().mean().backward()
            o.step()
        state_tensors = [v for s in o.state.values() for v in s.values() if isinstance(v, ember.Tensor) and v.dim()]
        assert all(v.is_cuda == (dev == "cuda") for v in state_tensors)
        results.append([p.detach().cpu().numpy() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_dataloader_and_training_loop_on_cuda() -> None:
    from ember.utils.data import DataLoader, TensorDataset

    ember.manual_seed(0)
    x = ember.randn(64, 4)
    y = (x.sum(1) > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, pin_memory=True)
    model = ember.nn.Sequential(ember.nn.Linear(4, 16), ember.nn.ReLU(), ember.nn.Linear(16, 2)).cuda()
    opt = ember.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(20):
        for xb, yb in loader:
            xb, yb = xb.cuda(non_blocking=True), yb.cuda(non_blocking=True)
            loss = ember.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    acc = (model(x.cuda()).argmax(1) == y.cuda()).float().mean().item()
    assert acc > 0.9
    gpu_loader = DataLoader(TensorDataset(x.cuda(), y.cuda()), batch_size=16)
    xb, yb = next(iter(gpu_loader))
    assert xb.is_cuda and yb.is_cuda and xb.shape == (16, 4)


def test_checkpoints_with_cuda_tensors() -> None:
    model = ember.nn.Linear(3, 2).cuda()
    buf = io.BytesIO()
    ember.save(model.state_dict(), buf)
    buf.seek(0)
    on_gpu = ember.load(buf)
    assert all(v.is_cuda for v in on_gpu.values())
    buf.seek(0)
    on_cpu = ember.load(buf, map_location="cpu")
    assert all(not v.is_cuda for v in on_cpu.values())
    np.testing.assert_array_equal(on_cpu["weight"].numpy(), model.weight.detach().cpu().numpy())
    cpu_buf = io.BytesIO()
    ember.save({"w": ember.arange(4.0)}, cpu_buf)
    cpu_buf.seek(0)
    assert ember.load(cpu_buf, map_location="cuda")["w"].is_cuda
    cpu_buf.seek(0)
    assert ember.load(cpu_buf, map_location={"cpu": "cuda:0"})["w"].is_cuda
    if TORCH_CUDA:
        buf.seek(0)
        t = torch.load(buf, weights_only=True)
        assert t["weight"].is_cuda
        tb = io.BytesIO()
        torch.save({"x": torch.arange(3.0, device="cuda")}, tb)
        tb.seek(0)
        assert ember.load(tb)["x"].is_cuda


# ---- ember.cuda API ---------------------------------------------------------------------------------------------
def test_cuda_device_api() -> None:
    assert ember.cuda.device_count() >= 1 and ember.cuda.current_device() == 0
    props = ember.cuda.get_device_properties(0)
    assert props.total_memory > 2**30 and props.multi_processor_count > 0 and props.major >= 7
    assert ember.cuda.get_device_name() == props.name and ember.cuda.get_device_capability() == (
        props.major,
        props.minor,
    )
    with ember.cuda.device(0):
        assert ember.cuda.current_device() == 0
    ember.cuda.set_device("cuda:0")
    ember.cuda.synchronize()
    if TORCH_CUDA:
        assert props.name == torch.cuda.get_device_properties(0).name
        assert props.total_memory == torch.cuda.get_device_properties(0).total_memory


@real_gpu
def test_cuda_memory_stats() -> None:
    ember.cuda.empty_cache()
    base = ember.cuda.memory_allocated()
    ember.cuda.reset_peak_memory_stats()
    x = ember.empty(1024, 1024, device="cuda")  # 4 MiB
    assert ember.cuda.memory_allocated() - base >= 4 * 2**20
    del x
    assert ember.cuda.memory_allocated() == base
    assert ember.cuda.max_memory_allocated() - base >= 4 * 2**20
    assert ember.cuda.memory_reserved() >= ember.cuda.memory_allocated()
    ember.cuda.reset_peak_memory_stats()
    assert ember.cuda.max_memory_allocated() == base
    free, total = ember.cuda.mem_get_info()
    assert 0 < free <= total


@real_gpu
def test_streams_and_events() -> None:
    s = ember.cuda.Stream()
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    a = ember.randn(512, 512, device="cuda")
    with ember.cuda.stream(s):
        assert ember.cuda.current_stream() == s
        start.record()
        b = a @ a
        end.record()
    assert ember.cuda.current_stream() == ember.cuda.default_stream()
    end.synchronize()
    assert start.elapsed_time(end) >= 0 and s.query() in (True, False)
    s.synchronize()
    np.testing.assert_allclose(b.cpu().numpy(), (a @ a).cpu().numpy(), rtol=1e-4, atol=1e-3)
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        ember.cuda.Event().elapsed_time(ember.cuda.Event())


@real_gpu
def test_cuda_graph_capture_and_replay() -> None:
    static_x = ember.zeros(8, device="cuda")
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):  # warm-up on the capture stream, as torch recommends
        for _ in range(2):
            (static_x * 2 + 1).sin()
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g, stream=s):
        static_y = (static_x * 2 + 1).sin()
    for v in (1.0, 3.0):
        static_x.copy_(ember.full((8,), v, device="cuda"))
        g.replay()
        ember.cuda.synchronize()
        np.testing.assert_allclose(static_y.cpu().numpy(), np.sin(np.full(8, 2 * v + 1, np.float32)), rtol=1e-6)


@real_gpu
def test_cuda_graph_of_a_training_step() -> None:
    """A whole SGD step (forward, backward, update) captured once and replayed, as in torch's recipe."""
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 1)).cuda()
    ref = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 1)).cuda()
    ref.load_state_dict(model.state_dict())
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1)
    xs = [ember.tensor(_array((F_, 16, 4), i), device="cuda") for i in range(5)]
    static_x = ember.zeros(16, 4, device="cuda")
    s = ember.cuda.Stream()

    def step() -> Any:
        opt.zero_grad(set_to_none=False)
        loss = model(static_x).square().mean()
        loss.backward()
        opt.step()
        return loss

    with ember.cuda.stream(s):
        static_x.copy_(xs[0])
        step()  # warm-up creates .grad buffers
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g, stream=s):
        static_loss = step()
    ref_opt.zero_grad()
    ref(xs[0]).square().mean().backward()
    ref_opt.step()
    for x in xs[1:]:
        static_x.copy_(x)
        g.replay()
        ref_opt.zero_grad()
        ref_loss = ref(x).square().mean()
        ref_loss.backward()
        ref_opt.step()
        ember.cuda.synchronize()
        np.testing.assert_allclose(static_loss.item(), ref_loss.item(), rtol=1e-5)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)


@real_gpu
def test_tf32_switch_changes_cuda_matmul_precision() -> None:
    a = ember.tensor(_array((F_, 256, 256), 0), device="cuda")
    exact = a.cpu().double() @ a.cpu().double()
    ember.backends.cuda.matmul.allow_tf32 = False
    try:
        err_fp32 = (((a @ a).cpu().double() - exact).abs().max()).item()
        ember.set_float32_matmul_precision("high")
        assert ember.backends.cuda.matmul.allow_tf32
        err_tf32 = (((a @ a).cpu().double() - exact).abs().max()).item()
    finally:
        ember.set_float32_matmul_precision("highest")
    assert err_fp32 < 1e-4 < err_tf32


def test_bfloat16_on_cuda() -> None:
    x = ember.tensor(_array((F_, 4, 4), 0), device="cuda").bfloat16()
    y = (x * 2 + 1).float().cpu()
    ref = (ember.tensor(_array((F_, 4, 4), 0)).bfloat16() * 2 + 1).float()
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


@real_gpu
def test_cuda_graph_of_an_adam_step_needs_capturable() -> None:
    """Adam(capturable=True) keeps its step count on the GPU, so replays apply the right bias corrections;
    capturable=False is refused as torch refuses it."""
    pairs = []
    for capturable_model in (True, False):
        ember.manual_seed(0)
        model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Tanh(), ember.nn.Linear(8, 1)).cuda()
        pairs.append((model, ember.optim.Adam(model.parameters(), lr=0.05, capturable=capturable_model)))
    (model, opt), (ref, ref_opt) = pairs
    xs = [ember.tensor(_array((F_, 16, 4), i), device="cuda") for i in range(6)]
    static_x = ember.zeros(16, 4, device="cuda")
    s = ember.cuda.Stream()

    def step(m: Any, o: Any, x: Any) -> Any:
        o.zero_grad(set_to_none=False)
        loss = m(x).square().mean()
        loss.backward()
        o.step()
        return loss
    with ember.cuda.stream(s):
        static_x.copy_(xs[0])
        step(model, opt, static_x)
    step(ref, ref_opt, xs[0])
    assert opt.state[model[0].weight]["step"].is_cuda and not ref_opt.state[ref[0].weight]["step"].is_cuda
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g, stream=s):
        static_loss = step(model, opt, static_x)
    for x in xs[1:]:
        static_x.copy_(x)
        g.replay()
        ref_loss = step(ref, ref_opt, x)
        ember.cuda.synchronize()
        np.testing.assert_allclose(static_loss.item(), ref_loss.item(), rtol=1e-4)
    assert opt.state[model[0].weight]["step"].item() == 6.0
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().cpu().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="Attempting CUDA graph capture of step\\(\\) for an instance of Adam but "
                                           "param_groups' capturable is False."):
        with ember.cuda.graph(ember.cuda.CUDAGraph(), stream=s):
            step(ref, ref_opt, static_x)


@real_gpu
def test_cuda_graph_replays_draw_fresh_random_numbers() -> None:
    """Dropout inside a captured graph: each replay draws a new mask (the counter lives on the GPU)."""
    static_x = ember.ones(10_000, device="cuda")
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):
        ember.nn.functional.dropout(static_x, 0.3)
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g, stream=s):
        static_y = ember.nn.functional.dropout(static_x, 0.3)
    masks = []
    for _ in range(3):
        g.replay()
        ember.cuda.synchronize()
        masks.append(static_y.cpu().numpy().copy())
    for m in masks:
        values = np.unique(m)
        assert abs((m == 0).mean() - 0.3) < 0.02 and len(values) == 2 and values[0] == 0
        np.testing.assert_allclose(values[1], 1 / 0.7, rtol=1e-6)
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])


def test_bad_indices_on_the_gpu_raise_torchs_error_at_the_next_host_read() -> None:
    """Validations of GPU data do not synchronise: the error (torch's type and text) comes at the next read."""
    logits = ember.zeros(4, 3, device="cuda")
    bad_target = ember.tensor([0, 1, 5, 2], device="cuda")
    loss = ember.nn.functional.cross_entropy(logits, bad_target)   # queued, not raised yet
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        loss.item()
    x = ember.arange(6.0, device="cuda")
    y = x.index_select(0, ember.tensor([1, 9], device="cuda"))
    with pytest.raises(IndexError, match="index out of range in self"):
        print(y)
    emb = ember.nn.Embedding(3, 2).cuda()
    out = emb(ember.tensor([0, 3], device="cuda"))
    with pytest.raises(IndexError, match="index out of range in self"):
        ember.cuda.synchronize()
    assert out.shape == (2, 2)


# ---- features written xp-generic since the last GPU run: each on cuda against the CPU ---------------------------
def _both(fn: Callable[[str], Any]) -> tuple[Any, Any]:
    """``fn(device)`` on the CPU and on cuda, from the same seed."""
    out = []
    for dev in ("cpu", "cuda"):
        ember.manual_seed(0)
        out.append(fn(dev))
    return out[0], out[1]


def _host(x: Any) -> Any:
    if isinstance(x, (tuple, list)):
        return [_host(v) for v in x]
    return x.detach().cpu().float().numpy() if isinstance(x, ember.Tensor) else x


def _assert_same(cpu: Any, gpu: Any, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    for a, b in zip(_host(list(cpu)), _host(list(gpu)), strict=True):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)


def test_saved_tensor_hooks_and_save_on_cpu_on_cuda() -> None:
    def run(dev: str) -> Any:
        x = ember.tensor(_array((F_, 3, 4), 0), device=dev, requires_grad=True)
        w = ember.tensor(_array((F_, 4, 5), 1), device=dev, requires_grad=True)
        packed = []

        def pack(t: Any) -> Any:
            packed.append(str(t.device))
            return t.cpu()

        def unpack(t: Any) -> Any:
            return t.to(dev)
        with ember.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (x @ w).tanh().sum()
        y.backward()
        assert packed and all(d.startswith(dev) for d in packed)
        with ember.autograd.graph.save_on_cpu(pin_memory=dev == "cuda"):
            z = (x.exp() * w.sum(1)).sum()
        gx, = ember.autograd.grad(z, [x])
        return [x.grad, w.grad, gx]
    _assert_same(*_both(run))


def test_channels_last_convolution_on_cuda() -> None:
    def run(dev: str) -> Any:
        x = ember.tensor(_array((F_, 2, 3, 8, 8), 0), device=dev).to(memory_format=ember.channels_last)
        x.requires_grad_(True)
        conv = ember.nn.Conv2d(3, 4, 3, padding=1).to(dev).to(memory_format=ember.channels_last)
        y = conv(x)
        assert y.is_contiguous(memory_format=ember.channels_last)
        t = ember.nn.ConvTranspose2d(4, 2, 2, stride=2).to(dev)(y)
        (t * ember.tensor(_array((F_, *t.shape), 3), device=dev)).sum().backward()
        return [y, t, x.grad, conv.weight.grad, conv.bias.grad]
    _assert_same(*_both(run), rtol=1e-3, atol=1e-4)


def test_flex_attention_on_cuda() -> None:
    """Forward against the CPU; the backward (which torch and ember run on GPUs only) against dense attention
    with the same score modification and mask written with ember ops on the CPU."""
    from ember.nn.attention.flex_attention import create_block_mask, flex_attention

    def causal(b: Any, h: Any, q: Any, kv: Any) -> Any:
        return q >= kv

    def bias(score: Any, b: Any, h: Any, q: Any, kv: Any) -> Any:
        return score + (q - kv) * 0.1

    def dense(q: Any, k: Any, v: Any) -> Any:
        pos = ember.arange(16, device=q.device)
        s = q @ k.transpose(-1, -2) / 8 ** 0.5 + (pos[:, None] - pos[None, :]) * 0.1
        s = s.masked_fill(pos[:, None] < pos[None, :], float("-inf"))
        return s.softmax(-1) @ v

    qkv = [ember.tensor(_array((F_, 1, 2, 16, 8), i)) for i in range(3)]
    ref = flex_attention(*qkv, score_mod=bias,
                         block_mask=create_block_mask(causal, None, None, 16, 16, device="cpu", BLOCK_SIZE=8))
    gq, gk, gv = (t.cuda().requires_grad_() for t in qkv)
    mask = create_block_mask(causal, None, None, 16, 16, device="cuda", BLOCK_SIZE=8)
    out = flex_attention(gq, gk, gv, score_mod=bias, block_mask=mask)
    _assert_same([ref, dense(*qkv)], [out, out])
    out.square().sum().backward()
    leaves = [t.clone().requires_grad_() for t in qkv]
    dense(*leaves).square().sum().backward()
    _assert_same([t.grad for t in leaves], [gq.grad, gk.grad, gv.grad])


def test_profiler_records_cuda_ops() -> None:
    from ember.profiler import ProfilerActivity, profile, record_function

    x = ember.tensor(_array((F_, 32, 32), 0), device="cuda", requires_grad=True)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], record_shapes=True) as prof:
        with record_function("step"):
            (x @ x).relu().sum().backward()
    names = {e.key for e in prof.key_averages()}
    assert "step" in names and any("mm" in n for n in names)
    assert "Name" in prof.key_averages().table(row_limit=5)


def test_distributions_sample_on_cuda() -> None:
    D = ember.distributions

    def dists(dev: str) -> list[Any]:
        def t(v: Any) -> Any:
            return ember.tensor(v, device=dev)
        return [D.Normal(t([0.0, 1.0]), t([1.0, 2.0])), D.Gamma(t([0.5, 3.0]), t([1.0, 2.0])),
                D.Beta(t([0.5, 2.0]), t([2.0, 0.7])), D.Dirichlet(t([[0.5, 1.0, 2.0]])),
                D.Poisson(t([0.5, 30.0])), D.Binomial(10, t([0.2, 0.9])), D.Categorical(t([0.1, 0.2, 0.7])),
                D.Multinomial(5, t([0.1, 0.2, 0.7])), D.Bernoulli(t([0.3, 0.6])), D.Exponential(t([2.0])),
                D.VonMises(t([0.0]), t([2.0])), D.Geometric(t([0.3])),
                D.MultivariateNormal(t([0.0, 1.0]), t([[2.0, 0.5], [0.5, 1.0]])),
                D.LKJCholesky(3, t(1.5))]
    ember.manual_seed(0)
    for cpu, gpu in zip(dists("cpu"), dists("cuda"), strict=True):
        s = gpu.sample((64,))
        assert s.is_cuda and s.shape == (64, *gpu.batch_shape, *gpu.event_shape), type(gpu).__name__
        assert bool(ember.isfinite(s.float()).all()), type(gpu).__name__
        value = s.cpu()
        np.testing.assert_allclose(_host(gpu.log_prob(s)), _host(cpu.log_prob(value)), rtol=1e-4, atol=1e-4,
                                   err_msg=type(gpu).__name__)
    g = D.Normal(ember.zeros(3, device="cuda", requires_grad=True), ember.ones(3, device="cuda")).rsample((4,))
    g.sum().backward()


def test_distribution_number_parameters_follow_the_tensor_device() -> None:
    D = ember.distributions
    assert D.Normal(ember.zeros(3, device="cuda"), 1.0).rsample((2,)).is_cuda
    assert D.StudentT(ember.tensor([3.0], device="cuda")).sample((4,)).is_cuda
    cov = ember.tensor([[2.0, 0.5], [0.5, 1.0]], device="cuda")
    assert D.Wishart(ember.tensor(4.0, device="cuda"), covariance_matrix=cov).sample((2,)).is_cuda


@pytest.mark.parametrize("name", ["Adafactor", "Muon", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "ASGD",
                                  "Rprop", "Adadelta", "SparseAdam-free LBFGS"])
def test_more_optimizers_on_cuda_match_cpu(name: str) -> None:
    name = name.split()[-1]

    def run(dev: str) -> Any:
        w = ember.tensor(_array((F_, 6, 5), 0), device=dev, requires_grad=True)
        b = ember.tensor(_array((F_, 5), 1), device=dev, requires_grad=True)
        x = ember.tensor(_array((F_, 8, 6), 2), device=dev)
        opt = getattr(ember.optim, name)([w, b] if name != "Muon" else [w], lr=0.01)
        for _ in range(3):
            def closure() -> Any:
                opt.zero_grad()
                loss = (x @ w + b).tanh().square().mean()
                loss.backward()
                return loss
            opt.step(closure) if name == "LBFGS" else (closure(), opt.step())
        return [w, b]
    _assert_same(*_both(run), rtol=1e-4, atol=1e-5)


def test_sparse_coo_on_cuda() -> None:
    def run(dev: str) -> Any:
        i = ember.tensor([[0, 1, 1, 2, 0], [2, 0, 2, 1, 2]], device=dev)
        v = ember.tensor([3.0, 4.0, 5.0, 6.0, 1.0], device=dev)
        s = ember.sparse_coo_tensor(i, v, (3, 3))
        c = s.coalesce()
        d = ember.tensor(_array((F_, 3, 2), 0), device=dev)
        return [c.to_dense(), c.values(), ember.sparse.mm(c, d), (c + c).to_dense(), s.to_dense()]
    _assert_same(*_both(run))


def test_func_transforms_and_autocast_on_cuda() -> None:
    def run(dev: str) -> Any:
        x = ember.tensor(_array((F_, 4, 3), 0), device=dev)
        per_row = ember.func.vmap(ember.func.grad(lambda r: r.sin().sum()))(x)
        jac = ember.func.jacrev(lambda r: r.exp())(x[0])
        with ember.autocast(device_type=dev, dtype=ember.bfloat16 if dev == "cpu" else ember.float16):
            y = ember.nn.functional.linear(x, x[:2])
        return [per_row, jac, y.float()]
    cpu, gpu = _both(run)
    _assert_same(cpu[:2], gpu[:2])
    np.testing.assert_allclose(_host(gpu[2]), _host(cpu[2]), rtol=2e-2, atol=2e-2)


def test_large_normalization_and_activation_passes_on_cuda() -> None:
    """Sizes above the CPU's threading threshold: the cuda path runs them as one call."""
    def run(dev: str) -> Any:
        x = ember.tensor(_array((F_, 64, 4096), 0), device=dev, requires_grad=True)
        ln = ember.nn.functional.layer_norm(x, (4096,))
        y = ember.nn.functional.gelu(ln).logsumexp(1)
        y.sum().backward()
        return [ln, y, x.grad]
    _assert_same(*_both(run), rtol=1e-4, atol=1e-4)


# ---- a wider sweep of ops, ember on cuda against ember on the CPU (no torch: some are newer than the GPU's) ------
F_nn = ember.nn.functional
MORE_CASES: dict[str, Callable[[Any], Any]] = {
    "hash_tensor": lambda x: ember.hash_tensor(x, 1),
    "segment_reduce": lambda x: ember.segment_reduce(
        x.flatten(), "sum", lengths=ember.tensor([3, 5, 16], device=x.device)
    ),
    "combinations": lambda x: ember.combinations(x[0], 2),
    "histc": lambda x: ember.histc(x, 5, -1, 1),
    "bincount": lambda x: ember.bincount((x.abs() * 4).long().flatten()),
    "searchsorted": lambda x: ember.searchsorted(ember.sort(x.flatten())[0], x),
    "bucketize": lambda x: ember.bucketize(x, ember.sort(x[0])[0]),
    "unique_consecutive": lambda x: ember.unique_consecutive((x * 2).round(), return_counts=True, return_inverse=True),
    "unique_dim": lambda x: ember.unique((x > 0).float(), dim=0, return_inverse=True, return_counts=True),
    "tril_indices": lambda x: ember.tril_indices(4, 5, device=x.device),
    "cartesian_prod": lambda x: ember.cartesian_prod(x[0, :3], x[1, :2]),
    "diff": lambda x: ember.diff(x, 2, 1),
    "logcumsumexp": lambda x: ember.logcumsumexp(x, 1),
    "cummax": lambda x: ember.cummax(x, 1),
    "cummin": lambda x: ember.cummin(x, 0),
    "scatter_reduce": lambda x: x.scatter_reduce(1, (x.abs() * 5).long(), x, "amax", include_self=False),
    "scatter_mean": lambda x: x.scatter_reduce(0, (x.abs() * 3).long(), x, "mean"),
    "index_add": lambda x: x.index_add(0, ember.tensor([0, 2, 0, 1], device=x.device), x * 2),
    "index_reduce": lambda x: x.index_reduce(0, ember.tensor([0, 2, 0, 1], device=x.device), x * 2, "prod"),
    "masked_select": lambda x: x.masked_select(x > 0),
    "masked_scatter": lambda x: x.masked_scatter(x > 0, x * 3),
    "take": lambda x: ember.take(x, ember.tensor([0, 5, 23], device=x.device)),
    "nanmean": lambda x: ember.nanmean(x.where(x > 0, ember.nan)),
    "nanmedian": lambda x: ember.nanmedian(x.where(x > 0, ember.nan), 1),
    "quantile": lambda x: ember.quantile(x, ember.tensor([0.1, 0.5], device=x.device), dim=1),
    "nanquantile": lambda x: ember.nanquantile(x, 0.3),
    "topk": lambda x: ember.topk(x, 3, 1),
    "kthvalue": lambda x: ember.kthvalue(x, 2, 0),
    "msort": lambda x: ember.msort(x),
    "argsort_stable": lambda x: ember.argsort((x * 2).round(), stable=True, dim=1),
    "renorm": lambda x: ember.renorm(x, 2, 0, 1.0),
    "polar": lambda x: ember.polar(x.abs(), x),
    "corrcoef": lambda x: ember.corrcoef(x),
    "cov": lambda x: ember.cov(x, correction=0),
    "kron": lambda x: ember.kron(x[:2, :2], x[2:, :3]),
    "tensordot": lambda x: ember.tensordot(x, x, ([1], [1])),
    "einsum": lambda x: ember.einsum("ij,kj->ik", x, x),
    "baddbmm": lambda x: ember.baddbmm(x[None, :, :4], x[None], x.t()[None]),
    "cross": lambda x: ember.linalg.cross(x[:, :3], x[:, 3:]),
    "vander": lambda x: ember.vander(x[0], 3),
    "rot90": lambda x: ember.rot90(x, 1, (0, 1)),
    "roll": lambda x: ember.roll(x, (1, 2), (0, 1)),
    "trapezoid": lambda x: ember.trapezoid(x, dim=1),
    "cumulative_trapezoid": lambda x: ember.cumulative_trapezoid(x),
    "gradient": lambda x: ember.gradient(x, dim=1)[0],
    "block_diag": lambda x: ember.block_diag(x[:2], x[2:, :2]),
    "cdist": lambda x: ember.cdist(x, x * 2),
    "diag_embed": lambda x: ember.diag_embed(x),
    "triu": lambda x: ember.triu(x, 1),
    "flip": lambda x: ember.flip(x, (0,)),
    "nan_to_num": lambda x: ember.nan_to_num(x / 0.0),
    "frexp": lambda x: ember.frexp(x),
    "ldexp": lambda x: ember.ldexp(x, ember.tensor(3, device=x.device)),
    "i0": lambda x: ember.i0(x),
    "special_i0e": lambda x: ember.special.i0e(x),
    "special_i1": lambda x: ember.special.i1(x),
    "zeta": lambda x: ember.special.zeta(x.abs() + 1.5, x.abs() + 1),
    "polygamma": lambda x: ember.polygamma(2, x.abs() + 0.5),
    "gammainc": lambda x: ember.special.gammainc(x.abs() + 0.5, x.abs()),
    "bessel_j0": lambda x: ember.special.bessel_j0(x),
    "erfcx": lambda x: ember.special.erfcx(x),
    "ndtri": lambda x: ember.special.ndtri(x.abs() * 0.9 + 0.05),
    "log_ndtr": lambda x: ember.special.log_ndtr(x),
    "sinc": lambda x: ember.sinc(x),
    "xlog1py": lambda x: ember.special.xlog1py(x, x.abs()),
    "entr": lambda x: ember.special.entr(x.abs()),
    "multigammaln": lambda x: ember.special.multigammaln(x.abs() + 2, 2),
    "legendre": lambda x: ember.special.legendre_polynomial_p(x, 3),
    "hermite": lambda x: ember.special.hermite_polynomial_h(x, 4),
    "airy": lambda x: ember.special.airy_ai(x),
    "mod_bessel_k0": lambda x: ember.special.modified_bessel_k0(x.abs() + 0.1),
    # nn.functional
    "interp_bicubic": lambda x: F_nn.interpolate(
        x.reshape(1, 1, 4, 6), scale_factor=2, mode="bicubic", align_corners=False
    ),
    "interp_area": lambda x: F_nn.interpolate(x.reshape(1, 2, 2, 6), size=(1, 4), mode="area"),
    "interp_trilinear": lambda x: F_nn.interpolate(x.reshape(1, 1, 2, 2, 6), scale_factor=2, mode="trilinear"),
    "interp_nearest_exact": lambda x: F_nn.interpolate(x.reshape(1, 4, 6), size=9, mode="nearest-exact"),
    "adaptive_avg": lambda x: F_nn.adaptive_avg_pool2d(x.reshape(1, 1, 4, 6), (3, 4)),
    "adaptive_max": lambda x: F_nn.adaptive_max_pool2d(x.reshape(1, 1, 4, 6), (3, 4), return_indices=True),
    "lp_pool": lambda x: F_nn.lp_pool2d(x.reshape(1, 1, 4, 6).abs(), 2, 2),
    "max_unpool": lambda x: F_nn.max_unpool2d(*F_nn.max_pool2d(x.reshape(1, 1, 4, 6), 2, return_indices=True), 2),
    "avg_pool_ceil": lambda x: F_nn.avg_pool2d(x.reshape(1, 1, 4, 6), 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "unfold_fold": lambda x: F_nn.fold(F_nn.unfold(x.reshape(1, 1, 4, 6), 2), (4, 6), 2),
    "pixel_shuffle": lambda x: F_nn.pixel_unshuffle(F_nn.pixel_shuffle(x.reshape(1, 4, 2, 3), 2), 2),
    "embedding_bag": lambda x: F_nn.embedding_bag(
        ember.tensor([0, 2, 1, 3, 2], device=x.device), x, ember.tensor([0, 2], device=x.device), mode="max"
    ),
    "embedding_bag_sum_w": lambda x: F_nn.embedding_bag(
        ember.tensor([0, 2, 1, 3, 2], device=x.device),
        x,
        ember.tensor([0, 2], device=x.device),
        mode="sum",
        per_sample_weights=x[0, :5],
    ),
    "ctc_loss": lambda x: F_nn.ctc_loss(
        x.reshape(4, 1, 6).log_softmax(2),
        ember.tensor([[1, 2]], device=x.device),
        ember.tensor([4], device=x.device),
        ember.tensor([2], device=x.device),
    ),
    "nll_2d": lambda x: F_nn.nll_loss(
        x.reshape(1, 4, 2, 3).log_softmax(1), ember.tensor([[[0, 1, 2], [3, 0, 1]]], device=x.device)
    ),
    "cross_entropy_smooth": lambda x: F_nn.cross_entropy(
        x, ember.tensor([0, 1, 5, 2], device=x.device), label_smoothing=0.1, weight=x[0].detach().abs()
    ),
    "multi_margin": lambda x: F_nn.multi_margin_loss(x, ember.tensor([0, 1, 5, 2], device=x.device)),
    "multilabel_margin": lambda x: F_nn.multilabel_margin_loss(
        x, ember.tensor([[0, 1, -1, 0, 0, 0]] * 4, device=x.device)
    ),
    "multilabel_soft_margin": lambda x: F_nn.multilabel_soft_margin_loss(x, (x > 0).float()),
    "poisson_nll": lambda x: F_nn.poisson_nll_loss(x, x.abs()),
    "gaussian_nll": lambda x: F_nn.gaussian_nll_loss(x, x * 2, x.abs() + 0.1),
    "huber": lambda x: F_nn.huber_loss(x, x * 2),
    "kl_div": lambda x: F_nn.kl_div(x.log_softmax(1), x.softmax(1), reduction="batchmean"),
    "triplet": lambda x: F_nn.triplet_margin_loss(x, x * 2, x * 3),
    "cosine_emb": lambda x: F_nn.cosine_embedding_loss(x, x * 2, ember.tensor([1, -1, 1, -1], device=x.device)),
    "margin_ranking": lambda x: F_nn.margin_ranking_loss(x[0], x[1], x[2].sign()),
    "hinge_emb": lambda x: F_nn.hinge_embedding_loss(x, x.sign()),
    "normalize": lambda x: F_nn.normalize(x, dim=1),
    "local_response_norm": lambda x: F_nn.local_response_norm(x.reshape(1, 4, 6), 3),
    "group_norm": lambda x: F_nn.group_norm(x.reshape(2, 4, 3), 2, x[0, :4], x[1, :4]),
    "instance_norm": lambda x: F_nn.instance_norm(x.reshape(2, 2, 6)),
    "rms_norm": lambda x: F_nn.rms_norm(x, (6,), x[0]),
    "batch_norm_train": lambda x: F_nn.batch_norm(
        x, ember.zeros(6, device=x.device), ember.ones(6, device=x.device), training=True
    ),
    "sdpa_mask": lambda x: F_nn.scaled_dot_product_attention(
        x.reshape(1, 2, 2, 6),
        x.reshape(1, 2, 2, 6) * 2,
        x.reshape(1, 2, 2, 6),
        attn_mask=ember.tensor([[True, False], [True, True]], device=x.device),
    ),
    "sdpa_causal_gqa": lambda x: F_nn.scaled_dot_product_attention(
        x.reshape(1, 4, 1, 6),
        x.reshape(1, 2, 2, 6)[:, :, :1],
        x.reshape(1, 2, 2, 6)[:, :, :1],
        is_causal=True,
        enable_gqa=True,
    ),
    "glu_silu_mish": lambda x: (
        F_nn.glu(x),
        F_nn.silu(x),
        F_nn.mish(x),
        F_nn.hardswish(x),
        F_nn.celu(x),
        F_nn.selu(x),
        F_nn.rrelu(x, training=False),
        F_nn.softplus(x, 2, 1),
        F_nn.softshrink(x),
        F_nn.tanhshrink(x),
        F_nn.logsigmoid(x),
        F_nn.hardtanh(x),
        F_nn.relu6(x),
        F_nn.elu(x),
        F_nn.leaky_relu(x),
        F_nn.threshold(x, 0.1, 2.0),
        F_nn.softsign(x),
        F_nn.gelu(x, approximate="tanh"),
        F_nn.prelu(x, x[0, :1].abs()),
    ),
    "softmin_gumbel": lambda x: F_nn.softmin(x, 1),
    "pdist": lambda x: F_nn.pdist(x),
    "pairwise": lambda x: F_nn.pairwise_distance(x, x * 2),
    "cosine_sim": lambda x: F_nn.cosine_similarity(x, x * 2),
    "affine_grid": lambda x: F_nn.grid_sample(
        x.reshape(1, 1, 4, 6),
        F_nn.affine_grid(x[:1, :6].reshape(1, 2, 3), (1, 1, 3, 3), align_corners=False),
        mode="bicubic",
        padding_mode="reflection",
        align_corners=False,
    ),
    "pad_modes": lambda x: (
        F_nn.pad(x.reshape(1, 4, 6), (2, 1), mode="reflect"),
        F_nn.pad(x.reshape(1, 4, 6), (2, 1), mode="replicate"),
        F_nn.pad(x.reshape(1, 4, 6), (2, 1), mode="circular"),
    ),
    "one_hot": lambda x: F_nn.one_hot((x.abs() * 3).long(), 4),
    "linear_ce": lambda x: (
        F_nn.linear_cross_entropy(x, x[:3], ember.tensor([0, 1, 2, 1], device=x.device))
        if hasattr(F_nn, "linear_cross_entropy")
        else x
    ),
    "conv_groups_dil": lambda x: F_nn.conv2d(
        x.reshape(1, 2, 2, 6), x[:4, :2].reshape(2, 1, 2, 2), stride=1, padding=1, dilation=(1, 2), groups=2
    ),
    "conv_transpose_out_pad": lambda x: F_nn.conv_transpose2d(
        x.reshape(1, 2, 2, 6), x[:2, :4].reshape(2, 1, 2, 2), stride=2, output_padding=1
    ),
    "conv_padding_same": lambda x: F_nn.conv1d(
        x.reshape(1, 4, 6), x[:3, :4].reshape(3, 4, 1).repeat(1, 1, 3), padding="same", dilation=2
    ),
    # linalg
    "eig": lambda x: ember.linalg.eigvals(x[:, :4] @ x[:, :4].t() + ember.eye(4, device=x.device)),
    "matrix_exp": lambda x: ember.linalg.matrix_exp(x[:, :4] * 0.3),
    "lu": lambda x: ember.linalg.lu(x[:, :4]),
    "lu_factor_solve": lambda x: ember.linalg.lu_solve(
        *ember.linalg.lu_factor(x[:, :4] + 3 * ember.eye(4, device=x.device)), x[:, :2]
    ),
    "solve_triangular": lambda x: ember.linalg.solve_triangular(
        x[:, :4].triu() + 3 * ember.eye(4, device=x.device), x[:, :2], upper=True
    ),
    "householder": lambda x: ember.linalg.householder_product(*ember.geqrf(x[:, :3])),
    "svdvals": lambda x: ember.linalg.svdvals(x),
    "cholesky_ex": lambda x: ember.linalg.cholesky_ex(x[:, :4] @ x[:, :4].t() + ember.eye(4, device=x.device)),
    "inv_ex": lambda x: ember.linalg.inv_ex(x[:, :4] + 3 * ember.eye(4, device=x.device)),
    "ldl": lambda x: ember.linalg.ldl_factor(x[:, :4] @ x[:, :4].t() + ember.eye(4, device=x.device)),
    "pinv": lambda x: ember.linalg.pinv(x),
    "matrix_rank": lambda x: ember.linalg.matrix_rank(x),
    "slogdet": lambda x: ember.linalg.slogdet(x[:, :4]),
    "det": lambda x: ember.linalg.det(x[:, :4]),
    "norms": lambda x: (
        ember.linalg.matrix_norm(x, "nuc"),
        ember.linalg.matrix_norm(x, 2),
        ember.linalg.vector_norm(x, 3, 1),
        ember.linalg.norm(x),
    ),
    "lstsq": lambda x: ember.linalg.lstsq(x, x[:, :2]).solution,
    "multi_dot": lambda x: ember.linalg.multi_dot([x, x.t(), x]),
    "matrix_power": lambda x: ember.linalg.matrix_power(x[:, :4], -2),
    "eigh": lambda x: ember.linalg.eigh(x[:, :4] @ x[:, :4].t())[0],
    "tensorinv": lambda x: ember.linalg.tensorinv(
        (x[:, :4] + 3 * ember.eye(4, device=x.device)).reshape(4, 2, 2), ind=1
    ),
    "vecdot": lambda x: ember.linalg.vecdot(x, x * 2),
    "stft": lambda x: ember.stft(
        x.flatten(), 8, return_complex=True, window=ember.hann_window(8, device=x.device)
    ).abs(),
    "fft_hfft": lambda x: ember.fft.hfft(x[0]),
    "fftshift": lambda x: ember.fft.fftshift(x),
    "rfft2": lambda x: ember.fft.irfft2(ember.fft.rfft2(x)),
    "windows": lambda x: (
        ember.signal.windows.kaiser(8, device=x.device),
        ember.signal.windows.gaussian(7, device=x.device),
        ember.kaiser_window(9, device=x.device),
        ember.bartlett_window(5, device=x.device),
    ),
    "clip_grad_norm": lambda x: _clip(x.detach()),
    "pack_padded": lambda x: ember.nn.utils.rnn.pad_packed_sequence(
        ember.nn.utils.rnn.pack_padded_sequence(x.reshape(4, 2, 3), ember.tensor([4, 2]), enforce_sorted=True)
    )[0],
    "pad_sequence": lambda x: ember.nn.utils.rnn.pad_sequence([x[0], x[1, :3]], padding_value=-1),
    "parametrize_orth": lambda x: ember.linalg.qr(x)[0],
    "dropout_eval": lambda x: F_nn.dropout(x, 0.5, training=False),
    "isin": lambda x: ember.isin((x * 3).round(), ember.tensor([0.0, 1.0], device=x.device)),
    "count_nonzero": lambda x: ember.count_nonzero(x > 0, 1),
    "aminmax": lambda x: ember.aminmax(x, dim=1),
    "std_mean": lambda x: ember.std_mean(x, 1, correction=0),
    "var_mean": lambda x: ember.var_mean(x),
    "nansum": lambda x: ember.nansum(x),
    "allclose": lambda x: ember.tensor(ember.allclose(x, x + 1e-9), device=x.device),
    "heaviside": lambda x: ember.heaviside(x, x),
    "float_power": lambda x: ember.float_power(x.abs(), 2.5),
    "logaddexp2": lambda x: ember.logaddexp2(x, x * 2),
    "nextafter": lambda x: ember.nextafter(x, x * 2),
    "clamp_tensor": lambda x: ember.clamp(x, x * 0.5, x.abs()),
    "bitwise_shift": lambda x: ember.bitwise_right_shift((x.abs() * 100).long(), 2),
    "complex_ops": lambda x: (
        ember.view_as_real(ember.complex(x, x * 2).sqrt()),
        ember.angle(ember.complex(x, x)),
        ember.complex(x, x).abs(),
    ),
    "to_dtypes": lambda x: (
        x.half().float(),
        x.bfloat16().float(),
        x.double(),
        x.long(),
        x.bool(),
        x.to(ember.uint8),
        x.to(ember.int16).to(ember.float64),
    ),
}


NO_DERIVATIVE = {"unique_consecutive", "zeta", "gammainc", "householder", "ldl", "heaviside"}   # as torch


def _clip(x: Any) -> Any:
    p = x.clone().requires_grad_()
    p.grad = x * 3
    norm = ember.nn.utils.clip_grad_norm_([p], 1.0)
    return norm, p.grad


def _flat_outputs(out: Any) -> list[Any]:
    items = list(out) if isinstance(out, (tuple, list)) else [out]
    flat: list[Any] = []
    for o in items:
        flat += _flat_outputs(o) if isinstance(o, (tuple, list)) else [o]
    return [o for o in flat if isinstance(o, ember.Tensor)]


@pytest.mark.parametrize("name", list(MORE_CASES))
def test_more_ops_on_cuda_match_cpu(name: str) -> None:
    """Forward values and dtypes, and the input's gradient where the outputs are differentiable."""
    results = []
    for dev in ("cpu", "cuda"):
        ember.manual_seed(0)
        x = ember.tensor(_array((F_, 4, 6), 0), device=dev, requires_grad=name not in NO_DERIVATIVE)
        outs = _flat_outputs(MORE_CASES[name](x))
        assert all(o.device.type == dev for o in outs)
        diff = [o for o in outs if o.requires_grad and o.dtype.is_floating_point]
        if diff:
            sum((o.float() * ember.tensor(_array((F_, *o.shape), 7), device=dev)).sum() for o in diff).backward()
        results.append(([o.detach() for o in outs], x.grad))
    (cpu, cpu_grad), (gpu, gpu_grad) = results
    for a, b in zip(cpu, gpu, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(_host(b), _host(a), rtol=2e-4, atol=2e-5)
    assert (cpu_grad is None) == (gpu_grad is None)
    if cpu_grad is not None:
        np.testing.assert_allclose(_host(gpu_grad), _host(cpu_grad), rtol=2e-4, atol=2e-5)


# ---- more modules: forward, parameter and input gradients, cuda against the CPU -----------------------------------
MORE_MODULES: dict[str, tuple[Callable[[], Any], tuple | None]] = {
    "conv3d_tr": (
        lambda: ember.nn.Sequential(ember.nn.Conv3d(2, 3, 2), ember.nn.ConvTranspose3d(3, 2, 2, stride=2)),
        (1, 2, 4, 4, 4),
    ),
    "upsample": (
        lambda: ember.nn.Sequential(ember.nn.Upsample(scale_factor=2, mode="bilinear"), ember.nn.PixelShuffle(2)),
        (1, 4, 3, 3),
    ),
    "decoder": (
        lambda: ember.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True),
        None,
    ),
    "transformer": (lambda: ember.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True), None),
    "norms": (
        lambda: ember.nn.Sequential(
            ember.nn.GroupNorm(2, 4),
            ember.nn.InstanceNorm1d(4, affine=True),
            ember.nn.LayerNorm(6),
            ember.nn.RMSNorm(6),
        ),
        (3, 4, 6),
    ),
    "rnn_tanh_bi": (lambda: ember.nn.RNN(6, 5, 2, bidirectional=True, batch_first=True), (2, 3, 6)),
    "lstm_proj": (lambda: ember.nn.LSTM(6, 5, 1, proj_size=3), (3, 2, 6)),
    "gru_cell": (lambda: ember.nn.GRUCell(6, 4), (3, 6)),
    "lstm_cell": (lambda: ember.nn.LSTMCell(6, 4), (3, 6)),
    "adaptive_logsoftmax": (lambda: ember.nn.AdaptiveLogSoftmaxWithLoss(6, 10, [4, 8]), None),
    "embedding_bag": (lambda: ember.nn.EmbeddingBag(10, 4, mode="mean"), None),
    "weight_norm": (lambda: ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(6, 4)), (3, 6)),
    "spectral_norm": (lambda: ember.nn.utils.parametrizations.spectral_norm(ember.nn.Linear(6, 4)), (3, 6)),
    "orthogonal": (lambda: ember.nn.utils.parametrizations.orthogonal(ember.nn.Linear(6, 6)), (3, 6)),
    "bn_eval_sync": (
        lambda: ember.nn.Sequential(ember.nn.BatchNorm1d(6), ember.nn.Dropout(0.0), ember.nn.PReLU()),
        (4, 6),
    ),
    "conv_circular": (
        lambda: ember.nn.Conv2d(2, 2, 3, padding=2, padding_mode="circular", dilation=2, groups=2),
        (1, 2, 5, 5),
    ),
    "conv_reflect": (lambda: ember.nn.Conv1d(2, 4, 3, padding="same", padding_mode="reflect"), (1, 2, 7)),
    "fractional": (lambda: ember.nn.FractionalMaxPool2d(2, output_size=3), (1, 1, 6, 6)),
    "lppool_unfold": (lambda: ember.nn.Sequential(ember.nn.LPPool1d(2, 2), ember.nn.Unflatten(1, (1, 2))), (1, 2, 6)),
    "mha_kv": (lambda: ember.nn.MultiheadAttention(8, 2, kdim=4, vdim=6, batch_first=True), None),
    "bilinear": (lambda: ember.nn.Bilinear(6, 6, 3), None),
    "ctc": (lambda: ember.nn.CTCLoss(zero_infinity=True), None),
}


def _module_inputs(name: str, dev: str) -> tuple[Any, tuple]:
    """The input that takes the gradient (None if none does) and the call's arguments."""
    def t(*shape: int, seed: int = 0) -> Any:
        return ember.tensor(_array((F_, *shape), seed), device=dev)

    def i(values: list) -> Any:
        return ember.tensor(values, device=dev)
    shape = MORE_MODULES[name][1]
    x = None
    if shape is not None:
        x = t(*shape).requires_grad_()
        return x, (x,)
    if name in ("decoder", "transformer", "mha_kv", "bilinear", "adaptive_logsoftmax", "ctc"):
        x = {"bilinear": lambda: t(3, 6), "adaptive_logsoftmax": lambda: t(5, 6),
             "ctc": lambda: t(6, 2, 5)}.get(name, lambda: t(2, 3, 8))().requires_grad_()
    args = {
        "decoder": lambda: (x, t(2, 4, 8, seed=1)),
        "transformer": lambda: (x, t(2, 4, 8, seed=1)),
        "adaptive_logsoftmax": lambda: (x, i([0, 5, 9, 3, 7])),
        "embedding_bag": lambda: (i([1, 2, 4, 5, 4, 3, 2, 9]), i([0, 4])),
        "mha_kv": lambda: (x, t(2, 4, 4, seed=1), t(2, 4, 6, seed=2)),
        "bilinear": lambda: (x, x * 2),
        "ctc": lambda: (x.log_softmax(2), i([[1, 2, 2], [3, 1, 0]]), i([6, 5]), i([3, 2])),
    }[name]()
    return x, args


@pytest.mark.parametrize("name", list(MORE_MODULES))
def test_more_modules_on_cuda_match_cpu(name: str) -> None:
    results = []
    for dev in ("cpu", "cuda"):
        ember.manual_seed(0)
        m = MORE_MODULES[name][0]().to(dev)
        x, args = _module_inputs(name, dev)
        kwargs = {"tgt_mask": ember.nn.Transformer.generate_square_subsequent_mask(4, device=dev)} \
            if name == "transformer" else {"key_padding_mask": ember.tensor([[False, False, True, False]] * 2,
                                                                            device=dev)} if name == "mha_kv" else {}
        ember.manual_seed(1)
        outs = _flat_outputs(m(*args, **kwargs))
        diff = [o for o in outs if o.requires_grad and o.is_floating_point()]
        sum((o * (1 + ember.arange(o.numel(), device=dev).reshape(o.shape) % 3)).sum() for o in diff).backward()
        grads = [p.grad for p in m.parameters() if p.grad is not None] + ([x.grad] if x is not None else [])
        results.append([o.detach() for o in outs + grads])
    cpu, gpu = results
    assert len(cpu) == len(gpu)
    for a, b in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(_host(b), _host(a), rtol=2e-4, atol=2e-5)


def test_forward_ad_checkpoint_grad_scaler_and_func_on_cuda() -> None:
    def run(dev: str) -> list[Any]:
        from ember.autograd import forward_ad as fwAD

        x = ember.tensor(_array((F_, 4, 6), 0), device=dev, requires_grad=True)
        res = []
        with fwAD.dual_level():
            d = fwAD.make_dual(x.detach(), ember.ones_like(x))
            res.append(fwAD.unpack_dual(d.sin().exp())[1])
        y = ember.utils.checkpoint.checkpoint(lambda t: t.tanh() @ t.t(), x, use_reentrant=False)
        y.sum().backward()
        res.append(x.grad)
        res.append(ember.func.jacfwd(lambda t: t.sin() * t)(x.detach()[0]))
        res.append(ember.func.hessian(lambda t: t.pow(3).sum())(x.detach()[0]))
        res.append(ember.vmap(lambda r: ember.dot(r, r))(x.detach()))
        res.append(ember.autograd.functional.jvp(lambda t: t.exp(), x.detach(), ember.ones_like(x))[1])
        scaler = ember.amp.GradScaler(dev)
        w = ember.tensor(_array((F_, 6, 3), 1), device=dev, requires_grad=True)
        opt = ember.optim.SGD([w], lr=0.1)
        with ember.autocast(dev, dtype=ember.float16 if dev == "cuda" else ember.bfloat16):
            loss = (x.detach() @ w).float().square().mean()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        res.append(w)
        return res
    cpu, gpu = _both(run)
    _assert_same(cpu[:-1], gpu[:-1])
    _assert_same(cpu[-1:], gpu[-1:], rtol=2e-2, atol=2e-2)   # float16 autocast on cuda, bfloat16 on the CPU
