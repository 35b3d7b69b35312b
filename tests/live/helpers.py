"""Sources and sinks for loop tests: a source reading another, and a sink keeping what it was given."""

from __future__ import annotations

import numpy as np

from tryon.sinks.base import Sink
from tryon.sources.base import Frame, Source


class Wrapped(Source):
    """A source reading another (a real video), for tests to change how reading goes.

    Its frames are as fresh as the inner source says its own are (``fresh_frames`` is the inner source's).
    """

    kind = "wrapped"

    def __init__(self, inner: Source) -> None:
        super().__init__()
        self.inner = inner
        self.fresh_frames = inner.fresh_frames  # type: ignore[misc]

    @property
    def fps(self) -> float:
        return self.inner.fps

    @property
    def size(self) -> tuple[int, int]:
        return self.inner.size

    def read(self) -> Frame | None:
        return self.inner.read()

    def _release(self) -> None:
        self.inner.close()


class KeepingSource(Wrapped):
    """Keeps each frame it gives, with a copy of its pixels as they were read."""

    def __init__(self, inner: Source) -> None:
        super().__init__(inner)
        self.given: list[tuple[Frame, np.ndarray]] = []

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is not None:
            self.given.append((frame, frame.image.copy()))
        return frame


class RecordingSink(Sink):
    """Keeps a copy of every frame it is given.

    With ``copies=False`` it keeps the arrays themselves, to tell which array the loop rendered into.
    """

    kind = "recording"

    def __init__(self, copies: bool = True) -> None:
        super().__init__()
        self.copies = copies
        self.images: list[np.ndarray] = []

    def write(self, frame: np.ndarray) -> None:
        self.images.append(frame.copy() if self.copies else frame)
        self.frames += 1
