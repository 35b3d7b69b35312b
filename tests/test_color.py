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


@pytest.mark.parametrize("bad", [[0.5, 0.5, 0.5], [1.5, 0, 0], [255.0, 0, 0], [True, 0, 0], ["a", 0, 0], [None, 0, 0]])
def test_a_colour_list_must_hold_three_whole_numbers(bad):
    with pytest.raises(InputError, match=r"3 whole numbers in 0\.\.255 \(not fractions or true/false\)"):
        Color.parse(bad)


def test_channels_refuse_booleans_and_accept_numpy_integers():
    with pytest.raises(InputError, match="channel r"):
        Color(True, 0, 0)
    assert Color.parse(np.array([1, 2, 3]).tolist()).hex == "#010203"
    assert Color.parse((np.uint8(1), np.int64(2), 3)).hex == "#010203"


def test_messages_quote_a_huge_value_briefly():
    huge = [["lol"] * 9] * 9
    for _ in range(6):
        huge = [huge] * 9  # a repr of hundreds of megabytes, built lazily by sharing
    with pytest.raises(InputError) as info:
        Color.parse(huge)
    assert len(str(info.value)) < 200
    with pytest.raises(InputError) as info:
        Color.from_hex("#" + "0" * 100_000)
    assert len(str(info.value)) < 200
