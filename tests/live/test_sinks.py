from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.live.helpers import RecordingBackend
from tryon.errors import SinkError
from tryon.sinks import open_sink
from tryon.sinks.simple import FolderSink
from tryon.sinks.virtualcam import VirtualCameraSink, install_hint

pytestmark = pytest.mark.usefixtures("virtual_cameras")


def test_virtual_camera_gets_bgr_frames_of_the_right_size_at_a_steady_rate():
    sink = VirtualCameraSink((320, 240), fps=30, backend="tryon-test")
    backend = RecordingBackend.instances[-1]
    assert (backend.width, backend.height, backend.fourcc) == (320, 240, "24BG")  # BGR
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, :, 2] = 200
    # Processing hiccups: only 3 frames in 1 s; the camera must still get ~30 frames, repeating the last one
    for _ in range(3):
        sink.write(frame)
        time.sleep(0.33)
    sink.close()
    sink.close()
    assert backend.closed == 1
    sent = np.array(backend.frames)
    assert 24 <= len(sent) <= 36
    assert sink.repeated >= len(sent) - 4
    assert sent.shape[1:] == (240 * 320 * 3,)
    assert np.all(sent[-1].reshape(240, 320, 3)[:, :, 2] == 200)
    gaps = np.diff(backend.times)
    assert np.median(gaps) == pytest.approx(1 / 30, rel=0.25)


def test_frames_of_another_size_are_resized_for_the_camera():
    sink = VirtualCameraSink((160, 120), fps=60, backend="tryon-test")
    sink.write(np.full((480, 640, 3), 77, np.uint8))
    time.sleep(0.1)
    sink.close()
    last = RecordingBackend.instances[-1].frames[-1]
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
