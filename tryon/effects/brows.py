"""Brows: tint the brow hairs toward a colour, and fill the sparse areas within the brow's shape."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._eyes import face_width, layer_over, smoothstep
from tryon.effects.base import Effect, Patch, lab_shift, lab_to_bgr255, mix, weighted_mean
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Brows", "BrowsOptions"]

_TAUPE = Color.from_hex("#5A4334")  # a soft medium brown

_SKIN_PAD = 0.02  # face widths of skin around the brows, to measure the skin's colour
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
    smoothed version of the brow's shape, as a brow powder does.

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
        patch = Patch.of(frame, face.mask("brows"), pad=max(2, round(_SKIN_PAD * fw)))
        if patch is None:
            return
        alpha = patch.alpha
        lab = patch.quick_lab()
        light = lab[:, :, 0]
        skin_w = (alpha < 0.05).astype(np.float32)
        hair_w = (alpha > 0.6).astype(np.float32)
        if float(skin_w.sum()) < 16 or float(hair_w.sum()) < 16:
            return
        skin = weighted_mean(lab, skin_w)
        hair = weighted_mean(lab, hair_w)
        # 0 on skin as light as the surrounding skin, 1 on hair as dark as the brow's mean or darker.
        contrast = max(float(skin[0] - hair[0]), 6.0)
        hairs = smoothstep(0.15, 0.85, (skin[0] - light) * (1.0 / contrast))
        new = lab_shift(lab, hair, o.color, lightness=0.55, texture=1.0, chroma_texture=0.4)
        weight = alpha * hairs * o.intensity
        if o.fill > 0:
            # Fill within the smoothed shape, on what is not hair already; zero where the brow mask is zero.
            shape = cv2.GaussianBlur(alpha, (0, 0), max(1.0, _FILL_BLUR * fw))
            shape = np.minimum(shape * 1.4, 1.0) * smoothstep(0.0, 0.15, alpha)
            powder = lab_shift(lab, skin, o.color, lightness=0.45, texture=0.9, chroma_texture=0.5)
            w_fill = shape * (1.0 - hairs) * (0.6 * o.fill * o.intensity)
            new, weight = layer_over(new, weight, powder, w_fill)  # the powder over the tint, mixed in Lab
        mix(patch.view, lab_to_bgr255(new), weight)
