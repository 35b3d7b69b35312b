from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tryon.color import Color, bgr_to_lab, lab_to_bgr
from tryon.errors import InputError

# Reference CIE Lab (D65) values of sRGB colours.
REFERENCE = [
    ("#FFFFFF", (100.0, 0.0, 0.0)),
    ("#000000", (0.0, 0.0, 0.0)),
    ("#FF0000", (53.24, 80.09, 67.20)),
    ("#00FF00", (87.73, -86.18, 83.18)),
    ("#0000FF", (32.30, 79.19, -107.86)),
    ("#808080", (53.59, 0.0, 0.0)),
]


@pytest.mark.parametrize(("hex_", "lab"), REFERENCE)
def test_lab_matches_reference_values(hex_, lab):
    assert Color.from_hex(hex_).lab == pytest.approx(lab, abs=0.6)


@pytest.mark.parametrize("text", ["#b0123f", "B0123F", " #B0123F ", "#abc"])
def test_hex_forms(text):
    c = Color.from_hex(text)
    assert c.hex == ("#AABBCC" if text == "#abc" else "#B0123F")


@pytest.mark.parametrize("bad", ["red", "#12345", "#GGGGGG", "", 12, None, [1, 2]])
def test_bad_colours_say_what_is_expected(bad):
    with pytest.raises(InputError, match=r"\#"):
        Color.parse(bad)


def test_channel_range_is_checked():
    with pytest.raises(InputError, match=r"0\.\.255"):
        Color(256, 0, 0)


@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
def test_lab_round_trip_is_lossless_to_one_level(r, g, b):
    bgr = np.array([[[b, g, r]]], np.uint8)
    back = lab_to_bgr(bgr_to_lab(bgr))
    assert np.abs(back.astype(int) - bgr.astype(int)).max() <= 1


def test_color_parse_accepts_sequences_and_colors():
    c = Color.parse([10, 20, 30])
    assert c.bgr == (30, 20, 10)
    assert Color.parse(c) is c
