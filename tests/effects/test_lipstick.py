from __future__ import annotations

import cv2
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


def _lips_L(case, **options) -> np.ndarray:
    inside = case.parse.faces[0].mask("lips").full(case.frame.shape[:2]) > 200
    out = create_effect("lipstick", {"color": "#9E1B32", **options}).apply(case.frame.copy(), case.parse)
    return bgr_to_lab(out)[:, :, 0][inside]


def test_matte_has_less_shine_than_satin(face_cases):
    for case in face_cases:
        # The shine: how far the brightest lip pixels stand above the lips' typical lightness
        shine = {}
        for finish in ("matte", "satin"):
            L = _lips_L(case, finish=finish)
            shine[finish] = np.percentile(L, 98) - np.median(L)
        assert shine["matte"] < 0.8 * shine["satin"], (case.name, shine)


def test_more_gloss_gives_a_brighter_highlight(face_cases):
    for case in face_cases:
        peak = {g: np.percentile(_lips_L(case, finish="gloss", gloss=g), 98) for g in (0.1, 1.0)}
        assert peak[1.0] > peak[0.1] + 3, (case.name, peak)


def _ombre_b(case, **options) -> tuple[float, float, float]:
    """Mean b* of the lips' rim, their depth, and all of them, with a red ``color`` and a blue ``color2``."""
    lips = case.parse.faces[0].mask("lips").full(case.frame.shape[:2])
    solid = (lips > 128).astype(np.uint8)
    depth = cv2.distanceTransform(solid, cv2.DIST_L2, 3)
    rim = (depth > 0) & (depth <= 0.2 * depth.max()) & (lips > 200)
    core = depth >= 0.6 * depth.max()
    out = create_effect("lipstick", {"color": "#C0392B", "color2": "#2E86C1", "intensity": 1.0, **options}).apply(
        case.frame.copy(), case.parse
    )
    b = bgr_to_lab(out)[:, :, 2]
    return float(b[rim].mean()), float(b[core].mean()), float(b[lips > 200].mean())


def test_ombre_puts_the_second_shade_in_the_lips_depth(face_cases):
    for case in face_cases:
        # Given red as the shade and blue as color2, laid out as an ombre (the default with color2)
        rim, core, _ = _ombre_b(case)
        # Then the depth of the lips is bluer (lower b*) than their rim, which keeps the red
        assert core < rim - 15, (case.name, rim, core)
        assert rim > 0 > core, (case.name, rim, core)  # red (b* > 0) at the rim, blue (b* < 0) in the depth


def test_narrower_ombre_width_spreads_the_second_shade(face_case):
    _, _, wide = _ombre_b(face_case, ombre_width=1.0)
    _, _, narrow = _ombre_b(face_case, ombre_width=0.2)
    assert narrow < wide - 5  # more of the lips reach color2 (blue: lower b*)
