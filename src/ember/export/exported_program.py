"""``ember.export.exported_program``: ExportedProgram — a functional ATen graph whose parameters, buffers and
constants are lifted to inputs, with its signature, state, example inputs and symbolic-shape ranges; ``export``
builds one from a Module and example inputs."""

from __future__ import annotations

import copy
import dataclasses
import operator
import re
from collections.abc import Callable, Iterator
from typing import Any

import ember
from ember import overrides
from ember.fx import Graph, GraphModule, Node
from ember.fx.node import map_aggregate, map_arg
from ember.nn import Module

from . import _ops, _trace
from ._ops import DECOMP, AtenOp, op
from ._trace import UserError, dtype_abbr
from .dynamic_shapes import INT_OO, Dim, DimHint, flatten_spec
from .graph_signature import (
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
    TensorArgument,
)

__all__ = ["ExportedProgram", "ModuleCallSignature", "ModuleCallEntry", "CallSpec", "export", "default_decompositions"]


class _Symbol(str):
    """A shape symbol (``s77``): prints bare, as sympy's."""

    def __repr__(self) -> str:
        return str(self)


@dataclasses.dataclass(frozen=True)
class ValueRanges:
    lower: int
    upper: int | str

    def __repr__(self) -> str:
        return f"VR[{self.lower}, {self.upper}]"


@dataclasses.dataclass
class ModuleCallSignature:
    inputs: list[Any]
    outputs: list[Any]
    in_spec: Any
    out_spec: Any
    forward_arg_names: list[str] | None = None


@dataclasses.dataclass
class ModuleCallEntry:
    fqn: str
    signature: ModuleCallSignature | None = None


@dataclasses.dataclass
class CallSpec:
    in_spec: Any
    out_spec: Any


def default_decompositions() -> dict[Any, Callable]:
    """The decomposition table ``run_decompositions`` uses by default ({aten op: rule})."""
    return {op(*k.rsplit(".", 1)): v for k, v in DECOMP.items()}


class GuardsFn(Module):
    """Checks the input shapes an exported program was specialised to (torch's ``_guards_fn``)."""

    def __init__(self, guards: list[tuple[str, int, int, str, int]]) -> None:
        super().__init__()
        self.guards = guards   # (input name, position, dim, op, bound)

    def forward(self, *args: Any) -> None:
        for name, pos, dim, cmp, bound in self.guards:
            v = args[pos]
            if dim < 0:   # a Python number the program was specialised to
                if v != bound:
                    raise AssertionError(f"Guard failed: {name} == {bound}")
                continue
            if not isinstance(v, ember.Tensor):
                continue
            if dim >= v.dim():
                raise AssertionError(f"Guard failed: {name}.dim() == {dim + 1}")
            size = v.size(dim)
            ok = size == bound if cmp == "==" else size <= bound if cmp == "<=" else size >= bound
            if not ok:
                raise AssertionError(f"Guard failed: {name}.size()[{dim}] {cmp} {bound}")


class ExportedProgram:
    """The result of :func:`export`: ``graph_module`` (ATen ops; parameters, buffers and constants lifted to
    placeholders), ``graph_signature``, ``state_dict``, ``constants``, ``range_constraints``. Call ``.module()``
    for a runnable Module."""

    def __init__(self, root: Any, graph: Graph, graph_signature: ExportGraphSignature, state_dict: dict[str, Any],
                 range_constraints: dict[Any, ValueRanges], module_call_graph: list[ModuleCallEntry] | None = None,
                 example_inputs: tuple | None = None, constants: dict[str, Any] | None = None,
                 verifiers: Any = None, *, _guards: list | None = None, _out_spec: Any = None) -> None:
        self._graph_module = GraphModule(root if isinstance(root, (Module, dict)) else {}, graph)
        self._graph_signature = graph_signature
        self._state_dict = state_dict
        self._range_constraints = range_constraints
        self._module_call_graph = module_call_graph or []
        self._example_inputs = example_inputs
        self._constants = constants or {}
        self._guards = _guards or []
        self._sym_sources: dict[str, tuple[str, int]] = {}
        self._out_spec = _out_spec if _out_spec is not None else ["tuple", ["*"] * len(
            graph_signature.user_outputs)]

    # ---- state
    @property
    def graph_module(self) -> GraphModule:
        return self._graph_module

    @property
    def graph(self) -> Graph:
        return self._graph_module.graph

    @property
    def graph_signature(self) -> ExportGraphSignature:
        return self._graph_signature

    @property
    def state_dict(self) -> dict[str, Any]:
        return self._state_dict

    @property
    def constants(self) -> dict[str, Any]:
        return self._constants

    @property
    def range_constraints(self) -> dict[Any, ValueRanges]:
        return self._range_constraints

    @property
    def module_call_graph(self) -> list[ModuleCallEntry]:
        return self._module_call_graph

    @property
    def example_inputs(self) -> tuple | None:
        return self._example_inputs

    @property
    def call_spec(self) -> CallSpec:
        return CallSpec(None, None)

    @property
    def verifiers(self) -> list:
        return []

    @property
    def dialect(self) -> str:
        return "ATEN"

    def parameters(self) -> Iterator[Any]:
        for _, p in self.named_parameters():
            yield p

    def named_parameters(self) -> Iterator[tuple[str, Any]]:
        for name in self.graph_signature.parameters:
            yield name, self._state_dict[name]

    def buffers(self) -> Iterator[Any]:
        for _, b in self.named_buffers():
            yield b

    def named_buffers(self) -> Iterator[tuple[str, Any]]:
        non_persistent = set(self.graph_signature.non_persistent_buffers)
        for name in self.graph_signature.buffers:
            yield name, (self._constants if name in non_persistent else self._state_dict)[name]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Unable to call ExportedProgram directly. You should use `exported_program.module()` "
                           "instead.")

    # ---- printing
    def _readable(self) -> str:
        """The graph as torch's ``print_readable`` shows it: annotated placeholders, ``# File:`` comments."""
        graph = self.graph
        by_name = {n.name: n for n in graph.nodes}
        src = graph.python_code(root_module="self").src.strip("\n").split("\n")
        header = ", ".join(["self"] + [f'{n.target}: "{_annotation(n)}"' if _annotation(n) else n.target
                                       for n in graph.nodes if n.op == "placeholder"])
        lines = ["class GraphModule(torch.nn.Module):", f"    def forward({header}):"]
        last_trace: str | None = None
        body = False
        for line in src[1:]:
            m = re.match(r"    (\w+) = (.*)$", line)
            node = by_name.get(m.group(1)) if m else None
            if node is not None and node.op != "placeholder":
                trace = node.meta.get("stack_trace") or "No stacktrace found for following nodes"
                if trace != last_trace:
                    if body:
                        lines.append("")
                    lines.append(f"        # {trace}")
                    last_trace = trace
                ann = _annotation(node)
                line = f"    {node.name}: \"{ann}\" = {m.group(2)}" if ann else line
            if line.strip():
                lines.append("    " + line)
                body = True
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        body = "\n".join("    " + ln for ln in self._readable().split("\n"))
        sig = "\n".join("    " + ln for ln in str(self.graph_signature).split("\n")[1:])
        return f"ExportedProgram:\n{body}\nGraph signature: \n{sig}\nRange constraints: {self.range_constraints}\n"

    def __repr__(self) -> str:   # torch's is the default object repr (print() shows the program)
        return f"<torch.export.exported_program.ExportedProgram object at {hex(id(self))}>"

    # ---- transforms
    def module(self, *, check_guards: bool = True) -> GraphModule:
        """A runnable Module: user inputs as arguments, parameters and buffers as attributes (the same tensors, so
        gradients reach them), the input guards checked first, the output as the original module returned it."""
        g = Graph()
        env: dict[Node, Node] = {}
        root: dict[str, Any] = {}
        users: list[Node] = []
        tops: dict[str, Node] = {}
        for node in self.graph.nodes:
            if node.op != "placeholder":
                continue
            kind, target = node.meta.get("kind"), node.meta.get("target")
            if kind == "USER_INPUT":
                top, path = node.meta.get("path") or (node.target, ())
                if top not in tops:
                    tops[top] = g.placeholder(top)
                    users.append(tops[top])
                cur = tops[top]
                for i, key in enumerate(path):
                    cur = g.create_node("call_function", operator.getitem, (cur, key),
                                        name=node.target if i == len(path) - 1 else None)
                env[node] = cur
                env[node].meta = dict(node.meta)
            else:
                store = self._state_dict if target in self._state_dict else self._constants
                root[target] = store[target]
                env[node] = g.get_attr(target)
                env[node].meta = dict(node.meta)
        if check_guards and self._guards:
            root["_guards_fn"] = GuardsFn(self._guards)
            g.call_module("_guards_fn", tuple(users))
        out = None
        for node in self.graph.nodes:
            if node.op == "call_function":
                env[node] = g.node_copy(node, lambda n: env[n])
            elif node.op == "output":
                out = map_arg(node.args[0], lambda n: env[n])
        n_user = len(self.graph_signature.user_outputs)
        outs = list(out)[len(out) - n_user:] if out is not None else []
        by_name = {n.name: n for n in g.nodes}
        for spec, value in zip(self.graph_signature.output_specs, out or (), strict=False):
            if spec.kind in (OutputKind.BUFFER_MUTATION, OutputKind.PARAMETER_MUTATION):
                holder = next(n for n in g.nodes if n.op == "get_attr" and n.target == spec.target)
                g.call_function(op("copy_"), (holder, value))
            elif spec.kind == OutputKind.USER_INPUT_MUTATION:
                g.call_function(op("copy_"), (by_name[spec.target], value))
        g.output(_trace.tree_unflatten(self._out_spec, iter(outs)))
        gm = GraphModule(root, g)
        gm.meta["exported_program"] = self
        return gm

    def run_decompositions(self, decomp_table: dict[Any, Callable] | None = None,
                           decompose_custom_triton_ops: bool = False) -> ExportedProgram:
        """The program with composite ops lowered to core ATen (``linear`` → ``permute`` + ``addmm``,
        ``conv2d`` → ``convolution``, ``batch_norm`` → ``_native_batch_norm_legit_no_training``...)."""
        table = DECOMP if decomp_table is None else {str(k).removeprefix("aten."): v for k, v in decomp_table.items()}
        syms = next((n.meta["_syms"] for n in self.graph.nodes if n.meta.get("_syms")), None)
        runs = [self._lowered(table, i) for i in range(len(syms) + 1 if syms else 1)]
        g, user_out, mutated = runs[0]
        if syms:   # shapes the rules computed differ between the runs: computed from the inputs at run time
            for n0, *others in zip(g.nodes, *(r[0].nodes for r in runs[1:]), strict=True):
                n0.meta["_args"] = [n0.args] + [o.args for o in others]
                vals = n0.meta.get("_vals")
                for i, o in enumerate(others, 1):   # new nodes hold each run's value from that run
                    if vals and i < len(vals) and vals[i] is None:
                        vals[i] = o.meta["_vals"][i]
            _symbolic_args(g, syms, self._sym_sources)
        ep = copy.copy(self)
        ep._graph_module = GraphModule({}, g)
        kind = {"BUFFER": OutputKind.BUFFER_MUTATION, "PARAMETER": OutputKind.PARAMETER_MUTATION}
        user_specs = [s for s in self.graph_signature.output_specs if s.kind == OutputKind.USER_OUTPUT]
        ep._graph_signature = ExportGraphSignature(
            list(self.graph_signature.input_specs),
            [OutputSpec(kind.get(p.meta.get("kind"), OutputKind.USER_INPUT_MUTATION), TensorArgument(v.name),
                        p.meta.get("target") or p.target) for p, v in mutated]
            + [dataclasses.replace(s, arg=TensorArgument(n.name)) for s, n in zip(user_specs, user_out, strict=True)])
        return ep

    def _lowered(self, table: dict[str, Callable], run: int) -> tuple[Graph, Any, list[tuple[Node, Node]]]:
        """The graph with ``table``'s rules applied, shapes read from recorded run ``run``; its user outputs and
        (placeholder, new value) for the inputs it mutates."""
        _ops.TRACE[0] = run
        try:
            g = Graph()
            env: dict[Node, Node] = {}
            mutations: dict[Node, Node] = {}
            user_out: Any = ()
            for node in self.graph.nodes:
                if node.op == "placeholder":
                    env[node] = g.placeholder(node.target)
                    env[node].meta = dict(node.meta)
                elif node.op == "output":
                    user_out = map_arg(node.args[0], lambda n: env[n])
                else:
                    env[node] = _lower(g, node, env, table, mutations)
        finally:
            _ops.TRACE[0] = 0
        mutated = [(p, mutations[p]) for p in g.find_nodes(op="placeholder") if p in mutations]
        g.output(tuple(v for _, v in mutated) + tuple(user_out))
        for n in reversed(list(g.nodes)):
            if n.target is operator.getitem and not n.users:
                g.erase_node(n)
        return g, user_out, mutated

    def validate(self) -> None:
        self.graph.lint()


def _vals(node: Node) -> list[Any]:
    return node.meta.get("_vals") or [node.meta.get("val")]


def _lower(g: Graph, node: Node, env: dict[Node, Node], table: dict[str, Callable],
           mutations: dict[Node, Node]) -> Node:
    """Emit ``node`` into ``g``, through its decomposition rule when it has one (recursively)."""
    syms = node.meta.get("_syms")

    def emit(target: Any, *args: Any, **kwargs: Any) -> Node:
        new = g.create_node("call_function", target, args, kwargs,
                            name="getitem" if target is operator.getitem else target._opname)
        inputs: list[Node] = []
        map_arg((args, kwargs), inputs.append)
        run = _ops.TRACE[0]   # only this run's value: the shapes in the arguments are this run's
        vals: list[Any] = [None] * (min(len(_vals(n)) for n in inputs) if inputs else 1)
        if run < len(vals):
            vals[run] = target(*map_arg(args, lambda n: _vals(n)[run]), **map_arg(kwargs, lambda n: _vals(n)[run]))
        new.meta.update(val=vals[min(run, len(vals) - 1)], _vals=vals, stack_trace=node.meta.get("stack_trace"),
                        _syms=syms)
        return new

    def rebuild(n: Node) -> Node:
        return env[n]

    args, kwargs = map_arg(node.args, rebuild), map_arg(node.kwargs, rebuild)
    rule = table.get(str(node.target).removeprefix("aten.")) if isinstance(node.target, AtenOp) else None
    emitter = _Emitter(emit, table, node, mutations)
    out = rule(emitter, node, *args, **kwargs) if rule is not None else None
    if isinstance(out, tuple):
        return emitter.items(out[1])[0]
    return g.node_copy(node, rebuild) if out is None else out


class _Emitter:
    """``emit`` for decomposition rules: a rule's output ops are lowered again when they have rules of their own;
    ``items`` takes a tuple apart, ``mutate`` records the new value of an input an in-place op changed."""

    def __init__(self, emit: Callable[..., Node], table: dict[str, Callable], node: Node,
                 mutations: dict[Node, Node]) -> None:
        self.emit, self.table, self.node, self.mutations = emit, table, node, mutations

    def __call__(self, target: Any, *args: Any, **kwargs: Any) -> Node:
        new = self.emit(target, *args, **kwargs)
        rule = self.table.get(str(target).removeprefix("aten."))
        if rule is None or target == self.node.target:
            return new
        out = rule(self, new, *args, **kwargs)
        if out is None:
            return new
        new.graph.erase_node(new)
        return self.items(out[1])[0] if isinstance(out, tuple) else out

    def items(self, node: Node) -> list[Node]:
        """getitem nodes for every element of a tuple-valued node (named as torch names them; the unused ones are
        erased afterwards)."""
        return [self.emit(operator.getitem, node, i) for i in range(len(node.meta["val"]))]

    def mutate(self, target: Node, value: Node) -> None:
        if target.op == "placeholder":
            self.mutations[target] = value


def _annotation(node: Node) -> str:
    if "sym_expr" in node.meta:
        return f"Sym({node.meta['sym_expr']})"
    val = node.meta.get("val")
    if not isinstance(val, ember.Tensor):
        return ""
    shape = node.meta.get("sym_shape")
    if shape is None:
        shape = _sym_shape(node)
    return f"{dtype_abbr(val.dtype)}[{', '.join(map(str, shape))}]"


def _sym_shape(node: Node) -> list[str]:
    vals, syms = _vals(node), node.meta.get("_syms")
    if not syms or len(vals) < 2:
        return [str(s) for s in vals[0].shape]
    return [_trace.format_dim([v.shape[d] if d < v.dim() else 0 for v in vals], syms)
            for d in range(vals[0].dim())]


# ---- export ------------------------------------------------------------------------------------------------------
def _analyse(mod: Module, args: tuple, kwargs: dict, names: list[str], flat: list, specs: list,
             keep: frozenset[tuple[int, int]]) -> tuple:
    """The base trace, then one per dynamic dim with that size changed: symbols, ranges, guards."""
    graph, out, constants = _trace.trace_once(mod, args, kwargs, names, keep)

    # dynamic dims: one more run per dim with that size changed; shapes fit linearly in the symbols
    syms: list[tuple[str, int, int]] = []
    taken: set[int] = set()
    ranges: dict[Any, ValueRanges] = {}
    guards: list[tuple[str, int, int, str, int]] = []
    dim_syms: dict[tuple[int, int], str] = {}
    for pos, (name, v, spec) in enumerate(zip(names, flat, specs, strict=False)):
        if isinstance(v, (bool, int, float)):
            guards.append((name, pos, -1, "==", v))
        if not isinstance(v, ember.Tensor):
            continue
        for d in range(v.dim()):
            hint = spec.get(d)
            if hint is None or hint is DimHint.STATIC:
                guards.append((name, pos, d, "==", v.size(d)))
                continue
            lo, hi = (hint.min, hint.max) if isinstance(hint, Dim) else (2, None)
            base = v.size(d)
            alt = base + 1 if hi is None or base + 1 <= hi else base - 1
            trial = [x.clone() if i == pos else x for i, x in enumerate(flat)]
            size = list(v.shape)
            size[d] = alt
            trial[pos] = ember.zeros(size, dtype=v.dtype) + (v.mean() if v.is_floating_point() else 0)
            try:
                g2, _, _ = _trace.trace_once(mod, tuple(trial[:len(args)]),
                                             dict(zip(kwargs, trial[len(args):], strict=True)), names,
                                             keep)
                same = _same_structure(graph, g2)
            except Exception:
                g2, same = None, False
            if not same:
                if isinstance(hint, Dim) or hint is DimHint.DYNAMIC:
                    named = isinstance(hint, Dim)
                    label = hint.__name__ if named else f"L['{name}'].size()[{d}]"
                    raise UserError(
                        f"Constraints violated ({label})! For more information, run with TORCH_LOGS=\"+dynamic\".\n"
                        f"  - You marked {label} as dynamic but your code specialized it to be a constant ({base}). "
                        "If you're using mark_dynamic, either remove it or use maybe_mark_dynamic. If you're using "
                        "Dim.DYNAMIC, replace it with either Dim.STATIC or Dim.AUTO."
                        + (f"\nSuggested fixes:\n  {label} = {base}" if named else ""))
                guards.append((name, pos, d, "==", base))
                continue
            sym = _trace.symbol_name(f"L['{name}'].size()[{d}]", taken)
            dim_syms[(pos, d)] = sym
            syms.append((sym, base, alt))
            for n1, n2 in zip(graph.nodes, g2.nodes, strict=False):
                n1.meta.setdefault("_vals", [n1.meta.get("val")]).append(n2.meta.get("val"))
                n1.meta.setdefault("_args", [n1.args]).append(n2.args)
            ranges[_Symbol(sym)] = ValueRanges(lo, INT_OO if hi is None else hi)
            if hi is not None:
                guards.append((name, pos, d, "<=", hi))
            if lo > 2:
                guards.append((name, pos, d, ">=", lo))
    return graph, out, constants, syms, ranges, guards, dim_syms


def export(mod: Module, args: tuple, kwargs: dict | None = None, *, dynamic_shapes: Any = None, strict: bool = False,
           preserve_module_call_signature: tuple[str, ...] = (), prefer_deferred_runtime_asserts_over_guards: bool
           = False) -> ExportedProgram:
    """Trace ``mod(*args, **kwargs)`` into an ExportedProgram (torch's pre-dispatch ATen graph; Python control flow
    specialised to the example inputs; dims in ``dynamic_shapes`` kept symbolic)."""
    if not isinstance(mod, Module):
        raise ValueError(f"Expected `mod` to be an instance of `torch.nn.Module`, got {type(mod)}.")
    if not isinstance(args, tuple):
        raise UserError(f"Expecting `args` to be a tuple of example positional inputs, got {_type_name(args)}")
    kwargs = dict(kwargs or {})
    names = _trace.arg_names(mod, len(args), kwargs)
    flat = list(args) + list(kwargs.values())
    specs = flatten_spec(dynamic_shapes, names, len(flat))
    keep: frozenset[tuple[int, int]] = frozenset()
    with overrides._held():   # recording runs on the __torch_function__ protocol; the process stays as fast as it was
        while True:
            graph, out, constants, syms, ranges, guards, dim_syms = _analyse(mod, args, kwargs, names, flat, specs,
                                                                             keep)
            # a full slice ``[:]`` is a no-op torch leaves out only on a static dim: keep those on symbolic dims
            sym_keep = frozenset((seq, d) for seq, d, node in graph._full_slices
                                 if len({v.shape[d] for v in node.meta.get("_vals", [])}) > 1)
            if sym_keep <= keep:
                break
            keep = keep | sym_keep
    sources = {sym: (names[pos], d) for (pos, d), sym in dim_syms.items()}
    if syms:
        _symbolic_args(graph, syms, sources)
    for node in graph.nodes:
        if syms:
            node.meta["_syms"] = syms
            if len(node.meta.get("_vals", [])) != len(syms) + 1:
                node.meta.pop("_vals", None)
                node.meta.pop("_syms", None)
        if node.op == "placeholder" and node.meta.get("kind") == "USER_INPUT" and node.target in names \
                and isinstance(node.meta["val"], ember.Tensor):
            pos = names.index(node.target)
            node.meta["sym_shape"] = [dim_syms.get((pos, d), str(s)) for d, s in enumerate(node.meta["val"].shape)]
    ep = _build(mod, graph, constants, ranges, guards, (tuple(args), kwargs), out)
    ep._sym_sources = sources
    return ep


def _type_name(v: Any) -> str:
    return "<class 'torch.Tensor'>" if isinstance(v, ember.Tensor) else str(type(v))


def _symbolic_args(graph: Graph, syms: list[tuple[str, int, int]], sources: dict[str, tuple[str, int]]) -> None:
    """Integer arguments that follow the dynamic sizes (``x.view(x.size(0), -1)``) become computed from them at run
    time, as torch records them: ``sym_size.int`` of the input, then ``*``/``+`` on it."""
    placeholders = {n.target: n for n in graph.nodes if n.op == "placeholder"}
    sizes: dict[str, Node] = {n.meta["sym_expr"]: n for n in graph.nodes
                              if n.op == "call_function" and str(n.target) == "aten.sym_size.int"}
    anchor = [list(sizes.values())[-1] if sizes else list(placeholders.values())[-1]]

    class Unresolved(int):
        """A varying size no expression was fitted to (kept as the example's value unless it can be inferred)."""

    def sym_node(name: str) -> Node:
        if name not in sizes:
            ph, d = sources[name]
            with graph.inserting_after(anchor[0]):
                n = graph.create_node("call_function", op("sym_size", "int"), (placeholders[ph], d),
                                      name=f"sym_size_int_{len(sizes) + 1}")
            k = [t[0] for t in syms].index(name)
            base, alt = syms[k][1:]
            n.meta.update(val=base, sym_expr=name, _vals=[alt if i == k + 1 else base for i in range(len(syms) + 1)])
            sizes[name] = anchor[0] = n
        return sizes[name]

    def expression(values: list[int], at: Node) -> Any:
        expr = _trace.format_dim(values, syms)
        if expr == str(values[0]):
            return values[0]
        coeffs = []
        for k, (name, base, alt) in enumerate(syms):
            a, r = divmod(values[k + 1] - values[0], alt - base)
            if r:
                return Unresolved(values[0])
            if a:
                coeffs.append((name, a, base))
        if len(coeffs) != 1:
            return Unresolved(values[0])
        name, a, base = coeffs[0]
        const = values[0] - a * base
        cur: Any = sym_node(name)
        for fn, operand, text in ((operator.mul, a, f"{a}*{name}"), (operator.add, const, expr)):
            if (fn is operator.mul and operand == 1) or (fn is operator.add and operand == 0):
                continue
            with graph.inserting_before(at):
                new = graph.call_function(fn, (cur, operand))
            new.meta.update(val=fn(cur.meta["val"], operand), sym_expr=text,
                            _vals=[fn(v, operand) for v in cur.meta["_vals"]], stack_trace=at.meta.get("stack_trace"))
            cur = new
        return cur

    def walk(items: list[Any], at: Node) -> Any:
        first = items[0]
        if isinstance(first, (list, tuple)) and not isinstance(first, Node):
            out = [walk([it[i] for it in items], at) for i in range(len(first))]
            return type(first)(out) if isinstance(first, tuple) else out
        if type(first) is int and len({v for v in items}) > 1:
            return expression(list(items), at)
        return first

    for node in list(graph.nodes):
        args = node.meta.pop("_args", None)
        if node.op == "call_function" and args and len(args) == len(syms) + 1:
            new = walk(list(args), node)
            if str(node.target) in ("aten.view.default", "aten.reshape.default") and -1 not in new[1] \
                    and sum(isinstance(v, Unresolved) for v in new[1]) == 1:
                new = (new[0], [-1 if isinstance(v, Unresolved) else v for v in new[1]])   # a product: inferred
            node.args = map_aggregate(new, lambda v: int(v) if isinstance(v, Unresolved) else v)


def _same_structure(g1: Graph, g2: Graph) -> bool:
    n1, n2 = list(g1.nodes), list(g2.nodes)
    return len(n1) == len(n2) and all(a.op == b.op and a.target == b.target and a.name == b.name
                                      for a, b in zip(n1, n2, strict=False))


def _build(mod: Module, graph: Graph, constants: dict[str, Any], ranges: dict, guards: list, example: tuple,
           out: Any) -> ExportedProgram:
    input_specs = []
    state_dict: dict[str, Any] = {}
    consts: dict[str, Any] = dict(constants)
    for node in graph.nodes:
        if node.op != "placeholder":
            continue
        kind, target = node.meta["kind"], node.meta.get("target")
        persistent = node.meta.get("persistent") if kind == "BUFFER" else None
        name = node.target if kind == "USER_INPUT" else node.name   # torch's name (``input``, not ``input_1``)
        input_specs.append(InputSpec(InputKind[kind], TensorArgument(name), target, persistent))
        if kind in ("PARAMETER", "BUFFER"):
            (state_dict if persistent is not False else consts)[target] = node.meta["val"]
    outputs = graph.find_nodes(op="output")[0].args[0]
    output_specs = [OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(n.name), None) for n in outputs]
    call_graph = [ModuleCallEntry("", ModuleCallSignature([], [], None, None, list(_trace.arg_names(
        mod, len(example[0]), example[1]))))] + [ModuleCallEntry(n, None) for n, _ in mod.named_modules() if n]
    return ExportedProgram({}, graph, ExportGraphSignature(input_specs, output_specs), state_dict, ranges,
                           call_graph, example, consts, _guards=guards, _out_spec=_trace.tree_spec(out))
