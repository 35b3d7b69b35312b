"""Properties of the complexion effects over arbitrary frame content, face sizes, positions and options."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.effects._complexion import moved_parse
from tests.effects.helpers import outside_unchanged
from tryon.effects import create_effect

# Each effect, the masks it may change, and strategies for its options besides intensity.
_COLOR = st.one_of(st.none(), st.tuples(*[st.integers(0, 255)] * 3).map(lambda c: "#{:02X}{:02X}{:02X}".format(*c)))
EFFECTS = {
    "foundation": (("face",), {"color": _COLOR, "coverage": st.floats(0, 1)}),
    "smoothing": (("face",), {"detail": st.floats(0, 1)}),
    "concealer": (("under_eye",), {"color": _COLOR, "coverage": st.floats(0, 1)}),
    "contour": (("contour",), {"color": _COLOR.filter(lambda c: c is not None)}),
    "blush": (("cheeks",), {"color": _COLOR.filter(lambda c: c is not None)}),
    "highlighter": (("highlight",), {"color": _COLOR.filter(lambda c: c is not None), "shimmer": st.floats(0, 1)}),
}
SHAPE = (240, 320)


def _frame(kind: str, seed: int) -> np.ndarray:
    """Frame content with no face in it: noise, a flat colour, a smooth gradient, or saturated extremes."""
    rng = np.random.default_rng(seed)
    h, w = SHAPE
    if kind == "noise":
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if kind == "flat":
        return np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (h, w, 3)).copy()
    if kind == "extremes":
        return (rng.integers(0, 2, (h, w, 3)) * 255).astype(np.uint8)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(0, 255, 3) + np.stack([x / w, y / h, (x + y) / (w + h)], axis=2) * rng.uniform(-120, 120, 3)
    return np.clip(base + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", list(EFFECTS))
def test_effects_keep_their_invariants_on_any_content(face_case, name):
    masks, extra = EFFECTS[name]
    face_w = float(np.linalg.norm(face_case.parse.faces[0].points[454] - face_case.parse.faces[0].points[234]))

    @settings(max_examples=25, deadline=None)
    @given(
        kind=st.sampled_from(["noise", "flat", "gradient", "extremes"]),
        seed=st.integers(0, 2**32 - 1),
        face_px=st.floats(40, 260),  # face widths from tiny to a close-up in a 320x240 frame
        shift=st.tuples(st.floats(-0.4, 0.4), st.floats(-0.4, 0.4)),  # may push the face over the frame's edge
        intensity=st.floats(0, 1),
        options=st.fixed_dictionaries(extra),
    )
    def check(kind, seed, face_px, shift, intensity, options):
        # Given a real face's landmarks and masks, resized and moved over arbitrary content
        scale = face_px / face_w
        centre = face_case.parse.faces[0].points.mean(axis=0) * scale
        offset = (round(SHAPE[1] * (0.5 + shift[0]) - centre[0]), round(SHAPE[0] * (0.5 + shift[1]) - centre[1]))
        parse = moved_parse(face_case.parse, SHAPE, scale, offset)
        frame = _frame(kind, seed)
        effect = create_effect(name, {"intensity": intensity, **options})
        # When the effect is applied (twice, to check it is deterministic)
        out = effect.apply(frame.copy(), parse)
        again = effect.apply(frame.copy(), parse)
        # Then the frame keeps its type and shape, nothing outside the masks moves, and intensity 0 is identity
        assert out.dtype == np.uint8 and out.shape == frame.shape
        assert np.array_equal(out, again)
        outside_unchanged(frame, out, [parse.faces[0].mask(m) for m in masks])
        if intensity == 0:
            assert np.array_equal(out, frame)

    check()
