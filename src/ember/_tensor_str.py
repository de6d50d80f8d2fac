"""Tensor ``repr``/``str``, character for character as torch 2.13 prints them.

Print options are process-global, as in torch. When a tensor is summarised only the edge elements that
will be shown are sliced out (on the tensor's own device) and turned into Python numbers, so printing a
huge tensor costs time proportional to what is printed, not to its size.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ember._core import dtype as _dt
from ember._core.device import to_host

if TYPE_CHECKING:
    from ember._tensor import Tensor

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr", "tensor_format"]


@dataclasses.dataclass
class __PrinterOptions:
    """The global print options; torch code reads and sets ``torch._tensor_str.PRINT_OPTS`` directly."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = __PrinterOptions()

# profile -> (precision, threshold, edgeitems, linewidth)
_PROFILES: dict[str, tuple[int, float, int, int]] = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None, profile: str | None = None,
                     sci_mode: bool | None = None) -> None:
    """Set the global print options, as ``torch.set_printoptions``.

    A profile is applied first and explicit options override it; like torch, every call sets
    ``sci_mode`` to its argument (so omitting it resets it to automatic) and unknown profiles are ignored.
    """
    if profile in _PROFILES:
        PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = _PROFILES[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options, as keyword arguments that ``set_printoptions`` accepts."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily apply ``set_printoptions(**kwargs)``; the previous options come back on exit."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


def _format_column(values: np.ndarray, floating: bool,
                   chosen: np.ndarray | None = None) -> tuple[list[str], int]:
    """Format a flat real array as one torch ``_Formatter`` does: return the padded cells and their width.

    Integers and bools are ``str`` right-aligned. Floats share one mode chosen from the finite non-zero
    values (nan/inf/0 neither choose the mode nor widen the column; ``chosen`` overrides which values
    count): integral -> ``"3."``, a wide range of magnitudes -> scientific, otherwise fixed with
    ``precision`` decimals.
    """
    items = values.tolist()
    if not floating:
        cells = [str(v) for v in items]
        width = max([1, *map(len, cells)])
        return [c.rjust(width) for c in cells], width
    as64 = values.astype(np.float64)
    if chosen is None:
        chosen = np.isfinite(as64) & (as64 != 0)
    nonzero = as64[chosen]
    precision = PRINT_OPTS.precision
    fmt: Callable[[float], str]
    if nonzero.size == 0:
        int_mode, sci_mode = True, False
    else:
        int_mode = bool(np.all(nonzero == np.ceil(nonzero)))
        if PRINT_OPTS.sci_mode is None:
            with np.errstate(invalid="ignore"):
                lo, hi = float(np.abs(nonzero).min()), float(np.abs(nonzero).max())
            sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            sci_mode = PRINT_OPTS.sci_mode
    if sci_mode:
        fmt = lambda v: f"{v:.{precision}e}"
    elif int_mode:
        fmt = lambda v: f"{v:.0f}." if math.isfinite(v) else f"{v:.0f}"
    else:
        fmt = lambda v: f"{v:.{precision}f}"
    cells = [fmt(v) for v in items]
    width = max([1, *(len(c) for c, ok in zip(cells, chosen.tolist(), strict=True) if ok)])
    return [c.rjust(width) for c in cells], width


def _imag_cell(cell: str) -> str:
    """The imaginary part of a complex element: unpadded, signed, with ``j``."""
    cell = cell.lstrip() + "j"
    return cell if cell[0] in "+-" else "+" + cell


def _layout(cells: list[str], shape: tuple[int, ...], cut: tuple[bool, ...], indent: int,
            element_length: int) -> str:
    """Nest the flat, C-ordered ``cells`` of the shown elements into torch's bracketed, wrapped layout.

    ``cut[axis]`` marks axes that were summarised: their first and last ``edgeitems`` entries are in
    ``cells`` and an ellipsis goes between them.
    """
    edge, linewidth = PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth

    def block(start: int, axis: int, indent: int) -> str:
        if axis == len(shape) - 1:
            items = cells[start:start + shape[axis]]
            if cut[axis]:
                items[edge:edge] = [" ..."]
            per_line = max(1, math.floor((linewidth - indent) / element_length))
            lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
            return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
        step = math.prod(shape[axis + 1:])
        rows = [block(start + i * step, axis + 1, indent + 1) for i in range(shape[axis])]
        if cut[axis]:
            rows[edge:edge] = ["..."]
        return "[" + ("," + "\n" * (len(shape) - axis - 1) + " " * (indent + 1)).join(rows) + "]"

    return block(0, 0, indent)


def _tensor_body(t: Tensor, indent: int) -> str:
    """The bracketed contents of ``t`` (``[]`` when empty, a bare scalar when 0-d)."""
    shape = tuple(t.shape)
    if 0 in shape:
        return "[]"
    dt = t.dtype
    if dt.kind == "quantized" or (dt.kind == "storage" and (dt is not _dt.float4_e2m1fn_x2 or not shape)):
        raise NotImplementedError(f"\"_local_scalar_dense_cpu\" not implemented for '{dt._short}'")
    summarize = math.prod(shape) > PRINT_OPTS.threshold
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge and shape:
        return "[...]"
    cut = tuple(summarize and n > 2 * edge for n in shape)
    data = t._data
    for axis, is_cut in enumerate(cut):
        if is_cut:
            lead = (slice(None),) * axis
            # np.concatenate dispatches to CuPy for device arrays, so only the edges cross to the host
            data = np.concatenate((data[lead + (slice(None, edge),)], data[lead + (slice(-edge, None),)]),
                                  axis=axis)
    host = to_host(data)
    chosen = None
    if dt is _dt.bfloat16:
        host = host.astype(np.float32)  # exact; NumPy cannot turn bfloat16 into Python floats itself
    elif dt is _dt.complex32:
        host = host.astype(np.complex64)
    elif dt is _dt.float8_e8m0fnu:
        # torch prints it as float32, counting every value but the byte 0 (2**-127, which equals 0 in
        # e8m0fnu) as a "finite non-zero" one, NaN included
        chosen = host.view(np.uint8).reshape(-1) != 0
        host = _dt.convert(host, dt, _dt.float32)
    elif dt.kind == "float8":
        host = _dt.convert(host, dt, _dt.float16)    # torch prints the other float8 types as float16
    flat = host.reshape(-1)
    if dt.is_complex:
        real, real_width = _format_column(flat.real, True)
        imag, imag_width = _format_column(flat.imag, True)
        cells = [r + _imag_cell(i) for r, i in zip(real, imag, strict=True)]
        element_length = real_width + 2 + imag_width + 1
    else:
        cells, width = _format_column(flat, dt.is_floating_point, chosen)
        element_length = width + 2
    if not shape:
        return cells[0]
    return _layout(cells, host.shape, cut, indent, element_length)


def _join_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Append ``, suffix`` items and the closing paren, moving a suffix to a new line when it would
    overflow ``linewidth`` (with torch's line-length arithmetic, off by two on the first line)."""
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def prints_as_tensor(cls: type) -> bool:
    """Whether instances of ``cls`` print as torch's plain ``Tensor`` (ember's own classes), not under a
    user's subclass name."""
    return cls.__module__ == "ember" or cls.__module__.startswith("ember.")


def tensor_repr(t: Tensor, *, prefix: str = "tensor(", indent: int = 7, contents: str | None = None) -> str:
    """``repr(t)`` (and ``str(t)``): contents, then device/size/dtype/autograd suffixes, as torch.

    ``contents`` (torch's ``tensor_contents``) replaces the printed elements, keeping the suffixes.
    """
    if getattr(t, "is_sparse", False):   # duck-typed tensors (FakeTensor) may lack the attribute
        return _sparse_repr(t, prefix, indent, contents)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    shape = tuple(t.shape)
    default = _dt.get_default_dtype()
    if 0 in shape:
        # nothing in an empty tensor hints at its dtype, so only the default float dtype goes unsaid
        if len(shape) != 1:
            suffixes.append(f"size={shape}")
        if t.dtype is not default:
            suffixes.append(f"dtype={t.dtype!r}")
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={shape}")
        default_complex = _dt.complex128 if default is _dt.float64 else _dt.complex64
        if t.dtype not in (default, default_complex, _dt.int64, _dt.bool):
            suffixes.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{_node_name(t.grad_fn)}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    if getattr(t, "_rg", False):   # only these can be dual (forward AD) tensors
        from .autograd import forward_ad
        tangent = forward_ad.unpack_dual(t).tangent if forward_ad.ACTIVE[0] else None
        if tangent is not None:
            suffixes.append(f"tangent={tangent}")   # a 0-d tangent formats as its number, as in torch
    body = _tensor_body(t, indent) if contents is None else contents
    return _join_suffixes(prefix + body, suffixes, indent)


def _node_name(fn: Any) -> str:
    """A grad_fn as torch prints it: its class name, or for a C++ node without class its short ``name()``."""
    name = type(fn).__name__
    return fn.name().rsplit("::", 1)[-1] if name == "CppFunction" else name


def _sparse_repr(t: Tensor, prefix: str, indent: int, contents: str | None) -> str:
    """A sparse COO tensor: its indices and values (or ``contents``), then size/nnz/dtype/layout on a new
    line (torch's form)."""
    if contents is None:
        parts = []
        for name, part in (("indices", t._indices()), ("values", t._values())):
            head = f"{name}=tensor("
            body = _tensor_body(part, indent + len(head))
            parts.append(head + body + (f", size={tuple(part.shape)})" if part.numel() == 0 else ")"))
        contents = (",\n" + " " * indent).join(parts)
    default = _dt.get_default_dtype()
    suffixes = [f"size={tuple(t.shape)}", f"nnz={t._nnz()}"]
    if t.dtype not in (default, _dt.complex128 if default is _dt.float64 else _dt.complex64, _dt.int64, _dt.bool):
        suffixes.append(f"dtype={t.dtype!r}")
    suffixes.append(f"layout={t.layout!r}")
    if t.device.type != "cpu":
        suffixes.insert(0, f"device='{t.device}'")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{_node_name(t.grad_fn)}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    out = [prefix + contents, ",\n" + " " * indent + suffixes[0]]
    last_line = indent + len(suffixes[0])   # torch starts the suffixes on a new line, then wraps at linewidth
    for suffix in suffixes[1:]:
        if last_line + len(suffix) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(out) + ")"


def tensor_format(t: Tensor, format_spec: str) -> str:
    """``format(t, spec)``: a 0-d tensor formats as its Python number; others accept only ``''``."""
    if not t.shape:
        return format(t.item(), format_spec)
    if format_spec:
        raise TypeError("unsupported format string passed to Tensor.__format__")
    return tensor_repr(t)
