"""``ember.fx.proxy``: the Proxy objects symbolic tracing runs the program on. Every operation on a Proxy —
Python operators, attribute access, method calls, ember functions (reached through ``__torch_function__``) —
records a Node instead of computing."""

from __future__ import annotations

import dis
import operator
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from .. import overrides
from ._names import canonical_call, qualified_name
from .graph import Graph, magic_methods, reflectable_magic_methods
from .node import Argument, Node, Target, map_aggregate

__all__ = ["TracerBase", "GraphAppendingTracer", "TraceError", "Proxy", "Attribute"]


class TraceError(ValueError):
    """Raised when tracing meets something it cannot record (control flow or iteration on a traced value)."""


_BASE_TYPES = (str, int, float, bool, complex, type(None), type(...), type(Ellipsis))


class TracerBase:
    """What a Proxy needs from a tracer: a graph to append to and the conversions of arguments."""

    graph: Graph
    record_stack_traces: bool = False
    trace_asserts: bool = False
    proxy_buffer_attributes: bool = False
    traced_func_name: str = "forward"

    def create_node(self, kind: str, target: Target, args: tuple, kwargs: dict, name: str | None = None,
                    type_expr: Any | None = None) -> Node:
        """Append a Node to the graph (override to attach metadata)."""
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node: Node) -> Proxy:
        """The Proxy standing for ``node``'s value."""
        return Proxy(node, self)

    def create_proxy(self, kind: str, target: Target, args: tuple, kwargs: dict, name: str | None = None,
                     type_expr: Any | None = None, proxy_factory_fn: Callable[[Node], Proxy] | None = None
                     ) -> Proxy:
        """Lower ``args``/``kwargs`` with ``create_arg``, create the Node, return its Proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return proxy_factory_fn(node) if proxy_factory_fn else self.proxy(node)

    def create_arg(self, a: Any) -> Argument:
        """Lower a value seen as an argument into what a Node may hold (Proxies become their Nodes)."""
        if isinstance(a, Proxy):
            return a.node
        if hasattr(a, "__fx_create_arg__"):
            return a.__fx_create_arg__(self)
        if isinstance(a, tuple):
            if hasattr(a, "_fields"):
                return type(a)(*[self.create_arg(e) for e in a])
            return type(a)([self.create_arg(e) for e in a])
        if isinstance(a, list):
            return [self.create_arg(e) for e in a]
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                k = self.create_arg(k)
                if isinstance(k, Node):
                    raise RuntimeError(f"Keys for dictionaries used as an argument cannot contain a Node. Got key: "
                                       f"{k}")
                out[k] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if isinstance(a, range):
            return range(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if isinstance(a, _BASE_TYPES) or a is None or a is ... or _is_plain_value(a):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj: Proxy) -> bool:
        """``bool(proxy)`` (control flow on a traced value): an error unless a tracer knows better."""
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj: Proxy) -> Iterator:
        """``iter(proxy)``: an error unless a tracer knows better."""
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the Proxy is used in a loop or"
                         " as a *args or **kwargs function argument. See the torch.fx docs on pytorch.org for a more "
                         "detailed explanation of what types of control flow can be traced, and check out the Proxy "
                         "docstring for help troubleshooting Proxy iteration errors")

    def keys(self, obj: Proxy) -> Proxy:
        """``proxy.keys()`` (``**proxy``): a recorded call."""
        return Attribute(obj, "keys")()


def _is_plain_value(a: Any) -> bool:
    """dtypes, devices, memory formats, layouts and enums go into graphs as they are."""
    import enum

    import ember
    return isinstance(a, (ember.dtype, ember.device, ember.memory_format, type(ember.strided), enum.Enum))


class GraphAppendingTracer(TracerBase):
    """A tracer that only appends to ``graph`` (for building graphs with Proxies by hand)."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.graph = graph
        self.scope = None
        self.module_stack: dict = {}
        self.node_name_to_scope: dict = {}


class Proxy:
    """A traced value: operations on it append Nodes to its tracer's graph and return new Proxies."""

    def __init__(self, node: Node, tracer: TracerBase | None = None) -> None:
        if tracer is None:
            tracer = GraphAppendingTracer(node.graph)
        overrides._pin_unless_held()   # ember functions reach Proxies through their __torch_function__
        self.tracer = tracer
        self.node = node

    def __repr__(self) -> str:
        return f"Proxy({self.node.name})"

    def __getattr__(self, k: str) -> Attribute:
        if k.startswith("__") and k.endswith("__"):   # copy/pickle protocols probe dunders: not graph attributes
            raise AttributeError(k)
        return Attribute(self, k)

    def __getstate__(self) -> dict:
        return self.__dict__

    def __setstate__(self, d: dict) -> None:
        self.__dict__ = d

    def __deepcopy__(self, memo: dict) -> Proxy:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __call__(self, *args: Any, **kwargs: Any) -> Proxy:
        return self.tracer.create_proxy("call_method", "__call__", (self, *args), kwargs)

    def __iter__(self) -> Iterator[Proxy]:
        frame = sys._getframe(1)
        insts = list(dis.get_instructions(frame.f_code))
        inst = insts[bisect_left(insts, frame.f_lasti, key=lambda x: x.offset)]
        if inst.opname == "UNPACK_SEQUENCE":
            return (self[i] for i in range(inst.argval))
        return self.tracer.iter(self)

    def __abs__(self) -> Proxy:
        return self.tracer.create_proxy("call_function", operator.abs, (self,), {})

    def __bool__(self) -> bool:
        return self.tracer.to_bool(self)

    def keys(self) -> Proxy:
        return self.tracer.keys(self)

    def __len__(self) -> int:
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want this call to be "
                           "recorded, please call torch.fx.wrap('len') at module scope")

    @classmethod
    def __torch_function__(cls, orig_method: Callable, types: Any, args: tuple | None = None,
                           kwargs: dict | None = None) -> Proxy:
        """An ember function or Tensor method called on Proxies: one call_function / call_method Node."""
        from ember.overrides import is_tensor_method_or_property, stable_entry

        args = args or ()
        kwargs = kwargs or {}
        tracers: dict[TracerBase, None] = {}

        def find_tracer(a: Any) -> Any:
            if isinstance(a, cls):
                tracers[a.tracer] = None
            return a
        map_aggregate(args, find_tracer)
        map_aggregate(kwargs, find_tracer)
        if len(tracers) > 1:
            raise RuntimeError(f"Found multiple different tracers {list(tracers.keys())} while trying to trace "
                               f"operations {orig_method}")
        tracer = next(iter(tracers))
        if is_tensor_method_or_property(orig_method):
            return tracer.create_proxy("call_method", orig_method.__name__, args, kwargs)
        if qualified_name(orig_method) in ("torch.nn.functional.sigmoid", "torch.nn.functional.tanh"):
            return tracer.create_proxy("call_method", orig_method.__name__, args, kwargs)   # torch's call input.tanh()
        target, args, kwargs = canonical_call(orig_method, args, kwargs)
        stable = stable_entry(target)
        if stable is not target and qualified_name(stable) == qualified_name(target):   # (one ember function under
            target = stable                                     # two torch names keeps the wrapper it came by)
        return tracer.create_proxy("call_function", target, args, kwargs,
                                   name=tracer.graph._target_to_str(target))


class Attribute(Proxy):
    """``proxy.attr``: a ``getattr`` Node made only if the value is used; calling it records a method call."""

    def __init__(self, root: Proxy, attr: str) -> None:
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node: Node | None = None

    @property
    def node(self) -> Node:   # type: ignore[override]
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", getattr, (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args: Any, **kwargs: Any) -> Proxy:
        return self.tracer.create_proxy("call_method", self.attr, (self.root, *args), kwargs)


def _define_magic(method: str) -> None:
    def impl(*args: Any, **kwargs: Any) -> Proxy:
        tracer = args[0].tracer
        return tracer.create_proxy("call_function", getattr(operator, method), args, kwargs)
    impl.__name__ = method
    setattr(Proxy, f"__{method.strip('_')}__", impl)


def _define_reflectable(method: str) -> None:
    name = f"__r{method.strip('_')}__"

    def impl(self: Proxy, rhs: Any) -> Proxy:
        return self.tracer.create_proxy("call_function", getattr(operator, method), (rhs, self), {})
    impl.__name__ = name
    impl.__qualname__ = f"Proxy.{name}"
    setattr(Proxy, name, impl)


for _m in magic_methods:
    _define_magic(_m)
for _m in reflectable_magic_methods:
    _define_reflectable(_m)
Proxy.__hash__ = object.__hash__   # __eq__ records a Node; Proxies still key dicts by identity
