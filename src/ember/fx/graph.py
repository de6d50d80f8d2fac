"""``ember.fx.graph``: a Graph is an ordered, doubly linked list of Nodes — the program a GraphModule runs —
with the editing API (insertion points, copying, dead-code elimination, lint) and the code generator that
turns it into Python source spelled as torch spells it."""

from __future__ import annotations

import builtins
import copy
import inspect
import keyword
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._names import is_torch_name, qualified_name, target_name, torch_alias
from .immutable_collections import immutable_dict
from .node import Argument, Node, Target, _type_repr, map_arg

if TYPE_CHECKING:
    from ember.nn import Module

__all__ = ["Graph", "PythonCode", "CodeGen"]

_illegal_names: dict[str, object] = {k: object() for k in keyword.kwlist}
_illegal_names.update(builtins.__dict__)
_illegal_names.update({"torch": object(), "inf": math.inf, "nan": math.nan, "NoneType": type(None),
                       "device": object(), "fx_pytree": object(), "pytree": object()})
_name_regex = re.compile(r"^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$")
_illegal_char_regex = re.compile("[^0-9a-zA-Z_]+")
_snake_case_sub = re.compile(r"(?<=[a-z])([A-Z])")

reflectable_magic_methods = {
    "add": "{} + {}", "sub": "{} - {}", "mul": "{} * {}", "floordiv": "{} // {}", "truediv": "{} / {}",
    "div": "{} / {}", "mod": "{} % {}", "pow": "{} ** {}", "lshift": "{} << {}", "rshift": "{} >> {}",
    "and_": "{} & {}", "or_": "{} | {}", "xor": "{} ^ {}", "getitem": "{}[{}]", "matmul": "{} @ {}",
}
magic_methods = {
    "eq": "{} == {}", "ne": "{} != {}", "lt": "{} < {}", "gt": "{} > {}", "le": "{} <= {}", "ge": "{} >= {}",
    "pos": "+{}", "neg": "-{}", "invert": "~{}", **reflectable_magic_methods,
}
inplace_methods = {
    "iadd": "{} += {}", "iand": "{} &= {}", "ifloordiv": "{} //= {}", "ilshift": "{} <<= {}", "imod": "{} %= {}",
    "imul": "{} *= {}", "imatmul": "{} @= {}", "ior": "{} |= {}", "ipow": "{} **= {}", "irshift": "{} >>= {}",
    "isub": "{} -= {}", "itruediv": "{} /= {}", "ixor": "{} ^= {}", "setitem": "{}[{}] = {}",
}


class _Namespace:
    """Unique Python identifiers for nodes and globals: a name taken (or a builtin's) gets ``_1``, ``_2``..."""

    def __init__(self) -> None:
        self._obj_to_name: dict[Any, str] = {}
        self._used_names: set[str] = set()
        self._base_count: dict[str, int] = {}

    def create_name(self, candidate: str, obj: Any | None) -> str:
        if obj is not None and obj in self._obj_to_name:
            return self._obj_to_name[obj]
        match = _name_regex.match(candidate)
        if match is None:
            candidate = _illegal_char_regex.sub("_", candidate) or "_unnamed"
            if candidate[0].isdigit():
                candidate = f"_{candidate}"
            match = _name_regex.match(candidate)
            assert match is not None
        base, num = match.group(1, 2)
        if num is None or candidate in self._used_names:
            num = self._base_count.get(base, 0)
            if _illegal_names.get(candidate, obj) is not obj:
                num += 1
                candidate = f"{base}_{num}"
        else:
            num = int(num)
        while candidate in self._used_names:
            num += 1
            candidate = f"{base}_{num}"
        self._used_names.add(candidate)
        self._base_count[base] = num
        if obj is not None:
            self._obj_to_name[obj] = candidate
        return candidate

    def associate_name_with_obj(self, name: str, obj: Any) -> None:
        if self._obj_to_name.setdefault(obj, name) is not name:
            raise AssertionError("obj is already associated")


@dataclass
class PythonCode:
    """The source of a graph's forward function and the globals it runs with."""

    src: str
    globals: dict[str, Any]


def _format_target(base: str, target: str) -> str:
    r = base
    for e in target.split("."):
        r = f"{r}.{e}" if e.isidentifier() else f'getattr({r}, "{e}")'
    return r


class CodeGen:
    """Turns a node list into ``def forward(self, ...)`` source (torch's layout, values freed after last use)."""

    def gen_fn_def(self, free_vars: list[str], maybe_return_annotation: str) -> str:
        if not free_vars or free_vars[0] != "self":
            free_vars.insert(0, "self")
        return f"def forward({', '.join(free_vars)}){maybe_return_annotation}:"

    def generate_output(self, output_args: Argument, repr_fn: Callable[[Any], str] = repr) -> str:
        return f"return {repr_fn(output_args)}"

    def _gen_python_code(self, nodes: list[Node], root_module: str, namespace: _Namespace,
                         verbose: bool = False) -> PythonCode:
        import ember

        free_vars: list[str] = []
        body: list[str] = []
        globals_: dict[str, Any] = {"torch": torch_alias(), "device": ember.device, "inf": math.inf,
                                    "nan": math.nan, "NoneType": type(None)}
        wrapped_fns: dict[str, None] = {}
        return_annotation = [""]

        def add_global(name_hint: str, obj: Any) -> str:
            if is_torch_name(obj):
                return qualified_name(obj)
            name = namespace.create_name(name_hint, obj)
            if globals_.get(name, obj) is not obj:
                raise AssertionError(f"Global name {name} already assigned to different object")
            globals_[name] = obj
            return name

        def type_repr(t: Any) -> str:
            if isinstance(t, type) and t.__module__ == "builtins":
                return t.__qualname__
            if isinstance(t, type) and issubclass(t, ember.Tensor) and t is ember.Tensor:
                return "torch.Tensor"
            return add_global(_type_repr(t), t)

        def get_repr(arg: Any) -> str:
            if isinstance(arg, Node):
                return repr(arg)
            if isinstance(arg, tuple) and hasattr(arg, "_fields"):
                return f"{add_global(qualified_name(type(arg)), type(arg))}{tuple(arg)!r}"
            if isinstance(arg, ember.Tensor):
                return f"torch.Tensor(size={list(arg.size())}, dtype={str(arg.dtype).split('.')[-1]})"
            if isinstance(arg, tuple):
                return f"({get_repr(arg[0])},)" if len(arg) == 1 else "(" + ", ".join(map(get_repr, arg)) + ")"
            if isinstance(arg, list):
                return "[" + ", ".join(map(get_repr, arg)) + "]"
            if isinstance(arg, slice):
                return f"slice({get_repr(arg.start)}, {get_repr(arg.stop)}, {get_repr(arg.step)})"
            return repr(arg)

        def format_args(args: tuple, kwargs: dict) -> str:
            return ", ".join([get_repr(a) for a in args] + [f"{k} = {get_repr(v)}" for k, v in kwargs.items()])

        last_use: dict[Node, Node] = {}
        to_free: dict[Node, list[Node]] = {}
        for node in reversed(nodes):
            for inp in node._input_nodes:
                if inp not in last_use:
                    last_use[inp] = node
                    to_free.setdefault(node, []).append(inp)

        def free_after(user: Node) -> None:
            if user.op == "placeholder":
                return
            if user.op == "output":
                body.append("\n")
                return
            dead = list(to_free.get(user, []))
            if not user.users:
                dead.append(user)
            body.append(f";  {' = '.join([repr(n) for n in dead] + ['None'])}\n" if dead else "\n")

        def emit(node: Node) -> None:
            ann = "" if node.type is None else f" : {type_repr(node.type)}"
            if node.op == "placeholder":
                default = f" = {get_repr(node.args[0])}" if node.args else ""
                free_vars.append(f"{node.target}{ann}{default}")
                raw = node.target.replace("*", "")
                if raw != repr(node):
                    body.append(f"{repr(node)} = {raw}\n")
            elif node.op == "call_method":
                body.append(f"{repr(node)}{ann} = {_format_target(get_repr(node.args[0]), node.target)}"
                            f"({format_args(node.args[1:], node.kwargs)})")
            elif node.op == "call_function":
                fn = node.target
                mod, name = getattr(fn, "__module__", ""), getattr(fn, "__name__", "")
                if mod == "_operator" and name in magic_methods:
                    body.append(f"{repr(node)}{ann} = {magic_methods[name].format(*map(get_repr, node.args))}")
                    return
                if mod == "_operator" and name in inplace_methods:
                    body.append(f"{inplace_methods[name].format(*map(get_repr, node.args))};  "
                                f"{repr(node)}{ann} = {get_repr(node.args[0])}")
                    return
                global_name = add_global(qualified_name(fn), fn)
                if (global_name == "getattr" and len(node.args) == 2 and isinstance(node.args[1], str)
                        and node.args[1].isidentifier()):
                    body.append(f"{repr(node)}{ann} = {_format_target(get_repr(node.args[0]), node.args[1])}")
                    return
                body.append(f"{repr(node)}{ann} = {global_name}({format_args(node.args, node.kwargs)})")
                if node.meta.get("is_wrapped", False):
                    wrapped_fns.setdefault(global_name)
            elif node.op == "call_module":
                body.append(f"{repr(node)}{ann} = {_format_target(root_module, node.target)}"
                            f"({format_args(node.args, node.kwargs)})")
            elif node.op == "get_attr":
                body.append(f"{repr(node)}{ann} = {_format_target(root_module, node.target)}")
            elif node.op == "output":
                if node.type is not None:
                    return_annotation[0] = f" -> {type_repr(node.type)}"
                body.append(self.generate_output(node.args[0], get_repr))
            else:
                raise NotImplementedError(f"node: {node.op} {node.target}")

        summarised = False
        for node in nodes:
            if verbose and not summarised and node.op not in ("placeholder", "output"):
                body.append("\n# No stacktrace found for following nodes\n")
                summarised = True
            emit(node)
            free_after(node)
        if not body:
            body.append("pass\n")
        wrap_stmts = ""
        if wrapped_fns:
            from ._symbolic_trace import wrap
            wrap_name = add_global("wrap", wrap)
            wrap_stmts = "\n".join(f'{wrap_name}("{name}")' for name in wrapped_fns)
        prologue = self.gen_fn_def(free_vars, return_annotation[0])
        code = "".join(body).lstrip("\n")
        code = "\n".join("    " + line for line in code.split("\n"))
        return PythonCode(f"\n{wrap_stmts}\n\n{prologue}\n{code}", globals_)


class _InsertPoint:
    def __init__(self, graph: Graph, new_insert: Callable[[Node], None]) -> None:
        self.graph = graph
        self.orig_insert, graph._insert = graph._insert, new_insert

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        self.graph._insert = self.orig_insert


class _NodeList:
    """A live view of a graph's nodes in order (safe to erase the current node while iterating)."""

    def __init__(self, graph: Graph, reverse: bool = False) -> None:
        self._graph, self._reverse = graph, reverse

    def __len__(self) -> int:
        return self._graph._len

    def __iter__(self) -> Iterator[Node]:
        root = self._graph._root
        cur = root._prev if self._reverse else root._next
        while cur is not root:
            if not cur._erased:
                yield cur
            cur = cur._prev if self._reverse else cur._next

    def __reversed__(self) -> Iterator[Node]:
        return iter(_NodeList(self._graph, not self._reverse))

    def __repr__(self) -> str:
        return repr(list(self))


class Graph:
    """The intermediate representation of ``ember.fx``: Nodes in execution order, built by tracing or by the
    ``placeholder``/``call_*``/``get_attr``/``output`` methods."""

    def __init__(self, owning_module: Module | None = None, tracer_cls: type | None = None,
                 tracer_extras: dict[str, Any] | None = None) -> None:
        self._root = Node(self, "", "root", "", (), {})
        self._used_names: dict[str, int] = {}
        self._insert = self._root.prepend
        self._len = 0
        self._graph_namespace = _Namespace()
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras
        self._codegen = CodeGen()

    @property
    def owning_module(self) -> Module | None:
        """The GraphModule this graph belongs to, if any."""
        return self._owning_module

    @owning_module.setter
    def owning_module(self, mod: Module | None) -> None:
        self._owning_module = mod

    @property
    def nodes(self) -> _NodeList:
        """The nodes, in order (len(), iteration, reversed())."""
        return _NodeList(self)

    def find_nodes(self, *, op: str, target: Target | None = None, sort: bool = True) -> list[Node]:
        """The nodes with opcode ``op`` (and ``target``, when given), in graph order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # ---- building
    def create_node(self, op: str, target: Target, args: tuple | None = None, kwargs: dict | None = None,
                    name: str | None = None, type_expr: Any | None = None) -> Node:
        """A new Node at the insertion point (the end by default; see ``inserting_before``/``_after``)."""
        if args and not isinstance(args, tuple):
            raise AssertionError(f"args must be a tuple, got {type(args)}")
        if kwargs and not isinstance(kwargs, dict):
            raise AssertionError(f"kwargs must be a dict, got {type(kwargs)}")
        candidate = name if name is not None else self._target_to_str(target)
        name = self._graph_namespace.create_name(candidate, None)
        n = Node(self, name, op, target, args or (), kwargs or immutable_dict(), type_expr)
        self._insert(n)
        self._len += 1
        return n

    @staticmethod
    def _target_to_str(target: Target) -> str:
        if callable(target):
            op = target_name(target)
        else:
            op = target
            if op.startswith("__") and op.endswith("__"):
                op = op[2:-2]
        return _snake_case_sub.sub(r"_\1", op).lower()

    def placeholder(self, name: str, type_expr: Any | None = None, default_value: Any = inspect.Signature.empty
                    ) -> Node:
        """An input of the graph (``default_value`` becomes the argument's default)."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args=args, type_expr=type_expr)

    def get_attr(self, qualified_name: str, type_expr: Any | None = None) -> Node:
        """Read ``qualified_name`` (``"l2.weight"``) from the owning module."""
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name: str, args: tuple | None = None, kwargs: dict | None = None,
                    type_expr: Any | None = None) -> Node:
        """Call the submodule ``module_name``."""
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name: str, args: tuple | None = None, kwargs: dict | None = None,
                    type_expr: Any | None = None) -> Node:
        """Call ``args[0].method_name(*args[1:], **kwargs)``."""
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function: Callable, args: tuple | None = None, kwargs: dict | None = None,
                      type_expr: Any | None = None) -> Node:
        """Call a free function (``operator.add``, ``torch.relu``, ...)."""
        return self.create_node("call_function", the_function, args, kwargs, type_expr=type_expr)

    def output(self, result: Argument, type_expr: Any | None = None) -> Node:
        """The ``return`` of the graph."""
        return self.create_node(op="output", target="output", args=(result,), type_expr=type_expr)

    def inserting_before(self, n: Node | None = None) -> _InsertPoint:
        """Context manager: new nodes go just before ``n`` (the start of the graph when None)."""
        if n is None:
            return self.inserting_after(self._root)
        if n.graph is not self:
            raise AssertionError("Node to insert before is not in graph.")
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n: Node | None = None) -> _InsertPoint:
        """Context manager: new nodes go just after ``n`` (the end of the graph when None)."""
        if n is None:
            return self.inserting_before(self._root)
        if n.graph is not self:
            raise AssertionError("Node to insert after is not in graph.")
        return _InsertPoint(self, n.append)

    def erase_node(self, to_erase: Node) -> None:
        """Remove a Node that has no users left."""
        if len(to_erase.users) > 0:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had {len(to_erase.users)} users in the "
                               f"graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            return
        p, n = to_erase._prev, to_erase._next   # the erased node keeps its links so iteration can go on
        p._next, n._prev = n, p
        self._len -= 1
        to_erase._erased = True
        to_erase._update_args_kwargs((), {})

    # ---- copying
    def node_copy(self, node: Node, arg_transform: Callable[[Node], Argument] = lambda x: x) -> Node:
        """A copy of ``node`` (possibly from another graph) here, its Node arguments mapped by ``arg_transform``."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        result = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        result.meta = copy.copy(node.meta)
        return result

    def graph_copy(self, g: Graph, val_map: dict[Node, Node], return_output_node: bool = False) -> Any:
        """Copy every node of ``g`` but its output here (``val_map`` maps g's nodes to the copies; pre-filled
        entries are used as is); returns what g's output returns, in terms of the copies."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                rv = map_arg(node.args[0], lambda n: val_map[n])
                return (rv, node) if return_output_node else rv
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo: dict | None = None) -> Graph:
        memo = {} if memo is None else memo
        g = Graph(tracer_cls=self._tracer_cls)
        out = g.graph_copy(self, val_map=memo, return_output_node=True)
        if out is not None:
            rv, old_out = out
            new_out = g.output(rv, type_expr=old_out.type)
            new_out.meta = copy.copy(old_out.meta)
        return g

    # ---- passes
    def eliminate_dead_code(self, is_impure_node: Callable[[Node], bool] | None = None) -> bool:
        """Erase the nodes whose values nobody uses and that have no side effect; True when any went."""
        changed = False
        for node in reversed(self.nodes):
            impure = is_impure_node(node) if is_impure_node is not None else node.is_impure()
            if not impure and len(node.users) == 0:
                self.erase_node(node)
                changed = True
        return changed

    def lint(self) -> None:
        """Check the invariants: known opcodes, nodes owned by this graph, arguments defined before use, unique
        names, targets that exist in the owning module. Raises RuntimeError naming the problem."""
        seen_names: set[str] = set()
        seen_values: set[Node] = set()

        def check_arg(arg: Node, n: Node | None = None) -> None:
            ctx = f" of Node '{n}' " if n else " "
            if arg.graph is not self:
                raise RuntimeError(f"Argument '{arg}'{ctx}does not belong to this Graph, but was used as an argument! "
                                   "If you are copying nodes from another graph, make sure to use ``arg_transform`` "
                                   f"on node_copy() to remap values\n{self}")
            if arg not in seen_values:
                raise RuntimeError(f"Argument '{arg}'{ctx}was used before it has been defined! Please check that "
                                   f"Nodes in the graph are topologically ordered\n{self}")

        for node in self.nodes:
            if node.op not in ("placeholder", "call_method", "call_module", "call_function", "get_attr", "output"):
                raise RuntimeError(f"Node {node} had unknown opcode {node.op}!")
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            map_arg(node.args, lambda arg, node=node: check_arg(arg, node))
            map_arg(node.kwargs, lambda arg, node=node: check_arg(arg, node))
            seen_values.add(node)
            if node.name in seen_names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            seen_names.add(node.name)
        if self.owning_module is None:
            return
        for node in self.nodes:
            if node.op in ("get_attr", "call_module"):
                m_itr: Any = self.owning_module
                seen_qualname: list[str] = []
                for atom in node.target.split("."):
                    if not hasattr(m_itr, atom):
                        raise RuntimeError(f"Node {node} target {node.target} references nonexistent attribute "
                                           f"{atom} of {'.'.join(seen_qualname)}")
                    m_itr = getattr(m_itr, atom)
                    seen_qualname.append(atom)

    # ---- printing
    def python_code(self, root_module: str, *, verbose: bool = False) -> PythonCode:
        """The source of ``forward`` (``root_module`` names the module argument, ``"self"`` in a GraphModule)."""
        namespace = _Namespace()
        for node in self.nodes:   # node names are taken first so globals never shadow them
            namespace.create_name(node.name, node)
        return self._codegen._gen_python_code(list(self.nodes), root_module, namespace, verbose)

    def __str__(self) -> str:
        placeholder_names: list[str] = []
        return_typename = [""]   # never filled here: torch's printout leaves the return type out
        lines = [n.format_node(placeholder_names) for n in self.nodes]
        s = f"graph({', '.join(placeholder_names)}){return_typename[0]}:"
        for line in lines:
            if line:
                s += "\n    " + line
        return s

    def print_tabular(self) -> None:
        """Print the nodes as a table (needs the ``tabulate`` package, as torch does)."""
        try:
            from tabulate import tabulate
        except ImportError:
            print("`print_tabular` relies on the library `tabulate`, which could not be found on this machine. "
                  "Run `pip install tabulate` to install the library.")
            raise
        rows = [[n.op, n.name, n.target, n.args, n.kwargs] for n in self.nodes]
        print(tabulate(rows, headers=["opcode", "name", "target", "args", "kwargs"]))
