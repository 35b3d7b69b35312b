"""Contour: a cool brown shade that deepens the cheek hollows, temples and jaw like a multiply layer."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._skin import SkinCanvas, SkinEffect, affine_map
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Contour", "ContourOptions"]

_HUE = 0.5  # share of the skin's a*/b* moved to the shade's at full strength (the rest stays the skin's own)


@dataclass(frozen=True)
class ContourOptions:
    """Options of :class:`Contour`.

    Attributes:
        color: the contour shade, a cool (greyish) brown; its lightness sets how deep the shadow is, as in a
            multiply blend (white would change nothing).
        intensity: opacity, 0 (none) to 1.
    """

    color: Color = Color.from_hex("#A57F6E")
    intensity: float = field(default=0.5, metadata=option_range(0.0, 1.0))


class Contour(SkinEffect):
    """Contour under the cheekbones, at the temples and along the jaw ("contour" region).

    Lightness is multiplied by the shade's (L * L_shade / 100, the Lab form of a multiply blend), so the shadow
    is as deep, relatively, on every skin tone, and the skin's a*/b* turn partly toward the shade's cooler hue.
    Each pixel is scaled, so texture stays in proportion.

    Example:
        >>> out = Contour(ContourOptions(intensity=0.6)).apply(frame, parse)  # doctest: +SKIP
    """

    name = "contour"
    Options = ContourOptions
    options: ContourOptions

    def paint(self, canvas: SkinCanvas, face: Face, parse: FrameParse) -> None:
        o = self.options
        grid = canvas.grid(face.mask("contour"))
        if grid is None:
            return
        lab = grid.lab
        shade = np.asarray(o.color.lab, np.float32)
        # L * L_shade / 100; a*, b* a share _HUE of the way to the shade's.
        scale = np.array([shade[0] / 100.0, 1.0 - _HUE, 1.0 - _HUE], np.float32)
        target = cv2.transform(lab, affine_map(scale, np.array([0.0, shade[1] * _HUE, shade[2] * _HUE], np.float32)))
        grid.write(target, o.intensity, multiply=True)
