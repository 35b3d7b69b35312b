from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from tests.conftest import need_file
from tryon.errors import ImageReadError, ImageWriteError, InputError
from tryon.video import VideoReader, VideoWriter


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


def boxes(data: bytes) -> list[tuple[int, int, bytes]]:
    """The top-level MP4 boxes: (offset, size, type)."""
    out, i = [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        out.append((i, size, kind))
        i += size
    return out


def decoded(path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


def test_a_normal_write_gives_exactly_the_frames_written(tmp_path):
    path = tmp_path / "out.mp4"
    source = frames(40)
    with VideoWriter(path, fps=20) as writer:
        for f in source:
            writer.write(f)
    got = decoded(path)
    assert len(got) == 40
    assert all(g.shape == (64, 96, 3) for g in got)
    assert np.abs(got[10].astype(int) - source[10]).mean() < 3  # H.264 at crf 18 stays close
    with VideoReader(path) as reader:
        assert reader.fps == pytest.approx(20)
        assert reader.size == (96, 64)
        assert sum(1 for _ in reader) == 40


def test_odd_sizes_are_padded_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, fps=25) as writer:
        for f in frames(5, size=(95, 63)):
            writer.write(f)
        assert writer.size == (95, 63)
    assert [g.shape for g in decoded(path)] == [(64, 96, 3)] * 5


def wait_for_fragments(path, min_bytes: int = 20_000, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > min_bytes:
            return
        time.sleep(0.05)
    pytest.fail(f"{path} did not grow past {min_bytes} bytes")


def test_the_file_still_plays_after_the_encoder_is_killed(tmp_path):
    # Given a writer that has written a few seconds of frames
    path = tmp_path / "killed.mp4"
    writer = VideoWriter(path, fps=25)
    for f in frames(150, size=(320, 240), noise=True):
        writer.write(f)
    wait_for_fragments(path)
    # When its encoder is killed abruptly (no chance to write a trailer)
    os.kill(writer.pid, signal.SIGKILL)
    with pytest.raises(ImageWriteError, match="the video encoder failed"):
        writer.close()
    writer.close()  # safe twice
    # Then the fragments written so far still decode
    got = decoded(path)
    assert 0 < len(got) <= 150
    assert got[0].shape == (240, 320, 3)


def test_the_file_is_complete_when_the_writing_process_is_killed(tmp_path):
    # Given a process that writes 60 frames and then dies without closing its writer
    path = tmp_path / "orphan.mp4"
    script = (
        "import os, signal, numpy as np\n"
        "from tryon.video import VideoWriter\n"
        f"w = VideoWriter({str(path)!r}, fps=25)\n"
        "for i in range(60):\n"
        "    w.write(np.full((64, 96, 3), i * 4, np.uint8))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    # Then ffmpeg, left with a closed input, finishes the file
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(decoded(path)) < 60:
        time.sleep(0.1)
    assert len(decoded(path)) == 60


def test_a_file_cut_inside_its_last_fragment_still_decodes_the_others(tmp_path):
    path = tmp_path / "cut.mp4"
    with VideoWriter(path, fps=25) as writer:
        for f in frames(100, size=(160, 120)):
            writer.write(f)
    data = path.read_bytes()
    kinds = [kind for _, _, kind in boxes(data)]
    assert kinds[:2] == [b"ftyp", b"moov"] and kinds.count(b"moof") == 4  # one fragment a second
    offset, size, _ = [box for box in boxes(data) if box[2] == b"mdat"][-1]
    path.write_bytes(data[: offset + size // 2])
    assert 75 <= len(decoded(path)) < 100  # three whole fragments, and what the decoder salvages of the fourth
    with VideoReader(path) as reader:
        assert 75 <= sum(1 for _ in reader) < 100


def test_writer_misuse_is_refused(tmp_path):
    writer = VideoWriter(tmp_path / "a.mp4", fps=25)
    writer.write(frames(1)[0])
    with pytest.raises(InputError, match="every frame must be 96x64, got 48x32"):
        writer.write(np.zeros((32, 48, 3), np.uint8))
    writer.close()
    with pytest.raises(InputError, match="closed"):
        writer.write(frames(1)[0])
    for bad, message in [
        (lambda: VideoWriter(tmp_path / "a.avi"), "unsupported video type '.avi'"),
        (lambda: VideoWriter(tmp_path / "missing" / "a.mp4"), "does not exist"),
    ]:
        with pytest.raises(ImageWriteError, match=message):
            bad()
    with pytest.raises(InputError, match="fps"):
        VideoWriter(tmp_path / "b.mp4", fps=0)


def test_a_writer_without_frames_creates_no_file_and_abort_removes_it(tmp_path):
    with VideoWriter(tmp_path / "none.mp4"):
        pass
    assert not (tmp_path / "none.mp4").exists()
    writer = VideoWriter(tmp_path / "aborted.mp4")
    for f in frames(10):
        writer.write(f)
    writer.abort()
    writer.abort()
    writer.close()
    assert not (tmp_path / "aborted.mp4").exists()


def test_reader_reads_a_real_video(shared_data):
    path = need_file(shared_data / "videos" / "driving_d0.mp4")
    with VideoReader(path) as reader:
        assert reader.fps == pytest.approx(25) and reader.size == (512, 512) and reader.frame_count == 78
        first = reader.read()
        assert first is not None and first.shape == (512, 512, 3) and first.dtype == np.uint8
        assert 1 + sum(1 for _ in reader) == 78
    reader.close()
    assert reader.read() is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.mp4", None, "no such file"),
        ("empty.mp4", b"", "the file is empty"),
        ("garbage.mp4", b"\x00\x01not a video at all" * 100, "not a readable video"),
        ("notes.txt", b"hello", "unsupported video type '.txt'"),
    ],
)
def test_reader_refuses_bad_files_clearly(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        VideoReader(path)
    assert str(path) in str(info.value) and message in str(info.value)
