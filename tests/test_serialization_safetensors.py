"""ember.safetensors on the safetensors package (skipped without it), and checkpoints feeding ember's
nn.Module / optim state_dict loaders."""

from __future__ import annotations

import io
import json
import pathlib
import struct

import numpy as np
import pytest

import ember
from ember import serialization as S

pytest.importorskip("safetensors")
from ember import safetensors as es  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data"


def test_round_trip_all_supported_dtypes(tmp_path: pathlib.Path) -> None:
    ts = {
        d.name: ember.arange(6).view(2, 3).to(d)
        for d in (
            ember.float16,
            ember.bfloat16,
            ember.float32,
            ember.float64,
            ember.uint8,
            ember.int8,
            ember.int16,
            ember.int32,
            ember.int64,
            ember.bool,
            ember.uint16,
            ember.uint32,
            ember.uint64,
            ember.complex64,
        )
    }
    ts["scalar"], ts["empty"] = ember.tensor(1.5), ember.zeros(0, 3)
    es.save_file(ts, tmp_path / "a.safetensors", metadata={"format": "pt"})
    back = es.load_file(tmp_path / "a.safetensors")
    assert set(back) == set(ts)
    for k, v in ts.items():
        assert back[k].dtype is v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k]._data, v._data)
    back["float32"][0, 0] = 5.0  # writable, independent arrays
    assert back["float32"][0, 0].item() == 5.0
    assert es.load(es.save(ts))["bfloat16"].tolist() == ts["bfloat16"].tolist()


def test_header_layout() -> None:
    data = es.save({"b": ember.ones(1, dtype=ember.bfloat16), "a": ember.zeros(2, 3)}, metadata={"k": "v"})
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    assert (8 + n) % 8 == 0 and header["__metadata__"] == {"k": "v"}
    assert header["a"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    assert header["b"] == {"dtype": "BF16", "shape": [1], "data_offsets": [24, 26]}


def test_shared_and_non_contiguous_tensors_are_refused(tmp_path: pathlib.Path) -> None:
    a = ember.arange(6.0).view(2, 3)
    with pytest.raises(RuntimeError, match="share memory"):
        es.save_file({"a": a, "row": a[0]}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="non contiguous tensor: `t`"):
        es.save({"t": a.t()})
    with pytest.raises(ValueError, match="expected ember.Tensor"):
        es.save({"t": np.zeros(2)})  # type: ignore[dict-item]
    assert es.save({"a": a[0].clone(), "b": a[1].clone()})


def test_ember_load_dispatches_safetensors_paths(tmp_path: pathlib.Path) -> None:
    es.save_file({"w": ember.ones(2)}, tmp_path / "m.safetensors")
    assert S.load(tmp_path / "m.safetensors")["w"].tolist() == [1.0, 1.0]


def test_save_model_and_load_model_with_tied_weights(tmp_path: pathlib.Path) -> None:
    nn = pytest.importorskip("ember.nn")

    def tied() -> object:
        m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        m[1].weight = m[0].weight
        return m

    src = tied()
    es.save_model(src, tmp_path / "m.safetensors")
    with open(tmp_path / "m.safetensors", "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    assert header["__metadata__"] == {"1.weight": "0.weight"} and "1.weight" not in header
    dst = tied()
    missing, unexpected = es.load_model(dst, tmp_path / "m.safetensors")
    assert missing == [] and unexpected == []
    assert dst[1].weight.tolist() == src[0].weight.tolist() == dst[0].weight.tolist()
    with pytest.raises(RuntimeError, match="Missing key\\(s\\) in state_dict"):
        es.load_model(
            nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2)), tmp_path / "m.safetensors"
        )


# ---- checkpoints into nn / optim -------------------------------------------------------------------------
def test_torch_state_dict_loads_into_ember_modules() -> None:
    nn = pytest.importorskip("ember.nn")
    sd = S.load(DATA / "torch_state_dict.pt")
    lin = nn.Linear(3, 2)
    lin.load_state_dict({k[2:]: v for k, v in sd.items() if k.startswith("0.")})
    np.testing.assert_array_equal(lin.weight.detach()._data, (np.arange(6.0) * 0.5 - 1).reshape(2, 3))
    assert lin.bias.tolist() == [-1.0, -0.5] and lin.weight.requires_grad


def test_torch_optimizer_state_loads_into_ember_adam() -> None:
    nn = pytest.importorskip("ember.nn")
    optim = pytest.importorskip("ember.optim")
    opt = optim.Adam(nn.Linear(2, 2).parameters(), lr=0.5)
    opt.load_state_dict(S.load(DATA / "torch_optimizer.pt"))
    assert opt.param_groups[0]["lr"] == 0.01
    np.testing.assert_allclose(opt.state_dict()["state"][0]["exp_avg"]._data, 0.1, rtol=1e-6)


def test_whole_module_needs_weights_only_false() -> None:
    nn = pytest.importorskip("ember.nn")
    m = nn.Sequential(nn.Linear(3, 2))
    buf = io.BytesIO()
    S.save(m, buf)
    buf.seek(0)
    with pytest.raises(
        Exception, match="GLOBAL ember.nn.modules.container.Sequential was not an allowed global"
    ):
        S.load(buf)
    buf.seek(0)
    m2 = S.load(buf, weights_only=False)
    assert type(m2) is type(m) and m2[0].weight.tolist() == m[0].weight.tolist()
