"""Arguments passed by torch's keyword names (as torch's own functions and methods accept them), and ``out=``
where torch takes it: same values, shapes and dtypes as torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = {
    "cat": lambda L, x: L.cat(tensors=[x, x], dim=0),
    "sum": lambda L, x: L.sum(input=x, dim=0, keepdim=True),
    "transpose": lambda L, x: L.transpose(input=x, dim0=0, dim1=1),
    "split_method": lambda L, x: x.split(split_size=1, dim=1)[1],
    "chunk": lambda L, x: L.chunk(input=x, chunks=2)[1],
    "flatten": lambda L, x: L.flatten(input=x),
    "narrow": lambda L, x: L.narrow(input=x, dim=1, start=1, length=1),
    "permute": lambda L, x: L.permute(input=x, dims=(1, 0)),
    "reshape": lambda L, x: L.reshape(input=x, shape=(4,)),
    "select": lambda L, x: L.select(input=x, dim=1, index=0),
    "unsqueeze": lambda L, x: L.unsqueeze(input=x, dim=0),
    "addmm_": lambda L, x: x.clone().addmm_(mat1=x, mat2=x, beta=2),
    "addmv_": lambda L, x: x[0].clone().addmv_(mat=x, vec=x[1]),
    "addr_": lambda L, x: x.clone().addr_(vec1=x[0], vec2=x[1], alpha=0.5),
    "baddbmm_": lambda L, x: x[None].clone().baddbmm_(batch1=x[None], batch2=x[None]),
    "addbmm_": lambda L, x: x.clone().addbmm_(x[None], batch2=x[None]),
    "det": lambda L, x: L.det(input=x),
    "inverse": lambda L, x: L.inverse(input=x),
    "matrix_power": lambda L, x: L.matrix_power(input=x, n=3),
    "linalg_matrix_power": lambda L, x: L.linalg.matrix_power(input=x, n=-1),
    "orgqr": lambda L, x: L.orgqr(L.geqrf(x)[0], input2=L.geqrf(x)[1]),
    "cholesky_solve": lambda L, x: L.cholesky_solve(input=x, input2=L.linalg.cholesky(x)),
    "new_full": lambda L, x: x.new_full((2,), 1.5, layout=L.strided, pin_memory=False),
    "range_out": lambda L, x: L.range(0, 3, out=L.empty(4)),
    "renorm_out": lambda L, x: L.renorm(x, 2, 0, 1.0, out=L.empty(2, 2)),
    "kron_out": lambda L, x: L.kron(x, x, out=L.empty(4, 4)),
    "inner_out": lambda L, x: L.inner(x, x, out=L.empty(2, 2)),
    "narrow_copy_out": lambda L, x: L.narrow_copy(x, 0, 1, 1, out=L.empty(1, 2)),
    "inverse_out": lambda L, x: L.inverse(x, out=L.empty(2, 2)),
    "linalg_cholesky": lambda L, x: L.linalg.cholesky(input=x, upper=True),
    "linalg_cholesky_ex": lambda L, x: L.linalg.cholesky_ex(input=x).L,
    "linalg_eigh": lambda L, x: L.linalg.eigh(input=x, UPLO="U").eigenvalues,
    "linalg_eigvalsh": lambda L, x: L.linalg.eigvalsh(input=x),
    "linalg_eigvals": lambda L, x: L.linalg.eigvals(input=x).real,
    "linalg_lstsq": lambda L, x: L.linalg.lstsq(input=x, b=x[:, :1], rcond=None, driver="gelsd").solution,
    "linalg_pinv": lambda L, x: L.linalg.pinv(input=x, hermitian=True),
    "linalg_matrix_rank": lambda L, x: L.linalg.matrix_rank(input=x, atol=0.5),
    "linalg_matrix_exp": lambda L, x: L.linalg.matrix_exp(input=x / 4),
    "linalg_cond": lambda L, x: L.linalg.cond(input=x, p="fro"),
    "linalg_solve_triangular": lambda L, x: L.linalg.solve_triangular(input=x, B=x, upper=True, left=False),
    "linalg_tensorinv": lambda L, x: L.linalg.tensorinv(input=x, ind=1),
    "linalg_tensorsolve": lambda L, x: L.linalg.tensorsolve(input=x, other=x[0]),
    "linalg_householder_product": lambda L, x: L.linalg.householder_product(input=x, tau=x[0] / 4),
    "linalg_ldl_factor": lambda L, x: L.linalg.ldl_factor(input=x, hermitian=True).LD,
    "linalg_det": lambda L, x: L.linalg.det(A=x),
    "linalg_solve": lambda L, x: L.linalg.solve(A=x, B=x[0], left=True),
    "split_function": lambda L, x: L.split(tensor=x, split_size_or_sections=[1, 1], dim=1)[1],
    "tensor_split_sections": lambda L, x: L.tensor_split(x, sections=2, dim=1)[1],
    "tensor_split_indices": lambda L, x: x.tensor_split(indices=[1])[0],
    "tensor_split_tensor": lambda L, x: L.tensor_split(x, tensor_indices_or_sections=L.tensor([1]))[1],
    "hsplit_sections": lambda L, x: L.hsplit(x, sections=2)[0],
    "vsplit_indices": lambda L, x: L.vsplit(x, indices=[1])[1],
    "max_other": lambda L, x: L.max(x, other=x.t()),
    "min_other_method": lambda L, x: x.min(other=x.t()),
    "view_dtype": lambda L, x: x.view(dtype=L.int32).double(),
    "sum_to_size": lambda L, x: x.sum_to_size(size=(1, 2)),
    "triangular_solve": lambda L, x: L.triangular_solve(input=x, A=x.triu(), upper=True).solution,
    "cholesky_inverse": lambda L, x: L.cholesky_inverse(input=L.linalg.cholesky(x), upper=False),
    "lu_solve": lambda L, x: L.lu_solve(input=x, LU_data=L.linalg.lu_factor(x)[0],
                                        LU_pivots=L.linalg.lu_factor(x)[1]),
    "ormqr": lambda L, x: L.ormqr(input=L.geqrf(x)[0], input2=L.geqrf(x)[1], input3=x, left=False),
    "smm": lambda L, x: L.smm(x.to_sparse(), mat2=x).to_dense(),
    "copy_": lambda L, x: L.zeros(2, 2).copy_(other=x, non_blocking=False),
    "map_": lambda L, x: x.clone().map_(other=x, callable=lambda a, b: a * b),
    "fft_out": lambda L, x: L.fft.fft(input=x, n=3, dim=0, norm="ortho", out=L.empty(0, dtype=L.complex64)),
    "rfft2_out": lambda L, x: L.fft.rfft2(x, out=L.empty(2, 2, dtype=L.complex64)),
    "irfftn_out": lambda L, x: L.fft.irfftn(x.to(L.complex64), s=(2, 2), out=L.empty(2, 2)),
    "hfft_out": lambda L, x: L.fft.hfft(x.to(L.complex64), out=L.empty(2, 2)),
    "fftfreq_out": lambda L, x: L.fft.fftfreq(4, d=0.5, pin_memory=False, out=L.empty(4)),
    "arange_pin_memory": lambda L, x: L.arange(start=0, end=3, step=1, pin_memory=False),
    "full_like_pin_memory": lambda L, x: L.full_like(x, fill_value=2.0, pin_memory=False),
    "eye_pin_memory": lambda L, x: L.eye(n=2, m=3, pin_memory=False),
    "tril_indices": lambda L, x: L.tril_indices(row=3, col=2, offset=0, pin_memory=False).double(),
    "special_airy_ai": lambda L, x: L.special.airy_ai(x=x),
    "special_spherical_bessel_j0": lambda L, x: L.special.spherical_bessel_j0(x=x, out=L.empty(0)),
    "special_chebyshev_t": lambda L, x: L.special.chebyshev_polynomial_t(x=x / 4, n=x),
    "special_hermite_h": lambda L, x: L.special.hermite_polynomial_h(x=x, n=2),
    "argsort_out": lambda L, x: L.argsort(x, dim=0, descending=True, stable=True, out=L.empty(0, dtype=L.long)),
    "orgqr_out": lambda L, x: L.orgqr(L.geqrf(x)[0], input2=L.geqrf(x)[1], out=L.empty(0)),
    "unsafe_split_method": lambda L, x: x.unsafe_split(split_size=1, dim=1)[1],
    "sparse_csr_tensor": lambda L, x: L.sparse_csr_tensor(crow_indices=L.tensor([0, 1, 2]), col_indices=L.tensor(
        [1, 0]), values=x[0], size=(2, 2)).to_dense(),
    "sparse_bsc_tensor": lambda L, x: L.sparse_bsc_tensor(ccol_indices=L.tensor([0, 1]), row_indices=L.tensor([0]),
                                                          values=x[None], size=(2, 2)).to_dense(),
    "random_to": lambda L, x: x.clone().random_(to=5, generator=L.Generator().manual_seed(4)),
    "abs_function_inplace": lambda L, x: L.abs_(input=-x),
    "xlogy_function_inplace": lambda L, x: L.xlogy_(input=x.clone(), other=x),
    "heaviside_method_inplace": lambda L, x: (x - 2).heaviside_(values=x),
    "heaviside": lambda L, x: L.heaviside(x - 2, values=x),
    "randint_pin_memory": lambda L, x: L.randint(0, 9, (3,), generator=L.Generator().manual_seed(5),
                                                 pin_memory=False),
    "normal_pin_memory": lambda L, x: L.normal(0.0, 1.0, (3,), generator=L.Generator().manual_seed(6),
                                               pin_memory=False),
    "randn_like_pin_memory": lambda L, x: L.randn_like(x, generator=L.Generator().manual_seed(7), pin_memory=False),
    "softmax_dtype_positional": lambda L, x: L.softmax(x, 0, L.float64),
    "log_softmax_keywords": lambda L, x: L.log_softmax(input=x, dim=1, dtype=L.float64),
    "special_softmax": lambda L, x: L.special.softmax(input=x, dim=0, dtype=L.float64),
    "norm_method_dtype_positional": lambda L, x: x.norm(2, 1, True, L.float64),
    "norm_function_out": lambda L, x: L.norm(x, 2, 1, False, L.empty(0)),
    "rand_like": lambda L, x: L.rand_like(x, generator=L.Generator().manual_seed(1)),
    "randn_like": lambda L, x: L.randn_like(x, generator=L.Generator().manual_seed(2)),
    "randint_like": lambda L, x: L.randint_like(x, 3, 9, generator=L.Generator().manual_seed(3)),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_keywords_as_torch(name: str) -> None:
    case: Any = CASES[name]
    t = case(torch, torch.tensor([[2.0, 1.0], [1.0, 3.0]]))
    e = case(ember, ember.tensor([[2.0, 1.0], [1.0, 3.0]]))
    assert tuple(e.shape) == tuple(t.shape) and repr(e.dtype) == str(t.dtype)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)


def test_hardtanh_deprecated_spellings_warn_as_torch() -> None:
    got = []
    for lib in (torch, ember):
        with pytest.warns(FutureWarning) as record:
            m = lib.nn.Hardtanh(min_value=-2.0, max_value=3.0)
        got.append((repr(m), [str(w.message) for w in record]))
    assert got[0] == got[1]


REJECTED = {
    "linalg_cholesky_A": lambda L, x: L.linalg.cholesky(A=x),
    "linalg_eigh_A": lambda L, x: L.linalg.eigh(A=x),
    "linalg_lstsq_B": lambda L, x: L.linalg.lstsq(x, B=x),
    "linalg_pinv_A": lambda L, x: L.linalg.pinv(A=x),
    "linalg_det_input": lambda L, x: L.linalg.det(input=x),
    "tensor_split_numpy_name": lambda L, x: L.tensor_split(x, indices_or_sections=2),
    "hsplit_numpy_name": lambda L, x: L.hsplit(x, indices_or_sections=2),
    "split_input": lambda L, x: L.split(input=x, split_size_or_sections=1),
    "copy_src": lambda L, x: x.clone().copy_(src=x),
    "smm_mat": lambda L, x: L.smm(x.to_sparse(), mat=x),
    "softmax_stacklevel": lambda L, x: L.softmax(x, 0, _stacklevel=3),
    "special_airy_ai_input": lambda L, x: L.special.airy_ai(input=x),
    "is_tensor_obj": lambda L, x: L.is_tensor(obj=x),
    "set_default_dtype_d": lambda L, x: L.set_default_dtype(d=L.float32),
    "special_legendre_p_other": lambda L, x: L.special.legendre_polynomial_p(input=x, other=x),
    "index_fill_out": lambda L, x: L.index_fill(x, 0, L.tensor([0]), 1.0, out=L.empty(0)),
    "select_scatter_out": lambda L, x: L.select_scatter(x, x[0], 0, 0, out=L.empty(0)),
    "diagonal_scatter_out": lambda L, x: L.diagonal_scatter(x, x[0], out=L.empty(0)),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_keywords_torch_rejects(name: str) -> None:
    """Keyword names torch's bindings do not take raise TypeError in ember too."""
    case: Any = REJECTED[name]
    for lib in (torch, ember):
        with pytest.raises(TypeError):
            case(lib, lib.tensor([[2.0, 1.0], [1.0, 3.0]]))


def test_set_default_device_keyword() -> None:
    for lib in (torch, ember):
        lib.set_default_device(device="cpu")
        try:
            assert lib.zeros(1).device.type == "cpu"
        finally:
            lib.set_default_device(device=None)


def _outs(L: Any, *dtypes: str) -> tuple:
    return tuple(L.empty(0, dtype=getattr(L, d)) for d in dtypes)


F2, FI = ("float32", "float32"), ("float32", "int32")
TUPLE_OUT: dict[str, tuple[tuple[str, ...], Any]] = {
    "linalg_eigh": (F2, lambda L, x, o: L.linalg.eigh(x, out=o)),
    "linalg_slogdet": (F2, lambda L, x, o: L.linalg.slogdet(x, out=o)),
    "slogdet": (F2, lambda L, x, o: L.slogdet(x, out=o)),
    "linalg_qr": (F2, lambda L, x, o: L.linalg.qr(x, out=o)),
    "linalg_svd": (F2 + ("float32",), lambda L, x, o: L.linalg.svd(x, out=o)),
    "linalg_inv_ex": (FI, lambda L, x, o: L.linalg.inv_ex(x, out=o)),
    "linalg_cholesky_ex": (FI, lambda L, x, o: L.linalg.cholesky_ex(x, out=o)),
    "linalg_solve_ex": (FI, lambda L, x, o: L.linalg.solve_ex(x, x, out=o)),
    "linalg_lstsq": (F2 + ("int64", "float32"), lambda L, x, o: L.linalg.lstsq(x, x, driver="gelsd", out=o)),
    "geqrf": (F2, lambda L, x, o: L.geqrf(x, out=o)),
    "triangular_solve": (F2, lambda L, x, o: L.triangular_solve(x, x.triu(), out=o)),
    "max_dim": (("float32", "int64"), lambda L, x, o: L.max(x, 1, out=o)),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(TUPLE_OUT))
def test_tuple_out_is_written(name: str) -> None:
    """``out=`` tuples are filled and returned (as torch's ``<name>_out`` result type) as torch does."""
    dtypes, case = TUPLE_OUT[name]
    results = []
    for lib in (torch, ember):
        given = _outs(lib, *dtypes)
        res = case(lib, lib.tensor([[2.0, 1.0], [1.0, 3.0]]), given)
        assert all(r is g for r, g in zip(res, given, strict=True))
        results.append((type(res).__name__, [r.numpy() for r in res]))
    assert results[0][0] == results[1][0]
    for t, e in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)

INDEX_OUT = {
    "index_add": lambda L, x, o: L.index_add(x, 1, L.tensor([1, 1]), x, alpha=2, out=o),
    "index_copy": lambda L, x, o: L.index_copy(x, 1, L.tensor([1, 0]), x, out=o),
    "index_reduce": lambda L, x, o: L.index_reduce(x, 0, L.tensor([0, 0]), x, "amax", include_self=False, out=o),
    "scatter": lambda L, x, o: L.scatter(x, 0, L.tensor([[1, 0]]), x, out=o),
    "scatter_value_reduce": lambda L, x, o: L.scatter(x, 1, L.tensor([[1], [1]]), 3.0, reduce="multiply", out=o),
    "scatter_add": lambda L, x, o: L.scatter_add(x, 0, L.tensor([[1, 1]]), x, out=o),
    "scatter_reduce": lambda L, x, o: L.scatter_reduce(x, 1, L.tensor([[0, 0]]), x, "mean", out=o),
    "slice_scatter": lambda L, x, o: L.slice_scatter(x, x[:, :1] * 5, 1, 1, out=o),
    "take": lambda L, x, o: L.take(x, L.tensor([[3, -4]]), out=o),
    "gather": lambda L, x, o: L.gather(x, 1, L.tensor([[1, 1, 0]]), out=o),
    "index_select": lambda L, x, o: L.index_select(x, 0, L.tensor([1]), out=o),
    "masked_select": lambda L, x, o: L.masked_select(x, x > 1.5, out=o),
}


@pytest.mark.filterwarnings("ignore:index_reduce")
@pytest.mark.parametrize("name", sorted(INDEX_OUT))
def test_indexing_out(name: str) -> None:
    """Indexing ops write ``out=`` (returning it) as torch, warn as torch when resizing an out with elements,
    and refuse an out of another dtype and inputs requiring grad with torch's errors."""
    case = INDEX_OUT[name]
    got = []
    for lib in (torch, ember):
        x = lib.tensor([[2.0, 1.0], [1.0, 3.0]])
        o = lib.empty(0)
        assert case(lib, x, o) is o
        with pytest.warns(UserWarning) as record:
            case(lib, x, lib.empty(5))
        errors = []
        for bad in (lib.empty(0, dtype=lib.float64), lib.empty(0, requires_grad=True)):
            with pytest.raises(RuntimeError) as err:
                case(lib, x, bad)
            errors.append(str(err.value))
        warned = [str(w.message).split(" (Triggered")[0] for w in record]
        got.append((o.dtype is lib.float32, o.numpy().tolist(), warned, errors))
    assert got[0] == got[1]


def test_linalg_det_out() -> None:
    got = []
    for lib in (torch, ember):
        o = lib.empty(0)
        assert lib.linalg.det(A=lib.tensor([[2.0, 1.0], [1.0, 3.0]]), out=o) is o
        got.append(o.item())
    assert got[0] == got[1]


INPLACE_INPUT: dict[str, Callable[[Any, Any], Any]] = {
    "clamp_": lambda lib, x: lib.clamp_(input=x, min=0, max=1),
    "clip_": lambda lib, x: lib.clip_(input=x, min=0, max=1),
    "clamp_min_": lambda lib, x: lib.clamp_min_(input=x, min=0),
    "clamp_max_": lambda lib, x: lib.clamp_max_(input=x, max=1),
    "round_": lambda lib, x: lib.round_(input=x, decimals=1),
    "square_": lambda lib, x: lib.square_(input=x),
    "logit_": lambda lib, x: lib.logit_(input=x.sigmoid(), eps=0.1),
    "nan_to_num_": lambda lib, x: lib.nan_to_num_(input=x.log(), nan=1.0, neginf=-2.0),
    "conj_physical_": lambda lib, x: lib.conj_physical_(input=x),
    "index_put_": lambda lib, x: lib.index_put_(input=x, indices=(lib.tensor([0, 0]),), values=lib.tensor([9.0]),
                                                accumulate=True),
}


@pytest.mark.parametrize("name", sorted(INPLACE_INPUT))
def test_module_inplace_input_keyword(name: str) -> None:
    """``torch.<op>_`` names its tensor ``input`` (``self=`` is refused), writing it in place."""
    got = []
    for lib in (torch, ember):
        x = lib.tensor([-1.5, 0.25, 2.5])
        y = INPLACE_INPUT[name](lib, x)
        with pytest.raises(TypeError):
            getattr(lib, name)(self=x)
        got.append((y.numpy().tolist(), x.numpy().tolist()))
    assert got[0] == got[1]


def test_isin_keywords_and_out() -> None:
    got = []
    for lib in (torch, ember):
        x, t = lib.tensor([1.0, 2.0, 3.0]), lib.tensor([2.0, 5.0])
        o = lib.empty(0, dtype=lib.bool)
        assert lib.isin(elements=x, test_elements=t, assume_unique=True, invert=True, out=o) is o
        r = [lib.isin(element=2.0, test_elements=t), lib.isin(elements=x, test_element=2.0)]
        for bad in ({"input": x, "test_elements": t}, {"elements": x, "test_elements": t, "out": None, "x": 1}):
            with pytest.raises(TypeError):
                lib.isin(**bad)
        with pytest.raises(TypeError):
            lib.isin(x, t, True)
        got.append([o.tolist()] + [v.tolist() for v in r])
    assert got[0] == got[1]


SORT_CALLS: list[tuple[str, tuple, dict]] = [
    ("sort", (-1,), {"stable": True}), ("sort", (0, True), {"stable": False}), ("sort", (0,), {"stable": None}),
    ("sort", (0, True, True), {}), ("sort", (), {"stable": True, "dim": 0, "descending": True}),
    ("sort", (0, True), {}), ("sort", (), {"stable": None}), ("argsort", (-1,), {"stable": True}),
    ("argsort", (), {"stable": True, "descending": True}), ("argsort", (0, True), {}),
]


@pytest.mark.parametrize(("op", "args", "kwargs"), SORT_CALLS)
def test_sort_stable_keyword_only(op: str, args: tuple, kwargs: dict) -> None:
    """torch's overload taking ``stable`` has only keywords after ``input``: mixing it with a positional
    ``dim``/``descending`` is a TypeError, for the method and the function alike."""
    got = []
    for lib in (torch, ember):
        x = lib.tensor([3.0, 1.0, 2.0, 1.0])
        outs = []
        for call in (getattr(x, op), lambda *a, **k: getattr(lib, op)(x, *a, **k)):  # noqa: B023
            try:
                r = call(*args, **kwargs)
                outs.append([v.tolist() for v in r] if op == "sort" else r.tolist())
            except TypeError:
                outs.append("TypeError")
        got.append(outs)
    assert got[0] == got[1]
