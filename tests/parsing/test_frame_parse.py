from __future__ import annotations

import numpy as np
import pytest

from tryon.errors import ParseError
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
