"""Skin smoothing that keeps pores and edges: an edge-preserving filter on the skin's fine grid."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.effects._skin import SkinCanvas, SkinEffect
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Smoothing", "SmoothingOptions"]

_RADIUS = 0.035  # face widths: the guided filter's window radius (blemishes and unevenness up to ~2x this)
_EPS = 0.05**2  # variance below which a window counts as flat skin (in 0..1 colour units); edges are above


@dataclass(frozen=True)
class SmoothingOptions:
    """Options of :class:`Smoothing`.

    Attributes:
        intensity: how much of the blemishes and unevenness is removed, 0 (none) to 1.
        detail: how much of the fine texture (pores, fine lines below the blemish scale) is kept, 0 (airbrushed)
            to 1 (all of it).
    """

    intensity: float = field(default=0.6, metadata=option_range(0.0, 1.0))
    detail: float = field(default=0.8, metadata=option_range(0.0, 1.0))


class Smoothing(SkinEffect):
    """Evens out the facial skin ("face" region) without blurring pores, eyes, nostrils or lips.

    The skin is split in two: a grid of cells about 1/128 of the face wide, averaged over skin only, and the
    fine texture below it. A guided filter on the grid removes blemishes and uneven patches where the skin is
    flat and leaves strong edges (nostrils, folds, the mask's borders) alone; ``detail`` < 1 also fades the fine
    texture, again only where the grid is flat.

    Example:
        >>> out = Smoothing(SmoothingOptions(intensity=0.7, detail=0.9)).apply(frame, parse)  # doctest: +SKIP
    """

    name = "smoothing"
    Options = SmoothingOptions
    options: SmoothingOptions

    def paint(self, canvas: SkinCanvas, face: Face, parse: FrameParse) -> None:
        o = self.options
        grid = canvas.grid(face.mask("face"), fine=True)
        if grid is None:
            return
        src = grid.bgr
        gain, offset = _guided_coefficients(src, grid.sigma(_RADIUS), _EPS)
        # The smoothed colour is src * gain + offset, so the change is src * (gain - 1) + offset (times the
        # intensity, in 0..255 units): one factor per cell on its colour, plus the offset.
        amount = np.float32(255.0 * o.intensity)
        factor = (gain - np.float32(1.0)) * amount
        k = None
        if o.detail < 1.0:
            # Also fade the texture below the grid (pixel minus its cell), on flat skin well inside the mask:
            # pixel + change + k * (pixel - cell), with k < 0, is pixel * (1 + k) + (change - k * cell). Weighted
            # by alpha: pixel * (1 + alpha * k) + alpha * (change - k * cell). The gain is the edge map: 0 on flat
            # skin, toward 1 on edges.
            flat = np.clip(1.0 - 2.0 * gain, 0.0, 1.0) * np.clip(grid.weight * 2.0 - 1.0, 0.0, 1.0)
            k = flat * np.float32((o.detail - 1.0) * o.intensity)
            factor -= k * np.float32(255.0)
        change = cv2.multiply(src, cv2.merge((factor, factor, factor)))
        cv2.scaleAdd(offset, float(amount), change, dst=change)
        grid.add(change, gain=k)


def _guided_coefficients(src: np.ndarray, radius: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """An edge-preserving smoothing of a BGR image, self-guided by its luminance: ``src * gain + offset``.

    Each window is fitted as ``q = a * p + (1 - a) * mean(p)`` with ``a = var / (var + eps)`` of the luminance
    (He et al.'s guided filter, self-guided, with the luminance's ``a`` shared by the three channels), so flat
    windows are averaged and windows across an edge keep it. As in the "fast guided filter" (He and Sun, 2015)
    the coefficients are computed at half size and brought back to full size, where they apply to the input itself,
    so edges stay as sharp as the input's.

    Args:
        src: float32 BGR image (0..1).
        radius: the window's radius in ``src`` pixels.
        eps: the luminance variance below which a window counts as flat.

    Returns:
        The per-pixel ``gain`` (one channel; also the edge map: 0 on flat skin, toward 1 on edges) and ``offset``
        (BGR) at ``src``'s size.
    """
    rows, cols = src.shape[:2]
    half = (max(1, cols // 2), max(1, rows // 2))
    size = (2 * max(1, round(radius / 2)) + 1,) * 2
    small = cv2.resize(src, half, interpolation=cv2.INTER_AREA)
    guide = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    mean_p = cv2.blur(small, size, borderType=cv2.BORDER_REFLECT)
    mean_i = cv2.cvtColor(mean_p, cv2.COLOR_BGR2GRAY)  # the luminance is linear in BGR: its mean is the mean's
    var = cv2.blur(guide * guide, size, borderType=cv2.BORDER_REFLECT) - mean_i * mean_i
    np.maximum(var, 0.0, out=var)
    a = var / (var + np.float32(eps))
    b = cv2.multiply(mean_p, cv2.cvtColor(1.0 - a, cv2.COLOR_GRAY2BGR))
    coeffs = cv2.blur(cv2.merge((*cv2.split(b), a)), size, borderType=cv2.BORDER_REFLECT)
    coeffs = cv2.resize(coeffs, (cols, rows), interpolation=cv2.INTER_LINEAR)
    *offset, gain = cv2.split(coeffs)
    return gain, cv2.merge(offset)
