"""The rest of torch's surface (ember.ops.extra, ember.ops.signal): top-level spellings, *_copy views, complex
views, composites, legacy linear algebra, storage methods, windows and stft/istft — against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from oracle import assert_close, assert_same_error, to_ember, to_torch, torch

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
V5 = rng.standard_normal(5)
S3 = rng.standard_normal((3, 3))
SPD = S3 @ S3.T + 3 * np.eye(3)
LOW = np.linalg.cholesky(SPD)
SIG = rng.standard_normal(40)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def both(fn, *arrays, rg=False):
    """``fn`` run under ember and torch on the same float64 arrays (``rg``: inputs require grad)."""
    e_in = [ember.tensor(a, requires_grad=rg) if isinstance(a, np.ndarray) else a for a in arrays]
    t_in = [torch.tensor(a, requires_grad=rg) if isinstance(a, np.ndarray) else a for a in arrays]
    return fn(ember, *e_in), fn(torch, *t_in), e_in, t_in


def resolved(t):
    """torch's lazily conjugated results made concrete (ember conjugates eagerly)."""
    if isinstance(t, (tuple, list)):
        return type(t)(resolved(v) for v in t)
    return t.resolve_conj() if isinstance(t, torch.Tensor) and t.is_conj() else t


def same(fn, *arrays, grads=True, name=True, **kw):
    """Values, dtypes, grad_fn name and (backward of a random cotangent) input gradients agree."""
    e, t, e_in, t_in = both(fn, *arrays, rg=grads)
    assert_close(e, resolved(t), **kw)
    eo = e[0] if isinstance(e, (tuple, list)) else e
    to = t[0] if isinstance(t, (tuple, list)) else t
    if grads and to.requires_grad:
        if name:
            assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__
        cot = rng.standard_normal(tuple(to.shape))
        if to.is_complex():
            cot = cot + 1j * rng.standard_normal(tuple(to.shape))
        to.backward(torch.tensor(cot, dtype=to.dtype))
        eo.backward(ember.tensor(cot, dtype=eo.dtype))
        for a, b in zip(e_in, t_in, strict=True):
            if isinstance(b, torch.Tensor) and b.grad is not None:
                assert_close(a.grad, resolved(b.grad), **kw)


def gc(fn, *arrays, gg=True):
    inputs = [ember.tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(fn, inputs)
    if gg:
        assert gradgradcheck(fn, inputs)


# ---- top-level spellings ------------------------------------------------------------------------------
def test_clone_detach_fill_zero():
    same(lambda L, x: L.clone(x * 1), A)
    same(lambda L, x: L.fill(x * 1, 2.5), A)
    same(lambda L, x: L.fill(x, L.tensor(1.5, dtype=L.float64)), A)
    e = ember.tensor(A)
    assert ember.zero_(e) is e and not e.any()
    assert ember.fill_(e, 3.0) is e and (e == 3).all()
    d = ember.detach(ember.tensor(A, requires_grad=True))
    assert not d.requires_grad
    assert_same_error(lambda: ember.fill(ember.tensor(A), ember.ones(2)),
                      lambda: torch.fill(torch.tensor(A), torch.ones(2)))


def test_predicates_and_splits():
    x = ember.tensor(A)
    assert ember.is_signed(x) and not ember.is_signed(ember.tensor([1], dtype=ember.uint8))
    assert not ember.is_conj(x) and not ember.is_neg(x) and not ember.is_inference(x)
    same(lambda L, x: L.split_with_sizes(x, [1, 2]), A)
    same(lambda L, x: L.unsafe_split(x, 2, 1), A)
    same(lambda L, x: L.unsafe_chunk(x, 2, 1), A)
    same(lambda L, x: L.unsafe_split_with_sizes(x, [3, 1], 1), A)


@pytest.mark.parametrize("name", ["kl_div", "binary_cross_entropy_with_logits", "hinge_embedding_loss"])
@pytest.mark.parametrize("reduction", [None, 0, 1, 2])
def test_losses_with_int_reduction(name, reduction):
    target = np.abs(B) % 1 if name != "hinge_embedding_loss" else np.sign(B)
    args = () if reduction is None else (reduction,)
    if name == "binary_cross_entropy_with_logits":
        args = () if reduction is None else (None, None, reduction)
    same(lambda L, x, t: getattr(L, name)(x, t.detach(), *args), A, target)


def test_pair_losses():
    y = np.array([1.0, -1.0, 1.0])
    same(lambda L, a, b, t: L.cosine_embedding_loss(a, b, t.detach(), 0.1, 1), A, B, y, name=False)
    same(lambda L, a, b, t: L.margin_ranking_loss(a, b, t.detach(), 0.2, 2), A, B, np.sign(B), name=False)
    same(lambda L, a, b: L.triplet_margin_loss(a, b, a * 2, 1.0, 2, 1e-6, True, 1), A, B, name=False)
    same(lambda L, a, t: L.poisson_nll_loss(a, t.detach(), True, True, 1e-8, 1), A, np.abs(B), name=False)
    same(lambda L, a, t: L.kl_div(a, t.detach(), 2, log_target=True), A, B)
    assert_same_error(lambda: ember.kl_div(ember.tensor(A), ember.tensor(B), "mean"),
                      lambda: torch.kl_div(torch.tensor(A), torch.tensor(B), "mean"))


def test_pad_embedding_norms():
    same(lambda L, x: L.constant_pad_nd(x, [1, 2, 0, 1], 3.0), A)
    same(lambda L, w: L.embedding(w, L.tensor([0, 2, 2])), A)
    same(lambda L, w: L.embedding(w, L.tensor([0, 2, 2]), 2), A)
    same(lambda L, x: L.native_layer_norm(x, [4], None, None, 1e-5), A)
    x3 = rng.standard_normal((2, 3, 4))
    same(lambda L, x: L.native_layer_norm(x, [3, 4], L.ones(3, 4, dtype=L.float64), None, 1e-5), x3)
    same(lambda L, x: L.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5), x3)
    same(lambda L, x: L.native_batch_norm(x, None, None, L.zeros(3, dtype=L.float64), L.ones(3, dtype=L.float64),
                                          False, 0.1, 1e-5), x3)


def test_dropout_family_same_random_numbers():
    for name in ("dropout", "alpha_dropout", "feature_alpha_dropout", "feature_dropout"):
        x = rng.standard_normal((2, 3, 4))
        ember.manual_seed(3)
        torch.manual_seed(3)
        assert_close(getattr(ember, name)(ember.tensor(x), 0.3, True), getattr(torch, name)(torch.tensor(x), 0.3, True))
        e, t = ember.tensor(x), torch.tensor(x)
        ember.manual_seed(4)
        torch.manual_seed(4)
        assert getattr(ember, name + "_")(e, 0.3, True) is e
        getattr(torch, name + "_")(t, 0.3, True)
        assert_close(e, t)
    ember.manual_seed(5)
    torch.manual_seed(5)
    same(lambda L, x: L.native_dropout(x, 0.4, True), A)
    e, t = ember.native_dropout(ember.tensor(A), 0.4, False), torch.native_dropout(torch.tensor(A), 0.4, False)
    assert_close(e, t)


# ---- *_copy and complex views ------------------------------------------------------------------------------
COPIES = [
    ("view_copy", lambda L, x: L.view_copy(x, [4, 3])), ("permute_copy", lambda L, x: L.permute_copy(x, [1, 0])),
    ("t_copy", lambda L, x: L.t_copy(x)), ("transpose_copy", lambda L, x: L.transpose_copy(x, 0, 1)),
    ("expand_copy", lambda L, x: L.expand_copy(x[:1], [2, 4])),
    ("squeeze_copy", lambda L, x: L.squeeze_copy(x[:1])), ("unsqueeze_copy", lambda L, x: L.unsqueeze_copy(x, 1)),
    ("select_copy", lambda L, x: L.select_copy(x, 1, 2)), ("slice_copy", lambda L, x: L.slice_copy(x, 1, 1, 3)),
    ("diagonal_copy", lambda L, x: L.diagonal_copy(x, 1)),
    ("as_strided_copy", lambda L, x: L.as_strided_copy(x, (2, 2), (1, 2))),
    ("unfold_copy", lambda L, x: L.unfold_copy(x, 1, 2, 1)), ("unbind_copy", lambda L, x: L.unbind_copy(x, 1)),
    ("split_copy", lambda L, x: L.split_copy(x, 2, 1)),
    ("split_with_sizes_copy", lambda L, x: L.split_with_sizes_copy(x, [1, 3], 1)),
    ("alias_copy", lambda L, x: L.alias_copy(x)), ("detach_copy", lambda L, x: L.detach_copy(x)),
]


@pytest.mark.parametrize("name,fn", COPIES, ids=[c[0] for c in COPIES])
def test_copy_variants(name, fn):
    if name == "detach_copy":
        assert_close(fn(ember, ember.tensor(A)), fn(torch, torch.tensor(A)))
        return
    same(lambda L, x: fn(L, x * 1), A)
    e = ember.tensor(A)
    out = fn(ember, e)
    first = out[0] if isinstance(out, (list, tuple)) else out
    assert first.data_ptr() != e.data_ptr() or first.numel() == 0
    if name in ("view_copy", "permute_copy", "slice_copy", "as_strided_copy", "unfold_copy"):
        gc(lambda x: fn(ember, x), A)


def test_view_as_real_complex():
    same(lambda L, a, b: L.view_as_real(L.complex(a, b).t()), A, B)
    same(lambda L, a: L.view_as_complex(a.view(3, 2, 2)), A)
    z = ember.complex(ember.tensor(A), ember.tensor(B))
    r = ember.view_as_real(z)
    r[0, 0, 1] = 7.0
    assert z[0, 0].imag.item() == 7.0 and r._base is z
    c = ember.view_as_complex(ember.tensor(A).view(3, 2, 2))
    assert c.dtype is ember.complex128 and c.shape == (3, 2)
    same(lambda L, a: L.view_as_real_copy(L.view_as_complex_copy(a.view(3, 2, 2))), A, grads=False)
    gc(lambda a: ember.view_as_real(ember.view_as_complex(a.view(3, 2, 2)) * 2), A)
    for bad in (lambda L: L.view_as_real(L.ones(2)), lambda L: L.view_as_complex(L.ones(3)),
                lambda L: L.view_as_complex(L.ones(2, 2).t()), lambda L: L.view_as_complex(L.ones(2, dtype=L.int64)),
                lambda L: L.view_as_complex(L.ones(7)[1:].view(3, 2))):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))


def test_as_strided_scatter_and_slice_inverse():
    # torch 2.13's gradient for ``input`` keeps the overwritten region instead of zeroing it (a torch bug);
    # ember's is the true derivative (gradcheck), so only values, the node name and src's gradient are compared
    e, t, e_in, t_in = both(lambda L, x, s: L.as_strided_scatter(x, s, (2, 2), (1, 2), 1), A, B[:2, :2], rg=True)
    assert_close(e, t)
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    cot = rng.standard_normal((3, 4))
    e.backward(ember.tensor(cot))
    t.backward(torch.tensor(cot))
    assert_close(e_in[1].grad, t_in[1].grad)
    gc(lambda x, s: ember.as_strided_scatter(x, s, (2, 2), (1, 2), 1), A, B[:2, :2])
    e = ember.tensor(V5, requires_grad=True)
    t = torch.tensor(V5, requires_grad=True)
    eo, to = ember.slice_inverse(e[1:], e, 0, 1), torch.slice_inverse(t[1:], t, 0, 1)
    assert_close(eo, to)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__ == "SliceInverseBackward0"


# ---- composites -----------------------------------------------------------------------------------------------
def test_dist_renorm():
    for p in (2, 1, 3.5, float("inf")):
        same(lambda L, a, b, p=p: L.dist(a, b, p), A, B)
    same(lambda L, a, b: L.dist(a, b, 0), A, B, grads=False)   # torch's backward for p=0 fails
    same(lambda L, a, b: L.dist(a, b[0]), A, B)
    gc(lambda a, b: ember.dist(a, b, 3), A, B)
    same(lambda L, a: L.renorm(a, 2, 0, 1.5), A)
    same(lambda L, a: L.renorm(a, 1, 1, 1.0), A)
    gc(lambda a: ember.renorm(a, 2, 0, 1.5), A)
    e, t = ember.tensor(A), torch.tensor(A)
    assert e.renorm_(2, 0, 1.0) is e
    assert_close(e, t.renorm_(2, 0, 1.0))
    for bad in (lambda L: L.renorm(L.tensor(V5), 2, 0, 1.0), lambda L: L.renorm(L.tensor(A), -1, 0, 1.0)):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))


def test_isin_unravel():
    a, b = ember.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 3, 4])
    assert_close(ember.isin(a, ember.tensor([2, 4])), torch.isin(b, torch.tensor([2, 4])))
    assert_close(ember.isin(a, 2, invert=True), torch.isin(b, 2, invert=True))
    assert_close(ember.isin(3, a), torch.isin(3, b))
    assert not hasattr(ember.Tensor, "isin") and not hasattr(torch.Tensor, "isin")
    assert_same_error(lambda: ember.isin(1, 2), lambda: torch.isin(1, 2))
    idx = [4, 1, -1, 9]
    assert_close(ember.unravel_index(ember.tensor(idx), (2, 3)), torch.unravel_index(torch.tensor(idx), (2, 3)))
    assert_close(ember.unravel_index(ember.tensor(4), (2, 3)), torch.unravel_index(torch.tensor(4), (2, 3)))
    assert_same_error(lambda: ember.unravel_index(ember.tensor([1.0]), (2,)),
                      lambda: torch.unravel_index(torch.tensor([1.0]), (2,)))


def test_cartesian_combinations_vander():
    same(lambda L, a, b: L.cartesian_prod(a, b), V5[:2], V5[2:])
    same(lambda L, a: L.combinations(a, 3), V5)
    same(lambda L, a: L.combinations(a, 2, True), V5[:3])
    same(lambda L, a: L.combinations(a, 4), V5[:3])
    assert_close(ember.combinations(ember.tensor(V5), 0), torch.combinations(torch.tensor(V5), 0))
    assert_close(ember.vander(ember.tensor([1, 2, 3])), torch.vander(torch.tensor([1, 2, 3])))
    same(lambda L, a: L.vander(a, 4), V5, grads=False)   # torch's backward fails (in-place cumprod)
    same(lambda L, a: L.vander(a, 3, True), V5, grads=False)
    gc(lambda a: ember.vander(a, 4), V5)
    gc(lambda a: ember.combinations(a, 2), V5)
    for bad in (lambda L: L.cartesian_prod(L.ones(1, 3)), lambda L: L.combinations(L.ones(1, 3)),
                lambda L: L.vander(L.ones(1, 3))):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))


def test_trapezoid_family():
    same(lambda L, y: L.trapezoid(y), A)
    same(lambda L, y: L.trapezoid(y, dx=0.5, dim=0), A)
    same(lambda L, y, x: L.trapezoid(y, x), A, V5[:4])
    same(lambda L, y, x: L.trapz(y, x, dim=0), A, B)
    same(lambda L, y: L.cumulative_trapezoid(y), A)
    same(lambda L, y, x: L.cumulative_trapezoid(y, x), A, V5[:4])
    same(lambda L, y: L.cumulative_trapezoid(y, dx=2.0, dim=0), A)
    assert_close(ember.trapezoid(ember.tensor([1, 2, 3])), torch.trapezoid(torch.tensor([1, 2, 3])))
    gc(lambda y, x: ember.trapezoid(y, x), A, V5[:4])
    gc(lambda y: ember.cumulative_trapezoid(y, dx=0.3), A)
    assert_same_error(lambda: ember.trapezoid(ember.tensor(A), ember.tensor(V5)),
                      lambda: torch.trapezoid(torch.tensor(A), torch.tensor(V5)))


def test_cov_corrcoef():
    same(lambda L, x: L.cov(x), A)
    same(lambda L, x: L.cov(x), V5)
    fw, aw = np.array([1, 2, 1, 3]), np.abs(V5[:4])
    for corr in (0, 1, 2):
        same(lambda L, x, c=corr: L.cov(x, correction=c, fweights=L.tensor(fw), aweights=L.tensor(aw)), A)
        same(lambda L, x, c=corr: L.cov(x, correction=c, aweights=L.tensor(aw)), A)
    assert_close(ember.cov(ember.tensor([[1, 2, 3], [1, 5, 2]])), torch.cov(torch.tensor([[1, 2, 3], [1, 5, 2]])))
    same(lambda L, x: L.corrcoef(x), A)
    same(lambda L, x: x.corrcoef(), B)
    gc(lambda x: ember.cov(x), A)
    gc(lambda x: ember.corrcoef(x), A)
    x = np.asarray(A)
    for bad in (lambda L: L.cov(L.ones(2, 2, 2)), lambda L: L.cov(L.tensor(x), fweights=L.ones(4)),
                lambda L: L.cov(L.tensor(x), fweights=L.tensor([1, 2])),
                lambda L: L.cov(L.tensor(x), fweights=L.tensor([-1, 2, 1, 1])),
                lambda L: L.cov(L.tensor(x), aweights=-L.ones(4, dtype=L.float64))):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    same(lambda L, x, s: L.index_reduce(x, 1, L.tensor([0, 2, 0]), s, reduce, include_self=include_self),
         A, B[:, :3])
    e, t = ember.tensor(A), torch.tensor(A)
    assert e.index_reduce_(0, ember.tensor([2, 2]), ember.tensor(B[:2]), reduce, include_self=include_self) is e
    t.index_reduce_(0, torch.tensor([2, 2]), torch.tensor(B[:2]), reduce, include_self=include_self)
    assert_close(e, t)


def test_index_reduce_ints_and_errors():
    args = ([[1, 2], [3, 4]], [0, 0], [[1, 2], [4, 4]])
    assert_close(ember.index_reduce(*(ember.tensor(a) for a in args[:1]), 0, ember.tensor(args[1]),
                                    ember.tensor(args[2]), "mean"),
                 torch.index_reduce(torch.tensor(args[0]), 0, torch.tensor(args[1]), torch.tensor(args[2]), "mean"))
    gc(lambda x, s: ember.index_reduce(x, 1, ember.tensor([0, 2, 0]), s, "prod"), A, B[:, :3], gg=False)
    for bad in (lambda L: L.index_reduce(L.tensor(A), 1, L.tensor([0, 2, 0]), L.tensor(B[:, :3]), "sum"),
                lambda L: L.index_reduce(L.tensor(A), 1, L.tensor([0.0, 2, 0]), L.tensor(B[:, :3]), "prod"),
                lambda L: L.index_reduce(L.tensor(A), 1, L.tensor([0, 2]), L.tensor(B[:, :3]), "prod")):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))


def test_histogramdd_igamma():
    pts = rng.standard_normal((10, 2)).astype(np.float32)
    assert_close(ember.histogramdd(ember.tensor(pts), bins=3), torch.histogramdd(torch.tensor(pts), bins=3))
    kw = {"bins": [2, 3], "range": [0.0, 1.0, 0.0, 2.0], "density": True}
    assert_close(ember.histogramdd(ember.tensor(pts), **kw), torch.histogramdd(torch.tensor(pts), **kw))
    w = np.abs(pts[:, 0])
    assert_close(ember.histogramdd(ember.tensor(pts), bins=2, weight=ember.tensor(w)),
                 torch.histogramdd(torch.tensor(pts), bins=2, weight=torch.tensor(w)))
    same(lambda L, a, x: L.igamma(a.detach(), x), np.abs(A) + 0.5, np.abs(B))
    same(lambda L, a, x: L.igammac(a.detach(), x), np.abs(A) + 0.5, np.abs(B))
    e, t = ember.tensor(np.abs(A)), torch.tensor(np.abs(A))
    assert e.igamma_(ember.tensor(np.abs(B))) is e
    assert_close(e, t.igamma_(torch.tensor(np.abs(B))))
    assert_close(e.igammac(ember.tensor(np.abs(B))), t.igammac(torch.tensor(np.abs(B))))


# ---- creation ---------------------------------------------------------------------------------------------------
def test_creation():
    assert_close(ember.scalar_tensor(3), torch.scalar_tensor(3))
    assert_close(ember.scalar_tensor(True, dtype=ember.int64), torch.scalar_tensor(True, dtype=torch.int64))
    for dt in ("float32", "float64", "int32", "uint8"):
        assert_same_error(lambda dt=dt: ember.scalar_tensor(1 + 2j, dtype=getattr(ember, dt)),
                          lambda dt=dt: torch.scalar_tensor(1 + 2j, dtype=getattr(torch, dt)))
    e, t = ember.empty_strided((2, 3), (1, 2)), torch.empty_strided((2, 3), (1, 2))
    assert e.shape == t.shape and e.stride() == t.stride() and e.dtype is ember.float32
    assert ember.ones(2).new_empty_strided((3, 2), (1, 3)).stride() == (1, 3)
    buf = bytearray(b"\x01\x00\x02\x00\x03\x00")
    f = ember.frombuffer(buf, dtype=ember.int16, offset=2)
    assert_close(f, torch.frombuffer(bytearray(buf), dtype=torch.int16, offset=2))
    f[0] = 9
    assert buf[2] == 9   # shares the buffer's memory
    assert_close(ember.frombuffer(buf, dtype=ember.int8, count=3), torch.frombuffer(buf, dtype=torch.int8, count=3))
    assert_same_error(lambda: ember.frombuffer(buf, dtype=ember.int32),
                      lambda: torch.frombuffer(buf, dtype=torch.int32))


# ---- linear algebra ---------------------------------------------------------------------------------------------
def test_cholesky_solve_inverse():
    same(lambda L, b, lo: L.cholesky_solve(b, lo), B[:, :2], LOW)
    same(lambda L, b, u: L.cholesky_solve(b, u, upper=True), B[:, :2], LOW.T.copy())
    same(lambda L, lo: L.cholesky_inverse(lo), LOW)
    same(lambda L, lo: lo.cholesky_inverse(True), LOW.T.copy())
    gc(lambda b, lo: ember.cholesky_solve(b, lo.tril()), B[:, :2], LOW)
    gc(lambda lo: ember.cholesky_inverse(lo.tril()), LOW)


def test_triangular_solve_qr():
    up = np.triu(S3) + 3 * np.eye(3)
    same(lambda L, b, a: L.triangular_solve(b, a), B[:, :2], up)
    same(lambda L, b, a: L.triangular_solve(b, a, False, True, True), B[:, :2], up.T.copy())
    gc(lambda b, a: ember.triangular_solve(b, a.triu()).solution, B[:, :2], up)
    for some in (True, False):
        e, t = ember.qr(ember.tensor(A.T), some), torch.qr(torch.tensor(A.T), some)
        assert_close(e, t)
        assert type(e).__name__ == type(t).__name__


def test_lu_family():
    same(lambda L, a: L.lu(a), S3)
    batch = rng.standard_normal((2, 4, 4))
    e, t = ember.lu(ember.tensor(batch), get_infos=True), torch.lu(torch.tensor(batch), get_infos=True)
    assert_close(list(e), list(t))
    assert_close(list(ember.lu_unpack(*e[:2])), list(torch.lu_unpack(*t[:2])))
    same(lambda L, b, a: L.lu_solve(b, *L.lu(a)), B[:, :2], S3)
    gc(lambda a: ember.lu(a)[0], S3)
    gc(lambda b, a: ember.lu_solve(b, *ember.lu(a)), B[:, :2], S3)
    e, t = ember.lu(ember.zeros(2, 2), get_infos=True), torch.lu(torch.zeros(2, 2), get_infos=True)
    assert_close(list(e), list(t))


@pytest.mark.parametrize("name", ["matrix_rank", "eig", "symeig", "lstsq", "solve"])
def test_removed_functions(name):
    x = np.eye(2)
    assert_same_error(lambda: getattr(ember, name)(ember.tensor(x), ember.tensor(x)),
                      lambda: getattr(torch, name)(torch.tensor(x), torch.tensor(x)))


# ---- signal -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "bartlett", "kaiser"])
def test_windows(name):
    fe, ft = getattr(ember, name + "_window"), getattr(torch, name + "_window")
    for n in (0, 1, 2, 7):
        assert_close(fe(n), ft(n))
        assert_close(fe(n, False, dtype=ember.float64), ft(n, False, dtype=torch.float64))
    assert_same_error(lambda: fe(-1), lambda: ft(-1))
    assert fe(3, requires_grad=True).requires_grad


def test_window_parameters():
    assert_close(ember.hamming_window(6, True, 0.5, 0.3), torch.hamming_window(6, True, 0.5, 0.3))
    assert_close(ember.kaiser_window(6, False, 5.0), torch.kaiser_window(6, False, 5.0))


STFT = [
    {"n_fft": 8, "window": "hann"},
    {"n_fft": 8, "hop_length": 3, "win_length": 6, "window": "hann", "center": False},
    {"n_fft": 8, "onesided": False, "normalized": True},
    {"n_fft": 8, "pad_mode": "constant", "window": "hann"},
    {"n_fft": 7, "hop_length": 2, "window": "hann", "normalized": True},
]


def _stft_kw(L, kw):
    kw = dict(kw)
    w = kw.pop("window", None)
    n = kw.get("win_length", kw["n_fft"])
    kw["window"] = L.hann_window(n, dtype=L.float64) if w == "hann" else L.ones(n, dtype=L.float64)
    return kw


@pytest.mark.parametrize("kw", STFT)
@pytest.mark.parametrize("batched", [False, True])
def test_stft(kw, batched):
    sig = SIG.reshape(2, 20) if batched else SIG
    same(lambda L, x: L.stft(x, return_complex=True, **_stft_kw(L, kw)), sig, name=False)
    same(lambda L, x: x.stft(return_complex=False, **_stft_kw(L, kw)), sig, name=False)


@pytest.mark.parametrize("kw", [STFT[0], STFT[2], STFT[4]])
def test_istft(kw):
    e_spec = ember.stft(ember.tensor(SIG), return_complex=True, **_stft_kw(ember, kw))
    t_spec = torch.stft(torch.tensor(SIG), return_complex=True, **_stft_kw(torch, kw))
    ikw = {k: v for k, v in kw.items() if k != "pad_mode"}
    for length in (None, 35, 50):
        e = ember.istft(e_spec, length=length, **_stft_kw(ember, ikw))
        t = torch.istft(t_spec, length=length, **_stft_kw(torch, ikw))
        assert_close(e, t)
    e = ember.istft(e_spec, **_stft_kw(ember, ikw))
    np.testing.assert_allclose(e.numpy(), SIG[:e.shape[0]], atol=1e-10)
    spec = to_ember(t_spec).requires_grad_()
    tspec = t_spec.clone().requires_grad_()
    e, t = ember.istft(spec, **_stft_kw(ember, ikw)), torch.istft(tspec, **_stft_kw(torch, ikw))
    cot = rng.standard_normal(tuple(t.shape))
    e.backward(ember.tensor(cot))
    t.backward(torch.tensor(cot))
    assert_close(spec.grad, tspec.grad)


def test_istft_overlap_error():
    sig = np.asarray(SIG, dtype=np.float32)
    # a Hann window with center=False leaves the first sample uncovered by the overlap-add
    spec = {L: L.stft(L.tensor(sig), 16, 4, window=L.hann_window(16), center=False, return_complex=True)
            for L in (ember, torch)}
    assert_same_error(lambda: ember.istft(spec[ember], 16, 4, window=ember.hann_window(16), center=False, length=30),
                      lambda: torch.istft(spec[torch], 16, 4, window=torch.hann_window(16), center=False, length=30))


def test_stft_gradcheck_and_errors():
    w = ember.hann_window(8, dtype=ember.float64)
    gc(lambda x: ember.view_as_real(ember.stft(x, 8, hop_length=3, window=w, return_complex=True)), SIG[:20])
    x = np.asarray(SIG[:20], dtype=np.float32)
    for bad in (lambda L: L.stft(L.tensor(x), 8),
                lambda L: L.stft(L.tensor(x), 8, win_length=10, return_complex=True),
                lambda L: L.stft(L.tensor(x), 8, window=L.ones(5), return_complex=True),
                lambda L: L.stft(L.ones(2, 2, 20), 8, return_complex=True),
                lambda L: L.stft(L.ones(4), 8, center=False, return_complex=True)):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))


# ---- Tensor methods: storage and friends -------------------------------------------------------------------------
def test_resize_and_set():
    for fn in (lambda L: L.arange(6.0)[:4].resize_(2, 2), lambda L: L.arange(3.0).resize_(5)[:3],
               lambda L: L.arange(6.0).resize_as_(L.ones(2, 2)), lambda L: L.resize_as_(L.arange(6.0), L.ones(2, 3)),
               lambda L: L.empty(0).set_(L.arange(4.0).untyped_storage(), 1, (2,), (1,)),
               lambda L: L.empty(0).set_(L.arange(4.0)), lambda L: L.ones(3).set_()):
        assert_close(fn(ember), fn(torch))
    x = ember.arange(6.0)
    y = x[:4]
    y.resize_(2, 2)
    assert y.data_ptr() == x.data_ptr()
    s = ember.arange(4.0)
    t = ember.empty(0).set_(s)
    assert t.is_set_to(s) and not t.is_set_to(s.view(2, 2)) and t.data_ptr() == s.data_ptr()
    assert_same_error(lambda: ember.ones(2, requires_grad=True).resize_(3),
                      lambda: torch.ones(2, requires_grad=True).resize_(3))


def test_storage():
    e, t = ember.arange(4.0), torch.arange(4.0)
    assert repr(e.storage()) == repr(t.storage())
    es, ts = e[1:].storage(), t[1:].storage()
    assert (es.size(), len(es), es[1], es.tolist(), es.element_size(), es.nbytes()) == \
        (ts.size(), len(ts), ts[1], ts.tolist(), ts.element_size(), ts.nbytes())
    assert e.storage_type().__name__ == t.storage_type().__name__ == "FloatStorage"
    assert ember.ones(1, dtype=ember.int64).storage_type().__name__ == "LongStorage"
    assert not e.is_shared() and e.share_memory_() is e and e.is_shared()


def test_misc_methods():
    x = ember.tensor([1.0, 2.0])
    assert x.apply_(lambda v: v * 2) is x
    x.map_(ember.tensor([1.0, 1.0]), lambda a, b: a + b)
    x.map2_(ember.tensor([1.0, 1.0]), ember.tensor([2.0, 2.0]), lambda a, b, c: a + b * c)
    assert x.tolist() == [5.0, 7.0]
    assert ember.empty(2, 3, 4).permute(2, 0, 1).dim_order() == torch.empty(2, 3, 4).permute(2, 0, 1).dim_order()
    for size, fill in ((4, -1), (1, -5), (0, 0)):
        assert_close(ember.tensor([[0, 1], [1, 1]]).nonzero_static(size=size, fill_value=fill),
                     torch.tensor([[0, 1], [1, 1]]).nonzero_static(size=size, fill_value=fill))
        assert_close(ember.nonzero_static(ember.tensor([0, 3, 0]), size=size),
                     torch.nonzero_static(torch.tensor([0, 3, 0]), size=size))
    same(lambda L, v: v.hardshrink(0.5), V5)
    same(lambda L, v: v.view(1, 5).prelu(L.tensor([0.2], dtype=L.float64)), V5)
    assert str(ember.ones(2).chalf()) == str(torch.ones(2).chalf())


def test_to_torch_roundtrip_of_views():
    z = ember.view_as_complex(ember.tensor(A).view(3, 2, 2))
    assert_close(z, torch.view_as_complex(to_torch(ember.tensor(A)).view(3, 2, 2)))


@pytest.mark.parametrize("args", [
    ([0, 2, 1, 4, 4], [0, 2, 2], False, 0), ([0, 2, 1, 4, 4], [0, 2, 2], False, 0, False, None, False, 4),
    ([0, 2, 1, 4, 4], [0, 2, 2], False, 1), ([0, 2, 1, 4, 4], [0, 2, 5], False, 1, False, None, True),
    ([0, 2, 1, 4, 4], [0, 2, 2], False, 2), ([0, 2, 1, 4, 4], [0, 2, 5], False, 2, False, None, True, None),
    ([0, 2, 1, 4, 4], [0, 2, 2], False, 2, False, None, False, 4),
])
def test_embedding_bag_outputs(args):
    w = rng.standard_normal((5, 3))
    idx, offs, *rest = args
    same(lambda L, wt: L.embedding_bag(wt, L.tensor(idx), L.tensor(offs), *rest), w)
    same(lambda L, wt: L.embedding_bag(wt, L.tensor(idx), L.tensor(offs), *rest), w.astype(np.float32))
    assert_same_error(lambda: ember.embedding_bag(ember.tensor(w), ember.tensor(idx), None),
                      lambda: torch.embedding_bag(torch.tensor(w), torch.tensor(idx), None))


GRADIENT = [{}, {"edge_order": 2}, {"spacing": 2.0}, {"spacing": [2.0, 3.0]}, {"dim": 1}, {"dim": (1,)},
            {"spacing": [V5[:4].cumsum()], "dim": 1}, {"spacing": [V5[:4].cumsum()], "dim": 1, "edge_order": 2}]


@pytest.mark.parametrize("kw", GRADIENT)
def test_gradient(kw):
    def fn(L, x):
        k = dict(kw)
        if "spacing" in k and isinstance(k["spacing"], list):
            k["spacing"] = [L.tensor(s) if isinstance(s, np.ndarray) else s for s in k["spacing"]]
        return L.gradient(x, **k)
    same(fn, A)


def test_gradient_details():
    assert_close(ember.gradient(ember.tensor([1, 4, 9])), torch.gradient(torch.tensor([1, 4, 9])))
    gc(lambda x: ember.gradient(x, spacing=[ember.tensor(V5[:4].cumsum())], dim=1, edge_order=2)[0], A)
    for bad in (lambda L: L.gradient(L.ones(1)), lambda L: L.gradient(L.ones(2), edge_order=2),
                lambda L: L.gradient(L.ones(3), edge_order=3),
                lambda L: L.gradient(L.ones(3, 4), spacing=[1.0, 2.0, 3.0])):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))


def test_deprecated_norms_constants_and_small_methods():
    same(lambda L, x: L.frobenius_norm(x, [0, 1]), A)
    same(lambda L, x: L.nuclear_norm(x), A, name=False)
    for order in ((0, 2, 1), (2, 0, 1)):
        assert ember.empty_permuted((2, 3, 4), order).stride() == torch.empty_permuted((2, 3, 4), order).stride()
    assert (ember.e, ember.pi, ember.inf, ember.newaxis) == (torch.e, torch.pi, torch.inf, torch.newaxis)
    assert np.isnan(ember.nan) and ember.get_device(ember.ones(1)) == torch.get_device(torch.ones(1)) == -1
    x, t = ember.ones(2, 3), torch.ones(2, 3)
    assert x.new(2, 2).shape == t.new(2, 2).shape and x.new([1, 2]).dtype is ember.float32 and x.new().numel() == 0
    assert (x.is_xla, x.is_mps, x.is_nested, x.is_distributed()) == (False, False, False, False)
    assert x.const_data_ptr() == x.data_ptr()
    r = x.resize(3, 2)
    assert r.shape == (3, 2) and r.data_ptr() == x.data_ptr()
    assert not x.volatile

    class Sub(ember.Tensor):
        pass
    assert type(x.as_subclass(Sub)) is Sub
    assert_same_error(lambda: x.eig(), lambda: t.eig())


def test_householder_family():
    tall = rng.standard_normal((4, 3))
    e, t = ember.geqrf(ember.tensor(tall)), torch.geqrf(torch.tensor(tall))
    assert_close(e, t)
    assert type(e).__name__ == "geqrf"
    a, tau = e
    same(lambda L, a_, t_: L.orgqr(a_, t_), to_torch(a).numpy(), to_torch(tau).numpy())
    same(lambda L, a_, t_: L.linalg.householder_product(a_, t_[:2]), to_torch(a).numpy(), to_torch(tau).numpy())
    for left, c in ((True, rng.standard_normal((4, 2))),
                    (False, rng.standard_normal((2, 4)))):
        for tr in (False, True):
            same(lambda L, a_, t_, c_, left=left, tr=tr: L.ormqr(a_, t_, c_, left, tr),
                 to_torch(a).numpy(), to_torch(tau).numpy(), c)
    gc(lambda a_, t_: ember.linalg.householder_product(a_, t_), to_torch(a).numpy(), to_torch(tau).numpy(), gg=False)
    assert_same_error(lambda: ember.geqrf(ember.tensor(tall, requires_grad=True)).a.sum().backward(),
                      lambda: torch.geqrf(torch.tensor(tall, requires_grad=True)).a.sum().backward())


def test_conv_tbc_norm_except_dim_group_norm():
    same(lambda L, x, w, b: L.conv_tbc(x, w, b, 1), rng.standard_normal((5, 2, 3)), rng.standard_normal((3, 3, 4)),
         rng.standard_normal(4))
    x3 = rng.standard_normal((2, 6, 3))
    for dim in (0, 1, -1):
        same(lambda L, x, d=dim: L.norm_except_dim(x, 2, d), x3, name=False)
    same(lambda L, x: L.native_group_norm(x, None, None, 2, 6, 3, 2, 1e-5), x3)


# ---- torch.fft ------------------------------------------------------------------------------------------------
XR = rng.standard_normal((4, 6))
XC = XR + 1j * rng.standard_normal((4, 6))
FFTS = [
    ("fft_real", lambda L, x, n: L.fft.fft(x, norm=n), XR), ("fft", lambda L, x, n: L.fft.fft(x, norm=n), XC),
    ("ifft_real", lambda L, x, n: L.fft.ifft(x, norm=n), XR),
    ("ifft_n", lambda L, x, n: L.fft.ifft(x, n=8, dim=0, norm=n), XC),
    ("rfft", lambda L, x, n: L.fft.rfft(x, norm=n), XR), ("rfft_n", lambda L, x, n: L.fft.rfft(x, 5, 0, n), XR),
    ("irfft", lambda L, x, n: L.fft.irfft(x, norm=n), XC), ("irfft_7", lambda L, x, n: L.fft.irfft(x, 7, norm=n), XC),
    ("irfft_4", lambda L, x, n: L.fft.irfft(x, 4, norm=n), XC), ("hfft", lambda L, x, n: L.fft.hfft(x, norm=n), XC),
    ("hfft_7", lambda L, x, n: L.fft.hfft(x, 7, norm=n), XC), ("ihfft", lambda L, x, n: L.fft.ihfft(x, norm=n), XR),
    ("fft2", lambda L, x, n: L.fft.fft2(x, norm=n), XC), ("fftn_s", lambda L, x, n: L.fft.fftn(x, (3, 8), norm=n), XR),
    ("ifftn", lambda L, x, n: L.fft.ifftn(x, norm=n), XC), ("ifft2_real", lambda L, x, n: L.fft.ifft2(x, norm=n), XR),
    ("rfft2", lambda L, x, n: L.fft.rfft2(x, norm=n), XR), ("irfft2", lambda L, x, n: L.fft.irfft2(x, norm=n), XC),
    ("irfftn_s", lambda L, x, n: L.fft.irfftn(x, (5, 9), norm=n), XC),
    ("hfft2", lambda L, x, n: L.fft.hfft2(x, norm=n), XC), ("ihfft2", lambda L, x, n: L.fft.ihfft2(x, norm=n), XR),
    ("hfftn", lambda L, x, n: L.fft.hfftn(x, norm=n), XC), ("ihfftn", lambda L, x, n: L.fft.ihfftn(x, norm=n), XR),
    ("fftshift", lambda L, x, n: L.fft.fftshift(x), XR), ("ifftshift", lambda L, x, n: L.fft.ifftshift(x, dim=1), XR),
]


@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
@pytest.mark.parametrize("name,fn,x", FFTS, ids=[f[0] for f in FFTS])
def test_fft(name, fn, x, norm):
    same(lambda L, a: fn(L, a, norm), x)


def test_fft_float32_gradcheck_freqs_errors():
    assert_close(ember.fft.fft(ember.ones(3)), torch.fft.fft(torch.ones(3)))
    assert_close(ember.fft.rfft(ember.tensor([1, 2, 3])), torch.fft.rfft(torch.tensor([1, 2, 3])))
    for n in (4, 5):
        for f in ("fftfreq", "rfftfreq"):
            assert_close(getattr(ember.fft, f)(n, 0.3), getattr(torch.fft, f)(n, 0.3))
    gc(lambda x: ember.view_as_real(ember.fft.rfft(x, norm="ortho")), XR)
    gc(lambda z: ember.fft.irfft(ember.view_as_complex(z), n=7), np.stack([XR, XR[::-1]], -1).copy())
    gc(lambda z: ember.view_as_real(ember.fft.fft2(ember.view_as_complex(z))), np.stack([XR, XR * 2], -1))
    for bad in (lambda L: L.fft.rfft(L.tensor(XC)), lambda L: L.fft.fft(L.tensor(XR), n=0),
                lambda L: L.fft.fft(L.tensor(XR), norm="bad"), lambda L: L.fft.irfft(L.tensor(XC), n=0),
                lambda L: L.fft.fft2(L.tensor(XR[0])), lambda L: L.fft.fftfreq(4, dtype=L.int64)):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))


# ---- torch.signal.windows --------------------------------------------------------------------------------------
WINDOW_NAMES = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
                "hamming", "hann", "kaiser", "nuttall"]


@pytest.mark.parametrize("name", WINDOW_NAMES)
def test_signal_windows(name):
    kw = {"a": [0.5, 0.3, 0.2]} if name == "general_cosine" else {}
    fe, ft = getattr(ember.signal.windows, name), getattr(torch.signal.windows, name)
    for m in (0, 1, 2, 5, 6):
        for sym in (True, False):
            assert_close(fe(m, sym=sym, **kw), ft(m, sym=sym, **kw))
    assert_close(fe(4, sym=False, dtype=ember.float64, **kw), ft(4, sym=False, dtype=torch.float64, **kw))
    assert_same_error(lambda: fe(-1, **kw), lambda: ft(-1, **kw))
    assert_same_error(lambda: fe(3, dtype=ember.int64, **kw), lambda: ft(3, dtype=torch.int64, **kw))


def test_signal_window_parameters():
    W, T = ember.signal.windows, torch.signal.windows
    assert_close(W.exponential(5, sym=False, center=1.0, tau=2.0), T.exponential(5, sym=False, center=1.0, tau=2.0))
    assert_close(W.gaussian(4, std=0.7, sym=False), T.gaussian(4, std=0.7, sym=False))
    assert_close(W.kaiser(5, beta=3.0), T.kaiser(5, beta=3.0))
    assert_close(W.general_hamming(6, alpha=0.6), T.general_hamming(6, alpha=0.6))
    for bad in (lambda M: M.gaussian(3, std=0), lambda M: M.exponential(3, center=1.0),
                lambda M: M.kaiser(3, beta=-1.0)):
        assert_same_error(lambda bad=bad: bad(W), lambda bad=bad: bad(T))


def test_grid_sampler_and_control_flow():
    x, th = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((1, 2, 3))
    same(lambda L, t: L.affine_grid_generator(t, [1, 2, 4, 4], False), th, name=False)
    g = torch.affine_grid_generator(torch.tensor(th), [1, 2, 4, 4], False).numpy()
    for mode, pad in ((0, 0), (1, 1), (0, 2)):
        same(lambda L, a, gr, m=mode, p=pad: L.grid_sampler(a, gr, m, p, True), x, g * 1.1, name=False)
    ones = (ember.ones(2),)
    assert ember.cond(ember.tensor(True), lambda a: a + 1, lambda a: a - 1, ones).tolist() == [2.0, 2.0]
    assert ember.cond(False, lambda a: a + 1, lambda a: a - 1, ones).tolist() == [0.0, 0.0]
    i, s = ember.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2), (ember.tensor(0), ember.ones(2)))
    assert i.item() == 3 and s.tolist() == [8.0, 8.0]
    assert not ember.is_warn_always_enabled()
    ember.set_warn_always(True)
    assert ember.is_warn_always_enabled()
    ember.set_warn_always(False)


@pytest.mark.parametrize("reduce", ["sum", "mean", "prod", "max", "min", "amax"])
def test_segment_reduce(reduce):
    lens = [2, 0, 4]
    x = rng.standard_normal(6)
    e, t, e_in, t_in = both(lambda L, a: L.segment_reduce(a, reduce, lengths=L.tensor(lens)), x, rg=True)
    assert_close(e, t)
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    x2 = rng.standard_normal((6, 2))
    same(lambda L, a: L.segment_reduce(a, reduce, offsets=L.tensor([0, 2, 2, 6])), x2, grads=False)
    assert_same_error(lambda: ember.segment_reduce(ember.tensor(x2), reduce, lengths=ember.tensor([1, 1]), axis=1),
                      lambda: torch.segment_reduce(torch.tensor(x2), reduce, lengths=torch.tensor([1, 1]), axis=1))
    if reduce != "mean":
        same(lambda L, a: L.segment_reduce(a, reduce, lengths=L.tensor(lens), initial=1.5), x, grads=False)
    gc(lambda a: ember.segment_reduce(a, reduce, lengths=ember.tensor([2, 4])), x, gg=False)


def test_segment_reduce_errors_dlpack_from_file(tmp_path):
    for bad in (lambda L: L.segment_reduce(L.arange(6.0), "sum", lengths=L.tensor([2, 0, 3])),
                lambda L: L.segment_reduce(L.arange(6.0), "bad", lengths=L.tensor([2, 0, 4])),
                lambda L: L.segment_reduce(L.arange(6.0), "sum")):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))
    x = ember.arange(4.0)
    assert torch.from_dlpack(ember.to_dlpack(x)).tolist() == [0.0, 1.0, 2.0, 3.0]
    path = tmp_path / "data.bin"
    np.arange(5, dtype=np.float32).tofile(path)
    assert_close(ember.from_file(str(path), size=4), torch.from_file(str(path), size=4))
    m = ember.from_file(str(path), shared=True, size=5)
    m[0] = 9.0
    m._data.flush()
    assert np.fromfile(path, dtype=np.float32)[0] == 9.0


# ---- torch.testing.assert_close --------------------------------------------------------------------------------------
NAN = float("nan")


def _pairs(L):
    return [
        (L.tensor([1.0, 2, 3]), L.tensor([1.0, 2, 3.1]), {}), (L.tensor([1.0, 2, 3]), L.tensor([1, 2, 3]), {}),
        (L.tensor([1.0, 2]), L.tensor([1.0, 2, 3]), {}),
        (L.tensor([[1.0, NAN]]), L.tensor([[1.0, NAN]]), {}),
        (L.tensor([[1.0, NAN]]), L.tensor([[1.0, NAN]]), {"equal_nan": True}),
        (L.tensor([1, 2, 3]), L.tensor([1, 2, 4]), {}), (1.0, 1.1, {}), (1, 2, {}), ([L.ones(2)], [L.zeros(2)], {}),
        ({"a": L.ones(2)}, {"a": L.zeros(2)}, {}),
        (L.tensor([1.0, 2]).double(), L.tensor([1.0, 2]).double() + 1e-8, {}),
        (L.tensor([True]), L.tensor([False]), {}), ([L.ones(1), [L.ones(2)]], [L.ones(1), [L.zeros(2)]], {}),
        (L.tensor([1.0, 2]), L.tensor([1.0, 2], dtype=L.float64), {}),
        (L.tensor([1.0, 2]), L.tensor([1.0, 2], dtype=L.float64), {"check_dtype": False}),
        (L.tensor([1 + 1j]), L.tensor([1 + 2j]), {}), (L.tensor([0.0, 2]), L.tensor([1.0, 0.0]), {}),
        (L.tensor([1.0, 2, 3]), L.tensor([1.0, 2, 3.1]), {"rtol": 0.1, "atol": 0.0}),
        (L.tensor([1.0, 2, 3]), L.tensor([1.0, 2, 3.1]), {"msg": "custom"}),
        (L.tensor([1.0, 2, 3]), L.tensor([1.0, 2, 3.1]), {"rtol": 0.0}),
        (L.ones(2, 3), L.ones(3, 2).t(), {"check_stride": True}),
    ]


@pytest.mark.parametrize("i", range(21))
def test_testing_assert_close(i):
    (a, b, kw), (c, d, tkw) = _pairs(ember)[i], _pairs(torch)[i]
    outcomes = []
    for fn, x, y, k in ((ember.testing.assert_close, a, b, kw), (torch.testing.assert_close, c, d, tkw)):
        try:
            fn(x, y, **k)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
            outcomes.append(f"{type(exc).__name__}: {exc}")
    assert outcomes[0] == outcomes[1]


LOWRANK = rng.standard_normal((5, 8))


@pytest.mark.parametrize("name,args", [("svd_lowrank", (3,)), ("pca_lowrank", (3,)), ("svd_lowrank", (4, 1)),
                                       ("pca_lowrank", (None, False))])
@pytest.mark.parametrize("tall", [True, False])
def test_lowrank(name, args, tall):
    """Same random sketch (same seed) as torch: equal singular values, and equal factors up to the sign of each
    singular pair (ember.linalg.svd may pick the other sign, as LAPACK drivers do)."""
    a = LOWRANK.T.copy() if tall else LOWRANK
    ember.manual_seed(0)
    e = getattr(ember, name)(ember.tensor(a), *args)
    torch.manual_seed(0)
    t = getattr(torch, name)(torch.tensor(a), *args)
    assert_close(e[1], t[1])
    assert_close(e[0].abs(), t[0].abs())
    assert_close(e[2].abs(), t[2].abs())
    assert_close(e[0] @ ember.diag(e[1]) @ e[2].mT, t[0] @ torch.diag(t[1]) @ t[2].mT)
    with pytest.raises(ValueError, match="must be non-negative integer"):
        ember.pca_lowrank(ember.tensor(a), q=9)


# ---- torch.func ---------------------------------------------------------------------------------------------------
def _plain(x):
    """Nested outputs as plain Python values (tensors rounded), or an exception's type and text."""
    if isinstance(x, (tuple, list)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (ember.Tensor, torch.Tensor)):
        return np.round(x.detach().numpy().astype(np.float64), 6).tolist()
    return x


def _outcome(fn):
    try:
        return _plain(fn())
    except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
        return f"{type(exc).__name__}: {exc}"


FX = rng.standard_normal((3, 4))
FUNC = {
    "vmap": lambda L: L.func.vmap(lambda a: a.sum())(L.tensor(FX)),
    "vmap_top_level": lambda L: L.vmap(lambda a: a * 2, in_dims=1)(L.tensor(FX)),
    "vmap_in_dims": lambda L: L.func.vmap(lambda a, b: a * b, in_dims=(0, None))(L.tensor(FX), L.ones(4).double()),
    "vmap_out_dims": lambda L: L.func.vmap(lambda a: (a, a.sum()), out_dims=(1, 0))(L.tensor(FX)),
    "vmap_nested": lambda L: L.func.vmap(L.func.vmap(lambda a: a.exp()))(L.tensor(FX)),
    "vmap_sizes": lambda L: L.func.vmap(lambda a, b: a + b)(L.ones(2, 3), L.ones(3, 3)),
    "vmap_float": lambda L: L.func.vmap(lambda a: a)(1.0),
    "grad_not_scalar": lambda L: L.func.grad(lambda a: a)(L.ones(2)),
    "grad": lambda L: L.func.grad(lambda a: (a ** 3).sum())(L.tensor([1.0, 2.0])),
    "grad_grad": lambda L: L.func.grad(L.func.grad(lambda a: a ** 3))(L.tensor(2.0)),
    "jacrev": lambda L: L.func.jacrev(lambda a: a ** 2)(L.tensor([1.0, 2.0])),
    "hessian": lambda L: L.func.hessian(lambda a: (a ** 3).sum())(L.tensor([1.0, 2.0])),
    "vmap_grad": lambda L: L.func.vmap(L.func.grad(lambda w, x: (w * x).sin().sum()), in_dims=(None, 0))(
        L.ones(3).double(), L.tensor(FX[:, :3].copy())),
    "grad_argnums": lambda L: L.func.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(L.ones(2), L.ones(2) * 3),
    "grad_aux": lambda L: L.func.grad(lambda a: ((a ** 2).sum(), a * 2), has_aux=True)(L.tensor([1.0, 2.0])),
    "grad_and_value": lambda L: L.func.grad_and_value(lambda a: (a ** 2).sum())(L.tensor([1.0, 2.0])),
    "vjp": lambda L: (lambda o, fn: (o, fn(L.ones(2))))(*L.func.vjp(lambda a: a.sin(), L.tensor([1.0, 2.0]))),
    "jvp": lambda L: L.func.jvp(lambda a: a.sin(), (L.tensor([1.0, 2.0]),), (L.tensor([1.0, 0.5]),)),
    "jacrev_argnums": lambda L: L.func.jacrev(lambda a, b: a * b, argnums=(0, 1))(L.tensor([1.0, 2]),
                                                                                L.tensor([3.0, 4])),
    "jacfwd": lambda L: L.func.jacfwd(lambda a: a.exp().sum(0))(L.tensor(FX)),
    "grad_dict": lambda L: L.func.grad(lambda p: (p["w"] * 2).sum())({"w": L.ones(2)}),
}


@pytest.mark.parametrize("name", list(FUNC))
def test_func_transforms(name):
    assert _outcome(lambda: FUNC[name](ember)) == _outcome(lambda: FUNC[name](torch))


def test_functional_call():
    lin_e = ember.nn.Linear(3, 2)
    lin_t = torch.nn.Linear(3, 2)
    with torch.no_grad():
        lin_t.weight.copy_(to_torch(lin_e.weight.detach()))
        lin_t.bias.copy_(to_torch(lin_e.bias.detach()))
    mods = {ember: lin_e, torch: lin_t}

    def call(L):
        return L.func.functional_call(mods[L], {"weight": L.ones(2, 3)}, (L.ones(1, 3),))

    def per_params_grad(L):
        params = {"weight": L.ones(2, 3), "bias": L.zeros(2)}
        return L.func.grad(lambda p, x: L.func.functional_call(mods[L], p, (x,)).sum())(params, L.ones(4, 3))
    for fn in (call, per_params_grad):
        assert _outcome(lambda fn=fn: fn(ember)) == _outcome(lambda fn=fn: fn(torch))
    assert_close(lin_e.weight, lin_t.weight)   # restored afterwards


def test_embedding_renorm_and_batch_norm_update_stats():
    w = rng.standard_normal((4, 3)) * 2
    e, t = ember.tensor(w), torch.tensor(w)
    assert ember.embedding_renorm_(e, ember.tensor([0, 2, 2]), 1.0, 2.0) is e
    torch.embedding_renorm_(t, torch.tensor([0, 2, 2]), 1.0, 2.0)
    assert_close(e, t)
    x = rng.standard_normal((4, 3, 5))
    stats = {L: (L.zeros(3, dtype=L.float64), L.ones(3, dtype=L.float64)) for L in (ember, torch)}
    out = {L: L.batch_norm_update_stats(L.tensor(x), *stats[L], 0.1) for L in (ember, torch)}
    assert_close(list(out[ember]), list(out[torch]))
    assert_close(list(stats[ember]), list(stats[torch]))
    assert_close(list(ember.batch_norm_update_stats(ember.tensor(x), None, None, 0.1)),
                 list(torch.batch_norm_update_stats(torch.tensor(x), None, None, 0.1)))
    assert ember.is_distributed(ember.ones(1)) is torch.is_distributed(torch.ones(1)) is False
    assert ember.is_vulkan_available() is False and ember.init_num_threads() is None


def test_more_gradchecks():
    gc(lambda x, w, b: ember.conv_tbc(x, w, b, 1), rng.standard_normal((5, 2, 3)), rng.standard_normal((3, 3, 2)),
       rng.standard_normal(2), gg=False)
    tall = rng.standard_normal((4, 3))
    a, tau = ember.geqrf(ember.tensor(tall))
    gc(lambda a_, t_, c_: ember.ormqr(a_, t_, c_, True, True), a.numpy(), tau.numpy(), rng.standard_normal((4, 2)),
       gg=False)
    gc(lambda x: ember.native_dropout(x, 0.0, True)[0], A)


def test_cpu_module_and_get_device_module():
    assert ember.get_device_module("cpu") is ember.cpu and ember.get_device_module("cuda:0") is ember.cuda
    assert ember.get_device_module() is (ember.cuda if ember.cuda.is_available() else ember.cpu)
    for name in ("is_available", "is_initialized", "device_count", "current_device"):
        assert getattr(ember.cpu, name)() == getattr(torch.cpu, name)()
    assert ember.cpu.synchronize() is None
    with ember.cpu.stream(ember.cpu.Stream()):
        event = ember.cpu.Event()
        event.record()
        assert event.query()
    assert set(torch.cpu.__all__) <= set(ember.cpu.__all__)
    assert_same_error(lambda: ember.get_device_module("bogus"), lambda: torch.get_device_module("bogus"))


def test_func_ensembles_and_helpers():
    models = {ember: [ember.nn.Linear(3, 2) for _ in range(3)], torch: [torch.nn.Linear(3, 2) for _ in range(3)]}
    with torch.no_grad():
        for me, mt in zip(models[ember], models[torch], strict=True):
            mt.weight.copy_(to_torch(me.weight.detach()))
            mt.bias.copy_(to_torch(me.bias.detach()))
    x = rng.standard_normal((4, 3)).astype(np.float32)

    def ensemble(L):
        params, buffers = L.func.stack_module_state(models[L])
        base = models[L][0]
        fn = L.func.vmap(lambda p, b, inp: L.func.functional_call(base, (p, b), (inp,)), in_dims=(0, 0, None))
        return fn(params, buffers, L.tensor(x)), {k: (tuple(v.shape), v.requires_grad) for k, v in params.items()}
    assert _outcome(lambda: ensemble(ember)) == _outcome(lambda: ensemble(torch))
    for bad in (lambda L: L.func.stack_module_state([]),
                lambda L: L.func.stack_module_state([L.nn.Linear(2, 2), L.nn.Linear(2, 2).eval()])):
        assert_same_error(lambda bad=bad: bad(ember), lambda bad=bad: bad(torch))
    lin = {L: L.func.linearize(lambda a, L=L: a.sin() * 2, L.tensor([1.0, 2.0])) for L in (ember, torch)}
    assert_close(lin[ember][0], lin[torch][0])
    assert_close(lin[ember][1](ember.tensor([1.0, 0.5])), lin[torch][1](torch.tensor([1.0, 0.5])))
    bn = ember.nn.Sequential(ember.nn.BatchNorm1d(2))
    ember.func.replace_all_batch_norm_modules_(bn)
    assert bn[0].running_mean is None and not bn[0].track_running_stats
    assert ember.func.functionalize(abs) is abs and ember.func.debug_unwrap(x) is x


def test_layout_random_version_modules():
    import pickle
    x = ember.ones(2)
    assert x.layout is ember.strided and repr(ember.strided) == repr(torch.strided) == "torch.strided"
    assert type(ember.strided).__name__ == "layout" and isinstance(ember.strided, ember.layout)
    assert pickle.loads(pickle.dumps(ember.strided)) is ember.strided
    assert_close(ember.zeros(2, layout=ember.strided), torch.zeros(2, layout=torch.strided))
    draws = {}
    for L in (ember, torch):
        L.manual_seed(0)
        with L.random.fork_rng():
            inside = L.rand(2)
        draws[L] = (inside, L.rand(2), L.random.initial_seed())
    assert_close(list(draws[ember][:2]), list(draws[torch][:2]))
    assert draws[ember][2] == draws[torch][2] == 0
    assert set(torch.random.__all__) - {"thread_safe_generator"} <= set(ember.random.__all__)
    assert ember.version.__version__ == ember.__version__ and ember.version.cuda is None


def test_accelerator_and_compiler_modules():
    import subprocess
    import sys
    code = ("import ember; print(ember.cpu.is_available(), ember.accelerator.is_available(), "
            "ember.compiler.is_compiling())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", str(ember.cuda.is_available()), "False"]   # importable as attributes of ember
    if not torch.accelerator.is_available() and not ember.accelerator.is_available():
        assert ember.accelerator.current_accelerator() is None and ember.accelerator.device_count() == 0
        assert_same_error(ember.accelerator.current_device_index, torch.accelerator.current_device_index)
        assert_same_error(ember.accelerator.synchronize, torch.accelerator.synchronize)

    @ember.compiler.disable
    def f(x):
        return x + 1
    assert f(1) == 2 and ember.compiler.disable(recursive=False)(f) is f and ember.compiler.compile(f) is f
    assert not (ember.compiler.is_compiling() or ember.compiler.is_dynamo_compiling() or ember.compiler.is_exporting())


def test_legacy_storage_classes_construct_and_count_as_storages() -> None:
    """``FloatStorage(n)``, ``FloatStorage(values)``, ``FloatStorage()`` and ``is_storage`` as torch's."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (ember, torch):
            assert [lib.is_storage(x) for x in (lib.ones(2).untyped_storage(), lib.ones(2).storage(),
                                                lib.FloatStorage(2), lib.ones(2), [1])] == [True, True, True, False,
                                                                                            False]
        for name, arg in (("FloatStorage", [1, 2]), ("LongStorage", [3, -4]), ("BoolStorage", [True]),
                          ("DoubleStorage", []), ("HalfStorage", [0.5])):
            e, t = getattr(ember, name)(arg), getattr(torch, name)(arg)
            assert (e.tolist(), str(e.dtype), len(e), repr(e)) == (t.tolist(), str(t.dtype), len(t), repr(t))
        assert ember.FloatStorage(3).size() == torch.FloatStorage(3).size() == 3
        assert len(ember.IntStorage()) == len(torch.IntStorage()) == 0


def test_version_compares_as_torch_version() -> None:
    """``__version__`` is torch's API version with ember's release as local label, and compares with strings
    and tuples in PEP 440 order exactly as torch's ``TorchVersion`` does."""
    from torch.torch_version import TorchVersion
    v = ember.__version__
    assert str(v) == f"2.13.0+ember{ember.version.ember_version}" and isinstance(v, str)
    reference = TorchVersion(str(v))
    for other in ("2.13.0", "2.13", "2.13.0rc1", "2.13.0.dev20240101", "2.13.0.post1", "2.12.9", "2.14.0a0",
                  "2.13.0+cpu", str(v), "2.13.0+ember0.2", "2.13.0+1", (2, 13, 0), (2, 13, 1), "1.13.1", "2.0"):
        assert [v < other, v <= other, v == other, v != other, v > other, v >= other] == \
            [reference < other, reference <= other, reference == other, reference != other, reference > other,
             reference >= other], other
