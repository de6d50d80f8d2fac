"""Regressions found by differential fuzzing of the nn.Module, container, nn.utils, optimizer and lr_scheduler
APIs against torch: the same call sequence on both libraries gives the same results, errors and texts."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import pytest

from oracle import outcomes


def _same(fn: Callable[[Any], Any]) -> None:
    """``fn(lib)`` gives equal results on both libraries, or the same exception type and text (library names
    in texts are compared as 'torch'); both seeded alike."""
    t, e = outcomes(lambda lib: (lib.manual_seed(0), fn(lib))[1])
    if isinstance(t, Exception):
        assert type(e) is type(t), f"ember gave {e!r}, torch raised {t!r}"
        assert str(e).replace("ember", "torch") == str(t)
    else:
        assert not isinstance(e, Exception), f"ember raised {e!r}, torch gave {t!r}"
        assert e == t


def _buffer_over(name: str) -> Callable[[Any], Any]:
    def run(lib: Any) -> Any:
        m = lib.nn.Module()
        m.lin, m.foo = lib.nn.Linear(1, 1), 3
        setattr(m, name, lib.nn.Buffer(lib.ones(1)))
        return list(m._buffers), list(m._modules)
    return run


@pytest.mark.parametrize("name", ["training", "foo", "lin"])
def test_buffer_assignment_does_not_replace_an_attribute(name: str) -> None:
    # assigning an nn.Buffer registers it as register_buffer does: an existing plain attribute is refused
    _same(_buffer_over(name))


def _container_ops(kind: str, ops: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    def run(lib: Any) -> Any:
        nn = lib.nn
        c = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.ReLU()]) if kind == "ModuleList" else \
            nn.Sequential(nn.ReLU(), nn.Tanh(), nn.ReLU())
        out = ops(lib, c)
        return repr(out if out is not None else c), list(c._modules)
    return run


@pytest.mark.parametrize("kind", ["Sequential", "ModuleList"])
@pytest.mark.parametrize("ops", [
    lambda lib, c: c.__iadd__(lib.nn.ModuleList([lib.nn.ReLU()])),   # Sequential: only a Sequential
    lambda lib, c: c.__iadd__([lib.nn.ReLU()]),
    lambda lib, c: c.extend(5),
    lambda lib, c: c.insert(5, lib.nn.ReLU()),                       # ModuleList: unchecked, a gap
    lambda lib, c: c.insert(-1, lib.nn.ReLU()),
    lambda lib, c: c.insert(1, lib.nn.Parameter(lib.ones(1))),
    lambda lib, c: (c.insert(7, lib.nn.ReLU()), c.__delitem__(slice(-3, 4))),
    lambda lib, c: c.__imul__(2),
])
def test_sequential_and_modulelist_edit_semantics(kind: str, ops: Callable[[Any, Any], Any]) -> None:
    # Sequential and ModuleList differ in torch: += accepts a Sequential only on Sequential, extend checks for
    # an iterable only on ModuleList, insert checks only on Sequential
    _same(_container_ops(kind, ops))


def test_sequential_imul_of_named_items_raises() -> None:
    from collections import OrderedDict

    _same(lambda lib: lib.nn.Sequential(OrderedDict(a=lib.nn.ReLU())).__imul__(2))


@pytest.mark.parametrize("ops", [
    lambda lib, d: d[0],
    lambda lib, d: d.__setitem__(0, lib.ones(1)),
    lambda lib, d: (d.__setitem__(None, lib.ones(1)), len(d)),
    lambda lib, d: d.update(3),
    lambda lib, d: (d.clear(), d.popitem()),
    lambda lib, d: (d.__ior__(lib.nn.ParameterDict({"z": lib.ones(1)})), list(d)),
    lambda lib, d: list({"q": lib.ones(1)} | d),
    lambda lib, d: (d.update([("y", lib.ones(1)), ("x",)]), list(d)),
    lambda lib, d: (d.update(lib.nn.ModuleDict({"ab": lib.nn.ReLU()})), list(d)),
])
def test_parameterdict_keys_and_updates(ops: Callable[[Any, Any], Any]) -> None:
    def run(lib: Any) -> Any:
        d = lib.nn.ParameterDict({"b": lib.ones(1), "a": lib.zeros(1)})
        out = ops(lib, d)
        return repr(out) if not isinstance(out, tuple) else repr(out[1:]), list(d)
    _same(run)


@pytest.mark.parametrize("old_api", [False, True])
def test_weight_norm_of_a_vector_along_dim0(old_api: bool) -> None:
    # norm_except_dim of a 1-d tensor along dim 0 is elementwise (g has the vector's shape), not the whole norm
    def run(lib: Any) -> Any:
        m = lib.nn.Linear(3, 4)
        if old_api:
            lib.nn.utils.weight_norm(m, "bias", dim=0)
        else:
            lib.nn.utils.parametrizations.weight_norm(m, "bias", dim=0)
        return {k: (tuple(v.shape), [round(x, 6) for x in v.reshape(-1).tolist()]) for k, v in m.state_dict().items()}
    with pytest.warns(FutureWarning) if old_api else nullcontext():
        _same(run)


@pytest.mark.parametrize("args", [("0", 3), ("1", "ReLU", True), ("0.weight", "ReLU")])
def test_set_submodule_checks(args: tuple) -> None:
    def run(lib: Any) -> Any:
        m = lib.nn.Sequential(lib.nn.Linear(1, 1))
        m.set_submodule(*(lib.nn.ReLU() if a == "ReLU" else a for a in args))
        return repr(m)
    _same(run)


def test_registration_hook_and_assign_metadata() -> None:
    def run(lib: Any) -> Any:
        seen: list[str] = []
        h = lib.nn.modules.module.register_module_parameter_registration_hook(lambda m, n, p: seen.append(n))
        m = lib.nn.Linear(1, 1)
        m.register_parameter("none", None)   # None does not reach the hooks
        h.remove()
        sd = m.state_dict()
        m.load_state_dict(sd, assign=True)   # recorded into the checkpoint's metadata
        return seen, dict(sd._metadata[""])
    _same(run)


def test_optimizer_step_hooks_see_the_optimizer_in_args() -> None:
    def run(lib: Any) -> Any:
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        seen: list[Any] = []
        opt.register_step_pre_hook(lambda o, args, kw: seen.append(("pre", len(args), args[0] is o)))
        opt.register_step_post_hook(lambda o, args, kw: seen.append(("post", len(args))))
        p.grad = lib.ones(2)
        opt.step()
        opt.step(lambda: None)
        return seen
    _same(run)


def test_optimizer_state_dict_numbering_and_load() -> None:
    def run(lib: Any) -> Any:
        a, b = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(1))
        opt = lib.optim.SparseAdam([a, a, b])   # a repeated parameter: torch numbers it by its last place
        sd = opt.state_dict()
        opt.load_state_dict(sd)
        return [g["params"] for g in sd["param_groups"]], sorted(opt.defaults)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        _same(run)


def test_lbfgs_step_refuses_an_added_group() -> None:
    def run(lib: Any) -> Any:
        opt = lib.optim.LBFGS([lib.nn.Parameter(lib.ones(2))])
        opt.add_param_group({"params": [lib.nn.Parameter(lib.ones(1))]})
        return opt.step(lambda: lib.tensor(0.0))
    _same(run)


@pytest.mark.parametrize("b_requires_grad", [False, True])
def test_full_backward_hook_materializes_missing_input_grads(b_requires_grad: bool) -> None:
    # torch's hook node fills missing gradients with zeros: grad_input (and b.grad) get zeros, while the
    # backward pre-hook still sees None for the unused output
    def run(lib: Any) -> Any:
        class Two(lib.nn.Module):
            def forward(self, a: Any, b: Any) -> Any:
                return a * 2, b + 1
        seen: list[Any] = []
        t = Two()
        t.register_full_backward_pre_hook(lambda m, go: seen.append([g is None for g in go]))
        t.register_full_backward_hook(lambda m, gi, go: seen.append([None if g is None else g.tolist() for g in gi]))
        a, b = lib.ones(2, requires_grad=True), lib.ones(3, requires_grad=b_requires_grad)
        t(a, b)[0].sum().backward()
        return seen, None if b.grad is None else b.grad.tolist()
    _same(run)


def test_complex_module_warning() -> None:
    def run(lib: Any) -> Any:
        import warnings
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.nn.Linear(1, 1).to(lib.complex64)
        return [str(x.message) for x in w]
    _same(run)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "NAdam", "ASGD", "Adagrad", "RMSprop"])
def test_optimizer_load_upgrades_old_checkpoints(name: str) -> None:
    # as torch's __setstate__: numbers saved for 'step' (and NAdam's mu_product, ASGD's eta/mu) become tensors,
    # group options an older checkpoint lacks get their defaults, AdamW's groups always decay decoupled
    def run(lib: Any) -> Any:
        p = lib.nn.Parameter(lib.ones(3, dtype=lib.float64))
        opt = getattr(lib.optim, name)([p])
        p.grad = lib.full((3,), 0.5, dtype=lib.float64)
        opt.step()
        sd = opt.state_dict()
        for st in sd["state"].values():
            for k, v in st.items():
                st[k] = float(v) if v.dim() == 0 else v
        for g in sd["param_groups"]:
            for k in ("foreach", "maximize", "differentiable", "capturable", "fused", "decoupled_weight_decay"):
                g.pop(k, None)
        fresh = getattr(lib.optim, name)([lib.nn.Parameter(lib.ones(3, dtype=lib.float64))])
        fresh.load_state_dict(sd)
        out = fresh.state_dict()
        fresh.step()   # no gradient: nothing moves, but the state must be usable
        return ({i: {k: (type(v).__name__, str(v.dtype)) if hasattr(v, "dtype") else v for k, v in st.items()}
                 for i, st in out["state"].items()},
                [sorted(g.items()) for g in out["param_groups"]])
    _same(run)


@pytest.mark.parametrize("types", [("float64", "float32"), ("bool", "uint8"), ("float16", "bfloat16")])
def test_set_dtype_mismatch_text(types: tuple[str, str]) -> None:
    # met through remove_parametrizations(leave_parametrized=True) of a dtype-changing parametrization
    _same(lambda lib: lib.ones(2, dtype=getattr(lib, types[0])).set_(lib.ones(2, dtype=getattr(lib, types[1]))))


@pytest.mark.parametrize("unsafe", [False, True])
@pytest.mark.parametrize("name", ["bias", "buf"])
def test_remove_dtype_changing_parametrization(unsafe: bool, name: str) -> None:
    # refused at registration unless unsafe; then leaving it parametrized fails in set_ (a Parameter's with
    # torch's longer text)
    def run(lib: Any) -> Any:
        class ToFloat(lib.nn.Module):
            def forward(self, x: Any) -> Any:
                return x.float()
        m = lib.nn.Linear(2, 2).double()
        m.register_buffer("buf", lib.ones(2, dtype=lib.float64))
        lib.nn.utils.parametrize.register_parametrization(m, name, ToFloat(), unsafe=unsafe)
        lib.nn.utils.parametrize.remove_parametrizations(m, name)
    _same(run)


def test_lazy_state_dict_round_trips() -> None:
    # a lazy module's state holds its placeholders: loading it into another lazy module leaves that one lazy
    # (it used to materialize zero-size weights), loading it into a built module fails on the unknown shape
    def run(lib: Any) -> Any:
        sd = lib.nn.LazyLinear(3).state_dict()
        m = lib.nn.LazyLinear(3)
        out = [type(sd["weight"]).__name__, repr(m.load_state_dict(sd)), m.has_uninitialized_params()]
        out.append(tuple(m(lib.ones(2, 5)).shape))
        try:
            lib.nn.Linear(5, 3).load_state_dict(sd)
        except RuntimeError as e:
            out.append(str(e))
        return out
    _same(run)


@pytest.mark.parametrize("activation", ["default", "relu", "gelu"])
def test_transformer_layer_knows_its_default_activation(activation: str) -> None:
    # the default F.relu was bound before ember wraps F's functions: it was not recognised as relu, so a
    # batch_first Transformer warned that its activation was not relu/gelu
    def run(lib: Any) -> Any:
        import warnings
        kw = {} if activation == "default" else {"activation": getattr(lib.nn.functional, activation)}
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m = lib.nn.Transformer(4, 2, 1, 1, 8, batch_first=True, **kw)
        return m.encoder.layers[0].activation_relu_or_gelu, [str(x.message) for x in w]
    _same(run)


def test_add_param_group_refuses_a_list() -> None:
    def run(lib: Any) -> Any:
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1)
        opt.add_param_group([lib.nn.Parameter(lib.ones(1))])
    _same(run)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_parameter_listed_twice(nesterov: bool) -> None:
    # torch reads the momentum buffers before updating: both places of a repeated parameter start fresh buffers
    def run(lib: Any) -> Any:
        p, q = (lib.nn.Parameter(lib.tensor([1.0, -2.0], dtype=lib.float64)) for _ in range(2))
        opt = lib.optim.SGD([p, q, p], lr=0.1, momentum=0.9, nesterov=nesterov)
        for i in range(3):
            p.grad = lib.tensor([0.5, 0.25], dtype=lib.float64) * (i + 1)
            q.grad = p.grad * 2
            opt.step()
        return p.tolist(), q.tolist(), {k: v["momentum_buffer"].tolist() for k, v in opt.state_dict()["state"].items()}
    with pytest.warns(UserWarning, match="duplicate parameters"):
        _same(run)


@pytest.mark.parametrize("call", [
    lambda lib, m: m.to(dtype="float"),        # a raw AttributeError before
    lambda lib, m: m.to(1, 2, 3),
    lambda lib, m: m.to(non_blocking=1, foo=2),   # keywords listed last given first, as torch
    lambda lib, m: m.to(lib.float64, False, False),   # copy given at all is refused
    lambda lib, m: m.to(copy=False),
    lambda lib, m: str(m.to(tensor=lib.ones(1, dtype=lib.float64)).weight.dtype).split(".")[-1],
])
def test_module_to_parses_as_torch(call: Callable[[Any, Any], Any]) -> None:
    _same(lambda lib: call(lib, lib.nn.Linear(1, 1)))


def test_outputs_hook_node_passes_none_on() -> None:
    # the non-full hook sits on the outputs' hook node, which (unlike the inputs' one) does not fill zeros
    def run(lib: Any) -> Any:
        import warnings

        class M(lib.nn.Module):
            def forward(self, a: Any) -> Any:
                y = a * 3
                return y, y * 2
        seen: list[Any] = []
        m = M()
        m.register_full_backward_pre_hook(lambda mod, go: seen.append([g is None for g in go]))
        m.register_backward_hook(lambda mod, gi, go: seen.append(([g is None for g in gi], [g is None for g in go])))
        a = lib.ones(2, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m(a)[0].sum().backward()
        return seen, a.grad.tolist()
    _same(run)


@pytest.mark.parametrize("materialize", [True, False])
def test_custom_function_runs_without_incoming_gradient(materialize: bool) -> None:
    # torch runs a reached custom Function's backward even when its gradient is undefined (None, or zeros when it
    # materializes); a module's input hook node is such a Function, so its inputs get zero gradients
    def run(lib: Any) -> Any:
        calls: list[Any] = []

        class A(lib.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.set_materialize_grads(materialize)
                return x * 1

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                calls.append(None if g is None else g.tolist())
                return g

        class Drop(lib.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                return x * 1

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                return None
        x = lib.ones(2, requires_grad=True)
        Drop.apply(A.apply(x) * 2).sum().backward()
        return calls, None if x.grad is None else x.grad.tolist()
    _same(run)


@pytest.mark.parametrize("make", [
    lambda S, opt: S.StepLR(opt, 1, 0.5),
    lambda S, opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=5),
    lambda S, opt: S.ReduceLROnPlateau(opt, patience=0),
])
def test_scheduler_updates_a_tensor_lr_in_place(make: Callable[[Any, Any], Any]) -> None:
    # the optimizer keeps the tensor it was given; torch's schedulers fill it (initial_lr and get_last_lr copies)
    def run(lib: Any) -> Any:
        lr = lib.tensor(0.1)
        opt = lib.optim.Adam([lib.nn.Parameter(lib.ones(2))], lr=lr, foreach=False)
        s = make(lib.optim.lr_scheduler, opt)
        out = []
        for _ in range(3):
            opt.step()
            s.step(1.0) if isinstance(s, lib.optim.lr_scheduler.ReduceLROnPlateau) else s.step()
            last = s.get_last_lr()[0]
            out.append((opt.param_groups[0]["lr"] is lr, round(lr.item(), 6), last is lr,
                        round(float(opt.param_groups[0].get("initial_lr", 0.0)), 6)))
        return out
    _same(run)


@pytest.mark.parametrize("fail", ["pre_hook", "later_hook"])
def test_always_call_hooks_after_any_failure(fail: str) -> None:
    # torch's always_call forward hooks run whatever failed in the call (a pre-hook too), with the output so far
    def run(lib: Any) -> Any:
        seen: list[Any] = []
        m = lib.nn.Linear(1, 1)

        def boom(*_: Any) -> None:
            raise KeyError("boom")
        if fail == "pre_hook":
            m.register_forward_pre_hook(boom)
        else:
            m.register_forward_hook(boom)
        m.register_forward_hook(lambda mod, a, out: seen.append(out is None), always_call=True)
        try:
            m(lib.ones(1))
        except KeyError:
            seen.append("raised")
        return seen
    _same(run)
