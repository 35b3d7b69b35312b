"""Rough body classes (hair, neck, body skin, clothes) from the person mask, the faces and a skin colour model.

This is the landmark-only default; learned parsers (the model backends) do better where a model is installed.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.geometry import Box, RoiMask
from tryon.parsing.frame_parse import Face

__all__ = ["body_masks"]


def _skin_likelihood(lab: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Per-pixel skin likeness in [0, 1] from a Gaussian on the a/b chroma (and a loose L range) of ``samples``."""
    mu = np.median(samples, axis=0)
    cov = np.cov((samples - mu).T) + np.diag([60.0, 6.0, 6.0])
    inv = np.linalg.inv(cov)
    d = lab - mu
    d2 = np.einsum("...i,ij,...j->...", d, inv, d)
    return np.exp(-0.5 * d2 / 6.0).astype(np.float32)


def _downscale(mask: RoiMask, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """A full-frame mask drawn at the downscaled size (float32, 0..1), resizing only its box."""
    out = np.zeros(shape, np.float32)
    if mask.box.empty:
        return out
    b = mask.box
    sb = Box(int(b.x0 * scale), int(b.y0 * scale), int(np.ceil(b.x1 * scale)), int(np.ceil(b.y1 * scale))).clip(shape)
    if sb.empty:
        return out
    out[sb.slices] = cv2.resize(mask.alpha, (sb.width, sb.height), interpolation=cv2.INTER_AREA) * (1.0 / 255.0)
    return out


def body_masks(
    frame: np.ndarray, faces: tuple[Face, ...], person: np.ndarray | None, work_size: int = 256
) -> dict[str, RoiMask]:
    """Rough ``hair``, ``neck``, ``body_skin`` and ``clothes`` soft masks over the whole frame.

    Works on a downscaled copy (``work_size`` on the long side) and returns full-frame :class:`RoiMask` values.
    With no person mask, only the area around each face is labelled.
    """
    h, w = frame.shape[:2]
    scale = min(1.0, work_size / max(h, w))
    small = (
        cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        if scale < 1
        else frame
    )
    sh, sw = small.shape[:2]
    if person is not None:
        pers = cv2.resize(person, (sw, sh), interpolation=cv2.INTER_LINEAR)
    else:
        pers = np.zeros((sh, sw), np.float32)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2Lab).astype(np.float32)
    face_area = np.zeros((sh, sw), np.float32)
    head = np.zeros((sh, sw), np.float32)
    neck = np.zeros((sh, sw), np.float32)
    below = np.zeros((sh, sw), np.float32)
    skin_samples = []
    for face in faces:
        pts = face.points * scale
        fw = float(np.linalg.norm(pts[454] - pts[234]))
        fh = float(np.linalg.norm(pts[152] - pts[10]))
        if "face_skin" in face.masks:
            m = _downscale(face.masks["face_skin"], scale, (sh, sw))
            skin_samples.append(lab[m > 0.8])
            face_area = np.maximum(face_area, m)
        hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)
        poly = np.zeros((sh, sw), np.float32)
        cv2.fillPoly(poly, [np.round(hull).astype(np.int32)], 1.0)
        face_area = np.maximum(face_area, poly)
        cx = float(pts[:, 0].mean())
        top = float(pts[:, 1].min())
        chin = float(pts[152, 1])
        cv2.ellipse(head, ((cx, top + 0.35 * fh), (1.9 * fw, 1.7 * fh), 0.0), 1.0, -1)
        neck_box = Box(round(cx - 0.38 * fw), round(chin - 0.15 * fh), round(cx + 0.38 * fw), round(chin + 0.5 * fh))
        nb = neck_box.clip((sh, sw))
        neck[nb.slices] = 1.0
        below[max(0, round(chin - 0.1 * fh)) :, :] = 1.0
    if skin_samples and sum(s.shape[0] for s in skin_samples) > 32:
        skin_like = _skin_likelihood(lab, np.concatenate(skin_samples))
    else:
        skin_like = np.zeros((sh, sw), np.float32)
    person_p = pers
    not_face = 1.0 - face_area
    hair = person_p * head * not_face * (1.0 - skin_like) * (1.0 - below * (1 - head))
    hair = np.where(face_area > 0.5, 0.0, hair)
    neck_p = person_p * neck * skin_like * not_face
    body_skin = person_p * below * skin_like * not_face * (1 - neck_p) * (1 - head)
    clothes = person_p * below * (1 - skin_like) * not_face * (1 - head)
    out = {}
    for name, prob in (("hair", hair), ("neck", neck_p), ("body_skin", body_skin), ("clothes", clothes)):
        small_mask = RoiMask(Box(0, 0, sw, sh), np.clip(prob * 255 + 0.5, 0, 255).astype(np.uint8)).tight(8)
        out[name] = _upscale(small_mask, scale, (h, w))
    return out


def _upscale(mask: RoiMask, scale: float, shape: tuple[int, int]) -> RoiMask:
    """Maps a mask computed on the downscaled frame back to full resolution, resizing only its box."""
    if scale >= 1 or mask.box.empty:
        return mask
    b = mask.box.grow(1).clip((round(shape[0] * scale), round(shape[1] * scale)))
    full = Box(int(b.x0 / scale), int(b.y0 / scale), int(np.ceil(b.x1 / scale)), int(np.ceil(b.y1 / scale)))
    full = full.clip(shape)
    alpha = cv2.resize(mask.crop(b), (full.width, full.height), interpolation=cv2.INTER_LINEAR)
    return RoiMask(full, alpha).tight(8)
