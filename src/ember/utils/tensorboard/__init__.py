"""``torch.utils.tensorboard``: write TensorBoard event files (scalars, histograms, images, figures, video, audio,
text, hparams, PR curves, meshes, custom-scalar layouts, embeddings) with no dependency on the ``tensorboard`` or
``protobuf`` packages; Pillow (images) and matplotlib (figures) are imported only when used.

Differences from torch, all deliberate: ``add_graph`` cannot trace (no TorchScript) and fails as torch does on an
untraceable model; ``add_video`` encodes its GIF with Pillow instead of moviepy; ``add_onnx_graph`` is absent;
``add_hparams`` also accepts a 0-d tensor value; events are written to the file as they are added (no queue).
"""

from __future__ import annotations

from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
