from __future__ import annotations

import numpy as np
import pytest

from tests.effects.helpers import lab_distance_to, lid_distance, outside_unchanged
from tryon.color import Color, bgr_to_lab
from tryon.effects import create_effect
from tryon.effects._eyes import face_width, lash_map
from tryon.errors import LookError
from tryon.geometry import Box, RoiMask
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.perception import topology

FINISHES = ["matte", "shimmer", "metallic"]
PLUM = Color.from_hex("#7A3F8C")
TEAL = Color.from_hex("#1F6F78")


@pytest.mark.parametrize("finish", FINISHES)
def test_eyeshadow_changes_only_lids_and_crease_and_moves_toward_the_shades(face_cases, finish):
    for case in face_cases:
        # Given a real face, a plum lid shade and a teal crease shade (far from any skin tone)
        face = case.parse.faces[0]
        lids, crease = face.mask("lids"), face.mask("crease")
        shape = case.frame.shape[:2]
        on_lid, on_crease = lids.full(shape) > 200, crease.full(shape) > 150
        assert on_lid.sum() > 50 and on_crease.sum() > 50, case.name
        lid_only = create_effect(
            "eyeshadow", {"lid_color": PLUM.hex, "crease_color": None, "finish": finish, "intensity": 1.0}
        )
        both = create_effect(
            "eyeshadow", {"lid_color": PLUM.hex, "crease_color": TEAL.hex, "finish": finish, "intensity": 1.0}
        )
        # When the lid shade is applied alone, then with the crease shade
        out_lid = lid_only.apply(case.frame.copy(), case.parse)
        out_both = both.apply(case.frame.copy(), case.parse)
        # Then nothing outside the masks changed, the lid moved toward plum and the crease toward teal
        outside_unchanged(case.frame, out_both, [lids, crease])
        before = lab_distance_to(case.frame, on_lid, PLUM.lab)
        assert lab_distance_to(out_lid, on_lid, PLUM.lab) < 0.6 * before, case.name
        teal_without = lab_distance_to(out_lid, on_crease, TEAL.lab)
        assert lab_distance_to(out_both, on_crease, TEAL.lab) < 0.75 * teal_without, case.name


def test_without_a_crease_shade_only_the_lids_change(face_case):
    face = face_case.parse.faces[0]
    out = create_effect("eyeshadow", {"lid_color": PLUM.hex, "crease_color": None}).apply(
        face_case.frame.copy(), face_case.parse
    )
    outside_unchanged(face_case.frame, out, [face.mask("lids")])
    assert not np.array_equal(out, face_case.frame)


def test_the_lid_shade_fades_from_the_lash_line_upward(face_cases):
    for case in face_cases:
        # Given a full fade and no crease shade
        face = case.parse.faces[0]
        shape = case.frame.shape[:2]
        effect = create_effect(
            "eyeshadow", {"lid_color": PLUM.hex, "crease_color": None, "fade": 1.0, "intensity": 1.0, "finish": "matte"}
        )
        # When it is applied
        out = effect.apply(case.frame.copy(), case.parse)
        # Then the colour change is stronger near the lashes than at the top of the lid
        lid = face.mask("lids").full(shape) > 200
        dist = lid_distance(face, shape, (topology.RIGHT_EYE_UPPER, topology.LEFT_EYE_UPPER))
        near = lid & (dist <= np.percentile(dist[lid], 33))
        far = lid & (dist >= np.percentile(dist[lid], 67))
        before, after = bgr_to_lab(case.frame), bgr_to_lab(out)
        change = np.hypot(after[:, :, 1] - before[:, :, 1], after[:, :, 2] - before[:, :, 2])
        assert change[near].mean() > 1.3 * change[far].mean(), case.name


@pytest.mark.parametrize("finish", ["shimmer", "metallic"])
def test_shimmer_adds_sparse_bright_flecks(face_cases, finish):
    for case in face_cases:
        # Given the same shade without and with shimmer
        lid = case.parse.faces[0].mask("lids").full(case.frame.shape[:2]) > 150
        L = {}
        for amount in (0.0, 1.0):
            effect = create_effect("eyeshadow", {"lid_color": PLUM.hex, "finish": finish, "shimmer": amount})
            L[amount] = bgr_to_lab(effect.apply(case.frame.copy(), case.parse))[:, :, 0][lid]
        # Then shimmer makes some pixels much brighter (flecks), but not the whole lid (not a flat lift)
        flecks = float(((L[1.0] - L[0.0]) > 12).mean())
        assert 0.003 < flecks < 0.2, (case.name, flecks)


def test_matte_has_no_flecks(face_case):
    lid = face_case.parse.faces[0].mask("lids").full(face_case.frame.shape[:2]) > 150
    L = {}
    for amount in (0.0, 1.0):
        effect = create_effect("eyeshadow", {"lid_color": PLUM.hex, "finish": "matte", "shimmer": amount})
        L[amount] = bgr_to_lab(effect.apply(face_case.frame.copy(), face_case.parse))[:, :, 0][lid]
    assert np.array_equal(L[0.0], L[1.0])


def _shifted(frame: np.ndarray, parse: FrameParse, dx: int, dy: int) -> tuple[np.ndarray, FrameParse]:
    """The frame and its parse moved by (dx, dy) pixels (dx, dy >= 0), padding with zeros."""
    h, w = frame.shape[:2]
    moved = np.zeros_like(frame)
    moved[dy:, dx:] = frame[: h - dy, : w - dx]
    faces = []
    for face in parse.faces:
        masks = {}
        for name, m in face.masks.items():
            box = Box(m.box.x0 + dx, m.box.y0 + dy, m.box.x1 + dx, m.box.y1 + dy)
            clip = box.clip((h, w))
            masks[name] = RoiMask(clip, np.ascontiguousarray(m.alpha[clip.relative_to(box).slices]))
        landmarks = face.landmarks + np.array([dx, dy, 0], np.float32)
        b = face.box
        faces.append(Face(face.id, landmarks, Box(b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy).clip((h, w)), masks))
    return moved, FrameParse((h, w), tuple(faces))


def test_sparkles_move_with_the_face(face_case):
    # Given the same face at two places in the frame
    effect = create_effect("eyeshadow", {"lid_color": PLUM.hex, "finish": "shimmer", "shimmer": 1.0})
    dx, dy = 17, 9
    moved, moved_parse = _shifted(face_case.frame, face_case.parse, dx, dy)
    # When the shimmer is applied to both
    out = effect.apply(face_case.frame.copy(), face_case.parse)
    out_moved = effect.apply(moved, moved_parse)
    # Then the results agree once moved back: the sparkles stay on the same spot of skin
    box = face_case.parse.faces[0].mask("lids").box
    a = out[box.slices].astype(int)
    b = out_moved[box.y0 + dy : box.y1 + dy, box.x0 + dx : box.x1 + dx].astype(int)
    assert np.abs(a - b).max() <= 2


def test_intensity_zero_is_identity(face_case):
    out = create_effect("eyeshadow", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"finish": "glitter"}, "eyeshadow.finish: 'glitter' is not allowed; allowed: matte, shimmer, metallic"),
        ({"lid_color": "purple"}, "eyeshadow.lid_color"),
        ({"crease_color": "#12"}, "eyeshadow.crease_color"),
        ({"intensity": 1.5}, "eyeshadow.intensity: must be in [0.0, 1.0]"),
        ({"crease_intensity": -0.1}, "eyeshadow.crease_intensity: must be in [0.0, 1.0]"),
        ({"shimmer": 2}, "eyeshadow.shimmer: must be in [0.0, 1.0]"),
        ({"fade": "lots"}, "eyeshadow.fade: must be a number"),
        ({"glitter": 1}, "glitter: unknown option; allowed: crease_color, crease_intensity, fade, finish"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("eyeshadow", options)
    assert message in str(info.value)


def test_crease_intensity_sets_how_far_the_crease_moves(face_cases):
    for case in face_cases:
        crease = case.parse.faces[0].mask("crease").full(case.frame.shape[:2]) > 150
        distance = {}
        for amount in (0.2, 1.0):
            out = create_effect(
                "eyeshadow",
                {"lid_color": PLUM.hex, "crease_color": TEAL.hex, "crease_intensity": amount, "intensity": 1.0},
            ).apply(case.frame.copy(), case.parse)
            distance[amount] = lab_distance_to(out, crease, TEAL.lab)
        # (the lid's plum reaches into the crease band too: at 0.2 the band is plum more than teal)
        assert distance[1.0] < distance[0.2] - 10, (case.name, distance)


def test_lashes_and_the_lids_fold_keep_their_darkness_and_take_the_shades_hue(face_cases):
    for case in face_cases:
        # Given the thin dark lines on the lid (lashes, the fold), as the effect tells them: clearly darker than the
        # lid around them, and thin
        face = case.parse.faces[0]
        lids = face.mask("lids")
        box = lids.box
        lab = bgr_to_lab(case.frame)[box.slices]
        alpha = lids.alpha.astype(np.float32) / 255.0
        lines = (lash_map(lab[:, :, 0], alpha, face_width(face)) > 0.8) & (alpha > 0.8)
        assert lines.sum() > 10, case.name
        # When a grey shadow is applied (no crease shade, no fade)
        grey = Color.from_hex("#6E6E72")
        out = create_effect(
            "eyeshadow", {"lid_color": grey.hex, "crease_color": None, "fade": 0.0, "intensity": 1.0}
        ).apply(case.frame.copy(), case.parse)
        after = bgr_to_lab(out)[box.slices]
        # Then those lines stay as dark as they were (powder does not lighten lashes) but lose most of their skin
        # colour: a brown fold left as it was would show as a line of skin through the grey
        assert np.abs(after[:, :, 0][lines] - lab[:, :, 0][lines]).mean() < 3.0, case.name
        _, ga, gb = grey.lab
        off = [float(np.hypot(x[:, :, 1] - ga, x[:, :, 2] - gb)[lines].mean()) for x in (lab, after)]
        assert off[1] < 0.6 * off[0] + 1.0, (case.name, off)
