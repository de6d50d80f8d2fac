"""``ember.fx._symbolic_trace``: the Tracer (runs a module's forward on Proxies, with Module calls and parameter
reads intercepted) and ``symbolic_trace``/``wrap``."""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import sys
import types
from collections.abc import Callable
from typing import Any

from .._core.warn import warn
from ._names import register
from .graph import Graph
from .node import Argument, Node
from .proxy import Proxy, TracerBase

__all__ = ["Tracer", "symbolic_trace", "wrap", "PH", "ProxyableClassMeta"]

_VARSTUFF = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
_MISSING = object()
_wrapped_fns_to_patch: dict[tuple[int, str], dict] = {}   # (id(globals), name) -> globals, from wrap()


def _annotations(fn: Callable) -> dict[str, Any]:
    """``fn``'s annotations; ember's own (postponed, as strings) evaluated, as torch's are objects, and
    ``Any`` dropped (torch leaves those parameters unannotated: ``Sequential.forward(self, input)``)."""
    if (getattr(fn, "__module__", None) or "").startswith("ember."):
        try:
            return {k: v for k, v in inspect.get_annotations(fn, eval_str=True).items() if v is not Any}
        except Exception:   # an annotation naming something only imported for type checking
            return {}
    return getattr(fn, "__annotations__", {})


class PHBase:
    """A placeholder marker for ``concrete_args`` (the argument stays an input of the graph)."""

    def __repr__(self) -> str:
        return "PH"


PH = PHBase()


def _assert(condition: Any, message: str) -> Any:
    """torch._assert: raise AssertionError(message) when ``condition`` is false (the guard concrete_args add);
    recorded as a node when ``condition`` is traced."""
    if isinstance(condition, Proxy):
        return condition.tracer.create_proxy("call_function", _assert, (condition, message), {})
    if not condition:
        raise AssertionError(message)


register(_assert, "torch._assert")


class ProxyableClassMeta(type):
    """A metaclass whose instances, constructed from Proxies during tracing, become call_function Nodes."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        found: list[Proxy] = []

        def check(a: Any) -> None:
            if isinstance(a, Proxy):
                found.append(a)
        from .node import map_aggregate
        map_aggregate(args, check)
        map_aggregate(kwargs, check)
        if found:
            return found[0].tracer.create_proxy("call_function", cls, args, kwargs)
        return super().__call__(*args, **kwargs)


def _patch_function(fn: types.FunctionType, nargs: int) -> Callable:
    """``fn`` with its ``*args``/``**kwargs``/keyword-only parameters taking plain positional values (so the
    tracer can pass one Proxy for each)."""
    co = fn.__code__
    flags = co.co_flags & ~_VARSTUFF
    new_co = co.replace(co_argcount=nargs, co_kwonlyargcount=0, co_posonlyargcount=0, co_flags=flags)
    return types.FunctionType(new_co, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)


class Tracer(TracerBase):
    """Turns a Module or function into a Graph by running it on Proxies. Override ``is_leaf_module`` (which
    submodules stay single call_module Nodes), ``create_proxy``/``create_node`` (metadata),
    ``call_module`` or ``getattr`` to customise."""

    def __init__(self, autowrap_modules: tuple[types.ModuleType, ...] = (math,),
                 autowrap_functions: tuple[Callable, ...] = (), param_shapes_constant: bool = False) -> None:
        super().__init__()
        self._autowrap_function_ids: set[int] = {
            id(value) for m in autowrap_modules for name, value in m.__dict__.items()
            if not name.startswith("_") and callable(value)}
        self._autowrap_function_ids.update(id(f) for f in autowrap_functions)
        self._autowrap_search: list[types.ModuleType] = list(autowrap_modules)
        self.param_shapes_constant = param_shapes_constant
        self.submodule_paths: dict | None = None
        self.root_module_name = ""
        self.scope = None
        self.module_stack: dict[str, tuple[str, Any]] = {}
        self.node_name_to_scope: dict[str, tuple[str, type]] = {}
        self.proxy_buffer_attributes = True

    # ---- arguments
    def create_arg(self, a: Any) -> Argument:
        """Parameters and tensors held by the root become get_attr Nodes (other tensors are stored on the root as
        ``_tensor_constant{i}``); the rest as TracerBase lowers it."""
        import ember
        from ember.nn import Module, Parameter

        if isinstance(a, Parameter):
            for n, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", n, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, Module):
            for n_, p_ in self.root.named_modules():
                if a is p_:
                    return self.create_node("get_attr", n_, (), {})
            raise NameError("module is not installed as a submodule")
        if isinstance(a, ember.Tensor):
            qualname = self.tensor_attrs.get(id(a))
            if qualname is None:
                i = 0
                while True:
                    qualname = f"_tensor_constant{i}"
                    if not hasattr(self.root, qualname):
                        break
                    i += 1
                self.tensor_attrs[id(a)] = qualname
                setattr(self.root, qualname, a)
            return self.create_node("get_attr", qualname, (), {})
        return super().create_arg(a)

    # ---- modules
    def is_leaf_module(self, m: Any, module_qualified_name: str) -> bool:
        """ember.nn's own modules (but Sequential) are leaves: one call_module Node, not traced through."""
        from ember.nn import Sequential

        mod = type(m).__module__
        return (mod.startswith("ember.nn") or mod.startswith("ember.ao.nn")) and not isinstance(m, Sequential)

    def path_of_module(self, mod: Any) -> str:
        """The qualified name of ``mod`` inside the root (NameError when it is not a submodule)."""
        if self.submodule_paths:
            path = self.submodule_paths.get(mod)
            if path is None:
                raise NameError("module is not installed as a submodule")
            return path
        for n, p in self.root.named_modules():
            if mod is p:
                return n
        raise NameError("module is not installed as a submodule")

    def call_module(self, m: Any, forward: Callable, args: tuple, kwargs: dict) -> Any:
        """A submodule called during tracing: a call_module Node for a leaf, else trace through its forward."""
        module_qualified_name = self.path_of_module(m)
        self.module_stack[module_qualified_name] = (module_qualified_name, type(m))
        try:
            if not self.is_leaf_module(m, module_qualified_name):
                return forward(*args, **kwargs)
            return self.create_proxy("call_module", module_qualified_name, args, kwargs)
        finally:
            self.module_stack.pop(module_qualified_name, None)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        """A module attribute read during tracing: the root's parameters (and buffers) become get_attr Proxies."""
        import ember
        from ember.nn import Parameter

        def lookup(pairs: Any) -> Proxy | None:
            for n, p in pairs:
                if attr_val is p:
                    if n not in parameter_proxy_cache:
                        parameter_proxy_cache[n] = self.create_proxy("get_attr", n, (), {})
                    return parameter_proxy_cache[n]
            return None
        if isinstance(attr_val, Parameter):
            found = lookup(self.root.named_parameters())
            if found is not None:
                return found
        if self.proxy_buffer_attributes and isinstance(attr_val, ember.Tensor):
            found = lookup(self.root.named_buffers())
            if found is not None:
                return found
        return attr_val

    def create_node(self, kind: str, target: Any, args: tuple, kwargs: dict, name: str | None = None,
                    type_expr: Any | None = None) -> Node:
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        if self.module_stack and kind not in ("placeholder", "output"):
            node.meta["nn_module_stack"] = dict(self.module_stack)
        return node

    # ---- the root's inputs
    def create_args_for_root(self, root_fn: Callable, is_module: bool,
                             concrete_args: dict[str, Any] | tuple | None = None) -> tuple[Callable, list]:
        """One placeholder per parameter of ``root_fn`` (``*args``/``**kwargs`` included); ``concrete_args``
        fixes some to constants."""
        fn = inspect.unwrap(root_fn)
        annotations = _annotations(fn)
        co = fn.__code__
        total_args = co.co_argcount + co.co_kwonlyargcount
        names_iter = iter(co.co_varnames)
        args: list[Any] = []
        skip = 0
        if is_module:
            if total_args == 0:
                raise RuntimeError("``self`` argument cannot be part of *args expansion!")
            skip = 1
            next(names_iter)
            args.append(self.root)
        sig = inspect.signature(fn)
        arg_names = [next(names_iter) for _ in range(skip, total_args)]
        if isinstance(concrete_args, tuple):
            if len(concrete_args) != len(arg_names):
                raise RuntimeError(f"Tracing expected {len(arg_names)} arguments but got {len(concrete_args)} "
                                   "concrete arguments")
            concrete_args = dict(zip(arg_names, concrete_args, strict=False))

        def placeholder(name: str) -> Any:
            if concrete_args is not None and name in concrete_args:
                return self._concrete_placeholder(name, concrete_args[name], sig)
            default: tuple = ()
            if name[0] != "*" and sig.parameters[name].default is not inspect.Parameter.empty:
                default = (sig.parameters[name].default,)
            return self.create_proxy("placeholder", name, default, {}, type_expr=annotations.get(name))

        args.extend(placeholder(n) for n in arg_names)
        if co.co_kwonlyargcount > 0 or co.co_flags & _VARSTUFF:
            if co.co_flags & inspect.CO_VARARGS:
                args.append(placeholder("*" + next(names_iter)))
            if co.co_flags & inspect.CO_VARKEYWORDS:
                args.append(placeholder("**" + next(names_iter)))
            root_fn = _patch_function(root_fn, len(args))
        return root_fn, args

    def _concrete_placeholder(self, name: str, value: Any, sig: inspect.Signature) -> Any:
        param = sig.parameters[name]
        default = () if param.default is inspect.Parameter.empty else (param.default,)
        out = self.create_proxy("placeholder", f"{name}_1", default, {})
        if isinstance(value, PHBase):
            return out
        if type(value) in (bool, int, float, str, complex):
            _assert(out == value, f"{name} has been specialized to have value {value} but got another value")
        elif value is None:
            self.create_proxy("call_function", _assert_is_none,
                              (out, f"{name} has been specialized to have value None but got another value"), {})
        else:
            warn(f"Was not able to add assertion to guarantee correct input {name} to specialized function. "
                 "It is up to the user to make sure that your inputs match the inputs you specialized the "
                 "function with.", stacklevel=3)
        return value

    # ---- tracing
    def trace(self, root: Any, concrete_args: dict[str, Any] | None = None) -> Graph:
        """Trace ``root`` (a Module or a function) and return its Graph (also kept as ``self.graph``)."""
        from ember import overrides

        with overrides._held():   # ember functions reached with Proxies dispatch to Proxy.__torch_function__
            return self._trace(root, concrete_args)

    def _trace(self, root: Any, concrete_args: dict[str, Any] | None) -> Graph:
        from ember.nn import Module

        if isinstance(root, Module):
            self.root = root
            fn = type(root).forward
            self.submodule_paths = {mod: name for name, mod in root.named_modules()}
        else:
            self.root = Module()
            fn = root
        self.graph = Graph(tracer_cls=getattr(self, "__class__", None))
        self.tensor_attrs: dict[int, str] = {}
        self._collect_tensor_attrs(self.root, [])
        fn_globals = fn.__globals__
        fn, args = self.create_args_for_root(fn, isinstance(root, Module), concrete_args)
        cache: dict[str, Any] = {}
        orig_getattr, orig_call = Module.__getattr__, Module.__call__
        tracer = self

        @functools.wraps(orig_getattr)
        def module_getattr_wrapper(mod: Any, attr: str) -> Any:
            return tracer.getattr(attr, orig_getattr(mod, attr), cache)

        @functools.wraps(orig_call)
        def module_call_wrapper(mod: Any, *args: Any, **kwargs: Any) -> Any:
            def forward(*args: Any, **kwargs: Any) -> Any:
                return orig_call(mod, *args, **kwargs)
            return tracer.call_module(mod, forward, args, kwargs)

        patches = self._global_patches(fn_globals)
        Module.__getattr__, Module.__call__ = module_getattr_wrapper, module_call_wrapper
        try:
            for g, name, new in patches:
                g[name] = new
            result = fn(*args)
            self.create_node("output", "output", (self.create_arg(result),), {},
                             type_expr=_annotations(inspect.unwrap(fn)).get("return", None))
        finally:
            Module.__getattr__, Module.__call__ = orig_getattr, orig_call
            for g, name, new in reversed(patches):
                if new.__wrapped__ is _MISSING:
                    del g[name]
                else:
                    g[name] = new.__wrapped__
        self.submodule_paths = None
        return self.graph

    def _collect_tensor_attrs(self, m: Any, prefix: list[str]) -> None:
        import ember
        for k, v in m.__dict__.items():
            if isinstance(v, ember.Tensor):
                self.tensor_attrs[id(v)] = ".".join([*prefix, k])
        for k, v in m.named_children():
            self._collect_tensor_attrs(v, [*prefix, k])

    def _global_patches(self, fn_globals: dict) -> list[tuple[dict, str, Callable]]:
        """(namespace, name, wrapper) for every ``wrap``-ed function and every autowrapped function (``math.*``,
        reached by a global name or through its module): calls with Proxies among their arguments become
        call_function Nodes."""
        out = []
        for (_gid, name), g in _wrapped_fns_to_patch.items():
            if name in g:
                out.append((g, name, self._proxy_caller(g[name])))
            elif name in vars(builtins):   # wrap("len"): shadow the builtin in that module while tracing
                out.append((g, name, self._proxy_caller(getattr(builtins, name), missing=True)))
        for ns in (fn_globals, *(m.__dict__ for m in self._autowrap_search)):
            for name, value in list(ns.items()):
                if not name.startswith("_") and callable(value) and id(value) in self._autowrap_function_ids:
                    out.append((ns, name, self._proxy_caller(value)))
        return out

    def _proxy_caller(self, orig: Callable, missing: bool = False) -> Callable:
        from .node import map_aggregate

        @functools.wraps(orig)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            proxies: list[Proxy] = []

            def check(a: Any) -> Any:
                if isinstance(a, Proxy):
                    proxies.append(a)
                return a
            map_aggregate(args, check)
            map_aggregate(kwargs, check)
            if proxies:
                proxy = proxies[0].tracer.create_proxy("call_function", orig, args, kwargs)
                proxy.node.meta["is_wrapped"] = True
                return proxy
            return orig(*args, **kwargs)
        if missing:
            wrapped.__wrapped__ = _MISSING   # type: ignore[attr-defined]
        return wrapped

    def __getstate__(self) -> dict:
        return dict(self.__dict__)


def _assert_is_none(value: Any, msg: str) -> None:
    if value is not None:
        raise AssertionError(msg)


def wrap(fn_or_name: str | Callable) -> Callable | str:
    """Call at module scope: ``fn_or_name`` (a function of that module, or its name) is recorded as one
    call_function Node when traced code calls it with Proxies, instead of being traced through."""
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise RuntimeError("Unsupported type for global function! Must be either a callable or string name")
    name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    f = sys._getframe(1)
    if f.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _wrapped_fns_to_patch[(id(f.f_globals), name)] = f.f_globals
    return fn_or_name


def symbolic_trace(root: Any, concrete_args: dict[str, Any] | None = None) -> Any:
    """Trace ``root`` (a Module or function) into a GraphModule whose ``forward`` is the recorded program."""
    from ember.nn import Module

    from .graph_module import GraphModule

    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = root.__class__.__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)

