"""Export to ONNX, checked in onnxruntime against PyTorch before any file is written."""

from rnnkit.export.check import CheckReport, ExportError
from rnnkit.export.layer import to_onnx

__all__ = ["CheckReport", "ExportError", "to_onnx"]
