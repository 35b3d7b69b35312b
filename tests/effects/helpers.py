"""Pixel assertions shared by the effect tests."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tryon.color import bgr_to_lab
from tryon.geometry import RoiMask


def outside_unchanged(before: np.ndarray, after: np.ndarray, masks: list[RoiMask]) -> None:
    """Asserts every pixel outside the union of the masks' non-zero pixels is byte-identical."""
    support = np.zeros(before.shape[:2], bool)
    for m in masks:
        support |= m.full(before.shape[:2]) > 0
    changed = np.any(before != after, axis=2)
    leaked = changed & ~support
    assert not leaked.any(), f"{int(leaked.sum())} pixels changed outside the effect's mask"


def lab_distance_to(frame: np.ndarray, where: np.ndarray, target_lab: tuple[float, float, float]) -> float:
    """Mean a*b* distance of the pixels ``where`` to a target colour (L is kept by design, so it is left out)."""
    lab = bgr_to_lab(frame)[where]
    return float(np.mean(np.hypot(lab[:, 1] - target_lab[1], lab[:, 2] - target_lab[2])))


def lid_distance(face, shape: tuple[int, int], chains: Sequence[Sequence[int]], mask_size: int = 3) -> np.ndarray:
    """Every pixel's distance (px) to the nearest of the landmark chains (lid margins), drawn as 1 px polylines."""
    canvas = np.full(shape, 255, np.uint8)
    for chain in chains:
        cv2.polylines(canvas, [np.round(face.points[list(chain), :2]).astype(np.int32)], False, 0, 1)
    return cv2.distanceTransform(canvas, cv2.DIST_L2, mask_size)
