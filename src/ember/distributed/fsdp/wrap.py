"""``torch.distributed.fsdp.wrap``: auto-wrap policies, deciding which submodules become their own FSDP unit.

A policy is called as ``policy(module=m, recurse=..., nonwrapped_numel=n)``: with ``recurse=True`` it says
whether to look into ``m``'s children, with ``recurse=False`` whether to wrap ``m`` itself, given the parameters
of ``m`` not already in a wrapped child (``n``). Children are wrapped before their parents (post-order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ... import nn

__all__ = ["ModuleWrapPolicy", "CustomPolicy", "always_wrap_policy", "lambda_auto_wrap_policy",
           "transformer_auto_wrap_policy", "size_based_auto_wrap_policy"]


def always_wrap_policy(*args: Any, **kwargs: Any) -> bool:
    """Wrap every module."""
    return True


def _module_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int,
                        module_classes: set[type[nn.Module]]) -> bool:
    return True if recurse else isinstance(module, tuple(module_classes))


class ModuleWrapPolicy:
    """Wrap every module that is an instance of one of ``module_classes``."""

    def __init__(self, module_classes: Iterable[type[nn.Module]]) -> None:
        self._module_classes = set(module_classes)
        self._module_classes_str = str(self._module_classes)

    def __call__(self, module: nn.Module, recurse: bool, *args: Any, **kwargs: Any) -> bool:
        return _module_wrap_policy(module, recurse, 0, self._module_classes)

    def __repr__(self) -> str:
        return super().__repr__() + f"({self._module_classes_str})"


class CustomPolicy:
    """Wrap the modules for which ``lambda_fn(module)`` is truthy (a dict result: FSDP keyword arguments for that
    unit)."""

    def __init__(self, lambda_fn: Callable[[nn.Module], bool | dict[str, Any]]) -> None:
        self._lambda_fn = lambda_fn

    def __call__(self, module: nn.Module, recurse: bool, *args: Any, **kwargs: Any) -> bool | dict[str, Any]:
        return True if recurse else self._lambda_fn(module)


def lambda_auto_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int,
                            lambda_fn: Callable[[nn.Module], bool]) -> bool:
    """Wrap the modules for which ``lambda_fn(module)`` is True."""
    return True if recurse else lambda_fn(module)


def transformer_auto_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int,
                                 transformer_layer_cls: set[type[nn.Module]]) -> bool:
    """Wrap the instances of ``transformer_layer_cls`` (the layers of a transformer)."""
    return _module_wrap_policy(module, recurse, nonwrapped_numel, transformer_layer_cls)


def size_based_auto_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int,
                                min_num_params: int = int(1e8),
                                force_leaf_modules: set[type[nn.Module]] | None = None,
                                exclude_wrap_modules: set[type[nn.Module]] | None = None) -> bool:
    """Wrap a module once its parameters outside wrapped children reach ``min_num_params``; never look into
    ``force_leaf_modules`` (default: MultiheadAttention), never wrap ``exclude_wrap_modules`` (default:
    ModuleList, ModuleDict)."""
    leaf = size_based_auto_wrap_policy.FORCE_LEAF_MODULES if force_leaf_modules is None else force_leaf_modules
    exclude = size_based_auto_wrap_policy.EXCLUDE_WRAP_MODULES if exclude_wrap_modules is None \
        else exclude_wrap_modules
    if recurse:
        return not isinstance(module, tuple(leaf))
    return nonwrapped_numel >= min_num_params and not isinstance(module, tuple(exclude))


size_based_auto_wrap_policy.EXCLUDE_WRAP_MODULES = {nn.ModuleList, nn.ModuleDict}   # type: ignore[attr-defined]
size_based_auto_wrap_policy.FORCE_LEAF_MODULES = {nn.MultiheadAttention}   # type: ignore[attr-defined]


def _recursive_wrap(module: nn.Module, policy: Callable[..., Any], wrap: Callable[[nn.Module, dict], nn.Module],
                    ignored: set[nn.Module], ignored_params: set[int], only_children: bool = False
                    ) -> tuple[nn.Module, int]:
    """Wrap ``module``'s subtree post-order where ``policy`` says so: (the module or its wrapper, the number of
    parameters now inside wrappers)."""
    numel = sum(p.numel() for p in module.parameters() if id(p) not in ignored_params)
    if not policy(module=module, recurse=True, nonwrapped_numel=numel):
        return module, 0
    wrapped = 0
    for name, child in list(module.named_children()):
        if child in ignored:
            continue
        new, n = _recursive_wrap(child, policy, wrap, ignored, ignored_params)
        if new is not child:
            setattr(module, name, new)
        wrapped += n
    if not only_children:
        decision = policy(module=module, recurse=False, nonwrapped_numel=numel - wrapped)
        if decision:
            return wrap(module, decision if isinstance(decision, dict) else {}), numel
    return module, wrapped
