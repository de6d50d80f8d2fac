"""Resampling against torch: interpolate (every mode, align_corners, scale_factor / size /
recompute_scale_factor), Upsample modules, grid_sample, affine_grid, pixel (un)shuffle and channel shuffle:
values, gradients, grad_fn names, double backward, errors and reprs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as EF
from oracle import assert_close, assert_same_error, torch

tnn = torch.nn
TF = torch.nn.functional
RNG = np.random.default_rng(1)


def compare(fn, *xs: np.ndarray, dtype=np.float64, rtol=None, atol=None):
    """``fn(F, *tensors)`` under ember and torch: outputs, grad_fn names, and all input gradients."""
    ts = [torch.tensor(np.asarray(x, dtype=dtype), requires_grad=True) for x in xs]
    es = [ember.tensor(np.asarray(x, dtype=dtype), requires_grad=True) for x in xs]
    ot, oe = fn(TF, *ts), fn(EF, *es)
    assert_close(oe, ot, rtol, atol)
    assert oe.stride() == ot.stride()
    assert type(oe.grad_fn).__name__ == ot.grad_fn.name()
    cot = RNG.standard_normal(tuple(ot.shape)).astype(dtype)
    ot.backward(torch.tensor(cot))
    oe.backward(ember.tensor(cot))
    for e, t in zip(es, ts, strict=True):
        assert_close(e.grad, t.grad, rtol, atol)
        assert e.grad.stride() == t.grad.stride()


SIZES = [dict(scale_factor=2), dict(scale_factor=1.7), dict(size=5), dict(scale_factor=0.6),
         dict(scale_factor=1.7, recompute_scale_factor=True), dict(scale_factor=3)]
MODES = [("nearest", 2), ("nearest-exact", 2), ("bilinear", 2), ("bicubic", 2), ("linear", 1), ("trilinear", 3),
         ("nearest", 1), ("nearest", 3), ("nearest-exact", 1), ("nearest-exact", 3)]


@pytest.mark.parametrize("mode,nd", MODES)
@pytest.mark.parametrize("kw", SIZES, ids=str)
def test_interpolate(mode, nd, kw):
    x = RNG.standard_normal((2, 3) + (5, 4, 3)[:nd])
    aligns = [None] if mode.startswith("nearest") else [False, True]
    for al in aligns:
        compare(lambda F, t, a=al: F.interpolate(t, mode=mode, align_corners=a, **kw), x)


def test_interpolate_area_float32_and_per_dim_sizes():
    x = RNG.standard_normal((2, 3, 7, 6))
    compare(lambda F, t: F.interpolate(t, size=(3, 4), mode="area"), x)
    compare(lambda F, t: F.interpolate(t, scale_factor=0.5, mode="area"), x)
    compare(lambda F, t: F.interpolate(t, size=(9, 2), mode="bilinear", align_corners=True), x, dtype=np.float32)
    compare(lambda F, t: F.interpolate(t, scale_factor=(1.5, 0.7), mode="bicubic"), x, dtype=np.float32,
            atol=2e-5)
    compare(lambda F, t: F.interpolate(t, scale_factor=(2, 3), mode="nearest"), x, dtype=np.float32)
    compare(lambda F, t: F.interpolate(t, size=7, mode="linear"), x[0])
    compare(lambda F, t: F.interpolate(t, size=(3, 2, 5), mode="trilinear"), RNG.standard_normal((1, 2, 4, 3, 2)))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
@pytest.mark.parametrize("kw", [dict(size=(3, 5)), dict(scale_factor=0.3), dict(size=(13, 20)),
                                dict(scale_factor=(0.5, 1.7))], ids=str)
def test_interpolate_antialias(mode, kw):
    x = RNG.standard_normal((2, 3, 9, 11))
    for al in (False, True) if mode != "lanczos" else (False,):
        compare(lambda F, t, a=al: F.interpolate(t, mode=mode, align_corners=a, antialias=True, **kw), x)
    compare(lambda F, t: F.interpolate(t, mode=mode, antialias=True, **kw), x, dtype=np.float32)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_interpolate_antialias_to_one_column(mode):
    """torch's antialiased kernel gives every row of a one-column output the first row's values (channels-last
    inputs excepted) while its gradient is the true resize's: ember's outputs and gradients are torch's."""
    x = RNG.standard_normal((2, 3, 5, 7))
    for size in ((3, 1), (8, 1), (5, 1), (1, 1)):
        compare(lambda F, t, s=size: F.interpolate(t, size=s, mode=mode, antialias=True), x, dtype=np.float32)
        cl = [lib.tensor(x).contiguous(memory_format=lib.channels_last) for lib in (ember, torch)]
        assert_close(*(F.interpolate(t, size=size, mode=mode, antialias=True)
                       for F, t in zip((EF, TF), cl, strict=True)))
    compare(lambda F, t: F.interpolate(t[:, :, :, :1], size=(3, 1), mode=mode, antialias=True), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interpolate_antialias_bilinear_weights_bit_exact(dtype):
    """Antialiased bilinear weights are torch's bit for bit (computed with float32 roundings for float32 input):
    resizing one-hot rows reads them out exactly."""
    for n, o in ((28, 10), (32, 33), (19, 7), (100, 37), (37, 100), (300, 7)):
        eye = np.eye(n, dtype=dtype).reshape(n, 1, 1, n)
        got = EF.interpolate(ember.tensor(eye), size=(1, o), mode="bilinear", antialias=True).numpy()
        want = TF.interpolate(torch.tensor(eye), size=(1, o), mode="bilinear", antialias=True).numpy()
        assert np.array_equal(got, want), (n, o)


def _resample_outcome(lib, dtype: str, dims: int, mode: str, antialias: bool, channels_last: bool) -> str:
    x = lib.ones((2, 3) + (4,) * dims).to(getattr(lib, dtype))
    if channels_last:
        x = x.contiguous(memory_format=lib.channels_last if dims == 2 else lib.channels_last_3d)
    try:
        return str(lib.nn.functional.interpolate(x, size=(3,) * dims, mode=mode, antialias=antialias).dtype)
    except NotImplementedError as e:
        return str(e)


def test_interpolate_dtypes_refused_as_torch():
    """Complex inputs in every mode, float16/bfloat16 with antialiasing, integers (area mode through adaptive
    average pooling, channels-last kernel names too): torch's NotImplementedError, by kernel name."""
    cases = [(dt, 2, mode, aa, cl) for dt in ("complex64", "float16", "bfloat16", "int64")
             for mode in ("nearest", "bilinear", "bicubic", "area") for aa in (False, True) for cl in (False, True)
             if not aa or mode in ("bilinear", "bicubic")]
    cases += [("complex64", dims, mode, False, False) for dims, mode in ((1, "linear"), (1, "nearest"), (1, "area"),
                                                                         (3, "trilinear"), (3, "area"))]
    got = [_resample_outcome(ember, *c) for c in cases]
    want = [_resample_outcome(torch, *c) for c in cases]
    assert got == want
    for kind in ("avg", "max"):
        for x in (torch.ones(2, 3, 4, 4), torch.ones(2, 3, 4, 4).contiguous(memory_format=torch.channels_last)):
            for dt in ("complex64", "uint8"):
                fn = f"adaptive_{kind}_pool2d"
                assert_same_error(lambda f=fn, d=dt, a=x: getattr(EF, f)(ember.tensor(a.numpy()).contiguous(
                    memory_format=ember.channels_last if a.stride()[1] == 1 else ember.contiguous_format).to(
                    getattr(ember, d)), 2), lambda f=fn, d=dt, a=x: getattr(TF, f)(a.to(getattr(torch, d)), 2))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("scale,n", [(2.1, 6), (1.104, 4), (2.197, 4), (0.9, 10)])
def test_interpolate_nearest_scale_vs_exact_sizes(nd, scale, n):
    """Doubled or equal sizes reached through an inexact scale factor: torch's 2-d forward and every backward
    map them exactly, its 1-d/3-d forward scale by the factor."""
    x = RNG.standard_normal((1, 2) + (3,) * (nd - 1) + (n,))
    factors = [1.0] * (nd - 1) + [scale]
    for mode in ("nearest", "nearest-exact"):
        compare(lambda F, t, m=mode: F.interpolate(t, scale_factor=factors, mode=m), x)
        compare(lambda F, t, m=mode: F.interpolate(t, scale_factor=factors, mode=m), x, dtype=np.float32)


def test_interpolate_gradchecks():
    x = ember.tensor(RNG.standard_normal((1, 2, 4, 3)), requires_grad=True)
    for mode, al in [("bilinear", False), ("bicubic", True), ("nearest", None)]:
        f = (lambda t, m=mode, a=al: EF.interpolate(t, scale_factor=1.5, mode=m, align_corners=a))
        assert ember.autograd.gradcheck(f, (x,))
        assert ember.autograd.gradgradcheck(f, (x,))


INTERP_ERRORS = [
    lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest", align_corners=True),
    lambda F, x: F.interpolate(x, size=3, scale_factor=2),
    lambda F, x: F.interpolate(x),
    lambda F, x: F.interpolate(x, size=(3, 3, 3)),
    lambda F, x: F.interpolate(x, scale_factor=(2, 2, 2)),
    lambda F, x: F.interpolate(x, size=3, recompute_scale_factor=True),
    lambda F, x: F.interpolate(x, scale_factor=2, mode="linear"),
    lambda F, x: F.interpolate(x, scale_factor=2, mode="trilinear"),
    lambda F, x: F.interpolate(x[0], scale_factor=2, mode="bilinear"),
    lambda F, x: F.interpolate(x[0], scale_factor=2, mode="bicubic"),
    lambda F, x: F.interpolate(x[0, 0], scale_factor=2),
    lambda F, x: F.interpolate(x, scale_factor=2, mode="cubic"),
    lambda F, x: F.interpolate(x, scale_factor=2, mode="linear", antialias=True),
    lambda F, x: F.interpolate(x, size=0),
    lambda F, x: F.interpolate(x, size=(2.5, 3)),
    lambda F, x: F.interpolate(x, size=3, mode="lanczos", align_corners=True, antialias=True),
    lambda F, x: F.interpolate(x, size=3, mode="lanczos"),
    lambda F, x: F.interpolate(x[0], size=3, mode="lanczos", antialias=True),
    lambda F, x: F.interpolate(x[0], size=3, mode="lanczos"),
]


@pytest.mark.parametrize("i", range(len(INTERP_ERRORS)))
def test_interpolate_errors(i):
    x = RNG.standard_normal((1, 2, 4, 4))
    fn = INTERP_ERRORS[i]
    assert_same_error(lambda: fn(EF, ember.tensor(x)), lambda: fn(TF, torch.tensor(x)))


def test_upsample_modules_and_deprecated_functions():
    cases = ["Upsample(scale_factor=2)", "Upsample(size=(3, 4), mode='bilinear', align_corners=True)",
             "Upsample(scale_factor=(2, 1.5), mode='bicubic')", "UpsamplingNearest2d(scale_factor=2)",
             "UpsamplingBilinear2d(size=3)"]
    x = RNG.standard_normal((2, 3, 4, 5))
    for src in cases:
        mt, me = eval(f"tnn.{src}"), eval(f"nn.{src}")
        assert repr(me) == repr(mt)
        assert me.name == mt.name and me.align_corners == mt.align_corners
        compare(lambda F, t, m=(me, mt): (m[0] if F is EF else m[1])(t), x)
    for name in ("upsample", "upsample_nearest", "upsample_bilinear"):
        with warnings.catch_warnings(record=True) as wt:
            warnings.simplefilter("always")
            ot = getattr(TF, name)(torch.tensor(x), scale_factor=2)
        with warnings.catch_warnings(record=True) as we:
            warnings.simplefilter("always")
            oe = getattr(EF, name)(ember.tensor(x), scale_factor=2)
        assert_close(oe, ot)
        assert [str(w.message) for w in we] == [str(w.message) for w in wt]


# ---- grid_sample / affine_grid ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample(mode, padding_mode, align):
    x = RNG.standard_normal((2, 3, 5, 6))
    grid = RNG.uniform(-1.3, 1.3, (2, 4, 3, 2))
    compare(lambda F, a, g: F.grid_sample(a, g, mode, padding_mode, align), x, grid)
    if mode != "bicubic":
        x3 = RNG.standard_normal((2, 2, 4, 5, 3))
        grid3 = RNG.uniform(-1.3, 1.3, (2, 3, 2, 4, 3))
        compare(lambda F, a, g: F.grid_sample(a, g, mode, padding_mode, align), x3, grid3)


@pytest.mark.parametrize("padding_mode", ["border", "reflection", "zeros"])
def test_grid_sample_coordinates_on_bounds_and_folds(padding_mode):
    """Grid points exactly on the borders and reflection folds: torch's one-sided slopes."""
    x = RNG.standard_normal((2, 2, 4, 3))
    grid = np.round(RNG.uniform(-1.5, 1.5, (2, 5, 4, 2)) * 4) / 4
    for align in (False, True):
        compare(lambda F, a, g, al=align: F.grid_sample(a, g, "bilinear", padding_mode, al), x, grid)


def test_grid_sample_float32_gradchecks_and_errors():
    x = RNG.standard_normal((2, 3, 5, 6))
    grid = RNG.uniform(-1.1, 1.1, (2, 4, 3, 2))
    compare(lambda F, a, g: F.grid_sample(a, g, align_corners=False), x, grid, dtype=np.float32, atol=3e-5)
    a = ember.tensor(x[:1, :2], requires_grad=True)
    g = ember.tensor(grid[:1], requires_grad=True)
    f = (lambda a, g: EF.grid_sample(a, g, "bilinear", "reflection", True))
    assert ember.autograd.gradcheck(f, (a, g))
    assert ember.autograd.gradgradcheck(f, (a, g))
    et, tt = ember.tensor(x), torch.tensor(x)
    eg, tg = ember.tensor(grid), torch.tensor(grid)
    assert_same_error(lambda: EF.grid_sample(et, eg, "area", align_corners=False),
                      lambda: TF.grid_sample(tt, tg, "area", align_corners=False))
    assert_same_error(lambda: EF.grid_sample(et, eg, padding_mode="wrap", align_corners=False),
                      lambda: TF.grid_sample(tt, tg, padding_mode="wrap", align_corners=False))
    assert_same_error(lambda: EF.grid_sample(et, eg[..., :1], align_corners=False),
                      lambda: TF.grid_sample(tt, tg[..., :1], align_corners=False))
    assert_same_error(lambda: EF.grid_sample(et, eg[:1], align_corners=False),
                      lambda: TF.grid_sample(tt, tg[:1], align_corners=False))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        EF.grid_sample(et, eg)


@pytest.mark.parametrize("align", [False, True])
def test_affine_grid(align):
    compare(lambda F, t: F.affine_grid(t, (2, 3, 4, 5), align), RNG.standard_normal((2, 2, 3)))
    compare(lambda F, t: F.affine_grid(t, (2, 3, 4, 5, 2), align), RNG.standard_normal((2, 3, 4)))
    th = ember.tensor(RNG.standard_normal((1, 2, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: EF.affine_grid(t, (1, 1, 3, 2), align), (th,))


def test_affine_grid_errors_and_warnings():
    th = RNG.standard_normal((2, 2, 3))
    for fn in [lambda F, t: F.affine_grid(t, (2, 3, 4, 5, 6), False), lambda F, t: F.affine_grid(t, (2, 3), False),
               lambda F, t: F.affine_grid(t, (2, 3, 0, 5), False),
               lambda F, t: F.affine_grid(t.long(), (2, 3, 4, 5), False)]:
        assert_same_error(lambda f=fn: f(EF, ember.tensor(th)), lambda f=fn: f(TF, torch.tensor(th)))
    with pytest.warns(UserWarning, match="unit-size grids"):
        EF.affine_grid(ember.tensor(th), (2, 3, 1, 5), True)


# ---- shuffles --------------------------------------------------------------------------------------------
def test_pixel_and_channel_shuffle():
    compare(lambda F, x: F.pixel_shuffle(x, 2), RNG.standard_normal((2, 8, 3, 4)))
    compare(lambda F, x: F.pixel_shuffle(x, 3), RNG.standard_normal((9, 2, 3)))
    compare(lambda F, x: F.pixel_unshuffle(x, 2), RNG.standard_normal((2, 3, 4, 6)))
    compare(lambda F, x: F.pixel_unshuffle(x, 2), RNG.standard_normal((2, 2, 3, 4, 6)))
    compare(lambda F, x: F.channel_shuffle(x, 3), RNG.standard_normal((2, 6, 3, 4)))
    compare(lambda F, x: F.channel_shuffle(x, 2), RNG.standard_normal((2, 4, 3)))
    x = ember.tensor(RNG.standard_normal((1, 8, 2, 2)), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: EF.pixel_shuffle(t, 2), (x,))
    for src in ["PixelShuffle(2)", "PixelUnshuffle(3)", "ChannelShuffle(2)"]:
        assert repr(eval(f"nn.{src}")) == repr(eval(f"tnn.{src}"))
    y = RNG.standard_normal((2, 4, 4, 4))
    assert_close(nn.ChannelShuffle(2)(ember.tensor(y)), tnn.ChannelShuffle(2)(torch.tensor(y)))
    assert_close(nn.PixelShuffle(2)(ember.tensor(y)), tnn.PixelShuffle(2)(torch.tensor(y)))
    assert_close(nn.PixelUnshuffle(2)(ember.tensor(y)), tnn.PixelUnshuffle(2)(torch.tensor(y)))
    assert_close(EF.native_channel_shuffle(ember.tensor(y), 2), TF.native_channel_shuffle(torch.tensor(y), 2))


SHUFFLE_ERRORS = [
    lambda F, t: F.pixel_shuffle(t[0, 0], 2),
    lambda F, t: F.pixel_shuffle(t[:, :5], 2),
    lambda F, t: F.pixel_shuffle(t, 0),
    lambda F, t: F.pixel_unshuffle(t[..., :3, :], 2),
    lambda F, t: F.pixel_unshuffle(t[..., :5], 2),
    lambda F, t: F.pixel_unshuffle(t[0, 0], 2),
    lambda F, t: F.pixel_unshuffle(t, 0),
    lambda F, t: F.channel_shuffle(t[:, :5], 2),
    lambda F, t: F.channel_shuffle(t, 0),
    lambda F, t: F.channel_shuffle(t[0, 0, 0], 2),
    lambda F, t: F.channel_shuffle(t[0, 0], 2),
]


@pytest.mark.parametrize("i", range(len(SHUFFLE_ERRORS)))
def test_shuffle_errors(i):
    x = RNG.standard_normal((2, 8, 4, 6))
    fn = SHUFFLE_ERRORS[i]
    assert_same_error(lambda: fn(EF, ember.tensor(x)), lambda: fn(TF, torch.tensor(x)))
