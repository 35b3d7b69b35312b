"""``tryon cam`` and ``tryon demo`` as a user runs them: the command opens the source, the camera or the window,
runs until Ctrl+C, closes everything and prints a summary; a missing camera or device is a clear error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from tests.conftest import need_file, restore_ctrl_c
from tests.live.helpers import RecordingBackend
from tryon.cli.common import EXIT_OK
from tryon.cli.main import main
from tryon.image import read_image
from tryon.pipeline import Pipeline

PHOTO = "faces/deepface_img2.jpg"


@pytest.fixture(autouse=True)
def ctrl_c_raises() -> Iterator[None]:
    """Ctrl+C raises KeyboardInterrupt here, as in a terminal, even when pytest runs as a background job.

    A shell starts background jobs with SIGINT ignored: the command under test then never stopped, and its camera
    kept every frame until the machine ran out of memory.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_when(ready: Callable[[], bool], limit: float = 60.0) -> threading.Thread:
    """Sends this process Ctrl+C (SIGINT) once ``ready()`` holds, or after ``limit`` seconds."""

    def watch() -> None:
        end = time.monotonic() + limit
        while time.monotonic() < end and not ready():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_cam_sends_the_made_up_photo_to_the_virtual_camera_until_ctrl_c(shared_data, virtual_cameras, capsys):
    photo = need_file(shared_data / PHOTO)
    frame = read_image(photo)
    h, w = frame.shape[:2]

    def made_up_frames_sent() -> bool:
        # The camera sends black frames from the moment it opens (video-call apps want a steady stream): wait for
        # the loop's own frames.
        frames = RecordingBackend.instances[-1].frames if RecordingBackend.instances else []
        return sum(1 for f in frames[-10:] if f.any()) >= 10

    # When the virtual camera runs on a photo with a red lipstick, and Ctrl+C comes once it sends made-up frames
    watcher = interrupt_when(made_up_frames_sent)
    code = main(["cam", "--source", str(photo), "--backend", "tryon-test", "--look", "bold_red", "--fps", "30"])
    watcher.join()
    err = capsys.readouterr().err
    # Then it stopped cleanly (exit 0, the device closed once) and said what it did
    assert code == EXIT_OK, err
    assert "virtual camera test-cam (tryon-test) running" in err
    assert "frames processed" in err and "sent" in err
    assert "Traceback" not in err
    backend = RecordingBackend.instances[-1]
    assert backend.closed == 1
    assert (backend.width, backend.height, backend.fourcc) == (w, h, "24BG")
    # And what the camera got is the photo with the look, changed only around the face
    with Pipeline(mode="image") as pipe:
        box = pipe.parse(frame).faces[0].box
    last = backend.frames[-1].reshape(frame.shape)  # pyvirtualcam hands its backends flat BGR bytes
    changed = np.any(last != frame, axis=2)
    assert changed.sum() > 500
    outside = changed.copy()
    outside[box.grow(box.width // 2).clip(frame.shape).slices] = False
    assert not outside.any()


def test_cam_without_a_virtual_camera_explains_what_to_install(shared_data, virtual_cameras, capsys, monkeypatch):
    # Given a source whose closing is recorded
    import tryon.cli.live as live

    opened = []
    real_open = live.open_source

    def recording_open(*args, **kwargs):
        source = real_open(*args, **kwargs)
        opened.append(source)
        return source

    monkeypatch.setattr(live, "open_source", recording_open)
    # When no virtual camera device exists
    code = main(["cam", "--source", str(need_file(shared_data / PHOTO)), "--backend", "tryon-missing"])
    err = capsys.readouterr().err
    # Then the error says what to install, with no traceback, and the source was released
    assert code != EXIT_OK
    assert "no virtual camera" in err and ("v4l2loopback" in err or "OBS" in err)
    assert "Traceback" not in err
    assert len(opened) == 1 and opened[0].closed


def test_demo_runs_in_a_window_until_ctrl_c(shared_data, xvfb, tmp_path):
    from PIL import ImageGrab

    # A process of its own, as a user starts it: the window's GTK state stays out of this one
    photo = need_file(shared_data / PHOTO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tryon", "demo", "--source", str(photo), "--snapshots", str(tmp_path / "snaps")],
        env={**os.environ, "DISPLAY": xvfb},
        preexec_fn=restore_ctrl_c,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # When the window shows the photo (skin: red well above blue; an empty window is grey), Ctrl+C
        end = time.monotonic() + 60
        while time.monotonic() < end and proc.poll() is None:
            shot = np.asarray(ImageGrab.grab(xdisplay=xvfb)).astype(np.int16)  # RGB
            if (shot[:, :, 0] - shot[:, :, 2] > 30).mean() > 0.05:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Then it ended normally, saying how many frames it showed
    assert proc.returncode == EXIT_OK, err
    assert "fps (interrupted)" in err and "Traceback" not in err
    assert int(err.strip().splitlines()[-1].split()[0]) >= 1


def test_demo_without_a_camera_says_to_use_a_video_file(capsys):
    code = main(["demo", "--source", "57"])
    err = capsys.readouterr().err
    assert code != EXIT_OK
    assert "--source" in err and "Traceback" not in err
