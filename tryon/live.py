"""The live loop: source -> pipeline -> sinks, always on the newest frame, with clean shutdown.

Live sources (cameras, or files played at their own pace) are read on a capture thread into a one-frame slot,
so processing always takes the newest frame and stale ones are dropped; no queue can grow. Files processed as
fast as possible are read in order, every frame.

By default the loop is pipelined over two threads: a worker reads and parses frame N+1 (perception and parsing)
while the calling thread renders frame N and sends it to the sinks. MediaPipe, OpenCV and NumPy release the GIL,
so on two cores a frame costs about the slower of the two stages instead of their sum. The hand-over between the
stages is a one-slot queue: the worker is never more than one frame ahead. Rendering, the hook and the sinks stay
on the calling thread (GUI toolkits want the main thread).

However the loop ends (end of input, a closed window, Ctrl+C, a camera unplugged), the worker is stopped, the
source is released and every sink is finalised, so a video being written stays playable.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from tryon.errors import SourceError
from tryon.parsing.frame_parse import FrameParse
from tryon.pipeline import Pipeline
from tryon.sinks.base import Sink
from tryon.sources.base import Frame, Source
from tryon.sources.grabber import LatestFrameGrabber

__all__ = ["LiveLoop", "LoopStats", "FrameHook", "parse_ahead"]

log = logging.getLogger(__name__)

#: Called with (frame, processed image, stage timings); returns the image to send to the sinks (e.g. with an
#: overlay drawn), or None to stop the loop.
FrameHook = Callable[[Frame, np.ndarray, dict], "np.ndarray | None"]


@dataclass
class LoopStats:
    """Counters and timings of a loop run.

    Attributes:
        frames: frames sent to the sinks.
        faces: faces found, summed over those frames.
        dropped: stale frames the capture thread overwrote before they were processed.
        seconds: wall time of the run.
        stopped_by: why the loop ended.
        error: the source's error message when it failed.
        recent: the last 60 values of each timing (milliseconds): ``capture``, ``perception``, ``parsing``,
            ``effects``, ``sink``, ``frame`` (the interval between frames sent) and ``latency`` (from the start of
            reading the frame to the end of sending it).
        history: every frame's timings when the loop was built with ``record=True`` (for benchmarks), else None.
    """

    frames: int = 0
    faces: int = 0
    dropped: int = 0
    seconds: float = 0.0
    stopped_by: str = ""
    error: str = ""
    recent: dict[str, deque[float]] = field(default_factory=dict)
    history: Optional[list[dict[str, float]]] = None

    def add(self, timings: dict[str, float]) -> None:
        for key, value in timings.items():
            self.recent.setdefault(key, deque(maxlen=60)).append(value)
        if self.history is not None:
            self.history.append(timings)

    def median(self, key: str) -> float:
        values = self.recent.get(key)
        return float(np.median(values)) if values else 0.0

    @property
    def fps(self) -> float:
        """Frames per second over the last 60 frames' wall time."""
        values = self.recent.get("frame")
        return 1000.0 / float(np.mean(values)) if values else 0.0


@dataclass
class _Parsed:
    """A frame read and parsed, waiting to be rendered."""

    frame: Frame
    parse: FrameParse
    timings: dict[str, float]
    started: float


_END = object()


class _ParseAhead:
    """Reads and parses frames on a worker thread, handing them over through a one-slot queue.

    :meth:`get` returns the next parsed frame, None at the end of the input, and re-raises the worker's error
    (a source failure) in the caller's thread.
    """

    def __init__(self, produce: Callable[[], Optional[_Parsed]]) -> None:
        self._produce = produce
        self._slot: queue.Queue[object] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tryon-parse", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                item = self._produce()
                if item is None:
                    break
                self._put(item)
            self._put(_END)
        except BaseException as exc:  # re-raised in the consumer's thread
            self._put(exc)

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._slot.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def get(self) -> Optional[_Parsed]:
        while True:
            try:  # a timeout keeps Ctrl+C responsive while waiting
                item = self._slot.get(timeout=0.1)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._slot.empty():
                    return None
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, _Parsed)
        return item

    def close(self, timeout: float = 10.0) -> None:
        """Stops the worker after the frame it is on and waits for it."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the parse worker did not stop within %.0f s", timeout)


def parse_ahead(pipeline: Pipeline, frames: Iterable[Frame]) -> Iterator[tuple[Frame, FrameParse]]:
    """Yields ``(frame, parse)`` for each frame, parsing the next frame on a worker thread meanwhile.

    The frames are read and parsed in order, at most two ahead of the caller (one waiting, one being parsed), so
    rendering the current frame overlaps with perceiving the next. Stopping early (``break``) stops the worker.

    Example:
        >>> for frame, parse in parse_ahead(pipe, VideoSource("talk.mp4")):  # doctest: +SKIP
        ...     writer.write(pipe.render(frame.image, parse))
    """
    it = iter(frames)

    def produce() -> Optional[_Parsed]:
        frame = next(it, None)
        if frame is None:
            return None
        return _Parsed(frame, pipeline.parse(frame.image, timestamp=frame.timestamp), {}, 0.0)

    ahead = _ParseAhead(produce)
    try:
        while (item := ahead.get()) is not None:
            yield item.frame, item.parse
    finally:
        ahead.close()


class LiveLoop:
    """Runs a pipeline from a source to sinks.

    Args:
        pipeline: the pipeline (its look can be changed while the loop runs, from the hook or another thread).
        source: where frames come from.
        sinks: where processed frames go.
        realtime: drop stale frames and follow the source's clock; defaults to ``source.live``. A file source with
            ``realtime=True`` plays at its own frame rate.
        hook: optional per-frame callback (see :data:`FrameHook`), for overlays and key handling; it runs on the
            thread that called :meth:`run`.
        pipelined: parse the next frame on a worker thread while this one renders (see the module's docstring);
            False runs every stage in turn on the calling thread.
        record: keep every frame's timings in ``stats.history`` (benchmarks).

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
        pipelined: bool = True,
        record: bool = False,
    ) -> None:
        self.pipeline = pipeline
        self.source = source
        self.sinks = list(sinks)
        self.realtime = source.live if realtime is None else realtime
        self.hook = hook
        self.pipelined = pipelined
        self.stats = LoopStats(history=[] if record else None)
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
        ahead = None
        read: Callable[[], Optional[Frame]] = self.source.read
        try:
            if self.realtime:
                pace = 0.0 if self.source.live else (self.source.fps or 30.0)
                grabber = LatestFrameGrabber(self.source, pace=pace)
                read = grabber.get
            budget = [max_frames]

            def produce() -> Optional[_Parsed]:
                if self._stop or budget[0] == 0:
                    return None
                t0 = time.perf_counter()
                frame = read()
                if frame is None:
                    return None
                if budget[0] is not None:
                    budget[0] -= 1
                timings = {"capture": (time.perf_counter() - t0) * 1000.0}
                parse = self.pipeline.parse(frame.image, timings, timestamp=frame.timestamp)
                return _Parsed(frame, parse, timings, t0)

            if self.pipelined:
                ahead = _ParseAhead(produce)
                produce = ahead.get
            last = time.perf_counter()
            while not self._stop:
                item = produce()
                if item is None:
                    stats.stopped_by = "frame limit" if budget[0] == 0 else "end of input"
                    break
                timings = item.timings
                out = self.pipeline.render(item.frame.image, item.parse, timings)
                if self.hook is not None:
                    shown = self.hook(item.frame, out, timings)
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
                timings["latency"] = (now - item.started) * 1000.0
                last = now
                stats.add(timings)
                stats.frames += 1
                stats.faces += len(item.parse.faces)
            else:
                stats.stopped_by = "stopped"
        except KeyboardInterrupt:
            stats.stopped_by = "interrupted"
            raise
        except SourceError as exc:
            stats.stopped_by = "source failed"
            stats.error = str(exc)
            raise
        finally:
            self._stop = True
            if ahead is not None:
                ahead.close()
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
