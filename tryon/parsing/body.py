"""Body classes (hair, neck, body skin, clothes) without a parsing model: the person mask, the heads and colour.

Every pixel of the person goes to the hair, the skin or the clothes by a small naive-Bayes classifier that runs on a
downscaled copy of the frame:

* the person mask (selfie segmentation) tells the person from the background;
* each head (a face's landmarks, or a body pose's eyes and mouth when no face was found) gives a layout in face
  units, as spatial priors: a skull where hair grows, a neck below the chin, a chest below that;
* colour models learned from the frame's own pixels tell the classes apart: the skin from the face's cheeks and
  forehead (or, without a face, a generic skin model sharpened on the frame), the hair from the crown and the
  temples (less whatever looks like skin: bald heads keep little hair), the clothes from the chest, the background
  from outside the person mask.

A second pass measures how far the hair falls beside the face (long hair may cover the shoulders and the chest;
short hair ends above the ears) and learns the colours again from what the first pass is sure of. The posteriors
are smoothed with an edge-aware (guided) filter, hair is kept only where it is connected to a scalp, and the skin is
split into the neck (below the chin, down to the shoulders) and the rest of the body.

This is the default that needs no download; the learned parsers (model backends) do better where installed.
:class:`BodyParser` runs it on a stream or a photo, with MediaPipe pose where asked (:class:`BodyOptions`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal, Optional

import cv2
import numpy as np

from tryon.color import short_repr
from tryon.errors import InputError
from tryon.geometry import Box, RoiMask
from tryon.image import to_alpha8
from tryon.parsing._features import ColourHistogram, colour_bins, covariance
from tryon.parsing.body_pose import BodyPose, PoseEstimator
from tryon.parsing.classes import FACE_CLASSES
from tryon.parsing.frame_parse import Face
from tryon.perception.detector import eye_to_mouth

__all__ = ["BodyOptions", "BodyParser", "body_masks"]

log = logging.getLogger(__name__)

#: The body classes this module builds, in :data:`~tryon.parsing.classes.BODY_CLASSES` order.
NAMES = ("clothes", "body_skin", "neck", "hair")

_MIN_SEEDS = 24
# Variance added to the skin Gaussian (L, a, b): skin elsewhere on the body is lit and tanned differently.
_SKIN_FLOOR = (800.0, 16.0, 16.0)
# Rows beside the face, in face heights from its centre, where the hair's length is measured.
_SIDE_TOP, _SIDE_STEP, _SIDE_ROWS = -0.3, 0.1, 16
# A face seen by the pose model: eye-to-mouth distance and eye level, in face-mesh heights (landmark 10 to 152).
_EYE_MOUTH, _EYE_LEVEL = 0.39, -0.19
_EPS = np.float32(1e-4)
# The smallest head taken from a pose, in face heights per frame side.
_MIN_POSE_HEAD = 0.1
# The smallest head taken from a face detector's keypoints: its eye-to-mouth distance on the working copy (pixels).
_MIN_HEAD_PX = 2.0


@dataclass(frozen=True)
class BodyOptions:
    """Options of :func:`body_masks` and :class:`BodyParser`.

    The defaults suit live video (a few milliseconds a 720p frame); :meth:`photo` gives sharper masks and uses the
    pose model (tens of milliseconds), for photos.

    Attributes:
        work_size: the long side, in pixels, of the copy of the frame the classes are computed on.
        colour_weight: how much the colour models count against the spatial priors and the person mask (0..1).
        smooth: radius of the edge-aware smoothing, in working pixels (0 turns it off).
        pose: run MediaPipe pose (:class:`BodyParser` only) to find heads the face mesh missed (profiles, small or
            turned-away faces), the hands' skin and the shoulders.
        pose_every: on a stream, run pose every this many frames and reuse its last result in between.
    """

    work_size: int = 160
    colour_weight: float = 0.6
    smooth: int = 0
    pose: bool = False
    pose_every: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.work_size, int) or not 64 <= self.work_size <= 2048:
            raise InputError(f"work_size must be an integer in 64..2048, got {self.work_size!r}")
        if not 0.0 <= float(self.colour_weight) <= 1.0:
            raise InputError(f"colour_weight must be in [0, 1], got {self.colour_weight!r}")
        if not isinstance(self.smooth, int) or not 0 <= self.smooth <= 16:
            raise InputError(f"smooth must be an integer in 0..16, got {self.smooth!r}")
        if not isinstance(self.pose_every, int) or self.pose_every < 1:
            raise InputError(f"pose_every must be an integer >= 1, got {self.pose_every!r}")

    @classmethod
    def photo(cls) -> BodyOptions:
        """Options for still photos: a finer working copy and the pose model."""
        return cls(work_size=384, smooth=3, pose=True)


# -- colour models --------------------------------------------------------------------------------------------------


def _log_likelihood(hist: ColourHistogram | None, q: np.ndarray) -> np.ndarray | float:
    return hist.log_density[q] if hist is not None else 0.0


class _Gaussian:
    """A Gaussian of a sample of pixels' colours (Lab, or a/b), for squared Mahalanobis distances and densities."""

    def __init__(self, samples: np.ndarray, floor: tuple[float, ...]) -> None:
        self.mean = samples.mean(axis=0).astype(np.float32)
        cov = covariance(samples) + np.diag(floor)
        self.inv = cv2.invert(cov)[1].astype(np.float32)
        # The density against a uniform one over the uint8 Lab cube, at the mean.
        n = len(floor)
        self.log_peak = float(n * np.log(256.0) - 0.5 * np.log((2 * np.pi) ** n * cv2.determinant(cov)))

    def d2(self, lab: np.ndarray) -> np.ndarray:
        d = lab.astype(np.float32) - self.mean
        return (cv2.transform(d, self.inv) * d).sum(axis=2)


def _typical(lab: np.ndarray, seed: np.ndarray, spread: float = 2.5) -> np.ndarray:
    """``seed`` less its outliers in colour (beard, shadows, make-up, highlights): robust z-scores per channel."""
    if np.count_nonzero(seed) < _MIN_SEEDS:
        return seed
    rows = lab[seed].astype(np.float32)
    med = np.median(rows, axis=0)
    mad = np.median(np.abs(rows - med), axis=0) * 1.4826 + np.array([4.0, 1.5, 1.5], np.float32)
    keep = (np.abs(rows - med) / mad).max(axis=1) < spread
    out = np.zeros_like(seed)
    out[seed] = keep
    return out


def _ramp(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 below ``lo``, 1 above ``hi``, linear between (``lo > hi`` gives the falling ramp)."""
    return np.clip((v - np.float32(lo)) * np.float32(1.0 / (hi - lo)), 0.0, 1.0)


def _generic_skin(lab: np.ndarray) -> np.ndarray:
    """Skin-likeness in [0, 1] of anyone's skin, for frames without a face to learn from.

    Skin chroma lies in a sector of the a/b plane, from pink to yellow, neither grey nor vivid; frames with a cool or
    washed-out white balance keep it pinker than neutral.
    """
    a = lab[..., 1].astype(np.float32) - 128.0
    b = lab[..., 2].astype(np.float32) - 128.0
    radius = np.sqrt(a * a + b * b)
    angle = np.degrees(np.arctan2(b, a))
    return (
        _ramp(radius, 2.0, 5.0)
        * _ramp(radius, 55.0, 40.0)
        * _ramp(angle, -30.0, -10.0)
        * _ramp(angle, 85.0, 70.0)
        * _ramp(lab[..., 0].astype(np.float32), 25.0, 50.0)
    )


# -- layout ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """A head's coordinate frame: ``X`` across the face, ``Y`` down it, in face heights from the face's centre.

    The face height is the face mesh's, from the top of the forehead (landmark 10) to the chin (152).
    """

    origin: np.ndarray
    across: np.ndarray
    down: np.ndarray
    height: float
    shoulders: float | None = None  # the shoulder line's Y, where the pose gave it

    @classmethod
    def of_face(cls, pts: np.ndarray) -> _Layout:
        top, chin = pts[10].astype(np.float64), pts[152].astype(np.float64)
        return cls._frame((top + chin) / 2, chin - top, float(np.hypot(*(chin - top))))

    @classmethod
    def of_pose(cls, pts: np.ndarray) -> _Layout:
        """From a pose's eyes (2, 5) and mouth corners (9, 10)."""
        return cls._of_eyes_and_mouth((pts[2] + pts[5]) / 2, (pts[9] + pts[10]) / 2)

    @classmethod
    def of_detection(cls, pts: np.ndarray) -> _Layout:
        """From a face detector's keypoints (see ``HEAD_KEYPOINTS``): a face face mesh could not mesh.

        Such faces are seen in profile or turned away. Eyes and mouth give the face's height and tilt as a pose's
        do; across the face the layout is centred between the ears, where the skull is (a profile's face lies to one
        side of it, its hair to the other).
        """
        face = cls._of_eyes_and_mouth((pts[0] + pts[1]) / 2, pts[3])
        ears = (pts[4] + pts[5]).astype(np.float64) / 2
        return replace(face, origin=face.origin + face.across * float((ears - face.origin) @ face.across))

    @classmethod
    def _of_eyes_and_mouth(cls, eyes: np.ndarray, mouth: np.ndarray) -> _Layout:
        """From the middle of the eyes and of the mouth: they give the face's height and tilt."""
        eyes = eyes.astype(np.float64)
        axis = mouth.astype(np.float64) - eyes
        height = float(np.hypot(*axis)) / _EYE_MOUTH
        down = axis / max(float(np.hypot(*axis)), 1e-6)
        return cls._frame(eyes - down * _EYE_LEVEL * height, axis, height)

    @classmethod
    def _frame(cls, origin: np.ndarray, axis: np.ndarray, height: float) -> _Layout:
        down = axis / max(float(np.hypot(*axis)), 1e-6)
        return cls(origin, np.array([down[1], -down[0]]), down, max(height, 1e-6))

    def at(self, pt: np.ndarray) -> tuple[float, float]:
        d = pt.astype(np.float64) - self.origin
        return float(d @ self.across) / self.height, float(d @ self.down) / self.height

    def coords(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        inv = 1.0 / self.height
        xs = (np.arange(shape[1], dtype=np.float32) - np.float32(self.origin[0]))[None, :]
        ys = (np.arange(shape[0], dtype=np.float32) - np.float32(self.origin[1]))[:, None]
        x = xs * np.float32(self.across[0] * inv) + ys * np.float32(self.across[1] * inv)
        y = xs * np.float32(self.down[0] * inv) + ys * np.float32(self.down[1] * inv)
        return x, y


@dataclass
class _Priors:
    """Spatial priors over the working image (float32, 0..1); where heads overlap, the nearest head's."""

    head: np.ndarray  # where the hair of the head grows (the skull around the face, not the throat)
    scalp: np.ndarray  # the skull above the jaw: hair must connect to it
    fall: np.ndarray  # where long hair may fall (beside the neck, over the shoulders and the chest)
    skin: np.ndarray  # where skin is likely (the neck; rarely around the skull)
    clothes: np.ndarray
    neck: np.ndarray
    crown: np.ndarray  # above the forehead and at the temples: the hair seed area
    torso: np.ndarray  # the chest below the neck: the clothes seed area
    midchest: np.ndarray  # its middle, which long hair rarely covers
    cheeks: np.ndarray  # the forehead and cheeks, above the beard: the skin seed area
    sides: np.ndarray  # beside the face and below: rows of a tenth of the face height (and side), -1 elsewhere
    y: np.ndarray  # the face coordinate down the face


_NEAREST = ("fall", "skin", "clothes", "neck", "torso", "midchest", "cheeks", "sides", "y")


def _head_priors(layout: _Layout, shape: tuple[int, int]) -> tuple[_Priors, np.ndarray]:
    """The priors of one head, and each pixel's (squashed) distance from it."""
    x, y = layout.coords(shape)
    ax = np.abs(x)
    # The skull: an ellipse around the face reaching above the forehead, cut below the jaw.
    r = np.sqrt((x * np.float32(1 / 0.78)) ** 2 + ((y + np.float32(0.22)) * np.float32(1 / 0.92)) ** 2)
    head = _ramp(r, 1.35, 1.0) * _ramp(y, 0.6, 0.35)
    # Long hair falls beside the neck and over the shoulders, less likely the lower it is; rarely over the throat.
    fall = _ramp(y, 2.6, 0.2) * _ramp(ax, 1.3, 0.9) * np.maximum(_ramp(ax, 0.2, 0.4), np.float32(0.1))
    shoulders = layout.shoulders if layout.shoulders is not None else 1.15
    neck = _ramp(y, 0.25, 0.4) * _ramp(y, shoulders + 0.1, shoulders - 0.15) * _ramp(ax, 0.48, 0.36)
    in_face = (ax < 0.45) & (y > -0.55) & (y < 0.55)
    skin = np.where(in_face, np.float32(0.5), np.float32(0.5) - np.float32(0.4) * head) + np.float32(0.3) * neck
    clothes = np.float32(0.05) + np.float32(0.95) * _ramp(y, 0.35, 0.75)
    crown = (r < 1.05) & ((y < -0.58) | ((ax > 0.52) & (y < 0.05)))
    torso = (y > 1.2) & (y < 3.2) & (ax < 0.55)
    midchest = (y > 1.3) & (y < 3.2) & (ax < 0.3)
    cheeks = (y > -0.45) & (y < 0.12) & (ax < 0.4)
    row = np.floor((y - np.float32(_SIDE_TOP)) * np.float32(1 / _SIDE_STEP))
    beside = (ax > 0.47) & (ax < 0.85) & (row >= 0) & (row < _SIDE_ROWS)
    sides = np.where(beside, row * 2 + (x > 0), -1).astype(np.int32)
    scalp = (r < 1.15) & (y < 0.35)
    f32 = np.float32
    pri = _Priors(
        head, scalp.astype(f32), fall, skin, clothes, neck, crown.astype(f32), torso.astype(f32),
        midchest.astype(f32), cheeks.astype(f32), sides, y,
    )  # fmt: skip
    return pri, x * x + (np.float32(0.6) * y) ** 2


def _priors(layouts: list[_Layout], shape: tuple[int, int]) -> _Priors | None:
    best: _Priors | None = None
    nearest = np.zeros(shape, np.float32)
    for layout in layouts:
        p, d = _head_priors(layout, shape)
        if best is None:
            best, nearest = p, d
            continue
        closer = d < nearest
        nearest = np.where(closer, d, nearest)
        for name in _NEAREST:
            setattr(best, name, np.where(closer, getattr(p, name), getattr(best, name)))
        for name in ("head", "scalp", "crown"):
            setattr(best, name, np.maximum(getattr(best, name), getattr(p, name)))
    return best


# -- the classifier -------------------------------------------------------------------------------------------------


def _posteriors(logs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    top = np.maximum.reduce(list(logs.values()))
    exp = {k: np.exp(v - top) for k, v in logs.items()}
    inv = 1.0 / sum(exp.values())
    return {k: v * inv for k, v in exp.items()}


def _hair_length(hair: np.ndarray, sides: np.ndarray, inside: np.ndarray) -> float:
    """How far below the face's centre (in face heights) the hair reaches without a gap, on either side."""
    valid = (sides >= 0) & inside
    n = 2 * _SIDE_ROWS
    counts = np.bincount(sides[valid], minlength=n)[:n]
    sums = np.bincount(sides[valid], weights=hair[valid], minlength=n)[:n]
    share = np.where(counts >= 4, sums / np.maximum(counts, 1), 0.0).reshape(_SIDE_ROWS, 2)
    best = 0
    for side in range(2):
        gaps = np.flatnonzero(share[:, side] < 0.3)
        best = max(best, int(gaps[0]) if len(gaps) else _SIDE_ROWS)
    return _SIDE_TOP + best * _SIDE_STEP


@dataclass
class _Skin:
    """The skin colour model: log-likelihood per pixel, and which pixels surely are not skin."""

    log_l: np.ndarray
    log_not: np.ndarray | float  # a prior against the other classes where the generic model sees skin
    not_skin: np.ndarray  # for hair seeds: unlike the face's skin (to tell a bald crown)
    uncommon: np.ndarray  # for hair seeds on a head with hair: not among the face's common colours (blond hair)
    unlike: np.ndarray  # for clothes seeds: unlike any skin
    broad: np.ndarray | None = None  # the density of the Gaussian around the face's skin

    @classmethod
    def of_face(cls, lab: np.ndarray, q: np.ndarray, seed: np.ndarray, beta: float) -> _Skin:
        dens = ColourHistogram(q[seed]).density[q]
        # The face's own skin colours, and a broad Gaussian around them for skin in other light (chest, arms).
        gauss = _Gaussian(lab[seed].astype(np.float32), _SKIN_FLOOR)
        d2 = gauss.d2(lab)
        broad = np.exp(np.float32(gauss.log_peak) - np.float32(0.5) * d2)
        log_l = np.float32(beta) * np.log(np.float32(0.5) * (dens + broad))
        typical = float(np.median(dens[seed]))
        rare = dens < 0.05 * typical
        # Hair seeds must not look like the face's skin (a bald crown): other colours, or another hue (blond hair
        # is as light as skin but less red); clothes seeds not like any skin.
        hue = _Gaussian(lab[seed][:, 1:].astype(np.float32), (2.0, 2.0)).d2(lab[..., 1:])
        not_skin = (rare & (d2 > 4.0)) | (hue > 9.0)
        return cls(log_l, 0.0, not_skin, dens < 0.3 * typical, rare & (d2 > 16.0), broad)

    def with_seeds(self, q: np.ndarray, seed: np.ndarray, beta: float) -> np.ndarray:
        """The log-likelihood learned again from more seeds (the body's skin in its own light)."""
        if self.broad is None:
            return self.log_l
        log_l = np.float32(beta) * np.log(np.float32(0.5) * (ColourHistogram(q[seed]).density[q] + self.broad))
        return np.float32(0.5) * (self.log_l + log_l)

    @classmethod
    def generic(cls, lab: np.ndarray, q: np.ndarray, inside: np.ndarray, hands: np.ndarray, beta: float) -> _Skin:
        """A generic skin model, sharpened by the hands' colours (where the pose found them) or the frame's own."""
        generic = _generic_skin(lab)
        seed = _typical(lab, hands & (generic > 0.3))
        if np.count_nonzero(seed) < _MIN_SEEDS:
            seed = inside & (generic > 0.7)
        prior = np.float32(0.05) + np.float32(0.9) * generic
        log_l = np.float32(beta) * _log_likelihood(ColourHistogram.of(q, seed, _MIN_SEEDS), q) + np.log(prior)
        return cls(log_l, np.log(np.float32(1.0) - prior), generic < 0.3, generic < 0.3, generic < 0.1)


def _classify(
    lab: np.ndarray,
    q: np.ndarray,
    pers: np.ndarray,
    face_skin: np.ndarray,
    pri: _Priors | None,
    hands: np.ndarray,
    o: BodyOptions,
) -> dict[str, np.ndarray]:
    """Posterior probabilities of hair, skin and clothes (each times the person probability) per working pixel."""
    inside = pers > 0.6
    beta = np.float32(o.colour_weight)
    logp = np.log(pers + _EPS)
    bg_hist = ColourHistogram.of(q, pers < 0.15, _MIN_SEEDS)
    log_bg = np.log(np.float32(1.0) - pers + _EPS) + beta * _log_likelihood(bg_hist, q)
    skin_seed = cv2.erode((face_skin > 0.8).view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    if pri is not None:
        skin_seed &= pri.cheeks > 0
    skin_seed = _typical(lab, skin_seed)
    if np.count_nonzero(skin_seed) >= _MIN_SEEDS:
        skin = _Skin.of_face(lab, q, skin_seed, float(beta))
    else:
        skin = _Skin.generic(lab, q, inside, hands & (pers > 0.3), float(beta))

    if pri is None:
        clothes = ColourHistogram.of(q, inside & skin.unlike, _MIN_SEEDS)
        flat = _posteriors(
            {
                "bg": log_bg,
                "skin": logp + skin.log_l,
                "clothes": logp + beta * _log_likelihood(clothes, q) + skin.log_not,
            }
        )
        return {"hair": np.zeros(q.shape, np.float32), "skin": flat["skin"], "clothes": flat["clothes"]}

    crown = (pri.crown > 0) & inside
    hair_seed = crown & skin.not_skin & (face_skin < 0.2)
    # A bald or shaved head shows skin where hair would be: the hair prior fades with the crown's share of non-skin.
    crown_n = np.count_nonzero(crown)
    hair_share = np.count_nonzero(hair_seed) / crown_n if crown_n else 0.0
    hair_w = float(np.clip(hair_share * 2.0, 0.02, 1.0))
    if hair_share > 0.15:
        # A head with hair: the crown's colours are the hair's, but for the face's commonest (light blond hair
        # comes close to the skin).
        hair_seed = crown & skin.uncommon & (face_skin < 0.2)
    log_skin = logp + skin.log_l + np.log(pri.skin)
    # Clothes seeds: the chest below the neck, and whatever else below the chin looks neither like skin nor like the
    # crown's hair (long hair falls there; the second pass takes the rest if the hair turns out to be short).
    below = inside & skin.unlike & (pri.head < 0.5) & (pri.clothes > 0.9)
    crown_hair = ColourHistogram.of(q, hair_seed, _MIN_SEEDS)
    chest = below & ((pri.torso > 0) | (crown_hair.unlike(q, hair_seed) if crown_hair is not None else True))
    log_clothes_prior = np.log(pri.clothes) + skin.log_not + logp
    fall, head, clothes_seed = 0.3, pri.head, chest
    for step in range(2):
        hair = ColourHistogram.of(q, hair_seed, _MIN_SEEDS)
        clothes_hist = ColourHistogram.of(q, clothes_seed, _MIN_SEEDS)
        hair_prior = np.maximum(head, np.float32(fall) * pri.fall) * np.float32(hair_w) + _EPS
        post = _posteriors(
            {
                "bg": log_bg,
                "skin": log_skin,
                "clothes": log_clothes_prior + beta * _log_likelihood(clothes_hist, q),
                "hair": logp + beta * _log_likelihood(hair, q) + np.log(hair_prior),
            }
        )
        if step == 1:
            break
        # Long hair shows beside the jaw: then it may fall over the shoulders and the chest, and the chest's
        # hair-coloured pixels are not taken for clothes. Short hair ends where it was measured to.
        length = _hair_length(post["hair"], pri.sides, inside)
        long_hair = float(np.clip((length - 0.25) / 0.3, 0.0, 1.0))
        fall = 0.05 + 0.95 * long_hair
        head = pri.head * _ramp(pri.y, length + 0.4, length + 0.2)
        # Learn again from what the first pass is sure of.
        hair_seed = hair_seed | (
            (post["hair"] > 0.7) & (head + np.float32(long_hair) * pri.fall > 0.3) & (face_skin < 0.2)
        )
        if long_hair > 0.5:
            if hair is not None:
                # Long hair rarely covers the middle of the chest: clothes there stay seeds even in the hair's
                # colour (a black top under black hair).
                clothes_seed = chest & (hair.unlike(q, hair_seed) | (pri.midchest > 0))
        else:
            clothes_seed = below
        # The body's skin in its own light (shoulders, arms) joins the face's.
        body = (post["skin"] > 0.8) & (face_skin < 0.1) & (pri.head < 0.2)
        if np.count_nonzero(body) >= _MIN_SEEDS:
            log_skin = logp + skin.with_seeds(q, skin_seed | body, float(beta)) + np.log(pri.skin)
        log.debug("body: hair share %.2f, length %.2f", hair_share, length)
    return {"hair": post["hair"], "skin": post["skin"], "clothes": post["clothes"]}


# -- frame <-> working copy -----------------------------------------------------------------------------------------


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized down to ``size`` (width, height) by area, halving first (OpenCV's fast path)."""
    while image.shape[1] >= 2 * size[0] and image.shape[0] >= 2 * size[1]:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _resize_mask(mask: RoiMask, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """A full-frame mask drawn at the working size (float32, 0..1), resizing only its box."""
    out = np.zeros(shape, np.float32)
    b = mask.box
    sb = Box(int(b.x0 * scale), int(b.y0 * scale), int(np.ceil(b.x1 * scale)), int(np.ceil(b.y1 * scale))).clip(shape)
    if mask.box.empty or sb.empty:
        return out
    out[sb.slices] = cv2.resize(mask.alpha, (sb.width, sb.height), interpolation=cv2.INTER_AREA) * (1.0 / 255.0)
    return out


def _upscale(alpha: np.ndarray, scale: float, shape: tuple[int, int]) -> RoiMask:
    """Maps a working-size mask (uint8) back to the frame, resizing only the box of its non-zero pixels."""
    small = RoiMask(Box(0, 0, alpha.shape[1], alpha.shape[0]), alpha).tight(8)
    if scale >= 1 or small.box.empty:
        return small
    b = small.box.grow(1).clip(alpha.shape)
    full = Box(round(b.x0 / scale), round(b.y0 / scale), round(b.x1 / scale), round(b.y1 / scale)).clip(shape)
    if full.empty:
        return RoiMask.empty_at(full)
    out = cv2.resize(alpha[b.slices], (full.width, full.height), interpolation=cv2.INTER_LINEAR)
    return RoiMask(full, out).tight(8)


def _guided(guide: np.ndarray, src: np.ndarray, radius: int, eps: float = 0.01) -> np.ndarray:
    """He et al.'s guided filter with a grey guide (float32 in [0, 1]) over a multi-channel float32 image."""
    size = (2 * radius + 1, 2 * radius + 1)
    g = guide[..., None]
    mean_g = cv2.blur(guide, size)[..., None]
    mean_s = cv2.blur(src, size)
    cov = cv2.blur(src * g, size) - mean_g * mean_s
    var = cv2.blur(guide * guide, size)[..., None] - mean_g * mean_g
    a = cov / (var + np.float32(eps))
    b = mean_s - a * mean_g
    return cv2.blur(a, size) * g + cv2.blur(b, size)


def _within(probs: dict[str, np.ndarray], pers: np.ndarray) -> dict[str, np.ndarray]:
    """The classes scaled to share the person probability.

    The person mask alone tells the person from the background; the colours only tell which class each of its
    pixels is (a dark coat against a dark room stays whole).
    """
    scale = pers / np.maximum(probs["hair"] + probs["skin"] + probs["clothes"], _EPS)
    return {k: v * scale for k, v in probs.items()}


def _keep_connected(probs: dict[str, np.ndarray], scalp: np.ndarray) -> None:
    """Gives the hair that is not connected to a scalp (dark clothes, a dark background) to the clothes."""
    hair = probs["hair"]
    solid = (hair >= 0.5).view(np.uint8)
    n, comp = cv2.connectedComponents(solid, connectivity=8)
    if n <= 1:
        return
    keep = np.zeros(n, bool)
    keep[np.unique(comp[(scalp > 0) & (solid > 0)])] = True
    keep[0] = False
    near = cv2.dilate(keep[comp].view(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32)
    probs["clothes"] = probs["clothes"] + hair * (1.0 - near)
    probs["hair"] = hair * near


def _hand_seeds(pose: BodyPose | None, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """Discs around the pose's visible hands (wrist and knuckles), where skin is likely."""
    out = np.zeros(shape, np.uint8)
    if pose is None:
        return out.view(bool)
    for wrist, tips in ((15, (17, 19, 21)), (16, (18, 20, 22))):
        if pose.visibility[wrist] < 0.5:
            continue
        pts = pose.points[[wrist, *tips]] * scale
        radius = max(2, round(0.6 * float(np.linalg.norm(pts[1:].mean(axis=0) - pts[0]))))
        cv2.circle(out, tuple(int(v) for v in np.round(pts[1:].mean(axis=0))), radius, 1, -1)
    return out.view(bool)


def _layouts(
    faces: tuple[Face, ...], pose: BodyPose | None, scale: float, heads: tuple[np.ndarray, ...] = ()
) -> list[_Layout]:
    """A layout per face and per head without a mesh (a detector's keypoints), and the pose's head if neither has it.

    The pose's shoulders end the neck of the head that has the pose's nose.
    """
    layouts = [_Layout.of_face(f.points * scale) for f in faces]
    kept = [k * scale for k in heads if eye_to_mouth(k) * scale >= _MIN_HEAD_PX]
    detected = [_Layout.of_detection(k) for k in kept]
    if pose is None or pose.visibility[[2, 5, 9, 10]].min() < 0.5:
        return layouts + detected
    pts = pose.points * scale
    head = _Layout.of_pose(pts)
    shoulders = None
    if pose.visibility[[11, 12]].min() >= 0.5:
        shoulders = (pts[11] + pts[12]) / 2

    def with_shoulders(layout: _Layout) -> _Layout:
        return layout if shoulders is None else replace(layout, shoulders=layout.at(shoulders)[1])

    for i, layout in enumerate(layouts):
        x, y = layout.at(pts[0])
        if abs(x) < 0.35 and abs(y) < 0.35:  # the pose's nose is this face's
            layouts[i] = with_shoulders(layout)
            return layouts + detected
    for i, (points, layout) in enumerate(zip(kept, detected)):
        if float(np.hypot(*(pts[0] - points[2]))) < 0.5 * layout.height:  # ... or this detected head's
            detected[i] = with_shoulders(layout)
            return layouts + detected
    # A head the face mesh missed (a profile, a turned face): only a large one, all in the frame (the pose
    # model places small heads too loosely, and guesses heads out of the frame).
    h, w = pose.shape
    top = head.origin + head.down * (-1.0 * head.height)
    corners = [head.origin + s * head.across * head.height for s in (-0.7, 0.7)] + [top]
    inside = all(0 <= c[0] < w * scale and 0 <= c[1] < h * scale for c in corners)
    if inside and head.height >= _MIN_POSE_HEAD * max(h, w) * scale:
        layouts.append(with_shoulders(head))
    return layouts + detected


def body_masks(
    frame: np.ndarray,
    faces: tuple[Face, ...],
    person: np.ndarray | None,
    options: BodyOptions | None = None,
    pose: BodyPose | None = None,
    heads: tuple[np.ndarray, ...] = (),
) -> dict[str, RoiMask]:
    """Soft ``hair``, ``neck``, ``body_skin`` and ``clothes`` masks over the whole frame.

    Args:
        frame: the BGR uint8 frame.
        faces: the parsed faces (their landmarks and ``face_skin`` masks are used).
        person: the ``HxW`` float32 person probability, or None (then only the area around each head is labelled).
        options: working size and weights (``pose`` is :class:`BodyParser`'s business and ignored here).
        pose: a body pose of the frame, if one was estimated: it places a head the face mesh missed, the hands' skin
            and the shoulders.
        heads: faces found without a mesh (profiles, faces turned away): a face detector's keypoints each
            (:attr:`PerceptionResult.heads <tryon.perception.PerceptionResult.heads>`); their hair and neck are
            placed as a face's are.

    Returns:
        The four masks (possibly empty), as full-frame :class:`RoiMask` values; empty when there is neither a
        person mask nor a head.

    Example:
        >>> masks = body_masks(frame, parse.faces, perception.person)  # doctest: +SKIP
        >>> hair = masks["hair"].full(frame.shape[:2])  # doctest: +SKIP
    """
    o = options or BodyOptions()
    h, w = frame.shape[:2]
    for k in heads:
        if not isinstance(k, np.ndarray) or k.shape != (6, 2) or not np.isfinite(k).all():
            raise InputError(f"each head must be a 6x2 array of finite keypoints, got {short_repr(k)}")
    scale = min(1.0, o.work_size / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = _shrink(frame, size) if scale < 1 else frame
    shape = (size[1], size[0])
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2Lab)
    q = colour_bins(lab)

    pri = _priors(_layouts(faces, pose, scale, heads), shape)
    face_skin = np.zeros(shape, np.float32)
    for f in faces:
        if "face_skin" in f.masks:
            np.maximum(face_skin, _resize_mask(f.masks["face_skin"], scale, shape), out=face_skin)
    if person is not None:
        if person.shape != (h, w):
            raise InputError(f"person mask must be {h}x{w} like the frame, got {person.shape[0]}x{person.shape[1]}")
        # Segmentation masks are smooth (upsampled by the segmenter): a plain linear resize does.
        pers = cv2.resize(person.astype(np.float32, copy=False), size, interpolation=cv2.INTER_LINEAR)
        pers = np.clip(pers, 0.0, 1.0)
    elif pri is not None:
        # No segmenter: the heads and a torso below each, as a weak person prior that colour then sharpens.
        pers = np.maximum(np.float32(0.85) * pri.head, np.float32(0.6) * pri.clothes * (pri.y < 3.0))
    else:
        return {}

    probs = _classify(lab, q, pers, face_skin, pri, _hand_seeds(pose, scale, shape), o)
    if person is not None:
        probs = _within(probs, pers)
    if o.smooth > 0:
        names = ("hair", "skin", "clothes")
        grey = lab[..., 0].astype(np.float32) * np.float32(1.0 / 255.0)
        smooth = _guided(grey, np.dstack([probs[k] for k in names]), o.smooth)
        probs = {k: np.clip(smooth[..., i], 0.0, 1.0) for i, k in enumerate(names)}
    if pri is not None:
        _keep_connected(probs, pri.scalp)
        neck = probs["skin"] * pri.neck
    else:
        neck = np.zeros(shape, np.float32)
    # The face parser owns the face: no hair over its skin (its colour model already moved the skin to the hair).
    probs["hair"] *= np.float32(1.0) - _ramp(face_skin, 0.45, 0.75)
    soft = {"hair": probs["hair"], "neck": neck, "body_skin": probs["skin"] - neck, "clothes": probs["clothes"]}
    out = {}
    for name in NAMES:
        alpha = to_alpha8(soft[name])
        out[name] = _upscale(alpha, scale, (h, w))
    out["hair"] = _without_faces(out["hair"], faces)
    return out


def _without_faces(hair: RoiMask, faces: tuple[Face, ...]) -> RoiMask:
    """The hair less every face class (eyes, brows, lips ... not only the skin), at the frame's resolution.

    The working size is too coarse for the features (an eye is a few working pixels), and a hair mask that holds
    them would dye the eyes of anyone who uses it as it is.
    """
    alpha = None
    for face in faces:
        parts = [face.masks[n] for n in FACE_CLASSES if n in face.masks]
        box = Box(0, 0, 0, 0)
        for part in parts:
            box = box.union(part.box)
        inter = box.intersect(hair.box)
        if inter.empty:
            continue
        union = np.zeros((inter.height, inter.width), np.uint8)
        for part in parts:
            if not part.box.intersect(inter).empty:
                cv2.add(union, part.crop(inter), dst=union)  # a partition: side by side, the classes add up
        if alpha is None:
            alpha = hair.alpha.copy()
        view = alpha[inter.relative_to(hair.box).slices]
        np.minimum(view, 255 - union, out=view)  # the soft classes add up to at most one
    return hair if alpha is None else RoiMask(hair.box, alpha).tight(8)


class BodyParser:
    """Builds the body classes of each frame of a stream or of photos, running the pose model where asked.

    Args:
        options: the body options (:meth:`BodyOptions.photo` for photos).
        mode: ``"image"`` for unrelated photos (pose detects afresh each time), ``"video"`` for a stream (pose
            tracks, and runs every ``options.pose_every`` frames).

    Example:
        >>> with BodyParser(BodyOptions.photo(), mode="image") as body:  # doctest: +SKIP
        ...     masks = body(frame, parse.faces, perception.person)
    """

    def __init__(self, options: BodyOptions | None = None, mode: Literal["image", "video"] = "video") -> None:
        if mode not in ("image", "video"):
            raise InputError(f"mode must be 'image' or 'video', got {mode!r}")
        self.options = options or BodyOptions()
        self.mode = mode
        self._pose = PoseEstimator(mode=mode) if self.options.pose else None
        self._last: Optional[BodyPose] = None
        self._frames = 0

    def __call__(
        self,
        frame: np.ndarray,
        faces: tuple[Face, ...],
        person: np.ndarray | None,
        heads: tuple[np.ndarray, ...] = (),
    ) -> dict[str, RoiMask]:
        """The body masks of one BGR uint8 frame (see :func:`body_masks`)."""
        pose = None
        if self._pose is not None:
            stale = self._last is None or self._last.shape != frame.shape[:2]
            if self.mode == "image" or stale or self._frames % self.options.pose_every == 0:
                self._last = self._pose(frame)
            pose = self._last
        self._frames += 1
        return body_masks(frame, faces, person, self.options, pose, heads)

    def reset(self) -> None:
        """Forgets the last pose and the tracked person (a new stream, or a cut)."""
        self._last = None
        self._frames = 0
        if self._pose is not None:
            self._pose.reset()

    def close(self) -> None:
        """Releases the pose graph; safe to call twice."""
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> BodyParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
