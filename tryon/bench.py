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


def _read_frames(
    source: Path, count: int, size: tuple[int, int] | None, loop: bool = True
) -> tuple[list[np.ndarray], list[float]]:
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
                if not loop:
                    break
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
    # The clip is decoded once (at most ``frames`` frames) and cycled, so memory measures the pipeline, not a
    # buffer of decoded frames.
    clip, clip_decode = _read_frames(path, frames, size, loop=False)
    order = [i % len(clip) for i in range(frames)]
    decode = [clip_decode[i] for i in order]
    totals: list[float] = []
    stages: dict[str, list[float]] = {"perception": [], "parsing": [], "effects": []}
    faces = 0
    with Pipeline(look=look, mode="video") as pipe:
        for i, index in enumerate(order):
            frame = clip[index]
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            parse = pipe.parse(frame, timings)
            pipe.render(frame, parse, timings)
            totals.append((time.perf_counter() - t0) * 1000.0)
            faces += len(parse.faces)
            for name in stages:
                stages[name].append(timings[name])
            if progress is not None:
                progress(i)
    floor: list[float] = []
    with Perception(PerceptionOptions(mode="video")) as perception:
        for frame in clip[: min(len(clip), 300)]:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            t0 = time.perf_counter()
            perception.landmarks_rgb(rgb)
            perception.person_rgb(rgb)
            floor.append((time.perf_counter() - t0) * 1000.0)
    total = np.array(totals) + np.array(decode)
    h, w = clip[0].shape[:2]
    return BenchResult(
        frames=len(order),
        size=(w, h),
        fps=1000.0 / float(np.median(total)),
        ms_median=float(np.median(total)),
        ms_p95=float(np.percentile(total, 95)),
        stages={"decode": float(np.median(decode)), **{k: float(np.median(v)) for k, v in stages.items()}},
        perception_floor_ms=float(np.median(floor)),
        peak_rss_mb=_peak_rss_mb(),
        faces=faces / len(order),
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


@dataclass
class StabilityResult:
    """Landmark jitter on the stillest stretch of a video and lag on its fastest, with and without smoothing."""

    still_frames: tuple[int, int]
    jitter_raw_px: float
    jitter_px: float
    moving_frames: tuple[int, int]
    lag_frames: float
    speed_px_per_frame: float

    def as_dict(self) -> dict[str, object]:
        return {
            "still_frames": list(self.still_frames),
            "jitter_raw_px": round(self.jitter_raw_px, 3),
            "jitter_px": round(self.jitter_px, 3),
            "moving_frames": list(self.moving_frames),
            "lag_frames": round(self.lag_frames, 3),
            "speed_px_per_frame": round(self.speed_px_per_frame, 2),
        }


#: Landmarks on rigid parts of the face (nose, eye corners, forehead, cheeks): speech does not move them.
RIGID_LANDMARKS = (1, 4, 5, 6, 168, 197, 195, 33, 133, 263, 362, 10, 109, 338, 234, 454)


def stability(source: str | Path, window: int = 30, size: tuple[int, int] | None = None) -> StabilityResult:
    """Measures landmark jitter and lag of the default stabilisation on a real video (one face).

    Jitter: on the ``window``-frame stretch where the raw face moves least, the standard deviation of each rigid
    landmark's position (:data:`RIGID_LANDMARKS`) around its own linear trend (so slow drift is not counted),
    averaged over those landmarks.
    Lag: on the stretch where the face moves most, how far the smoothed landmarks trail the raw ones, in frames of
    that motion (mean distance smoothed-to-raw over mean raw per-frame displacement).
    """
    from tryon.perception import Perception, PerceptionOptions
    from tryon.perception.smoothing import LandmarkSmoother

    clip, _ = _read_frames(Path(source), 5000, size, loop=False)
    raw = []
    with Perception(PerceptionOptions(mode="video", max_faces=1, person_mask=False)) as perception:
        for frame in clip:
            found = perception(frame, person=False).landmarks
            if not found:
                raise InputError(f"{source}: a frame without a face; stability needs a face in every frame")
            raw.append(found[0][:, :2])
    rigid = list(RIGID_LANDMARKS)
    if len(raw) < 2 * window:
        raise InputError(f"{source}: too short for a {window}-frame stretch")
    fps = 30.0
    smoother = LandmarkSmoother()
    smooth = np.array([smoother(0, np.pad(r, ((0, 0), (0, 1))), i / fps)[:, :2] for i, r in enumerate(raw)])
    raw_a = np.array(raw)
    motion = np.linalg.norm(np.diff(raw_a[:, rigid], axis=0), axis=2).mean(axis=1)
    sums = np.convolve(motion, np.ones(window), "valid")
    still = int(np.argmin(sums))
    moving = int(np.argmax(sums))

    def detrended_std(track: np.ndarray) -> float:
        t = np.arange(track.shape[0], dtype=np.float64)
        a = np.vstack([t, np.ones_like(t)]).T
        flat = track.reshape(track.shape[0], -1)
        coef, *_ = np.linalg.lstsq(a, flat, rcond=None)
        resid = flat - a @ coef
        return float(np.sqrt((resid.reshape(track.shape) ** 2).sum(axis=2).mean(axis=0)).mean())

    raw_a, smooth = raw_a[:, rigid], smooth[:, rigid]
    s0, s1 = still, still + window + 1
    m0, m1 = moving, moving + window + 1
    speed = float(motion[m0 : m1 - 1].mean())
    trail = float(np.linalg.norm(smooth[m0:m1] - raw_a[m0:m1], axis=2).mean())
    return StabilityResult(
        still_frames=(s0, s1),
        jitter_raw_px=detrended_std(raw_a[s0:s1]),
        jitter_px=detrended_std(smooth[s0:s1]),
        moving_frames=(m0, m1),
        lag_frames=trail / speed if speed > 0 else 0.0,
        speed_px_per_frame=speed,
    )
