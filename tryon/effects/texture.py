"""Procedural textures anchored to the face, so shimmer and sparkle move with the skin instead of the screen."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from tryon.geometry import Box
from tryon.parsing.frame_parse import Face

__all__ = ["sparkle_field"]

_TEX = 512


@lru_cache(maxsize=8)
def _sparkle_texture(density: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dots = (rng.random((_TEX, _TEX)) > 1.0 - density).astype(np.float32)
    tex: np.ndarray = dots * rng.random((_TEX, _TEX)).astype(np.float32)
    tex = cv2.GaussianBlur(tex, (0, 0), 0.8)
    tex /= max(float(tex.max()), 1e-6)
    tex.setflags(write=False)
    return tex


def sparkle_field(box: Box, face: Face, density: float = 0.04, seed: int = 0) -> np.ndarray:
    """Sparkle intensities (float32, 0..1) over ``box``, fixed in face coordinates.

    The texture is sampled in a frame that follows the face (origin at the nose tip, scaled and rotated with the
    eye line), so sparkles stay on the same spot of skin as the head moves.
    """
    p = face.points
    origin = p[1]
    axis = p[263] - p[33]
    size = float(np.linalg.norm(axis)) or 1.0
    c, s = axis / size
    k = 256.0 / (2.2 * size)  # texture pixels per frame pixel: about 256 across the face
    xs = np.arange(box.x0, box.x1, dtype=np.float32) - origin[0]
    ys = np.arange(box.y0, box.y1, dtype=np.float32) - origin[1]
    gx, gy = np.meshgrid(xs, ys)
    u = ((gx * c + gy * s) * k) % _TEX
    v = ((-gx * s + gy * c) * k) % _TEX
    return cv2.remap(_sparkle_texture(density, seed), u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
