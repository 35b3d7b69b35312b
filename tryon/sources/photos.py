"""A photo, or a folder of photos, as a frame source."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from tryon.errors import ImageReadError, SourceError
from tryon.image import IMAGE_SUFFIXES, read_image
from tryon.sources.base import Frame, Source

__all__ = ["PhotoSource", "FolderSource", "SLIDESHOW_FPS"]

log = logging.getLogger(__name__)

#: The frame rate of a folder shown as a slideshow (``FolderSource(seconds_each=...)``).
SLIDESHOW_FPS = 30.0


class FolderSource(Source):
    """The photos of a folder, in name order (other files are ignored).

    Args:
        folder: the folder.
        repeat: start over at the end (for demos on a photo set).
        skip_unreadable: skip unreadable photos instead of stopping: each is logged as a warning (its name and
            why) and kept in :attr:`failures`, once, and left out from then on (a repeating folder does not read it
            again). When none of the photos can be read, the source fails (:class:`~tryon.errors.SourceError`).
        seconds_each: 0 gives each photo once; more makes a slideshow for a live app: each photo is given
            ``seconds_each`` seconds' worth of frames at :data:`SLIDESHOW_FPS` (then the source's :attr:`fps`).

    Each photo's first frame is marked as a cut (:attr:`Frame.cut`): the photos are unrelated scenes.
    The photos may differ in size.
    """

    kind = "folder"
    fresh_frames = True

    def __init__(
        self, folder: str | Path, repeat: bool = False, skip_unreadable: bool = True, seconds_each: float = 0.0
    ) -> None:
        super().__init__()
        if (
            isinstance(seconds_each, bool)
            or not isinstance(seconds_each, (int, float))
            or not 0 <= seconds_each < 86400
        ):
            raise SourceError(f"seconds_each must be a number of seconds in [0, 86400), got {seconds_each!r}")
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(f"{self.folder}: not a folder")
        self.paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.paths:
            raise SourceError(f"{self.folder}: no photos ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.repeat = repeat
        self.skip_unreadable = skip_unreadable
        self.failures: list[str] = []
        self._unreadable: set[Path] = set()  # left out of the rotation
        self._slideshow = seconds_each > 0
        self._each = max(1, round(seconds_each * SLIDESHOW_FPS))
        self._shown: tuple[np.ndarray, str] | None = None  # the photo being held, and its name
        self._held = 0  # frames given of it
        self._last: Path | None = None  # the photo of the last frame
        self._pos = 0
        self._index = 0
        self._size = self._first_size()

    def _first_size(self) -> tuple[int, int]:
        """The size of the first readable photo (the unreadable ones before it are skipped, when they are)."""
        failed: list[tuple[Path, ImageReadError]] = []
        for path in self.paths:
            try:
                image = read_image(path)
            except ImageReadError as exc:
                failed.append((path, exc))
                continue
            if self.skip_unreadable:  # reported once a photo is known to be shown: else the error says it all
                for bad, why in failed:
                    self._skip(bad, why)
            return (image.shape[1], image.shape[0])
        shown = "; ".join(str(why) for _, why in failed[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise SourceError(f"{self.folder}: none of its {len(failed)} photos could be read ({shown}{more})")

    def _skip(self, path: Path, exc: ImageReadError) -> None:
        """Leaves an unreadable photo out, saying so."""
        self._unreadable.add(path)
        self.failures.append(str(exc))
        log.warning("%s; skipped", exc)

    @property
    def fps(self) -> float:
        return SLIDESHOW_FPS if self._slideshow else 0.0

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def read(self) -> Frame | None:
        if self._shown is not None and self._held < self._each and not self._closed:
            image, name = self._shown
            self._held += 1
            return self._frame(image.copy(), name, cut=False)  # a copy: the loop may draw on each frame
        while not self._closed:
            if len(self._unreadable) == len(self.paths):  # every photo went bad while shown (deleted, rewritten)
                raise SourceError(f"{self.folder}: none of its {len(self.paths)} photos can be read any more")
            if self._pos >= len(self.paths):
                if not self.repeat:
                    return None
                self._pos = 0
            path = self.paths[self._pos]
            self._pos += 1
            if path in self._unreadable:
                continue
            try:
                image = read_image(path)
            except ImageReadError as exc:
                if not self.skip_unreadable:
                    raise SourceError(str(exc)) from exc
                self._skip(path, exc)
                continue
            if self._slideshow:
                self._shown, self._held = (image.copy(), path.name), 1
            cut, self._last = path != self._last, path  # a folder of one photo, repeated, is one scene
            return self._frame(image, path.name, cut=cut)
        return None

    def _frame(self, image: np.ndarray, name: str, cut: bool) -> Frame:
        time = self._index / SLIDESHOW_FPS if self._slideshow else float(self._index)
        frame = Frame(image, self._index, time, name, cut)
        self._index += 1
        return frame


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
