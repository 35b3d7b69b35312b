"""Concealer: lifts and neutralises the darkness under the eyes, keeping the skin's texture."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._skin import SkinCanvas, SkinEffect, face_width
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Concealer", "ConcealerOptions"]

_REFERENCE = 0.06  # face widths: the skin around the under-eye, this far out, is the colour to match
_BROAD = 0.02  # face widths: the under-eye's colour changes broader than this are evened out; finer ones are kept
_LIFT = 3.0  # L units: with no shade given, the concealer is this much lighter than the skin around
_SHADE_LIGHTNESS = 0.8  # share of the lightness gap to a given shade that is closed


@dataclass(frozen=True)
class ConcealerOptions:
    """Options of :class:`Concealer`.

    Attributes:
        color: the concealer's shade; None is the skin around the eyes, a touch lighter.
        coverage: how much of the under-eye darkness and its blue or purple cast is evened out, 0 to 1.
        intensity: opacity of the whole effect, 0 (none) to 1.
    """

    color: Optional[Color] = None  # Optional, not X | None: evaluated at run time on 3.9
    coverage: float = field(default=0.7, metadata=option_range(0.0, 1.0))
    intensity: float = field(default=0.7, metadata=option_range(0.0, 1.0))


class Concealer(SkinEffect):
    """Concealer under the eyes ("under_eye" region).

    The colour to reach is taken from the skin just around the under-eye area (or from ``color``); the
    under-eye's broad colour moves toward it by ``coverage`` while its fine texture stays.

    Example:
        >>> out = Concealer(ConcealerOptions(coverage=0.8)).apply(frame, parse)  # doctest: +SKIP
    """

    name = "concealer"
    Options = ConcealerOptions
    options: ConcealerOptions

    def paint(self, canvas: SkinCanvas, face: Face, parse: FrameParse) -> None:
        o = self.options
        under = face.mask("under_eye")
        grid = canvas.grid(under, pad=round(_REFERENCE * face_width(face)), skin_weights=True)
        if grid is None:
            return
        lab = grid.lab
        inside = grid.cells_of(under)
        # The skin the under-eye should look like: the surrounding skin, spread into the under-eye area.
        around = grid.smooth(lab, _REFERENCE / 2, grid.weight * (1.0 - inside) ** 2)
        broad = grid.smooth(lab, _BROAD, grid.weight)
        if o.color is None:
            goal = around
            goal[:, :, 0] = np.maximum(around[:, :, 0] + _LIFT, broad[:, :, 0])  # a touch lighter, never darker
        else:
            shade = np.asarray(o.color.lab, np.float32)
            goal = np.empty_like(lab)
            goal[:, :, 0] = around[:, :, 0] + (shade[0] - around[:, :, 0]) * _SHADE_LIGHTNESS
            goal[:, :, 1:] = shade[1:]
        grid.write(cv2.scaleAdd(cv2.subtract(goal, broad), o.coverage, lab), o.intensity)
