"""``torch.utils.tensorboard``: write TensorBoard event files (scalars, histograms, images, figures, video, audio,
text, hparams, PR curves, meshes, custom-scalar layouts, embeddings) with no dependency on the ``tensorboard`` or
``protobuf`` packages (our own protobuf encoding, TFRecord framing, CRC32C and PNG encoder); Pillow (boxes, video)
and matplotlib (figures) are imported only when used.

Differences from torch, all deliberate: ``add_graph`` cannot trace (no TorchScript) and fails as torch does on an
untraceable model; ``add_video`` encodes its GIF with Pillow instead of moviepy; ``add_onnx_graph`` is absent;
``add_hparams`` also accepts a 0-d tensor value; PNGs are encoded here (same pixels as Pillow's, other bytes);
events still pending when a writer is collected or the interpreter exits are written, not lost.
"""

from __future__ import annotations

from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
