"""Fusing layer sequences before quantization: ``conv + bn (+ relu)`` folded for inference, ``conv/linear +
relu`` wrapped in the fused containers that get one observer and one QAT twin."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from ... import nn
from ...nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from ..nn import intrinsic as nni

__all__ = ["fuse_modules", "fuse_modules_qat", "fuse_known_modules", "get_fuser_method", "fuse_conv_bn",
           "fuse_conv_bn_relu", "fuse_linear_bn", "fuse_convtranspose_bn"]

_CONV_RELU = {nn.Conv1d: nni.ConvReLU1d, nn.Conv2d: nni.ConvReLU2d, nn.Conv3d: nni.ConvReLU3d}
_CONV_BN_TRAIN = {nn.Conv1d: nni.ConvBn1d, nn.Conv2d: nni.ConvBn2d, nn.Conv3d: nni.ConvBn3d}
_CONV_BN_RELU_TRAIN = {nn.Conv1d: nni.ConvBnReLU1d, nn.Conv2d: nni.ConvBnReLU2d, nn.Conv3d: nni.ConvBnReLU3d}


def _check_bn(is_qat: bool, bn: Any, channels: int, what: str, bn_name: str) -> None:
    if not is_qat:
        return
    if bn.num_features != channels:
        raise AssertionError(f"{what} must match num_features of {bn_name}")
    if not bn.affine:
        raise AssertionError(f"Only support fusing {bn_name} with affine set to True")
    if not bn.track_running_stats:
        raise AssertionError(f"Only support fusing {bn_name} with tracking_running_stats set to True")


def fuse_conv_bn(is_qat: bool, conv: Any, bn: Any) -> nn.Module:
    """``conv`` with ``bn`` folded into its weight and bias (inference), or the ConvBn container (QAT)."""
    if conv.training != bn.training:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    _check_bn(is_qat, bn, conv.out_channels, "Output channel of Conv2d", "BatchNorm2d")
    return _CONV_BN_TRAIN[type(conv)](conv, bn) if is_qat else fuse_conv_bn_eval(conv, bn)


def fuse_conv_bn_relu(is_qat: bool, conv: Any, bn: Any, relu: Any) -> nn.Module:
    """The folded conv in a ConvReLU container (inference), or the ConvBnReLU container (QAT)."""
    if not conv.training == bn.training == relu.training:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    _check_bn(is_qat, bn, conv.out_channels, "Output channel of Conv2d", "BatchNorm2d")
    if is_qat:
        return _CONV_BN_RELU_TRAIN[type(conv)](conv, bn, relu)
    return _CONV_RELU[type(conv)](fuse_conv_bn_eval(conv, bn), relu)


def fuse_linear_bn(is_qat: bool, linear: Any, bn: Any) -> nn.Module:
    """``linear`` with ``bn`` folded in (inference), or the LinearBn1d container (QAT)."""
    if linear.training != bn.training:
        raise AssertionError("Linear and BN both must be in the same mode (train or eval).")
    _check_bn(is_qat, bn, linear.out_features, "Output features of Linear", "BatchNorm1d")
    return nni.LinearBn1d(linear, bn) if is_qat else fuse_linear_bn_eval(linear, bn)


def fuse_convtranspose_bn(is_qat: bool, convt: Any, bn: Any) -> nn.Module:
    """A transposed convolution with ``bn`` folded in (inference only)."""
    if convt.training != bn.training:
        raise AssertionError("ConvTranspose and BN both must be in the same mode (train or eval).")
    if is_qat:
        raise Exception("Fusing ConvTranspose+BatchNorm not yet supported in QAT.")  # noqa: TRY002
    return fuse_conv_bn_eval(convt, bn, transpose=True)


def _wrap(container: type) -> Callable:
    return lambda is_qat, a, b: container(a, b)


_DEFAULT_OP_LIST_TO_FUSER_METHOD: dict[tuple, Callable] = {
    (nn.Conv1d, nn.BatchNorm1d): fuse_conv_bn,
    (nn.Conv1d, nn.BatchNorm1d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv2d, nn.BatchNorm2d): fuse_conv_bn,
    (nn.Conv2d, nn.BatchNorm2d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv3d, nn.BatchNorm3d): fuse_conv_bn,
    (nn.Conv3d, nn.BatchNorm3d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv1d, nn.ReLU): _wrap(nni.ConvReLU1d),
    (nn.Conv2d, nn.ReLU): _wrap(nni.ConvReLU2d),
    (nn.Conv3d, nn.ReLU): _wrap(nni.ConvReLU3d),
    (nn.Linear, nn.BatchNorm1d): fuse_linear_bn,
    (nn.Linear, nn.ReLU): _wrap(nni.LinearReLU),
    (nn.BatchNorm2d, nn.ReLU): _wrap(nni.BNReLU2d),
    (nn.BatchNorm3d, nn.ReLU): _wrap(nni.BNReLU3d),
    (nn.ConvTranspose1d, nn.BatchNorm1d): fuse_convtranspose_bn,
    (nn.ConvTranspose2d, nn.BatchNorm2d): fuse_convtranspose_bn,
    (nn.ConvTranspose3d, nn.BatchNorm3d): fuse_convtranspose_bn,
}


def get_fuser_method(op_list: tuple, additional_fuser_method_mapping: dict | None = None) -> Callable:
    """The function fusing modules of the types ``op_list``."""
    method = {**_DEFAULT_OP_LIST_TO_FUSER_METHOD, **(additional_fuser_method_mapping or {})}.get(op_list)
    if method is None:
        raise AssertionError(f"did not find fuser method for: {op_list} ")
    return method


def fuse_known_modules(mod_list: Sequence[nn.Module], is_qat: bool,
                       additional_fuser_method_mapping: dict | None = None) -> list[nn.Module]:
    """The fused module followed by identities (one per other input), hooks moved onto the fused module."""
    fused = get_fuser_method(tuple(type(m) for m in mod_list), additional_fuser_method_mapping)(is_qat, *mod_list)
    for hook in mod_list[0]._forward_pre_hooks.values():
        fused.register_forward_pre_hook(hook)
    mod_list[0]._forward_pre_hooks.clear()
    for hook in mod_list[-1]._forward_hooks.values():
        fused.register_forward_hook(hook)
    mod_list[-1]._forward_hooks.clear()
    out = [fused]
    for _ in mod_list[1:]:
        identity = nn.Identity()
        identity.training = mod_list[0].training
        out.append(identity)
    return out


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    *path, last = name.split(".")
    parent = model
    for part in path:
        parent = getattr(parent, part)
    setattr(parent, last, module)


def _fuse(model: nn.Module, modules_to_fuse: Sequence, is_qat: bool, inplace: bool, fuser_func: Callable,
          fuse_custom_config_dict: dict | None) -> nn.Module:
    if not inplace:
        model = copy.deepcopy(model)
    extra = (fuse_custom_config_dict or {}).get("additional_fuser_method_mapping", {})
    groups = [modules_to_fuse] if all(isinstance(m, str) for m in modules_to_fuse) else modules_to_fuse
    for names in groups:
        fused = fuser_func([model.get_submodule(n) for n in names], is_qat, extra)
        for name, module in zip(names, fused, strict=True):
            _set_module(model, name, module)
    return model


def fuse_modules(model: nn.Module, modules_to_fuse: Sequence, inplace: bool = False,
                 fuser_func: Callable = fuse_known_modules, fuse_custom_config_dict: dict | None = None) -> nn.Module:
    """Fuse the named module sequences for inference (``[["conv", "bn", "relu"], ...]``); a copy unless
    ``inplace``."""
    return _fuse(model, modules_to_fuse, False, inplace, fuser_func, fuse_custom_config_dict)


def fuse_modules_qat(model: nn.Module, modules_to_fuse: Sequence, inplace: bool = False,
                     fuser_func: Callable = fuse_known_modules,
                     fuse_custom_config_dict: dict | None = None) -> nn.Module:
    """Fuse for quantization-aware training: batch norms stay (ConvBn containers) instead of being folded."""
    return _fuse(model, modules_to_fuse, True, inplace, fuser_func, fuse_custom_config_dict)
