"""``ember.fx``: torch.fx — capture a Module's forward as a Graph by symbolic tracing, edit the Graph, and run it
as a GraphModule whose code is generated from it (the same program torch prints for the same model).

    gm = ember.fx.symbolic_trace(model)    # Graph + generated forward
    print(gm.graph); print(gm.code)
    gm.graph.eliminate_dead_code(); gm.recompile()
"""

from __future__ import annotations

from . import immutable_collections, node, passes, subgraph_rewriter
from ._symbolic_trace import PH, ProxyableClassMeta, Tracer, symbolic_trace, wrap
from .graph import CodeGen, Graph, PythonCode
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, has_side_effect, map_arg
from .proxy import Proxy, TraceError
from .subgraph_rewriter import replace_pattern

__all__ = ["symbolic_trace", "Tracer", "Graph", "GraphModule", "Node", "Proxy", "Interpreter", "Transformer",
           "wrap", "replace_pattern", "map_arg", "has_side_effect", "PH", "ProxyableClassMeta", "CodeGen",
           "PythonCode", "TraceError", "immutable_collections", "node", "passes", "subgraph_rewriter"]
