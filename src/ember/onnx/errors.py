"""``ember.onnx.errors``: the exporter's exception types, as torch.onnx.errors names them."""

from __future__ import annotations

__all__ = ["OnnxExporterError", "SymbolicValueError", "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter."""


class UnsupportedOperatorError(OnnxExporterError):
    """An operator the exporter cannot express in ONNX (at the requested opset)."""

    def __init__(self, name: str, version: int, supported_version: int | None) -> None:
        if supported_version is not None:
            msg = (f"Exporting the operator '{name}' to ONNX opset version {version} is not supported. Support "
                   f"for this operator was added in version {supported_version}, try exporting with this version")
        else:
            msg = f"Exporting the operator '{name}' to ONNX opset version {version} is not supported"
        super().__init__(msg)


class SymbolicValueError(OnnxExporterError):
    """An argument a symbolic function cannot express (a value outside what the ONNX operator accepts)."""
