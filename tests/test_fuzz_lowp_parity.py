"""Low-precision parity with torch (found by differential fuzzing): where torch's CPU kernels accumulate and
round float16/bfloat16 (and the float32/complex loops that accumulate in a wider type) bit for bit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import torch

RNG = np.random.default_rng(19)
ROWS = (RNG.standard_normal((5, 7)) * 3).astype(np.float32)
LONG = (RNG.standard_normal(1000) * 3).astype(np.float32)
SQUARE = (RNG.standard_normal((300, 300)) * 10 ** RNG.uniform(-3, 3, (300, 300))).astype(np.float32)
WIDE = (RNG.standard_normal(256) * 100).astype(np.float32)
COMPLEX = (LONG[:500] * 10 ** (LONG[500:] / 3) + 1j).astype(np.complex64)
CUBE = (RNG.standard_normal((4, 9, 13)) * 3).astype(np.float32)
FLIP = CUBE[::-1].copy()
SCAN = (np.random.default_rng(5).standard_normal(1000) * 3).astype(np.float32)   # float64 sums round otherwise


def _F(lib: Any) -> Any:
    return lib.nn.functional


def _same(got: Any, want: Any) -> None:
    if isinstance(want, tuple):
        for g, w in zip(got, want, strict=True):
            _same(g, w)
        return
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.detach().to(ember.complex128 if got.is_complex() else ember.float64).numpy(),
                                  want.detach().to(torch.complex128 if want.is_complex() else torch.float64).numpy())


CASES: dict[str, Callable[[Any], Any]] = {
    # scans accumulate in torch's accumulation type (16-bit in float32, complex64 in complex128), in order
    "cumsum_half": lambda L: L.tensor(SCAN).half().cumsum(0),
    "cumsum_complex64": lambda L: L.tensor(COMPLEX).cumsum(0),
    "logcumsumexp_half": lambda L: L.tensor(LONG).half().logcumsumexp(0),
    "logcumsumexp_float32": lambda L: L.tensor(LONG).logcumsumexp(0),
    "logcumsumexp_float64": lambda L: L.tensor(LONG).double().logcumsumexp(0),
    # trace: its loop sums the diagonal in order, float32 in double
    "trace_bfloat16": lambda L: L.tensor(SQUARE).bfloat16().trace(),
    "trace_float32": lambda L: L.tensor(SQUARE).trace(),
    "trace_float64": lambda L: L.tensor(SQUARE).double().div(3).trace(),
    # logsumexp of 16-bit floats rounds each step (shift, exp, sum, log, add) to the type
    "logsumexp_bfloat16": lambda L: L.tensor(ROWS).bfloat16().logsumexp(0),
    "logsumexp_half": lambda L: L.tensor(ROWS).half().logsumexp(1),
    # a rounding division by a number (or 0-d CPU tensor) divides in float32, the divisor not rounded first
    "div_trunc_number": lambda L: L.div(L.tensor(WIDE).half(), 0.1, rounding_mode="trunc"),
    "div_floor_number": lambda L: L.div(L.tensor(WIDE).bfloat16(), 0.3, rounding_mode="floor"),
    "floordiv_0d_float": lambda L: L.tensor(WIDE).half() // L.tensor(-2.2),
    "div_trunc_0d_half_": lambda L: L.tensor(WIDE).half().div_(L.tensor(0.3).half(), rounding_mode="trunc"),
    "floor_divide_": lambda L: L.tensor(WIDE).bfloat16().floor_divide_(1.0009765625),
    "number_floordiv": lambda L: 2.7 // L.tensor([2.703125, 1.0, 0.3]).bfloat16(),   # (the dividend is rounded)
    # by a tensor of several elements: each step (remainder, quotient, corrections) rounded to the type;
    # a single-element divisor (any shape) divides in float32
    "div_floor_tensors_bfloat16": lambda L: L.div(L.tensor(WIDE).bfloat16(), L.tensor(SCAN[:256]).bfloat16(),
                                                  rounding_mode="floor"),
    "floordiv_tensors_half": lambda L: L.tensor(WIDE).half() // L.tensor(SCAN[:256] / 7).half(),
    "div_floor_one_element_half": lambda L: L.div(L.tensor(WIDE).half(), L.tensor([0.1]).half(), rounding_mode="floor"),
    "div_trunc_one_element_bfloat16": lambda L: L.div(L.tensor(WIDE).bfloat16(), L.tensor([[0.3]]).bfloat16(),
                                                      rounding_mode="trunc"),
    # log_softmax over the last dim subtracts log(sum) rounded twice; softmax over another dim divides rounded
    # exps where the inner size leaves a scalar tail (under 16: all of it, on AVX2 and AVX512 and for any threads)
    "log_softmax_last_half": lambda L: L.log_softmax(L.tensor(CUBE).half(), -1),
    "log_softmax_last_bfloat16": lambda L: L.log_softmax(L.tensor(CUBE).bfloat16(), 2),
    "log_softmax_dim1_bfloat16": lambda L: L.log_softmax(L.tensor(CUBE).bfloat16(), 1),
    "softmax_inner_13_half": lambda L: L.softmax(L.tensor(CUBE).half(), 1),
    "softmax_inner_1_bfloat16": lambda L: L.softmax(L.tensor(CUBE[..., :1]).bfloat16(), 0),
    # losses torch computes in the 16-bit type (each step rounded) or as composites of steps in the tensors' dtypes
    "mse_half": lambda L: _F(L).mse_loss(L.tensor(CUBE).half(), L.tensor(FLIP).half(), reduction="none"),
    "mse_bfloat16_mean": lambda L: _F(L).mse_loss(L.tensor(CUBE).bfloat16(), L.tensor(FLIP).bfloat16() / 3),
    "smooth_l1_half": lambda L: _F(L).smooth_l1_loss(L.tensor(CUBE).half(), L.tensor(FLIP).half(), reduction="none",
                                                     beta=0.7),
    "huber_bfloat16": lambda L: _F(L).huber_loss(L.tensor(CUBE).bfloat16(), L.tensor(FLIP).bfloat16(), reduction="none",
                                                 delta=0.7),
    "soft_margin_half": lambda L: _F(L).soft_margin_loss(L.tensor(CUBE).half(), L.tensor(FLIP).half().sign(),
                                                         reduction="none"),
    "soft_margin_overflows": lambda L: _F(L).soft_margin_loss(L.tensor([-100.0, 3.0]), L.tensor([1.0, -1.0]),
                                                              reduction="none"),
    "bce_logits_bfloat16": lambda L: _F(L).binary_cross_entropy_with_logits(
        L.tensor(CUBE).bfloat16(), (L.tensor(FLIP) > 0).bfloat16(), L.tensor(ROWS[0, :1] + 4),
        pos_weight=L.tensor(ROWS[1, :1] + 4).bfloat16(), reduction="none"),
    "bce_logits_half_float_target": lambda L: _F(L).binary_cross_entropy_with_logits(
        L.tensor(CUBE).half(), (L.tensor(FLIP) > 0).float(), reduction="none"),
    # float16 batch norm normalises with its float16 statistics; the running ones are updated in double
    "batch_norm_half": lambda L: _batch_norm(L, L.float16),
    "instance_norm_half": lambda L: _F(L).instance_norm(L.tensor(CUBE[None]).half() + 1),
    # rms_norm: float32's eps for 16-bit inputs, the weight applied before the one rounding
    "rms_norm_half": lambda L: _F(L).rms_norm(L.tensor(CUBE).half() / 30, (13,)),
    "rms_norm_bfloat16_weight": lambda L: _F(L).rms_norm(L.tensor(CUBE).bfloat16(), (13,),
                                                         L.tensor(FLIP[0, 0]).bfloat16()),
    # 16-bit add/sub with alpha: the kernel's scalar tail (past its last 32-element step, per innermost loop)
    # rounds alpha·b to the type before adding
    "add_alpha_tail_half": lambda L: L.add(L.tensor(LONG[:991]).half(), L.tensor(SCAN[:991]).half(), alpha=0.1),
    "sub_alpha_rows_bfloat16": lambda L: L.sub(L.tensor(CUBE).bfloat16(), L.tensor(FLIP[0]).bfloat16(), alpha=1.7),
    "rsub_alpha_broadcast_half": lambda L: L.rsub(L.tensor(CUBE).half(), L.tensor(FLIP[:, :1]).half(), alpha=0.3),
    # torch's 16-bit erf (and float16 gelu, by erf) is Abramowitz & Stegun 7.1.26 in float32: wrong near 0
    "erf_half_small": lambda L: L.erf(L.tensor(SCAN[:200] * 10.0 ** (LONG[:200] - 3)).half()),
    "erf_bfloat16_strided": lambda L: L.tensor(CUBE).bfloat16().mT.erf(),
    "gelu_half": lambda L: _F(L).gelu(L.tensor(CUBE).half()),
    # float16 transposed convolution (torch's slow kernel): columns rounded, then summed offset by offset
    "conv_transpose2d_half": lambda L: _F(L).conv_transpose2d(L.tensor(CUBE[None, :3, :5, :6]).half(),
                                                              L.tensor(FLIP[:3, :4, :3].reshape(3, 2, 2, 3)).half(),
                                                              L.tensor(ROWS[0, :2]).half(), stride=(2, 1)),
    # linear, trilinear and bicubic resampling keep the weights in the 16-bit type (λ rounded, then 1 - λ)
    "interpolate_linear_half": lambda L: _F(L).interpolate(L.tensor(CUBE).half(), size=20, mode="linear"),
    "interpolate_bicubic_half": lambda L: _F(L).interpolate(L.tensor(CUBE[None]).half(), size=(7, 20), mode="bicubic"),
    "interpolate_trilinear_bfloat16": lambda L: _F(L).interpolate(L.tensor(CUBE[None, None]).bfloat16(), size=(3, 7, 5),
                                                                  mode="trilinear", align_corners=True),
}


def _batch_norm(lib: Any, dt: Any) -> tuple:
    stats = [lib.tensor(ROWS[0, :4] / 5).to(dt), lib.tensor(ROWS[1, :4] ** 2 + 0.5).to(dt)]
    x = lib.tensor(CUBE.reshape(3, 4, 3, 13) + 1).to(dt)
    return _F(lib).batch_norm(x, *stats, lib.tensor(FLIP[0, :4, 0]).to(dt), None, True, 0.3), *stats


@pytest.mark.parametrize("case", sorted(CASES))
def test_low_precision_rounding_as_torch(case: str) -> None:
    _same(CASES[case](ember), CASES[case](torch))


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("exponent", [1e5, -65519.0, 1e39])
def test_pow_float_exponent_beyond_the_type(dt: str, exponent: float) -> None:
    """A float exponent must fit the 16-bit type (torch converts it, checked); float32 takes any."""
    def run(lib: Any) -> str:
        try:
            return str((lib.ones(2, dtype=getattr(lib, dt)) ** exponent).tolist())
        except RuntimeError as e:
            return str(e)
    assert run(ember) == run(torch)
    assert (ember.ones(1) ** 1e39).tolist() == (torch.ones(1) ** 1e39).tolist()


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adamax"])
@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("n", [8, 15])
def test_optimizer_steps_half_parameters(name: str, foreach: bool, n: int) -> None:
    """foreach's in-place multiplies take their factor in the parameter's dtype (rounded for float16); the
    add kernel's scalar tail (60 elements: 28 past the vector loop) rounds alpha·b first."""
    kw = {"SGD": {"lr": 0.1, "momentum": 0.9}, "AdamW": {"lr": 0.01, "weight_decay": 0.1},
          "RMSprop": {"lr": 0.01, "momentum": 0.9, "centered": True}}.get(name, {"lr": 0.01})

    def run(lib: Any) -> tuple:
        p = lib.nn.Parameter(lib.tensor(CUBE[1, :4, :n]).half())
        opt = getattr(lib.optim, name)([p], foreach=foreach, **kw)
        for g in CUBE[2:4]:
            p.grad = lib.tensor(g[:4, :n]).half()
            opt.step()
        return (p.detach(), *(v for _, v in sorted(opt.state[p].items()) if v.dim()))
    _same(run(ember), run(torch))
