"""ember.distributed.checkpoint (DCP) against torch's: state-dict names, checkpoint layout and metadata, errors,
single-process round trips, Stateful objects, format conversion; one ``mpiexec -n 2`` job
(tests/data/distributed/dcp_ranks.py) saves and loads DDP and FSDP models, and its checkpoint is then read back by
this single process (resharding 2 ranks -> 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import ember
import ember.distributed as dist
import ember.distributed.checkpoint as dcp
from ember.distributed.checkpoint.format_utils import dcp_to_torch_save, torch_save_to_dcp
from ember.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from ember.distributed.run import find_mpiexec

HERE = Path(__file__).parent / "data" / "distributed"
MPIEXEC = find_mpiexec()
pytestmark = pytest.mark.filterwarnings("ignore:torch.distributed is disabled")
needs_mpi = pytest.mark.skipif(MPIEXEC is None or not dist.is_mpi_available(), reason="needs mpi4py and mpiexec")


def _pair(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    opt = lib.optim.Adam(model.parameters(), lr=0.1)
    model(lib.randn(2, 3)).sum().backward()
    opt.step()
    return model, opt


def _fresh():
    ember.manual_seed(5)
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    return model, ember.optim.Adam(model.parameters(), lr=0.5)


def _values(model: ember.nn.Module) -> list:
    return list(model.state_dict().values())


def _load_into_fresh(path: str) -> tuple:
    model, opt = _fresh()
    msd, osd = get_state_dict(model, opt)
    sd = {"model": msd, "optim": osd}
    dcp.load(sd, checkpoint_id=path)
    set_state_dict(model, opt, model_state_dict=sd["model"], optim_state_dict=sd["optim"])
    return model, opt


def _same(a: tuple, b: tuple) -> None:
    (am, ao), (bm, bo) = get_state_dict(*a), get_state_dict(*b)
    assert list(am) == list(bm) and all(ember.equal(am[k], bm[k]) for k in am)
    for k, s in ao["state"].items():
        assert all(ember.equal(v, bo["state"][k][n]) for n, v in s.items())
    assert ao["param_groups"] == bo["param_groups"]


def test_state_dict_and_checkpoint_as_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import torch.distributed.checkpoint as tdcp
    from torch.distributed.checkpoint.state_dict import get_state_dict as tget
    em, eo = _pair(ember)
    tm, to = _pair(torch)
    (esd, eosd), (tsd, tosd) = get_state_dict(em, eo), tget(tm, to)
    assert list(esd) == list(tsd) and list(eosd["state"]) == list(tosd["state"])
    assert eosd["param_groups"] == tosd["param_groups"]
    assert all(list(eosd["state"][k]) == list(tosd["state"][k]) for k in tosd["state"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tdcp.save({"model": tsd, "optim": tosd}, checkpoint_id=tmp_path / "t")
    dcp.save({"model": esd, "optim": eosd}, checkpoint_id=tmp_path / "e")
    assert sorted(os.listdir(tmp_path / "e")) == sorted(os.listdir(tmp_path / "t")) == [".metadata", "__0_0.distcp"]
    md = dcp.FileSystemReader(tmp_path / "e").read_metadata().state_dict_metadata
    tmd = tdcp.FileSystemReader(tmp_path / "t").read_metadata().state_dict_metadata
    assert sorted(md) == sorted(tmd)
    for k, t in tmd.items():
        assert type(md[k]).__name__ == type(t).__name__, k
        if isinstance(t, tdcp.TensorStorageMetadata):
            assert tuple(md[k].size) == tuple(t.size) and str(md[k].properties.dtype) == str(t.properties.dtype)

    # each reads the other's checkpoint: tensors and plain values
    for lib, mod, path, want in ((torch, tdcp, "e", esd), (ember, dcp, "t", tsd)):
        sd = {"model": {k: lib.zeros(v.shape) for k, v in want.items()}, "optim": {"param_groups": [{"lr": 0.0}]}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod.load(sd, checkpoint_id=tmp_path / path)
        assert all((sd["model"][k].numpy() == v.detach().numpy()).all() for k, v in want.items())
        assert sd["optim"]["param_groups"][0]["lr"] == 0.1

    # errors as torch's: a CheckpointException (BaseException) holding the rank's RuntimeError / ValueError
    for bad in ({"model": {"zzz": 1}}, {"model": {"0.bias": 1}}):
        outcomes = []
        for lib, mod, path in ((torch, tdcp, "t"), (ember, dcp, "e")):
            sd = {"model": {k: lib.zeros(1) for k in bad["model"]}}
            with pytest.raises(BaseException) as info, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mod.load(sd, checkpoint_id=tmp_path / path)
            exc = info.value.failures[0][0]
            outcomes.append((type(info.value).__name__, type(exc).__name__, str(exc).replace("torch.Size", "Size")))
        assert outcomes[0] == outcomes[1], outcomes
    with pytest.raises(RuntimeError, match="^`checkpoint_id` must be specified if storage_reader/storage_writer"):
        dcp.save({}, checkpoint_id=None)
    for action, call in (("save", dcp.save), ("load", dcp.load)):   # torch's warning for a single process
        with pytest.warns(UserWarning, match=f"assuming the intent is to {action} in a single process"):
            call({"model": esd}, checkpoint_id=tmp_path / "w")


def test_round_trip_stateful_and_formats(tmp_path: Path) -> None:
    model, opt = _pair(ember)
    msd, osd = get_state_dict(model, opt)
    dcp.save({"model": msd, "optim": osd, "step": 7}, checkpoint_id=tmp_path / "c")
    assert not [f for f in os.listdir(tmp_path / "c") if ".tmp" in f]   # temporaries moved into place
    _same((model, opt), _load_into_fresh(str(tmp_path / "c")))
    extra = {"step": 0}
    dcp.load(extra, checkpoint_id=tmp_path / "c", planner=dcp.DefaultLoadPlanner(allow_partial_load=True))
    assert extra == {"step": 7}

    class App:   # Stateful: saved and loaded through its state_dict / load_state_dict
        def __init__(self, m: ember.nn.Module) -> None:
            self.m = m

        def state_dict(self) -> dict:
            return {"model": self.m.state_dict()}

        def load_state_dict(self, sd: dict) -> None:
            self.m.load_state_dict(sd["model"])

    assert isinstance(App(model), dcp.Stateful)
    dcp.save({"app": App(model)}, checkpoint_id=tmp_path / "s")
    fresh, _ = _fresh()
    dcp.load({"app": App(fresh)}, checkpoint_id=tmp_path / "s")
    assert all(ember.equal(a, b) for a, b in zip(_values(model), _values(fresh), strict=True))
    # an unfinished checkpoint (no .metadata) cannot be loaded
    os.remove(tmp_path / "s" / ".metadata")
    with pytest.raises(FileNotFoundError):
        dcp.load({"app": App(fresh)}, checkpoint_id=tmp_path / "s")

    dcp_to_torch_save(tmp_path / "c", tmp_path / "c.pt")
    back = ember.load(tmp_path / "c.pt", weights_only=False)
    assert back["step"] == 7 and list(back["model"]) == list(msd)
    assert all(ember.equal(back["model"][k], msd[k]) for k in msd)
    assert back["optim"]["param_groups"][0]["params"] == list(msd)
    torch = pytest.importorskip("torch")
    tback = torch.load(tmp_path / "c.pt", weights_only=False)
    assert all((tback["model"][k].numpy() == msd[k].numpy()).all() for k in msd)
    torch_save_to_dcp(tmp_path / "c.pt", tmp_path / "c2")
    _same((model, opt), _load_into_fresh(str(tmp_path / "c2")))


@needs_mpi
def test_ddp_fsdp_two_ranks_and_resharding(tmp_path: Path) -> None:
    env = {"HYDRA_LAUNCHER": "fork", "OMP_NUM_THREADS": "1", "EMBER_DIST_TIMEOUT": "60"}
    p = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "dcp_ranks.py", str(tmp_path)], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, **env), cwd=HERE)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "OK 0" in p.stdout and "OK 1" in p.stdout, p.stdout + p.stderr
    # written by 2 ranks, read by this one process: the values the job trained (seed 0, its batches)
    for name in ("ddp", "fsdp"):
        assert sorted(os.listdir(tmp_path / name)) == [".metadata", "__0_0.distcp", "__1_0.distcp"]
        model, _ = _load_into_fresh(str(tmp_path / name))
        ember.manual_seed(0)
        ref = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
        assert all(not ember.equal(a, b) for a, b in zip(_values(ref), _values(model), strict=True))
    a, b = _load_into_fresh(str(tmp_path / "ddp")), _load_into_fresh(str(tmp_path / "fsdp"))
    assert all(ember.allclose(x, y, atol=1e-6) for x, y in zip(_values(a[0]), _values(b[0]), strict=True))
