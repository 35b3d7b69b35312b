"""Boxes and region-of-interest masks: the unit of work of every per-frame stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import cv2
import numpy as np

from tryon.errors import ParseError

__all__ = ["Box", "RoiMask", "disc_kernel", "nearest_centre", "pixel_points"]


class Box(NamedTuple):
    """An integer pixel box, ``x0 <= x < x1`` and ``y0 <= y < y1``.

    A named tuple: every stage builds and compares boxes many times a frame, and a tuple is built several times faster
    than a frozen dataclass.
    """

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around(cls, points: np.ndarray, pad: float = 0.0, *, shape: tuple[int, int] | None = None) -> Box:
        """The box around ``points`` (Nx2, x then y), grown by ``pad`` pixels and clipped to ``shape``."""
        x0, y0 = np.floor(points[:, :2].min(axis=0) - pad).astype(int)
        x1, y1 = np.ceil(points[:, :2].max(axis=0) + pad).astype(int) + 1
        box = cls(int(x0), int(y0), int(x1), int(y1))
        return box.clip(shape) if shape is not None else box

    @property
    def width(self) -> int:
        w = self.x1 - self.x0
        return w if w > 0 else 0

    @property
    def height(self) -> int:
        h = self.y1 - self.y0
        return h if h > 0 else 0

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices to index an image with."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def clip(self, shape: tuple[int, ...]) -> Box:
        """The part of the box inside an image of ``shape`` (H, W, ...)."""
        h, w = shape[:2]
        return Box(min(max(self.x0, 0), w), min(max(self.y0, 0), h), max(min(self.x1, w), 0), max(min(self.y1, h), 0))

    def grow(self, pad: int) -> Box:
        return Box(self.x0 - pad, self.y0 - pad, self.x1 + pad, self.y1 + pad)

    def union(self, other: Box) -> Box:
        if self.empty:
            return other
        if other.empty:
            return self
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def intersect(self, other: Box) -> Box:
        x0, y0 = max(self.x0, other.x0), max(self.y0, other.y0)
        x1, y1 = min(self.x1, other.x1), min(self.y1, other.y1)
        return Box(x0, y0, x1, y1) if x1 > x0 and y1 > y0 else Box(x0, y0, x0, y0)

    def relative_to(self, outer: Box) -> Box:
        """This box in the coordinates of ``outer``'s top-left corner."""
        return Box(self.x0 - outer.x0, self.y0 - outer.y0, self.x1 - outer.x0, self.y1 - outer.y0)


@dataclass(frozen=True, eq=False)  # compared by identity: == on the alpha array is ambiguous
class RoiMask:
    """A soft mask that is zero outside ``box``: ``alpha`` (uint8, 0..255) covers exactly the box.

    Storing only the box keeps every per-frame pass proportional to the region, not the frame.
    """

    box: Box
    alpha: np.ndarray

    def __post_init__(self) -> None:
        a = self.alpha
        if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 2:
            got = f"{a.shape} {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
            raise ParseError(f"mask alpha must be a 2-D uint8 array, got {got}")
        if a.shape != (self.box.height, self.box.width):
            raise ParseError(
                f"mask alpha must match its box {self.box.height}x{self.box.width}, got {a.shape[0]}x{a.shape[1]}"
            )

    @classmethod
    def empty_at(cls, box: Box) -> RoiMask:
        return cls(Box(box.x0, box.y0, box.x0, box.y0), np.zeros((0, 0), np.uint8))

    @property
    def is_empty(self) -> bool:
        return self.box.empty or not bool(self.alpha.any())

    def full(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask as a full ``shape`` (H, W) uint8 image."""
        out = np.zeros(shape[:2], np.uint8)
        self.paste_max(out)
        return out

    def paste_max(self, canvas: np.ndarray) -> None:
        """Merges the mask into ``canvas`` (full-frame uint8) by maximum."""
        clip = self.box.clip(canvas.shape)
        if clip.empty:
            return
        inner = clip.relative_to(self.box)
        np.maximum(canvas[clip.slices], self.alpha[inner.slices], out=canvas[clip.slices])

    def crop(self, box: Box) -> np.ndarray:
        """The mask's values over ``box`` (zeros where the mask has no data), as a new array."""
        if box == self.box:
            return self.alpha.copy()
        out = np.zeros((box.height, box.width), np.uint8)
        inter = self.box.intersect(box)
        if not inter.empty:
            out[inter.relative_to(box).slices] = self.alpha[inter.relative_to(self.box).slices]
        return out

    def tight(self, threshold: int = 0) -> RoiMask:
        """The same mask with its box shrunk to the pixels above ``threshold``."""
        if self.box.empty:
            return self
        x, y, w, h = cv2.boundingRect((self.alpha > threshold).view(np.uint8))
        if w == 0 or h == 0:
            return RoiMask.empty_at(self.box)
        inner = Box(x, y, x + w, y + h)
        box = Box(self.box.x0 + inner.x0, self.box.y0 + inner.y0, self.box.x0 + inner.x1, self.box.y0 + inner.y1)
        return RoiMask(box, np.ascontiguousarray(self.alpha[inner.slices]))


def nearest_centre(box: Box, centres: Sequence[np.ndarray]) -> np.ndarray:
    """For each pixel of ``box``, the index into ``centres`` (``(x, y)`` frame pixels) of the nearest one.

    ``|p - c|^2 - |p|^2`` is linear in ``p``, so one pass per centre suffices.
    """
    xs = np.arange(box.x0, box.x1, dtype=np.float32)[None, :]
    ys = np.arange(box.y0, box.y1, dtype=np.float32)[:, None]
    score = np.stack(
        [
            np.float32(-2.0 * c[0]) * xs + np.float32(-2.0 * c[1]) * ys + np.float32(c[0] * c[0] + c[1] * c[1])
            for c in (np.asarray(c, np.float64) for c in centres)
        ]
    )
    return np.argmin(score, axis=0)


def pixel_points(normalized: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """MediaPipe's normalised ``(x, y, ...)`` points as float32 frame pixels, pixel ``i`` centred on ``i``.

    MediaPipe measures over the pixels' edges (pixel ``i`` spans ``[i, i + 1)``: its drawing utilities floor a point
    into its pixel), OpenCV at their centres (it fills, draws and samples pixel ``i`` at ``i``): a point is moved
    half a pixel up and left. Columns beyond the second (face mesh's depth) are scaled like x and not moved. Without
    the half pixel every mask sat that much right of and below the face: on CelebAMask-HQ the brows' F1 rose from
    0.763 to 0.779 with it, the nose's from 0.877 to 0.879.
    """
    h, w = shape
    points = np.array(normalized, np.float32)
    points *= np.array([w, h, w][: points.shape[-1]], np.float32)
    points[..., :2] -= np.float32(0.5)
    return points


@lru_cache(maxsize=32)
def disc_kernel(radius: int) -> np.ndarray:
    """An elliptical structuring element of ``radius`` pixels (2r+1 across), built once per size."""
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
