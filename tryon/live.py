"""The live loop: source -> pipeline -> sinks, always on the newest frame, with clean shutdown.

Live sources (cameras, or files played at their own pace) are read on a capture thread into a one-frame slot,
so processing always takes the newest frame and stale ones are dropped; no queue can grow. Files processed as
fast as possible are read in order, every frame. However the loop ends (end of input, a closed window,
Ctrl+C, a camera unplugged), the source is released and every sink is finalised, so a video being written
stays playable.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tryon.errors import SourceError
from tryon.pipeline import Pipeline
from tryon.sinks.base import Sink
from tryon.sources.base import Frame, Source
from tryon.sources.grabber import LatestFrameGrabber

__all__ = ["LiveLoop", "LoopStats", "FrameHook"]

log = logging.getLogger(__name__)

#: Called with (frame, processed image, stage timings); returns the image to send to the sinks (e.g. with an
#: overlay drawn), or None to stop the loop.
FrameHook = Callable[[Frame, np.ndarray, dict], "np.ndarray | None"]


@dataclass
class LoopStats:
    """Counters and rolling timings of a loop run."""

    frames: int = 0
    dropped: int = 0
    seconds: float = 0.0
    stopped_by: str = ""
    error: str = ""
    recent: dict[str, deque[float]] = field(default_factory=dict)

    def add(self, timings: dict[str, float]) -> None:
        for key, value in timings.items():
            self.recent.setdefault(key, deque(maxlen=60)).append(value)

    def median(self, key: str) -> float:
        values = self.recent.get(key)
        return float(np.median(values)) if values else 0.0

    @property
    def fps(self) -> float:
        """Frames per second over the last 60 frames' wall time."""
        values = self.recent.get("frame")
        return 1000.0 / float(np.mean(values)) if values else 0.0


class LiveLoop:
    """Runs a pipeline from a source to sinks.

    Args:
        pipeline: the pipeline (its look can be changed while the loop runs).
        source: where frames come from.
        sinks: where processed frames go.
        realtime: drop stale frames and follow the source's clock; defaults to ``source.live``. A file source with
            ``realtime=True`` plays at its own frame rate.
        hook: optional per-frame callback (see :data:`FrameHook`), for overlays and key handling.

    Example:
        >>> with Pipeline(look="evening") as pipe, WebcamSource(0) as cam, WindowSink() as win:  # doctest: +SKIP
        ...     stats = LiveLoop(pipe, cam, [win]).run()
    """

    def __init__(
        self,
        pipeline: Pipeline,
        source: Source,
        sinks: Sequence[Sink],
        *,
        realtime: bool | None = None,
        hook: FrameHook | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.source = source
        self.sinks = list(sinks)
        self.realtime = source.live if realtime is None else realtime
        self.hook = hook
        self.stats = LoopStats()
        self._stop = False

    def stop(self) -> None:
        """Asks the loop to stop after the current frame (safe from another thread)."""
        self._stop = True

    def run(self, max_frames: int | None = None) -> LoopStats:
        """Runs until the input ends, a sink or the hook stops it, :meth:`stop`, or ``max_frames``.

        The source and the sinks are closed on the way out, whatever happened; ``KeyboardInterrupt`` and source
        failures are re-raised after that.
        """
        stats = self.stats
        start = time.perf_counter()
        grabber = None
        try:
            if self.realtime:
                pace = 0.0 if self.source.live else (self.source.fps or 30.0)
                grabber = LatestFrameGrabber(self.source, pace=pace)
            last = time.perf_counter()
            while not self._stop and (max_frames is None or stats.frames < max_frames):
                frame = grabber.get() if grabber is not None else self.source.read()
                if frame is None:
                    stats.stopped_by = "end of input"
                    break
                timings: dict[str, float] = {}
                out = self.pipeline.process(frame.image, timings, timestamp=frame.timestamp)
                if self.hook is not None:
                    shown = self.hook(frame, out, timings)
                    if shown is None:
                        stats.stopped_by = "stopped by the app"
                        break
                    out = shown
                t_sink = time.perf_counter()
                for sink in self.sinks:
                    sink.write(out)
                if any(getattr(sink, "is_open", True) is False for sink in self.sinks):
                    stats.stopped_by = "window closed"
                    break
                now = time.perf_counter()
                timings["sink"] = (now - t_sink) * 1000.0
                timings["frame"] = (now - last) * 1000.0
                last = now
                stats.add(timings)
                stats.frames += 1
            else:
                stats.stopped_by = stats.stopped_by or ("stopped" if self._stop else "frame limit")
        except KeyboardInterrupt:
            stats.stopped_by = "interrupted"
            raise
        except SourceError as exc:
            stats.stopped_by = "source failed"
            stats.error = str(exc)
            raise
        finally:
            if grabber is not None:
                grabber.close()
                stats.dropped = grabber.dropped
            self.source.close()
            for sink in self.sinks:
                try:
                    sink.close()
                except Exception:  # finalise the others whatever one of them does
                    log.exception("closing the %s sink failed", sink.kind)
            stats.seconds = time.perf_counter() - start
            log.info(
                "loop ended (%s): %d frames, %d dropped, %.1f s",
                stats.stopped_by,
                stats.frames,
                stats.dropped,
                stats.seconds,
            )
        return stats
