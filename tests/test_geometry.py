from __future__ import annotations

import numpy as np
import pytest

from tryon.errors import ParseError
from tryon.geometry import Box, RoiMask


def test_box_clip_and_around():
    pts = np.array([[-5.0, 3.0], [20.0, 40.0]], np.float32)
    box = Box.around(pts, pad=2, shape=(30, 50))
    assert box == Box(0, 1, 23, 30)
    assert Box(10, 10, 5, 20).empty


def test_roimask_full_crop_and_tight():
    alpha = np.zeros((10, 20), np.uint8)
    alpha[2:5, 3:9] = 200
    mask = RoiMask(Box(100, 50, 120, 60), alpha)
    full = mask.full((100, 200))
    assert full.sum() == alpha.sum()
    assert full[52, 103] == 200
    t = mask.tight()
    assert t.box == Box(103, 52, 109, 55)
    assert np.array_equal(t.crop(mask.box), alpha)
    assert RoiMask(Box(0, 0, 4, 4), np.zeros((4, 4), np.uint8)).tight().is_empty


@pytest.mark.parametrize(
    ("alpha", "message"),
    [
        (np.zeros((10, 20), np.float32), "uint8"),
        (np.zeros((10, 20, 1), np.uint8), "2-D"),
        (np.zeros((11, 20), np.uint8), "match its box 10x20"),
    ],
)
def test_roimask_validates_alpha(alpha, message):
    with pytest.raises(ParseError, match=message):
        RoiMask(Box(0, 0, 20, 10), alpha)
