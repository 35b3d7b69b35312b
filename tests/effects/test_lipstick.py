from __future__ import annotations

import numpy as np
import pytest

from tests.effects.helpers import lab_distance_to, outside_unchanged
from tryon.color import Color, bgr_to_lab
from tryon.effects import create_effect
from tryon.errors import LookError

FINISHES = ["matte", "satin", "gloss", "shimmer", "metallic"]


@pytest.mark.parametrize("finish", FINISHES)
def test_lipstick_changes_only_lips_and_moves_toward_shade(face_cases, finish):
    for case in face_cases:
        # Given a real face and a red lipstick
        face = case.parse.faces[0]
        lips = face.mask("lips")
        target = Color.from_hex("#B0123F")
        # When it is applied
        out = create_effect("lipstick", {"color": target.hex, "finish": finish}).apply(case.frame.copy(), case.parse)
        # Then nothing outside the lips changed, and the lips' colour moved toward the shade
        outside_unchanged(case.frame, out, [lips])
        inside = lips.full(case.frame.shape[:2]) > 200
        assert lab_distance_to(out, inside, target.lab) < 0.8 * lab_distance_to(case.frame, inside, target.lab)


def test_gloss_is_brighter_than_matte_at_the_highlight(face_case):
    lips = face_case.parse.faces[0].mask("lips")
    inside = lips.full(face_case.frame.shape[:2]) > 200
    L = {}
    for finish in ("matte", "gloss"):
        out = create_effect("lipstick", {"color": "#9E1B32", "finish": finish}).apply(
            face_case.frame.copy(), face_case.parse
        )
        L[finish] = bgr_to_lab(out)[:, :, 0][inside]
    assert np.percentile(L["gloss"], 98) > np.percentile(L["matte"], 98) + 3


def test_matte_keeps_texture_but_less_shine(face_case):
    lips = face_case.parse.faces[0].mask("lips")
    inside = lips.full(face_case.frame.shape[:2]) > 200
    out = create_effect("lipstick", {"color": "#9E1B32", "finish": "matte"}).apply(
        face_case.frame.copy(), face_case.parse
    )
    lum = bgr_to_lab(out)[:, :, 0][inside]
    assert lum.std() > 1.0  # texture kept, not flat paint


def test_intensity_zero_is_identity(face_case):
    out = create_effect("lipstick", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"finish": "glitter"}, "allowed: matte, satin, gloss, shimmer, metallic"),
        ({"color": "red"}, "hex"),
        ({"intensity": 2}, "[0.0, 1.0]"),
        ({"shade": "#000000"}, "unknown option"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError, match=None) as info:
        create_effect("lipstick", options)
    assert message in str(info.value)


def test_two_tone_upper_lower_uses_both_shades(face_case):
    face = face_case.parse.faces[0]
    shape = face_case.frame.shape[:2]
    out = create_effect(
        "lipstick", {"color": "#C0392B", "color2": "#2E86C1", "two_tone": "upper_lower", "intensity": 1.0}
    ).apply(face_case.frame.copy(), face_case.parse)
    upper = face.mask("upper_lip").full(shape) > 220
    lower = face.mask("lower_lip").full(shape) > 220
    lab = bgr_to_lab(out)
    assert lab[:, :, 2][lower].mean() < lab[:, :, 2][upper].mean() - 10  # lower lip bluer (lower b*)
