"""``ember.fx.graph_module``: GraphModule — a Module whose ``forward`` is Python generated from a Graph, holding
the submodules and attributes the graph reads (copied from the traced root)."""

from __future__ import annotations

import copy
import importlib
import itertools
import linecache
import math
from collections.abc import Callable
from typing import Any

from ember.nn import Module, Parameter

from ._names import torch_alias
from .graph import Graph, PythonCode

__all__ = ["GraphModule"]

_counter = itertools.count()
_STANDARD_GLOBALS = frozenset(["torch", "device", "inf", "nan", "NoneType"])


def _forward_from_src(src: str, globals_: dict[str, Any]) -> Callable:
    """Compile ``src`` (registered with linecache, so tracebacks show the generated lines) and return forward."""
    key = f"<eval_with_key>.{next(_counter)}"
    linecache.cache[key] = (len(src), None, src.splitlines(True), key)
    scope = dict(globals_)
    exec(compile(src, key, "exec", dont_inherit=True), scope)   # annotations are objects, not postponed strings
    return scope["forward"]


def _copy_attr(from_module: Module, to_module: Module, target: str) -> None:
    *prefix, field = target.split(".")
    for item in prefix:
        f = getattr(from_module, item)
        t = getattr(to_module, item, None)
        if f is t:
            return   # already installed (a whole submodule was copied)
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        from_module, to_module = f, t
    orig = getattr(from_module, field)
    import ember
    if isinstance(orig, ember.Tensor) and not isinstance(orig, Parameter):
        to_module.register_buffer(field, orig)
    else:
        setattr(to_module, field, orig)


def _assign_attr(from_obj: Any, to_module: Module, target: str) -> None:
    *prefix, field = target.split(".")
    for item in prefix:
        t = getattr(to_module, item, None)
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        to_module = t
    import ember
    if isinstance(from_obj, ember.Tensor) and not isinstance(from_obj, Parameter):
        to_module.register_buffer(field, from_obj)
    else:
        setattr(to_module, field, from_obj)


class GraphModule(Module):
    """A Module generated from a Graph: ``forward`` is the graph's code (``.code``), the submodules and
    attributes it reads are copied from ``root`` (a Module, or a dict from qualified names to objects).
    Each instance gets its own class (named ``class_name``) so its forward can be regenerated."""

    def __new__(cls, *args: Any, **kwargs: Any) -> GraphModule:
        for t in cls.__mro__:   # one class per instance, below the user's GraphModule subclass
            c = t.__qualname__.split(".")[-1]
            if c != "GraphModuleImpl":
                cls = t
                break

        class GraphModuleImpl(cls):   # type: ignore[valid-type, misc]
            pass
        return super().__new__(GraphModuleImpl)

    def __init__(self, root: Module | dict[str, Any], graph: Graph, class_name: str = "GraphModule") -> None:
        super().__init__()
        self.__class__.__name__ = class_name
        if isinstance(root, Module):
            if hasattr(root, "training"):
                self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"Node {node} referenced target {node.target} but that target was not "
                                           "provided in ``root``!")
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise RuntimeError("Unsupported type " + str(root) + " passed for root!")
        self._tracer_cls = graph._tracer_cls
        self.meta: dict[str, Any] = {}
        self.graph = graph

    @property
    def graph(self) -> Graph:
        """The Graph behind this module; assigning one regenerates ``forward``."""
        return self._graph

    @graph.setter
    def graph(self, g: Graph) -> None:
        if not isinstance(g, Graph):
            raise AssertionError(f"Expected a Graph instance, but got {type(g)}")
        self.__dict__["_graph"] = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The Python source of ``forward`` (torch's spelling of the calls)."""
        if not hasattr(self, "_code"):
            raise RuntimeError("Code has not been generated! Please report a bug to PyTorch")
        return self._code

    def recompile(self) -> PythonCode:
        """Regenerate ``forward`` from ``self.graph`` (call after editing the graph)."""
        python_code = self._graph.python_code(root_module="self")
        self.__dict__["_code"] = python_code.src
        self.__dict__["_globals"] = python_code.globals
        type(self).forward = _forward_from_src(python_code.src, python_code.globals)
        return python_code

    def print_readable(self, print_output: bool = True, include_stride: bool = False, include_device: bool = False,
                       colored: bool = False) -> str:
        """The generated code as a class (nested GraphModules included), with torch's stack-trace comments."""
        out = self._readable(type(self).__name__)
        if print_output:
            print(out)
        return out

    def _readable(self, name: str) -> str:
        src = self._graph.python_code(root_module="self", verbose=True).src.lstrip("\n")
        lines = f"class {name}(torch.nn.Module):\n{src}".split("\n")
        code = "\n".join([lines[0]] + [("    " + ln).rstrip() for ln in lines[1:]])
        subs = [m._readable(n) for n, m in self.named_children() if isinstance(m, GraphModule)]
        if subs:
            code += "\n".join([""] + ["\n".join(("    " + ln).rstrip() for ln in s.split("\n")) for s in subs])
        return code

    def __str__(self) -> str:
        return "\n".join([super().__str__(), self._code,
                          "# To see more debug info, please use `graph_module.print_readable()`"])

    # ---- submodules
    def add_submodule(self, target: str, m: Module) -> bool:
        """Install ``m`` at ``target`` (``"a.b.c"``), creating empty intermediate Modules; False when a prefix
        is not a Module."""
        *prefix, field = target.split(".")
        mod: Module = self
        for item in prefix:
            submod = getattr(mod, item, None)
            if submod is None:
                submod = Module()
                mod.add_module(item, submod)
            if not isinstance(submod, Module):
                return False
            mod = submod
        mod.add_module(field, m)
        return True

    def delete_submodule(self, target: str) -> bool:
        """Remove the submodule at ``target``; False when there is none."""
        *path, field = target.split(".")
        mod: Any = self
        for item in path:
            if not hasattr(mod, item):
                return False
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                return False
        if not hasattr(mod, field) or not isinstance(getattr(mod, field), Module):
            return False
        delattr(mod, field)
        return True

    def delete_all_unused_submodules(self) -> None:
        """Delete every submodule no call_module / get_attr node reaches."""
        used: set[str] = set()
        for node in self._graph.nodes:
            if node.op in ("call_module", "get_attr"):
                parts = node.target.split(".")
                used.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
                if node.op == "call_module":
                    try:
                        submod = self.get_submodule(node.target)
                    except AttributeError:
                        continue
                    used.update(f"{node.target}.{n}" for n, _ in submod.named_modules() if n)
        for name in [n for n, _ in self.named_modules() if n and n not in used]:
            self.delete_submodule(name)

    # ---- copying and pickling
    def __deepcopy__(self, memo: dict) -> GraphModule:
        res = Module.__new__(type(self))
        memo[id(self)] = res
        fake = Module()
        body = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("_code", "_globals")}, memo)
        fake.__dict__.update(body)
        GraphModule.__init__(res, fake, fake.__dict__["_graph"])   # named GraphModule again, as torch does
        for k in ("meta", "training"):
            if k in body:
                res.__dict__[k] = body[k]
        return res

    def __copy__(self) -> GraphModule:
        res = GraphModule(self, self._graph, type(self).__name__)
        res.meta = getattr(self, "meta", {})
        return res

    def __reduce__(self) -> tuple:
        body = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code", "_globals")}
        imports = {name: (obj.__module__, obj.__qualname__) if hasattr(obj, "__qualname__") else (None, obj)
                   for name, obj in self._globals.items() if name not in _STANDARD_GLOBALS}
        return (_rebuild_graph_module, (body, self._code, imports))


class _CodeOnlyModule(Module):
    def __init__(self, body: dict) -> None:
        super().__init__()
        self.__dict__.update(body)


def _rebuild_graph_module(body: dict, src: str, imports: dict[str, tuple[str | None, Any]]) -> GraphModule:
    """Unpickling: re-run the saved code with every submodule a leaf to rebuild the graph (the class comes back
    named ``GraphModule``, as torch's does)."""
    import ember

    from ._symbolic_trace import Tracer

    globals_: dict[str, Any] = {"torch": torch_alias(), "device": ember.device, "inf": math.inf, "nan": math.nan,
                                "NoneType": type(None)}
    for name, (module, qualname) in imports.items():   # functions and types by name, other values as pickled
        obj: Any = qualname
        if module is not None:
            obj = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        globals_[name] = obj
    forward = _forward_from_src(src, globals_)
    cls = type("_CodeOnlyModule", (_CodeOnlyModule,), {"forward": forward})
    com = cls(body)

    class KeepModules(Tracer):
        def is_leaf_module(self, m: Any, module_qualified_name: str) -> bool:
            return True
    graph = KeepModules().trace(com)
    gm = GraphModule(com, graph)
    for k, v in body.items():
        if k not in gm.__dict__:
            gm.__dict__[k] = v
    return gm
