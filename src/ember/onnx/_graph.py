"""The graph an export builds: ONNX nodes recorded while the model runs on the example inputs.

Tracing records every ember call a ``TorchFunctionMode`` sees whose arguments carry a value derived from the
model's inputs (like torch's tracer, Python control flow is resolved by the example inputs). Calls on
parameters and constants alone run normally and their results become constants (constant folding).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..overrides import TorchFunctionMode
from .errors import UnsupportedOperatorError


def to_numpy(t: Tensor) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def flatten(obj: Any) -> list:
    """Leaves of nested tuples, lists and dict values, in order."""
    if isinstance(obj, (tuple, list)):
        return [leaf for o in obj for leaf in flatten(o)]
    if isinstance(obj, dict):
        return [leaf for o in obj.values() for leaf in flatten(o)]
    return [obj]



def _merge_sizes(sig: inspect.Signature, named: dict[str, Any]) -> None:
    """Sizes given either positionally (``x.permute(1, 0)``) or by keyword (``x.permute(dims=(1, 0))``) appear
    under both names, as the positional tuple."""
    params = list(sig.parameters.values())
    varargs = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
    if varargs is None:
        return
    for p in params:
        if p.kind is p.KEYWORD_ONLY and p.name in ("size", "shape", "dims", "repeats") and p.name in named:
            if named[p.name] is not None:
                named[varargs] = (named[p.name],)
            named[p.name] = named[varargs]

class Graph:
    """Nodes, initializers and the names of traced tensors (keyed by identity; the tensors are kept alive)."""

    def __init__(self, opset: int, params: dict[int, tuple[str, Tensor]], training: bool) -> None:
        import onnx
        self.onnx = onnx
        self.opset = opset
        self.params = params                      # id(tensor) -> (state_dict name, tensor)
        self.training = training
        self.nodes: list = []
        self.initializers: dict[str, np.ndarray] = {}
        self.names: dict[int, str] = {}
        self.keep: list[Tensor] = []
        self.scope: list[str] = []
        self.used_names: dict[str, int] = {}
        self.opsets: dict[str, int] = {}
        self.suppress = 0
        self.current = ""                         # the ember function being recorded
        self.first_call: dict[str, Any] = {}      # value name -> the first function that consumed it

    # ------------------------------------------------------------------ values
    def traced(self, obj: Any) -> bool:
        return isinstance(obj, Tensor) and id(obj) in self.names

    def bind(self, t: Tensor, name: str) -> None:
        self.names[id(t)] = name
        self.keep.append(t)

    def const(self, value: Any, dtype: Any = None) -> str:
        """A Constant node holding ``value`` (array, number or list)."""
        arr = np.asarray(value, dtype=dtype)
        tensor = self.onnx.numpy_helper.from_array(arr.copy(order="C"))
        return self.op("Constant", [], value=tensor)

    def ints(self, values: Iterable[int]) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))

    def value(self, obj: Any, dtype: Any = None) -> str:
        """The name of a tensor argument (traced value, parameter initializer or folded constant) or of a
        Python number as a constant of ``dtype``; traced values of another dtype are cast."""
        if isinstance(obj, Tensor):
            name = self.names.get(id(obj))
            if name is None and id(obj) in self.params:
                name = self.params[id(obj)][0]
                self.initializers.setdefault(name, to_numpy(obj))
            if name is not None:
                if dtype is not None and obj.numpy().dtype != np.dtype(dtype):
                    return self.op("Cast", [name], to=self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
                return name
            return self.const(to_numpy(obj), dtype)
        return self.const(obj, dtype)

    # ------------------------------------------------------------------ nodes
    def _unique(self, base: str) -> str:
        n = self.used_names.get(base, 0)
        self.used_names[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def op(self, op_type: str, inputs: list[str | None], outputs: int = 1, domain: str = "",
           **attrs: Any) -> Any:
        """Append a node; returns its output name (or the list of names when ``outputs`` > 1)."""
        if domain:
            self.opsets.setdefault(domain, 1)
        node_name = self._unique("/" + "/".join([*self.scope, op_type]))
        outs = [f"{node_name}_output_{i}" for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, ["" if i is None else i for i in inputs], outs,
                                                     name=node_name, domain=domain or None, **attrs))
        return outs if outputs > 1 else outs[0]


class Recorder(TorchFunctionMode):
    """Sees each ember call; records the ones on traced values through the symbolic table."""

    def __init__(self, graph: Graph, table: dict[str, Callable], custom: Callable[[str], Callable | None]) -> None:
        super().__init__()
        self.g, self.table, self.custom = graph, table, custom
        self._sigs: dict[Any, inspect.Signature | None] = {}
        self._props: dict[int, str] | None = None

    def _name(self, func: Any) -> str:
        prop = getattr(func, "__self__", None)
        if isinstance(prop, property):
            if self._props is None:
                self._props = {id(v): k for k, v in vars(Tensor).items() if isinstance(v, property)}
            return self._props.get(id(prop), "property")
        return getattr(func, "__name__", str(func))

    def _bind(self, func: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
        if func not in self._sigs:
            try:
                self._sigs[func] = inspect.signature(func)
            except (TypeError, ValueError):
                self._sigs[func] = None
        sig = self._sigs[func]
        if sig is None:
            return {"input": args[0], **dict(enumerate(args)), **kwargs}
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        named = dict(bound.arguments)
        _merge_sizes(sig, named)
        first = next(iter(sig.parameters))
        if "input" not in sig.parameters and first in named:
            named["input"] = named.pop(first)
        return named

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        g = self.g
        if g.suppress or not any(g.traced(a) for a in flatten((args, kwargs))):
            return out
        results = flatten(out)
        if not any(isinstance(r, Tensor) for r in results):
            return out
        name = self._name(func)
        symbolic = self.custom(name)
        if symbolic is not None:
            from . import _symbolics
            _symbolics.run_custom(g, symbolic, args, kwargs, out)
            return out
        g.current = name
        for arg in flatten((args, kwargs)):
            if g.traced(arg):
                g.first_call.setdefault(g.names[id(arg)], func)
        handler = self.table.get(name)
        if handler is None:
            raise UnsupportedOperatorError(f"aten::{name}", g.opset, None)
        handler(g, self._bind(func, args, kwargs), out)
        return out
