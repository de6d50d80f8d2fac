"""Gaps found by running vision-tutorial-style programs (quickstart, fine-tuning, DCGAN, VAE, autograd/nn
pieces) under ember and torch with the same seed; each test distils one difference and compares with torch."""

from __future__ import annotations

import array
import collections
import copy
import math
import warnings
from typing import Any

import pytest

import ember
from oracle import torch


def test_deepcopy_parameter_drops_grad_and_attributes() -> None:
    """A fine-tuning program deep-copies a trained model: the copy's parameters have no ``.grad`` (torch
    rebuilds a Parameter from its data) while a plain tensor's grad is copied; strides are kept."""
    def run(lib: Any) -> tuple:
        p = lib.nn.Parameter(lib.ones(2))
        p.sum().backward()
        p.note = 1
        q = copy.deepcopy(p)
        t = lib.ones(2, requires_grad=True)
        t.sum().backward()
        m = lib.nn.Linear(2, 1)
        m(lib.ones(1, 2)).sum().backward()
        lazy = copy.deepcopy(lib.nn.LazyLinear(3)).weight
        return (type(q).__name__, q.grad, hasattr(q, "note"), q.requires_grad, copy.deepcopy(t).grad.tolist(),
                copy.deepcopy(m).weight.grad, copy.deepcopy(lib.ones(2, 3).t()).stride(),
                copy.deepcopy(lib.nn.Parameter(lib.ones(2, 3).t())).stride(), type(lazy).__name__)
    assert run(ember) == run(torch)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64", "complex64"])
def test_linspace_is_bit_exact(dtype: str) -> None:
    """The polynomial-fit tutorial samples ``linspace(-pi, pi, 2000)``: torch computes each value in the dtype
    with one fused multiply-add (half types round at every step), ember in float64 was a few ulp off."""
    for args in ((-math.pi, math.pi, 200), (0.1, 0.7, 33), (-3, 10.5, 101), (2, -5.3, 17)):
        e = ember.linspace(*args, dtype=getattr(ember, dtype))
        t = torch.linspace(*args, dtype=getattr(torch, dtype))
        assert e.dtype.name == dtype and e.view(-1).tolist() == t.view(-1).tolist(), args


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_pow_small_exponents_are_torch_products(dtype: str) -> None:
    """``x ** 3`` (the polynomial-fit tutorial), ``x ** -2`` and ``x ** -0.5`` are products and a reciprocal
    square root in torch's kernel (float16 in float32), not a correctly rounded ``pow``: same bits (bfloat16's
    ``x ** -0.5`` is still one rounding off torch's at a few values)."""
    t = (torch.linspace(-9.7, 9.3, 301, dtype=torch.float64) ** 1.0).to(getattr(torch, dtype))
    e = ember.tensor(t.double().numpy()).to(getattr(ember, dtype))
    for p in (3, -2, 3.0, 2) + ((-0.5,) if dtype != "bfloat16" else ()):
        te, tt = (e ** p).double(), (t ** p).double()
        assert te.isnan().tolist() == tt.isnan().tolist() and te.nan_to_num().tolist() == tt.nan_to_num().tolist(), p


def test_graph_node_names() -> None:
    """The autograd tutorial walks ``loss.grad_fn.next_functions`` and prints nodes' ``name()``: the C++ nodes
    torch has no Python class for are named with their namespace."""
    def run(lib: Any) -> tuple:
        x = lib.randn(2, 3, requires_grad=True)
        z = x.clone()
        z[0] = 1.0
        y = x * 2
        return z.grad_fn.name(), type(z.grad_fn).__name__, y.grad_fn.next_functions[0][0].name(), y.grad_fn.name()
    assert run(ember) == run(torch)


def test_index_with_range_and_other_sequences() -> None:
    """'What is torch.nn really' writes ``-input[range(target.shape[0]), target].mean()``: torch takes any
    sequence (range, deque, array) as an index tensor and an object with ``__index__`` as an int."""
    class One:
        def __index__(self) -> int:
            return 1

    def run(lib: Any) -> tuple:
        x = lib.arange(12.0).view(3, 4).requires_grad_()
        nll = -x[range(3), lib.tensor([0, 3, 1])].mean()
        nll.backward()
        y = x.detach().clone()
        y[range(2), collections.deque([1, 2])] = 0.0
        return (nll.item(), x.grad.tolist(), y.tolist(), x[range(0)].shape, x[One()].tolist(), x[One(), One()].item(),
                x[:, array.array("l", [3, 0])].tolist())
    assert run(ember) == run(torch)


def test_iterating_a_1d_tensor_gives_views() -> None:
    """The CIFAR tutorial loops ``for label, prediction in zip(labels, predictions)`` and calls ``max``/``sorted``
    on tensors: the elements are 0-d views of the 1-d tensor (in-place ops write through, reprs print)."""
    def run(lib: Any) -> tuple:
        t = lib.tensor([1.0, 5.0, 2.0])
        for x in t:
            x.mul_(2)
        t.unbind(0)[0].add_(10)
        return t.tolist(), repr(max(lib.tensor([1, 5, 2]))), repr(sorted(lib.tensor([3, 1, 2]))), list(t)[1]._base is t
    assert run(ember) == run(torch)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_spatial_transformer_grid_and_its_gradient(dtype: str) -> None:
    """The spatial-transformer tutorial starts from the identity ``theta``: its sampling points sit on pixel
    centres, where one ulp of ``affine_grid`` or of the pixel-index formula picks the other cell and changes the
    gradient of ``theta`` by O(1). The grid is torch's bit for bit; the gradient agrees to rounding."""
    g = torch.Generator().manual_seed(0)
    theta = torch.eye(2, 3, dtype=getattr(torch, dtype)).repeat(3, 1, 1)
    theta[1:] += 0.1 * torch.randn(2, 2, 3, generator=g, dtype=theta.dtype)
    img = torch.randn(3, 1, 28, 28, generator=g, dtype=theta.dtype)
    e_theta, e_img = ember.tensor(theta.numpy()).requires_grad_(), ember.tensor(img.numpy())
    theta.requires_grad_()
    for lib, th, im in ((torch, theta, img), (ember, e_theta, e_img)):
        grid = lib.nn.functional.affine_grid(th, (3, 1, 28, 28), align_corners=False)
        lib.nn.functional.grid_sample(im, grid, align_corners=False).pow(2).sum().backward()
    e_grid = ember.nn.functional.affine_grid(e_theta.detach(), (3, 1, 28, 28), align_corners=False)
    t_grid = torch.nn.functional.affine_grid(theta.detach(), (3, 1, 28, 28), align_corners=False)
    assert e_grid.tolist() == t_grid.tolist()
    assert torch.allclose(torch.from_numpy(e_theta.grad.numpy()), theta.grad, rtol=1e-4, atol=1e-4)


def test_dropout2d_and_3d_ranks() -> None:
    """``nn.Dropout2d`` on a 3-d (N, C, L) activation: torch warns and drops whole (N, C) channels, consuming
    N·C random numbers; dropout2d/3d only warn for other ranks, dropout3d adds a batch dim when unbatched;
    in place, an unbatched input is returned itself."""
    def run(lib: Any) -> list:
        F = lib.nn.functional
        out = []
        for fn, shape in ((F.dropout2d, (2, 3, 4)), (F.dropout2d, (2, 3)), (F.dropout2d, (1, 2, 1, 3, 2)),
                          (F.dropout3d, (2, 3)), (F.dropout3d, (2, 3, 1, 2)), (F.dropout1d, (2, 3))):
            lib.manual_seed(0)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                r = fn(lib.ones(shape), 0.5)
            out.append((r.flatten().tolist(), lib.rand(1).item(), [str(m.message)[:70] for m in w]))
        x = lib.ones(2, 3, 4, 1)
        out.append(F.dropout3d(x, 0.5, inplace=True) is x)
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions") as e:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                F.dropout2d(lib.ones(3), 0.5)
        return out + [str(e.value)]
    assert run(ember) == run(torch)


def test_saved_tensor_accessors_of_elementwise_nodes() -> None:
    """The saved-tensors tutorial reads ``y.grad_fn._saved_self`` / ``_saved_other`` / ``_saved_result``:
    the very input, a number operand as a 0-d tensor, the output (equal, another object, with its grad_fn);
    an attribute the node does not have is an AttributeError; after backward, torch's freed error."""
    def run(lib: Any) -> list:
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        b = lib.ones(3)
        y = x.exp()
        out = [repr((x * 2).grad_fn._saved_other), (x * x).grad_fn._saved_self is x, x.pow(2).grad_fn._saved_self is x,
               y.grad_fn._saved_result.equal(y), y.grad_fn._saved_result is y, repr(x.relu().grad_fn._saved_result),
               (x * b).grad_fn._saved_self, (x * b).grad_fn._saved_other.tolist()]
        missing = ((y.grad_fn, "_saved_self"), (x.sin().grad_fn, "_saved_result"), ((x * b).grad_fn, "_saved_result"))
        out += [hasattr(node, name) for node, name in missing]
        y.sum().backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.grad_fn._saved_result
        return out
    assert run(ember) == run(torch)


def test_common_training_mistakes_raise_torch_errors() -> None:
    """Errors users of the classifier tutorials hit: a float class-index target (shape checks come before the
    dtype's), a BCE target outside [0, 1], an integer/bool target for the logits BCE, a BatchNorm of the wrong
    width (running stats are checked first)."""
    def run(lib: Any) -> list:
        F = lib.nn.functional
        x, x3 = lib.zeros(4, 3), lib.zeros(2, 3, 4)
        cases = [lambda: F.cross_entropy(x, lib.zeros(4)), lambda: F.cross_entropy(x, lib.zeros(3)),
                 lambda: F.cross_entropy(x, lib.zeros(4, 2)),
                 lambda: F.cross_entropy(x, lib.zeros(4, 2, dtype=lib.int32)),
                 lambda: F.cross_entropy(x3, lib.zeros(2, 5)), lambda: F.cross_entropy(x3, lib.zeros(2, 4)),
                 lambda: F.binary_cross_entropy(lib.tensor([0.5]), lib.tensor([2.0])),
                 lambda: F.binary_cross_entropy(lib.tensor([0.5, 0.2]), lib.tensor([1.0, -1.0]), reduction="none"),
                 lambda: F.binary_cross_entropy_with_logits(lib.zeros(4), lib.ones(4, dtype=lib.long)),
                 lambda: F.binary_cross_entropy_with_logits(lib.zeros(4), lib.ones(4, dtype=lib.bool)),
                 lambda: F.binary_cross_entropy_with_logits(lib.zeros(4, dtype=lib.long), lib.ones(4)),
                 lambda: lib.nn.BatchNorm2d(3)(lib.ones(2, 4, 2, 2))]
        out = []
        for case in cases:
            with pytest.raises((RuntimeError, ValueError, NotImplementedError)) as e:
                case()
            out.append((e.type.__name__, str(e.value)))
        return out
    assert run(ember) == run(torch)


def test_seed_and_conv_dtype_errors() -> None:
    """``torch.manual_seed`` takes anything ``int()`` takes (1.5, True, "3"); float64 data fed to a float32
    conv with a bias is told about the bias first; bernoulli's probability error is torch's full text."""
    def run(lib: Any) -> list:
        out = [lib.manual_seed(s).initial_seed() for s in (1.5, True, "3", -1.0)]
        conv = lib.nn.Conv2d(1, 2, 3)
        for x in (lib.ones(1, 1, 8, 8, dtype=lib.float64), lib.ones(1, 1, 8, 8, dtype=lib.long)):
            with pytest.raises(RuntimeError) as e:
                conv(x)
            out.append(str(e.value))
        with pytest.raises(RuntimeError) as e:
            lib.bernoulli(lib.tensor([1.5]))
        return out + [str(e.value)]
    assert run(ember) == run(torch)


def test_data_classes_are_generic() -> None:
    """Typed dataset code subclasses ``Dataset[int]`` / ``IterableDataset[int]`` / ``Sampler[int]``; a bare
    ``IterableDataset()`` is abstract, as torch's."""
    def run(lib: Any) -> list:
        data = lib.utils.data

        class Squares(data.Dataset[int]):
            def __len__(self) -> int:
                return 3

            def __getitem__(self, i: int) -> int:
                return i * i

        class Stream(data.IterableDataset[int]):
            def __iter__(self) -> Any:
                return iter([1, 2])

        class Backwards(data.Sampler[int]):
            def __iter__(self) -> Any:
                return iter([2, 1, 0])

        with pytest.raises(TypeError) as e:
            data.IterableDataset()
        return [[b.tolist() for b in data.DataLoader(Squares(), batch_size=2, sampler=Backwards())],
                list(data.DataLoader(Stream(), batch_size=None)), str(e.value),
                data.DataLoader[int].__origin__.__name__]
    assert run(ember) == run(torch)
