"""Effect regions: soft masks that overlap the partition (cheeks, lids, lash lines, irises, teeth, ...).

Each region is drawn in the face's working crop from landmarks, sized in units of the face's width, and clipped
by the parsed classes where a real edge bounds it (irises by the eyelids, teeth by the lips, blush by the skin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from tryon.perception import topology as T

if TYPE_CHECKING:
    from tryon.parsing.landmarks import _Canvas

__all__ = ["build"]


def _line(cv: _Canvas, pts: np.ndarray, thickness_faces: float) -> np.ndarray:
    out = np.zeros(cv.shape, np.float32)
    t = max(1, round(thickness_faces * cv.unit))
    cv2.polylines(out, [np.round(pts * 16).astype(np.int32)], False, 1.0, t, cv2.LINE_AA, shift=4)
    return out


def _disc(cv: _Canvas, center: np.ndarray, radius: float, sigma: float = 0.0) -> np.ndarray:
    out = np.zeros(cv.shape, np.float32)
    cv2.circle(out, tuple(np.round(center * 16).astype(int)), max(1, round(radius * 16)), 1.0, -1, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(out, (0, 0), sigma) if sigma > 0 else out


def _ellipse(cv: _Canvas, center: np.ndarray, axes: tuple[float, float], angle: float, sigma: float) -> np.ndarray:
    out = np.zeros(cv.shape, np.float32)
    cv2.ellipse(out, ((float(center[0]), float(center[1])), (2 * axes[0], 2 * axes[1]), angle), 1.0, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(out, (0, 0), max(0.5, sigma))


def _angle(p: np.ndarray, q: np.ndarray) -> float:
    d = q - p
    return float(np.degrees(np.arctan2(d[1], d[0])))


def build(cv: _Canvas, probs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Builds every effect region of one face from its canvas and class probabilities."""
    p = cv.pts
    u = cv.unit
    skin = probs["face_skin"]
    face = np.clip(skin + probs["nose"], 0, 1)
    eyes = np.maximum(probs["left_eye"], probs["right_eye"])
    brows = np.maximum(probs["left_brow"], probs["right_brow"])
    lips = np.clip(probs["upper_lip"] + probs["lower_lip"], 0, 1)
    roll = _angle(p[T.RIGHT_EYE_OUTER], p[T.LEFT_EYE_OUTER])
    out: dict[str, np.ndarray] = {"lips": lips, "brows": brows, "face": face}

    # Cheeks: an ellipse on the apple of each cheek, tilted toward the temple.
    cheeks = np.zeros(cv.shape, np.float32)
    for center, temple in ((T.RIGHT_CHEEK_CENTER, 234), (T.LEFT_CHEEK_CENTER, 454)):
        c = 0.65 * p[center] + 0.35 * p[temple]
        cheeks = np.maximum(cheeks, _ellipse(cv, c, (0.13 * u, 0.085 * u), _angle(p[center], p[temple]), 0.05 * u))
    out["cheeks"] = cheeks * skin

    # Eyes: lids (lash line up to below the brow), crease band, lash lines, under-eye.
    lids = np.zeros(cv.shape, np.float32)
    crease = np.zeros(cv.shape, np.float32)
    upper_lash = np.zeros(cv.shape, np.float32)
    lower_lash = np.zeros(cv.shape, np.float32)
    under = np.zeros(cv.shape, np.float32)
    sides = (
        (T.RIGHT_EYE_UPPER, T.RIGHT_EYE_LOWER, T.RIGHT_EYE_UPPER_2, T.RIGHT_EYE_UPPER_3, T.RIGHT_EYE_LOWER_3),
        (T.LEFT_EYE_UPPER, T.LEFT_EYE_LOWER, T.LEFT_EYE_UPPER_2, T.LEFT_EYE_UPPER_3, T.LEFT_EYE_LOWER_3),
    )
    for up, low, up2, up3, low3 in sides:
        lid_poly = np.array([*p[list(up)], *p[list(up3)][::-1]])
        lids = np.maximum(lids, cv.poly(lid_poly))
        crease = np.maximum(crease, _line(cv, p[list(up2)], 0.025))
        upper_lash = np.maximum(upper_lash, _line(cv, p[list(up)], 0.014))
        lower_lash = np.maximum(lower_lash, _line(cv, p[list(low)], 0.009))
        under = np.maximum(under, cv.poly(np.array([*p[list(low)], *p[list(low3)][::-1]])))
    not_eye = 1 - eyes
    out["lids"] = cv2.GaussianBlur(lids, (0, 0), max(0.5, 0.012 * u)) * not_eye * (1 - brows)
    out["crease"] = cv2.GaussianBlur(crease, (0, 0), max(0.5, 0.012 * u)) * not_eye * (1 - brows)
    out["upper_lash_line"] = cv2.GaussianBlur(upper_lash, (0, 0), max(0.5, 0.003 * u)) * (1 - 0.7 * eyes)
    out["lower_lash_line"] = cv2.GaussianBlur(lower_lash, (0, 0), max(0.5, 0.003 * u)) * (1 - 0.7 * eyes)
    out["under_eye"] = cv2.GaussianBlur(under, (0, 0), max(0.5, 0.02 * u)) * not_eye * skin

    # Irises: a ring from the iris rim to the pupil, clipped by the eyelids.
    irises = np.zeros(cv.shape, np.float32)
    for ids in (T.RIGHT_IRIS, T.LEFT_IRIS):
        center = p[ids[0]]
        radius = float(np.mean(np.linalg.norm(p[list(ids[1:])] - center, axis=1)))
        ring = _disc(cv, center, radius, 0.15 * radius / 2) - _disc(cv, center, 0.42 * radius, 0.1 * radius)
        irises = np.maximum(irises, np.clip(ring, 0, 1))
    out["irises"] = irises * eyes

    # Teeth: bright, low-chroma pixels inside the mouth.
    interior = probs["mouth_interior"]
    if interior.any():
        lab = cv.lab
        light = lab[:, :, 0].astype(np.float32)
        chroma = np.hypot(lab[:, :, 1].astype(np.float32) - 128, lab[:, :, 2].astype(np.float32) - 128)
        inside = interior > 0.5
        ref = float(np.percentile(light[inside], 50)) if inside.sum() > 8 else 128.0
        teeth = np.clip((light - ref) / 30.0 + 0.5, 0, 1) * np.clip(1 - (chroma - 18) / 20.0, 0, 1)
        out["teeth"] = cv2.GaussianBlur(teeth * interior, (0, 0), max(0.5, 0.004 * u))
    else:
        out["teeth"] = np.zeros(cv.shape, np.float32)

    # Contour: under the cheekbones toward the mouth corner, the temples and along the jaw.
    contour = np.zeros(cv.shape, np.float32)
    for ear, corner, temple, jaw in ((234, 61, 54, (172, 136, 150, 149)), (454, 291, 284, (397, 365, 379, 378))):
        start = p[ear]
        end = start + 0.55 * (p[corner] - start)
        contour = np.maximum(contour, _line(cv, np.array([start, end]), 0.07))
        contour = np.maximum(contour, _disc(cv, p[temple] + 0.03 * u * (p[ear] - p[temple]) / (
            np.linalg.norm(p[ear] - p[temple]) + 1e-6), 0.07 * u))
        contour = np.maximum(contour, _line(cv, p[list(jaw)], 0.06))
    out["contour"] = cv2.GaussianBlur(contour, (0, 0), max(0.5, 0.04 * u)) * skin

    # Highlight: cheekbone tops, nose bridge, cupid's bow, chin.
    hl = np.zeros(cv.shape, np.float32)
    for a, b in ((116, 118), (345, 347)):
        hl = np.maximum(hl, _line(cv, np.array([p[a], p[b]]), 0.05))
    hl = np.maximum(hl, _line(cv, p[[168, 6, 197, 195]], 0.035))
    hl = np.maximum(hl, _disc(cv, p[0] + 0.025 * u * np.array([np.sin(np.radians(roll)), -np.cos(np.radians(roll))]),
                              0.018 * u))
    hl = np.maximum(hl, _disc(cv, 0.6 * p[T.CHIN] + 0.4 * p[17], 0.04 * u))
    out["highlight"] = cv2.GaussianBlur(hl, (0, 0), max(0.5, 0.02 * u)) * face

    return out
