"""The shared blending primitives (OpenCV forms of per-pixel formulas) against their plain numpy definitions."""

from __future__ import annotations

import numpy as np

from tryon.color import Color
from tryon.effects.base import Patch, lab_shift, lerp, mix
from tryon.effects.texture import sparkle_field


def _face_patch(face_case) -> Patch:
    face = face_case.parse.faces[0]
    patch = Patch.of(face_case.frame.copy(), face.mask("face"))
    assert patch is not None
    return patch


def test_mix_leaves_zero_weight_pixels_identical_and_rounds_the_blend(face_case):
    # Given real skin pixels, a shade far from them and a weight that is zero outside the face mask
    patch = _face_patch(face_case)
    before = patch.view.copy()
    new = np.empty(before.shape, np.float32)
    new[:] = (40.0, 90.0, 230.0)
    weight = patch.alpha * 0.7
    # When they are mixed
    mix(patch.view, new, weight)
    # Then weight-0 pixels are byte-identical and the rest is the rounded blend
    zero = weight == 0
    assert zero.any() and (~zero).any()
    assert np.array_equal(patch.view[zero], before[zero])
    expected = before + (new - before) * weight[:, :, None]
    assert np.abs(patch.view.astype(np.float32) - expected).max() <= 0.5 + 1e-3


def test_lerp_matches_its_formula_for_an_image_a_colour_and_a_grey_level(face_case):
    patch = _face_patch(face_case)
    a = patch.view.astype(np.float32)
    t = patch.alpha
    image = a[::-1].copy()
    colour = np.array([10.0, 120.0, 250.0], np.float32)
    for b in (image, colour, 255.0):
        expected = a + (np.asarray(b, np.float32) - a) * t[:, :, None]
        assert np.abs(lerp(a, b, t) - expected).max() < 1e-3


def test_lab_shift_matches_its_formula_and_keeps_l_in_range(face_case):
    patch = _face_patch(face_case)
    lab = patch.lab()
    ref = np.array([60.0, 15.0, 20.0], np.float32)
    target = Color.from_hex("#B0123F")
    out = lab_shift(lab, ref, target, lightness=0.7, texture=1.35, chroma_texture=0.3)
    t = np.asarray(target.lab, np.float32)
    expected_l = np.clip(ref[0] + (t[0] - ref[0]) * 0.7 + (lab[:, :, 0] - ref[0]) * 1.35, 0, 100)
    assert np.abs(out[:, :, 0] - expected_l).max() < 1e-3
    assert np.abs(out[:, :, 1] - (t[1] + (lab[:, :, 1] - ref[1]) * 0.3)).max() < 1e-3
    assert np.abs(out[:, :, 2] - (t[2] + (lab[:, :, 2] - ref[2]) * 0.3)).max() < 1e-3


def test_lab_shift_keeps_less_of_the_skins_colour_variation_under_a_neutral_shade(face_case):
    # Given real skin (mean chroma 25) and a grey shade (chroma 0): a pigment hides the skin's colour variation as
    # much as it outweighs the skin's own colour, so a reddish fold does not show as a coloured line through grey
    lab = _face_patch(face_case).lab()
    ref = np.array([60.0, 15.0, 20.0], np.float32)
    grey = (45.0, 0.0, 0.0)
    out = lab_shift(lab, ref, grey, lightness=0.7, texture=1.0, chroma_texture=0.3)
    kept = 0.3 * 4.0 / (25.0 + 4.0)  # the chroma texture times (shade chroma + 4) / (skin chroma + 4)
    assert np.abs(out[:, :, 1] - (lab[:, :, 1] - ref[1]) * kept).max() < 1e-3
    assert np.abs(out[:, :, 2] - (lab[:, :, 2] - ref[2]) * kept).max() < 1e-3
    # while a shade as vivid as the skin or more keeps all of the asked share
    vivid = lab_shift(lab, ref, (45.0, 30.0, 10.0), lightness=0.7, texture=1.0, chroma_texture=0.3)
    assert np.abs(vivid[:, :, 1] - (30.0 + (lab[:, :, 1] - ref[1]) * 0.3)).max() < 1e-3


def test_quick_lab_is_close_to_the_float_conversion(face_case):
    patch = _face_patch(face_case)
    error = np.abs(patch.quick_lab() - patch.lab()).reshape(-1, 3)
    assert error[:, 0].max() < 0.7 and error[:, 1:].max() < 2.5
    assert error.mean() < 0.35


def test_sparkle_field_is_anchored_to_the_face(face_case):
    # Given the face's highlight box, and the same box shifted by a few pixels
    face = face_case.parse.faces[0]
    box = face.mask("highlight").box
    field = sparkle_field(box, face, density=0.08, seed=11)
    shifted = sparkle_field(type(box)(box.x0 + 5, box.y0 + 3, box.x1 + 5, box.y1 + 3), face, density=0.08, seed=11)
    # Then sparkles are sparse, in 0..1, and the same frame pixel gets the same value in both
    assert field.shape == (box.height, box.width)
    assert float(field.min()) >= 0.0 and float(field.max()) <= 1.0
    assert 0.01 < float((field > 0.3).mean()) < 0.3
    assert np.abs(field[3:, 5:] - shifted[:-3, :-5]).max() < 0.02
