"""A video file as a sink: H.264 in fragmented MP4, playable even if the run is cut short."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tryon.sinks.base import Sink
from tryon.video import VideoWriter

__all__ = ["VideoFileSink"]


class VideoFileSink(Sink):
    """Writes frames to ``path`` at ``fps`` (see :class:`tryon.video.VideoWriter`)."""

    kind = "video"

    def __init__(self, path: str | Path, fps: float = 30.0) -> None:
        super().__init__()
        self.path = Path(path)
        self._writer = VideoWriter(self.path, fps)

    def write(self, frame: np.ndarray) -> None:
        self._writer.write(frame)
        self.frames += 1

    def _release(self) -> None:
        self._writer.close()
