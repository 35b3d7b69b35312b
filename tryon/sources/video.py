"""A video file as a frame source, optionally looped."""

from __future__ import annotations

from pathlib import Path

from tryon.errors import ImageReadError, SourceError
from tryon.sources.base import Frame, Source
from tryon.video import VideoReader

__all__ = ["VideoSource"]


class VideoSource(Source):
    """Frames of a video file with their stream timestamps (``index / fps``).

    Args:
        path: the video file.
        loop: start over at the end (a demo on a short clip); timestamps keep increasing, and the first frame of
            each new round is marked as a cut (:attr:`Frame.cut`).

    Raises:
        SourceError: when the file is missing, corrupt or unsupported.
    """

    kind = "video"
    fresh_frames = True

    def __init__(self, path: str | Path, loop: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.loop = loop
        try:
            self._reader = VideoReader(self.path)
        except ImageReadError as exc:
            raise SourceError(str(exc)) from exc
        self._index = 0

    @property
    def fps(self) -> float:
        return self._reader.fps

    @property
    def size(self) -> tuple[int, int]:
        return self._reader.size

    @property
    def frame_count(self) -> int:
        """Frames the file declares (0 if unknown)."""
        return self._reader.frame_count

    def read(self) -> Frame | None:
        if self._closed:
            return None
        image = self._reader.read()
        wrapped = image is None and self.loop and self._index > 0
        if wrapped:
            self._reader.close()
            self._reader = VideoReader(self.path)
            image = self._reader.read()
        if image is None:
            return None
        frame = Frame(image, self._index, self._index / self.fps, cut=wrapped)
        self._index += 1
        return frame

    def _release(self) -> None:
        self._reader.close()
