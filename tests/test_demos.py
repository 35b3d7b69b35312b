from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.conftest import REPO, need_file
from tryon.pipeline import Pipeline


def run_demo(name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "demos" / name), *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_process_video_demo_writes_a_playable_made_up_video(shared_data, tmp_path):
    out = tmp_path / "out.mp4"
    result = run_demo(
        "process_video.py", str(need_file(shared_data / "videos" / "driving_d0.mp4")), str(out), "bold_red"
    )
    assert result.returncode == 0, result.stderr
    cap = cv2.VideoCapture(str(out))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 78
    # And the look is on it: frame 40's lips are far from the source's, the rest of the frame near it (the codec's
    # loss aside)
    source = cv2.VideoCapture(str(shared_data / "videos" / "driving_d0.mp4"))
    for capture in (cap, source):
        capture.set(cv2.CAP_PROP_POS_FRAMES, 40)
    (ok_out, made_up), (ok_in, frame) = cap.read(), source.read()
    assert ok_out and ok_in
    with Pipeline(mode="image") as pipe:
        face = pipe.parse(frame).faces[0]
    lips = face.mask("lips").full(frame.shape[:2]) > 200
    diff = np.abs(made_up.astype(np.int16) - frame).mean(axis=2)
    assert diff[lips].mean() > 15
    far = np.ones(frame.shape[:2], bool)
    far[face.box.grow(face.box.width // 4).clip(frame.shape).slices] = False
    assert diff[far].mean() < 4


@pytest.mark.display
def test_webcam_demo_runs_on_a_video_file_in_a_window(shared_data, xvfb):
    import os

    env = {**os.environ, "DISPLAY": xvfb}
    result = run_demo("webcam_demo.py", str(need_file(shared_data / "videos" / "driving_d0.mp4")), env=env)
    assert result.returncode == 0, result.stderr
