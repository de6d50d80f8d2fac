"""``ember.fx.passes.shape_prop``: ShapeProp runs a GraphModule on example inputs and records each node's
result as ``node.meta['tensor_meta']`` (a TensorMetadata) and ``node.meta['type']``."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..interpreter import Interpreter
from ..node import Node, map_aggregate

__all__ = ["TensorMetadata", "ShapeProp"]


class TensorMetadata(NamedTuple):
    """What ShapeProp keeps of a tensor: shape, dtype, requires_grad, stride, memory format, quantization."""

    shape: Any
    dtype: Any
    requires_grad: bool
    stride: tuple[int, ...]
    memory_format: Any
    is_quantized: bool
    qparams: dict[str, Any]


def _extract_tensor_metadata(result: Any) -> TensorMetadata:
    import ember

    memory_format = None
    for fmt in (ember.contiguous_format, ember.channels_last, ember.channels_last_3d):
        if result.is_contiguous(memory_format=fmt):
            memory_format = fmt
            break
    qparams: dict[str, Any] = {}
    is_quantized = bool(getattr(result, "is_quantized", False))
    if is_quantized:
        qparams["qscheme"] = result.qscheme()
        qparams["scale"] = result.q_scale()
        qparams["zero_point"] = result.q_zero_point()
    return TensorMetadata(result.shape, result.dtype, result.requires_grad, result.stride(), memory_format,
                          is_quantized, qparams)


class ShapeProp(Interpreter):
    """``ShapeProp(gm).propagate(*example_inputs)`` fills ``meta['tensor_meta']`` (for nodes producing tensors,
    also inside tuples/lists) and ``meta['type']``."""

    def run_node(self, n: Node) -> Any:
        import ember

        result = super().run_node(n)
        found = False

        def extract(obj: Any) -> Any:
            nonlocal found
            if isinstance(obj, ember.Tensor):
                found = True
                return _extract_tensor_metadata(obj)
            return obj
        meta = map_aggregate(result, extract)
        if found:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args: Any) -> Any:
        """Run the module on ``args`` (recording metadata); returns its result."""
        return super().run(*args)
