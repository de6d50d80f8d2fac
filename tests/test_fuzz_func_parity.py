"""torch.func / autograd.functional / forward-AD parity cases found by differential fuzzing (each compared with
torch: values, dtypes, shapes, requires_grad, errors)."""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle import assert_close, outcomes


def _raised(calls: list, kind: type[Exception]) -> list[str]:
    """The messages of the calls that raise ``kind`` (the others contribute nothing)."""
    out = []
    for call in calls:
        try:
            call()
        except kind as e:
            out.append(str(e))
    return out

def _flags_and_values(out: Any) -> list:
    leaves = out if isinstance(out, (tuple, list)) else [out]
    return [(o.requires_grad, np.round(o.detach().numpy(), 10).tolist()) for o in leaves]


def _transforms_keep_outer_history(L: Any) -> list:
    """Results keep the history of tensors requiring grad outside the transform (closures, arguments not
    differentiated), not the history through the transform's own inputs (aux outputs, vjp of a constant)."""
    x, y = L.tensor([1.0, 2.0]), L.tensor([3.0, 4.0], requires_grad=True)
    f = L.func
    out = [*f.grad_and_value(lambda a, b: (a * b).sum())(x, y),
           f.grad_and_value(lambda a, b: ((a * b).sum(), a * 2), has_aux=True)(x, y)[1][1],
           *f.vjp(lambda a, b: (a * b, a * 2), x, y, has_aux=True)[::2],
           *f.vjp(lambda a, b: a * b, x, y)[1](L.ones(2)),
           *f.jvp(lambda a: a * y, (x,), (L.ones(2),)), f.jacrev(lambda a: a * y)(x), f.jacfwd(lambda a: a * y)(x),
           f.hessian(lambda a: (a ** 3 * y).sum())(x), f.jacfwd(f.jacrev(lambda a: (a ** 3).sum()))(x)]
    with L.no_grad():
        out.append(f.grad(lambda a: (a * y).sum())(x))
    h = f.hessian(lambda a: (a ** 3 * y).sum())(x)
    return out + list(L.autograd.grad(h.sum(), y))


def test_transforms_keep_only_outer_history_as_torch() -> None:
    t, e = outcomes(_transforms_keep_outer_history)
    assert _flags_and_values(e) == _flags_and_values(t)


def _tangent_and_its_gradient(L: Any) -> list:
    """Duals of a tensor requiring grad through composite ops (computed without a graph, then recorded as one
    node) and in-place ops: the primal requires grad and the tangent is differentiable (forward over reverse)."""
    fw, F = L.autograd.forward_ad, L.nn.functional
    x0 = L.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [0.2, 0.9, 1.1]], dtype=L.float64, requires_grad=True)
    fns = [lambda x: x.renorm(2, 0, 1.0), lambda x: F.bilinear(x, x, x[None], x[0, :1]),
           lambda x: L.cholesky_solve(x, L.linalg.cholesky(x @ x.mT + L.eye(3, dtype=x.dtype))),
           lambda x: (x * 1).sin_(), lambda x: x.clone().mul_(x), lambda x: (lambda z: (z[0].mul_(x[1]), z)[1])(x * 1)]
    out = []
    for f in fns:
        with fw.dual_level():
            p, t = fw.unpack_dual(f(fw.make_dual(x0, L.ones(3, 3, dtype=L.float64) / 3)))
            out += [p, t, L.autograd.grad((t * t).sum() + p.sum(), x0)[0]]
    return out


def test_forward_over_reverse_through_composites_and_inplace_ops_as_torch() -> None:
    t, e = outcomes(_tangent_and_its_gradient)
    assert [x.requires_grad for x in e[::3]] == [x.requires_grad for x in t[::3]]
    for a, b in zip(e, t, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12)


def _eig_tangents_and_ops_without_forward_formula(L: Any) -> list:
    """linalg.eig/eigvals tangents (were zeros: the backward skipped gradients equal to zero, the point forward AD
    differentiates it at), and torch's NotImplementedError for ops it has no forward formula for."""
    fw = L.autograd.forward_ad
    x = L.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [0.2, 0.9, 1.1]], dtype=L.float64)
    out = []
    with fw.dual_level():
        d = fw.make_dual(x, x.flip(0))
        out += [fw.unpack_dual(L.linalg.eigvals(d)).tangent.abs().sort().values,
                fw.unpack_dual(L.linalg.eig(d).eigenvalues).tangent.abs().sort().values]
        out += _raised([lambda: L.special.gammainc(x + 2, d.abs()), lambda: L.special.gammaincc(d.abs(), x.abs()),
                        lambda: L.special.zeta(x.abs() + 2, d.abs() + 1), lambda: L.ormqr(d, d[0], d),
                        lambda: L.segment_reduce(d, "sum", lengths=L.tensor([1, 2]))], NotImplementedError)
    return out


def test_eig_tangents_and_ops_without_forward_formula_as_torch() -> None:
    t, e = outcomes(_eig_tangents_and_ops_without_forward_formula)
    assert e[2:] == t[2:] and len(t) == 7
    for a, b in zip(e[:2], t[:2], strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9)


def _functional_flags(L: Any) -> list:
    """autograd.functional's strategy/strict/create_graph/vectorize combinations: torch's errors, forward-mode
    results (lists where torch's vectorized path keeps them) and strict-mode texts."""
    AF, x = L.autograd.functional, L.tensor([0.5, -1.0, 2.0], dtype=L.float64)
    f, lin = (lambda a: ((a.sin() * a).sum(), a[:2].exp())), (lambda a: a.sum() * 2)
    calls = [lambda: AF.jacobian(f, x, strategy="foo"), lambda: AF.jacobian(f, x, strategy="forward-mode"),
             lambda: AF.jacobian(f, (x, x), strategy="forward-mode", vectorize=True),
             lambda: AF.jacobian(f, x, strategy="forward-mode", vectorize=True, create_graph=True),
             lambda: AF.jacobian(f, x, strategy="forward-mode", vectorize=True, strict=True),
             lambda: AF.jacobian(f, x, vectorize=True, strict=True),
             lambda: AF.jacobian(lin, x, create_graph=True, strict=True),
             lambda: AF.hessian(lambda a: (a.sin() * a).sum(), (x,),
                                outer_jacobian_strategy="forward-mode", vectorize=True),
             lambda: AF.hessian(lin, x, outer_jacobian_strategy="foo"), lambda: AF.hessian(lin, x, strict=True),
             lambda: AF.vjp(lin, x, L.ones((), dtype=L.float64), create_graph=True, strict=True),
             lambda: AF.hvp(lin, x, x, strict=True), lambda: AF.vhp(lin, x, x, strict=True),
             lambda: AF.hvp(lambda a: (a ** 3).sum(), x, x, strict=True, create_graph=True),
             lambda: AF.jvp(lambda a: a.argmax(), x, x)]
    out = []
    for call in calls:
        try:
            out.append(call())
        except Exception as e:   # noqa: BLE001 - the error is the compared outcome
            out.append((type(e).__name__, str(e)))
    return out


def test_functional_flags_as_torch() -> None:
    t, e = outcomes(_functional_flags)
    for a, b in zip(e, t, strict=True):
        if isinstance(b, tuple) and isinstance(b[0], str):
            assert a == b
        else:
            assert _kinds(a) == _kinds(b)
            assert_close(a, b)


def _kinds(x: Any) -> Any:
    """The nesting of lists and tuples (torch returns either, depending on the path)."""
    return [type(x).__name__, *map(_kinds, x)] if isinstance(x, (list, tuple)) else "leaf"


def _output_and_model_checks(L: Any) -> list:
    """vjp/jacrev refuse integer outputs, jacrev/jacfwd complex inputs and outputs (torch's texts);
    stack_module_state refuses models of different classes or mixed requires_grad."""
    x, z = L.tensor([1.0, 2.0]), L.tensor([1 + 1j, 2.0])
    a, b = L.nn.Linear(2, 2), L.nn.Linear(2, 2)
    b.bias.requires_grad_(False)
    calls = [lambda: L.func.vjp(lambda t: t.argmax(), x), lambda: L.func.jacrev(lambda t: (t, t > 0))(x),
             lambda: L.func.jacrev(lambda t: t.abs())(z), lambda: L.func.jacfwd(lambda t: t.abs())(z),
             lambda: L.func.jacrev(lambda t: (t, t.to(L.complex64)))(x), lambda: L.func.jacfwd(lambda t: t + 1j)(x),
             lambda: L.func.stack_module_state([a, L.nn.Sequential(L.nn.Linear(2, 2))]),
             lambda: L.func.stack_module_state([a, b])]
    return _raised(calls, RuntimeError)


def test_output_and_model_checks_as_torch() -> None:
    t, e = outcomes(_output_and_model_checks)
    assert e == t and len(t) == 8


def _degenerate_points(L: Any) -> list:
    """Tangents where a backward formula masks a division by zero (std, p-norms of zeros: 0, not NaN) and
    log-determinants of a singular matrix (NaN as torch's LU solve gives, in both modes, not a LinAlgError)."""
    fw = L.autograd.forward_ad
    a = L.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [0.0, 0.0, 0.0]], dtype=L.float64)
    fns = [lambda t: t[2].std(), lambda t: L.std_mean(t[2], 0)[0], lambda t: t[2].norm(3),
           lambda t: L.linalg.slogdet(t).logabsdet, lambda t: L.logdet(t)]
    out = []
    for f in fns:
        with fw.dual_level():
            out.append(fw.unpack_dual(f(fw.make_dual(a, L.ones(3, 3, dtype=L.float64)))).tangent)
    x = a.clone().requires_grad_()
    try:   # torch.func's reverse transforms refuse the singular matrix
        L.func.grad(lambda m: L.linalg.slogdet(m).logabsdet)(a)
    except RuntimeError as e:
        out.append(str(e))
    return out + [L.autograd.grad(L.linalg.slogdet(x).logabsdet, x)[0][:2]]


def test_degenerate_points_as_torch() -> None:
    t, e = outcomes(_degenerate_points)
    assert_close(e, t)


def _inplace_under_transforms(L: Any) -> list:
    """Hessians through in-place ops (the op's snapshot of its input kept the tangent the write then changed), a
    write into a view of a tensor whose tangent has a history, and jacfwd(jacrev) results free of the tangent
    machinery's internal leaves."""
    x = L.tensor([0.5, -1.0, 2.0], dtype=L.float64)
    out = [L.func.hessian(lambda a: (a * 1).mul_(a).sum())(x), L.func.hessian(lambda a: (a * a).sin_().sum())(x)]
    fw, x0 = L.autograd.forward_ad, x.clone().requires_grad_()
    with fw.dual_level():
        d = fw.make_dual(x0, L.ones(3, dtype=L.float64))
        z = (2 ** d).clone()
        z[1:] = d[:2]
        p, t = fw.unpack_dual(z)
        out += [t.detach(), L.autograd.grad((t * t).sum(), x0)[0]]
    m = L.tensor([[0.3, 0.1], [-0.2, 0.4]], dtype=L.float64)
    h = L.func.jacfwd(L.func.jacrev(lambda a, b: (L.linalg.matrix_exp(b) * a).sum(), argnums=1), argnums=1)(m, m)
    return [*out, h, h.requires_grad]


def test_inplace_ops_under_transforms_as_torch() -> None:
    t, e = outcomes(_inplace_under_transforms)
    assert_close(e, t)


def _vmap_out_dims(L: Any) -> list:
    """vmap's out_dims range is [-(d + 1), d] for a per-sample output of d dims (a negative one counted from
    the stacked result's end; -2 for a scalar output was taken)."""
    x, out = L.arange(6.0).reshape(3, 2), []
    for f, od in ((lambda a: a.sum(), -1), (lambda a: a.sum(), -2), (lambda a: a * 2, -1), (lambda a: a * 2, -3)):
        try:
            out.append(L.func.vmap(f, out_dims=od)(x))
        except IndexError as e:
            out.append(str(e))
    return out


def test_vmap_out_dims_range_as_torch() -> None:
    t, e = outcomes(_vmap_out_dims)
    assert_close(e, t)


def _api_misuse(L: Any) -> list:
    """torch.func's argument checks: argnums, non-tensor inputs/outputs, has_aux outputs, chunk_size, vmap's
    in_dims/out_dims types, no inputs, out_dims=None, cotangent structures."""
    x, f = L.tensor([1.0, 2.0, 3.0, 4.0]), L.func
    calls = [lambda: f.grad(lambda a: a.sum(), argnums=())(x),
             lambda: f.grad(lambda a, b: a.sum(), argnums=(0, -2))(x, x),
             lambda: f.grad(lambda a, b: a.sum(), argnums=(0, 1.0))(x, x), lambda: f.grad(lambda a: a.sum())(3.0),
             lambda: f.vjp(lambda a: a, x, has_aux=True), lambda: f.vjp(lambda a: 3.0, x),
             lambda: f.jacrev(lambda a: a, chunk_size=0), lambda: f.jacrev(lambda a: [a, 2], has_aux=True)(x),
             lambda: f.vjp(lambda a: (a, a), x)[1]((x, x, x)), lambda: f.vjp(lambda a: {"k": [a, a]}, x)[1]([x]),
             lambda: f.vmap(lambda a: a, chunk_size=0), lambda: f.vmap(lambda: x)(),
             lambda: f.vmap(lambda a: a, in_dims=None)(x),
             lambda: f.vmap(lambda a: a, in_dims=[0])(x), lambda: f.vmap(lambda a: a, in_dims=(0.5,))(x),
             lambda: f.vmap(lambda a: a, out_dims=0.5)(x), lambda: f.vmap(lambda a: a, out_dims=None)(x),
             lambda: f.vmap(lambda a: (a, 3.0), out_dims=(0, None))(x), lambda: f.vmap(lambda a: x, out_dims=None)(x),
             lambda: f.vmap(lambda a: {"a": a}, out_dims={"a": 1})(x.reshape(2, 2))["a"]]
    out = []
    for call in calls:
        try:
            out.append(call())
        except (RuntimeError, ValueError) as e:
            out.append((type(e).__name__, str(e)))
    return out


def test_api_misuse_as_torch() -> None:
    t, e = outcomes(_api_misuse)
    assert [x for x in e if isinstance(x, tuple) and isinstance(x[0], str)] == \
        [x for x in t if isinstance(x, tuple) and isinstance(x[0], str)]
    assert_close([x for x in e if not isinstance(x, tuple) or not isinstance(x[0], str)],
                 [x for x in t if not isinstance(x, tuple) or not isinstance(x[0], str)])


def test_hvp_by_the_double_backward_trick_as_torch() -> None:
    """hvp differentiates uᵀH w.r.t. u (torch's trick): 0 where the Hessian of a norm at zero is NaN."""
    def run(L: Any) -> list:
        x, v = L.tensor([0.5, -1.0, 2.0], dtype=L.float64), L.tensor([1.0, -2.0, 0.5], dtype=L.float64)
        return [L.autograd.functional.hvp(f, x, v)[1] for f in (lambda a: L.linalg.vector_norm(a - a),
                                                                 lambda a: (a.sin() * a.roll(1)).sum())]
    t, e = outcomes(run)
    assert_close(e, t)
