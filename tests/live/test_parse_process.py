"""The parse process: perception and parsing in a child process, as the live loop runs them by default."""

from __future__ import annotations

import os
import pickle
import signal
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import need_file, needs_two_cpus
from tests.live.helpers import RecordingSink
from tests.live.test_loop import LIPSTICK, FailingSource, count_frames
from tryon import parse_process
from tryon.errors import InputError, ModelError, SourceError
from tryon.live import LiveLoop
from tryon.looks import Look
from tryon.parse_process import ParseProcess, ParseProcessError, _portable, _value
from tryon.pipeline import ParsePlan, Pipeline, PipelineOptions
from tryon.sinks.video import VideoFileSink
from tryon.sources import open_source
from tryon.sources.base import Frame

pytestmark = pytest.mark.skipif(not ParseProcess.available(), reason="a parse process needs a POSIX system")

HAIR = {"effects": {"hair_color": {"color": "#8E3B1F", "intensity": 0.8}}}


@pytest.fixture
def made_segments(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the shared-memory segments the parse process makes during the test (others' are not counted)."""
    names: list[str] = []

    class Recorded(SharedMemory):
        def __init__(self, name: str | None = None, create: bool = False, size: int = 0) -> None:
            super().__init__(name, create, size)
            if create:
                names.append(self.name)

    monkeypatch.setattr(parse_process, "SharedMemory", Recorded)
    return names


def left_over(names: list[str]) -> list[str]:
    """Those of ``names`` still on the machine (Linux lists POSIX shared memory in /dev/shm)."""
    return [name for name in names if Path("/dev/shm", name.lstrip("/")).exists()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_child_parses_as_the_pipeline_does_in_process(shared_data):
    # Given the first frames of a talking-head video, parsed in this process and in a parse process
    video = need_file(shared_data / "videos" / "driving_d0.mp4")
    with open_source(video) as src:
        frames = [f for f, _ in zip(src, range(6))]
    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
        here = [pipe.parse(f.image, timestamp=f.timestamp) for f in frames]
        plan = pipe.plan()
    with ParseProcess(PipelineOptions(mode="video")) as remote:
        there = []
        for f in frames:
            remote.submit(f.image, plan, f.timestamp)
            got = remote.result()
            assert got is not None
            parse, timings = got
            there.append(parse)
            assert timings["perception"] > 0 and timings["parsing"] > 0
    # Then the child found the same faces with the same ids, the same landmarks (stabilised over the same frames)
    # and the same masks, pixel for pixel
    for a, b in zip(here, there):
        assert [f.id for f in a.faces] == [f.id for f in b.faces] == [0]
        np.testing.assert_allclose(a.faces[0].landmarks, b.faces[0].landmarks, atol=1e-4)
        np.testing.assert_array_equal(a.mask("upper_lip"), b.mask("upper_lip"))
        np.testing.assert_array_equal(a.labels(), b.labels())


def test_frames_of_another_size_and_layout_are_taken_and_the_plan_is_followed(shared_data, made_segments):
    face = cv2.imread(str(need_file(shared_data / "faces" / "deepface_img2.jpg")))
    small = cv2.resize(face, (face.shape[1] // 2, face.shape[0] // 2))
    rgba16 = (cv2.cvtColor(face, cv2.COLOR_BGR2BGRA).astype(np.uint16) * 257)[..., [2, 1, 0, 3]]  # RGBA, 16-bit
    with Pipeline(look=Look.from_dict(HAIR), mode="image") as pipe:
        hair_plan = pipe.plan()
        pipe.set_look(Look.from_dict(LIPSTICK))
        face_plan = pipe.plan()
    assert hair_plan.person and hair_plan.body and not face_plan.body
    with ParseProcess(PipelineOptions(mode="image")) as remote:
        # Frames in flight of several sizes: the shared memory grows, the frames already sent are kept
        remote.submit(small, face_plan)
        remote.submit(face, hair_plan)
        assert remote.in_flight == 2
        parses = []
        for _ in range(2):
            got = remote.result()
            assert got is not None
            parses.append(got[0])
        remote.submit(small, hair_plan)
        got = remote.result()
        assert got is not None
        parses.append(got[0])
        remote.submit(np.ascontiguousarray(cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)), face_plan)
        got = remote.result()
        assert got is not None
        parses.append(got[0])
    # Then each parse is of its own frame, with the body classes only where the plan asked for them
    assert [p.shape for p in parses] == [small.shape[:2], face.shape[:2], small.shape[:2], face.shape[:2]]
    assert all(len(p.faces) == 1 for p in parses)
    assert "hair" not in parses[0].masks and parses[1].mask("hair").max() > 200 and "hair" in parses[2].masks
    # And the shared memory went with the child (two segments: the second frame did not fit the first)
    assert len(made_segments) == 2 and not left_over(made_segments)
    # A 16-bit RGBA frame is converted at the edge, as Pipeline.parse converts it
    with ParseProcess(PipelineOptions(mode="image")) as remote:
        remote.submit(rgba16, face_plan)
        got = remote.result()
    assert got is not None and len(got[0].faces) == 1


def test_a_child_that_cannot_start_says_why(tmp_path):
    # A parser that is not installed: the child's own error comes back, as the pipeline would raise it here
    with pytest.raises((ModelError, InputError), match="no-such-model"):
        ParseProcess(PipelineOptions(parsing="no-such-model"))
    with pytest.raises(ValueError, match="depth"):
        ParseProcess(PipelineOptions(), depth=0)


def test_result_without_a_frame_and_use_after_close_are_errors():
    remote = ParseProcess(PipelineOptions(mode="image"))
    pid = remote.pid
    with pytest.raises(ParseProcessError, match="no frame"):
        remote.result()
    remote.close()
    remote.close()  # twice is fine
    assert not alive(pid)
    with pytest.raises(ParseProcessError, match="closed"):
        remote.submit(np.zeros((64, 64, 3), np.uint8), ParsePlan(person=False, body=False))


def test_frames_that_cannot_be_converted_are_refused_and_hold_no_room(shared_data):
    face = cv2.imread(str(need_file(shared_data / "faces" / "deepface_img2.jpg")))
    plan = ParsePlan(person=False, body=False)
    with ParseProcess(PipelineOptions(mode="image"), depth=2) as remote:
        for bad in (np.zeros((1, 1, 3), np.uint8), np.zeros((64, 64, 7), np.uint8), np.full((64, 64), np.nan)):
            with pytest.raises(InputError):
                remote.submit(bad, plan)
        # The room is all still there: two frames go in without waiting, and come back
        remote.submit(face, plan)
        remote.submit(face, plan)
        assert remote.in_flight == 2
        for _ in range(2):
            got = remote.result()
            assert got is not None and len(got[0].faces) == 1


def test_errors_that_do_not_pickle_still_come_back_with_their_message():
    class LocalError(Exception):  # a class defined in a function cannot be pickled by reference
        pass

    try:
        raise InputError("frame must be 3 channels")
    except InputError as exc:
        kept = _portable(exc)
    assert isinstance(kept, InputError)
    assert kept.__traceback__ is None  # its frames would keep views of the shared memory
    replaced = _portable(LocalError("the model's output had the wrong shape"))
    assert isinstance(replaced, ParseProcessError) and "LocalError: the model's output had the wrong shape" in str(
        replaced
    )
    with pytest.raises(InputError, match="3 channels"):
        _value(pickle.loads(pickle.dumps(("error", 4, kept))))
    assert _value(("ok", 4, "parse")) == "parse"


@needs_two_cpus
def test_loop_with_a_parse_process_renders_the_same_frames_as_in_turn(shared_data):
    outputs, splits = {}, {}
    for pipelined in (True, False):
        src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
        sink = RecordingSink()
        with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
            loop = LiveLoop(pipe, src, [sink], pipelined=pipelined, split="process")
            stats = loop.run(max_frames=12)
        assert stats.frames == 12
        outputs[pipelined], splits[pipelined] = sink.images, stats.split
    assert splits == {True: "process", False: "none"}
    for a, b in zip(outputs[True], outputs[False]):
        np.testing.assert_array_equal(a, b)
    assert {"capture", "perception", "parsing", "effects", "frame", "latency"} <= set(loop.stats.recent)


@needs_two_cpus
def test_a_look_switched_mid_stream_reaches_the_child(shared_data):
    # Given a loop that starts with lipstick and switches to hair colour at the 4th frame
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    changed: list[int] = []

    def hook(frame: Frame, out: np.ndarray, timings: dict) -> np.ndarray:
        if frame.index == 3:
            pipe.set_look(Look.from_dict(HAIR))
        changed.append(int(np.count_nonzero(np.any(out != frame.image, axis=2))))
        return out

    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
        stats = LiveLoop(pipe, src, [RecordingSink()], hook=hook, split="process").run(max_frames=12)
    assert stats.split == "process" and stats.frames == 12
    # Then the lips alone changed before; the frames read after the switch (two were in flight) got the body
    # classes the hair colour needs, and their hair changed: many times the lips' pixels
    lips = max(changed[:4])
    assert 0 < lips < 6000
    assert min(changed[6:]) > 5 * lips
    # And those in flight at the switch (up to two), parsed without the body classes, were drawn with the lipstick:
    # never a frame with neither look (they came out unchanged before)
    assert all(0 < n <= lips * 1.5 or n > 5 * lips for n in changed[4:6]), changed


@needs_two_cpus
def test_a_child_killed_mid_stream_stops_the_loop_cleanly_and_the_output_stays_playable(
    shared_data, tmp_path, made_segments
):
    # Given a loop writing a video, whose parse process is killed at the 8th frame
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    out = tmp_path / "cut.mp4"
    sink = VideoFileSink(out, fps=25)
    children: list[int] = []

    def hook(frame: Frame, image: np.ndarray, timings: dict) -> np.ndarray:
        if frame.index == 7:
            pid = next(p for p in _children())
            children.append(pid)
            os.kill(pid, signal.SIGKILL)
        return image

    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
        loop = LiveLoop(pipe, src, [sink], hook=hook, split="process")
        # When it runs, the loop stops with a clear error ...
        with pytest.raises(ParseProcessError, match=r"parse process was killed by signal 9 \(SIGKILL\) while parsing"):
            loop.run()
    # ... the source was released, the video finalised with the frames rendered before, and nothing is left over
    assert src.closed and sink.closed
    written = count_frames(out)
    assert 8 <= written <= 10, written
    assert children and not alive(children[0])
    assert made_segments and not left_over(made_segments)


@needs_two_cpus
def test_source_failing_mid_stream_with_a_parse_process(shared_data, tmp_path):
    inner = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    src = FailingSource(inner, good=9)
    out = tmp_path / "cut.mp4"
    sink = VideoFileSink(out, fps=25)
    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
        loop = LiveLoop(pipe, src, [sink], split="process")
        with pytest.raises(SourceError, match="unplugged"):
            loop.run()
    assert loop.stats.stopped_by == "source failed" and loop.stats.split == "process"
    assert src.closed and inner.closed and sink.closed
    assert count_frames(out) == 9
    assert not list(_children())


@needs_two_cpus
def test_ctrl_c_leaves_no_child_behind(shared_data):
    src = open_source(need_file(shared_data / "videos" / "driving_d0.mp4"))
    seen: list[int] = []

    def hook(frame: Frame, out: np.ndarray, timings: dict) -> np.ndarray:
        seen.extend(_children())
        raise KeyboardInterrupt

    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
        loop = LiveLoop(pipe, src, [RecordingSink()], hook=hook, split="process")
        with pytest.raises(KeyboardInterrupt):
            loop.run()
    assert loop.stats.stopped_by == "interrupted"
    assert seen and not any(alive(pid) for pid in seen)


def _children() -> list[int]:
    """This process's live child processes that are parse processes (Linux: read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        state = stat.rsplit(")", 1)[1].split()[0]
        if ppid == os.getpid() and state != "Z" and b"tryon.parse_process" in cmdline:
            found.append(int(entry.name))
    return found


@needs_two_cpus
def test_auto_split_uses_a_process_for_a_look_and_a_thread_for_parsing_alone(shared_data):
    video = need_file(shared_data / "videos" / "driving_d0.mp4")
    splits = {}
    for look in (Look.from_dict(LIPSTICK), None):
        with Pipeline(look=look, mode="video") as pipe:
            stats = LiveLoop(pipe, open_source(video), [RecordingSink()]).run(max_frames=3)
        splits[look is None] = stats.split
    # Without a look there is no rendering for parsing to overlap with
    assert splits == {False: "process", True: "thread"}


def test_verbose_bench_with_a_parse_process_logs_the_auto_parsers_choice_once_and_only_tryons_messages(
    shared_data, capfd
):
    import json

    from tryon.cli.main import main

    clip = need_file(shared_data / "videos" / "driving_d0.mp4")
    # When the bench runs -v with the auto parser, parsing in a child process that builds its own pipeline
    argv = ["bench", "--source", str(clip), "--parser", "auto", "--frames", "5", "-v", "--split", "process", "--json"]
    code = main(argv)
    out, err = capfd.readouterr()
    assert code == 0, err
    assert json.loads(out)["split"] == "process"
    # Then the parser's choice is logged once, not again by the child, and the child still logs tryon's messages
    choices = [line for line in err.splitlines() if "parser auto: using" in line]
    assert len(choices) == 1, err
    assert "tryon parse process: " in err
    # And the child logs tryon's messages at the caller's level, as the caller does, not every library's
    assert "matplotlib" not in err, err


@pytest.fixture
def lipstick_remote(shared_data):
    """A parse process for a lipstick look, a face photo and the look's plan (closed after the test)."""
    frame = cv2.imread(str(need_file(shared_data / "faces" / "deepface_img12.jpg")))
    with Pipeline(look=Look.from_dict(LIPSTICK), mode="video") as pipe:
        plan = pipe.plan()
    remote = ParseProcess(PipelineOptions(mode="video"))
    yield remote, frame, plan
    remote.close()


class _CutShort:
    """A connection whose next ``recv`` stops part-way through a message, as Ctrl+C can stop it, then reads on."""

    def __init__(self, conn, after: int, exc: BaseException) -> None:
        self.conn, self.after, self.exc, self.cut = conn, after, exc, False

    def recv(self):
        if self.cut:  # the old code read on (and hung waiting for bytes): fail instead
            raise AssertionError("read after a message was cut short")
        self.cut = True
        self.conn._recv(4)  # the message's length, then some of the message itself
        self.conn._recv(self.after)
        raise self.exc

    def __getattr__(self, name: str):
        return getattr(self.conn, name)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), MemoryError()])
def test_a_result_cut_short_mid_message_is_closed_cleanly(lipstick_remote, exc):
    # Given a parse process with two frames in flight, whose first result is interrupted part-way through its bytes
    remote, frame, plan = lipstick_remote
    pid = remote.pid
    remote.submit(frame, plan)
    remote.submit(frame, plan)
    remote._results = _CutShort(remote._results, 64, exc)
    with pytest.raises(type(exc)):
        remote.result()
    # Then the connection is no longer read as messages: further results are refused, and closing it ends the child
    # without reading the rest of the cut message as the next one's length (an OverflowError, or a wait on bytes
    # that never come)
    with pytest.raises(ParseProcessError, match="interrupted"):
        remote.result()
    remote.close()
    assert not alive(pid)


class _SentShort:
    """A connection whose next ``send`` writes part of its message, then is interrupted."""

    def __init__(self, conn) -> None:
        self.conn, self.cut = conn, False

    def send_bytes(self, data: bytes) -> None:
        if self.cut:
            raise AssertionError("sent after a message was cut short")
        self.cut = True
        self.conn._send(len(data).to_bytes(4, "big") + data[: len(data) // 2])
        raise KeyboardInterrupt

    def send(self, obj) -> None:
        self.send_bytes(pickle.dumps(obj))

    def __getattr__(self, name: str):
        return getattr(self.conn, name)


def test_a_frame_cut_short_mid_message_is_closed_cleanly(lipstick_remote, capfd):
    # Given a parse process whose next frame is interrupted part-way through sending it
    remote, frame, plan = lipstick_remote
    pid = remote.pid
    remote._frames = _SentShort(remote._frames)
    with pytest.raises(KeyboardInterrupt):
        remote.submit(frame, plan)
    # Then nothing more is sent on it, closing it ends the child at once (no goodbye it would misread), and the
    # child printed no traceback
    with pytest.raises(ParseProcessError, match="interrupted"):
        remote.submit(frame, plan)
    remote.close()
    assert not alive(pid)
    assert "Traceback" not in capfd.readouterr().err


def test_ctrl_c_while_closing_still_kills_and_reaps_the_child(lipstick_remote, monkeypatch):
    # Given a parse process with a frame in flight, and Ctrl+C arriving while it is being closed
    remote, frame, plan = lipstick_remote
    remote.submit(frame, plan)

    def interrupted(*args) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(remote, "_drain", interrupted)
    with pytest.raises(KeyboardInterrupt):
        remote.close()
    # Then the child was killed and reaped (not left running, nor a zombie), and a second close does nothing
    assert remote._proc.returncode is not None
    remote.close()
