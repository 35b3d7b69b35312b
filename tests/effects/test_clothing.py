from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.effects._body import chest_mask, inside, parse_photos, with_masks
from tests.effects.helpers import lab_distance_to, outside_unchanged
from tryon.color import Color, bgr_to_lab
from tryon.effects import create_effect
from tryon.effects._body import builtin_textures
from tryon.errors import LookError
from tryon.geometry import Box, RoiMask
from tryon.parsing.frame_parse import FrameParse

# Try-on models in a dark, a yellow, a white and a black top; the chest box lies on the top in each (checked by
# eye).
PEOPLE = ["people/idm_00035_00.jpg", "people/ootd_model_4.png", "people/ootd_model_2.png", "people/idm_00121_00.jpg"]
TEXTURES = ["stripes", "polka_dots", "plaid", "floral", "denim"]


@pytest.fixture(scope="module")
def people(shared_data):
    return parse_photos(shared_data, PEOPLE)


def chest_case(photo):
    mask = chest_mask(photo.parse.faces[0], photo.frame.shape[:2])
    return with_masks(photo.parse, {"clothes": mask}), mask


def test_the_built_in_textures_are_there():
    assert builtin_textures() == sorted(TEXTURES)


@pytest.mark.parametrize("color", ["#7FB3D5", "#8B1E3F", "#F2E6C9"])
def test_recolour_moves_the_top_to_the_colour_and_keeps_its_folds(people, color):
    target = Color.from_hex(color)
    for photo in people.values():
        # Given a top with an exact mask
        parse, mask = chest_case(photo)
        shirt = inside(mask, photo.frame.shape[:2])
        # When it is recoloured
        out = create_effect("clothing", {"color": color, "intensity": 1.0}).apply(photo.frame.copy(), parse)
        # Then only the top changed, its a*b* moved to the colour, and its shading is the same shading
        outside_unchanged(photo.frame, out, [mask])
        assert lab_distance_to(out, shirt, target.lab) < 0.5 * lab_distance_to(photo.frame, shirt, target.lab)
        before, after = bgr_to_lab(photo.frame)[:, :, 0][shirt], bgr_to_lab(out)[:, :, 0][shirt]
        assert np.corrcoef(before, after)[0, 1] > 0.8, f"folds lost on {photo.name}"
        gap = abs(float(before.mean()) - target.lab[0])
        assert abs(float(after.mean()) - target.lab[0]) < 0.4 * gap + 3.0


@pytest.mark.parametrize(
    "options", [{"color": "#2E7D32"}, {"texture": "plaid"}, {"texture": "stripes", "color": "#C0392B"}]
)
def test_whatever_mask_the_parser_gives_bounds_the_change(people, options):
    for photo in people.values():
        mask = photo.parse.masks.get("clothes")
        out = create_effect("clothing", options).apply(photo.frame.copy(), photo.parse)
        outside_unchanged(photo.frame, out, [mask] if mask is not None else [])


def folded_cloth(h: int = 240, w: int = 200) -> tuple[np.ndarray, FrameParse, RoiMask]:
    """A flat mid-blue cloth with soft vertical folds (a sine of its lightness) on a white wall; no face."""
    x = np.arange(w, dtype=np.float32)
    shading = 1.0 + 0.35 * np.sin(x / 9.0)
    frame = np.full((h, w, 3), 240, np.uint8)
    cloth = np.array([150, 90, 60], np.float32)[None, None, :] * shading[None, :, None]
    frame[30:-30, 30:-30] = np.clip(cloth, 0, 255).astype(np.uint8)[:, 30:-30].repeat(h - 60, axis=0)
    alpha = np.zeros((h, w), np.uint8)
    alpha[30:-30, 30:-30] = 255
    mask = RoiMask(Box(0, 0, w, h), alpha).tight()
    return frame, FrameParse((h, w), (), {"clothes": mask}), mask


def test_a_pattern_is_printed_following_the_folds(tmp_path):
    # Given folded cloth and a plain white "pattern" (all the structure left is the cloth's own shading)
    frame, parse, mask = folded_cloth()
    white = tmp_path / "white.png"
    cv2.imwrite(str(white), np.full((32, 32, 3), 255, np.uint8))
    # When it is printed on the cloth
    out = create_effect("clothing", {"texture": str(white), "intensity": 1.0}).apply(frame.copy(), parse)
    # Then the cloth is lighter (white print) and its folds are where they were
    cloth = inside(mask, frame.shape[:2], 255)
    cloth[:, :40] = cloth[:, -40:] = False  # away from the sides, where the shading sees the wall
    before, after = bgr_to_lab(frame)[:, :, 0][cloth], bgr_to_lab(out)[:, :, 0][cloth]
    assert after.mean() > before.mean() + 15
    assert np.corrcoef(before, after)[0, 1] > 0.9
    outside_unchanged(frame, out, [mask])


@pytest.mark.parametrize("texture", TEXTURES)
def test_a_built_in_texture_covers_the_top_and_nothing_else(people, texture):
    photo = people[PEOPLE[0]]
    parse, mask = chest_case(photo)
    shirt = inside(mask, photo.frame.shape[:2])
    out = create_effect("clothing", {"texture": texture, "intensity": 1.0}).apply(photo.frame.copy(), parse)
    outside_unchanged(photo.frame, out, [mask])
    changed = np.abs(out.astype(int) - photo.frame.astype(int)).max(axis=2)[shirt]
    assert (changed > 10).mean() > 0.9, f"{texture} left most of the top as it was"


def test_the_pattern_is_fixed_to_the_person_not_the_screen(people):
    # Given the same person, shifted on screen by cropping
    photo = people[PEOPLE[1]]
    parse, mask = chest_case(photo)
    dx, dy = 30, 20
    shifted_frame = np.ascontiguousarray(photo.frame[dy:, dx:])
    face = parse.faces[0]
    landmarks = face.landmarks.copy()
    landmarks[:, 0] -= dx
    landmarks[:, 1] -= dy
    moved = type(face)(face.id, landmarks, Box(face.box.x0 - dx, face.box.y0 - dy, face.box.x1 - dx, face.box.y1 - dy))
    b = mask.box
    shifted_mask = RoiMask(Box(b.x0 - dx, b.y0 - dy, b.x1 - dx, b.y1 - dy), mask.alpha)
    shifted = FrameParse(shifted_frame.shape[:2], (moved,), {"clothes": shifted_mask})
    # When the same pattern is printed on both
    effect = create_effect("clothing", {"texture": "plaid", "intensity": 1.0})
    out = effect.apply(photo.frame.copy(), parse)[dy:, dx:]
    out_shifted = effect.apply(shifted_frame.copy(), shifted)
    # Then the pattern moved with the person
    shirt = inside(shifted_mask, shifted_frame.shape[:2])
    diff = np.abs(out.astype(int) - out_shifted.astype(int)).max(axis=2)[shirt]
    assert (diff <= 6).mean() > 0.97


def test_texture_scale_sets_the_size_of_the_repeat(people):
    photo = people[PEOPLE[0]]
    parse, mask = chest_case(photo)
    shirt = inside(mask, photo.frame.shape[:2])
    rows = np.flatnonzero(shirt.any(axis=1))
    column = int(np.flatnonzero(shirt[rows[len(rows) // 2]]).mean())

    def stripes_down(scale: float) -> int:
        out = create_effect("clothing", {"texture": "stripes", "texture_scale": scale, "intensity": 1.0}).apply(
            photo.frame.copy(), parse
        )
        light = bgr_to_lab(out)[rows, column, 0]
        dark = light < (light.max() + light.min()) / 2
        return int(np.count_nonzero(np.diff(dark.astype(np.int8)) == 1))

    assert stripes_down(0.5) >= 2 * stripes_down(1.0) - 1


@pytest.mark.parametrize("content", [None, b"", b"not an image at all"])
def test_a_missing_or_unreadable_texture_file_is_refused_naming_it(tmp_path, content):
    path = tmp_path / "fabric.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LookError) as info:
        create_effect("clothing", {"texture": str(path)})
    assert str(path) in str(info.value)
    assert "clothing.texture" in str(info.value)


def test_an_unknown_texture_name_lists_the_built_in_ones():
    with pytest.raises(LookError) as info:
        create_effect("clothing", {"texture": "tartan"})
    assert "tartan" in str(info.value)
    for name in TEXTURES:
        assert name in str(info.value)


def test_no_clothes_mask_leaves_the_frame_alone():
    frame = np.full((64, 64, 3), 90, np.uint8)
    for masks in ({}, {"clothes": RoiMask.empty_at(Box(3, 3, 3, 3))}):
        out = create_effect("clothing", {"texture": "plaid"}).apply(frame.copy(), FrameParse((64, 64), (), masks))
        assert np.array_equal(out, frame)


def test_intensity_zero_is_identity(people):
    photo = people[PEOPLE[0]]
    parse, _ = chest_case(photo)
    for options in ({"color": "#C0392B"}, {"texture": "floral"}):
        out = create_effect("clothing", {**options, "intensity": 0}).apply(photo.frame.copy(), parse)
        assert np.array_equal(out, photo.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"color": "navy"}, "hex"),
        ({"texture_scale": 0}, "[0.05, 10.0]"),
        ({"texture_scale": "big"}, "must be a number"),
        ({"intensity": 1.5}, "[0.0, 1.0]"),
        ({"texture": 3}, "must be text"),
        ({"pattern": "plaid"}, "unknown option"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("clothing", options)
    assert message in str(info.value)
    assert next(iter(options)) in str(info.value)


def test_a_clothes_mask_that_strays_onto_the_face_never_dyes_it(people):
    # Given a clothes mask over the whole upper body, face included
    photo = people[PEOPLE[1]]
    face = photo.parse.faces[0]
    h, w = photo.frame.shape[:2]
    alpha = np.zeros((h, w), np.uint8)
    alpha[max(0, face.box.y0 - 20) :, :] = 255
    body = RoiMask(Box(0, 0, w, h), alpha).tight()
    parse = with_masks(photo.parse, {"clothes": body})
    # When the clothes are recoloured
    out = create_effect("clothing", {"color": "#2E7D32", "intensity": 1.0}).apply(photo.frame.copy(), parse)
    # Then the face's skin is as it was
    skin = face.mask("face").full((h, w)) == 255
    assert skin.sum() > 1000
    assert np.array_equal(out[skin], photo.frame[skin])
