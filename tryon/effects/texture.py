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
    # Plain floats: the matrix is a dozen numbers, and numpy's per-call cost would dwarf the arithmetic.
    p = face.points
    ox, oy = float(p[1, 0]), float(p[1, 1])
    ax, ay = float(p[263, 0] - p[33, 0]), float(p[263, 1] - p[33, 1])
    size = math.hypot(ax, ay) or 1.0
    c, s = ax / size, ay / size
    k = 256.0 / (2.2 * size)  # texture pixels per frame pixel: about 256 across the face
    # Texture coordinates are affine in frame coordinates: one warp samples the box (the texture wraps, so the
    # offsets are taken modulo its size to keep the warp's fixed-point coordinates small and exact).
    gx, gy = box.x0 - ox, box.y0 - oy
    rows = [[k * c, k * s, ((gx * c + gy * s) * k) % _TEX], [-k * s, k * c, ((-gx * s + gy * c) * k) % _TEX]]
    # The texels the box reaches, per axis; where they fit in the 2 x 2 tiling, it is sampled without wrapping.
    starts: list[float | None] = []
    for a, b, offset in rows:
        dx, dy = a * box.width, b * box.height
        low = math.floor((offset + min(dx, 0.0) + min(dy, 0.0)) / _TEX) * _TEX  # whole tiles: the same texels
        starts.append(low if offset + max(dx, 0.0) + max(dy, 0.0) - low < 2 * _TEX - 2 else None)
    if None in starts:
        texture, border = _sparkle_texture(density, seed), cv2.BORDER_WRAP
    else:
        for row, start in zip(rows, starts):
            row[2] -= start or 0.0
        texture, border = _tiled_texture(density, seed), cv2.BORDER_CONSTANT
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    field8 = cv2.warpAffine(texture, np.array(rows), (box.width, box.height), flags=flags, borderMode=border)
    return unit(field8)
