from __future__ import annotations

import numpy as np
import pytest

from tests.effects._complexion import Crop, ab_distance, band
from tests.effects.helpers import outside_unchanged
from tryon.color import Color
from tryon.effects import create_effect
from tryon.errors import LookError

ROSE = Color.from_hex("#E0787F")
CORAL = Color.from_hex("#F08060")


@pytest.mark.parametrize("shade", [ROSE, CORAL], ids=["rose", "coral"])
def test_blush_colours_only_the_cheeks_and_keeps_their_lightness_and_texture(face_cases, shade):
    for case in face_cases:
        # Given a real face
        crop = Crop.around(case)
        inside = crop.inside("cheeks", 200)
        before = crop.lab(case.frame)
        # When blush is applied at full intensity
        out = crop.apply("blush", color=shade.hex, intensity=1.0)
        after = crop.lab(out)
        # Then only the cheeks changed, their hue moved to the blush, and L and texture barely moved
        outside_unchanged(case.frame, out, [crop.face.mask("cheeks")])
        assert ab_distance(after, inside, shade.lab) < 0.6 * ab_distance(before, inside, shade.lab), case.name
        assert abs(after[:, :, 0][inside].mean() - before[:, :, 0][inside].mean()) < 5.0, case.name
        tex = band(before[:, :, 0], inside, 0.0, 0.004 * crop.fw)
        assert band(after[:, :, 0], inside, 0.0, 0.004 * crop.fw) > 0.9 * tex, case.name


def test_blush_is_diffused_strongest_at_the_centre_fading_outward(face_cases):
    for case in face_cases:
        crop = Crop.around(case)
        alpha = crop.alpha("cheeks")
        out = crop.apply("blush", intensity=1.0)
        moved = np.hypot(*(crop.lab(out) - crop.lab(case.frame))[:, :, 1:].transpose(2, 0, 1))
        # The colour change rises steadily with the region's depth, and its rim gets much less than the centre
        levels = [moved[(alpha > lo) & (alpha <= hi)].mean() for lo, hi in ((0, 64), (64, 128), (128, 192), (192, 255))]
        assert all(a < b for a, b in zip(levels, levels[1:])), (case.name, levels)
        assert levels[0] < 0.25 * levels[-1], (case.name, levels)


def test_intensity_zero_is_identity(face_case):
    out = create_effect("blush", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"intensity": -1}, "intensity: must be in [0.0, 1.0]"),
        ({"color": "pink"}, "color: colour must be a hex string"),
        ({"color": [255, 0]}, "color: colour must be '#RRGGBB' or [r, g, b]"),
        ({"placement": "apples"}, "placement: unknown option; allowed: color, intensity"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("blush", options)
    assert message in str(info.value)
