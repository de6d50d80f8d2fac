"""``torch.jit.script`` and the classes it returns, run eagerly.

ember has no TorchScript compiler: a scripted function is a :class:`ScriptFunction` that calls the Python
function, and a scripted module is a copy of the module whose class is a subclass of both
:class:`RecursiveScriptModule` and the module's own class, so ``isinstance(m, ScriptModule)`` holds while every
method, property, ``super()`` call and container protocol of the original class keeps working. The copy shares
the original's parameters and buffers (as torch's does) and has its own training flag, hooks and attributes.

Scripted code runs with ``is_scripting()`` True, as compiled code does in torch, so models take their
TorchScript branches: a scripted function's body, and a scripted module's ``forward`` and ``@export`` methods.
Its ``@ignore`` methods run with it False (they are Python calls in torch too), its ``@unused`` methods raise
:class:`Error` when scripted code calls them (torch's compiled stub) and run normally when Python calls them.

What cannot exist without a compiler is refused clearly: ``.graph`` raises, ``.code`` returns Python source,
and nothing is checked for TorchScript compatibility. Known differences: ``isinstance(scripted,
OriginalClass)`` is True in ember (False in torch); module-level ``@ignore``/``@unused`` functions called from
scripted code run as plain calls; :func:`freeze` keeps parameters as parameters (torch folds them into
constants).
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import io
import textwrap
import types
import typing
from collections.abc import Callable
from typing import Any

from .._core.warn import warn
from ..nn.modules.module import Module
from ._internal import Attribute, Error, FunctionModifiers, _deprecated, _run_scripting, is_scripting

__all__ = [
    "CompilationUnit",
    "RecursiveScriptModule",
    "ScriptFunction",
    "ScriptModule",
    "TopLevelTracedModule",
    "TracedModule",
    "freeze",
    "optimize_for_inference",
    "script",
    "script_if_tracing",
    "script_method",
]


def _no_graph(what: str) -> RuntimeError:
    return RuntimeError(
        f"ember runs scripted and traced code eagerly in Python, so there is no TorchScript {what}; "
        "`.code` returns the Python source that runs"
    )


def _source(fn: Any) -> str:
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        raise RuntimeError(f"the Python source of {fn!r} is not available: {e}") from None


def _write(obj: Any, f: Any, extra_files: dict[str, Any] | None) -> None:
    from ._serialization import _save

    _save(obj, f, extra_files)


def _to_buffer(obj: Any, extra_files: dict[str, Any] | None) -> bytes:
    buf = io.BytesIO()
    _write(obj, buf, extra_files)
    return buf.getvalue()


# ---- modules -------------------------------------------------------------------------------------------------
def _original_class(cls: type) -> type:
    """The user's module class behind a scripted/traced class (the class itself for anything else)."""
    return cls.__dict__.get("_jit_original", cls)


class ScriptModule(Module):
    """``torch.jit.ScriptModule``: the base class of scripted and traced modules. ember runs their Python
    methods; ``code`` gives ``forward``'s Python source and ``graph`` raises (there is no TorchScript IR)."""

    __repr__ = Module.__repr__  # the scripted form prints as torch's does, whatever the original's repr

    @property
    def original_name(self) -> str:
        """The name of the class this module was scripted or traced from."""
        return _original_class(type(self)).__name__

    @property
    def code(self) -> str:
        """The Python source of ``forward`` (torch shows the compiled TorchScript code here)."""
        return _source(type(self).forward)

    @property
    def graph(self) -> Any:
        """torch's TorchScript graph; ember has none, so this raises RuntimeError."""
        raise _no_graph("graph")

    @property
    def inlined_graph(self) -> Any:
        """torch's inlined TorchScript graph; ember has none, so this raises RuntimeError."""
        raise _no_graph("graph")

    def save(self, f: Any, _extra_files: dict[str, Any] | None = None) -> None:
        """Same as :func:`ember.jit.save` ``(self, f, _extra_files)``."""
        _write(self, f, _extra_files)

    def save_to_buffer(self, _extra_files: dict[str, Any] | None = None) -> bytes:
        """The bytes :meth:`save` would write."""
        return _to_buffer(self, _extra_files)

    def __reduce_ex__(self, protocol: Any) -> Any:
        orig = type(self).__dict__.get("_jit_original")
        if orig is None:  # a user's subclass of ScriptModule pickles as any module does
            return super().__reduce_ex__(protocol)
        return _rebuild_script_module, (type(self).__bases__[0], orig, self.__dict__)


class RecursiveScriptModule(ScriptModule):
    """What :func:`script` returns for a module (and its submodules); prints as
    ``RecursiveScriptModule(original_name=Net ...)`` as torch does."""

    def _get_name(self) -> str:
        return "RecursiveScriptModule"

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"


class TracedModule(ScriptModule):
    """A traced submodule; prints as ``Linear(original_name=Linear)`` as torch does."""

    def _get_name(self) -> str:
        return self.original_name

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"


class TopLevelTracedModule(TracedModule):
    """What :func:`ember.jit.trace` returns for a module."""


_KINDS = (RecursiveScriptModule, TracedModule, TopLevelTracedModule)
_classes: dict[tuple[type, type], type] = {}


def _in_mode(fn: Callable[..., Any], scripting: bool) -> Callable[..., Any]:
    """``fn`` (a method) run with ``is_scripting()`` returning ``scripting``."""

    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _run_scripting(scripting, fn, self, *args, **kwargs)

    return method


def _unused_stub(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (an ``@unused`` method): raises when scripted code calls it, runs when Python does."""

    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if is_scripting():
            raise Error("RuntimeError: This Python function is annotated to be ignored and cannot be run")
        return fn(self, *args, **kwargs)

    return method


def _method_overrides(kind: type, orig: type) -> dict[str, Any]:
    """The methods of ``orig`` that a ``kind`` copy runs in scripting mode, in Python mode or as stubs."""
    if kind is not RecursiveScriptModule:  # traced code was recorded outside scripting
        return {"forward": _in_mode(orig.forward, False)}
    out: dict[str, Any] = {}
    for klass in reversed(orig.__mro__):
        for name, fn in vars(klass).items():
            if not inspect.isfunction(fn):
                continue
            modifier = getattr(fn, "_torchscript_modifier", None)
            if name == "forward" or modifier == FunctionModifiers.EXPORT:
                out[name] = _in_mode(fn, True)
            elif modifier == FunctionModifiers.IGNORE:
                out[name] = _in_mode(fn, False)
            elif modifier == FunctionModifiers.UNUSED:
                out[name] = _unused_stub(fn)
            else:
                out.pop(name, None)  # a subclass's plain override replaces a marked method
    return out


def _script_class(kind: type, orig: type) -> type:
    """The class (cached) of a ``kind`` copy of an ``orig`` module: ``kind`` first, then ``orig``'s own MRO."""
    cls = _classes.get((kind, orig))
    if cls is None:
        ns = {"__module__": kind.__module__, "__qualname__": kind.__qualname__, "__doc__": kind.__doc__,
              "_jit_original": orig, **_method_overrides(kind, orig)}
        cls = _classes[(kind, orig)] = type(kind.__name__, (kind, orig), ns)
    return cls


def _copy_attr(value: Any) -> Any:
    if isinstance(value, Attribute):
        return value.value
    if isinstance(value, (dict, set, list)):  # hooks, member stores, plain containers: the copy's own
        return copy.copy(value)
    return value


def _wrap(module: Module, kind: type, child_kind: type, keep_scripted: bool, memo: dict[int, Module]) -> Module:
    """A ``kind`` copy of ``module`` sharing its tensors; submodules become ``child_kind`` copies (those that
    are already scripted or traced stay as they are when ``keep_scripted``)."""
    done = memo.get(id(module))
    if done is not None:
        return done
    obj = object.__new__(_script_class(kind, _original_class(type(module))))
    memo[id(module)] = obj
    state = {name: _copy_attr(v) for name, v in module.__dict__.items()}
    state["_modules"] = type(module._modules)(
        (name, c if c is None or (keep_scripted and isinstance(c, ScriptModule))
         else _wrap(c, child_kind, child_kind, keep_scripted, memo))
        for name, c in module._modules.items()
    )
    obj.__dict__.update(state)
    return obj


def _rebuild_script_module(kind: type, orig: type, state: dict[str, Any]) -> Module:
    """Unpickling: a ``kind`` copy of an ``orig`` module with pickled ``state``."""
    if kind not in _KINDS or not (isinstance(orig, type) and issubclass(orig, Module)):
        raise RuntimeError(f"invalid scripted module in archive: {kind!r}, {orig!r}")
    obj = object.__new__(_script_class(kind, orig))
    obj.__setstate__(state)
    return obj


# ---- functions -----------------------------------------------------------------------------------------------
def _type_str(t: Any) -> str:
    """A Python annotation written the way TorchScript schemas write types."""
    if t is inspect.Parameter.empty:
        return "Tensor"
    if t is None or t is type(None):
        return "NoneType"
    if t is typing.Any:
        return "Any"
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is list:
        return f"{_type_str(args[0])}[]"
    if origin is tuple:
        return f"({', '.join(_type_str(a) for a in args)})"
    if origin is dict:
        return f"Dict({_type_str(args[0])}, {_type_str(args[1])})"
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return f"{_type_str(rest[0])}?"
        return f"Union({', '.join(_type_str(a) for a in args)})"
    return getattr(t, "__name__", str(t))


def _default_str(v: Any) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, float):
        text = f"{v:.17g}"
        return text if any(c in text for c in ".ena") else text + "."
    return repr(v)


def _schema(fn: Callable[..., Any], name: str) -> str:
    """``name(Tensor x, int n=2) -> Tensor`` from ``fn``'s signature; unannotated arguments are Tensors, as
    TorchScript assumes, and an unannotated return is ``Any`` (TorchScript would infer it from the body)."""
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable string annotations: fall back to what the signature holds
        hints = {}
    parts = []
    for p in sig.parameters.values():
        text = f"{_type_str(hints.get(p.name, p.annotation))} {p.name}"
        parts.append(text if p.default is inspect.Parameter.empty else f"{text}={_default_str(p.default)}")
    ret = hints.get("return", sig.return_annotation)
    return f"{name}({', '.join(parts)}) -> {'Any' if ret is inspect.Parameter.empty else _type_str(ret)}"


class ScriptFunction:
    """``torch.jit.ScriptFunction``: a scripted or traced function. Calling it calls the Python function (same
    results, same errors), with ``is_scripting()`` True if it was scripted. ``code`` is its Python source,
    ``schema`` its signature in TorchScript notation; ``graph`` raises, as there is no TorchScript IR."""

    def __init__(self, fn: Callable[..., Any], qualified_name: str | None = None, source: str | None = None,
                 scripted: bool = True) -> None:
        self._fn = fn
        self._scripted = scripted  # False for a traced function: its code runs outside scripting mode
        module = getattr(fn, "__module__", None)
        prefix = "__torch__." if module in (None, "__main__") else f"__torch__.{module}."
        self._qualified_name = qualified_name or prefix + fn.__name__
        self._source = source

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _run_scripting(self._scripted, self._fn, *args, **kwargs)

    @property
    def name(self) -> str:
        """The function's name."""
        return self._fn.__name__

    @property
    def qualified_name(self) -> str:
        """``__torch__.<module>.<name>``, the name TorchScript registers (torch also mangles repeats)."""
        return self._qualified_name

    @property
    def code(self) -> str:
        """The Python source that runs (torch shows the compiled TorchScript code here)."""
        return self._source if self._source is not None else _source(self._fn)

    @property
    def schema(self) -> str:
        """The signature as TorchScript writes it, e.g. ``f(Tensor x, int n=2) -> Tensor``."""
        return _schema(self._fn, self.name)

    @property
    def graph(self) -> Any:
        """torch's TorchScript graph; ember has none, so this raises RuntimeError."""
        raise _no_graph("graph")

    @property
    def inlined_graph(self) -> Any:
        """torch's inlined TorchScript graph; ember has none, so this raises RuntimeError."""
        raise _no_graph("graph")

    def graph_for(self, *args: Any, **kwargs: Any) -> Any:
        """torch's graph specialised for these inputs; ember has none, so this raises RuntimeError."""
        raise _no_graph("graph")

    def save(self, f: Any, _extra_files: dict[str, Any] | None = None) -> None:
        """Same as :func:`ember.jit.save` ``(self, f, _extra_files)``."""
        _write(self, f, _extra_files)

    def save_to_buffer(self, _extra_files: dict[str, Any] | None = None) -> bytes:
        """The bytes :meth:`save` would write."""
        return _to_buffer(self, _extra_files)

    def __reduce__(self) -> Any:
        # by reference: loading imports the function's module and accepts only a scripted/traced function there
        fn = self._fn
        return _scripted_function, (fn.__module__, fn.__qualname__, self._scripted)

    def __copy__(self) -> ScriptFunction:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ScriptFunction:
        return self  # as Python copies functions


ScriptFunction.__module__ = "ember.jit"


def _mark(fn: Any) -> None:
    """Record that ``script``/``trace`` was applied to ``fn``: archives may then name it (see ``load``)."""
    if inspect.isfunction(fn):
        fn.__ember_jit__ = True


def _scripted_function(module: str, qualname: str, scripted: bool = True) -> ScriptFunction:
    """Unpickling: the function ``module.qualname`` if it is a ScriptFunction (``@script``-decorated) or a
    function that ``script``/``trace`` was applied to; anything else an archive names is refused."""
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if isinstance(obj, ScriptFunction):
        return obj
    if inspect.isfunction(obj) and getattr(obj, "__ember_jit__", False):
        return ScriptFunction(obj, scripted=bool(scripted))
    raise RuntimeError(f"the archive names {module}.{qualname}, which is not a scripted or traced function")


# ---- script --------------------------------------------------------------------------------------------------
def script(obj: Any, optimize: None = None, _frames_up: int = 0, _rcb: Callable[[str], Any] | None = None,
           example_inputs: Any = None) -> Any:
    """Script a module, function or class, eagerly: a module gives a :class:`RecursiveScriptModule` copy
    sharing its parameters and buffers, a function a :class:`ScriptFunction`; classes, lists and dicts come back
    unchanged, and something already scripted is returned as is. Lambdas are refused, as torch refuses them."""
    _deprecated("script", "`torch.compile` or `torch.export`")
    if optimize is not None:
        warn("`optimize` is deprecated and has no effect. Use `with torch.jit.optimized_execution()` "
             "instead", FutureWarning, stacklevel=2)
    if isinstance(obj, (ScriptModule, ScriptFunction)):
        return obj
    if isinstance(obj, Module):
        return _wrap(obj, RecursiveScriptModule, RecursiveScriptModule, True, {})
    if inspect.isclass(obj) or isinstance(obj, (list, dict)):
        return obj
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        if obj.__name__ == "<lambda>":
            code = obj.__code__
            raise RuntimeError(f"Expected a single top-level function: {code.co_filename}:{code.co_firstlineno}")
        _mark(obj)
        scripted = ScriptFunction(obj)
        scripted.__name__ = "ScriptFunction"  # what torch sets on a scripted (not a traced) function
        return scripted
    if type(obj).__module__ == "builtins":
        raise TypeError(f"{type(obj)!r} is a built-in class")
    raise RuntimeError(f"cannot script a {type(obj).__name__} object: pass an nn.Module, a function or a class")


def script_method(fn: Any) -> Any:
    """The method, run in scripting mode (the legacy ``ScriptModule`` API compiled it)."""
    _deprecated("script_method", "`torch.compile` or `torch.export`")
    return _in_mode(fn, True)


def script_if_tracing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` wrapped the way torch wraps it (torch scripts it lazily under tracing; ember just calls it)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    wrapper.__original_fn = fn  # type: ignore[attr-defined]
    wrapper.__script_if_tracing_wrapper = True  # type: ignore[attr-defined]
    return wrapper


class CompilationUnit:
    """``torch.jit.CompilationUnit(src)``: defines the functions of TorchScript source (Python syntax), run as
    Python with ``torch`` bound to ember; each is a :class:`ScriptFunction` attribute of the unit."""

    def __init__(self, lang: str | None = None, _frames_up: int = 0) -> None:
        self._functions: dict[str, ScriptFunction] = {}
        if lang is not None:
            self.define(lang)

    def define(self, src: str, rcb: Any = None, _frames_up: int = 0) -> None:
        """Define every top-level function of ``src``."""
        import ember

        src = textwrap.dedent(src)
        tree = ast.parse(src)
        ns: dict[str, Any] = {"torch": ember, "Tensor": ember.Tensor, **{n: getattr(typing, n) for n in (
            "Any", "Dict", "List", "Optional", "Tuple", "Union")}}
        exec(compile(tree, "<ember.jit.CompilationUnit>", "exec"), ns)  # noqa: S102 (torch compiles the same source)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                self._functions[node.name] = ScriptFunction(ns[node.name], source=ast.get_source_segment(src, node))

    def find_function(self, name: str) -> ScriptFunction | None:
        """The function ``name``, or None."""
        return self._functions.get(name)

    def get_functions(self) -> list[ScriptFunction]:
        """Every function defined so far."""
        return list(self._functions.values())

    def __getattr__(self, name: str) -> ScriptFunction:
        fn = self.__dict__.get("_functions", {}).get(name)
        if fn is None:
            raise AttributeError(f"'CompilationUnit' has no attribute '{name}'")
        return fn


CompilationUnit.__module__ = "ember.jit"


# ---- freeze ----------------------------------------------------------------------------------------------------
def freeze(mod: ScriptModule, preserved_attrs: list[str] | None = None, optimize_numerics: bool = True) -> Module:
    """An eval-mode :class:`RecursiveScriptModule` copy of a scripted or traced module in eval mode (torch's
    requirements and errors). Unlike torch, parameters stay parameters (shared with ``mod``): ember has no
    graph to fold them into as constants."""
    _deprecated("freeze")
    if not isinstance(mod, ScriptModule):
        raise RuntimeError(
            "Freezing expects a ScriptModule as input. Please use torch.jit.script or torch.jit.trace to script "
            "your 'nn.Module'."
        )
    if mod.training:
        raise RuntimeError(
            "Freezing is currently only implemented for modules in eval mode. Please call .eval() on your module "
            "before freezing."
        )
    return _wrap(mod, RecursiveScriptModule, RecursiveScriptModule, False, {})


def optimize_for_inference(mod: ScriptModule, other_methods: list[str] | None = None) -> Module:
    """:func:`freeze` after putting ``mod`` in eval mode (ember has no graph passes to run beyond that)."""
    _deprecated("optimize_for_inference")
    if not isinstance(mod, ScriptModule):
        raise RuntimeError(
            "optimize_for_inference expects a ScriptModule as input. Please use torch.jit.script or "
            "torch.jit.trace to script your 'nn.Module'."
        )
    return freeze(mod.eval(), preserved_attrs=other_methods)
