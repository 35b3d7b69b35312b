"""Lipstick: a shade and a finish (matte, satin, gloss, shimmer, metallic), optionally two-tone or ombre."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects.base import Effect, Patch, lab_target_shift, lerp, unit
from tryon.effects.texture import sparkle_field
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Lipstick", "LipstickOptions", "Finish", "TwoTone"]


class Finish(str, enum.Enum):
    """How the lips reflect light."""

    MATTE = "matte"
    SATIN = "satin"
    GLOSS = "gloss"
    SHIMMER = "shimmer"
    METALLIC = "metallic"


class TwoTone(str, enum.Enum):
    """How ``color2`` is laid out when given."""

    OMBRE = "ombre"  # color2 at the centre of the lips, fading to color at the edge
    UPPER_LOWER = "upper_lower"  # color on the upper lip, color2 on the lower


# Per finish: how much of the original L texture is kept, how far L moves to the shade, highlight gain.
_FINISH = {
    Finish.MATTE: (0.55, 0.85, 0.0),
    Finish.SATIN: (0.9, 0.75, 0.25),
    Finish.GLOSS: (1.0, 0.7, 1.0),
    Finish.SHIMMER: (0.95, 0.72, 0.45),
    Finish.METALLIC: (1.35, 0.6, 0.7),
}


@dataclass(frozen=True)
class LipstickOptions:
    """Options of :class:`Lipstick`.

    Attributes:
        color: the shade.
        intensity: opacity of the colour, 0 (none) to 1 (full coverage).
        finish: matte removes the lips' shine, gloss adds a highlight where the lips already catch light.
        gloss: strength of the gloss/satin/metallic highlight.
        color2: a second shade for two-tone or ombre lips.
        two_tone: how ``color2`` is laid out.
        ombre_width: share of the lips' depth over which the two shades fade (ombre).
    """

    color: Color = Color.from_hex("#B0123F")
    intensity: float = field(default=0.8, metadata=option_range(0.0, 1.0))
    finish: Finish = Finish.SATIN
    gloss: float = field(default=0.6, metadata=option_range(0.0, 1.0))
    color2: Optional[Color] = None
    two_tone: TwoTone = TwoTone.OMBRE
    ombre_width: float = field(default=0.5, metadata=option_range(0.05, 1.0))


class Lipstick(Effect):
    """Colours the lips in Lab, keeping their texture and lighting, then applies the finish.

    Example:
        >>> effect = Lipstick(LipstickOptions(color=Color.from_hex("#9E1B32"), finish=Finish.GLOSS))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "lipstick"
    Options = LipstickOptions
    options: LipstickOptions

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        o = self.options
        patch = Patch.of(frame, face.mask("lips"))
        if patch is None:
            return
        lab = patch.quick_lab()
        ref = patch.mean_lab(lab)
        texture, lightness, gain = _FINISH[o.finish]
        if o.finish is Finish.MATTE:
            # Matte: flatten the shine (positive L deviations) before colouring.
            dev = lab[:, :, 0] - ref[0]
            lab[:, :, 0] = ref[0] + np.where(dev > 0, dev * 0.35, dev)
        new = lab_target_shift(lab, ref, o.color, lightness=lightness, texture=texture)
        if o.color2 is not None:
            new2 = lab_target_shift(lab, ref, o.color2, lightness=lightness, texture=texture)
            t = self._second_weight(face, patch)
            new = lerp(new, new2, t)
        if gain > 0 and o.gloss > 0:
            new = self._highlight(lab, ref, patch, new, gain * o.gloss)
        if o.finish is Finish.SHIMMER:
            sparkle = sparkle_field(patch.box, face, density=0.05, seed=7)
            new = lerp(new, 255.0, 0.55 * sparkle)
        patch.write(new, o.intensity)

    def _highlight(
        self, lab: np.ndarray, ref: np.ndarray, patch: Patch, new: np.ndarray, strength: float
    ) -> np.ndarray:
        """A specular highlight where the lips already catch the light (it moves with the scene's lighting)."""
        light = lab[:, :, 0]
        inside = patch.alpha > 0.5
        if inside.sum() < 16:
            return new
        lo, hi = _percentiles(light[inside], (75, 99))
        spec = np.clip((light - lo) / max(hi - lo, 1.0), 0.0, 1.0)
        spec *= np.sqrt(spec)  # spec ** 1.5
        size = max(1.0, 0.012 * patch.box.width)
        spec = cv2.GaussianBlur(spec.astype(np.float32), (0, 0), size) * patch.alpha
        if self.options.finish is Finish.METALLIC:
            tint = np.array(self.options.color.bgr, np.float32)
            target = 255.0 * 0.55 + tint * 0.45
        else:
            target = np.full(3, 255.0, np.float32)
        return lerp(new, target, np.clip(strength * spec, 0.0, 0.9))

    def _second_weight(self, face: Face, patch: Patch) -> np.ndarray:
        """Where ``color2`` applies: the lower lip, or the depth of the lips for ombre (0 at edge, 1 inside)."""
        if self.options.two_tone is TwoTone.UPPER_LOWER:
            return unit(face.mask("lower_lip").crop(patch.box))
        binary = (patch.alpha > 0.5).astype(np.uint8)
        dist = cv2.distanceTransform(binary, cv2.DIST_L2, 3)
        depth = float(dist.max()) or 1.0
        t = np.clip(dist / (depth * self.options.ombre_width), 0.0, 1.0)
        return cv2.GaussianBlur(t * t * (3 - 2 * t), (0, 0), max(1.0, 0.3 * depth))


def _percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, qs)`` (linear interpolation) from one partial sort, without its overhead."""
    n = values.size
    positions = [q / 100.0 * (n - 1) for q in qs]
    lows = [int(p) for p in positions]
    picked = np.partition(values, sorted({i for lo in lows for i in (lo, min(lo + 1, n - 1))}))
    return [
        float(picked[lo]) + (float(picked[min(lo + 1, n - 1)]) - float(picked[lo])) * (p - lo)
        for p, lo in zip(positions, lows)
    ]
