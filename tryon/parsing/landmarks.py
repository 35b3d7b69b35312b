"""Face parsing from face-mesh landmarks, refined by colour and snapped to the image's own edges.

For each face, the landmark polygons give a prior for every class; inside a narrow band around each prior the
pixel colours decide (lips are redder than the skin around them, brows darker, skin close to the face's own skin
colour model), and an edge-aware guided filter snaps the result to real edges. All of it runs on a crop of the
face scaled to a fixed working size, so its cost tracks the face, not the frame.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.errors import InputError
from tryon.geometry import Box, RoiMask
from tryon.parsing import regions as region_builder
from tryon.perception import topology as T

__all__ = ["LandmarkParser", "LandmarkParserOptions", "FaceMasks"]

log = logging.getLogger(__name__)

FaceMasks = dict[str, RoiMask]


@dataclass(frozen=True)
class LandmarkParserOptions:
    """Options of :class:`LandmarkParser`.

    Attributes:
        refine: refine the landmark polygons by colour and edges; False gives the raw polygons (a baseline).
        work_size: the face (cheek to cheek) is parsed at most this many pixels across.
        regions: also build the effect regions (cheeks, lids, lash lines, ...); parsing alone does not need them.
    """

    refine: bool = True
    work_size: int = 224
    regions: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.work_size, int) or not 64 <= self.work_size <= 2048:
            raise InputError(f"work_size must be an integer in 64..2048, got {self.work_size!r}")


class _Canvas:
    """The face's working crop: frame box, scale, and helpers to draw landmark polygons on it."""

    def __init__(self, frame: np.ndarray, landmarks: np.ndarray, work_size: int) -> None:
        pts = landmarks[:, :2]
        h, w = frame.shape[:2]
        face_w = float(np.linalg.norm(pts[454] - pts[234]))
        face_h = float(np.linalg.norm(pts[152] - pts[10]))
        self.face_w = max(face_w, 1.0)
        lo = pts.min(axis=0)
        hi = pts.max(axis=0)
        pad_x = 0.22 * self.face_w
        box = Box(
            int(np.floor(lo[0] - pad_x)),
            int(np.floor(lo[1] - 0.45 * face_h)),
            int(np.ceil(hi[0] + pad_x)) + 1,
            int(np.ceil(hi[1] + 0.35 * face_h)) + 1,
        )
        self.box = box.clip((h, w))
        self.scale = min(1.0, work_size / self.face_w)
        crop = frame[self.box.slices]
        if self.scale < 1.0:
            size = (max(1, round(self.box.width * self.scale)), max(1, round(self.box.height * self.scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        self.bgr = crop
        self.shape = crop.shape[:2]
        self.pts = ((pts - (self.box.x0, self.box.y0)) * self.scale).astype(np.float32)
        self.unit = self.face_w * self.scale  # face width in working pixels
        self._lab: np.ndarray | None = None
        self._gray: np.ndarray | None = None

    @property
    def lab(self) -> np.ndarray:
        if self._lab is None:
            self._lab = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2Lab)
        return self._lab

    @property
    def gray(self) -> np.ndarray:
        if self._gray is None:
            self._gray = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2GRAY)
        return self._gray

    def poly(self, *rings: Sequence[int] | np.ndarray, value: float = 1.0) -> np.ndarray:
        """Fills the polygons (landmark index sequences or point arrays) into a float32 mask."""
        out = np.zeros(self.shape, np.float32)
        polys = [np.round(self._points(r) * 16).astype(np.int32).reshape(-1, 2) for r in rings]
        cv2.fillPoly(out, polys, value, lineType=cv2.LINE_AA, shift=4)
        return out

    def _points(self, ring: Sequence[int] | np.ndarray) -> np.ndarray:
        """Landmark indices (ints) to working-space points; float arrays are taken as points already."""
        arr = np.asarray(ring)
        return self.pts[arr] if np.issubdtype(arr.dtype, np.integer) else arr.astype(np.float32)

    def blur(self, mask: np.ndarray, sigma_faces: float) -> np.ndarray:
        sigma = max(0.5, sigma_faces * self.unit)
        return cv2.GaussianBlur(mask, (0, 0), sigma)

    def dilate(self, mask: np.ndarray, radius_faces: float) -> np.ndarray:
        r = max(1, round(radius_faces * self.unit))
        return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))

    def erode(self, mask: np.ndarray, radius_faces: float) -> np.ndarray:
        r = max(1, round(radius_faces * self.unit))
        return cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))

    def snap(self, prob: np.ndarray, radius_faces: float = 0.012, eps: float = 2e-3) -> np.ndarray:
        """Edge-aware refinement: a guided filter with the crop as guide."""
        r = max(1, round(radius_faces * self.unit))
        out = cv2.ximgproc.guidedFilter(self.bgr, prob.astype(np.float32), r, eps)
        return np.clip(out, 0.0, 1.0)

    def to_roi(self, prob: np.ndarray, frame_box: Box | None = None) -> RoiMask:
        """Maps a working-space probability back to the frame as a tight :class:`RoiMask`."""
        alpha = np.clip(prob * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if self.scale < 1.0:
            alpha = cv2.resize(alpha, (self.box.width, self.box.height), interpolation=cv2.INTER_LINEAR)
        return RoiMask(self.box, alpha).tight(8)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _two_class(feature: np.ndarray, inside: np.ndarray, outside: np.ndarray, min_gap: float) -> np.ndarray | None:
    """Soft 'inside-like' score from one feature, with class statistics taken from two sample masks.

    Returns logits (positive = like ``inside``), or None when the two samples do not differ by ``min_gap``.
    """
    fin = feature[inside > 0.5]
    fout = feature[outside > 0.5]
    if fin.size < 8 or fout.size < 8:
        return None
    mu_in, mu_out = float(np.median(fin)), float(np.median(fout))
    gap = mu_in - mu_out
    if abs(gap) < min_gap:
        return None
    spread = 0.5 * (float(np.percentile(np.abs(fin - mu_in), 60)) + float(np.percentile(np.abs(fout - mu_out), 60)))
    scale = max(abs(gap) / 4.0, spread, 1.0)
    return (feature - 0.5 * (mu_in + mu_out)) * (np.sign(gap) / scale)


class LandmarkParser:
    """Builds per-face soft masks of the face classes and effect regions from 478 landmarks.

    Example:
        >>> parser = LandmarkParser()
        >>> masks = parser.parse_face(frame_bgr, landmarks)  # doctest: +SKIP
        >>> masks["upper_lip"].box  # doctest: +SKIP
    """

    def __init__(self, options: LandmarkParserOptions | None = None) -> None:
        self.options = options or LandmarkParserOptions()

    def parse_face(self, frame: np.ndarray, landmarks: np.ndarray) -> FaceMasks:
        """Soft masks of one face's classes (and regions, if enabled), as :class:`RoiMask` in frame coordinates."""
        cv = _Canvas(frame, landmarks, self.options.work_size)
        probs = self._classes(cv)
        out: FaceMasks = {name: cv.to_roi(p) for name, p in probs.items()}
        if self.options.regions:
            for name, p in region_builder.build(cv, probs).items():
                out[name] = cv.to_roi(p)
        return out

    # -- classes -------------------------------------------------------------------------------------------

    def _classes(self, cv: _Canvas) -> dict[str, np.ndarray]:
        refine = self.options.refine
        upper_ring = np.array([*T.LIPS_UPPER_OUTER, *T.LIPS_UPPER_INNER[::-1]])
        lower_ring = np.array([*T.LIPS_LOWER_OUTER, *T.LIPS_LOWER_INNER[::-1]])
        outer_ring = np.array([*T.LIPS_UPPER_OUTER, *T.LIPS_LOWER_OUTER[::-1]])
        inner_ring = np.array([*T.LIPS_UPPER_INNER, *T.LIPS_LOWER_INNER[::-1]])
        upper = cv.poly(upper_ring)
        lower = cv.poly(lower_ring)
        inner = cv.poly(inner_ring)
        mouth = cv.poly(outer_ring)
        eyes = {
            "left_eye": cv.poly(np.array([*T.LEFT_EYE_UPPER, *T.LEFT_EYE_LOWER[::-1]])),
            "right_eye": cv.poly(np.array([*T.RIGHT_EYE_UPPER, *T.RIGHT_EYE_LOWER[::-1]])),
        }
        brows = {
            "left_brow": cv.poly(np.array([*T.LEFT_BROW_UPPER, *T.LEFT_BROW_LOWER[::-1]])),
            "right_brow": cv.poly(np.array([*T.RIGHT_BROW_UPPER, *T.RIGHT_BROW_LOWER[::-1]])),
        }
        nose = cv.poly(T.NOSE_OUTLINE)
        oval = cv.poly(T.FACE_OVAL)
        if refine:
            lips = self._refine_lips(cv, mouth, inner)
            is_upper = (cv.blur(upper, 0.02) >= cv.blur(lower, 0.02)).astype(np.float32)
            upper = lips * is_upper
            lower = lips * (1 - is_upper)
            inner = np.clip(inner - lips, 0, 1)
            brows = {k: self._refine_brow(cv, v) for k, v in brows.items()}
            eyes = {k: self._refine_eye(cv, v) for k, v in eyes.items()}
            nose = cv.snap(cv.blur(nose, 0.01))
            skin = self._refine_skin(cv, oval)
        else:
            skin = oval
        parts = np.maximum.reduce([upper + lower + inner, nose, *eyes.values(), *brows.values()])
        skin = np.clip(skin - parts, 0, 1)
        return {
            "face_skin": skin,
            "nose": nose,
            **brows,
            **eyes,
            "upper_lip": upper,
            "lower_lip": lower,
            "mouth_interior": inner,
        }

    def _refine_lips(self, cv: _Canvas, mouth: np.ndarray, inner: np.ndarray) -> np.ndarray:
        lips_prior = np.clip(mouth - inner, 0, 1)
        prior = cv.blur(lips_prior, 0.012)
        core = cv.erode(lips_prior, 0.01)
        ring = cv.dilate(mouth, 0.06) - cv.dilate(mouth, 0.02)
        lab = cv.lab.astype(np.float32)
        logits = _logit(prior) * 0.6
        score = _two_class(lab[:, :, 1], core, ring, min_gap=3.0)
        band = cv.dilate(mouth, 0.05) - cv.erode(inner, 0.01) if inner.any() else cv.dilate(mouth, 0.05)
        if score is not None:
            logits = logits + 1.5 * score
        p = _sigmoid(logits) * np.clip(band, 0, 1)
        p = np.clip(p - inner * (1 - cv.blur(lips_prior, 0.01)), 0, 1)
        return cv.snap(p, 0.01)

    def _refine_brow(self, cv: _Canvas, prior: np.ndarray) -> np.ndarray:
        area = cv.dilate(prior, 0.045)
        ring = cv.dilate(prior, 0.09) - cv.dilate(prior, 0.06)
        core = prior * (1 - cv.dilate(1 - prior, 0.005))
        L = cv.lab[:, :, 0].astype(np.float32)
        dark = L[area > 0.5]
        if dark.size < 8:
            return prior
        core_sample = (area > 0.5) & (L <= np.percentile(dark, 30))
        score = _two_class(L, core_sample.astype(np.float32), ring, min_gap=4.0)
        if score is None:
            return cv.snap(prior)
        logits = 1.2 * score + 0.8 * _logit(cv.blur(prior, 0.03) * 0.9 + 0.05) - 0.0 * core
        p = _sigmoid(logits) * area
        return cv.snap(p, 0.01)

    def _refine_eye(self, cv: _Canvas, prior: np.ndarray) -> np.ndarray:
        return cv.snap(cv.blur(prior, 0.004), 0.006)

    def _refine_skin(self, cv: _Canvas, oval: np.ndarray) -> np.ndarray:
        lab = cv.lab.astype(np.float32)
        sample = cv.erode(oval, 0.08)
        feats = lab[sample > 0.5]
        if feats.shape[0] < 32:
            return oval
        mu = np.median(feats, axis=0)
        dev = feats - mu
        cov = np.cov(dev.T) + np.diag([25.0, 4.0, 4.0])
        inv = np.linalg.inv(cov)
        d = lab - mu
        d2 = np.einsum("...i,ij,...j->...", d, inv, d)
        p_color = np.exp(-0.5 * d2 / 4.0)
        area = cv.dilate(oval, 0.12)
        prior = cv.blur(oval, 0.03)
        p = np.clip(0.5 * prior + 0.8 * p_color * area, 0, 1) * area
        p = np.where(sample > 0.5, np.maximum(p, 0.9), p)
        return cv.snap(p, 0.015)
