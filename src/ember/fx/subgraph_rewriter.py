"""``ember.fx.subgraph_rewriter``: ``replace_pattern`` — find every occurrence of a pattern graph in a
GraphModule's graph and splice a replacement graph in its place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from .graph import Graph
from .graph_module import GraphModule
from .node import Node, map_arg

__all__ = ["Match", "replace_pattern"]


class Match(NamedTuple):
    """One occurrence: the pattern's output node (the anchor) and {pattern node: matched node}."""

    anchor: Node
    nodes_map: dict[Node, Node]


def _graph_of(fn: Callable | Graph | GraphModule) -> Graph:
    if isinstance(fn, Graph):
        return fn
    if isinstance(fn, GraphModule):
        return fn.graph
    from ._symbolic_trace import symbolic_trace
    return symbolic_trace(fn).graph


def _returns(graph: Graph) -> tuple[list[Node], Node]:
    out = next(n for n in reversed(graph.nodes) if n.op == "output")
    found: list[Node] = []
    map_arg(out.args[0], found.append)
    return found, out


class _Matcher:
    def __init__(self, pattern: Graph) -> None:
        self.pattern = pattern
        self.anchors, _ = _returns(pattern)

    def _match(self, pn: Any, gn: Any, nodes_map: dict[Node, Node]) -> bool:
        if isinstance(pn, Node) != isinstance(gn, Node):
            return False
        if not isinstance(pn, Node):
            if isinstance(pn, (list, tuple)) and isinstance(gn, (list, tuple)):
                return len(pn) == len(gn) and all(self._match(a, b, nodes_map) for a, b in zip(pn, gn, strict=False))
            return type(pn) is type(gn) and pn == gn
        if pn in nodes_map:
            return nodes_map[pn] is gn
        if gn in nodes_map.values():
            return False
        if pn.op == "placeholder":
            nodes_map[pn] = gn
            return True
        if pn.op != gn.op or pn.target != gn.target or len(pn.args) != len(gn.args) \
                or set(pn.kwargs) != set(gn.kwargs):
            return False
        nodes_map[pn] = gn
        ok = all(self._match(a, b, nodes_map) for a, b in zip(pn.args, gn.args, strict=False)) and \
            all(self._match(pn.kwargs[k], gn.kwargs[k], nodes_map) for k in pn.kwargs)
        if not ok:
            del nodes_map[pn]
        return ok

    def match(self, graph: Graph) -> list[Match]:
        matches: list[Match] = []
        taken: set[Node] = set()
        anchor = self.anchors[0]
        for gn in graph.nodes:
            nodes_map: dict[Node, Node] = {}
            if not self._match(anchor, gn, nodes_map):
                continue
            if not all(self._match(a, nodes_map.get(a), nodes_map) for a in self.anchors[1:] if a in nodes_map):
                continue
            internal = {nodes_map[p] for p in nodes_map if p.op != "placeholder"}
            returned = {nodes_map[a] for a in self.anchors}
            if internal & taken:
                continue
            # a matched inner value read outside the match cannot be removed: not a match
            if any(u not in internal for n in internal - returned for u in n.users):
                continue
            taken |= internal
            matches.append(Match(anchor=anchor, nodes_map=nodes_map))
        return matches


def replace_pattern(gm: GraphModule, pattern: Callable | Graph | GraphModule,
                    replacement: Callable | Graph | GraphModule) -> list[Match]:
    """Replace each non-overlapping occurrence of ``pattern`` (traced when a function or Module) in ``gm``'s
    graph by ``replacement``; placeholders of the pattern match any value and are passed to the replacement's
    placeholders in order. Recompiles ``gm``; returns the matches."""
    pattern_graph = _graph_of(pattern)
    replacement_graph = _graph_of(replacement)
    matcher = _Matcher(pattern_graph)
    matches = matcher.match(gm.graph)
    pattern_inputs = [n for n in pattern_graph.nodes if n.op == "placeholder"]
    replacement_inputs = [n for n in replacement_graph.nodes if n.op == "placeholder"]
    graph = gm.graph
    replaced: dict[Node, Node] = {}   # a node an earlier replacement swapped out -> what took its place
    for m in matches:
        for p, gn in list(m.nodes_map.items()):
            while gn in replaced:
                gn = replaced[gn]
            m.nodes_map[p] = gn
        val_map: dict[Node, Any] = {r: m.nodes_map[p] for p, r in zip(pattern_inputs, replacement_inputs, strict=False)
                                    if p in m.nodes_map}
        returned = [m.nodes_map[a] for a in matcher.anchors]
        order = {n: i for i, n in enumerate(graph.nodes)}
        users = [u for r in returned for u in r.users]
        first_user = min(users, key=order.__getitem__) if users else returned[-1].next
        with graph.inserting_before(first_user):
            copied = graph.graph_copy(replacement_graph, val_map)
        new_outs: list[Node] = []
        map_arg(copied, new_outs.append)
        for old, new in zip(returned, new_outs, strict=False):
            old.replace_all_uses_with(new)
            replaced[old] = new
        for pn in reversed(list(pattern_graph.nodes)):
            if pn.op not in ("placeholder", "output") and pn in m.nodes_map:
                gn = m.nodes_map[pn]
                if not gn.users:
                    graph.erase_node(gn)
    gm.recompile()
    return matches
