"""Tensor methods a–l compared with torch (regressions found by differential fuzzing of the methods)."""
import warnings

import numpy as np
import pytest

import ember
from ember.ops import elementwise
from oracle import outcomes, same_exception, torch


def _same(t, e):
    """Same exception type and first line of text, or same dtype, shape and values (NaNs equal)."""
    if same_exception(t, e):
        return
    if isinstance(t, (tuple, list)):
        for a, b in zip(t, e, strict=True):
            _same(a, b)
        return
    if not isinstance(t, torch.Tensor):
        assert type(e) is type(t) and e == t, (e, t)
        return
    assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape), (e, t)
    a, b = t.detach().float() if t.dtype == torch.bfloat16 else t.detach(), e.detach()
    b = b.float() if str(b.dtype) == "torch.bfloat16" else b
    np.testing.assert_array_equal(b.numpy(), a.numpy())


def _check(fn):
    _same(*outcomes(fn))


def _bf(m, v):
    return m.tensor(v).bfloat16()


@pytest.mark.parametrize("kw", [{"beta": 2, "alpha": 3}, {"alpha": 0}, {"beta": True}, {"alpha": False},
                                {"beta": 1j}])
def test_addr_rounds_each_operation_and_checks_its_scalars(kw):
    """addr computes beta * input + (alpha * vec1) * vec2 rounding each step in the result dtype (alpha == 0
    keeps an inf's NaN), and refuses Boolean scalars for non-Boolean results."""
    _check(lambda m: m.tensor([[1, 2], [0.3, -1]]).bfloat16().addr(_bf(m, [0.1, 0.2]), _bf(m, [0.7, 0.3]), **kw))
    _check(lambda m: m.ones(2, 2).addr(m.tensor([float("inf"), 1.0]), m.ones(2), **kw))
    _check(lambda m: m.ones(2, 2, dtype=m.int64).addr(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64), **kw))


def test_addr_scalar_overflow():
    _check(lambda m: m.ones(2, 2, dtype=m.int8).addr(m.ones(2, dtype=m.int8), m.ones(2, dtype=m.int8), alpha=300))
    _check(lambda m: m.ones(2, 2).half().addr(m.ones(2).half(), m.ones(2).half(), beta=1e6))


@pytest.mark.parametrize("shape", [(), (3,)])
@pytest.mark.parametrize("dt", ["float16", "int64"])
def test_lerp_a_zero_dim_weight_takes_part_in_promotion(shape, dt):
    """A 0-d weight tensor of another dtype promotes as any tensor operand (all 0-d: float16 -> float64)."""
    _check(lambda m: m.ones(shape, dtype=getattr(m, dt)).lerp(m.full(shape, 2, dtype=getattr(m, dt)),
                                                             m.tensor(0.3, dtype=m.float64)))
    _check(lambda m: m.ones(shape, dtype=getattr(m, dt)).lerp_(m.full(shape, 2, dtype=getattr(m, dt)),
                                                              m.tensor(0.3, dtype=m.float64)))


@pytest.mark.parametrize("bounds", [(True, True), (True, None), (None, True), (0, 1)])
def test_clamp_of_bool_by_two_tensors_is_refused(bounds):
    """torch's clamp kernel has no bool version (maximum/minimum, one bound, do)."""
    _check(lambda m: m.tensor([True, False]).clamp(*(None if b is None else m.tensor([b, b]) for b in bounds)))
    _check(lambda m: m.tensor([True, False]).clamp(*(None if b is None else m.tensor(b) for b in bounds)))


@pytest.mark.parametrize("fn", ["hardshrink", "softshrink", "elu", "selu", "softplus", "leaky_relu", "mish", "silu",
                                "hardswish", "hardsigmoid"])
@pytest.mark.parametrize("dt", ["bool", "uint8", "int64", "complex64"])
def test_activation_kernels_refuse_what_torch_has_no_kernel_for(fn, dt):
    _check(lambda m: getattr(m.nn.functional, fn)(m.ones(2, dtype=getattr(m, dt))))


def test_hardshrink_method():
    _check(lambda m: m.ones(2, dtype=m.int64).hardshrink())
    _check(lambda m: m.tensor([0.3, -2.0]).hardshrink(0.5))


@pytest.mark.parametrize("correction", [2.5, True, None, 0])
def test_cov_correction_must_be_an_int(correction):
    _check(lambda m: m.ones(2, 3).cov(correction=correction))


@pytest.mark.parametrize("dt", ["float64", "int64", "float32"])
def test_inplace_scan_with_another_dtype_is_refused(dt):
    """cumsum_/cumprod_ with ``dtype=`` other than self's: torch's 'Bad in-place call' (after the dim's check)."""
    _check(lambda m: m.ones(2, 3).cumsum_(0, dtype=getattr(m, dt)))
    _check(lambda m: m.ones(2, 3).cumprod_(-1, dtype=getattr(m, dt)))
    _check(lambda m: m.ones(2, 3).cumsum_(5, dtype=getattr(m, dt)))


@pytest.mark.parametrize("dt", ["float32", "float64", "int8", "bool", "bfloat16"])
def test_dequantize_of_a_plain_tensor_is_float32(dt):
    _check(lambda m: m.ones(2, dtype=getattr(m, dt)).dequantize())
    for m in (torch, ember):
        x = m.ones(2)
        assert x.dequantize() is x


def test_complex_to_real_conversion_warns_once(monkeypatch):
    """torch warns (once per process) that a complex -> real cast discards the imaginary part."""
    text = "Casting complex values to real discards the imaginary part"
    monkeypatch.setattr(elementwise, "_COMPLEX_CAST_WARNING", [text])
    x = ember.ones(2, dtype=ember.complex64)
    with pytest.warns(UserWarning, match=f"^{text}$"):
        x.float()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.to(ember.int32)
    monkeypatch.setattr(elementwise, "_COMPLEX_CAST_WARNING", [text])
    with pytest.warns(UserWarning, match=f"^{text}$"):
        ember.ones(2, dtype=ember.uint8).copy_(x)


def test_isclose_shapes_that_do_not_broadcast():
    _check(lambda m: m.ones(5).isclose(m.ones(4)))
    _check(lambda m: m.ones(5).allclose(m.ones(2, 4)))


def test_reversed_and_del():
    _check(lambda m: reversed(m.arange(6.0).reshape(2, 3)))
    _check(lambda m: reversed(m.tensor(3.0)))
    _check(lambda m: m.arange(3).__delitem__(0))


@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__",
                                "__ipow__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__"])
def test_inplace_operators_return_not_implemented_for_other_operands(op):
    """So that ``t += 'a'`` raises Python's 'unsupported operand' TypeError and ``t += ndarray`` takes NumPy's
    reflected operator, as torch's."""
    for other in ("a", None, [1, 2], 2):
        _check(lambda m, other=other: getattr(m.ones(2, dtype=m.int64), op)(other))


@pytest.mark.parametrize("fn", [lambda x: x.exp(), lambda x: x + 1, lambda x: x.atan2(x), lambda x: x.int(),
                                lambda x: x.double(), lambda x: x.to(x.dtype, copy=True)])
def test_results_over_expanded_inputs_are_laid_out_as_torch(fn):
    """A cast of an expanded operand keeps torch's layout (NumPy's copy put the 0-stride dims innermost: the
    result was not contiguous, and view(-1) of it failed)."""
    for make in (lambda m: m.ones(1, 4, dtype=m.bool).expand(3, 4),
                 lambda m: m.ones(4, 3, dtype=m.int32).t()[None].expand(2, 3, 4)):
        t, e = (fn(make(m)) for m in (torch, ember))
        assert e.stride() == t.stride() and e.is_contiguous() == t.is_contiguous()


@pytest.mark.parametrize("name, args", [("add", (1,)), ("atan2", ("x",)), ("addcmul", ("x", "x")), ("cumsum", (0,)),
                                        ("logit", ()), ("outer", ("x",)), ("isclose", ("x",))])
def test_methods_take_no_out_keyword(name, args):
    """torch's Tensor methods have no ``out=`` (ember's wrote into it); the functions keep theirs."""
    def call(m):
        x = m.ones(2)
        return getattr(x, name)(*(x if a == "x" else a for a in args), out=m.zeros(2))
    _check(call)
    _check(lambda m: m.outer(m.ones(2), m.ones(2), out=m.zeros(2, 2)))


@pytest.mark.parametrize("make", [lambda m: m.ones(1, 4).expand(3, 4), lambda m: m.ones(4, 1).expand(4, 3),
                                  lambda m: m.ones(2, 0), lambda m: m.ones(3, 4)[:, :1], lambda m: m.ones(3, 4).t(),
                                  lambda m: m.ones(2, 3, 4).permute(2, 0, 1), lambda m: m.tensor(1.0)])
def test_dim_order(make):
    """Ordered as an elementwise result's (a 0 stride decides nothing); ambiguity_check=True refuses expanded dims,
    equal neighbouring strides and size-1 dims with torch's two texts."""
    _check(lambda m: make(m).dim_order())
    _check(lambda m: make(m).dim_order(ambiguity_check=True))
    _check(lambda m: make(m).dim_order(ambiguity_check=1))


def test_lu_solve_is_deprecated(monkeypatch):
    from ember.ops import lapack
    monkeypatch.setattr(lapack, "_deprecated_warned", set())
    LU, piv = ember.linalg.lu_factor(ember.eye(3))
    with pytest.warns(UserWarning, match="^torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will"):
        ember.ones(3, 1).lu_solve(LU, piv)


@pytest.mark.parametrize("it", ["int32", "int64"])
@pytest.mark.parametrize("alpha", [1, 2, True])
def test_index_add_out_of_range_error_by_kernel(it, alpha):
    """Out-of-range indices: scatter_add's RuntimeError only for int64 indices and alpha 1, else IndexError."""
    dt = "bool" if alpha is True else "float32"
    _check(lambda m: m.zeros(3, 4, dtype=getattr(m, dt)).index_add(0, m.tensor([8, 1], dtype=getattr(m, it)),
                                                                   m.ones(2, 4, dtype=getattr(m, dt)), alpha=alpha))


@pytest.mark.parametrize("name, bad", [("exponential_", {"lambd": -1}), ("geometric_", {"p": 1.5}),
                                       ("cauchy_", {"sigma": -1}), ("log_normal_", {"std": -1})])
@pytest.mark.parametrize("make", [lambda m: m.ones(1, 3).expand(2, 3), lambda m: m.ones(0, dtype=m.bool),
                                  lambda m: m.ones(3, dtype=m.bool),
                                  lambda m: m.ones(1, 3, dtype=m.int64).expand(2, 3)])
def test_random_fills_check_in_torch_order(name, bad, make):
    """The parameter first, then (cauchy_: the dtype) the overlap, an empty tensor then samples nothing, then
    the dtype (geometric_ of bool: NotImplementedError)."""
    good = {"p": 0.3} if name == "geometric_" else {}
    _check(lambda m: getattr(make(m), name)(**bad))
    _check(lambda m: getattr(make(m), name)(**good).shape)


@pytest.mark.parametrize("dt", ["complex64", "bool", "int8"])
def test_cauchy_names_the_dtype_as_torch(dt):
    _check(lambda m: m.ones(2, dtype=getattr(m, dt)).cauchy_())


@pytest.mark.parametrize("fn", [lambda x, m: x.cumsum(0, dtype=m.int32), lambda x, m: x.sum(dtype=m.int64),
                                lambda x, m: x.prod(dtype=m.bool),
                                lambda x, m: x.cumprod(0, dtype=m.float64).requires_grad])
def test_integer_results_of_inputs_requiring_grad_are_refused(fn):
    """torch's autograd refuses to give an integer result a history ('Autograd not support dtype')."""
    _check(lambda m: fn(m.ones(2, 3, requires_grad=True), m))


@pytest.mark.parametrize("name, args", [("apply_", (lambda v: v,)), ("map_", ("x", lambda a, b: a)),
                                        ("map2_", ("x", "x", lambda a, b, c: a))])
def test_python_elementwise_methods(name, args):
    """apply_/map_/map2_ refuse tensors requiring grad and leave the version counter (they write the data)."""
    def call(m, rg):
        x = m.ones(2, requires_grad=rg)
        y = getattr(x.detach() if not rg else x, name)(*(m.ones(2) if a == "x" else a for a in args))
        return y, x._version
    _check(lambda m: call(m, True))
    _check(lambda m: call(m, False))


def test_inplace_checks_under_autograd_as_without():
    """With history: abs_ of a complex tensor is refused, a complex operand's cast to self before the kernel's
    dtype check (atan2_); geqrf of a complex tensor requiring grad is refused."""
    _check(lambda m: (m.ones(2, dtype=m.complex64, requires_grad=True) * 1).abs_())
    _check(lambda m: (m.ones(2, requires_grad=True) * 1).atan2_(m.ones(2, dtype=m.complex64)))
    _check(lambda m: m.ones(3, 3, dtype=m.complex64, requires_grad=True).geqrf())


def test_as_strided_over_an_f_ordered_storage():
    """A transposed tensor's clone keeps its strides: its storage is F-ordered memory, which as_strided (and
    as_strided_scatter) index in memory order as torch."""
    _check(lambda m: m.arange(12.0).reshape(4, 3).t().clone().as_strided((2, 2), (1, 2)))
    _check(lambda m: m.arange(12.0).reshape(4, 3).t().as_strided_scatter(m.zeros(2, 2), (2, 2), (1, 2)))


@pytest.mark.parametrize("view", [lambda b: b[:, ::2], lambda b: b[1:, 1::2], lambda b: b[1:]])
def test_as_strided_scatter_writes_in_the_input_storage_coordinates(view):
    """The copy keeps the input's strides, offset and whole storage (torch's clone preserving strides), so the
    sizes/strides given index the same memory as on the input."""
    _check(lambda m: view(m.arange(24.0).reshape(3, 8)).as_strided_scatter(m.zeros(2, 2), (2, 2), (1, 2)))
    t, e = (view(m.arange(24.0).reshape(3, 8)).as_strided_scatter(m.zeros(2), (2,), (1,)) for m in (torch, ember))
    assert (e.stride(), e.storage_offset()) == (t.stride(), t.storage_offset())


def test_conj_physical_of_a_real_tensor_writes_nothing():
    """An expanded real tensor is fine (nothing is written), the version still moves."""
    def call(m):
        x = m.ones(1, 3).expand(2, 3)
        v = x._version
        return x.conj_physical_() is x, x._version - v
    _check(call)
