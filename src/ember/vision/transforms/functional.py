"""Image functions on PIL images and on tensors of shape (..., C, H, W) (torchvision.transforms.functional).

PIL is imported only when a PIL image is handled. Tensor paths use ember ops, so they run on any device;
resizing is separable: one small (out, in) weight matrix per axis, applied as two matrix products.
"""

from __future__ import annotations

import enum
import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._core import dtype as D
from ..._core.warn import warn
from ..._tensor import Tensor
from ...ops.creation import as_tensor, from_numpy
from ...ops.shape import stack

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels", "to_tensor",
           "pil_to_tensor", "to_pil_image", "convert_image_dtype", "normalize", "resize", "pad", "crop",
           "center_crop", "resized_crop", "hflip", "vflip", "rgb_to_grayscale", "to_grayscale", "adjust_brightness",
           "adjust_contrast", "adjust_saturation", "adjust_hue"]


class InterpolationMode(enum.Enum):
    """Interpolation methods; the values are the names ``interpolate`` uses."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# PIL's resampling constants for each mode (NEAREST-EXACT is PIL's nearest)
_PIL_MODES = {InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0, InterpolationMode.LANCZOS: 1,
              InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3, InterpolationMode.BOX: 4,
              InterpolationMode.HAMMING: 5}
_FROM_INT = {0: InterpolationMode.NEAREST, 1: InterpolationMode.LANCZOS, 2: InterpolationMode.BILINEAR,
             3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING}


def _interpolation(mode: Any) -> InterpolationMode:
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, int) and mode in _FROM_INT:
        return _FROM_INT[mode]
    raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding Pillow integer constant")


def _pil() -> Any:
    """PIL.Image, imported on first use (Pillow is the optional ``vision`` extra)."""
    try:
        from PIL import Image
    except ImportError as e:   # pragma: no cover - depends on the environment
        raise ImportError("PIL images need Pillow: pip install 'ember[vision]' (or pillow)") from e
    return Image


def _is_pil(img: Any) -> bool:
    mod = sys.modules.get("PIL.Image")   # an image exists only if PIL was imported
    return mod is not None and isinstance(img, mod.Image)


def _check_image(img: Any) -> None:
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise TypeError("Tensor is not a torch image.")
    elif not _is_pil(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def get_dimensions(img: Any) -> list[int]:
    """[channels, height, width] of a PIL image or a (..., C, H, W) tensor."""
    _check_image(img)
    if isinstance(img, Tensor):
        return [1 if img.ndim == 2 else int(img.shape[-3]), int(img.shape[-2]), int(img.shape[-1])]
    return [len(img.getbands()), img.height, img.width]


def get_image_size(img: Any) -> list[int]:
    """[width, height]."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img: Any) -> int:
    return get_dimensions(img)[0]


def _max_value(dtype: D.dtype) -> float:
    if dtype.is_floating_point or dtype == D.bool:
        return 1
    return D.iinfo(dtype).max


# ---------------------------------------------------------------------------------------------- conversion

def to_tensor(pic: Any) -> Tensor:
    """PIL image or HxW(xC) ndarray → CxHxW tensor; 8-bit data becomes floats in [0, 1]."""
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
        img = from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    elif _is_pil(pic):
        nptype = {"I": np.int32, "I;16" if sys.byteorder == "little" else "I;16B": np.int16, "F": np.float32}
        arr = np.array(pic, nptype.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        img = from_numpy(np.ascontiguousarray(arr.reshape(pic.height, pic.width, -1).transpose(2, 0, 1)))
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if img.dtype == D.uint8:
        return img.to(D.get_default_dtype()).div(255)
    return img


def pil_to_tensor(pic: Any) -> Tensor:
    """PIL image → CxHxW tensor of the image's own dtype (no scaling)."""
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    return from_numpy(np.ascontiguousarray(arr.reshape(pic.height, pic.width, -1).transpose(2, 0, 1)))


def to_pil_image(pic: Any, mode: str | None = None) -> Any:
    """CxHxW tensor or HxWxC ndarray → PIL image; floats are scaled by 255 (as torchvision, no rounding)."""
    if isinstance(pic, Tensor):
        if pic.ndim == 3:
            pic = pic.permute((1, 2, 0))
        pic = pic.detach().cpu().numpy()
    elif not isinstance(pic, np.ndarray):
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if pic.ndim == 2:
        pic = pic[:, :, None]
    if pic.ndim != 3:
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    if pic.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-1]} channels.")
    npimg = pic
    if np.issubdtype(npimg.dtype, np.floating) and mode != "F":
        npimg = (npimg * 255).astype(np.uint8)
    channels = npimg.shape[2]
    if channels == 1:
        npimg = npimg[:, :, 0]
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16", np.dtype(np.int32): "I",
                    np.dtype(np.float32): "F"}.get(npimg.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {np.dtype}. Should be {expected}")
        mode = expected
    else:
        permitted = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}[channels]
        if mode is not None and mode not in permitted:
            if channels == 2:
                raise ValueError(f"Only modes {permitted} are supported for 2D inputs")
            raise ValueError(f"Only modes {permitted} are supported for {channels}D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = permitted[0]
    if mode is None:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    return _fromarray(npimg, mode)


def _fromarray(arr: np.ndarray, mode: str) -> Any:
    """PIL image of ``mode`` from an array (Pillow's ``fromarray`` infers the mode; convert when it differs)."""
    Image = _pil()
    if mode in ("I;16", "I;16B"):
        return Image.frombuffer(mode, (arr.shape[1], arr.shape[0]), np.ascontiguousarray(arr).tobytes(), "raw",
                                mode, 0, 1)
    if mode in ("YCbCr", "HSV", "CMYK", "RGBX"):
        return Image.frombytes(mode, (arr.shape[1], arr.shape[0]), np.ascontiguousarray(arr).tobytes())
    img = Image.fromarray(np.ascontiguousarray(arr))
    return img if img.mode == mode else img.convert(mode)


def convert_image_dtype(image: Tensor, dtype: D.dtype = D.float32) -> Tensor:
    """Change dtype and rescale values: [0, 1] for floats, [0, max] for integers."""
    if not isinstance(image, Tensor):
        raise TypeError("Input img should be Tensor Image")
    if image.dtype == dtype:
        return image
    if image.dtype.is_floating_point:
        if dtype.is_floating_point:
            return image.to(dtype)
        unsafe = (D.float32, D.int32), (D.float32, D.int64), (D.float64, D.int64)
        if (image.dtype, dtype) in unsafe:
            raise RuntimeError(f"The cast from {image.dtype} to {dtype} cannot be performed safely.")
        return image.mul(float(_max_value(dtype)) + 1.0 - 1e-3).to(dtype)   # the 1e-3 keeps 1.0 → max
    input_max = float(_max_value(image.dtype))
    if dtype.is_floating_point:
        return image.to(dtype) / input_max
    output_max = float(_max_value(dtype))
    if input_max > output_max:
        return image.div(int((input_max + 1) // (output_max + 1)), rounding_mode="floor").to(dtype)
    return image.to(dtype) * int((output_max + 1) // (input_max + 1))


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Tensor:
    """(tensor - mean) / std per channel of a float (..., C, H, W) tensor."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    if not inplace:
        tensor = tensor.clone()
    mean_t = as_tensor(mean, dtype=tensor.dtype, device=tensor.device)
    std_t = as_tensor(std, dtype=tensor.dtype, device=tensor.device)
    if (std_t == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
    if mean_t.ndim == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.ndim == 1:
        std_t = std_t.view(-1, 1, 1)
    return tensor.sub_(mean_t).div_(std_t)


# ------------------------------------------------------------------------------------------------ geometry

def _resized_size(h: int, w: int, size: list[int], max_size: int | None) -> list[int]:
    if len(size) == 2:
        return [size[0], size[1]]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                             f"size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return [new_long, new_short] if w <= h else [new_short, new_long]


def _resize_tensor(img: Tensor, size: list[int], mode: str, antialias: bool) -> Tensor:
    """torchvision's tensor resize: ``interpolate`` on float32 (float64 and float32 images as they are), planes
    batched; integer results rounded (uint8 bicubic clamped to [0, 255] first), then cast back."""
    from ...nn.functional import interpolate
    if mode not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"resizing tensors supports nearest, nearest-exact, bilinear and bicubic, not {mode}")
    work = img if img.dtype in (D.float32, D.float64) else img.to(D.float32)
    planes = work.reshape(-1, 1, *work.shape[-2:])
    out = interpolate(planes, size=size, mode=mode, align_corners=None if mode.startswith("nearest") else False,
                      antialias=antialias).reshape(*work.shape[:-2], *size)
    if work is img:
        return out
    if mode == "bicubic" and img.dtype == D.uint8:
        out = out.clamp(0, 255)
    return (out.round() if not img.dtype.is_floating_point else out).to(img.dtype)


def resize(img: Any, size: int | Sequence[int], interpolation: Any = InterpolationMode.BILINEAR,
           max_size: int | None = None, antialias: bool | None = True) -> Any:
    """Resize to ``size`` (h, w), or match the smaller edge to an int ``size`` keeping the aspect ratio."""
    interpolation = _interpolation(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError("Size must be an int or a 1 or 2 element tuple/list, "
                             f"not a {len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, "
                             "i.e. size should be an int or a sequence of length 1 in torchscript mode.")
    _, h, w = get_dimensions(img)
    out = _resized_size(h, w, [size] if isinstance(size, int) else list(size), max_size)
    if [h, w] == out:
        return img
    if _is_pil(img):
        if antialias is False:
            warn("Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.",
                 stacklevel=2)
        return img.resize((out[1], out[0]), _PIL_MODES[interpolation])
    aa = bool(antialias) and interpolation in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC)
    return _resize_tensor(img, out, interpolation.value, aa)


def _pad_ltrb(padding: Any) -> list[int]:
    if isinstance(padding, numbers.Number):
        return [int(padding)] * 4   # type: ignore[call-overload]
    if not isinstance(padding, (tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1])] * 2
    return [int(p) for p in padding]


def pad(img: Any, padding: int | Sequence[int], fill: Any = 0, padding_mode: str = "constant") -> Any:
    """Pad the borders: ``padding`` is one int, (left/right, top/bottom) or (left, top, right, bottom).

    ``padding_mode``: constant (``fill``), edge, reflect (mirror without the edge) or symmetric (with it).
    Negative padding crops.
    """
    if not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _pad_ltrb(padding)
    if _is_pil(img):
        arr = np.asarray(img)
        if padding_mode == "constant":
            chans = 1 if arr.ndim == 2 else arr.shape[2]
            value = fill if isinstance(fill, numbers.Number) else tuple(fill)
            out = np.empty((arr.shape[0] + top + bottom, arr.shape[1] + left + right) + arr.shape[2:], arr.dtype)
            out[...] = value if chans == 1 or not isinstance(value, numbers.Number) else (value,) * chans
            out[top:top + arr.shape[0], left:left + arr.shape[1]] = arr
        else:
            np_mode = {"edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}[padding_mode]
            out = np.pad(arr, ((top, bottom), (left, right)) + ((0, 0),) * (arr.ndim - 2), mode=np_mode)
        return _fromarray(out, img.mode)
    _check_image(img)
    h, w = int(img.shape[-2]), int(img.shape[-1])
    img = img[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]   # negative pads crop
    top, left, bottom, right = max(top, 0), max(left, 0), max(bottom, 0), max(right, 0)
    if padding_mode == "constant":
        if not isinstance(fill, numbers.Number):
            raise TypeError("tensor images only support a number as fill")
        h, w = int(img.shape[-2]), int(img.shape[-1])
        out = img.new_full((*img.shape[:-2], h + top + bottom, w + left + right), fill)
        out[..., top:top + h, left:left + w] = img
        return out
    np_mode = {"edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}[padding_mode]
    rows = np.pad(np.arange(int(img.shape[-2])), (top, bottom), mode=np_mode)   # source index per output row
    cols = np.pad(np.arange(int(img.shape[-1])), (left, right), mode=np_mode)
    return img.index_select(-2, as_tensor(rows, device=img.device)).index_select(-1, as_tensor(cols, device=img.device))


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height`` x ``width`` window at (top, left); parts outside the image are zero-padded."""
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0), max(right - max(w, left), 0),
                   max(bottom - max(h, top), 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], padding, fill=0)
    return img[..., top:bottom, left:right]


def _pair(size: Any) -> list[int]:
    if isinstance(size, numbers.Number):
        return [int(size), int(size)]   # type: ignore[call-overload]
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return [int(size[0]), int(size[0])]
    return [int(s) for s in size]


def center_crop(img: Any, output_size: int | Sequence[int]) -> Any:
    """The central crop; images smaller than ``output_size`` are zero-padded first."""
    ch, cw = _pair(output_size)
    _, h, w = get_dimensions(img)
    if cw > w or ch > h:
        padding = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                   (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = pad(img, padding, fill=0)
        _, h, w = get_dimensions(img)
        if cw == w and ch == h:
            return img
    return crop(img, int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0)), ch, cw)


def resized_crop(img: Any, top: int, left: int, height: int, width: int, size: int | Sequence[int],
                 interpolation: Any = InterpolationMode.BILINEAR, antialias: bool | None = True) -> Any:
    """Crop, then resize to ``size``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img: Any) -> Any:
    """Mirror left-right."""
    if _is_pil(img):
        return img.transpose(_pil().Transpose.FLIP_LEFT_RIGHT)
    _check_image(img)
    return img.flip(-1)


def vflip(img: Any) -> Any:
    """Mirror top-bottom."""
    if _is_pil(img):
        return img.transpose(_pil().Transpose.FLIP_TOP_BOTTOM)
    _check_image(img)
    return img.flip(-2)


# -------------------------------------------------------------------------------------------------- colour

def _check_channels(img: Tensor, permitted: list[int]) -> None:
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {permitted}, but found {c}")


def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """ITU-R 601-2 luma (0.2989 R + 0.587 G + 0.114 B), 1 or 3 output channels."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if _is_pil(img):
        gray = img.convert("L")
        return gray if num_output_channels == 1 else _fromarray(np.dstack([np.asarray(gray)] * 3), "RGB")
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found {img.ndim}")
    _check_channels(img, [1, 3])
    if int(img.shape[-3]) == 3:
        r, g, b = img.unbind(-3)
        lum = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(-3)
    else:
        lum = img.clone()
    return lum.expand(img.shape) if num_output_channels == 3 else lum


def to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """PIL-image form of :func:`rgb_to_grayscale`."""
    if not _is_pil(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")
    return rgb_to_grayscale(img, num_output_channels)


def _blend(img1: Tensor, img2: Tensor, ratio: float) -> Tensor:
    ratio = float(ratio)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, _max_value(img1.dtype)).to(img1.dtype)


def _enhance(img: Any, kind: str, factor: float) -> Any:
    from PIL import ImageEnhance

    return getattr(ImageEnhance, kind)(img).enhance(factor)


def adjust_brightness(img: Any, brightness_factor: float) -> Any:
    """Scale intensities: 0 gives black, 1 the original."""
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    if _is_pil(img):
        return _enhance(img, "Brightness", brightness_factor)
    _check_image(img)
    _check_channels(img, [1, 3])
    return _blend(img, img.new_zeros(()).expand(img.shape), brightness_factor)


def adjust_contrast(img: Any, contrast_factor: float) -> Any:
    """Blend with the mean grey level: 0 gives a flat grey image, 1 the original."""
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    if _is_pil(img):
        return _enhance(img, "Contrast", contrast_factor)
    _check_image(img)
    _check_channels(img, [3, 1])
    dtype = img.dtype if img.dtype.is_floating_point else D.float32
    gray = rgb_to_grayscale(img) if get_dimensions(img)[0] == 3 else img
    return _blend(img, gray.to(dtype).mean(dim=(-3, -2, -1), keepdim=True), contrast_factor)


def adjust_saturation(img: Any, saturation_factor: float) -> Any:
    """Blend with the greyscale image: 0 gives grey, 1 the original, 2 doubles saturation."""
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    if _is_pil(img):
        return _enhance(img, "Color", saturation_factor)
    _check_image(img)
    _check_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb2hsv(img: Tensor) -> Tensor:
    r, g, b = img.unbind(-3)
    maxc, minc = img.amax(-3), img.amin(-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = maxc.new_ones(())
    s = cr / maxc.where(~eqc, ones)
    crd = cr.where(~eqc, ones)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = ((hr + hg + hb) / 6.0 + 1.0).fmod(1.0)
    return stack((h, s, maxc), dim=-3)


def _hsv2rgb(img: Tensor) -> Tensor:
    h, s, v = img.unbind(-3)
    i = (h * 6.0).floor()
    f = h * 6.0 - i
    sector = i.to(D.int32) % 6
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * f)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]   # (r, g, b) per hue sector
    out = [img.new_zeros(()).expand(h.shape) for _ in range(3)]
    for k, rgb in enumerate(table):
        mask = sector == k
        out = [rgb[c].where(mask, out[c]) for c in range(3)]
    return stack(out, dim=-3)


def adjust_hue(img: Any, hue_factor: float) -> Any:
    """Rotate the hue by ``hue_factor`` turns (in [-0.5, 0.5])."""
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _is_pil(img):
        if img.mode in {"L", "1", "I", "F"}:
            return img
        Image = _pil()
        h, s, v = img.convert("HSV").split()
        np_h = np.array(h, dtype=np.uint8)
        np_h += np.int32(hue_factor * 255).astype(np.uint8)   # wraps around, as hue does
        return Image.merge("HSV", (_fromarray(np_h, "L"), s, v)).convert(img.mode)
    if not isinstance(img, Tensor):
        raise TypeError("Input img should be Tensor image")
    _check_image(img)
    _check_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img
    hsv = _rgb2hsv(convert_image_dtype(img, D.float32))
    h, s, v = hsv.unbind(-3)
    rgb = _hsv2rgb(stack(((h + hue_factor) % 1.0, s, v), dim=-3))
    return convert_image_dtype(rgb, img.dtype)

