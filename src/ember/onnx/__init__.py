"""``ember.onnx``: torch.onnx's export for ember models.

The model runs once on the example inputs under a ``TorchFunctionMode`` that records each ember call on values
derived from the inputs as ONNX nodes (Python control flow is resolved by the example, as with torch's tracer);
parameters and buffers become initializers under their ``state_dict`` names. ``onnx`` (``ember[onnx]``) is
imported only by ``export``. Unlike torch, the default ``dynamo=True`` needs no onnxscript: both settings run
the same exporter; ``dynamo=True`` returns an ``ONNXProgram``, ``dynamo=False`` returns None (as torch).
"""

from __future__ import annotations

import contextlib
import enum
import io
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from .._core.atomic import atomic_write_bytes
from . import errors
from .errors import OnnxExporterError

__all__ = ["ONNXProgram", "OnnxExporterError", "OperatorExportTypes", "TrainingMode", "errors", "export",
           "is_in_onnx_export", "register_custom_op_symbolic", "select_model_mode_for_export",
           "unregister_custom_op_symbolic", "producer_name", "producer_version"]

producer_name = "pytorch"
producer_version = "2.13.0"
_DEFAULT_OPSET = 20    # torch 2.13's TorchScript exporter's default


class TrainingMode(enum.IntEnum):
    """The mode the model is exported in."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2

    def __repr__(self) -> str:
        return f"<TrainingMode.{self.name}: {self.value}>"


class OperatorExportTypes(enum.IntEnum):
    """How operators are exported (ember exports ONNX operators only)."""
    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3

    def __repr__(self) -> str:
        return f"<OperatorExportTypes.{self.name}: {self.value}>"


_IN_EXPORT = False
_CUSTOM: dict[str, dict[int, Callable]] = {}     # "aten::name" -> {opset: symbolic}


def is_in_onnx_export() -> bool:
    """Whether an ONNX export is running (models may take an export-friendly path)."""
    return _IN_EXPORT


def register_custom_op_symbolic(symbolic_name: str, symbolic_fn: Callable, opset_version: int) -> None:
    """Use ``symbolic_fn(g, *args)`` for the ember function ``name`` of ``"namespace::name"`` when exporting
    at ``opset_version`` or later; ``g.op("Domain::Op", *inputs, attr_i=...)`` builds its nodes."""
    ns, sep, name = symbolic_name.partition("::")
    if not sep or not ns or not name or "::" in name:
        raise ValueError(f"Failed to register operator {symbolic_name}. The symbolic name must match the format "
                         "domain::name, and should start with a letter and contain only alphanumerical characters")
    if ns == "onnx":
        raise ValueError(f"Failed to register operator {symbolic_name}. onnx domain is reserved")
    _CUSTOM.setdefault(name, {})[opset_version] = symbolic_fn


def unregister_custom_op_symbolic(symbolic_name: str, opset_version: int) -> None:
    """Remove a symbolic registered by ``register_custom_op_symbolic``."""
    name = symbolic_name.partition("::")[2]
    _CUSTOM.get(name, {}).pop(opset_version, None)


def _custom_lookup(opset: int) -> Callable[[str], Callable | None]:
    def lookup(name: str) -> Callable | None:
        versions = [v for v in _CUSTOM.get(name, {}) if v <= opset]
        return _CUSTOM[name][max(versions)] if versions else None
    return lookup


@contextlib.contextmanager
def select_model_mode_for_export(model: Any, mode: TrainingMode) -> Iterator[None]:
    """Put ``model`` in the mode ``mode`` asks for (eval / train / as is) and restore its mode afterwards."""
    if not isinstance(mode, TrainingMode):
        raise TypeError(f"'mode' should be a torch.onnx.TrainingMode enum, but got '{type(mode)}'.")
    was_training = getattr(model, "training", False)
    if mode != TrainingMode.PRESERVE:
        model.train(mode == TrainingMode.TRAINING)
    try:
        yield
    finally:
        if mode != TrainingMode.PRESERVE:
            model.train(was_training)


class ONNXProgram:
    """What ``export`` returns with ``dynamo=True``: the ModelProto, savable and runnable (onnxruntime)."""

    def __init__(self, model_proto: Any) -> None:
        self.model_proto = model_proto

    @property
    def model(self) -> Any:
        return self.model_proto.graph

    def save(self, destination: str | os.PathLike | io.IOBase, *, include_initializers: bool = True,
             keep_initializers_as_inputs: bool = False, external_data: bool | None = None) -> None:
        proto = self.model_proto
        if not include_initializers:
            proto = type(proto)()
            proto.CopyFrom(self.model_proto)
            del proto.graph.initializer[:]
        _write(proto, destination)

    def __call__(self, *args: Any, **kwargs: Any) -> Sequence[Any]:
        import numpy as np
        import onnxruntime

        from .. import from_numpy
        session = onnxruntime.InferenceSession(self.model_proto.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        values = [a for a in (*args, *kwargs.values())]
        feeds = {i.name: np.asarray(v.detach().cpu().numpy() if hasattr(v, "numpy") else v)
                 for i, v in zip(session.get_inputs(), values, strict=False)}
        return [from_numpy(np.asarray(o)) for o in session.run(None, feeds)]

    def __repr__(self) -> str:
        import onnx
        return f"ONNXProgram(\n    model=\n{onnx.printer.to_text(self.model_proto)}\n)"


def _write(proto: Any, f: str | os.PathLike | io.IOBase) -> None:
    """Serialize to a file-like, or atomically to a path."""
    data = proto.SerializeToString()
    if hasattr(f, "write"):
        f.write(data)
    else:
        atomic_write_bytes(f, data)


def export(
    model: Any,
    args: tuple[Any, ...] = (),
    f: str | os.PathLike | None = None,
    *,
    kwargs: dict[str, Any] | None = None,
    verbose: bool | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset_version: int | None = None,
    dynamo: bool = True,
    external_data: bool = True,
    dynamic_shapes: dict[str, Any] | tuple[Any, ...] | list[Any] | None = None,
    custom_translation_table: dict[Callable, Callable] | None = None,
    report: bool = False,
    optimize: bool = True,
    verify: bool = False,
    profile: bool = False,
    dump_exported_program: bool = False,
    artifacts_dir: str | os.PathLike = ".",
    export_params: bool = True,
    keep_initializers_as_inputs: bool = False,
    dynamic_axes: Mapping[str, Mapping[int, str]] | Mapping[str, Sequence[int]] | None = None,
    training: TrainingMode = TrainingMode.EVAL,
    operator_export_type: OperatorExportTypes = OperatorExportTypes.ONNX,
    do_constant_folding: bool = True,
    custom_opsets: Mapping[str, int] | None = None,
    export_modules_as_functions: bool | Collection[type] = False,
    autograd_inlining: bool = True,
) -> ONNXProgram | None:
    """Export ``model`` (called as ``model(*args, **kwargs)``) to ONNX, written to ``f`` (a path, written
    atomically, or a binary file-like) when given. Returns an ``ONNXProgram`` when ``dynamo`` (torch's default)
    and None otherwise. ``dynamic_axes`` ({name: [dims]} or {name: {dim: label}}) marks dims symbolic;
    ``dynamic_shapes`` ({arg name: {dim: label}}) is accepted as the same thing by argument name."""
    global _IN_EXPORT
    import onnx  # noqa: F401  (the exporter's dependency: ember[onnx])

    from ._trace import trace
    if not dynamo and f is None:
        raise ValueError("f must be provided when dynamo=False")
    if isinstance(args, dict) or not isinstance(args, tuple):
        args = (args,)
    if args and isinstance(args[-1], dict) and kwargs is None:
        args, kwargs = args[:-1], args[-1]
    opset = _DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < 7:
        raise ValueError(f"Unsupported ONNX opset version: {opset}")
    if custom_translation_table:
        for key, fn in custom_translation_table.items():
            name = getattr(key, "__name__", str(key)).split(".")[-1]
            _CUSTOM.setdefault(name, {})[0] = fn
    mode = training if isinstance(training, TrainingMode) else TrainingMode(int(training))
    ctx = select_model_mode_for_export(model, mode) if hasattr(model, "train") else contextlib.nullcontext()
    _IN_EXPORT = True
    try:
        with ctx:
            proto = trace(model, args, kwargs or {}, opset=opset, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, dynamic_shapes=dynamic_shapes,
                          export_params=export_params, keep_initializers_as_inputs=keep_initializers_as_inputs,
                          custom=_custom_lookup(opset), custom_opsets=custom_opsets or {},
                          training=bool(getattr(model, "training", False)))
    finally:
        _IN_EXPORT = False
        if custom_translation_table:
            for key in custom_translation_table:
                _CUSTOM.get(getattr(key, "__name__", str(key)).split(".")[-1], {}).pop(0, None)
    if verbose:
        import onnx
        print(onnx.helper.printable_graph(proto.graph))
    if f is not None:
        _write(proto, f)
    return ONNXProgram(proto) if dynamo else None
