"""ember.distributions' discrete families against torch.distributions: samples under one seed, log_prob,
entropy, moments, supports, expand, reprs, errors and KL divergences."""

import pytest
import torch
import torch.distributions as td

import ember
import ember.distributions as ed
from oracle import assert_close, assert_same_error, to_ember

P = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]
CASES = [  # name, args (module-generic), kwargs, a value in the support
    ("Binomial", lambda m: (10, m.tensor([0.0, 0.2, 0.7, 1.0])), {}, [0.0, 3.0, 10.0, 10.0]),
    ("Binomial", lambda m: (m.tensor([[5.0], [40.0]]), m.tensor([0.3, 0.8])), {}, [[1.0, 4.0], [12.0, 33.0]]),
    ("Binomial", lambda m: (7,), {"logits": [0.3, -2.0]}, [2.0, 0.0]),
    ("Poisson", lambda m: (m.tensor([0.5, 4.0, 25.0, 0.0]),), {}, [1.0, 3.0, 20.0, 0.0]),
    ("Geometric", lambda m: (m.tensor([0.3, 0.9, 1.0]),), {}, [2.0, 0.0, 0.0]),
    ("Geometric", lambda m: (), {"logits": [0.3, -2.0]}, [1.0, 4.0]),
    ("NegativeBinomial", lambda m: (m.tensor([3.0, 10.0]), m.tensor([0.4, 0.7])), {}, [2.0, 30.0]),
    ("NegativeBinomial", lambda m: (5.0,), {"logits": [0.3, -2.0]}, [4.0, 1.0]),
    ("Categorical", lambda m: (m.tensor(P),), {}, [2.0, 0.0]),
    ("Categorical", lambda m: (), {"logits": [[0.3, -2.0, 1.0, 0.0]]}, [3.0]),
    ("OneHotCategorical", lambda m: (m.tensor(P),), {}, [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
    ("Multinomial", lambda m: (6, m.tensor(P)), {}, [[1.0, 3.0, 2.0], [6.0, 0.0, 0.0]]),
]


def _make(lib, name, args, kwargs):
    mod = ed if lib is ember else td
    kw = {k: lib.tensor(v) for k, v in kwargs.items()}
    return getattr(mod, name)(*args(lib), **kw)


@pytest.mark.parametrize("name,args,kwargs,value", CASES)
def test_against_torch(name, args, kwargs, value):
    e, t = _make(ember, name, args, kwargs), _make(torch, name, args, kwargs)
    assert repr(e) == repr(t)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    assert repr(e.support) == repr(t.support)
    for seed in (0, 3):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        assert_close(e.sample((4, 1)), t.sample((4, 1)))
        assert_close(e.sample(), t.sample())
    v = torch.tensor(value)
    assert_close(e.log_prob(to_ember(v)), t.log_prob(v), rtol=1e-5)
    for attr in ["mean", "variance"] + (["mode"] if name != "Multinomial" else []):
        assert_close(getattr(e, attr), getattr(t, attr))
    homogeneous = not (name == "Binomial" and t.total_count.unique().numel() > 1)
    if name not in ("Poisson", "NegativeBinomial") and homogeneous:
        assert_close(e.entropy(), t.entropy(), rtol=1e-5)
    shape = (5,) + tuple(t.batch_shape)
    ex, tx = e.expand(shape), t.expand(shape)
    assert ex.batch_shape == tx.batch_shape and repr(ex) == repr(tx)
    ember.manual_seed(1)
    torch.manual_seed(1)
    assert_close(ex.sample(), tx.sample())
    if t.has_enumerate_support and homogeneous:
        assert_close(e.enumerate_support(), t.enumerate_support())
        assert_close(e.enumerate_support(expand=False), t.enumerate_support(expand=False))


def test_logits_probs_are_lazy_and_consistent():
    e, t = ed.Binomial(4, logits=ember.tensor([0.5, -1.0])), td.Binomial(4, logits=torch.tensor([0.5, -1.0]))
    assert "probs" not in e.__dict__
    assert_close(e.probs, t.probs)
    assert repr(e) == repr(t)   # now both parameters show
    e, t = ed.Categorical(ember.tensor([1.0, 3.0])), td.Categorical(torch.tensor([1.0, 3.0]))
    assert_close(e.logits, t.logits)
    assert_close(e.probs, t.probs)


def test_log_prob_grads():
    p = torch.tensor([0.2, 0.7], requires_grad=True)
    ep = to_ember(p, True)
    value = torch.tensor([[1.0, 3.0], [0.0, 4.0]])
    for mk in (lambda m, q: (ed if m is ember else td).Binomial(5, q),
               lambda m, q: (ed if m is ember else td).Geometric(q),
               lambda m, q: (ed if m is ember else td).NegativeBinomial(3.0, q)):
        mk(torch, p).log_prob(value).sum().backward()
        mk(ember, ep).log_prob(to_ember(value)).sum().backward()
        assert_close(ep.grad, p.grad, rtol=1e-5)
        p.grad = ep.grad = None
    logits = torch.tensor([[0.3, -1.0, 2.0]], requires_grad=True)
    el = to_ember(logits, True)
    (td.Categorical(logits=logits).log_prob(torch.tensor([2, 0])).sum()
     + td.Categorical(logits=logits).entropy().sum()).backward()
    (ed.Categorical(logits=el).log_prob(ember.tensor([2, 0])).sum()
     + ed.Categorical(logits=el).entropy().sum()).backward()
    assert_close(el.grad, logits.grad)


def test_binomial_sampler_matches_torch_stream():
    g = torch.Generator().manual_seed(5)
    n = torch.cat([torch.randint(0, 3000, (300,), generator=g).double(), torch.full((20,), 2.0**25 + 3)])
    p = torch.rand(320, generator=g, dtype=torch.float64)
    for dt in (torch.float32, torch.float64):
        torch.manual_seed(2)
        ember.manual_seed(2)
        assert_close(ember.distributions._samplers.binomial(to_ember(n.to(dt)), to_ember(p.to(dt))),
                     torch.binomial(n.to(dt), p.to(dt)), rtol=0, atol=0)
        assert_close(ember.rand(3), torch.rand(3), rtol=0, atol=0)   # the stream stays in step


def test_binomial_inversion_without_fast_log1pf(monkeypatch):
    """float32 probabilities' log1p comes from glibc's log1pf one by one where no vectorised evaluation matches."""
    monkeypatch.setattr(ember.distributions._samplers, "_fast_log1pf", lambda: None)
    g = torch.Generator().manual_seed(6)
    n, p = torch.randint(0, 20, (300,), generator=g).float(), torch.rand(300, generator=g)
    torch.manual_seed(2)
    ember.manual_seed(2)
    assert_close(ember.distributions._samplers.binomial(to_ember(n), to_ember(p)), torch.binomial(n, p), rtol=0, atol=0)


def test_errors():
    e_mod = ember.distributions._samplers
    assert_same_error(lambda: e_mod.binomial(ember.tensor([5, 6]), ember.tensor([0.3, 0.4])),
                      lambda: torch.binomial(torch.tensor([5, 6]), torch.tensor([0.3, 0.4])))
    assert_same_error(lambda: e_mod.binomial(ember.tensor([5.0]), ember.tensor([0.3], dtype=ember.float64)),
                      lambda: torch.binomial(torch.tensor([5.0]), torch.tensor([0.3], dtype=torch.float64)))
    pairs = [
        lambda m: m.Categorical(MOD[m].tensor([-0.2, 0.8])),
        lambda m: m.Categorical(MOD[m].tensor(1.0)),
        lambda m: m.Categorical(),
        lambda m: m.Binomial(MOD[m].tensor([2.5]), MOD[m].tensor([0.2])),
        lambda m: m.Binomial(10, MOD[m].tensor([0.2])).log_prob(MOD[m].tensor([11.0])),
        lambda m: m.Geometric(MOD[m].tensor([0.0, 0.5])),
        lambda m: m.Poisson(MOD[m].tensor([-1.0])),
        lambda m: m.Poisson(MOD[m].tensor([1.0])).log_prob(MOD[m].tensor([1.5])),
        lambda m: m.NegativeBinomial(2.0, MOD[m].tensor([1.0])),
        lambda m: m.Multinomial(2.5, MOD[m].tensor([0.5, 0.5])),
        lambda m: m.OneHotCategorical(MOD[m].tensor([0.5, 0.5])).log_prob(MOD[m].tensor([1.0, 1.0])),
        lambda m: m.Binomial(MOD[m].tensor([2.0, 3.0]), MOD[m].tensor([0.2, 0.5])).entropy(),
    ]
    for f in pairs:
        assert_same_error(lambda f=f: f(ed), lambda f=f: f(td))


MOD = {ed: ember, td: torch}


@pytest.mark.parametrize("name,pa,qa", [
    ("Binomial", (5, [0.2, 0.6]), (5, [0.5, 0.3])),
    ("Categorical", ([[0.2, 0.5, 0.3]],), ([[0.6, 0.1, 0.3]],)),
    ("OneHotCategorical", ([[0.2, 0.5, 0.3]],), ([[0.6, 0.1, 0.3]],)),
    ("Geometric", ([0.2, 0.9],), ([0.5, 0.3],)),
    ("Poisson", ([0.2, 3.0],), ([0.5, 4.0],)),
])
def test_kl_divergence(name, pa, qa):
    def mk(mod, lib, args):
        return getattr(mod, name)(*[lib.tensor(a) if isinstance(a, list) else a for a in args])
    assert_close(ed.kl_divergence(mk(ed, ember, pa), mk(ed, ember, qa)),
                 td.kl_divergence(mk(td, torch, pa), mk(td, torch, qa)))


@pytest.mark.parametrize("pair", [("Poisson", "Bernoulli"), ("Poisson", "Binomial"), ("Bernoulli", "Poisson")])
def test_kl_cross(pair):
    args = {"Poisson": lambda m: (m.tensor([0.5, 2.0]),), "Bernoulli": lambda m: (m.tensor([0.3, 0.6]),),
            "Binomial": lambda m: (4, m.tensor([0.3, 0.6]))}
    p, q = pair
    assert_close(ed.kl_divergence(getattr(ed, p)(*args[p](ember)), getattr(ed, q)(*args[q](ember))),
                 td.kl_divergence(getattr(td, p)(*args[p](torch)), getattr(td, q)(*args[q](torch))))


def test_one_hot_straight_through():
    p = torch.tensor([[0.2, 0.5, 0.3]], requires_grad=True)
    ep = to_ember(p, True)
    torch.manual_seed(0)
    ember.manual_seed(0)
    xt, xe = td.OneHotCategoricalStraightThrough(p).rsample((4,)), ed.OneHotCategoricalStraightThrough(ep).rsample((4,))
    assert_close(xe, xt)
    (xt * torch.arange(3.0)).sum().backward()
    (xe * ember.arange(3.0)).sum().backward()
    assert_close(ep.grad, p.grad)


def test_kl_edge_cases():
    def kl(d, m, name, pa, qa):
        cls = getattr(d, name)
        return d.kl_divergence(cls(*[m.tensor(a) for a in pa]), cls(*[m.tensor(a) for a in qa]))

    cat = ("Categorical", ([0.0, 0.5, 0.5],), ([0.5, 0.5, 0.0],))
    binom = ("Binomial", ([5.0, 7.0], [0.2, 0.6]), ([5.0, 5.0], [0.4, 0.3]))
    for args in (cat, binom):
        assert_close(kl(ed, ember, *args), kl(td, torch, *args))
    bad = ("Binomial", ([3.0], [0.2]), ([5.0], [0.2]))
    assert_same_error(lambda: kl(ed, ember, *bad), lambda: kl(td, torch, *bad))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,p", [(10, 0.3), (10, 0.8), (200, 0.45), (3000, 0.97), (2.0**25 + 3, 0.4), (7, 1e-9),
                                 (5, 1.0), (0, 0.5)])
def test_binomial_one_parameter_set_matches_torch_stream(dtype, n, p):
    """The vectorised path (every element with the same count and prob) draws torch's numbers."""
    cn, pp = torch.full((700,), n, dtype=dtype), torch.full((700,), p, dtype=dtype)
    torch.manual_seed(3)
    ember.manual_seed(3)
    assert_close(ember.randn(1), torch.randn(1))   # leaves a cached normal, which binomial must not touch
    assert_close(ember.distributions._samplers.binomial(to_ember(cn), to_ember(pp)), torch.binomial(cn, pp),
                 rtol=0, atol=0)
    assert_close(ember.rand(3), torch.rand(3), rtol=0, atol=0)
    assert_close(ember.randn(1), torch.randn(1), rtol=0, atol=0)
    e, t = ed.Binomial(n, torch.tensor(p, dtype=dtype).item()), td.Binomial(n, torch.tensor(p, dtype=dtype).item())
    assert_close(e.sample((40,)), t.sample((40,)), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_binomial_edge_parameters_match_torch_stream(dtype):
    """prob NaN / 0 / 1 / tiny / near 1, count 0 / 1 / from 2**24 (float32 rounds there) mixed in one tensor: the
    per-element path draws torch's numbers and leaves the cached normal alone."""
    count = torch.tensor([5.0, 5.0, 0.0, 3.0, 7.0, 1.0, 40.0, 40.0, 2.0**24 + 1, 1e6, 12.0], dtype=dtype).repeat(25)
    prob = torch.tensor([float("nan"), 0.0, 0.5, 1.0, 1e-30, 0.999, 0.25, 0.75, 0.5, 1e-6, 0.9], dtype=dtype).repeat(25)
    torch.manual_seed(11)
    ember.manual_seed(11)
    assert_close(ember.randn(1), torch.randn(1))
    assert_close(ember.distributions._samplers.binomial(to_ember(count), to_ember(prob)), torch.binomial(count, prob),
                 rtol=0, atol=0, equal_nan=True)
    assert_close(ember.randn(1), torch.randn(1), rtol=0, atol=0)
    assert_close(ember.rand(3), torch.rand(3), rtol=0, atol=0)
