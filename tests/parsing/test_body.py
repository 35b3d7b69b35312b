"""The default body classes (hair, neck, body skin, clothes): synthetic scenes, then real photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import need_file
from tryon.errors import InputError, ParseError
from tryon.geometry import RoiMask
from tryon.parsing import FrameParse
from tryon.parsing.body import NAMES, BodyOptions, BodyParser, body_masks
from tryon.parsing.body_pose import BodyPose, PoseEstimator
from tryon.parsing.classes import CLASS_INDEX, FACE_CLASSES

# -- synthetic scenes -----------------------------------------------------------------------------------------------


def lab_colour(lab: tuple[int, int, int]) -> np.ndarray:
    """A BGR uint8 colour from OpenCV Lab values."""
    return cv2.cvtColor(np.array([[lab]], np.uint8), cv2.COLOR_Lab2BGR)[0, 0]


def headless_scene() -> tuple[np.ndarray, np.ndarray, tuple[slice, slice], tuple[slice, slice]]:
    """A grey room, a person (the mask) in a blue shirt with a bare, skin-coloured forearm; no face in sight."""
    rng = np.random.default_rng(0)
    frame = np.empty((240, 320, 3), np.uint8)
    frame[:] = lab_colour((150, 128, 128))
    person = np.zeros((240, 320), np.float32)
    person[40:240, 90:230] = 1.0
    shirt = (slice(40, 240), slice(90, 230))
    arm = (slice(120, 200), slice(190, 230))
    frame[shirt] = lab_colour((90, 135, 95))
    frame[arm] = lab_colour((170, 148, 152))
    frame = np.clip(frame.astype(np.int16) + rng.integers(-4, 5, frame.shape), 0, 255).astype(np.uint8)
    return frame, person, shirt, arm


def full(masks: dict[str, RoiMask], name: str, shape: tuple[int, int]) -> np.ndarray:
    return masks[name].full(shape)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("work_size", 32),
        ("work_size", 1.5),
        ("colour_weight", 1.5),
        ("colour_weight", -0.1),
        ("smooth", -1),
        ("smooth", 40),
        ("pose_every", 0),
    ],
)
def test_options_refuse_bad_values_naming_the_field(field: str, value: object):
    with pytest.raises(InputError, match=field):
        BodyOptions(**{field: value})  # type: ignore[arg-type]


def test_the_finer_person_mask_is_for_photos_unless_asked():
    from tryon.perception.detector import PerceptionOptions

    assert PerceptionOptions(mode="image").fine and not PerceptionOptions(mode="video").fine
    assert PerceptionOptions(mode="video", fine_person=True).fine
    assert not PerceptionOptions(mode="image", person_mask=False).fine


def test_photo_options_are_finer_and_use_pose():
    photo = BodyOptions.photo()
    assert photo.work_size > BodyOptions().work_size
    assert photo.pose and not BodyOptions().pose


def test_no_face_and_no_person_mask_gives_no_masks():
    frame, _, _, _ = headless_scene()
    assert body_masks(frame, (), None) == {}


def test_person_mask_of_another_size_is_refused():
    frame, person, _, _ = headless_scene()
    with pytest.raises(InputError, match="person mask must be 240x320"):
        body_masks(frame, (), person[:100])


def test_without_a_face_the_person_is_split_into_skin_and_clothes():
    # Given a headless person: a blue shirt with a bare forearm
    frame, person, shirt, arm = headless_scene()
    # When the body classes are built from the person mask alone
    masks = body_masks(frame, (), person)
    shape = (frame.shape[0], frame.shape[1])
    # Then the four classes are there, the arm is skin, the rest of the shirt clothes, nothing outside the person
    assert set(masks) == set(NAMES)
    clothes, skin = full(masks, "clothes", shape) >= 128, full(masks, "body_skin", shape) >= 128
    shirt_only = np.zeros(shape, bool)
    shirt_only[shirt] = True
    shirt_only[arm] = False
    inner = (slice(arm[0].start + 4, arm[0].stop - 4), slice(arm[1].start + 4, arm[1].stop - 4))
    assert skin[inner].mean() > 0.9
    assert clothes[shirt_only].mean() > 0.9
    assert masks["hair"].is_empty
    outside = person < 0.5
    for name in NAMES:
        assert not (full(masks, name, shape)[outside] >= 128).any(), name


def test_masks_make_a_valid_frame_parse():
    frame, person, _, _ = headless_scene()
    masks = body_masks(frame, (), person, BodyOptions(work_size=96, smooth=2))
    parse = FrameParse((frame.shape[0], frame.shape[1]), (), masks)
    labels = parse.labels()
    assert labels.shape == frame.shape[:2]
    assert set(np.unique(labels)) <= {0, 12, 13}


def test_body_parser_refuses_an_unknown_mode_and_closes_twice():
    with pytest.raises(InputError, match="mode must be 'image' or 'video'"):
        BodyParser(mode="photo")  # type: ignore[arg-type]
    body = BodyParser(BodyOptions())
    frame, person, _, _ = headless_scene()
    assert set(body(frame, (), person)) == set(NAMES)
    body.close()
    body.close()


@pytest.mark.parametrize(
    ("points", "visibility", "message"),
    [
        (np.zeros((17, 2), np.float32), np.zeros(33, np.float32), "33x2 float32"),
        (np.zeros((33, 2), np.float64), np.zeros(33, np.float32), "33x2 float32"),
        (np.zeros((33, 2), np.float32), np.zeros(30, np.float32), "33 float32"),
        (np.full((33, 2), np.nan, np.float32), np.zeros(33, np.float32), "NaN"),
    ],
)
def test_body_pose_refuses_malformed_landmarks(points: np.ndarray, visibility: np.ndarray, message: str):
    with pytest.raises(ParseError, match=message):
        BodyPose((10, 10), points, visibility)


def test_pose_estimator_refuses_a_bad_mode():
    with pytest.raises(InputError, match="pose mode"):
        PoseEstimator(mode="live")  # type: ignore[arg-type]


# -- real photos ----------------------------------------------------------------------------------------------------

BLACK_HAIR = ("faces/deepface_img17.jpg", "faces/deepface_img24.jpg")
BLOND_HAIR = ("faces/deepface_img12.jpg", "faces/deepface_img28.jpg")
GREY_HAIR = ("faces/deepface_img38.jpg",)
BALD = "faces/deepface_img20.jpg"
HEADLESS = "people/ootd_049205_0.jpg"  # a try-on model photo cut above the mouth: no face for the mesh
BLACK_TOP = "faces/liveportrait_driving_d30.jpg"  # long black hair over a black turtleneck
PHOTOS = (
    *BLACK_HAIR,
    *BLOND_HAIR,
    *GREY_HAIR,
    BALD,
    BLACK_TOP,
    "faces/liveportrait_source_s2.jpg",
    "faces/deepface_img43.jpg",
)


@pytest.fixture(scope="module")
def parsed(shared_data: Path) -> dict[str, tuple[np.ndarray, FrameParse]]:
    """The shared photos, read and parsed once by the image pipeline (which builds the default body classes)."""
    from tryon.image import read_image
    from tryon.pipeline import Pipeline

    out = {}
    with Pipeline(mode="image", max_faces=1) as pipe:
        for name in (*PHOTOS, HEADLESS):
            frame = read_image(need_file(shared_data / name))
            out[name] = (frame, pipe.parse(frame))
    return out


def hair_to_face(parse: FrameParse) -> float:
    """The hair's area over the facial skin's."""
    face = parse.faces[0].mask("face_skin").full(parse.shape) >= 128
    return np.count_nonzero(parse.mask("hair") >= 128) / max(1, np.count_nonzero(face))


@pytest.mark.parametrize("name", [*BLACK_HAIR, *BLOND_HAIR, *GREY_HAIR])
def test_hair_of_any_colour_gives_a_sizeable_mask(parsed: dict, name: str):
    _, parse = parsed[name]
    assert parse.faces, f"no face in {name}"
    assert hair_to_face(parse) > 0.3, f"{name}: hair is {hair_to_face(parse):.2f} of the face's area"


def test_a_bald_head_has_next_to_no_hair(parsed: dict):
    _, parse = parsed[BALD]
    assert hair_to_face(parse) < 0.05


@pytest.mark.parametrize("name", PHOTOS)
def test_classes_are_consistent_with_the_face(parsed: dict, name: str):
    _, parse = parsed[name]
    face = parse.faces[0]
    shape = parse.shape
    for mask in parse.masks.values():
        b = mask.box
        assert 0 <= b.x0 <= b.x1 <= shape[1] and 0 <= b.y0 <= b.y1 <= shape[0]
    # Hair is not painted over the facial skin.
    skin = face.mask("face_skin").full(shape) >= 192
    hair = parse.mask("hair") >= 128
    assert np.count_nonzero(hair & skin) < 0.02 * np.count_nonzero(skin)
    # Clothes are below the chin: none above it, over the face's columns.
    chin, top = float(face.points[152, 1]), float(face.points[10, 1])
    above = np.zeros(shape, bool)
    above[: max(0, int(chin - 0.1 * (chin - top))), face.box.x0 : face.box.x1] = True
    clothes = parse.mask("clothes") >= 128
    assert np.count_nonzero(clothes & above) < 0.05 * face.box.width * face.box.height
    # The neck, as labelled (its soft mask runs on under the jaw, where the face's classes win), hangs below the chin.
    neck = np.argwhere(parse.labels() == CLASS_INDEX["neck"])
    assert len(neck) and np.median(neck[:, 0]) > chin


@pytest.mark.parametrize("name", PHOTOS)
def test_the_hair_mask_holds_none_of_the_faces_features(parsed: dict, name: str):
    # Given the hair mask an API user reads (not the label image, where the face's classes are painted over it)
    _, parse = parsed[name]
    hair = parse.mask("hair").astype(np.int32)
    for feature in FACE_CLASSES:
        for face in parse.faces:
            if feature not in face.masks:
                continue
            part = face.mask(feature).full(parse.shape).astype(np.int32)
            # Then, as in a partition, the hair and the feature add up to at most one (the eyes, lips and brows of
            # dark-haired photos sat at 0.9 in the hair before)
            over = hair + part - 255
            assert over.max() <= 2, f"{name}: hair over {feature} by {over.max()} / 255"


def test_a_black_top_under_long_black_hair_is_clothes_in_the_middle_of_the_chest(parsed: dict):
    # Given long black hair falling over a black turtleneck (checked by eye: the hair falls beside the face and over
    # the subject's left shoulder; the middle of the chest, below the neck, is the turtleneck)
    _, parse = parsed[BLACK_TOP]
    face = parse.faces[0]
    chin, top = face.points[152], face.points[10]
    fh = float(np.linalg.norm(chin - top))
    centre_x = float(face.points[[234, 454], 0].mean())
    chest = np.zeros(parse.shape, bool)
    y0, y1 = int(chin[1] + 0.45 * fh), int(min(parse.shape[0], chin[1] + 1.2 * fh))
    chest[y0:y1, int(centre_x - 0.15 * fh) : int(centre_x + 0.15 * fh)] = True
    chest &= parse.person.full(parse.shape) >= 128
    assert np.count_nonzero(chest) > 1000
    # Then it is parsed as clothes, not hair (the colour alone cannot tell them apart: all of it was hair before)
    clothes = parse.mask("clothes")[chest] >= 128
    hair = parse.mask("hair")[chest] >= 128
    assert clothes.mean() > 0.7 and hair.mean() < 0.2, (clothes.mean(), hair.mean())


def test_without_a_person_mask_the_head_still_gets_its_classes(parsed: dict):
    frame, parse = parsed["faces/deepface_img12.jpg"]
    masks = body_masks(frame, parse.faces, None)
    FrameParse(parse.shape, parse.faces, masks)  # valid
    hair = masks["hair"].full(parse.shape) >= 128
    face = parse.faces[0]
    assert np.count_nonzero(hair) > 0.3 * np.count_nonzero(face.mask("face_skin").full(parse.shape) >= 128)
    # Its hair is around the head: within two face heights of the face's centre.
    fh = float(np.linalg.norm(face.points[152] - face.points[10]))
    ys, xs = np.nonzero(hair)
    centre = face.points[[10, 152]].mean(axis=0)
    assert np.percentile(np.hypot(xs - centre[0], ys - centre[1]), 95) < 2 * fh


def test_without_a_face_the_person_mask_alone_gives_skin_and_clothes(parsed: dict):
    _, parse = parsed[HEADLESS]
    assert not parse.faces and parse.person is not None
    person = parse.person.full(parse.shape) >= 128
    covered = (parse.mask("clothes") >= 128) | (parse.mask("body_skin") >= 128)
    assert np.count_nonzero(covered & person) > 0.9 * np.count_nonzero(person)
    assert np.count_nonzero(parse.mask("clothes") >= 128) > 0.3 * np.count_nonzero(person)
    assert np.count_nonzero(parse.mask("hair")) == 0


def test_pose_finds_the_person_and_nobody_in_an_empty_frame(parsed: dict):
    frame, _ = parsed[HEADLESS]
    with PoseEstimator(mode="image") as estimate:
        pose = estimate(frame)
        empty = estimate(np.full((240, 320, 3), 128, np.uint8))
    assert pose is not None and pose.shape == frame.shape[:2]
    # The shoulders are above the hips, in the frame.
    assert pose.visibility[[11, 12, 23, 24]].min() > 0.5
    assert pose.points[[11, 12], 1].mean() < pose.points[[23, 24], 1].mean()
    assert empty is None


def test_the_photo_parser_with_pose_builds_valid_masks(parsed: dict):
    frame, parse = parsed["faces/liveportrait_source_s2.jpg"]
    person = parse.person.full(parse.shape).astype(np.float32) / 255.0 if parse.person is not None else None
    with BodyParser(BodyOptions.photo(), mode="image") as body:
        masks = body(frame, parse.faces, person)
    out = FrameParse(parse.shape, parse.faces, masks, parse.person)
    assert hair_to_face(out) > 0.3


def _pose_at_head() -> tuple[np.ndarray, object]:
    """A profile's detector keypoints (eye to mouth 40 px) and a pose whose head and shoulders are the same person's."""
    from tryon.parsing.body_pose import BodyPose

    head = np.array([[290, 180], [310, 180], [300, 200], [300, 220], [280, 190], [320, 190]], np.float32)
    pts = np.zeros((33, 2), np.float32)
    pts[0], pts[2], pts[5], pts[9], pts[10] = (300, 200), (290, 180), (310, 180), (295, 220), (305, 220)
    pts[11], pts[12] = (240, 300), (360, 300)
    return head, BodyPose((480, 640), pts, np.ones(33, np.float32))


@pytest.mark.parametrize("order", ["alone", "tiny first", "tiny last"])
def test_a_detected_head_the_pose_also_sees_is_laid_out_once_with_the_poses_shoulders(order):
    from tryon.parsing.body import _layouts

    head, pose = _pose_at_head()
    tiny = np.array([[50, 50], [51, 50], [50.5, 50.5], [50.5, 51], [49, 50], [52, 50]], np.float32)  # too small
    heads = {"alone": (head,), "tiny first": (tiny, head), "tiny last": (head, tiny)}[order]
    layouts = _layouts((), pose, 1.0, heads)
    # One head (a tiny one listed first paired the big one's nose with no layout: the pose's head came twice)
    assert len(layouts) == 1
    # Laid out from the detector (centred between the ears), its neck ending at the pose's shoulders
    np.testing.assert_allclose(layouts[0].origin, (300, 199.5), atol=0.5)
    assert layouts[0].shoulders == pytest.approx((300 - 199.5) / (40 / 0.39), abs=0.01)


@pytest.mark.parametrize("bad", [np.zeros((5, 2), np.float32), np.full((6, 2), np.nan, np.float32), [[0, 0]] * 6])
def test_a_head_that_is_not_six_keypoints_is_refused(bad):
    frame = np.full((64, 64, 3), 128, np.uint8)
    with pytest.raises(InputError, match="each head must be a 6x2 array"):
        body_masks(frame, (), None, heads=(bad,))
