"""Sinks that need nothing: a null sink (benchmarks) and a folder of numbered photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tryon.errors import ImageWriteError
from tryon.image import IMAGE_SUFFIXES, write_image
from tryon.sinks.base import Sink

__all__ = ["NullSink", "FolderSink"]


class NullSink(Sink):
    """Discards frames (counting them): for benchmarks."""

    kind = "null"

    def write(self, frame: np.ndarray) -> None:
        self.frames += 1


class FolderSink(Sink):
    """Writes each frame as ``<prefix><index>.<ext>`` (atomically) into a folder, created if needed."""

    kind = "folder"

    def __init__(self, folder: str | Path, prefix: str = "frame_", ext: str = ".png") -> None:
        super().__init__()
        if ext.lower() not in IMAGE_SUFFIXES:
            raise ImageWriteError(f"{ext}: unsupported image type; use one of {', '.join(sorted(IMAGE_SUFFIXES))}")
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(f"{self.folder}: cannot create the folder ({exc.strerror or exc})") from exc
        self.prefix = prefix
        self.ext = ext

    def write(self, frame: np.ndarray, name: str | None = None) -> None:
        target = self.folder / (name or f"{self.prefix}{self.frames:06d}{self.ext}")
        write_image(target, frame)
        self.frames += 1
