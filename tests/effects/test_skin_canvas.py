"""The complexion effects' shared canvas: a run of them painted on one canvas per face matches applying each alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.effects._complexion import moved_parse
from tests.effects.helpers import outside_unchanged
from tests.effects.test_complexion_properties import SHAPE, _frame
from tryon.color import bgr_to_lab
from tryon.effects import create_effect
from tryon.effects._skin import SkinCanvas, apply_effects

# Every complexion effect, at strengths that show, in registry order (as a look applies them).
RUN = {
    "foundation": {"color": "#C69C7E", "coverage": 0.8, "intensity": 0.9},
    "smoothing": {"intensity": 0.8, "detail": 0.5},
    "concealer": {"coverage": 0.9},
    "contour": {"intensity": 0.8},
    "blush": {"color": "#D9737A", "intensity": 0.8},
    "highlighter": {"intensity": 0.7, "shimmer": 0.6},
}
MASKS = ("face", "under_eye", "contour", "cheeks", "highlight")


def _effects():
    return [create_effect(name, options) for name, options in RUN.items()]


def _one_by_one(frame, parse):
    out = frame.copy()
    for effect in _effects():
        effect.apply(out, parse)
    return out


def test_a_run_on_one_canvas_looks_like_the_effects_applied_one_by_one(face_cases):
    for case in face_cases:
        # Given every complexion effect, painted together and applied one after another
        together = apply_effects(_effects(), case.frame.copy(), case.parse)
        apart = _one_by_one(case.frame, case.parse)
        face = case.parse.faces[0]
        # Then the two differ by a fraction of a just-noticeable difference on the skin, and nowhere else
        outside_unchanged(case.frame, together, [face.mask(m) for m in MASKS])
        skin = face.mask("face").full(case.frame.shape[:2]) > 128
        lab_a, lab_b = bgr_to_lab(together)[skin], bgr_to_lab(apart)[skin]
        delta_e = np.linalg.norm(lab_a - lab_b, axis=1)
        moved = np.linalg.norm(bgr_to_lab(case.frame)[skin] - lab_b, axis=1)
        assert float(np.mean(moved)) > 3.0, f"{case.name}: the run should visibly change the skin"
        # (rounding: one by one, the frame is rounded to 8 bits after each effect; the canvas keeps floats)
        assert float(np.mean(delta_e)) < 0.45, case.name
        assert float(np.percentile(delta_e, 99.5)) < 1.8, case.name


def test_an_effect_alone_gives_what_it_gives_in_a_run_of_one(face_case):
    for effect in _effects():
        alone = effect.apply(face_case.frame.copy(), face_case.parse)
        in_run = apply_effects([effect], face_case.frame.copy(), face_case.parse)
        assert np.array_equal(alone, in_run), effect.name


def test_the_cells_follow_what_is_painted_on_either_grid(face_case):
    face = face_case.parse.faces[0]
    canvas = SkinCanvas.over(face_case.frame.copy(), face)
    assert canvas is not None
    coarse = canvas.grid(face.mask("face"))
    before = coarse.bgr.copy()
    # When the fine grid lifts the whole skin by 20 levels of blue
    fine = canvas.grid(face.mask("face"), fine=True)
    change = np.zeros((*fine.shape, 3), np.float32)
    change[:, :, 0] = 20.0
    fine.add(change)
    # Then the coarse grid's cells that are all skin see it too, and only in blue
    after = canvas.grid(face.mask("face")).bgr
    full = coarse.weight > 0.99
    assert full.sum() > 100
    moved = (after - before)[full] * 255.0
    assert np.allclose(moved[:, 0], 20.0, atol=0.5)
    assert np.allclose(moved[:, 1:], 0.0, atol=1e-3)


def test_a_canvas_flushed_without_paint_leaves_the_frame_as_it_was(face_case):
    frame = face_case.frame.copy()
    canvas = SkinCanvas.over(frame, face_case.parse.faces[0])
    assert canvas is not None
    canvas.grid(face_case.parse.faces[0].mask("cheeks"))
    canvas.flush()
    assert np.array_equal(frame, face_case.frame)


@pytest.mark.parametrize("kind", ["noise", "flat", "gradient", "extremes"])
def test_a_run_keeps_the_invariants_on_any_content(face_case, kind):
    face_w = float(np.linalg.norm(face_case.parse.faces[0].points[454] - face_case.parse.faces[0].points[234]))

    @settings(max_examples=15, deadline=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        face_px=st.floats(40, 260),
        shift=st.tuples(st.floats(-0.4, 0.4), st.floats(-0.4, 0.4)),
    )
    def check(seed, face_px, shift):
        # Given a real face's parse, resized and moved over arbitrary content (maybe cut by the frame's edge)
        scale = face_px / face_w
        centre = face_case.parse.faces[0].points.mean(axis=0) * scale
        offset = (round(SHAPE[1] * (0.5 + shift[0]) - centre[0]), round(SHAPE[0] * (0.5 + shift[1]) - centre[1]))
        parse = moved_parse(face_case.parse, SHAPE, scale, offset)
        frame = _frame(kind, seed)
        # When the whole run is painted on one canvas (twice)
        out = apply_effects(_effects(), frame.copy(), parse)
        again = apply_effects(_effects(), frame.copy(), parse)
        # Then it is deterministic, uint8 of the same shape, and nothing outside the effects' masks moves
        assert out.dtype == np.uint8 and out.shape == frame.shape
        assert np.array_equal(out, again)
        outside_unchanged(frame, out, [parse.faces[0].mask(m) for m in MASKS])

    check()


def test_the_skin_by_the_frame_edge_is_painted_when_the_face_is_larger_than_the_frame(face_case):
    # Given a close-up: the face's skin spans the whole width of a frame that is not a whole number of cells wide
    face = face_case.parse.faces[0]
    scale = 432.0 / float(np.linalg.norm(face.points[454] - face.points[234]))
    centre = face.points.mean(axis=0) * scale
    offset = (round(SHAPE[1] * 0.5 - centre[0]), round(SHAPE[0] * 0.12 - centre[1]))
    parse = moved_parse(face_case.parse, SHAPE, scale, offset)
    skin = parse.faces[0].mask("face").full(SHAPE) >= 200
    assert skin[:, 0].any() and skin[:, -1].any()
    frame = np.full((*SHAPE, 3), (120, 140, 170), np.uint8)
    canvas = SkinCanvas.over(frame.copy(), parse.faces[0])
    assert canvas is not None
    grid = canvas.grid(parse.faces[0].mask("face"))
    assert grid is not None and SHAPE[1] % grid.cell != 0
    # When the run paints it (and when the foundation is applied alone)
    together = apply_effects(_effects(), frame.copy(), parse)
    alone = create_effect("foundation", RUN["foundation"]).apply(frame.copy(), parse)
    # Then the skin changes up to the frame's edges: no bare strip where the last whole cell ends
    for out in (together, alone):
        changed = np.abs(out.astype(np.int16) - frame).max(axis=2) >= 3
        assert changed[skin].all(), f"{int((skin & ~changed).sum())} skin pixels left bare"
    # ... and as much by the edges as elsewhere (the cells past the frame's edge repeat it, not bare of skin)
    moved = np.abs(alone.astype(np.float32) - frame).sum(axis=2)
    for edge in (slice(0, 4), slice(-4, None)):
        assert moved[:, edge][skin[:, edge]].mean() > 0.9 * np.median(moved[skin])
