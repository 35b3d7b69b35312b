"""Shared fixtures: the shared test material (real photos, videos, models) and parsed faces.

``TRYON_TEST_DATA`` / ``TRYON_MODELS_DIR`` point at ``../shared/data`` and ``../shared/models``. When a variable is
set, a test that needs a missing file fails (it never skips); when unset, ``../shared`` beside the checkout is used
if present, else those tests skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent

# The library finds models through TRYON_MODELS_DIR (else ~/.cache/tryon/models): when it is unset and ../shared
# holds the models, the tests' default is the library's too, or the model tests could not find what they use.
if not os.environ.get("TRYON_MODELS_DIR") and (REPO.parent / "shared" / "models").is_dir():
    os.environ["TRYON_MODELS_DIR"] = str(REPO.parent / "shared" / "models")


def restore_ctrl_c() -> None:
    """A ``preexec_fn``: Ctrl+C back to its default in the child, though a shell's background job ignores it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _root(var: str, default: Path) -> Path | None:
    value = os.environ.get(var)
    if value:
        return Path(value).resolve()
    return default if default.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; fails when TRYON_TEST_DATA is set but missing."""
    root = _root("TRYON_TEST_DATA", REPO.parent / "shared" / "data")
    if root is None:
        pytest.skip("shared test data not found: set TRYON_TEST_DATA=../shared/data")
    if not root.is_dir():
        pytest.fail(f"TRYON_TEST_DATA={root} is not a folder")
    return root


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """The shared models folder; fails when TRYON_MODELS_DIR is set but missing."""
    root = _root("TRYON_MODELS_DIR", REPO.parent / "shared" / "models")
    if root is None:
        pytest.skip("shared models not found: set TRYON_MODELS_DIR=../shared/models")
    if not root.is_dir():
        pytest.fail(f"TRYON_MODELS_DIR={root} is not a folder")
    return root


def _strict() -> bool:
    """Whether a missing prerequisite fails a test instead of skipping it: in CI, and wherever the shared data is
    wired in (``.ci/run`` sets ``TRYON_TEST_DATA``), on Linux, where CI runs."""
    return bool(os.environ.get("CI")) or (bool(os.environ.get("TRYON_TEST_DATA")) and sys.platform == "linux")


@pytest.fixture
def two_cpus() -> None:
    """Thread CPU affinity (``tryon._runtime.RenderCore``) needs Linux and at least 2 CPUs to split."""
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        if _strict():
            pytest.fail("this test needs Linux and at least 2 CPUs (thread affinity)")
        pytest.skip("thread affinity needs Linux and at least 2 CPUs")


#: For tests of thread CPU affinity: fails in CI when the machine cannot run them, skips elsewhere.
needs_two_cpus = pytest.mark.usefixtures("two_cpus")


def need_file(path: Path) -> Path:
    """Returns ``path``, failing the test (not skipping) when it is missing."""
    if not path.exists():
        pytest.fail(f"shared test file missing: {path}")
    return path


@dataclass(frozen=True)
class FaceCase:
    """A real photo and its parse (one face)."""

    name: str
    frame: np.ndarray
    parse: object  # tryon.parsing.FrameParse


# Photos across skin tones and lighting, from ../shared/data/faces.
FACE_PHOTOS = ("liveportrait_source_s2.jpg", "deepface_img2.jpg", "deepface_img49.jpg")


@pytest.fixture(scope="session")
def face_cases(shared_data: Path) -> list[FaceCase]:
    """Real face photos with their parses, computed once per session."""
    from tryon.image import read_image
    from tryon.pipeline import Pipeline

    cases = []
    with Pipeline(mode="image", max_faces=1) as pipe:
        for name in FACE_PHOTOS:
            frame = read_image(need_file(shared_data / "faces" / name))
            parse = pipe.parse(frame)
            assert parse.faces, f"no face found in {name}"
            cases.append(FaceCase(name, frame, parse))
    return cases


@pytest.fixture(scope="session")
def face_case(face_cases: list[FaceCase]) -> FaceCase:
    """One real face photo with its parse."""
    return face_cases[0]


@pytest.fixture(scope="session")
def _xvfb_display() -> Iterator[str]:
    """One private X display (Xvfb) for the whole session.

    Once OpenCV has shown a window in this process, GTK keeps its connection to the X server and exits the process
    if that server goes away: so the server outlives every test that shows a window.
    """
    exe = shutil.which("Xvfb")
    if exe is None:
        if _strict():
            pytest.fail("Xvfb is needed for the window test: apt-get install xvfb")
        pytest.skip("Xvfb not installed (apt-get install xvfb)")
    # Xvfb picks a free display itself and writes its number to the pipe (-displayfd): a number of our own choosing
    # could be another session's, whose server going away takes our windows (GTK aborts the process) with it.
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write_end), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()  # written once the server is ready; empty if it could not start
    if proc.poll() is not None or not number.isdigit():
        pytest.fail(f"Xvfb could not start (it said display {number!r})")
    display = f":{number}"
    yield display
    proc.terminate()
    proc.wait(timeout=5)


@pytest.fixture
def xvfb(_xvfb_display: str, monkeypatch) -> str:
    """A private X display (Xvfb), so the window sink runs on a headless machine."""
    monkeypatch.setenv("DISPLAY", _xvfb_display)
    return _xvfb_display


@pytest.fixture
def virtual_cameras() -> Iterator[None]:
    """pyvirtualcam backends registered through pyvirtualcam itself: ``tryon-test`` records what it is sent
    (``tests.live.helpers.RecordingBackend.instances``), ``tryon-missing`` fails to open like an absent device."""
    import pyvirtualcam

    from tests.live.helpers import FailingBackend, RecordingBackend

    pyvirtualcam.register_backend("tryon-test", RecordingBackend)
    pyvirtualcam.register_backend("tryon-missing", FailingBackend)
    RecordingBackend.instances.clear()
    yield
    pyvirtualcam.camera.BACKENDS.pop("tryon-test", None)
    pyvirtualcam.camera.BACKENDS.pop("tryon-missing", None)


def small_filesystem(options: str) -> list[str]:
    """A command prefix that runs the rest with a tmpfs mounted (``options``) on the folder given next.

    An unprivileged user mounts it in a user and mount namespace of its own; it vanishes with the command.
    """
    probe = (
        subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
            capture_output=True,
        )
        if shutil.which("unshare")
        else None
    )
    if probe is None or probe.returncode != 0:
        if _strict():
            pytest.fail("this test needs `unshare --user --map-root-user --mount` (user namespaces) to mount a tmpfs")
        pytest.skip("user namespaces are not available: cannot mount a small filesystem")
    script = f'mount -t tmpfs -o {options} tmpfs "$0" && "$@"; code=$?; ls -A "$0"; exit $code'
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script]
