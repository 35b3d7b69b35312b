from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.effects._complexion import Crop, ab_distance, ab_spread, band
from tests.effects.helpers import outside_unchanged
from tryon.color import Color
from tryon.effects import create_effect
from tryon.errors import LookError

SHADE = Color.from_hex("#C68E6B")  # a medium warm beige


def test_foundation_changes_only_the_face_and_moves_the_skin_toward_the_shade(face_cases):
    for case in face_cases:
        # Given a real face and a foundation shade
        crop = Crop.around(case)
        inside = crop.inside("face")
        # When it is applied at full strength
        out = crop.apply("foundation", color=SHADE.hex, coverage=0.5, intensity=1.0)
        # Then nothing outside the face mask changed (eyes, brows, lips and hair lie outside it) ...
        outside_unchanged(case.frame, out, [crop.face.mask("face")])
        for name in ("left_eye", "right_eye", "left_brow", "upper_lip", "lower_lip"):
            part = (crop.alpha(name) > 128) & (crop.alpha("face") == 0)
            assert np.array_equal(crop.of(out)[part], crop.of(case.frame)[part]), (case.name, name)
        # ... and the skin's colour moved toward the shade, in hue and in lightness
        before, after = crop.lab(case.frame), crop.lab(out)
        assert ab_distance(after, inside, SHADE.lab) < 0.6 * ab_distance(before, inside, SHADE.lab), case.name
        gap_before = abs(before[:, :, 0][inside].mean() - SHADE.lab[0])
        assert abs(after[:, :, 0][inside].mean() - SHADE.lab[0]) < max(0.5 * gap_before, 2.0), case.name


def test_coverage_evens_out_colour_but_keeps_pores_and_lighting(face_cases):
    for case in face_cases:
        crop = Crop.around(case)
        inside, core = crop.inside("face"), crop.inside("face", erode_faces=0.03)
        fw = crop.fw
        before = crop.lab(case.frame)
        # Given a real face, when foundation is applied at sheer, medium and full coverage
        labs = {
            c: crop.lab(crop.apply("foundation", color=SHADE.hex, coverage=c, intensity=1.0)) for c in (0.0, 0.5, 1.0)
        }
        spread = {c: ab_spread(lab, inside) for c, lab in labs.items()}
        blotches = {c: band(lab[:, :, 0], core, 0.004 * fw, 0.03 * fw) for c, lab in labs.items()}
        # Then the a*/b* spread and the L blotchiness drop as the coverage grows ...
        assert spread[1.0] < spread[0.5] < spread[0.0], (case.name, spread)
        assert blotches[1.0] < 0.8 * blotches[0.5] < 0.8 * blotches[0.0], (case.name, blotches)
        if ab_spread(before, inside) > 1.0:  # (a black-and-white photo has no colour spread to start with)
            assert spread[1.0] < 0.6 * ab_spread(before, inside), (case.name, spread)
        # ... while the pores (the finest texture) stay, and so does the face's lighting (broad changes of L)
        pores = band(before[:, :, 0], core, 0.0, 0.004 * fw)
        assert band(labs[1.0][:, :, 0], core, 0.0, 0.004 * fw) > 0.9 * pores, case.name
        broad_before = cv2.GaussianBlur(before[:, :, 0], (0, 0), 0.06 * fw)[core]
        broad_after = cv2.GaussianBlur(labs[1.0][:, :, 0], (0, 0), 0.06 * fw)[core]
        assert np.corrcoef(broad_before, broad_after)[0, 1] > 0.9, case.name


def test_without_a_shade_foundation_matches_the_skin_and_only_evens_it_out(face_cases):
    for case in face_cases:
        crop = Crop.around(case)
        inside = crop.inside("face")
        before, after = crop.lab(case.frame), crop.lab(crop.apply("foundation", coverage=1.0, intensity=1.0))
        shift = after[inside].mean(axis=0) - before[inside].mean(axis=0)
        assert np.abs(shift).max() < 1.5, (case.name, shift)  # the same mean colour ...
        if ab_spread(before, inside) > 1.0:
            assert ab_spread(after, inside) < 0.7 * ab_spread(before, inside), case.name  # ... but more even


def test_foundation_fades_out_softly_at_the_edge_of_the_face(face_cases):
    for case in face_cases:
        # Given each pixel's distance (in face widths) from the face's outer edge: the hairline and the jaw (the
        # holes of the eyes, brows and lips filled: foundation goes up to the lash and lip lines, as worn)
        crop = Crop.around(case)
        skin = (crop.alpha("face") > 0).astype(np.uint8)
        outline, _ = cv2.findContours(skin, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        face = cv2.drawContours(np.zeros_like(skin), outline, -1, 1, -1)
        depth = cv2.distanceTransform(face, cv2.DIST_L2, 5) / crop.fw
        depth[skin == 0] = 0.0
        # When a shade far from the skin is applied
        out = crop.apply("foundation", color="#F0D0B0", coverage=0.5, intensity=1.0)
        moved = np.abs(crop.of(out).astype(np.int16) - crop.of(case.frame)).sum(axis=2)
        # Then the change grows steadily from the edge inward: no hard line at the hairline or the jaw
        core = moved[depth > 0.08].mean()
        bands = [
            moved[(depth > lo) & (depth <= hi)].mean() / core
            for lo, hi in ((0.0, 0.01), (0.01, 0.02), (0.02, 0.04), (0.04, 0.08))
        ]
        assert bands[0] < 0.15, (case.name, bands)
        # (the mask's soft tail reaches past the pixels where the change shows: the two outer bands may be level, at
        # a few per cent of the core's change or none)
        assert all(a <= b + 0.01 for a, b in zip(bands, bands[1:])) and bands[-1] > 0.3, (case.name, bands)


def test_intensity_zero_is_identity(face_case):
    out = create_effect("foundation", {"color": SHADE.hex, "intensity": 0}).apply(
        face_case.frame.copy(), face_case.parse
    )
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"coverage": 1.5}, "coverage: must be in [0.0, 1.0]"),
        ({"coverage": "full"}, "coverage: must be a number"),
        ({"intensity": -0.1}, "intensity: must be in [0.0, 1.0]"),
        ({"color": "beige"}, "color: colour must be a hex string"),
        ({"finish": "matte"}, "finish: unknown option; allowed: color, coverage, intensity"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("foundation", options)
    assert message in str(info.value)
