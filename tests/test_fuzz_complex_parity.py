"""Complex tensors compared with torch (regressions found by differential fuzzing): conjugate / negative bits,
their errors, complex gradients, complex-only errors and complex32's one-time warning."""
import warnings

import numpy as np
import pytest

import ember
from oracle import outcomes, same_exception, torch

Z = [[1 + 2j, 3 - 4j], [-5 + 0.5j, 2j]]


def _same(t, e):
    """Same exception (type and first line), or same dtype, values and conjugate / negative bits."""
    if same_exception(t, e):
        return
    assert str(e.dtype) == str(t.dtype)
    assert (e.is_conj(), e.is_neg()) == (t.is_conj(), t.is_neg())
    np.testing.assert_allclose(e.detach().resolve_conj().resolve_neg().numpy(),
                               t.detach().resolve_conj().resolve_neg().numpy(), rtol=1e-6)


def _check(fn):
    _same(*outcomes(fn))


@pytest.mark.parametrize("expr", [
    lambda z: z.conj(), lambda z: z.mH, lambda z: z.adjoint(), lambda z: z.H, lambda z: z.mT, lambda z: z.mH.mH,
    lambda z: z.conj().t(), lambda z: z.conj()[0], lambda z: z.conj().detach(), lambda z: z.conj().data,
    lambda z: z.conj().conj(), lambda z: z.conj().clone(), lambda z: z.conj().resolve_conj(), lambda z: z.conj() + 1,
    lambda z: z.conj().real, lambda z: z.conj().imag, lambda z: z.conj().conj_physical(),
    lambda z: z.conj().to(z.dtype), lambda z: z.conj().to(torch.complex128 if isinstance(z, torch.Tensor) else
                                                        ember.complex128),
    lambda z: z.real.conj(), lambda z: z.conj().imag.resolve_neg(),
])
def test_conj_bit_follows_views_as_torch(expr):
    """conj() and the conjugate transposes carry the conjugate bit; views keep it, copies and ops drop it, and the
    imaginary part of a conjugate is a negative view."""
    _check(lambda m: expr(m.tensor(Z)))


@pytest.mark.parametrize("expr", [
    lambda m, z: m._neg_view(z), lambda m, z: m._neg_view(z.real), lambda m, z: m._neg_view(z).resolve_neg(),
    lambda m, z: m._neg_view(z).conj(), lambda m, z: m._neg_view(z).conj().resolve_conj(),
    lambda m, z: m._neg_view(m._neg_view(z)), lambda m, z: m._neg_view(z).imag, lambda m, z: m._neg_view(z)[1],
])
def test_neg_view_as_torch(expr):
    _check(lambda m: expr(m, m.tensor(Z)))


@pytest.mark.parametrize("expr", [
    lambda m: m.tensor(Z).conj().numpy(), lambda m: m._neg_view(m.tensor([1.0])).numpy(),
    lambda m: np.asarray(m.tensor(Z).conj()), lambda m: m.view_as_real(m.tensor(Z).mH),
    lambda m: m.tensor(Z).conj().view(m.float32), lambda m: m._neg_view(m.ones(2)).view(m.int32),
    lambda m: m.tensor(Z, requires_grad=True).conj().numpy(),
])
def test_conj_and_neg_bits_refused_as_torch(expr):
    _same(*outcomes(expr))


def test_conj_neg_grad_fns_and_grads():
    """Node names as torch's; the gradients through _neg_view and conj_physical carry no bit (torch's neither)."""
    for m in (torch, ember):
        z = m.tensor(Z, requires_grad=True)
        names = [type(f).__name__ for f in (z.conj().grad_fn, z.conj().resolve_conj().grad_fn, m._neg_view(z).grad_fn,
                                           z.conj_physical().grad_fn)]
        assert names == ["ConjBackward0", "CloneBackward0", "NegViewBackward0", "ConjPhysicalBackward0"]
    for f in (lambda m, z: m._neg_view(z), lambda m, z: z.conj_physical(), lambda m, z: z.conj()):
        t, e = (f(m, z := m.tensor(Z, requires_grad=True)).abs().sum().backward() or z.grad for m in (torch, ember))
        _same(t, e)


def test_polar_grad_of_abs_as_torch():
    """torch differentiates polar's ``abs`` along sgn(result): the sign flips for a negative abs, 0 at 0."""
    def f(m):
        a = m.tensor([1.5, -0.7, 0.0], dtype=m.float64, requires_grad=True)
        th = m.tensor([0.3, 1.2, -2.0], dtype=m.float64, requires_grad=True)
        p = m.polar(a, th)
        (p.real * 2 + p.imag * 3).sum().backward()
        return m.stack([a.grad, th.grad])
    _check(f)


@pytest.mark.parametrize("args", [
    lambda m: (m.ones(2, dtype=m.complex64), m.ones(2)), lambda m: (m.ones(2), m.ones(2, dtype=m.complex128)),
    lambda m: (m.ones(2, dtype=m.float16), 1j), lambda m: (1j, m.ones(2, dtype=m.complex64)),
])
def test_isin_refuses_complex(args):
    _check(lambda m: m.isin(*args(m)))


def test_view_as_complex_of_0d():
    _check(lambda m: m.view_as_complex(m.tensor(1.0)))


def test_complex32_warns_once_on_first_allocation(monkeypatch):
    """torch warns once a process, when the first complex32 tensor is allocated (a view of float16 data is none)."""
    monkeypatch.setattr(ember._tensor, "_unwarned", ember.complex32)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ember.ones(2, 2, dtype=ember.float16).view(ember.complex32)
        assert not w
        ember.zeros(2, dtype=ember.float32).to(ember.complex32)
        ember.zeros(2, dtype=ember.complex32)
    assert [(str(x.message), x.category, x.filename) for x in w] == [
        ("ComplexHalf support is experimental and many operators don't support it yet. (Triggered internally at "
         "/__w/pytorch/pytorch/aten/src/ATen/EmptyTensor.cpp:54.)", UserWarning, __file__)]


@pytest.mark.parametrize("eq,shapes", [("ij,jk->ik", [(1, 1), (1, 1)]), ("ij,jk->ik", [(2, 1), (1, 2)]),
                                       ("ij,jk->ik", [(1, 2), (2, 1)]), ("i,j->ij", [(2,), (3,)])])
def test_einsum_mixed_dtypes(eq, shapes):
    """Mixed dtypes promote where einsum only multiplies; a contraction over a dim of size > 1 (a bmm) refuses."""
    _check(lambda m: m.einsum(eq, m.ones(*shapes[0], dtype=m.complex64), m.ones(*shapes[1], dtype=m.float64)))


@pytest.mark.parametrize("part", [lambda m, w: w.real, lambda m, w: w.imag, lambda m, w: m.view_as_real(w)[1],
                                  lambda m, w: w[1:].imag])
def test_inplace_through_real_view_of_complex_grads(part):
    """An in-place op through a real view of a complex tensor: the base's other components keep their gradient."""
    def f(m):
        z = m.tensor([1 + 2j, 3 - 1j], requires_grad=True)
        w = z.clone()
        v = part(m, w)
        v.mul_(3)
        ((w * m.tensor([1 + 1j, 2 - 1j])).real.sum() + (v * 2).sum()).backward()
        return z.grad
    _check(f)


def test_inplace_through_complex_view_of_real_grads():
    def f(m):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = x.clone()
        m.view_as_complex(y).mul_(1j)
        (y * m.tensor([[1.0, 2.0], [3.0, 5.0]])).sum().backward()
        return x.grad
    _check(f)
    z = ember.tensor([1 + 2j, 3 - 1j], dtype=ember.complex128, requires_grad=True)

    def g(z):
        w = z.clone()
        w.imag.mul_(z.real)
        return w
    assert ember.autograd.gradcheck(g, (z,)) and ember.autograd.gradgradcheck(g, (z,))


@pytest.mark.parametrize("dt", ["complex32", "bool", "float8_e5m2", "uint8"])
def test_neg_view_dtypes(dt):
    """torch negates any dtype lazily and refuses bool / float8 on resolving (ember resolves at once)."""
    _check(lambda m: m._neg_view(m.ones(2, dtype=getattr(m, dt))).resolve_neg().to(m.complex64))


@pytest.mark.parametrize("dt", ["complex64", "int64"])
def test_softmax_of_empty_non_float(dt):
    """torch runs no kernel on an empty input, so a dtype it has none for comes back empty (not an error)."""
    _check(lambda m: m.log_softmax(m.zeros(2, 0, dtype=getattr(m, dt)), -1))
    _check(lambda m: m.softmax(m.zeros(2, 1, dtype=getattr(m, dt)), 0))


def test_numpy_force_resolves_bits_and_bit_queries_need_tensors():
    _check(lambda m: m.tensor(m.tensor(Z, requires_grad=True).conj().numpy(force=True)))
    _check(lambda m: m.tensor(m._neg_view(m.tensor([1.0, -2.0])).numpy(force=True)))
    _check(lambda m: m.is_conj(3))
    _check(lambda m: m.is_neg(None))


@pytest.mark.parametrize("dt", ["complex32", "float8_e5m2"])
def test_count_nonzero_and_nonzero_of_few_kernel_dtypes(dt):
    """torch counts complex32; float8 only over a dim (its nonzero count has no kernel, nor has nonzero)."""
    _check(lambda m: m.count_nonzero(m.ones(3, dtype=getattr(m, dt))).float())
    _check(lambda m: m.count_nonzero(m.ones(2, 3, dtype=getattr(m, dt)), 1).float())
    _check(lambda m: m.nonzero(m.ones(3, dtype=getattr(m, dt))).float())


def test_complex32_warning_before_complex_and_polar_fail(monkeypatch):
    """torch's complex()/polar() of float16 allocate the complex32 result before their dtype checks (so they warn),
    but not before the check that both are floating."""
    monkeypatch.setattr(ember._tensor, "_unwarned", ember.complex32)
    f16 = ember.ones(2, dtype=ember.float16)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="but got Half and Long"):
            ember.complex(f16, ember.ones(2, dtype=ember.int64))
        assert not w
        with pytest.raises(NotImplementedError, match="polar_cpu"):
            ember.polar(f16, f16)
    assert [x.filename for x in w] == [__file__]


@pytest.mark.parametrize("fn", ["dot", "vdot", "matmul"])
@pytest.mark.parametrize("ca,cb", [(0, 1), (1, 0), (1, 1)])
def test_dot_of_conjugates_as_torch(fn, ca, cb):
    """torch's dot of two conjugates (vdot: of a plain and a conjugate) is the conjugate of a plain product."""
    def f(m):
        a, b = m.tensor([1 + 2j, 3 - 1j]), m.tensor([2 - 1j, 1 + 1j])
        return getattr(m, fn)(a.conj() if ca else a, b.conj() if cb else b)
    _check(f)
