from __future__ import annotations

import os
import threading
import time

import cv2
import numpy as np
import pytest

from tests.conftest import need_file, needs_two_cpus
from tests.live.helpers import Generated, KeepingSource, RecordingSink, Wrapped
from tryon.errors import SourceError
from tryon.live import LiveLoop
from tryon.looks import Look
from tryon.pipeline import Pipeline
from tryon.sinks.base import Sink
from tryon.sinks.simple import NullSink
from tryon.sinks.video import VideoFileSink
from tryon.sources import open_source, source_kind
from tryon.sources.base import Frame, Source
from tryon.sources.grabber import LatestFrameGrabber

LIPSTICK = {"effects": {"lipstick": {"color": "#9E1B32", "intensity": 1.0}}}


class FailingSource(Wrapped):
    """Delivers ``good`` frames of a real video, then fails like an unplugged camera."""

    def __init__(self, inner: Source, good: int) -> None:
        super().__init__(inner)
        self.good = good

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is None or frame.index >= self.good:
            raise SourceError("camera 0 stopped delivering frames (unplugged?)")
        return frame


class SlowSink(Sink):
    kind = "slow"

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def write(self, frame: np.ndarray) -> None:
        time.sleep(self.delay)
        self.frames += 1


def count_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_video_to_recording_sink_writes_every_processed_frame(shared_data, tmp_path):
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    out = tmp_path / "out.mp4"
    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
        stats = LiveLoop(pipe, src, [VideoFileSink(out, fps=src.fps)]).run(max_frames=20)
    assert stats.frames == 20
    assert stats.stopped_by == "frame limit"
    assert src.closed
    assert count_frames(out) == 20
    cap = cv2.VideoCapture(str(out))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (512, 512)


def test_end_of_input_stops_the_loop(shared_data):
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    with Pipeline(mode="video") as pipe:
        stats = LiveLoop(pipe, src, [NullSink()]).run()
    assert stats.stopped_by == "end of input"
    assert stats.frames == 78


def test_source_failing_mid_stream_shuts_down_cleanly_and_output_stays_playable(shared_data, tmp_path):
    inner = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    src = FailingSource(inner, good=12)
    out = tmp_path / "cut.mp4"
    sink = VideoFileSink(out, fps=25)
    loop = LiveLoop(Pipeline(look=Look.from_dict(LIPSTICK), mode="video"), src, [sink])
    with pytest.raises(SourceError, match="unplugged"):
        loop.run()
    loop.pipeline.close()
    assert loop.stats.stopped_by == "source failed"
    assert src.closed and inner.closed and sink.closed
    assert count_frames(out) == 12


def test_realtime_loop_drops_stale_frames_instead_of_queueing(shared_data):
    # Given a file played at its own pace (25 fps) and a sink far slower than that
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    with Pipeline(mode="video") as pipe:
        stats = LiveLoop(pipe, src, [SlowSink(0.12)], realtime=True).run()
    # Then frames were dropped (the loop always took the newest) and nothing piled up
    assert stats.dropped > 20
    assert stats.frames + stats.dropped <= 78


def test_grabber_holds_at_most_one_frame_however_slow_the_consumer():
    src = Generated((Frame(np.full((48, 64, 3), i % 255, np.uint8), i, float(i)) for i in range(1, 5001)), (64, 48))
    with LatestFrameGrabber(src) as grab:
        taken = []
        while (frame := grab.get()) is not None:
            taken.append(frame.index)
            time.sleep(0.002)
    assert grab.captured == 5000
    assert grab.dropped == grab.captured - len(taken)  # every frame was either taken or replaced: one slot only
    assert taken == sorted(taken)
    assert taken[-1] == 5000  # the newest frame is always delivered


def test_stop_from_another_thread(shared_data):
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"), loop=True)
    with Pipeline(mode="video") as pipe:
        loop = LiveLoop(pipe, src, [NullSink()])
        timer = threading.Timer(1.0, loop.stop)
        timer.start()
        stats = loop.run()
    assert stats.stopped_by == "stopped"
    assert src.closed


@pytest.mark.parametrize(
    ("spec", "kind"),
    [(0, "webcam"), ("2", "webcam"), ("/dev/video4", "webcam"), ("a.mp4", "video"), ("a.JPG", "photo")],
)
def test_source_kind_is_guessed_from_the_spec(spec, kind):
    assert source_kind(spec) == kind


def test_unknown_source_kind_lists_the_valid_ones():
    with pytest.raises(SourceError, match="valid kinds: auto, webcam, video, photo, folder"):
        open_source("x", kind="ftp")


def test_missing_camera_says_what_to_do_instead():
    with pytest.raises(SourceError, match=r"--source clip\.mp4"):
        open_source(57)


def test_pipelined_loop_renders_the_same_frames_as_the_sequential_one(shared_data):
    # Given the same clip run with parsing on a worker thread and with every stage in turn
    outputs = {}
    for pipelined in (True, False):
        src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
        sink = RecordingSink()
        with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
            stats = LiveLoop(pipe, src, [sink], pipelined=pipelined).run(max_frames=15)
        assert stats.frames == 15
        outputs[pipelined] = sink.images
    # Then every frame came out in order and identical: the worker parses frame N+1 only, never reorders
    assert len(outputs[True]) == len(outputs[False]) == 15
    for a, b in zip(outputs[True], outputs[False]):
        np.testing.assert_array_equal(a, b)
    # And the lipstick was applied (the frames differ from the source)
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    first = src.read()
    src.close()
    assert first is not None and np.any(outputs[True][0] != first.image)


def test_sources_that_say_their_frames_are_fresh_never_hand_out_an_array_twice(shared_data, tmp_path):
    from tryon.sources.photos import FolderSource, PhotoSource
    from tryon.sources.video import VideoSource
    from tryon.sources.webcam import WebcamSource

    assert VideoSource.fresh_frames and FolderSource.fresh_frames and WebcamSource.fresh_frames
    assert not PhotoSource.fresh_frames  # hands out its one array again
    # A looped video, past its end: each frame its own array, and writing into one (an in-place render) leaves
    # every other as decoded
    video = need_file(shared_data / "videos" / "driving_d0.mp4")
    with VideoSource(video, loop=True) as src:
        frames = [src.read() for _ in range(85)]  # 78 frames, then the start again
    images = [f.image for f in frames if f is not None]
    assert len(images) == 85
    first = images[0].copy()
    for i, image in enumerate(images):
        if i not in (0, 78):
            image[:] = 0
    np.testing.assert_array_equal(images[0], first)
    np.testing.assert_array_equal(images[78], first)  # the same picture, decoded again
    # A folder read over again: each read decodes anew
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), np.full((64, 64, 3), 200 if name == "a.png" else 90, np.uint8))
    with FolderSource(tmp_path, repeat=True) as folder:
        read = [folder.read() for _ in range(4)]
    assert all(f is not None for f in read)
    read[0].image[:] = 0  # type: ignore[union-attr]
    assert read[2].image.min() == 200  # type: ignore[union-attr]


def test_loop_renders_fresh_frames_in_place_and_keeps_them_for_a_hook(shared_data):
    video = need_file(shared_data / "videos" / "driving_d0.mp4")
    runs = {}
    seen = []

    def hook(frame: Frame, out: np.ndarray, timings: dict) -> np.ndarray:
        seen.append((frame.image, out))
        return out

    for with_hook in (False, True):
        src = KeepingSource(open_source(video))
        sink = RecordingSink(copies=False)
        with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
            LiveLoop(pipe, src, [sink], hook=hook if with_hook else None).run(max_frames=6)
        runs[with_hook] = (src.given, sink.images)
    # Without a hook, each fresh frame is rendered into its own array: no copy
    given, images = runs[False]
    assert len(images) == 6
    assert all(out is frame.image for (frame, _), out in zip(given, images))
    assert any(np.any(out != before) for (_, before), out in zip(given, images))
    # With a hook (which may show a before/after view), the frame the hook gets is as read, the look on a copy
    given, images = runs[True]
    assert len(seen) == 6
    for (frame, before), (image, out) in zip(given, seen):
        assert image is frame.image and out is not frame.image
        np.testing.assert_array_equal(frame.image, before)
    # And both ways render the same pixels
    for a, b in zip(runs[False][1], runs[True][1]):
        np.testing.assert_array_equal(a, b)


def test_a_repeated_photo_is_never_rendered_in_place(shared_data):
    from tryon.sources.photos import PhotoSource

    src = PhotoSource(need_file(shared_data / "faces" / "deepface_img2.jpg"), repeat=True)
    original = src._image.copy()
    sink = RecordingSink()
    with Pipeline(look=Look.from_dict(LIPSTICK), mode="image") as pipe:  # each frame parsed alone: same output
        LiveLoop(pipe, src, [sink], pipelined=False).run(max_frames=3)
    # The source hands out one array again and again: the look lands on a copy each time, never twice
    assert not PhotoSource.fresh_frames
    assert np.any(sink.images[0] != original)
    np.testing.assert_array_equal(sink.images[0], sink.images[2])
    np.testing.assert_array_equal(src._image, original)


def test_pipelined_loop_parses_at_most_one_frame_ahead_of_a_slow_sink(shared_data):
    class CountingSource(Wrapped):
        reads = 0

        def read(self) -> Frame | None:
            self.reads += 1
            return self.inner.read()

    src = CountingSource(open_source(need_file(shared_data / "videos" / "driving_d0.mp4")))
    ahead = []

    def hook(frame: Frame, out: np.ndarray, timings: dict) -> np.ndarray:
        time.sleep(0.03)  # a slow sink: the worker must wait, not read on
        ahead.append(src.reads - frame.index - 1)
        return out

    with Pipeline(mode="video") as pipe:
        stats = LiveLoop(pipe, src, [NullSink()], hook=hook).run(max_frames=25)
    assert stats.frames == 25
    # One frame in the hand-over slot and one being parsed, at most: nothing queues up
    assert max(ahead) <= 2
    assert src.reads <= 27
    assert {"capture", "perception", "parsing", "effects", "frame", "latency"} <= set(stats.recent)


@needs_two_cpus
def test_pipelined_loop_renders_on_a_cpu_of_its_own_and_gives_it_back(shared_data, monkeypatch):
    monkeypatch.delenv("TRYON_RENDER_CORE", raising=False)
    allowed = set(os.sched_getaffinity(0))
    seen: list[tuple[set[int], set[int]]] = []

    def hook(frame, out, timings):
        workers = [t.native_id for t in threading.enumerate() if t.name == "tryon-perceive" and t.is_alive()]
        try:
            worker = set(os.sched_getaffinity(workers[0])) if workers else None
        except OSError:  # it ended meanwhile (the input's last frame was read)
            worker = None
        seen.append((set(os.sched_getaffinity(0)), worker))
        return out

    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
        LiveLoop(pipe, src, [NullSink()], hook=hook, split="thread").run(max_frames=5)
        assert all(len(own) == 1 for own, _ in seen)  # the renderer alone on its CPU ...
        assert any(worker is not None for _, worker in seen)
        assert all(worker == allowed - own for own, worker in seen if worker is not None)  # ... the worker elsewhere
        assert set(os.sched_getaffinity(0)) == allowed  # given back when the loop ends
        seen.clear()
        LiveLoop(
            pipe,
            open_source(shared_data / "videos" / "driving_d0.mp4"),
            [NullSink()],
            hook=hook,
            render_core=False,
            split="thread",
        ).run(max_frames=3)
        assert all(own == allowed for own, _ in seen)


@needs_two_cpus
def test_a_loop_that_fails_gives_the_cpus_back(shared_data, monkeypatch):
    monkeypatch.delenv("TRYON_RENDER_CORE", raising=False)
    allowed, threads = set(os.sched_getaffinity(0)), cv2.getNumThreads()
    pinned: list[int] = []

    def hook(frame, out, timings):
        pinned.append(len(os.sched_getaffinity(0)))
        raise RuntimeError("the app failed")

    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe, pytest.raises(RuntimeError, match="app"):
        LiveLoop(pipe, src, [NullSink()], hook=hook, split="thread").run(max_frames=5)
    assert pinned == [1]
    assert set(os.sched_getaffinity(0)) == allowed and cv2.getNumThreads() == threads


class InterruptedCloseSink(NullSink):
    """A sink whose closing is cut by a second Ctrl+C."""

    def close(self) -> None:
        super().close()
        raise KeyboardInterrupt


def test_a_second_interrupt_while_closing_still_closes_everything_else(shared_data):
    # Given a loop stopped by Ctrl+C, whose first sink's closing is cut by a second Ctrl+C
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    first, second = InterruptedCloseSink(), NullSink()

    def hook(frame, out, timings):
        raise KeyboardInterrupt

    loop = LiveLoop(Pipeline(look=Look.from_dict(LIPSTICK), mode="video"), src, [first, second], hook=hook)
    # When it runs, the interrupt comes through
    with pytest.raises(KeyboardInterrupt):
        loop.run(max_frames=5)
    # Then the other sink, the source and the loop's tally were still seen to
    assert first.closed and second.closed
    assert src.closed
    assert loop.stats.stopped_by == "interrupted" and loop.stats.seconds > 0
