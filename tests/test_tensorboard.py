"""ember.utils.tensorboard: event files TensorBoard reads, with the same content torch.utils.tensorboard writes.

Each comparison makes the same calls on ember's and torch's SummaryWriter (into two folders) and checks the two
trees hold the same runs and the same events: the serialized events byte for byte (wall time aside) where
protobuf's encoding is deterministic, message equality where it holds a map (hparams) or a PNG (compared by its
decoded pixels).
"""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.utils.tensorboard import FileWriter, SummaryWriter
from ember.utils.tensorboard._crc32c import _crc_loop, _crc_vector, crc32c, masked_crc32c
from ember.utils.tensorboard._png import encode_png

EVENT_NAME = re.compile(r"events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)(.*)$")


# ----------------------------------------------------------------------------------------------- helpers
def read_records(path: Path) -> list[bytes]:
    """The records of a TFRecord file, checking lengths and masked CRCs (with ember's CRC, itself tested below)."""
    raw = path.read_bytes()
    out, pos = [], 0
    while pos < len(raw):
        header = raw[pos:pos + 8]
        (n,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", raw[pos + 8:pos + 12])[0] == masked_crc32c(header)
        data = raw[pos + 12:pos + 12 + n]
        assert struct.unpack("<I", raw[pos + 12 + n:pos + 16 + n])[0] == masked_crc32c(data)
        out.append(data)
        pos += 16 + n
    assert pos == len(raw)
    return out


def runs(root: Path) -> dict[str, list[bytes]]:
    """{run folder relative to root: its events' records, file-version header events left out}."""
    out: dict[str, list[bytes]] = {}
    for f in sorted(root.rglob("events.out.tfevents.*")):
        records = read_records(f)
        assert b"brain.Event:2" in records[0]
        out.setdefault(str(f.parent.relative_to(root)), []).extend(records[1:])
    return out


def _strip_wall_time(record: bytes) -> bytes:
    return record[9:] if record[:1] == b"\x09" else record   # field 1, fixed64: key byte + 8 bytes


def png_pixels(data: bytes) -> np.ndarray:
    """The pixels of a PNG, (H, W, C), after checking every chunk's CRC-32 (Pillow decodes)."""
    import io

    from PIL import Image
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(data[pos + 4:pos + 8 + n])
        pos += 12 + n
    assert pos == len(data)
    img = np.asarray(Image.open(io.BytesIO(data)))
    return img.reshape(*img.shape[:2], -1)


def _same_pngs(ev_e, ev_t) -> bool:
    """Compare the PNG images of two events by size and decoded pixels (ember's encoder is not Pillow's, so the
    bytes differ), then blank them; True if there were any."""
    found = False
    for ve, vt in zip(ev_e.summary.value, ev_t.summary.value, strict=True):
        ie, it = ve.image.encoded_image_string, vt.image.encoded_image_string
        if it.startswith(b"\x89PNG"):
            np.testing.assert_array_equal(png_pixels(ie), png_pixels(it))
            ve.image.encoded_image_string = vt.image.encoded_image_string = b""
            found = True
    return found


def assert_same_runs(root_e: Path, root_t: Path, exact: bool = True) -> dict[str, list]:
    """ember's and torch's trees hold the same runs with the same events; returns them parsed (tensorboard)."""
    from tensorboard.compat.proto import event_pb2
    e, t = runs(root_e), runs(root_t)
    assert sorted(e) == sorted(t)
    parsed = {}
    for run in e:
        assert len(e[run]) == len(t[run]), run
        evs = []
        for re_, rt in zip(e[run], t[run], strict=True):
            ev_e, ev_t = event_pb2.Event.FromString(re_), event_pb2.Event.FromString(rt)
            ev_e.wall_time = ev_t.wall_time = 0
            has_png = _same_pngs(ev_e, ev_t)
            if not exact:   # the hparams map's entries are in protobuf's hash order in torch's: compare parsed
                from tensorboard.plugins.hparams import plugin_data_pb2
                for ve, vt in zip(ev_e.summary.value, ev_t.summary.value, strict=True):
                    pe, pt = ve.metadata.plugin_data, vt.metadata.plugin_data
                    if pt.plugin_name == "hparams":
                        parse = plugin_data_pb2.HParamsPluginData.FromString
                        assert parse(pe.content) == parse(pt.content)
                        pe.content = pt.content = b""
            assert ev_e == ev_t
            if exact and not has_png:
                assert _strip_wall_time(re_) == _strip_wall_time(rt)
            evs.append(ev_e)
        parsed[run] = evs
    return parsed


@pytest.fixture
def both(tmp_path):
    """Run ``calls(writer, lib)`` on ember (lib=ember) and torch (lib=torch); returns the two log dirs."""
    pytest.importorskip("tensorboard")
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    def go(calls, **kwargs):
        de, dt = tmp_path / "ember", tmp_path / "torch"
        with SummaryWriter(str(de), **kwargs) as we:
            calls(we, ember)
        with TorchWriter(str(dt), **kwargs) as wt:
            calls(wt, torch)
        return de, dt
    return go


def summary_values(events):
    return [v for ev in events for v in ev.summary.value]


# ----------------------------------------------------------------------------------------------- CRC32C
def test_crc32c_published_vectors():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    # RFC 3720 (iSCSI) appendix B.4
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(bytes(range(31, -1, -1))) == 0x113FDB5C


@pytest.mark.parametrize("n", [1, 3, 4, 5, 2047, 2048, 2049, 5000, 65536, 100003])
def test_crc32c_vectorised_matches_loop(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    want = _crc_loop(data, 0xFFFFFFFF) ^ 0xFFFFFFFF
    assert crc32c(data) == want
    if n >= 4:
        assert _crc_vector(data) ^ 0xFFFFFFFF == want


@pytest.mark.parametrize("n", [0, 7, 12, 3000])
def test_masked_crc32c_matches_tensorboard(n):
    pytest.importorskip("tensorboard")
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert masked_crc32c(data) == tb_masked(data)


# ----------------------------------------------------------------------------------------------- files
def test_event_file_name_and_framing(tmp_path):
    with SummaryWriter(tmp_path / "run", filename_suffix=".v2") as w:
        w.add_scalar("a", 1.0, 3)
        logdir = w.get_logdir()
    assert logdir == tmp_path / "run"           # returned as given, as torch does
    (f,) = (tmp_path / "run").iterdir()
    m = EVENT_NAME.fullmatch(f.name)
    assert m and m.group(2) == socket.gethostname() and int(m.group(3)) == os.getpid() and m.group(5) == ".v2"
    records = read_records(f)
    assert len(records) == 2 and b"brain.Event:2" in records[0] and b"\x0a\x01a" in records[1]


def test_default_logdir_and_counter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w1 = SummaryWriter(comment="_lr0.1")
    w2 = SummaryWriter(comment="_x")
    w1.close()
    w2.close()
    parent, name = os.path.split(w1.get_logdir())
    assert parent == "runs" and re.fullmatch(r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname())
                                             + r"_lr0\.1", name)
    n1 = int(EVENT_NAME.fullmatch(next(Path(w1.get_logdir()).iterdir()).name).group(4))
    n2 = int(EVENT_NAME.fullmatch(next(Path(w2.get_logdir()).iterdir()).name).group(4))
    assert n2 == n1 + 1


def test_queue_written_at_max_queue_and_flush(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=3)
    assert runs(tmp_path)["."] == []              # the file-version event is on disk at once
    w.add_scalar("x", 1.0, 0)
    w.add_scalar("x", 2.0, 1)
    assert runs(tmp_path)["."] == []              # queued
    w.add_scalar("x", 3.0, 2)                     # the third pending event writes all three
    assert len(runs(tmp_path)["."]) == 3
    w.add_scalar("x", 4.0, 3)
    w.flush()
    assert len(runs(tmp_path)["."]) == 4
    w.add_scalar("x", 5.0, 4)
    w.close()
    assert len(runs(tmp_path)["."]) == 5
    fw = FileWriter(tmp_path / "fw")
    fw.close()
    fw.close()
    with pytest.raises(OSError, match="Writer is closed"):
        fw.add_summary(b"")


def test_background_flush(tmp_path):
    """Pending events reach the file within flush_secs with no further call (polled, up to 20 s)."""
    import time
    w = SummaryWriter(tmp_path, flush_secs=0.05)
    w.add_scalar("x", 1.0, 0)
    deadline = time.monotonic() + 20
    while not runs(tmp_path)["."] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(runs(tmp_path)["."]) == 1
    w.close()


def test_pending_events_written_on_collect(tmp_path):
    import gc
    w = SummaryWriter(tmp_path)
    w.add_scalar("x", 1.0, 0)
    del w
    gc.collect()
    assert len(runs(tmp_path)["."]) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # fork() of a multi-threaded process
def test_forked_child_does_not_rewrite_pending_events(tmp_path):
    w = SummaryWriter(tmp_path)
    w.add_scalar("x", 1.0, 0)                    # pending at the fork
    pid = os.fork()
    if pid == 0:
        try:
            w.add_scalar("y", 2.0, 0)
            w.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    w.close()
    from tensorboard.compat.proto import event_pb2
    tags = sorted(v.tag for r in runs(tmp_path)["."] for v in event_pb2.Event.FromString(r).summary.value)
    assert tags == ["x", "y"]


def test_close_reopen_and_context(tmp_path):
    w = SummaryWriter(tmp_path)
    w.add_scalar("x", 1.0, 0)
    w.close()
    w.close()                                    # double close is a no-op
    w.flush()
    w.add_scalar("x", 2.0, 1)                    # a closed writer opens a new event file
    w.close()
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    with SummaryWriter(tmp_path / "ctx") as w2:
        w2.add_scalar("y", 1.0)
    assert w2.all_writers is None


def test_no_heavy_imports_and_pending_events_written_at_exit(tmp_path):
    """A script logging a scalar and a histogram, never closing its writer: imports neither tensorboard, protobuf,
    Pillow nor matplotlib, and its pending events are in the file after the interpreter exits."""
    code = ("import sys, ember.utils.tensorboard as tb; w = tb.SummaryWriter(sys.argv[1]); w.add_scalar('a', 1.0);"
            " w.add_histogram('h', [1.0, 2.0][0]);"
            " bad = [m for m in ('tensorboard', 'google.protobuf', 'PIL', 'matplotlib') if m in sys.modules];"
            " assert not bad, bad")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env)
    assert len(runs(tmp_path)["."]) == 2


def test_images_need_no_pillow(tmp_path, monkeypatch):
    for name in ("PIL", "PIL.Image", "PIL.ImageDraw", "PIL.ImageFont"):
        monkeypatch.setitem(sys.modules, name, None)
    with SummaryWriter(tmp_path) as w:
        w.add_image("i", np.zeros((3, 2, 2)))
        w.add_embedding(np.zeros((2, 2)), label_img=np.zeros((2, 3, 2, 2)))
        with pytest.raises(ImportError, match="Pillow"):
            w.add_image_with_boxes("b", np.zeros((3, 2, 2)), np.zeros((1, 4)))


def test_add_graph_raises_and_writes_nothing(tmp_path, capsys):
    """As torch with a model it cannot trace: prints the reason and 'Error occurs, No graph saved', raises."""
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(NotImplementedError, match="TorchScript tracing"):
            w.add_graph(ember.nn.Linear(2, 2), ember.zeros(1, 2))
        assert capsys.readouterr().out.endswith("Error occurs, No graph saved\n")
        with pytest.raises(RuntimeError):       # code guarding untraceable models with `except RuntimeError`
            w.add_graph(ember.nn.Linear(2, 2), verbose=True, use_strict_trace=False)
    assert runs(tmp_path)["."] == []


# ----------------------------------------------------------------------------------------------- vs torch
def test_scalars(both):
    def calls(w, lib):
        w.add_scalar("loss", lib.tensor(0.25), 0, walltime=1.5)
        w.add_scalar("loss", lib.tensor([0.125]), 1)
        w.add_scalar("loss", np.float32(3.5), 2)
        w.add_scalar("loss/int", 7, 3)
        w.add_scalar("loss/np", np.array(0.1), 4)
        w.add_scalar("zero", 0.0, 0)
        w.add_scalar("new", 1e-3, 5, new_style=True)
        w.add_scalar("new64", 1 / 3, 6, new_style=True, double_precision=True)
        w.add_scalar("neg", -2, -1)
    de, dt = both(calls)
    assert_same_runs(de, dt)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(de))
    ea.Reload()
    got = [(s.step, s.value) for s in ea.Scalars("loss")]
    assert got == [(0, 0.25), (1, 0.125), (2, 3.5)]
    assert ea.Scalars("loss")[0].wall_time == 1.5


def test_scalar_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="Tensor should contain one element"):
            w.add_scalar("x", ember.ones(2), 0)
        with pytest.raises(NotImplementedError, match="Got <class 'list'>, but numpy array or torch tensor"):
            w.add_scalar("x", [1.0], 0)


def test_add_scalars_layout(both):
    def calls(w, lib):
        w.add_scalars("run/loss", {"train": 1.0, "val": lib.tensor(2.0)}, 0, walltime=3.0)
        w.add_scalars("run/loss", {"train": 0.5, "val": 1.5}, 1)
        w.add_scalar("plain", 1.0, 0)
    de, dt = both(calls)
    parsed = assert_same_runs(de, dt)
    assert sorted(parsed) == [".", "run_loss_train", "run_loss_val"]
    assert {v.tag for v in summary_values(parsed["run_loss_val"])} == {"run/loss"}


def test_histograms(both):
    rng = np.random.default_rng(0)
    data = rng.standard_normal(500).astype(np.float32)

    def calls(w, lib):
        w.add_histogram("tf", lib.tensor(data), 0, walltime=2.0)
        w.add_histogram("ten", lib.tensor(data), 1, bins=10)
        w.add_histogram("auto", data.astype(np.float64), 2, bins="auto")
        w.add_histogram("maxbins", lib.tensor(data), 3, max_bins=7)
        w.add_histogram("ints", lib.arange(20), 4)
        w.add_histogram("const", lib.zeros(5), 5)
        w.add_histogram("scalar", 3.0, 6)
        w.add_histogram("half", lib.tensor(data[:50]).to(lib.bfloat16), 7)
        w.add_histogram_raw("raw", -1.0, 2.0, 4, 3.0, 5.0, [0.0, 1.0, 2.0], [1, 2, 1], 8)
    de, dt = both(calls)
    parsed = assert_same_runs(de, dt)
    h = summary_values(parsed["."])[0].histo
    assert h.num == 500 and len(h.bucket) == len(h.bucket_limit) and h.bucket[0] == 0 and sum(h.bucket) == 500


def test_histogram_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="The input has no element."):
            w.add_histogram("e", ember.zeros(0), 0)
        with pytest.raises(ValueError, match=re.escape("len(bucket_limits) != len(bucket_counts)")):
            w.add_histogram_raw("r", 0, 1, 1, 1, 1, [1.0], [1, 2])


def test_images(both):
    rng = np.random.default_rng(1)
    chw = rng.random((3, 6, 5), dtype=np.float32)
    hwc8 = rng.integers(0, 256, (4, 7, 3), dtype=np.uint8)
    rgba = rng.random((5, 4, 4), dtype=np.float32)
    batch = rng.random((10, 1, 4, 3), dtype=np.float32)

    def calls(w, lib):
        w.add_image("chw", lib.tensor(chw), 0, walltime=1.0)
        w.add_image("hwc8", lib.tensor(hwc8), 1, dataformats="HWC")
        w.add_image("hw", lib.tensor(chw[0] * 2 - 0.5), 2, dataformats="HW")
        w.add_image("grey", lib.tensor(chw[:1]), 3)
        w.add_image("rgba", rgba, 4, dataformats="HWC")
        w.add_images("batch", lib.tensor(batch), 5)
        w.add_images("nhwc", lib.tensor(batch).permute(0, 2, 3, 1), 6, dataformats="NHWC")
        w.add_image("la", lib.tensor(rgba[:2]), 7)
        w.add_image("big", lib.tensor(chw) * 3 - 1, 8)      # clipped to [0, 255]
    de, dt = both(calls)
    assert_same_runs(de, dt)
    from tensorboard.compat.proto import event_pb2
    ember_imgs = {v.tag: v.image for ev in runs(de)["."] for v in event_pb2.Event.FromString(ev).summary.value}
    assert (ember_imgs["chw"].height, ember_imgs["chw"].width, ember_imgs["chw"].colorspace) == (6, 5, 3)
    np.testing.assert_array_equal(png_pixels(ember_imgs["hwc8"].encoded_image_string), hwc8)
    assert png_pixels(ember_imgs["batch"].encoded_image_string).shape == (8, 24, 3)   # 10 images, 8 a row
    assert ember_imgs["rgba"].colorspace == 4 and ember_imgs["la"].colorspace == 2


def test_image_with_boxes(both):
    pytest.importorskip("PIL")
    rng = np.random.default_rng(4)
    img = rng.random((3, 40, 60), dtype=np.float32)
    boxes = np.array([[2, 3, 30, 25], [10.5, 12, 50, 38]], dtype=np.float32)

    def calls(w, lib):
        w.add_image_with_boxes("b", lib.tensor(img), lib.tensor(boxes), 0, walltime=1.0, labels=["cat", "dog"])
        w.add_image_with_boxes("one", lib.tensor(img[0]), lib.tensor(boxes[:1]), 1, dataformats="HW", labels="x")
        w.add_image_with_boxes("nolab", lib.tensor(img), lib.tensor(boxes), 2, labels=["only one"], rescale=0.5)
    de, dt = both(calls)
    assert_same_runs(de, dt)


def test_video_frames_match_torch(tmp_path):
    """torch encodes with moviepy (absent here: it logs an empty value); ember encodes the same frames with Pillow."""
    pytest.importorskip("PIL")
    torch_utils = pytest.importorskip("torch.utils.tensorboard._utils")
    import io

    from PIL import Image, ImageSequence
    from tensorboard.compat.proto import event_pb2
    clips = (np.random.default_rng(5).random((3, 4, 3, 5, 6)) > 0.5).astype(np.float32)   # 0/1: GIF-exact
    with SummaryWriter(tmp_path) as w:
        w.add_video("v", ember.tensor(clips), 0, fps=5)
    (val,) = event_pb2.Event.FromString(runs(tmp_path)["."][0]).summary.value
    want = (torch_utils._prepare_video(clips) * 255).astype(np.uint8)
    assert (val.image.height, val.image.width, val.image.colorspace) == want.shape[1:]
    gif = Image.open(io.BytesIO(val.image.encoded_image_string))
    frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
    np.testing.assert_array_equal(np.stack(frames), want)
    assert gif.info["duration"] == 200


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 1, 2), (1, 9, 3), (5, 7, 4), (16, 13, 3)])
def test_png_encoder_random(shape):
    pytest.importorskip("PIL")
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(png_pixels(encode_png(img)), img)


def test_png_encoder_every_filter():
    """Smooth, noisy and striped rows make each of the five row filters the cheapest somewhere."""
    pytest.importorskip("PIL")
    y, x = np.mgrid[0:24, 0:32]
    rng = np.random.default_rng(0)
    img = np.stack([x * 8, y * 10, (x * y) % 256], axis=2).astype(np.uint8)
    img[4:8] = rng.integers(0, 256, (4, 32, 3))
    img[12:16] = img[11]                                     # repeated rows
    img[18:20] = np.uint8(200)                               # constant rows
    prev, row = img[7].reshape(-1).astype(int), img[8].reshape(-1)
    for j in range(row.size):                                 # each byte the mean of its left and upper bytes
        row[j] = ((row[j - 3] if j >= 3 else 0) + prev[j]) // 2
    png = encode_png(img)
    np.testing.assert_array_equal(png_pixels(png), img)
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(24, 1 + 32 * 3)
    assert set(rows[:, 0].tolist()) == {0, 1, 2, 3, 4}


def test_png_errors_as_torch(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter
    with SummaryWriter(tmp_path / "e") as we, TorchWriter(str(tmp_path / "t")) as wt:
        for shape in ((5, 2, 2), (3, 0, 2)):
            with pytest.raises((TypeError, ValueError)) as want:
                wt.add_image("x", torch.zeros(shape))
            with pytest.raises(want.type, match=re.escape(str(want.value))):
                we.add_image("x", ember.zeros(shape))


def test_image_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="size of input tensor and input format are different"):
            w.add_image("x", ember.zeros(2, 2), 0)
        with pytest.raises(AssertionError, match="You can not use the same dimension shorthand twice"):
            w.add_image("x", ember.zeros(2, 2, 2), 0, dataformats="CCH")
        with pytest.raises(AssertionError, match="Input should be a 4D numpy array with 3 channels"):
            w.add_images("x", ember.zeros(2, 2, 2, 2), 0)


def test_figure(both):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def fig():
        f = plt.figure(figsize=(2, 1.5), dpi=40)
        plt.plot([0, 1, 2], [1, 0, 1])
        return f

    def calls(w, lib):
        w.add_figure("one", fig(), 0, walltime=1.0)
        w.add_figure("many", [fig(), fig()], 1)
        f = fig()
        w.add_figure("kept", f, 2, close=False)
        assert plt.fignum_exists(f.number)
        plt.close(f)
    de, dt = both(calls)
    assert_same_runs(de, dt)


def test_text_audio_tensor_custom_scalars(both):
    def calls(w, lib):
        w.add_text("notes", "**hello** wörld", 0)
        w.add_text("notes", "", 1)
        w.add_audio("snd", lib.tensor(np.sin(np.arange(200) / 5.0, dtype=np.float32)), 2, sample_rate=8000)
        w.add_tensor("t32", lib.tensor([[1.5, -2.0], [0.0, 3.25]]), 3)
        w.add_tensor("t64", lib.arange(4, dtype=lib.int64) - 2, 4)
        w.add_tensor("u8", lib.tensor([1, 255], dtype=lib.uint8), 5)
        w.add_tensor("b", lib.tensor([True, False]), 6)
        w.add_tensor("f64", lib.tensor([0.1], dtype=lib.float64), 7)
        for dt in ("float16", "bfloat16", "int8", "int16", "int32", "complex64", "complex128"):
            w.add_tensor(dt, lib.tensor([[1.5, -2.0, 0.0]]).to(getattr(lib, dt)), 8)
        w.add_custom_scalars_multilinechart(["loss/a", "loss/b"], category="c", title="t")
        w.add_custom_scalars_marginchart(["m", "lo", "hi"])
        w.add_custom_scalars({"A": {"x": ["Multiline", ["a"]], "y": ["Margin", ["v", "l", "u"]]}, "B": {}})
    de, dt = both(calls)
    parsed = assert_same_runs(de, dt)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(de), size_guidance={"tensors": 0})
    ea.Reload()
    assert ea.Tensors("notes/text_summary")[0].tensor_proto.string_val == ["**hello** wörld".encode()]
    assert "snd" in ea.Tags()["audio"]
    assert parsed


def test_mesh(both):
    rng = np.random.default_rng(6)
    verts = rng.standard_normal((1, 4, 3)).astype(np.float32)
    cols = rng.integers(0, 256, (1, 4, 3)).astype(np.uint8)
    faces = np.array([[[0, 1, 2], [1, 2, 3]]], dtype=np.int64)

    def calls(w, lib):
        w.add_mesh("m", lib.tensor(verts), colors=lib.tensor(cols), faces=lib.tensor(faces), global_step=0,
                   config_dict={"camera": {"fov": 75}, "lights": [{"cls": "AmbientLight"}]}, walltime=1.0)
        w.add_mesh("pts", lib.tensor(verts), global_step=1)
    de, dt = both(calls)
    parsed = assert_same_runs(de, dt)
    assert [v.tag for v in summary_values(parsed["."])] == ["m_VERTEX", "m_FACE", "m_COLOR", "pts_VERTEX"]


def test_hparams(both):
    def calls(w, lib):
        w.add_hparams({"lr": 0.1, "bs": 32, "opt": "adam", "flag": True, "none": None, "t": lib.tensor([0.5])},
                      {"hparam/acc": 0.9, "hparam/loss": lib.tensor(0.25)},
                      hparam_domain_discrete={"opt": ["adam", "sgd"], "bs": [16, 32]}, run_name="trial", global_step=3)
        w.add_hparams({"x": 1.0}, {"m": 2.0}, run_name="second")
    de, dt = both(calls)
    parsed = assert_same_runs(de, dt, exact=False)
    assert sorted(parsed) == [".", "second", "trial"]
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2
    vals = summary_values([event_pb2.Event.FromString(r) for r in runs(de)["trial"]])
    assert [v.tag for v in vals][:3] == ["_hparams_/experiment", "_hparams_/session_start_info",
                                         "_hparams_/session_end_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(vals[1].metadata.plugin_data.content).session_start_info
    assert start.hparams["opt"].string_value == "adam" and start.hparams["flag"].number_value == 1.0
    assert all(ev.step == 3 for ev in parsed["trial"])


def test_hparams_zero_dim_tensor(tmp_path):
    """torch indexes ``make_np(v)[0]`` and fails on a 0-d tensor; ember logs its value."""
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"t": ember.tensor(0.5)}, {}, run_name="r")
    ev = event_pb2.Event.FromString(runs(tmp_path)["r"][1])
    start = plugin_data_pb2.HParamsPluginData.FromString(ev.summary.value[0].metadata.plugin_data.content)
    assert start.session_start_info.hparams["t"].number_value == 0.5


def test_hparams_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(TypeError, match="hparam_dict and metric_dict should be dictionary."):
            w.add_hparams([], {})
        with pytest.raises(TypeError, match=re.escape("hparam_domain_discrete[a] should be a list of same type")):
            w.add_hparams({"a": 1.0}, {}, hparam_domain_discrete={"a": ["x"]})
        with pytest.raises(ValueError, match="value should be one of int, float, str, bool, or torch.Tensor"):
            w.add_hparams({"a": [1]}, {})


def test_pr_curve(both):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 40)
    preds = rng.random(40, dtype=np.float32)

    def calls(w, lib):
        w.add_pr_curve("pr", lib.tensor(labels), lib.tensor(preds), 0, walltime=1.0)
        w.add_pr_curve("pr10", labels, preds, 1, num_thresholds=10, weights=np.linspace(0, 1, 40))
        w.add_pr_curve("pr200", lib.tensor(labels), lib.tensor(preds), 2, num_thresholds=200)
        w.add_pr_curve_raw("raw", [4, 3], [3, 1], [0, 2], [0, 1], [0.57, 0.75], [1.0, 0.75], 3, num_thresholds=2)
    de, dt = both(calls)
    parsed = assert_same_runs(de, dt)
    assert summary_values(parsed["."])[2].tensor.tensor_shape.dim[1].size == 127


def test_purge_step(both):
    de, dt = both(lambda w, lib: w.add_scalar("x", 1.0, 12), purge_step=10)
    parsed = assert_same_runs(de, dt)
    assert [ev.step for ev in parsed["."]] == [10, 10, 12]


def test_embedding(both, capsys):
    rng = np.random.default_rng(3)
    mat = rng.standard_normal((5, 3)).astype(np.float32)
    imgs = rng.random((5, 3, 4, 4), dtype=np.float32)

    def calls(w, lib):
        w.add_embedding(lib.tensor(mat), metadata=["a", "b", "c", 'd"q', "é"], label_img=lib.tensor(imgs))
        w.add_embedding(mat, metadata=[[1, "x"], [2, "y"], [3, "z"], [4, "w"], [5, "v"]],
                        metadata_header=["id", "name"], global_step=7, tag="a/b%c")
        w.add_embedding(lib.tensor(mat[:, :2]), global_step=7, tag="a/b%c")     # existing dir: printed warning
        w.add_embedding(lib.tensor(mat).double(), global_step=12345678, tag="q'\"\\ é€\t\x01\x7f")  # pbtxt escapes
    de, dt = both(calls)
    assert capsys.readouterr().out.count("warning: Embedding dir exists") == 2
    files_e = sorted(str(p.relative_to(de)) for p in de.rglob("*") if p.is_file() and "tfevents" not in p.name)
    files_t = sorted(str(p.relative_to(dt)) for p in dt.rglob("*") if p.is_file() and "tfevents" not in p.name)
    assert files_e == files_t and "00007/a%2fb%25c/tensors.tsv" in files_e
    for rel in files_e:
        if rel.endswith(".png"):
            np.testing.assert_array_equal(png_pixels((de / rel).read_bytes()), png_pixels((dt / rel).read_bytes()))
        else:
            assert (de / rel).read_bytes() == (dt / rel).read_bytes(), rel


def test_embedding_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="#labels should equal with #data points"):
            w.add_embedding(ember.zeros(3, 2), metadata=["a"])
        with pytest.raises(AssertionError, match="mat should be 2D"):
            w.add_embedding(ember.zeros(3), global_step=1)
        (tmp_path / "00002").mkdir()
        (tmp_path / "00002" / "default").write_text("")
        with pytest.raises(NotADirectoryError, match="exists, but is a file"):
            w.add_embedding(ember.zeros(3, 2), global_step=2)


def test_tensorboard_reads_every_kind(tmp_path):
    """TensorBoard's multiplexer (what the dashboard uses) loads an ember run with every kind of summary."""
    pytest.importorskip("tensorboard")
    pytest.importorskip("PIL")
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    with SummaryWriter(tmp_path / "r") as w:
        for step in range(3):
            w.add_scalar("s", step * 0.5, step)
            w.add_histogram("h", ember.randn(100) + step, step)
        w.add_image("i", ember.rand(3, 4, 4), 0)
        w.add_text("t", "x", 0)
        w.add_hparams({"lr": 0.1}, {"m": 1.0}, run_name="hp")
        w.add_pr_curve("p", ember.tensor([0, 1]), ember.tensor([0.2, 0.9]), 0)
    mux = pem.EventMultiplexer()
    mux.AddRunsFromDirectory(str(tmp_path))
    mux.Reload()
    assert sorted(mux.Runs()) == ["r", "r/hp"]
    content = mux.PluginRunToTagToContent("hparams")
    assert set(content["r/hp"]) == {"_hparams_/experiment", "_hparams_/session_start_info",
                                    "_hparams_/session_end_info"}
    assert [e.step for e in mux.Tensors("r", "s")] == [0, 1, 2]      # scalars, migrated to tensors by TensorBoard
    assert set(mux.PluginRunToTagToContent("pr_curves")["r"]) == {"p"}
