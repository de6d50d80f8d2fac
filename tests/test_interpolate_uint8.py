"""interpolate on integer tensors: uint8 bilinear/bicubic/lanczos bit-exact with torch's fixed-point CPU kernel,
and torch's NotImplementedError for the integer dtypes and modes it does not resample."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F

_MODES = [("bilinear", False, False), ("bilinear", False, True), ("bilinear", True, False), ("bilinear", True, True),
          ("bicubic", False, False), ("bicubic", False, True), ("bicubic", True, False), ("bicubic", True, True),
          ("lanczos", True, None)]
_RESIZES = [{"size": (9, 4)}, {"size": (5, 11)}, {"size": (3, 7)}, {"size": (1, 1)}, {"size": (2, 1)},
            {"scale_factor": 1.7}, {"scale_factor": (0.45, 2.3)}, {"scale_factor": 1.1}]


def _both(a: np.ndarray, **kw: object) -> tuple[np.ndarray, np.ndarray]:
    return TF.interpolate(torch.from_numpy(a), **kw).numpy(), F.interpolate(ember.tensor(a), **kw).numpy()


@pytest.mark.parametrize("channels", [1, 3, 4, 5])
@pytest.mark.parametrize("mode,antialias,align", _MODES)
def test_uint8_exact(channels: int, mode: str, antialias: bool, align: bool | None) -> None:
    # 1-4 channels take torch's AVX2 kernel, 5 its generic one (incl. its width-1 output quirk)
    a = np.random.default_rng(channels).integers(0, 256, (2, channels, 5, 7)).astype(np.uint8)
    for kw in _RESIZES:
        if channels == 3 and kw.get("size") == (1, 1):
            continue   # torch 2.13 fails an internal assert in its AVX2 kernel here
        t, e = _both(a, mode=mode, antialias=antialias, align_corners=align, **kw)
        assert e.dtype == np.uint8 and e.shape == t.shape
        np.testing.assert_array_equal(e, t, err_msg=str(kw))


def test_uint8_large_downscale() -> None:
    a = np.random.default_rng(0).integers(0, 256, (1, 3, 40, 33)).astype(np.uint8)
    for mode, aa in itertools.product(["bilinear", "bicubic"], [False, True]):
        t, e = _both(a, mode=mode, antialias=aa, size=(6, 50))
        np.testing.assert_array_equal(e, t)


_CASES = [(1, "nearest"), (1, "nearest-exact"), (1, "linear"), (1, "area"), (2, "nearest"), (2, "nearest-exact"),
          (2, "bilinear"), (2, "bicubic"), (2, "area"), (3, "nearest"), (3, "trilinear"), (3, "area")]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "bool"])
def test_integer_errors(dtype: str) -> None:
    for (nd, mode), aa in itertools.product(_CASES, [False, True]):
        if aa and mode not in ("bilinear", "bicubic"):
            continue
        a = np.ones((2, 3) + (5,) * nd, dtype)
        kw = {"size": (4,) * nd, "mode": mode, "antialias": aa}
        try:
            expected = TF.interpolate(torch.from_numpy(a), **kw).numpy()
        except NotImplementedError as err:
            with pytest.raises(NotImplementedError) as got:
                F.interpolate(ember.tensor(a), **kw)
            assert str(got.value) == str(err)
        else:
            np.testing.assert_array_equal(F.interpolate(ember.tensor(a), **kw).numpy(), expected)
