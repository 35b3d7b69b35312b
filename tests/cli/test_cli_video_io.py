"""``tryon apply`` on videos, as a player sees the output: upright, starting at 0, colours tagged; and write errors."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import need_file
from tests.video_helpers import (
    UNWRITABLE,
    as_played,
    ffmpeg,
    first_shown_at,
    mean_difference,
    rotated,
    saturated,
    unwritable,
    write_clip,
)
from tryon.cli.main import main
from tryon.video import ColorTags, VideoReader

LIPSTICK = 'name: lips\neffects:\n  lipstick: {color: "#9E1B32", intensity: 0.9}\n'


def run(capsys, *args: object) -> tuple[int, str]:
    """Runs ``tryon ARGS`` in this process; returns (exit code, stderr)."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_a_phone_clip_comes_out_upright_as_it_plays(capsys, tmp_path, shared_data):
    # Given a face clip, 512 wide by 384 tall as it plays, stored sideways with a rotation tag (as phones record)
    source = need_file(shared_data / "videos" / "driving_d0.mp4")
    side = tmp_path / "side.mp4"
    ffmpeg("-y", "-i", source, "-frames:v", "4", "-vf", "crop=512:384:0:64,transpose=1", "-an", side)
    phone = rotated(side, 90, tmp_path / "phone.mp4")
    shown = as_played(phone)
    assert shown.shape == (384, 512, 3)  # the premise: players turn it upright
    look = tmp_path / "lips.yaml"
    look.write_text(LIPSTICK)
    # When a look is applied
    out = tmp_path / "out.mp4"
    code, err = run(capsys, "apply", phone, "-o", out, "--look", look)
    assert code == 0, err
    assert "no face found" not in err
    # Then the output plays as the input does: 512x384, upright (before: 384x512, the face turned 90 degrees)
    made_up = as_played(out)
    assert made_up.shape == shown.shape
    with VideoReader(out) as reader:
        assert reader.size == (512, 384)
    changed = np.abs(made_up.astype(int) - shown.astype(int)).max(axis=2) > 25
    assert 0 < changed.mean() < 0.05  # the lips, and only about them
    ys, xs = np.nonzero(changed)
    assert 150 < ys.mean() < 330 and 150 < xs.mean() < 360  # the mouth of the upright face, low in the middle


def test_the_output_starts_at_0_and_keeps_the_sources_colour_tags(capsys, tmp_path):
    # Given a BT.709 clip (as most HD and phone videos are tagged) of saturated colours and no face
    bt709 = ColorTags("bt709", "bt709", "bt709")
    source = write_clip(tmp_path / "bars.mp4", saturated(8, size=(160, 120)), fps=30, colors=bt709)
    # When it goes through tryon apply
    out = tmp_path / "out.mp4"
    code, err = run(capsys, "apply", source, "-o", out, "--look", "bold_red")
    assert code == 0, err
    # Then the output starts at 0 (before: 0.067 s, 2 frames late) and keeps the BT.709 tags (before: none), so a
    # player shows its colours as the source's (before: decoded as BT.601, reds and greens off by 10 to 20 levels)
    assert first_shown_at(out) == 0
    with VideoReader(out) as reader:
        assert reader.colors == bt709
    assert mean_difference(as_played(out), as_played(source)) < 2


@pytest.mark.parametrize("case", UNWRITABLE)
def test_a_video_that_cannot_be_written_is_one_error_line_and_leaves_nothing(capsys, tmp_path, case):
    source = write_clip(tmp_path / "in.mp4", saturated(30, size=(160, 120)))
    target, code = unwritable(tmp_path, case)
    # When a video is made up into a place that cannot be written
    exit_code, err = run(capsys, "apply", source, "-o", target, "--look", "bold_red")
    # Then one line says PATH: reason, with exit 2 (before: ffmpeg's 3 to 7 lines, or "[Errno 30] ...: 'PATH'")
    lines = [line for line in err.splitlines() if not line.startswith("tryon: warning:")]
    assert exit_code == 2
    assert lines == [f"tryon: error: {target}: {os.strerror(code)}"], err
    assert not Path(target).is_file()  # nothing half-written


def test_a_written_video_still_decodes_every_frame(capsys, tmp_path):
    # The edit list that starts the output at 0 costs no frame, in OpenCV or in ffmpeg
    source = write_clip(tmp_path / "in.mp4", saturated(12, size=(160, 120)))
    out = tmp_path / "out.mp4"
    code, err = run(capsys, "apply", source, "-o", out, "--look", "bold_red")
    assert code == 0, err
    cap = cv2.VideoCapture(str(out))
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    assert count == 12
    hashes = ffmpeg("-i", out, "-f", "framemd5", "-").stdout
    assert sum(1 for line in hashes.splitlines() if line and not line.startswith("#")) == 12
