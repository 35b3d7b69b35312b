"""Background: blur it, or replace it with an image or a colour, behind a clean soft edge around the person."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Optional

import cv2
import numpy as np

from tryon.color import Color
from tryon.effects._body import BodyEffect, guided_coefficients, load_picture, normalized_blur
from tryon.effects.base import unit
from tryon.errors import LookError
from tryon.geometry import Box
from tryon.image import to_alpha8
from tryon.options import option_range
from tryon.parsing.frame_parse import FrameParse

__all__ = ["Background", "BackgroundMode", "BackgroundOptions"]

_WORK = 640  # pixels on the long side where the person's edge is refined
_STRIP = 40  # rows per strip (divides 480, 720 and 1080) when blending the edge band into the frame
_GAP = 48  # columns: edge runs closer than this are blended as one
_COLOUR_SIGMA = 3.0  # pixels of the quarter-size copy: reach of the local person and background colours


class BackgroundMode(str, enum.Enum):
    """What replaces the background."""

    BLUR = "blur"  # the background itself, blurred (portrait mode)
    IMAGE = "image"  # a picture, scaled to cover the frame
    COLOR = "color"  # a plain colour


@dataclass(frozen=True)
class BackgroundOptions:
    """Options of :class:`Background`.

    Attributes:
        mode: blur, image or color.
        blur: strength of the blur, 0 (a slight softening) to 1 (a blur about 5% of the frame wide).
        image: the picture for ``mode: image``: a file path (required in that mode).
        color: the colour for ``mode: color``.
        edge: softness of the person's edge, 0 (crisp) to 1 (soft).
        intensity: opacity of the new background, 0 (none) to 1 (full).
    """

    mode: BackgroundMode = BackgroundMode.BLUR
    blur: float = field(default=0.5, metadata=option_range(0.0, 1.0))
    image: Optional[str] = None  # Optional, not X | None: evaluated at run time on 3.9
    color: Color = Color.from_hex("#E8E4DC")
    edge: float = field(default=0.4, metadata=option_range(0.0, 1.0))
    intensity: float = field(default=1.0, metadata=option_range(0.0, 1.0))


class Background(BodyEffect):
    """Blurs or replaces the background (everything outside ``parse.person``).

    The person mask's edge is refined on a reduced copy of the frame with a guided filter, so hair strands and
    shoulders keep their outline, and the refined alpha is composited at full resolution. Only the band where the
    alpha is fractional is blended; the background elsewhere is copied and the person's pixels are never touched.
    The blur is a normalised convolution that leaves the person out, at a resolution matched to its strength, so
    the subject's colours do not bleed into the blurred background as a halo, and a strong blur costs no more
    than a light one.

    Example:
        >>> effect = Background(BackgroundOptions(mode=BackgroundMode.BLUR, blur=0.7))
        >>> out = effect.apply(frame, parse)  # doctest: +SKIP

    Raises:
        LookError: at construction, for ``mode: image`` without an image or with an unreadable one.
    """

    name = "background"
    Options = BackgroundOptions
    options: BackgroundOptions
    needs_person = True  # the person mask alone: no hair or clothes classes

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        o = self.options
        self._image: np.ndarray | None = None
        if o.mode is BackgroundMode.IMAGE:
            if o.image is None:
                raise LookError(f"{self.name}.image: required with mode 'image' (an image file path)")
            self._image = load_picture(o.image, f"{self.name}.image")
        elif o.image is not None:
            raise LookError(f"{self.name}.image: only used with mode 'image', got mode {o.mode.value!r}")
        self._cover: tuple[tuple[int, int], np.ndarray] | None = None

    def apply_frame(self, frame: np.ndarray, parse: FrameParse) -> None:
        person = parse.person
        if person is None:
            return
        h, w = frame.shape[:2]
        full = person.alpha if (person.box.width, person.box.height) == (w, h) else person.crop(Box(0, 0, w, h))
        scale = min(1.0, _WORK / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = _shrink(frame, size)
        quarter = cv2.resize(small, (max(1, size[0] // 2), max(1, size[1] // 2)), interpolation=cv2.INTER_AREA)
        quarter = quarter.astype(np.float32)
        alpha, behind = self._edge(small, quarter, _shrink(full, size))
        if self.options.intensity < 1.0:
            alpha = 1.0 - (1.0 - alpha) * np.float32(self.options.intensity)
        back = self._background(frame, quarter, alpha)
        # Replacing the background, the old one shows through the edge's mixed pixels as a halo: subtract it
        # (its colour there estimated from the background beside the person). A blurred background hides it.
        old = None if self.options.mode is BackgroundMode.BLUR else _grow(behind, (w, h))
        _composite(frame, back, alpha, old)

    def _edge(self, small: np.ndarray, quarter: np.ndarray, person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The person's alpha on the reduced frame (float32 0..1) and the background's colour behind its edge.

        Two refinements of the mask's edge band, on a copy half as large again: a colour model (each pixel's
        position between the person's and the background's local colours, where they differ) corrects a mask
        that strays where the luminance does not change; then a guided filter snaps the result to the frame's
        edges at the reduced size (hair strands, collars).

        Returns:
            The alpha, and the background's estimated colour (float32 BGR) at a quarter of the work size.
        """
        o = self.options
        sh, sw = small.shape[:2]
        qsize = (quarter.shape[1], quarter.shape[0])
        alpha = unit(person)
        qa = cv2.resize(alpha, qsize, interpolation=cv2.INTER_AREA)
        fore = normalized_blur(quarter, qa * qa * qa * qa, _COLOUR_SIGMA)
        back = normalized_blur(quarter, (1.0 - qa) ** 4, _COLOUR_SIGMA)
        d = fore - back
        contrast = cv2.transform(d * d, np.ones((1, 3), np.float32))
        along = cv2.transform((quarter - back) * d, np.ones((1, 3), np.float32))
        colour_alpha = np.clip(along / (contrast + np.float32(64.0)), 0.0, 1.0)
        trust = np.clip(contrast * np.float32(1.0 / (40.0 * 40.0)), 0.0, 1.0)
        trust[(qa < 0.02) | (qa > 0.98)] = 0.0
        qa += (colour_alpha - qa) * trust
        # Guided filter: coefficients at the quarter size, applied to the work size's grey levels.
        radius = 1 + round(3 * o.edge)
        qguide = unit(cv2.cvtColor(quarter, cv2.COLOR_BGR2GRAY))
        a, b = guided_coefficients(qguide, qa, radius, 1e-4 * 10.0 ** (2.0 * o.edge))
        guide = unit(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        refined = cv2.resize(a, (sw, sh), interpolation=cv2.INTER_LINEAR)
        cv2.multiply(refined, guide, dst=refined)
        cv2.add(refined, cv2.resize(b, (sw, sh), interpolation=cv2.INTER_LINEAR), dst=refined)
        # Only the edge band is reshaped: deep inside the person or the background the mask stands.
        reach = 2 * radius + 2
        refined[cv2.erode((alpha > 0.98).view(np.uint8), None, iterations=reach) > 0] = 1.0
        refined[cv2.erode((alpha < 0.02).view(np.uint8), None, iterations=reach) > 0] = 0.0
        # A crisp edge is a steeper ramp.
        lo = 0.2 * (1.0 - o.edge)
        ramp = np.clip((refined - np.float32(lo)) * np.float32(1.0 / (1.0 - 2.0 * lo)), 0.0, 1.0)
        return ramp, back

    def _background(self, frame: np.ndarray, quarter: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """The new background at full size (uint8 BGR)."""
        o = self.options
        h, w = frame.shape[:2]
        if self._image is not None:  # mode image
            return self._covering(self._image, w, h)
        if o.mode is BackgroundMode.COLOR:
            if self._cover is None or self._cover[0] != (w, h):
                self._cover = ((w, h), np.full((h, w, 3), o.color.bgr, np.uint8))
            return self._cover[1]
        sigma = 2.0 + o.blur * 0.05 * max(h, w)  # full-frame pixels
        # Blur where it is cheap: on a copy small enough that the blur spans about 3 of its pixels (the quarter
        # copy the edge was refined on, or smaller).
        k = min(quarter.shape[1] / w, 3.0 / sigma)
        size = (max(2, round(w * k)), max(2, round(h * k)))
        tiny = quarter if size == (quarter.shape[1], quarter.shape[0]) else cv2.resize(quarter, size, cv2.INTER_AREA)
        keep = cv2.resize(1.0 - alpha, size, interpolation=cv2.INTER_AREA)
        blurred = normalized_blur(tiny, keep * keep, sigma * size[0] / w)
        return _grow(blurred, (w, h))

    def _covering(self, image: np.ndarray, w: int, h: int) -> np.ndarray:
        """``image`` scaled to cover a ``w`` x ``h`` frame and centre-cropped (cached per frame size)."""
        if self._cover is not None and self._cover[0] == (w, h):
            return self._cover[1]
        ih, iw = image.shape[:2]
        k = max(w / iw, h / ih)
        sw, sh = max(w, round(iw * k)), max(h, round(ih * k))
        scaled = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        x0, y0 = (sw - w) // 2, (sh - h) // 2
        cover = np.ascontiguousarray(scaled[y0 : y0 + h, x0 : x0 + w])
        self._cover = ((w, h), cover)
        return cover


def _composite(frame: np.ndarray, back: np.ndarray, alpha: np.ndarray, old: np.ndarray | None) -> None:
    """``frame = frame * a + back * (1 - a)`` in place, ``a`` being ``alpha`` brought to the frame's size.

    Pixels where ``a`` is 1 (the person) are left untouched, where it is 0 the background is copied, and only
    the runs of columns around the fractional edge band are blended, strip by strip. With ``old`` (the old
    background's colour behind the edge) its share in the edge's mixed pixels is swapped for the new one's.
    """
    h, w = frame.shape[:2]
    a8 = to_alpha8(alpha)
    if a8.shape != (h, w):
        a8 = cv2.resize(a8, (w, h), interpolation=cv2.INTER_LINEAR)
    cv2.copyTo(back, cv2.compare(a8, 0, cv2.CMP_EQ), frame)
    band = cv2.inRange(a8, 1, 254)
    strips = -(-h // _STRIP)
    if h % _STRIP:
        band = np.pad(band, ((0, strips * _STRIP - h), (0, 0)))
    # Which columns of each strip hold edge pixels, in one pass: an area resize by a whole factor averages each
    # strip's rows (an edge pixel leaves at least 255 / _STRIP > 0).
    cols_by_strip = cv2.resize(band, (w, strips), interpolation=cv2.INTER_AREA) > 0
    for i in range(strips):
        y0, y1 = i * _STRIP, min(h, (i + 1) * _STRIP)
        cols = cols_by_strip[i]
        if not cols.any():
            continue
        for x0, x1 in _runs(cols, _GAP):
            a = unit(a8[y0:y1, x0:x1])
            view = frame[y0:y1, x0:x1]
            if old is None:
                view[:] = cv2.blendLinear(view, back[y0:y1, x0:x1], a, 1.0 - a)
                continue
            # frame = a F + (1 - a) old  =>  a F + (1 - a) back = frame + (1 - a) (back - old). Where a is small
            # the pixel is mostly background and the estimate of ``old`` matters less: fade to a plain blend.
            pixels = view.astype(np.float32)
            swap = cv2.subtract(back[y0:y1, x0:x1], old[y0:y1, x0:x1], dtype=cv2.CV_32F)
            plain = cv2.subtract(back[y0:y1, x0:x1], view, dtype=cv2.CV_32F)
            trust = np.minimum(a * np.float32(1.0 / 0.3), 1.0)
            step = plain + (swap - plain) * cv2.merge((trust, trust, trust))
            keep = 1.0 - a
            out = pixels + step * cv2.merge((keep, keep, keep))
            view[:] = np.clip(out + np.float32(0.5), 0, 255).astype(np.uint8)


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized down to ``size`` (an exact halving is a fast 2x2 mean)."""
    h, w = image.shape[:2]
    if (w, h) == size:
        return image
    exact = w == 2 * size[0] and h == 2 * size[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR if exact else cv2.INTER_AREA)


def _grow(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float32 BGR image resized up to ``size`` as uint8."""
    small = np.clip(image + np.float32(0.5), 0, 255).astype(np.uint8)
    return cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)


def _runs(flags: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """The ``[start, stop)`` runs of True in ``flags``, merging runs separated by fewer than ``gap`` Falses."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.view(np.int8), [0]))))
    starts, stops = edges[0::2], edges[1::2]
    runs: list[tuple[int, int]] = []
    for s, e in zip(starts.tolist(), stops.tolist()):
        if runs and s - runs[-1][1] < gap:
            runs[-1] = (runs[-1][0], e)
        else:
            runs.append((s, e))
    return runs
