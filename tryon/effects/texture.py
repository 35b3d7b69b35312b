"""Procedural textures anchored to the face, so shimmer and sparkle move with the skin instead of the screen."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from tryon.effects.base import unit
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
    # Stored as 8 bits: a quarter of the memory stays in cache while the warp samples it at a slant, and OpenCV's
    # 8-bit warp is its fastest; 1/255 steps are far below what a sparkle's brightness shows.
    tex8: np.ndarray = np.round(tex * 255.0).astype(np.uint8)
    tex8.setflags(write=False)
    return tex8


@lru_cache(maxsize=8)
def _tiled_texture(density: float, seed: int) -> np.ndarray:
    """The texture tiled 2 x 2: a warp that stays inside it needs no wrapping border (OpenCV's is slow)."""
    tiled: np.ndarray = np.tile(_sparkle_texture(density, seed), (2, 2))
    tiled.setflags(write=False)
    return tiled


def sparkle_field(box: Box, face: Face, density: float = 0.04, seed: int = 0) -> np.ndarray:
    """Sparkle intensities (float32, 0..1) over ``box``, fixed in face coordinates.

    The texture is sampled in a frame that follows the face (origin at the nose tip, scaled and rotated with the
    eye line), so sparkles stay on the same spot of skin as the head moves.
    """
    p = face.points
    origin = p[1]
    axis = p[263] - p[33]
    size = math.hypot(float(axis[0]), float(axis[1])) or 1.0
    c, s = axis / size
    k = 256.0 / (2.2 * size)  # texture pixels per frame pixel: about 256 across the face
    # Texture coordinates are affine in frame coordinates: one warp samples the box (the texture wraps, so the
    # offsets are taken modulo its size to keep the warp's fixed-point coordinates small and exact).
    gx, gy = box.x0 - float(origin[0]), box.y0 - float(origin[1])
    to_texture = np.array(
        [
            [k * c, k * s, ((gx * c + gy * s) * k) % _TEX],
            [-k * s, k * c, ((-gx * s + gy * c) * k) % _TEX],
        ]
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    # The texels the box reaches, per axis; where they fit in the 2 x 2 tiling, it is sampled without wrapping.
    steps = to_texture[:, :2] * (box.width, box.height)
    low = to_texture[:, 2] + np.minimum(steps, 0.0).sum(axis=1)
    high = to_texture[:, 2] + np.maximum(steps, 0.0).sum(axis=1)
    low = np.floor(low / _TEX) * _TEX  # whole tiles: the same texels
    if float((high - low).max()) < 2 * _TEX - 2:
        to_texture[:, 2] -= low
        texture, border = _tiled_texture(density, seed), cv2.BORDER_CONSTANT
    else:
        texture, border = _sparkle_texture(density, seed), cv2.BORDER_WRAP
    field8 = cv2.warpAffine(texture, to_texture, (box.width, box.height), flags=flags, borderMode=border)
    return unit(field8)
