from __future__ import annotations

import numpy as np
import pytest

from tests.effects._complexion import Crop, ab_distance, band, moved_parse
from tests.effects.helpers import outside_unchanged
from tryon.color import Color
from tryon.effects import create_effect
from tryon.errors import LookError

GOLD = Color.from_hex("#F5C16C")


def test_highlighter_brightens_only_the_high_points_keeping_texture(face_cases):
    for case in face_cases:
        # Given a real face
        crop = Crop.around(case)
        inside = crop.inside("highlight", 200)
        before = crop.lab(case.frame)
        # When a smooth (no shimmer) highlighter is applied at full intensity
        out = crop.apply("highlighter", intensity=1.0, shimmer=0.0)
        after = crop.lab(out)
        # Then only the highlight region changed, it is lighter, and its texture is still there
        outside_unchanged(case.frame, out, [crop.face.mask("highlight")])
        lift = after[:, :, 0][inside] - before[:, :, 0][inside]
        assert lift.mean() > 3.0 and np.percentile(lift, 5) > 0.0, (case.name, lift.mean())
        tex = band(before[:, :, 0], inside, 0.0, 0.004 * crop.fw)
        assert band(after[:, :, 0], inside, 0.0, 0.004 * crop.fw) > 0.8 * tex, case.name


def test_highlighter_takes_the_tint_of_its_colour(face_cases):
    for case in face_cases:
        crop = Crop.around(case)
        inside = crop.inside("highlight", 200)
        out = crop.apply("highlighter", color=GOLD.hex, intensity=1.0, shimmer=0.0)
        before = ab_distance(crop.lab(case.frame), inside, GOLD.lab)
        assert ab_distance(crop.lab(out), inside, GOLD.lab) < 0.9 * before, case.name


def _glints(crop: Crop, inside: np.ndarray, shimmer: float) -> float:
    """How far the brightest specks rise above the typical lift (99th minus 50th percentile of the L change)."""
    before = crop.lab(crop.case.frame)[:, :, 0][inside]
    lift = crop.lab(crop.apply("highlighter", intensity=1.0, shimmer=shimmer))[:, :, 0][inside] - before
    return float(np.percentile(lift, 99) - np.percentile(lift, 50))


def test_on_deep_skin_the_highlighter_glows_warm_instead_of_turning_grey(face_cases):
    for case in face_cases:
        # Given the face darkened to a deep skin tone (lightness about a third, the colour's hue kept)
        crop = Crop.around(case)
        inside = crop.inside("highlight", 200)
        deep = (case.frame.astype(np.float32) * 0.35).astype(np.uint8)
        before = crop.lab(deep)
        # When a pale champagne highlighter is applied at full intensity
        out = create_effect("highlighter", {"intensity": 1.0, "shimmer": 0.0}).apply(deep.copy(), case.parse)
        after = crop.lab(out)
        # Then the skin is lit, by no more than its own lightness (halfway to white would be grey paint on it),
        # and it keeps its saturation: a highlighter on deep skin glows, it does not turn ashy
        l0, l1 = before[:, :, 0][inside], after[:, :, 0][inside]
        assert (l1 - l0).mean() > 3.0, case.name
        assert np.percentile(l1 - l0, 95) <= 0.5 * float(np.percentile(l0, 95)) + 1.0, case.name
        chroma = [float(np.hypot(x[:, :, 1], x[:, :, 2])[inside].mean()) for x in (before, after)]
        assert chroma[1] >= 0.95 * chroma[0], (case.name, chroma)


def test_shimmer_adds_sparkles(face_cases):
    for case in face_cases:
        crop = Crop.around(case)
        inside = crop.inside("highlight", 200)
        sparkle = {s: _glints(crop, inside, s) for s in (0.0, 0.5, 1.0)}
        assert sparkle[0.0] < sparkle[0.5] < sparkle[1.0], (case.name, sparkle)
        assert sparkle[1.0] > 2.0 * sparkle[0.0] + 1.0, (case.name, sparkle)


def test_sparkles_stay_on_the_skin_when_the_face_moves(face_case):
    # Given the same face in a frame and shifted 7 right and 5 down in another
    frame, parse = face_case.frame, face_case.parse
    dx, dy = 7, 5
    shape = (frame.shape[0] + dy, frame.shape[1] + dx)
    shifted = np.zeros((*shape, 3), np.uint8)
    shifted[dy:, dx:] = frame
    effect = create_effect("highlighter", {"intensity": 1.0, "shimmer": 1.0})
    # When the shimmering highlighter is applied to both
    out = effect.apply(frame.copy(), parse)
    out_shifted = effect.apply(shifted, moved_parse(parse, shape, offset=(dx, dy)))
    # Then the sparkles land on the same skin: the results agree pixel for pixel, up to rounding
    box = parse.faces[0].mask("highlight").box
    a = out[box.slices].astype(np.int16)
    b = out_shifted[box.y0 + dy : box.y1 + dy, box.x0 + dx : box.x1 + dx].astype(np.int16)
    assert np.mean(np.abs(a - b) <= 2) > 0.98


def test_intensity_zero_is_identity(face_case):
    out = create_effect("highlighter", {"intensity": 0, "shimmer": 1}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shimmer": 1.5}, "shimmer: must be in [0.0, 1.0]"),
        ({"shimmer": True}, "shimmer: must be a number"),
        ({"intensity": "max"}, "intensity: must be a number"),
        ({"color": "champagne"}, "color: colour must be a hex string"),
        ({"glow": 1}, "glow: unknown option; allowed: color, intensity, shimmer"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("highlighter", options)
    assert message in str(info.value)
