from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from tests.live.helpers import RecordingBackend
from tryon.errors import SinkError
from tryon.sinks import open_sink
from tryon.sinks.simple import FolderSink
from tryon.sinks.virtualcam import VirtualCameraSink, install_hint

pytestmark = pytest.mark.usefixtures("virtual_cameras")

#: More frames than any test here sends: a sender that does not wait between frames is stopped there.
RUNAWAY = 1000


class SimulatedTime:
    """The virtual camera sender's clock and wait, moved on by the sender alone, so its pacing is exact.

    A wait takes no real time: it moves the clock on by the seconds asked, runs what falls due by then (the frames
    a test hands over, :meth:`at`), and tells the sender to stop once the clock reaches ``end``. A send takes no
    simulated time unless ``stalls`` says so (by the send's index). The first wait holds the sender until
    :meth:`start`, so that what falls due can use the sink.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.end = 0.99  # short of 1 s, so a tick at 1 s is out whichever way a sum of periods rounds
        self.stalls: dict[int, float] = {}
        self.ended = threading.Event()
        self._due: list[tuple[float, Callable[[], None]]] = []
        self._started = threading.Event()

    def at(self, t: float, action: Callable[[], None]) -> None:
        self._due = sorted([*self._due, (t, action)], key=lambda due: due[0])

    def start(self) -> None:
        self._started.set()

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self._started.wait(timeout=10)
        self.now += seconds
        while self._due and self._due[0][0] <= self.now:
            self._due.pop(0)[1]()
        if self.now >= self.end:
            self.ended.set()
            return True
        return False


@pytest.fixture
def simulated(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatedTime]:
    """Simulated time; the recording backend notes each frame's simulated send time, takes the stalls, and stops
    a runaway sender."""
    sim = SimulatedTime()

    def send(backend: RecordingBackend, frame: np.ndarray) -> None:
        if len(backend.frames) >= RUNAWAY:
            sim.ended.set()
            raise RuntimeError(f"{RUNAWAY} frames sent in {sim.now:.3f} s: the sender does not wait")
        backend.frames.append(frame.copy())
        backend.times.append(sim.now)
        sim.now += sim.stalls.get(len(backend.frames) - 1, 0.0)

    monkeypatch.setattr(RecordingBackend, "send", send)
    yield sim
    sim.start()  # a test that failed before starting it leaves no sender waiting


def _run(sim: SimulatedTime, sink: VirtualCameraSink) -> RecordingBackend:
    """Runs the sender until the simulated clock's end, closes the sink, and returns what the camera got."""
    sim.start()
    assert sim.ended.wait(timeout=10), "the sender never reached the end of the simulated time"
    sink.close()
    return RecordingBackend.instances[-1]


def test_virtual_camera_gets_bgr_frames_of_the_right_size_at_a_steady_rate(simulated):
    # Given a 30 fps camera, and processing hiccups: only 3 frames in a second, at 0.01, 0.34 and 0.67 s
    sink = VirtualCameraSink((320, 240), fps=30, backend="tryon-test", clock=simulated.clock, wait=simulated.wait)
    backend = RecordingBackend.instances[-1]
    assert (backend.width, backend.height, backend.fourcc) == (320, 240, "24BG")  # BGR
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, :, 2] = 200
    for t in (0.01, 0.34, 0.67):
        simulated.at(t, lambda: sink.write(frame))
    # When the sender runs for that second, and the sink is closed (twice: safe)
    _run(simulated, sink)
    sink.close()
    assert backend.closed == 1
    # Then the camera got a frame every 1/30 s all the same (0 to 29/30 s), all but the 3 new ones repeats
    sent = np.array(backend.frames)
    assert len(sent) == 30
    assert np.allclose(np.diff(backend.times), 1 / 30)
    assert sink.repeated == 27
    assert sent.shape[1:] == (240 * 320 * 3,)
    assert np.all(sent[-1].reshape(240, 320, 3)[:, :, 2] == 200)


def test_a_slow_send_delays_the_frames_after_it_without_a_burst_to_catch_up(simulated):
    # Given a 30 fps camera whose 6th send takes 0.2 s (six frames' time, at 5/30 s)
    simulated.stalls = {5: 0.2}
    sink = VirtualCameraSink((32, 24), fps=30, backend="tryon-test", clock=simulated.clock, wait=simulated.wait)
    # When the sender runs for a second
    backend = _run(simulated, sink)
    # Then the next frame goes as soon as the slow one is sent, and the rate resumes from there: no gap is
    # shorter than a frame's time (catching up on the six missed ones would send them back to back)
    gaps = np.diff(backend.times)
    assert gaps[5] == pytest.approx(0.2)
    assert np.all(gaps >= 1 / 30 - 1e-9), gaps
    assert len(backend.frames) == 25  # 6 sent by 5/30 s, then one each 1/30 s from 5/30 + 0.2 s to 29/30 s


def test_frames_of_another_size_are_resized_for_the_camera(simulated):
    sink = VirtualCameraSink((160, 120), fps=60, backend="tryon-test", clock=simulated.clock, wait=simulated.wait)
    simulated.at(0.01, lambda: sink.write(np.full((480, 640, 3), 77, np.uint8)))
    simulated.end = 0.04
    last = _run(simulated, sink).frames[-1]
    assert last.size == 160 * 120 * 3 and int(last[0]) == 77


def test_no_virtual_camera_explains_what_to_install():
    with pytest.raises(SinkError, match=r"no virtual camera available.*(v4l2loopback|OBS)"):
        VirtualCameraSink((320, 240), backend="tryon-missing")


@pytest.mark.parametrize(
    ("step", "error"),
    [("log", KeyboardInterrupt), ("thread", RuntimeError)],
    ids=["ctrl-c after the device opened", "sender thread cannot start"],
)
def test_a_failure_after_the_device_opened_closes_it(monkeypatch, step, error):
    import tryon.sinks.virtualcam as virtualcam

    # Given a step after pyvirtualcam opened the device that raises (Ctrl+C, or no thread for the sender)
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    if step == "log":
        monkeypatch.setattr(virtualcam.log, "info", fail)
    else:
        monkeypatch.setattr(threading.Thread, "start", fail)
    # When the sink is created, then the error comes through
    with pytest.raises(error) as caught:
        VirtualCameraSink((320, 240), backend="tryon-test")
    # And the device it opened is closed, once, though the half-built sink is still referenced (from the
    # traceback in `caught`), so pyvirtualcam's own __del__ has not closed it
    assert caught.traceback
    assert [backend.closed for backend in RecordingBackend.instances] == [1]


@pytest.mark.parametrize(("platform", "words"), [("linux", "exclusive_caps=1"), ("darwin", "OBS"), ("win32", "OBS")])
def test_install_hint_per_os(platform, words):
    assert words in install_hint(platform)


def test_unknown_backend_lists_valid_ones():
    with pytest.raises(SinkError, match="valid backends: auto,"):
        VirtualCameraSink((320, 240), backend="nope")


def test_unknown_sink_kind_lists_valid_ones():
    with pytest.raises(SinkError, match="valid kinds: window, virtualcam, video, folder, null"):
        open_sink("printer")


def test_folder_sink_writes_numbered_photos(tmp_path):
    with FolderSink(tmp_path / "shots") as sink:
        for i in range(3):
            sink.write(np.full((20, 30, 3), i, np.uint8))
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == [
        "frame_000000.png",
        "frame_000001.png",
        "frame_000002.png",
    ]


@pytest.mark.display
def test_window_sink_shows_the_processed_frame_on_screen(xvfb):
    from PIL import ImageGrab

    from tryon.sinks.window import WindowSink

    frame = np.zeros((200, 300, 3), np.uint8)
    frame[:, :150] = (0, 0, 255)  # red left half, blue right half (BGR)
    frame[:, 150:] = (255, 0, 0)
    sink = WindowSink("tryon-test", size=(300, 200))
    for _ in range(10):
        sink.write(frame)
        time.sleep(0.02)
    assert sink.is_open
    shot = np.array(ImageGrab.grab(xdisplay=xvfb))  # RGB
    red = np.all(shot == (255, 0, 0), axis=2).sum()
    blue = np.all(shot == (0, 0, 255), axis=2).sum()
    sink.close()
    # Both halves are on screen, in the same proportions as the frame (the window may scale it)
    assert red > 0.3 * 150 * 200 and blue > 0.3 * 150 * 200
    assert abs(red - blue) < 0.15 * max(red, blue)
