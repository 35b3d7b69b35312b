"""Process-level tuning for the per-frame path (applied once, by the pipeline)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
from types import TracebackType

import cv2

__all__ = ["RenderCore", "limit_blas_threads", "tune_allocator"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False
_blas_limited = False


def tune_allocator() -> bool:
    """Keeps glibc from returning per-frame temporaries to the OS after every frame.

    Frame-sized numpy temporaries are above glibc's default mmap threshold, so each one is mapped and unmapped
    every frame and its pages faulted in again (hundreds of page faults per effect per frame, measured with
    ``perf stat``). Raising the mmap and trim thresholds lets the heap reuse that memory; memory stays flat
    because the same sizes recur every frame. Linux/glibc only; ``TRYON_NO_MALLOPT=1`` turns it off.

    Returns:
        True when the allocator was tuned (now or before).
    """
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("TRYON_NO_MALLOPT", "") not in ("", "0"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, 64 * 1024 * 1024) == 1 and mallopt(_M_TRIM_THRESHOLD, 256 * 1024 * 1024) == 1
    _done = ok
    log.debug("allocator tuned: %s", ok)
    return ok


def limit_blas_threads() -> bool:
    """Keeps numpy's BLAS (OpenBLAS, MKL, ...) to one thread for the rest of the process.

    tryon's own products are of small matrices, where a BLAS thread pool gains nothing; but a product over
    thousands of elements (``np.cov`` of pixel samples, a weighted sum as a matrix product) wakes OpenBLAS's pool,
    whose threads then spin in ``sched_yield`` for milliseconds and take the cores perception and rendering need:
    a third of the live loop's CPU time with a parsing model on 2 cores (measured with ``perf``). The limit is
    process-wide and stays (``threadpoolctl``); video-mode pipelines set it. ``TRYON_BLAS_THREADS=N`` sets another
    count, ``0`` leaves BLAS alone.

    Returns:
        True when a limit was set (now or before).
    """
    global _blas_limited
    if _blas_limited:
        return True
    raw = os.environ.get("TRYON_BLAS_THREADS", "1").strip()
    try:
        threads = int(raw)
    except ValueError:
        log.warning("TRYON_BLAS_THREADS=%r is not an integer; using 1", raw)
        threads = 1
    if threads <= 0:
        return False
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency, but never worth failing over
        return False
    threadpool_limits(limits=threads, user_api="blas")
    _blas_limited = True
    log.debug("BLAS limited to %d thread(s)", threads)
    return True


class RenderCore:
    """Gives the calling thread (the live loop's renderer) a CPU of its own while the loop runs (Linux).

    The live loop renders on the calling thread while a worker reads and perceives the next frame, and MediaPipe
    and the video decoder run threads of their own. On a 2-core machine the scheduler keeps moving them onto the
    renderer's core, which then waits (measured: about 1.5 ms of each 10 ms render spent runnable but not
    running). While active, the calling thread runs on one CPU and every other thread of the process on the
    rest; OpenCV's own pool is held to one thread, so the renderer's OpenCV calls do not wait on pool threads
    queued behind perception. Threads started later are moved by :meth:`refresh`. Leaving restores the process's
    CPUs and OpenCV's thread count.

    It does nothing on systems without ``sched_setaffinity``, when the process may use fewer than 2 CPUs, or
    with ``TRYON_RENDER_CORE=0``.

    Example:
        >>> with RenderCore() as core:  # doctest: +SKIP
        ...     while running:
        ...         render_one_frame()
        ...         core.refresh()
    """

    def __init__(self) -> None:
        self.active = False
        self._allowed: set[int] = set()
        self._others: set[int] = set()
        self._tid = 0
        self._cv_threads = 0

    def __enter__(self) -> RenderCore:
        if os.environ.get("TRYON_RENDER_CORE", "1").strip() == "0" or not hasattr(os, "sched_setaffinity"):
            return self
        try:
            allowed = set(os.sched_getaffinity(0))
        except OSError:
            return self
        if len(allowed) < 2 or not os.path.isdir("/proc/self/task"):
            return self
        self._allowed = allowed
        own = min(allowed)
        self._others = allowed - {own}
        self._tid = threading.get_native_id()
        try:
            os.sched_setaffinity(0, {own})  # 0: the calling thread
        except OSError as exc:
            log.debug("render core not reserved: %s", exc)
            return self
        self.active = True
        self._cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        moved = self._pin_others()
        log.debug("render thread on CPU %d, %d other thread(s) on CPUs %s", own, moved, sorted(self._others))
        return self

    def refresh(self) -> None:
        """Moves the process's other threads (including ones started since) off the renderer's CPU."""
        if self.active:
            self._pin_others()

    def _pin_others(self) -> int:
        moved = 0
        for tid in self._threads():
            if tid != self._tid:
                moved += _set_affinity(tid, self._others)
        return moved

    @staticmethod
    def _threads() -> list[int]:
        try:
            return [int(name) for name in os.listdir("/proc/self/task")]
        except OSError:
            return []

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.active:
            return
        self.active = False
        for tid in self._threads():
            _set_affinity(tid, self._allowed)
        cv2.setNumThreads(self._cv_threads)


def _set_affinity(tid: int, cpus: set[int]) -> int:
    """Sets one thread's CPUs; 0 when it has gone meanwhile (or may not be moved), else 1."""
    try:
        os.sched_setaffinity(tid, cpus)
    except OSError:
        return 0
    return 1
