"""Eager-mode preparation for quantization: propagate qconfigs down the module tree, swap float layers for their
QAT twins, and attach activation post-processes (observers / fake-quantize modules) with forward hooks, giving
torch's module tree, state_dict keys and numbers."""

from __future__ import annotations

import copy
from typing import Any

from ... import nn
from ..._core.warn import warn
from ..nn.intrinsic import _FusedModule
from .fake_quantize import FakeQuantizeBase
from .observer import ObserverBase
from .qconfig import _assert_valid_qconfig
from .quantization_mappings import (
    DEFAULT_MODULE_TO_ACT_POST_PROCESS,
    get_default_dynamic_quant_module_mappings,
    get_default_qat_module_mappings,
    get_default_qconfig_propagation_list,
    get_default_static_quant_module_mappings,
)
from .stubs import DeQuantStub

__all__ = ["propagate_qconfig_", "prepare", "prepare_qat", "swap_module", "add_quant_dequant", "convert",
           "quantize", "quantize_dynamic", "quantize_qat", "add_observer_", "default_eval_fn"]


def _propagate(module: nn.Module, qconfig_dict: dict, parent: Any, prefix: str, custom: dict) -> None:
    qconfig = qconfig_dict.get(type(module), parent)
    qconfig = qconfig_dict.get(prefix, qconfig)
    qconfig = getattr(module, "qconfig", qconfig)
    _assert_valid_qconfig(qconfig, module)
    module.qconfig = qconfig
    for name, child in module.named_children():
        child_prefix = f"{prefix}.{name}" if prefix else name
        if name in custom.get("non_traceable_module_name", []) or \
                type(child) in custom.get("non_traceable_module_class", []):
            continue
        _propagate(child, qconfig_dict, qconfig, child_prefix, {})


def propagate_qconfig_(module: nn.Module, qconfig_dict: dict | None = None,
                       prepare_custom_config_dict: dict | None = None) -> None:
    """Give every submodule a ``qconfig`` attribute: its own if set, else the entry of ``qconfig_dict`` for its
    qualified name or type, else its parent's (in place)."""
    _propagate(module, qconfig_dict or {}, None, "", prepare_custom_config_dict or {})


def _observer_forward_hook(self: nn.Module, input: Any, output: Any) -> Any:
    """Forward hook that runs the module's output through its activation post-process."""
    return self.activation_post_process(output)


def _observer_forward_pre_hook(self: nn.Module, input: Any) -> Any:
    """Forward pre-hook that runs the module's first input through its activation post-process."""
    return self.activation_post_process(input[0])


def _activation_is_memoryless(qconfig: Any) -> bool:
    """Whether the activation observer forgets the past (a moving average with constant 1)."""
    act = qconfig.activation()
    if isinstance(act, FakeQuantizeBase) and hasattr(act, "activation_post_process"):
        act = act.activation_post_process
    return getattr(act, "averaging_constant", None) == 1


def _devices(module: nn.Module) -> set[Any]:
    return {p.device for p in module.parameters()} | {b.device for b in module.buffers()}


def _needs_observation(m: nn.Module) -> bool:
    return getattr(m, "qconfig", None) is not None


def _insert_post_process(m: nn.Module, device: Any, special: Any = None) -> None:
    if _needs_observation(m) and not isinstance(m, DeQuantStub):
        post = (special or m.qconfig.activation)()
        if device is not None:
            post.to(device)
        m.add_module("activation_post_process", post)
        if _activation_is_memoryless(m.qconfig):
            m.register_forward_pre_hook(_observer_forward_pre_hook, prepend=True)
        else:
            m.register_forward_hook(_observer_forward_hook, prepend=True)


def _add_observer_(module: nn.Module, propagation: set, non_leaf: set | None, device: Any = None) -> None:
    """Attach activation post-processes to the quantizable leaves (and the listed non-leaf modules) that have
    a qconfig; dropout is skipped."""
    if device is None:
        devices = _devices(module)
        if len(devices) > 1:
            raise AssertionError(f"_add_observer_ only works with cpu or single-device CUDA modules, but got "
                                 f"devices {devices}")
        device = next(iter(devices)) if devices else None
    from ..nn.quantized.modules.functional_modules import FloatFunctional, QFunctional
    for child in module.children():
        if type(child) is nn.Dropout:
            continue
        if isinstance(child, (FloatFunctional, QFunctional)):   # observed inside, by its own methods
            if _needs_observation(child):
                post = child.qconfig.activation()
                if device is not None:
                    post.to(device)
                child.activation_post_process = post
        elif isinstance(child, _FusedModule) or (non_leaf is not None and type(child) in non_leaf):
            _insert_post_process(child, device)
        elif child.training and type(child) in DEFAULT_MODULE_TO_ACT_POST_PROCESS:
            _insert_post_process(child, device, DEFAULT_MODULE_TO_ACT_POST_PROCESS[type(child)])
        else:
            _add_observer_(child, propagation, non_leaf, device)
    is_leaf = next(iter(module.children()), None) is None
    if type(module) in propagation and not isinstance(module, nn.Sequential) and \
            (is_leaf or hasattr(module, "weight_fake_quant")):
        _insert_post_process(module, device)


def prepare(model: nn.Module, inplace: bool = False, allow_list: set | None = None,
            observer_non_leaf_module_list: set | None = None, prepare_custom_config_dict: dict | None = None) -> Any:
    """Propagate qconfigs and attach observers for calibration (a copy unless ``inplace``)."""
    if not inplace:
        model = copy.deepcopy(model)
    propagation = allow_list if allow_list is not None else get_default_qconfig_propagation_list()
    propagate_qconfig_(model, qconfig_dict=None)
    if not any(_needs_observation(m) for m in model.modules()):
        warn("None of the submodule got qconfig applied. Make sure you passed correct configuration "
             "through `qconfig_dict` or by assigning the `.qconfig` attribute directly on submodules",
             stacklevel=2)
    _add_observer_(model, propagation, observer_non_leaf_module_list)
    return model


def swap_module(mod: nn.Module, mapping: dict, custom_module_class_mapping: dict | None = None,
                use_precomputed_fake_quant: bool = False) -> nn.Module:
    """``mapping[type(mod)].from_float(mod)`` when ``mod`` has a qconfig, keeping its other forward hooks and
    its device; ``mod`` itself otherwise."""
    if getattr(mod, "qconfig", None) is None or type(mod) not in mapping:
        return mod
    new = mapping[type(mod)].from_float(mod, use_precomputed_fake_quant=use_precomputed_fake_quant)
    for hook in mod._forward_pre_hooks.values():
        new.register_forward_pre_hook(hook)
    for hook in mod._forward_hooks.values():
        if hook is not _observer_forward_hook:
            new.register_forward_hook(hook)
    devices = _devices(mod)
    if len(devices) > 1:
        raise AssertionError(f"swap_module only works with cpu or single-device CUDA modules, but got devices "
                             f"{devices}")
    if devices:
        new.to(next(iter(devices)))
    return new


def _swap(module: nn.Module, mapping: dict) -> None:
    """Replace, depth first, every child that ``mapping`` covers (in place)."""
    swapped = {}
    for name, child in module.named_children():
        if not isinstance(child, _FusedModule):    # a fused container is swapped whole
            _swap(child, mapping)
        swapped[name] = swap_module(child, mapping)
    for name, child in swapped.items():
        module._modules[name] = child


def prepare_qat(model: nn.Module, mapping: dict | None = None, inplace: bool = False) -> nn.Module:
    """Prepare a model in training mode for quantization-aware training: qconfigs propagated, float layers
    swapped for their QAT twins (fake-quantized weights), activation fake-quantize modules attached."""
    if not model.training:
        raise AssertionError("prepare_qat only works on models in training mode")
    if mapping is None:
        mapping = get_default_qat_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model, qconfig_dict=None)
    _swap(model, mapping)
    prepare(model, observer_non_leaf_module_list=set(mapping.values()), inplace=True)
    return model


def add_quant_dequant(module: nn.Module) -> nn.Module:
    """Wrap every leaf with a qconfig in a :class:`QuantWrapper` (in place, returns the module)."""
    from .stubs import QuantWrapper
    if next(iter(module.children()), None) is None and getattr(module, "qconfig", None):
        return QuantWrapper(module)
    for name, child in module.named_children():
        module._modules[name] = add_quant_dequant(child)
    return module


def _remove_qconfig(module: nn.Module) -> None:
    """Drop the ``qconfig`` attributes and the activation post-processes (with their hooks) left by prepare."""
    for child in module.children():
        _remove_qconfig(child)
    if hasattr(module, "qconfig"):
        del module.qconfig
    if isinstance(getattr(module, "activation_post_process", None), (ObserverBase, FakeQuantizeBase)):
        delattr(module, "activation_post_process")
        for hooks, hook in ((module._forward_pre_hooks, _observer_forward_pre_hook),
                            (module._forward_hooks, _observer_forward_hook)):
            for key in [k for k, h in hooks.items() if h is hook]:
                del hooks[key]


def convert(module: nn.Module, mapping: dict | None = None, inplace: bool = False, remove_qconfig: bool = True,
            is_reference: bool = False, convert_custom_config_dict: dict | None = None,
            use_precomputed_fake_quant: bool = False) -> nn.Module:
    """Swap every module that ``mapping`` (default: the static quantized modules) covers and that has a qconfig
    for ``mapping[type].from_float(...)`` (a copy unless ``inplace``)."""
    if is_reference:
        raise NotImplementedError("ember has no reference quantized modules (is_reference=True)")
    if mapping is None:
        mapping = get_default_static_quant_module_mappings()
    if not inplace:
        module = copy.deepcopy(module)
    _swap(module, mapping)
    if remove_qconfig:
        _remove_qconfig(module)
    return module


def add_observer_(module: nn.Module, qconfig_propagation_list: set | None = None,
                  non_leaf_module_list: set | None = None, device: Any = None,
                  custom_module_class_mapping: dict | None = None) -> None:
    """Attach activation post-processes to the quantizable submodules that have a qconfig (in place)."""
    propagation = qconfig_propagation_list or get_default_qconfig_propagation_list()
    _add_observer_(module, propagation, non_leaf_module_list, device)


def default_eval_fn(model: nn.Module, calib_data: Any) -> None:
    """Calibration: run ``model`` on the inputs of ``(input, target)`` pairs."""
    for data, _target in calib_data:
        model(data)


def quantize(model: nn.Module, run_fn: Any, run_args: Any, mapping: dict | None = None,
             inplace: bool = False) -> nn.Module:
    """Post-training static quantization: prepare (observers), calibrate with ``run_fn(model, *run_args)``,
    convert (a copy unless ``inplace``; the model in eval mode)."""
    if mapping is None:
        mapping = get_default_static_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, mapping, inplace=True)
    return model


def quantize_qat(model: nn.Module, run_fn: Any, run_args: Any, inplace: bool = False) -> nn.Module:
    """Quantization-aware training: prepare_qat, train with ``run_fn(model, *run_args)``, convert."""
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, inplace=True)
    return model


def quantize_dynamic(model: nn.Module, qconfig_spec: Any = None, dtype: Any = None, mapping: dict | None = None,
                     inplace: bool = False) -> nn.Module:
    """Dynamic quantization: the covered layers (``nn.Linear``, ``nn.LSTM``, ``nn.GRU``) get int8 weights now
    and quantize their inputs per call; the model is put in eval mode (a copy unless ``inplace``)."""
    from ..._core import dtype as D
    from .qconfig import default_dynamic_qconfig
    dtype = D.qint8 if dtype is None else dtype
    if dtype is not D.qint8:
        raise ValueError(f"Don't know how to quantize with default settings for {dtype}. Provide full qconfig "
                         "please")
    if qconfig_spec is None:
        qconfig_spec = dict.fromkeys((nn.Linear, nn.LSTM, nn.GRU, nn.LSTMCell, nn.RNNCell, nn.GRUCell),
                                     default_dynamic_qconfig)
    elif isinstance(qconfig_spec, set):
        qconfig_spec = dict.fromkeys(qconfig_spec, default_dynamic_qconfig)
    if mapping is None:
        mapping = get_default_dynamic_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    return convert(model, mapping, inplace=True)
