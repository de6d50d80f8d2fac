"""``torch.utils``: data loading (``ember.utils.data``) and hook handles (``ember.utils.hooks``)."""

from __future__ import annotations

from . import _pytree as _pytree  # torch.utils._pytree is importable as an attribute
from . import benchmark, checkpoint, collect_env, data, dlpack, hooks, model_zoo
from ._swap import swap_tensors

__all__ = ["benchmark", "checkpoint", "collect_env", "data", "dlpack", "hooks", "model_zoo", "swap_tensors"]
