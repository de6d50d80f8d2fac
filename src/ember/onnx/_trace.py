"""Run the model under the recorder and assemble the ModelProto (names, initializers, dynamic axes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._core.warn import warn
from .._tensor import Tensor
from ._graph import Graph, Recorder, flatten
from ._symbolics import SYMBOLICS, recurrent

_RECURRENT = ("LSTM", "GRU")


def _scope_hooks(g: Graph, model: Any) -> list:
    """Forward hooks keeping ``g.scope`` as torch names node scopes (``/layer1/layer1.0/conv1/Conv``); recurrent
    layers are recorded whole."""
    handles = []
    for qual, module in model.named_modules():
        if not qual:
            continue
        local = qual.rpartition(".")[2]
        part = qual if local.isdigit() else local
        whole = type(module).__name__ in _RECURRENT and hasattr(module, "hidden_size")

        def pre(mod: Any, args: tuple, part: str = part, whole: bool = whole) -> None:
            g.scope.append(part)
            if whole:
                mod._onnx_traced = not g.suppress and any(g.traced(a) for a in flatten(args))
                g.suppress += 1

        def post(mod: Any, args: tuple, output: Any, whole: bool = whole) -> None:
            if whole:
                g.suppress -= 1
                traced = mod.__dict__.pop("_onnx_traced", False)
                if traced:
                    recurrent(g, mod, args, output)
            g.scope.pop()
        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    return handles


def _named_input(func: Any) -> bool:
    """Whether torch's tracer names an input ``input``: it does when the input's first consumer is a Python
    function of torch.nn.functional (its parameter's name), but not for builtins called directly (F.linear,
    torch.relu)."""
    module = getattr(func, "__module__", "") or ""
    return module.startswith("ember.nn.functional") and getattr(func, "__name__", "") != "linear"


def _deduplicated(g: Graph) -> list[tuple[str, np.ndarray]]:
    """Initializers in state_dict order, equal ones stored once under the first name; the others become
    Identity nodes at the graph's start (as torch's exporter deduplicates them)."""
    from onnx.helper import make_node
    order = {name: i for i, (name, _) in enumerate(g.params.values())}
    kept: dict[tuple, str] = {}
    out, aliases = [], []
    for name, arr in sorted(g.initializers.items(), key=lambda kv: order.get(kv[0], len(order))):
        first = kept.setdefault((arr.dtype.str, arr.shape, arr.tobytes()), name)
        if first == name:
            out.append((name, arr))
        else:
            aliases.append(make_node("Identity", [first], [name], name=f"Identity_{len(aliases)}"))
    g.nodes[:0] = aliases
    return out


def _dynamic(dynamic_axes: Mapping | None, dynamic_shapes: Any, arg_names: list[str]) -> dict[str, dict[int, str]]:
    dyn: dict[str, dict[int, str]] = {}
    for name, axes in (dynamic_axes or {}).items():
        if isinstance(axes, Mapping):
            dyn[name] = {int(k): str(v) for k, v in axes.items()}
        else:
            dyn[name] = {int(k): f"{name}_dynamic_axes_{i + 1}" for i, k in enumerate(axes)}
    if isinstance(dynamic_shapes, (list, tuple)):
        dynamic_shapes = dict(zip(arg_names, dynamic_shapes, strict=False))
    for name, axes in (dynamic_shapes or {}).items():
        if axes:
            dyn[name] = {int(k): str(getattr(v, "__name__", v) if not isinstance(v, str) else v) or f"s{k}"
                         for k, v in (axes.items() if isinstance(axes, Mapping) else enumerate(axes))}
    return dyn


def trace(model: Any, args: tuple, kwargs: dict, *, opset: int, input_names: Sequence[str] | None,
          output_names: Sequence[str] | None, dynamic_axes: Mapping | None, dynamic_shapes: Any,
          export_params: bool, keep_initializers_as_inputs: bool, custom: Callable, custom_opsets: Mapping,
          training: bool) -> Any:
    import onnx
    from onnx import helper

    from .. import no_grad
    params: dict[int, tuple[str, Tensor]] = {}
    if hasattr(model, "named_parameters"):
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            params.setdefault(id(t), (name, t))
    g = Graph(opset, params, training)
    inputs = [t for t in flatten((args, kwargs)) if isinstance(t, Tensor)]
    input_values = [f"\0input{i}" for i in range(len(inputs))]   # (in-place ops rebind the tensors)
    for t, name in zip(inputs, input_values, strict=True):
        g.bind(t, name)
    handles = _scope_hooks(g, model) if hasattr(model, "named_modules") else []
    try:
        with no_grad(), Recorder(g, SYMBOLICS, custom):
            out = model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()

    # graph outputs: constants and values that are inputs, initializers or repeated get an Identity
    input_set = set(input_values)
    outputs, seen = [], set()
    for k, t in enumerate(o for o in flatten(out) if isinstance(o, Tensor)):
        if inputs and not g.traced(t):
            warn(f"ember.onnx.export: output {k} was not computed from the inputs by calls the exporter "
                 "records; it is exported as a constant", UserWarning, stacklevel=3)
        name = g.value(t)
        if name in input_set or name in g.initializers or name in seen:
            name = g.op("Identity", [name])
        seen.add(name)
        outputs.append((name, t))

    # names: the given ones, else torch's style (inputs after their first consumer, outputs numbered)
    rename: dict[str, str] = {}
    first_use: dict[str, str] = {}
    for node in g.nodes:
        for i in node.input:
            first_use.setdefault(i, node.op_type)
    for i, old in enumerate(input_values):
        if input_names and i < len(input_names):
            rename[old] = input_names[i]
        elif _named_input(g.first_call.get(old)) and not {"input", "input.1"} & set(rename.values()):
            # torch renames an earlier holder of a debug name to name.1 when another value takes it
            rename[old] = "input.1" if sum(map(_named_input, g.first_call.values())) > 1 else "input"
        else:
            rename[old] = f"onnx::{first_use.get(old, 'Identity')}_{i}"
    counter = len(inputs) + len(g.initializers)
    for i, (name, _) in enumerate(outputs):
        if output_names and i < len(output_names):
            rename[name] = output_names[i]
        else:
            counter += 1
            rename[name] = str(counter + len(g.nodes))
    for node in g.nodes:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]

    arg_names = list(getattr(model, "forward", model).__code__.co_varnames[1:]) if hasattr(
        getattr(model, "forward", model), "__code__") else []
    dyn = _dynamic(dynamic_axes, dynamic_shapes, arg_names)
    if dynamic_shapes and not dynamic_axes:   # dynamic_shapes names arguments: map them to the input names
        by_arg = dict(zip(arg_names, [rename[v] for v in input_values], strict=False))
        dyn = {by_arg.get(k, k): v for k, v in dyn.items()}

    def info(name: str, t: Tensor) -> Any:
        shape: list[Any] = list(t.shape)
        for d, label in dyn.get(name, {}).items():
            shape[d] = label
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(t.numpy().dtype), shape)

    graph_inputs = [info(rename[v], t) for v, t in zip(input_values, inputs, strict=True)]
    initializers = [onnx.numpy_helper.from_array(a.copy(order="C"), name) for name, a in _deduplicated(g)]
    if not export_params or keep_initializers_as_inputs:
        graph_inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in initializers]
    if not export_params:
        initializers = []
    graph_outputs = [helper.make_tensor_value_info(rename[n], helper.np_dtype_to_tensor_dtype(t.numpy().dtype),
                                                   None) for n, t in outputs]
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, custom_opsets.get(d, v))
                                                 for d, v in g.opsets.items()]
    proto = helper.make_model(helper.make_graph(g.nodes, "main_graph", graph_inputs, graph_outputs, initializers),
                              opset_imports=opsets, producer_name="pytorch", producer_version="2.13.0")
    proto.ir_version = helper.find_min_ir_version_for(opsets[:1], ignore_unknown=True)
    _output_shapes(proto, outputs, rename, dyn)
    return proto


def _output_shapes(proto: Any, outputs: list, rename: dict, dyn: dict) -> None:
    """Output shapes from ONNX shape inference (so dynamic axes stay symbolic), else the traced ones."""
    import onnx
    try:
        inferred = {o.name: o for o in onnx.shape_inference.infer_shapes(proto).graph.output}
    except Exception:   # noqa: BLE001  (custom domains and the like: keep the traced shapes)
        inferred = {}
    for out, (name, t) in zip(proto.graph.output, outputs, strict=True):
        new = rename[name]
        got = inferred.get(new)
        if got is not None and got.type.tensor_type.HasField("shape"):
            out.type.CopyFrom(got.type)
        else:
            for d in t.shape:
                out.type.tensor_type.shape.dim.add().dim_value = d
        for d, label in dyn.get(new, {}).items():
            dim = out.type.tensor_type.shape.dim[d]
            dim.ClearField("dim_value")
            dim.dim_param = label
