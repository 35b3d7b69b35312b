from __future__ import annotations

import numpy as np
import pytest

from tryon.errors import InputError, ParseError
from tryon.geometry import Box, RoiMask
from tryon.parsing import Face, FrameParse
from tryon.parsing.classes import CLASSES, class_index, legend


def landmarks(x: float = 50.0) -> np.ndarray:
    pts = np.zeros((478, 3), np.float32)
    pts[:, 0] = x
    pts[:, 1] = 40
    return pts


def square(x0: int, y0: int, size: int, value: int = 255) -> RoiMask:
    return RoiMask(Box(x0, y0, x0 + size, y0 + size), np.full((size, size), value, np.uint8))


def test_labels_paint_face_parts_over_skin_and_body():
    face = Face(0, landmarks(), Box(10, 10, 90, 90), {"face_skin": square(10, 10, 60), "upper_lip": square(30, 30, 10)})
    parse = FrameParse((100, 120), (face,), {"clothes": square(0, 70, 30)})
    labels = parse.labels()
    assert labels[35, 35] == class_index("upper_lip")
    assert labels[15, 15] == class_index("face_skin")
    assert labels[95, 5] == class_index("clothes")
    assert labels[5, 110] == class_index("background")


def test_the_background_mask_is_what_no_class_claims_as_the_labels_say():
    soft = RoiMask(Box(40, 10, 60, 30), np.tile(np.linspace(0, 255, 20).astype(np.uint8), (20, 1)))
    face = Face(0, landmarks(), Box(10, 10, 90, 90), {"face_skin": square(10, 10, 30), "nose": soft})
    parse = FrameParse((100, 120), (face,), {"hair": square(0, 60, 40, value=200)})
    background = parse.mask("background")
    # It was all zeros, though the labels call most of the frame background
    assert np.array_equal(background >= 128, parse.labels() == class_index("background"))
    assert background[95, 110] == 255 and background[15, 15] == 0 and background[70, 5] == 55


@pytest.mark.parametrize("name", ["lip", "Hair", 123])
def test_an_unknown_mask_name_is_refused_listing_the_names(name):
    parse = FrameParse((100, 120), (Face(0, landmarks(), Box(10, 10, 90, 90)),))
    with pytest.raises(KeyError, match="masks are: background, face_skin"):
        parse.mask(name)  # it gave all zeros, as for a class that is simply absent


@pytest.mark.parametrize("threshold", [0, 256, 300, -1, 0.5, True])
def test_labels_refuse_a_threshold_outside_1_255(threshold):
    with pytest.raises(InputError, match=r"threshold must be a whole number in 1\.\.255"):
        FrameParse((100, 120)).labels(threshold)


def test_parses_faces_and_masks_compare_by_identity_and_hash():
    mask = square(0, 0, 4)
    face = Face(0, landmarks(), Box(10, 10, 90, 90), {"nose": mask})
    parse = FrameParse((100, 120), (face,))
    # == compared their numpy fields, and raised "the truth value of an array ... is ambiguous"
    assert parse == parse and parse != FrameParse((100, 120), (face,))
    assert face in [face] and mask != square(0, 0, 4)
    assert len({parse, face, mask}) == 3


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Face(0, np.zeros((468, 3), np.float32), Box(0, 0, 1, 1)), "478x3 float32"),
        (lambda: Face(0, np.full((478, 3), np.nan, np.float32), Box(0, 0, 1, 1)), "NaN"),
        (
            lambda: FrameParse((100, 100), (Face(0, landmarks(), Box(0, 0, 1, 1), {"lipz": square(0, 0, 4)}),)),
            "unknown mask 'lipz'",
        ),
        (
            lambda: FrameParse((100, 100), (Face(0, landmarks(), Box(0, 0, 1, 1), {"nose": square(90, 90, 20)}),)),
            "outside the frame",
        ),
        (
            lambda: FrameParse(
                (100, 100), (Face(1, landmarks(), Box(0, 0, 1, 1)), Face(1, landmarks(), Box(0, 0, 1, 1)))
            ),
            "unique",
        ),
        (lambda: FrameParse((0, 100)), "positive"),
        (lambda: FrameParse((100, 100), masks={"nose": square(0, 0, 4)}), "unknown mask 'nose'"),
    ],
)
def test_inconsistent_parses_are_refused_once_at_construction(build, message):
    with pytest.raises(ParseError, match=message):
        build()


def test_only_and_face_lookup():
    faces = (Face(0, landmarks(20), Box(0, 0, 40, 40)), Face(3, landmarks(70), Box(50, 0, 90, 40)))
    parse = FrameParse((100, 100), faces)
    assert [f.id for f in parse.only([3]).faces] == [3]
    with pytest.raises(KeyError, match=r"ids present: \[0, 3\]"):
        parse.face(7)
    with pytest.raises(KeyError, match="has no mask"):
        faces[0].mask("lips")


def test_legend_lists_every_class_in_order():
    assert legend() == dict(enumerate(CLASSES))
    with pytest.raises(KeyError, match="valid classes"):
        class_index("ears")


def test_a_parse_survives_pickling_for_other_processes(face_case):
    import pickle

    parse = face_case.parse
    back = pickle.loads(pickle.dumps(parse))
    assert back.shape == parse.shape and [f.id for f in back.faces] == [f.id for f in parse.faces]
    assert set(back.masks) == set(parse.masks)
    for before, after in zip(parse.faces, back.faces):
        np.testing.assert_array_equal(before.landmarks, after.landmarks)
        assert set(before.masks) == set(after.masks)
        for name, mask in before.masks.items():
            assert after.masks[name].box == mask.box
            np.testing.assert_array_equal(after.masks[name].alpha, mask.alpha)
    with pytest.raises(TypeError):
        back.faces[0].masks["lips"] = None  # still read-only
