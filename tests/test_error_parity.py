"""Errors found by a dtype sweep of ~130 unary/binary ops against torch: same type and message."""

from __future__ import annotations

from typing import Any

import pytest
from tests.oracle import assert_same_error

import ember

torch = pytest.importorskip("torch")


def same_outcome(run: Any) -> tuple[Any, Any] | None:
    """``(run(ember), run(torch))``; None once both are checked to fail alike (where torch raises)."""
    try:
        expected = run(torch)
    except (RuntimeError, NotImplementedError):
        assert_same_error(lambda: run(ember), lambda: run(torch))
        return None
    return run(ember), expected


@pytest.mark.parametrize("case", [
    lambda L: L.dist(L.ones(3), 2.0),
    lambda L: L.dist(L.ones(3, dtype=L.int32), L.ones(3, dtype=L.int32)),
    lambda L: L.dist(L.ones(3, dtype=L.bool), L.ones(3, dtype=L.bool)),
    lambda L: L.allclose(L.ones(3), 2),
    lambda L: L.cross(L.ones(2, 3, dtype=L.bool), L.ones(2, 3, dtype=L.bool), dim=1),
    lambda L: L.linalg.cross(L.ones(2, 3, dtype=L.bool), L.ones(2, 3, dtype=L.bool)),
    lambda L: L.ones(6).unflatten(0, (4, -1)),
    lambda L: L.from_numpy(__import__("numpy").array([object()])),
    lambda L: L.from_numpy(__import__("numpy").zeros(2, "U3")),
    lambda L: L.save(lambda x: x, __import__("io").BytesIO()),   # (torch pickles with the C pickler)
    lambda L: L.save({"f": lambda x: x}, __import__("io").BytesIO()),
    lambda L: L.nn.functional.nll_loss(L.ones(3), L.tensor([0, 1, 2])),
    lambda L: L.nn.functional.nll_loss(L.ones(3, 3), L.tensor(1)),
    lambda L: L.nn.functional.nll_loss(L.ones(0, 3), L.tensor(1)),
    lambda L: L.nn.functional.nll_loss(L.ones(3), L.tensor([[1]])),
    lambda L: L.nn.functional.cross_entropy(L.ones(3), L.tensor([0, 1, 2])),
    lambda L: L.nn.functional.cross_entropy(L.ones(3, 3), L.ones(3, 3, dtype=L.int32), weight=L.ones(2)),
    lambda L: L.nn.functional.cross_entropy(L.ones(3, 3), L.tensor([0, 1, 2]), label_smoothing=2.0),
    lambda L: L.arange(0, 10, -1),
    lambda L: L.range(10, 0, 1),
    lambda L: L.range(0, 3, 0),
    lambda L: L.range(0, float("nan")),
    lambda L: L.arange(0.5, float("inf")),
    lambda L: L.arange(10**10, float("inf"), 0),
    lambda L: L.range(3),
    lambda L: L.normal(L.zeros(2), -L.ones(2)),
    lambda L: L.normal(L.zeros(2), L.tensor([1.0, float("nan")])),
    lambda L: L.normal(L.zeros(2), -1.5),
    lambda L: L.normal(0.0, -L.ones(2)),
])
def test_errors_match_torch(case: Any) -> None:
    assert_same_error(lambda: case(ember), lambda: case(torch))


def test_one_sample_class_index_losses_as_torch() -> None:
    """A 1-d input with a one-element target is one sample: a 0-d loss (every reduction), torch's values."""
    for f in ("nll_loss", "cross_entropy"):
        for reduction in ("none", "mean", "sum"):
            got, want = (getattr(L.nn.functional, f)(L.tensor([0.2, -1.0, 0.7]), L.tensor([1]), reduction=reduction)
                         for L in (ember, torch))
            assert got.shape == want.shape == () and got.item() == pytest.approx(want.item())


def test_dist_still_computes() -> None:
    a, b = [[1.0, 2.0], [3.0, 5.0]], [[0.5, 2.0], [1.0, 1.0]]
    for p in (1, 2, float("inf")):
        assert ember.dist(ember.tensor(a), ember.tensor(b), p).item() == pytest.approx(
            torch.dist(torch.tensor(a), torch.tensor(b), p).item())


@pytest.mark.parametrize("op", ["cumsum", "softmax", "argmax", "select", "unsqueeze", "transpose"])
def test_a_tuple_where_one_dim_is_taken_is_a_type_error(op: str) -> None:
    args = {"select": ((0, 1), 0), "transpose": ((0, 1), 1)}.get(op, ((0, 1),))
    for lib in (ember, torch):
        with pytest.raises(TypeError, match="argument 'dim0?' .*must be int, not tuple"):
            getattr(lib.ones(2, 3), op)(*args)


@pytest.mark.parametrize("replacement", [lambda L: L.ones(4), lambda L: L.ones(3, dtype=L.float64)])
def test_a_tensor_hook_must_keep_size_and_type(replacement: Any) -> None:
    def run(L: Any) -> None:
        x = L.ones(3, requires_grad=True)
        y = x * 2

        def swap(grad: Any) -> Any:
            return replacement(L)
        y.register_hook(swap)
        y.sum().backward()
    assert_same_error(lambda: run(ember), lambda: run(torch))


@pytest.mark.parametrize("case", [
    lambda L: L.ones(2, 3, dtype=L.long).softmax(-1),
    lambda L: L.ones(2, 3, dtype=L.long).softmax(0),
    lambda L: L.nn.functional.log_softmax(L.ones(2, 3, dtype=L.int32), 1),
    lambda L: L.ones(2, dtype=L.complex64).softmax(0),
    lambda L: L.ones(2, 3, dtype=L.bool).log_softmax(0),
    lambda L: L.nn.functional.mse_loss(L.ones(2, dtype=L.long), L.ones(2, dtype=L.long)),
    lambda L: L.nn.functional.mse_loss(L.ones(2, dtype=L.complex64), L.ones(2, dtype=L.complex64)),
])
def test_float_only_kernels_refuse_other_dtypes(case: Any) -> None:
    assert_same_error(lambda: case(ember), lambda: case(torch))


def test_float_only_kernels_still_take_dtype_and_mixed_targets() -> None:
    for L in (ember, torch):
        assert L.nn.functional.softmax(L.ones(2, 3, dtype=L.long), 1, dtype=L.float32).sum().item() == 2.0
        assert L.nn.functional.mse_loss(L.ones(2, dtype=L.long), L.zeros(2)).item() == 1.0


SIZED = [  # (callable of the library and a 6-element tensor, exact message expected)
    (lambda L, x: L.zeros(size=(2, 3)), True), (lambda L, x: L.ones(size=[2]), True),
    (lambda L, x: L.empty(size=(0, 2)), True), (lambda L, x: L.rand(size=(2,)), True),
    (lambda L, x: L.randn(size=(1, 2)), True), (lambda L, x: x.new_zeros(size=(3,)), True),
    (lambda L, x: x.new_ones(size=(2, 2)), True), (lambda L, x: x.new_empty(size=(1,)), True),
    (lambda L, x: x.view(size=(2, 3)), True), (lambda L, x: x.reshape(shape=(3, 2)), True),
    (lambda L, x: L.reshape(x, shape=(6, 1)), True), (lambda L, x: x.expand(size=(2, 6)), True),
    (lambda L, x: x.repeat(repeats=(2,)), True), (lambda L, x: x.view(2, 3).permute(dims=(1, 0)), True),
    (lambda L, x: x.clone().resize_(size=(2,)), True), (lambda L, x: x.expand(2, 6, implicit=True), True),
    (lambda L, x: L.zeros(), True), (lambda L, x: L.ones(), True), (lambda L, x: L.empty(), True),
    (lambda L, x: L.zeros(2, size=(3,)), True), (lambda L, x: L.rand(), False), (lambda L, x: L.randn(), False),
    (lambda L, x: x.new_zeros(), True), (lambda L, x: x.reshape(), True), (lambda L, x: x.permute(), True),
    (lambda L, x: x.expand(), True), (lambda L, x: x.repeat(), True), (lambda L, x: x.clone().resize_(), True),
    (lambda L, x: L.zeros(2).scatter_(0, L.tensor([0])), False),
    (lambda L, x: L.zeros(2).scatter(0, L.tensor([0])), True),
    (lambda L, x: x.split(split_size=4)[1], True), (lambda L, x: L.split(x, split_size_or_sections=[2, 4])[1], True),
    (lambda L, x: x.pow(exponent=2), True), (lambda L, x: L.pow(input=x, exponent=x), True),
    (lambda L, x: x.clone().pow_(exponent=2), True), (lambda L, x: x.flip(dims=(0,)), True),
    (lambda L, x: x.view(2, 3).swapaxes(axis0=0, axis1=1), True),
    (lambda L, x: L.swapaxes(x.view(2, 3), axis0=1, axis1=0), True),
    (lambda L, x: L.nn.functional.one_hot(input=L.tensor([0, 2]), num_classes=3), True),
    (lambda L, x: L.linalg.matrix_norm(input=x.view(2, 3), ord="fro"), True),
    (lambda L, x: L.linalg.norm(input=x, ord=2), True),
]


@pytest.mark.parametrize("case, exact", SIZED)
def test_sizes_by_keyword_or_missing(case: Any, exact: bool) -> None:
    """torch's keyword spellings (``size=``, ``shape=``, ``dims=``, ``repeats=``, ``split_size=``, ``exponent=``,
    ``axis0=`` …) are taken; a missing size or a scatter without ``src``/``value`` is a TypeError."""
    try:
        expected = case(torch, torch.arange(6.0))
    except TypeError:
        assert_same_error(lambda: case(ember, ember.arange(6.0)), lambda: case(torch, torch.arange(6.0)),
                          match_message=exact)
        return
    got = case(ember, ember.arange(6.0))
    assert tuple(got.shape) == tuple(expected.shape) and repr(got.dtype) == str(expected.dtype)


@pytest.mark.parametrize("data", ["a", ["a"], [1, "a"], {"a": 1}, b"x", None, [None], [[1], [None]], [object()]],
                         ids=repr)
def test_tensor_of_non_numbers_fails_as_torch(data: Any) -> None:
    assert_same_error(lambda: ember.tensor(data), lambda: torch.tensor(data), match_message=data != [object()])


LOSS_DTYPES = [   # (case, inputs' dtypes): the result's dtype, or the error, as torch's kernels give them
    (lambda L, x, y: L.nn.functional.mse_loss(x, y), ("float32", "float64")),
    (lambda L, x, y: L.nn.functional.mse_loss(x, y, reduction="none"), ("bfloat16", "float32")),
    (lambda L, x, y: L.nn.functional.smooth_l1_loss(x, y), ("float32", "float64")),
    (lambda L, x, y: L.nn.functional.huber_loss(x, y), ("float32", "float64")),
    (lambda L, x, y: L.nn.functional.binary_cross_entropy_with_logits(x, y.sigmoid()), ("float64", "float32")),
    (lambda L, x, y: L.nn.functional.binary_cross_entropy(x.sigmoid(), y.sigmoid()), ("float64", "float32")),
    (lambda L, x, y: L.nn.functional.nll_loss(x, L.tensor([0, 1, 3]), weight=y[0]), ("float64", "float32")),
    (lambda L, x, y: L.nn.functional.cross_entropy(x, L.tensor([0, 1, 3]), weight=y[0]), ("float32", "float64")),
    (lambda L, x, y: L.nn.functional.cross_entropy(x, L.tensor([0, 1, 3]), weight=y[0], label_smoothing=0.2),
     ("float64", "float32")),
    (lambda L, x, y: L.nn.functional.cross_entropy(x, y.softmax(1), weight=y[0]), ("float64", "float32")),
    (lambda L, x, y: L.nn.functional.multi_margin_loss(x, L.tensor([0, 1, 3]), weight=y[0]), ("float64", "float32")),
    (lambda L, x, y: L.nn.functional.multi_margin_loss(x, L.tensor([0, 1, 3]), weight=y[:, 0]), ("float64", "float64")),
]


@pytest.mark.parametrize("case, dtypes", LOSS_DTYPES)
def test_loss_dtypes_as_torch(case: Any, dtypes: tuple[str, str]) -> None:
    import numpy as np
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    def run(L: Any) -> Any:
        return case(L, L.tensor(a[0], dtype=getattr(L, dtypes[0])), L.tensor(a[1], dtype=getattr(L, dtypes[1])))
    outcome = same_outcome(run)
    if outcome is None:
        return
    got, expected = outcome
    assert repr(got.dtype) == str(expected.dtype)
    np.testing.assert_allclose(got.double().numpy(), expected.double().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", [
    lambda L: L.nn.functional.cosine_similarity(L.ones(2, 3, dtype=L.int64), L.ones(2, 3, dtype=L.int64)),
    lambda L: L.nn.functional.cosine_similarity(L.ones(2, 3, dtype=L.bool), L.ones(3, dtype=L.bool)),
    lambda L: L.nn.functional.pdist(L.ones(3, 2, dtype=L.float16)),
    lambda L: L.nn.functional.pdist(L.ones(3, 2, dtype=L.bfloat16)),
    lambda L: L.nn.functional.pdist(L.ones(3, 2, dtype=L.int64)),
    lambda L: L.nn.functional.pdist(L.ones(2, 2, 2, dtype=L.int64)),
])
def test_distance_dtypes_fail_as_torch(case: Any) -> None:
    assert_same_error(lambda: case(ember), lambda: case(torch))


def test_layer_norm_dtype_rules_as_torch() -> None:
    """torch's CPU rules: mixed parameters (the first given one of another dtype than the input) must be float32
    with a 16-bit input; otherwise each parameter has the input's dtype; the mixed check comes before the
    shape checks, the kernel's dtype checks after them."""
    import itertools
    dts = ["float16", "bfloat16", "float32", "float64", None]
    for di, dw, db in itertools.product(dts[:4] + ["int64"], dts, dts):
        def run(L: Any, di: Any = di, dw: Any = dw, db: Any = db) -> Any:
            w = None if dw is None else L.ones(4, dtype=getattr(L, dw))
            b = None if db is None else L.zeros(4, dtype=getattr(L, db))
            return L.nn.functional.layer_norm(L.ones(2, 4, dtype=getattr(L, di)), (4,), w, b)
        outcome = same_outcome(run)
        if outcome is not None:
            assert repr(outcome[0].dtype) == str(outcome[1].dtype)
    for case in (lambda L: L.nn.functional.layer_norm(L.ones(2, 4), (4,), L.ones(3)),
                 lambda L: L.nn.functional.layer_norm(L.ones(2, 4), (3,), L.ones(4, dtype=L.float64)),
                 lambda L: L.nn.functional.layer_norm(L.ones(2, 4, dtype=L.int64), (3,)),
                 lambda L: L.nn.functional.layer_norm(L.ones(2, 4), (4,), None, L.ones(2, 2)),
                 lambda L: L.nn.functional.layer_norm(L.ones(2, 4), ()),
                 lambda L: L.nn.functional.layer_norm(L.ones(2, 4), 4),
                 lambda L: L.nn.functional.layer_norm(L.ones(2, 4), [4.0])):
        assert_same_error(lambda case=case: case(ember), lambda case=case: case(torch))


@pytest.mark.parametrize("case", [
    lambda L: L.nn.functional.prelu(L.ones(2, 3), L.ones(2, dtype=L.float64)),
    lambda L: L.nn.functional.prelu(L.ones(2, 3, dtype=L.bfloat16), L.ones(1)),
    lambda L: L.nn.functional.prelu(L.ones(2, 3, dtype=L.int64), L.ones(1, dtype=L.int64)),
    lambda L: L.nn.functional.prelu(L.ones(2, 3, dtype=L.int64), L.ones(2, dtype=L.int64)),
    lambda L: L.nn.functional.prelu(L.ones(2, 3, dtype=L.bool), L.ones(1, 1, dtype=L.bool)),
])
def test_prelu_checks_as_torch(case: Any) -> None:
    assert_same_error(lambda: case(ember), lambda: case(torch))


MIXED = {   # functional ops given operands of different dtypes: torch's result dtype, or its error
    "bilinear": lambda L, T, d: L.nn.functional.bilinear(T(2, 3, dt=d[0]), T(2, 4, dt=d[1]), T(5, 3, 4, dt=d[2]),
                                                         T(5, dt=d[3])),
    "embedding_bag": lambda L, T, d: L.nn.functional.embedding_bag(L.tensor([0, 1]), T(3, 2, dt=d[0]), L.tensor([0]),
                                                                   mode="sum", per_sample_weights=T(2, dt=d[1])),
    "rms_norm": lambda L, T, d: L.nn.functional.rms_norm(T(2, 4, dt=d[0]), (4,), T(4, dt=d[1])),
    "grid_sample": lambda L, T, d: L.nn.functional.grid_sample(T(1, 1, 3, 3, dt=d[0]), T(1, 2, 2, 2, dt=d[1]) * 0,
                                                               align_corners=False),
    "huber_weight": lambda L, T, d: L.nn.functional.huber_loss(T(2, 3, dt=d[0]), T(2, 3, dt=d[1]),
                                                               weight=T(2, 3, dt=d[2])),
    "cdist": lambda L, T, d: L.cdist(T(2, 3, dt=d[0]), T(2, 3, dt=d[1])),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(MIXED))
@pytest.mark.parametrize("dtypes", [("float32", "float64", "float32", "float32"),
                                    ("float64", "float32", "float64", "float64"),
                                    ("float32", "float32", "float64", "float32"),
                                    ("bfloat16", "float32", "float32", "float32"),
                                    ("float16", "float16", "float32", "float16")])
def test_mixed_dtypes_as_torch(name: str, dtypes: tuple) -> None:
    def run(L: Any) -> Any:
        return MIXED[name](L, lambda *s, dt: L.full(s, 0.5, dtype=getattr(L, dt)), dtypes)
    outcome = same_outcome(run)
    if outcome is not None:
        assert repr(outcome[0].dtype) == str(outcome[1].dtype)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32"), ("float16", "float32"),
                                    ("bfloat16", "float16"), ("float32", "bfloat16")])
def test_conv_transpose_takes_a_bias_of_another_dtype_as_torch(dtypes: tuple[str, str]) -> None:
    """torch's transposed convolutions cast a bias of another dtype (oneDNN's half types refuse it)."""
    def run(L: Any) -> Any:
        x, w = (L.full(s, 0.5, dtype=getattr(L, dtypes[0])) for s in ((1, 2, 4), (2, 2, 2)))
        return L.nn.functional.conv_transpose1d(x, w, L.ones(2, dtype=getattr(L, dtypes[1])))
    outcome = same_outcome(run)
    if outcome is None:
        return
    got, expected = outcome
    assert repr(got.dtype) == str(expected.dtype) and got.float().tolist() == expected.float().tolist()


@pytest.mark.parametrize("key", ["a", b"x", 1.5, {1: 2}], ids=repr)
def test_index_keys_that_are_not_indices_fail_as_torch(key: Any) -> None:
    assert_same_error(lambda: ember.arange(3.0)[key], lambda: torch.arange(3.0)[key])


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", [
    lambda L, h: L.complex(h, h * 3), lambda L, h: L.polar(h, h), lambda L, h: L.complex(h, h.float()),
    lambda L, h: L.complex(h.bfloat16(), h.float()), lambda L, h: L.polar(h.bfloat16(), h.float()),
    lambda L, h: L.complex(h.float(), h), lambda L, h: L.complex(h.double(), h.float()),
])
def test_complex_and_polar_of_half_types_as_torch(case: Any) -> None:
    """complex(half, half) is complex32 in torch; polar has no half kernel; the float-type check comes first."""
    def run(L: Any) -> Any:
        return case(L, L.tensor([1.0, 2.0], dtype=L.float16))
    outcome = same_outcome(run)
    if outcome is None:
        return
    got, expected = outcome
    assert repr(got.dtype) == str(expected.dtype) and str(got) == str(expected)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", [
    lambda L, c: L.linalg.vector_norm(c), lambda L, c: L.linalg.norm(c), lambda L, c: c.norm(p=3),
    lambda L, c: L.linalg.vector_norm(c, 1, dim=1), lambda L, c: L.linalg.vector_norm(c, float("inf"), dim=0),
])
def test_norms_of_complex32_as_torch(case: Any) -> None:
    """torch's norm kernel takes complex32 (a float16 result)."""
    got, expected = (case(L, L.tensor([[3 + 4j, 1 + 0j], [0.5j, 2]], dtype=L.complex64).to(L.complex32))
                     for L in (ember, torch))
    assert repr(got.dtype) == str(expected.dtype) and got.tolist() == expected.tolist()


@pytest.mark.parametrize("case", [
    lambda L: (lambda x: (x.__setitem__(0, 5.0), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.__setitem__((slice(None), 0), 5.0), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.__setitem__(slice(None), 5.0), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda b: (b.expand(2, 3).__setitem__(1, 2.0), b)[1])(L.ones(1, 3)),
    lambda L: (lambda x: (x.__setitem__(0, L.ones(4)), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.__setitem__(0, L.tensor([1, 2, 3])), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x[0].add_(1), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x[0].copy_(L.tensor([1.0, 2, 3])), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x[0].clamp_(max=0.5), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.add_(1), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.fill_(3), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.zero_(), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.fill_(L.tensor(2.0)), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x[0].fill_(L.tensor(2.0)), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.uniform_(), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.bernoulli_(0.5), x)[1])(L.ones(1, 3).expand(2, 3)),
    lambda L: (lambda x: (x.apply_(lambda v: v + 1), x)[1])(L.ones(1, 3).expand(2, 3)),
])
def test_writes_into_expanded_tensors_as_torch(case: Any) -> None:
    """torch writes into a part of an expanded tensor whose elements are distinct (every row sharing it sees the
    write) and refuses a part where several elements share an address, except to fill it with a number."""
    outcome = same_outcome(case)
    if outcome is not None:
        assert outcome[0].tolist() == outcome[1].tolist()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", [
    lambda L: L.ones(0, 3).softmax(0), lambda L: L.ones(0, 3).log_softmax(0), lambda L: L.ones(3, 0).softmax(1),
    lambda L: L.nn.functional.softmin(L.ones(0, 3), 0),
    lambda L: L.tensor(2.5).cross(L.tensor(2.5)), lambda L: L.ones(2).cross(L.ones(2)),
    lambda L: L.ones(2, 3).cross(L.ones(2, 3)),
])
def test_empty_softmax_and_default_cross_dim_as_torch(case: Any) -> None:
    outcome = same_outcome(case)
    if outcome is None:
        return
    got, expected = outcome
    assert tuple(got.shape) == tuple(expected.shape) and got.tolist() == expected.tolist()


@pytest.mark.parametrize("bins", ["tensor", "one_edge_seq", "one_count"])
def test_histogramdd_bad_bins_fail_as_torch(bins: str) -> None:
    def run(L: Any) -> Any:
        b = {"tensor": L.ones(4, 2), "one_edge_seq": [L.tensor([0.0, 1.0])], "one_count": [2]}[bins]
        return L.histogramdd(L.ones(4, 2), b)
    assert_same_error(lambda: run(ember), lambda: run(torch), match_message=bins != "tensor")


@pytest.mark.parametrize("shapes", [((), (2,)), ((), ()), ((2,), (2,)), ((2, 2), (2, 2))])
def test_mv_shape_errors_as_torch(shapes: tuple) -> None:
    assert_same_error(lambda: ember.mv(ember.ones(*shapes[0]), ember.ones(*shapes[1])),
                      lambda: torch.mv(torch.ones(*shapes[0]), torch.ones(*shapes[1])))
