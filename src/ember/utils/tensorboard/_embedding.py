"""Files of TensorBoard's embedding projector: ``tensors.tsv``, ``metadata.tsv``, ``sprite.png`` and
``projector_config.pbtxt`` (a ``ProjectorConfig`` in protobuf text format), laid out as torch writes them."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ..._core.atomic import atomic_write_bytes
from ._png import encode_png
from .summary import _grid


def make_tsv(metadata: Any, save_path: str, metadata_header: Any = None) -> None:
    """One label per line, or with a header, tab-separated columns per line."""
    if not metadata_header:
        lines = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in metadata")
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header, *metadata]]
    atomic_write_bytes(os.path.join(save_path, "metadata.tsv"), ("\n".join(lines) + "\n").encode("utf-8"))


def make_sprite(label_img: np.ndarray, save_path: str) -> None:
    """Tile the N label images (N, C, H, W; values in [0, 1]) into a square sprite of ceil(sqrt(N)) columns."""
    grid = _grid(label_img, ncols=math.ceil(label_img.shape[0] ** 0.5))
    square = np.zeros((grid.shape[2], grid.shape[2], 3))
    square[: grid.shape[1]] = grid.transpose(1, 2, 0)
    png = encode_png(np.uint8((square * 255).clip(0, 255)))
    atomic_write_bytes(os.path.join(save_path, "sprite.png"), png)


def make_mat(mat: np.ndarray, save_path: str) -> None:
    """The embedding matrix, one tab-separated row per data point (values printed as Python numbers)."""
    text = "".join("\t".join(map(str, row)) + "\n" for row in mat.tolist())
    atomic_write_bytes(os.path.join(save_path, "tensors.tsv"), text.encode("utf-8"))


def embedding_info(metadata: Any, label_img: np.ndarray | None, subdir: str, global_step: int,
                   tag: str) -> list[tuple[str, Any]]:
    """An ``EmbeddingInfo`` as (field, value) pairs in field-number order."""
    info: list[tuple[str, Any]] = [("tensor_name", f"{tag}:{str(global_step).zfill(5)}")]
    if metadata is not None:
        info.append(("metadata_path", os.path.join(subdir, "metadata.tsv")))
    if label_img is not None:
        info.append(("sprite", [("image_path", os.path.join(subdir, "sprite.png")),
                                ("single_image_dim", label_img.shape[3]), ("single_image_dim", label_img.shape[2])]))
    info.append(("tensor_path", os.path.join(subdir, "tensors.tsv")))
    return info


def _quote(s: str) -> str:
    """protobuf text-format string literal: C escapes, other ASCII controls as 3-digit octal, non-ASCII as is."""
    special = {9: "\\t", 10: "\\n", 13: "\\r", 34: '\\"', 39: "\\'", 92: "\\\\"}
    return '"' + "".join(special.get(ord(c)) or (f"\\{ord(c):03o}" if ord(c) < 32 or ord(c) == 127 else c)
                         for c in s) + '"'


def _text_format(fields: list[tuple[str, Any]], indent: int = 0) -> str:
    pad = " " * indent
    out = []
    for name, value in fields:
        if isinstance(value, list):
            out.append(f"{pad}{name} {{\n{_text_format(value, indent + 2)}{pad}}}\n")
        else:
            out.append(f"{pad}{name}: {_quote(value) if isinstance(value, str) else value}\n")
    return "".join(out)


def write_projector_config(logdir: str, embeddings: list[list[tuple[str, Any]]]) -> None:
    """``projector_config.pbtxt`` listing every embedding logged so far."""
    text = _text_format([("embeddings", info) for info in embeddings])
    atomic_write_bytes(os.path.join(logdir, "projector_config.pbtxt"), text.encode("utf-8"))
