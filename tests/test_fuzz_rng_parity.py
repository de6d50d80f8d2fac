"""Random numbers compared bit for bit with torch under the same seed (regressions found by differential
fuzzing): values, the generator state after the call, warnings and errors."""

import warnings

import numpy as np
import pytest

import ember
from oracle import assert_same_error, outcomes, torch


def _bits(t):
    t = t.detach()
    if isinstance(t, torch.Tensor):
        return str(t.dtype)[6:], tuple(t.shape), t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 \
            else t.numpy().tobytes()
    return repr(t.dtype)[6:], tuple(t.shape), np.asarray(t.contiguous()._data).tobytes()


def _same_stream(fn, seed=0):
    """``fn(lib)`` after ``manual_seed(seed)`` in both libraries: the same bits, and the same state after."""
    results = []
    for lib in (torch, ember):
        lib.manual_seed(seed)
        out = fn(lib)
        results.append(([_bits(t) for t in (out if isinstance(out, (list, tuple)) else [out])],
                        lib.get_rng_state().numpy().tobytes()))
    assert results[0][0] == results[1][0]
    assert results[0][1] == results[1][1], "generator states differ after the call"


@pytest.mark.parametrize("dtype", ["int64", "uint8", "float32", "bool"])
def test_random_from_with_to_none_runs_to_the_dtype_maximum(dtype):
    """``random_(from, None)`` is [from, max]; it was read as ``random_(to=from)``."""
    _same_stream(lambda L: L.empty(7, dtype=getattr(L, dtype)).random_(1 if dtype == "bool" else 5, None))
    _same_stream(lambda L: L.empty(3, dtype=L.float64).random_(-2**63, None))


def test_random_grad_fn_names():
    for args in [(2, None), (3,), (), (1, 4)]:
        t, e = outcomes(lambda L, a=args: L.zeros(3, requires_grad=True).clone().random_(*a).grad_fn.name())
        assert t == e


@pytest.mark.parametrize("dtype,bounds", [("float32", (0, 2**24 + 2)), ("bfloat16", (-300, 2)),
                                          ("float16", (0, 2050)), ("float64", (-2**53 - 1, 0))])
def test_random_float_precision_warnings(dtype, bounds):
    got = []
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.empty(3, dtype=getattr(lib, dtype)).random_(*bounds)
        got.append([str(x.message).split(" (Triggered")[0] for x in w])
    assert got[0] == got[1] and got[0]


@pytest.mark.parametrize("p_dtype", ["float32", "float64", "bfloat16"])
def test_bernoulli_tensor_p_on_a_permuted_tensor(p_dtype):
    """The k-th draw goes to self's k-th element in memory, compared with that element's probability."""
    def fn(L):
        p = L.linspace(0, 1, 24, dtype=getattr(L, p_dtype)).reshape(2, 3, 4)
        return [L.empty(4, 3, 2).permute(2, 1, 0).bernoulli_(p), L.empty(2, 3, 4).bernoulli_(p.permute(0, 2, 1)
                                                                                             .transpose(1, 2))]
    _same_stream(fn)


def test_bernoulli_of_a_permuted_input_is_contiguous():
    def fn(L):
        p = L.linspace(0, 1, 24).reshape(4, 3, 2).permute(2, 1, 0)
        a, b = L.bernoulli(p), L.bernoulli(p, 0.5)
        assert a.is_contiguous() and b.is_contiguous()
        return [a, b]
    _same_stream(fn)


def test_multinomial_without_replacement_breaks_ties_as_torch():
    """Zero probabilities tie in ``p / q``; torch's topk orders them its own way."""
    p = [0.0, 1.5, 2.5, 0.0, 4.5, 5.5, 0.0, 0.5, 1.5, 0.0]
    _same_stream(lambda L: L.multinomial(L.tensor(p, dtype=L.float64), 8))
    _same_stream(lambda L: L.multinomial(L.tensor([p, p[::-1]]), 9))


@pytest.mark.parametrize("n,dtype", [(129, "int8"), (257, "uint8"), (70000, "uint16"), (5, "uint32"), (3, "bool"),
                                     (-1, "int64"), (2**24 + 2, "float32"), (2050, "float16")])
def test_randperm_errors(n, dtype):
    assert_same_error(lambda: ember.randperm(n, dtype=getattr(ember, dtype)),
                      lambda: torch.randperm(n, dtype=getattr(torch, dtype)))


@pytest.mark.parametrize("n,dtype", [(128, "int8"), (256, "uint8"), (600, "bfloat16"), (0, "int8")])
def test_randperm_at_the_dtype_limits(n, dtype):
    _same_stream(lambda L: L.randperm(n, dtype=getattr(L, dtype)))


@pytest.mark.parametrize("n", [7, 40])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_with_tensor_mean_and_float_std(n, dtype):
    """torch samples N(0, std) (std applied inside the sampler) and adds the mean: other roundings than
    z*std + mean."""
    def fn(L):
        mean = L.linspace(-1, 1, n, dtype=getattr(L, dtype)) * 1.37
        std = L.linspace(0.1, 2, n, dtype=getattr(L, dtype)) * 1.11
        return [L.normal(mean, 3.3), L.normal(1.7, std), L.normal(mean, std)]
    _same_stream(fn)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bernoulli_invalid_probability_draws_up_to_it(dtype):
    """torch checks each probability as it samples it: the draws before the bad one are made."""
    for p in ([0.5, 0.5, 1.5, 0.5], [0.2, float("nan")], [-0.1]):
        torch.manual_seed(0)
        ember.manual_seed(0)
        assert_same_error(lambda p=p: ember.bernoulli(ember.tensor(p, dtype=getattr(ember, dtype))),
                          lambda p=p: torch.bernoulli(torch.tensor(p, dtype=getattr(torch, dtype))))
        assert torch.get_rng_state().numpy().tobytes() == ember.get_rng_state().numpy().tobytes()


@pytest.mark.parametrize("fn", [
    lambda L: L.bernoulli(L.tensor([1, 0])),
    lambda L: L.empty(3).bernoulli_(L.ones(2)),
    lambda L: L.empty(3).bernoulli_(2.0),
    lambda L: L.empty(3).uniform_(3.0, 1.0),
    lambda L: L.poisson(L.tensor([1, 2])),
    lambda L: L.normal(L.ones(3), L.ones(2)),
    lambda L: L.set_rng_state(L.zeros(5056)),
    lambda L: L.Generator().set_state([1, 2]),
])
def test_sampler_argument_errors(fn):
    assert_same_error(lambda: fn(ember), lambda: fn(torch))


@pytest.mark.parametrize("fill", ["uniform_", "normal_", "rand_like", "randn_like"])
def test_complex_fill_of_non_contiguous_tensors_follows_memory_order(fill):
    def fn(L):
        out = []
        for t in (L.empty(5, 4, dtype=L.complex64).t(), L.empty(3, 8, dtype=L.complex128)[:, ::2]):
            out.append(getattr(t, fill)() if fill.endswith("_") else getattr(L, fill)(t))
        return out
    _same_stream(fn)


def test_like_factories_keep_the_dim_order_of_gapped_tensors():
    """empty_like of a tensor with gaps is dense in the same dim order (so rand_like and dropout masks fill
    in that order)."""
    def cases(L):
        return [L.empty(4, 6).t()[:, ::2], L.empty(2, 3, 4).permute(2, 0, 1)[::2], L.empty(5, 4).t()[1:3]]
    for a, b in zip(cases(torch), cases(ember), strict=True):
        assert torch.empty_like(a).stride() == ember.empty_like(b).stride()
    _same_stream(lambda L: [L.rand_like(L.empty(4, 6).t()[:, ::2]),
                            L.nn.functional.dropout(L.arange(1.0, 25.0).reshape(4, 6).t()[:, ::2], 0.5)])


def test_factories_fill_out_in_place():
    """rand/randn/randint/normal/bernoulli(out=...) fill ``out`` itself: its dtype, its memory order."""
    def fn(L):
        outs = [L.empty(3, 2).t(), L.empty(3, 2, dtype=L.float64).t(), L.empty(3, 2, dtype=L.int64).t(),
                L.empty(3, 2).t(), L.empty(3, 2, dtype=L.float64).t(), L.empty(5)]
        L.rand(2, 3, out=outs[0])
        L.randn(2, 3, out=outs[1])
        L.randint(-4, 9, (2, 3), out=outs[2])
        L.normal(2.0, 0.5, (2, 3), out=outs[3])
        L.bernoulli(L.full((2, 3), 0.4), out=outs[4])
        L.randperm(5, out=outs[5])
        return outs
    _same_stream(fn)
    assert_same_error(lambda: ember.rand(3, dtype=ember.float64, out=ember.empty(3)),
                      lambda: torch.rand(3, dtype=torch.float64, out=torch.empty(3)))


def test_normal_with_tensors_dtype_and_zero_gradients():
    """The result takes mean's dtype (else std's); torch's gradients to mean and std are zeros."""
    def fn(L):
        m = L.zeros(1, requires_grad=True)
        s = L.full((3,), 2.0, dtype=L.float64, requires_grad=True)
        y = L.normal(m, s)
        assert y.grad_fn.name() == "NormalBackward3" and y.dtype == L.float32
        (y * 3).sum().backward()
        return [y, m.grad, s.grad, L.normal(L.zeros(3, dtype=L.float64), L.ones(3), out=L.empty(3).t())]
    _same_stream(fn)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_orthogonal_half_precision_errors(dtype):
    assert_same_error(lambda: ember.nn.init.orthogonal_(ember.empty(3, 3, dtype=getattr(ember, dtype))),
                      lambda: torch.nn.init.orthogonal_(torch.empty(3, 3, dtype=getattr(torch, dtype))))


def test_multinomial_draws_in_the_memory_order_of_probs():
    """Without replacement torch's exponential draws fill a tensor laid out as the probabilities."""
    def fn(L):
        p = [L.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]]).t().contiguous().t(), L.arange(1.0, 13.0).reshape(3, 4).t(),
             L.tensor([[0.3, 0.2, 1.0, 0.5]]).expand(5, 4)]
        return [L.multinomial(x, k) for x in p for k in (1, 2)]
    _same_stream(fn)


def test_generator_state_api():
    for lib in (torch, ember):
        g = lib.Generator().manual_seed(5)
        lib.randn(3, generator=g)   # leaves a cached normal
        c = g.clone_state()
        assert c.initial_seed() == 5
        assert lib.randn(3, generator=c).tolist() == lib.randn(3, generator=g).tolist()
    for name, args in [("graphsafe_get_state", ()), ("graphsafe_set_state", (None,)), ("get_offset", ()),
                       ("set_offset", (3,))]:
        def call(L, name=name, args=args):
            g = L.Generator()
            return getattr(g, name)(*(L.Generator() if a is None else a for a in args))
        assert_same_error(lambda c=call: c(ember), lambda c=call: c(torch))


@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64"])
def test_random_without_bounds_refuses_wide_unsigned(dtype):
    assert_same_error(lambda: ember.empty(3, dtype=getattr(ember, dtype)).random_(),
                      lambda: torch.empty(3, dtype=getattr(torch, dtype)).random_())
    _same_stream(lambda L: L.empty(3, dtype=getattr(L, dtype)).random_(5))


def test_generator_manual_seed_refuses_a_tensor():
    assert_same_error(lambda: ember.Generator().manual_seed(ember.tensor(5)),
                      lambda: torch.Generator().manual_seed(torch.tensor(5)))
    assert ember.manual_seed(ember.tensor(5)).initial_seed() == torch.manual_seed(torch.tensor(5)).initial_seed()
