"""The ONNX engine: any segmentation network with a model card, run by onnxruntime.

Example:
    >>> from tryon.parsing.backends import onnx_backend
    >>> backend = onnx_backend("skin-clothes-hair-onnx")  # doctest: +SKIP  (a manifest name, or a card file)
    >>> probs = backend.predict(frame)  # doctest: +SKIP
    >>> sorted(probs.classes)  # doctest: +SKIP
    ['body_skin', 'clothes', 'face_skin', 'hair', 'neck']
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

import numpy as np

from tryon.errors import ModelError
from tryon.models.card import ModelCard
from tryon.models.runtime import Providers, onnx_session
from tryon.parsing.backends.base import CardBackend
from tryon.parsing.backends.resolve import resolve_model

__all__ = ["OnnxEngine", "onnx_backend"]

log = logging.getLogger(__name__)


class OnnxEngine:
    """Runs an ONNX network with onnxruntime on the best execution provider available.

    Args:
        path: the ``.onnx`` file.
        card: its card (the declared tensor shapes are checked against it).
        providers: "auto" or provider names (see :func:`tryon.models.select_providers`).
        threads: intra-op threads (default: onnxruntime's choice).

    Raises:
        DependencyError: when onnxruntime is missing.
        ModelError: for a file onnxruntime cannot load or shapes that contradict the card.
    """

    def __init__(
        self, path: str | Path, card: ModelCard, providers: Providers = "auto", threads: Optional[int] = None
    ) -> None:
        self.path = Path(path)
        self._session: Any = onnx_session(path, providers, card=card, threads=threads)
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name

    def run(self, tensor: np.ndarray) -> np.ndarray:
        if self._session is None:
            raise ModelError(f"{self.path.name}: the ONNX session is closed")
        try:
            return np.asarray(self._session.run([self._output], {self._input: tensor})[0])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{self.path.name}: onnxruntime failed ({type(exc).__name__}: {exc})") from None

    def close(self) -> None:
        self._session = None


def onnx_backend(
    model: str | Path | ModelCard,
    *,
    providers: Providers = "auto",
    threads: Optional[int] = None,
    smoothing: Optional[float] = None,
    feedback: bool = True,
) -> CardBackend:
    """A backend for an ONNX segmentation network.

    Args:
        model: a manifest model name (``skin-clothes-hair-onnx``), the path of a card file (YAML or JSON, whose
            ``model`` names the network), or a :class:`ModelCard` (its ``model`` or its manifest name gives the file).
        providers: execution providers ("auto" or names).
        threads: intra-op threads.
        smoothing: temporal smoothing ratio in video (see :class:`CardBackend`).
        feedback: in video, feed a network that takes the previous mask its last output (see :class:`CardBackend`).

    Raises:
        ModelError: for an unknown or missing model (saying ``tryon models pull NAME``), a bad card, or a network
            that does not match its card.
        DependencyError: when onnxruntime is missing.
    """
    card, path = resolve_model(model)
    if path.suffix.lower() != ".onnx":
        raise ModelError(f"{path}: the ONNX backend runs .onnx files; use the TFLite backend for {path.suffix} files")
    return CardBackend(card, OnnxEngine(path, card, providers, threads), smoothing=smoothing, feedback=feedback)
