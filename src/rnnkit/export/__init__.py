"""Export to ONNX, checked in onnxruntime against PyTorch before any file is written."""

from rnnkit.export.check import CheckReport, ExportError
from rnnkit.export.classifier import classifier_to_onnx
from rnnkit.export.forecaster import forecaster_to_onnx
from rnnkit.export.layer import to_onnx
from rnnkit.export.lm import lm_to_onnx
from rnnkit.export.recognizer import recognizer_to_onnx
from rnnkit.export.translate import translate_to_onnx

__all__ = ["CheckReport", "ExportError", "classifier_to_onnx", "forecaster_to_onnx", "lm_to_onnx",
           "recognizer_to_onnx", "to_onnx", "translate_to_onnx"]
