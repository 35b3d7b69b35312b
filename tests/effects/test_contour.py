from __future__ import annotations

import numpy as np
import pytest

from tests.effects._complexion import Crop, ab_distance, band
from tests.effects.helpers import outside_unchanged
from tryon.color import Color
from tryon.effects import create_effect
from tryon.errors import LookError

TAUPE = Color.from_hex("#A57F6E")  # the default cool brown


def _core(crop: Crop) -> np.ndarray:
    """The contour region's strongest part (the region is soft by design)."""
    alpha = crop.alpha("contour")
    return alpha >= max(64, int(np.percentile(alpha[alpha > 0], 75)))


def test_contour_darkens_the_hollows_like_a_multiply_and_touches_nothing_else(face_cases):
    ratios = []
    for case in face_cases:
        # Given a real face
        crop = Crop.around(case)
        core = _core(crop)
        before = crop.lab(case.frame)
        # When contour is applied at full intensity
        out = crop.apply("contour", color=TAUPE.hex, intensity=1.0)
        after = crop.lab(out)
        # Then only the contour region changed ...
        outside_unchanged(case.frame, out, [crop.face.mask("contour")])
        # ... it is darker there and its hue moved toward the cool brown ...
        ratio = after[:, :, 0][core].mean() / before[:, :, 0][core].mean()
        assert ratio < 0.85, (case.name, ratio)
        assert ab_distance(after, core, TAUPE.lab) < 0.8 * ab_distance(before, core, TAUPE.lab), case.name
        # ... and the skin's texture is kept, scaled with the lightness (a multiply keeps relative contrast)
        tex = band(after[:, :, 0], core, 0.0, 0.004 * crop.fw) / band(before[:, :, 0], core, 0.0, 0.004 * crop.fw)
        assert 0.8 * ratio < tex < ratio + 0.12, (case.name, ratio, tex)
        ratios.append(ratio)
    # The shadow is about as deep, relatively, on every face (pale or deep skin alike)
    assert max(ratios) - min(ratios) < 0.12, ratios


def test_a_darker_shade_or_a_higher_intensity_darkens_more(face_case):
    crop = Crop.around(face_case)
    core = _core(crop)

    def light(**options) -> float:
        return float(crop.lab(crop.apply("contour", **options))[:, :, 0][core].mean())

    assert light(color="#8E6D5F", intensity=1.0) < light(color="#B08A78", intensity=1.0)
    assert light(intensity=1.0) < light(intensity=0.5) < light(intensity=0.2)


def test_intensity_zero_is_identity(face_case):
    out = create_effect("contour", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"intensity": 3}, "intensity: must be in [0.0, 1.0]"),
        ({"color": None}, "color"),
        ({"color": "taupe"}, "color: colour must be a hex string"),
        ({"depth": 0.5}, "depth: unknown option; allowed: color, intensity"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("contour", options)
    assert message in str(info.value)
