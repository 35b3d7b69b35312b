"""The source contract: a context manager that yields timestamped BGR frames until the input ends."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

__all__ = ["Frame", "Source"]


@dataclass(frozen=True)
class Frame:
    """One frame from a source.

    Attributes:
        image: BGR uint8, ``HxWx3``.
        index: the frame's position in the stream (0, 1, ...).
        timestamp: seconds: the stream's own time for files, the capture time for cameras.
        name: the file name for photo and folder sources, else None.
        cut: the frame starts a new scene, unrelated to the one before (a looped video at its wrap, the next photo
            of a folder): a video pipeline forgets its tracking before it (see :meth:`tryon.Pipeline.parse`).
    """

    image: np.ndarray
    index: int
    timestamp: float
    name: Optional[str] = None
    cut: bool = False


class Source(ABC):
    """Base class of frame sources.

    ``read()`` returns the next :class:`Frame`, or None at the end of the input; a failure while reading (a camera
    unplugged, a corrupt file) raises :class:`~tryon.errors.SourceError`. Sources are context managers and
    ``close()`` is safe to call twice.
    """

    kind: ClassVar[str]
    #: True for sources that produce frames on their own clock (cameras): the live loop then drops stale frames.
    live: ClassVar[bool] = False
    #: True for sources whose every frame is a new array that nothing else holds (decoded or captured for that
    #: read): the live loop may then render into it instead of a copy. A source that hands out the same array
    #: again (a repeated photo) leaves it False.
    fresh_frames: ClassVar[bool] = False

    def __init__(self) -> None:
        self._closed = False

    @property
    @abstractmethod
    def fps(self) -> float:
        """The source's frame rate (frames per second; 0 when not meaningful, as for photos)."""

    @property
    @abstractmethod
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames."""

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None at the end of the input."""

    def _release(self) -> None:  # noqa: B027 - optional hook
        """Releases the source's resources (called once by :meth:`close`)."""

    def close(self) -> None:
        """Releases the source; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._release()

    @property
    def closed(self) -> bool:
        return self._closed

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
