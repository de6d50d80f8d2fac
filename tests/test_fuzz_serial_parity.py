"""Serialization and Python interop against torch, from differential fuzzing: torch.save/ember.save files read
by both loaders, map_location / mmap error order, and what ember keeps out of a tensor's saved state."""

import copy
import io
import pickle

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _saved(lib, obj, **kw):
    buf = io.BytesIO()
    lib.save(obj, buf, **kw)
    buf.seek(0)
    return buf


def _same_error(ft, fe):
    with pytest.raises(Exception) as et:
        ft()
    with pytest.raises(type(et.value)) as ee:
        fe()
    return str(et.value), str(ee.value)


def test_empty_storage_viewed_as_two_dtypes_saves_like_torch():
    objs = {L: [L.zeros(0), L.zeros(0).view(L.int32)] for L in (torch, ember)}
    for L in (torch, ember):
        e = L.zeros(0)
        objs[L] = [e, e.view(L.int32), L.zeros(0, dtype=L.int8).view(L.float8_e5m2)]
    for L in (torch, ember):
        for M in (torch, ember):
            r = M.load(_saved(L, objs[L]))
            assert [str(t.dtype) for t in r] == ["torch.float32", "torch.int32", "torch.float8_e5m2"]


def test_bad_map_location_fails_at_the_first_storage_like_torch():
    for L in (torch, ember):
        assert L.load(_saved(L, [1]), map_location=3) == [1]   # no storage: never called
    t, e = _same_error(lambda: torch.load(_saved(torch, [torch.ones(1)]), map_location=3),
                       lambda: ember.load(_saved(ember, [ember.ones(1)]), map_location=3))
    assert t == e == "'int' object is not callable"


def test_map_location_errors_propagate_as_they_are():
    def boom(storage, location):
        raise ValueError("no such place")

    t, e = _same_error(lambda: torch.load(_saved(torch, torch.ones(1)), map_location=boom),
                       lambda: ember.load(_saved(ember, ember.ones(1)), map_location=boom))
    assert t == e == "no such place"


def test_mmap_on_a_file_object_checks_the_format_first():
    for legacy, err in ((True, RuntimeError), (False, ValueError)):
        for L in (torch, ember):
            buf = _saved(L, [L.ones(1)], _use_new_zipfile_serialization=not legacy)
            with pytest.raises(err):
                L.load(buf, mmap=True, map_location=3)


def test_ember_flags_are_not_saved_as_tensor_attributes():
    x = ember.ones(4, requires_grad=True)
    with ember.no_grad():
        view = x[1:]                         # a no-grad view of a tensor requiring grad
    part = ember.ones(4).split(2)[0]          # an output of split
    conj = ember.ones(2, dtype=ember.complex64).conj()
    user = ember.ones(1)
    user.note = "kept"
    for t, attrs in ((view, {}), (part, {}), (conj, {}), (user, {"note": "kept"})):
        assert vars(ember.load(_saved(ember, t))) == attrs
        loaded = torch.load(_saved(ember, t))
        assert type(loaded) is torch.Tensor and vars(loaded) == attrs


def _described(t):
    return (type(t).__name__, str(t.dtype), t.tolist(), t.stride(), t.storage_offset(), t.requires_grad, vars(t),
            t.untyped_storage().nbytes())


def _objects(L):
    base = L.arange(12.0).view(3, 4)
    base.note = "kept"
    param = L.nn.Parameter(L.ones(2))
    param.tag = 1
    return [base, base.t()[1:], base[0, 0], param, L.ones(2, requires_grad=True)]


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_pickle_and_copies_keep_views_attributes_and_sharing_like_torch(how):
    fn = {"pickle": lambda x: pickle.loads(pickle.dumps(x)), "copy": copy.copy, "deepcopy": copy.deepcopy}[how]
    got = {}
    for L in (torch, ember):
        objs = _objects(L)
        out = fn(objs) if how != "copy" else [fn(t) for t in objs]
        ptr = [t.untyped_storage().data_ptr() for t in out]
        src = [t.untyped_storage().data_ptr() for t in objs]
        got[L] = ([_described(t) for t in out], ptr[0] == ptr[1], [p == s for p, s in zip(ptr, src, strict=True)])
    assert got[ember] == got[torch]


def test_deepcopy_keeps_grad_and_fortran_order_views():
    a = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    got = []
    for L in (torch, ember):
        x = L.from_numpy(a.copy(order="F"))
        g = L.ones(2, requires_grad=True)
        g.grad = L.full((2,), 3.0)
        r = copy.deepcopy([x, x[:, 1], g])
        got.append([_described(t) for t in r[:2]] + [r[2].grad.tolist()])
    assert got[0] == got[1]


def test_reversed_and_three_argument_pow_like_torch():
    for L in (torch, ember):
        assert reversed(L.arange(3)).tolist() == [2, 1, 0] and reversed(L.tensor(5)).tolist() == 5
    t, e = _same_error(lambda: pow(torch.arange(3), 2, 3), lambda: pow(ember.arange(3), 2, 3))
    assert t == e


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"])
def test_zero_dim_float8_converts_to_a_zero_dim_tensor(name):
    for target in ("float64", "int64", "bfloat16"):
        t = torch.tensor(2.5).to(getattr(torch, name)).to(getattr(torch, target))
        e = ember.as_tensor(ember.tensor(2.5).to(getattr(ember, name)), dtype=getattr(ember, target))
        assert e.shape == t.shape == () and repr(e) == repr(t)


def _both_fail_with(data, err, **kw):
    for L in (torch, ember):
        with pytest.raises(err) as info:
            L.load(io.BytesIO(data), **kw)
    return str(info.value)


def test_corrupt_checkpoints_raise_torchs_error_types():
    data = _saved(torch, {"a": torch.arange(4.0)}).getvalue()
    for cut in (len(data) - 7, len(data) // 2, 10):
        _both_fail_with(data[:cut], RuntimeError)   # a truncated zip (ember's is also a zipfile.BadZipFile)
    assert "file not found" in _both_fail_with(data.replace(b"data.pkl", b"data.pkX"), RuntimeError)
    moved = data.replace(b"archive/.format_version", b"archivX/.format_version")
    assert _both_fail_with(moved, RuntimeError).endswith("not in a subdirectory archive/: archivX/.format_version")
    legacy = _saved(torch, [torch.ones(3)], _use_new_zipfile_serialization=False).getvalue()
    t = str(pytest.raises(RuntimeError, torch.load, io.BytesIO(legacy[:-5])).value)
    assert _both_fail_with(legacy[:-5], RuntimeError) == t == "unexpected EOF, expected 5 more bytes. The file might " \
        "be corrupted."


def test_empty_views_past_their_storage_load_and_pickle_like_torch():
    for L in (torch, ember):
        t = L.zeros(3, 0, dtype=L.complex64).imag      # an empty view at offset 1 of an empty storage
        for M in (torch, ember):
            assert M.load(_saved(L, t)).shape == (3, 0)
        assert pickle.loads(pickle.dumps(t)).shape == copy.copy(t).shape == (3, 0)
    hand = torch.zeros(3).as_strided((0,), (1,), 9)     # torch keeps any offset for an empty view
    assert torch.load(_saved(torch, hand)).shape == ember.load(_saved(torch, hand)).shape == (0,)


def test_from_dlpack_takes_a_bare_capsule_like_torch():
    from ember.utils.dlpack import to_dlpack

    x = ember.arange(3.0)
    y = ember.from_dlpack(to_dlpack(x))
    y[0] = 5.0                                            # shares x's memory, writable as torch's
    assert x.tolist() == [5.0, 1.0, 2.0]
    t = torch.arange(4.0)
    assert ember.from_dlpack(torch.utils.dlpack.to_dlpack(t)).tolist() == t.tolist()
    used = [to_dlpack(x), torch.utils.dlpack.to_dlpack(t)]
    ember.from_dlpack(used[0])
    torch.from_dlpack(used[1])
    te, ee = _same_error(lambda: torch.from_dlpack(used[1]), lambda: ember.from_dlpack(used[0]))
    assert te == ee


def test_dlpack_export_refuses_the_conjugate_bit_like_torch():
    t, e = _same_error(lambda: np.from_dlpack(torch.tensor([1 + 2j]).conj()),
                       lambda: np.from_dlpack(ember.tensor([1 + 2j]).conj()))
    assert t == e
    for L in (torch, ember):
        assert np.from_dlpack(L.tensor([1 + 2j])).tolist() == [1 + 2j]


@pytest.mark.parametrize("weights_only", [True, False])
def test_legacy_files_with_sparse_tensors_load_their_data(weights_only):
    g = torch.Generator().manual_seed(0)
    coo = torch.sparse_coo_tensor(torch.randint(0, 9, (2, 40), generator=g), torch.rand(40, generator=g), (9, 9))
    obj = [coo, coo.coalesce(), coo.coalesce().to_sparse_csr(), torch.arange(3)]
    data = _saved(torch, obj, _use_new_zipfile_serialization=False).getvalue()
    got = ember.load(io.BytesIO(data), weights_only=weights_only)   # (the data follows the pickle in this format)
    want = torch.load(io.BytesIO(data), weights_only=weights_only)
    for e, t in zip(got, want, strict=True):
        assert str(e.layout) == str(t.layout) and e.to_dense().tolist() == t.to_dense().tolist()


def test_deepcopy_of_a_parameter_clones_its_data_like_torch():
    got = []
    for L in (torch, ember):
        views = (L.ones(1).expand(3), L.arange(6.0)[::2], L.arange(6.0).view(2, 3).t())
        got.append([copy.deepcopy(L.nn.Parameter(v)).stride() for v in views])
    assert got[0] == got[1]


class _Custom:
    pass


def test_get_unsafe_globals_in_checkpoint_like_torch():
    obj = {"t": torch.ones(2), "c": _Custom(), "n": np.arange(2), "s": slice(1), "p": torch.nn.Parameter(torch.ones(1)),
           "sz": torch.Size([1]), "dt": torch.float16, "set": {1}, "cx": 1j}
    data = _saved(torch, obj).getvalue()
    for allowed in ([], [_Custom]):
        with torch.serialization.safe_globals(allowed), ember.serialization.safe_globals(allowed):
            want = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
            got = ember.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
        assert sorted(got) == sorted(want) and "builtins.slice" in got
        assert (f"{__name__}._Custom" in got) != bool(allowed)
    legacy = _saved(torch, [1], _use_new_zipfile_serialization=False).getvalue()
    t, e = _same_error(lambda: torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(legacy)),
                       lambda: ember.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(legacy)))
    assert t == e


class _TSub(torch.Tensor):
    pass


class _ESub(ember.Tensor):
    pass


def test_pickle_and_copy_keep_tensor_subclasses_and_quantizers_like_torch():
    got = []
    for L, cls in ((torch, _TSub), (ember, _ESub)):
        t = L.arange(3.0).as_subclass(cls)
        t.note = 1
        q = L.quantize_per_channel(L.tensor([[1.0, 2.0], [3.0, 4.0]]), L.tensor([0.1, 0.2]), L.tensor([0, 1]), 0,
                                   L.qint8)
        row = []
        for fn in (lambda x: pickle.loads(pickle.dumps(x)), copy.copy):
            r, rq = fn(t), fn(q)
            row += [type(r).__name__.strip("_ET"), vars(r), r.tolist(), rq.int_repr().tolist(),
                    rq.q_per_channel_scales().tolist(), rq.q_per_channel_zero_points().tolist(), str(rq.dtype)]
        got.append(row)
    assert got[0] == got[1]
    d = copy.deepcopy(ember.arange(3.0).as_subclass(_ESub))   # (torch's default deepcopy refuses this subclass)
    assert type(d) is _ESub and d.tolist() == [0.0, 1.0, 2.0]
