"""ember.utils.dlpack / _pytree / benchmark and ember.hub against torch."""

from __future__ import annotations

import collections
import hashlib
import os

import numpy as np
import pytest
import torch
import torch.utils._pytree as tp
import torch.utils.benchmark as tb
import torch.utils.dlpack as tdl

import ember
import ember.hub as ehub
import ember.utils._pytree as ep
from ember.utils import benchmark as eb
from ember.utils import dlpack as edl

NT = collections.namedtuple("NT", "x y")


# ---- dlpack -------------------------------------------------------------------------------------
def test_dlpack_shares_memory_with_numpy_and_torch():
    t = ember.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t)
    tt = torch.from_dlpack(t)
    a[0, 0] = 7.0
    assert t[0, 0].item() == 7.0 and tt[0, 0].item() == 7.0 and tt.dtype == torch.float32
    back = edl.from_dlpack(torch.ones(3, dtype=torch.int64))
    assert back.dtype == ember.int64 and back.tolist() == [1, 1, 1]
    src = torch.zeros(2)
    e = edl.from_dlpack(src)
    src[1] = 5
    assert e.tolist() == [0.0, 5.0]
    assert tdl.from_dlpack(edl.to_dlpack(ember.ones(2))).tolist() == [1.0, 1.0]
    assert t.__dlpack_device__() == torch.zeros(1).__dlpack_device__()
    assert edl.DLDeviceType.kDLCPU == tdl.DLDeviceType.kDLCPU


def test_dlpack_requires_grad_error():
    with pytest.raises(BufferError) as e:
        np.from_dlpack(ember.ones(2, requires_grad=True))
    with pytest.raises(BufferError) as t:
        np.from_dlpack(torch.ones(2, requires_grad=True))
    assert str(e.value) == str(t.value)


# ---- pytree -------------------------------------------------------------------------------------
TREES = [
    {"b": 1, "a": (2, [3, None]), "c": collections.OrderedDict(x=4)},
    NT(1, [2, 3]),
    collections.defaultdict(int, {"a": 1, "b": (2,)}),
    collections.deque([1, 2], maxlen=3),
    None, 5, [], (), {},
]


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_pytree_matches_torch(tree):
    el, es = ep.tree_flatten(tree)
    tl, ts = tp.tree_flatten(tree)
    assert el == tl
    assert repr(es) == repr(ts)
    assert es.num_leaves == ts.num_leaves and es.num_nodes == ts.num_nodes
    rebuilt = ep.tree_unflatten(el, es)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert ep.tree_leaves(tree) == tp.tree_leaves(tree)
    assert ep.tree_map(lambda x: (x, 0), tree) == tp.tree_map(lambda x: (x, 0), tree)
    assert ep.treespec_pprint(es) == tp.treespec_pprint(ts)


def test_pytree_spec_semantics():
    assert ep.tree_structure([1, 2]) == ep.tree_structure([3, 4])
    assert ep.tree_structure((1,)) != ep.tree_structure([1])
    assert ep.tree_structure({"a": 1}) != ep.tree_structure({"b": 1})
    assert repr(ep.LeafSpec()) == repr(tp.tree_structure(1)) == "*"
    assert ep.tree_structure(1).is_leaf() and isinstance(ep.LeafSpec(), ep.TreeSpec)
    with pytest.raises(ValueError) as e:
        ep.tree_unflatten([1], ep.tree_structure([1, 2]))
    with pytest.raises(ValueError) as t:
        tp.tree_unflatten([1], tp.tree_structure([1, 2]))
    assert str(e.value) == str(t.value)


def test_pytree_map_variants():
    tree = [1, "a", 2.0, (3,)]
    for mod in (ep, tp):
        assert mod.tree_map(lambda a, b: a + b, [1, (2,)], [10, (20,)]) == [11, (22,)]
    assert ep.tree_map_only(int, lambda x: x * 2, tree) == tp.tree_map_only(int, lambda x: x * 2, tree)
    assert ep.tree_map_only((int, float), lambda x: -x, tree) == tp.tree_map_only((int, float), lambda x: -x, tree)
    assert ep.tree_map_only(lambda x: x == 3, str, tree) == tp.tree_map_only(lambda x: x == 3, str, tree)
    assert ep.tree_all(lambda x: x > 0, [1, (2,)]) and not ep.tree_any(lambda x: x > 5, [1, (2,)])
    assert ep.tree_all_only(int, lambda x: x > 0, [1, "a"]) == tp.tree_all_only(int, lambda x: x > 0, [1, "a"])
    assert ep.tree_any_only(str, lambda x: x == "a", [1, "a"])
    assert ep.tree_leaves([1, [2]], is_leaf=lambda x: isinstance(x, list) and len(x) == 1) == [1, [2]]
    seen = []
    assert ep.tree_map_(seen.append, tree) is tree and seen == [1, "a", 2.0, 3]
    with pytest.raises(ValueError):
        ep.tree_map(lambda a, b: a, [1, 2], [1])
    x = ember.ones(2)
    assert ep.tree_leaves({"t": x, "n": None})[0] is x


def test_register_pytree_node():
    class Box:
        def __init__(self, a, b):
            self.a, self.b = a, b

    ep.register_pytree_node(Box, lambda bx: ([bx.a, bx.b], "ctx"), lambda v, c: Box(*v))
    leaves, spec = ep.tree_flatten([Box(1, (2, 3))])
    assert leaves == [1, 2, 3] and spec.children_specs[0].context == "ctx"
    out = ep.tree_map(lambda v: v * 10, [Box(1, (2, 3))])[0]
    assert isinstance(out, Box) and out.a == 10 and out.b == (20, 30)
    with pytest.raises(ValueError, match="already registered"):
        ep.register_pytree_node(Box, lambda b: ([], None), lambda v, c: Box(0, 0))


# ---- benchmark ----------------------------------------------------------------------------------
def test_timer_measurement_and_compare():
    t = eb.Timer("x + y", "y = 2", globals={"x": 1}, label="L", sub_label="S", description="D")
    m = t.timeit(20)
    assert m.number_per_run == 20 and len(m.times) == 1 and m.mean == m.median and m.iqr == 0.0
    lines = repr(m).splitlines()
    assert lines[0].startswith("<ember.utils.benchmark.Measurement object at 0x")
    assert lines[1:4] == ["L: S", "D", "setup: y = 2"] and lines[5] == "  1 measurement, 20 runs , 1 thread"
    tm = tb.Timer("x + y", "y = 2", globals={"x": 1}, label="L", sub_label="S",
                                     description="D").timeit(20)
    assert repr(tm).splitlines()[1:4] == lines[1:4] and repr(tm).splitlines()[5] == lines[5]
    m2 = eb.Timer("sum(range(20))").blocked_autorange(min_run_time=0.01)
    assert sum(m2.raw_times) >= 0.01 and repr(m2).splitlines()[1] == "sum(range(20))"   # runs until min_run_time
    assert str(m2.number_per_run).strip("0") == "1"   # a power of ten, as torch's block sizes
    m3 = eb.Timer("pass").adaptive_autorange(max_run_time=0.05)
    assert m3.median > 0
    out = str(eb.Compare([m, eb.Timer("x", globals={"x": 1}, label="L", sub_label="S2", description="D").timeit(5)]))
    assert out.startswith("[") and " L " in out.splitlines()[0] and "S2" in out and "Times are in" in out


@pytest.mark.parametrize("raw", [[1e-5, 1.2e-5, 1.1e-5, 1.3e-5], [2e-3, 2.01e-3, 2.02e-3, 2e-3, 2.01e-3]])
def test_measurement_repr_matches_torch(raw):
    from torch.utils.benchmark.utils.common import Measurement as TM

    e = eb.Measurement(10, raw, eb.Timer("x+1", label="L", sub_label="s")._task_spec)
    t = TM(10, raw, tb.Timer("x+1", label="L", sub_label="s")._task_spec)
    assert repr(e).splitlines()[1:] == repr(t).splitlines()[1:]
    assert e.has_warnings == t.has_warnings
    np.testing.assert_allclose([e.mean, e.median, e.iqr], [t.mean, t.median, t.iqr])


# ---- hub ----------------------------------------------------------------------------------------
HUBCONF = '''dependencies = ["numpy"]


def tiny(scale=1):
    """A tiny entrypoint."""
    return {"scale": scale}


def _private():
    return None
'''


def test_hub_local(tmp_path):
    (tmp_path / "hubconf.py").write_text(HUBCONF)
    for mod in (ehub, torch.hub):
        assert mod.load(str(tmp_path), "tiny", 3, source="local") == {"scale": 3}
    assert ehub.list(str(tmp_path)) == ehub.list(str(tmp_path), source="local") == ["tiny"]
    assert ehub.help(str(tmp_path), "tiny") == "A tiny entrypoint."
    with pytest.raises(RuntimeError, match="no network"):
        ehub.list("pytorch/vision")
    for mod in (ehub, torch.hub):
        with pytest.raises(RuntimeError, match="Cannot find callable nope in hubconf"):
            mod.load(str(tmp_path), "nope", source="local")
        with pytest.raises(ValueError, match='Unknown source: "bad"'):
            mod.load(str(tmp_path), "tiny", source="bad")
    (tmp_path / "hubconf.py").write_text('dependencies = ["no_such_pkg_xyz"]\n')
    for mod in (ehub, torch.hub):
        with pytest.raises(RuntimeError, match="Missing dependencies: no_such_pkg_xyz"):
            mod.load(str(tmp_path), "tiny", source="local")


def test_hub_dirs_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(ehub, "_hub_dir", None)
    assert ehub.get_dir() == torch.hub.get_dir() == str(tmp_path / "home" / "hub")
    ehub.set_dir(str(tmp_path / "h"))
    assert ehub.get_dir() == str(tmp_path / "h")
    ckpt = tmp_path / "h" / "checkpoints"
    ckpt.mkdir(parents=True)
    url = "https://example.com/models/net-{}.pth"
    with pytest.raises(FileNotFoundError, match=os.path.join(str(ckpt), "net-0.pth")):
        ehub.load_state_dict_from_url(url.format(0))
    sd = {"w": ember.arange(3.0)}
    plain = ckpt / "tmp.pth"
    ember.save(sd, str(plain))
    digest = hashlib.sha256(plain.read_bytes()).hexdigest()
    good = ckpt / f"net-{digest[:8]}.pth"
    plain.rename(good)
    out = ehub.load_state_dict_from_url(url.format(digest[:8]), check_hash=True)
    assert out["w"].tolist() == [0.0, 1.0, 2.0]
    bad = ckpt / "net-deadbeef.pth"
    bad.write_bytes(good.read_bytes())
    with pytest.raises(RuntimeError, match='invalid hash value \\(expected "deadbeef"'):
        ehub.load_state_dict_from_url(url.format("deadbeef"), check_hash=True)
    dst = tmp_path / "copy.pth"
    ehub.download_url_to_file(url.format(digest[:8]), str(dst), hash_prefix=digest[:8])
    assert dst.read_bytes() == good.read_bytes()
    with pytest.raises(FileNotFoundError, match="no network"):
        ehub.download_url_to_file("https://example.com/x.bin", str(dst))


def test_default_thread_count_follows_environment_as_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default intra-op thread count: MKL_NUM_THREADS, else OMP_NUM_THREADS, at most the usable cores
    (zero ignored), as torch's (torch started with each environment); ``ember run`` relies on it to give
    each rank one thread."""
    import os
    import subprocess
    import sys

    from ember.ops import info
    cases = [{}, {"OMP_NUM_THREADS": "1"}, {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "1"},
             {"OMP_NUM_THREADS": "64", "MKL_NUM_THREADS": "0"}]
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    runs = [subprocess.Popen([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                             stdout=subprocess.PIPE, text=True, env={**base, **env}) for env in cases]
    for env, run in zip(cases, runs, strict=True):
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            monkeypatch.delenv(var, raising=False)
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        assert info._default_intra_threads() == int(run.communicate()[0].split()[-1]), env
