"""``torch.return_types``: the named tuples ops return (``max``, ``sort``, ``linalg_eigh``, ...) and their ``*_out``
twins, one class per name, shared with the ops that build them."""

from __future__ import annotations

from .ops.reduction import return_type

_VALUES_INDICES = ("values", "indices")
_FIELDS: dict[str, tuple[str, ...]] = {
    "aminmax": ("min", "max"), "cummax": _VALUES_INDICES, "cummin": _VALUES_INDICES,
    "frexp": ("mantissa", "exponent"), "geqrf": ("a", "tau"), "histogram": ("hist", "bin_edges"),
    "histogramdd": ("hist", "bin_edges"), "kthvalue": _VALUES_INDICES, "linalg_cholesky_ex": ("L", "info"),
    "linalg_eig": ("eigenvalues", "eigenvectors"), "linalg_eigh": ("eigenvalues", "eigenvectors"),
    "linalg_inv_ex": ("inverse", "info"), "linalg_ldl_factor": ("LD", "pivots"),
    "linalg_ldl_factor_ex": ("LD", "pivots", "info"),
    "linalg_lstsq": ("solution", "residuals", "rank", "singular_values"), "linalg_lu": ("P", "L", "U"),
    "linalg_lu_factor": ("LU", "pivots"), "linalg_lu_factor_ex": ("LU", "pivots", "info"),
    "linalg_qr": ("Q", "R"), "linalg_slogdet": ("sign", "logabsdet"), "linalg_solve_ex": ("result", "info"),
    "linalg_svd": ("U", "S", "Vh"), "lu_unpack": ("P", "L", "U"), "max": _VALUES_INDICES,
    "median": _VALUES_INDICES, "min": _VALUES_INDICES, "mode": _VALUES_INDICES, "nanmedian": _VALUES_INDICES,
    "qr": ("Q", "R"), "slogdet": ("sign", "logabsdet"), "sort": _VALUES_INDICES, "svd": ("U", "S", "V"),
    "topk": _VALUES_INDICES, "triangular_solve": ("solution", "cloned_coefficient"),
}
_NO_OUT = {"histogramdd"}   # torch has no histogramdd_out

all_return_types: list[type] = []
for _name, _fields in _FIELDS.items():
    for _n in (_name,) if _name in _NO_OUT else (_name, f"{_name}_out"):
        globals()[_n] = return_type(_n, _fields)
        all_return_types.append(globals()[_n])

__all__ = ["all_return_types"] + [c.__name__ for c in all_return_types]
