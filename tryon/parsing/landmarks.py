"""Face parsing from face-mesh landmarks, refined by each face's own colours.

The landmark polygons give a first outline of every class. Each outline then moves along its normals, within a
few hundredths of the face's width, to where the pixels change class by a colour model of this face: lips against
the skin around them, brow hair against the forehead, the eye against the lids' skin. The facial skin is the face
oval grown by a skin-versus-surroundings colour model up to the hairline and out to the ears.

Small parts (lips, eyes, brows, nose) are parsed at the working resolution in small windows of their own; the
skin, large and smooth, on a coarse copy of the face. The cost follows the face, not the frame: a few
milliseconds per face. In video a tracked face keeps its lip and skin colour models between frames
(:class:`FaceMemory`), refitting one of them per frame.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import cv2
import numpy as np

from tryon.errors import InputError
from tryon.geometry import Box, RoiMask, disc_kernel
from tryon.parsing._features import (
    Discriminant,
    Edge,
    Gaussian,
    Outline,
    edge_offsets,
    edge_table,
    sample,
    sigmoid,
    smooth,
)
from tryon.perception import topology as tp

__all__ = [
    "BROW_SKIN_RING",
    "LandmarkParser",
    "LandmarkParserOptions",
    "FaceMemory",
    "Canvas",
    "Window",
    "Prob",
    "brow_hairs",
]

log = logging.getLogger(__name__)

#: Face width, in pixels, of the coarse level (the skin and the large regions).
_COARSE_UNIT = 48.0
#: Masks are cut to the pixels above this alpha (of 255) when mapped back to the frame.
_TIGHT = 4

# Lips: the upper lip's edge is sharp; the lower lip fades into its shadow, and annotators put its edge late. The
# mesh's upper outline lies on the lip or inside it, so the colour only moves it outward; the lower one moves
# inward a little (a pale lower lip, close to the skin's colour, would otherwise lose its lower half). Against
# 0.015 face widths either way: CelebAMask-HQ lips F1 0.942 -> 0.951, FASSEG mouth 0.909 -> 0.913.
_LIP_UPPER = Edge(reach=0.03, mid=0.4, pull=0.5, inward=0.0, outward=0.015)
_LIP_LOWER = Edge(reach=0.03, mid=0.8, pull=0.5, inward=0.008, outward=0.015)
# Eyes: the lid margins move to where the lids' skin starts. Kept close to the landmarks: CelebAMask-HQ draws
# the eyeball alone, FASSEG the eye with its lid margins, and these sit between the two.
_EYE_UPPER = Edge(reach=0.03, mid=0.45, pull=0.3, inward=0.008, outward=0.008)
_EYE_LOWER = Edge(reach=0.03, mid=0.5, pull=0.3, inward=0.008, outward=0.008)
_EYE_K = 4.0  # the lids' skin-likeness falls to 1/e at a Mahalanobis distance of sqrt(2 * _EYE_K)
# Near its corners an eye's outline, kept on the landmarks there, can run on into the canthus as a thin spike
# (the caruncle, the lid folds): the outline is cut across the eye where it gets thinner than these fractions of
# the eye's height, at the inner corner and at the outer one.
_EYE_TAIL_INNER, _EYE_TAIL_OUTER = 0.2, 0.15
# Brows: the mesh's brow points lie on the lower half of the brow; the hair reaches well above them.
_BROW = Edge(reach=0.05, mid=0.5, pull=0.3, inward=0.02, outward=0.05)
_BROW_TAIL = 0.01  # at the outer end, hair around the temples would lead the brow astray
_BROW_GROW = 0.005  # brows are drawn around the hair, sparse hair included
#: Face widths of skin around a brow that set the skin's level against its hairs (parser and brows effect).
BROW_SKIN_RING = 0.02
# Skin: how far the colour model may take the skin beyond the face oval (up to the hairline, out to the ears),
# how far inside the oval the colour is checked (for hair over the forehead and temples), and the band beyond the
# reach that samples the surroundings (hair, background).
_SKIN_TOP, _SKIN_SIDE = 0.35, 0.12
_SKIN_IN_TOP, _SKIN_IN_SIDE = 0.1, 0.06
_SKIN_BG = 0.15
# Around the eyes, up to this many face widths beyond their outlines (and within the oval), is face whatever its
# colour: lashes, shadows, the far eye's outer corner on a turned head, where the oval comes close to the eye.
_SKIN_EYE_MARGIN = 0.06
# The skin map's last blur, in face widths (under a pixel of its coarse level): smooth edges, not stairs.
_SKIN_EDGE = 0.01


@dataclass(frozen=True)
class LandmarkParserOptions:
    """Options of :class:`LandmarkParser`.

    Attributes:
        refine: refine the landmark polygons by colour; False gives the raw polygons (a baseline).
        work_size: the face (cheek to cheek) is parsed at most this many pixels across. The default suits live
            video (a 720p face is about this size); :meth:`photo` parses large faces finer.
        regions: also build the effect regions (cheeks, lids, lash lines, ...); parsing alone does not need them.
    """

    refine: bool = True
    work_size: int = 224
    regions: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.work_size, int) or not 64 <= self.work_size <= 2048:
            raise InputError(f"work_size must be an integer in 64..2048, got {self.work_size!r}")

    @classmethod
    def photo(cls) -> LandmarkParserOptions:
        """Options for still photos: large faces are parsed at up to twice the live resolution.

        The eyes' edges gain most: on CelebAMask-HQ (faces about 450 pixels across) the eyes' F1 rises from 0.853
        to 0.872 (the nose's from 0.870 to 0.877), for about 2 ms more per face (12.7 against 10.7 ms for a 1024 px
        portrait).
        """
        return cls(work_size=448)


def _bbox(alpha: np.ndarray, threshold: int) -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` of the pixels of ``alpha`` above ``threshold`` (w = 0 when none)."""
    if alpha.size == 0:
        return 0, 0, 0, 0
    x, y, w, h = cv2.boundingRect(cv2.threshold(alpha, threshold, 255, cv2.THRESH_TOZERO)[1])
    return int(x), int(y), int(w), int(h)


# -- the working crop and its windows ----------------------------------------------------------------------------


class Window:
    """A rectangle of one canvas level, with drawing helpers in face-width units.

    Polygons and lines take landmark indices (sequences or integer arrays) or point arrays in window pixels.
    """

    def __init__(self, canvas: Canvas, box: Box) -> None:
        self.canvas = canvas
        self.box = box
        self.shape = (box.height, box.width)
        self.pts: np.ndarray = canvas.pts - np.array([box.x0, box.y0], np.float32)
        self.unit = canvas.unit
        self._ycc: np.ndarray | None = None
        self._fixed_pts: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        """True when the window is too small to parse (under 3 pixels either way)."""
        return min(self.shape) < 3

    @property
    def bgr(self) -> np.ndarray:
        return self.canvas.bgr[self.box.slices]

    @property
    def ycc(self) -> np.ndarray:
        """The window in float32 YCrCb (0..255), computed once."""
        if self._ycc is None:
            self._ycc = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2YCrCb).astype(np.float32)
        return self._ycc

    def zeros(self) -> np.ndarray:
        return np.zeros(self.shape, np.float32)

    def px(self, faces: float) -> int:
        """A length in face widths, in window pixels (at least 1)."""
        return max(1, round(faces * self.unit))

    def _fixed(self, rings: Sequence[Sequence[int] | np.ndarray] | np.ndarray) -> list[np.ndarray]:
        """Rings as 4-bit fixed-point int32 points for OpenCV.

        Landmark indices (sequences or integer arrays) index the window's landmarks, converted once; float arrays
        are window points already, a ``k x n x 2`` one being ``k`` rings.
        """
        out: list[np.ndarray] = []
        for r in rings:
            if isinstance(r, np.ndarray) and r.dtype.kind == "f":
                fixed = (r * 16 + 0.5).astype(np.int32)
                if fixed.ndim == 3:
                    out.extend(fixed)
                else:
                    out.append(fixed)
            else:
                if self._fixed_pts is None:
                    self._fixed_pts = (self.pts * 16 + 0.5).astype(np.int32)
                out.append(self._fixed_pts[r if isinstance(r, np.ndarray) else list(r)])
        return out

    def poly(self, *rings: Sequence[int] | np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Fills polygons into a float32 mask, anti-aliased."""
        out = self.zeros() if out is None else out
        if out.size:
            cv2.fillPoly(out, self._fixed(rings), 1.0, lineType=cv2.LINE_AA, shift=4)
        return out

    def fill(self, *rings: Sequence[int] | np.ndarray, out: np.ndarray | None = None, value: int = 1) -> np.ndarray:
        """Fills polygons into a uint8 0/1 mask, not anti-aliased: a cheap sampling mask (``view(bool)``)."""
        out = np.zeros(self.shape, np.uint8) if out is None else out
        if out.size:
            cv2.fillPoly(out, self._fixed(rings), value, lineType=cv2.LINE_8, shift=4)
        return out

    def lines(
        self, curves: Sequence[Sequence[int] | np.ndarray], thickness_faces: float, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Draws open polylines ``thickness_faces`` thick into a float32 mask, anti-aliased."""
        out = self.zeros() if out is None else out
        if out.size:
            cv2.polylines(out, self._fixed(curves), False, 1.0, self.px(thickness_faces), cv2.LINE_AA, shift=4)
        return out

    def disc(self, center: np.ndarray, radius: float, out: np.ndarray | None = None, value: float = 1.0) -> np.ndarray:
        """Draws a filled disc (radius in window pixels) of ``value``, anti-aliased."""
        out = self.zeros() if out is None else out
        if out.size:
            x, y = (int(v * 16 + 0.5) for v in center)
            cv2.circle(out, (x, y), max(1, round(radius * 16)), value, -1, cv2.LINE_AA, 4)
        return out

    def ellipse(
        self, center: np.ndarray, axes: tuple[float, float], angle: float, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Draws a filled ellipse (semi-axes in window pixels, angle in degrees), anti-aliased."""
        out = self.zeros() if out is None else out
        if out.size:
            box = ((float(center[0]), float(center[1])), (2 * axes[0], 2 * axes[1]), angle)
            cv2.ellipse(out, box, 1.0, -1, cv2.LINE_AA)
        return out

    def blur(self, mask: np.ndarray, sigma_faces: float) -> np.ndarray:
        """A Gaussian blur of ``sigma_faces`` face widths (a kernel of 2.5 sigmas each way)."""
        if not mask.size:
            return mask
        sigma = max(0.5, sigma_faces * self.unit)
        k = 2 * int(np.ceil(2.5 * sigma)) + 1
        return cv2.GaussianBlur(mask, (k, k), sigma)


@dataclass
class Prob:
    """A soft class map over a window of one canvas level."""

    window: Window
    p: np.ndarray

    def within(self, window: Window) -> np.ndarray:
        """This map over another window of the same level (zeros where it has no data)."""
        if window.canvas is not self.window.canvas:
            raise InputError("Prob.within needs a window of the same canvas level")
        out = window.zeros()
        inter = self.window.box.intersect(window.box)
        if not inter.empty:
            out[inter.relative_to(window.box).slices] = self.p[inter.relative_to(self.window.box).slices]
        return out


class Canvas:
    """One level of the face's working crop: its pixels, its frame box and scale, and windows onto it.

    ``Canvas.of_face`` builds the working level (the face at most ``work_size`` across); :attr:`coarse` is the
    same crop halved until the face is about :data:`_COARSE_UNIT` pixels across.
    """

    def __init__(self, bgr: np.ndarray, pts: np.ndarray, unit: float, box: Box, scale: float) -> None:
        self.bgr = bgr
        self.pts = pts
        self.unit = unit  # the face's width in this level's pixels
        self.box = box  # the crop, in frame pixels
        self.scale = scale  # level pixels per frame pixel
        self.shape = bgr.shape[:2]
        self._coarse: Canvas | None = None

    @classmethod
    def of_face(cls, frame: np.ndarray, landmarks: np.ndarray, work_size: int) -> Canvas:
        """The working level of one face: a crop of the face, the forehead up to the hairline and the ears."""
        pts = landmarks[:, :2].astype(np.float32)
        h, w = frame.shape[:2]
        face_w = tp.face_width(pts)
        top = pts[tp.FOREHEAD] + 0.45 * (pts[tp.FOREHEAD] - pts[tp.CHIN])
        box = Box.around(np.vstack([pts, top[None]]), pad=0.12 * face_w, shape=(h, w))
        scale = min(1.0, work_size / face_w)
        crop = frame[box.slices]
        if scale < 1.0 and not box.empty:
            size = (max(1, round(box.width * scale)), max(1, round(box.height * scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        else:
            scale = 1.0
        level_pts = (pts - np.array([box.x0, box.y0], np.float32)) * np.float32(scale)
        return cls(crop, level_pts, face_w * scale, box, scale)

    @property
    def coarse(self) -> Canvas:
        """The crop halved (by 2x2 means) until the face is about :data:`_COARSE_UNIT` pixels across."""
        if self._coarse is None:
            bgr, f = self.bgr, 1
            while self.unit / (2 * f) >= _COARSE_UNIT and min(bgr.shape[:2]) >= 8:
                hh, ww = bgr.shape[0] // 2, bgr.shape[1] // 2
                bgr = cv2.resize(bgr[: 2 * hh, : 2 * ww], (ww, hh), interpolation=cv2.INTER_AREA)
                f *= 2
            if f == 1:
                self._coarse = self
            else:
                pts = (self.pts + 0.5) / f - 0.5
                self._coarse = Canvas(bgr, pts.astype(np.float32), self.unit / f, self.box, self.scale / f)
        return self._coarse

    def window(self, ids: Sequence[int] | np.ndarray | None = None, pad_faces: float = 0.0) -> Window:
        """A window around landmarks ``ids`` (the whole level when None), grown by ``pad_faces`` face widths."""
        h, w = self.shape
        if ids is None:
            return Window(self, Box(0, 0, w, h))
        pts = self.pts[ids if isinstance(ids, np.ndarray) else list(ids)]
        pad = pad_faces * self.unit
        lo = (pts.min(axis=0) - pad).tolist()
        hi = (pts.max(axis=0) + pad).tolist()
        x0, y0 = (math.floor(v) for v in lo)
        x1, y1 = (math.ceil(v) + 1 for v in hi)
        return Window(self, Box(min(max(x0, 0), w), min(max(y0, 0), h), max(min(x1, w), 0), max(min(y1, h), 0)))

    def to_roi(self, prob: Prob) -> RoiMask:
        """Maps a soft map of this level or its coarse level back to the frame as a tight :class:`RoiMask`."""
        lvl, wb = prob.window.canvas, prob.window.box
        alpha = cv2.convertScaleAbs(prob.p, alpha=255.0) if prob.p.size else np.zeros((0, 0), np.uint8)
        x, y, bw, bh = _bbox(alpha, _TIGHT)
        ox, oy = lvl.box.x0, lvl.box.y0
        if bw == 0:
            return RoiMask.empty_at(Box(ox, oy, ox, oy))
        if lvl.scale == 1.0:
            box = Box(ox + wb.x0 + x, oy + wb.y0 + y, ox + wb.x0 + x + bw, oy + wb.y0 + y + bh)
            return RoiMask(box, np.ascontiguousarray(alpha[y : y + bh, x : x + bw]))
        # Grow by a pixel so the interpolation sees the edge, then sample at the frame pixels' centres.
        sub = Box(x, y, x + bw, y + bh).grow(1).clip(alpha.shape)
        sx0, sy0, sx1, sy1 = wb.x0 + sub.x0, wb.y0 + sub.y0, wb.x0 + sub.x1, wb.y0 + sub.y1
        inv = 1.0 / lvl.scale
        f = round(inv)
        if abs(inv - f) < 1e-9:
            # An integer factor (the coarse level of an unscaled crop): a plain resize samples the same centres.
            fb = Box(ox + sx0 * f, oy + sy0 * f, ox + sx1 * f, oy + sy1 * f)
            big = cv2.resize(alpha[sub.slices], (fb.width, fb.height), interpolation=cv2.INTER_LINEAR)
        else:
            fb = Box(
                ox + int(np.floor(sx0 * inv)),
                oy + int(np.floor(sy0 * inv)),
                ox + int(np.ceil(sx1 * inv)),
                oy + int(np.ceil(sy1 * inv)),
            ).intersect(lvl.box)
            if fb.empty:
                return RoiMask.empty_at(fb)
            s = lvl.scale
            m = np.array([[s, 0, (fb.x0 - ox + 0.5) * s - 0.5 - sx0], [0, s, (fb.y0 - oy + 0.5) * s - 0.5 - sy0]])
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            big = cv2.warpAffine(alpha[sub.slices], m, (fb.width, fb.height), flags=flags)
        x, y, bw, bh = _bbox(big, _TIGHT)
        if bw == 0:
            return RoiMask.empty_at(fb)
        box = Box(fb.x0 + x, fb.y0 + y, fb.x0 + x + bw, fb.y0 + y + bh)
        return RoiMask(box, np.ascontiguousarray(big[y : y + bh, x : x + bw]))


def _cut(mask: RoiMask, *parts: RoiMask) -> RoiMask:
    """``mask`` times (1 - each part), in frame coordinates."""
    alpha = None
    for part in parts:
        inter = mask.box.intersect(part.box)
        if inter.empty:
            continue
        if alpha is None:
            alpha = mask.alpha.copy()
        a = alpha[inter.relative_to(mask.box).slices]
        keep = cv2.bitwise_not(part.alpha[inter.relative_to(part.box).slices])
        cv2.multiply(a, keep, dst=a, scale=1 / 255)
    return mask if alpha is None else RoiMask(mask.box, alpha)


def _clip(mask: RoiMask, *bounds: RoiMask) -> RoiMask:
    """``mask`` no higher than the highest of ``bounds`` at each pixel, in frame coordinates."""
    if mask.box.empty:
        return mask
    limit = np.zeros((mask.box.height, mask.box.width), np.uint8)
    for bound in bounds:
        np.maximum(limit, bound.crop(mask.box), out=limit)
    return RoiMask(mask.box, np.minimum(mask.alpha, limit)).tight()


def brow_hairs(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
    """How hair-like each pixel of a brow's box is (uint8, 0..255), from its lightness against the skin around it.

    A brow mask is drawn around the hair, sparse hair included, so inside it there is skin too. The skin's level
    is the median of the ring around the mask (a lock of hair across it does not drag it down); the hair's is the
    darkest tenth of the mask (its mean would count the skin inside as hair). Pixels a fifth of the way from the
    skin's level to the hair's start to count, four fifths in count fully. Both levels come from histograms and
    the map from a lookup table: a few passes over the box.

    Args:
        grey: the box in grey levels, uint8 HxW.
        alpha: the brow mask there, uint8 HxW, with a ring of zeros around the brow.

    Returns:
        The map, or None when the box holds too little of the brow or of the skin around it to tell.
    """
    ring = cv2.compare(alpha, 13, cv2.CMP_LT)
    inside = cv2.compare(alpha, 127, cv2.CMP_GT)
    if cv2.countNonZero(ring) < 16 or cv2.countNonZero(inside) < 16:
        return None
    skin = _grey_percentile(grey, ring, 50.0)
    hair = _grey_percentile(grey, inside, 10.0)
    t = np.clip((skin - np.arange(256, dtype=np.float32)) / max(skin - hair, 6.0) - 0.2, 0.0, 0.6) / 0.6
    return np.asarray(cv2.LUT(grey, np.round(255.0 * t * t * (3.0 - 2.0 * t)).astype(np.uint8)))


def _grey_percentile(grey: np.ndarray, mask: np.ndarray, q: float) -> float:
    """The ``q``-th percentile of the uint8 ``grey`` where ``mask`` is set, from its histogram."""
    counts = np.cumsum(cv2.calcHist([grey], [0], mask, [256], [0, 256])[:, 0])
    return float(np.searchsorted(counts, counts[-1] * q / 100.0))


def _brow_hair_mask(frame: np.ndarray, brow: RoiMask, pad: int) -> RoiMask:
    """The brow's hair (:func:`brow_hairs` times the mask), in frame coordinates, a blank mask if it cannot tell."""
    box = brow.box.grow(pad).clip(frame.shape)
    if box.empty:
        return RoiMask.empty_at(brow.box)
    alpha = brow.crop(box)
    hairs = brow_hairs(cv2.cvtColor(frame[box.slices], cv2.COLOR_BGR2GRAY), alpha)
    if hairs is None:
        return RoiMask.empty_at(box)
    return RoiMask(box, cv2.multiply(hairs, alpha, scale=1.0 / 255.0))


# -- outlines drawn from landmarks -------------------------------------------------------------------------------

_LIP_RING = np.array([*tp.LIPS_UPPER_OUTER, *tp.LIPS_LOWER_OUTER[-2:0:-1]])  # closed, from the right corner
_LIP_INNER = np.array([*tp.LIPS_UPPER_INNER, *tp.LIPS_LOWER_INNER[-2:0:-1]])
_LIP_INNER_UPPER = np.array(tp.LIPS_UPPER_INNER)
_LIP_INNER_LOWER = np.array(tp.LIPS_LOWER_INNER)
_LIP_OUTLINE = Outline.of(_LIP_RING[None], closed=True)  # 40 points: 0 and 20 the corners, 1..19 the upper lip
_LIP_CORNERS = np.array([0, 20])
_LIP_NEAR_CORNERS = np.array([1, 19, 21, 39])
# Subject's left eye then right, each upper lid then lower, from the outer corner: 4 x 17 points.
_EYE_LIDS = np.array([[tp.LEFT_EYE_UPPER, tp.LEFT_EYE_LOWER], [tp.RIGHT_EYE_UPPER, tp.RIGHT_EYE_LOWER]])
_EYE_RINGS = np.concatenate([_EYE_LIDS[:, 0], _EYE_LIDS[:, 1, -2:0:-1]], axis=1)
_EYE_OUTLINE = Outline.of(_EYE_LIDS.reshape(4, -1), closed=False)
_EYE_CORNERS = np.array([0, 16, 17, 33, 34, 50, 51, 67])
# Subject's left brow then right, each the upper edge from the outer end and the lower edge back: 2 x 20 points.
_BROW_RINGS = np.array(
    [[*tp.LEFT_BROW_UPPER, *tp.LEFT_BROW_LOWER[::-1]], [*tp.RIGHT_BROW_UPPER, *tp.RIGHT_BROW_LOWER[::-1]]]
)
_BROW_OUTLINE = Outline.of(_BROW_RINGS, closed=True)
_BROW_TAILS = np.array([0, 1, 19, 20, 21, 39])
_FACE_OVAL = np.array(tp.FACE_OVAL)
_NOSE = np.array(tp.NOSE_OUTLINE)
_SKIN_SAMPLES = tuple(np.array(r) for r in tp.SKIN_SAMPLES)


def _without_tails(lid: np.ndarray) -> np.ndarray:
    """An eye's closed outline from its two lids, without the thin tails into its corners.

    The outline is cut across the eye where, towards a corner, it gets thinner than :data:`_EYE_TAIL_INNER` (or
    ``_EYE_TAIL_OUTER``) times the eye's height: the points beyond the cut slide back onto it along the
    corner-to-corner axis.

    Args:
        lid: ``2 x 17 x 2``, the upper lid then the lower one, each from the outer corner to the inner one.
    """
    ring = np.concatenate([lid[0], lid[1, -2:0:-1]])
    outer = lid[0, 0]
    axis = lid[0, -1] - outer
    length = float(np.hypot(axis[0], axis[1]))
    if length < 1.0:
        return ring
    axis = axis / length
    across = np.array([-axis[1], axis[0]], np.float32)
    s = np.linspace(0.0, length, 65, dtype=np.float32)
    rel = lid - outer
    along, up = rel @ axis, rel @ across  # 2 x 17 each: position along the eye, and across it
    along = np.maximum.accumulate(along, axis=1)  # np.interp wants them increasing
    thick = np.abs(np.interp(s, along[0], up[0]) - np.interp(s, along[1], up[1]))
    peak = int(np.argmax(thick))
    lo, hi = -np.inf, np.inf
    thin = np.flatnonzero(thick[:peak] < _EYE_TAIL_OUTER * thick[peak])
    if len(thin):
        lo = s[thin[-1]]
    thin = np.flatnonzero(thick[peak:] < _EYE_TAIL_INNER * thick[peak])
    if len(thin):
        hi = s[peak + thin[0]]
    pos = (ring - outer) @ axis
    return ring + ((np.clip(pos, lo, hi) - pos)[:, None] * axis).astype(np.float32)


def _halves(win: Window) -> tuple[slice, slice]:
    """The window's columns either side of the nose bridge."""
    x = min(max(round(float(win.pts[168, 0])), 1), win.shape[1] - 1)
    return slice(0, x), slice(x, win.shape[1])


def _upper_half(win: Window) -> np.ndarray:
    """A polygon over the window's side of the upper lip, bounded by the line between the lips (extended)."""
    pts = win.pts
    mid = 0.5 * (pts[_LIP_INNER_UPPER] + pts[_LIP_INNER_LOWER])
    far = float(sum(win.shape))
    along = mid[-1] - mid[0]
    along *= far / max(float(np.linalg.norm(along)), 1e-6)
    up = pts[0] - pts[17]  # the middle of the upper lip's outer edge, from the lower lip's
    up *= far / max(float(np.linalg.norm(up)), 1e-6)
    ends = np.array([mid[-1] + along, mid[-1] + along + up, mid[0] - along + up, mid[0] - along])
    return np.concatenate([mid, ends]).astype(np.float32)


def _head_outlines(pts: np.ndarray, unit: float, pushes: Sequence[tuple[float, float]]) -> list[np.ndarray]:
    """The face oval moved outward, for each ``(top, side)`` of ``pushes``.

    Each oval point moves away from the face's centre by ``top`` face widths at the forehead, ``side`` at the
    ears and nothing at the jaw, blending between; negative amounts pull it inward.
    """
    oval = pts[_FACE_OVAL]
    up = pts[tp.FOREHEAD] - pts[tp.CHIN]
    up /= max(float(np.linalg.norm(up)), 1e-6)
    rel = oval - 0.5 * (pts[tp.FOREHEAD] + pts[tp.CHIN])
    direction = rel / np.maximum(np.linalg.norm(rel, axis=1, keepdims=True), 1e-6)
    cos = direction @ up
    upper = np.maximum(cos, 0)[:, None]
    lower = np.clip(1 + np.minimum(cos, 0) / 0.4, 0, 1)[:, None]
    direction *= unit
    return [oval + direction * np.where(upper > 0, side + (top - side) * upper, side * lower) for top, side in pushes]


# -- the parser ---------------------------------------------------------------------------------------------------

#: The colour models a tracked face keeps, in the order it refits them (one per frame); not the eyes' or brows'.
_MODELS = ("lips", "skin")
#: A kept model is refitted at once when its window's mean luma (0..255) moved more than this since the fit.
_RELIGHT = 6.0
_T = TypeVar("_T")


class FaceMemory:
    """What the parser keeps of one tracked face between video frames: its colour models.

    A face's colours barely change from one frame to the next, while sampling and fitting them is a good part of
    the parsing cost. So a tracked face refits each model of :data:`_MODELS` once every ``len(_MODELS)`` frames,
    one model per frame in turn (the cost stays level), and at once when the light on its part changes (exposure,
    a lamp, the head turning to the light); the edges themselves are found anew in every frame.
    """

    def __init__(self) -> None:
        self.frame = -1  # counted by LandmarkParser.parse_face
        self._models: dict[str, tuple[float, Any]] = {}

    def model(self, key: str, fit: Callable[[], _T], luma: float) -> _T:
        """The model ``key``, refitted by ``fit`` in its turn, when the part's mean ``luma`` moved, or when none fits.

        Args:
            key: one of :data:`_MODELS`.
            fit: fits the model in this frame (None, or a sequence holding None, when it cannot).
            luma: the mean luma of the part's window in this frame.
        """
        kept = self._models.get(key)
        if (
            kept is None
            or (self.frame - _MODELS.index(key)) % len(_MODELS) == 0
            or abs(luma - kept[0]) > _RELIGHT
            or kept[1] is None
            or (isinstance(kept[1], (list, tuple)) and None in kept[1])
        ):
            kept = self._models[key] = (luma, fit())
        return cast(_T, kept[1])


def _fitted(memory: FaceMemory | None, key: str, fit: Callable[[], _T], ycc: np.ndarray) -> _T:
    """``fit()``, or the face's kept model ``key`` (``ycc``: the features of the part's window)."""
    return fit() if memory is None else memory.model(key, fit, cv2.mean(ycc)[0])


#: The parts cut out of the skin to give the ``face`` region (then the nose, to give ``face_skin``).
_PARTS = ("left_eye", "right_eye", "left_brow", "right_brow", "upper_lip", "lower_lip", "mouth_interior")


class LandmarkParser:
    """Builds per-face soft masks of the face classes and effect regions from 478 landmarks.

    Example:
        >>> parser = LandmarkParser()
        >>> masks = parser.parse_face(frame_bgr, landmarks)  # doctest: +SKIP
        >>> masks["upper_lip"].box  # doctest: +SKIP
    """

    def __init__(self, options: LandmarkParserOptions | None = None) -> None:
        self.options = options or LandmarkParserOptions()

    def parse_face(
        self, frame: np.ndarray, landmarks: np.ndarray, memory: FaceMemory | None = None
    ) -> dict[str, RoiMask]:
        """Soft masks of one face's classes (and regions, if enabled), as :class:`RoiMask` in frame coordinates.

        Args:
            frame: the BGR frame.
            landmarks: the face's 478 landmarks, in frame pixels.
            memory: in video, what the parser kept of this face from earlier frames (updated here); None fits
                every colour model anew.
        """
        from tryon.parsing import regions as region_builder

        if memory is not None:
            memory.frame += 1
        canvas = Canvas.of_face(frame, landmarks, self.options.work_size)
        probs = self.classes(canvas, memory)
        out = {name: canvas.to_roi(p) for name, p in probs.items()}
        # The skin map covers the whole face; the parts painted over it are cut out of it here, in the frame.
        skin = out.pop("skin")
        face = _cut(skin, *(out[n] for n in _PARTS))
        out["face_skin"] = _cut(face, out["nose"])
        if self.options.regions:
            # The brow class is drawn around sparse hair, so it holds skin too: a foundation or an eyeshadow stopping
            # at its edge would leave a bare box around the brow. Effect regions are cut by the brows' hair alone.
            pad = max(2, round(BROW_SKIN_RING * tp.face_width(landmarks)))
            cutters = {**out, **{n: _brow_hair_mask(frame, out[n], pad) for n in ("left_brow", "right_brow")}}
            for name, p in region_builder.build(canvas, probs).items():
                out[name] = _cut(canvas.to_roi(p), *(cutters[c] for c in region_builder.CUT_BY.get(name, ())))
            # The irises are drawn within the eyes' maps, but each mask is cropped and taken to the frame on its own.
            out["irises"] = _clip(out["irises"], out["left_eye"], out["right_eye"])
            out["face"] = _cut(skin, *(cutters[n] for n in _PARTS))
        return out

    def classes(self, cv: Canvas, memory: FaceMemory | None = None) -> dict[str, Prob]:
        """Soft maps of the face parts, and ``skin``: the whole facial skin with the parts inside it."""
        refine = self.options.refine
        mouth = cv.window(_LIP_RING, 0.08)
        lips, interior = self._lips(mouth, refine, memory)
        upper = lips * (mouth.poly(_upper_half(mouth)) > 0.5)
        out: dict[str, Prob] = {
            "upper_lip": Prob(mouth, upper),
            "lower_lip": Prob(mouth, lips - upper),
            "mouth_interior": Prob(mouth, interior),
        }
        eyes = cv.window(_EYE_RINGS.ravel(), 0.05)
        brows = cv.window(_BROW_RINGS.ravel(), 0.07)
        if refine and not eyes.empty and not brows.empty:
            parts = [*self._eyes(eyes), *self._brows(brows)]
        else:
            parts = [eyes.poly(r) for r in _EYE_RINGS] + [brows.poly(r) for r in _BROW_RINGS]
        for name, win, p in zip(_PARTS[:4], (eyes, eyes, brows, brows), parts):
            out[name] = Prob(win, p)
        nose = cv.window(_NOSE, 0.01)
        out["nose"] = Prob(nose, nose.poly(_NOSE))
        face = cv.coarse.window()
        oval = face.poly(_FACE_OVAL)
        out["skin"] = Prob(face, self._skin(face, oval, memory) if refine and not face.empty else oval)
        return out

    # -- refinements -------------------------------------------------------------------------------------------

    def _lips(self, win: Window, refine: bool, memory: FaceMemory | None) -> tuple[np.ndarray, np.ndarray]:
        """(lips, mouth interior): the outer edge moved to the lip colour's edge; the inner edge from landmarks.

        A closed mouth (lips less than a working pixel apart) has no interior: the line between the lips is lips.
        """
        pts = win.pts
        gap = pts[_LIP_INNER_LOWER] - pts[_LIP_INNER_UPPER]  # 0 at the corners
        is_open = float(np.max((gap * gap).sum(axis=1))) >= 1.0
        inner = win.poly(_LIP_INNER) if is_open else win.zeros()
        outer = self._lip_outline(win, inner, memory) if refine and not win.empty else win.poly(_LIP_RING)
        np.maximum(outer, inner, out=outer)
        outer -= inner
        return outer, inner

    def _lip_outline(self, win: Window, inner: np.ndarray, memory: FaceMemory | None) -> np.ndarray:
        """The outer lip outline moved, along its normals, to where the lip colour gives way to the skin's."""
        u = win.unit
        pts = _LIP_OUTLINE.points(win.pts)
        n = _LIP_OUTLINE.normals(pts)

        def fit() -> Discriminant | None:
            core = win.fill(pts - n * (0.008 * u))
            core[inner > 0.5] = 0
            skin = win.fill(pts + n * (0.06 * u))
            win.fill(pts + n * (0.025 * u), out=skin, value=0)
            return Discriminant.fit(win.ycc, core.view(bool), skin.view(bool), (4.0, 1.0, 1.0))

        model = _fitted(memory, "lips", fit, win.ycc)
        if model is None:
            return win.poly(_LIP_RING)
        feat = win.blur(model.map(win.ycc), 0.003)
        mid, lo, hi = edge_table(((_LIP_LOWER, 1), (_LIP_UPPER, 19), (_LIP_LOWER, 20)))
        off = edge_offsets(feat, pts, n, _LIP_UPPER.reach * u, mid, _LIP_UPPER.pull)
        np.clip(off, lo * u, hi * u, out=off)
        off[_LIP_CORNERS] = 0.0  # thin and dark at the corners: keep the landmarks
        off[_LIP_NEAR_CORNERS] = np.maximum(off[_LIP_NEAR_CORNERS], 0)
        return win.poly(pts + n * smooth(off)[:, None])

    def _eyes(self, win: Window) -> list[np.ndarray]:
        """Both eyes: the lid margins moved to where each eye's lid skin colour starts, the corners' tails cut.

        Their models are fitted anew in every frame, even in video: the lid skin sampled around an eye changes as
        it blinks, and a kept model moves the lid margins (and the lash lines drawn along them).
        """
        u = win.unit
        pts = _EYE_OUTLINE.points(win.pts)
        lids = pts.reshape(2, 2, 17, 2)
        centers = np.repeat(0.5 * (lids[:, 0, 8] + lids[:, 1, 8]), 2, axis=0)
        n = _EYE_OUTLINE.normals(pts, centers)
        rim = n.reshape(2, 2, 17, 2)
        rings = np.concatenate([lids[:, 0], lids[:, 1, -2:0:-1]], axis=1)  # closed outlines of the two eyes
        out_n = np.concatenate([rim[:, 0], rim[:, 1, -2:0:-1]], axis=1)
        lid_skin = win.fill(rings + out_n * (0.045 * u))
        win.fill(rings + out_n * (0.02 * u), out=lid_skin, value=0)
        ycc = win.ycc
        d2 = win.zeros()
        for half in _halves(win):  # each eye its own model: the light often differs across the face
            model = Gaussian.fit(sample(ycc[:, half], lid_skin.view(bool)[:, half]), (20.0, 2.0, 2.0))
            if model is None:
                return [win.poly(r) for r in rings]
            d2[:, half] = model.d2(ycc[:, half])
        feat = win.blur(1.0 - np.exp(d2 * np.float32(-0.5 / _EYE_K)), 0.003)
        mid, lo, hi = edge_table(((_EYE_UPPER, 17), (_EYE_LOWER, 17), (_EYE_UPPER, 17), (_EYE_LOWER, 17)))
        off = edge_offsets(feat, pts, n, _EYE_UPPER.reach * u, mid, _EYE_UPPER.pull)
        np.clip(off, lo * u, hi * u, out=off)
        off[_EYE_CORNERS] = 0.0  # the corners stay on the landmarks
        moved = (pts + n * smooth(off.reshape(4, 17), closed=False).reshape(-1, 1)).reshape(2, 2, 17, 2)
        return [win.poly(_without_tails(lid)) for lid in moved]

    def _brows(self, win: Window) -> list[np.ndarray]:
        """Both brows: their outlines moved to where each brow's hair gives way to the skin around it.

        Their models are fitted anew in every frame, even in video: sparse brow hair makes the discriminant's
        levels shift with small changes of light or pose, and a kept one moves the edges.
        """
        u = win.unit
        pts = _BROW_OUTLINE.points(win.pts)
        n = _BROW_OUTLINE.normals(pts)
        rings, rims = pts.reshape(2, 20, 2), n.reshape(2, 20, 2)
        hair = win.fill(rings).view(bool)
        skin = win.fill(rings + rims * (0.06 * u))
        win.fill(rings + rims * (0.03 * u), out=skin, value=0)
        ycc = win.ycc
        feat = win.zeros()
        for half in _halves(win):  # each brow its own model
            model = Discriminant.fit(ycc[:, half], hair[:, half], skin.view(bool)[:, half], (4.0, 1.0, 1.0))
            if model is None:
                return [win.poly(r) for r in rings]
            feat[:, half] = model.map(ycc[:, half])
        feat = win.blur(feat, 0.004)
        off = edge_offsets(feat, pts, n, _BROW.reach * u, _BROW.mid, _BROW.pull)
        np.clip(off, -_BROW.inward * u, _BROW.outward * u, out=off)
        off[_BROW_TAILS] = np.minimum(off[_BROW_TAILS], _BROW_TAIL * u)
        moved = pts + n * (smooth(off.reshape(2, 20)).reshape(-1, 1) + _BROW_GROW * u)
        return [win.poly(moved[:20]), win.poly(moved[20:])]

    def _skin(self, win: Window, oval: np.ndarray, memory: FaceMemory | None) -> np.ndarray:
        """The facial skin: the face oval, grown by the face's own skin colour up to the hairline and the ears.

        Two colour Gaussians, one of the cheeks (and the forehead where it is not hair) and one of a band around
        the head (hair, background), decide between the oval pulled inward (skin whatever its colour: beards,
        shadows) and the oval pushed outward (the forehead up to the hairline, the ears). Only the skin joined to
        the face is kept.
        """
        reach, core, around = _head_outlines(
            win.pts,
            win.unit,
            ((_SKIN_TOP, _SKIN_SIDE), (-_SKIN_IN_TOP, -_SKIN_IN_SIDE), (_SKIN_TOP + _SKIN_BG, _SKIN_SIDE + _SKIN_BG)),
        )
        ycc = win.ycc

        def fit() -> tuple[Gaussian | None, Gaussian | None]:
            # The cheeks under the eyes are the surest skin; the forehead (often lit differently) joins them where
            # it is not hair (bangs).
            cheeks = sample(ycc, win.fill(*_SKIN_SAMPLES[:2]).view(bool))
            skin = Gaussian.fit(cheeks, (30.0, 2.0, 2.0), 24)
            if skin is not None:
                forehead = sample(ycc, win.fill(_SKIN_SAMPLES[2]).view(bool))
                if len(forehead):
                    forehead = forehead[skin.d2(forehead[:, None])[:, 0] < 9.0]
                    skin = Gaussian.fit(np.concatenate([cheeks, forehead]), (30.0, 2.0, 2.0), 24)
            band = win.fill(around)
            win.fill(reach, out=band, value=0)
            return skin, Gaussian.fit(sample(ycc, band.view(bool)), (30.0, 4.0, 4.0), 24)

        skin, other = _fitted(memory, "skin", fit, ycc)
        if skin is None or other is None:
            return oval
        llr = 0.5 * (other.d2(ycc) - skin.d2(ycc) + (other.logdet - skin.logdet))
        soft_core = win.poly(core)
        near_eyes = cv2.dilate(win.poly(*_EYE_RINGS), disc_kernel(win.px(_SKIN_EYE_MARGIN)))
        np.maximum(soft_core, near_eyes * oval, out=soft_core)
        p = soft_core + (win.poly(reach) - soft_core) * win.blur(sigmoid(llr), 0.01)
        # Keep only the skin joined to the face: skin-coloured patches in the hair or the background go.
        count, labels, stats, _ = cv2.connectedComponentsWithStats((p > 0.5).view(np.uint8), connectivity=4)
        if count > 2:
            x, y = (int(v) for v in np.clip(np.round(win.pts[tp.NOSE_TIP]), 0, (win.shape[1] - 1, win.shape[0] - 1)))
            face = int(labels[y, x]) or 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            p *= cv2.dilate((labels == face).view(np.uint8), None).view(bool)
        # The map is coarse (about 48 pixels across the face): a sharp colour edge in it (a lit jaw over a shaded
        # neck) would come out of the upsampling as a staircase, which a contour or foundation edge shows.
        return win.blur(p, _SKIN_EDGE)
