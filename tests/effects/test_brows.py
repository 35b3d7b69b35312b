from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.effects.helpers import lab_distance_to, outside_unchanged
from tryon.color import Color, bgr_to_lab
from tryon.effects import create_effect
from tryon.effects._skin import face_width
from tryon.errors import LookError

AUBURN = Color.from_hex("#7A3B1C")


def _hair_and_gaps(case):
    """Brow pixels split into hairs (darker) and the skin between them (lighter), by lightness within the brow.

    Gaps are light pixels with hairs around them (a fifth or more of their neighbourhood, a hair's spacing across);
    the mask's light pixels with no hair near (the skin a wide mask takes above or below a thin brow) are the third
    set, bare skin.
    """
    brows = case.parse.faces[0].mask("brows").full(case.frame.shape[:2]) > 160
    light = bgr_to_lab(case.frame)[:, :, 0]
    lo, hi = np.percentile(light[brows], [35, 75])
    hairs = brows & (light <= lo)
    sigma = 0.012 * face_width(case.parse.faces[0])
    density = cv2.GaussianBlur(hairs.astype(np.float32), (0, 0), sigma)
    light_skin = brows & (light >= hi)
    return hairs, light_skin & (density >= 0.2), light_skin & (density < 0.03)


def test_brows_change_only_the_brows_and_tint_the_hairs(face_cases):
    for case in face_cases:
        # Given a real face and an auburn brow tint, without fill
        face = case.parse.faces[0]
        hairs, _, _ = _hair_and_gaps(case)
        # When it is applied
        out = create_effect("brows", {"color": AUBURN.hex, "intensity": 1.0, "fill": 0.0}).apply(
            case.frame.copy(), case.parse
        )
        # Then nothing outside the brow mask changed, and the hairs moved most of the way to auburn: the a*b*
        # distance left is, of the distance before, 0.07, 0.10 and 0.18 (measured; at half the weight, 0.53-0.55)
        outside_unchanged(case.frame, out, [face.mask("brows")])
        before = lab_distance_to(case.frame, hairs, AUBURN.lab)
        assert lab_distance_to(out, hairs, AUBURN.lab) < 0.25 * before, case.name


def test_hair_texture_is_kept(face_cases):
    for case in face_cases:
        brows = case.parse.faces[0].mask("brows").full(case.frame.shape[:2]) > 160
        out = create_effect("brows", {"color": AUBURN.hex, "intensity": 1.0, "fill": 1.0}).apply(
            case.frame.copy(), case.parse
        )
        std_before = bgr_to_lab(case.frame)[:, :, 0][brows].std()
        std_after = bgr_to_lab(out)[:, :, 0][brows].std()
        assert std_after > 0.6 * std_before, case.name


def test_fill_colours_the_gaps_between_hairs_not_the_skin_around_the_brow(face_cases):
    for case in face_cases:
        # Given the skin between the hairs of a brow, and skin the brow mask holds away from any hair
        _, gaps, bare = _hair_and_gaps(case)
        change, bare_change = {}, {}
        for fill in (0.0, 1.0):
            out = create_effect("brows", {"color": AUBURN.hex, "intensity": 1.0, "fill": fill}).apply(
                case.frame.copy(), case.parse
            )
            outside_unchanged(case.frame, out, [case.parse.faces[0].mask("brows")])
            moved = np.abs(bgr_to_lab(out) - bgr_to_lab(case.frame)).sum(axis=2)
            change[fill] = moved[gaps].mean()
            bare_change[fill] = moved[bare].mean() if bare.any() else 0.0
        # Then filling changes those gaps clearly more than tinting the hairs alone ...
        assert change[1.0] > change[0.0] + 3.0, (case.name, change)
        # ... and the bare skin around the brow far less than the gaps: the powder follows the brow's shape,
        # not the mask's box
        assert bare_change[1.0] < 0.35 * change[1.0], (case.name, bare_change, change)


def test_intensity_zero_is_identity(face_case):
    out = create_effect("brows", {"intensity": 0, "fill": 1}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"color": [300, 0, 0]}, "brows.color"),
        ({"intensity": 1.01}, "brows.intensity: must be in [0.0, 1.0]"),
        ({"fill": -0.2}, "brows.fill: must be in [0.0, 1.0]"),
        ({"fill": True}, "brows.fill: must be a number"),
        ({"shape": "arched"}, "shape: unknown option; allowed: color, fill, intensity"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("brows", options)
    assert message in str(info.value)
