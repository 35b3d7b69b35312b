from __future__ import annotations

import numpy as np
import pytest

from tryon.errors import ParseError
from tryon.geometry import Box, RoiMask, pixel_points


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


def test_pixel_points_put_mediapipe_points_on_opencv_pixel_centres():
    # Given MediaPipe's normalised points (x, y, depth) in a 4x8 image: the left edge, the middle, pixel 5's centre
    norm = np.array([[0.0, 0.0, 0.1], [0.5, 0.5, 0.2], [5.5 / 8, 2.5 / 4, -0.1]], np.float32)
    # When they are taken to pixels
    px = pixel_points(norm, (4, 8))
    # Then an edge sits half a pixel before pixel 0's centre, the middle between pixels 3 and 4 (and rows 1 and 2),
    # a pixel's centre on that pixel; depth is scaled like x and not moved
    np.testing.assert_allclose(px, [[-0.5, -0.5, 0.8], [3.5, 1.5, 1.6], [5.0, 2.0, -0.8]], atol=1e-6)
    assert px.dtype == np.float32
    # And 2-column points (keypoints, pose) work the same way
    np.testing.assert_allclose(pixel_points(norm[:, :2], (4, 8)), px[:, :2])
