"""Fusion of the landmark faces with a body model, and the model parser's cadence in video."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import need_file
from tests.parsing.model_helpers import FakeBackend
from tryon.errors import InputError
from tryon.image import read_image
from tryon.parsing.classes import BODY_CLASSES, class_index
from tryon.parsing.frame_parse import FrameParse
from tryon.parsing.fusion import FusionOptions, ModelFrameParser, fuse
from tryon.parsing.parser import LandmarkFrameParser, ParserOptions
from tryon.perception import Perception, PerceptionOptions, PerceptionResult
from tryon.perception import topology as tp

SKIN = ("face_skin", "neck", "body_skin")
PHOTO = "liveportrait_source_s2.jpg"


@pytest.fixture(scope="module")
def portrait(shared_data: Path) -> tuple[np.ndarray, PerceptionResult, FrameParse]:
    """A real portrait, its perception, and its faces (no body classes)."""
    frame = read_image(need_file(shared_data / "faces" / PHOTO))
    with Perception(PerceptionOptions(mode="image", max_faces=1)) as perception:
        result = perception(frame)
    assert len(result.landmarks) == 1, f"one face expected in {PHOTO}"
    faces = LandmarkFrameParser(ParserOptions(body=False)).parse(frame, result)
    return frame, result, faces


def _const(shape: tuple[int, int], **values: float) -> FakeBackend:
    """A backend whose classes have the same probability everywhere (``skin`` is the face+neck+body union)."""
    planes = {(SKIN if k == "skin" else k): np.full((16, 16), v, np.float32) for k, v in values.items()}
    return FakeBackend(planes)


def _masks(frame, faces, backend, person=None, **options):
    probs = backend.predict(frame)
    return {k: m.full(frame.shape[:2]) for k, m in fuse(frame, faces, probs, person, FusionOptions(**options)).items()}


def _point(face, index: int) -> tuple[int, int]:
    x, y = face.points[index]
    return round(float(y)), round(float(x))


@pytest.mark.shared
def test_fused_masks_are_a_partition_that_leaves_the_face_to_the_face_classes(portrait):
    # Given a model that says hair, skin and clothes everywhere with some confidence
    frame, _, parse = portrait
    face = parse.faces[0]
    masks = _masks(frame, parse.faces, _const(frame.shape[:2], hair=0.6, skin=0.7, clothes=0.5))
    # Then the body classes add up to at most one
    total = sum(m.astype(np.int32) for m in masks.values())
    assert total.max() <= 255 + len(masks)  # each mask rounds on its own
    # And none of them reaches one half where a face class does
    face_area = np.zeros(frame.shape[:2], np.uint8)
    for name, mask in face.masks.items():
        if name in ("face_skin", "nose", "upper_lip", "lower_lip", "left_eye", "right_eye"):
            mask.paste_max(face_area)
    for name, mask in masks.items():
        assert np.count_nonzero((mask >= 128) & (face_area >= 128)) == 0, name


@pytest.mark.shared
def test_sure_hair_wins_over_the_forehead_but_never_over_the_lower_face(portrait):
    frame, _, parse = portrait
    face = parse.faces[0]
    forehead = _point(face, tp.FOREHEAD)
    forehead = (forehead[0] + int(0.05 * face.box.height), forehead[1])  # inside the face skin
    cheek = _point(face, tp.RIGHT_CHEEK_CENTER)
    assert face.mask("face_skin").full(frame.shape[:2])[forehead] >= 128
    sure = _masks(frame, parse.faces, _const(frame.shape[:2], hair=1.0))["hair"]
    unsure = _masks(frame, parse.faces, _const(frame.shape[:2], hair=0.6))["hair"]
    assert sure[forehead] >= 128  # bangs
    assert unsure[forehead] < 128
    assert sure[cheek] == 0
    # Even where the face classes leave the lower face out (a beard), it is not hair
    bare = (dataclasses.replace(face, masks={}),)
    beard = _masks(frame, bare, _const(frame.shape[:2], hair=1.0))["hair"]
    assert beard[cheek] == 0 and beard[_point(face, tp.CHIN)] < 128
    assert beard[forehead] >= 128


@pytest.mark.shared
def test_skin_below_the_jaw_is_neck_and_lower_down_body_skin(portrait):
    frame, _, parse = portrait
    face = parse.faces[0]
    masks = _masks(frame, parse.faces, _const(frame.shape[:2], skin=1.0), skin_colour=False)
    chin_y, chin_x = _point(face, tp.CHIN)
    height = face.points[tp.CHIN, 1] - face.points[tp.FOREHEAD, 1]
    below_chin = (chin_y + int(0.15 * height), chin_x)
    far_below = (min(frame.shape[0] - 1, chin_y + int(0.9 * height)), chin_x)
    beside_head = (chin_y - int(0.5 * height), max(0, int(face.box.x0 - 0.3 * face.box.width)))
    assert masks["neck"][below_chin] >= 128 and masks["body_skin"][below_chin] < 128
    if far_below[0] > below_chin[0] + 10:
        assert masks["body_skin"][far_below] >= 128 and masks["neck"][far_below] < 128
    assert masks["neck"][beside_head] < 128


@pytest.mark.shared
def test_a_model_neck_channel_is_taken_at_its_word(portrait):
    frame, _, parse = portrait
    h, w = frame.shape[:2]
    neck = np.zeros((16, 16), np.float32)
    neck[:, :8] = 1.0
    backend = FakeBackend({"neck": neck, "body_skin": 1.0 - neck}, exclusive=True)
    masks = _masks(frame, parse.faces, backend, skin_colour=False, refine_radius=0)
    bottom = h - 2
    assert masks["neck"][bottom, w // 8] >= 128 and masks["body_skin"][bottom, w // 8] < 128
    assert masks["body_skin"][bottom, 7 * w // 8] >= 128 and masks["neck"][bottom, 7 * w // 8] < 128


@pytest.mark.shared
def test_the_person_mask_clips_the_classes_and_unclaimed_person_below_the_face_is_clothes(portrait):
    frame, _, parse = portrait
    h, w = frame.shape[:2]
    face = parse.faces[0]
    person = np.zeros((h, w), np.float32)
    person[:, : w // 2] = 1.0
    clipped = _masks(frame, parse.faces, _const((h, w), clothes=1.0), person, clothes_fill=False)["clothes"]
    assert clipped[:, w // 2 + 8 :].max() == 0
    assert clipped[h - 2, w // 4] >= 128
    # Given a model that claims nothing, the person below the chin becomes clothes, above it nothing does
    filled = _masks(frame, parse.faces, _const((h, w), hair=0.0), person)["clothes"]
    chin_y = face.points[tp.CHIN, 1]
    height = chin_y - face.points[tp.FOREHEAD, 1]
    assert filled[h - 2, w // 4] >= 128
    assert filled[: int(chin_y - 0.1 * height), :].max() == 0


@pytest.mark.shared
def test_the_guided_filter_moves_hair_edges_onto_the_image_edges(portrait):
    # Given dark hair against a bright wall with a sharp edge, and a coarse model (one pixel = 1/16 of the frame)
    h, w = 256, 256
    frame = np.full((h, w, 3), 230, np.uint8)
    frame[:, :128] = 20
    coarse = np.zeros((16, 16), np.float32)
    coarse[:, :8] = 1.0
    backend = FakeBackend({"hair": coarse})
    plain = _masks(frame, (), backend, refine_radius=0, work_size=256)["hair"]
    refined = _masks(frame, (), backend, refine_radius=4, refine_eps=1e-4, work_size=256)["hair"]
    # Then the refined mask drops most at the image's edge, far more steeply than the model's ramp
    steps = -np.diff(refined[128].astype(np.int32))
    assert int(np.argmax(steps)) == 127
    assert steps[127] > 3 * int(plain[128, 127]) - 3 * int(plain[128, 128])


def test_without_faces_or_person_the_model_alone_decides():
    frame = np.zeros((64, 96, 3), np.uint8)
    hair = np.zeros((16, 16), np.float32)
    hair[:8] = 1.0
    masks = _masks(frame, (), FakeBackend({"hair": hair, "clothes": 1.0 - hair}), refine_radius=0)
    assert masks["hair"][:28].min() >= 250 and masks["hair"][36:].max() <= 5
    assert masks["clothes"][36:].min() >= 250
    assert masks["neck"].max() == 0 and masks["body_skin"].max() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("work_size", 10), ("hair_over_face", 1.5), ("neck_depth", -1.0), ("refine_radius", 100), ("refine_eps", 0.0)],
)
def test_fusion_options_out_of_range_are_refused_naming_the_field(field, value):
    with pytest.raises(InputError, match=f"fusion option {field} must be in"):
        FusionOptions(**{field: value})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"mode": "stream"}, "mode must be 'image' or 'video'"), ({"every": 0}, "every must be a whole number")],
)
def test_a_model_parser_refuses_bad_settings_at_construction(kwargs, error):
    with pytest.raises(InputError, match=error):
        ModelFrameParser(FakeBackend({"hair": np.zeros((4, 4))}), **kwargs)


def _frames(n: int, shape: tuple[int, int] = (48, 64)) -> list[np.ndarray]:
    return [np.full((*shape, 3), i, np.uint8) for i in range(n)]


NO_FACES = PerceptionResult((), None)


def test_in_video_the_model_runs_every_n_frames_and_its_masks_are_carried_between():
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    with ModelFrameParser(backend, mode="video", every=3) as parser:
        parses = [parser.parse(frame, NO_FACES) for frame in _frames(7)]
        assert backend.calls == 3  # frames 0, 3 and 6
        assert all(p.mask("hair").min() == 255 for p in parses)  # carried forward in between
        parser.parse(_frames(1, (40, 40))[0], NO_FACES)  # a new frame size: run at once
        assert backend.calls == 4
        parser.reset()
        parser.parse(_frames(1)[0], NO_FACES)
        assert backend.calls == 5 and backend.resets >= 1
    assert backend.closed == 1


def test_in_image_mode_every_photo_is_parsed_afresh_with_no_memory():
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    parser = ModelFrameParser(backend, mode="image", every=5)
    for frame in _frames(3):
        parser.parse(frame, NO_FACES)
    assert backend.calls == 3 and backend.resets == 3
    parser.close()
    parser.close()
    assert backend.closed == 1
    with pytest.raises(InputError, match="closed"):
        parser.parse(_frames(1)[0], NO_FACES)


def test_body_false_skips_the_model():
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    parse = ModelFrameParser(backend).parse(_frames(1)[0], NO_FACES, body=False)
    assert backend.calls == 0 and not parse.masks


@pytest.mark.shared
def test_classes_the_model_lacks_come_from_the_landmark_default(portrait):
    frame, perception, _ = portrait
    # Given a hair-only model that sees no hair
    parse = ModelFrameParser(FakeBackend({"hair": np.zeros((8, 8), np.float32)})).parse(frame, perception)
    assert set(parse.masks) == set(BODY_CLASSES)
    assert parse.mask("hair").max() == 0
    default = LandmarkFrameParser().parse(frame, perception)
    if default.mask("clothes").max() >= 128:
        assert parse.mask("clothes").max() >= 128  # the default's clothes survive the fusion
    labels = parse.labels()
    assert np.count_nonzero(labels == class_index("face_skin")) > 1000


@pytest.mark.shared
def test_a_person_model_gives_the_parse_its_person_mask(portrait):
    frame, perception, _ = portrait
    person = np.zeros((8, 8), np.float32)
    person[:, :4] = 1.0
    parse = ModelFrameParser(FakeBackend({"person": person})).parse(frame, perception)
    assert parse.person is not None
    full = parse.mask("person")
    assert full[:, : frame.shape[1] // 4].min() == 255 and full[:, 3 * frame.shape[1] // 4 :].max() == 0
