"""Printed-text regressions found by differential fuzzing of reprs and formats against torch."""

import numpy as np

import ember
from oracle import outcomes, torch


def _same(fn):
    """``fn(lib)`` gives the same text (or the same exception type and message) under torch and ember."""
    t, e = outcomes(fn)
    if isinstance(t, Exception):
        assert type(e) is type(t) and str(e) == str(t), (t, e)
    else:
        assert e == t, f"\ntorch: {t}\nember: {e}"


def test_format_spec_only_for_plain_0d_tensors():
    _same(lambda lib: f"{lib.nn.Parameter(lib.tensor(1.)):.2f}")
    _same(lambda lib: f"{lib.nn.Parameter(lib.tensor(1.))}")
    _same(lambda lib: f"{(lib.tensor(2.5, requires_grad=True) * 2):.1f}")
    _same(lambda lib: f"{lib.tensor([1.])}")
    sub = {lib: type("Sub", (lib.Tensor,), {}) for lib in (torch, ember)}
    _same(lambda lib: f"{lib.tensor(2.).as_subclass(sub[lib])}")
    _same(lambda lib: f"{lib.tensor(2.).as_subclass(sub[lib]):.2f}")


def test_tensor_contents_replaces_the_elements():
    _same(lambda lib: lib.ones(2, requires_grad=True).__repr__(tensor_contents="abc"))
    _same(lambda lib: lib.ones(0, 2, dtype=lib.int32).__repr__(tensor_contents="abc"))
    _same(lambda lib: lib.ones(2).to_sparse().__repr__(tensor_contents="abc"))


def test_print_opts_object():
    _same(lambda lib: repr(lib._tensor_str.PRINT_OPTS))
    try:
        ember._tensor_str.PRINT_OPTS.precision = 2
        assert repr(ember.tensor([1.5])) == "tensor([1.50])"
    finally:
        ember.set_printoptions(profile="default")


def test_device_types_and_index_strings():
    for s in ("xpu", "xpu:1", "hpu:0", "privateuseone", "xla:2", "cuda:01", "cuda:-1", "gpu"):
        _same(lambda lib, s=s: repr(lib.device(s)))
    _same(lambda lib: repr(lib.device("ipu", 3)))


def test_quantized_0d_repr_and_per_channel_refusals():
    _same(lambda lib: repr(lib.quantize_per_tensor(lib.tensor(1.), 0.1, 10, lib.quint8)))
    for dt, zp, axis in (("float64", [0, 1], 0), ("float32", [0., 1.], 2), ("float64", [0], 0)):
        _same(lambda lib, dt=dt, zp=zp, axis=axis: lib.quantize_per_channel(
            lib.ones(2, 3, dtype=getattr(lib, dt)), lib.tensor([0.1, 0.2]), lib.tensor(zp), axis, lib.quint8))


def test_conv_same_padding_with_a_short_dilation_constructs_as_torch():
    for cls, k, d in (("Conv3d", 3, (2,)), ("Conv2d", (3, 4), (1, 2, 3)), ("Conv1d", 3, (2, 2))):
        _same(lambda lib, cls=cls, k=k, d=d: repr(getattr(lib.nn, cls)(2, 2, k, padding="same", dilation=d))
              + str(getattr(lib.nn, cls)(2, 2, k, padding="same", dilation=d)._reversed_padding_repeated_twice))


def test_sampler_grad_fns_print_as_torch():
    def run(lib):
        x = lib.tensor([0.3, 0.6], requires_grad=True)
        out = [repr(f(x).grad_fn).split(" object")[0] for f in (
            lib.bernoulli, lib.poisson, lambda x: x.bernoulli(0.3), lambda x: lib.normal(x, 1.))]
        lib.poisson(x * 2).sum().backward()
        return out + [repr(x.grad)]
    _same(run)
    _same(lambda lib: lib.bernoulli(lib.tensor([0.5]), out=lib.zeros(1, requires_grad=True)))


def test_inplace_comparison_records_a_zero_gradient_node():
    def run(lib):
        x = lib.tensor([0.3, 0.6], requires_grad=True)
        o = lib.tensor([0.5, 0.1], requires_grad=True)
        out = []
        for arg in (0.5, o):
            y = x * 1
            y.gt_(arg)
            out.append((repr(y), [type(f[0]).__name__ for f in y.grad_fn.next_functions]))
            y.sum().backward()
            out.append((repr(x.grad), repr(o.grad)))
        return out
    _same(run)


def test_strided_copy_of_extension_dtypes():
    for dt in ("float8_e5m2", "complex32"):
        _same(lambda lib, dt=dt: repr(lib.arange(12.).reshape(1, 3, 4).to(getattr(lib, dt)).flip(0)))


def test_assert_close_infinite_difference_and_message_arithmetic():
    def msg(lib, a, b):
        try:
            lib.testing.assert_close(a, b)
        except AssertionError as e:
            return str(e)
        return "passed"
    _same(lambda lib: msg(lib, 0.4, float("inf")))
    _same(lambda lib: msg(lib, lib.tensor([0.4, 1.0]), lib.tensor([float("inf"), 1.0])))
    _same(lambda lib: msg(lib, lib.tensor([0, 5], dtype=lib.int32), lib.tensor([-2**31, 5], dtype=lib.int32)))
    _same(lambda lib: msg(lib, lib.tensor([0.3, 1.0]).to(lib.bfloat16), lib.tensor([100.1, 1.0]).to(lib.bfloat16)))


def test_assert_close_pairs_as_torch():
    def outcome(lib, a, b, **kw):
        try:
            lib.testing.assert_close(a(lib), b(lib), **kw)
        except Exception as e:   # noqa: BLE001 - the exception is the compared result
            return f"{type(e).__name__}: {e}"
        return "passed"
    cases = [(lambda lib: lib.tensor(1.), lambda lib: lib.tensor(2.), {}),
             (lambda lib: lib.tensor(1.), lambda lib: 1., {}),
             (lambda lib: True, lambda lib: False, {}),
             (lambda lib: None, lambda lib: None, {}),
             (lambda lib: [None], lambda lib: [1], {}),
             (lambda lib: {"a": 1}, lambda lib: {"b": 1}, {}),
             (lambda lib: 1, lambda lib: 1., {}),
             (lambda lib: np.float64(1.), lambda lib: 1., {}),
             (lambda lib: lib.ones(2), lambda lib: np.ones(2), {}),
             (lambda lib: lib.nn.Parameter(lib.ones(1)), lambda lib: lib.ones(1), {"allow_subclasses": False}),
             (lambda lib: lib.eye(2).to_sparse(), lambda lib: lib.ones(2, 2).to_sparse(), {}),
             (lambda lib: lib.eye(2).to_sparse_csr(), lambda lib: (2 * lib.eye(2)).to_sparse_csr(), {}),
             (lambda lib: lib.eye(2).to_sparse(), lambda lib: lib.eye(2), {}),
             (lambda lib: lib.quantize_per_tensor(lib.ones(2), 0.1, 0, lib.quint8),
              lambda lib: lib.quantize_per_tensor(lib.zeros(2), 0.1, 0, lib.quint8), {}),
             (lambda lib: lib.tensor([1., 2.]).to(lib.float8_e4m3fn),
              lambda lib: lib.tensor([1., 3.]).to(lib.float8_e4m3fn), {})]
    for a, b, kw in cases:
        _same(lambda lib, a=a, b=b, kw=kw: outcome(lib, a, b, **kw).replace("torch", "ember"))


def test_exported_program_repr_is_the_object_default():
    cls = torch.export.ExportedProgram   # (torch's own export is slow: its class names the default repr)
    ep = ember.export.export(ember.nn.Linear(2, 2), (ember.ones(1, 2),))
    assert repr(ep) == f"<{cls.__module__}.{cls.__qualname__} object at {hex(id(ep))}>"
    assert str(ep).startswith("ExportedProgram:\n")


def test_quantized_and_masked_scalars_read_and_format_as_torch():
    def run(lib):
        q = lib.quantize_per_tensor(lib.tensor(1.23), 0.1, 0, lib.quint8)
        m = lib.masked.masked_tensor(lib.tensor(1.5), lib.tensor(True))
        return [q.item(), float(q), int(q), f"{q:.2f}", f"{m}"]
    _same(run)
    _same(lambda lib: lib.quantize_per_tensor(lib.tensor([1.]), 0.1, 0, lib.quint8).tolist())
    _same(lambda lib: f"{lib.masked.masked_tensor(lib.tensor(1.5), lib.tensor(True)):.2f}")


def test_bernoulli_inplace_records_a_probability_tensor_that_requires_grad():
    def run(lib):
        p = lib.tensor([0.2, 0.5, 0.9], requires_grad=True)
        y = lib.zeros(3) * 1
        y.bernoulli_(p)
        names = [type(f[0]).__name__ for f in y.grad_fn.next_functions]
        y.sum().backward()
        return type(y.grad_fn).__name__, names, repr(p.grad)
    _same(run)


def test_size_reads_its_items_as_torch():
    for items in ([True], [np.int64(3)], [1.5], [None], [2**70], np.array([2, 3])):
        _same(lambda lib, items=items: repr(lib.Size(items)))
    _same(lambda lib: repr(lib.Size(lib.tensor([2, 3]))))
    _same(lambda lib: repr(lib.Size([lib.tensor(2.)])))


def test_storage_constructors_print_as_torch():
    for make in (lambda lib: lib.UntypedStorage([1, 2, 300, -1]), lambda lib: lib.UntypedStorage(),
                 lambda lib: lib.UntypedStorage([1.5]), lambda lib: lib.UntypedStorage(-1),
                 lambda lib: lib.TypedStorage([1., 2.], dtype=lib.float64), lambda lib: lib.TypedStorage(),
                 lambda lib: lib.TypedStorage(wrap_storage=lib.UntypedStorage([0, 0, 128, 63]), dtype=lib.float32)):
        _same(lambda lib, make=make: repr(make(lib)))
