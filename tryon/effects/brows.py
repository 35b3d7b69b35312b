"""Brows: tint the brow hairs toward a colour, and fill the sparse areas within the brow's shape."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._eyes import face_width, layer_over, smoothstep
from tryon.effects.base import Effect, Patch, lab_shift, lab_to_bgr255, mix, unit, weighted_mean
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.parsing.landmarks import BROW_SKIN_RING, brow_hairs

__all__ = ["Brows", "BrowsOptions"]

_TAUPE = Color.from_hex("#5A4334")  # a soft medium brown

_FILL_BLUR = 0.012  # face widths: how far the fill smooths the brow's shape


@dataclass(frozen=True)
class BrowsOptions:
    """Options of :class:`Brows`.

    Attributes:
        color: the brow shade.
        intensity: how far the hairs move to the shade, 0 (none) to 1.
        fill: how much the sparse areas between hairs are filled in, like a brow powder, 0 (none) to 1.
    """

    color: Color = _TAUPE
    intensity: float = field(default=0.6, metadata=option_range(0.0, 1.0))
    fill: float = field(default=0.4, metadata=option_range(0.0, 1.0))


class Brows(Effect):
    """Tints the brow hairs (mask ``brows``) and softly fills the gaps between them, in Lab.

    The hairs are told from the skin between them by how much darker than the surrounding skin they are, so a
    sparse brow gets coloured hairs over its own skin; ``fill`` then lays a softer shade over that skin, within a
    smoothed map of where the hairs are dense (the brow's own shape, not the mask's box), as a brow powder does.

    Example:
        >>> effect = Brows(BrowsOptions(color=Color.from_hex("#3B2A20"), fill=0.6))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "brows"
    Options = BrowsOptions
    options: BrowsOptions

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        o = self.options
        fw = face_width(face)
        patch = Patch.of(frame, face.mask("brows"), pad=max(2, round(BROW_SKIN_RING * fw)))
        if patch is None:
            return
        alpha = patch.alpha
        hairs8 = brow_hairs(cv2.cvtColor(patch.view, cv2.COLOR_BGR2GRAY), face.mask("brows").crop(patch.box))
        if hairs8 is None:
            return
        hairs = unit(hairs8)
        lab = patch.quick_lab()
        inside = alpha > 0.5
        ring = alpha < 0.05
        skin = weighted_mean(lab, ring.astype(np.float32))
        hair = weighted_mean(lab, hairs * alpha)
        new = lab_shift(lab, hair, o.color, lightness=0.55, texture=1.0, chroma_texture=0.4)
        weight = alpha * hairs * o.intensity
        if o.fill > 0:
            # Powder fills the gaps where the hairs grow: the brow's own shape is where they are dense (smoothed
            # over a few hairs), so the fill tapers with the brow and fades at its soft head, instead of filling
            # the mask's box. Zero where the brow mask is zero.
            density = cv2.GaussianBlur(hairs * alpha, (0, 0), max(1.0, _FILL_BLUR * fw))
            peak = float(cv2.minMaxLoc(density, mask=inside.view(np.uint8))[1])  # blurred: its maximum is steady
            if peak > 1e-3:
                shape = smoothstep(0.25, 0.75, density * (1.0 / peak)) * smoothstep(0.0, 0.3, alpha)
                powder = lab_shift(lab, skin, o.color, lightness=0.45, texture=0.9, chroma_texture=0.5)
                w_fill = shape * (1.0 - hairs) * (0.6 * o.fill * o.intensity)
                new, weight = layer_over(new, weight, powder, w_fill)  # the powder over the tint, mixed in Lab
        mix(patch.view, lab_to_bgr255(new), weight)
