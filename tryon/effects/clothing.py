"""Clothing: recolour the garment, or print a pattern on it that follows its folds and shading."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._body import (
    Anchor,
    BodyEffect,
    lightness_gain,
    load_picture,
    normalized_blur,
    outlier_weight,
    refine_alpha,
    robust_spread,
    scale_deviation,
    spare_faces,
    weigh_by_likeness,
)
from tryon.effects.base import Patch, lab_shift, lab_to_bgr255
from tryon.options import option_range
from tryon.parsing.frame_parse import FrameParse

__all__ = ["Clothing", "ClothingOptions"]

DEFAULT_COLOR = Color.from_hex("#2E4A7D")
_LIGHTNESS = 0.85  # share of the gap between the garment's mean L and the colour's that is closed
_CHROMA_TEXTURE = 0.2  # share of the garment's own a*b* variation kept under the new colour
_REFINE = 0.08  # person units: radius of the guided filter that snaps the mask to hems and arms
_FOLDS = 0.02  # person units: shading finer than this (print, weave) is left out of the pattern's shading
_WARP = 0.06  # person units: how far the pattern is pushed across a fold at full shading contrast
_SHADE = (0.3, 1.3)  # the pattern's shading range: deep folds, and no glare from a bright print underneath
_LIFT = 8.0  # grey levels: keeps near-black cloth from amplifying its noise when shading a light pattern


@dataclass(frozen=True)
class ClothingOptions:
    """Options of :class:`Clothing`.

    Attributes:
        color: the garment's new colour. Without a texture, None means navy (#2E4A7D). With a texture, None keeps
            the pattern's own colours and a colour tints it (multiplied, so white parts take the colour).
        texture: a pattern to print on the garment: a built-in texture name (stripes, polka_dots, plaid,
            floral, denim) or an image file path. Patterns repeat, so a seamless tile works best.
        texture_scale: the size of one repeat of the pattern, in person units (a face width; a third of the
            garment's width when no face is seen).
        intensity: opacity of the effect, 0 (none) to 1 (full).
    """

    color: Optional[Color] = None  # Optional, not X | None: evaluated at run time on 3.9
    texture: Optional[str] = None
    texture_scale: float = field(default=1.0, metadata=option_range(0.05, 10.0))
    intensity: float = field(default=0.9, metadata=option_range(0.0, 1.0))


class Clothing(BodyEffect):
    """Recolours or retextures the clothes (``parse.masks["clothes"]``), keeping their folds and shading.

    Recolouring works in Lab: a*b* take the colour's, and the garment's mean lightness moves most of the way to
    the colour's with each pixel's deviation (folds, seams, weave) scaled to keep the same relative contrast, so a
    black shirt dyed sky blue still shows its folds. A texture is mapped in coordinates fixed to the person (their
    face's position and size), so it does not swim as they move; it is pushed across folds by the garment's
    shading gradient and multiplied by the garment's own shading (its smoothed grey level relative to its mean).

    Example:
        >>> effect = Clothing(ClothingOptions(texture="plaid", texture_scale=0.8))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP

    Raises:
        LookError: at construction, when ``texture`` names no built-in texture or an unreadable file.
    """

    name = "clothing"
    Options = ClothingOptions
    options: ClothingOptions
    needs_body = True
    body_classes = frozenset({"clothes"})

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        o = self.options
        self._texture = None if o.texture is None else load_picture(o.texture, f"{self.name}.texture", builtin=True)

    def apply_frame(self, frame: np.ndarray, parse: FrameParse) -> None:
        mask = parse.masks.get("clothes")
        if mask is None:
            return
        patch = Patch.of(frame, mask)
        if patch is None:
            return
        anchor = _anchor(parse, patch)
        gray = refine_alpha(patch, max(2, round(_REFINE * anchor.unit)))
        # Cloth has hard edges: a steeper alpha keeps the colour from glowing past hems and sleeves.
        edge = np.clip((patch.alpha - np.float32(0.15)) * np.float32(1.0 / 0.7), 0.0, 1.0)
        patch.alpha = edge * edge * (np.float32(3.0) - np.float32(2.0) * edge)
        spare_faces(patch, parse)
        lab = patch.lab()
        weigh_by_likeness(patch, lab)
        if float(cv2.sumElems(patch.alpha)[0]) < 16.0:
            return
        ref = patch.mean_lab(lab)
        dev = lab[:, :, 0] - np.float32(ref[0])
        limit = 2.0 * robust_spread(dev, patch.alpha)
        # At the mask's soft edge, pixels far from the garment's typical lightness (mixed with the background)
        # change less, so no rim of colour glows past the hem.
        fade = outlier_weight(dev, 1.5 * limit)
        fade[patch.alpha > 0.9] = 1.0
        patch.alpha = patch.alpha * fade
        if self._texture is None:
            new = self._recolor(lab, ref, dev, limit)
        else:
            typical = patch.alpha * outlier_weight(dev, limit) ** 2
            new = self._retexture(patch, gray, typical, anchor, self._texture)
        patch.write(new, self.options.intensity)

    def _recolor(self, lab: np.ndarray, ref: np.ndarray, dev: np.ndarray, limit: float) -> np.ndarray:
        """The garment in the new colour (float32 BGR, 0..255), its folds kept at the same relative contrast."""
        t = (self.options.color or DEFAULT_COLOR).lab
        dst = float(ref[0]) + (t[0] - float(ref[0])) * _LIGHTNESS
        out = lab_shift(lab, ref, t, lightness=_LIGHTNESS, texture=0.0, chroma_texture=_CHROMA_TEXTURE)
        out[:, :, 0] += scale_deviation(dev, lightness_gain(float(ref[0]), dst), limit)
        np.clip(out[:, :, 0], 0.0, 100.0, out=out[:, :, 0])
        return lab_to_bgr255(out)

    def _retexture(
        self, patch: Patch, gray: np.ndarray, typical: np.ndarray, anchor: Anchor, texture: np.ndarray
    ) -> np.ndarray:
        """The pattern mapped onto the garment and shaded by it (float32 BGR, 0..255).

        The shading is the garment's grey level, smoothed over the pixels of typical lightness (``typical``
        weighs them), relative to its mean: a print or the background beside a sleeve is averaged over rather
        than copied into the shading as a bright ghost.
        """
        o = self.options
        level = float(cv2.sumElems(gray * typical)[0] / max(cv2.sumElems(typical)[0], 1e-6))
        sigma = max(1.0, _FOLDS * anchor.unit)
        # Shading and the pattern's coordinates are smooth: compute them on a grid of cells about half a fold
        # wide and bring them to full size by bilinear interpolation (exact for the coordinates' affine part).
        h, w = gray.shape
        cell = max(1, int(sigma // 2))
        cols, rows = -(-w // cell), -(-h // cell)
        if cell > 1:
            gray_s = cv2.resize(gray, (cols, rows), interpolation=cv2.INTER_AREA)
            typical_s = cv2.resize(typical, (cols, rows), interpolation=cv2.INTER_AREA)
        else:
            gray_s, typical_s = gray, typical
        folds = normalized_blur(gray_s, typical_s, sigma / cell)
        lift = np.float32(_LIFT / 255.0)
        shade = (folds + lift) * np.float32(1.0 / (level + float(lift)))
        np.clip(shade, _SHADE[0], _SHADE[1], out=shade)
        # Folds bend the print: the pattern is pushed along the shading's gradient (its change over a fold's
        # width), as a print on cloth seen at a slant is pushed and squeezed.
        push = _WARP * sigma / cell / 8.0  # Sobel's 3x3 kernel weighs a unit slope 8
        gx = cv2.Sobel(shade, cv2.CV_32F, 1, 0, ksize=3, scale=push)
        gy = cv2.Sobel(shade, cv2.CV_32F, 0, 1, ksize=3, scale=push)
        # Cell centres, where bilinear upsampling by a whole factor puts the cells' values.
        across, down = anchor.coords(patch.box, step=cell, offset=(cell - 1) / 2.0, count=(cols, rows))
        th, tw = texture.shape[:2]
        k = 1.0 / o.texture_scale
        map_x = (across + gx) * np.float32(k * tw)  # remap's BORDER_WRAP repeats the tile
        map_y = (down + gy) * np.float32(k * th)
        if cell > 1:
            full = (cols * cell, rows * cell)
            map_x = cv2.resize(map_x, full, interpolation=cv2.INTER_LINEAR)[:h, :w]
            map_y = cv2.resize(map_y, full, interpolation=cv2.INTER_LINEAR)[:h, :w]
            shade = cv2.resize(shade, full, interpolation=cv2.INTER_LINEAR)[:h, :w]
        pattern = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        out = pattern.astype(np.float32)
        if o.color is not None:
            out *= np.asarray(o.color.bgr, np.float32) * np.float32(1.0 / 255.0)
        cv2.multiply(out, cv2.merge((shade, shade, shade)), dst=out)
        return out


def _anchor(parse: FrameParse, patch: Patch) -> Anchor:
    """Pattern coordinates fixed to the person: upright (a garment does not roll with the head), face-sized."""
    a = Anchor.of(parse, patch.box)
    return Anchor(a.origin, a.unit, 1.0, 0.0)
