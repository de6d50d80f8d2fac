"""Capturing a Module's forward as an ATen-level graph: run it on the concrete example inputs under a
``TorchFunctionMode`` that records every ember call (Python control flow is specialised, as torch's non-strict
export does); dynamic dimensions are found by running it again with each of them changed."""

from __future__ import annotations

import hashlib
import inspect
import linecache
import operator
import os
import re
import sys
from typing import Any

import ember
from ember.fx import Graph, Node
from ember.fx.node import map_aggregate
from ember.overrides import TorchFunctionMode

from ._ops import to_aten

_HERE = os.path.dirname(os.path.abspath(__file__))
_OVERRIDES = os.path.abspath(sys.modules["ember.overrides"].__file__ or "")
_ABBR = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16", "int64": "i64", "int32": "i32",
         "int16": "i16", "int8": "i8", "uint8": "u8", "bool": "b8", "complex64": "c64", "complex128": "c128"}


class UserError(Exception):
    """torch._dynamo.exc.UserError: the export request cannot be honoured as stated (e.g. a dim marked dynamic
    that the code specialises); the message ends with torch's pointer to ``draft_export``."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg + "\n\nThe error above occurred when calling torch.export.export. If you would like to "
                         "view some more information about this error, and get a list of all other errors that may "
                         "occur in your export call, you can replace your `export()` call with `draft_export()`.")


class GuardOnDataDependentSymNode(RuntimeError):
    """torch.fx.experimental.symbolic_shapes.GuardOnDataDependentSymNode: the traced code turned a tensor's value
    into a Python value (control flow on data, ``.item()``), which an exported graph cannot capture."""


_DATA = {"__bool__": "Eq(u0, 1)", "item": "u0", "__int__": "u0", "__float__": "u0", "__index__": "u0",
         "tolist": "u0", "__complex__": "u0"}


def dtype_abbr(dtype: Any) -> str:
    return _ABBR.get(str(dtype).split(".")[-1], str(dtype).split(".")[-1])


def _stack_trace() -> str | None:
    """torch's ``# File: path:line in forward, code: ...`` for the op being recorded: the innermost ``forward``
    frame on the stack (else the caller)."""
    frame = sys._getframe(2)
    caller = None
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if path != _OVERRIDES and not path.startswith(_HERE):
            caller = caller or frame
            if frame.f_code.co_name == "forward":
                break
        frame = frame.f_back
    frame = frame or caller
    if frame is None:
        return None
    positions = list(frame.f_code.co_positions())
    idx = frame.f_lasti // 2
    line = positions[idx][0] if idx < len(positions) and positions[idx][0] else frame.f_lineno
    code = linecache.getline(frame.f_code.co_filename, line).strip()
    return f"File: {frame.f_code.co_filename}:{line} in {frame.f_code.co_name}, code: {code}"


class _Recorder(TorchFunctionMode):
    """Records each ember call that produces tensors as an aten node of ``graph`` (``env``: id(tensor) -> node)."""

    def __init__(self, graph: Graph, env: dict[int, Node], constants: dict[str, Any]) -> None:
        super().__init__()
        self.graph, self.env, self.constants = graph, env, constants
        self.keep: list[Any] = []
        self.attrs: dict[int, str] = {}
        self.keep_full: frozenset[tuple[int, int]] = frozenset()   # (getitem call, dim): full slices to record
        self.seq = 0
        graph._full_slices = []   # type: ignore[attr-defined]  # (getitem call, dim, input node) left out

    def node_of(self, t: Any) -> Node:
        node = self.env.get(id(t))
        if node is None:   # a tensor made outside the traced calls: lifted as a constant input (named by the
            # module attribute holding it, when one does)
            name = self.attrs.get(id(t)) or f"lifted_tensor_{len(self.constants)}"
            self.constants[name] = t
            with self.graph.inserting_before(self._first_user_input()):
                node = self.graph.placeholder("c_" + name.replace(".", "_"))
            node.meta.update(val=t, kind="CONSTANT_TENSOR", target=name)
            self.bind(t, node)
        return node

    def _first_user_input(self) -> Node | None:
        return next((n for n in self.graph.nodes if n.op == "placeholder" and n.meta.get("kind") == "USER_INPUT"),
                    None)

    def bind(self, t: Any, node: Node) -> None:
        self.env[id(t)] = node
        self.keep.append(t)

    def lift(self, a: Any) -> Any:
        return map_aggregate(a, lambda v: self.node_of(v) if isinstance(v, ember.Tensor) else v)

    def record(self, target: Any, args: tuple, kwargs: dict, val: Any, trace: str | None) -> Node:
        node = self.graph.create_node("call_function", target, self.lift(tuple(args)), self.lift(dict(kwargs)),
                                      name=getattr(target, "_opname", None) or target.__name__)
        node.meta.update(val=val, stack_trace=trace)
        return node

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in _DATA and args and id(args[0]) in self.env:
            expr = _DATA[name]
            m = re.match(r"File: (.*):(\d+) in (\w+), code:", _stack_trace() or "")
            where = f'"{m.group(1)}", line {m.group(2)}, in {m.group(3)}' if m else "<unknown>"
            raise GuardOnDataDependentSymNode(UserError(
                f"Could not guard on data-dependent expression {expr} (unhinted: {expr}).  (Size-like symbols: none)"
                "\n\nconsider using data-dependent friendly APIs such as guard_or_false, guard_or_true and "
                f"statically_known_true.\n\nThe following call raised this error:\n  File {where}").args[0])
        if name == "__getitem__" and isinstance(args[0], ember.Tensor) and args[0].dim() > 0:
            return self._getitem(args[0], args[1], _stack_trace())
        result = func(*args, **kwargs)
        tensors = [r for r in (result if isinstance(result, tuple) else (result,)) if isinstance(r, ember.Tensor)]
        if not tensors or name == "__get__":
            return result
        trace = _stack_trace()
        target, a, kw = to_aten(name, args, kwargs)
        if str(target) == "aten.to.dtype":   # torch checks the input's metadata first
            from ._ops import op
            x = args[0]
            check = self.record(op("_assert_tensor_metadata"), (x,), {"dtype": x.dtype, "device": x.device,
                                                                     "layout": ember.strided}, None, trace)
            check.name = "_assert_tensor_metadata_default"
        node = self.record(target, a, kw, result, trace)
        if isinstance(result, tuple):
            for i, r in enumerate(result):
                if isinstance(r, ember.Tensor):
                    g = self.graph.create_node("call_function", operator.getitem, (node, i), name="getitem")
                    g.meta.update(val=r, stack_trace=trace)
                    self.bind(r, g)
        else:
            self.bind(result, node)
        return result

    def _getitem(self, x: Any, index: Any, trace: str | None) -> Any:
        """Basic indexing as torch records it: select / slice / unsqueeze per index element."""
        from ._ops import _MAXINT, op
        self.seq += 1
        items = list(index) if isinstance(index, tuple) else [index]
        if any(isinstance(i, (ember.Tensor, list)) or i is True or i is False for i in items):
            out = ember.Tensor.__getitem__(x, index)
            self.bind(out, self.record(op("index", "Tensor"), (x, [i if isinstance(i, ember.Tensor) else None
                                                                  for i in items]), {}, out, trace))
            return out
        n_real = sum(1 for i in items if i is not None and i is not Ellipsis)
        if Ellipsis in items:
            at = items.index(Ellipsis)
            items[at:at + 1] = [slice(None)] * (x.dim() - n_real)
        cur, dim = x, 0
        for i in items:
            if i is None:
                call: tuple = (op("unsqueeze"), (cur, dim))
                dim += 1
            elif isinstance(i, int):
                call = (op("select", "int"), (cur, dim, i))
            else:
                start, stop, step = i.start, i.stop, i.step
                if start is None and stop is None and step in (None, 1) and (self.seq, dim) not in self.keep_full:
                    self.graph._full_slices.append((self.seq, dim, self.node_of(cur)))
                    dim += 1
                    continue
                call = (op("slice", "Tensor"), (cur, dim, start or 0, _MAXINT if stop is None else stop)
                        + ((step,) if step not in (None, 1) else ()))
                dim += 1
            out = call[0](*call[1])
            self.bind(out, self.record(call[0], call[1], {}, out, trace))
            cur = out
        if cur is x:
            cur = op("slice", "Tensor")(x, 0, 0, _MAXINT)
            self.bind(cur, self.record(op("slice", "Tensor"), (x, 0, 0, _MAXINT), {}, cur, trace))
        return cur


def arg_names(mod: Any, n: int, kwargs: dict) -> list[str]:
    """The forward's parameter names for ``n`` positional arguments then ``kwargs`` (``args_0``... for *args)."""
    try:
        params = list(inspect.signature(mod.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(n):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY, params[i].POSITIONAL_OR_KEYWORD):
            names.append(params[i].name)
        else:
            names.append(f"args_{i}")
    return names + list(kwargs)


def trace_once(mod: Any, args: tuple, kwargs: dict, names: list[str],
               keep_full: frozenset[tuple[int, int]] = frozenset()) -> tuple[Graph, Any, dict[str, Any]]:
    """One recording run: the graph (placeholders p_/b_/c_/user, aten nodes, output), the output, the lifted
    constants."""
    graph = Graph()
    env: dict[int, Node] = {}
    constants: dict[str, Any] = {}
    rec = _Recorder(graph, env, constants)
    rec.keep_full = keep_full
    buffers = dict(mod.named_buffers())
    persistent = set(mod.state_dict().keys())
    for fqn, p in mod.named_parameters():
        node = graph.placeholder("p_" + fqn.replace(".", "_"))
        node.meta.update(val=p, kind="PARAMETER", target=fqn)
        rec.bind(p, node)
    for fqn, b in buffers.items():
        node = graph.placeholder("b_" + fqn.replace(".", "_"))
        node.meta.update(val=b, kind="BUFFER", target=fqn, persistent=fqn in persistent)
        rec.bind(b, node)
    flat = list(args) + [kwargs[k] for k in kwargs]
    for name, top in zip(names, flat, strict=False):
        for leaf_name, path, v in flatten(top, name):
            if not isinstance(v, ember.Tensor) and path:
                continue   # a non-tensor inside a container: specialised, as torch does
            node = graph.placeholder(leaf_name)
            node.meta.update(val=v, kind="USER_INPUT", path=(name, path))
            if isinstance(v, ember.Tensor):
                rec.bind(v, node)
    for prefix, sub in mod.named_modules():
        for attr, v in vars(sub).items():
            if isinstance(v, ember.Tensor):
                rec.attrs.setdefault(id(v), f"{prefix}.{attr}" if prefix else attr)
    snapshot = {k: b.clone() for k, b in buffers.items()}
    rng = ember.get_rng_state()
    try:
        with rec:
            out = mod(*args, **kwargs)
    finally:
        with ember.no_grad():
            for k, b in buffers.items():
                b.copy_(snapshot[k])
        ember.set_rng_state(rng)
    result = []
    for _, _, leaf in flatten(out, ""):
        if not isinstance(leaf, ember.Tensor):
            raise UserError(f"Expected a tensor output of the module, got {type(leaf).__name__}")
        node = rec.node_of(leaf)
        if node.op == "placeholder":   # an input returned as is: torch records an alias
            from ._ops import op
            node = rec.record(op("alias"), (leaf,), {}, leaf, None)
        result.append(node)
    graph.output(tuple(result))
    _dce(graph)
    return graph, out, constants


def flatten(v: Any, name: str, path: tuple = ()) -> list[tuple[str, tuple, Any]]:
    """The leaves of nested tuples/lists/dicts, each with torch's placeholder name (``xs_0``, ``d_k``) and its
    index path."""
    if isinstance(v, (tuple, list)):
        return [leaf for i, x in enumerate(v) for leaf in flatten(x, f"{name}_{i}", path + (i,))]
    if isinstance(v, dict):
        return [leaf for k, x in v.items() for leaf in flatten(x, f"{name}_{k}", path + (k,))]
    return [(name, path, v)]


def tree_spec(v: Any) -> Any:
    """The structure of ``v`` as JSON-able data: ``"*"`` a leaf, ``["tuple"|"list", [...]]``,
    ``["dict", keys, [...]]``."""
    if isinstance(v, (tuple, list)):
        return [type(v).__name__ if type(v) in (tuple, list) else "tuple", [tree_spec(x) for x in v]]
    if isinstance(v, dict):
        return ["dict", list(v), [tree_spec(x) for x in v.values()]]
    return "*"


def tree_unflatten(spec: Any, leaves: Any) -> Any:
    """Rebuild the structure ``spec`` from an iterator of leaves."""
    if spec == "*":
        return next(leaves)
    if spec[0] == "dict":
        return {k: tree_unflatten(s, leaves) for k, s in zip(spec[1], spec[2], strict=True)}
    items = [tree_unflatten(s, leaves) for s in spec[1]]
    return items if spec[0] == "list" else tuple(items)


def _dce(graph: Graph) -> None:
    """Drop unused getitems (elements of tuple results nobody reads)."""
    for node in reversed(list(graph.nodes)):
        if node.op == "call_function" and node.target is operator.getitem and not node.users:
            graph.erase_node(node)


def symbol_name(source: str, taken: set[int]) -> str:
    """torch's symbol for an input dimension: ``s`` + a stable hash of its source name (``L['x'].size()[0]``)."""
    n = int(hashlib.sha256(source.encode()).hexdigest(), 16) % 100
    while n in taken:
        n += 1
    taken.add(n)
    return f"s{n}"


def format_dim(values: list[int], syms: list[tuple[str, int, int]]) -> str:
    """The printed size of one dimension over the traces: trace 0 is the example; trace k+1 changed symbol k from
    ``base`` to ``alt``. A linear fit in the symbols, spelled as sympy prints it."""
    v0 = values[0]
    coeffs = []
    const = v0
    for k, (name, base, alt) in enumerate(syms):
        d = values[k + 1] - v0
        if d % (alt - base):
            return str(v0)
        a = d // (alt - base)
        if a:
            coeffs.append((name, a))
            const -= a * base
    if not coeffs:
        return str(v0)
    if len(coeffs) == 2:   # c*s_i*s_j (a flattened batch x sequence) fits as a_i = c*b_j, a_j = c*b_i
        (n1, a1), (n2, a2) = sorted(coeffs)
        b1, b2 = (next(b for s, b, _ in syms if s == n) for n in (n1, n2))
        c, r = divmod(a1, b2)
        if not r and a2 == c * b1 and const == -c * b1 * b2:
            return f"{n1}*{n2}" if c == 1 else f"{c}*{n1}*{n2}"
    terms = []
    for name, a in sorted(coeffs):
        terms.append(name if a == 1 else f"-{name}" if a == -1 else f"{a}*{name}")
    s = " + ".join(terms).replace("+ -", "- ")
    if const:
        s += f" + {const}" if const > 0 else f" - {-const}"
    return s
