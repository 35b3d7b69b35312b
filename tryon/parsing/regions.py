"""Effect regions: soft masks that overlap the partition (cheeks, lids, lash lines, irises, teeth, ...).

Each region is drawn from landmarks in a window of the face's working crop, sized in face widths, and clipped by
the parsed classes where a real edge bounds it: the irises by the eyelids, the teeth by the lips, the lids by the
eyes and the brows' hair, the blush by the skin. Sharp regions (lash lines, irises) are drawn at the working resolution;
smooth ones (lids, crease, under-eye, cheeks, contour, highlight) on the coarse level, then cut in the frame by the
classes named in :data:`CUT_BY` (a brow cuts by its hair alone: the class holds the skin between sparse hairs too).
The ``face`` region (skin and nose, without the other parts) is cut by the parser.
"""

from __future__ import annotations

import numpy as np

from tryon.parsing._features import Outline
from tryon.parsing.landmarks import Canvas, Prob, Window
from tryon.perception import topology as tp

__all__ = ["build"]


def _rings(*pairs: tuple[tuple[int, ...], tuple[int, ...]]) -> list[np.ndarray]:
    """Closed outlines between two landmark chains (the second one walked back)."""
    return [np.array([*a, *b[::-1]]) for a, b in pairs]


# Subject's right then left eye: the lid zone (lash line to the ring under the brow), the under-eye zone, the
# crease line, the lash lines and the irises (centre, then four rim points).
_LIDS = _rings((tp.RIGHT_EYE_UPPER, tp.RIGHT_EYE_UPPER_3), (tp.LEFT_EYE_UPPER, tp.LEFT_EYE_UPPER_3))
_UNDER = _rings((tp.RIGHT_EYE_LOWER, tp.RIGHT_EYE_LOWER_3), (tp.LEFT_EYE_LOWER, tp.LEFT_EYE_LOWER_3))
_CREASE = Outline.of(np.array([tp.RIGHT_EYE_UPPER_2, tp.LEFT_EYE_UPPER_2]), closed=False)
_UPPER_LASHES = [np.array(tp.RIGHT_EYE_UPPER), np.array(tp.LEFT_EYE_UPPER)]
_LOWER_LASHES = [np.array(tp.RIGHT_EYE_LOWER), np.array(tp.LEFT_EYE_LOWER)]
_IRISES = np.array([tp.RIGHT_IRIS, tp.LEFT_IRIS])
_EYE_AREA = np.array(tp.EYE_AREA)
# The face regions' lines: along the jaw, the cheekbones' tops and the nose bridge.
_JAWS = [np.array([172, 136, 150, 149]), np.array([397, 365, 379, 378])]
_CHEEKBONES = [np.array([116, 118]), np.array([345, 347])]
_NOSE_BRIDGE = np.array([168, 6, 197, 195])


#: Regions cut by classes in the frame (after mapping back): a soft mask times (1 - each class's mask).
CUT_BY: dict[str, tuple[str, ...]] = {
    "lids": ("left_eye", "right_eye", "left_brow", "right_brow"),
    "crease": ("left_eye", "right_eye", "left_brow", "right_brow"),
    "under_eye": ("left_eye", "right_eye"),
    "cheeks": ("upper_lip", "lower_lip", "left_eye", "right_eye"),
    "contour": ("upper_lip", "lower_lip"),
    "highlight": ("upper_lip", "lower_lip", "left_eye", "right_eye"),
}


def build(cv: Canvas, probs: dict[str, Prob]) -> dict[str, Prob]:
    """Builds the effect regions of one face (all but ``face``) from its canvas and class maps.

    The regions named in :data:`CUT_BY` still overlap the classes that bound them; the parser cuts them.
    """
    mouth = probs["upper_lip"].window
    brows = probs["left_brow"].window
    out = {
        "lips": Prob(mouth, probs["upper_lip"].p + probs["lower_lip"].p),
        "teeth": Prob(mouth, _teeth(mouth, probs["mouth_interior"].p)),
        "brows": Prob(brows, np.maximum(probs["left_brow"].p, probs["right_brow"].p)),
    }
    out.update(_eye_regions(cv, probs))
    out.update(_face_regions(probs["skin"]))
    return out


def _teeth(mouth: Window, interior: np.ndarray) -> np.ndarray:
    """Bright, low-chroma pixels inside the mouth."""
    inside = interior > 0.5
    if np.count_nonzero(inside) <= 8:
        return mouth.zeros()
    ycc = mouth.ycc
    light = ycc[:, :, 0]
    chroma = np.abs(ycc[:, :, 1] - 128) + np.abs(ycc[:, :, 2] - 128)
    ref = float(np.median(light[inside]))
    teeth = np.clip((light - ref) * np.float32(1 / 30) + 0.5, 0, 1) * np.clip(1.6 - chroma * np.float32(1 / 16), 0, 1)
    return teeth * interior


def _eye_regions(cv: Canvas, probs: dict[str, Prob]) -> dict[str, Prob]:
    """Lids, crease and under-eye (smooth zones, on the coarse level); lash lines and irises in the eyes' window."""
    coarse = cv.coarse
    win = coarse.window(_EYE_AREA, 0.03)
    lids = win.poly(*_LIDS)
    under = win.poly(*_UNDER)
    # The crease is a band 0.025 face widths across: drawn as a polygon, the coarse level keeps its width exact.
    line = _CREASE.points(win.pts)
    half = _CREASE.normals(line) * (0.0125 * coarse.unit)
    sides = (line + half).reshape(2, -1, 2), (line - half).reshape(2, -1, 2)
    crease = win.poly(*(np.concatenate([a, b[::-1]]) for a, b in zip(*sides)))
    out = {
        "lids": Prob(win, win.blur(lids, 0.012)),
        "crease": Prob(win, win.blur(crease, 0.012)),
        "under_eye": Prob(win, win.blur(under, 0.012)),
    }
    # Lash lines and irises are sharp: the working resolution, in the eyes' own window.
    small = probs["left_eye"].window
    eyes = np.maximum(probs["left_eye"].p, probs["right_eye"].p)
    soft_eye = 1 - 0.7 * eyes
    out["upper_lash_line"] = Prob(small, small.lines(_UPPER_LASHES, 0.014) * soft_eye)
    out["lower_lash_line"] = Prob(small, small.lines(_LOWER_LASHES, 0.009) * soft_eye)
    iris = small.pts[_IRISES]
    centers = iris[:, 0]
    radii = np.sqrt(((iris[:, 1:] - centers[:, None]) ** 2).sum(axis=2)).mean(axis=1)
    rings = small.zeros()
    for c, r in zip(centers, radii):  # a ring: the iris with its pupil cut out
        small.disc(c, float(r), out=rings)
    for c, r in zip(centers, radii):
        small.disc(c, 0.42 * float(r), out=rings, value=0.0)
    out["irises"] = Prob(small, rings * eyes)
    return out


def _angle(p: np.ndarray, q: np.ndarray) -> float:
    d = q - p
    return float(np.degrees(np.arctan2(d[1], d[0])))


def _face_regions(skin_map: Prob) -> dict[str, Prob]:
    """Cheeks, contour and highlight, within the skin, in the skin's own window (the coarse level)."""
    face, skin = skin_map.window, skin_map.p
    u = face.unit
    fp = face.pts

    # Cheeks: an ellipse on the apple of each cheek, tilted toward the temple.
    cheeks = face.zeros()
    for center, temple in ((tp.RIGHT_CHEEK_CENTER, 234), (tp.LEFT_CHEEK_CENTER, 454)):
        c = 0.65 * fp[center] + 0.35 * fp[temple]
        face.ellipse(c, (0.13 * u, 0.085 * u), _angle(fp[center], fp[temple]), out=cheeks)

    # Contour: under the cheekbones toward the mouth corner, the temples and along the jaw.
    ears, corners, temples = fp[[234, 454]], fp[[61, 291]], fp[[54, 284]]
    hollows = np.stack([ears, ears + 0.55 * (corners - ears)], axis=1)
    contour = face.lines(list(hollows), 0.07)
    face.lines(_JAWS, 0.06, out=contour)
    toward = ears - temples
    toward /= np.linalg.norm(toward, axis=1, keepdims=True) + 1e-6
    for c in temples + 0.03 * u * toward:
        face.disc(c, 0.07 * u, out=contour)

    # Highlight: cheekbone tops, nose bridge, cupid's bow, chin.
    roll = np.radians(_angle(fp[tp.RIGHT_EYE_OUTER], fp[tp.LEFT_EYE_OUTER]))
    up = np.array([np.sin(roll), -np.cos(roll)], np.float32)
    hl = face.lines(_CHEEKBONES, 0.05)
    face.lines([_NOSE_BRIDGE], 0.035, out=hl)
    face.disc(fp[0] + 0.025 * u * up, 0.018 * u, out=hl)
    face.disc(0.6 * fp[tp.CHIN] + 0.4 * fp[17], 0.04 * u, out=hl)
    return {
        "cheeks": Prob(face, face.blur(cheeks, 0.05) * skin),
        "contour": Prob(face, face.blur(contour, 0.04) * skin),
        "highlight": Prob(face, face.blur(hl, 0.02) * skin),
    }
