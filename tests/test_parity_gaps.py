"""Differences with torch left over from earlier fuzzing rounds, each compared with torch."""
import warnings

import numpy as np
import pytest

from oracle import outcomes, same_exception


def _raises_as_torch(fn, lines=1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, e = outcomes(fn)
    assert same_exception(t, e, lines), (t, e)


@pytest.mark.parametrize("make", [
    lambda lib: lib.ones(2, dtype=lib.float8_e4m3fn), lambda lib: lib.ones(2, dtype=lib.complex32),
    lambda lib: lib.quantize_per_tensor(lib.ones(2), 0.1, 0, lib.quint8), lambda lib: lib.ones(2, dtype=lib.bfloat16)])
def test_numpy_refuses_dtypes_numpy_lacks(make):
    _raises_as_torch(lambda lib: make(lib).numpy())


def test_numpy_shares_unsigned_arrays():
    t, e = outcomes(lambda lib: lib.tensor([1, 2], dtype=lib.uint32).numpy())
    assert e.dtype == t.dtype and np.array_equal(e, t)


@pytest.mark.parametrize("dt", ["int64", "uint8", "bool", "float32"])
@pytest.mark.parametrize("decimals", [None, 0, 1])
def test_round_with_decimals_is_torch_overload(dt, decimals):
    kw = {} if decimals is None else {"decimals": decimals}

    def run(lib):
        x = lib.tensor([0, 1, 2], dtype=getattr(lib, dt))
        return lib.round(x, **kw), x.clone().round_(**kw)
    t, e = outcomes(run)
    if not same_exception(t, e):
        assert [str(v) for v in e] == [str(v) for v in t]


def test_round_decimals_zero_grad_fn():
    t, e = outcomes(lambda lib: lib.round(lib.ones(2, requires_grad=True), decimals=0).grad_fn.name())
    assert e == t


@pytest.mark.parametrize("kw", [{"center": 1.0}, {"center": 2.0, "tau": 0.5}, {}, {"center": 0.0}])
def test_exponential_window_of_one_sample_off_centre(kw):
    t, e = outcomes(lambda lib: lib.signal.windows.exponential(1, sym=False, dtype=lib.float64, **kw))
    assert e.tolist() == pytest.approx(t.tolist(), rel=1e-15)


@pytest.mark.parametrize("op", ["sin", "add", "true_divide", "clamp", "log1p", "atan2"])
@pytest.mark.parametrize("out", [lambda lib: lib.empty(3, dtype=lib.int64), lambda lib: lib.empty(2),
                                 lambda lib: lib.empty(1).expand(3)])
def test_out_with_inputs_requiring_grad_refused_before_out_checks(op, out):
    def run(lib):
        a = lib.tensor([1., 2., 3.], requires_grad=True)
        args = {"add": (a, a), "true_divide": (a, 2), "clamp": (a, 0.), "atan2": (2, a)}.get(op, (a,))
        if op == "atan2":
            args = (a.detach(), a)
        return getattr(lib, op)(*args, out=out(lib))
    _raises_as_torch(run)


_UNSIGNED_CALLS = ["x + x", "x * x", "x - 1", "x * 2", "-x", "x.abs()", "x.sign()", "x // x", "x % 2", "x << 1",
                   "x & x", "x == x", "x < x", "x / 2", "x.clamp(0, 1)", "x.clamp(min=x)", "x.max()", "x.max(0)",
                   "x.amax()",
                   "x.argmax()", "x.aminmax()", "x.median()", "x.mode(0)", "x.topk(1)", "x.kthvalue(1)", "x.cummax(0)",
                   "x.count_nonzero()", "x.count_nonzero(0)", "x.sum()", "x.sort()", "x.maximum(x)", "x.isnan()",
                   "x.logical_not()", "x.round()", "x.bitwise_not()", "x.square()", "x.relu()", "x.fmax(x)",
                   "x.tril()", "x.nonzero()", "x.masked_fill(x == x, 1)",
                   "x.gather(0, i)", "x.scatter(0, i, x)", "x.take(i)", "x[0].bincount()",
                   "x.histc()", "x.index_fill(0, i[0], 1)", "x.index_copy(0, i[0], x[:1])",
                   "x.index_reduce(0, i[0], x[:1], 'prod')", "x.put(i[0], x[0, :1])", "lib.isin(x, x)",
                   "lib.isin(x, 2)", "x.masked_select(x == x)", "x.addcmul(x, x)"]


@pytest.mark.parametrize("dt", ["uint16", "uint32", "uint64"])
@pytest.mark.parametrize("call", _UNSIGNED_CALLS)
def test_barebones_unsigned_ops_as_torch(dt, call):
    def run(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(call, {"x": lib.tensor([[1, 2], [3, 4]], dtype=getattr(lib, dt)), "i": lib.tensor([[0]]),
                               "lib": lib})
    t, e = outcomes(run)
    if not same_exception(t, e):
        t, e = (r[0] if isinstance(r, tuple) else r for r in (t, e))
        assert str(e.dtype) == str(t.dtype) and np.array_equal(np.asarray(e), t.numpy())


_NANS = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FC12345], np.uint32).view(np.float32)


@pytest.mark.parametrize("make", [
    lambda lib, a: lib.from_numpy(a[1:2].reshape(())), lambda lib, a: lib.from_numpy(a.copy()),
    lambda lib, a: lib.from_numpy(np.tile(a, 5).reshape(5, 5)).t(), lambda lib, a: lib.from_numpy(np.tile(a, 3))[::2],
    lambda lib, a: lib.from_numpy(a[:1].copy()).expand(4), lambda lib, a: lib.from_numpy(a.astype(np.float16)),
    lambda lib, a: lib.from_numpy(a[:4].astype(np.float64)), lambda lib, a: lib.tensor(a.tolist())])
def test_nan_bits_converted_to_bfloat16_as_torch(make):
    t, e = outcomes(lambda lib: make(lib, _NANS).to(lib.bfloat16).view(lib.int16).numpy())
    assert e.tolist() == t.tolist()


@pytest.mark.parametrize("step", [1, 2])
def test_nan_bits_copied_into_bfloat16_as_torch(step):
    def run(lib):
        dst = lib.zeros(10, dtype=lib.bfloat16)[::step]
        return dst.copy_(lib.from_numpy(np.resize(_NANS, 10 // step))).view(lib.int16).tolist()
    t, e = outcomes(run)
    assert e == t


@pytest.mark.parametrize("call", ['x.add("a")', 'x.atan2("a")', 'x.dot(1.5)', 'x.mul("a")', 'x.add(y, 2)', "x.add()",
                                  "x.add_(y, y)", 'x.addcmul(y, "a")', 'x.isclose(y, equal_nan=1)', 'x.div("a")',
                                  'lib.add(x, "a")', "lib.add(x)", "lib.heaviside(x, 2)", "x.maximum(None)"])
def test_method_forms_number_positions_as_torch(call):
    _raises_as_torch(lambda lib: eval(call, {"lib": lib, "x": lib.ones(3), "y": lib.ones(3)}))


@pytest.mark.parametrize("call", ["x.add(2, y)", "lib.add(x, 2, y)", "x.add(2, 3)", "x.sub(2.5, y)", "lib.sub(x, 2, y)",
                                  "x.clone().add_(2, y)", "x.clone().sub_(2, 3)", "x.addcmul(2, y, y)",
                                  "lib.addcdiv(x, 2, y, y)", "x.clone().addcmul_(2, y, y)", "lib.mul(2, x)",
                                  "lib.floor_divide(7, x)", "lib.true_divide(x, 2, out=lib.empty(3))",
                                  "lib.addmm(2, m, 3, m, m)", "m.addmm(2, m, m)", "lib.addmv(2, y, 3, m, y)",
                                  "m.addr(2, 3, y, y)", "m.addbmm(2, b, b)", "b.baddbmm(2, 3, b, b)"])
def test_deprecated_and_number_overloads_as_torch(call):
    def run(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(call, {"lib": lib, "x": lib.full((3,), 2.), "y": lib.ones(3), "m": lib.ones(3, 3),
                               "b": lib.ones(2, 3, 3)}).tolist()
    t, e = outcomes(run)
    assert e == t


def test_deprecated_overload_warns_once_with_torch_text():
    import ember
    from ember.ops import _signature
    _signature._DEPRECATION_WARNED[0] = False
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        x = ember.ones(2)
        x.add(2, x)
        ember.sub(x, 2, x)
    assert [str(m.message).split(" (Triggered")[0] for m in w] == [
        "This overload of add is deprecated:\n\tadd(Number alpha, Tensor other)\nConsider using one of the following "
        "signatures instead:\n\tadd(Tensor other, *, Number alpha = 1)"]
    assert w[0].filename == __file__


@pytest.mark.parametrize("call", ["x ** 0", "x ** 1", "x ** True", "1 ** x", "True ** x", "x ** 2", "2 ** x",
                                  "lib.pow(x, 1, out=lib.empty(2, dtype=lib.uint32))",
                                  "x + lib.ones(3, dtype=lib.uint32)", "x - lib.ones(3, dtype=lib.int64)",
                                  "x.float().to(lib.float8_e4m3fn).pow(1).float()", "x < 2 ** 64",
                                  "lib.remainder(x, 2 ** 64)",
                                  "lib.tensor([True]).__ilshift__(2 ** 64)", "lib.tensor([2]) ** (2 ** 64)",
                                  "lib.tensor([2], dtype=lib.int8) ** (2 ** 63)", "lib.tensor([2]) ** -(2 ** 63 + 1)",
                                  "lib.tensor([True]) ** (2 ** 63)", "lib.tensor([True]) - 2 ** 64",
                                  "lib.gt(lib.ones(2, 2, dtype=lib.uint16), lib.ones(3, dtype=lib.bool),"
                                  " out=lib.empty(0))"])
def test_barebones_pow_by_zero_or_one_and_broadcast_first(call):
    def run(lib):
        return eval(call, {"lib": lib, "x": lib.tensor([1, 2], dtype=lib.uint32)}).tolist()
    t, e = outcomes(run)
    if not same_exception(t, e):
        assert e == t


@pytest.mark.parametrize("call", ['x.eq("a")', 'x.clamp("a", "b")', 'x.clamp("a")', 'x.max("a")', 't.remainder(x, "a")',
                                  'x.eq(other="a")', 't.squeeze(x, "a")', 'x.add(2, 3, 4)', 'x.eq(foo=1)',
                                  'x.view((2, "a"))', 't.std(x, "a")'])
def test_invalid_combination_explains_each_overload_as_torch(call):
    _raises_as_torch(lambda lib: eval(call, {"t": lib, "x": lib.ones(3)}), lines=None)


@pytest.mark.parametrize("call", ['x.transpose_(0, "a")', 'x.unsqueeze_(1.5)', 'x.swapdims_(None, 0)',
                                  'x.unfold("a", 1, 1)', 'x.lerp("a", 0.5)', 'x.lerp_(x, "a")', 'x.renorm(2, "a", 1)',
                                  'x.take(1.5)',
                                  'x.put_(x, "a")', 'x.masked_scatter(1, x)', 'x.diff("a")', 'x.fill_diagonal_(1, 2)'])
def test_more_method_forms_as_torch(call):
    _raises_as_torch(lambda lib: eval(call, {"x": lib.ones(3, 3)}), lines=None)


@pytest.mark.parametrize("op", ["bitwise_and", "floor_divide", "eq", "logical_and", "heaviside", "gcd", "bitwise_not",
                                "logical_not", "conj_physical", "nextafter"])
@pytest.mark.parametrize("which", ["out", "input"])
def test_out_requiring_grad_for_ops_without_derivative_as_torch(op, which):
    def run(lib):
        ints = op in ("bitwise_and", "gcd", "bitwise_not")
        x = lib.tensor([1, 2, 3]) if ints else lib.tensor([1., 2., 3.], requires_grad=which == "input")
        args = (x,) if op in ("bitwise_not", "logical_not", "conj_physical") else (x, x)
        return getattr(lib, op)(*args, out=lib.empty(3, requires_grad=which == "out")).tolist()
    t, e = outcomes(run)
    if not same_exception(t, e):
        assert e == t


@pytest.mark.parametrize("call", ["lib.result_type(lib.tensor([True]), 2 ** 63)", "lib.tensor([True]) + 2 ** 63",
                                  "lib.tensor(True) * 2 ** 63", "lib.tensor([1], dtype=lib.int8) + 2 ** 63",
                                  "lib.tensor([1.]) + 2 ** 63", "lib.result_type(lib.tensor([1]), 2 ** 64)",
                                  "lib.full((2,), 2 ** 63)", "lib.where(lib.tensor([True]), 2 ** 63, 1)"])
def test_python_ints_beyond_int64_promote_as_uint64_scalars(call):
    t, e = outcomes(lambda lib: str(eval(call, {"lib": lib})).replace("torch.", "").replace("ember.", ""))
    if not same_exception(t, e):
        assert e == t


@pytest.mark.parametrize("call", ["lib.special.log_softmax(x, 0, foo=1)", "lib.special.softmax(x)",
                                  'lib.special.softmax(x, "a")', 'lib.special.logsumexp(x, "a")',
                                  'lib.special.xlogy(x, "a")', "lib.special.erf(x, foo=1)", "lib.special.airy_ai()",
                                  'lib.special.chebyshev_polynomial_t(x, "a")', "lib.special.expit(x, 1)"])
def test_special_functions_parse_as_torch_special_names(call):
    _raises_as_torch(lambda lib: eval(call, {"lib": lib, "x": lib.ones(3)}), lines=None)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dt", ["int64", "uint8", "bool", "int32"])
def test_special_softmax_of_empty_integer_tensors_as_torch(fn, dt):
    def run(lib):
        r = getattr(lib.special, fn)(lib.empty(0, 3, dtype=getattr(lib, dt)), 1)
        return str(r.dtype).split(".")[-1], tuple(r.shape)
    t, e = outcomes(run)
    if not same_exception(t, e):
        assert e == t
