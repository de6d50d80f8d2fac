"""torch.nn.utils.parametrize / parametrizations / prune and the legacy weight_norm / spectral_norm, against
torch: state_dict keys, reprs, RNG-driven initialisation and masks, forward values and gradients, errors."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
import torch

import ember

LIBS = (torch, ember)


def sub(lib, name):
    return importlib.import_module(f"{lib.__name__}.nn.utils.{name}")


def both(fn):
    """Run ``fn(lib)`` with torch and with ember; results as nested numpy / plain values."""
    def conv(x):
        if isinstance(x, (torch.Tensor, ember.Tensor)):
            return x.detach().numpy()
        if isinstance(x, (list, tuple)):
            return [conv(v) for v in x]
        return x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [conv(fn(lib)) for lib in LIBS]


def same(fn, rtol=1e-5, atol=1e-6):
    t, e = both(fn)
    for a, b in zip(t, e, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)
        else:
            assert a == b


def same_error(fn):
    errs = []
    for lib in LIBS:
        with pytest.raises(Exception) as info:
            fn(lib)
        errs.append((type(info.value).__name__, str(info.value).replace("torch.", "").replace("ember.", "")))
    assert errs[0] == errs[1]


def _sym(lib):
    class Sym(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()
    return Sym()


def test_register_remove_cache_right_inverse():
    def run(lib):
        P = sub(lib, "parametrize")
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 3)
        orig = m.weight
        P.register_parametrization(m, "weight", _sym(lib))
        out = [repr(m), list(m.state_dict()), type(m).__name__, P.type_before_parametrizations(m).__name__,
               P.is_parametrized(m), P.is_parametrized(m, "bias"), m.parametrizations.weight.original is orig]
        with P.cached():
            out.append(m.weight is m.weight)
        out.append(m.weight is m.weight)
        y = m(lib.ones(2, 3))
        y.sum().backward()
        out += [m.weight, y, orig.grad]
        m.weight = lib.eye(3) * 2
        out.append(m.parametrizations.weight.original)
        P.remove_parametrizations(m, "weight", leave_parametrized=True)
        out += [repr(m), list(m.state_dict()), m.weight, m.weight is orig]
        return out
    same(run)


def test_chained_and_multi_tensor_parametrization():
    def run(lib):
        P = sub(lib, "parametrize")

        class Split(lib.nn.Module):
            def forward(self, a, b):
                return a + b

            def right_inverse(self, w):
                return w * 0.25, w * 0.75

        class Double(lib.nn.Module):
            def forward(self, x):
                return 2 * x

        lib.manual_seed(1)
        m = lib.nn.Linear(2, 3)
        P.register_parametrization(m, "weight", Split())
        P.register_parametrization(m, "weight", Double())
        out = [list(m.state_dict()), repr(m), m.weight]
        m(lib.ones(1, 2)).sum().backward()
        out += [m.parametrizations.weight.original0.grad, m.parametrizations.weight.original1.grad]
        P.remove_parametrizations(m, "weight")
        return [*out, list(m.state_dict()), m.weight, type(m.weight).__name__]
    same(run)
    same_error(lambda lib: sub(lib, "parametrize").register_parametrization(lib.nn.Linear(2, 2), "nope", _sym(lib)))


def test_parametrize_errors():
    def bad_shape(lib):
        class Flat(lib.nn.Module):
            def forward(self, x):
                return x.flatten()
        sub(lib, "parametrize").register_parametrization(lib.nn.Linear(2, 2), "weight", Flat())
    same_error(bad_shape)

    def no_param(lib):
        sub(lib, "parametrize").remove_parametrizations(lib.nn.Linear(2, 2), "weight")
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        no_param(ember)


def test_legacy_weight_norm_and_spectral_norm():
    def run(lib):
        lib.manual_seed(0)
        m = lib.nn.utils.spectral_norm(lib.nn.Conv2d(2, 3, 2))
        out = [repr(m), list(m.state_dict()), dict(m.state_dict()._metadata[""]), m.weight_u, m.weight_v]
        y = m(lib.ones(1, 2, 3, 3))
        y.sum().backward()
        out += [y, m.weight_orig.grad, m.weight_u]
        lib.nn.utils.remove_spectral_norm(m)
        out += [list(m.state_dict()), m.weight]
        w = lib.nn.utils.weight_norm(lib.nn.Linear(3, 2), dim=1)
        y = w(lib.ones(2, 3))
        y.sum().backward()
        out += [list(w.state_dict()), w.weight_g, w.weight_g.grad, w.weight_v.grad]
        lib.nn.utils.remove_weight_norm(w)
        return [*out, list(w.state_dict()), w.weight]
    same(run)
    same_error(lambda lib: lib.nn.utils.remove_weight_norm(lib.nn.Linear(2, 2)))
    same_error(lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(2, 2), n_power_iterations=0))


def test_parametrizations_spectral_and_weight_norm():
    def run(lib):
        PZ = sub(lib, "parametrizations")
        lib.manual_seed(0)
        m = PZ.spectral_norm(lib.nn.Linear(4, 3))
        out = [repr(m), list(m.state_dict()), m.parametrizations.weight[0]._u]
        y = m(lib.ones(2, 4))
        y.sum().backward()
        out += [y, m.parametrizations.weight.original.grad]
        m.eval()
        out.append(m.weight)
        w = PZ.weight_norm(lib.nn.Linear(4, 3))
        y = w(lib.ones(2, 4))
        y.sum().backward()
        out += [list(w.state_dict()), w.parametrizations.weight.original0, w.parametrizations.weight.original0.grad,
                w.parametrizations.weight.original1.grad]
        legacy = lib.nn.utils.weight_norm(lib.nn.Linear(4, 3))
        w.load_state_dict(legacy.state_dict())
        return [*out, w.weight]
    same(run)
    same_error(lambda lib: sub(lib, "parametrizations").spectral_norm(lib.nn.Linear(2, 2), dim=3))


@pytest.mark.parametrize("mp", ["matrix_exp", "cayley"])
def test_orthogonal(mp):
    def run(lib):
        lib.manual_seed(0)
        m = sub(lib, "parametrizations").orthogonal(lib.nn.Linear(4, 3), orthogonal_map=mp)
        w = m.weight
        m(lib.ones(1, 4)).sum().backward()
        return [repr(m), list(m.state_dict()), w, w @ w.mT, m.parametrizations.weight.original.grad]
    same(run, atol=1e-5)
    same_error(lambda lib: sub(lib, "parametrizations").orthogonal(lib.nn.Linear(4, 3), orthogonal_map="bad"))


def test_orthogonal_householder_backward():
    m = sub(ember, "parametrizations").orthogonal(ember.nn.Linear(4, 3), orthogonal_map="householder")
    m(ember.ones(1, 4)).sum().backward()


def test_prune_methods_masks_and_remove():
    def run(lib):
        pr = sub(lib, "prune")
        lib.manual_seed(0)
        m = lib.nn.Conv2d(2, 4, 2)
        pr.random_unstructured(m, "weight", 0.3)
        pr.l1_unstructured(m, "weight", 3)
        pr.ln_structured(m, "weight", 0.5, 2, 0)
        pr.random_unstructured(m, "bias", 2)
        out = [list(m.state_dict()), m.weight_mask, m.bias_mask,
               type(list(m._forward_pre_hooks.values())[0]).__name__]
        lin, lin2 = lib.nn.Linear(3, 4), lib.nn.Linear(4, 2)
        pr.random_structured(lin, "weight", 0.5, dim=0)
        pr.global_unstructured([(lin, "weight"), (lin2, "weight")], pruning_method=pr.L1Unstructured, amount=5)
        pr.identity(lin2, "bias")
        pr.custom_from_mask(lin2, "bias", lib.tensor([1.0, 0.0]))
        out += [lin.weight_mask, lin2.weight_mask, lin2.bias_mask, pr.is_pruned(lin), pr.is_pruned(lib.nn.ReLU())]
        y = m(lib.ones(1, 2, 3, 3))
        y.sum().backward()
        out += [y, m.weight_orig.grad]
        pr.remove(m, "weight")
        out += [list(m.state_dict()), type(m.weight).__name__, m.weight]
        out.append(pr.L1Unstructured(0.5).prune(lib.arange(6.0) - 2))
        return out
    same(run)
    same_error(lambda lib: sub(lib, "prune").l1_unstructured(lib.nn.Linear(2, 2), "bias", 1.5))
    same_error(lambda lib: sub(lib, "prune").l1_unstructured(lib.nn.Linear(2, 2), "bias", 5))
    same_error(lambda lib: sub(lib, "prune").ln_structured(lib.nn.Linear(2, 2), "bias", 1, 2, 0))
    same_error(lambda lib: sub(lib, "prune").remove(lib.nn.Linear(2, 2), "weight"))


@pytest.mark.parametrize(("shape", "dim"), [((3, 4), 0), ((3, 4), 1), ((3, 4, 2), 1), ((3, 4), -1)])
def test_weight_norm_grad_fn_and_gradcheck(shape, dim):
    from ember.nn.utils.weight_norm import _weight_norm

    names = []
    for lib in LIBS:
        v = lib.ones(*shape, dtype=lib.float64).requires_grad_()
        g = lib.norm_except_dim(v, 2, dim).detach().requires_grad_()
        norm = getattr(lib, "_weight_norm", _weight_norm)
        names.append(norm(v, g, dim).grad_fn.name())
    assert names[0] == names[1]
    ember.manual_seed(0)
    v = ember.randn(*shape, dtype=ember.float64, requires_grad=True)
    g = (ember.norm_except_dim(v, 2, dim).detach() + 0.5).requires_grad_()
    assert ember.autograd.gradcheck(lambda a, b: _weight_norm(a, b, dim), (v, g))
    assert ember.autograd.gradgradcheck(lambda a, b: _weight_norm(a, b, dim), (v, g))


def test_transfer_and_deepcopy():
    import copy
    import pickle

    def run(lib):
        P = sub(lib, "parametrize")
        lib.manual_seed(0)
        w = sub(lib, "parametrizations").weight_norm(lib.nn.Linear(3, 2))
        c = copy.deepcopy(w)
        t = P.transfer_parametrizations_and_params(w, lib.nn.Linear(3, 2))
        return [type(c).__name__, c.weight, repr(t), list(t.state_dict()), t.weight]
    same(run)
    same_error(lambda lib: pickle.dumps(sub(lib, "parametrizations").weight_norm(lib.nn.Linear(3, 2))))
