"""Serialization and Python interop against torch, from differential fuzzing: torch.save/ember.save files read
by both loaders, map_location / mmap error order, and what ember keeps out of a tensor's saved state."""

import io

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
