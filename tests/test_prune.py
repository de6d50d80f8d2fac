"""``nn.utils.prune`` against torch: masks (same RNG draws under the same seed), ``_orig`` / ``_mask`` values,
state_dict keys, hooks, forward/backward, containers of repeated pruning, global pruning, remove, deepcopy,
custom methods and torch's errors."""

from __future__ import annotations

import copy
import importlib
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import ember

LIBS = (torch, ember)


def prune_of(lib: Any) -> Any:
    return importlib.import_module(f"{lib.__name__}.nn.utils.prune")


def plain(x: Any) -> Any:
    """Tensors as numpy arrays (with their dtype name), containers recursively, class names for methods."""
    if isinstance(x, (torch.Tensor, ember.Tensor)):
        return [str(x.dtype).split(".")[-1], type(x).__name__.replace("Tensor", ""), x.detach().numpy()]
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x


def check_equal(a: Any, b: Any, rtol: float) -> None:
    if isinstance(a, np.ndarray):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=0)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (a, b)
        for x, y in zip(a, b, strict=True):
            check_equal(x, y, rtol)
    else:
        assert a == b, (a, b)


def same(fn: Callable[[Any, Any], Any], rtol: float = 0.0) -> None:
    """``fn(lib, prune)`` gives the same results under torch and ember (bit for bit unless ``rtol``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, e = (plain(fn(lib, prune_of(lib))) for lib in LIBS)
    check_equal(t, e, rtol)


def same_error(fn: Callable[[Any, Any], Any]) -> None:
    errs = []
    for lib in LIBS:
        with pytest.raises(Exception) as info:
            fn(lib, prune_of(lib))
        errs.append((type(info.value).__name__, str(info.value).replace("torch.", "").replace("ember.", "")))
    assert errs[0] == errs[1]


def hooks(m: Any) -> list[Any]:
    """The pruning hooks of ``m``: class name, tensor name and (for containers) the methods' class names."""
    return [(type(h).__name__, h._tensor_name, [type(x).__name__ for x in h] if hasattr(h, "__len__") else None)
            for h in m._forward_pre_hooks.values()]


def snapshot(m: Any, name: str = "weight") -> list[Any]:
    return [list(m.state_dict()), [n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()],
            getattr(m, name + "_mask"), getattr(m, name + "_orig"), getattr(m, name), hooks(m)]


@pytest.mark.parametrize("amount", [0.3, 5, 0, 0.0, 1.0, 24])
def test_unstructured_masks_and_reparametrization(amount):
    def run(lib, pr):
        lib.manual_seed(0)
        m = lib.nn.Conv2d(2, 3, 2)
        pr.random_unstructured(m, "weight", amount)
        first = snapshot(m)
        pr.l1_unstructured(m, "bias", amount if isinstance(amount, float) else min(amount, 3))
        pr.random_unstructured(m, "weight", 0.25)
        pr.l1_unstructured(m, "weight", 0 if amount in (1.0, 24) else 2)
        return first + snapshot(m) + snapshot(m, "bias") + [lib.rand(3)]
    same(run)


@pytest.mark.parametrize("dim", [0, 1, 3, -1, -4])
@pytest.mark.parametrize("n", [1, 2, math.inf, -math.inf, 3])
def test_ln_structured_along_dims(n, dim):
    def run(lib, pr):
        lib.manual_seed(1)
        m = lib.nn.Conv2d(3, 4, (2, 3), dtype=lib.float64)
        pr.ln_structured(m, "weight", 0.5, n, dim)
        first = [m.weight_mask.clone(), m.weight]
        pr.ln_structured(m, "weight", 1, n, dim)
        return first + snapshot(m)
    same(run)


@pytest.mark.parametrize("n", ["fro", "nuc"])
def test_ln_structured_matrix_norms(n):
    def run(lib, pr):
        lib.manual_seed(1)
        m = lib.nn.Conv1d(2, 5, 3)
        pr.ln_structured(m, "weight", 2, n, 0)
        return snapshot(m)
    same(run, rtol=1e-6)
    same_error(lambda lib, pr: pr.ln_structured(lib.nn.Conv2d(2, 3, 2), "weight", 1, n, 0))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_random_structured_then_unstructured(dim):
    def run(lib, pr):
        lib.manual_seed(2)
        m = lib.nn.Conv1d(4, 4, 3)
        pr.random_structured(m, "weight", 0.5, dim)
        pr.random_structured(m, "weight", 1, dim)
        pr.random_unstructured(m, "weight", 0.4)
        pr.random_structured(m, "weight", 0, dim)
        return snapshot(m) + [lib.rand(2)]
    same(run)


def test_container_semantics():
    def run(lib, pr):
        lib.manual_seed(3)
        m = lib.nn.Linear(3, 4)
        # the unstructured step empties row 1: structured pruning along dim 0 then only sees rows 0, 2, 3
        pr.custom_from_mask(m, "weight", lib.tensor([[1, 1, 1], [0, 0, 0], [1, 0, 1], [1, 1, 0]]))
        pr.ln_structured(m, "weight", 1, 1, 0)
        pr.l1_unstructured(m, "weight", 0.5)
        pr.custom_from_mask(m, "weight", lib.ones(4, 3).bool())
        pr.identity(m, "weight")
        c = next(iter(m._forward_pre_hooks.values()))
        out = snapshot(m) + [len(c), type(c[0]).__name__, [type(x).__name__ for x in c[1:3]]]
        # a container built by hand: its name comes from the single method; several methods need one set first
        a, b = pr.L1Unstructured(1), pr.RandomStructured(1, dim=1)
        a._tensor_name = b._tensor_name = "w"
        one = pr.PruningContainer(a)
        one.add_pruning_method(b)
        t = lib.tensor([[0.5, -2.0, 3.0], [1.0, 0.25, -4.0]])
        out += [one._tensor_name, len(one), one.compute_mask(t[:, :2], lib.ones(2, 2)), lib.rand(1)]
        one.add_pruning_method(None)
        return out + [len(one), one[-1]]
        return out
    same(run)
    same_error(lambda lib, pr: pr.PruningContainer(pr.Identity()).add_pruning_method(3))
    same_error(lambda lib, pr: pr.PruningContainer().add_pruning_method(pr.Identity()))

    def wrong_name(lib, pr):
        a, b = pr.Identity(), pr.Identity()
        a._tensor_name, b._tensor_name = "w", "b"
        pr.PruningContainer(a).add_pruning_method(b)
    with pytest.raises(ValueError, match=r"^Can only add pruning methods acting on the parameter named 'w' to "
                                         r"PruningContainer <ember\.nn\.utils\.prune\.PruningContainer object at "):
        wrong_name(ember, prune_of(ember))


def test_importance_scores():
    def run(lib, pr):
        lib.manual_seed(4)
        m = lib.nn.Linear(4, 3)
        scores = lib.arange(12.0).view(3, 4).flip(1)
        pr.l1_unstructured(m, "weight", 5, importance_scores=scores)
        pr.ln_structured(m, "weight", 1, 2, 1, importance_scores=-scores.t().contiguous().t())
        pr.l1_unstructured(m, "bias", 1, importance_scores=lib.tensor([3.0, -1.0, 2.0]))
        return snapshot(m) + snapshot(m, "bias")
    same(run)
    same_error(lambda lib, pr: pr.l1_unstructured(lib.nn.Linear(4, 3), "weight", 2, importance_scores=lib.ones(4, 3)))
    same_error(lambda lib, pr: pr.L1Unstructured(1).prune(lib.ones(2, 2), importance_scores=lib.ones(4)))


def test_global_unstructured():
    def run(lib, pr):
        lib.manual_seed(5)
        a, b = lib.nn.Linear(4, 3), lib.nn.Conv2d(1, 2, 2)
        pr.random_unstructured(a, "weight", 3)
        params = [(a, "weight"), (b, "weight"), (b, "bias")]
        pr.global_unstructured(params, pruning_method=pr.L1Unstructured, amount=0.3)
        pr.global_unstructured(params[:2], pr.RandomUnstructured, amount=4)
        scores = {(b, "bias"): lib.tensor([100.0, -0.0])}
        pr.global_unstructured(params, pr.L1Unstructured, importance_scores=scores, amount=2)
        return snapshot(a) + snapshot(b) + snapshot(b, "bias") + [lib.rand(2)]
    same(run)
    same_error(lambda lib, pr: pr.global_unstructured(((lib.nn.Linear(2, 2), "weight"),), pr.LnStructured, amount=1,
                                                     n=2))
    same_error(lambda lib, pr: pr.global_unstructured(3, pr.L1Unstructured, amount=1))
    # the parameters are walked twice, so a one-shot iterator leaves nothing for the masks
    same_error(lambda lib, pr: pr.global_unstructured(iter([(lib.nn.Linear(2, 2), "weight")]), pr.L1Unstructured,
                                                     amount=1))
    same_error(lambda lib, pr: pr.global_unstructured([(lib.nn.Linear(2, 2), "weight")], pr.L1Unstructured,
                                                     importance_scores=[], amount=1))
    same_error(lambda lib, pr: pr.global_unstructured([(lib.nn.Linear(2, 2), "weight")], pr.L1Unstructured,
                                                     amount=5))


def test_forward_backward_hook_recomputes_weight():
    def run(lib, pr):
        lib.manual_seed(6)
        m = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.ReLU(), lib.nn.Linear(3, 2))
        pr.l1_unstructured(m[0], "weight", 0.5)
        pr.random_structured(m[2], "weight", 1, 1)
        x = lib.randn(5, 4)
        y = m(x)
        y.pow(2).sum().backward()
        out = [y, m[0].weight_orig.grad, m[2].weight_orig.grad, m[0].weight.requires_grad, m[0].weight.is_leaf,
               type(m[0].weight).__name__, m[0].weight.grad_fn.name(), pr.is_pruned(m), pr.is_pruned(m[1])]
        with lib.no_grad():
            m[0].weight_orig.fill_(1.0)
        before = m[0].weight.clone()
        return out + [before, m(x), m[0].weight, len(m[0]._forward_pre_hooks)]
    same(run, rtol=1e-6)  # matmul rounding may differ by an ulp


def test_remove_and_is_pruned():
    def run(lib, pr):
        lib.manual_seed(7)
        m = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Linear(3, 1))
        orig = m[0].weight
        pr.random_unstructured(m[0], "weight", 4)
        pr.ln_structured(m[0], "weight", 1, 1, 0)
        pr.identity(m[1], "bias")
        out = [pr.is_pruned(m), pr.is_pruned(m[0]), m[0].weight_orig is orig]
        assert pr.remove(m[0], "weight") is m[0]
        w = m[0].weight
        out += [pr.is_pruned(m), pr.is_pruned(m[0]), w is orig, type(w).__name__, w.requires_grad, w,
                list(m.state_dict()), hooks(m[1]), len(m[0]._forward_pre_hooks)]
        pr.remove(m[1], "bias")
        return out + [pr.is_pruned(m), list(m.state_dict())]
    same(run)
    same_error(lambda lib, pr: pr.remove(lib.nn.Linear(2, 2), "weight"))

    def no_hook(lib, pr):
        m = lib.nn.Linear(2, 2)
        pr.identity(m, "weight")
        pr.remove(m, "bias")
    same_error(no_hook)


def test_state_dict_load_and_deepcopy():
    def run(lib, pr):
        lib.manual_seed(8)
        src, dst = lib.nn.Linear(4, 2), lib.nn.Linear(4, 2)
        pr.l1_unstructured(src, "weight", 3)
        pr.identity(dst, "weight")
        keys = dst.load_state_dict(src.state_dict())
        out = [list(keys.missing_keys), list(keys.unexpected_keys), dst(lib.ones(1, 4)), dst.weight_mask]
        with lib.no_grad():  # with grad on, the computed ``weight`` is no graph leaf and refuses deepcopy
            pr.l1_unstructured(src, "weight", 1)
        twin = copy.deepcopy(src)
        with lib.no_grad():
            twin.weight_orig.add_(1.0)
        out += [twin(lib.ones(1, 4)), src(lib.ones(1, 4)), twin.weight, src.weight, hooks(twin)]
        pr.random_unstructured(twin, "weight", 1)
        return out + [hooks(twin), hooks(src), twin.weight_mask, src.weight_mask]
    same(run)

    def copy_non_leaf(lib, pr):
        m = lib.nn.Linear(4, 2)
        pr.l1_unstructured(m, "weight", 3)
        copy.deepcopy(m)
    same_error(copy_non_leaf)


def test_custom_methods_by_subclassing():
    def run(lib, pr):
        class EveryOther(pr.BasePruningMethod):
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        class FirstChannel(pr.BasePruningMethod):
            PRUNING_TYPE = "structured"

            def __init__(self, dim):
                self.dim = dim

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.select(self.dim, 0).zero_()
                return mask

        lib.manual_seed(9)
        m = lib.nn.Linear(4, 3)
        EveryOther.apply(m, "weight")
        FirstChannel.apply(m, "weight", -1)
        EveryOther.apply(m, "weight")
        out = snapshot(m) + [EveryOther().prune(lib.arange(1.0, 6.0))]
        out.append(FirstChannel(0).prune(lib.ones(3, 2), default_mask=lib.tensor([[0.0, 1.0]] * 3)))
        return out
    same(run)

    def no_dim(lib, pr):
        class NoDim(pr.BasePruningMethod):
            PRUNING_TYPE = "structured"

            def compute_mask(self, t, default_mask):
                return default_mask
        m = lib.nn.Linear(2, 2)
        pr.identity(m, "weight")
        NoDim.apply(m, "weight")
    same_error(no_dim)

    def bad_type(lib, pr):
        class Odd(pr.Identity):
            PRUNING_TYPE = "odd"
        m = lib.nn.Linear(2, 2)
        pr.identity(m, "weight")
        Odd.apply(m, "weight")
    same_error(bad_type)
    with pytest.raises(TypeError, match="Can't instantiate abstract class BasePruningMethod"):
        prune_of(ember).BasePruningMethod()


def test_prune_on_tensors():
    def run(lib, pr):
        lib.manual_seed(10)
        t = lib.randn(3, 4)
        default = lib.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]]).t()
        return [pr.L1Unstructured(0.5).prune(t), pr.L1Unstructured(2).prune(t, default_mask=default),
                pr.RandomUnstructured(3).prune(t, default), pr.LnStructured(1, 1, 0).prune(t, default, t.flip(1)),
                pr.RandomStructured(0.5, 1).prune(t), pr.CustomFromMask(lib.tensor([True, False, True])).prune(t[:, 0]),
                pr.Identity().prune(t, default), default, lib.rand(1)]
    same(run)


@pytest.mark.parametrize("amount", ["0.5", None, -1, 1.5, -0.1, 7, 0.5j])
def test_amount_validation(amount):
    same_error(lambda lib, pr: pr.random_unstructured(lib.nn.Linear(2, 3), "weight", amount))
    if amount != 7:
        same_error(lambda lib, pr: pr.RandomStructured(amount))


def test_errors_leave_the_module_intact():
    def run(lib, pr):
        m = lib.nn.Linear(2, 3)
        errors = []
        for call in (lambda: pr.l1_unstructured(m, "weight", 7), lambda: pr.ln_structured(m, "bias", 1, 2, 0),
                     lambda: pr.random_structured(m, "weight", 1, 2), lambda: pr.ln_structured(m, "weight", 4, 1, 0),
                     lambda: pr.custom_from_mask(m, "weight", lib.ones(3))):
            try:
                call()
            except Exception as e:  # noqa: BLE001 - the error type and message are compared
                errors.append((type(e).__name__, str(e).replace("torch.", "").replace("ember.", "")))
        return errors + [list(m.state_dict()), type(m.weight).__name__, len(m._forward_pre_hooks)]
    same(run)

    def after_pruning(lib, pr):
        m = lib.nn.Linear(2, 3)
        pr.identity(m, "weight")
        try:
            pr.random_unstructured(m, "weight", 9)
        except ValueError as e:
            return [str(e), list(m.state_dict()), hooks(m)]
        raise AssertionError("no error")
    same(after_pruning)


def test_l1_unstructured_tied_magnitudes():
    same(lambda lib, pr: [pr.l1_unstructured(lib.nn.LayerNorm(8), "weight", 3).weight_mask])
