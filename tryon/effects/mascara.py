"""Mascara: darker, slightly fuller lashes along the lash lines (the upper ones more than the lower)."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._eyes import (
    band_polygon,
    disc_kernel,
    draw_mask,
    eye_geometry,
    face_width,
    lash_map,
    patch_over,
)
from tryon.effects.base import Effect, lab_target_shift, mix, weighted_mean
from tryon.geometry import RoiMask
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Mascara", "MascaraOptions"]

_BLACK = Color.from_hex("#0C0A0B")

# Sizes in face widths.
_UPPER_REACH = 0.05  # how far the upper lashes reach from the lid margin at the outer corner
_LOWER_REACH = 0.02  # the same for the lower lashes
_ROOT_DARKEN = 0.35  # the lash line itself darkens this much at full intensity (denser roots)
# The zone's reach along the margin (a share of the reach above): the point past the outer corner, then the margin
# from the outer corner (longest lashes) to the inner one.
_ZONE_PROFILE = np.concatenate([[0.6], 0.45 + 0.55 * np.linspace(1.0, 0.0, 9)]).astype(np.float32)


@dataclass(frozen=True)
class MascaraOptions:
    """Options of :class:`Mascara`.

    Attributes:
        color: the mascara's colour (black, brown, or a bold shade).
        intensity: how far lashes move to the colour, 0 (none) to 1.
        volume: how much each lash thickens, 0 (not at all) to 1 (about a pixel each side).
        lower: strength on the lower lashes, as a share of the upper lashes'.
    """

    color: Color = _BLACK
    intensity: float = field(default=0.8, metadata=option_range(0.0, 1.0))
    volume: float = field(default=0.5, metadata=option_range(0.0, 1.0))
    lower: float = field(default=0.4, metadata=option_range(0.0, 1.0))


class Mascara(Effect):
    """Darkens and thickens the lashes: dark, thin strokes in a zone along each lash line.

    Lashes are found as pixels darker than their surroundings (a morphological black-hat) in the zone that lashes
    can reach from the lid margin (see :meth:`zone`), and near the parsed ``upper_lash_line`` and
    ``lower_lash_line`` masks. Skin between lashes is left as it is.

    Example:
        >>> effect = Mascara(MascaraOptions(volume=0.8))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "mascara"
    Options = MascaraOptions
    options: MascaraOptions

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        o = self.options
        upper_zone, lower_zone = self.zone(face, frame.shape)
        masks = [face.mask("upper_lash_line"), upper_zone]
        if o.lower > 0:
            masks += [face.mask("lower_lash_line"), lower_zone]
        found = patch_over(frame, masks)
        if found is None:
            return
        patch, alphas = found
        upper = np.maximum(alphas[0], alphas[1])
        reach = upper if o.lower <= 0 else np.maximum(upper, o.lower * np.maximum(alphas[2], alphas[3]))
        roots = alphas[0] if o.lower <= 0 else np.maximum(alphas[0], o.lower * alphas[2])
        lab = patch.quick_lab()
        lashes = self._lashes(lab[:, :, 0], reach, face_width(face))
        weight = np.maximum(reach * lashes, _ROOT_DARKEN * roots) * o.intensity
        ref = weighted_mean(lab, weight)
        new = lab_target_shift(lab, ref, o.color, lightness=0.85, texture=0.5, chroma_texture=0.3)
        mix(patch.view, new, weight)

    def _lashes(self, light: np.ndarray, zone: np.ndarray, fw: float) -> np.ndarray:
        """How lash-like each pixel is (0..1), thickened by ``volume``."""
        lashes = lash_map(light, zone, fw)
        if self.options.volume > 0:
            grow = max(1, round(0.004 * fw))
            thick = cv2.dilate(lashes, disc_kernel(grow))
            lashes += (thick - lashes) * (0.7 * self.options.volume)
        return lashes

    def zone(self, face: Face, frame_shape: tuple[int, ...]) -> tuple[RoiMask, RoiMask]:
        """Where the upper and the lower lashes can be: bands from each lid margin outward, longest at the corner.

        The upper band rises toward the brow and runs a little past the outer corner; the lower one hangs toward
        the cheek. Both eyes are in each mask.
        """
        fw = face_width(face)
        upper_polys, lower_polys = [], []
        for eye in eye_geometry(face):
            # Extend the margin a little past the outer corner, where the longest lashes fan out.
            beyond = eye.outer + eye.outward * np.float32(0.08 * eye.width)
            upper = np.concatenate([beyond[None], eye.upper])
            lower = np.concatenate([beyond[None], eye.lower])
            upper_polys.append(band_polygon(upper, eye.up, _ZONE_PROFILE * np.float32(_UPPER_REACH * fw)))
            lower_polys.append(band_polygon(lower, -eye.up, _ZONE_PROFILE * np.float32(_LOWER_REACH * fw)))
        sigma = max(0.5, 0.006 * fw)
        return draw_mask(upper_polys, frame_shape, sigma), draw_mask(lower_polys, frame_shape, sigma)
