"""Effect regions: soft masks that overlap the partition (cheeks, lids, lash lines, irises, teeth, ...).

Each region is drawn in a window of the face's working crop from landmarks, sized in face widths, and clipped by
the parsed classes where a real edge bounds it (irises by the eyelids, teeth by the lips, blush by the skin).
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.parsing.landmarks import Canvas, Prob, Window
from tryon.perception import topology as T

__all__ = ["build"]


def _disc(win: Window, center: np.ndarray, radius: float) -> np.ndarray:
    out = np.zeros(win.shape, np.float32)
    c = np.round(center * 16).astype(int)
    cv2.circle(out, (int(c[0]), int(c[1])), max(1, round(radius * 16)), 1.0, -1, cv2.LINE_AA, 4)
    return out


def _ellipse(win: Window, center: np.ndarray, axes: tuple[float, float], angle: float) -> np.ndarray:
    out = np.zeros(win.shape, np.float32)
    cv2.ellipse(out, ((float(center[0]), float(center[1])), (2 * axes[0], 2 * axes[1]), angle), 1.0, -1, cv2.LINE_AA)
    return out


def _angle(p: np.ndarray, q: np.ndarray) -> float:
    d = q - p
    return float(np.degrees(np.arctan2(d[1], d[0])))


_EYE_SIDES = (
    (T.RIGHT_EYE_UPPER, T.RIGHT_EYE_LOWER, T.RIGHT_EYE_UPPER_2, T.RIGHT_EYE_UPPER_3, T.RIGHT_EYE_LOWER_3,
     T.RIGHT_BROW_UPPER, T.RIGHT_IRIS),
    (T.LEFT_EYE_UPPER, T.LEFT_EYE_LOWER, T.LEFT_EYE_UPPER_2, T.LEFT_EYE_UPPER_3, T.LEFT_EYE_LOWER_3,
     T.LEFT_BROW_UPPER, T.LEFT_IRIS),
)


def build(cv: Canvas, probs: dict[str, Prob]) -> dict[str, Prob]:
    """Builds every effect region of one face from its canvas and class maps."""
    face = cv.window()
    u = cv.unit
    skin = probs["face_skin"].within(face)
    face_all = np.clip(skin + probs["nose"].within(face), 0, 1)
    out: dict[str, Prob] = {"face": Prob(face, face_all)}

    mouth = probs["upper_lip"].window
    out["lips"] = Prob(mouth, np.clip(probs["upper_lip"].p + probs["lower_lip"].p, 0, 1))

    # Eyes: one window over both eyes and brows.
    eye_ids = [i for side in _EYE_SIDES for ring in side for i in ring]
    eyes_win = cv.window(eye_ids, 0.04)
    p = eyes_win.pts
    eyes = np.maximum(probs["left_eye"].within(eyes_win), probs["right_eye"].within(eyes_win))
    brows = np.maximum(probs["left_brow"].within(eyes_win), probs["right_brow"].within(eyes_win))
    out["brows"] = Prob(eyes_win, brows)
    lids = np.zeros(eyes_win.shape, np.float32)
    crease = np.zeros_like(lids)
    upper_lash = np.zeros_like(lids)
    lower_lash = np.zeros_like(lids)
    under = np.zeros_like(lids)
    irises = np.zeros_like(lids)
    for up, low, up2, up3, low3, _brow, iris in _EYE_SIDES:
        lids = np.maximum(lids, eyes_win.poly([*up, *up3[::-1]]))
        crease = np.maximum(crease, eyes_win.line(np.array(up2), 0.025))
        upper_lash = np.maximum(upper_lash, eyes_win.line(np.array(up), 0.014))
        lower_lash = np.maximum(lower_lash, eyes_win.line(np.array(low), 0.009))
        under = np.maximum(under, eyes_win.poly([*low, *low3[::-1]]))
        center = p[iris[0]]
        radius = float(np.mean(np.linalg.norm(p[list(iris[1:])] - center, axis=1)))
        ring = cv2.GaussianBlur(_disc(eyes_win, center, radius), (0, 0), max(0.5, 0.08 * radius)) - \
            cv2.GaussianBlur(_disc(eyes_win, center, 0.42 * radius), (0, 0), max(0.5, 0.05 * radius))
        irises = np.maximum(irises, np.clip(ring, 0, 1))
    not_eye = 1 - eyes
    skin_e = probs["face_skin"].within(eyes_win)
    out["lids"] = Prob(eyes_win, eyes_win.blur(lids, 0.012) * not_eye * (1 - brows))
    out["crease"] = Prob(eyes_win, eyes_win.blur(crease, 0.012) * not_eye * (1 - brows))
    out["upper_lash_line"] = Prob(eyes_win, eyes_win.blur(upper_lash, 0.003) * (1 - 0.7 * eyes))
    out["lower_lash_line"] = Prob(eyes_win, eyes_win.blur(lower_lash, 0.003) * (1 - 0.7 * eyes))
    out["under_eye"] = Prob(eyes_win, eyes_win.blur(under, 0.02) * not_eye * skin_e)
    out["irises"] = Prob(eyes_win, irises * eyes)

    # Cheeks: an ellipse on the apple of each cheek, tilted toward the temple.
    cheeks = np.zeros(face.shape, np.float32)
    fp = face.pts
    for center, temple in ((T.RIGHT_CHEEK_CENTER, 234), (T.LEFT_CHEEK_CENTER, 454)):
        c = 0.65 * fp[center] + 0.35 * fp[temple]
        cheeks = np.maximum(cheeks, _ellipse(face, c, (0.13 * u, 0.085 * u), _angle(fp[center], fp[temple])))
    out["cheeks"] = Prob(face, face.blur(cheeks, 0.05) * skin)

    # Teeth: bright, low-chroma pixels inside the mouth.
    interior = probs["mouth_interior"].p
    teeth = np.zeros(mouth.shape, np.float32)
    inside = interior > 0.5
    if inside.sum() > 8:
        lab = mouth.lab
        light = lab[:, :, 0]
        chroma = np.hypot(lab[:, :, 1] - 128, lab[:, :, 2] - 128)
        ref = float(np.percentile(light[inside], 50))
        teeth = np.clip((light - ref) / 30.0 + 0.5, 0, 1) * np.clip(1 - (chroma - 18) / 20.0, 0, 1)
        teeth = mouth.blur(teeth * interior, 0.004)
    out["teeth"] = Prob(mouth, teeth)

    # Contour: under the cheekbones toward the mouth corner, the temples and along the jaw.
    contour = np.zeros(face.shape, np.float32)
    for ear, corner, temple, jaw in ((234, 61, 54, (172, 136, 150, 149)), (454, 291, 284, (397, 365, 379, 378))):
        start = fp[ear]
        end = start + 0.55 * (fp[corner] - start)
        contour = np.maximum(contour, face.line(np.array([start, end]), 0.07))
        toward = (fp[ear] - fp[temple]) / (np.linalg.norm(fp[ear] - fp[temple]) + 1e-6)
        contour = np.maximum(contour, _disc(face, fp[temple] + 0.03 * u * toward, 0.07 * u))
        contour = np.maximum(contour, face.line(np.array(jaw), 0.06))
    out["contour"] = Prob(face, face.blur(contour, 0.04) * skin)

    # Highlight: cheekbone tops, nose bridge, cupid's bow, chin.
    roll = np.radians(_angle(fp[T.RIGHT_EYE_OUTER], fp[T.LEFT_EYE_OUTER]))
    up = np.array([np.sin(roll), -np.cos(roll)], np.float32)
    hl = np.zeros(face.shape, np.float32)
    for a, b in ((116, 118), (345, 347)):
        hl = np.maximum(hl, face.line(np.array([fp[a], fp[b]]), 0.05))
    hl = np.maximum(hl, face.line(np.array([168, 6, 197, 195]), 0.035))
    hl = np.maximum(hl, _disc(face, fp[0] + 0.025 * u * up, 0.018 * u))
    hl = np.maximum(hl, _disc(face, 0.6 * fp[T.CHIN] + 0.4 * fp[17], 0.04 * u))
    out["highlight"] = Prob(face, face.blur(hl, 0.02) * face_all)
    return out
