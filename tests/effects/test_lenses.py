from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.effects.helpers import lab_distance_to, outside_unchanged
from tryon.color import Color, bgr_to_lab
from tryon.effects import create_effect
from tryon.errors import LookError
from tryon.perception import topology

GREEN = Color.from_hex("#4E8A3E")


def _iris_radius(case) -> np.ndarray:
    """Every pixel's distance to the nearer iris centre, in that iris's radii (from the refined landmarks)."""
    p = case.parse.faces[0].points
    h, w = case.frame.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.full((h, w), np.inf, np.float32)
    for ids in (topology.RIGHT_IRIS, topology.LEFT_IRIS):
        c = p[ids[0]]
        radius = float(np.mean(np.linalg.norm(p[list(ids[1:])] - c, axis=1)))
        out = np.minimum(out, np.hypot(xs - c[0], ys - c[1]) / radius)
    return out


def test_lenses_recolour_the_irises_only(face_cases):
    for case in face_cases:
        # Given a real face and green lenses
        face = case.parse.faces[0]
        out = create_effect("lenses", {"color": GREEN.hex, "intensity": 1.0}).apply(case.frame.copy(), case.parse)
        # Then nothing outside the iris ring changed, nor outside the eyes (the lids occlude the lens)
        outside_unchanged(case.frame, out, [face.mask("irises")])
        outside_unchanged(case.frame, out, [face.mask("left_eye"), face.mask("right_eye")])
        # And the iris moved toward green
        shape = case.frame.shape[:2]
        r = _iris_radius(case)
        iris = (face.mask("irises").full(shape) > 200) & (r > 0.5) & (r < 0.9)
        assert iris.sum() > 30, case.name
        assert lab_distance_to(out, iris, GREEN.lab) < 0.6 * lab_distance_to(case.frame, iris, GREEN.lab), case.name


def test_the_pupils_are_untouched(face_cases):
    for case in face_cases:
        out = create_effect("lenses", {"color": GREEN.hex, "intensity": 1.0, "brighten": 1.0}).apply(
            case.frame.copy(), case.parse
        )
        pupil = _iris_radius(case) < 0.3
        assert pupil.sum() > 10, case.name
        assert np.array_equal(out[pupil], case.frame[pupil]), case.name


def test_iris_texture_is_kept(face_cases):
    for case in face_cases:
        face = case.parse.faces[0]
        r = _iris_radius(case)
        iris = (face.mask("irises").full(case.frame.shape[:2]) > 200) & (r > 0.5) & (r < 0.9)
        out = create_effect("lenses", {"color": GREEN.hex, "intensity": 1.0, "limbal_ring": 0.0}).apply(
            case.frame.copy(), case.parse
        )
        std_before = bgr_to_lab(case.frame)[:, :, 0][iris].std()
        std_after = bgr_to_lab(out)[:, :, 0][iris].std()
        assert std_after > 0.8 * std_before, case.name


def test_limbal_ring_darkens_the_rim(face_case):
    face = face_case.parse.faces[0]
    r = _iris_radius(face_case)
    rim = (face.mask("irises").full(face_case.frame.shape[:2]) > 100) & (r > 0.8) & (r < 0.97)
    L = {}
    for ring in (0.0, 1.0):
        out = create_effect("lenses", {"limbal_ring": ring, "intensity": 1.0}).apply(
            face_case.frame.copy(), face_case.parse
        )
        L[ring] = bgr_to_lab(out)[:, :, 0][rim].mean()
    assert L[1.0] < L[0.0] - 3


def test_catchlights_stay_white(face_cases):
    for case in face_cases:
        # Given a catchlight in each iris (a small white spot up and to the side of the pupil, as a window makes)
        p = case.parse.faces[0].points
        frame = case.frame.copy()
        for ids in (topology.RIGHT_IRIS, topology.LEFT_IRIS):
            c = p[ids[0], :2]
            radius = float(np.mean(np.linalg.norm(p[list(ids[1:]), :2] - c, axis=1)))
            spot = np.round(c + radius * np.array([-0.4, -0.4])).astype(int)
            cv2.circle(frame, (int(spot[0]), int(spot[1])), max(1, round(0.12 * radius)), (250, 250, 250), -1)
        glints = np.all(frame == 250, axis=2) & (case.parse.faces[0].mask("irises").full(frame.shape[:2]) > 0)
        assert glints.sum() >= 2, case.name
        # Then the lens leaves them as they are (they sit on the cornea, above any lens)
        out = create_effect("lenses", {"intensity": 1.0}).apply(frame.copy(), case.parse)
        assert np.array_equal(out[glints], frame[glints]), case.name


def test_brighten_lifts_a_light_lens_on_dark_eyes(face_cases):
    for case in face_cases:
        face = case.parse.faces[0]
        r = _iris_radius(case)
        iris = (face.mask("irises").full(case.frame.shape[:2]) > 200) & (r > 0.5) & (r < 0.85)
        L = {}
        for brighten in (0.0, 1.0):
            out = create_effect("lenses", {"color": "#9CC8E8", "intensity": 1.0, "brighten": brighten}).apply(
                case.frame.copy(), case.parse
            )
            L[brighten] = bgr_to_lab(out)[:, :, 0][iris].mean()
        before = bgr_to_lab(case.frame)[:, :, 0][iris].mean()
        assert abs(L[0.0] - before) < 3, case.name  # no brightening: the iris keeps its lightness
        assert L[1.0] > L[0.0] + 10, case.name  # toward the light lens's L (about 78)


def test_intensity_zero_is_identity(face_case):
    out = create_effect("lenses", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"color": "blue"}, "lenses.color"),
        ({"intensity": 2}, "lenses.intensity: must be in [0.0, 1.0]"),
        ({"brighten": -1}, "lenses.brighten: must be in [0.0, 1.0]"),
        ({"limbal_ring": "thick"}, "lenses.limbal_ring: must be a number"),
        ({"pattern": "starburst"}, "pattern: unknown option; allowed: brighten, color, intensity, limbal_ring"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("lenses", options)
    assert message in str(info.value)
