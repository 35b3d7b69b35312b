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
        # The sheen lifts the skin toward white by at most its own lightness: a deep skin halfway to white would
        # turn grey, where a real highlighter glows on it. The skin keeps its saturation as it lightens (a*, b*
        # grow with the lift), so the glow stays warm.
        lifted = light + np.minimum(100.0 - light, light) * sheen
        keep = np.sqrt(lifted / np.maximum(light, 1.0))
        a, b = a * keep, b * keep
        target = cv2.merge((lifted, a + (shade[1] - a) * tint, b + (shade[2] - b) * tint))
        if o.shimmer <= 0:
            grid.write(target, o.intensity)
            return
        change = grid.change(target)
        # Each sparkle takes the skin part of the way to white (the room left above its cell's colour under the
        # full sheen), more where the skin is lit; the intensity scales the sheen and the sparkles. All but the
        # sparkles' own pattern is worked out per cell, so the full-resolution work is one upsampling and one product.
        sparkle = sparkle_field(grid.box, face, density=_SPARKLE_DENSITY, seed=11)
        gain = _SPARKLE_GAIN * o.shimmer
        if gain > 1.0:  # the brightest sparkles reach white, and no further
            np.minimum(sparkle * np.float32(gain), np.float32(1.0), out=sparkle)
            gain = 1.0
        room = np.float32(255.0) - grid.bgr * np.float32(255.0) - change
        glow = room * cv2.merge([(0.5 + 0.5 * lit) * np.float32(gain * o.intensity)] * 3)
        extra = cv2.multiply(grid.upsample(glow), cv2.merge((sparkle, sparkle, sparkle)))
        grid.add(change * np.float32(o.intensity), extra=extra)
