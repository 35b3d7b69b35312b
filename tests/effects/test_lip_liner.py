from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.effects.helpers import lab_distance_to, outside_unchanged
from tryon.color import Color, bgr_to_lab
from tryon.effects import create_effect
from tryon.errors import LookError

PLUM = Color.from_hex("#5E1F4A")


def _edge_and_core(case, width_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Lip pixels within ``width_px`` of the lips' outer edge, and lip pixels far from every edge."""
    face = case.parse.faces[0]
    shape = case.frame.shape[:2]
    lips = face.mask("lips").full(shape) > 128
    mouth = lips | (face.mask("mouth_interior").full(shape) > 128)
    to_outside = cv2.distanceTransform(mouth.astype(np.uint8), cv2.DIST_L2, 3)
    to_any_edge = cv2.distanceTransform(lips.astype(np.uint8), cv2.DIST_L2, 3)
    return lips & (to_outside <= width_px), lips & (to_any_edge > 3 * width_px)


def _change(before: np.ndarray, after: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(bgr_to_lab(after)[where] - bgr_to_lab(before)[where]).sum(axis=1).mean())


def _face_width(face) -> float:
    return float(np.linalg.norm(face.points[454] - face.points[234]))


def test_lip_liner_draws_along_the_outer_edge_only(face_cases):
    for case in face_cases:
        # Given a real face and a plum liner
        face = case.parse.faces[0]
        edge, core = _edge_and_core(case, max(2, round(0.006 * _face_width(face))))
        assert edge.sum() > 30 and core.sum() > 30, case.name
        # When it is applied
        out = create_effect("lip_liner", {"color": PLUM.hex, "intensity": 1.0}).apply(case.frame.copy(), case.parse)
        # Then nothing outside the lips changed, the edge moved toward plum, and the middle of the lips stayed put
        outside_unchanged(case.frame, out, [face.mask("lips")])
        assert lab_distance_to(out, edge, PLUM.lab) < 0.8 * lab_distance_to(case.frame, edge, PLUM.lab), case.name
        assert _change(case.frame, out, edge) > 4 * _change(case.frame, out, core), case.name


def test_an_open_mouth_gets_no_line_inside(face_cases):
    # Given the smiling face (its lips part over the teeth)
    case = next(c for c in face_cases if c.name == "deepface_img49.jpg")
    face = case.parse.faces[0]
    shape = case.frame.shape[:2]
    lips = face.mask("lips").full(shape) > 128
    interior = face.mask("mouth_interior").full(shape) > 128
    assert interior.sum() > 100
    # When the liner is applied
    out = create_effect("lip_liner", {"color": PLUM.hex, "intensity": 1.0}).apply(case.frame.copy(), case.parse)
    # Then lip pixels along the mouth's opening change far less than those along the outer edge
    near = max(2, round(0.006 * _face_width(face)))
    inner_edge = lips & (cv2.distanceTransform((~interior).astype(np.uint8), cv2.DIST_L2, 3) <= near)
    outer_edge, _ = _edge_and_core(case, near)
    outer_edge &= ~inner_edge
    assert _change(case.frame, out, inner_edge) < 0.5 * _change(case.frame, out, outer_edge)


def test_a_wider_line_covers_more(face_case):
    counts = []
    for width in (0.5, 1.0, 2.5):
        out = create_effect("lip_liner", {"width": width}).apply(face_case.frame.copy(), face_case.parse)
        counts.append(int((np.abs(out.astype(int) - face_case.frame.astype(int)).max(axis=2) > 8).sum()))
    assert counts[0] < counts[1] < counts[2]


def test_intensity_zero_is_identity(face_case):
    out = create_effect("lip_liner", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"color": "#1234"}, "lip_liner.color"),
        ({"intensity": 7}, "lip_liner.intensity: must be in [0.0, 1.0]"),
        ({"width": 0}, "lip_liner.width: must be in [0.25, 3.0]"),
        ({"width": "thin"}, "lip_liner.width: must be a number"),
        ({"overline": True}, "overline: unknown option; allowed: color, intensity, width"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("lip_liner", options)
    assert message in str(info.value)
