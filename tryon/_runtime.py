"""Process-level tuning for the per-frame path (applied once, by the pipeline)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

__all__ = ["tune_allocator"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


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
