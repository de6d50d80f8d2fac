"""Automatic mixed precision (ember.amp) against torch on the CPU: autocast policy, dtypes, values, grads,
grad_fn names, state, warnings, GradScaler."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.amp as amp
from ember.amp import autocast_mode as am
from oracle import assert_close, to_torch

amp.install()   # idempotent; ember/__init__ calls it too once wired

RNG = np.random.default_rng(0)


def arr(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def pair(a: np.ndarray, requires_grad: bool = True) -> tuple:
    return ember.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


A, B, V = arr(4, 5), arr(5, 3), arr(5)
IMG, W = arr(2, 3, 6, 6), arr(4, 3, 3, 3)
B3 = arr(2, 4, 4)
TGT = np.array([0, 2, 1, 0])

CASES = {   # name: (fn(lib, F, *tensors), arrays)
    "mm": (lambda t, F, a, b: t.mm(a, b), (A, B)),
    "matmul_op": (lambda t, F, a, b: a @ b, (A, B)),
    "rmatmul_method": (lambda t, F, a, b: a.matmul(b), (A, B)),
    "bmm": (lambda t, F, a, b: t.bmm(a, b), (B3, B3)),
    "baddbmm": (lambda t, F, a, b: t.baddbmm(a, a, b), (B3, B3)),
    "addmm": (lambda t, F, a, b: t.addmm(a[:, :3], a, b), (A, B)),
    "addbmm": (lambda t, F, a, b: t.addbmm(a[0], a, b), (B3, B3)),
    "einsum": (lambda t, F, a, b: t.einsum("ij,jk->ik", a, b), (A, B)),
    "linear": (lambda t, F, a, b: F.linear(a, b.T, b[0]), (A, B)),
    "conv2d": (lambda t, F, x, w: F.conv2d(x, w, padding=1), (IMG, W)),
    "conv_transpose2d": (lambda t, F, x, w: F.conv_transpose2d(x, w.transpose(0, 1)), (IMG, W)),
    "sdpa": (lambda t, F, q, k: F.scaled_dot_product_attention(q, k, k), (B3, B3)),
    "prelu": (lambda t, F, x, w: F.prelu(x, w[:3, 0, 0, 0]), (IMG, W)),
    "mv_not_cpu": (lambda t, F, a, v: t.mv(a, v), (A, V)),
    "cross_entropy_fp32": (lambda t, F, a, b: F.cross_entropy(a @ b, t.tensor(TGT)), (A, B)),
    "mse_fp32": (lambda t, F, a, b: F.mse_loss(a @ b, (a @ b).detach() * 0.5), (A, B)),
    "softmax_not_cpu": (lambda t, F, a, b: F.softmax(a @ b, dim=1), (A, B)),
    "exp_not_cpu": (lambda t, F, a, b: (a @ b).exp(), (A, B)),
    "layer_norm_not_cpu": (lambda t, F, a, b: F.layer_norm(a @ b, (3,)), (A, B)),
    "cat_promote": (lambda t, F, a, b: t.cat([a[:, :3], a @ b]), (A, B)),
    "stack_promote": (lambda t, F, a, b: t.stack([a[:, :3], a @ b]), (A, B)),
    "add_native": (lambda t, F, a, b: a[:, :3] + a @ b, (A, B)),
}
COMPOSITES = {"einsum", "sdpa", "prelu"}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", CASES)
def test_policy_matches_torch(name: str, dtype: str) -> None:
    fn, arrays = CASES[name]
    pairs = [pair(a) for a in arrays]
    with ember.autocast("cpu", dtype=getattr(ember, dtype)):
        e = fn(ember, ember.nn.functional, *[p[0] for p in pairs])
    with torch.autocast("cpu", dtype=getattr(torch, dtype)):
        t = fn(torch, torch.nn.functional, *[p[1] for p in pairs])
    assert str(e.dtype) == str(t.dtype)
    if name in COMPOSITES:   # their inner graph is the op's own business, not autocast's
        assert e.grad_fn is not None
    else:
        assert type(e.grad_fn).__name__ == t.grad_fn.name()
        assert sorted(type(n).__name__ for n, _ in e.grad_fn.next_functions if n is not None) == \
            sorted(n.name().split("::")[-1] for n, _ in t.grad_fn.next_functions if n is not None)
    tol = 2e-2 if dtype == "bfloat16" else 1e-2
    assert_close(e.float(), t.float(), rtol=tol, atol=tol * max(1.0, float(t.abs().max())))   # rounding ~ sums
    e.float().sum().backward()
    t.float().sum().backward()
    for pe, pt in pairs:
        assert pe.grad.dtype == ember.float32
        assert_close(pe.grad, pt.grad, rtol=5 * tol, atol=5 * tol)


def test_ineligible_inputs_untouched() -> None:
    d = ember.randn(3, 3, dtype=ember.float64)
    i = ember.ones(3, 3, dtype=ember.int64)
    with ember.autocast("cpu"):
        assert ember.mm(d, d).dtype == ember.float64
        assert ember.cat([i, i]).dtype == ember.int64
        h = ember.randn(3, 3).half()
        assert ember.mm(h, h).dtype == ember.bfloat16     # half is eligible: cast to the autocast dtype


def test_weight_cast_cache() -> None:
    w = ember.randn(3, 3, requires_grad=True)
    with ember.autocast("cpu"):
        y1, y2 = ember.mm(w, w), ember.mm(w, w)
        assert y1.grad_fn.next_functions[0][0] is y2.grad_fn.next_functions[1][0]
    with ember.autocast("cpu"):
        assert ember.mm(w, w).grad_fn.next_functions[0][0] is not y1.grad_fn.next_functions[0][0]
    with ember.autocast("cpu", cache_enabled=False):
        z1, z2 = ember.mm(w, w), ember.mm(w, w)
        assert z1.grad_fn.next_functions[0][0] is not z2.grad_fn.next_functions[0][0]


def test_modules_reach_wrappers() -> None:
    ember.manual_seed(0)
    x = ember.randn(2, 5, 8)
    layer = ember.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    mods = [ember.nn.Linear(8, 4), ember.nn.MultiheadAttention(8, 2, batch_first=True), layer]
    with ember.autocast("cpu"):
        assert mods[0](x).dtype == ember.bfloat16
        assert mods[1](x, x, x)[0].dtype == ember.bfloat16
        out = layer(x)
        assert ember.nn.Conv2d(3, 2, 3)(ember.randn(1, 3, 5, 5)).dtype == ember.bfloat16
        assert ember.nn.Conv1d(3, 2, 3)(ember.randn(1, 3, 5)).dtype == ember.bfloat16
        assert ember.nn.LayerNorm(8)(x.bfloat16()).dtype == ember.bfloat16
        loss = ember.nn.CrossEntropyLoss()(mods[0](x).reshape(-1, 4), ember.zeros(10, dtype=ember.int64))
        assert loss.dtype == ember.float32
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    t_layer.load_state_dict({k: to_torch(v) for k, v in layer.state_dict().items()})
    with torch.autocast("cpu"):
        t_out = t_layer(to_torch(x))
    assert str(out.dtype) == str(t_out.dtype)
    assert_close(out.float(), t_out.float(), rtol=0.1, atol=0.1)
    loss.backward()
    assert mods[0].weight.grad.dtype == ember.float32


def test_state_nesting_and_decorator() -> None:
    assert not ember.is_autocast_enabled("cpu") and not ember.is_autocast_enabled()
    assert ember.get_autocast_dtype("cpu") == ember.bfloat16 and ember.get_autocast_dtype("cuda") == ember.float16
    with ember.autocast("cpu", dtype=ember.float16):
        assert ember.is_autocast_enabled("cpu") and not ember.is_autocast_enabled()
        assert ember.get_autocast_dtype("cpu") == ember.float16
        with ember.autocast("cpu", enabled=False):
            assert not ember.is_autocast_enabled("cpu")
            assert ember.mm(ember.randn(2, 2), ember.randn(2, 2)).dtype == ember.float32
        with ember.autocast("cpu"):   # no dtype: the current one, as torch
            assert ember.get_autocast_dtype("cpu") == ember.float16
        with ember.autocast("cpu", dtype=ember.bfloat16):
            assert ember.get_autocast_dtype("cpu") == ember.bfloat16
        assert ember.get_autocast_dtype("cpu") == ember.float16 and ember.is_autocast_enabled("cpu")
    assert not ember.is_autocast_enabled("cpu") and am._ACTIVE == 0

    @ember.autocast("cpu")
    def f(a: ember.Tensor) -> ember.Tensor:
        return a @ a
    assert f(ember.randn(2, 2)).dtype == ember.bfloat16
    assert (ember.randn(2, 2) @ ember.randn(2, 2)).dtype == ember.float32

    seen = []
    with ember.autocast("cpu"):
        th = threading.Thread(target=lambda: seen.append(ember.is_autocast_enabled("cpu")))
        th.start()
        th.join()
    assert seen == [False]


def test_errors_and_warnings_as_torch() -> None:
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="In CPU autocast, but the target dtype is not supported"):
            with lib.autocast("cpu", dtype=lib.float64):
                assert not lib.is_autocast_enabled("cpu")
        with pytest.warns(UserWarning, match="CUDA is not available or torch_xla is imported"):
            with lib.autocast("cuda"):
                assert not lib.is_autocast_enabled("cuda")
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.autocast(3)
        with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
            lib.autocast("foo")
        with pytest.warns(FutureWarning, match=r"`torch.cpu.amp.autocast\(args...\)` is deprecated"):
            lib.cpu.amp.autocast()
        with pytest.warns(FutureWarning, match=r"`torch.cuda.amp.autocast\(args...\)` is deprecated"):
            lib.cuda.amp.autocast()
        with pytest.warns(FutureWarning, match=r"torch.cuda.amp.GradScaler\(args...\)` is deprecated"):
            lib.cuda.amp.GradScaler()
        with pytest.warns(UserWarning, match="GradScaler is enabled, but CUDA is not available.  Disabling."):
            s = lib.amp.GradScaler()
        assert not s.is_enabled() and s.state_dict() == {} and s.get_scale() == 1.0
        with pytest.warns(DeprecationWarning, match="get_autocast_cpu_dtype"):
            assert str(lib.get_autocast_cpu_dtype()).endswith("bfloat16")
        with pytest.warns(FutureWarning, match="custom_fwd"):
            lib.cuda.amp.custom_fwd(lambda ctx, x: x)


class _Scale(ember.autograd.Function):
    @staticmethod
    @amp.custom_fwd(device_type="cpu", cast_inputs=ember.float32)
    def forward(ctx, a):   # noqa: ANN001, ANN205
        ctx.inside = ember.is_autocast_enabled("cpu")
        return (a @ a) * 2

    @staticmethod
    @amp.custom_bwd(device_type="cpu")
    def backward(ctx, g):   # noqa: ANN001, ANN205
        return g * 2


def test_custom_fwd_bwd() -> None:
    a = ember.randn(3, 3).bfloat16().requires_grad_()
    with ember.autocast("cpu"):
        out = _Scale.apply(a)
    assert out.dtype == ember.float32
    out.sum().backward()
    assert a.grad.dtype == ember.bfloat16


def _train(lib: object, scaler_device: str, steps: int, poison: int | None = None) -> tuple:
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(6, 8), lib.nn.Tanh(), lib.nn.Linear(8, 3))   # smooth: no ReLU kinks
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler(scaler_device, init_scale=2.0**10, growth_interval=2)
    x, y = lib.randn(16, 6), lib.randint(0, 3, (16,))
    scales = []
    for i in range(steps):
        opt.zero_grad()
        with lib.autocast("cpu", dtype=lib.float16):
            loss = lib.nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        if i == poison:
            model[0].weight.grad[0, 0] = float("inf")
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return [p.detach().numpy().copy() for p in model.parameters()], scales, scaler.state_dict()


def test_training_loop_matches_torch() -> None:
    pe, se, de = _train(ember, "cpu", 5, poison=2)
    pt, st, dt = _train(torch, "cpu", 5, poison=2)
    assert se == st == [1024.0, 2048.0, 1024.0, 1024.0, 2048.0]
    assert de == dt
    for a, b in zip(pe, pt, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-2, atol=1e-3)


def test_skip_on_inf_keeps_params() -> None:
    lin = ember.nn.Linear(2, 2)
    before = lin.weight.detach().clone()
    opt = ember.optim.SGD(lin.parameters(), lr=1.0)
    s = amp.GradScaler("cpu")
    s.scale(lin(ember.randn(3, 2)).sum()).backward()
    lin.bias.grad[0] = float("nan")
    assert s.step(opt) is None
    assert ember.equal(lin.weight, before)
    s.update()
    assert s.get_scale() == 2.0**15 and s._get_growth_tracker() == 0


def test_scaler_errors_and_state_dict() -> None:
    for lib in (ember, torch):
        lin = lib.nn.Linear(2, 2)
        opt = lib.optim.SGD(lin.parameters(), lr=0.1)
        s = lib.amp.GradScaler("cpu", init_scale=8.0)
        with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
            s.step(opt)
        out = s.scale([lin(lib.ones(1, 2)).sum(), lin(lib.ones(1, 2)).sum()])
        assert isinstance(out, list) and out[0].item() == pytest.approx(8 * lin(lib.ones(1, 2)).sum().item())
        out[0].backward()
        s.unscale_(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called on this optimizer"):
            s.unscale_(opt)
        s.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last update"):
            s.step(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
            s.unscale_(opt)
        s.update()
        assert s.state_dict() == {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                                  "growth_interval": 2000, "_growth_tracker": 1}
        s2 = lib.amp.GradScaler("cpu")
        s2.load_state_dict(s.state_dict())
        assert s2.get_scale() == 8.0 and s2._get_growth_tracker() == 1
        s.update(4.0)
        assert s.get_scale() == 4.0
        with pytest.raises(RuntimeError, match="The source state dict is empty"):
            s2.load_state_dict({})
        with pytest.raises(AssertionError, match="The growth factor must be > 1.0"):
            lib.amp.GradScaler("cpu", growth_factor=1.0)


def test_disabled_is_passthrough() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ember.randn(2, 2)
        assert ember.mm(a, a).dtype == ember.float32
        assert ember.nn.functional.linear.__wrapped__ is not None   # wrapped, yet untouched when off


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_fast_path_under_autocast(norm_first: bool) -> None:
    """torch's fused inference kernel of a TransformerEncoderLayer runs wholly in the autocast dtype: the
    output is bfloat16 (values within bfloat16 rounding), the module's parameters stay float32."""
    x0 = np.random.default_rng(0).standard_normal((2, 3, 8)).astype(np.float32)
    outs = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                               norm_first=norm_first).eval()
        mask = lib.tensor([[False, False, True], [False, False, False]])
        with lib.no_grad(), lib.autocast("cpu", dtype=lib.bfloat16):
            outs.append(layer(lib.tensor(x0), src_key_padding_mask=mask))
        assert layer.linear1.weight.dtype == lib.float32
    assert outs[1].dtype == ember.bfloat16
    assert_close(outs[1].float(), outs[0].float(), atol=0.05, rtol=0.05)
