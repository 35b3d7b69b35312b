"""The virtual camera app's per-frame hook: live look switching from preview keys or a watched look file."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from tryon.errors import LookError
from tryon.looks import Look
from tryon.pipeline import Pipeline
from tryon.sinks.window import WindowSink
from tryon.sources.base import Frame

__all__ = ["CamApp", "file_mtime"]

log = logging.getLogger(__name__)


def file_mtime(path: Path) -> float:
    """The modification time of ``path``, or 0.0 where it cannot be read (a missing file)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class CamApp:
    """Switches looks while the virtual camera runs.

    Args:
        pipeline: the pipeline whose look is switched.
        looks: look names to step through with ``n``/``p`` in the preview window.
        preview: the preview window, if any (``q`` or closing it stops the camera).
        watch: a look file to reload whenever it changes (edit it in any editor while on a call); a broken edit
            is reported and the previous look is kept.
        watch_mtime: the watched file's modification time (:func:`file_mtime`) taken before the pipeline's look was
            read from it, so that an edit made since (while the models loaded) is reloaded at the first frame;
            None: the time it has now.
    """

    #: The hook reads only the rendered frame: the live loop may render into the source's frames.
    reads_input = False

    def __init__(
        self,
        pipeline: Pipeline,
        looks: list[str],
        preview: WindowSink | None = None,
        watch: Path | None = None,
        watch_mtime: float | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.looks = looks
        self.preview = preview
        self.watch = watch
        self.index = 0
        self.reloads = 0
        self.errors: list[str] = []
        self._mtime = watch_mtime if watch_mtime is not None else self._stat()
        self._checked = 0.0

    def _stat(self) -> float:
        return file_mtime(self.watch) if self.watch is not None else 0.0

    def poll_watch(self) -> None:
        """Reloads the watched look file if it changed since the last check."""
        if self.watch is None:
            return
        mtime = self._stat()
        if mtime and mtime != self._mtime:
            self._mtime = mtime
            try:
                self.pipeline.set_look(Look.load(self.watch))
                self.reloads += 1
                log.info("reloaded look %s", self.watch)
            except LookError as exc:
                self.errors.append(str(exc))
                log.error("look not reloaded, keeping the previous one: %s", exc)

    def __call__(self, frame: Frame, out: np.ndarray, timings: dict[str, float]) -> np.ndarray | None:
        now = time.monotonic()
        if now - self._checked > 0.5:
            self._checked = now
            self.poll_watch()
        if self.preview is not None:
            key = self.preview.last_key & 0xFF if self.preview.last_key >= 0 else -1
            if key in (27, ord("q")):
                return None
            if key in (ord("n"), ord("p")) and self.looks:
                self.index = (self.index + (1 if key == ord("n") else -1)) % len(self.looks)
                self.pipeline.set_look(self.looks[self.index])
                log.info("look: %s", self.looks[self.index])
        return out
