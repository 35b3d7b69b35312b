"""Teeth whitening: less yellow and a little brighter, keeping each tooth's texture and shading."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.effects._eyes import smoothstep
from tryon.effects.base import Effect, Patch, mix, weighted_mean
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["TeethWhitening", "TeethWhiteningOptions"]

_WHITE_B = 3.0  # b* that whitened enamel settles at: a trace of warmth, never blue
_YELLOW_CUT = 0.75  # share of the yellow (b* above _WHITE_B) removed at full intensity
_RED_CUT = 0.4  # share of a* removed (stains, the lips' red cast)
_LIFT = 0.3  # share of the way the teeth's mean lightness moves to _WHITE_L
_WHITE_L = 95.0


@dataclass(frozen=True)
class TeethWhiteningOptions:
    """Options of :class:`TeethWhitening`.

    Attributes:
        intensity: how far the teeth move to white, 0 (none) to 1.
    """

    intensity: float = field(default=0.6, metadata=option_range(0.0, 1.0))


class TeethWhitening(Effect):
    """Whitens the teeth (mask ``teeth``) in Lab: lowers b* (yellow), trims a*, lifts L by a constant.

    The same L lift for every pixel keeps the gaps between teeth, their edges and their shading; colour that is
    too red to be enamel (gums, tongue, lips) is left alone even where the mask reaches it.

    Example:
        >>> out = TeethWhitening(TeethWhiteningOptions(intensity=0.8)).apply(frame, parse)  # doctest: +SKIP
    """

    name = "teeth_whitening"
    Options = TeethWhiteningOptions
    options: TeethWhiteningOptions

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        patch = Patch.of(frame, face.mask("teeth"))
        if patch is None:
            return
        lab = patch.quick_lab()
        a, b = lab[:, :, 1], lab[:, :, 2]
        # The mask is a soft likelihood (a tooth in shadow may sit at one half): a half-whitened tooth looks
        # stained, so anything the mask is fairly sure of is whitened fully. Enamel is near neutral in a*; gums and
        # tongue are clearly red and stay as they are.
        weight = smoothstep(0.05, 0.5, patch.alpha) * (1.0 - smoothstep(10.0, 18.0, a))
        if float(weight.sum()) < 1.0:
            return
        ref = weighted_mean(lab, weight)
        out = lab.copy()
        out[:, :, 0] = np.minimum(lab[:, :, 0] + _LIFT * max(_WHITE_L - float(ref[0]), 0.0), 100.0)
        out[:, :, 1] = a * (1.0 - _RED_CUT)
        out[:, :, 2] = np.where(b > _WHITE_B, b - (b - _WHITE_B) * _YELLOW_CUT, b)
        mix(patch.view, cv2.cvtColor(out, cv2.COLOR_Lab2BGR) * 255.0, weight * self.options.intensity)
