"""``tryon cam`` and ``tryon demo`` as a user runs them: the command opens the source, the camera or the window,
runs until Ctrl+C, closes everything and prints a summary; a missing camera or device is a clear error."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest

from tests.conftest import need_file, restore_ctrl_c, small_filesystem
from tests.live.helpers import RecordingBackend
from tryon.cli.common import EXIT_INTERRUPTED, EXIT_OK
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
    """Sends this process Ctrl+C (SIGINT) once ``ready()`` holds, or after ``limit`` seconds (or if it raises)."""

    def watch() -> None:
        end = time.monotonic() + limit
        try:
            while time.monotonic() < end and not ready():
                time.sleep(0.05)
        finally:  # a test whose check failed must still stop the command it runs
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
    # Then it stopped cleanly (the device closed once) and said what it did, as interrupted (exit 130)
    assert code == EXIT_INTERRUPTED, err
    assert "virtual camera test-cam (tryon-test) running" in err
    assert re.search(r"^tryon: interrupted: \d+ frames processed, \d+ sent \(\d+ repeats", err, re.M), err
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


def test_cam_on_a_folder_shows_each_photo_for_a_while(shared_data, virtual_cameras, capsys, monkeypatch, tmp_path):
    import tryon.cli.live as live

    # Given a folder of two photos of different sizes, shown a third of a second each
    photos = []
    for i, name in enumerate(("deepface_img2.jpg", "deepface_img12.jpg")):
        image = cv2.resize(read_image(need_file(shared_data / "faces" / name)), (320 + 80 * i, 240 + 60 * i))
        cv2.imwrite(str(tmp_path / f"{i}.png"), image)
        photos.append(image)
    monkeypatch.setattr(live, "SLIDE_SECONDS", 1 / 3)

    def frames_of_both() -> list[int]:
        frames = RecordingBackend.instances[-1].frames if RecordingBackend.instances else []
        shown = [f.reshape(240, 320, 3) for f in frames if f.any()]  # the loop's frames, not the first black ones
        small = [cv2.resize(p, (320, 240), interpolation=cv2.INTER_AREA).astype(np.int16) for p in photos]
        return [int(np.argmin([np.abs(f - p).mean() for p in small])) for f in shown]

    # When the virtual camera runs until it has shown the second photo and the first again
    watcher = interrupt_when(lambda: re.search("01+0", "".join(map(str, frames_of_both()))) is not None, limit=60)
    code = main(["cam", "--source", str(tmp_path), "--backend", "tryon-test", "--fps", "30"])
    watcher.join()
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED, err
    # Then each photo stayed on for about ten frames (they came one a frame before), at the camera's size
    which = frames_of_both()
    runs = [len(run) for run in "".join(map(str, which)).replace("01", "0 1").replace("10", "1 0").split()]
    assert len(runs) >= 3, which
    assert min(runs[1:-1]) >= 5, runs


def test_cam_on_a_folder_warns_of_each_photo_it_cannot_show(
    shared_data, virtual_cameras, capsys, monkeypatch, tmp_path, opened_sources
):
    import tryon.cli.live as live

    # Given a folder of one photo, an empty file before it and a text file after it, shown a third of a second each
    # (with a look of no effects: the photo is sent as it is)
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = cv2.resize(read_image(need_file(shared_data / PHOTO)), (320, 240))
    cv2.imwrite(str(folder / "1.png"), photo)
    (folder / "0.jpg").write_bytes(b"")
    (folder / "2.png").write_text("not a photo", encoding="utf-8")
    bare = tmp_path / "bare.yaml"
    bare.write_text("name: bare\neffects: {}\n", encoding="utf-8")
    monkeypatch.setattr(live, "SLIDE_SECONDS", 1 / 3)

    def past_both_and_shown() -> bool:
        frames = RecordingBackend.instances[-1].frames if RecordingBackend.instances else []
        return bool(opened_sources) and len(opened_sources[0].failures) == 2 and any(f.any() for f in frames[-5:])

    # When the virtual camera runs until the slideshow has gone past both, and the photo is being sent
    watcher = interrupt_when(past_both_and_shown, limit=30)
    code = main(["cam", "--source", str(folder), "--backend", "tryon-test", "--fps", "30", "--look", str(bare)])
    watcher.join()
    err = capsys.readouterr().err
    # Then each was a warning of its own, with its name and why it was skipped, and the photo was shown
    assert code == EXIT_INTERRUPTED, err
    warnings = [line for line in err.splitlines() if line.startswith("tryon: warning: ")]
    assert len(warnings) == 2, err
    for warning, name, why in zip(warnings, ("0.jpg", "2.png"), ("the file is empty", "not a readable image")):
        assert warning.startswith(f"tryon: warning: {folder / name}: {why}") and warning.endswith("; skipped")
    sent = [f.reshape(240, 320, 3) for f in RecordingBackend.instances[-1].frames if f.any()]
    assert sent and np.array_equal(sent[-1], photo)


def test_cam_without_a_virtual_camera_explains_what_to_install(shared_data, virtual_cameras, capsys, opened_sources):
    # Given a source whose closing is recorded (opened_sources)
    opened = opened_sources
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
    # Then it ended as every command does on Ctrl+C (exit 130), saying how many frames it showed
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    last = re.fullmatch(r"tryon: interrupted: (\d+) frames, [\d.]+ fps", err.strip().splitlines()[-1])
    assert last is not None and int(last[1]) >= 1, err


#: Runs ``tryon ARGS...`` with keys "pressed" in its window: ``python -c PRESSING 5=c,40=q ARGS...`` presses ``c``
#: once the window has shown 5 frames and ``q`` once it has shown 40 (as ``WindowSink`` reads keys, after a frame).
PRESSING = """
import sys
from tryon.sinks.window import WindowSink
keys = {int(n): ord(k) for n, k in (pair.split("=") for pair in sys.argv[1].split(","))}
show = WindowSink.write
def write(self, frame):
    show(self, frame)
    self.last_key = keys.get(self.frames, self.last_key)
WindowSink.write = write
from tryon.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def _env(**more: str) -> dict[str, str]:
    """This process's environment without TRYON_DEBUG (its tracebacks would add lines), and ``more``."""
    return {**{k: v for k, v in os.environ.items() if k != "TRYON_DEBUG"}, **more}


def test_demo_says_a_snapshot_could_not_be_saved_and_goes_on_until_q(shared_data, xvfb, tmp_path):
    # Given a snapshot folder on a full disk (a 4 kB file system: the folder can be written, a photo cannot)
    photo = need_file(shared_data / PHOTO)
    full = tmp_path / "full"
    full.mkdir()
    # When the demo runs, c is pressed after 5 frames and q after 40
    command = [*small_filesystem("size=4k"), str(full), sys.executable, "-c", PRESSING, "5=c,40=q"]
    argv = ["demo", "--source", str(photo), "--snapshots", str(full)]
    proc = subprocess.run([*command, *argv], capture_output=True, text=True, timeout=300, env=_env(DISPLAY=xvfb))
    # Then the failed snapshot was a warning naming the file and the reason, and the demo went on to the q: a key
    # that quits ends it normally (exit 0)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == EXIT_OK, proc.stderr
    warnings = [line for line in lines if line.startswith("tryon: warning: ")]
    assert len(warnings) == 1, proc.stderr
    assert re.fullmatch(
        rf"tryon: warning: snapshot not saved: {re.escape(str(full))}/tryon_\S+\.jpg: No space left on device",
        warnings[0],
    )
    assert re.fullmatch(r"40 frames, [\d.]+ fps \(stopped by the app\)", lines[-1]), proc.stderr
    assert proc.stdout == ""  # `ls -A` of the snapshot folder afterwards: no partial file left


@pytest.mark.parametrize(
    ("snapshots", "problem"),
    [
        ("{tmp}/face.jpg", "not a folder"),
        ("{tmp}/face.jpg/snaps", "{tmp}/face.jpg is not a folder"),
        ("{ro}", "on a read-only file system"),
        ("{ro}/new/snaps", "{ro} is on a read-only file system"),
    ],
    ids=["a file", "a file in its path", "a read-only folder", "to be made on a read-only file system"],
)
def test_demo_refuses_a_snapshot_folder_it_could_not_write_before_it_opens_the_camera(tmp_path, snapshots, problem):
    # Given a file where the snapshot folder would be, or a read-only file system
    (tmp_path / "face.jpg").write_bytes(b"not a folder")
    ro = tmp_path / "ro"
    ro.mkdir()
    prefix = [*small_filesystem("ro"), str(ro)] if "{ro}" in snapshots else []
    folder = snapshots.format(tmp=tmp_path, ro=ro)
    # When the demo is started with it, on a camera that does not exist
    argv = [sys.executable, "-m", "tryon", "demo", "--source", "57", "--snapshots", folder]
    proc = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=120, env=_env())
    # Then its one error line names the folder and what is wrong with it: the camera was not opened to find out
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"tryon: error: {folder}: {problem.format(tmp=tmp_path, ro=ro)}; snapshots cannot be saved there (--snapshots)"
    ]


def test_demo_without_a_camera_says_to_use_a_video_file(capsys):
    code = main(["demo", "--source", "57"])
    err = capsys.readouterr().err
    assert code != EXIT_OK
    assert "--source" in err and "Traceback" not in err


@pytest.fixture
def opened_sources(monkeypatch) -> list:
    """Every source a live command opens, to check it was closed, or never opened."""
    import tryon.cli.live as live

    opened = []
    real_open = live.open_source

    def recording_open(*args, **kwargs):
        source = real_open(*args, **kwargs)
        opened.append(source)
        return source

    monkeypatch.setattr(live, "open_source", recording_open)
    return opened


BAD_LOOK = "effects:\n  lipstick: {finish: glitter}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--watch", "{tmp}/missing.yaml"], "missing.yaml"),
        (["--look", "sparkly"], "unknown look 'sparkly'"),
        (["--look", "{tmp}/bad.yaml"], "bad.yaml: effects.lipstick.finish: 'glitter' is not allowed"),
        (["--watch", "{tmp}/bad.yaml"], "bad.yaml: effects.lipstick.finish: 'glitter' is not allowed"),
    ],
    ids=["missing watched file", "unknown look", "bad look file", "bad watched file"],
)
def test_cam_refuses_a_bad_look_before_it_opens_the_camera_or_the_source(
    shared_data, virtual_cameras, capsys, opened_sources, tmp_path, args, message
):
    # Given a look that cannot load
    (tmp_path / "bad.yaml").write_text(BAD_LOOK, encoding="utf-8")
    photo = need_file(shared_data / PHOTO)
    # When the virtual camera is started with it
    argv = ["cam", "--source", str(photo), "--backend", "tryon-test", *(a.format(tmp=tmp_path) for a in args)]
    code = main(argv)
    err = capsys.readouterr().err
    # Then its one error line names the look, and neither the source nor the virtual camera was opened
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tryon: error: ") and message in lines[0], err
    assert opened_sources == [] and RecordingBackend.instances == []


def test_cam_reloads_a_watched_look_edited_while_the_models_load(
    shared_data, virtual_cameras, capsys, monkeypatch, tmp_path
):
    import tryon.cli.live as live

    # Given a watched look file with a red lipstick, edited to a look with no effects while the models load
    photo = need_file(shared_data / PHOTO)
    watched = tmp_path / "call.yaml"
    watched.write_text("name: red\neffects:\n  lipstick: {color: '#B0123F'}\n", encoding="utf-8")
    loaded = watched.stat().st_mtime
    pipes: list[Pipeline] = []

    def pipeline_then_edit(*args, **kwargs) -> Pipeline:
        pipes.append(Pipeline(*args, **kwargs))
        watched.write_text("name: bare\neffects: {}\n", encoding="utf-8")
        os.utime(watched, (loaded + 10, loaded + 10))  # a later time, however coarse the file system's clock
        return pipes[-1]

    monkeypatch.setattr(live, "Pipeline", pipeline_then_edit)

    def loop_frames_sent() -> bool:
        frames = RecordingBackend.instances[-1].frames if RecordingBackend.instances else []
        return sum(1 for f in frames[-10:] if f.any()) >= 10

    # When the virtual camera runs on a photo until it has sent ten of the loop's frames
    watcher = interrupt_when(loop_frames_sent)
    argv = ["cam", "--source", str(photo), "--backend", "tryon-test", "--watch", str(watched), "--fps", "30"]
    code = main([*argv, "--debug"])  # a traceback if it fails (once: a result cut by Ctrl+C)
    watcher.join()
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED, err
    # Then the edit was picked up without another one: the look is the edited one, and the camera shows the photo
    # as it is (no lipstick)
    assert len(pipes) == 1 and pipes[0].look is not None and pipes[0].look.name == "bare"
    frame = read_image(photo)
    np.testing.assert_array_equal(RecordingBackend.instances[-1].frames[-1].reshape(frame.shape), frame)


#: Where pyvirtualcam has each of its backends (its camera.py registers them by platform.system()).
BACKEND_PLATFORMS = {"obs": "Windows and macOS", "v4l2loopback": "Linux", "unitycapture": "Windows"}


def test_cam_with_another_platforms_backend_says_where_it_exists_and_what_to_use(
    shared_data, virtual_cameras, capsys, opened_sources
):
    import pyvirtualcam

    # Given a backend that pyvirtualcam has on another platform only (obs on Linux)
    backend = next(name for name in BACKEND_PLATFORMS if name not in pyvirtualcam.camera.BACKENDS)
    # When the virtual camera is asked for it
    code = main(["cam", "--source", str(need_file(shared_data / PHOTO)), "--backend", backend])
    err = capsys.readouterr().err
    # Then the error says where that backend exists and which ones work here, before anything is opened
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"the {backend} backend is available on {BACKEND_PLATFORMS[backend]} only" in lines[0]
    assert "use --backend auto" in lines[0] and "unknown" not in lines[0]
    assert opened_sources == []
    # And a name that no platform has is unknown, with the valid names
    code = main(["cam", "--source", str(need_file(shared_data / PHOTO)), "--backend", "obsidian"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown virtual camera backend 'obsidian'; valid backends: auto, " in err
    assert opened_sources == []


@pytest.mark.parametrize("during", ["Pipeline", "CamApp"])
def test_ctrl_c_while_cam_starts_closes_the_camera_and_the_source(
    shared_data, virtual_cameras, capsys, opened_sources, monkeypatch, during
):
    import tryon.cli.live as live

    # Given Ctrl+C while the models load (the first second after the virtual camera opened)
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    if during == "CamApp":
        import tryon.apps.cam

        monkeypatch.setattr(tryon.apps.cam, "CamApp", interrupted)
    else:
        monkeypatch.setattr(live, "Pipeline", interrupted)
    # When the virtual camera starts
    code = main(["cam", "--source", str(need_file(shared_data / PHOTO)), "--backend", "tryon-test"])
    err = capsys.readouterr().err
    # Then it exits as interrupted, with the virtual camera and the source closed
    assert code == 130 and "tryon: interrupted" in err and "Traceback" not in err
    assert [backend.closed for backend in RecordingBackend.instances] == [1]
    assert len(opened_sources) == 1 and opened_sources[0].closed


def test_demo_refuses_a_bad_look_before_it_opens_the_camera(capsys, opened_sources):
    # When the demo is started with a look that does not exist, on a camera that does not either
    code = main(["demo", "--look", "sparkly", "--source", "57"])
    err = capsys.readouterr().err
    # Then the look is what is reported, since no camera was opened to find out
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tryon: error: unknown look 'sparkly'"), err
    assert opened_sources == []
