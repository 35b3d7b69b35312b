"""Turned heads: parsing and makeup on the most turned frames of the shared talking-head videos.

No labelled set shows heads turned far, so these frames are checked against what must hold on any face, each
against something the face mesh does not decide: the face classes lie on the person (MediaPipe's selfie
segmentation, an independent network), the lips are redder than the skin beside them, the eyes' surroundings are
face (lashes and the far eye's outer corner, where the face outline comes close to the eye, once fell to the
background), and the `glam` look paints nothing on the background. The frames are parsed as the live loop parses
(video mode). They are turned 0.2 to 0.33 face widths, measured as the nose tip's offset from the middle between the
face's sides (a profile would be 0.5).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import need_file
from tryon.parsing.classes import class_index
from tryon.perception import topology

# (video, frame index, the sign of the turn: + the face toward the image's right, - toward its left); both eyes open.
TURNED = [
    ("driving_d3.mp4", 275, 1),
    ("source_s18.mp4", 0, 1),
    ("source_s18.mp4", 160, 1),
    ("driving_d3.mp4", 21, -1),
    ("driving_d9.mp4", 243, -1),
]
PARTS = ("left_eye", "right_eye", "left_brow", "right_brow", "upper_lip", "lower_lip", "nose")
FACE = (*PARTS, "face_skin", "mouth_interior")


def _frame(path: Path, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
    finally:
        cap.release()
    assert ok, f"{path}: no frame {index}"
    return frame


@pytest.fixture(scope="module", params=TURNED, ids=lambda t: f"{t[0]}@{t[1]}")
def turned(request: pytest.FixtureRequest, shared_data: Path):
    """A turned head's frame, its parse with the person mask, and the `glam` look rendered on it."""
    from tryon.pipeline import Pipeline, PipelineOptions

    name, index, sign = request.param
    frame = _frame(need_file(shared_data / "videos" / name), index)
    with Pipeline("glam", options=PipelineOptions(mode="video")) as pipe:
        parse = pipe.parse(frame, body=True)
        out = pipe.render(frame, parse)
    return frame, parse, out, sign


def _yaw(points: np.ndarray) -> float:
    """The nose tip's offset from the middle between the face's sides, in face widths (0 frontal, 0.5 a profile)."""
    left, right = points[topology.RIGHT_FACE_SIDE, 0], points[topology.LEFT_FACE_SIDE, 0]
    return float((points[topology.NOSE_TIP, 0] - left) / max(right - left, 1.0) - 0.5)


def test_the_frames_show_turned_heads_with_every_part(turned):
    _, parse, _, sign = turned
    assert len(parse.faces) == 1
    assert sign * _yaw(parse.faces[0].points) >= 0.18
    labels = parse.labels()
    for name in PARTS:
        assert np.count_nonzero(labels == class_index(name)) >= 40, name


def test_face_classes_lie_on_the_person(turned):
    frame, parse, _, _ = turned
    face = np.isin(parse.labels(), [class_index(c) for c in FACE])
    person = parse.person.full(frame.shape[:2])
    off = np.count_nonzero(face & (person < 128))
    assert off <= 0.005 * np.count_nonzero(face), off


def test_lips_are_redder_than_the_skin_beside_them(turned):
    frame, parse, _, _ = turned
    labels = parse.labels()
    lips = np.isin(labels, [class_index("upper_lip"), class_index("lower_lip")])
    around = cv2.dilate(lips.view(np.uint8), np.ones((15, 15), np.uint8)).view(bool)
    beside = around & (labels == class_index("face_skin"))
    a = cv2.cvtColor(frame, cv2.COLOR_BGR2Lab)[:, :, 1].astype(np.float32)
    assert a[lips].mean() >= a[beside].mean() + 2.0


def test_the_eyes_surroundings_are_face(turned):
    """Inside the face outline and near an eye, no pixel is background (lashes, the far eye's outer corner)."""
    _, parse, _, _ = turned
    points = parse.faces[0].points
    labels = parse.labels()
    inside = np.zeros(labels.shape, np.uint8)
    cv2.fillPoly(inside, [np.round(points[list(topology.FACE_OVAL), :2]).astype(np.int32)], 1)
    near = np.zeros(labels.shape, np.uint8)
    eyes = (topology.LEFT_EYE_UPPER + topology.LEFT_EYE_LOWER, topology.RIGHT_EYE_UPPER + topology.RIGHT_EYE_LOWER)
    for ring in eyes:
        cv2.fillPoly(near, [cv2.convexHull(np.round(points[list(ring), :2]).astype(np.int32))], 1)
    width = float(np.hypot(*(points[topology.LEFT_FACE_SIDE, :2] - points[topology.RIGHT_FACE_SIDE, :2])))
    near = cv2.dilate(near, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(0.12 * width) | 1,) * 2))
    zone = (inside & near).view(bool)
    holes = np.count_nonzero(zone & (labels == class_index("background")))
    assert holes <= 0.004 * np.count_nonzero(zone), holes  # 0.5 to 2.4 % before the fix on source_s18


def test_glam_paints_nothing_on_the_background(turned):
    frame, parse, out, _ = turned
    changed = np.abs(out.astype(np.int16) - frame).max(axis=2) > 2
    person = parse.person.full(frame.shape[:2])
    assert np.count_nonzero(changed) > 5000
    # The selfie mask's own edge is a few pixels off at the jaw: up to 0.14 % of the changed pixels fall past it.
    assert np.count_nonzero(changed & (person < 64)) <= 0.005 * np.count_nonzero(changed)
