"""Checkpoint interchange with real torch: ember.save → torch.load(weights_only=True) and torch.save →
ember.load, with equal values, dtypes, shapes, strides, offsets and storage sharing."""

from __future__ import annotations

import io
import pathlib
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember import serialization as S  # noqa: E402

DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "complex64",
    "complex128",
    "uint16",
    "uint32",
    "uint64",
)


def torch_np(t: torch.Tensor) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ember.bfloat16.np)
    return t.numpy()


def ember_sample(name: str) -> ember.Tensor:
    k = np.arange(12, dtype=np.float64).reshape(3, 4) - 3
    if name == "bool":
        return ember.from_numpy(k % 2 == 1)
    if name.startswith("complex"):
        return ember.from_numpy((k + 0.25j * k).astype(getattr(ember, name).np))
    if name.startswith("uint"):
        k = k + 3
    return ember.from_numpy(k.astype(getattr(ember, name).np))


def check_same(e: ember.Tensor, t: torch.Tensor) -> None:
    assert str(t.dtype) == repr(e.dtype)
    assert tuple(t.shape) == tuple(e.shape) and t.stride() == e.stride()
    assert t.storage_offset() == e.storage_offset() and t.requires_grad == e.requires_grad
    np.testing.assert_array_equal(torch_np(t.detach()), e._data)


def ember_views() -> dict:
    base = ember.arange(24.0).view(4, 6)
    return {
        "base": base,
        "row": base[1],
        "col": base[:, 2],
        "t": base.t(),
        "narrow": base[1:3, 2:5],
        "step": base[:, ::2],
        "exp": base[0:1].expand(3, 6),
        "diag": base.diagonal(),
        "strided": base.as_strided((2, 2), (7, 1), 3),
        "other": ember.arange(3),
    }


def to_torch_file(obj: object, **kw: object) -> object:
    buf = io.BytesIO()
    S.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True, **kw)


def to_ember_file(obj: object) -> object:
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return S.load(buf)


# ---- ember → torch ---------------------------------------------------------------------------------------
def test_ember_dtypes_load_in_torch() -> None:
    d = {name: ember_sample(name) for name in DTYPES}
    d.update(
        t=d["float32"].t(),
        scalar=d["int64"][1, 1],
        empty=ember.zeros(0, 5),
        rg=ember.ones(2, requires_grad=True),
    )
    r = to_torch_file(d)
    for k, e in d.items():
        check_same(e, r[k])


def test_ember_views_share_storage_in_torch() -> None:
    d = ember_views()
    r = to_torch_file(d)
    for k, e in d.items():
        check_same(e, r[k])
    ptr = r["base"].untyped_storage().data_ptr()
    assert all(r[k].untyped_storage().data_ptr() == ptr for k in d if k != "other")
    assert r["other"].untyped_storage().data_ptr() != ptr


def test_ember_state_dict_and_parameter_in_torch() -> None:
    Parameter = pytest.importorskip("ember.nn.parameter").Parameter
    sd = OrderedDict([("weight", ember.ones(2, 3)), ("bias", ember.zeros(2))])
    sd._metadata = OrderedDict([("", {"version": 1})])
    r = to_torch_file(
        {
            "sd": sd,
            "p": Parameter(ember.arange(3.0)),
            "size": ember.Size([2]),
            "dtype": ember.bfloat16,
            "device": ember.device("cpu"),
            "nested": [{"a": (1, 2.5, None)}],
        }
    )
    assert type(r["sd"]) is OrderedDict and r["sd"]._metadata == sd._metadata
    assert type(r["p"]) is torch.nn.Parameter and r["p"].requires_grad and r["p"].tolist() == [0.0, 1.0, 2.0]
    assert r["size"] == torch.Size([2]) and type(r["size"]) is torch.Size and r["dtype"] is torch.bfloat16
    assert r["device"] == torch.device("cpu") and r["nested"] == [{"a": (1, 2.5, None)}]
    model = torch.nn.Linear(3, 2)
    model.load_state_dict(r["sd"])
    assert model.weight.sum().item() == 6.0


def test_ember_files_are_byte_identical_to_torchs() -> None:
    tsd = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).state_dict()
    esd = OrderedDict((k, ember.from_numpy(v.numpy().copy())) for k, v in tsd.items())
    esd._metadata = tsd._metadata
    tb, eb = io.BytesIO(), io.BytesIO()
    torch.save(tsd, tb)
    S.save(esd, eb)
    t, e = tb.getvalue(), eb.getvalue()
    assert len(t) == len(e)
    zt, ze = zipfile.ZipFile(io.BytesIO(t)), zipfile.ZipFile(io.BytesIO(e))
    sid = zt.getinfo("archive/.data/serialization_id")
    differing = [i for i in range(len(t)) if t[i] != e[i]]
    start = sid.header_offset + 30 + len(sid.filename)
    assert all(start <= i < len(t) for i in differing)  # only the random id (and its CRCs)
    for name in zt.namelist():
        if not name.endswith("serialization_id"):
            assert zt.read(name) == ze.read(name)


def test_torch_mmap_and_offset_calculation_read_ember_files(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "e.pt"
    d = ember_views()
    d["big"] = ember.ones(1000)
    S.save(d, p)
    from torch.utils.serialization import config

    for calc in (False, True):  # True: torch computes entry offsets itself, assuming its own layout
        with config.patch({"load.calculate_storage_offsets": calc}):
            r = torch.load(p, mmap=True, weights_only=True)
        for k, e in d.items():
            check_same(e, r[k])


def test_zip64_ember_file_loads_in_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    from ember.serialization import _zip

    monkeypatch.setattr(_zip, "_ZIP64_AT", 100)
    d = {"a": ember.arange(64.0), "b": ember.arange(3)}
    r = to_torch_file(d)
    for k, e in d.items():
        check_same(e, r[k])


def test_torch_loads_without_byteorder_record() -> None:
    buf = io.BytesIO()
    S.save(ember.arange(3.0), buf, _disable_byteorder_record=True)
    assert "archive/byteorder" not in zipfile.ZipFile(buf).namelist()
    buf.seek(0)
    assert torch.load(buf).tolist() == [0.0, 1.0, 2.0]


# ---- torch → ember ---------------------------------------------------------------------------------------
def torch_sample(name: str) -> torch.Tensor:
    k = torch.arange(12, dtype=torch.float64).reshape(3, 4) - 3
    if name == "bool":
        return k.to(torch.int64) % 2 == 1
    if name.startswith("complex"):
        return torch.complex(k, k / 4).to(getattr(torch, name))
    if name.startswith("uint"):
        k = k + 3
    return k.to(getattr(torch, name))


def test_torch_dtypes_load_in_ember() -> None:
    d = {name: torch_sample(name) for name in DTYPES}
    d.update(
        t=d["float32"].t(),
        scalar=d["int64"][1, 1],
        empty=torch.zeros(0, 5),
        rg=torch.ones(2, requires_grad=True),
        nonleaf=torch.ones(2, requires_grad=True) * 2,
    )
    r = to_ember_file(d)
    for k, t in d.items():
        check_same(r[k], t)
    assert r["nonleaf"].is_leaf


def test_torch_views_share_storage_in_ember() -> None:
    base = torch.arange(24.0).reshape(4, 6)
    d = {
        "base": base,
        "row": base[1],
        "col": base[:, 2],
        "t": base.t(),
        "exp": base[0:1].expand(3, 6),
        "diag": base.diagonal(),
        "strided": base.as_strided((2, 2), (7, 1), 3),
    }
    r = to_ember_file(d)
    for k, t in d.items():
        check_same(r[k], t)
        assert r[k].untyped_storage().data_ptr() == r["base"].untyped_storage().data_ptr()


def test_torch_conj_and_neg_bits_are_materialised() -> None:
    z = torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64)
    for lazy, eager in ((z.conj(), z.conj().resolve_conj()), (z.conj().imag, z.conj().imag.resolve_neg())):
        r = to_ember_file(lazy)
        np.testing.assert_array_equal(r._data, eager.numpy())


def test_torch_tensor_with_attributes_and_parameter_state() -> None:
    t = torch.ones(2)
    t.note = "x"
    p = torch.nn.Parameter(torch.zeros(1))
    p.tag = 5
    r = to_ember_file({"t": t, "p": p})
    assert r["t"].note == "x" and r["p"].tag == 5 and r["p"].requires_grad


def test_torch_legacy_format_loads_in_ember() -> None:
    w = torch.arange(6.0).reshape(2, 3)
    buf = io.BytesIO()
    torch.save(
        {"w": w, "v": w[1], "h": torch.ones(2, dtype=torch.float16)},
        buf,
        _use_new_zipfile_serialization=False,
    )
    buf.seek(0)
    r = S.load(buf)
    check_same(r["w"], w)
    check_same(r["v"], w[1])
    check_same(r["h"], torch.ones(2, dtype=torch.float16))


def test_torch_whole_module_is_refused_like_torch() -> None:
    buf = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), buf)
    for loader in (torch.load, S.load):
        buf.seek(0)
        with pytest.raises(
            pickle.UnpicklingError, match="GLOBAL torch.nn.modules.linear.Linear was not an allowed"
        ):
            loader(buf)


# ---- safetensors ----------------------------------------------------------------------------------------
def test_safetensors_interchange(tmp_path: pathlib.Path) -> None:
    st = pytest.importorskip("safetensors.torch")
    from ember import safetensors as es

    e = {name: ember_sample(name) for name in DTYPES if name != "complex128"}
    es.save_file(e, tmp_path / "e.safetensors", metadata={"format": "pt"})
    r = st.load_file(tmp_path / "e.safetensors")
    for k, v in e.items():
        check_same(v, r[k])
    t = {name: torch_sample(name) for name in DTYPES if name != "complex128"}
    st.save_file(t, tmp_path / "t.safetensors")
    back = es.load_file(tmp_path / "t.safetensors")
    for k, v in t.items():
        check_same(back[k], v)
    assert S.load(tmp_path / "t.safetensors")["float32"].tolist() == t["float32"].tolist()


def test_legacy_format_written_for_torch() -> None:
    """``_use_new_zipfile_serialization=False`` writes torch's pre-1.6 stream: same headers and layout as torch's
    (the storage keys are memory addresses in both), views sharing one storage, loadable by both libraries."""
    base = ember.arange(6.0)
    obj = {"a": base, "v": base[2:], "i": ember.tensor([1, 2], dtype=ember.int16),
           "p": ember.nn.Parameter(ember.ones(2)), "n": 3}
    buf = io.BytesIO()
    S.save(obj, buf, pickle, 2, False)
    got = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    for k in ("a", "v", "i", "p"):
        check_same(obj[k], got[k])
    assert got["n"] == 3 and type(got["p"]) is torch.nn.Parameter
    assert got["v"].untyped_storage().data_ptr() == got["a"].untyped_storage().data_ptr()
    back = S.load(io.BytesIO(buf.getvalue()))
    assert back["v"].untyped_storage().data_ptr() == back["a"].untyped_storage().data_ptr()
    tbuf = io.BytesIO()
    torch.save({"a": torch.arange(6.0), "n": 3}, tbuf, _use_new_zipfile_serialization=False)
    ebuf = io.BytesIO()
    S.save({"a": ember.arange(6.0), "n": 3}, ebuf, _use_new_zipfile_serialization=False)
    t, e = tbuf.getvalue(), ebuf.getvalue()
    header = len(pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2)) + len(
        pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}},
                     2))
    assert len(t) == len(e) and t[:header] == e[:header] and t[-32:] == e[-32:]   # headers; count + data


def test_save_takes_a_pure_python_pickle_module() -> None:
    class Module:
        class Pickler(pickle._Pickler):   # type: ignore[name-defined]
            pass
    buf = io.BytesIO()
    S.save({"x": ember.ones(2)}, buf, pickle_module=Module)
    assert torch.equal(torch.load(io.BytesIO(buf.getvalue()))["x"], torch.ones(2))
    with pytest.raises(TypeError, match="pure-Python"):
        S.save(ember.ones(1), io.BytesIO(), pickle_module=type("M", (), {"Pickler": pickle.Pickler}))
