"""The sink contract: a context manager that takes processed BGR frames."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

__all__ = ["Sink"]


class Sink(ABC):
    """Base class of frame sinks. ``write`` takes a BGR uint8 frame; ``close()`` finalises and is safe twice."""

    kind: ClassVar[str]

    def __init__(self) -> None:
        self._closed = False
        self.frames = 0

    @abstractmethod
    def write(self, frame: np.ndarray) -> None:
        """Takes one processed frame."""

    def _release(self) -> None:  # noqa: B027 - optional hook
        """Finalises the sink (called once by :meth:`close`)."""

    def close(self) -> None:
        """Finalises the sink; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._release()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
