"""Matrix products (mm, mv, dot, vdot, bmm, matmul, outer, addmm, addmv, baddbmm, addbmm, addr) against torch:
values, dtypes, shapes, errors, grad_fn names, gradients (fixed random cotangents and gradcheck) and double
backward."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, check_grads, to_ember, to_torch, torch

rng = np.random.default_rng(1234)


def rand(*shape: int, dtype: str = "float64") -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 5, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.standard_normal(shape).astype(dtype)


def both(*arrays: np.ndarray, dtype: object = None) -> tuple[list, list]:
    """The same arrays as ember and torch tensors (optionally converted to a torch/ember dtype name)."""
    e = [ember.tensor(a) for a in arrays]
    if dtype is not None:
        e = [x.to(getattr(ember, dtype)) for x in e]
    return e, [to_torch(x) for x in e]


# ---- values and dtypes -----------------------------------------------------------------------------------
MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3,)),
                 ((3,), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                 ((1, 2, 3), (5, 3, 4)), ((5, 2, 3), (1, 3, 4)), ((2, 1, 2, 3), (5, 3, 4)),
                 ((6, 1, 2, 3), (3, 1)), ((0, 2, 3), (3, 4)), ((2, 0), (0, 3)), ((0,), (0,)),
                 ((4, 0, 3), (3, 2)), ((2, 3), (3, 0))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_shapes_values(sa: tuple, sb: tuple) -> None:
    (a, b), (ta, tb) = both(rand(*sa), rand(*sb))
    assert_close(a @ b, ta @ tb)
    assert_close(ember.matmul(a, b), torch.matmul(ta, tb))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "int16", "int8", "uint8",
                                   "float16", "bfloat16", "complex64", "complex128"])
def test_products_dtypes(dtype: str) -> None:
    kind = "float64" if dtype in ("float16", "bfloat16") or dtype.startswith("complex") else dtype
    arrays = [rand(3, 4, dtype=kind), rand(4, 5, dtype=kind), rand(4, dtype=kind), rand(4, dtype=kind),
              rand(2, 3, 4, dtype=kind), rand(2, 4, 5, dtype=kind)]
    (m1, m2, v1, v2, b1, b2), t = both(*arrays, dtype=dtype)
    tm1, tm2, tv1, tv2, tb1, tb2 = t
    tol = {"float16": (2e-3, 2e-3), "bfloat16": (1e-2, 1e-2)}.get(dtype, (None, None))
    for e, tt in [(ember.mm(m1, m2), torch.mm(tm1, tm2)), (ember.mv(m1, v1), torch.mv(tm1, tv1)),
                  (ember.dot(v1, v2), torch.dot(tv1, tv2)), (ember.vdot(v1, v2), torch.vdot(tv1, tv2)),
                  (ember.bmm(b1, b2), torch.bmm(tb1, tb2)), (b1 @ m2, tb1 @ tm2), (v1 @ m2, tv1 @ tm2),
                  (ember.outer(v1, v2), torch.outer(tv1, tv2))]:
        assert_close(e, tt, *tol)


@pytest.mark.parametrize("dtype", ["bool", "uint16", "uint32", "uint64"])
def test_products_unsupported_dtypes(dtype: str) -> None:
    ints = [rand(*s, dtype="int64") for s in ((2, 2), (2,), (2, 2, 2))]
    (m, v, b), (tm, tv, tb) = both(*ints, dtype=dtype)
    for fe, ft in [(lambda: m @ m, lambda: tm @ tm), (lambda: v @ v, lambda: tv @ tv),
                   (lambda: m @ v, lambda: tm @ tv), (lambda: b @ b, lambda: tb @ tb)]:
        assert_same_error(fe, ft)


def test_non_contiguous_operands() -> None:
    (a, b, c), (ta, tb, tc) = both(rand(4, 3), rand(5, 4, 6), rand(6, 3, 2))
    cases = [(lambda x, y, z: x.t() @ x), (lambda x, y, z: x[::2] @ x.t()[:, ::2]),
             (lambda x, y, z: y.transpose(1, 2) @ y), (lambda x, y, z: y[:, 1:3] @ z[:, 0, :]),
             (lambda x, y, z: x[0].expand(4, 3) @ x.t()), (lambda x, y, z: z.permute(1, 0, 2) @ z[0].t()),
             (lambda x, y, z: x.t().mv(x[:, 0])), (lambda x, y, z: y[1:3].transpose(1, 2).bmm(y[:2, :, 1:])),
             (lambda x, y, z: x[:, 1] @ x[:, 2])]
    for f in cases:
        assert_close(f(a, b, c), f(ta, tb, tc))


# ---- errors -----------------------------------------------------------------------------------------------
def _err_cases(lib):  # noqa: ANN001, ANN202
    o, d = lib.ones, lib.float64
    return [
        lambda: lib.dot(o(2, 2), o(2, 2)), lambda: lib.dot(o(2), o(3)), lambda: lib.dot(o(2), o(2, dtype=d)),
        lambda: lib.dot(o(2), o(3, dtype=d)), lambda: lib.vdot(o(3), o(2)),
        lambda: o(2, 3) @ o(2, 3), lambda: o(2, 2) @ o(2, 2, dtype=d), lambda: lib.tensor(1.) @ o(2),
        lambda: o(2) @ lib.tensor(1.), lambda: lib.mm(o(2), o(2)), lambda: lib.mm(o(2, 2), o(2)),
        lambda: lib.mm(o(2, 3), o(2, 3, dtype=d)), lambda: lib.mm(o(2, 3, dtype=lib.bool), o(3, 3)),
        lambda: lib.bmm(o(2, 2), o(2, 2)), lambda: lib.bmm(o(2, 2, 2), o(2, 2)),
        lambda: lib.bmm(o(2, 2, 3), o(2, 2, 3, dtype=d)), lambda: lib.bmm(o(2, 2, 2), o(2, 2, 2, dtype=d)),
        lambda: lib.bmm(o(2, 2, 2, dtype=d), o(2, 2, 2)), lambda: lib.bmm(o(3, 2, 2), o(2, 2, 2)),
        lambda: lib.mv(o(2, 2), o(2, dtype=d)), lambda: lib.mv(o(2, 2, 2), o(2)),
        lambda: lib.mv(o(2, 2), o(2, 2)), lambda: lib.mv(o(2, 3), o(2, dtype=d)),
        lambda: o(2, 2, 3) @ o(3, 3, 4), lambda: o(5, 2, 2, 3) @ o(3, 3, 4),
        lambda: o(2, 2, 2) @ o(2, 2, dtype=d),
        lambda: o(2, 2, 2) @ o(2, 2, 2, dtype=d), lambda: o(2) @ o(2, 2, 2, dtype=d),
        lambda: o(2, 2) @ o(2, dtype=d), lambda: o(2) @ o(2, 2, dtype=d), lambda: o(3) @ o(4, 3),
        lambda: lib.matmul(o(2), [1., 2.]), lambda: lib.matmul([1., 2.], o(2)),
        lambda: lib.mm(o(2, 2), [[1.]]),
        lambda: o(2) @ [1., 2.], lambda: [1., 2.] @ o(2),
        lambda: lib.outer(o(3, 2), o(2)), lambda: lib.outer(o(3), o(2, 2)),
        lambda: lib.mm(o(2, 3), o(3, 3), out=o(2, 3, dtype=d)),
        lambda: lib.dot(o(3), o(3), out=o((), dtype=d)),
        lambda: lib.mm(o(2, 2, requires_grad=True), o(2, 2), out=o(2, 2)),
        lambda: lib.matmul(o(2, 2, requires_grad=True), o(2, 2), out=o(2, 2)),
    ]


@pytest.mark.parametrize("i", range(len(_err_cases(torch))))
def test_product_errors(i: int) -> None:
    assert_same_error(_err_cases(ember)[i], _err_cases(torch)[i])


ERR_SHAPES = [((3,), (4, 4, 5)), ((2, 3), (4, 4, 5)), ((4, 2, 3), (4,)), ((4, 2, 3), (4, 5)),
              ((4, 2, 3), (4, 4, 5)), ((1, 2, 3), (4, 4, 5)), ((5, 1, 2, 3), (4, 4, 6)),
              ((2, 3), (1, 1, 4, 5)), ((1, 3), (1, 4, 5)), ((1, 2, 3), (1, 4, 5)), ((3,), (2, 4, 5)),
              ((2, 1, 2, 3), (4, 5)), ((2, 1, 2, 3), (2, 4, 5)), ((2, 1, 2, 3), (1, 4, 5))]


@pytest.mark.parametrize("sa,sb", ERR_SHAPES)
def test_matmul_error_depends_on_path(sa: tuple, sb: tuple) -> None:
    """torch folds (mm/mv errors) or batches (bmm errors) depending on requires_grad and strides."""
    for rg in [(False, False), (True, False), (False, True)]:
        assert_same_error(*[lambda lib=lib, rg=rg: lib.ones(*sa, requires_grad=rg[0]) @ lib.ones(
            *sb, requires_grad=rg[1]) for lib in (ember, torch)])
    assert_same_error(lambda: ember.ones(2, 4, 3).transpose(0, 1) @ ember.ones(4, 5),
                      lambda: torch.ones(2, 4, 3).transpose(0, 1) @ torch.ones(4, 5))


# ---- autograd ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [s for s in MATMUL_SHAPES if 0 not in s[0] + s[1]] + [((4, 0, 3), (3, 2))])
def test_matmul_grads_and_names(sa: tuple, sb: tuple) -> None:
    check_grads(lambda lib, a, b: a @ b, rand(*sa), rand(*sb))
    for ra, rb in [(True, False), (False, True), (True, True)]:
        e = ember.ones(*sa, requires_grad=ra) @ ember.ones(*sb, requires_grad=rb)
        t = torch.ones(*sa, requires_grad=ra) @ torch.ones(*sb, requires_grad=rb)
        assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__, (sa, sb, ra, rb)
    check_grads(lambda lib, a, b: a @ b, rand(*sa), rand(*sb), requires_grad=(False, True))


def test_named_products_grads() -> None:
    check_grads(lambda lib, a, b: lib.mm(a, b), rand(3, 4), rand(4, 2))
    check_grads(lambda lib, a, b: lib.mv(a, b), rand(3, 4), rand(4))
    check_grads(lambda lib, a, b: lib.dot(a, b), rand(4), rand(4))
    check_grads(lambda lib, a, b: lib.vdot(a, b), rand(4), rand(4))
    check_grads(lambda lib, a, b: lib.bmm(a, b), rand(2, 3, 4), rand(2, 4, 2))
    check_grads(lambda lib, a, b: lib.outer(a, b), rand(3), rand(4))
    check_grads(lambda lib, a, b: lib.mm(a.t(), b[::2]), rand(4, 3), rand(8, 2))
    check_grads(lambda lib, a, b: a.expand(3, 4) @ b, rand(1, 4), rand(4, 5))
    for name in ["mm", "mv", "dot", "bmm"]:
        sa, sb = {"mm": ((2, 3), (3, 2)), "mv": ((2, 3), (3,)), "dot": ((3,), (3,)),
                  "bmm": ((2, 2, 3), (2, 3, 2))}[name]
        e = getattr(ember, name)(ember.ones(*sa, requires_grad=True), ember.ones(*sb))
        t = getattr(torch, name)(torch.ones(*sa, requires_grad=True), torch.ones(*sb))
        assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((4,), (4, 3)), ((2, 4), (4,)), ((2, 3, 4), (4, 2)),
                                   ((4,), (2, 4, 3)), ((3, 4), (2, 4, 3)), ((2, 1, 3, 4), (5, 4, 2)),
                                   ((4,), (4,))])
def test_matmul_gradcheck_and_double_backward(sa: tuple, sb: tuple) -> None:
    a = ember.tensor(rand(*sa), requires_grad=True)
    b = ember.tensor(rand(*sb), requires_grad=True)
    assert ember.autograd.gradcheck(ember.matmul, (a, b))
    # second derivatives against torch: d/d(a,b) of <grad_a(g), w> with fixed g, w
    g = rand(*np.matmul(np.empty(sa), np.empty(sb)).shape)
    w = rand(*sa)
    results = []
    for lib, x, y in [(ember, a, b), (torch, to_torch(a), to_torch(b))]:
        out = x @ y
        (ga,) = lib.autograd.grad(out, x, lib.tensor(g), create_graph=True)
        ga2, gb2 = lib.autograd.grad((ga * lib.tensor(w)).sum(), (x, y), allow_unused=True)
        results.append((ga, gb2))
    assert_close(results[0][0], results[1][0])
    assert_close(results[0][1], results[1][1])


@pytest.mark.parametrize("fn", ["mm", "matmul", "addmm", "bmm"])
def test_gradgradcheck(fn: str) -> None:
    shapes = {"mm": [(2, 3), (3, 2)], "matmul": [(2, 2, 3), (3,)], "addmm": [(2,), (2, 3), (3, 2)],
              "bmm": [(2, 2, 3), (2, 3, 2)]}[fn]
    args = [ember.tensor(rand(*s), requires_grad=True) for s in shapes]
    assert ember.autograd.gradgradcheck(getattr(ember, fn), args)


def test_saved_tensor_modified_in_place() -> None:
    def run(lib):  # noqa: ANN001, ANN202
        a = lib.ones(2, 2, requires_grad=True)
        b = lib.ones(2, 2) * 2
        out = a.mm(b)
        b.add_(1)
        out.sum().backward()
    assert_same_error(lambda: run(ember), lambda: run(torch))


def test_no_grad_products() -> None:
    a = ember.ones(2, 2, requires_grad=True)
    with ember.no_grad():
        r = a @ a
    assert r.grad_fn is None and not r.requires_grad


# ---- fused add-products --------------------------------------------------------------------------------
FUSED = [
    ("addmm", (2, 3), (2, 4), (4, 3)), ("addmm", (3,), (2, 4), (4, 3)), ("addmm", (1, 3), (2, 4), (4, 3)),
    ("addmm", (), (2, 4), (4, 3)), ("addmv", (2,), (2, 4), (4,)), ("addmv", (1,), (2, 4), (4,)),
    ("addmv", (), (2, 4), (4,)), ("baddbmm", (2, 3, 4), (2, 3, 5), (2, 5, 4)),
    ("baddbmm", (3, 4), (2, 3, 5), (2, 5, 4)),
    ("baddbmm", (1, 1, 4), (2, 3, 5), (2, 5, 4)), ("addbmm", (3, 4), (2, 3, 5), (2, 5, 4)),
    ("addbmm", (4,), (2, 3, 5), (2, 5, 4)), ("addr", (3, 4), (3,), (4,)), ("addr", (4,), (3,), (4,)),
]


@pytest.mark.parametrize("name,si,s1,s2", FUSED)
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 1), (2, 0)])
def test_fused_values_and_grads(name: str, si: tuple, s1: tuple, s2: tuple, beta: float,
                                alpha: float) -> None:
    check_grads(lambda lib, i, a, b: getattr(lib, name)(i, a, b, beta=beta, alpha=alpha),
                rand(*si), rand(*s1), rand(*s2))
    e = getattr(ember, name)(ember.ones(si, requires_grad=True), ember.ones(s1), ember.ones(s2))
    t = getattr(torch, name)(torch.ones(si, requires_grad=True), torch.ones(s1), torch.ones(s2))
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__


@pytest.mark.parametrize("name,si,s1,s2", [FUSED[i] for i in (0, 4, 7, 10, 12)])
def test_fused_gradcheck_and_inplace(name: str, si: tuple, s1: tuple, s2: tuple) -> None:
    args = [ember.tensor(rand(*s), requires_grad=True) for s in (si, s1, s2)]
    assert ember.autograd.gradcheck(lambda i, a, b: getattr(ember, name)(i, a, b, beta=0.7, alpha=1.3), args)
    arrays = [rand(*s) for s in (si, s1, s2)]
    (i, a, b), (ti, ta, tb) = both(*arrays)
    r = getattr(i, name + "_")(a, b, beta=2, alpha=0.5)
    tr = getattr(ti, name + "_")(ta, tb, beta=2, alpha=0.5)
    assert r is i
    assert_close(i, ti)
    assert tr is ti
    check_grads(lambda lib, i, a, b: getattr(i * 1, name + "_")(a, b, alpha=3), *arrays)
    names = [type(getattr(lib.ones(*si, requires_grad=True) * 1, name + "_")(lib.ones(*s1),
                                                                             lib.ones(*s2)).grad_fn)
             for lib in (ember, torch)]
    assert names[0].__name__ == names[1].__name__


def test_fused_nan_and_integer_scalars() -> None:
    (i, a, b, v, b1, b2), t = both(np.full((2, 2), np.nan), rand(2, 2), rand(2, 2), rand(2), rand(1, 2, 2),
                                   rand(1, 2, 2))
    ti, ta, tb, tv, tb1, tb2 = t
    assert_close(ember.addmm(i, a, b, beta=0), torch.addmm(ti, ta, tb, beta=0))
    assert_close(ember.addmv(i[0], a, v, beta=0), torch.addmv(ti[0], ta, tv, beta=0))
    assert_close(ember.addr(i, v, v, beta=0), torch.addr(ti, tv, tv, beta=0))
    assert_close(ember.baddbmm(i, b1, b2, beta=0), torch.baddbmm(ti, tb1, tb2, beta=0))
    assert_close(ember.addbmm(i, b1, b2, beta=0), torch.addbmm(ti, tb1, tb2, beta=0))
    (x, y), (tx, ty) = both(rand(2, 2), np.full((2, 2), np.inf))
    assert_close(ember.addmm(x, y, x, alpha=0), torch.addmm(tx, ty, tx, alpha=0))
    (p, q, r), (tp, tq, tr) = both(*[rand(*s, dtype="int64") for s in ((3, 2), (3, 4), (4, 2))])
    assert_close(ember.addmm(p, q, r, beta=1.7, alpha=0.5), torch.addmm(tp, tq, tr, beta=1.7, alpha=0.5))
    assert_close(ember.addmm(p, q, r, beta=3, alpha=2), torch.addmm(tp, tq, tr, beta=3, alpha=2))
    (u, w), (tu, tw) = both(rand(3, dtype="int64"), rand(2, dtype="int64"))
    assert_close(ember.addr(p, u, w, alpha=2), torch.addr(tp, tu, tw, alpha=2))
    (bp, bu, bw), (tbp, tbu, tbw) = both(*[rand(*s, dtype="bool") for s in ((3, 2), (3,), (2,))])
    assert_close(ember.addr(bp, bu, bw), torch.addr(tbp, tbu, tbw))
    assert_close(ember.addr(bp, bu, bw, beta=0), torch.addr(tbp, tbu, tbw, beta=0))
    (f, g, h), (tf, tg, th) = both(rand(3, 2, dtype="float32"), rand(3), rand(2, dtype="float32"))
    assert_close(ember.addr(f, g, h), torch.addr(tf, tg, th))   # addr promotes


def _fused_err_cases(lib):  # noqa: ANN001, ANN202
    o, d, L = lib.ones, lib.float64, lib.long
    return [
        lambda: lib.addmm(o(4), o(2, 2), o(2, 3)), lambda: lib.addmm(o(2, 2, 3), o(2, 2), o(2, 3)),
        lambda: lib.addmm(o(1, 3, dtype=d), o(2, 2), o(2, 3)),
        lambda: lib.addmm(o(1, 3), o(2, 2), o(2, 3, dtype=d)),
        lambda: lib.addmm(o(1, 3), o(2, 2, dtype=d), o(2, 3)), lambda: lib.addmm(o(1, 3), o(2), o(2, 3)),
        lambda: lib.addmm(o(1, 3), o(2, 2), o(3)), lambda: lib.addmm(o(1, 3), o(2, 2), o(3, 3)),
        lambda: lib.addmm(o(4), o(2, 2), o(3, 3)),
        lambda: lib.addmm(o(2, 3, dtype=lib.bool), o(2, 2, dtype=lib.bool), o(2, 3, dtype=lib.bool)),
        lambda: lib.addmv(o(3), o(3, 2), o(3)), lambda: lib.addmv(o(4), o(3, 2), o(2)),
        lambda: lib.addmv(o(3, dtype=d), o(3, 2), o(2)), lambda: lib.addmv(o(3), o(3, 2), o(2, dtype=d)),
        lambda: lib.addmv(o(3), o(3, 2, dtype=d), o(2)), lambda: lib.addmv(o(3), o(3, 2), o(2, 3)),
        lambda: lib.addmv(o(3), o(3, 2, 2), o(2)), lambda: lib.addmv(o(2, 3), o(3, 2), o(2)),
        lambda: lib.baddbmm(o(4), o(2, 3, 2), o(2, 2, 3)),
        lambda: lib.baddbmm(o(3, dtype=d), o(2, 3, 2), o(2, 2, 3)),
        lambda: lib.baddbmm(o(3), o(2, 3, 2, dtype=d), o(2, 2, 3)),
        lambda: lib.baddbmm(o(3), o(2, 3, 2), o(2, 2, 3, dtype=d)),
        lambda: lib.baddbmm(o(3), o(2, 3, 2), o(2, 2, 4)),
        lambda: lib.baddbmm(o(2, 3, 3, 3), o(2, 3, 2), o(2, 2, 3)),
        lambda: lib.baddbmm(o(3), o(2, 3, 2), o(3, 2, 3)), lambda: lib.addbmm(o(3), o(2, 3, 2), o(2, 2, 4)),
        lambda: lib.addbmm(o(3, dtype=d), o(2, 3, 2), o(2, 2, 3)),
        lambda: lib.addbmm(o(3), o(2, 3, 2, dtype=d), o(2, 2, 3)),
        lambda: lib.addbmm(o(3), o(2, 3, 2), o(2, 2, 3, dtype=d)),
        lambda: lib.addbmm(o(3, 4), o(2, 3, 2), o(2, 3, 4)),
        lambda: lib.addbmm(o(3, 4), o(2, 3, 2), o(3, 2, 4)),
        lambda: lib.addbmm(o(3, 4), o(2, 3), o(3, 2, 4)), lambda: lib.addr(o(4), o(2), o(3)),
        lambda: lib.addr(o(3), o(2, 2), o(3)), lambda: lib.addr(o(3), o(2), o(3, 1)),
        lambda: lib.addr(o(2, 2, dtype=L), o(2, dtype=L), o(2, dtype=L), beta=0.5),
        lambda: lib.addr(o(2, 2, dtype=L), o(2, dtype=L), o(2, dtype=L), alpha=0.5),
        lambda: o(2, 2).addmm_(o(3, 2), o(2, 2)), lambda: o(1, 2).addmm_(o(2, 2), o(2, 2)),
        lambda: o(2, requires_grad=True).addmv_(o(2, 2), o(2)),
        lambda: lib.addmm(o(2, 2), o(2, 2, requires_grad=True), o(2, 2), out=o(2, 2)),
        lambda: lib.addmm([1.], o(2, 2), o(2, 2)),
    ]


@pytest.mark.parametrize("i", range(len(_fused_err_cases(torch))))
def test_fused_errors(i: int) -> None:
    assert_same_error(_fused_err_cases(ember)[i], _fused_err_cases(torch)[i])


# ---- out= ------------------------------------------------------------------------------------------------
def test_out_argument() -> None:
    (a, b, v), (ta, tb, tv) = both(rand(2, 3), rand(3, 4), rand(3))
    for fn, args, targs, shape in [("mm", (a, b), (ta, tb), (2, 4)), ("matmul", (a, b), (ta, tb), (0,)),
                                   ("mv", (a, v), (ta, tv), (2,)), ("dot", (v, v), (tv, tv), ()),
                                   ("matmul", (a.expand(2, 2, 3), b), (ta.expand(2, 2, 3), tb), (1,))]:
        out, tout = ember.zeros(shape, dtype=ember.float64), torch.zeros(shape, dtype=torch.float64)
        r = getattr(ember, fn)(*args, out=out)
        if shape == (2, 4) or shape == (2,) or shape == ():
            getattr(torch, fn)(*targs, out=tout)
        else:
            tout = getattr(torch, fn)(*targs)
        assert r is out
        assert_close(out, tout)
    (i, m1, m2), (ti, tm1, tm2) = both(rand(4), rand(2, 3), rand(3, 4))
    out = ember.empty(2, 4, dtype=ember.float64)
    assert ember.addmm(i, m1, m2, beta=2, out=out) is out
    assert_close(out, torch.addmm(ti, tm1, tm2, beta=2))


def test_large_fold_matches_torch_float32() -> None:
    """The folded 3-d @ 2-d path (nn.Linear on sequences) and its gradients in float32."""
    x, w = rand(8, 16, 32, dtype="float32"), rand(32, 24, dtype="float32")
    check_grads(lambda lib, a, b: a @ b, x.astype(np.float64), w.astype(np.float64))
    (ex, ew), (tx, tw) = both(x, w)
    assert_close(ex @ ew, tx @ tw, rtol=1e-5, atol=1e-5)
    assert_close(to_ember(tx @ tw), tx @ tw)


COMPLEX = [(lambda lib, a, b: lib.mm(a, b), ((3, 4), (4, 2))),
           (lambda lib, a, b: lib.mv(a, b), ((3, 4), (4,))),
           (lambda lib, a, b: lib.dot(a, b), ((4,), (4,))), (lambda lib, a, b: lib.vdot(a, b), ((4,), (4,))),
           (lambda lib, a, b: lib.bmm(a, b), ((2, 3, 4), (2, 4, 2))),
           (lambda lib, a, b: a @ b, ((4,), (4, 3))),
           (lambda lib, a, b: a @ b, ((2, 3, 4), (4, 3))), (lambda lib, a, b: a @ b, ((3, 4), (2, 4, 3))),
           (lambda lib, i, a, b: lib.addmm(i, a, b, beta=0.5j, alpha=2 - 1j), ((3, 2), (3, 4), (4, 2))),
           (lambda lib, i, a, b: lib.addr(i, a, b, alpha=1j), ((3, 2), (3,), (2,))),
           (lambda lib, i, a, b: lib.baddbmm(i, a, b, alpha=1j), ((2, 3, 2), (2, 3, 4), (2, 4, 2))),
           (lambda lib, i, a, b: lib.addbmm(i, a, b, beta=2j), ((3, 2), (2, 3, 4), (2, 4, 2))),
           (lambda lib, i, a, b: lib.addmv(i, a, b), ((3,), (3, 4), (4,)))]


@pytest.mark.parametrize("f,shapes", COMPLEX)
def test_complex_products(f, shapes: tuple) -> None:  # noqa: ANN001
    arrays = [rand(*s) + 1j * rand(*s) for s in shapes]
    results = []
    for lib in (ember, torch):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = f(lib, *ins)
        y.backward(lib.tensor(np.random.default_rng(3).standard_normal(tuple(y.shape)) * (1 + 0.5j)))
        results.append([y] + [t.grad for t in ins])
    for e, t in zip(*results, strict=True):
        assert_close(e, t)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_fused_products_round_once_as_torch(dtype: str) -> None:
    """addmm (nn.Linear), addmv and baddbmm add the float32 product and round once (addbmm once per batch, as
    torch's loop of addmm_); addmv takes its scalars in the half type. Bit-equal to torch but where the two BLAS
    libraries' float32 sums straddle a rounding point (~1 element in 1000; rounding twice made ~30% differ)."""
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((64, 32), (16, 32), (16,)))
    b1, b2, b3 = (rng.standard_normal(s).astype(np.float32) for s in ((3, 8, 16), (3, 16, 4), (3, 8, 4)))
    cases = [lambda L, T: L.nn.functional.linear(T(x), T(w), T(b)),
             lambda L, T: L.addmm(T(b), T(x), T(w.T.copy()), beta=0.7, alpha=1.3),
             lambda L, T: L.addmv(T(b), T(w), T(x[0]), beta=0.3, alpha=-2.1),
             lambda L, T: L.baddbmm(T(b3), T(b1), T(b2)),
             lambda L, T: L.addbmm(T(b3[0]), T(b1), T(b2), beta=0.5, alpha=1.5),   # one addmm_ per batch
             lambda L, T: L.addbmm(T(b3[0, 0]), T(b1), T(b2), beta=0)]
    for case in cases:
        got, want = (case(L, lambda a, L=L: L.from_numpy(a).to(getattr(L, dtype))).float().numpy()
                     for L in (ember, torch))
        assert (got != want).mean() < 0.01
        np.testing.assert_allclose(got, want, rtol=2 ** -8, atol=0)
