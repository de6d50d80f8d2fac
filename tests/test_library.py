"""``ember.library`` (custom operators, ``Library``, ``opcheck``) and ``ember.ops.<namespace>`` against
``torch.library`` and ``torch.ops``: each operator is defined the same way in both (under a name unique to the
test, since both registries are process-wide) and compared on values, gradients, schemas and errors."""

import itertools
from typing import Optional

import numpy as np
import pytest

import ember
from oracle import assert_close, torch

_ids = itertools.count()


def _name(stem: str) -> str:
    return f"embertest::{stem}_{next(_ids)}"


def _both(build: object) -> tuple:
    """``build(lib, name)`` run for ember and for torch with the same fresh operator name."""
    name = _name(build.__name__)
    return build(ember, name), build(torch, name)


def _error(fn: object) -> tuple[str, str]:
    try:
        fn()
    except Exception as exc:   # noqa: BLE001 (the error is the result)
        return type(exc).__name__, str(exc)
    raise AssertionError("no error raised")


# ---- infer_schema ----------------------------------------------------------------------------------------------
SIGNATURES = [
    "(x: L.Tensor) -> L.Tensor",
    "(x: L.Tensor, n: int, f: float = 0.5, b: bool = True, s: str = 'a', o: Optional[L.Tensor] = None) -> L.Tensor",
    "(xs: list[L.Tensor], sizes: list[int], p: Optional[int] = None, q: Optional[float] = 2.5) -> list[L.Tensor]",
    "(x: L.Tensor, d: L.dtype = L.int64, dev: L.device = None, sc: int | float | bool = 1) -> tuple[L.Tensor, int]",
    "(x: L.Tensor, *, k: int = 1, eps: float = 1e-05) -> float",
    "(x: L.Tensor, y: L.Tensor, z: L.Tensor) -> None",
    "(ys: list[Optional[L.Tensor]], fl: list[float], bl: list[bool], big: float = 1e+20, inf: float = float('inf'))"
    " -> bool",
]


def _fn(lib: object, sig: str) -> object:
    namespace = {"L": lib, "Optional": Optional}
    exec(f"def f{sig}: ...", namespace)   # noqa: S102 (test-made signatures)
    return namespace["f"]


@pytest.mark.parametrize("sig", SIGNATURES)
@pytest.mark.parametrize("mutates", [(), "unknown"])
def test_infer_schema_matches_torch(sig: str, mutates: object) -> None:
    got = ember.library.infer_schema(_fn(ember, sig), mutates_args=mutates)
    assert got == torch.library.infer_schema(_fn(torch, sig), mutates_args=mutates)


def test_infer_schema_marks_named_mutations_and_op_name() -> None:
    sig = "(x: L.Tensor, y: L.Tensor, z: L.Tensor) -> L.Tensor"
    for kwargs in ({"mutates_args": ("x", "z")}, {"mutates_args": ("y",), "op_name": "foo"}):
        assert ember.library.infer_schema(_fn(ember, sig), **kwargs) == \
            torch.library.infer_schema(_fn(torch, sig), **kwargs)


@pytest.mark.parametrize("sig, mutates", [
    ("(x) -> L.Tensor", ()), ("(x: L.Tensor)", ()), ("(x: L.Tensor, *rest: L.Tensor) -> L.Tensor", ()),
    ("(x: L.Tensor, y: int) -> L.Tensor", ("y",)), ("(x: L.Tensor) -> L.Tensor", ("nope",)),
    ("(x: L.Tensor, n: list[int] = (1, 2)) -> L.Tensor", ()), ("(x: L.Tensor, d: dict) -> L.Tensor", ()),
    ("(x: L.Tensor) -> dict", ()),
])
def test_infer_schema_errors_match_torch(sig: str, mutates: tuple) -> None:
    mine = _error(lambda: ember.library.infer_schema(_fn(ember, sig), mutates_args=mutates))
    theirs = _error(lambda: torch.library.infer_schema(_fn(torch, sig), mutates_args=mutates))
    # the messages end with the function's signature and, for bad types, torch's list of types: compare the cause
    assert mine[0] == theirs[0] and mine[1].split(" Got func")[0].split(" The valid")[0] == \
        theirs[1].split(" Got func")[0].split(" The valid")[0]


# ---- custom_op -------------------------------------------------------------------------------------------------
def numpy_sin(lib: object, name: str) -> object:
    @lib.library.custom_op(name, mutates_args=())
    def op(x: lib.Tensor) -> lib.Tensor:
        return lib.from_numpy(np.sin(x.detach().numpy()))
    return op


def _register_sin_grad(op: object) -> None:
    def setup_context(ctx: object, inputs: tuple, output: object) -> None:
        ctx.save_for_backward(inputs[0])

    def backward(ctx: object, grad: object) -> object:
        (x,) = ctx.saved_tensors
        return grad * x.cos()
    op.register_autograd(backward, setup_context=setup_context)


def test_custom_op_forward_backward_match_torch() -> None:
    e_op, t_op = _both(numpy_sin)
    assert repr(e_op) == repr(t_op) and str(e_op._schema) == str(t_op._schema)
    x = np.linspace(-2, 2, 5, dtype=np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = e_op(ex), t_op(tx)
    assert_close(ey, ty)
    assert type(ey.grad_fn).__name__ == type(ty.grad_fn).__name__
    assert _error(lambda: ey.sum().backward()) == _error(lambda: ty.sum().backward())
    for op in (e_op, t_op):
        _register_sin_grad(op)
    e_op(ex).sum().backward()
    t_op(tx).sum().backward()
    assert_close(ex.grad, tx.grad)
    assert not e_op(ember.ones(2)).requires_grad


def test_custom_op_gradcheck() -> None:
    op = numpy_sin(ember, _name("gc"))
    _register_sin_grad(op)
    x = ember.tensor([0.3, -1.2, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(op, (x,))


def two_outputs_and_lists(lib: object, name: str) -> object:
    @lib.library.custom_op(name, mutates_args=())
    def op(x: lib.Tensor, ys: list[lib.Tensor], *, k: float = 1.0) -> tuple[lib.Tensor, lib.Tensor]:
        total = sum(y.detach().numpy() for y in ys)
        return lib.from_numpy(x.detach().numpy() * k), lib.from_numpy(total * 3)

    def backward(ctx: object, ga: object, gb: object) -> tuple:
        return ga * ctx.k, [gb * 3] * ctx.n

    def setup_context(ctx: object, inputs: tuple, keyword_only_inputs: dict, output: object) -> None:
        ctx.k, ctx.n = keyword_only_inputs["k"], len(inputs[1])
    op.register_autograd(backward, setup_context=setup_context)
    return op


def test_multiple_outputs_tensor_lists_and_keyword_args() -> None:
    e_op, t_op = _both(two_outputs_and_lists)
    assert str(e_op._schema) == str(t_op._schema)
    data = [np.arange(3, dtype=np.float32) + i for i in range(3)]
    ein = [ember.tensor(d, requires_grad=True) for d in data]
    tin = [torch.tensor(d, requires_grad=True) for d in data]
    ea, eb = e_op(ein[0], ein[1:], k=2.5)
    ta, tb = t_op(tin[0], tin[1:], k=2.5)
    assert_close(ea, ta)
    assert_close(eb, tb)
    (ea.sum() * 2 + eb.sum()).backward()
    (ta.sum() * 2 + tb.sum()).backward()
    for e, t in zip(ein, tin, strict=True):
        assert_close(e.grad, t.grad)


def scale_in_place(lib: object, name: str) -> object:
    @lib.library.custom_op(name, mutates_args=("x",))
    def op(x: lib.Tensor, s: float) -> None:
        arr = x.numpy()
        arr *= s
    return op


def test_mutating_op_bumps_version_and_schema() -> None:
    e_op, t_op = _both(scale_in_place)
    assert str(e_op._schema) == str(t_op._schema)
    ez, tz = ember.ones(3), torch.ones(3)
    assert e_op(ez, 3.0) is None and t_op(tz, 3.0) is None
    assert_close(ez, tz)
    assert ez._version == tz._version == 1


def identity(lib: object, name: str) -> object:
    @lib.library.custom_op(name, mutates_args=())
    def op(x: lib.Tensor) -> lib.Tensor:
        return x
    return op


def returns_a_number(lib: object, name: str) -> object:
    @lib.library.custom_op(name, mutates_args=())
    def op(x: lib.Tensor) -> lib.Tensor:
        return 3
    return op


def test_custom_op_result_checks_match_torch() -> None:
    for build in (identity, returns_a_number):
        e_op, t_op = _both(build)
        mine, theirs = _error(lambda e_op=e_op: e_op(ember.ones(1))), _error(lambda t_op=t_op: t_op(torch.ones(1)))
        # torch names its own module as the implementation's; the rule stated after it is what must match
        assert mine[0] == theirs[0] and mine[1].split("): ")[-1][:200] == theirs[1].split("): ")[-1][:200]


def test_custom_op_declaration_errors_match_torch() -> None:
    def no_mutates(lib: object) -> object:
        @lib.library.custom_op(_name("x"))
        def op(x: lib.Tensor) -> lib.Tensor:
            return x.clone()
        return op

    def no_namespace(lib: object) -> object:
        @lib.library.custom_op("plainname", mutates_args=())
        def op(x: lib.Tensor) -> lib.Tensor:
            return x.clone()
        return op
    for build in (no_mutates, no_namespace):
        assert _error(lambda build=build: build(ember)) == _error(lambda build=build: build(torch))


def test_register_kernel_for_cpu_replaces_the_default() -> None:
    op = numpy_sin(ember, _name("k"))

    @op.register_kernel("cpu")
    def _(x: ember.Tensor) -> ember.Tensor:
        return ember.from_numpy(np.cos(x.numpy()))
    assert_close(op(ember.zeros(2)), torch.ones(2))


# ---- ember.ops namespaces ---------------------------------------------------------------------------------------
def test_ops_namespace_objects_match_torch() -> None:
    name = _name("ns")
    numpy_sin(ember, name), numpy_sin(torch, name)
    ns, op = name.split("::")
    e_packet, t_packet = getattr(getattr(ember.ops, ns), op), getattr(getattr(torch.ops, ns), op)
    assert str(e_packet) == str(t_packet) and e_packet.overloads() == t_packet.overloads()
    e_default, t_default = e_packet.default, t_packet.default
    assert repr(e_default) == repr(t_default) and str(e_default) == str(t_default)
    assert e_default.name() == t_default.name() and e_default.namespace == t_default.namespace
    assert str(e_default._schema) == str(t_default._schema)
    x = np.array([0.5, 1.0], dtype=np.float32)
    assert_close(e_default(ember.tensor(x)), t_default(torch.tensor(x)))
    assert_close(e_packet(ember.tensor(x)), t_packet(torch.tensor(x)))
    assert _error(lambda: ember.ops.embertest.no_such_op) == _error(lambda: torch.ops.embertest.no_such_op)


def test_aten_namespace_reaches_builtin_ops() -> None:
    a, b = np.array([[1.0, -2.0]], dtype=np.float32), np.array([[3.0], [4.0]], dtype=np.float32)
    for call in ("add.Tensor(A, B)", "mm.default(B, A)", "relu.default(A)", "sum.dim_IntList(B, [0])",
                 "mul_.Tensor(A.clone(), 2.0)"):
        got = eval(f"L.ops.aten.{call}", {"L": ember, "A": ember.tensor(a), "B": ember.tensor(b)})
        want = eval(f"L.ops.aten.{call}", {"L": torch, "A": torch.tensor(a), "B": torch.tensor(b)})
        assert_close(got, want)


# ---- Library ---------------------------------------------------------------------------------------------------
def _library(lib: object, ns: str) -> object:
    library = lib.library.Library(ns, "DEF")
    library.define("scale(Tensor x, int n=1) -> Tensor")
    library.impl("scale", lambda x, n=1: x * n, "CPU")
    library.define("wave(Tensor x) -> Tensor")
    library.impl("wave", lambda x: x.sin() * 2, "CompositeImplicitAutograd")
    library.define("missing(Tensor x) -> Tensor")
    return library


def test_library_define_and_impl_match_torch() -> None:
    ns = f"embertestlib{next(_ids)}"
    e_lib, t_lib = _library(ember, ns), _library(torch, ns)
    assert repr(e_lib) == repr(t_lib)
    e_ns, t_ns = getattr(ember.ops, ns), getattr(torch.ops, ns)
    x = np.array([0.2, -0.7], dtype=np.float32)
    for op, args in (("scale", (3,)), ("wave", ())):
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ey, ty = getattr(e_ns, op)(ex, *args), getattr(t_ns, op)(tx, *args)
        assert_close(ey, ty)
        assert type(ey.grad_fn).__name__ == type(ty.grad_fn).__name__
        ey.sum().backward()
        ty.sum().backward()
        assert_close(ex.grad, tx.grad)
    for call in ("scale(X, 'a')", "scale()"):
        mine = _error(lambda call=call: eval(f"ns.{call}", {"ns": e_ns, "X": ember.ones(1)}))
        theirs = _error(lambda call=call: eval(f"ns.{call}", {"ns": t_ns, "X": torch.ones(1)}))
        assert mine[0] == theirs[0] and mine[1].split("\nCast error")[0] == theirs[1].split("\nCast error")[0]
    mine, theirs = _error(lambda: e_ns.missing(ember.ones(1))), _error(lambda: t_ns.missing(torch.ones(1)))
    assert mine[0] == theirs[0] and mine[1].split(". ")[0] == theirs[1].split(". ")[0]


# ---- opcheck ---------------------------------------------------------------------------------------------------
def sin_with_fake(lib: object, name: str) -> object:
    @lib.library.custom_op(name, mutates_args=())
    def op(x: lib.Tensor) -> lib.Tensor:
        return x.sin()

    @op.register_fake
    def _(x: lib.Tensor) -> lib.Tensor:
        return lib.empty_like(x)
    return op


def secretly_mutates(lib: object, name: str) -> object:
    @lib.library.custom_op(name, mutates_args=())
    def op(x: lib.Tensor) -> lib.Tensor:
        x.add_(1)
        return x.clone()

    @op.register_fake
    def _(x: lib.Tensor) -> lib.Tensor:
        return lib.empty_like(x)
    return op


def wrong_fake(lib: object, name: str) -> object:
    @lib.library.custom_op(name, mutates_args=())
    def op(x: lib.Tensor) -> lib.Tensor:
        return x.sum(0)

    @op.register_fake
    def _(x: lib.Tensor) -> lib.Tensor:
        return lib.empty_like(x)
    return op


def _opcheck(lib: object, op: object, requires_grad: bool = False, **kwargs: object) -> object:
    x = lib.tensor(np.arange(6, dtype=np.float32).reshape(3, 2) / 7, requires_grad=requires_grad)
    return _error(lambda: lib.library.opcheck(op, (x,), **kwargs)) if kwargs.pop("expect_error", False) else \
        lib.library.opcheck(op, (x,), **kwargs)


def _cause(error: tuple[str, str]) -> tuple[str, str]:
    """An opcheck error without the operator's printed name (torch's module path vs ember's)."""
    return error[0], error[1].replace("torch.Size", "Size").replace("ember.Size", "Size")


def test_opcheck_results_match_torch() -> None:
    e_op, t_op = _both(sin_with_fake)
    assert _opcheck(ember, e_op) == _opcheck(torch, t_op)
    assert _opcheck(ember, e_op, test_utils=("test_schema",)) == _opcheck(torch, t_op, test_utils=("test_schema",))
    # no autograd formula: opcheck's backward pass raises torch's error
    assert _cause(_opcheck(ember, e_op, True, expect_error=True)) == \
        _cause(_opcheck(torch, t_op, True, expect_error=True))
    for op in (e_op, t_op):
        _register_sin_grad(op)
    assert _opcheck(ember, e_op, True) == _opcheck(torch, t_op, True)


@pytest.mark.parametrize("build", [secretly_mutates, wrong_fake, numpy_sin])
def test_opcheck_failures_match_torch(build: object) -> None:
    e_op, t_op = _both(build)
    mine = _cause(_opcheck(ember, e_op, expect_error=True))
    theirs = _cause(_opcheck(torch, t_op, expect_error=True))
    assert mine[0] == theirs[0] and mine[1].replace(repr(e_op), "OP") == theirs[1].replace(repr(t_op), "OP")


def test_opcheck_rejects_unknown_tests_like_torch() -> None:
    e_op, t_op = _both(sin_with_fake)
    assert _opcheck(ember, e_op, test_utils="bogus", expect_error=True) == \
        _opcheck(torch, t_op, test_utils="bogus", expect_error=True)


def test_numpy_under_no_grad_like_torch() -> None:
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        with lib.no_grad():
            assert x.numpy().tolist() == [1.0, 1.0]
    assert _error(lambda: ember.ones(1, requires_grad=True).numpy()) == \
        _error(lambda: torch.ones(1, requires_grad=True).numpy())
