"""A webcam (or any V4L2 / DirectShow / AVFoundation capture device) as a frame source."""

from __future__ import annotations

import logging
import sys
import time

import cv2

from tryon.errors import SourceError
from tryon.sources.base import Frame, Source

__all__ = ["WebcamSource"]

log = logging.getLogger(__name__)

NO_CAMERA_HINT = "no camera? use a video file instead, e.g. --source clip.mp4"


class WebcamSource(Source):
    """Frames from a camera, by index (``0``) or device path (``/dev/video2``).

    Args:
        device: camera index or device path.
        size: requested ``(width, height)``; the camera may pick the nearest mode it has.
        fps: requested frame rate.
        max_failures: consecutive failed reads (about 100 ms each) before the camera counts as gone.

    Raises:
        SourceError: when the camera cannot be opened, with what to do instead.
    """

    kind = "webcam"
    live = True
    fresh_frames = True

    def __init__(
        self,
        device: int | str = 0,
        size: tuple[int, int] | None = (1280, 720),
        fps: float = 30.0,
        max_failures: int = 20,
    ) -> None:
        super().__init__()
        self.device = device
        self.max_failures = max_failures
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        self._cap = cv2.VideoCapture(device, backend) if isinstance(device, int) else cv2.VideoCapture(device)
        if not self._cap.isOpened():
            self._cap.release()
            self._closed = True
            raise SourceError(f"could not open camera {device!r} (missing, busy, or no permission); {NO_CAMERA_HINT}")
        self._cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        if size is not None:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or fps
        self._size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._index = 0
        self._t0 = time.monotonic()
        log.info("camera %r opened at %dx%d, %.1f fps", device, *self._size, self._fps)

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def read(self) -> Frame | None:
        if self._closed:
            return None
        for _ in range(self.max_failures):
            ok, image = self._cap.read()
            if ok and image is not None:
                frame = Frame(image, self._index, time.monotonic() - self._t0)
                self._index += 1
                return frame
            time.sleep(0.1)
        raise SourceError(f"camera {self.device!r} stopped delivering frames (unplugged?)")

    def _release(self) -> None:
        self._cap.release()
