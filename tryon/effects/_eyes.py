"""What the eye, brow and detail effects share: eye geometry from landmarks, small drawn masks and multi-mask patches.

Eyeliner wings, the liner's taper and the mascara's lash zone are drawn from landmarks into small masks of their
own, each inside a tight box and anti-aliased. Sizes are given in face widths so they follow the face's scale.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.effects._skin import face_width
from tryon.effects.base import Patch, is_blank, lerp, unit
from tryon.geometry import Box, RoiMask, disc_kernel
from tryon.parsing.frame_parse import Face
from tryon.perception import topology

__all__ = [
    "EyeGeometry",
    "band_polygon",
    "disc_kernel",
    "draw_mask",
    "eye_geometry",
    "face_width",
    "lash_map",
    "layer_over",
    "outerness",
    "patch_over",
    "smoothstep",
]

_SUBPIXEL = 4  # fixed-point bits for cv2 drawing (1/16 pixel)


@dataclass(frozen=True)
class EyeGeometry:
    """One eye's lid margins and directions, in frame pixels.

    Attributes:
        upper: the upper lid margin, outer corner to inner corner (9x2).
        lower: the lower lid margin, outer corner to inner corner (9x2).
        outward: unit vector from the inner toward the outer corner.
        up: unit vector across the eye toward the brow (perpendicular to the line between the outer corners).
        width: corner-to-corner width in pixels.
    """

    upper: np.ndarray
    lower: np.ndarray
    outward: np.ndarray
    up: np.ndarray
    width: float

    @property
    def outer(self) -> np.ndarray:
        """The outer corner (landmark 33 or 263)."""
        return self.upper[0]


#: The last face's eyes: a look's eye effects ask for the same face's geometry several times a frame.
_last_eyes: tuple[weakref.ref[Face], tuple[EyeGeometry, EyeGeometry]] | None = None


def eye_geometry(face: Face) -> tuple[EyeGeometry, EyeGeometry]:
    """The subject's right and left eye (the image's left and right in a non-mirrored photo)."""
    global _last_eyes
    last = _last_eyes  # one read: another thread may replace it
    if last is not None and last[0]() is face:
        return last[1]
    eyes = _eye_geometry(face)
    _last_eyes = (weakref.ref(face), eyes)
    return eyes


def _eye_geometry(face: Face) -> tuple[EyeGeometry, EyeGeometry]:
    p = face.points
    axis = p[topology.LEFT_EYE_OUTER] - p[topology.RIGHT_EYE_OUTER]
    axis = axis / max(math.hypot(float(axis[0]), float(axis[1])), 1e-6)
    up = np.array([axis[1], -axis[0]], np.float32)  # image y grows downward
    eyes = []
    for upper_ids, lower_ids in (
        (topology.RIGHT_EYE_UPPER, topology.RIGHT_EYE_LOWER),
        (topology.LEFT_EYE_UPPER, topology.LEFT_EYE_LOWER),
    ):
        upper = p[list(upper_ids)].astype(np.float32)
        lower = p[list(lower_ids)].astype(np.float32)
        span = upper[0] - upper[-1]
        width = max(math.hypot(float(span[0]), float(span[1])), 1.0)
        outward = (span / width).astype(np.float32)
        for values in (upper, lower, outward):
            values.flags.writeable = False  # shared by every effect that asks (see eye_geometry)
        eyes.append(EyeGeometry(upper, lower, outward, up, width))
    up.flags.writeable = False
    return eyes[0], eyes[1]


def band_polygon(line: np.ndarray, normal: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """A band on one side of a polyline: the line, then the line moved ``heights`` along ``normal``, reversed."""
    far = line + heights[:, None] * normal[None, :]
    return np.concatenate([line, far[::-1]]).astype(np.float32)


def draw_mask(
    polygons: Sequence[np.ndarray], frame_shape: tuple[int, ...], sigma: float = 0.0, pad: int = 2
) -> RoiMask:
    """Fills polygons (Nx2 frame pixels) into an anti-aliased soft mask inside their tight box.

    Args:
        polygons: closed polygons in frame pixel coordinates.
        frame_shape: the frame's shape; the mask is clipped to it.
        sigma: Gaussian feather in pixels (0 for the anti-aliased edge alone).
        pad: extra pixels around the polygons' box, to hold the feather.
    """
    if not polygons:
        return RoiMask.empty_at(Box(0, 0, 0, 0))
    grow = pad + math.ceil(3 * sigma)
    points = np.concatenate(polygons).astype(np.float32, copy=False)
    x, y, w, h = cv2.boundingRect(points)  # one call: numpy's min, max and rounding are several each
    box = Box(x - grow, y - grow, x + w + grow, y + h + grow).clip(frame_shape)
    if box.empty:
        return RoiMask.empty_at(box)
    canvas = np.zeros((box.height, box.width), np.uint8)
    scale = float(1 << _SUBPIXEL)
    fixed = np.rint((points - (box.x0, box.y0)) * scale).astype(np.int32)
    start = 0
    for poly in polygons:  # one call each: a single call would leave the overlaps empty (even-odd rule)
        cv2.fillPoly(canvas, [fixed[start : start + len(poly)]], (255,), lineType=cv2.LINE_AA, shift=_SUBPIXEL)
        start += len(poly)
    if sigma > 0:
        canvas = np.asarray(cv2.GaussianBlur(canvas, (0, 0), sigma))
    return RoiMask(box, canvas).tight()


def patch_over(frame: np.ndarray, masks: Sequence[RoiMask], pad: int = 0) -> tuple[Patch, list[np.ndarray]] | None:
    """One patch over several masks: its alpha is their union (maximum), with each mask's alpha alongside.

    Returns:
        The patch and the float32 (0..1) alpha of each mask over it, or None when every mask is empty.
    """
    blank = [is_blank(m) for m in masks]
    live = [m for m, b in zip(masks, blank) if not b]
    if not live:
        return None
    box = live[0].box
    for m in live[1:]:
        box = box.union(m.box)
    box = box.grow(pad).clip(frame.shape) if pad else box.clip(frame.shape)
    if box.empty:
        return None
    alphas = [
        unit(m.crop(box)) if not b else np.zeros((box.height, box.width), np.float32) for m, b in zip(masks, blank)
    ]
    union = np.maximum.reduce(alphas) if len(alphas) > 1 else alphas[0]
    return Patch(box, frame[box.slices], union), alphas


def layer_over(
    new: np.ndarray, weight: np.ndarray, top: np.ndarray | float, top_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Folds a layer laid over another into one colour and one weight, for a single :func:`mix`.

    Mixing ``new`` by ``weight`` and then ``top`` by ``top_weight`` over the result equals mixing the returned
    colour by the returned weight.

    Args:
        new: float32 colours of the lower layer (BGR, or Lab: the fold is the same in any space).
        weight: its per-pixel weight (0..1).
        top: float32 colours of the upper layer (in ``new``'s space), or one level for all channels.
        top_weight: its per-pixel weight (0..1).
    """
    total = 1.0 - (1.0 - weight) * (1.0 - top_weight)
    share = np.divide(top_weight, total, out=np.zeros_like(total), where=total > 1e-6)
    return lerp(new, top, share), total


def lash_map(light: np.ndarray, weight: np.ndarray, fw: float) -> np.ndarray:
    """How lash-like each pixel is (float32, 0..1): thin, and clearly darker than the skin around it.

    Thin and dark is a morphological black-hat (the pixel is darker than what a closing fills in around it); clearly
    darker rules out wrinkles and pores, which are thin too but only a little darker than the skin. Broad dark
    areas (a smoky shadow already worn, a deep socket) are not thin and are not taken for lashes.

    Args:
        light: L (0..100) of a patch.
        weight: where to measure the skin's lightness (the zone the caller works in).
        fw: the face's width in pixels.
    """
    light = np.ascontiguousarray(light)
    blackhat = cv2.morphologyEx(light, cv2.MORPH_BLACKHAT, disc_kernel(max(1, round(0.01 * fw))))
    inside = (weight > 0.3).view(np.uint8)
    if cv2.countNonZero(inside) < 8:
        return np.zeros_like(light)
    # The mean of the zone's lighter half (OpenCV's masked means: numpy's boolean indexing copies).
    mean = cv2.mean(light, mask=inside)[0]
    skin = cv2.mean(light, mask=cv2.bitwise_and(inside, (light >= mean).view(np.uint8)))[0]
    return smoothstep(4.0, 16.0, blackhat) * smoothstep(12.0, 28.0, skin - light)


def outerness(eyes: Sequence[EyeGeometry], box: Box) -> np.ndarray:
    """Per pixel of ``box``: 0 at an eye's inner corner to 1 at its outer corner, along the eye (float32).

    Beyond the corners it saturates; each pixel takes the larger value of the two eyes.
    """
    ys = np.arange(box.y0, box.y1, dtype=np.float32)[:, None]
    xs = np.arange(box.x0, box.x1, dtype=np.float32)[None, :]
    out = np.zeros((box.height, box.width), np.float32)
    for eye in eyes:
        # A linear ramp: fold every constant into the row and column vectors, then one broadcast add.
        inner = eye.upper[-1]
        k = eye.outward / np.float32(eye.width)
        t = (xs - inner[0]) * k[0] + (ys - inner[1]) * k[1]
        np.clip(t, 0.0, 1.0, out=t)
        np.maximum(out, t, out=out)
    return out


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``edge0`` to 1 at ``edge1`` (float32), within 0.003 of the exact curve.

    Two OpenCV passes instead of eight numpy ones: the position between the edges is scaled, rounded and
    saturated to 8 bits in one, then looked up in a table of the curve. ``x`` must be finite and within about
    2**31 / 255 edge spans of ``edge0`` (OpenCV's conversion passes through 32-bit integers: infinities and NaN
    come out as 0).
    """
    x = np.ascontiguousarray(x, np.float32)
    scale = 255.0 / (edge1 - edge0)
    step = cv2.addWeighted(x, scale, x, 0.0, -edge0 * scale, dtype=cv2.CV_8U)
    return np.asarray(cv2.LUT(step, _SMOOTHSTEP))


_T = np.arange(256, dtype=np.float32) / np.float32(255.0)
_SMOOTHSTEP = _T * _T * (3.0 - 2.0 * _T)  # the Hermite curve at 256 points of 0..1
