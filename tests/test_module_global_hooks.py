"""Global module hooks (``nn.modules.module.register_module_*``) and the deprecated non-full
``Module.register_backward_hook``, run side by side in ember and torch: the hooks log what they see and may
replace values; the logs, results and gradients must agree."""

import warnings

import numpy as np
import pytest

import ember
from oracle import assert_close, torch


def _net(lib: object) -> object:
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))


def _x(lib: object) -> object:
    return lib.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)


def _shape(v: object) -> object:
    if isinstance(v, (tuple, list)):
        return tuple(_shape(x) for x in v)
    return tuple(v.shape) if hasattr(v, "shape") else v


def _run_with_global_hooks(lib: object) -> tuple[list, object, object]:
    mm = lib.nn.modules.module
    log: list = []
    handles = [
        mm.register_module_forward_pre_hook(lambda m, a: log.append(("pre", type(m).__name__, _shape(a)))),
        mm.register_module_forward_hook(lambda m, a, o: log.append(("fwd", type(m).__name__, _shape(o)))),
        mm.register_module_forward_hook(lambda m, a, k, o: log.append(("fwd_kw", type(m).__name__, sorted(k))),
                                        with_kwargs=True),
        mm.register_module_full_backward_pre_hook(lambda m, go: log.append(("bpre", type(m).__name__,
                                                                              _shape(go)))),
        mm.register_module_full_backward_hook(lambda m, gi, go: log.append(("bwd", type(m).__name__,
                                                                             _shape(gi), _shape(go)))),
    ]
    try:
        net, x = _net(lib), _x(lib)
        local = net[0].register_forward_hook(lambda m, a, o: log.append(("local", type(m).__name__)))
        out = net(x)
        out.sum().backward()
        local.remove()
    finally:
        for h in handles:
            h.remove()
    net(x)   # after removal: no more entries
    return log, out, x.grad


def test_global_forward_and_backward_hooks_match_torch() -> None:
    e_log, e_out, e_grad = _run_with_global_hooks(ember)
    t_log, t_out, t_grad = _run_with_global_hooks(torch)
    assert e_log == t_log
    assert_close(e_out, t_out)
    assert_close(e_grad, t_grad)


def _replacing_hooks(lib: object) -> object:
    mm = lib.nn.modules.module
    handles = [
        mm.register_module_forward_pre_hook(lambda m, a: (a[0] * 2,) if isinstance(m, lib.nn.Linear) else None),
        mm.register_module_forward_hook(lambda m, a, o: o + 1 if isinstance(m, lib.nn.ReLU) else None),
        mm.register_module_full_backward_hook(
            lambda m, gi, go: tuple(g * 3 if g is not None else None for g in gi)
            if isinstance(m, lib.nn.Sequential) else None),
    ]
    try:
        x = _x(lib)
        _net(lib)(x).sum().backward()
        return x.grad
    finally:
        for h in handles:
            h.remove()


def test_global_hooks_replace_values_like_torch() -> None:
    assert_close(_replacing_hooks(ember), _replacing_hooks(torch))


def _always_called(lib: object) -> list:
    mm = lib.nn.modules.module
    log: list = []

    class Boom(lib.nn.Module):
        def forward(self, x: object) -> object:
            raise ValueError("boom")
    h = mm.register_module_forward_hook(lambda m, a, o: log.append((type(m).__name__, o)), always_call=True)
    try:
        with pytest.raises(ValueError, match="boom"):
            Boom()(lib.ones(1))
    finally:
        h.remove()
    return log


def test_global_always_called_forward_hook_runs_on_error_like_torch() -> None:
    assert _always_called(ember) == _always_called(torch) == [("Boom", None)]


def _registrations(lib: object) -> tuple[list, object]:
    mm = lib.nn.modules.module
    log: list = []

    def on_param(m: object, name: str, p: object) -> object:
        log.append(("param", type(m).__name__, name, _shape(p)))
        return None if name != "bias" else lib.nn.Parameter(lib.zeros_like(p))

    handles = [
        mm.register_module_parameter_registration_hook(on_param),
        mm.register_module_buffer_registration_hook(lambda m, n, b: log.append(("buffer", type(m).__name__, n))),
        mm.register_module_module_registration_hook(lambda m, n, s: log.append(("module", type(m).__name__, n,
                                                                                 type(s).__name__))),
    ]
    try:
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        net.extra = lib.nn.Tanh()
        net.register_buffer("scale", lib.ones(1))
        net[0].weight = lib.nn.Parameter(lib.ones(2, 2))
    finally:
        for h in handles:
            h.remove()
    return log, net[0].bias


def test_registration_hooks_match_torch() -> None:
    e_log, e_bias = _registrations(ember)
    t_log, t_bias = _registrations(torch)
    assert e_log == t_log
    assert_close(e_bias, t_bias)


def _non_full(lib: object, module: object, x: object) -> tuple[list, list[str]]:
    log: list = []
    module.register_backward_hook(lambda m, gi, go: log.append((_shape(gi), _shape(go))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module(x).sum().backward()
    return log, [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]


@pytest.mark.parametrize("build", [lambda lib: lib.nn.Linear(3, 2), lambda lib: lib.nn.Tanh(),
                                   lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Sigmoid())])
def test_non_full_backward_hook_matches_torch(build: object) -> None:
    ember.manual_seed(0)
    torch.manual_seed(0)
    e_log, e_warn = _non_full(ember, build(ember), _x(ember))
    t_log, t_warn = _non_full(torch, build(torch), _x(torch))
    assert e_log == t_log and len(e_log) == 1
    assert e_warn == t_warn


def test_mixing_full_and_non_full_hooks_is_refused_like_torch() -> None:
    for lib in (ember, torch):
        m = lib.nn.Linear(2, 2)
        m.register_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            m.register_full_backward_hook(lambda *a: None)
        m2 = lib.nn.Linear(2, 2)
        m2.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            m2.register_backward_hook(lambda *a: None)


def _tracked_story(lib: object) -> list:
    """What a ModuleTracker reports at points of a nested model's forward and backward."""
    from importlib import import_module
    tracker_cls = import_module(f"{lib.__name__}.utils.module_tracker").ModuleTracker
    seen: list = []

    class Inner(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)

        def forward(self, x: object) -> object:
            y = self.lin(x)
            y.register_hook(lambda g: seen.append(("bw inner", sorted(tracker.parents), tracker.is_bw)))
            return y.relu()

    class Model(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = Inner()
            self.b = lib.nn.Linear(2, 1)

        def forward(self, x: object) -> object:
            y = self.a(x)
            seen.append(("fw between", sorted(tracker.parents), tracker.is_bw))
            out = self.b(y)
            out.register_hook(lambda g: seen.append(("bw top", sorted(tracker.parents), tracker.is_bw)))
            return out

    lib.manual_seed(0)
    model = Model()
    tracker = tracker_cls()
    with tracker:
        x = lib.randn(3, 2, requires_grad=True)
        out = model(x)
        seen.append(("after fw", sorted(tracker.parents), tracker.is_bw))
        out.sum().backward()
        seen.append(("after bw", sorted(tracker.parents), tracker.is_bw))
    return seen


def test_module_tracker_matches_torch() -> None:
    assert _tracked_story(ember) == _tracked_story(torch)


def _multi_grad_story(lib: object) -> list:
    """When a ``mode='all'`` multi-grad hook fires relative to the other hooks of one backward pass."""
    log: list = []
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0], requires_grad=True)
    unused = lib.tensor([5.0], requires_grad=True)
    mid = a * 2
    out = (mid.sum() * b).sum()
    mid.register_hook(lambda g: log.append("mid"))
    a.register_hook(lambda g: log.append("a"))
    b.register_hook(lambda g: log.append("b"))
    lib.autograd.graph.register_multi_grad_hook(
        (mid, b, unused), lambda gs: log.append(("all", [g is not None for g in gs])))
    out.backward()
    return log


def test_multi_grad_hook_fires_when_its_last_gradient_arrives_like_torch() -> None:
    assert _multi_grad_story(ember) == _multi_grad_story(torch)
