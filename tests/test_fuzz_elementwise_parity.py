"""Elementwise ops, operators and type promotion compared with torch (regressions found by differential fuzzing)."""
import numpy as np
import pytest

import ember
from oracle import outcomes, same_exception, torch

INF, NAN = float("inf"), float("nan")


def _same(t, e):
    """Same exception (type and first line of text), or same dtype, shape, values and signs of zeros."""
    if same_exception(t, e):
        return
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    if t.dtype in (torch.bfloat16, torch.float16):
        t, e = t.float(), e.float()
    a, b = t.numpy(), e.numpy()
    np.testing.assert_array_equal(b, a)
    if a.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(b), np.signbit(a))


def _check(fn):
    _same(*outcomes(fn))


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32", "float64", "int64"])
def test_remainder_zero_takes_dividend_sign(dt):
    """A float zero remainder keeps the dividend's sign (fmod's), not the divisor's as NumPy's."""
    x = [-6, 6, 0, -4]
    _check(lambda m: m.remainder(m.tensor(x).to(getattr(m, dt)), 2.0))
    _check(lambda m: m.tensor(x).to(getattr(m, dt)) % -2.0)
    _check(lambda m: m.remainder(m.tensor([-6.0, 0.0, -0.0]), m.tensor([2.0, -2.0, 2.0])))


def test_integer_division_by_zero_only_when_computed():
    """Integer division/remainder by zero raises only when the kernel runs (not for an empty result)."""
    _check(lambda m: m.zeros(0, 4, dtype=m.int16) // m.tensor(0, dtype=m.int8))
    _check(lambda m: m.remainder(m.zeros(0, dtype=m.int64), 0))
    _check(lambda m: m.ones(3, dtype=m.int64) // m.zeros(2, dtype=m.int64))   # shapes first
    _check(lambda m: m.ones(3, dtype=m.int64) // 0)


def test_invert_operator_refuses_floats():
    _check(lambda m: ~m.ones(2))
    _check(lambda m: ~m.ones(2, dtype=m.complex64))
    _check(lambda m: ~m.tensor([True, False]))
    _check(lambda m: m.bitwise_not(m.ones(2)))


@pytest.mark.parametrize("name", ["rsub", "maximum_", "minimum_", "fmax_", "fmin_"])
def test_no_tensor_methods_torch_lacks(name):
    assert not hasattr(torch.Tensor, name)
    assert not hasattr(ember.Tensor, name)


@pytest.mark.parametrize("src", [
    "m.clamp(m.ones(2, dtype=m.uint8), 300)", "m.clamp(m.ones(2, dtype=m.int8), 2**40)",
    "m.clamp(m.ones(2, dtype=m.uint8), -1)", "m.clamp_min(m.ones(2, dtype=m.float16), 70000.)",
    "m.clamp(m.ones(2, dtype=m.bfloat16), None, -1e300)", "m.clamp(m.ones(2), 1e300)",
    "m.clamp(m.ones(2), 2.5 + 0j)", "m.clamp(m.ones(2), 1j)", "m.clamp_min(m.ones(2), 2.5 + 0j)",
    "m.clamp(m.ones(2, dtype=m.bool), True)", "m.clamp_max(m.ones(2, dtype=m.bool), False)",
    "m.clamp(m.ones(2, dtype=m.bool), m.tensor(False))",
    "m.clamp(m.ones(2), m.tensor(1j))", "m.clamp(m.ones(2), None, m.tensor(1j))",
    "m.clamp_max(m.ones(2, dtype=m.complex64), m.tensor([1]))",
    "m.clamp(m.ones(2, dtype=m.complex64), m.tensor(1))",
    "m.clamp(m.ones(2, dtype=m.int16), m.tensor(1), out=m.empty(2, dtype=m.float64))",
    "m.clamp(m.ones(2), m.tensor([1j]), out=m.empty(2, dtype=m.float64))",
    "m.clamp(m.ones(2, dtype=m.bfloat16), None, 1j, out=m.empty(2, dtype=m.complex64))",
    "m.clamp(m.ones(2), m.tensor([1.]), 2)", "m.clamp(m.ones(2), m.tensor(1.5), 2)",
    "m.clamp_min(m.ones(2), None)", "m.clamp(m.ones(2), 2**64)",
    "m.ones(2, dtype=m.int32).clamp_(1j)", "m.ones(2, dtype=m.int32).clamp_max_(2 + 0j)",
    "m.ones(2).clamp_min_(2.5 + 1j)", "m.ones(2).clamp_(2.5 + 0j)", "m.ones(2).clamp_(m.tensor(1j))",
    "m.ones(2, dtype=m.complex64).clamp_min_(m.tensor(1))", "m.ones(2, dtype=m.uint8).clamp_(300)",
    "m.clamp_min(m.ones(2, dtype=m.bool), m.ones(3, 1, dtype=m.complex64))",
    "m.ones(()).clamp_(m.ones(3), m.tensor(1j))", "m.ones(3, 1).expand(3, 2).clamp_(m.zeros(2), m.tensor(1j))",
])
def test_clamp_dtypes_bounds_and_error_order(src):
    """clamp's Scalar and Tensor overloads: result dtypes, checked bound conversion, torch's error order."""
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("src", [
    "m.ones(2) + 2**64", "m.ones(2, dtype=m.int64) + (-2**63 - 1)", "m.tensor(2) ** (2**64)",
    "m.ones(2) < 2**64", "m.ones(2) + (2**64 - 1)",
])
def test_python_ints_beyond_64_bits(src):
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("src", [
    "m.ones(3, 1).expand(3, 2).bitwise_or_(m.tensor(1j))",      # overlap before the kernel's dtype error
    "m.ones(2, 1, dtype=m.bool).expand(2, 2).round_()",
    "m.ones(3, 1, dtype=m.int16).expand(3, 2).frac_()",
    "m.square(m.ones(4, dtype=m.uint8), out=m.empty(1, dtype=m.float16).expand(4))",
    "m.bitwise_xor(m.ones(3, 1, dtype=m.bool), m.ones(1), out=m.empty(1, 1).expand(3, 1))",
    "m.ones(3, 4, 2, dtype=m.complex64) // m.ones(2, 3)",                 # shapes before the dtype error
    "m.gcd(m.ones(2, dtype=m.int32), m.ones(3), out=m.empty(2, dtype=m.int32))",
])
def test_overlap_and_shape_errors_before_dtype_errors(src):
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("src", [
    "m.where(m.tensor([1, 0], dtype=m.int32), m.ones(2), 0.)",
    "m.where(m.tensor([True, False]), m.ones(2), 0., out=m.empty(2, dtype=m.float64))",
    "m.where(m.tensor([True, False]), 1, m.zeros(2), out=m.empty(2))",
    "m.where(m.tensor([True, False]), m.ones(2), m.zeros(2, dtype=m.float64), out=m.empty(2))",
    "m.where(m.tensor([True, False]), m.ones(2), m.zeros(3), out=m.empty(2, dtype=m.int64))",
    "m.where(m.tensor([True, False]), m.ones(2), m.ones(3))",
    "m.where(m.tensor([True, False]), out=m.empty(2))", "m.where(m.tensor([True, False]), m.ones(2), None)",
    "m.ones(2).where(m.tensor([True, False]))", "m.ones(2).where(m.tensor([True, False]), 2)",
])
def test_where_overloads_and_out_dtype(src):
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.filterwarnings("ignore:where received a uint8 condition")
def test_where_takes_a_uint8_condition():
    _check(lambda m: m.where(m.tensor([1, 0, 2], dtype=m.uint8), m.ones(3), 0.))
    _check(lambda m: m.ones(3).where(m.tensor([1, 0, 2], dtype=m.uint8), m.zeros(3)))


@pytest.mark.parametrize("src", [
    "m.add(m.ones(2, dtype=m.uint8), m.ones(2, dtype=m.uint8), alpha=-1)",
    "m.add(m.ones(2, dtype=m.uint8), m.ones(2, dtype=m.uint8), alpha=-300)",
    "m.add(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64), alpha=2**63)",
    "m.add(m.ones(2, dtype=m.float16), m.ones(2, dtype=m.float16), alpha=1e10)",
    "m.add(m.ones(2, dtype=m.bfloat16), m.ones(2, dtype=m.bfloat16), alpha=1e300)",
    "m.sub(m.ones(2, dtype=m.int8), 1, alpha=200)", "m.rsub(m.ones(2, dtype=m.uint8), 5, alpha=-1)",
    "m.add(m.ones(2, dtype=m.int8), m.ones(2, dtype=m.int8), alpha=2j)",
    "m.ones(2, dtype=m.uint8).sub_(m.tensor(3), alpha=-2)",
])
def test_alpha_checked_into_the_result_dtype(src):
    _check(lambda m: eval(src, {"m": m}))


def test_inplace_narrowing_wraps_as_torch():
    """A 0-d self meeting a 0-d operand of a wider integer type computes wide and wraps back."""
    def f(m):
        a = m.tensor(1, dtype=m.int16)
        a |= m.tensor(-2147483647, dtype=m.int32)
        return a
    _check(f)


def test_lcm_overflows_as_torch():
    _check(lambda m: m.lcm(m.tensor([2**31 - 1, -2**31, 0, 5, -4], dtype=m.int32),
                           m.tensor([-6, 3, 0, 0, 6], dtype=m.int32)))


def test_out_overlap_checked_before_resize_and_dtype():
    _check(lambda m: m.logical_not(m.tensor(1), out=m.empty(1).expand(2)))
    _check(lambda m: m.ge(m.ones(3, 3, dtype=m.int32), True, out=m.empty(1, dtype=m.complex128).expand(2)))
    _check(lambda m: m.maximum(m.ones(4, dtype=m.bfloat16), m.ones(4, 3, dtype=m.complex64), out=m.empty(4)))


@pytest.mark.parametrize("src", [
    "m.tensor([-3.0, 4.1], dtype=m.float16) * m.tensor(2.36853)",
    "m.tensor([-3.0, 4.1], dtype=m.bfloat16) * m.tensor(2.36853)",
    "m.tensor([-3.0, 4.1], dtype=m.float16).mul_(m.tensor(2.36853))",
    "m.tensor([-3.0, 4.1, 7.7, 1.3], dtype=m.bfloat16) / m.tensor(0.3)",
    "m.tensor(2.36853) * m.tensor([-3.0, 4.1], dtype=m.float16)",   # a first 0-d operand is rounded
])
def test_mul_div_take_a_second_0d_operand_at_its_precision(src):
    """torch's mul/div kernels read a 0-d CPU tensor second operand as a scalar in float32 (opmath)."""
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("src", [
    "m.ldexp(m.tensor([1e-300, -float('inf'), 3.], dtype=m.float64), m.tensor([2000, -2000, -1080]))",
    "m.ldexp(m.tensor([1e-300, -float('inf'), 3.], dtype=m.float64), m.tensor([2000., -2000, -1080]))",
    "m.ldexp(m.tensor([1e-30, -float('inf'), 3.]), m.tensor([200, -200, -150], dtype=m.int32))",
    "m.ldexp(m.tensor([3.], dtype=m.float16), m.tensor([-20], dtype=m.int32))",
    "m.ldexp(m.tensor([3], dtype=m.uint8), m.tensor([True, False]))",
    "m.ldexp(m.ones(2), m.tensor([True, False]))", "m.ones(2).ldexp_(m.tensor([3, -200]))",
    "m.ldexp(m.tensor([0, 1, 3], dtype=m.int8), m.tensor([200, 200, -150], dtype=m.int32))",   # not exact
    "m.ldexp(m.ones(2), m.tensor([1j, 2]), out=m.empty(2))", "m.ones(3).ldexp_(m.tensor([1j, 2]))",
    "m.ldexp(m.ones(3, dtype=m.int32), m.tensor([1j, 2]), out=m.empty(2, dtype=m.int32))",
    "m.ldexp(m.tensor([-3.0, 4.1, 0.7], dtype=m.float16), m.tensor(1.244))",   # 2**other in other's dtype
    "m.ldexp(m.tensor([-33.3, 4.1, 0.7]), m.tensor([6.2, 1.3, -0.7], dtype=m.bfloat16))",
])
def test_ldexp_integer_exponent_is_exact(src):
    _check(lambda m: eval(src, {"m": m}))


def test_ldexp_integer_exponent_gradients():
    x = ember.tensor([0.5, -1.5], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: ember.ldexp(x, ember.tensor([3, -2])), (x,))


@pytest.mark.parametrize("src", [
    "m.addcmul(m.ones(2), m.ones(2), m.ones(2), value=2j)",
    "m.addcmul(m.ones(2, dtype=m.float64), m.ones(2), m.ones(2), value=2j)",
    "m.addcmul(m.ones(2, dtype=m.bfloat16), m.ones(2, dtype=m.bfloat16), m.ones(2, dtype=m.bfloat16), value=2j)",
    "m.addcmul(m.ones(2), m.ones(2), m.ones(2), value=1e300)",
    "m.addcmul(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64), value=2j)",
    "m.addcmul(m.ones(2, dtype=m.int8), m.ones(2, dtype=m.int8), m.ones(2, dtype=m.int8), value=300)",
    "m.addcmul(m.ones(2, dtype=m.uint8), m.ones(2, dtype=m.uint8), m.ones(2, dtype=m.uint8), value=-1)",
    "m.addcdiv(m.ones(2, dtype=m.int32), m.ones(2), m.ones(2, dtype=m.int32), value=2j)",
    "m.addcdiv(m.ones(2), m.ones(2), m.ones(2), value=2.5 + 0j)",
    "m.lerp(m.tensor(1., dtype=m.bfloat16), m.tensor(2., dtype=m.bfloat16), 7.0)",
    "m.lerp(m.tensor(1.), m.tensor(2.), 0.3)", "m.lerp(m.ones(2), m.ones(2), 2j)",
    "m.lerp(m.ones(2), m.ones(2), 1e300)",
])
def test_addcmul_addcdiv_lerp_number_arguments(src):
    """value/weight numbers are converted (checked) to the kernel's compute type; 0-d lerp works."""
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("src", [
    "m.remainder(m.tensor([4, 9], dtype=m.uint8), m.tensor(-2**31, dtype=m.int32))",
    "m.add(m.ones(2, 0, dtype=m.uint8), m.ones(4, dtype=m.int32), alpha=7.0)",
    "m.ones(2, 0, 4, dtype=m.int16).expand(2, 0, 4).bitwise_not_()",
    "m.ones(1, 0, 4, dtype=m.int64).expand(3, 0, 4).rsqrt_()",
    "m.ones((), dtype=m.int16).addcmul_(m.ones(2, dtype=m.complex128), m.tensor(1.))",
    "m.ones(1, 3, dtype=m.complex64).expand(3, 3).addcdiv_(m.ones(3, 1), m.tensor(1.), value=0.)",
    "m.where(m.ones(3, dtype=m.complex64), m.tensor(1), m.ones(3, dtype=m.int16), out=m.empty(3, dtype=m.int8))",
])
def test_error_order_and_wrapped_divisors(src):
    _check(lambda m: eval(src, {"m": m}))


_CVALS = [0j, 1 + 0j, 2 + 1j, -3 - 1.5j, complex(INF, 0), complex(INF, 1), complex(NAN, 0), complex(0.5, INF),
          complex(-2, 0), complex(0, -INF), 1e-200 + 0j]


@pytest.mark.parametrize("e", [0, 1, 2, 3, 4, 0.5, -0.5, -1, -2, -3, 2.5, 1j])
def test_complex_pow_number_exponent(e):
    """torch's Scalar kernel: 0/1/2/3/±0.5/-1/-2 as ones, copies, products, roots and reciprocals, else
    exp(e * log(z)) (NumPy multiplies small integer powers out)."""
    def f(m):
        r = m.tensor(_CVALS, dtype=m.complex128) ** e
        return m.view_as_real(r).nan_to_num(nan=7.0, posinf=8.0, neginf=9.0)
    _check_close(f)


def test_complex_pow_tensor_exponent_and_reciprocal_of_zero():
    def f(m):
        a = m.tensor([v for v in _CVALS for _ in range(4)], dtype=m.complex128)
        b = m.tensor([0j, 2 + 0j, -1 + 0j, 2 + 1j] * len(_CVALS), dtype=m.complex128)
        out = [a ** b, m.pow(a, m.tensor(2 + 0j, dtype=m.complex128)), a.reciprocal(), a.rsqrt()]
        return m.stack([m.view_as_real(r).nan_to_num(nan=7.0, posinf=8.0, neginf=9.0) for r in out])
    _check_close(f)


def _check_close(fn):
    """As _check, values within a few ulp (exp/log are not correctly rounded everywhere)."""
    t, e = outcomes(fn)
    assert not isinstance(e, Exception), e
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("src", [
    "m.tensor(-INF) + m.tensor(Z)", "m.tensor(Z) + m.tensor(-INF)", "m.tensor(Z) - m.tensor(-INF)",
    "m.tensor(-INF) - m.tensor(Z)", "m.tensor(Z) + INF", "INF - m.tensor(Z)", "m.rsub(m.tensor(Z), 2)",
    "m.tensor([6], dtype=m.uint8) - m.tensor(complex(INF, -2.28))", "m.tensor(Z).add_(m.tensor(Z[::-1]))",
])
def test_complex_add_sub_multiply_by_alpha(src):
    """torch's add/sub kernels compute a + alpha * b with a complex alpha (1 or -1): an infinite part of b
    turns its other part NaN."""
    z = [complex(1, -2.48), complex(INF, 1), complex(1, INF)]
    _check(lambda m: m.view_as_real(eval(src, {"m": m, "Z": z, "INF": INF})).nan_to_num(nan=7.0))


@pytest.mark.parametrize("src", [
    "m.heaviside(m.ones(1, dtype=m.int64), m.tensor(1j), out=m.empty(2, dtype=m.int16))",
    "m.ones(4, 0, 1, dtype=m.int8).expand(4, 0, 3).fix_()", "m.ones(4, 0, 1).expand(4, 0, 3).add_(1)",
    "m.ones(4, 0, 1).expand(4, 0, 3).mul_(m.ones(3))", "m.ones(4, 0, 1).expand(4, 0, 3).clamp_(0, 1)",
    "m.ones(4, dtype=m.bool).pow_(-2)", "m.ones(4, dtype=m.int32).expand(2, 4).pow_(-2)",
])
def test_heaviside_complex_first_and_empty_expanded_inplace(src):
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("src", [
    "m.sub(m.ones(2, dtype=m.complex64), m.ones(2), alpha=1e300)",
    "m.sub(m.ones(2, dtype=m.complex64), m.ones(2), alpha=1e300j)",
    "m.sub(m.ones(2, dtype=m.complex128), m.ones(2), alpha=1e300j)",
])
def test_complex_alpha_must_fit(src):
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("dt", ["complex64", "complex128"])
def test_complex_log1p_accurate_near_zero(dt):
    z = [5e-5 - 0.01j, 1.6 + 2j, 0j, 1e-20 + 1e-20j, -0.3 + 0.2j, -2 + 0j, 0.4 + 0.2j]
    t = torch.tensor(z, dtype=getattr(torch, dt)).log1p().numpy()
    e = ember.tensor(z, dtype=getattr(ember, dt)).log1p().numpy()
    np.testing.assert_allclose(e, t, rtol=1e-6 if dt == "complex64" else 1e-14, atol=0)


@pytest.mark.parametrize("src", [
    "(lambda x: m.add(x, m.ones(2, 3), out=x))(m.ones(2, 1))",      # out is an input: it can't be resized
    "(lambda x: m.add(m.ones(2, 3), x, out=x))(m.ones(2, 1))",
    "(lambda x: m.add(x, m.ones(2, 3), out=x[0]))(m.ones(2, 1))",   # partial overlap
    "(lambda x: m.exp(x, out=x[0]))(m.ones(2, 1))", "(lambda x: m.neg(x.t(), out=x))(m.ones(3, 3))",
    "(lambda x: m.lerp(x, m.ones(3), 0.5, out=x))(m.ones(1))", "(lambda x: m.clamp(x, m.ones(3), out=x))(m.ones(1))",
    "(lambda x: m.addcmul(x, x, x, out=x))(m.ones(2, 3))", "(lambda x: m.add(x, 1, out=x))(m.ones(2, 3))",
])
def test_out_aliasing_an_input(src):
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("src", [
    "(lambda x: m.fmin(x, m.tensor(True), out=x))(m.ones(1, 4, dtype=m.complex128).expand(2, 4))",
    "(lambda x: m.ne(x, m.ones(2), out=x))(m.ones(1, 2, 2, dtype=m.int8)[..., 1:])",
    "(lambda x: m.clamp(x, m.tensor(1.), 7.0, out=x))(m.ones(2, 1, dtype=m.uint8))",
    "(lambda x: m.bitwise_right_shift(x, True, out=x))(m.ones(0, 1, dtype=m.int8).expand(0, 3))",
    "(lambda x: m.signbit(x, out=x))(m.ones(2, 1, dtype=m.int16).expand(2, 2))",
    "m.ldexp(m.ones(4, 3, 3, dtype=m.bfloat16), m.ones(4, 1, dtype=m.bool))",
])
def test_out_alias_error_order(src):
    _check(lambda m: eval(src, {"m": m}))


@pytest.mark.parametrize("op", ["sigmoid", "rsqrt"])
@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_half_sigmoid_rsqrt_rounded_once(op, dt):
    """16-bit sigmoid/rsqrt computed in float32 and rounded once as torch's kernels (a third of the values
    were 1 ulp off); a few may still differ by an ulp where the float32 steps round differently."""
    x = np.linspace(0.01 if op == "rsqrt" else -8, 8, 2001).astype(np.float32)
    t = getattr(torch.tensor(x).to(getattr(torch, dt)), op)().float().numpy()
    e = getattr(ember.tensor(x).to(getattr(ember, dt)), op)().float().numpy()
    assert (t != e).sum() <= 20   # (was about 1 in 3)


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32", "float64"])
def test_addcmul_addcdiv_round_as_torch(op, dt):
    """addcmul ends in a fused multiply-add fma(value*t1, t2, self); 16-bit floats compute in float32."""
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal((2, 500)) * 3).astype(np.float32)
    def f(m):
        t = [m.tensor(v).to(getattr(m, dt)) for v in (x, y, x + 5)]
        return getattr(m, op)(*t, value=0.7).double()
    _check(f)
    x64 = ember.tensor(x[:4], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: getattr(ember, op)(a, a * 2, a + 9, value=0.7), (x64,))


@pytest.mark.parametrize("op", ["add", "sub", "rsub"])
@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32", "float64"])
def test_alpha_fused_as_torch(op, dt):
    """add/sub with alpha: fma(alpha, b, a) (16-bit: alpha rounded to the type, float32 math). 512 elements:
    torch's vectorised body only (its scalar tail of 16-bit floats rounds the product first)."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 512)) * 3
    def f(m):
        return getattr(m, op)(m.tensor(x).to(getattr(m, dt)), m.tensor(y).to(getattr(m, dt)), alpha=-1.3).double()
    if dt in ("float32", "float64"):
        _check(f)
    else:   # a rare 16-bit element still rounds differently (was about 1 in 3)
        assert (f(torch).numpy() != f(ember).numpy()).sum() <= 5
    _check(lambda m: m.add(m.tensor(1.5, dtype=m.float64), m.tensor(2.3, dtype=m.float64), alpha=0.3))
    _check(lambda m: m.addcmul(m.tensor(1.5, dtype=m.float64), m.tensor(2.3, dtype=m.float64),
                               m.tensor(0.7, dtype=m.float64), value=0.3))


@pytest.mark.parametrize("src", [
    "m.add(m.tensor([-INF, INF, 1.0], dtype=m.float64), m.tensor(3, dtype=m.int32), alpha=-0.0)",
    "m.add(m.tensor([1.0, 2.0], dtype=m.float64), m.tensor([INF, -INF], dtype=m.float64), alpha=0.5)",
    "m.ones(1, 3, dtype=m.bool).expand(4, 3).ldexp_(NAN)", "m.ones(1, 2, dtype=m.int64).expand(2, 2).gcd_(3.25)",
    "m.erf(m.ones(1, 2, dtype=m.bool), out=m.ones(1, 2, dtype=m.bool).expand(2, 2))",
    "m.ones(2, dtype=m.bool).where(7.0, m.ones(1, dtype=m.int32))",
])
def test_fma_infinities_and_argument_order(src):
    _check(lambda m: eval(src, {"m": m, "INF": INF, "NAN": NAN}))
