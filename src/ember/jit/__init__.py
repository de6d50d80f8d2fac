"""``torch.jit`` with eager semantics, so model code written for torch runs under ``import ember as torch``.

ember has no TorchScript compiler. What model code needs from ``torch.jit`` behaves as torch's does in eager
Python: ``annotate`` returns its value, ``ignore``/``unused``/``export`` mark the function as torch marks it and
return it, ``fork`` runs the call at once. ``script`` and ``trace`` return :class:`ScriptFunction` /
:class:`ScriptModule` objects that run the Python code (with ``is_scripting()`` True in scripted code, so it takes
the branches torch's compiled code takes; no TorchScript graph: ``.graph`` raises, ``.code`` is Python source),
and ``save``/``load`` use ember's own archive format (torch's TorchScript files are refused with an
explanation). See each submodule's docstring for the remaining differences.
"""

from collections.abc import Iterator

from ..futures import Future
from . import annotations
from ._internal import (  # noqa: F401 (private names code uses)
    Attribute,
    Error,
    Final,
    FunctionModifiers,
    _drop,
    _overload,
    _overload_method,
    annotate,
    enable_onednn_fusion,
    export,
    export_opnames,
    fork,
    fuser,
    ignore,
    interface,
    is_scripting,
    isinstance,
    jit_module_from_flatbuffer,
    last_executed_optimized_graph,
    onednn_fusion_enabled,
    optimized_execution,
    run_frozen_optimizations,
    save_jit_module_to_flatbuffer,
    set_fusion_strategy,
    set_module,
    strict_fusion,
    unused,
    wait,
)
from ._script import (
    CompilationUnit,
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    TopLevelTracedModule,
    TracedModule,
    freeze,
    optimize_for_inference,
    script,
    script_if_tracing,
    script_method,
)
from ._serialization import load, save
from ._trace import TracerWarning, TracingCheckError, is_tracing, trace, trace_module

__all__ = [
    "Attribute",
    "CompilationUnit",
    "Error",
    "Final",
    "Future",
    "Iterator",
    "RecursiveScriptModule",
    "ScriptFunction",
    "ScriptModule",
    "ScriptWarning",
    "TopLevelTracedModule",
    "TracedModule",
    "TracerWarning",
    "TracingCheckError",
    "annotate",
    "annotations",
    "enable_onednn_fusion",
    "export",
    "export_opnames",
    "fork",
    "freeze",
    "fuser",
    "ignore",
    "interface",
    "is_scripting",
    "is_tracing",
    "isinstance",
    "jit_module_from_flatbuffer",
    "last_executed_optimized_graph",
    "load",
    "onednn_fusion_enabled",
    "optimize_for_inference",
    "optimized_execution",
    "run_frozen_optimizations",
    "save",
    "save_jit_module_to_flatbuffer",
    "script",
    "script_if_tracing",
    "script_method",
    "set_fusion_strategy",
    "set_module",
    "strict_fusion",
    "trace",
    "trace_module",
    "unused",
    "wait",
]


class ScriptWarning(Warning):
    """A warning about TorchScript use (torch raises it for deprecated scripting patterns)."""


ScriptWarning.__module__ = "ember.jit"
