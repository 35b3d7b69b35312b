"""Benchmarks: the pipeline's cost per stage on a real video, against the perception floor.

``perception_floor_ms`` is the median time of MediaPipe face mesh plus selfie segmentation alone (on frames
already in RGB), measured in the same run on the same frames, so the pipeline's overhead can be read off it.
"""

from __future__ import annotations

import logging
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tryon.errors import ImageReadError, InputError

__all__ = ["BenchResult", "run_bench", "effects_cost"]

log = logging.getLogger(__name__)


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


@dataclass
class BenchResult:
    """What ``tryon bench --json`` prints."""

    frames: int
    size: tuple[int, int]
    fps: float
    ms_median: float
    ms_p95: float
    stages: dict[str, float] = field(default_factory=dict)
    perception_floor_ms: float = 0.0
    peak_rss_mb: float = 0.0
    faces: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "frames": self.frames,
            "size": list(self.size),
            "fps": round(self.fps, 2),
            "ms_median": round(self.ms_median, 3),
            "ms_p95": round(self.ms_p95, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
            "perception_floor_ms": round(self.perception_floor_ms, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "faces_mean": round(self.faces, 2),
        }


def _read_frames(source: Path, count: int, size: tuple[int, int] | None) -> tuple[list[np.ndarray], list[float]]:
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise ImageReadError(f"{source}: cannot open as a video")
    frames: list[np.ndarray] = []
    decode: list[float] = []
    try:
        while len(frames) < count:
            t0 = time.perf_counter()
            ok, frame = cap.read()
            if not ok:
                if not frames:
                    raise ImageReadError(f"{source}: no frame could be decoded")
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop the clip
                ok, frame = cap.read()
                if not ok:
                    break
            if size is not None and (frame.shape[1], frame.shape[0]) != size:
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            decode.append((time.perf_counter() - t0) * 1000.0)
            frames.append(frame)
    finally:
        cap.release()
    return frames, decode


def run_bench(
    source: str | Path,
    look: str | None = "glam",
    frames: int = 300,
    size: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> BenchResult:
    """Runs the pipeline on ``frames`` frames of a video and measures each stage.

    Frames are decoded (and resized to ``size``) up front so decoding is timed but does not disturb the
    others; the clip loops when it is shorter than ``frames``.
    """
    from tryon.perception import Perception, PerceptionOptions
    from tryon.pipeline import Pipeline

    if frames < 1:
        raise InputError(f"frames must be at least 1, got {frames}")
    path = Path(source)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    clip, decode = _read_frames(path, frames, size)
    totals: list[float] = []
    stages: dict[str, list[float]] = {"perception": [], "parsing": [], "effects": []}
    faces = 0
    with Pipeline(look=look, mode="video") as pipe:
        for i, frame in enumerate(clip):
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            parse = pipe.parse(frame, timings)
            pipe.render(frame, parse, timings)
            totals.append((time.perf_counter() - t0) * 1000.0)
            faces += len(parse.faces)
            for k in stages:
                stages[k].append(timings[k])
            if progress is not None:
                progress(i)
    floor: list[float] = []
    with Perception(PerceptionOptions(mode="video")) as perception:
        for frame in clip:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            t0 = time.perf_counter()
            perception.landmarks_rgb(rgb)
            perception.person_rgb(rgb)
            floor.append((time.perf_counter() - t0) * 1000.0)
    total = np.array(totals) + np.array(decode)
    h, w = clip[0].shape[:2]
    return BenchResult(
        frames=len(clip),
        size=(w, h),
        fps=1000.0 / float(np.median(total)),
        ms_median=float(np.median(total)),
        ms_p95=float(np.percentile(total, 95)),
        stages={"decode": float(np.median(decode)), **{k: float(np.median(v)) for k, v in stages.items()}},
        perception_floor_ms=float(np.median(floor)),
        peak_rss_mb=_peak_rss_mb(),
        faces=faces / len(clip),
    )


def effects_cost(frame: np.ndarray, look: str = "glam", repeats: int = 50) -> dict[str, float]:
    """Median milliseconds of each effect of ``look`` (and of all together) on one photo's parse."""
    from tryon.pipeline import Pipeline

    with Pipeline(look=look, mode="image") as pipe:
        parse = pipe.parse(frame)
        if pipe.look is None or not parse.faces:
            raise InputError("effects_cost needs a look and a frame with a face")
        out: dict[str, float] = {}
        for effect in pipe.look.effects:
            times = []
            for _ in range(repeats):
                work = frame.copy()
                t0 = time.perf_counter()
                effect.apply(work, parse)
                times.append((time.perf_counter() - t0) * 1000.0)
            out[effect.name] = float(np.median(times))
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            pipe.render(frame, parse)
            times.append((time.perf_counter() - t0) * 1000.0)
        out["all"] = float(np.median(times))
    return out
