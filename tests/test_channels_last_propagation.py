"""Memory-format propagation: on channels-last (3d) inputs, ops lay their outputs and input gradients out as
torch's CPU kernels do (channels-last kept by pools, norms, pads, resampling, shuffles, gelu; contiguous from
softmax, logsigmoid, rrelu, avg_pool3d...), with the values of the contiguous computation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import ember
from oracle import assert_close, assert_same_error

SHAPES_4D = [(2, 3, 6, 6), (1, 3, 6, 6), (2, 1, 6, 6), (2, 3, 1, 6)]
SHAPES_5D = [(2, 3, 4, 4, 4), (1, 1, 4, 4, 4)]


def _p2(x: Any) -> Any:
    return tuple(min(2, n) for n in x.shape[2:])


# name -> (rank, fn(lib, F, x)); fns receive a channels-last float32 leaf
CASES: dict[str, tuple[int, Callable[[Any, Any, Any], Any]]] = {
    "max_pool2d": (4, lambda lib, F, x: F.max_pool2d(x, _p2(x))),
    "max_pool2d_indices": (4, lambda lib, F, x: F.max_pool2d(x, _p2(x), return_indices=True)),
    "max_pool2d_padded": (4, lambda lib, F, x: F.max_pool2d(x, 3, 2, 1)),
    "avg_pool2d": (4, lambda lib, F, x: F.avg_pool2d(x, 3, 2, 1)),
    "avg_pool2d_tiled": (4, lambda lib, F, x: F.avg_pool2d(x, _p2(x))),
    "adaptive_avg_pool2d": (4, lambda lib, F, x: F.adaptive_avg_pool2d(x, (2, 3))),
    "adaptive_avg_pool2d_1": (4, lambda lib, F, x: F.adaptive_avg_pool2d(x, 1)),
    "adaptive_max_pool2d": (4, lambda lib, F, x: F.adaptive_max_pool2d(x, (2, 3), return_indices=True)),
    "fractional_max_pool2d": (4, lambda lib, F, x: F.fractional_max_pool2d(
        x, 1, output_size=x.shape[-2:], _random_samples=lib.zeros(x.shape[0], x.shape[1], 2))),
    "lp_pool2d": (4, lambda lib, F, x: F.lp_pool2d(x, 2, _p2(x))),
    "max_unpool2d": (4, lambda lib, F, x: F.max_unpool2d(*F.max_pool2d(x, _p2(x), return_indices=True), _p2(x))),
    "pixel_shuffle": (4, lambda lib, F, x: F.pixel_shuffle(lib.cat([x] * 4, 1), 2)),
    "pixel_unshuffle": (4, lambda lib, F, x: F.pixel_unshuffle(x, 1)),
    "channel_shuffle": (4, lambda lib, F, x: F.channel_shuffle(lib.cat([x, x], 1), 2)),
    "batch_norm": (4, lambda lib, F, x: F.batch_norm(x, None, None, training=True)),
    "batch_norm_eval": (4, lambda lib, F, x: F.batch_norm(x, lib.zeros(x.shape[1]), lib.ones(x.shape[1]) * 2)),
    "group_norm": (4, lambda lib, F, x: F.group_norm(x, 1, lib.ones(x.shape[1]) * 2, lib.ones(x.shape[1]))),
    "instance_norm": (4, lambda lib, F, x: F.instance_norm(x)),
    "pad_constant": (4, lambda lib, F, x: F.pad(x, (1, 2, 0, 1), value=3.0)),
    "pad_crop": (4, lambda lib, F, x: F.pad(x, (-1, 1))),
    "pad_reflect": (4, lambda lib, F, x: F.pad(x, (0, 0, 0, 0), mode="reflect")),
    "pad_replicate": (4, lambda lib, F, x: F.pad(x, (1, 1, 2, 0), mode="replicate")),
    "pad_circular": (4, lambda lib, F, x: F.pad(x, (1, 1, 1, 1), mode="circular")),
    "nearest": (4, lambda lib, F, x: F.interpolate(x, scale_factor=2)),
    "nearest_exact": (4, lambda lib, F, x: F.interpolate(x, size=(3, 5), mode="nearest-exact")),
    "bilinear": (4, lambda lib, F, x: F.interpolate(x, size=(3, 5), mode="bilinear")),
    "bicubic": (4, lambda lib, F, x: F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=True)),
    "bilinear_aa": (4, lambda lib, F, x: F.interpolate(x, size=(3, 3), mode="bilinear", antialias=True)),
    "area": (4, lambda lib, F, x: F.interpolate(x, size=(3, 3), mode="area")),
    "gelu": (4, lambda lib, F, x: F.gelu(x)),
    "gelu_tanh_double": (4, lambda lib, F, x: F.gelu(x.double(), approximate="tanh")),
    "relu": (4, lambda lib, F, x: F.relu(x)),
    "softmax": (4, lambda lib, F, x: F.softmax(x, 1)),
    "log_softmax_last": (4, lambda lib, F, x: F.log_softmax(x, -1)),
    "logsigmoid": (4, lambda lib, F, x: F.logsigmoid(x)),
    "rrelu": (4, lambda lib, F, x: F.rrelu(x)),
    "dropout2d": (4, lambda lib, F, x: F.dropout2d(x, 0.0)),
    "add_contiguous": (4, lambda lib, F, x: x + x.detach().contiguous()),
    "maximum_contiguous": (4, lambda lib, F, x: lib.maximum(x, x.detach().contiguous() * 0.5)),
    "local_response_norm": (4, lambda lib, F, x: F.local_response_norm(x, 2)),
    "cat_shared_format": (4, lambda lib, F, x: lib.cat([x, x * 2], 1)),
    "cat_mixed_formats": (4, lambda lib, F, x: lib.cat([x, x.detach().contiguous()], 0)),
    "where_condition_first": (4, lambda lib, F, x: lib.where(x > 0, x, x.detach().contiguous())),
    "addcmul_contiguous": (4, lambda lib, F, x: lib.addcmul(x, x.detach().contiguous(), x)),
    "lerp_contiguous": (4, lambda lib, F, x: lib.lerp(x, x.detach().contiguous(), 0.3)),
    "clamp_tensor_bound": (4, lambda lib, F, x: x.clamp(x.detach().contiguous() * 0 - 0.5)),
    "cumsum": (4, lambda lib, F, x: x.cumsum(1)),
    "cumprod_last": (4, lambda lib, F, x: x.cumprod(-1)),
    "erf": (4, lambda lib, F, x: lib.erf(x)),
    "tril": (4, lambda lib, F, x: x.tril()),
    "adaptive_avg_pool3d_1": (5, lambda lib, F, x: F.adaptive_avg_pool3d(x, 1)),
    "max_pool3d": (5, lambda lib, F, x: F.max_pool3d(x, 2, return_indices=True)),
    "avg_pool3d": (5, lambda lib, F, x: F.avg_pool3d(x, 2)),
    "adaptive_max_pool3d": (5, lambda lib, F, x: F.adaptive_max_pool3d(x, 2)),
    "batch_norm_3d": (5, lambda lib, F, x: F.batch_norm(x, None, None, training=True)),
    "group_norm_3d": (5, lambda lib, F, x: F.group_norm(x, 1)),
    "pad_3d": (5, lambda lib, F, x: F.pad(x, (1, 1, 1, 1, 1, 1))),
    "pad_3d_replicate": (5, lambda lib, F, x: F.pad(x, (1, 1, 1, 1, 1, 1), mode="replicate")),
    "trilinear": (5, lambda lib, F, x: F.interpolate(x, scale_factor=2, mode="trilinear")),
    "nearest_3d": (5, lambda lib, F, x: F.interpolate(x, size=(2, 3, 5))),
    "channel_shuffle_3d": (5, lambda lib, F, x: F.channel_shuffle(lib.cat([x, x], 1), 2)),
}

PARAMS = [(name, shape) for name, (rank, _) in CASES.items() for shape in (SHAPES_4D if rank == 4 else SHAPES_5D)]


def _input(lib: Any, shape: tuple[int, ...], channels_last: bool = True) -> Any:
    x = lib.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    if channels_last:
        x = x.contiguous(memory_format=lib.channels_last if len(shape) == 4 else lib.channels_last_3d)
    return x.requires_grad_()


def _outputs(r: Any) -> list:
    return list(r) if isinstance(r, tuple) else [r]


@pytest.mark.parametrize(("name", "shape"), PARAMS)
def test_output_and_gradient_layouts_match_torch(name: str, shape: tuple[int, ...]) -> None:
    fn = CASES[name][1]
    xe, xt = _input(ember, shape), _input(torch, shape)
    oe, ot = _outputs(fn(ember, ember.nn.functional, xe)), _outputs(fn(torch, torch.nn.functional, xt))
    for e, t in zip(oe, ot, strict=True):
        assert e.stride() == t.stride(), (e.stride(), t.stride())
        for fmt in ("channels_last", "channels_last_3d", "contiguous_format"):
            assert e.is_contiguous(memory_format=getattr(ember, fmt)) == \
                t.is_contiguous(memory_format=getattr(torch, fmt))
        assert_close(e, t, rtol=1e-5, atol=1e-6)
    if not (name.startswith("adaptive_avg_pool") and name.endswith("_1")):   # (a mean: its summation order
        # follows the layout, as torch's)
        # the same values as from the contiguous input
        base = _outputs(fn(ember, ember.nn.functional, _input(ember, shape, channels_last=False)))
        for e, b in zip(oe, base, strict=True):
            np.testing.assert_array_equal(e.detach().numpy(), b.detach().numpy())
    g = np.random.default_rng(1).standard_normal(tuple(ot[0].shape)).astype(np.float32)
    oe[0].backward(ember.tensor(g).to(oe[0].dtype))
    ot[0].backward(torch.tensor(g).to(ot[0].dtype))
    assert xe.grad.stride() == xt.grad.stride()
    assert_close(xe.grad, xt.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "pixel_shuffle", "bilinear", "batch_norm"])
def test_intermediate_gradient_layouts_match_torch(name: str) -> None:
    """The gradient reaching a channels-last non-leaf (as from a convolution) has torch's layout too."""
    fn = CASES[name][1]
    strides = []
    for lib in (ember, torch):
        x = _input(lib, (2, 3, 4, 4))
        y = x * 1
        out = fn(lib, lib.nn.functional, y)
        g, = lib.autograd.grad(out, y, lib.ones(tuple(out.shape)))
        strides.append(g.stride())
    assert strides[0] == strides[1]


def test_uint8_resampling_keeps_channels_last() -> None:
    a = np.arange(2 * 3 * 5 * 5, dtype=np.uint8).reshape(2, 3, 5, 5)
    for mode in ("nearest", "bilinear", "bicubic"):
        kw = {} if mode == "nearest" else {"antialias": True}
        e = ember.nn.functional.interpolate(ember.tensor(a).contiguous(memory_format=ember.channels_last),
                                             size=(3, 4), mode=mode, **kw)
        t = torch.nn.functional.interpolate(torch.tensor(a).contiguous(memory_format=torch.channels_last),
                                            size=(3, 4), mode=mode, **kw)
        assert e.stride() == t.stride()
        assert_close(e, t)


def test_pixel_shuffle_refuses_channels_last_3d() -> None:
    def run(lib: Any, op: str) -> Any:
        x = lib.ones(1, 4, 2, 2, 2).contiguous(memory_format=lib.channels_last_3d)
        return getattr(lib.nn.functional, op)(x, 2 if op == "pixel_shuffle" else 1)

    for op in ("pixel_shuffle", "pixel_unshuffle"):
        assert_same_error(lambda op=op: run(ember, op), lambda op=op: run(torch, op))


def test_adaptive_avg_pool_to_one_grad_fn_as_torch() -> None:
    names = []
    for lib in (ember, torch):
        out = lib.nn.functional.adaptive_avg_pool2d(_input(lib, (2, 3, 4, 4)), 1)
        names.append((type(out.grad_fn).__name__, type(out.grad_fn.next_functions[0][0]).__name__))
    assert names[0] == names[1]


def test_gelu_keeps_a_permuted_layout() -> None:
    outs = []
    for lib in (ember, torch):
        x = lib.tensor(np.linspace(-3, 3, 60, dtype=np.float32).reshape(4, 5, 3)).permute(2, 0, 1)
        outs.append(lib.nn.functional.gelu(x))
    assert outs[0].stride() == outs[1].stride()
    assert_close(outs[0], outs[1])


def test_binary_result_follows_first_operand_layout() -> None:
    """Operands laid out differently: torch's result takes the first one's layout (NumPy would pick C order)."""
    strides = []
    for lib in (ember, torch):
        a = lib.tensor(np.arange(12.0).reshape(3, 4))
        strides.append([(a.t() + a.t().contiguous()).stride(), (a.t() > a.t().contiguous()).stride(),
                        (a.t().contiguous() + a.t()).stride()])
    assert strides[0] == strides[1]


def test_clone_of_expanded_views_orders_dims_as_torch() -> None:
    """A copy of an expanded (0-stride) view: torch orders the dims by stride, an expanded dim by its index."""
    strides = []
    for lib in (ember, torch):
        b = lib.arange(24.0).reshape(2, 3, 4)
        x = lib.arange(96.0).reshape(2, 3, 4, 4).contiguous(memory_format=lib.channels_last)
        views = [b[:, :1].expand(2, 3, 4), b.permute(2, 0, 1)[:, :, :1].expand(4, 2, 3),
                 x[:, :1].expand(-1, 3, -1, -1), x[:, :, :1].expand(-1, -1, 4, -1), lib.ones(1, 3).expand(2, 3)]
        strides.append([v.clone().stride() for v in views])
    assert strides[0] == strides[1]


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_channels_last_resampling_gradcheck(mode: str) -> None:
    """Resampling in the storage order of a channels-last input: first and second derivatives."""
    x = ember.tensor(np.random.default_rng(2).standard_normal((1, 2, 3, 3))).contiguous(
        memory_format=ember.channels_last).requires_grad_()
    fn = lambda t: ember.nn.functional.interpolate(t, size=(4, 5), mode=mode)  # noqa: E731
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


# reductions and selections of a channels-last input: name -> fn(lib, x, dims, keepdim)
REDUCTIONS: dict[str, Callable[[Any, Any, tuple[int, ...], bool], Any]] = {
    "sum": lambda lib, x, d, k: x.sum(d, keepdim=k),
    "mean": lambda lib, x, d, k: x.mean(d, keepdim=k),
    "amax": lambda lib, x, d, k: x.amax(d, keepdim=k),
    "amin": lambda lib, x, d, k: x.amin(d, keepdim=k),
    "prod": lambda lib, x, d, k: x.prod(d[0], keepdim=k),
    "var": lambda lib, x, d, k: x.var(d, keepdim=k),
    "std_mean": lambda lib, x, d, k: lib.std_mean(x, d, keepdim=k),
    "norm": lambda lib, x, d, k: lib.linalg.vector_norm(x, dim=d, keepdim=k),
    "logsumexp": lambda lib, x, d, k: x.logsumexp(d, keepdim=k),
    "any": lambda lib, x, d, k: (x > 0).any(d, keepdim=k),
    "all": lambda lib, x, d, k: (x > -1).all(d, keepdim=k),
    "aminmax": lambda lib, x, d, k: lib.aminmax(x, dim=d[0], keepdim=k),
    "nanmedian": lambda lib, x, d, k: x.nanmedian(d[0], keepdim=k),
    "topk": lambda lib, x, d, k: x.topk(2, d[0]),
}
SINGLE_DIM = {"prod", "aminmax", "nanmedian", "topk"}
REDUCTION_PARAMS = [(name, dims, keepdim) for name in REDUCTIONS for dims in [(0,), (1,), (2, 3), (0, 2, 3), (3,)]
                    for keepdim in (False, True) if len(dims) == 1 or name not in SINGLE_DIM]


@pytest.mark.parametrize(("name", "dims", "keepdim"), REDUCTION_PARAMS)
def test_reductions_of_channels_last_are_contiguous_as_torch(name: str, dims: tuple[int, ...],
                                                              keepdim: bool) -> None:
    """torch's reductions (and topk) give C-contiguous results, size-1 dims' strides included."""
    fn = REDUCTIONS[name]
    e = _outputs(fn(ember, _input(ember, (2, 3, 4, 4)).detach(), dims, keepdim))
    t = _outputs(fn(torch, _input(torch, (2, 3, 4, 4)).detach(), dims, keepdim))
    base = _outputs(fn(ember, _input(ember, (2, 3, 4, 4), channels_last=False).detach(), dims, keepdim))
    for oe, ot, ob in zip(e, t, base, strict=True):
        assert oe.stride() == ot.stride()
        assert_close(oe, ot, rtol=1e-5, atol=1e-6)
        if name not in ("sum", "mean", "var", "std_mean", "norm", "logsumexp"):   # (a summation's order follows
            np.testing.assert_array_equal(oe.numpy(), ob.numpy())                  # the layout, as torch's)


@pytest.mark.parametrize("dim", range(4))
@pytest.mark.parametrize("op", ["sort", "argsort", "cummax", "msort"])
def test_sort_keeps_channels_last_as_torch(op: str, dim: int) -> None:
    def run(lib: Any) -> list:
        x = _input(lib, (2, 3, 4, 4)).detach()
        return _outputs(lib.msort(x) if op == "msort" else getattr(x, op)(dim))

    for e, t in zip(run(ember), run(torch), strict=True):
        assert e.stride() == t.stride()
        assert_close(e, t)


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (1, 3, 4, 4), (2, 3, 1, 4), (2, 3, 2, 2, 2)])
def test_stack_of_channels_last_as_torch(shape: tuple[int, ...]) -> None:
    """torch lays a stack out as the cat along ``dim`` in the inputs' format, that dim split in two."""
    for dim in range(len(shape) + 1):
        e, t = (lib.stack([_input(lib, shape), _input(lib, shape).detach() * 2], dim) for lib in (ember, torch))
        assert e.stride() == t.stride(), dim
        assert_close(e, t)
