"""Special functions at the edges of their domains (inf, NaN, poles) and in 16-bit/complex dtypes, against torch."""

import itertools

import numpy as np
import pytest
import torch

import ember

_EDGES = [0.0, -0.0, 0.5, 1.0, 1.5, 2.0, 3.0, -0.5, -1.0, -1.5, -2.0, np.inf, -np.inf, np.nan]


def _grid() -> tuple[np.ndarray, np.ndarray]:
    pairs = np.array(list(itertools.product(_EDGES, _EDGES)))
    return pairs[:, 0], pairs[:, 1]


@pytest.mark.parametrize("name", ["zeta", "gammainc", "gammaincc"])
def test_binary_special_edges_follow_torchs_order_of_checks(name: str) -> None:
    a, b = _grid()
    want = getattr(torch.special, name)(torch.tensor(a), torch.tensor(b)).numpy()
    got = getattr(ember.special, name)(ember.tensor(a), ember.tensor(b)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_exp2_complex_keeps_zero_parts_beside_inf_and_nan(dtype: str) -> None:
    values = [complex("inf"), complex("-inf"), complex(np.inf, 1.0), complex(np.nan, 0.0), 1 + 2j, -3.5 + 0.25j]
    want = torch.exp2(torch.tensor(values, dtype=getattr(torch, dtype)))
    got = ember.exp2(ember.tensor(values, dtype=getattr(ember, dtype)))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, equal_nan=True)
    assert str(got) == str(want)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sinc_of_16_bit_floats_computes_in_float32(dtype: str) -> None:
    x = torch.linspace(-20, 20, 801).to(getattr(torch, dtype))
    got = ember.special.sinc(ember.tensor(x.float().numpy()).to(getattr(ember, dtype)))
    assert torch.equal(torch.from_numpy(got.float().numpy()), torch.special.sinc(x).float())
