"""Sources and sinks for loop tests that tell which array the loop rendered into."""

from __future__ import annotations

import numpy as np

from tryon.sinks.base import Sink
from tryon.sources.base import Frame, Source


class KeepingSink(Sink):
    """Keeps the arrays it is given (not copies), to tell which array the loop rendered into."""

    kind = "keeping"

    def __init__(self) -> None:
        super().__init__()
        self.images: list[np.ndarray] = []

    def write(self, frame: np.ndarray) -> None:
        self.images.append(frame)
        self.frames += 1


class KeepingSource(Source):
    """Reads another source, keeping each frame it gives with a copy of its pixels as they were read.

    Its frames are as fresh as the inner source says its own are (``fresh_frames`` is the inner source's).
    """

    kind = "keeping"

    def __init__(self, inner: Source) -> None:
        super().__init__()
        self.inner = inner
        self.fresh_frames = inner.fresh_frames  # type: ignore[misc]
        self.given: list[tuple[Frame, np.ndarray]] = []

    @property
    def fps(self) -> float:
        return self.inner.fps

    @property
    def size(self) -> tuple[int, int]:
        return self.inner.size

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is not None:
            self.given.append((frame, frame.image.copy()))
        return frame

    def _release(self) -> None:
        self.inner.close()
