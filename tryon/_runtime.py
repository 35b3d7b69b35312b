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


#: Whether a :class:`RenderCore` is active in the process: one at a time (a second live loop runs without one).
_core_lock = threading.Lock()
_core_held = False


class RenderCore:
    """Gives the calling thread (the live loop's renderer) a CPU of its own while the loop runs (Linux).

    The live loop renders on the calling thread while a worker reads and perceives the next frame, and MediaPipe
    and the video decoder run threads of their own. On a 2-core machine the scheduler keeps moving them onto the
    renderer's core, which then waits (measured: about 1.5 ms of each 10 ms render spent runnable but not
    running). While active, the calling thread runs on one CPU and every other thread of the process leaves it;
    OpenCV's own pool is held to one thread, so the renderer's OpenCV calls do not wait on pool threads queued
    behind perception. Threads started later are moved by :meth:`refresh`. Leaving gives every thread back the
    CPUs it had (threads started meanwhile: those their starter had) and OpenCV its thread count.

    It does nothing on systems without ``sched_setaffinity``, when the calling thread may use fewer than 2 CPUs,
    while another ``RenderCore`` of the process is active (one live loop at a time gets a core), or with
    ``TRYON_RENDER_CORE=0``.

    Example:
        >>> with RenderCore() as core:  # doctest: +SKIP
        ...     while running:
        ...         render_one_frame()
        ...         core.refresh()
    """

    def __init__(self) -> None:
        self.active = False
        self._allowed: frozenset[int] = frozenset()
        self._own = -1
        self._tid = 0
        self._cv_threads = 0
        self._saved: dict[int, frozenset[int]] = {}  # each thread seen: the CPUs it had
        self._starters: dict[frozenset[int], frozenset[int]] = {}  # CPUs a thread was moved to -> the ones it had

    def __enter__(self) -> RenderCore:
        global _core_held
        if os.environ.get("TRYON_RENDER_CORE", "1").strip() == "0" or not hasattr(os, "sched_setaffinity"):
            return self
        try:
            allowed = frozenset(os.sched_getaffinity(0))
        except OSError:
            return self
        if len(allowed) < 2 or not os.path.isdir("/proc/self/task"):
            return self
        own = min(allowed)
        self._allowed, self._own, self._tid = allowed, own, threading.get_native_id()
        self._saved = {self._tid: allowed}
        self._starters = {frozenset({own}): allowed}  # threads the renderer starts get its CPU
        self._cv_threads = cv2.getNumThreads()
        with _core_lock:
            if _core_held:
                log.debug("render core not reserved: another one is active in this process")
                return self
            _core_held = self.active = True  # from here on, __exit__ gives back whatever was changed
        for tid in self._threads():  # before any change: the CPUs each thread has now
            had = _affinity(tid)
            if had is not None:
                self._saved.setdefault(tid, had)
        try:
            os.sched_setaffinity(0, {own})  # 0: the calling thread
        except OSError as exc:
            log.debug("render core not reserved: %s", exc)
            self.__exit__(None, None, None)
            return self
        cv2.setNumThreads(1)
        moved = self._pin_others(every=True)
        log.debug("render thread on CPU %d, %d other thread(s) moved off it", own, moved)
        return self

    def refresh(self) -> None:
        """Moves the process's other threads started since off the renderer's CPU."""
        if self.active:
            self._pin_others()

    def _pin_others(self, every: bool = False) -> int:
        """Moves the threads not seen before (``every``: all of them) off the renderer's CPU; how many moved."""
        moved = 0
        for tid in self._threads():
            if tid == self._tid:
                continue
            had = self._saved.get(tid)
            if had is None:
                had = self._had(tid)
                if had is None:
                    continue
                self._saved[tid] = had
            elif not every:
                continue
            target = had - {self._own}
            if target and target != had:  # a thread confined to the renderer's CPU alone stays there
                self._starters.setdefault(target, had)
                moved += _set_affinity(tid, target)
        return moved

    def _had(self, tid: int) -> frozenset[int] | None:
        """The CPUs a thread not seen before had, or would have had without this core (None if it has gone)."""
        now = _affinity(tid)
        return None if now is None else self._starters.get(now, now)  # a starter this core moved: what it had

    @staticmethod
    def _threads() -> list[int]:
        try:
            return [int(name) for name in os.listdir("/proc/self/task")]
        except OSError:
            return []

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        global _core_held
        if not self.active:
            return
        self.active = False
        try:
            for tid in self._threads():
                had = self._saved.get(tid) or self._had(tid)
                if had is not None:
                    _set_affinity(tid, had)
            _set_affinity(self._tid, self._allowed)
        finally:
            try:
                cv2.setNumThreads(self._cv_threads)
            finally:
                with _core_lock:
                    _core_held = False


def _affinity(tid: int) -> frozenset[int] | None:
    """One thread's CPUs; None when it has gone meanwhile."""
    try:
        return frozenset(os.sched_getaffinity(tid))
    except OSError:
        return None


def _set_affinity(tid: int, cpus: frozenset[int]) -> int:
    """Sets one thread's CPUs; 0 when it has gone meanwhile (or may not be moved), else 1."""
    try:
        os.sched_setaffinity(tid, cpus)
    except OSError:
        return 0
    return 1
