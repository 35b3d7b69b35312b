"""A virtual camera (pyvirtualcam) for video calls, fed at a steady rate.

Video-call apps (Zoom, Meet, Teams) dislike irregular frame rates, so a sender thread sends the newest processed
frame on a fixed clock, repeating the last one when processing hiccups, instead of sending when frames happen
to be ready.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tryon.errors import DependencyError, SinkError
from tryon.sinks.base import Sink

#: The frame rates a virtual camera is sent at.
MIN_FPS, MAX_FPS = 1.0, 240.0

#: Where each of pyvirtualcam's own backends exists (it registers only the current platform's, by
#: ``platform.system()``): named in ``tryon cam --backend``'s help, and in the error for another platform's backend.
BACKEND_PLATFORMS = {"v4l2loopback": ("Linux",), "obs": ("Windows", "macOS"), "unitycapture": ("Windows",)}

__all__ = ["BACKEND_PLATFORMS", "VirtualCameraSink", "check_backend", "install_hint"]

log = logging.getLogger(__name__)


def install_hint(platform: str = sys.platform) -> str:
    """What to install for a virtual camera device on ``platform``."""
    if platform.startswith("linux"):
        return (
            "install v4l2loopback and load it with exclusive_caps=1, e.g. "
            "`sudo apt install v4l2loopback-dkms && sudo modprobe v4l2loopback devices=1 exclusive_caps=1 "
            "card_label=tryon`"
        )
    if platform == "darwin":
        return "install OBS Studio 30 or newer and start its virtual camera once (Start Virtual Camera) to register it"
    return "install OBS Studio 30 or newer, which provides the OBS Virtual Camera device"


def check_backend(name: str | None) -> str | None:
    """The pyvirtualcam backend ``name`` stands for on this platform: None for ``"auto"`` (or None), else ``name``.

    Raises:
        SinkError: for another platform's backend (saying where it exists and what to use here) or an unknown one
            (listing the valid names).
    """
    import pyvirtualcam

    if name is None or name == "auto":
        return None
    here = sorted(pyvirtualcam.camera.BACKENDS)
    if name in here:
        return name
    where = BACKEND_PLATFORMS.get(name)
    if where is not None:
        system = {"Darwin": "macOS"}.get(platform.system(), platform.system())
        raise SinkError(
            f"the {name} backend is available on {' and '.join(where)} only; on {system} use --backend auto"
            + (f" or {', '.join(here)}" if here else "")
        )
    raise SinkError(f"unknown virtual camera backend {name!r}; valid backends: {', '.join(['auto', *here])}")


class VirtualCameraSink(Sink):
    """Sends frames to a virtual camera at a steady ``fps``.

    Args:
        size: ``(width, height)`` of the camera; frames of another size are resized.
        fps: the rate frames are sent at.
        backend: a pyvirtualcam backend name, or None (``"auto"``) to try each installed backend.
        device: a specific device (``/dev/video10``), or None for any.
        clock: the sender's clock, in seconds (tests pass a simulated one).
        wait: how the sender waits for its next tick: called with the seconds to wait, it returns True when sending
            should stop, as :meth:`threading.Event.wait` does; by default it waits until then or until the sink
            closes.

    Raises:
        SinkError: when no virtual camera device is available, with what to install on this OS, or for a backend
            this platform lacks (see :func:`check_backend`).
    """

    kind = "virtualcam"

    def __init__(
        self,
        size: tuple[int, int],
        fps: float = 30.0,
        backend: str | None = None,
        device: str | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        super().__init__()
        try:
            import pyvirtualcam
        except ImportError as exc:  # pragma: no cover - a hard dependency
            raise DependencyError('pyvirtualcam is missing: pip install "pyvirtualcam>=0.11"') from exc
        backend = check_backend(backend)
        self.size = size
        self.fps = float(fps)
        if not MIN_FPS <= self.fps <= MAX_FPS:  # a zero or NaN rate would stall the pacing thread, a huge one spin it
            raise SinkError(f"virtual camera fps must be {MIN_FPS:g} to {MAX_FPS:g}, got {fps!r}")
        self.sent = 0
        self.repeated = 0
        self._latest: np.ndarray = np.zeros((size[1], size[0], 3), np.uint8)
        self._fresh = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._clock = clock
        self._wait = wait if wait is not None else self._stop.wait
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._send_loop, name="tryon-virtualcam", daemon=True)
        try:
            self._cam: Any = pyvirtualcam.Camera(
                size[0], size[1], self.fps, fmt=pyvirtualcam.PixelFormat.BGR, backend=backend, device=device
            )
        except Exception as exc:  # pyvirtualcam reports every backend's failure as one RuntimeError
            detail = str(exc).strip().replace("\n", "; ") or type(exc).__name__
            raise SinkError(f"no virtual camera available ({detail}); {install_hint()}") from exc
        try:
            self.device = self._cam.device
            self.backend = self._cam.backend
            log.info("virtual camera %s (%s) at %dx%d, %.0f fps", self.device, self.backend, *size, self.fps)
            self._thread.start()
        except BaseException:  # Ctrl+C included: the caller gets no sink to close, so the device is closed here
            self.close()
            raise

    def write(self, frame: np.ndarray) -> None:
        """Hands over the newest processed frame; the sender thread sends it on the next tick."""
        if self._error is not None:
            raise SinkError(f"the virtual camera failed: {self._error}") from self._error
        if (frame.shape[1], frame.shape[0]) != self.size:
            import cv2

            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        with self._lock:
            self._latest = np.ascontiguousarray(frame)
            self._fresh = True
        self.frames += 1

    def _send_loop(self) -> None:
        period = 1.0 / self.fps
        next_t = self._clock()
        try:
            while not self._stop.is_set():
                with self._lock:
                    frame, fresh, self._fresh = self._latest, self._fresh, False
                self._cam.send(frame)
                self.sent += 1
                if not fresh:
                    self.repeated += 1
                next_t += period
                delay = next_t - self._clock()
                if delay > 0:
                    if self._wait(delay):
                        break
                else:
                    next_t = self._clock()  # fell behind: restart the clock rather than burst
        except BaseException as exc:
            self._error = exc
            log.error("virtual camera sender stopped: %s", exc)

    def _release(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # not started when __init__ failed before it
            self._thread.join(timeout=2.0)
        self._cam.close()
