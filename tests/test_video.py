from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import need_file
from tests.video_helpers import (
    UNWRITABLE,
    as_played,
    boxes,
    decoded,
    ffmpeg,
    first_shown_at,
    frames,
    mean_difference,
    rotated,
    saturated,
    unwritable,
    write_clip,
)
from tryon.errors import ImageReadError, ImageWriteError, InputError
from tryon.video import WRITER_COLORS, ColorTags, VideoReader, VideoWriter


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


# --- what players see: orientation, start time, colours -------------------------------------------------------------


@pytest.mark.parametrize(("degrees", "turns"), [(90, 1), (180, 2), (-90, 3)])
def test_a_clip_with_a_rotation_tag_is_read_upright_as_players_show_it(tmp_path, degrees, turns):
    # Given a clip of asymmetric frames, tagged to be shown turned (as a phone held upright tags its sideways frames)
    stored = frames(3)
    phone = rotated(write_clip(tmp_path / "stored.mp4", stored), degrees, tmp_path / "phone.mp4")
    # When it is read
    with VideoReader(phone) as reader:
        first = reader.read()
        size = reader.size
    # Then its frames come upright: the stored frame turned, as ffmpeg plays it (before: as stored, sideways)
    assert first is not None
    upright = np.rot90(stored[0], turns)
    assert first.shape == upright.shape and size == (upright.shape[1], upright.shape[0])
    assert mean_difference(first, upright) < 3
    assert mean_difference(first, as_played(phone)) < 3


@pytest.mark.parametrize("fps", [25, 30])
def test_the_first_frame_is_shown_at_time_0(tmp_path, fps):
    # Given frames that x264 codes with B-frames (which delay the stream by two frames)
    path = write_clip(tmp_path / "out.mp4", frames(60, size=(160, 120)), fps=fps)
    # Then the first frame is shown at 0, as in the source (before: 2 frames late, 0.080 s at 25 fps, 0.067 s at 30)
    assert first_shown_at(path) == 0
    assert len(decoded(path)) == 60


def test_the_writer_tags_the_colours_it_encodes_and_copies_a_sources_tags(tmp_path):
    images = saturated(10)
    # Given a clip written as a tryon writer does by default, and one given a BT.709 source's tags
    plain = write_clip(tmp_path / "plain.mp4", images)
    bt709 = ColorTags("bt709", "bt709", "bt709")
    tagged = write_clip(tmp_path / "tagged.mp4", images, colors=bt709)
    # Then each says what it holds: BT.601 YUV (what OpenCV's BGR goes through), or the source's tags
    with VideoReader(plain) as a, VideoReader(tagged) as b:
        assert a.colors == WRITER_COLORS == ColorTags(matrix="bt470bg")
        assert b.colors == bt709
        # and the tags do not change the YUV written: OpenCV reads the same frames back from both
        assert mean_difference(a.read(), b.read()) < 1  # type: ignore[arg-type]
    # and a player shows the plain clip as the frames written
    assert mean_difference(as_played(plain), images[0]) < 4


def test_an_untagged_video_reports_no_colour_tags(tmp_path):
    path = write_clip(tmp_path / "untagged.mp4", frames(3), colors=ColorTags())
    with VideoReader(path) as reader:
        assert reader.colors == ColorTags()
    with pytest.raises(InputError, match=r"ColorTags\.matrix must be an ffmpeg colour name"):
        ColorTags("BT.709; rm -rf")


# --- write errors: one line, PATH: reason, nothing half-written ----------------------------------------------------


@pytest.mark.parametrize("case", UNWRITABLE)
def test_a_failed_write_is_one_line_with_the_systems_reason(tmp_path, case):
    target, code = unwritable(tmp_path, case)
    writer = VideoWriter(target, fps=25)
    # When frames are written and the file finished
    with pytest.raises(ImageWriteError) as info:
        for image in frames(60, size=(160, 120)):
            writer.write(image)
        writer.close()
    writer.abort()
    # Then the error is one line, PATH: reason, with its errno (before: ffmpeg's 3 to 7 lines, or Python's raw text)
    assert str(info.value) == f"{target}: {os.strerror(code)}"
    assert info.value.errno == code
    assert not target.is_file()  # nothing half-written


def test_abort_keeps_the_first_error_when_the_folder_refuses_the_deletion(tmp_path, monkeypatch):
    # Given a writer whose encoder runs, on a file system that then refuses to delete (read-only: EROFS)
    writer = VideoWriter(tmp_path / "out.mp4", fps=25)
    writer.write(frames(1)[0])

    def refuse(self, missing_ok=False):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    # When the failed job aborts, then it does not raise (before: [Errno 30] Read-only file system, hiding the cause)
    writer.abort()
    writer.abort()


def test_a_video_of_rgb_frames_is_tagged_with_the_matrix_the_writer_encodes(tmp_path):
    # Given a clip stored as RGB frames (PNG in MOV): ffmpeg calls its matrix "gbr", which is no YUV matrix
    clip = tmp_path / "rgb.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=5", "-frames:v", "3", "-c:v", "png", clip)
    # Then it is read as untagged YUV would be: the output says BT.601, what its 4:2:0 YUV is (before: "gbr", which
    # H.264 allows only for 4:4:4 RGB)
    with VideoReader(clip) as reader:
        assert reader.colors.matrix == WRITER_COLORS.matrix


def test_a_writer_without_a_temporary_folder_leaves_no_empty_output(tmp_path, monkeypatch):
    import tempfile

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "TemporaryFile", no_room)
    target = tmp_path / "out.mp4"
    writer = VideoWriter(target, fps=25)
    with pytest.raises(ImageWriteError, match=r"out\.mp4: no temporary file for the encoder's messages"):
        writer.write(frames(1)[0])
    writer.abort()
    assert not target.exists()  # before: an empty out.mp4


def test_a_failed_write_closes_the_encoders_log(tmp_path):
    target, _ = unwritable(tmp_path, "full disk")
    writer = VideoWriter(target, fps=25)
    with pytest.raises(ImageWriteError):
        for image in frames(60, size=(160, 120)):
            writer.write(image)
        writer.close()
    assert writer._log is not None and writer._log.closed  # before: open until garbage-collected
