"""Face parsing from face-mesh landmarks, refined by colour and snapped to the image's own edges.

For each face, the landmark polygons give a prior for every class; inside a narrow band around each prior the
pixel colours decide (lips are redder than the skin around them, brows darker, skin close to the face's own skin
colour model), and an edge-aware guided filter snaps the result to real edges. It runs on a crop of the face
scaled to a fixed working size, and each part in a small window of its own, so its cost tracks the face, not the
frame.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.errors import InputError
from tryon.geometry import Box, RoiMask
from tryon.perception import topology as T

__all__ = ["LandmarkParser", "LandmarkParserOptions", "Canvas", "Window", "Prob"]

log = logging.getLogger(__name__)


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


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


class Window:
    """A rectangle of the face's working crop, with drawing and filtering helpers in face-width units."""

    def __init__(self, canvas: Canvas, box: Box) -> None:
        self.canvas = canvas
        self.box = box
        self.shape = (box.height, box.width)
        self.pts = canvas.pts - np.array([box.x0, box.y0], np.float32)
        self.unit = canvas.unit
        self._lab: np.ndarray | None = None

    @property
    def bgr(self) -> np.ndarray:
        return self.canvas.bgr[self.box.slices]

    @property
    def lab(self) -> np.ndarray:
        """The window in float32 8-bit-scaled Lab (L, a, b in 0..255), computed once."""
        if self._lab is None:
            self._lab = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2Lab).astype(np.float32)
        return self._lab

    def px(self, faces: float) -> int:
        """A length in face widths, in working pixels (at least 1)."""
        return max(1, round(faces * self.unit))

    def points(self, ring: Sequence[int] | np.ndarray) -> np.ndarray:
        """Landmark indices (ints) to window points; float arrays are taken as points already."""
        arr = np.asarray(ring)
        return self.pts[arr] if np.issubdtype(arr.dtype, np.integer) else arr.astype(np.float32)

    def poly(self, *rings: Sequence[int] | np.ndarray) -> np.ndarray:
        """Fills polygons (landmark index sequences or point arrays) into a float32 mask, anti-aliased."""
        out = np.zeros(self.shape, np.float32)
        polys = [np.round(self.points(r) * 16).astype(np.int32).reshape(-1, 2) for r in rings]
        cv2.fillPoly(out, polys, 1.0, lineType=cv2.LINE_AA, shift=4)
        return out

    def line(self, pts: np.ndarray, thickness_faces: float) -> np.ndarray:
        out = np.zeros(self.shape, np.float32)
        cv2.polylines(out, [np.round(self.points(pts) * 16).astype(np.int32).reshape(-1, 1, 2)], False, 1.0,
                      self.px(thickness_faces), cv2.LINE_AA, shift=4)
        return out

    def blur(self, mask: np.ndarray, sigma_faces: float) -> np.ndarray:
        return cv2.GaussianBlur(mask, (0, 0), max(0.5, sigma_faces * self.unit))

    def dilate(self, mask: np.ndarray, radius_faces: float) -> np.ndarray:
        return cv2.dilate(mask, _disk(self.px(radius_faces)))

    def erode(self, mask: np.ndarray, radius_faces: float) -> np.ndarray:
        return cv2.erode(mask, _disk(self.px(radius_faces)))

    def distance_outside(self, mask: np.ndarray) -> np.ndarray:
        """Distance (in face widths) of each pixel to ``mask > 0.5``; 0 inside."""
        outside = (mask <= 0.5).astype(np.uint8)
        return cv2.distanceTransform(outside, cv2.DIST_L2, 3) / self.unit

    def snap(self, prob: np.ndarray, radius_faces: float = 0.012, eps: float = 2e-3) -> np.ndarray:
        """Edge-aware refinement: a guided filter with the window's colours as guide."""
        out = cv2.ximgproc.guidedFilter(self.bgr, prob.astype(np.float32), self.px(radius_faces), eps)
        return np.clip(out, 0.0, 1.0)


@dataclass
class Prob:
    """A soft class map over a window of the working crop."""

    window: Window
    p: np.ndarray

    def within(self, window: Window) -> np.ndarray:
        """This map over another window (zeros where it has no data)."""
        out = np.zeros(window.shape, np.float32)
        inter = self.window.box.intersect(window.box)
        if not inter.empty:
            out[inter.relative_to(window.box).slices] = self.p[inter.relative_to(self.window.box).slices]
        return out


class Canvas:
    """The face's working crop: its frame box, its scale, and windows onto it."""

    def __init__(self, frame: np.ndarray, landmarks: np.ndarray, work_size: int) -> None:
        pts = landmarks[:, :2]
        h, w = frame.shape[:2]
        face_w = max(float(np.linalg.norm(pts[454] - pts[234])), 1.0)
        face_h = max(float(np.linalg.norm(pts[152] - pts[10])), 1.0)
        lo = pts.min(axis=0)
        hi = pts.max(axis=0)
        pad_x = 0.2 * face_w
        box = Box(int(np.floor(lo[0] - pad_x)), int(np.floor(lo[1] - 0.3 * face_h)),
                  int(np.ceil(hi[0] + pad_x)) + 1, int(np.ceil(hi[1] + 0.08 * face_h)) + 1)
        self.box = box.clip((h, w))
        self.scale = min(1.0, work_size / face_w)
        crop = frame[self.box.slices]
        if self.scale < 1.0:
            size = (max(1, round(self.box.width * self.scale)), max(1, round(self.box.height * self.scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        self.bgr = crop
        self.shape = crop.shape[:2]
        self.pts = ((pts - (self.box.x0, self.box.y0)) * self.scale).astype(np.float32)
        self.unit = face_w * self.scale  # the face's width in working pixels

    def window(self, ids: Sequence[int] | None = None, pad_faces: float = 0.0) -> Window:
        """A window around landmarks ``ids`` (the whole crop when None), grown by ``pad_faces`` face widths."""
        if ids is None:
            return Window(self, Box(0, 0, self.shape[1], self.shape[0]))
        box = Box.around(self.pts[list(ids)], pad=pad_faces * self.unit, shape=self.shape)
        return Window(self, box)

    def to_roi(self, prob: Prob) -> RoiMask:
        """Maps a working-space map back to the frame as a tight :class:`RoiMask`."""
        wb = prob.window.box
        alpha = np.clip(prob.p * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if self.scale < 1.0:
            inv = 1.0 / self.scale
            fb = Box(self.box.x0 + int(np.floor(wb.x0 * inv)), self.box.y0 + int(np.floor(wb.y0 * inv)),
                     self.box.x0 + int(np.ceil(wb.x1 * inv)), self.box.y0 + int(np.ceil(wb.y1 * inv)))
            fb = fb.intersect(self.box)
            if fb.empty:
                return RoiMask.empty_at(fb)
            # Sample the working map at the centres of the frame pixels.
            xs = (np.arange(fb.x0, fb.x1, dtype=np.float32) - self.box.x0 + 0.5) * self.scale - 0.5 - wb.x0
            ys = (np.arange(fb.y0, fb.y1, dtype=np.float32) - self.box.y0 + 0.5) * self.scale - 0.5 - wb.y0
            mx, my = np.meshgrid(xs, ys)
            alpha = cv2.remap(alpha, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            return RoiMask(fb, alpha).tight(8)
        fb = Box(self.box.x0 + wb.x0, self.box.y0 + wb.y0, self.box.x0 + wb.x1, self.box.y0 + wb.y1)
        return RoiMask(fb, alpha).tight(8)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _two_class(feature: np.ndarray, inside: np.ndarray, outside: np.ndarray, min_gap: float) -> np.ndarray | None:
    """Logits of 'like the ``inside`` sample' for one feature (positive = inside), or None if the samples agree."""
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


_MOUTH = (*T.LIPS_UPPER_OUTER, *T.LIPS_LOWER_OUTER)


class LandmarkParser:
    """Builds per-face soft masks of the face classes and effect regions from 478 landmarks.

    Example:
        >>> parser = LandmarkParser()
        >>> masks = parser.parse_face(frame_bgr, landmarks)  # doctest: +SKIP
        >>> masks["upper_lip"].box  # doctest: +SKIP
    """

    def __init__(self, options: LandmarkParserOptions | None = None) -> None:
        self.options = options or LandmarkParserOptions()

    def parse_face(self, frame: np.ndarray, landmarks: np.ndarray) -> dict[str, RoiMask]:
        """Soft masks of one face's classes (and regions, if enabled), as :class:`RoiMask` in frame coordinates."""
        from tryon.parsing import regions as region_builder

        canvas = Canvas(frame, landmarks, self.options.work_size)
        probs = self.classes(canvas)
        out = {name: canvas.to_roi(p) for name, p in probs.items()}
        if self.options.regions:
            for name, p in region_builder.build(canvas, probs).items():
                out[name] = canvas.to_roi(p)
        return out

    def classes(self, cv: Canvas) -> dict[str, Prob]:
        """Soft maps of the face classes on the working crop."""
        refine = self.options.refine
        mouth = cv.window(_MOUTH, 0.08)
        lips, inner = self._lips(mouth, refine)
        upper_ring = [*T.LIPS_UPPER_OUTER, *T.LIPS_UPPER_INNER[::-1]]
        lower_ring = [*T.LIPS_LOWER_OUTER, *T.LIPS_LOWER_INNER[::-1]]
        is_upper = (mouth.blur(mouth.poly(upper_ring), 0.02) >= mouth.blur(mouth.poly(lower_ring), 0.02))
        out: dict[str, Prob] = {
            "upper_lip": Prob(mouth, lips * is_upper),
            "lower_lip": Prob(mouth, lips * ~is_upper),
            "mouth_interior": Prob(mouth, inner),
        }
        for name, up, low in (("left_eye", T.LEFT_EYE_UPPER, T.LEFT_EYE_LOWER),
                              ("right_eye", T.RIGHT_EYE_UPPER, T.RIGHT_EYE_LOWER)):
            win = cv.window((*up, *low), 0.03)
            prior = win.poly([*up, *low[::-1]])
            out[name] = Prob(win, win.snap(win.blur(prior, 0.004), 0.006) if refine else prior)
        for name, up, low in (("left_brow", T.LEFT_BROW_UPPER, T.LEFT_BROW_LOWER),
                              ("right_brow", T.RIGHT_BROW_UPPER, T.RIGHT_BROW_LOWER)):
            win = cv.window((*up, *low), 0.1)
            prior = win.poly([*up, *low[::-1]])
            out[name] = Prob(win, self._brow(win, prior) if refine else prior)
        nose_win = cv.window(T.NOSE_OUTLINE, 0.03)
        nose = nose_win.poly(T.NOSE_OUTLINE)
        out["nose"] = Prob(nose_win, nose_win.snap(nose_win.blur(nose, 0.01)) if refine else nose)
        face = cv.window()
        oval = face.poly(T.FACE_OVAL)
        skin = self._skin(face, oval) if refine else oval
        parts = np.zeros(face.shape, np.float32)
        for prob in out.values():
            np.maximum(parts, prob.within(face), out=parts)
        out["face_skin"] = Prob(face, np.clip(skin - parts, 0, 1))
        return out

    # -- refinements --------------------------------------------------------------------------------------

    def _lips(self, win: Window, refine: bool) -> tuple[np.ndarray, np.ndarray]:
        """(lips, mouth interior): the outer edge refined by colour; the inner edge from the inner contour."""
        outer = win.poly([*T.LIPS_UPPER_OUTER, *T.LIPS_LOWER_OUTER[::-1]])
        inner = win.poly([*T.LIPS_UPPER_INNER, *T.LIPS_LOWER_INNER[::-1]])
        if not refine:
            return np.clip(outer - inner, 0, 1), inner
        lips_prior = np.clip(outer - inner, 0, 1)
        core = win.erode(lips_prior, 0.012)
        ring = win.dilate(outer, 0.06) - win.dilate(outer, 0.025)
        lab = win.lab
        logits = 1.2 * _logit(win.blur(outer, 0.01) * 0.96 + 0.02)
        score = _two_class(lab[:, :, 1] - 0.35 * lab[:, :, 2], core, ring, min_gap=2.5)
        if score is not None:
            logits = logits + 1.2 * np.clip(score, -6, 6)
        band = win.dilate(outer, 0.04)
        mouth = _sigmoid(logits) * band
        mouth = np.maximum(mouth, inner)
        mouth = win.snap(mouth, 0.008, 1e-3)
        lips = np.clip(mouth - inner, 0, 1)
        return lips, np.minimum(inner, mouth)

    def _brow(self, win: Window, prior: np.ndarray) -> np.ndarray:
        area = win.dilate(prior, 0.04)
        ring = win.dilate(prior, 0.085) - win.dilate(prior, 0.055)
        L = win.lab[:, :, 0]
        inside = L[area > 0.5]
        if inside.size < 8:
            return prior
        dark = ((area > 0.5) & (L <= np.percentile(inside, 30))).astype(np.float32)
        score = _two_class(L, dark, ring, min_gap=4.0)
        if score is None:
            return win.snap(prior)
        logits = 1.2 * score + 0.8 * _logit(win.blur(prior, 0.03) * 0.9 + 0.05)
        return win.snap(_sigmoid(logits) * area, 0.01)

    def _skin(self, win: Window, oval: np.ndarray) -> np.ndarray:
        sample = win.erode(oval, 0.1)
        lab = win.lab
        feats = lab[sample > 0.5]
        if feats.shape[0] < 32:
            return oval
        mu = np.median(feats, axis=0)
        cov = np.cov((feats - mu).T) + np.diag([25.0, 4.0, 4.0])
        inv = np.linalg.inv(cov).astype(np.float32)
        d = lab - mu.astype(np.float32)
        d2 = (d @ inv * d).sum(axis=2)
        p_color = np.exp(-0.125 * d2)
        near = np.clip(1.0 - win.distance_outside(oval) / 0.12, 0, 1)
        prior = win.blur(oval, 0.03)
        p = np.clip(0.5 * prior + 0.8 * p_color * near, 0, 1) * (near > 0)
        p = np.where(sample > 0.5, np.maximum(p, 0.9), p)
        return win.snap(p, 0.015)
