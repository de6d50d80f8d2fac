"""Quantized tensors in checkpoints, interchanged with real torch: per-tensor and per-channel (integer and float
zero points) qint8/quint8/qint32 tensors and views both ways (weights-only too), pickles byte-identical to
torch's, quantized modules' state dicts, and clean errors for malformed quantizer parameters."""

from __future__ import annotations

import io
import re
import warnings
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember import serialization as S  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _both(fn_name: str, *args_np: object, **kw: object) -> tuple:
    """``torch.<fn>`` and ``ember.<fn>`` on the same arguments (NumPy arrays become tensors of each)."""
    conv = [(torch.from_numpy(a.copy()), ember.from_numpy(a.copy())) if isinstance(a, np.ndarray) else (a, a)
            for a in args_np]
    tdt, edt = (getattr(torch, kw["dtype"]), getattr(ember, kw["dtype"]))
    return (getattr(torch, fn_name)(*(c[0] for c in conv), dtype=tdt),
            getattr(ember, fn_name)(*(c[1] for c in conv), dtype=edt))


def _samples() -> dict[str, tuple]:
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    scales, int_zps = np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2])
    return {
        "quint8": _both("quantize_per_tensor", x, 0.1, 3, dtype="quint8"),
        "qint32": _both("quantize_per_tensor", x, 0.5, -2, dtype="qint32"),
        "channel": _both("quantize_per_channel", x, scales, int_zps, 0, dtype="qint8"),
        "float_qparams": _both("quantize_per_channel", x, scales.astype(np.float32), int_zps.astype(np.float32),
                               0, dtype="quint8"),
    }


def _same(e: ember.Tensor, t: torch.Tensor) -> None:
    assert repr(e.dtype) == str(t.dtype) and e.qscheme() == e.qscheme() and repr(e.qscheme()) == str(t.qscheme())
    assert tuple(e.shape) == tuple(t.shape) and e.stride() == t.stride() and e.storage_offset() == t.storage_offset()
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
    if t.qscheme() == torch.per_tensor_affine:
        assert (e.q_scale(), e.q_zero_point()) == (t.q_scale(), t.q_zero_point())
    else:
        for ev, tv in ((e.q_per_channel_scales(), t.q_per_channel_scales()),
                       (e.q_per_channel_zero_points(), t.q_per_channel_zero_points())):
            assert repr(ev.dtype) == str(tv.dtype)
            np.testing.assert_array_equal(ev.numpy(), tv.numpy())
        assert e.q_per_channel_axis() == t.q_per_channel_axis()


def _through(save, load, obj: object, **kw: object) -> object:
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    return load(buf, **kw)


def _records(save, obj: object) -> dict[str, bytes]:
    buf = io.BytesIO()
    save(obj, buf)
    z = zipfile.ZipFile(buf)
    return {n.split("/", 1)[1]: z.read(n) for n in z.namelist() if not n.endswith("serialization_id")}


@pytest.mark.parametrize("weights_only", [True, False])
def test_quantized_tensors_and_views_interchange(weights_only: bool) -> None:
    pairs = _samples()
    tobj = {k: t for k, (t, _) in pairs.items()} | {"view": pairs["quint8"][0][:, 1:],
                                                    "rows": pairs["channel"][0][1:]}
    eobj = {k: e for k, (_, e) in pairs.items()} | {"view": pairs["quint8"][1][:, 1:],
                                                    "rows": pairs["channel"][1][1:]}
    from_torch = _through(torch.save, S.load, tobj, weights_only=weights_only)
    from_ember = _through(S.save, torch.load, eobj, weights_only=weights_only)
    for k in tobj:
        _same(from_torch[k], tobj[k])
        _same(eobj[k], from_ember[k])
    assert from_torch["view"].untyped_storage().data_ptr() == from_torch["quint8"].untyped_storage().data_ptr()
    assert from_ember["view"].untyped_storage().data_ptr() == from_ember["quint8"].untyped_storage().data_ptr()


def test_pickles_are_byte_identical_to_torchs() -> None:
    for name, (t, e) in _samples().items():
        if name == "float_qparams":   # torch cannot slice those
            assert _records(torch.save, t) == _records(S.save, e)
        else:
            assert _records(torch.save, {"a": t, "v": t[1:]}) == _records(S.save, {"a": e, "v": e[1:]})


def test_quantized_module_state_dicts_interchange() -> None:
    import torch.ao.nn.quantized as tnq

    import ember.ao.nn.quantized as enq
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = "fbgemm"
    try:
        for tcls, ecls, args in ((tnq.Linear, enq.Linear, (6, 5)), (tnq.Conv2d, enq.Conv2d, (3, 4, 3))):
            src = tcls(*args)
            src.scale, src.zero_point = 0.05, 7
            dst = ecls(*args)
            dst.load_state_dict(_through(torch.save, S.load, src.state_dict(), weights_only=True))
            twin = tcls(*args)   # torch's own round trip (the scale goes through a float32 tensor)
            twin.load_state_dict(src.state_dict())
            _same(dst.weight(), src.weight())
            assert (dst.scale, dst.zero_point) == (twin.scale, twin.zero_point)
            back = tcls(*args)
            back.load_state_dict(_through(S.save, torch.load, dst.state_dict(), weights_only=True))
            _same(dst.weight(), back.weight())
            torch.testing.assert_close(back.bias(), src.bias())
    finally:
        torch.backends.quantized.engine = old


def test_malformed_quantizer_parameters_fail_like_torch() -> None:
    from collections import OrderedDict

    from ember.serialization._globals import _rebuild_qtensor
    t = torch.quantize_per_tensor(torch.zeros(3, 4), 0.1, 0, torch.quint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_storage = t.storage()
    e_storage = ember.quantize_per_tensor(ember.zeros(3, 4), 0.1, 0, ember.quint8).untyped_storage()
    scales, zps = np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2])
    cases = [
        lambda lib, sch: (sch.per_channel_affine, lib.from_numpy(scales), lib.from_numpy(zps), 2),    # axis
        lambda lib, sch: (sch.per_channel_affine, lib.from_numpy(scales), lib.from_numpy(zps), 1),    # length
        lambda lib, sch: (sch.per_tensor_symmetric, 0.1, 0),                                         # scheme
    ]
    for case in cases:
        with pytest.raises(Exception) as te:
            torch._utils._rebuild_qtensor(t_storage, 0, (3, 4), (4, 1), case(torch, torch), False, OrderedDict())
        with pytest.raises(type(te.value), match=re.escape(str(te.value))):
            _rebuild_qtensor(e_storage, 0, (3, 4), (4, 1), case(ember, ember), False, OrderedDict())
    for params in ((ember.per_tensor_affine, "0.1", 0), (ember.per_tensor_affine, 0.1), "x",
                   (ember.per_channel_affine, ember.ones(3), ember.ones(3, 2), 0)):
        with pytest.raises(RuntimeError, match="invalid"):
            _rebuild_qtensor(e_storage, 0, (3, 4), (4, 1), params, False, OrderedDict())
    with pytest.raises(RuntimeError, match="out of bounds"):
        _rebuild_qtensor(e_storage, 5, (3, 4), (4, 1), (ember.per_tensor_affine, 0.1, 0), False, OrderedDict())
