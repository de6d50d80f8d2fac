"""``torch.jit.trace``, eagerly: the example is run once with :func:`is_tracing` True, and what comes back runs
the Python code on every call.

torch records the ops of that one run and replays them, so its trace ignores later changes of control flow;
ember's result re-runs Python, so it follows them. The tracer's warnings are kept: while tracing, converting a
tensor to a Python value (``item``, ``bool``, ``int``, ``float``, ``complex``, ``tolist``, ``numpy``), ``len`` of a
tensor and iterating over one emit :class:`TracerWarning` (only for calls from outside ember itself), and
outputs are checked as torch checks them. ``check_trace`` is accepted: comparing the trace with Python
re-execution cannot fail when the trace is Python.
"""

from __future__ import annotations

import functools
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

from .._core.warn import warn
from .._tensor import Tensor
from ..nn.modules.module import Module
from ._internal import FunctionModifiers, _deprecated
from ._script import (
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    TopLevelTracedModule,
    TracedModule,
    _mark,
    _wrap,
)

__all__ = ["TracerWarning", "TracingCheckError", "is_tracing", "trace", "trace_module"]


class TracerWarning(Warning):
    """Warns that a traced program may not generalise to other inputs."""

    @staticmethod
    def ignore_lib_warnings() -> None:
        """Ignore tracer warnings raised from inside library code (``torch.*``/``ember.*``), as torch does."""
        warnings.filterwarnings("ignore", category=TracerWarning, module="ember.(?!jit)")


class TracingCheckError(Exception):
    """The error torch raises when a trace disagrees with the Python function; ember's traces never do."""

    def __init__(self, graph_diff_error: Any, tensor_compare_error: Any, extra_msg: str | None = None) -> None:
        self.message = "Tracing failed sanity checks!\n"
        if extra_msg is not None:
            self.message += extra_msg + "\n"
        for part in (graph_diff_error, tensor_compare_error):
            if part is not None:
                self.message += f"{part}\n"
        super().__init__(self.message)


_state = threading.local()
_patch_lock = threading.Lock()
_patch_count = 0
_originals: dict[str, Any] = {}


def is_tracing() -> bool:
    """True while this thread runs an example under :func:`trace` / :func:`trace_module`."""
    return getattr(_state, "depth", 0) > 0


def _conversion(what: str) -> str:
    return (f"Converting a tensor to a {what} might cause the trace to be incorrect. We can't record the data flow "
            "of Python values, so this value will be treated as a constant in the future. This means that the "
            "trace might not generalize to other inputs!")


_WARNINGS = {
    "item": _conversion("Python number"),
    "__bool__": _conversion("Python boolean"),
    "__int__": _conversion("Python integer"),
    "__float__": _conversion("Python float"),
    "__complex__": _conversion("Python complex"),
    "tolist": _conversion("Python list"),
    "numpy": _conversion("NumPy array"),
    "__len__": "Using len to get tensor shape might cause the trace to be incorrect. Recommended usage would be "
               "tensor.shape[0]. Passing a tensor of different shape might lead to errors or silently give "
               "incorrect results.",
    "__iter__": "Iterating over a tensor might cause the trace to be incorrect. Passing a tensor of different "
                "shape won't change the number of iterations executed (and might lead to errors or silently give "
                "incorrect results).",
}


def _warning(method: Callable[..., Any], message: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def warned(*args: Any, **kwargs: Any) -> Any:
        if is_tracing() and not sys._getframe(1).f_globals.get("__name__", "").startswith("ember."):
            warn(message, TracerWarning, stacklevel=2)
        return method(*args, **kwargs)

    return warned


def _patch(on: bool) -> None:
    """Install (first tracer in) or remove (last tracer out) the warning wrappers on Tensor's conversions."""
    global _patch_count
    with _patch_lock:
        _patch_count += 1 if on else -1
        if on and _patch_count == 1:
            for name, message in _WARNINGS.items():
                _originals[name] = Tensor.__dict__.get(name)  # None: inherited, so only our wrapper is removed
                setattr(Tensor, name, _warning(getattr(Tensor, name), message))
        elif not on and _patch_count == 0:
            for name, method in _originals.items():
                if method is None:
                    delattr(Tensor, name)
                else:
                    setattr(Tensor, name, method)
            _originals.clear()


def _run_traced(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any], strict: bool) -> Any:
    """Call ``fn`` with tracing on for this thread, then check its outputs as torch's tracer does."""
    _patch(True)
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        out = fn(*args, **kwargs)
    finally:
        _state.depth -= 1
        _patch(False)
    if out is None:
        raise RuntimeError("The traced function didn't return any values! Side-effects are not captured in traces, "
                           "so it would be a no-op.")
    _check_output(out, strict)
    return out


_LIST_OR_DICT = ("Encountering a {} at the output of the tracer might cause the trace to be incorrect, this is only "
                 "valid if the container structure does not change based on the module's inputs. Consider using a "
                 "constant container instead (e.g. for `list`, use a `tuple` instead. for `dict`, use a "
                 "`NamedTuple` instead). If you absolutely need this and know the side effects, pass strict=False "
                 "to trace() to allow this behavior.")


def _check_output(out: Any, strict: bool) -> None:
    if isinstance(out, Tensor):
        return
    if isinstance(out, tuple):
        for o in out:
            _check_output(o, strict)
        return
    if isinstance(out, list):
        if strict:
            warn(_LIST_OR_DICT.format("list"), TracerWarning, stacklevel=2)
        for o in out:
            _check_output(o, strict)
        return
    if isinstance(out, dict):
        if strict:
            raise RuntimeError(_LIST_OR_DICT.format("dict"))
        for o in out.values():
            _check_output(o, strict)
        return
    raise RuntimeError(
        "Only tensors, lists, tuples of tensors, or dictionary of tensors can be output from traced functions"
    )


def _as_args(example_inputs: Any) -> tuple:
    if isinstance(example_inputs, (Tensor, dict)):
        return (example_inputs,)
    return example_inputs if isinstance(example_inputs, tuple) else tuple(example_inputs)


def trace(func: Any, example_inputs: Any = None, optimize: Any = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True, _force_outplace: bool = False,
          _module_class: Any = None, _compilation_unit: Any = None, example_kwarg_inputs: dict[str, Any] | None = None,
          _store_inputs: bool = True) -> Any:
    """Trace ``func`` (a function or an ``nn.Module``) on ``example_inputs`` (a tensor or a tuple of arguments)
    or ``example_kwarg_inputs``: run it once with :func:`is_tracing` True and return a :class:`ScriptFunction`,
    or a :class:`TopLevelTracedModule` copy of the module that shares its parameters (a
    :class:`RecursiveScriptModule` when the module has ``@export`` methods, as torch scripts those). Both run
    the Python code when called (so, unlike torch's traces, they follow data-dependent control flow). A
    scripted or traced input is returned as is."""
    _deprecated("trace", "`torch.compile` or `torch.export`")
    if optimize is not None:
        warn("`optimize` is deprecated and has no effect. Use `with torch.jit.optimized_execution()` "
             "instead", FutureWarning, stacklevel=2)
    if isinstance(func, ScriptModule):
        warn("The input to trace is already a ScriptModule, tracing it is a no-op. Returning the object "
             "as is.", stacklevel=2)
        return func
    if isinstance(func, ScriptFunction):
        return func
    owner = getattr(func, "__self__", None)
    if isinstance(func, Module) or (isinstance(owner, Module) and func.__name__ == "forward"):
        if example_inputs is None:
            if not isinstance(example_kwarg_inputs, dict):
                raise RuntimeError("example_kwarg_inputs should be a dict")
            example_inputs = example_kwarg_inputs
        mod = func if isinstance(func, Module) else owner
        return _trace_methods(mod, {"forward": example_inputs}, strict, isinstance(example_kwarg_inputs, dict))
    if isinstance(owner, Module):
        raise AttributeError("trace doesn't support compiling individual module's functions.\nPlease use trace_module")
    if example_kwarg_inputs is not None:
        _run_traced(func, (), dict(example_kwarg_inputs), strict)
    else:
        _run_traced(func, _as_args(example_inputs), {}, strict)
    _mark(func)
    return ScriptFunction(func, scripted=False)


def trace_module(mod: Module, inputs: dict[str, Any], optimize: Any = None, check_trace: bool = True,
                 check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True,
                 _force_outplace: bool = False, _module_class: Any = None, _compilation_unit: Any = None,
                 example_inputs_is_kwarg: bool = False, _store_inputs: bool = True) -> Module:
    """Trace several methods of ``mod``: ``inputs`` maps a method name to its example arguments. Each method
    runs once under tracing; the :class:`TopLevelTracedModule` copy returned runs them all as Python."""
    _deprecated("trace_method", "`torch.compile` or `torch.export`")
    if not isinstance(mod, Module):
        raise AttributeError("expected torch.nn.Module as the first argument")
    if not isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    return _trace_methods(mod, inputs, strict, example_inputs_is_kwarg)


def _trace_methods(mod: Module, inputs: dict[str, Any], strict: bool, is_kwarg: bool) -> Module:
    if isinstance(mod, ScriptModule):
        return mod
    for name, example in inputs.items():
        method = mod if name == "forward" else getattr(mod, name)  # forward through __call__: hooks run too
        if is_kwarg and isinstance(example, dict):
            _run_traced(method, (), example, strict)
        else:
            _run_traced(method, _as_args(example), {}, strict)
    if _has_exports(mod):  # torch scripts such a module instead (its exported methods need compiling)
        return _wrap(mod, RecursiveScriptModule, RecursiveScriptModule, True, {})
    return _wrap(mod, TopLevelTracedModule, TracedModule, True, {})


def _has_exports(mod: Module) -> bool:
    return any(getattr(v, "_torchscript_modifier", None) == FunctionModifiers.EXPORT
               for klass in type(mod).__mro__ for v in vars(klass).values())
