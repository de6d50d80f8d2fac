"""Convolutions against torch: conv1d/2d/3d and conv_transpose1d/2d/3d over stride/padding/dilation/groups
combinations (outputs, input/weight/bias gradients, grad_fn names), double backward, gradcheck and
gradgradcheck in float64, unfold/fold, the modules (bit-exact init, reprs, state_dict keys, padding modes,
output_size, lazy forms) and torch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from oracle import assert_close, assert_same_error, to_ember, torch

tnn, TF = torch.nn, torch.nn.functional
RNG = np.random.default_rng(0)


def _pair(shape: tuple, dtype: str = "float64", rg: bool = True, noncontig: bool = False) -> tuple:
    """The same random values as an (ember, torch) pair; ``noncontig`` gives both a transposed view."""
    if noncontig:
        a = RNG.standard_normal(shape[:-2] + (shape[-1], shape[-2])).astype(dtype)
        e, t = ember.tensor(a).transpose(-1, -2), torch.tensor(a).transpose(-1, -2)
        assert not e.is_contiguous()
    else:
        a = RNG.standard_normal(shape).astype(dtype)
        e, t = ember.tensor(a), torch.tensor(a)
    return (e.requires_grad_(rg), t.requires_grad_(rg)) if rg else (e, t)


def _run(fname: str, xs: tuple, ws: tuple, bias: bool, dtype: str = "float64", noncontig: bool = False,
         **kw: object) -> None:
    """Forward, grad_fn name, and backward of a fixed random cotangent: all compared with torch."""
    ex, tx = _pair(xs, dtype, noncontig=noncontig)
    ew, tw = _pair(ws, dtype)
    bias_size = kw.pop("bias_size")
    eb, tb = _pair((bias_size,), dtype) if bias else (None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = getattr(TF, fname)(tx, tw, tb, **kw)
        ey = getattr(F, fname)(ex, ew, eb, **kw)
    tol = {} if dtype == "float64" else {"rtol": 1e-4, "atol": 1e-4}
    assert_close(ey, ty, **tol)
    assert type(ey.grad_fn).__name__ == type(ty.grad_fn).__name__
    assert ey.is_contiguous()
    cot = RNG.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(cot))
    ey.backward(ember.tensor(cot))
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        if t is not None:
            assert_close(e.grad, t.grad, **tol)


CONV_CASES = [
    # (function, input shape, weight shape, kwargs)
    ("conv1d", (2, 3, 9), (4, 3, 3), {}),
    ("conv1d", (2, 4, 11), (6, 2, 4), dict(stride=2, padding=3, dilation=2, groups=2)),
    ("conv1d", (3, 10), (5, 3, 3), dict(padding="same", dilation=3)),
    ("conv1d", (2, 3, 10), (5, 3, 4), dict(padding="same")),
    ("conv2d", (2, 3, 7, 6), (4, 3, 3, 2), {}),
    ("conv2d", (2, 3, 8, 7), (4, 3, 3, 3), dict(stride=(2, 3), padding=(1, 2))),
    ("conv2d", (1, 4, 9, 8), (6, 2, 2, 3), dict(stride=2, padding=1, dilation=(2, 1), groups=2)),
    ("conv2d", (2, 4, 7, 7), (8, 1, 3, 3), dict(padding=1, groups=4)),   # depthwise, multiplier 2
    ("conv2d", (2, 3, 5, 5), (4, 3, 1, 1), dict(stride=2)),
    ("conv2d", (3, 6, 5), (2, 3, 2, 2), dict(padding="same", dilation=2)),
    ("conv2d", (2, 2, 6, 5), (3, 2, 4, 2), dict(padding="same")),
    ("conv2d", (2, 2, 6, 5), (3, 2, 3, 3), dict(padding="valid", stride=(1, 2))),
    ("conv2d", (2, 3, 4, 4), (2, 3, 4, 4), {}),   # kernel covers the input
    ("conv3d", (1, 2, 5, 4, 6), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=(1, 0, 2))),
    ("conv3d", (2, 4, 4, 5, 4), (4, 2, 3, 1, 2), dict(dilation=(1, 2, 2), groups=2)),
    ("conv3d", (2, 4, 4, 4), (2, 2, 2, 2, 2), {}),
]

TRANSPOSE_CASES = [
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), dict(stride=3, padding=1, output_padding=2)),
    ("conv_transpose1d", (4, 6), (4, 2, 2), dict(groups=2, dilation=3)),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 2), {}),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 2), dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 2),
                                                         groups=2)),
    ("conv_transpose2d", (1, 4, 4, 5), (4, 1, 3, 3), dict(stride=2, padding=1, output_padding=(0, 1), groups=4,
                                                         dilation=(2, 1))),
    ("conv_transpose2d", (2, 3, 3, 3), (3, 2, 1, 1), dict(stride=2)),
    ("conv_transpose3d", (1, 2, 3, 4, 3), (2, 3, 2, 3, 2), dict(stride=2, padding=1, output_padding=1)),
]


@pytest.mark.parametrize("fname,xs,ws,kw", CONV_CASES + TRANSPOSE_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch(fname, xs, ws, kw, bias):
    transposed = "transpose" in fname
    out_c = ws[1] * kw.get("groups", 1) if transposed else ws[0]
    _run(fname, xs, ws, bias, bias_size=out_c, **kw)


@pytest.mark.parametrize("fname,xs,ws,kw", [CONV_CASES[5], CONV_CASES[7], TRANSPOSE_CASES[3]])
def test_float32_and_noncontiguous(fname, xs, ws, kw):
    out_c = ws[1] * kw.get("groups", 1) if "transpose" in fname else ws[0]
    _run(fname, xs, ws, True, dtype="float32", bias_size=out_c, **kw)
    _run(fname, xs, ws, True, dtype="float64", noncontig=True, bias_size=out_c, **kw)


def test_float32_result_dtype_and_values():
    ex, tx = _pair((4, 3, 10, 10), "float32", rg=False)
    ew, tw = _pair((8, 3, 3, 3), "float32", rg=False)
    ey, ty = F.conv2d(ex, ew, padding=1), TF.conv2d(tx, tw, padding=1)
    assert ey.dtype is ember.float32
    assert_close(ey, ty, rtol=1e-5, atol=1e-5)


def test_integer_conv():
    x = RNG.integers(-5, 5, (2, 3, 5, 5))
    w = RNG.integers(-3, 3, (4, 3, 2, 2))
    ey = F.conv2d(ember.tensor(x), ember.tensor(w), stride=2)
    assert_close(ey, TF.conv2d(torch.tensor(x), torch.tensor(w), stride=2))


def test_zero_batch():
    ex, tx = _pair((0, 3, 5, 5), rg=False)
    ew, tw = _pair((4, 3, 3, 3), rg=False)
    assert_close(F.conv2d(ex, ew), TF.conv2d(tx, tw))


# ---- gradcheck / double backward -----------------------------------------------------------------
def _t(*shape: int) -> ember.Tensor:
    return ember.tensor(RNG.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("fn,shapes", [
    (lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2), ((2, 4, 5, 4),
                                                                                               (6, 2, 3, 2), (6,))),
    (lambda x, w, b: F.conv1d(x, w, b, padding="same"), ((2, 2, 5), (3, 2, 2), (3,))),
    (lambda x, w, b: F.conv3d(x, w, b, stride=2, padding=1), ((1, 2, 3, 3, 3), (2, 2, 2, 2, 2), (2,))),
    (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
     ((2, 4, 3, 3), (4, 3, 3, 2), (6,))),
    (lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, dilation=2), ((2, 2, 4), (2, 3, 2), (3,))),
])
def test_gradcheck_gradgradcheck(fn, shapes):
    inputs = tuple(_t(*s) for s in shapes)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("transposed", [False, True])
def test_double_backward_matches_torch(transposed):
    xs, ws = ((2, 4, 5, 4), (4, 3, 3, 2)) if transposed else ((2, 4, 5, 4), (6, 2, 3, 2))
    kw = dict(stride=(2, 1), padding=1, groups=2)
    if transposed:
        kw["output_padding"] = (1, 0)
    x, w, b = RNG.standard_normal(xs), RNG.standard_normal(ws), RNG.standard_normal(6)
    res = {}
    for lib in (ember, torch):
        fn = lib.nn.functional.conv_transpose2d if transposed else lib.nn.functional.conv2d
        X, W, B = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        y = fn(X, W, B, **kw)
        cot = lib.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)), requires_grad=True)
        gx, gw, gb = lib.autograd.grad(y, (X, W, B), cot, create_graph=True)
        res[lib.__name__] = [type(gx.grad_fn).__name__, type(gw.grad_fn).__name__]
        (gx.pow(2).sum() + gw.sin().sum() + gb.pow(2).sum()).backward()
        res[lib.__name__] += [X.grad, W.grad, cot.grad]
    e, t = res["ember"], res["torch"]
    assert e[:2] == t[:2] == ["ConvolutionBackwardBackward0"] * 2
    for a, b in zip(e[2:], t[2:], strict=True):
        assert_close(a, b)


# ---- unfold / fold -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 5, 6), dict(kernel_size=(2, 3))),
    ((2, 3, 7, 6), dict(kernel_size=3, dilation=(2, 1), padding=1, stride=(2, 1))),
    ((3, 5, 5), dict(kernel_size=2, stride=2)),
    ((1, 2, 4, 5), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
])
def test_unfold(shape, kw):
    ex, tx = _pair(shape)
    ey, ty = F.unfold(ex, **kw), TF.unfold(tx, **kw)
    assert_close(ey, ty)
    assert type(ey.grad_fn).__name__ == type(ty.grad_fn).__name__
    cot = RNG.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(cot))
    ey.backward(ember.tensor(cot))
    assert_close(ex.grad, tx.grad)
    if np.prod(shape) <= 100:   # keep finite differences cheap
        assert gradgradcheck(lambda x: F.unfold(x, **kw), (_t(*shape),))


@pytest.mark.parametrize("shape,size,kw", [
    ((2, 12, 12), (5, 6), dict(kernel_size=2, padding=1, stride=2)),
    ((2, 18, 42), (6, 7), dict(kernel_size=3, dilation=(1, 2), padding=(1, 2))),
    ((8, 9), (4, 4), dict(kernel_size=2)),
    ((1, 8, 9), (4, 5), dict(kernel_size=2, dilation=(1, 2), padding=1, stride=2)),
])
def test_fold(shape, size, kw):
    ex, tx = _pair(shape)
    ey, ty = F.fold(ex, size, **kw), TF.fold(tx, size, **kw)
    assert_close(ey, ty)
    assert type(ey.grad_fn).__name__ == type(ty.grad_fn).__name__
    cot = RNG.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(cot))
    ey.backward(ember.tensor(cot))
    assert_close(ex.grad, tx.grad)
    if np.prod(shape) <= 100:
        assert gradgradcheck(lambda x: F.fold(x, size, **kw), (_t(*shape),))


# ---- modules -------------------------------------------------------------------------------------
MODULES = [
    ("Conv1d(3, 6, 4, padding='same')", (2, 3, 9)),
    ("Conv1d(4, 4, 3, stride=2, padding=2, padding_mode='circular', groups=4)", (4, 7)),
    ("Conv2d(3, 8, 3)", (2, 3, 8, 7)),
    ("Conv2d(4, 8, (3, 2), stride=2, padding=(1, 0), dilation=2, groups=2, bias=False, padding_mode='reflect')",
     (2, 4, 9, 8)),
    ("Conv2d(2, 4, 3, padding=1, padding_mode='replicate')", (2, 5, 6)),
    ("Conv2d(2, 4, 2, padding='same', padding_mode='reflect')", (1, 2, 5, 6)),
    ("Conv3d(2, 4, 2, padding='valid', padding_mode='circular')", (1, 2, 4, 4, 3)),
    ("Conv3d(2, 2, (1, 2, 3), stride=(1, 2, 1), padding=1, dtype=lib_mod.float64)", (1, 2, 3, 4, 4)),
    ("ConvTranspose1d(4, 6, 3, dilation=2)", (2, 4, 5)),
    ("ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2)", (2, 4, 4, 5)),
    ("ConvTranspose2d(3, 2, (2, 3), padding=(1, 0), bias=False)", (3, 4, 4)),
    ("ConvTranspose3d(2, 3, 2, stride=2)", (1, 2, 2, 3, 2)),
]


def _build(src: str, lib_mod: object) -> object:
    return eval(src, {"lib": lib_mod.nn, "lib_mod": lib_mod})


@pytest.mark.parametrize("src,shape", MODULES)
def test_module(src, shape):
    torch.manual_seed(0)
    tm = _build("lib." + src, torch)
    ember.manual_seed(0)
    em = _build("lib." + src, ember)
    assert repr(em) == repr(tm)
    tsd, esd = tm.state_dict(), em.state_dict()
    assert list(esd) == list(tsd)
    for k in tsd:   # same initial parameters, bit for bit
        np.testing.assert_array_equal(esd[k].numpy(), tsd[k].numpy())
    dtype = "float64" if "float64" in src else "float32"
    ex, tx = _pair(shape, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ey, ty = em(ex), tm(tx)
    assert_close(ey, ty, rtol=1e-5, atol=1e-5)
    cot = RNG.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(cot))
    ey.backward(ember.tensor(cot))
    assert_close(ex.grad, tx.grad, rtol=1e-4, atol=1e-4)
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters(), strict=True):
        assert_close(ep.grad, tp.grad, rtol=1e-4, atol=1e-4), n


def test_conv_transpose_output_size():
    torch.manual_seed(0)
    tm = tnn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    em = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    em.load_state_dict({k: to_ember(v) for k, v in tm.state_dict().items()})
    ex, tx = _pair((2, 3, 5, 5), "float32")
    for size in [(10, 9), (2, 4, 10, 10), [9, 10]]:
        assert_close(em(ex, output_size=size), tm(tx, output_size=size), rtol=1e-5, atol=1e-5)
    assert_close(em(ex[0], output_size=(4, 10, 10)), tm(tx[0], output_size=(4, 10, 10)), rtol=1e-5, atol=1e-5)
    for size in [(3,), (30, 30), (1, 2, 3)]:
        assert_same_error(lambda s=size: em(ex, output_size=s), lambda s=size: tm(tx, output_size=s))


@pytest.mark.parametrize("name,args,shape", [
    ("LazyConv1d", "(5, 3)", (2, 3, 7)),
    ("LazyConv2d", "(8, 3, padding=1, groups=2)", (2, 4, 5, 5)),
    ("LazyConv3d", "(2, 2, bias=False)", (3, 3, 3, 3)),
    ("LazyConvTranspose2d", "(6, 3, stride=2, groups=3)", (1, 3, 4, 4)),
])
def test_lazy(name, args, shape):
    torch.manual_seed(0)
    tm = eval(f"tnn.{name}{args}")
    ember.manual_seed(0)
    em = eval(f"nn.{name}{args}")
    assert repr(em) == repr(tm)
    assert em.has_uninitialized_params()
    ex, tx = _pair(shape, "float32", rg=False)
    assert_close(em(ex), tm(tx), rtol=1e-5, atol=1e-5)
    assert type(em).__name__ == type(tm).__name__ and repr(em) == repr(tm)
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(em.state_dict()[k].numpy(), v.numpy())


def test_unfold_fold_modules():
    for src in ["Unfold(2, padding=1)", "Unfold((2, 3), dilation=2, stride=(1, 2))"]:
        em, tm = eval(f"nn.{src}"), eval(f"tnn.{src}")
        assert repr(em) == repr(tm)
        ex, tx = _pair((2, 3, 6, 7), rg=False)
        assert_close(em(ex), tm(tx))
    em, tm = nn.Fold((4, 5), 2), tnn.Fold((4, 5), 2)
    assert repr(em) == repr(tm)
    ex, tx = _pair((2, 8, 12), rg=False)
    assert_close(em(ex), tm(tx))


# ---- errors --------------------------------------------------------------------------------------
def _err(call: str, x: tuple = (2, 3, 5, 5), w: tuple = (4, 3, 3, 3), b: tuple | None = None, xdt: str = "float32",
         wdt: str = "float32", bdt: str = "float32") -> None:
    a = RNG.standard_normal(x).astype(xdt)
    wa = RNG.standard_normal(w).astype(wdt)
    ba = RNG.standard_normal(b).astype(bdt) if b is not None else None
    envs = {}
    for lib, fmod in ((ember, F), (torch, TF)):
        envs[lib.__name__] = {"F": fmod, "x": lib.tensor(a), "w": lib.tensor(wa),
                              "b": None if ba is None else lib.tensor(ba)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error(lambda: eval(call, envs["ember"]), lambda: eval(call, envs["torch"]))


@pytest.mark.parametrize("call,kw", [
    ("F.conv2d(x, w)", dict(x=(5, 5))),
    ("F.conv2d(x, w)", dict(x=(1, 2, 3, 5, 5))),
    ("F.conv1d(x, w)", {}),
    ("F.conv1d(x, w)", dict(x=(2, 3, 5))),
    ("F.conv2d(x, w)", dict(w=(4, 2, 3, 3))),
    ("F.conv2d(x, w)", dict(w=(4, 3, 3))),
    ("F.conv2d(x, w)", dict(w=(4, 3))),
    ("F.conv2d(x, w)", dict(w=(4, 3, 3, 3, 3))),
    ("F.conv2d(x, w, groups=2)", {}),
    ("F.conv2d(x, w, groups=4)", dict(w=(3, 1, 3, 3))),
    ("F.conv2d(x, w, groups=4)", dict(x=(2, 4, 5, 5), w=(6, 1, 3, 3))),
    ("F.conv2d(x, w)", dict(w=(4, 3, 6, 6))),
    ("F.conv3d(x, w)", dict(x=(1, 3, 5, 5, 5), w=(2, 3, 7, 1, 1))),
    ("F.conv2d(x, w, stride=0)", {}),
    ("F.conv2d(x, w, padding=-1)", {}),
    ("F.conv2d(x, w, dilation=0)", {}),
    ("F.conv2d(x, w, dilation=-1)", {}),
    ("F.conv2d(x, w, groups=0)", {}),
    ("F.conv2d(x, w, padding='foo')", {}),
    ("F.conv2d(x, w, padding='same', stride=2)", {}),
    ("F.conv2d(x, w, stride=(1, 1, 1))", {}),
    ("F.conv2d(x, w, padding=(1, 1, 1))", {}),
    ("F.conv2d(x, w, b)", dict(b=(3,))),
    ("F.conv2d(x, w, b)", dict(b=(4, 1))),
    ("F.conv2d(x, w)", dict(xdt="float64")),
    ("F.conv2d(x, w)", dict(wdt="float64")),
    ("F.conv2d(x, w, b)", dict(b=(4,), bdt="float64")),
    ("F.conv_transpose2d(x, w)", {}),
    ("F.conv_transpose2d(x, w, b)", dict(w=(3, 3, 3, 3), b=(4,))),
    ("F.conv_transpose2d(x, w, output_padding=1)", dict(w=(3, 3, 3, 3))),
    ("F.conv_transpose2d(x, w, output_padding=(1, 0), stride=(1, 2))", dict(w=(3, 3, 3, 3))),
    ("F.conv_transpose1d(x, w, output_padding=1)", dict(x=(2, 3, 5), w=(3, 3, 3))),
    ("F.conv_transpose3d(x, w, output_padding=1)", dict(x=(1, 3, 3, 3, 3), w=(3, 3, 2, 2, 2))),
    ("F.conv_transpose2d(x, w, output_padding=-1)", dict(w=(3, 3, 3, 3))),
    ("F.conv_transpose2d(x, w, padding='same')", dict(w=(3, 3, 3, 3))),
    ("F.conv_transpose2d(x, w, groups=2)", dict(w=(3, 3, 3, 3))),
    ("F.conv_transpose2d(x, w)", dict(x=(5, 5), w=(3, 3, 3, 3))),
    ("F.unfold(x, 2)", dict(x=(2, 3, 4, 4, 4))),
    ("F.unfold(x, 6)", {}),
    ("F.unfold(x, 0)", {}),
    ("F.unfold(x, 2, stride=0)", {}),
    ("F.unfold(x, 2, padding=-1)", {}),
    ("F.unfold(x, 2, dilation=0)", {}),
    ("F.unfold(x, (2, 2, 2))", {}),
    ("F.fold(x, (5, 5), 2)", dict(x=(2, 13, 16))),
    ("F.fold(x, (5, 5), 2)", dict(x=(2, 12, 15))),
    ("F.fold(x, (5, 5), 6)", dict(x=(2, 36, 1))),
    ("F.fold(x, (5, 5), 2)", dict(x=(2, 2, 12, 16))),
])
def test_errors(call, kw):
    _err(call, **kw)


@pytest.mark.parametrize("src", [
    "Conv2d(3, 4, 3, groups=2)", "Conv2d(4, 3, 3, groups=2)", "Conv2d(4, 4, 3, groups=0)",
    "Conv2d(4, 4, 3, padding='foo')", "Conv2d(4, 4, 3, padding='same', stride=2)",
    "Conv2d(4, 4, 3, padding_mode='foo')", "ConvTranspose2d(4, 4, 3, padding_mode='reflect')",
])
def test_module_errors(src):
    # the messages print a Python set, whose order follows the hash seed of the process that compiled the module
    has_set = "foo" in src
    assert_same_error(lambda: eval(f"nn.{src}"), lambda: eval(f"tnn.{src}"), match_message=not has_set)
    if has_set:
        with pytest.raises(ValueError) as te:
            eval(f"tnn.{src}")
        with pytest.raises(ValueError) as ee:
            eval(f"nn.{src}")
        assert sorted(str(ee.value)) == sorted(str(te.value))


def test_module_input_rank_errors():
    assert_same_error(lambda: nn.Conv2d(4, 4, 3)(ember.zeros(4, 5)), lambda: tnn.Conv2d(4, 4, 3)(torch.zeros(4, 5)))
    assert_same_error(lambda: nn.LazyConv2d(4, 3)(ember.zeros(4, 5)), lambda: tnn.LazyConv2d(4, 3)(torch.zeros(4, 5)))


def test_same_padding_even_kernel_warns():
    with pytest.warns(UserWarning, match="even kernel lengths"):
        F.conv2d(ember.zeros(1, 1, 4, 4), ember.zeros(1, 1, 2, 2), padding="same")


def test_unbatched_grad_fn_and_version_check():
    ex, tx = _pair((3, 6, 5))
    ew, tw = _pair((2, 3, 3, 3))
    ey, ty = F.conv2d(ex, ew), TF.conv2d(tx, tw)
    assert type(ey.grad_fn).__name__ == type(ty.grad_fn).__name__ == "SqueezeBackward1"
    w = ember.ones(2, 3, 3, 3, requires_grad=True)
    x = ember.ones(1, 3, 5, 5, requires_grad=True)
    y = F.conv2d(x, w * 1)
    with ember.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_retain_graph_twice_and_torch_convolution():
    """The columns kept by the forward serve the first backward; a retained graph recomputes them."""
    ex, tx = _pair((2, 3, 6, 5))
    ew, tw = _pair((4, 3, 3, 3))
    ey = F.conv2d(ex, ew, stride=(1, 2), padding=1)
    ty = TF.conv2d(tx, tw, stride=(1, 2), padding=1)
    for _ in range(2):
        ey.sum().backward(retain_graph=True)
        ty.sum().backward(retain_graph=True)
        assert_close(ew.grad, tw.grad)
        assert_close(ex.grad, tx.grad)
    from ember.nn.functional._conv import convolution
    args = ([2, 1], [1, 0], [1, 1], True, [1, 0], 1)
    ew2, tw2 = _pair((3, 2, 3, 2))
    assert_close(convolution(ex, ew2, None, *args), torch.convolution(tx, tw2, None, *args))


# ---- depthwise (direct stride-1 formulation) and col2im by kernel offset -------------------------
DEPTHWISE_CASES = [
    ("conv1d", (2, 3, 9), (3, 1, 3), dict(padding=1, groups=3)),
    ("conv1d", (2, 3, 6), (3, 1, 2), dict(padding="same", dilation=3, groups=3)),   # asymmetric pads
    ("conv2d", (2, 4, 7, 6), (4, 1, 3, 3), dict(padding=1, groups=4)),
    ("conv2d", (1, 4, 5, 6), (4, 1, 2, 3), dict(padding=(3, 0), dilation=(1, 2), groups=4)),  # pad > kernel
    ("conv2d", (2, 3, 6, 5), (3, 1, 3, 2), dict(groups=3)),
    ("conv2d", (2, 4, 7, 6), (4, 1, 3, 3), dict(stride=2, padding=1, groups=4)),   # strided: im2col path
    ("conv3d", (2, 3, 4, 5, 4), (3, 1, 3, 2, 3), dict(padding=(1, 0, 2), dilation=(1, 2, 1), groups=3)),
    ("conv2d", (2, 1, 6, 5), (1, 1, 3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("fname,xs,ws,kw", DEPTHWISE_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_depthwise_matches_torch(fname, xs, ws, kw, bias):
    _run(fname, xs, ws, bias, bias_size=ws[0], **kw)


@pytest.mark.parametrize("fname,xs,ws,kw", [DEPTHWISE_CASES[2], DEPTHWISE_CASES[6]])
def test_depthwise_float32_and_noncontiguous(fname, xs, ws, kw):
    _run(fname, xs, ws, True, dtype="float32", bias_size=ws[0], **kw)
    _run(fname, xs, ws, True, dtype="float64", noncontig=True, bias_size=ws[0], **kw)


@pytest.mark.parametrize("fn,shapes", [
    (lambda x, w, b: F.conv2d(x, w, b, padding=(2, 1), dilation=(1, 2), groups=3), ((2, 3, 4, 5), (3, 1, 2, 2),
                                                                                     (3,))),
    (lambda x, w, b: F.conv1d(x, w, b, padding="same", groups=2), ((2, 2, 5), (2, 1, 4), (2,))),
    (lambda x, w, b: F.conv3d(x, w, b, padding=1), ((2, 2, 3, 4, 3), (3, 2, 3, 2, 2), (3,))),   # col2im
])
def test_depthwise_and_col2im_gradcheck_gradgradcheck(fn, shapes):
    inputs = tuple(_t(*s) for s in shapes)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_depthwise_double_backward_matches_torch():
    x, w, b = RNG.standard_normal((2, 4, 5, 6)), RNG.standard_normal((4, 1, 3, 2)), RNG.standard_normal(4)
    res = {}
    for lib in (ember, torch):
        X, W, B = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        y = lib.nn.functional.conv2d(X, W, B, padding=1, dilation=(1, 2), groups=4)
        cot = lib.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)), requires_grad=True)
        gx, gw, gb = lib.autograd.grad(y, (X, W, B), cot, create_graph=True)
        res[lib.__name__] = [type(gx.grad_fn).__name__, type(gw.grad_fn).__name__]
        (gx.pow(2).sum() + gw.sin().sum() + gb.pow(2).sum()).backward()
        res[lib.__name__] += [X.grad, W.grad, cot.grad]
    e, t = res["ember"], res["torch"]
    assert e[:2] == t[:2] == ["ConvolutionBackwardBackward0"] * 2
    for a, b in zip(e[2:], t[2:], strict=True):
        assert_close(a, b)
