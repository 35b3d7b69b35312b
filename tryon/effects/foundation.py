"""Foundation: moves the skin toward a shade and evens out its blotches and redness, keeping pores and lighting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._skin import SkinCanvas, SkinEffect, affine_map
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Foundation", "FoundationOptions"]

_LIGHTING = 0.06  # face widths: colour changes broader than this are lighting and shading, kept
_FEATHER = 0.015  # face widths: the foundation fades out over about twice this at the mask's edge
_SHADE_LIGHTNESS = 0.85  # share of the lightness gap to the shade that is closed (the rest follows the skin)


@dataclass(frozen=True)
class FoundationOptions:
    """Options of :class:`Foundation`.

    Attributes:
        color: the foundation's shade; None matches the wearer's own mean skin colour (it only evens out).
        coverage: sheer (0) to full (1): how much of the skin's blotchiness and redness is evened out toward the
            shade. Pores, fine texture and the face's lighting are kept at any coverage.
        intensity: opacity of the whole effect, 0 (none) to 1.
    """

    color: Optional[Color] = None  # Optional, not X | None: evaluated at run time on 3.9
    coverage: float = field(default=0.5, metadata=option_range(0.0, 1.0))
    intensity: float = field(default=0.7, metadata=option_range(0.0, 1.0))


class Foundation(SkinEffect):
    """Foundation over the facial skin ("face" region: skin and nose, never eyes, brows or lips).

    The skin's colour is split, on a coarse grid, into the face's lighting (broad changes, kept), blotches
    (mid-sized changes, flattened by ``coverage``) and the fine texture below the grid (pores, always kept). The
    mean colour moves to the shade; the edge fades softly at the hairline and jaw (and around eyes and lips).

    Example:
        >>> effect = Foundation(FoundationOptions(color=Color.from_hex("#C69C7E"), coverage=0.8))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "foundation"
    Options = FoundationOptions
    options: FoundationOptions

    def paint(self, canvas: SkinCanvas, face: Face, parse: FrameParse) -> None:
        o = self.options
        grid = canvas.grid(face.mask("face"))
        if grid is None:
            return
        lab = grid.lab
        ref = grid.mean(lab)
        lighting = grid.smooth(lab, _LIGHTING, grid.weight)
        c = o.coverage
        keep_lighting = np.array([1.0, 1.0 - 0.5 * c, 1.0 - 0.5 * c], np.float32)
        keep_blotches = np.array([1.0 - 0.7 * c, 1.0 - 0.9 * c, 1.0 - 0.9 * c], np.float32)
        base = ref.astype(np.float32)
        if o.color is not None:
            shade = np.asarray(o.color.lab, np.float32)
            base = np.array([ref[0] + (shade[0] - ref[0]) * _SHADE_LIGHTNESS, shade[1], shade[2]], np.float32)
        # base + (lighting - ref) * keep_lighting + (lab - lighting) * keep_blotches, as two per-channel affine maps
        # (cv2.transform: numpy broadcasting over the channel axis is slow).
        target = cv2.transform(lighting, affine_map(keep_lighting - keep_blotches, base - ref * keep_lighting))
        target += cv2.transform(lab, affine_map(keep_blotches))
        # Fade out over the last stretch of skin before the mask's edge (hairline, jaw, and around the eyes and
        # lips): a smoothstep of the blurred mask, so no line shows where a shade meets bare skin.
        edge = np.clip((grid.smooth(grid.weight, _FEATHER) - 0.3) / 0.55, 0.0, 1.0)
        grid.write(target, o.intensity, fade=edge * edge * (3.0 - 2.0 * edge))
