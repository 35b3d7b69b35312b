"""Benchmarks: the pipeline's cost per stage on a real video, against the perception floor.

``perception_floor_ms`` is the median time of MediaPipe face mesh plus selfie segmentation alone (on frames
already in RGB, passed read-only as the pipeline passes them), measured in the same run on the same frames, so
the pipeline's overhead can be read off it.
"""

from __future__ import annotations

import logging
import math
import resource
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import cv2
import numpy as np

from tryon.errors import ImageReadError, InputError
from tryon.image import IMAGE_SUFFIXES, read_image
from tryon.sinks.simple import NullSink
from tryon.sources.base import Frame, Source
from tryon.sources.video import VideoSource
from tryon.video import VIDEO_SUFFIXES

__all__ = ["BenchResult", "bench_frame", "check_stability_source", "effects_cost", "run_bench"]

log = logging.getLogger(__name__)


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


@dataclass
class BenchResult:
    """What ``tryon bench --json`` prints.

    ``ms_median`` and ``ms_p95`` are the intervals between frames leaving the loop (so ``fps`` is the rate a
    viewer sees); ``latency_ms_median`` is the time from reading a frame to sending it. With the pipelined loop
    the stages overlap, so their medians add up to more than ``ms_median``. ``split`` says where the next frame
    was perceived and parsed meanwhile (``process``, ``thread``, or ``none`` when not pipelined); ``peak_rss_mb``
    is this process's peak memory plus the parse process's (``child_peak_rss_mb``, null without one).
    """

    frames: int
    size: tuple[int, int]
    fps: float
    ms_median: float
    ms_p95: float
    stages: dict[str, float] = field(default_factory=dict)
    perception_floor_ms: float = 0.0
    peak_rss_mb: float = 0.0
    child_peak_rss_mb: Optional[float] = None
    faces: float = 0.0
    latency_ms_median: float = 0.0
    pipelined: bool = True
    split: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "frames": self.frames,
            "size": list(self.size),
            "fps": round(self.fps, 2),
            "ms_median": round(self.ms_median, 3),
            "ms_p95": round(self.ms_p95, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
            "perception_floor_ms": round(self.perception_floor_ms, 3),
            "latency_ms_median": round(self.latency_ms_median, 3),
            "pipelined": self.pipelined,
            "split": self.split,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "child_peak_rss_mb": None if self.child_peak_rss_mb is None else round(self.child_peak_rss_mb, 1),
            "faces_mean": round(self.faces, 2),
        }


def tile_photos(paths: Sequence[str | Path], size: tuple[int, int]) -> np.ndarray:
    """One ``size`` frame tiled from photos (a grid as square as possible; each photo centre-cropped to its cell).

    Raises:
        ImageReadError: for a missing or unreadable photo.
    """
    if not paths:
        raise InputError("tiling needs at least one photo")
    w, h = size
    cols = math.ceil(math.sqrt(len(paths)))
    rows = math.ceil(len(paths) / cols)
    cw, ch = w // cols, h // rows
    frame = np.zeros((h, w, 3), np.uint8)
    for i, path in enumerate(paths):
        image = read_image(path)
        scale = max(cw / image.shape[1], ch / image.shape[0])
        resized = cv2.resize(
            image,
            (max(cw, round(image.shape[1] * scale)), max(ch, round(image.shape[0] * scale))),
            interpolation=cv2.INTER_AREA,
        )
        y0, x0 = (resized.shape[0] - ch) // 2, (resized.shape[1] - cw) // 2
        r, c = divmod(i, cols)
        frame[r * ch : (r + 1) * ch, c * cw : (c + 1) * cw] = resized[y0 : y0 + ch, x0 : x0 + cw]
    return frame


class _BenchSource(Source):
    """A looped video resized to the bench size, or one still frame repeated (a tiled group of photos)."""

    kind = "bench"
    fresh_frames = True

    def __init__(
        self, video: Path | None, still: np.ndarray | None, size: tuple[int, int] | None, loop: bool = True
    ) -> None:
        super().__init__()
        self._video = VideoSource(video, loop=loop) if video is not None else None
        self._still = still
        self._size = size
        self._index = 0

    @property
    def fps(self) -> float:
        return self._video.fps if self._video is not None else 30.0

    @property
    def size(self) -> tuple[int, int]:
        if self._still is not None:
            return (self._still.shape[1], self._still.shape[0])
        assert self._video is not None
        return self._size or self._video.size

    def read(self) -> Frame | None:
        cut = False
        if self._still is not None:
            image = self._still.copy()  # a new buffer per frame, as a camera gives
        else:
            assert self._video is not None
            frame = self._video.read()
            if frame is None:
                return None
            image, cut = frame.image, frame.cut  # a looped clip's wrap
            if self._size is not None and (image.shape[1], image.shape[0]) != self._size:
                # Bilinear: a camera at that size would not pay for a careful resize, and the bench times reading
                image = cv2.resize(image, self._size, interpolation=cv2.INTER_LINEAR)
        out = Frame(image, self._index, self._index / self.fps, cut=cut)
        self._index += 1
        return out

    def _release(self) -> None:
        if self._video is not None:
            self._video.close()


def _bench_input(
    source: str | Path | Sequence[str | Path], size: tuple[int, int] | None
) -> tuple[Path, None] | tuple[None, np.ndarray]:
    """A bench source as ``(video, None)``, or ``(None, frame)`` for photos tiled into one ``size`` frame.

    Raises:
        ImageReadError: for a missing file or an unreadable photo; InputError for a video among several files.
    """
    paths = [Path(source)] if isinstance(source, (str, Path)) else [Path(p) for p in source]
    for path in paths:
        if not path.is_file():
            raise ImageReadError(f"{path}: no such file")
    if len(paths) > 1:
        videos = [p for p in paths if p.suffix.lower() not in IMAGE_SUFFIXES]
        if videos:
            raise InputError(
                f"{videos[0]}: the source is one video, or several photos ({', '.join(sorted(IMAGE_SUFFIXES))}) "
                "tiled into one frame"
            )
    if len(paths) > 1 or paths[0].suffix.lower() in IMAGE_SUFFIXES:
        return None, tile_photos(paths, size or (1280, 720))
    return paths[0], None


def _floor_ms(frames: Iterable[np.ndarray]) -> float:
    """Median ms of MediaPipe face mesh plus selfie segmentation alone (on RGB frames) over ``frames``."""
    from tryon.perception import Perception, PerceptionOptions

    times: list[float] = []
    with Perception(PerceptionOptions(mode="video")) as perception:
        for frame in frames:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            # Read-only, as Perception passes its frames: MediaPipe then wraps the array instead of copying it
            # into each graph (0.2-0.4 ms a frame at 720p that the pipeline does not pay, so neither does the floor).
            rgb.flags.writeable = False
            t0 = time.perf_counter()
            perception.landmarks_rgb(rgb)
            perception.person_rgb(rgb)
            times.append((time.perf_counter() - t0) * 1000.0)
    return float(np.median(times))


def run_bench(
    source: str | Path | Sequence[str | Path],
    look: str | None = "glam",
    frames: int = 300,
    size: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
    pipelined: bool = True,
    parsing: str = "landmarks",
    split: Literal["auto", "thread", "process"] = "auto",
) -> BenchResult:
    """Runs the live loop on a video (or a still frame tiled from photos) into the null sink and times it.

    The video is decoded on the fly (looped when shorter than ``frames``) exactly as ``tryon demo`` would read
    it, so decoding is part of the measured rate. The perception floor is then measured on the same frames.

    Args:
        source: a video file, or several photos to tile into one frame of ``size`` (1280x720 by default).
        look: the look to apply (None: parsing only).
        frames: frames to run.
        size: resize frames to ``(width, height)`` first.
        progress: called with each frame's index.
        pipelined: parse the next frame while rendering this one, as the live loop does by default.
        parsing: the parser (``landmarks``, ``auto``, a model name or card; see ``tryon.parsing.registry``).
        split: pipelined, perceive and parse in a child process or on a worker thread (see :class:`LiveLoop`).

    Raises:
        InputError: for a bad frame count; ImageReadError or SourceError for unreadable input.
    """
    from tryon.live import LiveLoop
    from tryon.pipeline import Pipeline, PipelineOptions

    if frames < 1:
        raise InputError(f"frames must be at least 1, got {frames}")
    video, still = _bench_input(source, size)

    def count(frame: Frame, out: np.ndarray, timings: dict) -> np.ndarray:
        if progress is not None:
            progress(frame.index)
        return out

    with Pipeline(look=look, options=PipelineOptions(mode="video", parsing=parsing)) as pipe:
        src = _BenchSource(video, still, size)
        w, h = src.size
        # Read as fast as the loop goes, but each frame as late as keeps that rate, as from a camera: the
        # latency is then what a viewer would see.
        loop = LiveLoop(
            pipe,
            src,
            [NullSink()],
            realtime=False,
            hook=count,
            pipelined=pipelined,
            split=split,
            just_in_time=True,
            record=True,
            keep_input=False,  # the hook reads only the index: frames are rendered in place, as with no hook
        )
        stats = loop.run(max_frames=frames)
    history = stats.history or []
    if not history:
        raise InputError("no frame could be processed")
    warm = history[min(10, len(history) // 10) :]  # the first frames load models and warm caches

    def median(key: str) -> float:
        return float(np.median([t[key] for t in warm if key in t]))

    peak_rss = _peak_rss_mb()  # before the floor's own frames are read
    with _BenchSource(video, still, size) as again:
        floor = _floor_ms(frame.image for frame, _ in zip(again, range(min(frames, 100))))
    intervals = [t["frame"] for t in warm]
    return BenchResult(
        frames=stats.frames,
        size=(w, h),
        fps=1000.0 / float(np.median(intervals)),
        ms_median=float(np.median(intervals)),
        ms_p95=float(np.percentile(intervals, 95)),
        stages={"decode": median("capture"), **{k: median(k) for k in ("perception", "parsing", "effects")}},
        perception_floor_ms=floor,
        peak_rss_mb=peak_rss + (stats.child_peak_rss_mb or 0.0),
        child_peak_rss_mb=stats.child_peak_rss_mb,
        faces=stats.faces / max(stats.frames, 1),
        latency_ms_median=median("latency"),
        pipelined=pipelined,
        split=stats.split,
    )


def bench_frame(
    source: str | Path | Sequence[str | Path], size: tuple[int, int] | None = None, index: int = 30
) -> np.ndarray:
    """One frame of a bench source: frame ``index`` of a video (its last if shorter), or the photos tiled.

    Raises:
        ImageReadError: for a missing or unreadable file; InputError for a video without frames.
    """
    video, still = _bench_input(source, size)
    if still is not None:
        return still
    image = None
    with _BenchSource(video, None, size, loop=False) as src:
        for frame, _ in zip(src, range(index + 1)):
            image = frame.image
    if image is None:
        raise InputError(f"{video}: no frame could be read")
    return image


def effects_cost(
    frame: np.ndarray, look: str = "glam", repeats: int = 50, parsing: str = "landmarks"
) -> dict[str, float]:
    """Median milliseconds of each effect of ``look``, alone, and of the whole look, on one frame's parse.

    The frame is parsed once, as the live loop parses (video mode), and that parse is reused: what is timed is
    rendering alone, on the calling thread with nothing beside it. Each effect is timed on a fresh copy of the
    frame; ``all`` is the look's whole render (complexion effects sharing one canvas, so less than their sum), also
    on a fresh copy, rendered in place as the live loop renders the frames it reads.
    ``parsing`` picks the parser, as for :func:`run_bench`.

    Raises:
        InputError: when the look has no effects or no face is found in the frame.
    """
    from tryon.pipeline import Pipeline, PipelineOptions

    with Pipeline(look=look, options=PipelineOptions(mode="video", parsing=parsing)) as pipe:
        parse = pipe.parse(frame)
        if pipe.look is None or not parse.faces:
            raise InputError("the effects' cost needs a look and a frame with a face")
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
            work = frame.copy()
            t0 = time.perf_counter()
            pipe.render(work, parse, inplace=True)
            times.append((time.perf_counter() - t0) * 1000.0)
        out["all"] = float(np.median(times))
    return out


@dataclass
class StabilityResult:
    """Landmark jitter on the stillest stretch of a video and lag on its fastest, with and without smoothing.

    ``mask_flicker`` gives, per region, the mean share of the mask's weight that changes from one frame to the
    next on the still stretch (sum of ``|alpha_t - alpha_t-1|`` over sum of ``alpha_t``), as the pipeline parses
    it (stabilised landmarks, colour refinement): a mask that only follows the residual landmark jitter changes
    by a few per cent, a flickering edge by far more.
    """

    still_frames: tuple[int, int]
    jitter_raw_px: float
    jitter_px: float
    moving_frames: tuple[int, int]
    lag_frames: float
    speed_px_per_frame: float
    lid_error_px: float = 0.0
    mask_flicker: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "still_frames": list(self.still_frames),
            "jitter_raw_px": round(self.jitter_raw_px, 3),
            "jitter_px": round(self.jitter_px, 3),
            "moving_frames": list(self.moving_frames),
            "lag_frames": round(self.lag_frames, 3),
            "speed_px_per_frame": round(self.speed_px_per_frame, 2),
            "lid_error_px": round(self.lid_error_px, 2),
            "mask_flicker": {k: round(v, 4) for k, v in self.mask_flicker.items()},
        }


#: The most frames ``stability`` reads (a minute at 30 fps).
_STABILITY_FRAMES = 1800

#: Landmarks on rigid parts of the face (nose, eye corners, forehead, cheeks): speech does not move them.
RIGID_LANDMARKS = (1, 4, 5, 6, 168, 197, 195, 33, 133, 263, 362, 10, 109, 338, 234, 454)


def check_stability_source(source: str | Path, name: str = "stability()") -> Path:
    """Refuses a :func:`stability` source other than a video file (jitter and lag are motion over time).

    Args:
        source: the file to measure.
        name: what the error calls the measurement (the CLI's ``--stability``).

    Returns:
        ``source`` as a path.

    Raises:
        InputError: for a photo or a file of another type, naming the video types.
    """
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        given = "a photo" if suffix in IMAGE_SUFFIXES else f"a {suffix or 'suffix-less'} file"
        raise InputError(
            f"{path}: {name} measures landmark jitter and lag over time, so it needs a video "
            f"({', '.join(sorted(VIDEO_SUFFIXES))}), not {given}"
        )
    return path


def stability(source: str | Path, window: int = 30, size: tuple[int, int] | None = None) -> StabilityResult:
    """Measures landmark jitter and lag of the default stabilisation on a real video (one face).

    Jitter: on the ``window``-frame stretch where the raw face moves least, the standard deviation of each rigid
    landmark's position (:data:`RIGID_LANDMARKS`) around its own linear trend (so slow drift is not counted),
    averaged over those landmarks.
    Lag: on the stretch where the face moves most, how far the smoothed landmarks trail the raw ones, in frames of
    that motion (mean distance smoothed-to-raw over mean raw per-frame displacement).
    Lid error: over the whole video, the most the smoothed eyelids' gap (upper to lower lid, both eyes' mean) differs
    from the raw one: how far behind a blink the eye makeup can be, in pixels.

    Raises:
        InputError: for a source that is not a video (:func:`check_stability_source`), a frame without a face, or a
            video too short for two ``window``-frame stretches.
    """
    path = check_stability_source(source)
    from tryon.perception import Perception, PerceptionOptions
    from tryon.perception import topology as tp
    from tryon.perception.smoothing import LandmarkSmoother

    raw = []
    with (
        _BenchSource(path, None, size, loop=False) as frames,
        Perception(PerceptionOptions(mode="video", max_faces=1, person_mask=False)) as perception,
    ):
        fps = frames.fps
        for frame, _ in zip(frames, range(_STABILITY_FRAMES)):
            found = perception(frame.image, person=False).landmarks
            if not found:
                raise InputError(f"{source}: a frame without a face; stability needs a face in every frame")
            raw.append(found[0][:, :2])
    rigid = list(RIGID_LANDMARKS)
    if len(raw) < 2 * window:
        raise InputError(f"{source}: too short for a {window}-frame stretch")
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

    def lid_gap(track: np.ndarray) -> np.ndarray:
        upper, lower = [tp.RIGHT_EYE_UPPER[4], tp.LEFT_EYE_UPPER[4]], [tp.RIGHT_EYE_LOWER[4], tp.LEFT_EYE_LOWER[4]]
        return np.linalg.norm(track[:, upper] - track[:, lower], axis=2).mean(axis=1)  # type: ignore[no-any-return]

    lid_error = float(np.abs(lid_gap(smooth) - lid_gap(raw_a)).max())
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
        lid_error_px=lid_error,
        mask_flicker=_mask_flicker(Path(source), size, s0, s1, fps),
    )


#: Regions whose frame-to-frame change ``stability`` reports: the face's, then the hair and the person (the default
#: parser's body classes, whose colour models are learnt afresh on every frame).
FLICKER_REGIONS = ("lips", "face_skin", "left_eye", "right_brow", "lids", "cheeks", "hair", "person")


def _mask_flicker(source: Path, size: tuple[int, int] | None, start: int, stop: int, fps: float) -> dict[str, float]:
    """Mean frame-to-frame change of each of :data:`FLICKER_REGIONS` over frames ``start:stop`` (see above)."""
    from tryon.pipeline import Pipeline, PipelineOptions

    changes: dict[str, list[float]] = {name: [] for name in FLICKER_REGIONS}
    previous: dict[str, np.ndarray] = {}
    first = max(0, start - 15)  # a few frames first, to settle the filters
    with (
        _BenchSource(source, None, size) as frames,
        Pipeline(options=PipelineOptions(mode="video", body="always")) as pipe,
    ):
        for frame, i in zip(frames, range(stop)):
            if i < first:
                continue
            parse = pipe.parse(frame.image, timestamp=i / fps)
            if not parse.faces:
                previous.clear()
                continue
            face = parse.faces[0]
            for name in FLICKER_REGIONS:
                whole = name in ("hair", "person")
                alpha = (parse.mask(name) if whole else face.mask(name).full(parse.shape)).astype(np.float32)
                if i > start and name in previous:
                    changes[name].append(float(np.abs(alpha - previous[name]).sum() / max(alpha.sum(), 1.0)))
                previous[name] = alpha
    return {name: float(np.mean(values)) for name, values in changes.items() if values}
