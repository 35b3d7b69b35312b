"""Coloured contact lenses: recolour the irises, keeping their texture, the pupils and the eyelids' occlusion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tryon.color import Color
from tryon.effects._eyes import smoothstep
from tryon.effects.base import Effect, Patch, lab_target_shift, mix, weighted_mean
from tryon.geometry import Box
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.perception import topology

__all__ = ["Lenses", "LensesOptions", "PUPIL_SHARE"]

_BLUE = Color.from_hex("#4F86B8")  # a clear mid blue

#: The lens leaves everything within this share of the iris radius untouched (the pupil, in normal light).
PUPIL_SHARE = 0.34


@dataclass(frozen=True)
class LensesOptions:
    """Options of :class:`Lenses`.

    Attributes:
        color: the lens colour.
        intensity: opacity of the lens, 0 (none) to 1.
        brighten: how far the iris's lightness moves to the colour's (dark eyes need some to show a light lens).
        limbal_ring: darkness of a soft ring at the iris's rim, 0 (none) to 1.
    """

    color: Color = _BLUE
    intensity: float = field(default=0.7, metadata=option_range(0.0, 1.0))
    brighten: float = field(default=0.35, metadata=option_range(0.0, 1.0))
    limbal_ring: float = field(default=0.3, metadata=option_range(0.0, 1.0))


class Lenses(Effect):
    """Recolours the irises (mask ``irises``: a ring that keeps the pupil, clipped by the eyelids) in Lab.

    The iris keeps its own lightness detail (crypts, fibres), so it reads as an eye, not a disc of paint; its a*b*
    move to the lens colour. Catchlights stay white, the pupil is never touched, and an optional limbal ring
    darkens the rim as many cosmetic lenses do.

    Example:
        >>> effect = Lenses(LensesOptions(color=Color.from_hex("#6A8E3A"), limbal_ring=0.5))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "lenses"
    Options = LensesOptions
    options: LensesOptions

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        o = self.options
        patch = Patch.of(frame, face.mask("irises"))
        if patch is None:
            return
        lab = patch.quick_lab()
        light = lab[:, :, 0]
        radius = _iris_radius(face, patch.box)  # distance to the nearer iris centre, in that iris's radii
        # Not the pupil, nor past the rim, nor outside the open eye (the ring's faint tail can reach past the eye
        # masks, whose boxes are trimmed of values below 8).
        eyes = [face.masks[name] for name in ("left_eye", "right_eye") if name in face.masks]
        open_eye = np.zeros(patch.alpha.shape, bool)
        for mask in eyes:
            open_eye |= mask.crop(patch.box) > 0
        weight = patch.alpha * smoothstep(PUPIL_SHARE, PUPIL_SHARE + 0.14, radius) * open_eye
        weight *= 1.0 - smoothstep(1.0, 1.1, radius)
        core = weight * (radius < 0.85)
        if float(core.sum()) < 4:
            return
        ref = weighted_mean(lab, core)
        # Nor the white of the eye where the ring overlaps it, nor catchlights (on the cornea, above any lens).
        weight *= 1.0 - smoothstep(float(ref[0]) + 16.0, float(ref[0]) + 30.0, light)
        weight *= 1.0 - smoothstep(80.0, 92.0, light)
        new_lab = lab.copy()
        if o.limbal_ring > 0:
            rim = smoothstep(0.72, 0.98, radius)
            new_lab[:, :, 0] -= rim * (0.6 * o.limbal_ring * float(ref[0]))
        new = lab_target_shift(new_lab, ref, o.color, lightness=o.brighten, texture=1.1, chroma_texture=0.35)
        mix(patch.view, new, weight * o.intensity)

    @staticmethod
    def pupils(face: Face) -> list[tuple[np.ndarray, float]]:
        """Each iris's centre and the radius (pixels) within which the lens leaves the pupil untouched."""
        p = face.points
        out = []
        for ids in (topology.RIGHT_IRIS, topology.LEFT_IRIS):
            center = p[ids[0]]
            radius = float(np.mean(np.linalg.norm(p[list(ids[1:])] - center, axis=1)))
            out.append((center, PUPIL_SHARE * radius))
        return out


def _iris_radius(face: Face, box: Box) -> np.ndarray:
    """Per pixel of ``box``: distance to the nearer iris centre, divided by that iris's radius (float32)."""
    p = face.points
    ys = np.arange(box.y0, box.y1, dtype=np.float32)[:, None]
    xs = np.arange(box.x0, box.x1, dtype=np.float32)[None, :]
    out = np.full((box.height, box.width), np.inf, np.float32)
    for ids in (topology.RIGHT_IRIS, topology.LEFT_IRIS):
        center = p[ids[0]]
        radius = max(float(np.mean(np.linalg.norm(p[list(ids[1:])] - center, axis=1))), 1.0)
        r = np.sqrt((xs - center[0]) ** 2 + (ys - center[1]) ** 2) * (1.0 / radius)
        np.minimum(out, r, out=out)
    return out
