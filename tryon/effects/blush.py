"""Blush: a soft, diffused colour on the apples of the cheeks that keeps the skin's lightness and texture."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._skin import SkinCanvas, SkinEffect, affine_map
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Blush", "BlushOptions"]

_DARKEN = 0.3  # share of the lightness gap kept when the blush is darker than the skin
_LIGHTEN = 0.1  # ... and when it is lighter (a sheer powder barely lightens deep skin)
_CHROMA_TEXTURE = 0.5  # share of the skin's own a*/b* variation kept under the colour


@dataclass(frozen=True)
class BlushOptions:
    """Options of :class:`Blush`.

    Attributes:
        color: the blush shade.
        intensity: opacity, 0 (none) to 1.
    """

    color: Color = Color.from_hex("#E0787F")
    intensity: float = field(default=0.6, metadata=option_range(0.0, 1.0))


class Blush(SkinEffect):
    """Blush on the cheeks ("cheeks" region).

    In Lab the cheeks take the shade's a*/b* (keeping half of their own variation) while their lightness barely
    moves, so shading and texture stay; the region's soft falloff diffuses it.

    Example:
        >>> out = Blush(BlushOptions(color=Color.from_hex("#D9737A"))).apply(frame, parse)  # doctest: +SKIP
    """

    name = "blush"
    Options = BlushOptions
    options: BlushOptions

    def paint(self, canvas: SkinCanvas, face: Face, parse: FrameParse) -> None:
        o = self.options
        grid = canvas.grid(face.mask("cheeks"))
        if grid is None:
            return
        lab = grid.lab
        ref = grid.mean(lab)
        shade = np.asarray(o.color.lab, np.float32)
        gap = float(shade[0] - ref[0])
        # L moves by a share of the gap; a*, b* take the shade's, keeping part of their variation.
        scale = np.array([1.0, _CHROMA_TEXTURE, _CHROMA_TEXTURE], np.float32)
        offset = np.array([gap * (_DARKEN if gap < 0 else _LIGHTEN), 0.0, 0.0], np.float32)
        offset[1:] = shade[1:] - ref[1:] * _CHROMA_TEXTURE
        target = cv2.transform(lab, affine_map(scale, offset))
        # Squaring the region's falloff (fade = its cell share) gives the airbrushed, peaked profile of real blush.
        grid.write(target, o.intensity, fade=grid.weight)
