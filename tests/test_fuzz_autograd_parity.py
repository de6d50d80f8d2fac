"""Gradients and autograd graph rules compared with torch (regressions found by differential fuzzing)."""
import numpy as np
import pytest

import ember
from oracle import torch

INF, NAN = float("inf"), float("nan")


def _outcome(lib, fn):
    """``fn(lib)``'s gradients as arrays, or the exception it raised."""
    try:
        return [None if g is None else g.detach().numpy() for g in fn(lib)]
    except Exception as e:   # noqa: BLE001 - the exception is the compared result
        return e


def _check(fn):
    t, e = _outcome(torch, fn), _outcome(ember, fn)
    if isinstance(t, Exception):
        assert type(e) is type(t) and str(e) == str(t), (t, e)
        return
    assert not isinstance(e, Exception), e
    for a, b in zip(t, e, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-12, equal_nan=True)


def _leaf(L, values, dtype=None):
    return L.tensor(values, dtype=dtype or L.float64, requires_grad=True)


def _twice(op):
    """Backward twice through a graph (torch frees what it saved, Python-number operands wrapped as tensors
    included), returning the gradient of the first pass."""
    def fn(L):
        x = _leaf(L, [0.5, 1.5, 2.5])
        y = op(L, x).sum()
        y.backward()
        y.backward()
        return [x.grad]
    return fn


@pytest.mark.parametrize("op", [
    lambda L, x: x * 2, lambda L, x: 2.5 * x, lambda L, x: x / 2, lambda L, x: L.mul(x, True),
    lambda L, x: x.div(2.0, rounding_mode=None), lambda L, x: L.remainder(x, 2.0), lambda L, x: x + 2,
    lambda L, x: L.where(x > 1, x, 2.0), lambda L, x: x.masked_fill(x > 1, 2.0)])
def test_second_backward_through_saved_numbers(op):
    _check(_twice(op))


def test_div_by_constant_saves_no_dividend():
    """torch's div saves the dividend only for the divisor's gradient: changing it in place is allowed."""
    def fn(L):
        x = _leaf(L, [1.0, 2.0])
        a = x.clone()
        y = a / L.tensor([2.0, 4.0], dtype=L.float64)
        z = a / 3
        a.add_(1)
        (y + z).sum().backward()
        return [x.grad]
    _check(fn)
    _check(lambda L: L.autograd.grad((L.tensor([3.0, 4.0], dtype=L.float64) / _leaf(L, [1.0, 2.0])).sum(),
                                     _leaf(L, [0.0]), allow_unused=True))


def test_div_gradients_each_side():
    def fn(L):
        a, b = _leaf(L, [1.0, -2.0]), _leaf(L, [4.0, 0.5])
        return [L.autograd.grad((a / b.detach()).sum(), a)[0], L.autograd.grad((a.detach() / b).sum(), b)[0],
                *L.autograd.grad((a / b).sum(), (a, b))]
    _check(fn)
    x = ember.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=ember.float64, requires_grad=True)
    y = ember.tensor([2.0, -0.75], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: a / b, (x, y))


def test_hardswish_gradient_at_the_kinks():
    x = [-4.0, -3.0, -1.5, 0.0, 3.0, 4.5]
    _check(lambda L: _grads(L, L.nn.functional.hardswish, x))
    t = ember.tensor([-4.0, -1.5, 0.0, 2.5], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(ember.nn.functional.hardswish, (t,))


def _grads(L, f, x, upstream=None):
    t = _leaf(L, x)
    y = f(t)
    g = L.ones_like(y) if upstream is None else L.tensor(upstream, dtype=y.dtype)
    return L.autograd.grad(y, t, g)


@pytest.mark.parametrize("f", [
    lambda L, x: L.floor(x), lambda L, x: L.sign(x), lambda L, x: L.round(x, decimals=1), lambda L, x: L.trunc(x),
    lambda L, x: L.div(x, 2.0, rounding_mode="floor"), lambda L, x: x.pow(0), lambda L, x: L.angle(x),
    lambda L, x: L.copysign(x.detach(), x), lambda L, x: L.nextafter(x.detach(), x),
    lambda L, x: L.nn.functional.hardtanh(x), lambda L, x: L.nn.functional.relu6(x * 4),
    lambda L, x: L.nn.functional.threshold(x, 1.5, 0.0), lambda L, x: L.nn.functional.hardshrink(x, 1.5),
    lambda L, x: L.nn.functional.softshrink(x, 1.5), lambda L, x: L.nn.functional.hardsigmoid(x * 4),
    lambda L, x: (x * 1).copy_(x.detach())])
def test_zero_gradients_stay_zero_for_inf_and_nan(f):
    """Where an op's gradient is 0, torch writes 0 (not ``g * 0``): an inf or NaN upstream gradient stays out."""
    _check(lambda L: _grads(L, lambda t: f(L, t), [1.0, 2.0, 3.0], [INF, NAN, 1.0]))


def test_copy_backwards_name():
    for L in (torch, ember):
        x = _leaf(L, [1.0, 2.0])
        assert (x * 1).copy_(x.detach()).grad_fn.name() == "torch::autograd::CopyBackwards"


def test_clamp_with_equal_tensor_bounds_below_the_input():
    """min == max below the input: torch gives the gradient to neither bound (min needs min < max)."""
    def fn(L):
        x, lo, hi = _leaf(L, [1.0, 0.0, 3.0]), _leaf(L, [2.0, 1.0, 1.0]), _leaf(L, [2.0, 1.0, 0.0])
        return L.autograd.grad(L.clamp(x, lo, hi), (x, lo, hi), L.tensor([1.0, 2.0, 3.0], dtype=L.float64))
    _check(fn)


def test_complex_cumprod_gradient():
    def fn(L):
        x = L.tensor([[1 + 2j, -0.5 + 1j, 2 - 1j], [0.3 - 1j, 0j, 1 + 1j]], requires_grad=True)
        g = L.tensor([[1 - 1j, 2 + 0.5j, -1j], [0.5 + 0j, 1 + 1j, 2 - 2j]])
        return L.autograd.grad(L.cumprod(x, 1), x, g)
    _check(fn)
    x = ember.tensor([[1 + 2j, -0.5 + 1j, 2 - 1j]], dtype=ember.complex128, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.cumprod(t, 1), (x,))


def _chain(fn):
    names = []
    while fn is not None and fn.next_functions:
        names.append(type(fn).__name__)
        fn = fn.next_functions[0][0]
    return names


@pytest.mark.parametrize("key", [(slice(1, None), slice(None, None, 2)), (0, slice(1, None)), (slice(1, None), 0),
                                 (None, slice(1, None)), (0, 0, 0), (-1, Ellipsis, None), (slice(None), slice(1, 3)),
                                 (slice(1, None), [0, 1])])
def test_basic_index_records_one_node_per_step(key):
    """torch's graph of ``x[a, b]``: a select/slice/unsqueeze node per item in key order (full slices skipped)."""
    def fn(L):
        x = _leaf(L, np.arange(120.0).reshape(4, 5, 6))
        y = x[key]
        assert _chain(y.grad_fn) == expected
        return L.autograd.grad(y, x, L.ones_like(y))
    expected = _chain(torch.arange(120.0).reshape(4, 5, 6).requires_grad_()[key].grad_fn)
    _check(fn)


_PIECEWISE = {
    "hardtanh": lambda F, x: F.hardtanh(x), "relu6": lambda F, x: F.relu6(x * 4),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.1), "threshold": lambda F, x: F.threshold(x, 0.5, 2.0),
    "softshrink": lambda F, x: F.softshrink(x), "hardshrink": lambda F, x: F.hardshrink(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x * 4), "elu": lambda F, x: F.elu(x), "selu": lambda F, x: F.selu(x)}


@pytest.mark.parametrize("name", sorted(_PIECEWISE))
def test_piecewise_activations_nan_and_graph_of_gradient(name):
    """NaN inputs pass as in torch's kernels (values and gradients); the gradient built with create_graph depends
    on the input (torch's <Op>BackwardBackward0), so a second grad gives zeros (or torch's error) instead of
    'does not require grad'."""
    f = _PIECEWISE[name]
    # 16 elements: torch's vectorised loops see the NaN (its scalar tails treat a NaN input's gradient otherwise)
    x0 = [NAN, -1.0, 1.0, 0.5, -0.5, 0.0, INF, -INF] * 2

    def fn(L):
        x = _leaf(L, x0)
        y = f(L.nn.functional, x)
        (g,) = L.autograd.grad(y, x, L.full((16,), 2.0, dtype=L.float64), create_graph=True)
        if name not in ("elu", "selu"):
            assert type(g.grad_fn).__name__ == type(f(torch.nn.functional, _leaf(torch, x0)).grad_fn).__name__.replace(
                "Backward0", "BackwardBackward0") or name == "hardsigmoid"
            return [y, g, *L.autograd.grad(g.sum(), x)]
        return [y, g]
    _check(fn)


def test_complex_logsumexp_gradient():
    """The gradient takes the conjugate softmax, as torch's."""
    def fn(L):
        x = L.tensor([[1 + 1j, 2 - 1j, 0.5j], [-1 + 0j, 0.25 + 2j, 1 - 1j]], requires_grad=True)
        return L.autograd.grad(L.logsumexp(x, 1), x, L.tensor([1 + 2j, -0.5 + 1j]))
    _check(fn)
    x = ember.tensor([[1 + 1j, 2 - 1j, 0.5j]], dtype=ember.complex128, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.logsumexp(t, 1), (x,))


def test_eigvals_double_backward():
    """eigvals' gradient depends on the eigenvectors: its own gradient (create_graph) flows through them."""
    a = np.array([[0.5, -1.2, 0.3], [0.8, 0.1, -0.7], [-0.4, 1.5, 0.9]])

    def fn(L):
        x = _leaf(L, a)
        (g,) = L.autograd.grad(L.linalg.eigvals(x).abs().sum(), x, create_graph=True)
        return [g, *L.autograd.grad((g * L.tensor(a.T)).sum(), x)]
    _check(fn)
    x = ember.tensor(a, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: ember.linalg.eigvals(t).abs(), (x,))


@pytest.mark.parametrize("ord", [1, -1, INF, -INF])
def test_matrix_norm_graph(ord):
    """matrix_norm of order ±1/±inf records torch's graph (Amax/AminBackward0 over LinalgVectorNormBackward0)."""
    def fn(L):
        x = _leaf(L, [[1.0, -2.0, 0.0], [3.0, 0.5, -1.0]])
        y = L.linalg.matrix_norm(x, ord)
        names.append([type(y.grad_fn).__name__, type(y.grad_fn.next_functions[0][0]).__name__])
        return L.autograd.grad(y, x)
    names = []
    _check(fn)
    assert names[0] == names[1]


@pytest.mark.parametrize("exponent", [2, 2.5, "tensor"])
def test_pow_saves_its_result_only_for_the_exponent_gradient(exponent):
    """torch's pow saves its result only for a tensor exponent's gradient: an in-place change after ``pow_``
    with a number exponent is allowed (it raised 'modified by an inplace operation')."""
    def fn(L):
        x = _leaf(L, [0.5, 1.5, 2.5])
        e = _leaf(L, [2.0, 0.5, 1.0]) if exponent == "tensor" else exponent
        a = x * 1
        a.pow_(e)
        a.mul_(3)
        a.sum().backward()
        return [x.grad, e.grad if exponent == "tensor" else None]
    _check(fn)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addc_saves_only_what_the_gradients_read(name):
    """torch's addcmul/addcdiv save a tensor operand only for another's gradient: an in-place change to an
    operand nothing reads is allowed (ember raised 'modified by an inplace operation')."""
    def fn(L):
        x, t2 = _leaf(L, [0.5, 1.5, 2.5]), _leaf(L, [2.0, 1.0, 4.0])
        a = x * 1
        getattr(a, name + "_")(L.tensor([1.0, -2.0, 3.0], dtype=L.float64), t2, value=0.5)
        a.mul_(3)   # ``self`` is read by no gradient
        y = getattr(L, name)(_leaf(L, [1.0, 1.0, 1.0]), x, t2.detach(), value=2.0)
        (a.sum() + y.sum()).backward()
        return [x.grad, t2.grad]
    _check(fn)


@pytest.mark.parametrize("name", ["elu_", "selu_", "celu_", "leaky_relu_"])
def test_inplace_activations_save_their_result(name):
    """torch's in-place elu/selu/celu/leaky_relu save the result (the gradient is computed from it): changing it
    in place afterwards raises torch's error; otherwise the gradients are those of the out-of-place forms."""
    def grads(L):
        x = _leaf(L, [-1.5, 0.0, 0.5, 2.5])
        a = x * 1
        getattr(L.nn.functional, name)(a)
        return L.autograd.grad(a.sum() * 2 + (a ** 2).sum(), x)

    def modified(L):
        x = _leaf(L, [-1.5, 0.0, 0.5, 2.5])
        a = x * 1
        getattr(L.nn.functional, name)(a)
        a.mul_(2)
        a.sum().backward()
        return [x.grad]
    _check(grads)
    _check(modified)


@pytest.mark.parametrize("fill", [lambda a: a.uniform_(), lambda a: a.normal_(), lambda a: a.random_(),
                                  lambda a: a.random_(5), lambda a: a.random_(1, 5), lambda a: a.bernoulli_(),
                                  lambda a: a.exponential_(), lambda a: a.geometric_(0.5), lambda a: a.cauchy_(),
                                  lambda a: a.log_normal_()])
def test_inplace_random_fill_cuts_the_gradient(fill):
    """A random fill of a tensor with history is recorded as torch's (UniformBackward0 & co): the old values get
    zero gradient (ember let the gradient through as if nothing had been written)."""
    def fn(L):
        x = _leaf(L, [0.3, 0.45, 0.6])
        a = x * 1
        fill(a)
        names.append(a.grad_fn.name())
        (a * 2 + x).sum().backward()
        return [x.grad]
    names = []
    _check(fn)
    assert names[0] == names[1]


@pytest.mark.parametrize("name", ["sinc", "erfinv"])
def test_gradient_from_the_input_lets_the_result_change(name):
    """torch's sinc/erfinv save their input only: changing the result in place (or running the in-place form then
    another in-place op) is allowed (ember saved the result and raised)."""
    def fn(L):
        x = _leaf(L, [0.3, -0.45, 0.6])
        y = getattr(L, name)(x)
        y.mul_(2)
        a = x * 1
        getattr(a, name + "_")()
        a.add_(1)
        (y + a).sum().backward()
        return [x.grad]
    _check(fn)
    x = ember.tensor([0.3, -0.45, 0.6], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(getattr(ember, name), (x,))


@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh"])
def test_inplace_inverse_hyperbolics_have_no_derivative(name):
    """torch has no derivative for asinh_/acosh_/atanh_ (node <Name>Backward1): backward raises its error."""
    def fn(L):
        x = _leaf(L, [1.3, 1.45, 0.6] if name == "acosh" else [0.3, 0.45, 0.6])
        a = x * 1
        getattr(a, name + "_")()
        names.append(a.grad_fn.name())
        a.sum().backward()
        return [x.grad]
    names = []
    _check(fn)
    assert names[0] == names[1]
