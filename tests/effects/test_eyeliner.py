from __future__ import annotations

import numpy as np
import pytest

from tests.effects.helpers import lab_distance_to, lid_distance, outside_unchanged
from tryon.color import Color, bgr_to_lab
from tryon.effects import create_effect
from tryon.effects._skin import face_width
from tryon.errors import LookError
from tryon.perception import topology

INK = Color.from_hex("#141012")
NAVY = Color.from_hex("#1B2A6B")


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=2)


def _reach(face, changed: np.ndarray, lids) -> float:
    """How far the changed pixels lie from the lid margins ``lids`` (landmark chains), at most, in face widths."""
    return float(lid_distance(face, changed.shape, lids, mask_size=5)[changed].max()) / face_width(face)


def _apply(case, **options):
    effect = create_effect("eyeliner", options)
    return effect, effect.apply(case.frame.copy(), case.parse)


def test_eyeliner_changes_only_the_upper_line_and_darkens_it(face_cases):
    for case in face_cases:
        # Given a real face and the default liner (upper line, no wing)
        face = case.parse.faces[0]
        shape = case.frame.shape[:2]
        effect, out = _apply(case, color=INK.hex, intensity=1.0)
        # Then only the upper lash line and the drawn taper changed
        upper_drawn, lower_drawn = effect.strokes(face, case.frame.shape)
        outside_unchanged(case.frame, out, [face.mask("upper_lash_line"), upper_drawn])
        assert lower_drawn.is_empty  # the lower line is off by default
        # And it stays on the upper lid's margin: the taper rises 0.011 face widths above it at the outer corner
        changed = np.abs(out.astype(np.int16) - case.frame).max(axis=2) > 2
        assert _reach(face, changed, (topology.RIGHT_EYE_UPPER, topology.LEFT_EYE_UPPER)) < 0.02, case.name
        # And the line got darker, toward the ink
        line = face.mask("upper_lash_line").full(shape) > 200
        before, after = bgr_to_lab(case.frame)[line], bgr_to_lab(out)[line]
        assert after[:, 0].mean() < before[:, 0].mean() - 5, case.name
        assert abs(after[:, 0].mean() - INK.lab[0]) < abs(before[:, 0].mean() - INK.lab[0])


def test_a_coloured_liner_takes_its_colour(face_cases):
    for case in face_cases:
        # Given a real face and a navy liner
        face = case.parse.faces[0]
        line = face.mask("upper_lash_line").full(case.frame.shape[:2]) > 200
        _, out = _apply(case, color=NAVY.hex, intensity=1.0)
        # Then the line's a*b* moved most of the way to navy's: the distance left is, of the distance before,
        # 0.15-0.46 (measured, deepface_img49 the most); a black liner leaves 0.86-0.97
        before = lab_distance_to(case.frame, line, NAVY.lab)
        assert lab_distance_to(out, line, NAVY.lab) < 0.55 * before, case.name
        # And it is blue: b* fell by 30-37 toward navy's -40 (measured; a black liner, by 0-8)
        b_before, b_after = bgr_to_lab(case.frame)[line][:, 2].mean(), bgr_to_lab(out)[line][:, 2].mean()
        assert b_after < b_before - 20, case.name


def test_lower_line_darkens_below_the_eye_only_when_asked(face_case):
    face = face_case.parse.faces[0]
    shape = face_case.frame.shape[:2]
    lower = face.mask("lower_lash_line").full(shape) > 150
    upper = face.mask("upper_lash_line").full(shape) > 0
    only_lower = lower & ~upper
    effect, with_lower = _apply(face_case, lower=True, color=NAVY.hex, intensity=1.0)
    _, without = _apply(face_case, lower=False, color=NAVY.hex, intensity=1.0)
    upper_drawn, lower_drawn = effect.strokes(face, face_case.frame.shape)
    outside_unchanged(
        face_case.frame,
        with_lower,
        [face.mask("upper_lash_line"), face.mask("lower_lash_line"), upper_drawn, lower_drawn],
    )
    assert not _changed(face_case.frame, without)[only_lower].any()
    assert _changed(face_case.frame, with_lower)[only_lower].mean() > 0.5


def _outer_reach(face, changed: np.ndarray) -> list[tuple[float, float]]:
    """Per eye: how far changed pixels reach past the outer corner (outward, in eye widths), and how high the
    farthest of them sits above the corner (in eye widths)."""
    p = face.points
    out = []
    for outer, inner in ((topology.RIGHT_EYE_OUTER, 133), (topology.LEFT_EYE_OUTER, 362)):
        corner = p[outer]
        width = float(np.linalg.norm(p[outer] - p[inner]))
        outward = (p[outer] - p[inner]) / width
        up = np.array([outward[1], -outward[0]]) * (1 if outer == topology.LEFT_EYE_OUTER else -1)
        ys, xs = np.nonzero(changed)
        rel = np.stack([xs, ys], axis=1) - corner
        along = rel @ outward / width
        side = along > -0.5  # this eye's half of the changes
        i = int(np.argmax(np.where(side, along, -np.inf)))
        out.append((float(along[i]), float(rel[i] @ up / width)))
    return out


def test_the_wing_flicks_outward_and_up_from_each_outer_corner(face_cases):
    for case in face_cases:
        # Given the liner with and without a wing
        face = case.parse.faces[0]
        effect, winged = _apply(case, wing=True, wing_length=0.4, intensity=1.0)
        _, plain = _apply(case, wing=False, intensity=1.0)
        upper_drawn, _ = effect.strokes(face, case.frame.shape)
        outside_unchanged(case.frame, winged, [face.mask("upper_lash_line"), upper_drawn])
        # Then the wing reaches well past the outer corners, and its tip lies above the corner
        for (reach, lift), (plain_reach, _) in zip(
            _outer_reach(face, _changed(case.frame, winged)), _outer_reach(face, _changed(case.frame, plain))
        ):
            assert reach > plain_reach + 0.2, case.name
            assert lift > 0.05, case.name


def test_longer_and_steeper_wings(face_case):
    face = face_case.parse.faces[0]
    reach = {}
    for length, angle in ((0.2, 10.0), (0.6, 10.0), (0.6, 35.0)):
        _, out = _apply(face_case, wing=True, wing_length=length, wing_angle=angle)
        reach[length, angle] = _outer_reach(face, _changed(face_case.frame, out))
    for eye in (0, 1):
        assert reach[0.6, 10.0][eye][0] > reach[0.2, 10.0][eye][0] + 0.25
        assert reach[0.6, 35.0][eye][1] > reach[0.6, 10.0][eye][1] + 0.05


def test_the_wing_mask_is_small_and_anti_aliased(face_case):
    face = face_case.parse.faces[0]
    effect = create_effect("eyeliner", {"wing": True, "upper": False})
    wing, _ = effect.strokes(face, face_case.frame.shape)
    eye_span = float(np.linalg.norm(face.points[263] - face.points[33]))
    assert wing.box.width < 1.6 * eye_span and wing.box.height < 0.4 * eye_span
    values = np.unique(wing.alpha)
    assert len(values) > 20  # soft edges, not a 0/255 stencil


def test_thicker_liner_covers_more(face_case):
    counts = []
    for thickness in (0.5, 1.0, 2.5):
        _, out = _apply(face_case, thickness=thickness)
        counts.append(int((np.abs(out.astype(int) - face_case.frame.astype(int)).max(axis=2) > 20).sum()))
    assert counts[0] < counts[1] < counts[2]


def test_intensity_zero_is_identity(face_case):
    _, out = _apply(face_case, intensity=0, wing=True, lower=True)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"color": "black"}, "eyeliner.color"),
        ({"intensity": -1}, "eyeliner.intensity: must be in [0.0, 1.0]"),
        ({"thickness": 5}, "eyeliner.thickness: must be in [0.25, 3.0]"),
        ({"wing": "maybe"}, "eyeliner.wing: must be true or false"),
        ({"wing_length": 2}, "eyeliner.wing_length: must be in [0.05, 0.8]"),
        ({"wing_angle": 90}, "eyeliner.wing_angle: must be in [-20.0, 45.0]"),
        ({"style": "cat"}, "style: unknown option; allowed: color, intensity, lower, thickness, upper, wing"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("eyeliner", options)
    assert message in str(info.value)


def test_upper_off_leaves_the_upper_lid_and_draws_only_below(face_case):
    face = face_case.parse.faces[0]
    shape = face_case.frame.shape[:2]
    # Given a liner with only the lower line
    effect, out = _apply(face_case, upper=False, lower=True, color=NAVY.hex, intensity=1.0)
    upper_drawn, lower_drawn = effect.strokes(face, face_case.frame.shape)
    assert upper_drawn.is_empty and not lower_drawn.is_empty
    # Then the upper lash line (where the lower one does not reach) is untouched
    upper = face.mask("upper_lash_line").full(shape) > 0
    lower = (face.mask("lower_lash_line").full(shape) > 0) | (lower_drawn.full(shape) > 0)
    changed = _changed(face_case.frame, out)
    assert upper.sum() > 2 * (upper & lower).sum()  # most of it is away from the lower line (they meet at corners)
    assert not changed[upper & ~lower].any()
    # And what changed hugs the lower lid's margin
    moved = np.abs(out.astype(np.int16) - face_case.frame).max(axis=2) > 2
    assert moved.sum() > 100
    assert _reach(face, moved, (topology.RIGHT_EYE_LOWER, topology.LEFT_EYE_LOWER)) < 0.02
