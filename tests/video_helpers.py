"""Helpers of the video tests: made-up frames and clips, ffmpeg's view of a file, unwritable outputs."""

from __future__ import annotations

import errno
import re
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from tryon.video import VideoWriter


def frames(n: int, size=(96, 64), noise: bool = False) -> list[np.ndarray]:
    """Distinct frames: a bright square moving over a colour gradient (or over noise, which compresses badly)."""
    w, h = size
    ramp = np.linspace(40, 200, w, dtype=np.float32)
    base = np.stack([np.tile(ramp, (h, 1)), np.tile(ramp[::-1], (h, 1)), np.full((h, w), 90, np.float32)], axis=2)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        f = rng.integers(0, 255, (h, w, 3), dtype=np.uint8) if noise else base.astype(np.uint8)
        x = (i * 3) % (w - 16)
        f[8:24, x : x + 16] = (40, 200, 255)
        out.append(f)
    return out


def saturated(n: int, size=(96, 64)) -> list[np.ndarray]:
    """Frames of flat, saturated colour bars (where the YUV matrix matters most), and a moving bright square."""
    w, h = size
    bars = [(50, 27, 158), (40, 200, 60), (200, 120, 30), (30, 30, 220)]
    out = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        for k, colour in enumerate(bars):
            f[:, k * w // len(bars) : (k + 1) * w // len(bars)] = colour
        f[h // 3 : h // 3 + 8, (i * 2) % (w - 8) :][:, :8] = 255
        out.append(f)
    return out


def ffmpeg(*args: object) -> subprocess.CompletedProcess[str]:
    """Runs the bundled ffmpeg; fails the test with its messages when it fails."""
    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f"ffmpeg {' '.join(map(str, args))} failed: {proc.stderr[-1500:]}")
    return proc


def as_played(path: Path) -> np.ndarray:
    """The first frame as a player shows it: decoded by ffmpeg, its rotation and colour tags applied."""
    png = path.with_name(path.name + ".played.png")
    ffmpeg("-y", "-i", path, "-frames:v", "1", png)
    image = cv2.imread(str(png))
    assert image is not None
    return image


def first_shown_at(path: Path) -> float:
    """When the first frame is shown (seconds), as ffmpeg reads the file's own timestamps (``-copyts``)."""
    proc = ffmpeg("-copyts", "-i", path, "-vf", "showinfo", "-frames:v", "1", "-f", "null", "-")
    found = re.search(r"n:\s*0 pts:\s*-?\d+ pts_time:(\S+)", proc.stderr)
    assert found is not None, proc.stderr
    return float(found.group(1))


def rotated(clip: Path, degrees: int, out: Path) -> Path:
    """``clip`` with a rotation tag (a display matrix, as phones write): show it ``degrees`` counter-clockwise."""
    ffmpeg("-y", "-display_rotation", degrees, "-i", clip, "-c", "copy", out)
    return out


def write_clip(path: Path, images: list[np.ndarray], fps: float = 25, **options) -> Path:
    with VideoWriter(path, fps=fps, **options) as writer:
        for image in images:
            writer.write(image)
    return path


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def boxes(data: bytes) -> list[tuple[int, int, bytes]]:
    """The top-level MP4 boxes: (offset, size, type)."""
    out, i = [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        out.append((i, size, kind))
        i += size
    return out


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from a video file."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


def unwritable(tmp_path: Path, case: str) -> tuple[Path, int]:
    """An output path that cannot be written, and the errno the system gives."""
    if case == "link into a missing folder":
        target = tmp_path / "out.mp4"
        target.symlink_to(tmp_path / "gone" / "out.mp4")
        return target, errno.ENOENT
    if case == "full disk":
        if not Path("/dev/full").exists():
            assert not sys.platform.startswith("linux"), "Linux has /dev/full"
            pytest.skip("no /dev/full here")
        target = tmp_path / "out.mp4"
        target.symlink_to("/dev/full")  # every write fails with ENOSPC
        return target, errno.ENOSPC
    raise AssertionError(case)


# (A read-only folder is the same failure as the missing folder for the writer, and cannot be made for root, who
# runs CI: it would skip there.)
UNWRITABLE = ["link into a missing folder", "full disk"]
