"""Eyeliner: upper and lower lines along the lashes, tapered toward the outer corner, with an optional wing."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from tryon.color import Color
from tryon.effects._eyes import (
    EyeGeometry,
    band_polygon,
    draw_mask,
    eye_geometry,
    face_width,
    outerness,
    patch_over,
    smoothstep,
)
from tryon.effects.base import Effect, lab_target_shift, mix, weighted_mean
from tryon.geometry import RoiMask
from tryon.options import option_range
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = ["Eyeliner", "EyelinerOptions"]

_INK = Color.from_hex("#141012")  # a soft black

# Sizes in face widths (cheek to cheek).
_TAPER = 0.011  # how far the upper line rises above the lash line at the outer corner, at thickness 1
_LOWER_TAPER = 0.005  # the same below the lower lash line
_FEATHER = 0.0025  # the drawn parts' soft edge
_LOWER_OPACITY = 0.75  # the lower line is lighter than the upper one

# The wing's lower edge follows the lower lid from this margin point (counted from the outer corner) out.
_SLOPE_FROM = 2
# The wing's upper edge joins the upper line at this margin point (counted from the outer corner).
_WING_BASE = 1


@dataclass(frozen=True)
class EyelinerOptions:
    """Options of :class:`Eyeliner`.

    Attributes:
        color: the liner's colour.
        intensity: opacity, 0 (none) to 1 (opaque).
        thickness: line weight relative to the default (1); the line grows toward the outer corner.
        upper: line the upper lashes.
        lower: line the lower lashes (a lighter line).
        wing: add a flick at the outer corners.
        wing_length: the wing's length, in eye widths (corner to corner).
        wing_angle: degrees added to the lower lid's outer slope (positive lifts the wing toward the brow).
    """

    color: Color = _INK
    intensity: float = field(default=0.9, metadata=option_range(0.0, 1.0))
    thickness: float = field(default=1.0, metadata=option_range(0.25, 3.0))
    upper: bool = True
    lower: bool = False
    wing: bool = False
    wing_length: float = field(default=0.3, metadata=option_range(0.05, 0.8))
    wing_angle: float = field(default=10.0, metadata=option_range(-20.0, 45.0))


class Eyeliner(Effect):
    """Lines the lashes (masks ``upper_lash_line`` and ``lower_lash_line``) and draws an optional wing.

    The lines come from the parsed lash-line masks; the thickening toward the outer corner and the wing are drawn
    from landmarks into a small anti-aliased mask of their own (see :meth:`strokes`).

    Example:
        >>> effect = Eyeliner(EyelinerOptions(wing=True, wing_length=0.35))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "eyeliner"
    Options = EyelinerOptions
    options: EyelinerOptions

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        o = self.options
        upper, lower = self.strokes(face, frame.shape)
        layers = []  # (parsed lash line or None, drawn part, opacity, share left at the inner corner)
        if o.upper or o.wing:
            layers.append((face.mask("upper_lash_line") if o.upper else None, upper, 1.0, 0.45))
        if o.lower:
            layers.append((face.mask("lower_lash_line"), lower, _LOWER_OPACITY, 0.2))
        masks = [m for line, drawn, _, _ in layers for m in (line if line is not None else drawn, drawn)]
        found = patch_over(frame, masks)
        if found is None:
            return
        patch, alphas = found
        # Lines start fine at the inner corner (the lower one fades further) and are full from a third of the way.
        along = outerness(eye_geometry(face), patch.box)
        weight = np.zeros_like(patch.alpha)
        for k, (line, _, opacity, inner) in enumerate(layers):
            stroke = alphas[2 * k + 1]
            if line is not None:
                core = alphas[2 * k] if o.thickness >= 1.0 else alphas[2 * k] ** (1.0 / o.thickness)
                stroke = np.maximum(core, stroke)
            fade = inner + (1.0 - inner) * smoothstep(0.0, 0.35, along)
            np.maximum(weight, stroke * fade * opacity, out=weight)
        lab = patch.quick_lab()
        ref = weighted_mean(lab, weight)
        new = lab_target_shift(lab, ref, o.color, lightness=0.92, texture=0.3, chroma_texture=0.2)
        mix(patch.view, new, weight * o.intensity)

    def strokes(self, face: Face, frame_shape: tuple[int, ...]) -> tuple[RoiMask, RoiMask]:
        """The parts drawn from landmarks, for both eyes: (upper taper and wing, lower taper).

        The upper taper rises from almost nothing at the inner corner to its full height at the outer corner,
        above the lash line; the wing continues the lower lid's outer slope past the corner. A part that the
        options turn off is left out (an empty mask when nothing is left).
        """
        o = self.options
        fw = face_width(face)
        height = _TAPER * fw * o.thickness
        upper_polys, lower_polys = [], []
        for eye in eye_geometry(face):
            if o.upper:
                upper_polys.append(_taper(eye.upper, eye.up, height))
            if o.wing:
                upper_polys.append(self._wing(eye, height))
            if o.lower:
                lower_polys.append(_taper(eye.lower, -eye.up, _LOWER_TAPER * fw * o.thickness))
        sigma = max(0.5, _FEATHER * fw)
        return draw_mask(upper_polys, frame_shape, sigma), draw_mask(lower_polys, frame_shape, sigma)

    def _wing(self, eye: EyeGeometry, height: float) -> np.ndarray:
        """A tapered flick from the outer corner, along the lower lid's outer slope lifted by ``wing_angle``."""
        o = self.options
        # Two-vectors as plain floats: numpy's per-call cost dwarfs this arithmetic.
        cx, cy = (float(v) for v in eye.outer)
        ox, oy = (float(v) for v in eye.outward)
        ux, uy = (float(v) for v in eye.up)
        lx, ly = (float(v) for v in eye.lower[_SLOPE_FROM])
        sx, sy = cx - lx, cy - ly
        # The slope's angle above the outward direction, plus the requested lift, kept between flat and steep.
        angle = math.atan2(sx * ux + sy * uy, sx * ox + sy * oy) + math.radians(o.wing_angle)
        angle = min(max(angle, math.radians(-5.0)), math.radians(70.0))
        reach = o.wing_length * eye.width
        dx, dy = math.cos(angle) * ox + math.sin(angle) * ux, math.cos(angle) * oy + math.sin(angle) * uy
        tip = (cx + dx * reach, cy + dy * reach)
        bx, by = (float(v) for v in eye.upper[_WING_BASE])
        base = (bx + ux * height, by + uy * height)
        # The upper edge bows slightly inward (a quadratic curve from the tip back to the line).
        control = (0.5 * (tip[0] + base[0]) - ux * 0.15 * height, 0.5 * (tip[1] + base[1]) - uy * 0.15 * height)
        w_tip, w_control, w_base = _BEZIER  # a matrix product would go through BLAS, slow for 8 x 3
        curve = w_tip * np.array(tip, np.float32) + w_control * np.array(control, np.float32)
        curve += w_base * np.array(base, np.float32)
        return np.concatenate([eye.outer[None], curve, eye.upper[1:_WING_BASE][::-1]]).astype(np.float32)


#: The wing's upper edge: 8 points of a quadratic Bezier curve, as the weights (8x1 each) of its 3 control points.
_T = np.linspace(0.0, 1.0, 8, dtype=np.float32)[:, None]
_BEZIER = ((1 - _T) ** 2, 2 * (1 - _T) * _T, _T * _T)


@lru_cache(maxsize=8)
def _taper_profile(points: int) -> np.ndarray:
    """The taper's height along a line of ``points`` (outer corner first), as a share of its full height."""
    s = np.linspace(1.0, 0.0, points, dtype=np.float32)
    profile: np.ndarray = 0.15 + 0.85 * s**1.5
    profile.flags.writeable = False
    return profile


def _taper(line: np.ndarray, normal: np.ndarray, height: float) -> np.ndarray:
    """A band along ``line`` (outer corner first) on the ``normal`` side, full ``height`` at the outer end."""
    return band_polygon(line, normal, _taper_profile(len(line)) * np.float32(height))
