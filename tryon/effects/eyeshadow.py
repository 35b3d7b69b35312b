"""Eyeshadow: a lid shade and a deeper crease shade, matte, shimmer or metallic, fading from the lash line up."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._eyes import (
    eye_geometry,
    face_width,
    lash_map,
    layer_over,
    outerness,
    patch_over,
    smoothstep,
)
from tryon.effects.base import Effect, lab_shift, lab_to_bgr255, lerp, mix, weighted_mean
from tryon.effects.texture import sparkle_field
from tryon.geometry import Box
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Eyeshadow", "EyeshadowOptions", "ShadowFinish"]


class ShadowFinish(str, enum.Enum):
    """How the shadow reflects light."""

    MATTE = "matte"  # powder: no sheen, slightly softer texture
    SHIMMER = "shimmer"  # keeps the lid's shine and adds fine sparkles
    METALLIC = "metallic"  # a foil sheen tinted by the shade where the lid catches light, and sparkles


# Per finish: L texture kept, share of the way L moves to the shade, sheen gain, sparkle gain.
_FINISH = {
    ShadowFinish.MATTE: (0.9, 0.7, 0.0, 0.0),
    ShadowFinish.SHIMMER: (1.0, 0.65, 0.35, 0.8),
    ShadowFinish.METALLIC: (1.2, 0.6, 0.9, 0.5),
}

_LID = Color.from_hex("#A8786A")  # a soft rose-bronze
_LID_HEIGHT = 0.075  # face widths from the lash line to the crease, about
_CREASE = Color.from_hex("#6B4438")  # a warm deep brown


@dataclass(frozen=True)
class EyeshadowOptions:
    """Options of :class:`Eyeshadow`.

    Attributes:
        lid_color: the shade on the mobile lid, strongest at the lash line.
        crease_color: a deeper shade along the crease, strongest toward the outer corner; None for none.
        intensity: opacity of the lid shade, 0 (none) to 1 (full).
        crease_intensity: opacity of the crease shade, as a share of ``intensity``.
        finish: matte, shimmer or metallic.
        shimmer: strength of the sparkle and sheen of the shimmer and metallic finishes (a matte finish has none).
        fade: how much the lid shade fades from the lash line up to the crease, 0 (even) to 1 (gone at the top).
    """

    lid_color: Color = _LID
    crease_color: Optional[Color] = _CREASE
    intensity: float = field(default=0.6, metadata=option_range(0.0, 1.0))
    crease_intensity: float = field(default=0.8, metadata=option_range(0.0, 1.0))
    finish: ShadowFinish = ShadowFinish.MATTE
    shimmer: float = field(default=0.5, metadata=option_range(0.0, 1.0))
    fade: float = field(default=0.5, metadata=option_range(0.0, 1.0))


class Eyeshadow(Effect):
    """Shades the lids (mask ``lids``) and the crease (mask ``crease``) in Lab, keeping the skin's texture.

    The lid shade is densest at the lash line and fades upward; the crease shade deepens toward the outer
    corner. Lashes crossing the lid keep their own colour. Sparkles are fixed to the face, so they move with it.

    Example:
        >>> effect = Eyeshadow(EyeshadowOptions(lid_color=Color.from_hex("#B08D57"), finish=ShadowFinish.SHIMMER))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "eyeshadow"
    Options = EyeshadowOptions
    options: EyeshadowOptions

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        o = self.options
        crease_color = o.crease_color if o.crease_intensity > 0 else None
        masks = [face.mask("lids"), face.mask("crease")] if crease_color is not None else [face.mask("lids")]
        found = patch_over(frame, masks)
        if found is None:
            return
        patch, alphas = found
        lab = patch.quick_lab()
        rise, outer = self._layout(face, patch.box)
        # Lashes crossing the lid keep their darkness (powder does not lighten them) and do not count in its colour;
        # they and the lid's fold take most of the shade's hue, so a brown fold does not show as a line of skin colour
        # through a grey shadow. Only near the lashes: higher up, a thin dark line is the fold, and takes the shade.
        lashes = lash_map(lab[:, :, 0], patch.alpha, face_width(face)) * (1.0 - smoothstep(0.5, 0.8, rise))
        ref = weighted_mean(lab, patch.alpha * (1.0 - lashes))
        texture, lightness, sheen_gain, sparkle_gain = _FINISH[o.finish]
        w_lid = alphas[0] * (1.0 - o.fade * 0.8 * smoothstep(0.0, 1.0, rise)) * o.intensity
        new = lab_shift(lab, ref, o.lid_color, lightness=lightness, texture=texture)
        weight = w_lid
        if crease_color is not None:
            # A power below one widens the band's soft shoulders: the crease shade looks blended, not drawn.
            w_crease = np.sqrt(alphas[1]) * (0.6 + 0.4 * outer) * (o.intensity * o.crease_intensity)
            crease = lab_shift(lab, ref, crease_color, lightness=lightness, texture=texture)
            new, weight = layer_over(new, weight, crease, w_crease)  # the shades blend in Lab, where powders mix
        keep_lashes = 1.0 - lashes
        half = 1.0 - 0.25 * lashes
        new = cv2.add(lab, cv2.multiply(cv2.subtract(new, lab), cv2.merge((keep_lashes, half, half))))
        new = lab_to_bgr255(new)
        if o.shimmer > 0 and sheen_gain > 0:
            tint = o.lid_color if o.finish is ShadowFinish.METALLIC else None
            new = self._sheen(lab, new, patch.alpha, sheen_gain * o.shimmer, tint)
        if o.shimmer > 0 and sparkle_gain > 0:
            # Glints are opaque flecks: they show wherever the shadow is, at their own strength.
            sparkle = sparkle_field(patch.box, face, density=0.05, seed=11)
            glint = np.minimum(sparkle * (sparkle_gain * o.shimmer), 1.0) * np.minimum(2.0 * weight, 1.0)
            new, weight = layer_over(new, weight, 255.0, glint * keep_lashes)
        mix(patch.view, new, weight)

    @staticmethod
    def _layout(face: Face, box: Box) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel: height above the lash line in lid heights (0 at the lashes), and nearness to the outer corner.

        Both come from the upper lid margins: a distance transform from the drawn lash lines, and a projection on
        each eye's corner-to-corner axis.
        """
        lash = np.full((box.height, box.width), 255, np.uint8)
        eyes = eye_geometry(face)
        for eye in eyes:
            pts = np.round((eye.upper - (box.x0, box.y0)) * 16).astype(np.int32)
            cv2.polylines(lash, [pts], False, (0,), 1, cv2.LINE_8, shift=4)
        dist = cv2.distanceTransform(lash, cv2.DIST_L2, 3)
        return dist * (1.0 / (_LID_HEIGHT * face_width(face))), outerness(eyes, box)

    @staticmethod
    def _sheen(lab: np.ndarray, new: np.ndarray, alpha: np.ndarray, strength: float, tint: Color | None) -> np.ndarray:
        """A soft highlight where the lid already catches the light, so it follows the scene's lighting.

        A metallic sheen takes the shade's colour (``tint``); a shimmer sheen is white.
        """
        light = lab[:, :, 0]
        inside = (alpha > 0.4).view(np.uint8)
        if cv2.countNonZero(inside) < 16:
            return new
        means, stds = cv2.meanStdDev(np.ascontiguousarray(light), mask=inside)
        mean, std = float(means[0, 0]), max(float(stds[0, 0]), 2.0)
        spec = smoothstep(mean, mean + 1.8 * std, light) * alpha
        target = 255.0 if tint is None else 255.0 * 0.5 + np.array(tint.bgr, np.float32) * 0.5
        return lerp(new, target, np.clip(strength * 0.6 * spec, 0.0, 0.8))
