from __future__ import annotations

import cv2
import numpy as np
import pytest

from tryon.color import bgr_to_lab
from tryon.errors import InputError
from tryon.geometry import RoiMask
from tryon.parsing.classes import FACE_CLASSES, REGIONS
from tryon.parsing.landmarks import FaceMemory, LandmarkParser, LandmarkParserOptions
from tryon.parsing.parser import LandmarkFrameParser, ParserOptions
from tryon.perception.detector import PerceptionResult

ALL_MASKS = (*FACE_CLASSES, *REGIONS)


@pytest.fixture(scope="module")
def parser() -> LandmarkParser:
    return LandmarkParser()


def inside_frame(mask: RoiMask, shape: tuple[int, ...]) -> bool:
    b = mask.box
    return b.empty or (0 <= b.x0 < b.x1 <= shape[1] and 0 <= b.y0 < b.y1 <= shape[0])


def center(mask: RoiMask) -> tuple[float, float]:
    ys, xs = np.nonzero(mask.alpha >= 128)
    return mask.box.x0 + float(xs.mean()), mask.box.y0 + float(ys.mean())


def solid(mask: RoiMask, shape: tuple[int, ...]) -> np.ndarray:
    return mask.full(shape[:2]) >= 128


def test_every_class_and_region_is_present_inside_the_frame(face_cases, parser):
    for case in face_cases:
        face = case.parse.faces[0]
        masks = parser.parse_face(case.frame, face.landmarks)
        assert set(masks) == set(ALL_MASKS), case.name
        for name, mask in masks.items():
            assert isinstance(mask, RoiMask), (case.name, name)
            assert inside_frame(mask, case.frame.shape), (case.name, name, mask.box)
        # A frontal face with a closed mouth: every part but the mouth's inside and the teeth is there.
        for name in set(ALL_MASKS) - {"mouth_interior", "teeth"}:
            assert not masks[name].is_empty, (case.name, name)


def test_parts_sit_where_a_face_has_them(face_cases, parser):
    for case in face_cases:
        face = case.parse.faces[0]
        masks = parser.parse_face(case.frame, face.landmarks)
        face_w = float(np.linalg.norm(face.points[454] - face.points[234]))
        c = {
            name: center(masks[name])
            for name in ("left_eye", "right_eye", "left_brow", "right_brow", "nose", "upper_lip", "lower_lip")
        }
        # "Left" is the subject's left: the image's right in a photo.
        assert c["left_eye"][0] > c["right_eye"][0], case.name
        assert c["left_brow"][0] > c["right_brow"][0], case.name
        for side in ("left", "right"):
            assert c[f"{side}_brow"][1] < c[f"{side}_eye"][1], (case.name, side)
        assert max(c["left_eye"][1], c["right_eye"][1]) < c["nose"][1] < c["upper_lip"][1] < c["lower_lip"][1]
        # Sizes in face widths: an eye is a few hundredths of a face, the lips a good part of one.
        eye = masks["left_eye"].box
        assert 0.1 * face_w < eye.width < 0.35 * face_w, (case.name, eye)
        lips = masks["lips"].box
        assert 0.25 * face_w < lips.width < 0.7 * face_w, (case.name, lips)
        skin = masks["face_skin"].box
        assert 0.9 * face_w < skin.width < 1.6 * face_w, (case.name, skin)


def test_lips_are_whole_and_apart_from_the_mouth_inside(face_cases, parser):
    for case in face_cases:
        masks = parser.parse_face(case.frame, case.parse.faces[0].landmarks)
        shape = case.frame.shape
        upper, lower = solid(masks["upper_lip"], shape), solid(masks["lower_lip"], shape)
        interior = solid(masks["mouth_interior"], shape)
        lips = upper | lower
        assert np.count_nonzero(lips & interior) <= 0.02 * np.count_nonzero(lips), case.name
        assert np.count_nonzero(upper & lower) <= 0.02 * np.count_nonzero(lips), case.name
        # No gap between the lips of a closed mouth: filling the lips' holes (with the inside) adds next to nothing.
        filled = lips.astype(np.uint8)
        contours, _ = cv2.findContours(filled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(filled, contours, -1, 1, cv2.FILLED)
        holes = np.count_nonzero(filled.astype(bool) & ~lips & ~interior)
        assert holes <= 0.01 * np.count_nonzero(lips), (case.name, holes)


def test_regions_respect_the_classes(face_cases, parser):
    for case in face_cases:
        masks = parser.parse_face(case.frame, case.parse.faces[0].landmarks)
        shape = case.frame.shape
        eyes = solid(masks["left_eye"], shape) | solid(masks["right_eye"], shape)
        lips = solid(masks["lips"], shape)
        irises = masks["irises"].full(shape[:2])
        assert np.count_nonzero((irises >= 128) & ~eyes) == 0, case.name  # clipped by the lids
        lids = solid(masks["lids"], shape)
        assert np.count_nonzero(lids & eyes) <= 0.02 * np.count_nonzero(lids), case.name
        face = solid(masks["face"], shape)
        assert np.count_nonzero(face & (eyes | lips)) <= 0.02 * np.count_nonzero(eyes | lips), case.name
        # The face region is the skin and the nose, and within the brows the skin between and around the hairs
        # (a foundation stopping at the brow class would leave a bare box around a thin brow), not the hairs.
        skin_and_nose = solid(masks["face_skin"], shape) | solid(masks["nose"], shape)
        brows = solid(masks["left_brow"], shape) | solid(masks["right_brow"], shape)
        assert np.count_nonzero((face ^ skin_and_nose) & ~brows) <= 0.02 * np.count_nonzero(face), case.name
        light = bgr_to_lab(case.frame)[:, :, 0]
        darkest, lightest = np.percentile(light[brows], [15, 85])
        assert face[brows & (light <= darkest)].mean() < 0.2, case.name
        assert face[brows & (light >= lightest)].mean() > 0.6, case.name


@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
def test_a_face_cut_by_the_frame_edge_parses(face_case, parser, side):
    frame = face_case.frame
    lm = face_case.parse.faces[0].landmarks.copy()
    x0, y0 = lm[:, :2].min(axis=0)
    x1, y1 = lm[:, :2].max(axis=0)
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
    if side == "left":
        cut = frame[:, cx:]
        lm[:, 0] -= cx
    elif side == "right":
        cut = frame[:, :cx]
    elif side == "top":
        cut = frame[cy:]
        lm[:, 1] -= cy
    else:
        cut = frame[:cy]
    cut = np.ascontiguousarray(cut)
    masks = parser.parse_face(cut, lm)
    assert set(masks) == set(ALL_MASKS)
    for name, mask in masks.items():
        assert inside_frame(mask, cut.shape), (side, name, mask.box)
    assert not masks["face_skin"].is_empty


@pytest.mark.parametrize("face_width", [24, 48])
def test_a_tiny_face_parses(face_case, parser, face_width):
    lm = face_case.parse.faces[0].landmarks
    scale = face_width / float(np.linalg.norm(lm[454, :2] - lm[234, :2]))
    small = cv2.resize(face_case.frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    masks = parser.parse_face(small, (lm * np.float32(scale)).astype(np.float32))
    assert set(masks) == set(ALL_MASKS)
    for name, mask in masks.items():
        assert inside_frame(mask, small.shape), (name, mask.box)
    for name in ("face_skin", "nose", "upper_lip", "left_eye"):
        assert not masks[name].is_empty, name


def test_a_face_wholly_outside_the_frame_gives_empty_masks(face_case, parser):
    lm = face_case.parse.faces[0].landmarks.copy()
    lm[:, 0] += 10 * face_case.frame.shape[1]
    masks = parser.parse_face(face_case.frame, lm)
    assert set(masks) == set(ALL_MASKS)
    assert all(mask.is_empty for mask in masks.values())


def test_without_regions_only_the_classes_come(face_case):
    masks = LandmarkParser(LandmarkParserOptions(regions=False)).parse_face(
        face_case.frame, face_case.parse.faces[0].landmarks
    )
    assert set(masks) == set(FACE_CLASSES)


def test_refinement_moves_the_outlines_but_keeps_the_parts(face_case):
    lm = face_case.parse.faces[0].landmarks
    raw = LandmarkParser(LandmarkParserOptions(refine=False, regions=False)).parse_face(face_case.frame, lm)
    fine = LandmarkParser(LandmarkParserOptions(regions=False)).parse_face(face_case.frame, lm)
    shape = face_case.frame.shape
    for name in ("upper_lip", "lower_lip", "left_eye", "right_brow", "face_skin"):
        a, b = solid(raw[name], shape), solid(fine[name], shape)
        iou = np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))
        assert 0.3 < iou < 1.0, (name, iou)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(work_size=32), "work_size must be an integer in 64..2048"),
        (dict(work_size=4096), "work_size must be an integer in 64..2048"),
        (dict(work_size=224.0), "work_size must be an integer in 64..2048"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        LandmarkParserOptions(**options)


def same(a: RoiMask, b: RoiMask) -> bool:
    return a.box == b.box and np.array_equal(a.alpha, b.alpha)


def test_a_tracked_face_keeps_its_colour_models_and_refits_each_in_turn(face_case, parser):
    lm = face_case.parse.faces[0].landmarks
    shape = face_case.frame.shape
    memory = FaceMemory()
    # The first frame fits every model: the masks are those of a parse without memory.
    first = parser.parse_face(face_case.frame, lm, memory)
    alone = parser.parse_face(face_case.frame, lm)
    assert all(same(first[name], alone[name]) for name in ALL_MASKS)
    # A slight change of light (3 %): the kept models still find the parts where fresh ones do, and once each has
    # had its turn (one per frame, two models) the masks are those of a fresh parse.
    dim = cv2.convertScaleAbs(face_case.frame, alpha=0.97)
    fresh = parser.parse_face(dim, lm)
    for frame_no in range(2):
        kept = parser.parse_face(dim, lm, memory)
        if frame_no == 0:
            assert not all(same(kept[name], fresh[name]) for name in ALL_MASKS), "no model was kept"
        for name in ("upper_lip", "lower_lip", "face_skin", "face", "cheeks"):
            a, b = solid(kept[name], shape), solid(fresh[name], shape)
            iou = np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))
            assert iou > 0.95, (frame_no, name, iou)
    assert all(same(kept[name], fresh[name]) for name in ALL_MASKS)
    # The light drops by a fifth: every model is refitted at once.
    dark = cv2.convertScaleAbs(face_case.frame, alpha=0.8)
    kept, fresh = parser.parse_face(dark, lm, memory), parser.parse_face(dark, lm)
    assert all(same(kept[name], fresh[name]) for name in ALL_MASKS)


def test_in_video_each_tracked_face_keeps_a_memory_until_it_leaves(face_case):
    lm = face_case.parse.faces[0].landmarks
    frame = face_case.frame
    with LandmarkFrameParser(ParserOptions(body=False), mode="video") as video:
        first = video.parse(frame, PerceptionResult((lm,), None), ids=[7])
        again = video.parse(frame, PerceptionResult((lm,), None), ids=[7])
        # The same frame twice: kept models give the same masks as fitted ones.
        assert all(same(first.faces[0].masks[n], again.faces[0].masks[n]) for n in ALL_MASKS)
        assert set(video._memories) == {7}
        video.parse(frame, PerceptionResult((), None), ids=[])
        assert not video._memories
    with LandmarkFrameParser(ParserOptions(body=False), mode="image") as photo:
        photo.parse(frame, PerceptionResult((lm,), None))
        assert photo._memories is None


def _eye_lids(profile: np.ndarray) -> np.ndarray:
    """Two lids (2 x 17 x 2, upper then lower, from the outer corner at x = 0 to the inner one at x = 100)."""
    x = np.linspace(0.0, 100.0, 17)
    return np.stack([np.stack([x, -0.6 * profile], 1), np.stack([x, 0.4 * profile], 1)]).astype(np.float32)


def test_an_eye_outline_loses_its_thin_tail_into_the_canthus_and_keeps_its_shape_otherwise():
    from tryon.parsing.landmarks import _without_tails

    t = np.linspace(0.0, np.pi, 17)
    lens = _eye_lids(30 * np.sin(t))  # an almond: thins out only at the very corners
    ring = _without_tails(lens)
    assert ring.shape == (32, 2)
    plain = np.concatenate([lens[0], lens[1, -2:0:-1]])
    assert np.abs(ring - plain).max() < 7.0  # the points blunted by a few percent of the eye's length
    assert np.abs(ring - plain)[[4, 8, 12, 20, 24, 28]].max() == 0
    # An eye whose last quarter is a spike a tenth of the eye's height into the inner corner.
    x = np.linspace(0.0, 100.0, 17)
    profile = np.where(x < 70, 30 * np.sin(np.pi * x / 80), 3.0)
    profile[-1] = 0
    spiked = _without_tails(_eye_lids(profile))
    assert spiked[:, 0].max() < 77.0  # cut where the spike starts
    assert spiked[:, 0].min() < 5.0  # the outer corner is kept
