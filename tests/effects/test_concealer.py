from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.effects._complexion import Crop, ab_distance, band
from tests.effects.helpers import outside_unchanged
from tryon.color import Color
from tryon.effects import create_effect
from tryon.errors import LookError

PEACH = Color.from_hex("#F2B8A0")  # a peach corrector, far from the bluish under-eye


def _under_and_around(crop: Crop) -> tuple[np.ndarray, np.ndarray]:
    """The under-eye's solid inside, and the face's skin around it (within 0.06 face widths, outside it)."""
    under = crop.inside("under_eye", 200)
    k = int(0.06 * crop.fw) | 1
    near = cv2.dilate((crop.alpha("under_eye") > 0).astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    around = near & (crop.alpha("under_eye") == 0) & (crop.alpha("face") > 200)
    return under, around


def _gap(lab: np.ndarray, under: np.ndarray, around: np.ndarray) -> float:
    """How much darker the under-eye is than the skin around it (L units)."""
    return float(lab[:, :, 0][around].mean() - lab[:, :, 0][under].mean())


def test_concealer_lifts_under_eye_darkness_toward_the_skin_around_it(face_cases):
    for case in face_cases:
        # Given a real face whose under-eye is darker than the skin around it
        crop = Crop.around(case)
        under, around = _under_and_around(crop)
        before = crop.lab(case.frame)
        gap = _gap(before, under, around)
        assert gap > 3.0, (case.name, gap)
        # When concealer is applied with more and more coverage
        outs = {c: crop.apply("concealer", coverage=c, intensity=1.0) for c in (0.5, 1.0)}
        # Then only the under-eye changed, and the darkness shrinks with the coverage ...
        outside_unchanged(case.frame, outs[1.0], [crop.face.mask("under_eye")])
        gaps = {c: _gap(crop.lab(out), under, around) for c, out in outs.items()}
        assert abs(gaps[1.0]) < 0.4 * gap, (case.name, gap, gaps)
        assert abs(gaps[1.0]) < gaps[0.5] < 0.8 * gap, (case.name, gap, gaps)
        # ... while the skin's fine texture stays
        after = crop.lab(outs[1.0])
        tex = band(before[:, :, 0], under, 0.0, 0.004 * crop.fw)
        assert band(after[:, :, 0], under, 0.0, 0.004 * crop.fw) > 0.8 * tex, case.name


def test_a_concealer_shade_tints_the_under_eye(face_cases):
    for case in face_cases:
        crop = Crop.around(case)
        under, _ = _under_and_around(crop)
        out = crop.apply("concealer", color=PEACH.hex, coverage=1.0, intensity=1.0)
        outside_unchanged(case.frame, out, [crop.face.mask("under_eye")])
        before = ab_distance(crop.lab(case.frame), under, PEACH.lab)
        assert ab_distance(crop.lab(out), under, PEACH.lab) < 0.7 * before, case.name


def test_coverage_zero_without_a_shade_changes_nothing_visible(face_case):
    out = create_effect("concealer", {"coverage": 0.0, "intensity": 1.0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.abs(out.astype(np.int16) - face_case.frame).max() <= 1


def test_intensity_zero_is_identity(face_case):
    out = create_effect("concealer", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"coverage": 2}, "coverage: must be in [0.0, 1.0]"),
        ({"intensity": "strong"}, "intensity: must be a number"),
        ({"color": "#12345"}, "color: colour must be a hex string"),
        ({"color": [300, 0, 0]}, "color: colour channel r must be an integer in 0..255"),
        ({"shade": "#F2B8A0"}, "shade: unknown option; allowed: color, coverage, intensity"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("concealer", options)
    assert message in str(info.value)
