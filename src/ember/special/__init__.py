"""``torch.special``: special functions under their scipy-style names (re-exports only)."""

from __future__ import annotations

from ..nn.functional._activation import torch_log_softmax as log_softmax
from ..nn.functional._activation import torch_softmax as softmax
from ..ops.elementwise import exp2, expm1, log1p, logit, sinc, xlogy
from ..ops.elementwise import sigmoid as expit
from ..ops.reduction import logsumexp
from ..ops.special import POLYNOMIALS, digamma, erf, erfc, erfinv, i0, polygamma
from ..ops.special import lgamma as gammaln
from ..ops.special import mvlgamma as multigammaln
from ..ops.special import special_airy_ai as airy_ai
from ..ops.special import special_bessel_j0 as bessel_j0
from ..ops.special import special_bessel_j1 as bessel_j1
from ..ops.special import special_bessel_y0 as bessel_y0
from ..ops.special import special_bessel_y1 as bessel_y1
from ..ops.special import special_entr as entr
from ..ops.special import special_erfcx as erfcx
from ..ops.special import special_gammainc as gammainc
from ..ops.special import special_gammaincc as gammaincc
from ..ops.special import special_i0e as i0e
from ..ops.special import special_i1 as i1
from ..ops.special import special_i1e as i1e
from ..ops.special import special_log_ndtr as log_ndtr
from ..ops.special import special_modified_bessel_i0 as modified_bessel_i0
from ..ops.special import special_modified_bessel_i1 as modified_bessel_i1
from ..ops.special import special_modified_bessel_k0 as modified_bessel_k0
from ..ops.special import special_modified_bessel_k1 as modified_bessel_k1
from ..ops.special import special_ndtr as ndtr
from ..ops.special import special_ndtri as ndtri
from ..ops.special import special_round as round
from ..ops.special import special_scaled_modified_bessel_k0 as scaled_modified_bessel_k0
from ..ops.special import special_scaled_modified_bessel_k1 as scaled_modified_bessel_k1
from ..ops.special import special_spherical_bessel_j0 as spherical_bessel_j0
from ..ops.special import special_xlog1py as xlog1py
from ..ops.special import special_zeta as zeta

psi = digamma
chebyshev_polynomial_t = POLYNOMIALS["chebyshev_polynomial_t"]
chebyshev_polynomial_u = POLYNOMIALS["chebyshev_polynomial_u"]
chebyshev_polynomial_v = POLYNOMIALS["chebyshev_polynomial_v"]
chebyshev_polynomial_w = POLYNOMIALS["chebyshev_polynomial_w"]
shifted_chebyshev_polynomial_t = POLYNOMIALS["shifted_chebyshev_polynomial_t"]
shifted_chebyshev_polynomial_u = POLYNOMIALS["shifted_chebyshev_polynomial_u"]
shifted_chebyshev_polynomial_v = POLYNOMIALS["shifted_chebyshev_polynomial_v"]
shifted_chebyshev_polynomial_w = POLYNOMIALS["shifted_chebyshev_polynomial_w"]
hermite_polynomial_h = POLYNOMIALS["hermite_polynomial_h"]
hermite_polynomial_he = POLYNOMIALS["hermite_polynomial_he"]
laguerre_polynomial_l = POLYNOMIALS["laguerre_polynomial_l"]
legendre_polynomial_p = POLYNOMIALS["legendre_polynomial_p"]

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf",
    "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
    "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
    "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
    "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
]
