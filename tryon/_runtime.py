"""Process-level tuning for the per-frame path (applied once, by the pipeline)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

__all__ = ["limit_blas_threads", "tune_allocator"]

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
