"""An OpenCV window as a sink, with key events and close detection for interactive apps."""

from __future__ import annotations

import logging
import os
import sys

import cv2
import numpy as np

from tryon.errors import SinkError
from tryon.sinks.base import Sink

__all__ = ["WindowSink", "DisplayError"]

log = logging.getLogger(__name__)


class DisplayError(SinkError):
    """No display is available for a window."""


class WindowSink(Sink):
    """Shows frames in a resizable window.

    After each :meth:`write`, :attr:`last_key` holds the key pressed (or -1) and :attr:`is_open` turns False
    once the user closes the window.

    Raises:
        DisplayError: when there is no display (headless machine without ``DISPLAY``).
    """

    kind = "window"

    def __init__(self, title: str = "tryon", size: tuple[int, int] | None = None) -> None:
        super().__init__()
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            raise DisplayError(
                "no display to open a window on (DISPLAY is not set); run with a desktop, under "
                "Xvfb, or use `tryon apply` to process files without a window"
            )
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        except cv2.error as exc:
            raise DisplayError(f"could not open a window: {exc}") from exc
        if size is not None:
            cv2.resizeWindow(title, *size)
        self.last_key = -1
        self._shown = False

    @property
    def is_open(self) -> bool:
        """False once the user has closed the window."""
        if self._closed:
            return False
        if not self._shown:
            return True
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def write(self, frame: np.ndarray) -> None:
        if self._closed:
            raise SinkError("the window is closed")
        cv2.imshow(self.title, frame)
        self._shown = True
        self.last_key = cv2.waitKeyEx(1)
        self.frames += 1

    def _release(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            log.debug("window %r was already gone", self.title)
