"""``LBFGS``: limited-memory BFGS over all parameters as one flat vector, with an optional strong-Wolfe line
search (cubic interpolation, zoom phase) — the same iteration and tests as torch's, so runs match."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, no_grad
from ..ops.creation import zeros
from ..ops.extra import view_as_real
from ..ops.shape import cat
from .optimizer import Optimizer, add, check_tensor_lr

__all__ = ["LBFGS"]


def _cubic_minimum(
    x1: Any, f1: Any, g1: Any, x2: Any, f2: Any, g2: Any, bounds: tuple[Any, Any] | None = None
) -> Any:
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to ``bounds`` (default: the
    interval); the midpoint when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1**2 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = disc.sqrt()
    if x1 <= x2:
        pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(pos, lo), hi)


class _Point:
    """A trial step ``t`` with its loss, flat gradient and directional derivative."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t: Any, f: float, g: Tensor, gtd: Any) -> None:
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _strong_wolfe(
    evaluate: Callable[[Any], tuple[float, Tensor]],
    d: Tensor,
    t: Any,
    start: _Point,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, Tensor, Any, int]:
    """Find a step satisfying the strong Wolfe conditions along ``d``: bracket, then zoom."""
    d_norm = d.abs().max()
    f0, gtd0 = start.f, start.gtd
    prev = _Point(0, f0, start.g.clone(), gtd0)
    f, g = evaluate(t)
    evals, it = 1, 0
    cur = _Point(t, f, g, g.dot(d))
    bracket: list[_Point] | None = None
    done = False
    while it < max_ls:
        if cur.f > f0 + c1 * cur.t * gtd0 or (it > 1 and cur.f >= prev.f):
            bracket = [prev, _Point(cur.t, cur.f, cur.g.clone(), cur.gtd)]
            break
        if abs(cur.gtd) <= -c2 * gtd0:
            bracket, done = [cur], True
            break
        if cur.gtd >= 0:
            bracket = [prev, _Point(cur.t, cur.f, cur.g.clone(), cur.gtd)]
            break
        nxt = _cubic_minimum(
            prev.t,
            prev.f,
            prev.gtd,
            cur.t,
            cur.f,
            cur.gtd,
            bounds=(cur.t + 0.01 * (cur.t - prev.t), cur.t * 10),
        )
        prev = _Point(cur.t, cur.f, cur.g.clone(), cur.gtd)
        f, g = evaluate(nxt)
        evals += 1
        cur = _Point(nxt, f, g, g.dot(d))
        it += 1
    if it == max_ls:
        bracket = [_Point(0, f0, start.g, None), _Point(cur.t, cur.f, cur.g, None)]
    assert bracket is not None
    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    stalled = False
    while not done and it < max_ls:
        a, b = bracket[0], bracket[1]
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        top, bottom = max(a.t, b.t), min(a.t, b.t)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if stalled or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f, g = evaluate(t)
        evals += 1
        it += 1
        trial = _Point(t, f, g.clone(), g.dot(d))
        if trial.f > f0 + c1 * t * gtd0 or trial.f >= bracket[low].f:
            bracket[high] = trial
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(trial.gtd) <= -c2 * gtd0:
                done = True
            elif trial.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = trial
    best = bracket[low]
    return best.f, best.g, best.t, evals


class LBFGS(Optimizer):
    """L-BFGS (one parameter group); ``step(closure)`` runs up to ``max_iter`` iterations."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(
            params,
            dict(
                lr=lr,
                max_iter=max_iter,
                max_eval=max_eval,
                tolerance_grad=tolerance_grad,
                tolerance_change=tolerance_change,
                history_size=history_size,
                line_search_fn=line_search_fn,
            ),
        )
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self) -> Tensor:
        """All gradients as one vector (a complex one as its real and imaginary parts, as torch)."""
        return cat(
            [
                (view_as_real(p.grad) if p.grad.is_complex() else p.grad).reshape(-1) if p.grad is not None
                else zeros(p.numel(), dtype=p.dtype, device=p.device)
                for p in self._params
            ]
        )

    def _move(self, t: Any, d: Tensor) -> None:
        """``params += t · d`` (``d`` split over the parameters, complex ones viewed as real; one fused add
        each, as torch)."""
        offset = 0
        for p in self._params:
            target = view_as_real(p.detach()) if p.is_complex() else p
            n = target.numel()
            add(target._data, d._data[offset : offset + n].reshape(target.shape), float(t), out=target)
            offset += n

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        if len(self.param_groups) != 1:   # as torch: a group added after construction is refused here
            raise AssertionError(f"Expected exactly one param_group, but got {len(self.param_groups)}")
        with no_grad():
            return self._run(closure)

    def _evaluate(self, closure: Callable[[], Any]) -> Any:
        with enable_grad():
            return closure()

    def _run(self, closure: Callable[[], Any]) -> Any:
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change, history = (
            group["tolerance_grad"],
            group["tolerance_change"],
            group["history_size"],
        )
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if g.abs().max() <= tol_grad:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        dirs, steps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = g.neg()
                dirs, steps, ro, h_diag = [], [], [], 1
            else:
                y = g.sub(prev_g)
                s = d.mul(t)
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(dirs) == history:
                        dirs.pop(0)
                        steps.pop(0)
                        ro.pop(0)
                    dirs.append(y)
                    steps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                al = state.setdefault("al", [None] * history)
                q = g.neg()
                for i in reversed(range(len(dirs))):
                    al[i] = steps[i].dot(q) * ro[i]
                    add(q._data, dirs[i]._data, -float(al[i]), out=q)
                d = r = q.mul(h_diag)
                for i in range(len(dirs)):
                    add(r._data, steps[i]._data, float(al[i] - dirs[i].dot(r) * ro[i]), out=r)
            prev_g = g.clone() if prev_g is None else prev_g.copy_(g)
            prev_loss = loss
            t = min(1.0, 1.0 / g.abs().sum()) * lr if state["n_iter"] == 1 else lr
            gtd = g.dot(d)
            if gtd > -tol_change:
                break
            ls_evals = 0
            if group["line_search_fn"] is not None:
                if group["line_search_fn"] != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                start_params = [p.clone() for p in self._params]

                def evaluate(
                    step: Any, d: Tensor = d, start: list[Tensor] = start_params
                ) -> tuple[float, Tensor]:
                    self._move(step, d)
                    value = float(self._evaluate(closure))
                    grad = self._flat_grad()
                    for p, p0 in zip(self._params, start, strict=True):
                        p.copy_(p0)
                    return value, grad

                loss, g, t, ls_evals = _strong_wolfe(
                    evaluate, d, t, _Point(0, loss, g, gtd), max_ls=max_eval - evals
                )
                self._move(t, d)
                converged = g.abs().max() <= tol_grad
            else:
                self._move(t, d)
                converged = False
                if n_iter != max_iter:
                    loss = float(self._evaluate(closure))
                    g = self._flat_grad()
                    converged = g.abs().max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if (
                n_iter == max_iter
                or evals >= max_eval
                or converged
                or d.mul(t).abs().max() <= tol_change
                or abs(loss - prev_loss) < tol_change
            ):
                break
        state.update(
            d=d,
            t=t,
            old_dirs=dirs,
            old_stps=steps,
            ro=ro,
            H_diag=h_diag,
            prev_flat_grad=prev_g,
            prev_loss=prev_loss,
        )
        return orig_loss
