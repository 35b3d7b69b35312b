"""What the body effects (hair colour, clothing, background) share.

Body effects read the frame-level masks of :class:`~tryon.parsing.frame_parse.FrameParse` (``hair``, ``clothes``,
the person mask) rather than one face's masks, so they run once per frame, not once per face. Their patterns are
anchored to the person (a face's landmarks when there is one) so they stay put on the hair or the cloth as the
person moves, instead of swimming in screen space.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from tryon.assets import assets_dir
from tryon.effects.base import Effect, Patch, check_target, unit
from tryon.errors import ImageReadError, LookError, TryOnError
from tryon.geometry import Box
from tryon.image import IMAGE_SUFFIXES, read_image
from tryon.parsing._features import ColourHistogram, colour_bins
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.perception import topology as tp

__all__ = [
    "BodyEffect",
    "Anchor",
    "guided_filter",
    "guided_coefficients",
    "refine_alpha",
    "spare_beards",
    "spare_faces",
    "weigh_against_surroundings",
    "weigh_by_likeness",
    "lightness_gain",
    "outlier_weight",
    "robust_spread",
    "scale_deviation",
    "normalized_blur",
    "smooth",
    "shrink",
    "grow",
    "load_picture",
    "builtin_textures",
]


class BodyEffect(Effect):
    """An effect on the frame-level body masks: :meth:`apply_frame` runs once per frame, whatever the faces."""

    def apply(self, frame: np.ndarray, parse: FrameParse) -> np.ndarray:
        """Applies the effect to ``frame`` in place (once, over the frame-level masks) and returns it."""
        check_target(frame, parse)
        if getattr(self.options, "intensity", 1.0) <= 0:
            return frame
        self.apply_frame(frame, parse)
        return frame

    @abstractmethod
    def apply_frame(self, frame: np.ndarray, parse: FrameParse) -> None:
        """Applies the effect to the whole frame, in place, touching only its masks' boxes."""

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        """Body effects have no per-face step: :meth:`apply` works on the frame-level masks."""


@dataclass(frozen=True)
class Anchor:
    """A frame of reference that moves with the person: an origin, a unit length and an axis (x along, y down).

    Patterns sampled in anchor coordinates stay on the same spot of hair or cloth as the person moves. With a face
    the origin is the nose tip, the unit the face's width and the axis the eye line; without one, the box's top
    centre, a third of its width, and the image axes.
    """

    origin: np.ndarray
    unit: float
    cos: float
    sin: float

    @classmethod
    def of(cls, parse: FrameParse, box: Box) -> Anchor:
        """The anchor of the largest face of ``parse``, or of ``box`` when there is none."""
        if parse.faces:
            face = max(parse.faces, key=lambda f: f.box.width * f.box.height)
            p = face.points
            axis = p[263] - p[33]
            eye = float(np.linalg.norm(axis)) or 1.0
            width = tp.face_width(p)
            return cls(p[1].astype(np.float64), width, float(axis[0] / eye), float(axis[1] / eye))
        origin = np.array([(box.x0 + box.x1) / 2.0, float(box.y0)])
        return cls(origin, max(box.width / 3.0, 1.0), 1.0, 0.0)

    def coords(
        self, box: Box, step: float = 1.0, offset: float = 0.0, count: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Anchor coordinates (in units) of a grid over ``box``: (across, down), float32.

        Args:
            box: the frame box the grid covers.
            step: pixels between grid points.
            offset: pixels from the box's corner to the first grid point.
            count: (columns, rows) of the grid; by default as many as fit in the box.
        """
        cols, rows = count if count is not None else (-(-box.width // step), -(-box.height // step))
        xs = np.arange(int(cols), dtype=np.float32) * np.float32(step) + np.float32(box.x0 + offset - self.origin[0])
        ys = np.arange(int(rows), dtype=np.float32) * np.float32(step) + np.float32(box.y0 + offset - self.origin[1])
        gx, gy = np.meshgrid(xs, ys)
        k = np.float32(1.0 / self.unit)
        c, s = np.float32(self.cos * k), np.float32(self.sin * k)
        return gx * c + gy * s, gy * c - gx * s


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide: ``src`` smoothed, its edges snapped to the guide's.

    Large radii run as the fast guided filter (He and Sun, 2015): the linear coefficients are computed on a copy
    about ``radius / 4`` times smaller and applied to the full-size guide, which keeps its fine edges (strands).

    Args:
        guide: float32 HxW guide in 0..1 (the frame's grey levels).
        src: float32 HxW values to filter (a soft mask).
        radius: the box filter's radius in pixels.
        eps: regularisation: larger values smooth more and follow the guide's edges less.

    Returns:
        float32 HxW: ``a * guide + b`` with ``a`` and ``b`` the box-averaged local linear coefficients.
    """
    h, w = guide.shape
    step = max(1, radius // 4)
    if step > 1 and min(h, w) >= 4 * step:
        a, b = guided_coefficients(shrink(guide, step), shrink(src, step), max(1, round(radius / step)), eps)
        a, b = grow(a, step, (h, w)), grow(b, step, (h, w))
    else:
        a, b = guided_coefficients(guide, src, radius, eps)
    out = cv2.multiply(a, guide)
    cv2.add(out, b, dst=out)
    return out


def refine_alpha(patch: Patch, radius: int, eps: float = 1e-4) -> np.ndarray:
    """Snaps a patch's soft mask to the frame's edges (a guided filter), in place; returns the grey guide.

    Only the mask's own pixels may change: the result is zero wherever the mask is zero, and a nearly full mask stays
    full, so a coarse mask gains strand- and hem-level edges without spilling past its support.
    """
    gray = cv2.cvtColor(patch.view, cv2.COLOR_BGR2GRAY)
    guide = unit(gray)
    alpha = patch.alpha
    refined = guided_filter(guide, alpha, radius, eps)
    cv2.min(refined, 1.0, dst=refined)
    cv2.max(refined, 0.0, dst=refined)
    # OpenCV's thresholds instead of boolean masks (several times faster): the full core keeps at least its
    # alpha, and the mask's zeros stay zero.
    _, core = cv2.threshold(alpha, 0.95, 0.0, cv2.THRESH_TOZERO)
    cv2.max(refined, core, dst=refined)
    _, support = cv2.threshold(alpha, 0.0, 1.0, cv2.THRESH_BINARY)
    cv2.multiply(refined, support, dst=refined)
    patch.alpha = refined
    return guide


def weigh_by_likeness(patch: Patch, lab: np.ndarray, core_chroma: bool = False) -> None:
    """Fades the mask, in place, where a pixel's colour is unlike the colours of the mask's core.

    Recolouring moves the masked region a lot (black hair lifted to copper); a grey wall pixel caught in the
    mask's soft edge would move even more, and glow. Pixels of the uncertain edge (alpha <= 0.9) are weighed by
    how close their Lab colour is to the core's (alpha > 0.9) median, in units of its spread. With ``core_chroma``
    the core is weighed too, by a*b* only (its bright outliers are shine, not strangers): for single-coloured
    regions such as hair, not for printed cloth.
    """
    core = np.ascontiguousarray(patch.alpha > 0.9, dtype=np.uint8)
    if int(cv2.countNonZero(core)) < 16:
        return
    # Robust statistics (median, 10th-90th percentile range) so a print or a glint does not widen them, from
    # a sparse grid of the core's pixels (enough for percentiles, a fraction of the cost).
    step = max(1, int(np.sqrt(core.size / 20000.0)))
    samples = lab[::step, ::step][core[::step, ::step] > 0]
    if len(samples) < 16:
        samples = lab[core > 0]
    lo, mid, hi = np.percentile(samples, [10.0, 50.0, 90.0], axis=0).astype(np.float64)
    scale = 1.0 / ((hi - lo) * (2.5 / 2.56) + 4.0)
    # z = (lab - mid) / spread per channel in one affine pass, then the squared distances summed in another:
    # d2 = z_a^2 + z_b^2 (+ z_L^2 outside the core, or everywhere without ``core_chroma``).
    z = cv2.transform(lab, np.hstack([np.diag(scale), (-mid * scale)[:, None]]).astype(np.float32))
    cv2.multiply(z, z, dst=z)
    d2 = cv2.transform(z, np.array([[1.0, 1.0, 1.0]], np.float32))
    if core_chroma:
        light2 = cv2.transform(z, np.array([[1.0, 0.0, 0.0]], np.float32))
        d2 -= cv2.multiply(light2, core, dtype=cv2.CV_32F)
    else:
        d2[core > 0] = 0.0
    # exp(-max(d2 - 1, 0)): 1 within one spread, fading beyond (capped where it is nil anyway: exp's
    # denormal results are slow)
    cv2.subtract(d2, 1.0, dst=d2)
    cv2.max(d2, 0.0, dst=d2)
    cv2.min(d2, 40.0, dst=d2)
    cv2.exp(np.negative(d2, out=d2), dst=d2)
    patch.alpha = cv2.multiply(patch.alpha.astype(np.float32, copy=False), d2)


# weigh_against_surroundings: the bins of its texture histogram and the texture's range (8-bit L, log-spaced),
# the share of a uniform density mixed into that histogram (a texture never sampled keeps some likelihood), the
# alphas of the mask's sure core and of what the mask leaves out, and the smoothing (pixels) and tempering of the
# evidence.
_TEXTURE_BINS, _TEXTURE_MIN, _TEXTURE_MAX = 16, 0.25, 64.0
_TEXTURE_FLOOR = 0.02
_SURROUND_CORE, _SURROUND_OUTSIDE = 0.8, 0.02
_SURROUND_SMOOTH, _SURROUND_TEMPER = 1.0, 0.5


def _texture_density(bins: np.ndarray) -> np.ndarray:
    """The log density of texture bin samples, smoothed over neighbouring bins, against a uniform density."""
    counts = np.bincount(bins, minlength=_TEXTURE_BINS).astype(np.float32)
    h = np.convolve(counts, np.array([0.25, 0.5, 0.25], np.float32), mode="same")
    scale = (1.0 - _TEXTURE_FLOOR) * _TEXTURE_BINS / max(float(h.sum()), 1e-6)
    return np.log(h * np.float32(scale) + np.float32(_TEXTURE_FLOOR))


def _texture_bins(grey: np.ndarray) -> np.ndarray:
    """Each pixel's texture bin (int32) from its 8-bit lightness: local contrast at a strand's scale, log-spaced.

    Hair is strands, so its fine-scale contrast is high; a wall, a backdrop or skin is smooth at that scale (and
    an out-of-focus background smoother still), whatever their colours.
    """
    g = grey.astype(np.float32)
    fine = cv2.subtract(g, cv2.GaussianBlur(g, (0, 0), 1.0))
    energy = cv2.GaussianBlur(cv2.multiply(fine, fine), (0, 0), 1.0)
    contrast = cv2.sqrt(cv2.max(energy, _TEXTURE_MIN * _TEXTURE_MIN))
    step = _TEXTURE_BINS / np.log(_TEXTURE_MAX / _TEXTURE_MIN)
    index = cv2.log(contrast * np.float32(1.0 / _TEXTURE_MIN)) * np.float32(step)
    return np.clip(index, 0, _TEXTURE_BINS - 1).astype(np.int32)


def weigh_against_surroundings(patch: Patch) -> bool:
    """Fades a mask's unsure pixels, in place, where they look more like what surrounds the mask than its core.

    A body mask made on a coarse grid reaches a few pixels past the real edge: onto the wall behind a short-haired
    head, an ear, a collar. Likeness to the core alone lets a dark wall behind dark hair through, and lifted to
    platinum it glows. Here the mask is the prior and each pixel's colour and texture the evidence: its weight
    becomes the posterior ``a * r / (a * r + 1 - a)``, at most ``a``, with ``r`` the ratio of the feature's density
    in the mask's sure core (alpha > 0.8) to its density in what the mask leaves out of its box (alpha < 0.02),
    colour (a Lab histogram) and texture (fine-scale contrast) taken as independent. Where the two differ
    the edge moves to where the picture changes; where they do not, the mask keeps its weight. The core keeps
    its weight and nothing outside the mask is added.

    Args:
        patch: the patch; its ``alpha`` is replaced.

    Returns:
        False when the core or the surroundings are too small to learn from (the mask is then left as it was).
    """
    alpha = patch.alpha
    core = cv2.compare(alpha, _SURROUND_CORE, cv2.CMP_GT)
    around = cv2.compare(alpha, _SURROUND_OUTSIDE, cv2.CMP_LT)
    if cv2.countNonZero(core) < 64 or cv2.countNonZero(around) < 64:
        return False
    # The evidence on a half-size copy (a quarter of the pixels): the ratio is smoothed over pixels anyway.
    view, small_core, small_around = patch.view, core, around
    h, w = alpha.shape
    half = min(h, w) >= 64
    if half:
        size = (w // 2, h // 2)
        view = cv2.resize(view[: 2 * size[1], : 2 * size[0]], size, interpolation=cv2.INTER_AREA)
        small_core = cv2.resize(core[: 2 * size[1], : 2 * size[0]], size, interpolation=cv2.INTER_NEAREST)
        small_around = cv2.resize(around[: 2 * size[1], : 2 * size[0]], size, interpolation=cv2.INTER_NEAREST)
    lab8 = cv2.cvtColor(view, cv2.COLOR_BGR2Lab)
    colour = colour_bins(lab8)
    texture = _texture_bins(cv2.extractChannel(lab8, 0))  # lightness: grey enough for contrast, no conversion
    core_px, around_px = small_core.view(bool), small_around.view(bool)
    log_ratio = ColourHistogram(colour[core_px]).log_density[colour]
    log_ratio -= ColourHistogram(colour[around_px]).log_density[colour]
    log_ratio += (_texture_density(texture[core_px]) - _texture_density(texture[around_px]))[texture]
    # Neighbours share their evidence (a pixel's own colour and texture are noisy), and the two features, taken as
    # independent, are not quite: the log ratio is smoothed and tempered.
    log_ratio = cv2.GaussianBlur(log_ratio, (0, 0), _SURROUND_SMOOTH / (2.0 if half else 1.0))
    ratio = cv2.exp(log_ratio * np.float32(_SURROUND_TEMPER))
    if half:
        ratio = cv2.copyMakeBorder(ratio, 0, 1, 0, 1, cv2.BORDER_REPLICATE)  # odd sides: the last row and column
        ratio = cv2.resize(ratio, (2 * (w // 2) + 2, 2 * (h // 2) + 2), interpolation=cv2.INTER_LINEAR)[:h, :w]
    num = cv2.multiply(alpha, ratio)
    post = cv2.divide(num, cv2.max(cv2.add(num, cv2.subtract(1.0, alpha)), 1e-6))
    # The sure core stays whole: its odd pixels (glints, a strand's shadow) are the hair's own.
    patch.alpha = cv2.max(cv2.min(post, alpha), cv2.threshold(alpha, _SURROUND_CORE, 0.0, cv2.THRESH_TOZERO)[1])
    return True


#: Face classes no body effect may touch, fringe or not.
_FEATURES = ("left_brow", "right_brow", "left_eye", "right_eye")


def spare_faces(patch: Patch, parse: FrameParse, fringe: bool = False) -> None:
    """Takes the faces' skin (the landmarks' ``face`` region: skin, nose), brows and eyes out of a body mask, in place.

    A hair or clothes mask that strays onto a face would dye the skin, the worst mistake a body effect can make; a
    hair colour would also dye the brows (platinum brows under a platinum fringe read as a mistake, and brows
    have their own effect). With ``fringe`` (hair) the mask is trusted over the forehead, fading from the
    forehead's top to the brows, since a fringe covers it; the brows, the eyes and the face below them are always
    spared.
    """
    for face in parse.faces:
        region = face.masks.get("face")
        if region is None:
            continue
        inter = region.box.intersect(patch.box)
        if inter.empty:
            continue
        # Only where the face's region lies: elsewhere the mask is kept as it is.
        skin = unit(region.crop(inter))
        features = np.zeros(skin.shape, np.uint8)
        for name in _FEATURES:
            part = face.masks.get(name)
            if part is not None and not part.box.intersect(inter).empty:
                np.maximum(features, part.crop(inter), out=features)
        if fringe:
            p = face.points
            top, brows = p[10].astype(np.float64), p[168].astype(np.float64)
            axis = brows - top
            length = float(axis @ axis) or 1.0
            xs = np.arange(inter.x0, inter.x1, dtype=np.float32) - np.float32(top[0])
            ys = np.arange(inter.y0, inter.y1, dtype=np.float32) - np.float32(top[1])
            depth = (ys[:, None] * np.float32(axis[1]) + xs[None, :] * np.float32(axis[0])) * np.float32(1 / length)
            skin *= np.clip(depth, 0.0, 1.0)
        np.maximum(skin, unit(features), out=skin)
        alpha = patch.alpha.copy()  # a new array, as before: callers may hold the old one
        alpha[inter.relative_to(patch.box).slices] *= 1.0 - skin
        patch.alpha = alpha


#: The lower jaw on the face oval, from one jaw angle through the chin to the other.
_JAW = tp.FACE_OVAL[12:25]
#: How far below the jaw a beard may reach, in face heights (forehead top to chin).
_BEARD_BELOW = 0.25


def spare_beards(patch: Patch, parse: FrameParse) -> None:
    """Takes beards out of a hair mask, in place: the lower face inside the jaw and a band under it.

    A beard is hair to a parser, but a hair colour is for the head: dyed with it, a beard reads as a mistake.
    Long hair falls beside the jaw, outside this zone (it spans the jaw angles, not the ears), so it keeps its
    colour; the zone's edge is feathered.
    """
    alpha = patch.alpha
    for face in parse.faces:
        p = face.points.astype(np.float32)
        down = p[152] - p[10]
        height = float(np.linalg.norm(down))
        width = tp.face_width(p)
        if height < 4.0 or width < 4.0:
            continue
        jaw = p[list(_JAW)]
        band = jaw + down * np.float32(_BEARD_BELOW)
        feather = max(1.0, 0.02 * width)
        box = Box.around(np.vstack([jaw, band]), pad=3.0 * feather).intersect(patch.box)
        if box.empty:
            continue
        zone = np.zeros((box.height, box.width), np.float32)
        origin = np.array([box.x0, box.y0], np.float32)
        for polygon in (np.vstack([jaw, band[::-1]]), jaw):  # the band under the jaw, and the face above it
            cv2.fillPoly(zone, [np.round(polygon - origin).astype(np.int32)], 1.0, cv2.LINE_AA)
        zone = cv2.GaussianBlur(zone, (0, 0), feather)
        if alpha is patch.alpha:
            alpha = patch.alpha.copy()  # a new array: callers may hold the old one
        alpha[box.relative_to(patch.box).slices] *= 1.0 - zone
    patch.alpha = alpha


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The box-averaged linear coefficients ``(a, b)`` of :func:`guided_filter`.

    Computing them at a reduced size and applying ``a * guide + b`` to the full-size guide is the fast guided
    filter (He and Sun, 2015): the result keeps the full-resolution edges of the guide.
    """
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)

    mean_i = box(guide)
    mean_p = box(src)
    cov_ip = box(cv2.multiply(guide, src)) - mean_i * mean_p
    var_i = box(cv2.multiply(guide, guide)) - mean_i * mean_i
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return box(a), box(b)


def normalized_blur(image: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``image`` that averages only pixels of high ``weight`` (normalised convolution).

    Blurring the background with the person weighted out keeps the person's colours from bleeding into it (the
    halo of a plain blur). Where no weighted pixel lies within reach the result fades to the weighted mean of the
    whole image.

    Args:
        image: float32 HxWxC (C <= 3) or HxW image.
        weight: float32 HxW weights in 0..1.
        sigma: the blur's sigma in pixels.
    """
    channels = cv2.split(image)
    stack = cv2.merge([cv2.multiply(c, weight) for c in channels] + [weight])
    # A stack blur (a near-Gaussian, about twice as fast for multi-channel float images): its kernel of
    # radius r has a standard deviation of about r / sqrt(6).
    radius = max(1, round(2.45 * sigma))
    parts = cv2.split(cv2.stackBlur(stack, (2 * radius + 1, 2 * radius + 1)))
    norm = parts[-1]
    total = max(float(cv2.sumElems(weight)[0]), 1e-6)
    mean = [float(cv2.sumElems(c)[0]) / total for c in cv2.split(stack)[:-1]]
    trust = np.clip(norm * np.float32(20.0), 0.0, 1.0)
    scale = trust / np.maximum(norm, np.float32(1e-4))
    fallback = 1.0 - trust
    out = [p * scale + fallback * np.float32(m) for p, m in zip(parts[:-1], mean)]
    return cv2.merge(out) if len(out) > 1 else out[0]


def smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of a float32 image; broad ones run on a smaller copy (what they keep is smooth anyway)."""
    if sigma <= 3.0:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    step = max(2, round(sigma / 2.0))  # about 2 pixels of blur on the small copy
    small = cv2.GaussianBlur(shrink(image, step), (0, 0), sigma / step)
    h, w = image.shape[:2]
    return grow(small, step, (h, w))


def shrink(image: np.ndarray, step: int) -> np.ndarray:
    """``image`` averaged over ``step`` x ``step`` cells (its edges replicated up to a whole cell).

    Whole cells keep OpenCV's area resize on its fast integer path, several times faster than a fractional one.
    """
    h, w = image.shape[:2]
    bottom, right = -h % step, -w % step
    if bottom or right:
        image = cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)
    return cv2.resize(image, ((w + right) // step, (h + bottom) // step), interpolation=cv2.INTER_AREA)


def grow(small: np.ndarray, step: int, size: tuple[int, int]) -> np.ndarray:
    """The inverse of :func:`shrink`: ``small`` upsampled (bilinear) by ``step`` and cropped to ``size`` (H, W)."""
    h, w = size
    big = cv2.resize(small, (small.shape[1] * step, small.shape[0] * step), interpolation=cv2.INTER_LINEAR)
    return big if big.shape[:2] == (h, w) else np.ascontiguousarray(big[:h, :w])


def lightness_gain(src_l: float, dst_l: float, lift: float = 8.0, lo: float = 0.45, hi: float = 2.6) -> float:
    """How much to scale lightness deviations when a region's mean L moves from ``src_l`` to ``dst_l``.

    Keeping the *relative* contrast (deviation over mean) keeps folds, strands and shine looking alike when a
    dark region is lightened (their contrast grows) or a light one darkened (it shrinks). ``lift`` keeps near
    black regions from having their noise amplified without bound; the gain is clamped to ``[lo, hi]``.
    """
    return float(np.clip((dst_l + lift) / (src_l + lift), lo, hi))


def scale_deviation(dev: np.ndarray, gain: float, limit: float) -> np.ndarray:
    """``dev * gain`` for deviations within ``±limit``; beyond it, the excess is kept unscaled.

    Scaling a region's lightness deviations keeps its texture's relative contrast, but would also blow up the
    outliers (a pixel half background at the mask's edge, a white print on a black shirt) into glows.
    """
    core = np.clip(dev, -limit, limit)
    out: np.ndarray = core * np.float32(gain) + (dev - core)
    return out


def outlier_weight(dev: np.ndarray, limit: float) -> np.ndarray:
    """1 for deviations within ``±limit``, falling as ``limit / |dev|`` beyond: how much an outlier may change.

    A pixel far from a region's typical lightness is most likely not the region (a background pixel mixed in at
    the mask's edge, a print): recolouring it fully makes a rim of glow.
    """
    out: np.ndarray = np.minimum(np.float32(limit) / np.maximum(np.abs(dev), np.float32(1e-3)), np.float32(1.0))
    return out


def robust_spread(values: np.ndarray, weight: np.ndarray) -> float:
    """A robust standard deviation (10th to 90th percentile range / 2.56) of ``values`` where ``weight`` > 0.5."""
    step = max(1, int(np.sqrt(values.size / 20000.0)))  # a sparse grid is enough for percentiles
    samples = values[::step, ::step][weight[::step, ::step] > 0.5]
    if samples.size < 16:
        samples = values.ravel()
    lo, hi = np.percentile(samples, [10.0, 90.0])
    return max(float(hi - lo) / 2.56, 1.0)


@lru_cache(maxsize=1)
def _textures_dir() -> Path | None:
    try:
        return assets_dir("textures")
    except TryOnError:
        return None


def builtin_textures() -> list[str]:
    """The names of the built-in textures (``assets/textures/*.png``)."""
    folder = _textures_dir()
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.png"))


def load_picture(value: str, field: str, builtin: bool = False) -> np.ndarray:
    """Reads a picture option: a file path, or (with ``builtin``) the name of a built-in texture.

    Args:
        value: the option's text.
        field: the option's name, for messages (``"clothing.texture"``).
        builtin: accept the names of the built-in textures as well as paths.

    Returns:
        The picture as BGR uint8 (read-only; cached per file).

    Raises:
        LookError: naming the field and the file when it is missing or unreadable, or listing the built-in
            names when a bare name is not one of them.
    """
    text = value.strip()
    looks_like_path = Path(text).suffix.lower() in IMAGE_SUFFIXES or "/" in text or "\\" in text
    if builtin and not looks_like_path:
        names = builtin_textures()
        if text not in names:
            raise LookError(
                f"{field}: {value!r} is neither an image file nor a built-in texture; built-in: {', '.join(names)}"
            )
        path = (_textures_dir() or Path()) / f"{text}.png"
    else:
        path = Path(text).expanduser()
    try:
        stat = path.stat()
    except OSError:
        raise LookError(f"{field}: {path}: no such file") from None
    try:
        return _read_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except ImageReadError as exc:
        raise LookError(f"{field}: {exc}") from None


@lru_cache(maxsize=8)
def _read_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    image = read_image(path)
    image.setflags(write=False)
    return image
