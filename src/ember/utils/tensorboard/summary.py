"""Builders of serialized TensorBoard ``Summary`` messages (torch.utils.tensorboard.summary's role).

The summary builders return the bytes of a ``tensorboard.Summary`` with the same content torch's builders put
in theirs (same tags, plugin metadata, values and conversions), so TensorBoard shows ember's runs exactly as torch's.
Field numbers come from TensorBoard's ``summary.proto``, ``tensor.proto``, ``tensor_shape.proto`` and the
plugins' ``plugin_data.proto`` / ``api.proto`` / ``layout.proto``.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any

import numpy as np

from ..._core.dtype import bfloat16, float16
from ..._tensor import Tensor
from ._png import encode_png
from ._proto import blob, double, float32, message, packed_double, packed_float, packed_varint, strings, uint

__all__ = ["audio", "compute_curve", "custom_scalars", "figure_to_image", "histogram", "histogram_raw", "hparams",
           "image", "image_boxes", "make_histogram", "make_np", "mesh", "pr_curve", "pr_curve_raw", "scalar",
           "tensor_proto", "text", "video"]

logger = logging.getLogger(__name__)

# tensorboard DataType enum (types.proto)
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_INT16, DT_INT8, DT_STRING = 1, 2, 3, 4, 5, 6, 7
DT_COMPLEX64, DT_INT64, DT_BOOL, DT_BFLOAT16, DT_COMPLEX128, DT_HALF = 8, 9, 10, 14, 18, 19


# ----------------------------------------------------------------------------------------------- conversions
def make_np(x: Any) -> np.ndarray:
    """A NumPy array from an ember tensor, an array or a Python/NumPy scalar (scalars become shape ``(1,)``)."""
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, Tensor):
        if x.dtype == bfloat16:
            x = x.to(dtype=float16)   # as torch's converter does
        return x.detach().cpu().numpy()
    raise NotImplementedError(f"Got {type(x)}, but numpy array or torch tensor are expected.")


def _require(package: str, module: str, feature: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{feature} needs the {package!r} package (pip install {package.lower()})") from e


# ----------------------------------------------------------------------------------------------- messages
def _metadata(plugin_name: str, content: bytes = b"") -> bytes:
    """SummaryMetadata{plugin_data: PluginData{plugin_name=1, content=2}}."""
    return message(1, blob(1, plugin_name) + blob(2, content))


def _value(tag: str, *, simple_value: float | None = None, image: bytes | None = None, histo: bytes | None = None,
           audio: bytes | None = None, tensor: bytes | None = None, metadata: bytes | None = None) -> bytes:
    """One Summary.value entry: tag=1, simple_value=2, image=4, histo=5, audio=6, tensor=8, metadata=9."""
    body = blob(1, tag)
    if simple_value is not None:
        body += float32(2, simple_value, keep=True)
    for field, sub in ((4, image), (5, histo), (6, audio), (8, tensor), (9, metadata)):
        if sub is not None:
            body += message(field, sub)
    return message(1, body)


def _tensor(dtype: int, shape: tuple[int, ...] | None, values: bytes) -> bytes:
    """TensorProto{dtype=1, tensor_shape=2 (TensorShapeProto{dim=2: Dim{size=1}}), then the encoded ``*_val``
    field (float_val=5, double_val=6, int_val=7, string_val=8, ...: all after the shape)."""
    body = uint(1, dtype)
    if shape is not None:
        body += message(2, b"".join(message(2, uint(1, s)) for s in shape))
    return body + values


# ----------------------------------------------------------------------------------------------- scalars
def scalar(name: str, tensor: Any, collections: Any = None, new_style: bool = False,
           double_precision: bool = False) -> bytes:
    """A scalar: ``simple_value`` (float32), or with ``new_style`` a 0-d tensor under the ``scalars`` plugin."""
    arr = make_np(tensor).squeeze()
    if arr.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: {arr.size} "
                             f"and {arr.ndim} dimensions.")
    value = float(arr)
    if not new_style:
        return _value(name, simple_value=value)
    if double_precision:
        proto = _tensor(DT_DOUBLE, None, packed_double(6, [value]))
    else:
        proto = _tensor(DT_FLOAT, None, packed_float(5, [value]))
    return _value(name, tensor=proto, metadata=_metadata("scalars"))


# ----------------------------------------------------------------------------------------------- histograms
def _histo(min: float, max: float, num: float, sum: float, sum_squares: float, bucket_limits: Any,
           bucket_counts: Any) -> bytes:
    """HistogramProto{min=1, max=2, num=3, sum=4, sum_squares=5, bucket_limit=6, bucket=7}, all doubles."""
    return (double(1, min) + double(2, max) + double(3, num) + double(4, sum) + double(5, sum_squares)
            + packed_double(6, bucket_limits) + packed_double(7, bucket_counts))


def histogram_raw(name: str, min: float, max: float, num: float, sum: float, sum_squares: float,
                  bucket_limits: Any, bucket_counts: Any) -> bytes:
    """A histogram from precomputed statistics and buckets."""
    return _value(name, histo=_histo(min, max, num, sum, sum_squares, bucket_limits, bucket_counts))


def histogram(name: str, values: Any, bins: Any, max_bins: int | None = None) -> bytes:
    """A histogram of ``values`` (flattened, as float64) bucketed by ``numpy.histogram(values, bins)``."""
    return _value(name, histo=make_histogram(make_np(values).astype(float), bins, max_bins))


def make_histogram(values: np.ndarray, bins: Any, max_bins: int | None = None) -> bytes:
    """Bucket ``values`` as torch does: optional merging down to ``max_bins``, then trimming to the span from the
    (empty) bucket just before the first non-empty one up to the last non-empty one; limits are right edges."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        group = len(counts) // max_bins
        counts = np.pad(counts, (0, -len(counts) % group)).reshape(-1, group).sum(axis=-1)
        limits = np.concatenate([limits[:-1:group], limits[-1:]])
    nonzero = np.flatnonzero(counts)
    first = int(nonzero[0]) if nonzero.size else len(counts)    # torch's searchsorted-based span, including its
    end = int(nonzero[-1]) + 1 if nonzero.size else 1           # degenerate outcome when every bucket is empty
    counts = counts[first - 1:end] if first > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[first:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return _histo(values.min(), values.max(), len(values), values.sum(), values.dot(values), limits, counts)


# ----------------------------------------------------------------------------------------------- images
def _grid(images: np.ndarray, ncols: int = 8) -> np.ndarray:
    """Tile N images (N, 1 or 3, H, W) into one (3, rows*H, cols*W) image, row-major, blank cells zero."""
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, axis=1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, _, h, w = images.shape
    ncols = min(n, ncols)
    nrows = math.ceil(n / ncols)
    padded = np.zeros((nrows * ncols, 3, h, w), dtype=images.dtype)
    padded[:n] = images
    return padded.reshape(nrows, ncols, 3, h, w).transpose(2, 0, 3, 1, 4).reshape(3, nrows * h, ncols * w)


def convert_to_HWC(tensor: np.ndarray, input_format: str) -> np.ndarray:  # noqa: N802 (torch's name)
    """Reorder an image array given as ``NCHW``/``CHW``/``HWC``/``HW`` (any letter order) to 3-channel-or-more HWC;
    a batch is tiled into a grid, grey images repeat their channel three times."""
    if len(set(input_format)) != len(input_format):
        raise AssertionError(f"You can not use the same dimension shorthand twice. input_format: {input_format}")
    if tensor.ndim != len(input_format):
        raise AssertionError(f"size of input tensor and input format are different. tensor shape: {tensor.shape}, "
                             f"input_format: {input_format}")
    fmt = input_format.upper()
    if len(fmt) == 4:
        return _grid(tensor.transpose([fmt.find(c) for c in "NCHW"])).transpose(1, 2, 0)
    if len(fmt) == 3:
        hwc = tensor.transpose([fmt.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, axis=2) if hwc.shape[2] == 1 else hwc
    hw = tensor.transpose([fmt.find(c) for c in "HW"])
    return np.stack([hw] * 3, axis=2)


def _draw_boxes(img: Any, boxes: np.ndarray, labels: list[str] | None) -> None:
    """Outline each (xmin, ymin, xmax, ymax) box in red, 2 px, with its label on a red band above its bottom."""
    draw_mod = _require("Pillow", "PIL.ImageDraw", "add_image_with_boxes")
    font = _require("Pillow", "PIL.ImageFont", "add_image_with_boxes").load_default()
    draw = draw_mod.Draw(img)
    for i, (left, top, right, bottom) in enumerate(boxes[:, :4]):
        draw.line([(left, top), (left, bottom), (right, bottom), (right, top), (left, top)], width=2, fill="Red")
        label = None if labels is None else labels[i]
        if label:
            x0, y0, x1, y1 = font.getbbox(label)
            text_w, text_h = x1 - x0, y1 - y0
            margin = np.ceil(0.05 * text_h)
            draw.rectangle([(left, bottom - text_h - 2 * margin), (left + text_w, bottom)], fill="Red")
            draw.text((left + margin, bottom - text_h - margin), label, fill="black", font=font)


def make_image(tensor: np.ndarray, rescale: float = 1, rois: np.ndarray | None = None,
               labels: list[str] | None = None) -> bytes:
    """Summary.Image{height=1, width=2, colorspace=3, encoded_image_string=4} of a uint8 HWC array, as PNG
    (ours: no Pillow needed). Drawing boxes (``rois``) or resizing (``rescale``) uses Pillow, as torch does."""
    height, width, channels = tensor.shape
    if rois is not None or rescale != 1:
        pil = _require("Pillow", "PIL.Image", "add_image_with_boxes" if rois is not None else "rescaling an image")
        img = pil.fromarray(tensor)
        if rois is not None:
            _draw_boxes(img, rois, labels)
        img = img.resize((int(width * rescale), int(height * rescale)), pil.Resampling.LANCZOS)
        tensor = np.asarray(img).reshape(img.height, img.width, -1)
    return uint(1, height) + uint(2, width) + uint(3, channels) + blob(4, encode_png(tensor))


def image(tag: str, tensor: Any, rescale: float = 1, dataformats: str = "NCHW") -> bytes:
    """An image summary: floats are taken in [0, 1] and scaled by 255, uint8 as is; then clipped to [0, 255]."""
    arr = convert_to_HWC(make_np(tensor), dataformats)
    scale = 1 if arr.dtype == np.uint8 else 255
    arr = (arr.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    return _value(tag, image=make_image(arr, rescale=rescale))


def image_boxes(tag: str, tensor_image: Any, tensor_boxes: Any, rescale: float = 1, dataformats: str = "CHW",
                labels: list[str] | None = None) -> bytes:
    """An image summary with boxes (N, 4: xmin, ymin, xmax, ymax in pixels) and optional labels drawn on it."""
    arr = convert_to_HWC(make_np(tensor_image), dataformats)
    arr = arr.astype(np.float32) * (1 if arr.dtype == np.uint8 else 255)
    img = make_image(arr.clip(0, 255).astype(np.uint8), rescale=rescale, rois=make_np(tensor_boxes), labels=labels)
    return _value(tag, image=img)


def _video_frames(v: np.ndarray) -> np.ndarray:
    """(B, T, C, H, W) clips as (T, H', W', C) frames: the batch (zero-padded to a power of two) tiled into a
    grid of 2**(floor(log2 B) // 2) rows; uint8 input is first scaled to [0, 1]."""
    b, t, c, h, w = v.shape
    if v.dtype == np.uint8:
        v = np.float32(v) / 255.0
    if b & (b - 1):
        v = np.concatenate([v, np.zeros((2 ** b.bit_length() - b, t, c, h, w))], axis=0)
    rows = 2 ** ((b.bit_length() - 1) // 2)
    cols = v.shape[0] // rows
    return v.reshape(rows, cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3).reshape(t, rows * h, cols * w, c)


def video(tag: str, tensor: Any, fps: int = 4) -> bytes:
    """A video summary: (B, T, C, H, W) clips tiled into one animated GIF (encoded with Pillow; torch uses
    moviepy, so the GIF bytes differ while frames, size and timing agree)."""
    frames = _video_frames(make_np(tensor))
    scale = 1 if frames.dtype == np.uint8 else 255
    frames = (frames.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    pil = _require("Pillow", "PIL.Image", "add_video")
    _, h, w, c = frames.shape
    imgs = [pil.fromarray(f[:, :, 0] if c == 1 else f) for f in frames]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=1000 / fps, loop=0)
    return _value(tag, image=uint(1, h) + uint(2, w) + uint(3, c) + blob(4, buf.getvalue()))


def figure_to_image(figures: Any, close: bool = True) -> np.ndarray:
    """Render a matplotlib figure (CHW uint8 RGB) or a list of figures (NCHW)."""
    plt = _require("matplotlib", "matplotlib.pyplot", "add_figure")
    agg = _require("matplotlib", "matplotlib.backends.backend_agg", "add_figure")

    def render(figure: Any) -> np.ndarray:
        canvas = agg.FigureCanvasAgg(figure)
        canvas.draw()
        w, h = figure.canvas.get_width_height()
        rgb = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8).reshape(h, w, 4)[:, :, :3]
        if close:
            plt.close(figure)
        return np.moveaxis(rgb, 2, 0)

    return np.stack([render(f) for f in figures]) if isinstance(figures, list) else render(figures)


# ----------------------------------------------------------------------------------------------- audio
def audio(tag: str, tensor: Any, sample_rate: int = 44100) -> bytes:
    """Mono 16-bit WAV of a 1-D signal in [-1, 1] (clipped, with torch's printed warning, when outside)."""
    import wave
    arr = make_np(tensor).squeeze()
    if abs(arr).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        arr = arr.clip(-1, 1)
    if arr.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    pcm = (arr * np.iinfo(np.int16).max).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    # Summary.Audio{sample_rate=1 (float), num_channels=2, length_frames=3, encoded_audio_string=4, content_type=5}
    body = (float32(1, sample_rate) + uint(2, 1) + uint(3, pcm.shape[-1]) + blob(4, buf.getvalue())
            + blob(5, "audio/wav"))
    return _value(tag, audio=body)


# ----------------------------------------------------------------------------------------------- tensors, text
_TENSOR_DTYPES = {  # ember dtype name -> (DataType, TensorProto value field number, encoding), as torch maps them
    "float16": (DT_HALF, 13, "bits"), "bfloat16": (DT_BFLOAT16, 13, "bits"), "float32": (DT_FLOAT, 5, "<f4"),
    "float64": (DT_DOUBLE, 6, "<f8"), "complex64": (DT_COMPLEX64, 9, "<f4"), "complex128": (DT_COMPLEX128, 12, "<f8"),
    "int8": (DT_INT8, 7, "varint"), "int16": (DT_INT16, 7, "varint"), "int32": (DT_INT32, 7, "varint"),
    "int64": (DT_INT64, 10, "varint"), "uint8": (DT_UINT8, 16, "varint"), "bool": (DT_BOOL, 11, "varint"),
}


def tensor_proto(tag: str, tensor: Tensor) -> bytes:
    """A tensor under the ``tensor`` plugin, values in the TensorProto field torch uses for its dtype
    (half-precision values are stored, as torch stores them, as the int32 bit pattern of their float32 value)."""
    if tensor.numel() * tensor.element_size() >= (1 << 31):
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    name = str(tensor.dtype).removeprefix("torch.")
    if name not in _TENSOR_DTYPES:
        raise ValueError(f"{tag} has unsupported tensor dtype {tensor.dtype}")
    dtype, field, encoding = _TENSOR_DTYPES[name]
    flat = tensor.detach().cpu().float().numpy() if name == "bfloat16" else tensor.detach().cpu().numpy()
    flat = flat.reshape(-1)
    if encoding == "bits":
        encoded = packed_varint(field, flat.astype("<f4").view("<i4").tolist())
    elif encoding == "varint":
        encoded = packed_varint(field, flat.astype(np.int64).tolist())
    else:   # complex numbers as (real, imaginary) pairs
        encoded = blob(field, np.ascontiguousarray(flat).view(flat.real.dtype).astype(encoding).tobytes())
    return _value(tag, tensor=_tensor(dtype, tuple(tensor.shape), encoded), metadata=_metadata("tensor"))


def text(tag: str, text: str) -> bytes:
    """A text summary (markdown) under the ``text`` plugin, tagged ``<tag>/text_summary``."""
    proto = _tensor(DT_STRING, (1,), strings(8, [text.encode("utf-8")]))
    return _value(tag + "/text_summary", tensor=proto, metadata=_metadata("text"))  # TextPluginData(version=0): b""


# ----------------------------------------------------------------------------------------------- hparams
_HP_PLUGIN = "hparams"
_EXPERIMENT_TAG = "_hparams_/experiment"
_SESSION_START_TAG = "_hparams_/session_start_info"
_SESSION_END_TAG = "_hparams_/session_end_info"
_HP_STRING, _HP_BOOL, _HP_FLOAT64 = 1, 2, 3     # hparams api DataType
_STATUS_SUCCESS = 1


def _struct_value(v: Any) -> bytes:
    """google.protobuf.Value{number_value=2, string_value=3} (a oneof member: always written). Bools are numbers:
    torch tests ``isinstance(v, (int, float))`` first, so ``bool_value`` is never used."""
    return blob(3, v, keep=True) if isinstance(v, str) else double(2, float(v), keep=True)


def _hp_summary(tag: str, field: int, body: bytes) -> bytes:
    """HParamsPluginData{version=1 (0), experiment=2 | session_start_info=3 | session_end_info=4}."""
    return _value(tag, metadata=_metadata(_HP_PLUGIN, message(field, body)))


def hparams(hparam_dict: Any = None, metric_dict: Any = None,
            hparam_domain_discrete: Any = None) -> tuple[bytes, bytes, bytes]:
    """The hparams plugin's experiment, session-start and session-end summaries, as torch writes them."""
    if not isinstance(hparam_dict, dict):
        logger.warning("parameter: hparam_dict should be a dictionary, nothing logged.")
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        logger.warning("parameter: metric_dict should be a dictionary, nothing logged.")
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if k not in hparam_dict or not isinstance(v, list) or not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")
    infos, values = [], []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, (int, float, str)):         # bools are ints here: logged as numbers, as torch does
            kind = _HP_STRING if isinstance(v, str) else _HP_FLOAT64
            value = v if isinstance(v, str) else float(v)
            domain = domains.get(k)
        elif isinstance(v, Tensor):
            value, kind, domain = float(make_np(v).reshape(-1)[0]), _HP_FLOAT64, None
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        values.append(message(1, blob(1, k) + message(2, _struct_value(value))))     # map<string, Value> entry
        # HParamInfo{name=1, type=4, domain_discrete=5: ListValue{values=1}}
        info = blob(1, k) + uint(4, kind)
        if domain is not None:
            info += message(5, b"".join(message(1, _struct_value(d)) for d in domain))
        infos.append(info)
    # Experiment{hparam_infos=4, metric_infos=5: MetricInfo{name=1: MetricName{tag=2}}}
    experiment = strings(4, infos) + strings(5, [message(1, blob(2, k)) for k in metric_dict])
    exp = _hp_summary(_EXPERIMENT_TAG, 2, experiment)
    ssi = _hp_summary(_SESSION_START_TAG, 3, b"".join(values))       # SessionStartInfo{hparams=1}
    sei = _hp_summary(_SESSION_END_TAG, 4, uint(1, _STATUS_SUCCESS))  # SessionEndInfo{status=1}
    return exp, ssi, sei


# ----------------------------------------------------------------------------------------------- PR curves
def _pr_summary(tag: str, data: np.ndarray, num_thresholds: int) -> bytes:
    """A (6, num_thresholds) float tensor (tp, fp, tn, fn, precision, recall) under the ``pr_curves`` plugin."""
    content = uint(2, num_thresholds)          # PrCurvePluginData{version=1 (0), num_thresholds=2}
    proto = _tensor(DT_FLOAT, data.shape, packed_float(5, data.reshape(-1)))
    return _value(tag, tensor=proto, metadata=_metadata("pr_curves", content))


def compute_curve(labels: np.ndarray, predictions: np.ndarray, num_thresholds: int | None = None,
                  weights: Any = None) -> np.ndarray:
    """True/false positive/negative counts, precision and recall at ``num_thresholds`` evenly spaced thresholds."""
    minimum_count = 1e-7
    weights = 1.0 if weights is None else weights
    buckets = np.int32(np.floor(predictions * (num_thresholds - 1)))
    positive = labels.astype(np.float64)
    hist_range = (0, num_thresholds - 1)
    tp_b, _ = np.histogram(buckets, bins=num_thresholds, range=hist_range, weights=positive * weights)
    fp_b, _ = np.histogram(buckets, bins=num_thresholds, range=hist_range, weights=(1.0 - positive) * weights)
    tp = np.cumsum(tp_b[::-1])[::-1]
    fp = np.cumsum(fp_b[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(minimum_count, tp + fp)
    recall = tp / np.maximum(minimum_count, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def pr_curve(tag: str, labels: Any, predictions: Any, num_thresholds: int = 127, weights: Any = None) -> bytes:
    """A precision-recall curve computed from binary ``labels`` and ``predictions`` in [0, 1] (at most 127
    thresholds, as torch caps them)."""
    num_thresholds = min(num_thresholds, 127)
    return _pr_summary(tag, compute_curve(labels, predictions, num_thresholds, weights), num_thresholds)


def pr_curve_raw(tag: str, tp: Any, fp: Any, tn: Any, fn: Any, precision: Any, recall: Any,
                 num_thresholds: int = 127, weights: Any = None) -> bytes:
    """A precision-recall curve from precomputed counts."""
    num_thresholds = min(num_thresholds, 127)
    return _pr_summary(tag, np.stack((tp, fp, tn, fn, precision, recall)), num_thresholds)


# ----------------------------------------------------------------------------------------------- custom scalars
def custom_scalars(layout: dict[str, dict[str, list[Any]]]) -> bytes:
    """The custom-scalars dashboard layout: ``{category: {chart: ["Multiline" | "Margin", tags]}}``."""
    categories = []
    for title, charts in layout.items():
        encoded = []
        for chart_title, (kind, tags, *_) in charts.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                # MarginChartContent{series=1: Series{value=1, lower=2, upper=3}} in Chart.margin=3
                series = blob(1, tags[0]) + blob(2, tags[1]) + blob(3, tags[2])
                content = message(3, message(1, series))
            else:
                content = message(2, strings(1, tags))   # MultilineChartContent{tag=1} in Chart.multiline=2
            encoded.append(blob(1, chart_title) + content)
        categories.append(blob(1, title) + strings(2, encoded))   # Category{title=1, chart=2}
    proto = _tensor(DT_STRING, (), strings(8, [strings(2, categories)]))   # Layout{category=2}
    return _value("custom_scalars__config__", tensor=proto, metadata=_metadata("custom_scalars"))


# ----------------------------------------------------------------------------------------------- meshes
_MESH_PARTS = (("VERTEX", 1), ("FACE", 2), ("COLOR", 3))   # MeshPluginData.ContentType


def mesh(tag: str, vertices: Any, colors: Any, faces: Any, config_dict: dict[str, Any] | None,
         display_name: str | None = None, description: str | None = None) -> bytes:
    """A 3-D mesh for the ``mesh`` plugin: one (B, N, 3) float tensor per given part, tagged ``<tag>_VERTEX``,
    ``<tag>_FACE``, ``<tag>_COLOR``, each with the parts bitmask, its shape and the JSON scene config."""
    import json
    config = "{}" if config_dict is None else json.dumps(config_dict, sort_keys=True)
    parts = [(name, kind, make_np(t)) for (name, kind), t in zip(_MESH_PARTS, (vertices, faces, colors), strict=True)
             if t is not None]
    components = sum(1 << kind for _, kind, _ in parts)
    values = []
    for name, kind, arr in parts:
        if arr.ndim != 3:
            raise ValueError(f"Tensor shape should be of shape BxNx3, but got {tuple(arr.shape)}.")
        # MeshPluginData{version=1 (0), name=2, content_type=3, json_config=5, shape=6, components=7}
        content = (blob(2, tag) + uint(3, kind) + blob(5, config) + packed_varint(6, arr.shape)
                   + uint(7, components))
        meta = _metadata("mesh", content) + blob(2, display_name or "") + blob(3, description or "")
        proto = _tensor(DT_FLOAT, arr.shape, packed_float(5, arr.reshape(-1)))
        values.append(_value(f"{tag}_{name}", tensor=proto, metadata=meta))
    return b"".join(values)
