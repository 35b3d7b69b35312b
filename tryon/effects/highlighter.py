"""Highlighter: a champagne sheen on the high points of the face, strongest where light already falls."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._skin import SkinCanvas, SkinEffect
from tryon.effects.texture import sparkle_field
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Highlighter", "HighlighterOptions"]

_SHEEN = 0.5  # share of the way to white at full strength, on the best-lit skin
_TINT = 0.35  # share of the skin's a*/b* moved to the highlighter's, on the best-lit skin
_SPARKLE_DENSITY = 0.08  # share of the face-anchored texture's pixels that sparkle
_SPARKLE_GAIN = 2.0  # at shimmer 1 the brightest sparkles reach white


@dataclass(frozen=True)
class HighlighterOptions:
    """Options of :class:`Highlighter`.

    Attributes:
        color: the highlighter's tint (champagne by default).
        intensity: opacity, 0 (none) to 1.
        shimmer: fine sparkles fixed to the skin, 0 (a smooth sheen) to 1.
    """

    color: Color = Color.from_hex("#F4DDB8")
    intensity: float = field(default=0.5, metadata=option_range(0.0, 1.0))
    shimmer: float = field(default=0.0, metadata=option_range(0.0, 1.0))


class Highlighter(SkinEffect):
    """Highlighter on the cheekbones, nose bridge, cupid's bow and chin ("highlight" region).

    The skin is lightened toward white and tinted toward ``color``, more where it is already lit (so the sheen
    follows the scene's light); ``shimmer`` adds sparkles anchored to the face.

    Example:
        >>> out = Highlighter(HighlighterOptions(shimmer=0.6)).apply(frame, parse)  # doctest: +SKIP
    """

    name = "highlighter"
    Options = HighlighterOptions
    options: HighlighterOptions

    def paint(self, canvas: SkinCanvas, face: Face, parse: FrameParse) -> None:
        o = self.options
        grid = canvas.grid(face.mask("highlight"))
        if grid is None:
            return
        lab = grid.lab
        light, a, b = cv2.split(lab)
        mean = float(grid.mean(light))
        spread = float(np.sqrt(grid.mean((light - mean) ** 2))) + 1.0
        lit = np.clip(0.5 + (light - mean) / (4.0 * spread), 0.0, 1.0)
        sheen = _SHEEN * (0.25 + 0.75 * lit)
        shade = np.asarray(o.color.lab, np.float32)
        tint = (_TINT / _SHEEN) * sheen
        target = cv2.merge((light + (100.0 - light) * sheen, a + (shade[1] - a) * tint, b + (shade[2] - b) * tint))
        if o.shimmer <= 0:
            grid.write(target, o.intensity)
            return
        change = grid.change(target)
        sparkle = sparkle_field(grid.box, face, density=_SPARKLE_DENSITY, seed=11)
        sparkle *= grid.upsample(0.5 + 0.5 * lit) * np.float32(_SPARKLE_GAIN * o.shimmer)
        np.minimum(sparkle, 1.0, out=sparkle)
        # Each sparkle takes the pixel part of the way to white; the intensity scales the sheen and the sparkles.
        full = grid.upsample(change)
        room = cv2.add(grid.pixels, full)
        np.subtract(np.float32(255.0), room, out=room)
        sparkle *= np.float32(o.intensity)
        cv2.multiply(room, cv2.merge((sparkle, sparkle, sparkle)), dst=room)
        full *= np.float32(o.intensity)  # the change at full resolution, as add would bring it (bilinear is linear)
        grid.add(change * np.float32(o.intensity), extra=room, upsampled=full)
