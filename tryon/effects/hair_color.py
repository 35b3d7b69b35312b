"""Hair colour: a solid shade, an ombre from roots to tips, or highlights that follow the hair's flow."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Optional

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._body import (
    Anchor,
    BodyEffect,
    lightness_gain,
    refine_alpha,
    robust_spread,
    smooth,
    spare_beards,
    spare_faces,
    weigh_against_surroundings,
    weigh_by_likeness,
)
from tryon.effects.base import Patch, lab_to_bgr255, lerp, weighted_mean
from tryon.options import option_range
from tryon.parsing.frame_parse import FrameParse

__all__ = ["HairColor", "HairColorOptions", "HairMode"]

_LIGHTNESS = 0.9  # share of the gap between the hair's mean L and the shade's that is closed
_CHROMA_TEXTURE = 0.35  # share of the hair's own a*b* variation kept over the new shade
_SHADING = 0.06  # face widths: the local mean L around which strands and shine are measured
_REFINE = 0.06  # face widths: radius of the guided filter that snaps the mask's edge to the strands
_NOISE = 256  # side of the streak noise tile
_STRETCH = 1.5  # streak noise: cells are this many times longer down the head than across
_SECTIONS = 0.7  # weight of the coarse noise that groups streaks into sections
_FLOW_SCALE = 0.08  # face widths: the scale over which the strands' direction is measured
# Hair darker than _DARK_HAIR (mean L) has its broad sheen counted as shine, fully from _DARK_SPAN darker.
_DARK_HAIR, _DARK_SPAN, _DARK_SHEEN = 40.0, 20.0, 0.5
_CEILING = 96.0  # L: the highest the hair's usual lightness range may reach once scaled


class HairMode(str, enum.Enum):
    """How the colour is laid out on the hair."""

    SOLID = "solid"  # all the hair
    OMBRE = "ombre"  # color at the roots fading to color2 at the tips (natural roots when color2 is unset)
    HIGHLIGHTS = "highlights"  # thin streaks of color along the strands, over color2 (or the natural hair)


@dataclass(frozen=True)
class HairColorOptions:
    """Options of :class:`HairColor`.

    Attributes:
        color: the shade (the streaks' shade in ``highlights``; the roots' in ``ombre`` with ``color2``).
        mode: solid, ombre or highlights.
        intensity: opacity of the colour, 0 (none) to 1 (full).
        color2: the second shade: the tips' in ``ombre`` (with ``color`` at the roots), the base under the
            streaks in ``highlights``. Unset, the natural hair takes its place (natural roots, natural base), and
            ``ombre`` puts ``color`` at the tips.
        ombre_start: share of the hair's length, from the roots, that keeps the root shade before the fade.
        highlight_amount: share of the hair covered by streaks.
        highlight_width: the streaks' width in face widths.
        shine: how much of the hair's own shine (its specular highlights) stays as bright as it was: 1 keeps
            it, 0 tones it with the rest of the hair.
    """

    color: Color = Color.from_hex("#8A4B2A")
    mode: HairMode = HairMode.SOLID
    intensity: float = field(default=0.85, metadata=option_range(0.0, 1.0))
    color2: Optional[Color] = None  # Optional, not X | None: evaluated at run time on 3.9
    ombre_start: float = field(default=0.35, metadata=option_range(0.0, 0.9))
    highlight_amount: float = field(default=0.3, metadata=option_range(0.02, 0.8))
    highlight_width: float = field(default=0.03, metadata=option_range(0.005, 0.2))
    shine: float = field(default=0.7, metadata=option_range(0.0, 1.0))


@dataclass
class _Hair:
    """The hair patch split for recolouring: shading plus strands (scaled with the colour), shine (kept as light)."""

    patch: Patch
    lab: np.ndarray
    mean: np.ndarray  # weighted mean Lab
    body: np.ndarray  # L without the shine, float32
    specular: np.ndarray  # the shine (L above the strands' local brightness) as the luminance it adds, float32
    anchor: Anchor
    dev: np.ndarray  # body - mean L, float32
    core: np.ndarray  # dev clipped to the outlier limit: the part scaled with the shade's contrast, float32
    limit: float  # that outlier limit, L units

    def recolor(self, target: Color, shine: float) -> np.ndarray:
        """The hair in Lab moved to ``target``: relative contrast kept, a*b* set with part of their variation."""
        t = np.asarray(target.lab, np.float64)
        lm = float(self.mean[0])
        dst = lm + (float(t[0]) - lm) * _LIGHTNESS
        gain = lightness_gain(lm, dst)
        # The hair's usual range of lightness (its strands and shading, up to the outlier limit) scaled by the gain
        # must still fit under white: pushed into the ceiling it would flatten into blotches (black hair taken to
        # platinum).
        gain = min(gain, max(1.0, (_CEILING - dst) / self.limit))
        # Deviations within the outlier limit scale with the gain (relative contrast kept); beyond it (mixed
        # edge pixels, the sheen of dark hair) the excess is kept unscaled, or shrunk with the room left above the
        # hair's lightness when it is lightened (the sheen of black hair would otherwise reach white on platinum).
        excess = min(1.0, (100.0 - dst) / max(100.0 - lm, 1.0))
        diffuse = cv2.scaleAdd(self.core, gain - excess, cv2.multiply(self.dev, excess))
        cv2.add(diffuse, dst, dst=diffuse)
        # Shine is light reflected off the surface, not through the pigment: the same light (times ``shine``; the
        # rest of it follows the shade's contrast) is added to the new colour, in linear light. Added in L, the
        # shine of black hair would glare flat white on platinum; in light, it lifts a light shade only a little.
        light = _lightness(cv2.scaleAdd(self.specular, shine + (1.0 - shine) * gain, _luminance(diffuse)))
        glint = cv2.subtract(light, diffuse)
        light = _soft_ceiling(light)
        # Shading scales a* and b* as it scales L + 16 (both follow the cube root of the light): strands in
        # shadow are less saturated, strands in the light more ...
        k = 1.0 / (dst + 16.0)
        chroma = cv2.addWeighted(diffuse, k, diffuse, 0.0, 16.0 * k)
        cv2.min(chroma, 1.25, dst=chroma)
        cv2.max(chroma, 0.3, dst=chroma)
        # ... and shine is whitish: it dilutes the colour (mildly: a strongly diluted glint reads as grey in the hair).
        cv2.divide(chroma, cv2.addWeighted(glint, 1.0 / 30.0, glint, 0.0, 1.0), dst=chroma)
        # a* and b*: the shade's plus part of the hair's own variation, times the chroma; L passes through the
        # product as the constant 1 times the new lightness.
        m = self.mean
        shift = np.array(
            [
                [0.0, 0.0, 0.0, 1.0],
                [0.0, _CHROMA_TEXTURE, 0.0, t[1] - m[1] * _CHROMA_TEXTURE],
                [0.0, 0.0, _CHROMA_TEXTURE, t[2] - m[2] * _CHROMA_TEXTURE],
            ],
            np.float32,
        )
        out = cv2.transform(self.lab, shift)
        cv2.multiply(out, cv2.merge((light, chroma, chroma)), dst=out)
        return out


class HairColor(BodyEffect):
    """Recolours the hair (``parse.masks["hair"]``) in Lab, black or platinum alike, keeping strands and shine.

    The hair's mean lightness moves most of the way to the shade's and each pixel's deviation from it (strands,
    shading) is scaled to keep the same *relative* contrast, so black hair lifted to copper shows its strands
    instead of a flat wash, and platinum taken to brunette keeps its depth. Specular shine is kept as the light it
    reflects (added in linear light, so black hair's sheen does not glare white on platinum), and the scaled range
    is kept under white. a*b* take the shade's, with a fraction of the hair's own variation, scaled with each
    strand's shading.

    The mask is trusted, with four guards: its edge is refined against the frame with a guided filter (strands at
    the edge coloured, the wall between them not); its unsure pixels are faded where their colour and texture are
    likelier around the mask than in its core (a wall behind a short-haired head, an ear, caught by a coarse mask
    would glow); pixels unlike the hair's core colour are faded; and the faces' skin below the brows is never dyed.

    Example:
        >>> effect = HairColor(HairColorOptions(color=Color.from_hex("#B5651D"), mode=HairMode.OMBRE))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP
    """

    name = "hair_color"
    Options = HairColorOptions
    options: HairColorOptions
    needs_body = True
    body_classes = frozenset({"hair"})

    def apply_frame(self, frame: np.ndarray, parse: FrameParse) -> None:
        o = self.options
        mask = parse.masks.get("hair")
        if mask is None:
            return
        patch = Patch.of(frame, mask)
        if patch is None:
            return
        hair = _split(patch, parse, Anchor.of(parse, patch.box))
        if hair is None:
            return
        if o.mode is HairMode.SOLID:
            new = hair.recolor(o.color, o.shine)
        elif o.mode is HairMode.OMBRE:
            roots = hair.lab if o.color2 is None else hair.recolor(o.color, o.shine)
            tips = hair.recolor(o.color if o.color2 is None else o.color2, o.shine)
            new = _blend(roots, tips, self._along(hair, parse))
        else:
            base = hair.lab if o.color2 is None else hair.recolor(o.color2, o.shine)
            new = _blend(base, hair.recolor(o.color, o.shine), self._streaks(hair))
        patch.write(lab_to_bgr255(new), o.intensity)

    def _along(self, hair: _Hair, parse: FrameParse) -> np.ndarray:
        """The ombre's weight of the tip shade: 0 from the roots to ``ombre_start``, easing to 1 at the tips.

        Length is measured down the face's axis: from the hairline (the forehead's top landmark) when there is a
        face, else from the mask's top, to the lowest hair.
        """
        patch = hair.patch
        _, down = hair.anchor.coords(patch.box)
        # a sparse grid is enough for percentiles of a smooth coordinate
        grid, alpha = down[::2, ::2], patch.alpha[::2, ::2]
        inside = alpha > 0.5
        if not inside.any():
            inside = alpha > 0
        lo, hi = np.percentile(grid[inside], [1.0, 99.0]) if inside.any() else np.percentile(down, [1.0, 99.0])
        if parse.faces:
            face = max(parse.faces, key=lambda f: f.box.width * f.box.height)
            top = face.points[10]
            a = hair.anchor
            rel = top - a.origin
            lo = max(lo, float((rel[1] * a.cos - rel[0] * a.sin) / a.unit))
        span = max(float(hi - lo), 1e-3)
        start = lo + self.options.ombre_start * span
        t = np.clip((down - np.float32(start)) / np.float32(max(hi - start, 1e-3)), 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    def _streaks(self, hair: _Hair) -> np.ndarray:
        """Where the highlights go (float32 0..1): thin streaks along the hair's flow, fixed on the head.

        Noise fixed in the anchor's coordinates (so it neither flickers nor swims), stretched down the head, is
        smeared along the strands' direction (the structure tensor of the hair's lightness) into long thin
        streaks; the share ``highlight_amount`` with the highest values becomes the highlights.
        """
        o = self.options
        patch = hair.patch
        a = hair.anchor
        step = max(1.0, o.highlight_width * a.unit / 2.0)  # the working grid: about two cells per streak width
        across, down = a.coords(patch.box, step)
        rows, cols = across.shape
        k = np.float32(1.0 / o.highlight_width)  # noise cells per face width: one per streak width
        noise = cv2.remap(
            _noise_tile(),
            (across * k) % _NOISE,
            (down * (k / _STRETCH)) % _NOISE,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_WRAP,
        )
        light = cv2.resize(hair.body, (cols, rows), interpolation=cv2.INTER_AREA)
        flow_x, flow_y = _flow(light, a, sigma=_FLOW_SCALE * a.unit / step)
        gx, gy = np.meshgrid(np.arange(cols, dtype=np.float32), np.arange(rows, dtype=np.float32))
        for reach in (1.0, 2.0, 4.0, 8.0, 16.0):  # a line integral along the flow, about 60 cells long
            dx, dy = flow_x * np.float32(reach), flow_y * np.float32(reach)
            ahead = cv2.remap(noise, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            behind = cv2.remap(noise, gx - dx, gy - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            noise = (ahead + behind + noise * np.float32(2.0)) * np.float32(0.25)
        # Keep the streak-wide detail only: the line integral leaves broad swirls that would read as blotches.
        noise = noise - cv2.GaussianBlur(noise, (0, 0), 2.5)
        # Sections of hair with more streaks and sections with fewer, as a colourist paints them: coarser noise,
        # long down the head.
        sections = cv2.remap(
            _noise_tile(),
            (across * (k / 8.0)) % _NOISE,
            (down * (k / 24.0)) % _NOISE,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_WRAP,
        )
        z = _standardized(noise) + _standardized(sections) * np.float32(_SECTIONS)
        cut = NormalDist(0.0, float(np.hypot(1.0, _SECTIONS))).inv_cdf(1.0 - o.highlight_amount)
        s = np.clip((z - np.float32(cut)) * np.float32(1.2) + np.float32(0.5), 0.0, 1.0)
        s = s * s * (3.0 - 2.0 * s) * np.float32(0.9)
        h, w = patch.alpha.shape
        s = cv2.resize(s, (w, h), interpolation=cv2.INTER_LINEAR)
        # Within a streak, the strands that already catch more light take more colour: the streak is made of
        # the hair's own strands, not painted over them.
        fine = hair.body - cv2.GaussianBlur(hair.body, (0, 0), 1.5)
        spread = max(float(cv2.meanStdDev(fine, mask=(patch.alpha > 0.5).view(np.uint8))[1][0, 0]), 1e-3)
        strands = np.clip(fine * np.float32(0.35 / spread) + np.float32(0.65), 0.0, 1.0)
        return s * strands


def _split(patch: Patch, parse: FrameParse, anchor: Anchor) -> _Hair | None:
    """Refines the patch's alpha against the frame and splits the hair's lightness into body and shine."""
    refine_alpha(patch, max(2, round(_REFINE * anchor.unit)))
    spare_faces(patch, parse, fringe=True)
    spare_beards(patch, parse)
    weigh_against_surroundings(patch)
    weight_sum = float(cv2.sumElems(patch.alpha)[0])
    if weight_sum < 16.0:
        return None
    lab = patch.lab()
    weigh_by_likeness(patch, lab, core_chroma=True)
    weight = patch.alpha
    weight_sum = max(float(cv2.sumElems(weight)[0]), 1e-6)
    mean = weighted_mean(lab, weight)  # OpenCV's sums: a BLAS product here wakes OpenBLAS's spinning threads
    light = cv2.extractChannel(lab, 0)
    detail = cv2.subtract(light, smooth(light, max(1.0, _SHADING * anchor.unit)))
    spread = float(np.sqrt(cv2.sumElems(cv2.multiply(cv2.multiply(detail, weight), detail))[0] / weight_sum))
    shine = cv2.subtract(detail, spread, dst=detail)
    cv2.max(shine, 0.0, dst=shine)
    dark = _DARK_SHEEN * float(np.clip((_DARK_HAIR - mean[0]) / _DARK_SPAN, 0.0, 1.0))
    if dark > 0:
        # On dark hair almost all the light seen is shine: its broad sheen bands are light off the surface, not a
        # lighter pigment, so they are shine too (above the hair's base level), not shading to scale with the shade.
        base = _percentile(light, weight, 40.0)
        broad = cv2.max(cv2.subtract(light, base), 0.0)
        shine = cv2.addWeighted(shine, 1.0 - dark, cv2.max(broad, shine), dark, 0.0)
    body = cv2.subtract(light, shine, dst=light)
    dev = cv2.subtract(body, float(mean[0]))
    limit = 2.5 * robust_spread(dev, weight)
    core = cv2.min(dev, limit)
    cv2.max(core, -limit, dst=core)
    specular = cv2.subtract(_luminance(cv2.add(body, shine)), _luminance(body))
    return _Hair(patch, lab, mean, body, specular, anchor, dev, core, limit)


def _flow(light: np.ndarray, anchor: Anchor, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The strands' direction per cell (unit vectors, pointing down the head), from the structure tensor.

    Strands run across the lightness gradient; where the structure is weak the direction falls back to down the
    face's axis.
    """
    gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), sigma)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), sigma)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), sigma)
    # The gradient's dominant orientation is the eigenvector (jxx - jyy, 2 jxy) at half its angle; strands are
    # perpendicular to it.
    theta = 0.5 * np.arctan2(2.0 * jxy, jxx - jyy)
    fx, fy = -np.sin(theta), np.cos(theta)
    coherence = np.sqrt((jxx - jyy) ** 2 + 4.0 * jxy * jxy) / (jxx + jyy + 1e-3)
    down_x, down_y = -anchor.sin, anchor.cos
    flip = np.where(fx * down_x + fy * down_y < 0, -1.0, 1.0)
    # Hair mostly falls: a direction far from down needs clearer structure to be believed (it may be the
    # texture of a collar behind the hair).
    align = np.abs(fx * down_x + fy * down_y)
    w = np.clip(coherence * 2.0 - 0.2 - 0.6 * (1.0 - align), 0.0, 1.0)
    vx = fx * flip * w + down_x * (1.0 - w)
    vy = fy * flip * w + down_y * (1.0 - w)
    norm = np.sqrt(vx * vx + vy * vy) + 1e-6
    return (vx / norm).astype(np.float32), (vy / norm).astype(np.float32)


@lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    """A fixed, seamless tile of smooth noise (one feature per cell) for the streaks."""
    rng = np.random.default_rng(11)
    tile = rng.standard_normal((_NOISE, _NOISE)).astype(np.float32)
    pad = 4  # blur a wrapped copy so the tile stays seamless
    tile = cv2.GaussianBlur(np.pad(tile, pad, mode="wrap"), (0, 0), 0.7)[pad:-pad, pad:-pad].copy()
    tile.setflags(write=False)
    return tile


def _standardized(x: np.ndarray) -> np.ndarray:
    """``x`` shifted and scaled to mean 0 and standard deviation 1."""
    mean, std = cv2.meanStdDev(x)
    return (x - np.float32(mean[0, 0])) * np.float32(1.0 / max(float(std[0, 0]), 1e-6))


def _blend(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``a + (b - a) * t`` for HxWx3 ``a``, ``b`` and HxW ``t``."""
    return lerp(a, b, t)


def _percentile(values: np.ndarray, weight: np.ndarray, q: float) -> float:
    """The ``q``-th percentile of ``values`` where ``weight`` > 0.5 (on a sparse grid: enough for a level)."""
    step = max(1, int(np.sqrt(values.size / 20000.0)))
    samples = values[::step, ::step][weight[::step, ::step] > 0.5]
    return float(np.percentile(samples if samples.size >= 16 else values, q))


def _luminance(light: np.ndarray) -> np.ndarray:
    """CIE L* (float32) to relative luminance Y, 0..1 (the cube law; the linear toe below L* 8 is left out)."""
    y = cv2.max(cv2.addWeighted(light, 1.0 / 116.0, light, 0.0, 16.0 / 116.0), 0.0)
    return cv2.pow(y, 3.0)


def _lightness(y: np.ndarray) -> np.ndarray:
    """Relative luminance Y (float32) back to CIE L*, as :func:`_luminance` maps it."""
    root = cv2.pow(cv2.max(y, 0.0), 1.0 / 3.0)
    return cv2.addWeighted(root, 116.0, root, 0.0, -16.0)


def _soft_ceiling(light: np.ndarray, knee: float = 88.0) -> np.ndarray:
    """Clamps L to [0, 100] with a soft shoulder above ``knee``, so lifted shine does not clip flat; in place."""
    room = 100.0 - knee
    # min(L, knee) + room * (1 - exp(-max(L - knee, 0) / room)): L below the knee, the shoulder above it
    over = cv2.subtract(light, knee)
    cv2.max(over, 0.0, dst=over)
    cv2.exp(np.multiply(over, np.float32(-1.0 / room), out=over), dst=over)
    cv2.min(light, knee, dst=light)
    cv2.scaleAdd(over, -room, light, dst=light)
    cv2.add(light, room, dst=light)
    cv2.max(light, 0.0, dst=light)
    return light
