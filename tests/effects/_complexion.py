"""Measures shared by the complexion effects' tests (foundation, smoothing, concealer, contour, blush, highlighter).

Photos can be large (4k), so colour measures run on a crop around the face, never on the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.color import bgr_to_lab
from tryon.effects import create_effect
from tryon.geometry import Box, RoiMask
from tryon.parsing.frame_parse import Face, FrameParse


def face_width(face) -> float:
    """The face's width in pixels, cheek to cheek."""
    return float(np.linalg.norm(face.points[454] - face.points[234]))


@dataclass
class Crop:
    """A photo's face area: the box, the frame there, and masks as boolean or float arrays over it."""

    case: object
    box: Box

    @classmethod
    def around(cls, case, margin: float = 0.1) -> Crop:
        face = case.parse.faces[0]
        box = face.mask("face").box.grow(int(margin * face_width(face))).clip(case.frame.shape)
        return cls(case, box)

    @property
    def face(self):
        return self.case.parse.faces[0]

    @property
    def fw(self) -> float:
        return face_width(self.face)

    def of(self, frame: np.ndarray) -> np.ndarray:
        return frame[self.box.slices]

    def lab(self, frame: np.ndarray) -> np.ndarray:
        return bgr_to_lab(self.of(frame))

    def alpha(self, name: str) -> np.ndarray:
        return self.face.mask(name).crop(self.box)

    def inside(self, name: str, threshold: int = 200, erode_faces: float = 0.0) -> np.ndarray:
        """Where mask ``name`` reaches ``threshold``, optionally eroded by a share of the face width."""
        where = self.alpha(name) >= threshold
        k = int(erode_faces * self.fw) | 1
        if k > 1:
            where = cv2.erode(where.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
        return where

    def apply(self, effect: str, **options) -> np.ndarray:
        """The whole frame with ``effect`` applied."""
        return create_effect(effect, options).apply(self.case.frame.copy(), self.case.parse)


def ab_spread(lab: np.ndarray, where: np.ndarray) -> float:
    """How uneven the colour is: the combined standard deviation of a* and b*."""
    return float(np.hypot(lab[:, :, 1][where].std(), lab[:, :, 2][where].std()))


def ab_distance(lab: np.ndarray, where: np.ndarray, target: tuple[float, float, float]) -> float:
    """Mean a*b* distance of the pixels ``where`` to a target colour."""
    return float(np.mean(np.hypot(lab[:, :, 1][where] - target[1], lab[:, :, 2][where] - target[2])))


def band(light: np.ndarray, where: np.ndarray, fine: float, coarse: float) -> float:
    """Standard deviation of ``light`` between two scales (difference of Gaussians; ``fine`` 0 is the pixels)."""
    lo = cv2.GaussianBlur(light, (0, 0), coarse)
    hi = cv2.GaussianBlur(light, (0, 0), fine) if fine > 0 else light
    return float((hi - lo)[where].std())


def _moved_mask(mask: RoiMask, shape: tuple[int, int], scale: float, offset: tuple[int, int]) -> RoiMask:
    if mask.box.empty:
        return RoiMask.empty_at(Box(0, 0, 0, 0))
    alpha = mask.alpha
    if scale != 1.0:
        size = (max(1, round(mask.box.width * scale)), max(1, round(mask.box.height * scale)))
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)
    x0, y0 = round(mask.box.x0 * scale) + offset[0], round(mask.box.y0 * scale) + offset[1]
    box = Box(x0, y0, x0 + alpha.shape[1], y0 + alpha.shape[0])
    clip = box.clip(shape)
    if clip.empty:
        return RoiMask.empty_at(Box(0, 0, 0, 0))
    return RoiMask(clip, np.ascontiguousarray(alpha[clip.relative_to(box).slices]))


def moved_parse(
    parse: FrameParse, shape: tuple[int, int], scale: float = 1.0, offset: tuple[int, int] = (0, 0)
) -> FrameParse:
    """``parse`` for a frame of ``shape`` where the picture was scaled by ``scale`` then shifted by ``offset``.

    Masks are resized and moved with the landmarks, and clipped by the new frame (a face may end up cut by it).
    """
    faces = []
    for face in parse.faces:
        landmarks = face.landmarks.copy()
        landmarks[:, :2] = landmarks[:, :2] * scale + np.asarray(offset, np.float32)
        landmarks[:, 2] *= scale
        box = _moved_mask(
            RoiMask(face.box, np.zeros((face.box.height, face.box.width), np.uint8)), shape, scale, offset
        ).box
        masks = {name: _moved_mask(mask, shape, scale, offset) for name, mask in face.masks.items()}
        faces.append(Face(face.id, landmarks.astype(np.float32), box, masks, cut_by_edge=True))
    return FrameParse(shape, tuple(faces))
