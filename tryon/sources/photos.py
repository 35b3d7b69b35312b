"""A photo, or a folder of photos, as a frame source."""

from __future__ import annotations

from pathlib import Path

from tryon.errors import ImageReadError, SourceError
from tryon.image import IMAGE_SUFFIXES, read_image
from tryon.sources.base import Frame, Source

__all__ = ["PhotoSource", "FolderSource"]


class FolderSource(Source):
    """The photos of a folder, in name order (other files are ignored).

    Args:
        folder: the folder.
        repeat: start over at the end (for demos on a photo set).
        skip_unreadable: skip unreadable photos instead of stopping (each is logged; see :attr:`failures`).
    """

    kind = "folder"
    fresh_frames = True

    def __init__(self, folder: str | Path, repeat: bool = False, skip_unreadable: bool = True) -> None:
        super().__init__()
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(f"{self.folder}: not a folder")
        self.paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.paths:
            raise SourceError(f"{self.folder}: no photos ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.repeat = repeat
        self.skip_unreadable = skip_unreadable
        self.failures: list[str] = []
        self._pos = 0
        self._index = 0
        first = self._first_size()
        self._size = first

    def _first_size(self) -> tuple[int, int]:
        for path in self.paths:
            try:
                image = read_image(path)
            except ImageReadError:
                continue
            return (image.shape[1], image.shape[0])
        raise SourceError(f"{self.folder}: none of its photos could be read")

    @property
    def fps(self) -> float:
        return 0.0

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def read(self) -> Frame | None:
        while not self._closed:
            if self._pos >= len(self.paths):
                if not self.repeat:
                    return None
                self._pos = 0
            path = self.paths[self._pos]
            self._pos += 1
            try:
                image = read_image(path)
            except ImageReadError as exc:
                if not self.skip_unreadable:
                    raise SourceError(str(exc)) from exc
                self.failures.append(str(exc))
                continue
            frame = Frame(image, self._index, float(self._index), path.name)
            self._index += 1
            return frame
        return None


class PhotoSource(Source):
    """One photo, as a single frame (or repeated, for a live preview of a still)."""

    kind = "photo"

    def __init__(self, path: str | Path, repeat: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        try:
            self._image = read_image(self.path)
        except ImageReadError as exc:
            raise SourceError(str(exc)) from exc
        self.repeat = repeat
        self._index = 0

    @property
    def fps(self) -> float:
        return 0.0

    @property
    def size(self) -> tuple[int, int]:
        return (self._image.shape[1], self._image.shape[0])

    def read(self) -> Frame | None:
        if self._closed or (self._index > 0 and not self.repeat):
            return None
        frame = Frame(self._image, self._index, float(self._index), self.path.name)
        self._index += 1
        return frame
