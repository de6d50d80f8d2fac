"""Quantized embedding tables (``torch.ao.nn.quantized.Embedding`` / ``EmbeddingBag``): uint8 rows with a float
scale and zero point each (``per_channel_affine_float_qparams``); looked-up rows are dequantized as fbgemm's
kernels do, ``q * scale + bias`` with ``bias = -zero_point * scale`` in one rounding."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..... import nn
from ....._core import dtype as D
from .....nn import functional as F
from .....ops import creation as C
from .....ops._dispatch import new_tensor
from .....ops.quantize import QuantizedTensor, per_channel_affine_float_qparams, quantize_per_channel
from .activation import _quantized_name
from .utils import _quantize_weight

__all__ = ["EmbeddingPackedParams", "Embedding", "EmbeddingBag"]


class EmbeddingPackedParams(nn.Module):
    """Holder of the quantized table; its state_dict entries are ``dtype`` and ``_packed_weight``."""

    _version = 1

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype: Any = D.quint8) -> None:
        super().__init__()
        self.dtype = dtype
        if dtype is not D.quint8:
            raise NotImplementedError(f"Unsupported dtype on quantized embedding! Supports quint8 and quint4x2 (ember: "
                                      f"quint8 only), got {dtype}")
        self.set_weight(quantize_per_channel(C.zeros(num_embeddings, embedding_dim), C.ones(num_embeddings),
                                             C.zeros(num_embeddings), 0, dtype))

    def set_weight(self, weight: QuantizedTensor) -> None:
        if weight.qscheme() is not per_channel_affine_float_qparams:
            raise NotImplementedError("Unsupported qscheme on quantized embedding! Supports "
                                      "torch.per_channel_affine_float_qparams only")
        self._packed_weight = weight

    def _weight(self) -> QuantizedTensor:
        return self._packed_weight

    def forward(self, x: Any) -> Any:
        return x

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_weight"] = self._weight()

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        self.dtype = state_dict.pop(prefix + "dtype")
        self.set_weight(state_dict.pop(prefix + "_packed_weight"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def __repr__(self) -> str:
        return repr(self._weight())

    def rows(self) -> Any:
        """The table dequantized as the kernels read it: ``fma(q, scale, -zero_point * scale)`` per row."""
        w = self._packed_weight
        scale = w._scale._data.astype(np.float32)[:, None]
        bias = (-(w._zero_point._data.astype(np.float32)[:, None] * scale)).astype(np.float64)
        rows = (w._data.astype(np.float64) * scale + bias).astype(np.float32)
        return new_tensor(rows, D.float32, w._device)


class Embedding(nn.Module):
    """Quantized ``nn.Embedding`` (float output rows)."""

    _version = 1
    _get_name = _quantized_name

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, dtype: Any = D.quint8) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.dtype = num_embeddings, embedding_dim, dtype
        self._packed_params = EmbeddingPackedParams(num_embeddings, embedding_dim, dtype)
        if _weight is not None:
            if list(_weight.shape) != [num_embeddings, embedding_dim]:
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self._packed_params.set_weight(_weight)

    def forward(self, indices: Any) -> Any:
        return F.embedding(indices, self._packed_params.rows())

    def extra_repr(self) -> str:
        return (f"num_embeddings={self.num_embeddings}, embedding_dim={self.embedding_dim}, "
                f"dtype={self._packed_params.dtype}, qscheme={self.weight().qscheme()}")

    def __repr__(self) -> str:
        return f"{self._get_name()}({self.extra_repr()})"

    def set_weight(self, w: QuantizedTensor) -> None:
        self._packed_params.set_weight(w)

    def weight(self) -> QuantizedTensor:
        return self._packed_params._weight()

    @classmethod
    def _quantized_table(cls, mod: nn.Module, float_cls: type) -> QuantizedTensor:
        if type(mod) is not float_cls:
            raise AssertionError(f"nnq.{cls.__name__}.from_float only works for {float_cls.__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError(f"{cls.__name__} input float module must have qconfig defined")
        observer = mod.qconfig.weight()
        if observer.qscheme is not per_channel_affine_float_qparams:
            raise AssertionError(f"{cls.__name__} quantization is only supported with "
                                 "float_qparams_weight_only_qconfig.")
        if observer.dtype is not D.quint8:
            raise AssertionError(f"The only supported dtype for nnq.{cls.__name__} is torch.quint8 (ember), got "
                                 f"{observer.dtype}")
        observer(mod.weight)
        return _quantize_weight(mod.weight.detach().float(), observer)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Embedding:
        """Quantize a float ``nn.Embedding`` carrying a float-qparams weight-only qconfig."""
        qweight = cls._quantized_table(mod, nn.Embedding)
        new = cls(mod.num_embeddings, mod.embedding_dim)
        new.set_weight(qweight)
        return new


class EmbeddingBag(Embedding):
    """Quantized ``nn.EmbeddingBag``: the sum of each bag's dequantized rows (torch's kernel sums whatever
    ``mode`` says; ``mode`` is kept for the repr and conversions)."""

    _version = 1

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "sum", sparse: bool = False,
                 _weight: Any = None, include_last_offset: bool = False, dtype: Any = D.quint8) -> None:
        super().__init__(num_embeddings, embedding_dim, _weight=_weight, dtype=dtype)
        self.mode, self.pruned_weights, self.include_last_offset = mode, False, include_last_offset

    def forward(self, indices: Any, offsets: Any = None, per_sample_weights: Any = None,
                compressed_indices_mapping: Any = None) -> Any:
        return F.embedding_bag(indices, self._packed_params.rows(), offsets, mode="sum",
                               per_sample_weights=per_sample_weights, include_last_offset=self.include_last_offset)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> EmbeddingBag:
        """Quantize a float ``nn.EmbeddingBag`` carrying a float-qparams weight-only qconfig."""
        qweight = cls._quantized_table(mod, nn.EmbeddingBag)
        new = cls(mod.num_embeddings, mod.embedding_dim, mode=mod.mode,
                  include_last_offset=mod.include_last_offset)
        new.set_weight(qweight)
        return new
