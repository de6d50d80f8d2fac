"""torch.fft's argument checks in torch's order (dtype, dims, sizes, norm, empty batch, out= kinds), against torch."""

import pytest
import torch

import ember

# (function, input shape, input dtype, keyword arguments)
_CASES = [
    ("fft", (4,), "float16", {"n": 0}),
    ("fft", (4,), "bfloat16", {"norm": "bad"}),
    ("fft", (4,), "complex32", {}),
    ("fft", (), "float32", {"dim": 0}),
    ("fft", (4,), "float32", {"n": 0, "norm": "bad"}),
    ("fft", (0, 4), "float32", {"norm": "bad"}),
    ("fft", (0, 4), "float32", {}),
    ("fft", (3, 0), "float32", {}),
    ("fft", (4,), "float32", {"out": "float32"}),
    ("fft", (4,), "float32", {"n": 2.0}),
    ("rfft", (4,), "complex64", {"n": 0}),
    ("rfft", (4,), "float32", {"out": "float32"}),
    ("irfft", (1,), "complex64", {}),
    ("irfft", (4, 0), "complex64", {}),
    ("irfft", (4,), "complex64", {"out": "complex64"}),
    ("hfft", (3,), "float16", {"n": 0}),
    ("ihfft", (3,), "complex64", {}),
    ("fft2", (), "float32", {"s": (3,)}),
    ("fft2", (3, 3), "float16", {"dim": (0, 0)}),
    ("fft2", (3, 3), "float16", {"s": (3,)}),
    ("fft2", (3, 3), "float16", {"s": (0, 3)}),
    ("fft2", (3, 3), "float16", {"norm": "bad"}),
    ("fft2", (3, 3), "float32", {"dim": None}),
    ("fft2", (3, 3), "float32", {"out": "float32"}),
    ("fftn", (3,), "float32", {"s": (1, 2)}),
    ("fftn", (3, 4, 0), "float32", {"dim": 0}),
    ("rfftn", (), "complex64", {}),
    ("rfftn", (), "float32", {}),
    ("rfft2", (3, 3), "complex64", {}),
    ("irfftn", (1,), "bfloat16", {}),
    ("irfftn", (0, 2), "complex64", {}),
    ("irfftn", (0, 2), "complex64", {"dim": 1}),
    ("irfftn", (3, 3), "complex64", {"out": "complex64"}),
    ("hfftn", (1,), "complex64", {"norm": "bad"}),
    ("ihfftn", (3,), "complex64", {"norm": "bad"}),
    ("ihfftn", (3,), "complex64", {}),
    ("ihfftn", (3,), "complex64", {"s": (0,)}),
    ("ihfftn", (3,), "float16", {"norm": "bad"}),
    ("ihfft2", (), "float32", {}),
    ("fftshift", (), "float32", {"dim": 2}),
    ("ifftshift", (), "float32", {"dim": 0}),
    ("fftshift", (), "float32", {}),
]


def _call(lib, name: str, shape: tuple, dtype: str, kwargs: dict):
    kwargs = dict(kwargs)
    if "out" in kwargs:
        kwargs["out"] = lib.empty(0, dtype=getattr(lib, kwargs["out"]))
    x = lib.ones(shape, dtype=getattr(lib, dtype))
    return getattr(lib.fft, name)(x, **kwargs)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("name", "shape", "dtype", "kwargs"), _CASES)
def test_fft_errors_as_torch(name: str, shape: tuple, dtype: str, kwargs: dict) -> None:
    with pytest.raises(Exception) as want:
        _call(torch, name, shape, dtype, kwargs)
    with pytest.raises(want.type) as got:
        _call(ember, name, shape, dtype, kwargs)
    assert str(got.value).split("\n")[0] == str(want.value).split("\n")[0]


@pytest.mark.parametrize(("name", "shape", "kwargs"), [
    ("fftn", (0, 3), {"dim": ()}), ("fftn", (), {}), ("irfft", (3, 0), {"n": 4}), ("rfft", (3, 0), {"n": 4}),
    ("fftshift", (3,), {"dim": (0, 0)}), ("fft", (4,), {"out": "complex128"}),
])
def test_fft_edge_calls_that_torch_accepts(name: str, shape: tuple, kwargs: dict) -> None:
    want = _call(torch, name, shape, "float32", kwargs)
    got = _call(ember, name, shape, "float32", kwargs)
    assert str(got.dtype)[6:] == str(want.dtype)[6:] and tuple(got.shape) == tuple(want.shape)
    assert torch.allclose(torch.from_numpy(got.numpy()), want)
