"""The live loop: source -> pipeline -> sinks, always on the newest frame, with clean shutdown.

Live sources (cameras, or files played at their own pace) are read on a capture thread into a one-frame slot,
so processing always takes the newest frame and stale ones are dropped; no queue can grow. Files processed as
fast as possible are read in order, every frame.

By default the loop is pipelined: frame N+1 is perceived and parsed while frame N is rendered and sent to the
sinks. Parsing and the effects are many small NumPy/OpenCV calls whose Python glue holds the global interpreter
lock, so two threads of one process doing them would mostly wait on each other. Where it can (POSIX, 2 CPUs or
more), the loop therefore perceives and parses in a child process (:mod:`tryon.parse_process`, frames handed over
in shared memory, at most two in flight) while the calling thread renders: on two cores a frame then costs about
the slower of the two (``glam`` at 720p: 11-12 ms a frame against 13-14 ms on threads). Otherwise (``split=
"thread"``) a worker thread reads and perceives frame N+1 (decoding and MediaPipe run in C++ without the lock)
while the calling thread parses and renders frame N, the hand-over a one-slot queue. Either way no queue can grow,
and rendering, the hook and the sinks stay on the calling thread (GUI toolkits want the main thread).

However the loop ends (end of input, a closed window, Ctrl+C, a camera unplugged, the parse process killed), the
worker and the parse process are stopped, the source is released and every sink is finalised, so a video being
written stays playable.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Literal, Optional, Protocol

import numpy as np

from tryon._runtime import RenderCore
from tryon.errors import InputError, SourceError
from tryon.parse_process import ParseProcess, ParseProcessError
from tryon.parsing.frame_parse import FrameParse
from tryon.pipeline import Perceived, Pipeline
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
        split: how the stages were spread: ``"process"``, ``"thread"`` or ``"none"`` (see :class:`LiveLoop`).
        child_peak_rss_mb: with ``split="process"``, the parse process's peak memory in MB (Linux), else None.
    """

    frames: int = 0
    faces: int = 0
    dropped: int = 0
    seconds: float = 0.0
    stopped_by: str = ""
    error: str = ""
    recent: dict[str, deque[float]] = field(default_factory=dict)
    history: Optional[list[dict[str, float]]] = None
    split: str = ""
    child_peak_rss_mb: Optional[float] = None

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
class _Perceived:
    """A frame read and perceived, waiting to be parsed and rendered."""

    frame: Frame
    perceived: Perceived
    timings: dict[str, float]
    started: float


_EMPTY = object()
_END = object()

#: Smoothing of the stage-time estimates that time the just-in-time read (exponential moving average weight).
_EMA = 0.1
#: The live loop moves threads started meanwhile off the render thread's CPU every this many frames.
_REFRESH_CORE = 30
#: Safety margin (ms) of the just-in-time read: the next frame is ready this much before the renderer asks.
_MARGIN_MS = 2.0
#: The same for a parse process, whose hand-overs vary more (measured on 2 cores, 720p ``glam``: 2 ms cost 0.6 ms
#: a frame against sending at once, 6 ms nothing measurable, for 3 ms more latency).
_PROCESS_MARGIN_MS = 6.0


class _PerceiveAhead:
    """Reads and perceives frames on a worker thread, handing each over through a one-frame slot.

    The worker reads the next frame only once the renderer has taken the previous one, so it is never more than
    one frame ahead. With ``just_in_time`` it also waits, before reading, for as long as rendering outlasts
    perception (both timed as they run), so the frame it hands over is the newest a camera could give: the
    rate is the same and a live frame reaches the screen after about perception + rendering, not twice that.

    :meth:`get` returns the next perceived frame, None at the end of the input, and re-raises the worker's error
    (a source failure) in the caller's thread.
    """

    def __init__(self, produce: Callable[[], Optional[_Perceived]], just_in_time: bool = False) -> None:
        self._produce = produce
        self._just_in_time = just_in_time
        self._cond = threading.Condition()
        self._slot: object = _EMPTY
        self._stop = threading.Event()
        self._perceive_ms = 0.0
        self._render_ms = 0.0
        self._handed: float | None = None
        self._thread = threading.Thread(target=self._run, name="tryon-perceive", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while self._wait_for_room():
                lead = self._render_ms - self._perceive_ms - _MARGIN_MS
                if self._just_in_time and lead > 0 and self._stop.wait(lead / 1000.0):
                    return
                t0 = time.perf_counter()
                item = self._produce()
                self._perceive_ms += _EMA * ((time.perf_counter() - t0) * 1000.0 - self._perceive_ms)
                self._offer(_END if item is None else item)
                if item is None:
                    return
        except BaseException as exc:  # re-raised in the consumer's thread
            self._offer(exc)

    def _wait_for_room(self) -> bool:
        """Waits until the slot is empty; False once stopped."""
        with self._cond:
            while self._slot is not _EMPTY and not self._stop.is_set():
                self._cond.wait(0.1)
        return not self._stop.is_set()

    def _offer(self, item: object) -> None:
        with self._cond:
            self._slot = item
            self._cond.notify_all()

    def get(self) -> Optional[_Perceived]:
        now = time.perf_counter()
        if self._handed is not None:  # the caller's own time since the last frame: rendering
            self._render_ms += _EMA * ((now - self._handed) * 1000.0 - self._render_ms)
        with self._cond:
            while self._slot is _EMPTY:
                if not self._thread.is_alive():
                    return None
                self._cond.wait(0.1)  # a timeout keeps Ctrl+C responsive while waiting
            item = self._slot
            if isinstance(item, _Perceived):
                self._slot = _EMPTY
                self._cond.notify_all()
        self._handed = time.perf_counter()
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, _Perceived)
        return item

    def close(self, timeout: float = 10.0) -> None:
        """Stops the worker after the frame it is on and waits for it."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the perception worker did not stop within %.0f s", timeout)


#: A frame read: the frame, its timings so far (``capture``) and when reading it started (``perf_counter``).
Read = tuple[Frame, dict[str, float], float]
#: A frame ready to render: the frame, its parse, its timings, and when reading it started.
Ready = tuple[Frame, FrameParse, dict[str, float], float]


class _Feed(Protocol):
    def next(self) -> Optional[Ready]: ...

    def close(self) -> None: ...


class _InTurn:
    """Every stage in turn on the calling thread."""

    def __init__(self, pipeline: Pipeline, read: Callable[[], Optional[Read]]) -> None:
        self._pipeline, self._read = pipeline, read

    def next(self) -> Optional[Ready]:
        got = self._read()
        if got is None:
            return None
        frame, timings, started = got
        parse = self._pipeline.parse(frame.image, timings, timestamp=frame.timestamp, cut=frame.cut)
        return frame, parse, timings, started

    def close(self) -> None:
        pass


class _ThreadAhead:
    """A worker thread reads and perceives the next frame; the calling thread parses (see the module's docstring)."""

    def __init__(self, pipeline: Pipeline, read: Callable[[], Optional[Read]], just_in_time: bool) -> None:
        self._pipeline = pipeline

        def produce() -> Optional[_Perceived]:
            got = read()
            if got is None:
                return None
            frame, timings, started = got
            perceived = pipeline.perceive(frame.image, timings, timestamp=frame.timestamp, cut=frame.cut)
            return _Perceived(frame, perceived, timings, started)

        self._ahead = _PerceiveAhead(produce, just_in_time=just_in_time)

    def next(self) -> Optional[Ready]:
        item = self._ahead.get()
        if item is None:
            return None
        parse = self._pipeline.parse_perceived(item.perceived, item.timings)
        return item.frame, parse, item.timings, item.started

    def close(self) -> None:
        self._ahead.close()


class _ProcessAhead:
    """A child process perceives and parses (see :mod:`tryon.parse_process`); a worker thread reads and submits.

    The worker reads a frame once there is room (at most two in flight: one being parsed, one waiting, so the
    child never idles while the calling thread renders) and hands it to the child with the look's current plan.
    The calling thread takes the parses back in order and renders. With ``just_in_time``, the worker waits before
    reading for as long as rendering outlasts parsing (both timed as they run), as :class:`_PerceiveAhead` does.
    """

    def __init__(
        self, pipeline: Pipeline, read: Callable[[], Optional[Read]], just_in_time: bool, remote: ParseProcess
    ) -> None:
        self._pipeline, self._read, self._just_in_time, self._remote = pipeline, read, just_in_time, remote
        self._pending: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._read_ms = 0.0
        self._parse_ms = 0.0
        self._render_ms = 0.0
        self._handed: float | None = None
        self._thread = threading.Thread(target=self._run, name="tryon-submit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while self._remote.wait_for_room(self._stop.is_set):
                # The frame sent now is rendered after the ones in flight: ``depth`` renders from now at the
                # soonest. Sent later than that less its own reading and parsing, it would wait, parsed, ageing.
                lead = self._remote.depth * self._render_ms - self._read_ms - self._parse_ms - _PROCESS_MARGIN_MS
                if self._just_in_time and lead > 0 and self._stop.wait(lead / 1000.0):
                    return
                t0 = time.perf_counter()
                got = self._read()
                if got is None:
                    self._pending.put(_END)
                    return
                frame, timings, started = got
                self._remote.submit(frame.image, self._pipeline.plan(), frame.timestamp, cut=frame.cut)
                self._read_ms += _EMA * ((time.perf_counter() - t0) * 1000.0 - self._read_ms)
                self._pending.put((frame, timings, started))
        except BaseException as exc:  # re-raised in the consumer's thread
            self._pending.put(exc)

    def next(self) -> Optional[Ready]:
        now = time.perf_counter()
        if self._handed is not None:
            self._render_ms += _EMA * ((now - self._handed) * 1000.0 - self._render_ms)
        while True:
            try:
                item = self._pending.get(timeout=0.1)  # a timeout keeps Ctrl+C responsive while waiting
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._pending.empty():
                    return None
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, tuple)
        frame, timings, started = item
        parse, child_timings = self._remote.result()
        spent = child_timings.get("perception", 0.0) + child_timings.get("parsing", 0.0)
        self._parse_ms += _EMA * (spent - self._parse_ms)
        timings.update(child_timings)
        self._handed = time.perf_counter()
        return frame, parse, timings, started

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10.0)
        if self._thread.is_alive():
            log.warning("the frame reader did not stop within 10 s")
        self._remote.close()

    @property
    def child_peak_rss_mb(self) -> float | None:
        """The parse process's peak memory (MB), once closed; None where it cannot be read."""
        return self._remote.last_peak_rss_mb


def _feed(split: str, pipeline: Pipeline, read: Callable[[], Optional[Read]], just_in_time: bool) -> tuple[_Feed, str]:
    """The feed for ``split`` (``"none"``, ``"thread"``, ``"process"`` or ``"auto"``), and the split it uses."""
    if split == "none":
        return _InTurn(pipeline, read), split
    # Auto: a process where rendering is there to overlap with parsing (a look) and a second CPU to do it on.
    if split == "process" or (split == "auto" and pipeline.look is not None and _process_pays()):
        try:
            remote = ParseProcess(pipeline.options)
        except ParseProcessError as exc:
            if split == "process":
                raise
            log.warning("%s; parsing on a thread instead", exc)
        else:
            return _ProcessAhead(pipeline, read, just_in_time, remote), "process"
    return _ThreadAhead(pipeline, read, just_in_time), "thread"


def _process_pays() -> bool:
    """Whether a parse process can run here and has a second CPU to run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS: no affinity
        cpus = os.cpu_count() or 1
    return ParseProcess.available() and cpus >= 2


def parse_ahead(pipeline: Pipeline, frames: Iterable[Frame]) -> Generator[tuple[Frame, FrameParse], None, None]:
    """Yields ``(frame, parse)`` for each frame, reading and perceiving the next frames on a worker meanwhile.

    The frames are read and perceived in order, at most two ahead of the caller (one waiting, one in MediaPipe),
    and parsed on the caller's thread (see the module's docstring), so rendering the current frame overlaps with
    decoding and perceiving the next. The worker stops at the end of the frames or when the generator is closed:
    to stop early, wrap it in :func:`contextlib.closing` (or let the generator go).

    Example:
        >>> with closing(parse_ahead(pipe, VideoSource("talk.mp4"))) as parsed:  # doctest: +SKIP
        ...     for frame, parse in parsed:
        ...         writer.write(pipe.render(frame.image, parse))
    """
    it = iter(frames)

    def read() -> Optional[Read]:
        frame = next(it, None)
        return None if frame is None else (frame, {}, time.perf_counter())

    feed, _ = _feed("thread", pipeline, read, just_in_time=False)
    try:
        while (item := feed.next()) is not None:
            yield item[0], item[1]
    finally:
        feed.close()


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
        pipelined: perceive (and parse) the next frame while this one is rendered, as ``split`` says (see the
            module's docstring); False runs every stage in turn on the calling thread.
        split: pipelined, where the next frame is perceived: ``"process"``, perceived and parsed in a child process
            (:mod:`tryon.parse_process`; 13-14 -> 11-12 ms a frame for ``glam`` at 720p on 2 cores, plus a
            second to start); ``"thread"``, perceived on a worker thread and parsed on the calling one;
            ``"auto"`` (the default), a process where one can run (POSIX, 2 CPUs or more) and the pipeline has a
            look, else a thread. A light look whose rendering costs less than perception is faster on a thread
            (``natural`` at 720p: 8.6 ms a frame against 11.6), since the child then does the most work.
        just_in_time: pipelined, read each frame as late as keeps the rate (lowest latency; see
            :class:`_PerceiveAhead`); defaults to ``realtime``. Off, files are read as early as possible.
        record: keep every frame's timings in ``stats.history`` (benchmarks).
        render_core: pipelined over threads, give the thread that renders a CPU of its own while the loop runs,
            the worker, MediaPipe and the decoder sharing the others (Linux, 2 CPUs or more; see
            :class:`tryon._runtime.RenderCore`, ``TRYON_RENDER_CORE=0`` turns it off everywhere). Faster when the
            loop has the machine to itself (2 cores: 16.3 -> 14.4 ms a frame for ``glam``), slower when another busy
            program shares it (22.9 -> 26.0 ms beside one busy process): ``tryon cam``, which runs beside a video
            call, turns it off.
        keep_input: leave each frame's image as the source gave it and render the look on a copy, for a hook that
            reads it (a before/after view). None asks the hook before each frame: its ``reads_input`` attribute
            when it has one, else True (a hook without it may read the frame). Otherwise frames of a source with
            :attr:`~tryon.sources.Source.fresh_frames` are rendered in place (a copy fewer: 0.3 ms at 720p).

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
        split: Literal["auto", "thread", "process"] = "auto",
        just_in_time: bool | None = None,
        record: bool = False,
        render_core: bool = True,
        keep_input: bool | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.source = source
        self.sinks = list(sinks)
        self.realtime = source.live if realtime is None else realtime
        self.hook = hook
        if split not in ("auto", "thread", "process"):
            raise InputError(f"split must be 'auto', 'thread' or 'process', got {split!r}")
        self.pipelined = pipelined
        self.split = split
        self.just_in_time = self.realtime if just_in_time is None else just_in_time
        self.render_core = render_core
        self.keep_input = keep_input
        self.stats = LoopStats(history=[] if record else None)
        self._stop = False
        self._cut = False

    def stop(self) -> None:
        """Asks the loop to stop after the current frame (safe from another thread)."""
        self._stop = True

    def reset(self) -> None:
        """Makes the pipeline start afresh from the next frame read (a scene cut the source does not mark).

        Safe from the hook or another thread: the next frame is marked as a cut (:attr:`Frame.cut
        <tryon.sources.Frame.cut>`), so the reset happens where that frame is perceived and parsed (a worker
        thread, the parse process) and in frame order: the frames already in flight finish with what they knew.
        Sources mark their own cuts (a looped video's wrap, a folder's next photo).
        """
        self._cut = True

    def _close_sinks(self) -> None:
        """Closes every sink, each whatever the others do: an error is logged, an interrupt raised after the rest."""

        def close(sink: Sink) -> None:
            try:
                sink.close()
            except Exception:
                log.exception("closing the %s sink failed", sink.kind)

        with ExitStack() as closing:
            for sink in reversed(self.sinks):  # callbacks run last pushed first: the sinks in their order
                closing.callback(close, sink)

    def run(self, max_frames: int | None = None) -> LoopStats:
        """Runs until the input ends, a sink or the hook stops it, :meth:`stop`, or ``max_frames``.

        The source and the sinks are closed on the way out, whatever happened; ``KeyboardInterrupt`` and source
        failures are re-raised after that.
        """
        stats = self.stats
        start = time.perf_counter()
        grabber = None
        feed: _Feed | None = None
        core = RenderCore()
        read: Callable[[], Optional[Frame]] = self.source.read
        try:
            if self.realtime:
                pace = 0.0 if self.source.live else (self.source.fps or 30.0)
                grabber = LatestFrameGrabber(self.source, pace=pace)
                read = grabber.get
            budget = [max_frames]

            def next_frame() -> tuple[Frame, dict[str, float], float] | None:
                if self._stop or budget[0] == 0:
                    return None
                t0 = time.perf_counter()
                cut, self._cut = self._cut, False  # taken before reading: a reset asked meanwhile marks the next
                frame = read()
                if frame is None:
                    return None
                if cut:
                    frame = replace(frame, cut=True)
                if budget[0] is not None:
                    budget[0] -= 1
                return frame, {"capture": (time.perf_counter() - t0) * 1000.0}, t0

            feed, stats.split = _feed(
                self.split if self.pipelined else "none", self.pipeline, next_frame, self.just_in_time
            )
            if stats.split == "thread" and self.render_core:
                core.__enter__()
            last = time.perf_counter()
            while not self._stop:
                if stats.frames % _REFRESH_CORE == 1:  # threads started since (a model's worker, a new graph's)
                    core.refresh()
                item = feed.next()
                if item is None:
                    stats.stopped_by = "frame limit" if budget[0] == 0 else "end of input"
                    break
                frame, parse, timings, started = item
                out = self.pipeline.render(frame.image, parse, timings, inplace=self._render_in_place())
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
                timings["latency"] = (now - started) * 1000.0
                last = now
                stats.add(timings)
                stats.frames += 1
                stats.faces += len(parse.faces)
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
            # Each step runs whatever the ones before it raised (a second Ctrl+C included), in this order: the CPUs
            # back; the sinks (the worker never touches them, and an interrupt must not cost the file); the worker;
            # the grabber; the source; then the tally. An ExitStack runs its callbacks last pushed first.
            with ExitStack() as closing:
                closing.callback(self._tally, start)
                closing.callback(self.source.close)
                if grabber is not None:
                    closing.callback(self._close_grabber, grabber)
                if feed is not None:
                    closing.callback(self._close_feed, feed)
                closing.callback(self._close_sinks)
                closing.callback(core.__exit__, None, None, None)
        return stats

    def _render_in_place(self) -> bool:
        """Whether this frame may be rendered into the source's array (see ``keep_input``)."""
        if not self.source.fresh_frames:
            return False
        if self.keep_input is not None:
            return not self.keep_input
        return self.hook is None or not getattr(self.hook, "reads_input", True)

    def _close_feed(self, feed: _Feed) -> None:
        feed.close()
        self.stats.child_peak_rss_mb = getattr(feed, "child_peak_rss_mb", None)

    def _close_grabber(self, grabber: LatestFrameGrabber) -> None:
        grabber.close()
        self.stats.dropped = grabber.dropped

    def _tally(self, start: float) -> None:
        stats = self.stats
        stats.seconds = time.perf_counter() - start
        log.info(
            "loop ended (%s): %d frames, %d dropped, %.1f s",
            stats.stopped_by,
            stats.frames,
            stats.dropped,
            stats.seconds,
        )
