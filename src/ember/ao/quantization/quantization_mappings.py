"""Which float modules have QAT twins, and which modules get observers when prepared."""

from __future__ import annotations

import copy
from typing import Any

from ... import nn
from ...nn import functional as F
from ...nn.modules.linear import NonDynamicallyQuantizableLinear
from ..nn import intrinsic as nni
from ..nn import qat as nnqat
from ..nn import quantized as nnq
from ..nn.intrinsic import qat as nniqat
from ..nn.intrinsic import quantized as nniq
from ..nn.intrinsic.quantized import dynamic as nniqd
from ..nn.quantized import dynamic as nnqd
from ..nn.quantized import functional as qF
from .fake_quantize import default_fixed_qparams_range_0to1_fake_quant, default_fixed_qparams_range_neg1to1_fake_quant
from .stubs import DeQuantStub, QuantStub

__all__ = ["DEFAULT_STATIC_QUANT_MODULE_MAPPINGS", "DEFAULT_QAT_MODULE_MAPPINGS",
           "DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS", "DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS",
           "DEFAULT_MODULE_TO_ACT_POST_PROCESS", "DEFAULT_STATIC_SPARSE_QUANT_MODULE_MAPPINGS",
           "DEFAULT_DYNAMIC_SPARSE_QUANT_MODULE_MAPPINGS", "no_observer_set",
           "get_default_static_quant_module_mappings",
           "get_embedding_static_quant_module_mappings", "get_default_static_sparse_quant_module_mappings",
           "get_static_quant_module_class", "get_dynamic_quant_module_class", "get_default_qat_module_mappings",
           "get_embedding_qat_module_mappings", "get_default_dynamic_quant_module_mappings",
           "get_default_dynamic_sparse_quant_module_mappings", "get_default_qconfig_propagation_list",
           "get_default_compare_output_module_list", "get_default_float_to_quantized_operator_mappings",
           "get_quantized_operator"]

DEFAULT_STATIC_QUANT_MODULE_MAPPINGS: dict[Any, Any] = {
    QuantStub: nnq.Quantize,
    DeQuantStub: nnq.DeQuantize,
    nn.BatchNorm2d: nnq.BatchNorm2d,
    nn.BatchNorm3d: nnq.BatchNorm3d,
    nn.Dropout: nnq.Dropout,
    nn.Conv1d: nnq.Conv1d,
    nn.Conv2d: nnq.Conv2d,
    nn.Conv3d: nnq.Conv3d,
    nn.ConvTranspose1d: nnq.ConvTranspose1d,
    nn.ConvTranspose2d: nnq.ConvTranspose2d,
    nn.ConvTranspose3d: nnq.ConvTranspose3d,
    nn.ELU: nnq.ELU,
    nn.GroupNorm: nnq.GroupNorm,
    nn.Hardswish: nnq.Hardswish,
    nn.InstanceNorm1d: nnq.InstanceNorm1d,
    nn.InstanceNorm2d: nnq.InstanceNorm2d,
    nn.InstanceNorm3d: nnq.InstanceNorm3d,
    nn.LayerNorm: nnq.LayerNorm,
    nn.LeakyReLU: nnq.LeakyReLU,
    NonDynamicallyQuantizableLinear: nnq.Linear,
    nn.Linear: nnq.Linear,
    nn.ReLU6: nnq.ReLU6,
    nn.PReLU: nnq.PReLU,
    nn.Embedding: nnq.Embedding,
    nn.EmbeddingBag: nnq.EmbeddingBag,
    nnq.FloatFunctional: nnq.QFunctional,
    nni.BNReLU2d: nniq.BNReLU2d,
    nni.BNReLU3d: nniq.BNReLU3d,
    nni.ConvReLU1d: nniq.ConvReLU1d,
    nni.ConvReLU2d: nniq.ConvReLU2d,
    nni.ConvReLU3d: nniq.ConvReLU3d,
    nni.LinearReLU: nniq.LinearReLU,
    nniqat.ConvBn1d: nnq.Conv1d,
    nniqat.ConvBn2d: nnq.Conv2d,
    nniqat.ConvBn3d: nnq.Conv3d,
    nniqat.ConvBnReLU1d: nniq.ConvReLU1d,
    nniqat.ConvBnReLU2d: nniq.ConvReLU2d,
    nniqat.ConvBnReLU3d: nniq.ConvReLU3d,
    nniqat.ConvReLU2d: nniq.ConvReLU2d,
    nniqat.ConvReLU3d: nniq.ConvReLU3d,
    nniqat.LinearReLU: nniq.LinearReLU,
    nnqat.Linear: nnq.Linear,
    nnqat.Conv2d: nnq.Conv2d,
    nnqat.Conv3d: nnq.Conv3d,
}

DEFAULT_STATIC_SPARSE_QUANT_MODULE_MAPPINGS: dict[Any, Any] = {}
DEFAULT_DYNAMIC_SPARSE_QUANT_MODULE_MAPPINGS: dict[Any, Any] = {}

DEFAULT_QAT_MODULE_MAPPINGS: dict[Any, Any] = {
    nn.Conv2d: nnqat.Conv2d,
    nn.Conv3d: nnqat.Conv3d,
    nn.Linear: nnqat.Linear,
    nni.ConvReLU2d: nniqat.ConvReLU2d,
    nni.ConvReLU3d: nniqat.ConvReLU3d,
    nni.LinearReLU: nniqat.LinearReLU,
    nni.ConvBn1d: nniqat.ConvBn1d,
    nni.ConvBn2d: nniqat.ConvBn2d,
    nni.ConvBn3d: nniqat.ConvBn3d,
    nni.ConvBnReLU1d: nniqat.ConvBnReLU1d,
    nni.ConvBnReLU2d: nniqat.ConvBnReLU2d,
    nni.ConvBnReLU3d: nniqat.ConvBnReLU3d,
}


DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS: dict[Any, Any] = {
    NonDynamicallyQuantizableLinear: nnqd.Linear,
    nn.Linear: nnqd.Linear,
    nn.LSTM: nnqd.LSTM,
    nn.GRU: nnqd.GRU,
    nn.LSTMCell: nnqd.LSTMCell,
    nn.GRUCell: nnqd.GRUCell,
    nn.RNNCell: nnqd.RNNCell,
    nn.Embedding: nnq.Embedding,
    nn.EmbeddingBag: nnq.EmbeddingBag,
    nni.LinearReLU: nniqd.LinearReLU,
}

DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS: dict[Any, Any] = {
    F.elu: qF.elu,
    F.hardswish: qF.hardswish,
    F.leaky_relu: qF.leaky_relu,
}


# activations of known range get fixed-qparams fake quantization instead of the qconfig's (in training)
DEFAULT_MODULE_TO_ACT_POST_PROCESS: dict[Any, Any] = {
    nn.Hardsigmoid: default_fixed_qparams_range_0to1_fake_quant,
    nn.Sigmoid: default_fixed_qparams_range_0to1_fake_quant,
    nn.Softmax: default_fixed_qparams_range_0to1_fake_quant,
    nn.Tanh: default_fixed_qparams_range_neg1to1_fake_quant,
}


def _float_modules() -> set[Any]:
    """The float modules torch can quantize (its static/dynamic mappings' keys that ember has)."""
    names = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Linear",
             "BatchNorm2d", "BatchNorm3d", "Dropout", "ELU", "Embedding", "EmbeddingBag", "GroupNorm", "Hardswish",
             "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "LeakyReLU", "ReLU6", "PReLU",
             "GRU", "GRUCell", "LSTM", "LSTMCell", "RNNCell", "Sequential")
    return {getattr(nn, n) for n in names if hasattr(nn, n)}


def no_observer_set() -> set[Any]:
    """Modules that get no activation observer (their output qparams are chosen by the op)."""
    return set()


def get_default_static_quant_module_mappings() -> dict[Any, Any]:
    """Float (or QAT / fused) module class → its static quantized class."""
    return dict(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS)


def get_embedding_static_quant_module_mappings() -> dict[Any, Any]:
    """The static mappings (the embeddings are in them already)."""
    return dict(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS)


def get_default_static_sparse_quant_module_mappings() -> dict[Any, Any]:
    return dict(DEFAULT_STATIC_SPARSE_QUANT_MODULE_MAPPINGS)


def get_default_dynamic_sparse_quant_module_mappings() -> dict[Any, Any]:
    return dict(DEFAULT_DYNAMIC_SPARSE_QUANT_MODULE_MAPPINGS)


def get_static_quant_module_class(float_module_class: Any, additional_static_quant_mapping: dict | None = None,
                                  is_reference: bool = False) -> Any:
    """The static quantized class of ``float_module_class``."""
    mapping = {**DEFAULT_STATIC_QUANT_MODULE_MAPPINGS, **(additional_static_quant_mapping or {})}
    cls = mapping.get(float_module_class)
    if cls is None:
        raise AssertionError(f"Floating point module class {float_module_class} does not have a corresponding "
                             "quantized module class")
    return copy.deepcopy(cls)


def get_dynamic_quant_module_class(float_module_class: Any, additional_dynamic_quant_mapping: dict | None = None
                                   ) -> Any:
    """The dynamic quantized class of ``float_module_class``."""
    mapping = {**DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS, **(additional_dynamic_quant_mapping or {})}
    cls = mapping.get(float_module_class)
    if cls is None:
        raise AssertionError(f"Floating point module class {float_module_class} does not have a corresponding "
                             "quantized module class")
    return copy.deepcopy(cls)


def get_embedding_qat_module_mappings() -> dict[Any, Any]:
    """The QAT mappings (ember has no QAT embeddings yet)."""
    return dict(DEFAULT_QAT_MODULE_MAPPINGS)


def get_default_compare_output_module_list() -> set[Any]:
    """Module classes whose outputs the numeric suite compares."""
    return (set(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS.values()) | set(DEFAULT_QAT_MODULE_MAPPINGS.values())
            | set(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS.values()) | set(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS)
            | set(DEFAULT_QAT_MODULE_MAPPINGS) | set(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS))


def get_default_float_to_quantized_operator_mappings() -> dict[Any, Any]:
    return dict(DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS)


def get_quantized_operator(float_op: Any) -> Any:
    """The quantized functional op of a float one."""
    op = DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS.get(float_op)
    if op is None:
        raise AssertionError(f"Operator {float_op} does not have corresponding quantized op")
    return op


def get_default_qat_module_mappings() -> dict[Any, Any]:
    """Float module class → its QAT class."""
    return dict(DEFAULT_QAT_MODULE_MAPPINGS)


def get_default_dynamic_quant_module_mappings() -> dict[Any, Any]:
    """Float module class → its dynamically quantized class."""
    return dict(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS)


def get_default_qconfig_propagation_list() -> set[Any]:
    """Module classes that get an activation observer when they are leaves with a qconfig."""
    fused = {nni.ConvReLU1d, nni.ConvReLU2d, nni.ConvReLU3d, nni.LinearReLU, nni.BNReLU2d, nni.BNReLU3d,
             nni.ConvBn1d, nni.ConvBn2d, nni.ConvBn3d, nni.ConvBnReLU1d, nni.ConvBnReLU2d, nni.ConvBnReLU3d,
             nni.LinearBn1d}
    return _float_modules() | fused | {QuantStub, DeQuantStub} | set(DEFAULT_QAT_MODULE_MAPPINGS.values()) | \
        {nnqat.Conv1d} | set(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS) | set(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS)
