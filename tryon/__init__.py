"""tryon: real-time virtual try-on and makeup AR, offline.

Example:
    >>> import tryon
    >>> with tryon.Pipeline(look="evening", mode="image") as pipe:  # doctest: +SKIP
    ...     out = pipe.process(frame_bgr)

Nothing heavy happens at import time: the public names below are imported on first use.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# OpenCV's pool threads spin in sched_yield for thousands of rounds after each parallel call; on a 2-core machine
# that took about 5 ms of CPU per 720p frame from the threads doing the work (13% of the live loop's CPU in the
# kernel, measured with perf). Read when cv2 loads, so set before anything imports it; a user's setting wins.
# (Imported after cv2, as isort orders them, it comes too late to matter: set the variables before starting Python.)
for _name in ("OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER", "OPENCV_THREAD_POOL_ACTIVE_WAIT_MAIN"):
    os.environ.setdefault(_name, "0")

__version__ = "0.1.0"

_EXPORTS = {
    "Pipeline": "tryon.pipeline",
    "PipelineOptions": "tryon.pipeline",
    "LiveLoop": "tryon.live",
    "Look": "tryon.looks",
    "Color": "tryon.color",
    "FrameParse": "tryon.parsing",
    "Face": "tryon.parsing",
    "RoiMask": "tryon.geometry",
    "CLASSES": "tryon.parsing",
    "REGIONS": "tryon.parsing",
    "create_effect": "tryon.effects",
    "TryOnError": "tryon.errors",
    "InputError": "tryon.errors",
    "LookError": "tryon.errors",
    "ImageReadError": "tryon.errors",
}

__all__ = [
    "CLASSES",
    "REGIONS",
    "Color",
    "Face",
    "FrameParse",
    "ImageReadError",
    "InputError",
    "LiveLoop",
    "Look",
    "LookError",
    "Pipeline",
    "PipelineOptions",
    "RoiMask",
    "TryOnError",
    "__version__",
    "create_effect",
]

if TYPE_CHECKING:
    from tryon.color import Color
    from tryon.effects import create_effect
    from tryon.errors import ImageReadError, InputError, LookError, TryOnError
    from tryon.geometry import RoiMask
    from tryon.live import LiveLoop
    from tryon.looks import Look
    from tryon.parsing import CLASSES, REGIONS, Face, FrameParse
    from tryon.pipeline import Pipeline, PipelineOptions


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tryon' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
