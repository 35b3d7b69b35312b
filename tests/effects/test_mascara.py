from __future__ import annotations

import numpy as np
import pytest

from tests.effects.helpers import outside_unchanged
from tryon.color import bgr_to_lab
from tryon.effects import create_effect
from tryon.errors import LookError


def _masks(effect, case):
    face = case.parse.faces[0]
    upper_zone, lower_zone = effect.zone(face, case.frame.shape)
    return face, upper_zone, lower_zone


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
        assert (after - before)[dark].mean() < -2.0, case.name


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


def test_the_zones_hug_the_eyes(face_case):
    effect = create_effect("mascara", {})
    face, upper_zone, lower_zone = _masks(effect, face_case)
    p = face.points
    eye_span = float(np.linalg.norm(p[263] - p[33]))
    for zone in (upper_zone, lower_zone):
        assert zone.box.width < 1.4 * eye_span
        assert zone.box.height < 0.5 * eye_span
    assert upper_zone.box.y0 < min(p[159][1], p[386][1]) < lower_zone.box.y1


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
