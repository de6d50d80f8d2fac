"""Forward-mode AD (``ember.autograd.forward_ad``) against torch: tangents through op families, views and
in-place ops, flags of dual tensors, errors, custom Function ``jvp`` and ``gradcheck(check_forward_ad=True)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
import ember.autograd.forward_ad as efw
from oracle import assert_close, assert_same_error, to_torch, torch

tfw = torch.autograd.forward_ad
rng = np.random.default_rng(0)


def arr(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def same(a: ember.Tensor, b: ember.Tensor) -> None:
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


def fwd_both(fn: Callable[..., Any], *primals: np.ndarray, tangents: tuple | None = None,
             dtype: str = "float64") -> None:
    """``fn(lib, *duals)`` under each library's dual level: same primal outputs and tangents."""
    tangents = tangents or tuple(arr(*np.shape(p)) for p in primals)
    results = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        dt = getattr(lib, dtype)
        with fw.dual_level():
            duals = [fw.make_dual(lib.tensor(p, dtype=dt), lib.tensor(t, dtype=dt)) if t is not None
                     else lib.tensor(p, dtype=dt) for p, t in zip(primals, tangents, strict=True)]
            out = fn(lib, *duals)
            outs = out if isinstance(out, (tuple, list)) else (out,)
            results.append([(fw.unpack_dual(o).primal, fw.unpack_dual(o).tangent, o.requires_grad, o.grad_fn)
                            for o in outs])
    for (ep, et, erg, efn), (tp, tt, trg, tfn) in zip(*results, strict=True):
        assert_close(ep.detach(), tp.detach())
        assert (et is None) == (tt is None)
        if tt is not None:
            assert_close(et, tt, rtol=1e-6, atol=1e-9)
        assert erg == trg and (efn is None) == (tfn is None)


ELEMENTWISE = {
    "arith": lambda L, x, y: (x * y + x / (y.abs() + 1) - 2 * x) ** 2,
    "unary": lambda L, x, y: x.sin() + x.exp() * y.tanh() + x.sigmoid() + (x.abs() + 1).log() + x.erf(),
    "pow": lambda L, x, y: (x.abs() + 0.5) ** y + x.pow(3),
    "minmax": lambda L, x, y: L.maximum(x, y) + L.where(x > 0, x, y) + x.clamp(-0.5, 0.5),
    "activations": lambda L, x, y: L.nn.functional.gelu(x) + L.nn.functional.softplus(y) + L.relu(x) * y,
    "broadcast": lambda L, x, y: x[:, :1] * y + y.mean(0),
}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise(name: str) -> None:
    fwd_both(ELEMENTWISE[name], arr(3, 4), arr(3, 4))


REDUCTIONS = {
    "sum": lambda L, x: (x.sum(), x.sum(1), x.mean((0, 1), keepdim=True)),
    "var": lambda L, x: (x.var(1), x.std(), x.norm()),
    "max": lambda L, x: (x.max(), x.max(1).values, x.amax(0), x.logsumexp(1)),
    "cumsum": lambda L, x: (x.cumsum(1), x.prod(0)),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions(name: str) -> None:
    fwd_both(REDUCTIONS[name], arr(3, 4))


def test_matmul_and_linear_algebra() -> None:
    fwd_both(lambda L, a, b: (a @ b, L.mm(a, b).t(), L.einsum("ij,jk->ik", a, b)), arr(3, 4), arr(4, 2))
    fwd_both(lambda L, a, b, c: L.nn.functional.linear(a, b, c), arr(5, 4), arr(3, 4), arr(3))
    fwd_both(lambda L, a, b: L.bmm(a, b), arr(2, 3, 4), arr(2, 4, 2), tangents=(arr(2, 3, 4), None))


def test_shape_views_and_indexing() -> None:
    fwd_both(lambda L, x: (x.reshape(4, 3), x.t(), x[1:, ::2], x.unsqueeze(0).expand(2, 3, 4), x.transpose(0, 1)
                           .contiguous(), x.flatten(), x.permute(1, 0)[0]), arr(3, 4))
    fwd_both(lambda L, x: (*x.split(2, 1), *x.unbind(0), x.chunk(2, 0)[1]), arr(3, 4))
    fwd_both(lambda L, x, y: (L.cat([x, y]), L.stack([x, y], 1), x[L.tensor([2, 0])], x.gather(1, L.tensor(
        [[0, 1], [1, 1], [3, 2]])), x.masked_fill(x > 0, 0.0), x.flip(0), x.roll(1, 1)), arr(3, 4), arr(3, 4))


def test_nn_functional() -> None:
    F = "nn.functional"   # noqa: N806
    fwd_both(lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1, stride=2), arr(2, 3, 6, 6),
             arr(4, 3, 3, 3), arr(4))
    fwd_both(lambda L, x: (L.softmax(x, 1), L.log_softmax(x, 0)), arr(3, 5))
    fwd_both(lambda L, x, w, b: L.nn.functional.layer_norm(x, (5,), w, b), arr(3, 5), arr(5), arr(5))
    fwd_both(lambda L, x: L.nn.functional.max_pool2d(x, 2), arr(1, 2, 4, 4))
    fwd_both(lambda L, x, t: L.nn.functional.mse_loss(x, t), arr(3, 4), arr(3, 4), tangents=(arr(3, 4), None))
    assert F


MORE = {
    "batch_norm": (lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True),
                   ((4, 3, 2), (3,), (3,))),
    "group_norm": (lambda L, x: L.nn.functional.group_norm(x, 2), ((2, 4, 3),)),
    "cross_entropy": (lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 2, 1])), ((3, 4),)),
    "embedding": (lambda L, w: L.nn.functional.embedding(L.tensor([[0, 2], [1, 1]]), w), ((3, 4),)),
    "attention": (lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(q, k, v),
                  ((2, 3, 4), (2, 5, 4), (2, 5, 4))),
    "conv_transpose": (lambda L, x, w: L.nn.functional.conv_transpose2d(x, w, stride=2), ((1, 2, 3, 3), (2, 3, 2, 2))),
    "interpolate": (lambda L, x: L.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"), ((1, 2, 3, 3),)),
    "linalg": (lambda L, a: (L.linalg.inv(a + 3 * L.eye(3, dtype=L.float64)), L.linalg.det(a)), ((3, 3),)),
    "index_put": (lambda L, x, v: x.index_put((L.tensor([0, 2]),), v), ((3, 4), (2, 4))),
    "sort": (lambda L, x: (x.sort(1).values, x.topk(2).values, x.median(1).values), ((3, 4),)),
    "diagonal": (lambda L, x: (x.triu(), x.diagonal(), x.trace(), L.diag_embed(x)), ((3, 3),)),
    "cast": (lambda L, x: (x.float(), x.to(L.float32).double()), ((3,),)),
}


@pytest.mark.parametrize("name", list(MORE))
def test_more_ops(name: str) -> None:
    fn, shapes = MORE[name]
    fwd_both(fn, *(arr(*s) for s in shapes))


def test_complex() -> None:
    fwd_both(lambda L, z: ((z * z).exp(), z.abs(), z.real, z.conj() * z), arr(3) + 1j * arr(3), dtype="complex128")


def test_module_with_parameters() -> None:
    """A dual input through a module whose parameters require grad: the output has a real grad_fn and a
    tangent that is itself differentiable, and backward still reaches the parameters."""
    ember.manual_seed(0)
    em = ember.nn.Sequential(ember.nn.Linear(4, 5), ember.nn.Tanh(), ember.nn.Linear(5, 2)).double()
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    tm.load_state_dict({k: to_torch(v) for k, v in em.state_dict().items()})
    x, t = arr(3, 4), arr(3, 4)
    results = []
    for lib, fw, m in ((ember, efw, em), (torch, tfw, tm)):
        with fw.dual_level():
            out = m(fw.make_dual(lib.tensor(x), lib.tensor(t)))
            tangent = fw.unpack_dual(out).tangent
            assert out.requires_grad and type(out.grad_fn).__name__ == "AddmmBackward0" and tangent.requires_grad
            (out.sum() + tangent.pow(2).sum()).backward()
            results.append((tangent, m[0].weight.grad, m[2].bias.grad))
    assert_close(*results)


def test_view_tangent_is_view_of_base_tangent() -> None:
    x, t = ember.randn(3, 4), ember.randn(3, 4)
    with efw.dual_level():
        d = efw.make_dual(x, t)
        assert d._base is x and efw.unpack_dual(d).tangent is t
        v = d[1:, ::2]
        tv = efw.unpack_dual(v).tangent
        assert tv._base is t
        same(tv, t[1:, ::2])
        tt = efw.unpack_dual(d.t()).tangent
        assert tt._base is t and tt.stride() == (1, 4)
        # a tangent with another layout than the primal is copied into the primal's layout, as torch
        m = efw.make_dual(ember.randn(2, 3), ember.randn(3, 2).t())
        assert efw.unpack_dual(m).tangent.stride() == (3, 1)


def test_inplace_on_dual_and_views() -> None:
    for lib, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            ones = lib.ones(3, dtype=lib.float64)
            d = fw.make_dual(lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64), ones.clone())
            e = d.clone()
            e.mul_(3)
            base = lib.zeros(2, 3, dtype=lib.float64)
            view = base[0]
            view.copy_(d * 2)
            w = lib.zeros(3, dtype=lib.float64)
            w.add_(d.exp())
            z = d.clone()
            z.zero_()
            results = [fw.unpack_dual(x) for x in (e, base, view, w, z)]
            tb, tv = results[1].tangent, results[2].tangent
            assert tv._base is tb
            if lib is torch:
                t_res = results
            else:
                e_res = results
            assert not base.requires_grad and base.grad_fn is None
    for (ep, et), (tp, tt) in zip(e_res, t_res, strict=True):
        assert_close(ep, tp)
        assert_close(et, tt)


def test_inplace_later_does_not_change_earlier_tangent() -> None:
    for lib, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            x = fw.make_dual(lib.tensor([1.0, 2.0], dtype=lib.float64), lib.tensor([1.0, -1.0], dtype=lib.float64))
            c = fw.make_dual(lib.tensor([3.0, 4.0], dtype=lib.float64), lib.ones(2, dtype=lib.float64))
            y = x * c        # saves c: its tangent must use c's value at this point
            c.add_(1)
            z = x.clone()
            w = z.sin()
            z.mul_(2)        # in place on w's input after w was made
            t = lib.ones(2, dtype=lib.float64)
            u = fw.make_dual(lib.ones(2, dtype=lib.float64), t).exp()
            t.mul_(5)        # the user's tangent changed after use
            res = [fw.unpack_dual(y).tangent, fw.unpack_dual(w).tangent, fw.unpack_dual(z).tangent,
                   fw.unpack_dual(u).tangent]
            if lib is torch:
                t_res = res
            else:
                e_res = res
    assert_close(e_res, t_res)


def test_flags_and_backward() -> None:
    x, t = ember.randn(3), ember.randn(3)
    with efw.dual_level():
        d = efw.make_dual(x, t)
        assert (d.requires_grad, d.grad_fn, d.is_leaf) == (False, None, True)
        y = d * 2
        assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)
        assert_same_error(lambda: y.sum().backward(), lambda: torch.ones(2).sum().backward())
        d.numpy()   # works on a dual tensor, as torch
        assert efw.unpack_dual(d.detach()).tangent is None
        a = ember.randn(3, requires_grad=True)
        da = efw.make_dual(a, t)
        assert da.requires_grad and type(da.grad_fn).__name__ == "ViewBackward0" and not da.is_leaf
        r = (da * da).sum()
        assert type(r.grad_fn).__name__ == "SumBackward0"
        tan = efw.unpack_dual(r).tangent
        same(tan, (2 * a * t).sum())
        r.backward()
        same(a.grad, 2 * a)
        assert tan.grad_fn is not None   # the tangent is differentiable w.r.t. the primal, as torch's
        (ga,) = ember.autograd.grad(tan, a)
        same(ga, 2 * t)
        # requires_grad_ on a dual tensor makes it a real leaf that keeps its tangent
        e = efw.make_dual(ember.randn(3), t).clone()
        e.requires_grad_()
        assert e.requires_grad and e.is_leaf and efw.unpack_dual(e.exp()).tangent is not None
    # leaving the level clears everything
    assert efw.unpack_dual(y).tangent is None
    assert not y.requires_grad and not d.requires_grad and "_fwt" not in d.__dict__
    with efw.dual_level():
        assert efw.unpack_dual(y).tangent is None
        assert (y * 2).grad_fn is None


def test_reverse_mode_unaffected_inside_level() -> None:
    a = ember.randn(3, 4, requires_grad=True)
    with efw.dual_level():
        out = (a.exp() * a).sum(1).mean()
        out.backward()
    ta = to_torch(a, requires_grad=True)
    (ta.exp() * ta).sum(1).mean().backward()
    assert_close(a.grad, ta.grad)


def test_errors() -> None:
    x, t = ember.randn(3), ember.randn(3)
    tx, tt = to_torch(x), to_torch(t)
    assert_same_error(lambda: efw.make_dual(x, t), lambda: tfw.make_dual(tx, tt))
    assert_same_error(lambda: efw.exit_dual_level(), lambda: tfw.exit_dual_level())
    with efw.dual_level(), tfw.dual_level():
        assert_same_error(lambda: efw.make_dual(x, ember.randn(4)), lambda: tfw.make_dual(tx, torch.randn(4)))
        assert_same_error(lambda: efw.make_dual(x, t.int()), lambda: tfw.make_dual(tx, tt.int()))
        assert_same_error(lambda: efw.make_dual(x.int(), t.int()), lambda: tfw.make_dual(tx.int(), tt.int()))
        assert_same_error(lambda: efw.make_dual(x, t, level=5), lambda: tfw.make_dual(tx, tt, level=5))
        d, td = efw.make_dual(x, t), tfw.make_dual(tx, tt)
        assert_same_error(lambda: efw.unpack_dual(d, level=1), lambda: tfw.unpack_dual(td, level=1))
        assert_same_error(lambda: efw.make_dual(d, t), lambda: tfw.make_dual(td, tt))
        assert_same_error(lambda: efw.enter_dual_level(), lambda: tfw.enter_dual_level())
        assert_same_error(lambda: efw.exit_dual_level(level=3), lambda: tfw.exit_dual_level(level=3))
        p, none = efw.unpack_dual(x)
        assert none is None and p is not x and p._base is x and not p.requires_grad
        # a float64 tangent of a float32 primal is kept as is
        q = efw.make_dual(x, t.double())
        assert efw.unpack_dual(q).tangent.dtype is ember.float64
    assert efw.unpack_dual(d).tangent is None


def test_levels_and_decorator() -> None:
    with efw.dual_level() as level:
        assert level == 0
    assert efw.enter_dual_level() == 0
    efw.exit_dual_level(level=0)

    @efw.dual_level()
    def f(x: ember.Tensor) -> ember.Tensor:
        return efw.unpack_dual(efw.make_dual(x, ember.ones(2)).exp()).tangent

    same(f(ember.zeros(2)), ember.ones(2))
    assert isinstance(efw.unpack_dual(ember.ones(1)), efw.UnpackedDualTensor)


class _Cube:
    @staticmethod
    def build(lib: Any) -> Any:
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any, y: Any) -> Any:
                ctx.save_for_forward(x, y)
                ctx.scale = 3
                return x ** 3 * y

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                raise AssertionError("not used")

            @staticmethod
            def jvp(ctx: Any, tx: Any, ty: Any) -> Any:
                x, y = ctx.saved_tensors
                return ctx.scale * x ** 2 * tx * y + x ** 3 * ty

        class NoJvp(lib.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                return x * 2

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                return g * 2
        return Cube, NoJvp


def test_function_jvp() -> None:
    ec, en = _Cube.build(ember)
    tc, tn = _Cube.build(torch)
    fwd_both(lambda L, x, y: (ec if L is ember else tc).apply(x, y), arr(3), arr(3), tangents=(arr(3), None))
    fwd_both(lambda L, x, y: (ec if L is ember else tc).apply(x, y), arr(3), arr(3))
    x, t = ember.randn(3), ember.randn(3)
    with efw.dual_level(), tfw.dual_level():
        assert_same_error(lambda: en.apply(efw.make_dual(x, t)), lambda: tn.apply(tfw.make_dual(to_torch(x),
                                                                                                  to_torch(t))))
        assert efw.unpack_dual(en.apply(x)).tangent is None


def test_gradcheck_forward_ad() -> None:
    gc = ember.autograd.gradcheck
    x = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    w = ember.randn(2, 4, dtype=ember.float64, requires_grad=True)
    assert gc(lambda a, b: ember.nn.functional.linear(a, b).tanh().softmax(1), (x, w), check_forward_ad=True)
    assert gc(lambda a: (a.max(1).values, a.cumsum(0)[1:]), (x,), check_forward_ad=True, check_backward_ad=False)
    assert gc(lambda a: a.t() @ a, (x,), check_forward_ad=True, check_backward_ad=False)
    z = ember.randn(3, dtype=ember.complex128, requires_grad=True)
    assert gc(lambda a: (a * a).exp(), (z,), check_forward_ad=True)

    class WrongJvp(ember.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            ctx.save_for_forward(a)
            return a * a

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2

        @staticmethod
        def jvp(ctx: Any, t: Any) -> Any:
            (a,) = ctx.saved_tensors
            return 3 * a * t

    with pytest.raises(ember.autograd.gradcheck.GradcheckError if hasattr(ember.autograd.gradcheck, "GradcheckError")
                       else RuntimeError, match="Jacobian computed with forward mode mismatch for output 0"):
        gc(WrongJvp.apply, (x,), check_forward_ad=True, check_backward_ad=False)
    assert not gc(WrongJvp.apply, (x,), check_forward_ad=True, check_backward_ad=False, raise_exception=False)


def _saved_plain_modified(lib: Any) -> list:
    """A plain tensor an op saved, modified in place (by an op that records nothing) before the tangent is read."""
    fw = lib.autograd.forward_ad
    writes = (lambda c: c.add_(1), lambda c: c.mul_(2), lambda c: c.__setitem__(0, 7.0), lambda c: c.zero_(),
              lambda c: lib.add(c, 1, out=c), lambda c: c.copy_(lib.ones(2)))
    seen = []
    with fw.dual_level():
        for mode in (lib.enable_grad, lib.no_grad):
            with mode():
                for write in writes:
                    x = fw.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 3.0]))
                    c = lib.tensor([2.0, 5.0])
                    y = x * c
                    z = (x * c).exp()
                    write(c)
                    seen += [fw.unpack_dual(y).tangent.tolist(), fw.unpack_dual(z).tangent.tolist()]
    return seen


def test_plain_inplace_before_tangent_read() -> None:
    assert_close_lists(_saved_plain_modified(ember), _saved_plain_modified(torch))


def assert_close_lists(a: list, b: list) -> None:
    np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float), rtol=1e-6)


def _grad_modes(lib: Any) -> list:
    """Forward AD under no_grad / set_grad_enabled(False) / inference_mode: what results carry and print."""
    fw = lib.autograd.forward_ad
    shown: list = []

    def see(t: Any) -> None:
        u = fw.unpack_dual(t)
        shown.append((repr(t), t.requires_grad, t.grad_fn is None, t.is_leaf,
                      None if u.tangent is None else [round(v, 5) for v in u.tangent.reshape(-1).tolist()]))

    w = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    with fw.dual_level():
        d = fw.make_dual(lib.tensor([1.0, 2.0, 3.0]), lib.tensor([1.0, 0.5, 2.0]))
        with lib.no_grad():
            shown.append(lib.is_grad_enabled())
            see(d * 2)
            see((d * w).sin().sum())
            x = lib.zeros(3)
            x.add_(d)
            see(x)
            w2 = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
            dw = fw.make_dual(w2, lib.ones(3))   # a view made under no_grad: requires grad, no grad_fn
            see(dw)
            see(dw.exp())
            see(dw[1:])
            see(fw.unpack_dual(dw).primal)
            with lib.enable_grad():
                y = d * w
                shown.append((type(y.grad_fn).__name__, fw.unpack_dual(y).tangent.tolist()))
            lin = lib.nn.Linear(3, 2)
            with lib.no_grad():
                lin.weight.copy_(lib.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]))
                lin.bias.fill_(0.25)
            see(lin(d).relu())
        with lib.autograd.set_grad_enabled(False):
            see(d.pow(3))
        with lib.inference_mode():   # no forward AD in inference mode
            see(d * 3)
            see(d[1:])
            see(d)
            see(fw.make_dual(lib.ones(2), lib.ones(2)))
        see(fw.unpack_dual(d * w).primal)   # torch's Identity node
        xr = lib.tensor([1.0, 2.0], requires_grad=True)
        dr = fw.make_dual(xr, lib.ones(2))
        g, = lib.autograd.grad((dr ** 3).sum(), xr)   # forward over reverse, backward without create_graph
        see(g)
    shown.append(lib.is_grad_enabled())
    return shown


def test_forward_ad_under_no_grad_and_inference_like_torch() -> None:
    assert _grad_modes(ember) == _grad_modes(torch)


def _custom_function_no_grad(lib: Any) -> list:
    class Twice(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.seen = lib.is_grad_enabled()
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2

        @staticmethod
        def jvp(ctx: Any, t: Any) -> Any:
            return t * 3

    fw = lib.autograd.forward_ad
    with fw.dual_level():
        d = fw.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([1.0, -1.0]))
        with lib.no_grad():
            y = Twice.apply(d)
        return [fw.unpack_dual(y).tangent.tolist(), y.requires_grad, y.grad_fn is None]


def test_custom_function_jvp_under_no_grad() -> None:
    assert _custom_function_no_grad(ember) == _custom_function_no_grad(torch)


@pytest.mark.parametrize("case", ["unary", "binary", "clamp", "dual_out", "leaf_requiring_grad"])
def test_out_under_no_grad_with_dual(case: str) -> None:
    """Under no_grad, out= with a dual operand is forward AD's NotImplementedError (not autograd's out= error);
    an operand that only requires grad is accepted."""
    def run(lib: Any) -> Any:
        fw = lib.autograd.forward_ad
        with fw.dual_level(), lib.no_grad():
            d = fw.make_dual(lib.ones(2), lib.ones(2))
            if case == "unary":
                return lib.exp(d, out=lib.zeros(2))
            if case == "binary":
                return lib.mul(d, 2, out=lib.zeros(2))
            if case == "clamp":
                return lib.clamp(d, 0, 1, out=lib.zeros(2))
            if case == "dual_out":
                return lib.mul(lib.ones(2), 2, out=d)
            r = lib.mul(lib.ones(2, requires_grad=True), 2, out=lib.zeros(2))
            return r.tolist(), r.requires_grad, fw.unpack_dual(r).tangent
    if case == "leaf_requiring_grad":
        assert run(ember) == run(torch) == ([2.0, 2.0], False, None)
    else:
        assert_same_error(lambda: run(ember), lambda: run(torch))


def _printed_duals(lib) -> list[str]:
    fw = lib.autograd.forward_ad
    with fw.dual_level():
        x = fw.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0]))
        shown = [str(x), repr(x * 2), str(lib.ones(2))]
        shown.append(str(fw.make_dual(lib.tensor(1.5, dtype=lib.float64), lib.tensor(2.0, dtype=lib.float64))))
        shown.append(str(fw.make_dual(lib.tensor([[1.5, 2.0], [3.0, 4.0]]), lib.ones(2, 2))))
    shown.append(str(x))   # after the level: no tangent any more
    return shown


def test_dual_tensors_print_their_tangent_like_torch():
    assert _printed_duals(ember) == _printed_duals(torch)


# ---- a sweep of common ops: primal and tangent against torch's on the same inputs ----------------------------------
def _f(L: Any) -> Any:
    return L.nn.functional


SWEEP: dict[str, tuple[Callable[..., Any], list]] = {
    "arith": (lambda L, x, y: (x + 2 * y, L.sub(x, y, alpha=3), x * y, x / (y.abs() + 1), -x, x.square(),
                               L.addcmul(x, y, x, value=2), L.addcdiv(x, y, y.abs() + 1), L.lerp(x, y, 0.3)),
              [(3, 4), (3, 4)]),
    "unary": (lambda L, x: (x.exp(), x.expm1(), x.sin(), x.cos(), x.tan(), x.sinh(), x.cosh(), x.tanh(),
                            x.sigmoid(), x.abs(), x.sign(), x.atan(), x.erf(), x.erfc(), x.frac(), x.floor(),
                            x.nan_to_num(), x.sinc(), L.deg2rad(x), x.tanh().asin(), x.tanh().acos(),
                            L.special.erfinv(x.tanh()), x.sigmoid().logit()), [(5,)]),
    "positive": (lambda L, x, y: (x.log(), x.log1p(), x.log2(), x.sqrt(), x.rsqrt(), x.reciprocal(), x.lgamma(),
                                  x.digamma(), x ** 3, x ** y, 2 ** y, L.xlogy(y, x), L.fmod(y, x),
                                  L.remainder(y, x)), ["P5", (5,)]),
    "binary": (lambda L, x, y: (L.maximum(x, y), L.where(x > 0, x, y), x.clamp(-0.5, 0.5), x.clamp(min=y),
                                L.atan2(x, y), L.hypot(x, y), L.logaddexp(x, y), L.copysign(x, y),
                                L.clamp_min(x, 0.1)), [(5,), (5,)]),
    "reductions": (lambda L, x: (x.sum(), x.sum(1, keepdim=True), x.mean(0), x.prod(1), x.var(0),
                                 x.std(1, correction=0), x.norm(), x.norm(p=1, dim=1), L.linalg.vector_norm(x, 3),
                                 x.amax(1), x.amin(0), x.max(), x.min(1).values, x.logsumexp(1), x.cumsum(0),
                                 x.cumprod(1), x.cummax(1).values, x.median(1).values, x.kthvalue(2, 1).values,
                                 x.sort(1).values, x.topk(2, 0).values, x.nansum(), x.nanmean(1),
                                 L.logcumsumexp(x, 1), L.std_mean(x, 0)[1], x.cov(), L.diff(x), L.trapezoid(x)),
                   [(3, 4)]),
    "views": (lambda L, x: (x.view(4, 3), x.t(), x.mT, x.unsqueeze(1), x.narrow(1, 1, 2), x.select(0, 1),
                            x.unfold(1, 2, 1), x.movedim(0, 1), x.as_strided((2, 2), (1, 2)), x.expand(2, 3, 4),
                            *x.split([1, 3], 1), *x.unbind(1), x.diagonal(1), x[1], x[:, 1:3], x[..., None]),
              [(3, 4)]),
    "copies": (lambda L, x, y: (x.repeat(2, 1), x.flip(1), x.roll(1, 0), x.rot90(), x.tril(1),
                                x.repeat_interleave(2, 0), L.block_diag(x, y), L.cat([x, y], 1), L.stack([x, y]),
                                L.diag_embed(x), x[:, :3].trace(), L.view_as_real(L.view_as_complex(x[:, :2])),
                                x.to(L.float32), L.renorm(x, 2, 0, 1.0), L.dist(x, y)), [(3, 4), (3, 4)]),
    "indexing": (lambda L, x, s: (x[L.tensor([0, 2])], x[x > 0], x.gather(1, L.tensor([[0, 1], [2, 3], [1, 1]])),
                                  x.scatter(1, L.tensor([[0], [2], [1]]), s[:, :1]),
                                  x.scatter_add(0, L.tensor([[0, 1, 2, 0]]), s[:1]),
                                  x.index_select(1, L.tensor([3, 0])), x.index_add(0, L.tensor([2, 0]), s[:2]),
                                  x.index_copy(0, L.tensor([2, 0]), s[:2]), x.index_fill(1, L.tensor([1]), 2.0),
                                  x.masked_fill(x > 0, 1.0), x.masked_scatter(x > 0, s), x.take(L.tensor([0, 5])),
                                  x.put(L.tensor([1, 3]), s[0, :2]), x.masked_select(x > 0),
                                  x.index_put((L.tensor([0, 2]), L.tensor([1, 3])), s[0, :2])), [(3, 4), (3, 4)]),
    "products": (lambda L, a, b, v: (a @ b, a @ v, v @ v, L.outer(v, v), L.addmm(a[:, :2], a, b, beta=0.5, alpha=2),
                                     L.addmv(v[:3], a, v), L.matmul(a.expand(2, 3, 4), b), L.kron(a, a),
                                     L.tensordot(a, b, 1), L.einsum("ij,jk->ik", a, b),
                                     L.baddbmm(a.expand(2, 3, 4)[:, :, :2], a.expand(2, 3, 4), b.expand(2, 4, 2)),
                                     _f(L).linear(a, b.t(), b[0]), L.vdot(v, v)), [(3, 4), (4, 2), (4,)]),
    "linalg": (lambda L, a: (L.linalg.inv(a), L.linalg.det(a), L.linalg.slogdet(a)[1], L.linalg.solve(a, a[0]),
                             L.linalg.matrix_norm(a), L.linalg.cholesky(a @ a.mT), L.linalg.qr(a)[1],
                             L.linalg.eigvalsh(a + a.mT), L.linalg.svdvals(a), L.linalg.pinv(a),
                             L.linalg.matrix_exp(a), L.cross(a, a.flip(0), dim=0)), ["SPD3"]),
    "activations": (lambda L, x, w: tuple(getattr(_f(L), n)(x) for n in (
        "relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "tanhshrink",
        "hardtanh", "hardswish", "hardsigmoid", "leaky_relu", "logsigmoid", "softshrink", "hardshrink", "glu",
        "normalize")) + (_f(L).gelu(x, approximate="tanh"), _f(L).prelu(x, w), L.softmax(x, 1), L.log_softmax(x, 0),
                         _f(L).softmin(x, 1), _f(L).threshold(x, 0.1, 2.0)), [(3, 4), (4,)]),
    "norms": (lambda L, x, w, b: (_f(L).layer_norm(x, (4,), w, b), _f(L).batch_norm(x, None, None, w, b, training=True),
                                  _f(L).batch_norm(x, L.zeros(4, dtype=x.dtype), L.ones(4, dtype=x.dtype), w, b),
                                  _f(L).group_norm(x.unsqueeze(-1), 2, w, b), _f(L).instance_norm(x.unsqueeze(0)),
                                  _f(L).rms_norm(x, (4,), w), _f(L).local_response_norm(x.unsqueeze(0), 2)),
              [(3, 4), (4,), (4,)]),
    "conv": (lambda L, x, w, b: (_f(L).conv1d(x, w, b, stride=2, padding=1),
                                 _f(L).conv_transpose1d(x, w.transpose(0, 1), b, stride=2, output_padding=1),
                                 _f(L).conv2d(x.reshape(1, 6, 7, 1)[:, :4], w[:2, :2, :, None], groups=2,
                                              padding="same")),
             [(2, 3, 7), (4, 3, 3), (4,)]),
    "pooling": (lambda L, x: (_f(L).max_pool2d(x, 2), _f(L).avg_pool2d(x, 2, 1), _f(L).adaptive_avg_pool2d(x, 3),
                              _f(L).adaptive_max_pool2d(x, 2), _f(L).lp_pool2d(x.abs() + 1, 2, 2),
                              _f(L).max_pool1d(x[0], 2), _f(L).pad(x, (1, 2, 0, 1), mode="reflect"),
                              _f(L).pad(x, (1, 1, 1, 1), mode="replicate"), _f(L).unfold(x, 2),
                              _f(L).pixel_shuffle(x.repeat(1, 2, 1, 1), 2), _f(L).interpolate(x, scale_factor=2),
                              _f(L).interpolate(x, size=(5, 6), mode="bilinear", align_corners=True)),
                [(1, 2, 4, 4)]),
    "losses": (lambda L, x, y: (_f(L).mse_loss(x, y), _f(L).l1_loss(x, y), _f(L).smooth_l1_loss(x, y),
                                _f(L).huber_loss(x, y), _f(L).kl_div(x, y, reduction="batchmean"),
                                _f(L).poisson_nll_loss(x, y), _f(L).binary_cross_entropy(x.sigmoid(), y.sigmoid()),
                                _f(L).binary_cross_entropy_with_logits(x, y.sigmoid()), _f(L).cosine_similarity(x, y),
                                _f(L).pairwise_distance(x, y), _f(L).gaussian_nll_loss(x, y, y.exp()),
                                _f(L).triplet_margin_loss(x, y, y.flip(0)), _f(L).hinge_embedding_loss(x, y.sign()),
                                _f(L).cross_entropy(x, L.tensor([0, 3, 1])), _f(L).cross_entropy(x, y.softmax(1)),
                                _f(L).cross_entropy(x, L.tensor([0, 3, 1]), label_smoothing=0.1, reduction="none"),
                                _f(L).nll_loss(x.log_softmax(1), L.tensor([0, 3, 1])),
                                _f(L).multilabel_soft_margin_loss(x, (y > 0).to(x.dtype)),
                                _f(L).embedding(L.tensor([1, 0, 1]), x), _f(L).dropout(x, training=False),
                                _f(L).scaled_dot_product_attention(x[None], y[None], x[None], is_causal=True)),
               [(3, 4), (3, 4)]),
    "complex": (lambda L, z: (z.abs(), z.angle(), z.real, z.imag, z.conj() * z, z.exp(), z.sum(), z @ z.mT,
                              L.view_as_real(z), z.sgn()), ["C23"]),
}


def _sweep_input(spec: Any) -> np.ndarray:
    if isinstance(spec, tuple):
        return arr(*spec)
    if spec == "SPD3":
        return arr(3, 3) + 3 * np.eye(3)
    if spec == "C23":
        return arr(2, 3) + 1j * arr(2, 3)
    return np.abs(arr(int(spec[1:]))) + 0.5   # "P<n>": positive


def test_op_sweep_against_torch() -> None:
    """About 250 op calls: every output's primal and tangent (or its absence) as torch's."""
    for name, (fn, specs) in SWEEP.items():
        primals = [_sweep_input(s) for s in specs]
        tangents = tuple(arr(*p.shape) + (1j * arr(*p.shape) if np.iscomplexobj(p) else 0) for p in primals)
        try:
            fwd_both(fn, *primals, tangents=tangents, dtype="complex128" if name == "complex" else "float64")
        except AssertionError as e:
            raise AssertionError(f"sweep group {name!r}: {e}") from e


def test_ops_without_forward_formula_raise_like_torch() -> None:
    calls = [
        lambda L, d: L.nn.functional.grid_sample(d.reshape(1, 1, 3, 4), L.zeros(1, 1, 1, 2, dtype=d.dtype),
                                                 align_corners=False),
        lambda L, d: L.cdist(d, d), lambda L, d: L.nn.functional.pdist(d), lambda L, d: L.unique(d),
        lambda L, d: L.nn.functional.multi_margin_loss(d, L.tensor([0, 1, 2])),
        lambda L, d: L.nn.functional.embedding_bag(L.tensor([[0, 1]]), d),
        lambda L, d: d.index_reduce(0, L.tensor([0, 0]), d[:2], "prod"), lambda L, d: L.unique_consecutive(d),
        lambda L, d: L.floor_divide(d, 2), lambda L, d: L.linalg.ldl_factor(d[:, :3] + d[:, :3].mT),   # aten::op
        lambda L, d: L.sum(d, 0, out=L.empty(4, dtype=d.dtype)),       # out= functions: no forward AD
        lambda L, d: L.cat([d, d], out=L.empty(0, dtype=d.dtype)),
    ]
    x, t = arr(3, 4), arr(3, 4)
    with efw.dual_level(), tfw.dual_level():
        de, dt = efw.make_dual(ember.tensor(x), ember.tensor(t)), tfw.make_dual(torch.tensor(x), torch.tensor(t))
        for call in calls:
            assert_same_error(lambda c=call: c(ember, de), lambda c=call: c(torch, dt))


def test_direct_rules_do_not_run_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    """Products and convolutions get their tangents from the product rule with the forward op: the backward
    nodes (the double-vjp route) are never called, and the tangents are torch's."""
    from ember.nn.functional._conv import ConvolutionBackward0
    from ember.nn.functional._layers import NativeLayerNormBackward0
    from ember.ops.matmul import _AddProduct, _Product

    def boom(*args: Any) -> None:
        raise AssertionError("backward used for a tangent")
    for cls in (_Product, _AddProduct, ConvolutionBackward0, NativeLayerNormBackward0):
        monkeypatch.setattr(cls, "backward", boom)
    fwd_both(lambda L, a, b, w: (a @ b, L.bmm(a.expand(2, 3, 4), b.expand(2, 4, 2)), L.einsum("ij,jk->ik", a, b),
                                 L.nn.functional.linear(a, b.t(), b[0]), L.addmm(b[0], a, b, beta=2, alpha=0.5),
                                 L.nn.functional.conv2d(a[None, None], w, w[0, 0, 0, :1], padding=1),
                                 L.nn.functional.layer_norm(a, (4,), b[:, 0], b[:, 1])),
             arr(3, 4), arr(4, 2), arr(1, 1, 2, 2), tangents=(arr(3, 4), arr(4, 2), arr(1, 1, 2, 2)))


def test_gradient_of_tangent_matches_finite_differences() -> None:
    """d/dx sum(tangent²) for layer_norm (direct rule), det and batch_norm (backward-of-backward route)
    against central differences (torch's own values are off for det and batch_norm here)."""
    x, t = np.eye(3) * 3 + arr(3, 3), arr(3, 3)
    for f in (lambda v: ember.nn.functional.layer_norm(v, (3,)), ember.linalg.det,
              lambda v: ember.nn.functional.batch_norm(v, None, None, training=True)):
        def loss(xv: np.ndarray, f: Callable = f) -> Any:
            p = ember.tensor(xv, requires_grad=True)
            with efw.dual_level():
                tangent = efw.unpack_dual(f(efw.make_dual(p, ember.tensor(t)))).tangent
                return p, (tangent * tangent).sum()
        p, s = loss(x)
        (g,) = ember.autograd.grad(s, p)
        num = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = 1e-6
            num[i] = (loss(x + e)[1].item() - loss(x - e)[1].item()) / 2e-6
        np.testing.assert_allclose(g.numpy(), num, rtol=1e-5, atol=1e-6)


def _tangent_grads(L: Any, pool: bool) -> tuple:
    """Gradients w.r.t. weights of the tangent of a small net (its tangent has a history through views, the
    conv/mm rules and elementwise ops)."""
    fw = L.autograd.forward_ad
    g = np.random.default_rng(3)
    w, b, m = (L.tensor(g.standard_normal(s), requires_grad=True) for s in ((3, 2, 3, 3), (3,), (5, 4)))
    with fw.dual_level():
        x = fw.make_dual(L.tensor(g.standard_normal((2, 2, 5, 5))), L.tensor(g.standard_normal((2, 2, 5, 5))))
        y = L.nn.functional.conv2d(x, w, b, padding=1)
        z = (y.tanh() @ m).sum() + y[:, 1:].transpose(1, 2).exp().sum()
        if pool:
            z = z + L.nn.functional.max_pool2d(y, 2).sum()
        tangent = fw.unpack_dual(z).tangent
        return (tangent, *L.autograd.grad(tangent, (w, b, m)))


def test_tangent_with_history_is_differentiable() -> None:
    assert_close(_tangent_grads(ember, False), _tangent_grads(torch, False))


def test_max_pool_tangent_is_differentiable() -> None:
    assert_close(_tangent_grads(ember, True), _tangent_grads(torch, True))


def test_tangents_follow_inplace_view_ops() -> None:
    def fn(L: Any, x: Any) -> tuple:
        y, z, w = x.clone(), x.unsqueeze(0) * 1, x * 2
        y.t_()
        z.squeeze_(0)
        w.transpose_(0, 1)
        return y, z, w, w[0], (x @ x[0]).exp()   # 2-d @ 1-d: an in-place squeeze_ on the product's result
    fwd_both(fn, arr(3, 3))


def test_inplace_writes_of_dual_values_into_plain_tensors() -> None:
    def fn(L: Any, y: Any) -> tuple:
        a, b, c, d, e = (L.zeros(2, 3, dtype=y.dtype) for _ in range(5))
        a[1].add_(y)
        b[L.tensor([1])] = y
        c.t()[1].copy_(y[:2])
        d[0].index_add_(0, L.tensor([0, 2]), y[:2])
        e[0, 1:] = 2.0
        e.mul_(y)
        return a, b, c, d, e, a[1]
    fwd_both(fn, arr(3))


# ---- ember.func on forward AD -------------------------------------------------------------------------------------
def _func_results(L: Any) -> dict[str, Any]:
    fn = L.func
    x, t, m = (L.tensor(v) for v in (np.linspace(-1, 1, 3), np.array([0.5, -1.0, 2.0]), np.eye(3) + 0.1))
    out, lin = fn.linearize(lambda a: a.sin() @ m, x)
    return {
        "jvp": fn.jvp(lambda a, b: (a * 2 + b.sin(), L.zeros(2)), (x, x), (t, t)),
        "aux": fn.jvp(lambda a: (a.exp(), [a.sum()]), (x,), (t,), has_aux=True),
        "linearize": (out, lin(t), lin(x)),
        "jacfwd": fn.jacfwd(lambda a, b: ((a * b).sum(), a @ m), argnums=(0, 1))(x, x),
        "jacfwd_aux": fn.jacfwd(lambda a: (a.sin(), a.sum()), has_aux=True)(x),
        "hessian": fn.hessian(lambda a: (a ** 3).sum() + a @ m @ a)(x),
        "vmap_jvp": fn.vmap(lambda a, ta: fn.jvp(L.sin, (a,), (ta,)))(m, m),
        "jvp_vmap": fn.jvp(lambda a: fn.vmap(L.sin)(a), (m,), (m,)),
        "vmap_jacfwd": fn.vmap(fn.jacfwd(lambda a: a.exp() @ m))(m),
        "grad_jvp": fn.grad(lambda a: fn.jvp(L.sin, (a,), (t,))[1].sum())(x),
        "jvp_grad": fn.jvp(fn.grad(lambda a: a.sin().sum()), (x,), (t,)),
        "jvp_jvp": fn.jvp(lambda a: fn.jvp(L.sin, (a,), (t,))[1], (x,), (t,)),
        "jacfwd_jacfwd": fn.jacfwd(fn.jacfwd(lambda a: a.sin() * a.sum()))(x),
        "jacrev_jacfwd": fn.jacrev(fn.jacfwd(lambda a: a.sin() * a.sum()))(x),
        "flags": [o.requires_grad for o in fn.jvp(L.sin, (x,), (t,))],
    }


def test_func_transforms_against_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """jvp/jacfwd/linearize/hessian and their compositions with vmap, grad, jacrev and themselves; outside a
    nested jvp the double-vjp route is not taken."""
    real = ember.func._jvp_by_vjp
    calls: list[int] = []
    monkeypatch.setattr(ember.func, "_jvp_by_vjp", lambda *a: calls.append(1) or real(*a))
    ours, theirs = _func_results(ember), _func_results(torch)
    assert len(calls) == 1 + 3 * 3   # only the inner jvps of jvp_jvp (one) and of jacfwd_jacfwd (3 per column)
    for key, value in theirs.items():
        assert_close(ours[key], value, rtol=1e-6, atol=1e-9)
    x = ember.randn(3, dtype=ember.float64)
    with efw.dual_level():   # a jvp inside the user's level: the double-vjp route, results without history
        out, tangent = ember.func.jvp(ember.sin, (x,), (x,))
    assert not out.requires_grad and not tangent.requires_grad
    same(tangent, x.cos() * x)


def test_hessian_through_backwards_that_use_saved_outputs() -> None:
    """Forward over reverse: the backward of det/solve/rms_norm/exp reads the op's saved output, which must
    carry the output's tangent."""
    a = np.eye(3) * 3 + arr(3, 3)
    fns = (lambda L, v: L.linalg.det(v), lambda L, v: L.linalg.solve(v, v[0]).sum(),
           lambda L, v: L.nn.functional.rms_norm(v, (3,)).pow(3).sum(), lambda L, v: (v.exp() * 2).sigmoid().sum())
    for f in fns:
        assert_close(ember.func.hessian(lambda u, f=f: f(ember, u))(ember.tensor(a)),
                     torch.func.hessian(lambda u, f=f: f(torch, u))(torch.tensor(a)))


def test_func_errors_like_torch() -> None:
    x, t = ember.randn(3, dtype=ember.float64), ember.randn(3, dtype=ember.float64)
    tx, tt = to_torch(x), to_torch(t)
    for make in (lambda L, a, b: L.func.jvp(L.sin, (a,), (b[:2],)), lambda L, a, b: L.func.jvp(L.sin, [a], (b,)),
                 lambda L, a, b: L.func.jvp(lambda u: 3, (a,), (b,)),
                 lambda L, a, b: L.func.jvp(lambda u: u, (a,), (b,), has_aux=True),
                 lambda L, a, b: L.func.jvp(L.sin, (a.int(),), (b.int(),)),
                 lambda L, a, b: L.func.jvp(L.sin, (1.0,), (1.0,)),
                 lambda L, a, b: L.func.linearize(L.sin, a)[1](b[:2]),
                 lambda L, a, b: L.func.jacfwd(L.sin)(a.int()),
                 lambda L, a, b: L.func.jacfwd(L.sin, randomness="x")(a)):
        assert_same_error(lambda m=make: m(ember, x, t), lambda m=make: m(torch, tx, tt))


def _chunked_lce_duals(lib: Any, reduction: str, case: str) -> Any:
    """linear_cross_entropy's chunked path (torch: a custom Function without jvp) with dual operands."""
    fw = lib.autograd.forward_ad
    x = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4))
    w = lib.tensor(np.linspace(1.0, -0.5, 20).reshape(5, 4))
    with fw.dual_level(), lib.set_grad_enabled(case != "no_grad"):
        d = fw.make_dual(x.clone().requires_grad_(case != "plain"), lib.ones_like(x))
        y = lib.nn.functional.linear_cross_entropy(d, w, lib.tensor([0, 4, 2]), reduction=reduction,
                                                   options=lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2))
        return [y.detach(), fw.unpack_dual(y).tangent, y.requires_grad]


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("case", ["plain", "no_grad", "requires_grad"])
def test_chunked_linear_cross_entropy_with_duals(reduction: str, case: str) -> None:
    """Tangents do not flow through the chunked op; under grad mode with an input requiring grad it refuses
    dual inputs (torch's custom Function without jvp)."""
    if case == "requires_grad":
        assert_same_error(lambda: _chunked_lce_duals(ember, reduction, case),
                          lambda: _chunked_lce_duals(torch, reduction, case))
        return
    e, t = _chunked_lce_duals(ember, reduction, case), _chunked_lce_duals(torch, reduction, case)
    assert e[1] is None and t[1] is None and e[2] is t[2] is False
    assert_close(e[0], t[0])
