"""The TFLite engine: MediaPipe's TFLite segmentation networks (the hair model) through a TFLite interpreter.

The interpreter comes from the optional extra ``tflite`` (``pip install "tryon[tflite]"``, which brings
``ai-edge-litert``, Google's TFLite runtime); ``tflite-runtime`` or ``tensorflow`` are used when one of them is
installed instead. MediaPipe's wheel does not expose its TFLite interpreter to Python.

Example:
    >>> from tryon.parsing.backends import tflite_backend
    >>> with tflite_backend("mediapipe-hair") as hair:  # doctest: +SKIP
    ...     probs = hair.predict(frame)  # the previous mask is fed back and smoothed in video
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any, Optional

import numpy as np

from tryon.errors import DependencyError, ModelError
from tryon.models.card import ModelCard
from tryon.parsing.backends.base import CardBackend
from tryon.parsing.backends.resolve import resolve_model

__all__ = ["INTERPRETERS", "TFLITE_EXTRA", "TFLiteEngine", "load_interpreter", "tflite_backend"]

log = logging.getLogger(__name__)

#: The extra that installs a TFLite interpreter.
TFLITE_EXTRA = "tflite"

#: Modules tried in turn for a TFLite ``Interpreter`` class.
INTERPRETERS: tuple[str, ...] = ("ai_edge_litert.interpreter", "tflite_runtime.interpreter", "tensorflow.lite")


def load_interpreter(modules: tuple[str, ...] = INTERPRETERS) -> Any:
    """The first TFLite ``Interpreter`` class found among ``modules``.

    Raises:
        DependencyError: when none is installed, with the line ``pip install "tryon[tflite]"``.
    """
    errors = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
            continue
        interpreter = getattr(module, "Interpreter", None)
        if interpreter is not None:
            return interpreter
        errors.append(f"{name}: has no Interpreter")
    log.debug("no TFLite interpreter: %s", "; ".join(errors))
    raise DependencyError(
        f"a TFLite interpreter is missing (tried {', '.join(m.split('.')[0] for m in modules)}); "
        f'install it with: pip install "tryon[{TFLITE_EXTRA}]"'
    )


class TFLiteEngine:
    """Runs a TFLite network on the CPU (XNNPACK).

    Args:
        path: the ``.tflite`` file.
        card: its card (the tensor shapes are checked against it).
        threads: interpreter threads (default: the interpreter's choice).

    Raises:
        DependencyError: when no TFLite interpreter is installed.
        ModelError: for a file the interpreter cannot load or shapes that contradict the card.
    """

    def __init__(self, path: str | Path, card: ModelCard, threads: Optional[int] = None) -> None:
        self.path = Path(path)
        interpreter_class = load_interpreter()
        try:
            interpreter = interpreter_class(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{path}: the TFLite interpreter could not load it ({exc})") from None
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        card.check_shapes([int(d) for d in inputs[0]["shape"]], [int(d) for d in outputs[0]["shape"]], file=str(path))
        self._interpreter: Any = interpreter
        self._input = inputs[0]["index"]
        self._output = outputs[0]["index"]
        self._dtype = np.dtype(inputs[0]["dtype"])
        if self._dtype != np.float32:
            raise ModelError(f"{path}: only float32 inputs are supported, the network takes {self._dtype}")

    def run(self, tensor: np.ndarray) -> np.ndarray:
        if self._interpreter is None:
            raise ModelError(f"{self.path.name}: the TFLite interpreter is closed")
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        return np.asarray(self._interpreter.get_tensor(self._output))

    def close(self) -> None:
        self._interpreter = None


def tflite_backend(
    model: str | Path | ModelCard,
    *,
    threads: Optional[int] = None,
    smoothing: Optional[float] = None,
    feedback: bool = True,
) -> CardBackend:
    """A backend for a TFLite segmentation network.

    Args:
        model: a manifest model name (``mediapipe-hair``), a card file path, or a :class:`ModelCard`.
        threads: interpreter threads.
        smoothing: temporal smoothing ratio in video; None: 0.9 for networks fed the previous mask (MediaPipe's
            hair graph), none otherwise (see :class:`~tryon.parsing.backends.base.CardBackend`).
        feedback: in video, feed the network its last mask as the 4th channel (MediaPipe's graph does; steadier,
            but on a long clip the mask may shrink a little); False feeds zeros.

    Raises:
        DependencyError: when no TFLite interpreter is installed (``pip install "tryon[tflite]"``).
        ModelError: for an unknown or missing model (saying ``tryon models pull NAME``) or a bad card.
    """
    card, path = resolve_model(model)
    if path.suffix.lower() != ".tflite":
        raise ModelError(f"{path}: the TFLite backend runs .tflite files; use the ONNX backend for {path.suffix} files")
    return CardBackend(card, TFLiteEngine(path, card, threads), smoothing=smoothing, feedback=feedback)
