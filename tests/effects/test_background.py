from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.effects._body import parse_photos
from tryon.effects import create_effect
from tryon.errors import LookError
from tryon.geometry import Box, RoiMask
from tryon.parsing.frame_parse import FrameParse

MODES = [{"mode": "blur"}, {"mode": "color", "color": "#2E7D32"}, {"mode": "image"}]
PHOTOS = ["faces/liveportrait_driving_d30.jpg", "people/idm_00035_00.jpg", "faces/deepface_img24.jpg"]


@pytest.fixture(scope="module")
def photos(shared_data):
    return parse_photos(shared_data, PHOTOS)


@pytest.fixture(scope="module")
def backdrop(tmp_path_factory) -> str:
    """A picture to put behind the person: a smooth two-tone gradient."""
    path = tmp_path_factory.mktemp("backdrop") / "beach.png"
    y, x = np.mgrid[0:300, 0:400].astype(np.float32)
    image = np.dstack([120 + 100 * y / 300, 160 + 60 * x / 400, 220 - 80 * y / 300]).astype(np.uint8)
    cv2.imwrite(str(path), image)
    return str(path)


def options_for(mode: dict, backdrop: str) -> dict:
    return {**mode, "image": backdrop} if mode["mode"] == "image" else dict(mode)


def person_scene(h: int = 360, w: int = 480) -> tuple[np.ndarray, FrameParse, np.ndarray]:
    """A red disc (the person) on a blue-and-white checkerboard, with a coarse soft person mask.

    Returns the frame, its parse and the disc's exact (binary) mask.
    """
    yy, xx = np.mgrid[0:h, 0:w]
    checks = ((yy // 12 + xx // 12) % 2).astype(bool)
    frame = np.where(checks[:, :, None], np.uint8([230, 230, 230]), np.uint8([170, 80, 30])).astype(np.uint8)
    disc = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (0.3 * h) ** 2
    rng = np.random.default_rng(0)
    red = np.clip(rng.normal([40, 40, 200], 12, (h, w, 3)), 0, 255).astype(np.uint8)
    frame[disc] = red[disc]
    coarse = cv2.GaussianBlur(disc.astype(np.float32), (0, 0), 6.0)
    person = RoiMask(Box(0, 0, w, h), np.clip(coarse * 255 + 0.5, 0, 255).astype(np.uint8))
    return frame, FrameParse((h, w), (), {}, person), disc


def eroded(mask: np.ndarray, px: int) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0


def dilated(mask: np.ndarray, px: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0


@pytest.mark.parametrize("mode", MODES)
def test_the_person_stays_byte_identical_and_the_background_changes(mode, backdrop):
    frame, parse, disc = person_scene()
    out = create_effect("background", options_for(mode, backdrop)).apply(frame.copy(), parse)
    core = eroded(disc, 12)
    assert np.array_equal(out[core], frame[core])
    far = ~dilated(disc, 12)
    changed = np.abs(out.astype(int) - frame.astype(int)).max(axis=2)[far]
    assert (changed > 20).mean() > 0.8


@pytest.mark.parametrize("edge", [0.0, 0.4, 1.0])
@pytest.mark.parametrize("mode", MODES)
def test_only_the_masks_soft_band_and_the_background_change(mode, edge, backdrop):
    # Given a person whose soft mask is solid inside and empty outside a band about 30 pixels wide
    frame, parse, _ = person_scene()
    alpha = parse.person.alpha
    # When the background effect runs (the frame is under its work size: its pixels are the frame's)
    out = create_effect("background", {**options_for(mode, backdrop), "edge": edge}).apply(frame.copy(), parse)
    # Then the edge is refined within at most 10 pixels of that band, and nowhere else: the solid person beyond
    # it is byte-identical, the empty background beyond it all changed (a colour background is that colour)
    person = eroded(alpha >= 250, 11)
    background = eroded(alpha <= 5, 11)
    assert person.sum() > 15_000 and background.sum() > 50_000
    assert np.array_equal(out[person], frame[person])
    changed = np.abs(out.astype(int) - frame.astype(int)).max(axis=2)
    assert (changed[background] > 0).all() if mode["mode"] != "blur" else (changed[background] > 0).mean() > 0.95
    if mode["mode"] == "color":
        assert np.array_equal(np.unique(out[background], axis=0), np.array([[0x32, 0x7D, 0x2E]], np.uint8))


def test_blur_keeps_the_persons_colour_out_of_the_background():
    # Given a red person on a checkerboard
    frame, parse, disc = person_scene()
    # When the background is blurred strongly
    out = create_effect("background", {"mode": "blur", "blur": 1.0}).apply(frame.copy(), parse)
    # Then the checks are gone, and the ring just outside the person has no more red than the background had
    ring = dilated(disc, 24) & ~dilated(disc, 8)
    far = ~dilated(disc, 40)
    assert out[far].astype(np.float32).std(axis=0).max() < 0.5 * frame[far].astype(np.float32).std(axis=0).max()
    red_excess = out[ring][:, 2].astype(np.float32) - out[ring][:, 0].astype(np.float32)
    background_red = frame[far][:, 2].astype(np.float32).mean() - frame[far][:, 0].astype(np.float32).mean()
    assert red_excess.mean() < background_red + 10
    # (a plain blur of the whole frame bleeds the red disc into that ring)
    plain = cv2.GaussianBlur(frame, (0, 0), 26.0)
    assert (plain[ring][:, 2].astype(np.float32) - plain[ring][:, 0]).mean() > background_red + 20


def test_a_replaced_background_follows_the_frames_edge_not_the_coarse_mask():
    # Given a person mask far softer than the person's real outline
    frame, parse, disc = person_scene()
    # When the background is replaced by a colour
    out = create_effect("background", {"mode": "color", "color": "#00FF00", "edge": 0.0}).apply(frame.copy(), parse)
    # Then just outside the real outline it is the new colour, and just inside it is the person
    outside = dilated(disc, 6) & ~dilated(disc, 3)
    inner = eroded(disc, 3) & ~eroded(disc, 6)
    green = np.abs(out.astype(int) - np.array([0, 255, 0])).max(axis=2)
    assert (green[outside] < 40).mean() > 0.9
    assert (np.abs(out.astype(int) - frame.astype(int)).max(axis=2)[inner] < 40).mean() > 0.9


def test_a_colour_background_is_that_colour(backdrop):
    frame, parse, disc = person_scene()
    out = create_effect("background", {"mode": "color", "color": "#2E7D32"}).apply(frame.copy(), parse)
    far = ~dilated(disc, 20)
    assert np.array_equal(np.unique(out[far], axis=0), np.array([[0x32, 0x7D, 0x2E]], np.uint8))


def test_an_image_background_covers_the_frame(backdrop):
    frame, parse, disc = person_scene(300, 400)
    out = create_effect("background", {"mode": "image", "image": backdrop}).apply(frame.copy(), parse)
    picture = cv2.imread(backdrop)
    far = ~dilated(disc, 20)
    assert np.abs(out[far].astype(int) - picture[far].astype(int)).max() <= 1


@pytest.mark.parametrize("mode", MODES)
def test_on_real_photos_the_person_core_is_untouched(photos, mode, backdrop):
    for photo in photos.values():
        assert photo.parse.person is not None, "selfie segmentation did not run"
        out = create_effect("background", options_for(mode, backdrop)).apply(photo.frame.copy(), photo.parse)
        person = photo.parse.person.full(photo.frame.shape[:2])
        core = eroded(person == 255, 24)
        assert np.array_equal(out[core], photo.frame[core])
        far = eroded(person == 0, 24)
        assert np.any(out[far] != photo.frame[far])


def test_intensity_zero_and_no_person_mask_leave_the_frame_alone():
    frame, parse, _ = person_scene()
    out = create_effect("background", {"mode": "color", "intensity": 0}).apply(frame.copy(), parse)
    assert np.array_equal(out, frame)
    no_person = FrameParse(parse.shape, (), {}, None)
    out = create_effect("background", {"mode": "color"}).apply(frame.copy(), no_person)
    assert np.array_equal(out, frame)


def test_half_intensity_shows_half_the_new_background():
    frame, parse, disc = person_scene()
    out = create_effect("background", {"mode": "color", "color": "#000000", "intensity": 0.5}).apply(
        frame.copy(), parse
    )
    far = ~dilated(disc, 20)
    ratio = out[far].astype(np.float32).mean() / frame[far].astype(np.float32).mean()
    assert 0.45 < ratio < 0.55


@pytest.mark.parametrize("content", [None, b"", b"GIF89a but not really"])
def test_a_missing_or_unreadable_image_is_refused_naming_it(tmp_path, content):
    path = tmp_path / "holiday.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LookError) as info:
        create_effect("background", {"mode": "image", "image": str(path)})
    assert str(path) in str(info.value)
    assert "background.image" in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "sepia"}, "allowed: blur, image, color"),
        ({"mode": "image"}, "background.image: required"),
        ({"image": "x.png"}, "only used with mode 'image'"),
        ({"blur": 2}, "[0.0, 1.0]"),
        ({"edge": -0.5}, "[0.0, 1.0]"),
        ({"color": "green"}, "hex"),
        ({"intensity": 3}, "[0.0, 1.0]"),
        ({"strength": 1}, "unknown option"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("background", options)
    assert message in str(info.value)


def test_a_stronger_blur_smooths_the_background_more():
    frame, parse, disc = person_scene()
    far = ~dilated(disc, 40)

    def spread(blur: float) -> float:
        out = create_effect("background", {"mode": "blur", "blur": blur}).apply(frame.copy(), parse)
        return float(out[far].astype(np.float32).std(axis=0).max())

    light, strong = spread(0.0), spread(1.0)
    assert light > 0.5 * float(frame[far].astype(np.float32).std(axis=0).max())  # 0: a slight softening
    assert strong < 0.5 * light


def test_a_softer_edge_widens_the_blend_between_person_and_background():
    frame, parse, disc = person_scene()

    def blended(edge: float) -> int:
        """Pixels near the outline that are neither the person's own nor the new colour."""
        out = create_effect("background", {"mode": "color", "color": "#00FF00", "edge": edge}).apply(
            frame.copy(), parse
        )
        near = dilated(disc, 12) & ~eroded(disc, 12)
        green = np.abs(out.astype(int) - np.array([0, 255, 0])).max(axis=2) < 20
        kept = np.abs(out.astype(int) - frame.astype(int)).max(axis=2) < 20
        return int((near & ~green & ~kept).sum())

    assert blended(1.0) > 1.5 * blended(0.0)
