"""Capture on its own thread, keeping only the newest frame.

The live loop never works on a stale frame and no queue can grow, however slow processing is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from tryon.errors import SourceError
from tryon.sources.base import Frame, Source

__all__ = ["LatestFrameGrabber"]

log = logging.getLogger(__name__)


class LatestFrameGrabber:
    """Reads ``source`` on a background thread into a one-frame slot.

    :meth:`get` returns the newest frame not returned before (waiting for it if need be), None at the end of the
    input, and re-raises a read failure (a camera unplugged) in the caller's thread. Frames that were overwritten
    before anyone took them are counted in :attr:`dropped`; a dropped frame that started a new scene
    (:attr:`Frame.cut <tryon.sources.Frame.cut>`) passes the mark to the frame that replaced it.

    Example:
        >>> with WebcamSource(0) as cam, LatestFrameGrabber(cam) as grab:  # doctest: +SKIP
        ...     while (frame := grab.get()) is not None:
        ...         show(process(frame.image))
    """

    def __init__(self, source: Source, pace: float = 0.0) -> None:
        """Starts the thread.

        Args:
            source: the source to read.
            pace: when > 0, read at most this many frames per second (a video file played as if live).
        """
        self.source = source
        self.pace = pace
        self.dropped = 0
        self.captured = 0
        self._slot: Frame | None = None
        self._error: BaseException | None = None
        self._ended = False
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"tryon-capture-{source.kind}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_t = time.monotonic()
        try:
            while not self._stop.is_set():
                if self.pace > 0:
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    next_t = max(next_t + 1.0 / self.pace, time.monotonic() - 1.0 / self.pace)
                frame = self.source.read()
                with self._cond:
                    if frame is None:
                        self._ended = True
                        self._cond.notify_all()
                        return
                    if self._slot is not None:
                        self.dropped += 1
                        if self._slot.cut and not frame.cut:  # the cut stays marked on the frame after it
                            frame = replace(frame, cut=True)
                    self._slot = frame
                    self.captured += 1
                    self._cond.notify_all()
        except BaseException as exc:  # re-raised in the consumer's thread
            with self._cond:
                self._error = exc
                self._cond.notify_all()

    def get(self, timeout: float | None = 5.0) -> Frame | None:
        """The newest unseen frame; None at the end of the input.

        Raises:
            SourceError: when the source failed, or gave nothing for ``timeout`` seconds.
        """
        with self._cond:
            ok = self._cond.wait_for(lambda: self._slot is not None or self._ended or self._error is not None, timeout)
            if self._error is not None:
                error = self._error
                if isinstance(error, SourceError):
                    raise SourceError(str(error)) from error
                raise SourceError(f"{self.source.kind} source failed: {error}") from error
            if self._slot is not None:
                frame, self._slot = self._slot, None
                return frame
            if self._ended:
                return None
            if not ok:
                raise SourceError(f"{self.source.kind} source gave no frame for {timeout:.0f} s")
            return None

    def close(self) -> None:
        """Stops the thread (the source itself is closed by its owner); safe to call twice."""
        self._stop.set()
        self._thread.join(timeout=2.0)

    def __enter__(self) -> LatestFrameGrabber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
