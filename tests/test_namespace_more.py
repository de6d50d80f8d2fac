"""Top-level names beyond the op families, against torch: quasirandom.SobolEngine (point for point), lobpcg,
sym_* helpers, build facts, ctc_loss, Stream/Event, return_types and functional."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _same(e: ember.Tensor, t: torch.Tensor) -> None:
    assert str(e.dtype) == str(t.dtype)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def _errors(fe, ft) -> None:
    with pytest.raises(Exception) as et:
        ft()
    with pytest.raises(type(et.value)) as ee:
        fe()
    assert str(ee.value) == str(et.value)


# ---------------------------------------------------------------- quasirandom
@pytest.mark.parametrize("dim,scramble,seed", [(1, False, None), (6, False, None), (40, True, 7), (3, True, 123)])
def test_sobol_matches_torch(dim: int, scramble: bool, seed: int | None) -> None:
    te = torch.quasirandom.SobolEngine(dim, scramble, seed)
    ee = ember.quasirandom.SobolEngine(dim, scramble, seed)
    assert repr(ee) == repr(te)
    _same(ee.sobolstate, te.sobolstate)
    _same(ee.shift, te.shift)
    _same(ee.draw(), te.draw())
    _same(ee.draw(6, dtype=ember.float64), te.draw(6, dtype=torch.float64))
    ee.fast_forward(13)
    te.fast_forward(13)
    _same(ee.quasi, te.quasi)
    _same(ee.draw(9), te.draw(9))
    assert ee.num_generated == te.num_generated
    ee.reset()
    te.reset()
    _same(ee.draw_base2(3), te.draw_base2(3))
    _same(ee.draw_base2(3, dtype=ember.float64), te.draw_base2(3, dtype=torch.float64))
    ee.reset().fast_forward(5)
    te.reset().fast_forward(5)
    _same(ee.draw(40), te.draw(40))
    _errors(lambda: ee.draw(2, dtype=ember.bfloat16), lambda: te.draw(2, dtype=torch.bfloat16))


def test_sobol_full_direction_table() -> None:
    """All 21201 dimensions' direction numbers equal torch's (the table and the recurrence)."""
    _same(ember.quasirandom.SobolEngine(21201).sobolstate, torch.quasirandom.SobolEngine(21201).sobolstate)


def test_sobol_global_generator_and_out() -> None:
    torch.manual_seed(3)
    ember.manual_seed(3)
    te, ee = torch.quasirandom.SobolEngine(4, scramble=True), ember.quasirandom.SobolEngine(4, scramble=True)
    assert repr(ee) == repr(te) == "SobolEngine(dimension=4, scramble=True)"
    to, eo = torch.empty(1), ember.empty(1)
    assert ee.draw(5, out=eo) is eo
    te.draw(5, out=to)
    _same(eo, to)
    _same(ember.rand(3), torch.rand(3))   # the engine consumed the same amount of the global stream


def test_sobol_errors_and_edges() -> None:
    for dim in (0, 21202):
        _errors(lambda d=dim: ember.quasirandom.SobolEngine(d), lambda d=dim: torch.quasirandom.SobolEngine(d))
    _errors(lambda: ember.quasirandom.SobolEngine(2).draw(0), lambda: torch.quasirandom.SobolEngine(2).draw(0))
    _errors(lambda: ember.quasirandom.SobolEngine(2).draw(-1), lambda: torch.quasirandom.SobolEngine(2).draw(-1))
    _errors(lambda: ember.quasirandom.SobolEngine(2).fast_forward(3).draw_base2(2),
            lambda: torch.quasirandom.SobolEngine(2).fast_forward(3).draw_base2(2))
    te, ee = torch.quasirandom.SobolEngine(3), ember.quasirandom.SobolEngine(3)
    te.draw(2)
    ee.draw(2)
    _same(ee.draw(0), te.draw(0))
    te.fast_forward(0)
    ee.fast_forward(0)
    _same(ee.draw(3), te.draw(3))


# ---------------------------------------------------------------- lobpcg
def _spd(m: int, seed: int) -> np.ndarray:
    g = np.random.default_rng(seed)
    q = np.linalg.qr(g.standard_normal((m, m)))[0]
    return (q * (np.linspace(1, m, m) + g.random(m))) @ q.T


@pytest.mark.parametrize("method", ["ortho", "basic"])
@pytest.mark.parametrize("largest", [True, False])
def test_lobpcg_matches_torch(method: str, largest: bool) -> None:
    A = _spd(20, 0)
    torch.manual_seed(0)
    Et, Xt = torch.lobpcg(torch.from_numpy(A), k=2, largest=largest, method=method)
    ember.manual_seed(0)
    Ee, Xe = ember.lobpcg(ember.from_numpy(A), k=2, largest=largest, method=method)
    assert Ee.dtype == ember.float64 and tuple(Xe.shape) == (20, 2)
    np.testing.assert_allclose(Ee.numpy(), Et.numpy(), rtol=1e-10)
    np.testing.assert_allclose(np.abs(Xe.numpy()), np.abs(Xt.numpy()), atol=1e-8)   # up to each vector's sign
    ref = np.linalg.eigvalsh(A)
    np.testing.assert_allclose(Ee.numpy(), ref[::-1][:2] if largest else ref[:2], rtol=1e-10)


def test_lobpcg_generalized_batched_x_given() -> None:
    A = np.stack([_spd(15, 1), _spd(15, 2)])
    B = np.stack([_spd(15, 3), _spd(15, 4)]) / 15 + np.eye(15)
    X = np.random.default_rng(5).standard_normal((2, 15, 3))
    iK = np.eye(15) * 0.5
    Et, Xt = torch.lobpcg(torch.from_numpy(A), 2, torch.from_numpy(B), torch.from_numpy(X), iK=torch.from_numpy(iK))
    Ee, Xe = ember.lobpcg(ember.from_numpy(A), 2, ember.from_numpy(B), ember.from_numpy(X), iK=ember.from_numpy(iK))
    assert tuple(Ee.shape) == (2, 2) and tuple(Xe.shape) == (2, 15, 2)
    np.testing.assert_allclose(Ee.numpy(), Et.numpy(), rtol=1e-9)
    np.testing.assert_allclose(np.abs(Xe.numpy()), np.abs(Xt.numpy()), atol=1e-7)


def test_lobpcg_float32_tracker_and_errors() -> None:
    A = _spd(12, 6).astype(np.float32)
    steps: list[int] = []
    torch.manual_seed(1)
    Et, _ = torch.lobpcg(torch.from_numpy(A), k=1)
    ember.manual_seed(1)
    Ee, _ = ember.lobpcg(ember.from_numpy(A), k=1, tracker=lambda w: steps.append(w.ivars["istep"]))
    assert Ee.dtype == ember.float32 and steps == list(range(1, len(steps) + 1))
    np.testing.assert_allclose(Ee.numpy(), Et.numpy(), rtol=1e-5)
    sq = np.eye(6)
    _errors(lambda: ember.lobpcg(ember.from_numpy(sq), k=3), lambda: torch.lobpcg(torch.from_numpy(sq), k=3))
    _errors(lambda: ember.lobpcg(ember.zeros(4, 5)), lambda: torch.lobpcg(torch.zeros(4, 5)))
    _errors(lambda: ember.lobpcg(ember.eye(9), B=ember.eye(8)), lambda: torch.lobpcg(torch.eye(9), B=torch.eye(8)))


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [1, 2])
def test_lobpcg_gradient_matches_torch(largest: bool, k: int) -> None:
    A = _spd(12, 0)
    At, Ae = torch.from_numpy(A).requires_grad_(), ember.from_numpy(A).requires_grad_()
    torch.manual_seed(0)
    Et, Xt = torch.lobpcg(At, k=k, largest=largest)
    ember.manual_seed(0)
    Ee, Xe = ember.lobpcg(Ae, k=k, largest=largest)
    assert type(Ee.grad_fn).__name__ == type(Et.grad_fn).__name__ == "LOBPCGAutogradFunctionBackward"
    w = np.arange(12.0)[:, None]   # a loss invariant to the eigenvectors' signs
    (Et.sum() + (Xt**2 * torch.from_numpy(w)).sum()).backward()
    (Ee.sum() + (Xe**2 * ember.from_numpy(w)).sum()).backward()
    np.testing.assert_allclose(Ae.grad.numpy(), At.grad.numpy(), atol=1e-10)
    B = ember.eye(12, dtype=ember.float64)
    hess = []
    for lib in (torch, ember):   # double backward: the backward is made of differentiable ops
        a = lib.from_numpy(A).requires_grad_()
        lib.manual_seed(0)
        E, X = lib.lobpcg(a, k=k, largest=largest)
        (g,) = lib.autograd.grad(E.sum() ** 2 + (X**2 * lib.from_numpy(w)).sum(), a, create_graph=True)
        hess.append(lib.autograd.grad((g**2).sum(), a)[0].detach().numpy())
    np.testing.assert_allclose(hess[1], hess[0], atol=1e-9 * np.abs(hess[0]).max())
    with pytest.raises(ValueError, match="B != I"):
        ember.lobpcg(Ae, k=1, B=B)


# ---------------------------------------------------------------- sym_* and build facts
def test_sym_helpers_as_torch() -> None:
    cases = [("sym_int", (2.7,)), ("sym_int", (-2.7,)), ("sym_float", (3,)), ("sym_max", (2, 3.0)),
             ("sym_max", (2, 3)), ("sym_min", (np.int64(4), np.float32(2))), ("sym_not", (0,)),
             ("sym_ite", (True, 1, 2)), ("sym_ite", (False, 1, 2)), ("sym_sum", ([1, 2, 3],)),
             ("sym_sum", (1.5, 2)), ("sym_sqrt", (4,)), ("sym_fresh_size", (3,))]
    for name, args in cases:
        e, t = getattr(ember, name)(*args), getattr(torch, name)(*args)
        assert e == t and type(e) is type(t), (name, args, e, t)
    assert ember.sym_float(ember.tensor(2)) == torch.sym_float(torch.tensor(2)) == 2.0
    assert ember.sym_sqrt.__name__ == torch.sym_sqrt.__name__ and math.isnan(ember.sym_sqrt(float("nan")))
    _errors(lambda: ember.sym_max("1", 2), lambda: torch.sym_max("1", 2))
    with pytest.raises(AssertionError, match="got <class 'ember.Tensor'>"):   # (torch: torch.Tensor)
        ember.sym_min(2, ember.tensor(1))
    _errors(lambda: ember.sym_ite(1, 2, 3), lambda: torch.sym_ite(1, 2, 3))
    _errors(lambda: ember.sym_ite(True, 2, 3.0), lambda: torch.sym_ite(True, 2, 3.0))


def test_build_facts_and_aliases() -> None:
    assert ember.has_lapack is True and ember.has_spectral is True
    assert isinstance(ember.has_mkl, bool) and ember.has_openmp is False
    assert ember.set_flush_denormal(True) is False and ember.set_flush_denormal(False) is False
    _errors(lambda: ember.set_flush_denormal(1), lambda: torch.set_flush_denormal(1))
    assert ember.compiled_with_cxx11_abi() is torch.compiled_with_cxx11_abi()
    assert ember.GradScaler is ember.amp.GradScaler
    assert torch.GradScaler is torch.amp.GradScaler


@pytest.mark.parametrize("reduction", [0, 1, 2, 3])
def test_ctc_loss_top_level(reduction: int) -> None:
    g = np.random.default_rng(0)
    lp = torch.from_numpy(g.standard_normal((6, 2, 5))).log_softmax(2).requires_grad_()
    tg = torch.tensor([[1, 2, 2], [3, 1, 0]])
    lpe = ember.from_numpy(lp.detach().numpy()).requires_grad_()
    t = torch.ctc_loss(lp, tg, [6, 5], [3, 2], 0, reduction)
    e = ember.ctc_loss(lpe, ember.from_numpy(tg.numpy()), ember.tensor([6, 5]), ember.tensor([3, 2]), 0, reduction)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-10)
    t.sum().backward()
    e.sum().backward()
    np.testing.assert_allclose(lpe.grad.numpy(), lp.grad.numpy(), rtol=1e-8, atol=1e-12)
    with pytest.raises(TypeError):
        ember.ctc_loss(lpe, ember.from_numpy(tg.numpy()), [6, 5], [3, 2], reduction="mean")


def test_stream_event_cpu() -> None:
    assert repr(ember.Stream()) == repr(torch.Stream())
    assert repr(ember.Event(enable_timing=True)) == repr(torch.Event(enable_timing=True))
    assert repr(ember.Event()) == repr(torch.Event())
    s, e = ember.Stream("cpu", priority=1), ember.Event()
    assert s.query() and e.query() and s == ember.Stream() and s.device == ember.device("cpu")
    assert s.synchronize() is None and s.wait_event(e) is None and e.wait() is None and e.synchronize() is None
    ts, tev = torch.Stream(), torch.Event()
    _errors(lambda: s.record_event(), lambda: ts.record_event())
    _errors(lambda: s.wait_stream(s), lambda: ts.wait_stream(ts))
    _errors(lambda: e.record(), lambda: tev.record())
    _errors(lambda: e.elapsed_time(e), lambda: tev.elapsed_time(tev))
    et, tt = ember.Event(enable_timing=True), torch.Event(enable_timing=True)
    _errors(lambda: et.elapsed_time(et), lambda: tt.elapsed_time(tt))


# ---------------------------------------------------------------- modules
def test_return_types_module() -> None:
    assert set(ember.return_types.__all__) == set(torch.return_types.__all__) - {"pytree_register_structseq"}
    assert len(ember.return_types.all_return_types) == len(torch.return_types.all_return_types)
    x = ember.randn(3, 4)
    assert type(ember.max(x, 0)) is ember.return_types.max
    assert type(ember.sort(x)) is ember.return_types.sort
    assert type(ember.linalg.eigh(ember.eye(2))) is ember.return_types.linalg_eigh
    for cls in ember.return_types.all_return_types:
        tcls = getattr(torch.return_types, cls.__name__)
        assert set(cls._fields) == {f for f in dir(tcls) if not f.startswith("_")} - {
            "count", "index", "n_fields", "n_sequence_fields", "n_unnamed_fields"}, cls.__name__
    r = ember.return_types.max
    assert repr(r(ember.tensor(1.0), ember.tensor(0))) == repr(torch.return_types.max((torch.tensor(1.0),
                                                                                        torch.tensor(0))))


def test_functional_module() -> None:
    assert ember.functional.__all__ == torch.functional.__all__
    for name in ember.functional.__all__:
        assert getattr(ember.functional, name) is getattr(ember, name), name
    a, b = ember.randn(2, 3), ember.randn(3, 4)
    np.testing.assert_allclose(ember.functional.einsum("ij,jk->ik", a, b).numpy(), (a @ b).numpy(), rtol=1e-5)


def test_top_level_names_present() -> None:
    wanted = ["sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_ite", "sym_sum", "sym_sqrt",
              "sym_fresh_size", "has_lapack", "has_mkl", "has_openmp", "has_spectral", "set_flush_denormal",
              "compiled_with_cxx11_abi", "GradScaler", "ctc_loss", "Event", "Stream", "return_types",
              "functional", "quasirandom", "lobpcg"]
    assert [n for n in wanted if not hasattr(ember, n)] == []


def test_functional_grad_is_the_nn_grad_module() -> None:
    assert torch.nn.functional.grad is torch.nn.grad and ember.nn.functional.grad is ember.nn.grad
    x, w = ember.randn(1, 2, 5, 5), ember.randn(3, 2, 3, 3)
    gx = ember.nn.functional.grad.conv2d_input(x.shape, w, ember.ones(1, 3, 3, 3))
    tx = torch.nn.functional.grad.conv2d_input(x.shape, torch.from_numpy(w.numpy()), torch.ones(1, 3, 3, 3))
    np.testing.assert_allclose(gx.numpy(), tx.numpy(), rtol=1e-5, atol=1e-6)
