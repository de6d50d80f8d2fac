"""``torch.__future__``: opt-in switches for behaviour that torch plans to make the default.

Both flags change how ``nn.Module._apply`` (``.to()``, ``.float()``, ``.cuda()``, ...) converts parameters:

* overwrite: each converted parameter becomes a new ``Parameter`` object in ``module._parameters`` instead of
  having its ``.data`` replaced (references held elsewhere, e.g. by an optimizer, keep the old tensor);
* swap: the old ``Parameter`` object keeps its identity but takes the converted tensor's whole state through
  ``ember.utils.swap_tensors`` (takes precedence over overwrite).
"""

from __future__ import annotations

__all__ = ["set_overwrite_module_params_on_conversion", "get_overwrite_module_params_on_conversion",
           "set_swap_module_params_on_conversion", "get_swap_module_params_on_conversion"]

_overwrite_module_params_on_conversion: bool = False
_swap_module_params_on_conversion: bool = False


def set_overwrite_module_params_on_conversion(value: bool) -> None:
    """Whether ``nn.Module._apply`` assigns new Parameter objects rather than setting ``param.data``."""
    global _overwrite_module_params_on_conversion
    _overwrite_module_params_on_conversion = value


def get_overwrite_module_params_on_conversion() -> bool:
    """The flag set by :func:`set_overwrite_module_params_on_conversion` (False by default)."""
    return _overwrite_module_params_on_conversion


def set_swap_module_params_on_conversion(value: bool) -> None:
    """Whether ``nn.Module._apply`` swaps each converted tensor into the existing Parameter object (keeping its
    identity) with ``ember.utils.swap_tensors``."""
    global _swap_module_params_on_conversion
    _swap_module_params_on_conversion = value


def get_swap_module_params_on_conversion() -> bool:
    """The flag set by :func:`set_swap_module_params_on_conversion` (False by default)."""
    return _swap_module_params_on_conversion
