"""Hostile and broken checkpoints: every one raises a clean exception (never a crash), never runs code
from the file (a canary file is never created), and never allocates more than the file can back."""

from __future__ import annotations

import io
import os
import pathlib
import pickle
import struct
import subprocess
import tracemalloc
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from ember import serialization as S

DATA = pathlib.Path(__file__).parent / "data"
CLEAN = (
    pickle.UnpicklingError,
    RuntimeError,
    ValueError,
    EOFError,
    zipfile.BadZipFile,
    KeyError,
    TypeError,
    OverflowError,
    struct.error,
    NotImplementedError,
    OSError,
)
MIB = 2**20


# ---- building files --------------------------------------------------------------------------------------
def zipped(pkl: bytes, entries: dict[str, bytes] | None = None, method: int = zipfile.ZIP_STORED) -> bytes:
    """A checkpoint zip holding ``pkl`` as data.pkl (plus ``entries``), written by Python's zipfile."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        z.writestr("archive/data.pkl", pkl)
        for name, data in (entries or {}).items():
            z.writestr(f"archive/{name}", data)
        z.writestr("archive/version", b"3\n")
    return out.getvalue()


def s(text: str) -> bytes:
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def i(n: int) -> bytes:
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    enc = pickle.encode_long(n)
    return b"\x8a" + bytes([len(enc)]) + enc


def g(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def tensor_pickle(
    storage: str,
    numel: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    offset: int = 0,
    metadata: bytes = b"",
) -> bytes:
    """Protocol-2 opcodes of one _rebuild_tensor_v2 call over storage data/0."""
    tup = lambda xs: b"(" + b"".join(i(x) for x in xs) + b"t"  # noqa: E731
    pid = b"(" + s("storage") + g("torch", storage) + s("0") + s("cpu") + i(numel) + b"tQ"
    return (
        b"\x80\x02"
        + g("torch._utils", "_rebuild_tensor_v2")
        + b"("
        + pid
        + i(offset)
        + tup(size)
        + tup(stride)
        + b"\x89"
        + g("collections", "OrderedDict")
        + b")R"
        + metadata
        + b"tR."
    )


def load_bytes(data: bytes, **kw: object) -> object:
    return S.load(io.BytesIO(data), **kw)


def bounded(fn: Callable[[], object], limit: int = 16 * MIB) -> None:
    """Run ``fn`` expecting a clean error, and check it never held more than ``limit`` bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(CLEAN):
            fn()
        assert tracemalloc.get_traced_memory()[1] < limit
    finally:
        tracemalloc.stop()


@pytest.fixture
def canary(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "canary"


class Evil:
    """Pickles as a call that would create the canary file."""

    def __init__(self, how: str, path: pathlib.Path) -> None:
        self.how, self.path = how, str(path)

    def __reduce__(self) -> tuple:
        if self.how == "system":
            return (os.system, (f"touch {self.path}",))
        if self.how == "exec":
            return (exec, (f"open({self.path!r}, 'w').close()",))
        if self.how == "eval":
            return (eval, (f"open({self.path!r}, 'w').close()",))
        return (subprocess.call, (["touch", self.path],))


# ---- code execution ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["system", "exec", "eval", "subprocess"])
def test_reduce_payloads_never_run(how: str, canary: pathlib.Path) -> None:
    evil = {"w": ember.ones(2), "x": Evil(how, canary)}
    buf = io.BytesIO()
    S.save(evil, buf)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_bytes(buf.getvalue())
    legacy = pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + pickle.dumps({}, 2)
    legacy += pickle.dumps(Evil(how, canary), 2) + pickle.dumps([], 2)
    with pytest.raises(pickle.UnpicklingError):
        load_bytes(legacy)
    with pytest.raises(pickle.UnpicklingError):
        load_bytes(zipped(pickle.dumps(Evil(how, canary), 2)))
    assert not canary.exists()


def test_the_payload_is_live_with_weights_only_false(canary: pathlib.Path) -> None:
    load_bytes(zipped(pickle.dumps(Evil("exec", canary), 2)), weights_only=False)  # trusted-file mode runs it
    assert canary.exists()


@pytest.mark.parametrize(
    "module,name",
    [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("sys", "exit"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("torch", "load"),
        ("__main__", "Net"),
    ],
)
def test_globals_outside_the_allowlist(module: str, name: str) -> None:
    pkl = b"\x80\x02" + g(module, name) + b")R."
    with pytest.raises(pickle.UnpicklingError, match=f"{module}|{name}"):
        load_bytes(zipped(pkl))


def test_rebuild_from_type_cannot_call_other_allowed_globals() -> None:
    pkl = (
        b"\x80\x02"
        + g("torch._tensor", "_rebuild_from_type_v2")
        + b"("
        + g("builtins", "set")
        + g("torch", "Tensor")
        + b")}tR."
    )
    with pytest.raises(RuntimeError, match="_rebuild_from_type_v2"):
        load_bytes(zipped(pkl))


@pytest.mark.parametrize(
    "pkl,match",
    [
        (b"\x80\x02" + g("torch", "FloatTensor") + b"(J\x00\x00\x00\x40tR.", "Refusing to construct"),
        (b"\x80\x02" + g("builtins", "bytearray") + b"(J\x00\x00\x00\x40tR.", "bytearray"),
        (b"\x80\x02" + g("torch", "Tensor") + b"(J\x00\x00\x00\x40t\x81.", "Refusing to construct"),
        (b"\x80\x02" + g("torch", "Size") + b"(J\x00\x00\x00\x40tR.", "invalid torch.Size"),
    ],
)
def test_allowed_globals_cannot_allocate_what_the_file_asks(pkl: bytes, match: str) -> None:
    bounded(lambda: load_bytes(zipped(pkl)))
    with pytest.raises(CLEAN, match=match):
        load_bytes(zipped(pkl))


@pytest.mark.parametrize("container", [("builtins", "set"), ("collections", "Counter"), ("torch", "Size")])
def test_containers_never_iterate_huge_virtual_tensors(container: tuple[str, str]) -> None:
    huge = tensor_pickle("FloatStorage", 1, (10**12,), (0,))[2:-1]
    pkl = b"\x80\x02" + g(*container) + b"(" + huge + b"tR."
    bounded(lambda: load_bytes(zipped(pkl, {"data/0": b"\0" * 4})))


# ---- sizes and offsets -------------------------------------------------------------------------------------
def test_storage_numel_larger_than_its_data() -> None:
    data = zipped(tensor_pickle("FloatStorage", 10**12, (10**12,), (1,)), {"data/0": b"\0" * 12})
    bounded(lambda: load_bytes(data))
    with pytest.raises(RuntimeError, match="holds 12 bytes but the pickle declares"):
        load_bytes(data)


def test_view_outside_its_storage() -> None:
    for size, stride, offset in (
        ((100,), (1,), 0),
        ((2,), (1,), 3),
        ((2, 2), (1, 10**9), 0),
    ):
        data = zipped(tensor_pickle("FloatStorage", 3, size, stride, offset), {"data/0": b"\0" * 12})
        with pytest.raises(RuntimeError, match="out of bounds for storage of size 12"):
            load_bytes(data)


def test_huge_virtual_views_are_views() -> None:
    pkl = tensor_pickle("FloatStorage", 1, (10**9, 10**9), (0, 0), metadata=b"}" + s("neg") + b"\x88s")
    tracemalloc.start()
    t = load_bytes(zipped(pkl, {"data/0": struct.pack("<f", 2.0)}))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert t.shape == (10**9, 10**9) and t[5, 7].item() == -2.0 and peak < MIB


def test_missing_and_escaping_storage_keys() -> None:
    pkl = tensor_pickle("FloatStorage", 1, (1,), (1,)).replace(s("0"), s("../../etc/passwd"))
    with pytest.raises(RuntimeError, match="storage archive/data/../../etc/passwd is missing"):
        load_bytes(zipped(pkl, {"data/0": b"\0" * 4}))


@pytest.mark.parametrize(
    "pid",
    [
        b")",
        i(5),
        b"(" + s("module") + b"t",
        b"(" + s("storage") + b"t",
        b"(" + s("storage") + g("torch", "Size") + s("0") + s("cpu") + i(1) + b"t",
        b"(" + s("storage") + g("torch", "FloatStorage") + s("0") + s("cpu") + i(-1) + b"t",
    ],
)
def test_bad_persistent_ids(pid: bytes) -> None:
    with pytest.raises((pickle.UnpicklingError, RuntimeError)):
        load_bytes(zipped(b"\x80\x02" + pid + b"Q.", {"data/0": b"\0" * 4}))


def central_record(data: bytes | bytearray, name: str) -> int:
    """Where the central directory record of entry ``archive/<name>`` starts."""
    pos = data.find(b"PK\x01\x02")
    while data[pos + 46 : pos + 46 + len(name) + 8] != f"archive/{name}".encode():
        pos = data.find(b"PK\x01\x02", pos + 1)
    return pos


def test_zip_bomb_declared_sizes() -> None:
    pkl = tensor_pickle("FloatStorage", 2**30 - 1, (2,), (1,))
    data = bytearray(zipped(pkl, {"data/0": b"\0" * 4096}, zipfile.ZIP_DEFLATED))
    struct.pack_into("<I", data, central_record(data, "data/0") + 24, 2**32 - 4)  # ~4 GiB from ~20 bytes
    bounded(lambda: load_bytes(bytes(data)))
    with pytest.raises(zipfile.BadZipFile, match="beyond what deflate can produce"):
        load_bytes(bytes(data))


def test_stored_entry_claiming_more_than_the_file() -> None:
    data = bytearray(zipped(tensor_pickle("FloatStorage", 2**29, (4,), (1,)), {"data/0": b"\0" * 16}))
    struct.pack_into("<II", data, central_record(data, "data/0") + 20, 2**31, 2**31)
    bounded(lambda: load_bytes(bytes(data)))
    with pytest.raises(zipfile.BadZipFile, match="runs past the end of the file"):
        load_bytes(bytes(data))


def test_bad_local_header_offsets() -> None:
    good = zipped(tensor_pickle("FloatStorage", 1, (1,), (1,)), {"data/0": b"\0" * 4})
    cd = good.find(b"PK\x01\x02")
    for offset in (1, 7, len(good) - 3, 2**31):
        data = bytearray(good)
        struct.pack_into("<I", data, cd + 42, offset)
        with pytest.raises(CLEAN):
            load_bytes(bytes(data))


def test_truncated_files() -> None:
    buf = io.BytesIO()
    S.save({"a": ember.arange(100.0), "b": [1, 2]}, buf)
    for data in (
        buf.getvalue(),
        (DATA / "torch_legacy.pt").read_bytes(),
        (DATA / "torch_views.pt").read_bytes(),
    ):
        for cut in range(0, len(data) - 1, 23):
            with pytest.raises(CLEAN):
                load_bytes(data[:cut])


def test_legacy_storage_larger_than_the_file() -> None:
    head = pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + pickle.dumps({}, 2)
    pid = b"(" + s("storage") + g("torch", "FloatStorage") + s("1") + s("cpu") + i(2**30) + b"Nt"
    body = (
        b"\x80\x02"
        + g("torch._utils", "_rebuild_tensor_v2")
        + b"("
        + pid
        + b"Q"
        + i(0)
        + b"("
        + i(1)
        + b"t("
        + i(1)
        + b"t\x89"
        + g("collections", "OrderedDict")
        + b")RtR."
    )
    bounded(lambda: load_bytes(head + body + pickle.dumps(["1"], 2) + struct.pack("<q", 2**30)))


def test_empty_and_garbage_files() -> None:
    for data in (b"", b"PK\x03\x04", b"\x80\x02.", b"not a checkpoint at all", b"PK\x05\x06" + b"\0" * 18):
        with pytest.raises(CLEAN):
            load_bytes(data)


def test_missing_version_record_and_bad_versions() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02K\x01.")
    with pytest.raises(RuntimeError, match="no archive/version record"):
        load_bytes(out.getvalue())
    for version in (b"0", b"11", b"x"):
        data = zipped(b"\x80\x02K\x01.").replace(b"3\n", version.ljust(2))
        with pytest.raises(RuntimeError, match="format version"):
            load_bytes(data)
    assert load_bytes(zipped(b"\x80\x02K\x01.")) == 1
    with pytest.raises(ValueError, match="Unknown endianness type: middle"):
        load_bytes(zipped(b"\x80\x02K\x01.", {"byteorder": b"middle"}))


# ---- pickle structure --------------------------------------------------------------------------------------
def test_self_referential_pickles_load() -> None:
    lst = load_bytes(zipped(b"\x80\x02]q\x00h\x00a."))
    assert lst[0] is lst
    d = load_bytes(zipped(b"\x80\x02}q\x00K\x01h\x00s."))
    assert d[1] is d


def test_deeply_nested_and_mark_bombs() -> None:
    n = 50_000
    nested = load_bytes(zipped(b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b"."))
    depth = 0
    while nested:
        nested, depth = nested[0], depth + 1
    assert depth == n - 1
    bounded(lambda: load_bytes(zipped(b"\x80\x02" + b"(" * 200_000 + b".")), limit=64 * MIB)


@pytest.mark.parametrize(
    "pkl",
    [
        b"\x80\x02h\x05.",
        b"\x80\x02a.",
        b"\x80\x02K\x01K\x02s.",
        b"\x80\x02]K\x01s.",
        b"\x80\x02(K\x01u.",
        b"\x80\x02\x95\x00.",
        b"\x80\x02C\x02ab.",
        b"\x80\x02X\xff\xff\xff\xff.",
        b"\x80\x02Q.",
        b"\x80\x02)K\x01b.",
        b"\x80\x02" + g("torch", "device") + b")\x81}b.",
    ],
)
def test_malformed_pickles(pkl: bytes) -> None:
    with pytest.raises(pickle.UnpicklingError):
        load_bytes(zipped(pkl))


# ---- fuzzing ----------------------------------------------------------------------------------------------
def _seeds() -> list[bytes]:
    buf = io.BytesIO()
    base = ember.arange(12.0).view(3, 4)
    S.save(
        {
            "w": base,
            "t": base.t(),
            "b": ember.ones(2, dtype=ember.bfloat16),
            "meta": {"step": 3, "x": (1.5,)},
        },
        buf,
    )
    return [
        buf.getvalue(),
        (DATA / "torch_state_dict.pt").read_bytes(),
        (DATA / "torch_legacy.pt").read_bytes(),
        (DATA / "torch_views_deflated.pt").read_bytes(),
    ]


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.integers(0, len(SEEDS) - 1))])
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "byte", "cut", "insert", "delete", "int"]))
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:  # plant a plausible size/offset
            data[pos : pos + 4] = struct.pack(
                "<I", draw(st.sampled_from([0, 1, 63, 64, 2**31 - 1, 2**32 - 1]))
            )
        if not data:
            break
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzzed_checkpoints_load_or_fail_cleanly(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    tracemalloc.start()
    try:
        load_bytes(data)
    except CLEAN:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 64 * MIB
