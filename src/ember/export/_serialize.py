"""``ember.export.save`` / ``load``: an ExportedProgram as a ``.pt2`` zip archive laid out as torch's
(``<name>/archive_format``, ``<name>/models/model.json``, ``<name>/data/weights/...``): the graph as JSON, tensors
as raw little-endian bytes with their dtype and shape. Loading never runs code from the file."""

from __future__ import annotations

import json
import operator
import os
import zipfile
from typing import Any

import numpy as np

import ember
from ember.fx import Graph, Node

from .._core.atomic import atomic_write
from ._trace import flatten, tree_spec, tree_unflatten

__all__ = ["save", "load"]

_FORMAT = "pt2"
_VERSION = "0"


def _tensor_entry(t: Any, folder: str, name: str, files: dict[str, bytes]) -> dict:
    """Store ``t``'s bytes at ``folder/name``; its record (torch's weights-config fields)."""
    arr = np.ascontiguousarray(t.detach().cpu()._data)   # (any dtype: numpy() refuses float8)
    files[f"{folder}/{name}"] = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
    return {"path_name": name, "is_param": isinstance(t, ember.nn.Parameter), "use_pickle": False,
            "tensor_meta": {"dtype": str(t.dtype).split(".")[-1], "sizes": list(t.shape),
                            "requires_grad": bool(t.requires_grad), "device": {"type": "cpu", "index": None}}}


def _tensor_from(entry: dict, data: bytes) -> Any:
    meta = entry["tensor_meta"]
    dtype = getattr(ember, meta["dtype"])
    np_dtype = np.dtype(ember.empty(0, dtype=dtype)._data.dtype).newbyteorder("<")
    t = ember.from_numpy(np.frombuffer(data, dtype=np_dtype).astype(np_dtype.newbyteorder("="))
                         .reshape(meta["sizes"]).copy())
    if entry["is_param"]:
        return ember.nn.Parameter(t, requires_grad=meta["requires_grad"])
    return t.requires_grad_(meta["requires_grad"])


def _enc(a: Any) -> Any:
    if isinstance(a, Node):
        return {"node": a.name}
    if isinstance(a, (list, tuple)):
        return {"list" if isinstance(a, list) else "tuple": [_enc(x) for x in a]}
    if isinstance(a, dict):
        return {"dict": {k: _enc(v) for k, v in a.items()}}
    if isinstance(a, ember.dtype):
        return {"dtype": str(a).split(".")[-1]}
    if isinstance(a, ember.device):
        return {"device": str(a)}
    if isinstance(a, (ember.memory_format, ember.layout)):
        return {"memory_format" if isinstance(a, ember.memory_format) else "layout": str(a).split(".")[-1]}
    if isinstance(a, float) and a != a:
        return {"float": "nan"}
    if a is None or isinstance(a, (bool, int, float, str)):
        return a
    raise TypeError(f"cannot serialize argument {a!r} of type {type(a).__name__}")


def _dec(a: Any, env: dict[str, Node]) -> Any:
    if not isinstance(a, dict):
        return a
    (k, v), = a.items()
    if k == "node":
        return env[v]
    if k in ("list", "tuple"):
        items = [_dec(x, env) for x in v]
        return items if k == "list" else tuple(items)
    if k == "dict":
        return {kk: _dec(vv, env) for kk, vv in v.items()}
    if k in ("dtype", "memory_format", "layout"):
        return getattr(ember, v)
    if k == "device":
        return ember.device(v)
    return float(v)


def _target_name(t: Any) -> str:
    return f"_operator.{t.__name__}" if getattr(t, "__module__", None) == "_operator" else str(t)


def _target(name: str) -> Any:
    from ._ops import op
    if name.startswith("_operator."):
        return getattr(operator, name.split(".", 1)[1])
    if not name.startswith("aten."):
        raise ValueError(f"unknown operator {name} in the archive")
    return op(*name[5:].rsplit(".", 1))


def _archive(ep: Any) -> dict[str, bytes]:
    from ._trace import dtype_abbr
    from .exported_program import _annotation
    files: dict[str, bytes] = {}
    weights, constants = {}, {}
    for i, (k, t) in enumerate(ep.state_dict.items()):
        weights[k] = _tensor_entry(t, "data/weights", f"weight_{i}", files)
    for i, (k, t) in enumerate(ep.constants.items()):
        constants[k] = _tensor_entry(t, "data/constants", f"tensor_{i}", files)
    example = ep.example_inputs or ((), {})
    examples = [_tensor_entry(t, "data/sample_inputs", f"input_{i}", files) if isinstance(t, ember.Tensor) else
                {"value": _enc(t)} for i, (_, _, t) in enumerate(flatten(example, ""))]
    nodes = []
    for n in ep.graph.nodes:
        val = n.meta.get("val")
        entry: dict[str, Any] = {"name": n.name, "op": n.op, "args": _enc(n.args), "kwargs": _enc(dict(n.kwargs)),
                                 "meta": {k: n.meta[k] for k in ("kind", "target", "persistent", "stack_trace", "path",
                                                                  "sym_expr")
                                          if n.meta.get(k) is not None}}
        if n.op == "placeholder":
            entry["target"] = n.target
        elif n.op == "call_function":
            entry["target"] = _target_name(n.target)
        if isinstance(val, ember.Tensor):
            ann = _annotation(n)
            entry["meta"]["val"] = {"dtype": str(val.dtype).split(".")[-1], "shape": list(val.shape),
                                    "sym_shape": ann[len(dtype_abbr(val.dtype)) + 1:-1].split(", ") if val.dim()
                                    else []}
        elif isinstance(val, int):
            entry["meta"]["int_val"] = val
        elif isinstance(val, tuple):
            entry["meta"]["tuple"] = [{"dtype": str(v.dtype).split(".")[-1], "shape": list(v.shape)} for v in val]
        nodes.append(entry)
    sig = ep.graph_signature
    model = {
        "graph": nodes,
        "input_specs": [{"kind": s.kind.name, "name": s.arg.name, "target": s.target, "persistent": s.persistent}
                        for s in sig.input_specs],
        "output_specs": [{"kind": s.kind.name, "name": s.arg.name, "target": s.target} for s in sig.output_specs],
        "range_constraints": {str(k): [v.lower, v.upper] for k, v in ep.range_constraints.items()},
        "guards": ep._guards, "out_spec": ep._out_spec, "example_spec": tree_spec(example),
        "module_call_graph": [e.fqn for e in ep.module_call_graph],
        "forward_arg_names": (ep.module_call_graph[0].signature.forward_arg_names
                              if ep.module_call_graph and ep.module_call_graph[0].signature else None),
    }
    files["models/model.json"] = json.dumps(model, indent=1).encode()
    files["data/weights/model_weights_config.json"] = json.dumps({"config": weights}, indent=1).encode()
    files["data/constants/model_constants_config.json"] = json.dumps({"config": constants}, indent=1).encode()
    files[".data/version"] = b"6\n"
    files["data/sample_inputs/model.json"] = json.dumps(examples, indent=1).encode()
    files["archive_format"] = _FORMAT.encode()
    files["archive_version"] = _VERSION.encode()
    files["byteorder"] = b"little"
    return files


def save(ep: Any, f: Any, *, extra_files: dict[str, Any] | None = None, opset_version: dict[str, int] | None = None,
         pickle_protocol: int = 2) -> None:
    """Write ``ep`` to ``f`` (a path — written atomically — or a binary file object) as a ``.pt2`` archive."""
    from .exported_program import ExportedProgram
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"The 'ep' parameter must be an instance of 'ExportedProgram', got '{type(ep).__name__}' "
                        "instead.")
    files = _archive(ep)
    for k, v in (extra_files or {}).items():
        files[f"extra/{k}"] = v.encode() if isinstance(v, str) else bytes(v)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        name = os.path.splitext(os.path.basename(path))[0] or "archive"
        atomic_write(path, lambda fh: _write(fh, name, files))
    else:
        _write(f, "archive", files)


def _write(fh: Any, name: str, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as z:
        for k in sorted(files):
            info = zipfile.ZipInfo(f"{name}/{k}", date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, files[k])


def load(f: Any, *, extra_files: dict[str, Any] | None = None, expected_opset_version: dict[str, int] | None = None
         ) -> Any:
    """Read an ExportedProgram written by :func:`save`."""
    from .exported_program import ExportedProgram, ModuleCallEntry, ModuleCallSignature, ValueRanges, _Symbol
    from .graph_signature import (
        ExportGraphSignature,
        InputKind,
        InputSpec,
        OutputKind,
        OutputSpec,
        TensorArgument,
    )
    with zipfile.ZipFile(f if hasattr(f, "read") else os.fspath(f)) as z:
        names = z.namelist()
        fmt = next((n for n in names if n.endswith("/archive_format")), None)
        if fmt is None:
            raise RuntimeError("Invalid archive format: no archive_format record (not a .pt2 file)")
        prefix = fmt[:-len("archive_format")]

        def read(name: str) -> bytes:
            return z.read(prefix + name)
        model = json.loads(read("models/model.json"))
        weights = {k: _tensor_from(e, read("data/weights/" + e["path_name"])) for k, e in
                   json.loads(read("data/weights/model_weights_config.json"))["config"].items()}
        constants = {k: _tensor_from(e, read("data/constants/" + e["path_name"])) for k, e in
                     json.loads(read("data/constants/model_constants_config.json"))["config"].items()}
        examples = [_tensor_from(e, read("data/sample_inputs/" + e["path_name"])) if "path_name" in e
                    else _dec(e["value"], {})
                    for e in json.loads(read("data/sample_inputs/model.json"))]
        for k in (extra_files or {}):
            extra_files[k] = read(f"extra/{k}").decode() if prefix + f"extra/{k}" in names else ""
    graph = Graph()
    env: dict[str, Node] = {}
    for e in model["graph"]:
        if e["op"] == "placeholder":
            node = graph.placeholder(e["target"])
        elif e["op"] == "output":
            node = graph.output(_dec(e["args"], env)[0])
        else:
            node = graph.create_node("call_function", _target(e["target"]), _dec(e["args"], env),
                                     _dec(e["kwargs"], env), name=e["name"])
        meta = dict(e["meta"])
        val = meta.pop("val", None)
        tup = meta.pop("tuple", None)
        if "int_val" in meta:
            node.meta["val"] = meta.pop("int_val")
        node.meta.update(meta)
        if val is not None:
            node.meta["val"] = ember.zeros(val["shape"], dtype=getattr(ember, val["dtype"]))
            node.meta["sym_shape"] = val["sym_shape"]
        if tup is not None:
            node.meta["val"] = tuple(ember.zeros(v["shape"], dtype=getattr(ember, v["dtype"])) for v in tup)
        env[e["name"]] = node
    sig = ExportGraphSignature(
        [InputSpec(InputKind[s["kind"]], TensorArgument(s["name"]), s["target"], s["persistent"])
         for s in model["input_specs"]],
        [OutputSpec(OutputKind[s["kind"]], TensorArgument(s["name"]), s["target"]) for s in model["output_specs"]])
    for node in graph.nodes:   # parameters and buffers as saved
        t = node.meta.get("target")
        if node.op == "placeholder" and t is not None:
            node.meta["val"] = weights.get(t, constants.get(t))
    ranges = {_Symbol(k): ValueRanges(lo, hi) for k, (lo, hi) in model["range_constraints"].items()}
    example = tree_unflatten(model["example_spec"], iter(examples))
    calls = [ModuleCallEntry(fqn, ModuleCallSignature([], [], None, None, model["forward_arg_names"]) if not fqn
                             else None) for fqn in model["module_call_graph"]]
    return ExportedProgram({}, graph, sig, weights, ranges, calls, example, constants,
                           _guards=[tuple(g) for g in model["guards"]], _out_spec=model["out_spec"])
