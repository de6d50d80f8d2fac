"""``SummaryWriter``: torch.utils.tensorboard's writer, producing TensorBoard event files with no dependency on the
``tensorboard`` or ``protobuf`` packages (messages are encoded by hand, framing and CRC32C are ours).

An event file is a sequence of TFRecords, each ``uint64 length | uint32 masked_crc32c(length) | data |
uint32 masked_crc32c(data)`` (little endian), whose data is a serialized ``tensorboard.Event``.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
import time
import weakref
from typing import Any

from . import _embedding
from ._crc32c import masked_crc32c
from ._proto import blob, double, message, uint
from .summary import (
    audio,
    custom_scalars,
    figure_to_image,
    histogram,
    histogram_raw,
    hparams,
    image,
    image_boxes,
    make_np,
    mesh,
    pr_curve,
    pr_curve_raw,
    scalar,
    tensor_proto,
    text,
    video,
)

__all__ = ["FileWriter", "SummaryWriter"]

_FILE_VERSION = "brain.Event:2"
_SESSION_START = 1          # SessionLog.SessionStatus.START
_SOURCE_WRITER = "ember.utils.tensorboard"
_uid = itertools.count()    # per-process file counter, the last dotted part of an event file's name
_uid_lock = threading.Lock()


def _record(data: bytes) -> bytes:
    """One TFRecord: length, masked CRC of the length, data, masked CRC of the data."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


class _EventFile:
    """An open event file and its pending records. Records are written whole, with one ``write`` and a flush,
    when ``max_queue`` of them are pending, every ``flush_secs`` (a daemon thread), on ``flush`` and on ``close``.

    The thread and the exit-time finalizer hold this object, not its ``FileWriter``: an unreferenced writer is
    still collected, and both paths write what is pending, so no event is lost on a normal exit."""

    def __init__(self, path: str, max_queue: int, flush_secs: float) -> None:
        self.file: Any = open(path, "wb")  # noqa: SIM115 (lives until close())
        self.max_queue = max_queue
        self.pending: list[bytes] = []
        self.lock = threading.Lock()
        self.closed = threading.Event()
        threading.Thread(target=self._flush_every, args=(flush_secs,), daemon=True,
                         name=f"tensorboard flusher {os.path.basename(path)}").start()
        _open_files.add(self)

    def _write_pending(self) -> None:
        """Write the pending records (``lock`` held, file open)."""
        if self.pending:
            self.file.write(b"".join(self.pending))
            self.file.flush()
            self.pending.clear()

    def _flush_every(self, seconds: float) -> None:
        while not self.closed.wait(seconds):
            with self.lock:
                if self.file is not None:
                    self._write_pending()

    def append(self, record: bytes) -> None:
        with self.lock:
            if self.file is None:
                raise OSError("Writer is closed")
            self.pending.append(record)
            if len(self.pending) >= self.max_queue:
                self._write_pending()

    def flush(self) -> None:
        with self.lock:
            if self.file is None:
                raise OSError("Writer is closed")
            self._write_pending()

    def close(self) -> None:
        with self.lock:
            if self.file is not None:
                self._write_pending()
                self.file.close()
                self.file = None
        self.closed.set()       # ends the flusher thread


_open_files: weakref.WeakSet[_EventFile] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child neither writes its parent's pending events (the parent does) nor waits on a lock that a
    parent thread held at the fork."""
    for f in list(_open_files):
        f.lock = threading.Lock()
        f.pending.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class FileWriter:
    """Writes events to one new event file in ``log_dir``, named as TensorBoard's writer names it:
    ``events.out.tfevents.<seconds, 10 digits>.<host>.<pid>.<n><filename_suffix>``.

    As torch's: added events wait in a queue until ``max_queue`` of them are pending or ``flush_secs`` have passed
    (a background thread), or ``flush``/``close`` is called; each reaches the file as one whole record. Pending
    events are also written when the writer is garbage-collected or the interpreter exits."""

    def __init__(self, log_dir: Any, max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        self._logdir = str(log_dir)
        os.makedirs(self._logdir, exist_ok=True)
        with _uid_lock:
            n = next(_uid)
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{n}"
        self._file = _EventFile(os.path.join(self._logdir, name) + filename_suffix, max_queue, flush_secs)
        weakref.finalize(self, self._file.close)     # also run at exit
        # Event{file_version=3, source_metadata=10: SourceMetadata{writer=1}}, on disk at once
        self.add_event(blob(3, _FILE_VERSION, keep=True) + message(10, blob(1, _SOURCE_WRITER)))
        self.flush()

    def get_logdir(self) -> str:
        return self._logdir

    def add_event(self, event: bytes, step: int | None = None, walltime: float | None = None) -> None:
        """Queue an ``Event`` given by its encoded fields after ``step`` (file_version=3, summary=5, session_log=7,
        source_metadata=10); wall_time=1 (now unless ``walltime``) and step=2 are put first here."""
        head = double(1, time.time() if walltime is None else walltime)
        self._file.append(_record(head + (uint(2, int(step)) if step is not None else b"") + event))

    def add_summary(self, summary: bytes, global_step: int | None = None, walltime: float | None = None) -> None:
        """Queue an event holding the serialized ``Summary`` ``summary``."""
        self.add_event(message(5, summary), global_step, walltime)

    def flush(self) -> None:
        """Write the pending events to the file now."""
        self._file.flush()

    def close(self) -> None:
        """Write the pending events and close the file; closing twice is a no-op."""
        self._file.close()


def _default_bins() -> list[float]:
    """TensorFlow's histogram buckets: ±1e-12 · 1.1**k up to 1e20, and 0."""
    pos = []
    v = 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-x for x in reversed(pos)] + [0] + pos


class SummaryWriter:
    """Writes entries for TensorBoard into event files in ``log_dir`` (default ``runs/<date>_<host><comment>``).

    Same API as ``torch.utils.tensorboard.SummaryWriter``; values may be ember tensors, NumPy arrays or Python
    numbers. Images are PNG-encoded here; boxes, video and figures need Pillow or matplotlib (imported only when
    used); nothing needs ``tensorboard``.
    ``purge_step``: events at or after this step in earlier files of the run are hidden by TensorBoard (a
    restart after a crash)."""

    def __init__(self, log_dir: Any = None, comment: str = "", purge_step: int | None = None, max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = "") -> None:
        if not log_dir:
            from datetime import datetime
            log_dir = os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname()
                                   + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] | None = None
        self._get_file_writer()
        self.default_bins = _default_bins()

    def _get_file_writer(self) -> FileWriter:
        """The writer of ``log_dir``, made anew after ``close()`` (a new event file, as torch does)."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                step = self.purge_step
                self.file_writer.add_event(blob(3, _FILE_VERSION, keep=True), step)
                self.file_writer.add_event(message(7, uint(1, _SESSION_START)), step)
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> Any:
        """The directory where event files are written."""
        return self.log_dir

    # ------------------------------------------------------------------------------------------- scalars
    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """Log one number. ``new_style`` stores it as a tensor (the ``scalars`` plugin's format, faster to load),
        in float64 with ``double_precision``."""
        summary = scalar(tag, scalar_value, new_style=new_style, double_precision=double_precision)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict[str, Any], global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Log several numbers on one chart: each key gets its own run folder
        ``<log_dir>/<main_tag with '/' as '_'>_<key>`` with an event tagged ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        logdir = self._get_file_writer().get_logdir()
        assert self.all_writers is not None
        for tag, value in tag_scalar_dict.items():
            path = logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self.all_writers.get(path)
            if writer is None:
                writer = self.all_writers[path] = FileWriter(path, self.max_queue, self.flush_secs,
                                                             self.filename_suffix)
            writer.add_summary(scalar(main_tag, value), global_step, walltime)

    def add_tensor(self, tag: str, tensor: Any, global_step: int | None = None, walltime: float | None = None) -> None:
        """Log a whole tensor (the ``tensor`` plugin's format)."""
        self._get_file_writer().add_summary(tensor_proto(tag, tensor), global_step, walltime)

    # ------------------------------------------------------------------------------------------- histograms
    def add_histogram(self, tag: str, values: Any, global_step: int | None = None, bins: Any = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """Log a histogram of ``values``; ``bins`` is any ``numpy.histogram`` bins argument, or ``'tensorflow'``
        for TensorFlow's exponential buckets."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._get_file_writer().add_summary(histogram(tag, values, bins, max_bins=max_bins), global_step, walltime)

    def add_histogram_raw(self, tag: str, min: float, max: float, num: float, sum: float, sum_squares: float,
                          bucket_limits: Any, bucket_counts: Any, global_step: int | None = None,
                          walltime: float | None = None) -> None:
        """Log a histogram from precomputed statistics (``bucket_limits`` are the buckets' right edges)."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        summary = histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    # ------------------------------------------------------------------------------------------- images
    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """Log an image (PNG): floats in [0, 1] or uint8 in [0, 255], laid out as ``dataformats``
        (``CHW``, ``HWC``, ``HW``; 1, 2, 3 or 4 channels)."""
        self._get_file_writer().add_summary(image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_images(self, tag: str, img_tensor: Any, global_step: int | None = None, walltime: float | None = None,
                   dataformats: str = "NCHW") -> None:
        """Log a batch of images tiled into one grid image (8 per row)."""
        self._get_file_writer().add_summary(image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_image_with_boxes(self, tag: str, img_tensor: Any, box_tensor: Any, global_step: int | None = None,
                             walltime: float | None = None, rescale: float = 1, dataformats: str = "CHW",
                             labels: Any = None) -> None:
        """Log an image with boxes (N, 4: xmin, ymin, xmax, ymax in pixels) drawn in red, labelled by ``labels``
        (a string or one per box; ignored when the count differs). Needs Pillow."""
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        summary = image_boxes(tag, img_tensor, box_tensor, rescale=rescale, dataformats=dataformats, labels=labels)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_video(self, tag: str, vid_tensor: Any, global_step: int | None = None, fps: int = 4,
                  walltime: float | None = None) -> None:
        """Log (B, T, C, H, W) clips (floats in [0, 1] or uint8) as one animated GIF, the batch tiled in a grid.
        Encoded with Pillow (torch needs moviepy): same frames, size and frame rate as torch's."""
        self._get_file_writer().add_summary(video(tag, vid_tensor, fps), global_step, walltime)

    def add_figure(self, tag: str, figure: Any, global_step: int | None = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """Log a matplotlib figure (or a list of them, as a grid) rendered to an image; ``close`` closes it.
        Needs matplotlib."""
        fmt = "NCHW" if isinstance(figure, list) else "CHW"
        self.add_image(tag, figure_to_image(figure, close), global_step, walltime, dataformats=fmt)

    def add_audio(self, tag: str, snd_tensor: Any, global_step: int | None = None, sample_rate: int = 44100,
                  walltime: float | None = None) -> None:
        """Log a mono clip (values in [-1, 1]) as 16-bit WAV."""
        self._get_file_writer().add_summary(audio(tag, snd_tensor, sample_rate=sample_rate), global_step, walltime)

    def add_mesh(self, tag: str, vertices: Any, colors: Any = None, faces: Any = None,
                 config_dict: dict[str, Any] | None = None, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Log a 3-D mesh or point cloud for the mesh plugin: ``vertices`` (B, N, 3) float, ``colors`` (B, N, 3)
        in [0, 255], ``faces`` (B, F, 3) vertex indices; ``config_dict`` the three.js scene settings."""
        summary = mesh(tag, vertices, colors, faces, config_dict)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    # ------------------------------------------------------------------------------------------- text, hparams
    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Log text (rendered as markdown), under the tag ``<tag>/text_summary``."""
        self._get_file_writer().add_summary(text(tag, text_string), global_step, walltime)

    def add_hparams(self, hparam_dict: dict[str, Any], metric_dict: dict[str, Any],
                    hparam_domain_discrete: dict[str, list[Any]] | None = None, run_name: str | None = None,
                    global_step: int | None = None) -> None:
        """Log a hyperparameter set and its metrics for the HParams dashboard, as a sub-run
        ``<log_dir>/<run_name or time.time()>`` holding the experiment/session summaries and each metric as a
        scalar. Values: int, float, str, bool (logged as a number, as torch does) or a one-element tensor."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            fw = w_hp._get_file_writer()
            for summary in (exp, ssi, sei):
                fw.add_summary(summary, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    # ------------------------------------------------------------------------------------------- PR curves
    def add_pr_curve(self, tag: str, labels: Any, predictions: Any, global_step: int | None = None,
                     num_thresholds: int = 127, weights: Any = None, walltime: float | None = None) -> None:
        """Log a precision-recall curve of binary ``labels`` against ``predictions`` in [0, 1]."""
        labels, predictions = make_np(labels), make_np(predictions)
        summary = pr_curve(tag, labels, predictions, num_thresholds, weights)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_pr_curve_raw(self, tag: str, true_positive_counts: Any, false_positive_counts: Any,
                         true_negative_counts: Any, false_negative_counts: Any, precision: Any, recall: Any,
                         global_step: int | None = None, num_thresholds: int = 127, weights: Any = None,
                         walltime: float | None = None) -> None:
        """Log a precision-recall curve from precomputed counts, precision and recall per threshold."""
        summary = pr_curve_raw(tag, true_positive_counts, false_positive_counts, true_negative_counts,
                               false_negative_counts, precision, recall, num_thresholds, weights)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    # ------------------------------------------------------------------------------------------- custom scalars
    def add_custom_scalars_multilinechart(self, tags: list[str], category: str = "default",
                                          title: str = "untitled") -> None:
        """One custom-scalars chart plotting several scalar tags together."""
        self._get_file_writer().add_summary(custom_scalars({category: {title: ["Multiline", tags]}}))

    def add_custom_scalars_marginchart(self, tags: list[str], category: str = "default",
                                       title: str = "untitled") -> None:
        """One custom-scalars chart of a value tag with lower and upper bound tags."""
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self._get_file_writer().add_summary(custom_scalars({category: {title: ["Margin", tags]}}))

    def add_custom_scalars(self, layout: dict[str, dict[str, list[Any]]]) -> None:
        """The custom-scalars layout ``{category: {chart title: ['Multiline' | 'Margin', tags]}}``."""
        self._get_file_writer().add_summary(custom_scalars(layout))

    # ------------------------------------------------------------------------------------------- graph, embeddings
    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Not available: torch builds the graph by TorchScript-tracing ``model``, which ember does not have.

        Behaves as torch does with a model it cannot trace: prints the reason and ``Error occurs, No graph saved``,
        writes nothing, and raises; here ``NotImplementedError``, a subclass of the ``RuntimeError`` torch raises,
        so code that guards ``add_graph`` with ``except RuntimeError`` keeps working."""
        reason = "add_graph needs TorchScript tracing (torch.jit.trace), which ember does not provide"
        print(reason)
        print("Error occurs, No graph saved")
        raise NotImplementedError(reason)

    @staticmethod
    def _encode(rawstr: str) -> str:
        """Percent-escape '%', '/' and '\\' so a tag is one path component."""
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_embedding(self, mat: Any, metadata: Any = None, label_img: Any = None, global_step: int | None = None,
                      tag: str = "default", metadata_header: Any = None) -> None:
        """Log an (N, D) embedding for the projector: ``<log_dir>/<step:05d>/<tag>/tensors.tsv`` (+ ``metadata.tsv``
        labels, + ``sprite.png`` of ``label_img`` (N, C, H, W)) and the run's ``projector_config.pbtxt``."""
        mat = make_np(mat)
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{self._encode(tag)}"
        logdir = self._get_file_writer().get_logdir()
        save_path = os.path.join(logdir, subdir)
        if os.path.exists(save_path):
            if not os.path.isdir(save_path):
                raise NotADirectoryError(f"Path: `{save_path}` exists, but is a file. Cannot proceed.")
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            _embedding.make_tsv(metadata, save_path, metadata_header=metadata_header)
        if label_img is not None:
            label_img = make_np(label_img)
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
            _embedding.make_sprite(label_img, save_path)
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        _embedding.make_mat(mat, save_path)
        if not hasattr(self, "_projector_config"):
            self._projector_config: list[Any] = []
        self._projector_config.append(_embedding.embedding_info(metadata, label_img, subdir, global_step, tag))
        _embedding.write_projector_config(logdir, self._projector_config)

    # ------------------------------------------------------------------------------------------- lifetime
    def flush(self) -> None:
        """Make sure every event so far is in its file."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        """Close all event files (a later ``add_*`` opens a new one); closing twice is a no-op."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.close()
