"""Model backends for body parsing: segmentation networks, plugged in with a model card.

Importing this package loads no runtime: onnxruntime and the TFLite interpreter load when a backend is built.
"""

from __future__ import annotations

from tryon.parsing.backends.base import (
    MEDIAPIPE_SMOOTHING,
    BodyBackend,
    BodyProbs,
    CardBackend,
    CombinedBackend,
    Engine,
    smooth_with_previous,
)
from tryon.parsing.backends.onnx import OnnxEngine, onnx_backend
from tryon.parsing.backends.resolve import is_card_path, resolve_model
from tryon.parsing.backends.tflite import TFLITE_EXTRA, TFLiteEngine, load_interpreter, tflite_backend

__all__ = [
    "MEDIAPIPE_SMOOTHING",
    "TFLITE_EXTRA",
    "BodyBackend",
    "BodyProbs",
    "CardBackend",
    "CombinedBackend",
    "Engine",
    "OnnxEngine",
    "TFLiteEngine",
    "is_card_path",
    "load_interpreter",
    "onnx_backend",
    "resolve_model",
    "smooth_with_previous",
    "tflite_backend",
]
