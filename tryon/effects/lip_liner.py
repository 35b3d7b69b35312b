"""Lip liner: a defined line along the outer edge of the lips."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._eyes import disc_kernel, face_width
from tryon.effects.base import Effect, Patch, lab_target_shift, mix, unit, weighted_mean
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["LipLiner", "LipLinerOptions"]

_ROSEWOOD = Color.from_hex("#8E4A4A")

_WIDTH = 0.008  # face widths: the line's width at width 1 (about 2 px on a 250 px face)


@dataclass(frozen=True)
class LipLinerOptions:
    """Options of :class:`LipLiner`.

    Attributes:
        color: the liner's colour.
        intensity: opacity, 0 (none) to 1.
        width: line width relative to the default (1, about 0.8% of the face's width).
    """

    color: Color = _ROSEWOOD
    intensity: float = field(default=0.75, metadata=option_range(0.0, 1.0))
    width: float = field(default=1.0, metadata=option_range(0.25, 3.0))


class LipLiner(Effect):
    """Draws a soft-edged line just inside the outer edge of the lips (mask ``lips``), in Lab.

    The band is the lips' mask minus its eroded self; the mouth's opening counts as inside, so an open mouth gets
    no line along the inner edges of the lips. Pencil is matte: most of the lips' shine under it is kept low.

    Example:
        >>> effect = LipLiner(LipLinerOptions(color=Color.from_hex("#7A2E35"), width=1.5))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "lip_liner"
    Options = LipLinerOptions
    options: LipLinerOptions

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        o = self.options
        patch = Patch.of(frame, face.mask("lips"))
        if patch is None:
            return
        band = self.band(face, patch)
        lab = patch.quick_lab()
        ref = weighted_mean(lab, band)
        new = lab_target_shift(lab, ref, o.color, lightness=0.8, texture=0.6, chroma_texture=0.25)
        mix(patch.view, new, band * o.intensity)

    def band(self, face: Face, patch: Patch) -> np.ndarray:
        """The line's weight over ``patch`` (float32, 0..1, never above the lips' alpha)."""
        outline = patch.alpha
        interior = face.masks.get("mouth_interior")
        if interior is not None and not interior.is_empty:
            # The partition's soft masks share their border: the sum, not the maximum, is whole across it.
            outline = np.minimum(outline + unit(interior.crop(patch.box)), 1.0)
        r = max(1, round(0.5 * _WIDTH * self.options.width * face_width(face)))
        inner = cv2.erode(outline, disc_kernel(r), borderType=cv2.BORDER_CONSTANT, borderValue=0)
        inner = cv2.GaussianBlur(inner, (0, 0), max(0.5, 0.5 * r))
        return patch.alpha * np.clip(1.0 - inner, 0.0, 1.0)
