from __future__ import annotations

import numpy as np
import pytest

from tests.effects.helpers import lab_distance_to, lid_distance, outside_unchanged
from tryon.color import Color, bgr_to_lab
from tryon.effects import create_effect
from tryon.effects._skin import face_width
from tryon.errors import LookError
from tryon.perception import topology

BLACK = Color.from_hex("#0C0A0B")  # mascara's default
UPPER_LIDS = (topology.RIGHT_EYE_UPPER, topology.LEFT_EYE_UPPER)
LOWER_LIDS = (topology.RIGHT_EYE_LOWER, topology.LEFT_EYE_LOWER)
BROWS = (topology.RIGHT_BROW_LOWER, topology.LEFT_BROW_LOWER)  # the brows' lower edges


def _masks(effect, case):
    face = case.parse.faces[0]
    upper_zone, lower_zone = effect.zone(face, case.frame.shape)
    return face, upper_zone, lower_zone


def _distance(case, chains) -> np.ndarray:
    """Every pixel's distance to the nearest of the landmark chains, in face widths: a bound drawn from the
    landmarks alone, not from the effect's own :meth:`~tryon.effects.mascara.Mascara.zone`."""
    face = case.parse.faces[0]
    return lid_distance(face, case.frame.shape[:2], chains, mask_size=5) / face_width(face)


def test_mascara_darkens_lashes_and_changes_nothing_outside_the_lash_zones(face_cases):
    for case in face_cases:
        # Given a real face and black mascara that darkens without thickening
        effect = create_effect("mascara", {"intensity": 1.0, "volume": 0.0})
        face, upper_zone, lower_zone = _masks(effect, case)
        # When it is applied
        out = effect.apply(case.frame.copy(), case.parse)
        # Then only the lash lines and the zones the lashes reach changed
        outside_unchanged(
            case.frame, out, [face.mask("upper_lash_line"), face.mask("lower_lash_line"), upper_zone, lower_zone]
        )
        # And those zones are where lashes grow: every change lies within 0.06 face widths of a lid margin
        # (measured at most 0.047-0.052), and keeps 0.02 face widths from the brows' lower edge, so nothing on
        # the brows changed (measured 0.032 at the closest; a zone reaching 5x as far touches the brows)
        changed = np.any(out != case.frame, axis=2)
        assert _distance(case, UPPER_LIDS + LOWER_LIDS)[changed].max() < 0.06, case.name
        assert _distance(case, BROWS)[changed].min() > 0.02, case.name
        # And the lashes (the darkest pixels of the upper zone) got darker, while the skin between them did not
        shape = case.frame.shape[:2]
        zone = (upper_zone.full(shape) > 128) & (face.mask("upper_lash_line").full(shape) == 0)
        before, after = bgr_to_lab(case.frame)[:, :, 0][zone], bgr_to_lab(out)[:, :, 0][zone]
        light = before >= np.percentile(before, 60)
        assert np.median(np.abs(after - before)[light]) < 0.5, case.name
        # Lashes are clearly darker than the zone's median; those already black (a face wearing heavy mascara)
        # cannot get darker and are left out.
        dark = (before < np.median(before) - 12) & (before > 12)
        if dark.sum() < 20:
            assert np.median(before) < 30, f"{case.name}: no lashes found in a zone that is not already dark"
            continue
        # Measured -5.1 (deepface_img2), -8.1 and -11.5; with a third of the weight, -2.1 to -4.1.
        assert (after - before)[dark].mean() < -4.5, case.name


@pytest.mark.parametrize(("shade", "bound"), [("#1F4FD8", 0.55), ("#5A3418", 0.65)], ids=["blue", "brown"])
def test_a_coloured_mascara_moves_the_lashes_toward_its_colour(face_cases, shade, bound):
    target = Color.from_hex(shade)
    for case in face_cases:
        # Given the lashes: the pixels black mascara darkens by more than 8 L
        black = create_effect("mascara", {"intensity": 1.0, "color": BLACK.hex}).apply(case.frame.copy(), case.parse)
        lashes = bgr_to_lab(case.frame)[:, :, 0] - bgr_to_lab(black)[:, :, 0] > 8
        assert lashes.sum() > 500, case.name
        # When a coloured mascara is applied instead
        out = create_effect("mascara", {"intensity": 1.0, "color": shade}).apply(case.frame.copy(), case.parse)
        # Then the lashes' a*b* moved most of the way to the colour's: the distance left is, of the distance
        # before, 0.33-0.43 for blue and 0.34-0.53 for brown (measured); black mascara leaves 0.93-1.5
        before = lab_distance_to(case.frame, lashes, target.lab)
        assert lab_distance_to(out, lashes, target.lab) < bound * before, case.name


def test_more_volume_darkens_more_pixels(face_case):
    counts = []
    for volume in (0.0, 1.0):
        out = create_effect("mascara", {"volume": volume, "intensity": 1.0}).apply(
            face_case.frame.copy(), face_case.parse
        )
        counts.append(int(np.any(out != face_case.frame, axis=2).sum()))
    assert counts[1] > counts[0] * 1.1


def test_lower_zero_leaves_the_lower_lashes(face_cases):
    for case in face_cases:
        effect = create_effect("mascara", {"lower": 0.0, "intensity": 1.0})
        face, upper_zone, _ = _masks(effect, case)
        out = effect.apply(case.frame.copy(), case.parse)
        outside_unchanged(case.frame, out, [face.mask("upper_lash_line"), upper_zone])


def test_the_zones_hug_the_eyes(face_cases):
    for case in face_cases:
        # Given the zones mascara may change
        effect = create_effect("mascara", {})
        face, upper_zone, lower_zone = _masks(effect, case)
        shape = case.frame.shape[:2]
        upper, lower = upper_zone.full(shape) > 0, lower_zone.full(shape) > 0
        p = face.points
        eye_span = float(np.linalg.norm(p[263] - p[33]))
        # Then they span the eyes, one above the upper lids and one below the lower lids
        for zone in (upper_zone, lower_zone):
            assert zone.box.width < 1.4 * eye_span
        assert upper_zone.box.y0 < min(p[159][1], p[386][1]) < lower_zone.box.y1
        # And they reach no farther than lashes do: the upper zone 0.065 face widths from the upper lid margin
        # (measured 0.057-0.060, its soft edge included), the lower one 0.045 (measured 0.035-0.037) ...
        assert _distance(case, UPPER_LIDS)[upper].max() < 0.065, case.name
        assert _distance(case, LOWER_LIDS)[lower].max() < 0.045, case.name
        # ... and neither comes within 0.02 face widths of the brows (measured 0.029 at the closest)
        assert _distance(case, BROWS)[upper | lower].min() > 0.02, case.name


def test_intensity_zero_is_identity(face_case):
    out = create_effect("mascara", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"color": "#GG0000"}, "mascara.color"),
        ({"intensity": 3}, "mascara.intensity: must be in [0.0, 1.0]"),
        ({"volume": -0.5}, "mascara.volume: must be in [0.0, 1.0]"),
        ({"lower": "some"}, "mascara.lower: must be a number"),
        ({"length": 1}, "length: unknown option; allowed: color, intensity, lower, volume"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("mascara", options)
    assert message in str(info.value)
