"""Sources and sinks for loop tests: a source reading another, a sink keeping what it was given, and
pyvirtualcam backends that record what they are sent or fail to open (registered by the ``virtual_cameras``
fixture)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

import numpy as np
from pyvirtualcam.util import decode_fourcc

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


class Generated(Source):
    """The frames of an iterable (each read takes the next), of a given size and rate; fresh unless told."""

    kind = "generated"

    def __init__(self, frames: Iterable[Frame], size: tuple[int, int], fps: float = 0.0, fresh: bool = True) -> None:
        super().__init__()
        self._frames = iter(frames)
        self._size, self._fps = size, fps
        self.fresh_frames = fresh  # type: ignore[misc]

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def read(self) -> Frame | None:
        return next(self._frames, None)


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


class RecordingBackend:
    """A pyvirtualcam backend that records what it is sent (registered through pyvirtualcam itself)."""

    instances: ClassVar[list[RecordingBackend]] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.fourcc = decode_fourcc(fourcc)
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.closed = 0
        RecordingBackend.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        self.frames.append(frame.copy())
        self.times.append(time.perf_counter())

    def close(self) -> None:
        self.closed += 1

    def device(self) -> str:
        return "test-cam"

    def native_fourcc(self) -> int | None:
        return None


class FailingBackend(RecordingBackend):
    def __init__(self, **kw) -> None:
        raise RuntimeError("device not found")
