"""What the complexion effects share: the face's skin on coarse grids, painted by each effect, written once.

Foundation, concealer, blush, contour, highlighter and smoothing change colour over areas far larger than a pore.
So they work on a grid of square cells, a few pixels each: each cell holds the mean colour of its skin pixels
(pixels outside the face's skin do not count, so eyes, brows and hair never bleed into it), an effect computes a
new colour per cell in Lab, and the change is brought back to full resolution by bilinear interpolation and added
to every pixel under the effect's mask. Whatever is finer than a cell (pores, fine hairs, glints) passes through
untouched.

The complexion effects of a look paint one :class:`SkinCanvas` per face (see :func:`apply_effects`): the face's
pixels are read and averaged into cells once, each effect adds its change to one float buffer, the cells' colours
follow each change (so the blush sees the foundation under it), and the frame is written once at the end. An
effect applied on its own paints a canvas of its own, as in a run of one; a longer run gives about what applying
its effects one by one gives (the frame is not rounded to 8 bits between them).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.effects.base import Effect, check_target, is_blank, unit
from tryon.geometry import Box, RoiMask
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.perception import topology as tp

__all__ = [
    "CELLS_ACROSS",
    "FINE_CELLS_ACROSS",
    "SkinCanvas",
    "SkinEffect",
    "SkinGrid",
    "affine_map",
    "apply_effects",
    "face_width",
]

#: Grid cells across the face (cheek to cheek), about: a cell is the size of a small blemish.
CELLS_ACROSS = 64
#: Cells across the face of the fine grid (smoothing's), about; its cells are at least 2 pixels, so pores stay below.
FINE_CELLS_ACROSS = 128

_EMPTY = 0.02  # cells with less skin than this count as empty


def face_width(face: Face) -> float:
    """The face's width in pixels, cheek to cheek (landmarks 234 and 454)."""
    return tp.face_width(face.points)


def affine_map(scale: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
    """A 3x4 matrix for ``cv2.transform`` that maps each channel ``c`` to ``c * scale[c] + offset[c]``."""
    m = np.zeros((3, 4), np.float32)
    m[:, :3] = np.diag(scale)
    if offset is not None:
        m[:, 3] = offset
    return m


def _channels(values: np.ndarray) -> int:
    """The number of channels of an HxW or HxWxC array."""
    return 1 if values.ndim == 2 else values.shape[2]


def _shrink(image: np.ndarray, cell: int) -> np.ndarray:
    """Averages ``cell`` x ``cell`` blocks (the image's sides are multiples of ``cell``)."""
    h, w = image.shape[:2]
    while cell % 2 == 0:  # halving with bilinear sampling is an exact 2x2 mean, and faster than INTER_AREA
        h, w, cell = h // 2, w // 2, cell // 2
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    if cell > 1:
        image = cv2.resize(image, (w // cell, h // cell), interpolation=cv2.INTER_AREA)
    return image


def _aligned(box: Box, cell: int, shape: tuple[int, ...]) -> Box:
    """``box`` grown to whole cells (so the grid is an exact, fast downscale), kept inside the frame where it fits.

    Where whole cells do not fit in the frame (a face larger than the frame), the box reaches past the frame's
    start rather than leave the skin by the frame's edge out.
    """
    h, w = shape[:2]

    def span(lo: int, hi: int, size: int) -> tuple[int, int]:
        n = -(-(hi - lo) // cell) * cell
        lo = min(max(lo, 0), size - n)
        return lo, lo + n

    x0, x1 = span(box.x0, box.x1, w)
    y0, y1 = span(box.y0, box.y1, h)
    return Box(x0, y0, x1, y1)


def _past_edge(image: np.ndarray, inside: Box, box: Box) -> np.ndarray:
    """``image`` (over ``inside``, the part of ``box`` in the frame) over all of ``box``, its edges repeated."""
    if inside == box:
        return image
    within = inside.relative_to(box)
    bottom, right = box.height - within.y1, box.width - within.x1
    return cv2.copyMakeBorder(image, within.y0, bottom, within.x0, right, cv2.BORDER_REPLICATE)


def _merge3(channel: np.ndarray) -> np.ndarray:
    """One channel repeated over three (OpenCV's arithmetic does not broadcast)."""
    return cv2.merge((channel, channel, channel))


@dataclass
class _Level:
    """The canvas's skin on one grid: cells of ``cell`` pixels, from the canvas's top-left corner."""

    cell: int
    weight: np.ndarray  # float32 share of skin in each cell, 0..1
    sums: np.ndarray  # float32 BGR skin-weighted means of the cells' pixels when last read (0..255 units)
    pixels: np.ndarray = field(repr=False)  # the canvas's pixels (for a mean colour when there is no skin)
    _bgr: np.ndarray | None = field(default=None, repr=False)
    _empty: np.ndarray | None = field(default=None, repr=False)  # cells without skin (uint8 mask), if any
    _filled: np.ndarray | None = field(default=None, repr=False)  # the others, where there are empty ones
    _total: float = field(default=0.0, repr=False)  # the skin's weight over all cells

    def __post_init__(self) -> None:
        self._total = float(cv2.sumElems(self.weight)[0])
        empty = cv2.compare(self.weight, _EMPTY, cv2.CMP_LT)
        if cv2.countNonZero(empty) and self._total > 1e-6:
            self._empty = empty
            self._filled = cv2.bitwise_not(empty)

    def reset(self) -> None:
        """Forgets the colours, to be computed again from ``sums``."""
        self._bgr = None

    @property
    def bgr(self) -> np.ndarray:
        """float32 BGR (0..1) mean skin colour of each cell as painted so far (computed when first read).

        A cell with (almost) no skin takes the mean skin colour of all the cells (the canvas's mean colour when
        there is no skin at all), so that interpolation and filters at the skin's edge see skin.
        """
        if self._bgr is None:
            bgr = cv2.divide(self.sums, _merge3(cv2.max(self.weight, 1e-4) * np.float32(255.0)))
            if self._empty is not None:  # OpenCV's masked arithmetic: numpy's boolean indexing is slower
                mean = [v / (255.0 * self._total) for v in cv2.sumElems(self.sums)[:3]]
                cv2.subtract(bgr, bgr, dst=bgr, mask=self._empty)
                cv2.add(bgr, (*mean, 0.0), dst=bgr, mask=self._empty)
            elif self._total <= 1e-6:  # no skin: every cell is empty
                bgr[:] = [v / 255.0 for v in cv2.mean(self.pixels)[:3]]
            self._bgr = bgr
        return self._bgr

    def move(self, cells: tuple[slice, slice], delta: np.ndarray) -> None:
        """Adds a change (float32 BGR, 0..1) to some cells' colours; cells without skin follow the skin's mean.

        The colours change in place: an effect reads its grid's colours (``bgr``, ``lab``) before it paints.
        """
        bgr = self.bgr
        region = bgr[cells]
        if self._empty is None or self._filled is None:
            cv2.add(region, delta, dst=region)
            return
        # Cells without skin hold the mean skin colour: they move by the skin's mean change, the others by theirs.
        sums = cv2.sumElems(cv2.multiply(delta, _merge3(self.weight[cells])))
        cv2.add(region, delta, dst=region, mask=self._filled[cells])
        cv2.add(bgr, (*(v / self._total for v in sums[:3]), 0.0), dst=bgr, mask=self._empty)


class SkinCanvas:
    """One face's skin while complexion effects paint it; :meth:`flush` writes the result into the frame.

    The canvas covers the face's skin (the ``face`` region: skin and nose) in whole cells, as float pixels that
    effects paint in place (where the face is larger than the frame, its cells reach past the frame's edge, which
    they repeat). Effects ask it for a :class:`SkinGrid` over their own mask, on a coarse grid (about
    ``CELLS_ACROSS`` cells across the face) or a fine one (``FINE_CELLS_ACROSS``, for smoothing); both grids'
    cell colours follow every change, so each effect sees the skin as painted so far. Pixels no effect touched
    are written back byte-identical.

    Example:
        >>> canvas = SkinCanvas.over(frame, face)  # doctest: +SKIP
        >>> grid = canvas.grid(face.mask("cheeks"))  # doctest: +SKIP
        >>> lab = grid.lab.copy(); lab[:, :, 1] += 10; grid.write(lab, 0.5)  # doctest: +SKIP
        >>> canvas.flush()  # doctest: +SKIP
    """

    def __init__(self, frame: np.ndarray, face: Face, skin: RoiMask, box: Box, cells: tuple[int, int]) -> None:
        self.box = box
        self.width = face_width(face)
        self._frame = frame
        self._inside = box.clip(frame.shape)  # the box's part in the frame (all of it unless the face is larger)
        #: float32 BGR (0..255) pixels of the canvas's box, as painted so far (past the frame, its edge repeated).
        self.pixels = _past_edge(frame[self._inside.slices].astype(np.float32), self._inside, box)
        #: float32 (0..1) skin alpha over the box: the weight of each pixel in its cell's colour.
        self.skin = self.crop(skin, box)
        self._skin_mask = skin  # a grid over it (foundation's, smoothing's) reuses the arrays above
        self._skin3 = _merge3(self.skin)
        self._painted = False
        # The fine grid, and the coarse one (a whole number of fine cells each) from it: block means of block means.
        fine, coarse = cells
        weight = _shrink(self.skin, fine)
        sums = self._skin_sums(fine)
        self._fine = _Level(fine, weight, sums, self.pixels)
        self._coarse = self._fine
        # What the other grid painted since a grid was last made on this one: the fine grid is averaged from the
        # pixels again (exact, and cheaper than following each change on its many cells); the coarse grid adds
        # the fine cells' moves.
        self._fine_stale = False
        self._to_coarse: np.ndarray | None = None
        if coarse != fine:
            k = coarse // fine
            weight = _shrink(weight, k)
            self._coarse = _Level(coarse, weight, _shrink(sums, k), self.pixels)
        # Shared by every grid over the skin's own mask: read-only, so that no effect changes them for the others.
        for shared in (self.skin, self._skin3, self._fine.weight, self._coarse.weight):
            shared.flags.writeable = False

    @classmethod
    def over(cls, frame: np.ndarray, face: Face) -> SkinCanvas | None:
        """The canvas over ``face``'s skin in ``frame``, or None when the face shows no skin."""
        skin = face.mask("face")
        if is_blank(skin):
            return None
        width = face_width(face)
        fine = max(2, round(width / FINE_CELLS_ACROSS))
        coarse = fine * max(1, round(width / CELLS_ACROSS / fine))
        box = _aligned(skin.box, coarse, frame.shape)
        if box.empty:
            return None
        return cls(frame, face, skin, box, (fine, coarse))

    def grid(self, mask: RoiMask, *, pad: int = 0, skin_weights: bool = False, fine: bool = False) -> SkinGrid | None:
        """A grid over ``mask``'s box (grown by ``pad`` pixels, kept on the canvas), or None when it is empty there.

        Args:
            mask: the effect's mask: where its change is written, and by how much.
            pad: pixels to grow the box by, to see the skin around the mask.
            skin_weights: weigh the cells by their share of skin rather than of ``mask`` (the grid's ``weight``).
            fine: the fine grid (about ``FINE_CELLS_ACROSS`` cells across the face) instead of the coarse one.
        """
        if is_blank(mask):
            return None
        level = self._fine if fine else self._coarse
        self._catch_up(level)
        c, canvas = level.cell, self.box
        wanted = mask.box.grow(pad) if pad else mask.box
        # Whole cells of the canvas's grid, inside the canvas.
        x0 = canvas.x0 + max(0, (wanted.x0 - canvas.x0) // c) * c
        y0 = canvas.y0 + max(0, (wanted.y0 - canvas.y0) // c) * c
        x1 = canvas.x0 + min(canvas.width, -(-(wanted.x1 - canvas.x0) // c) * c)
        y1 = canvas.y0 + min(canvas.height, -(-(wanted.y1 - canvas.y0) // c) * c)
        if x1 <= x0 or y1 <= y0:
            return None
        box = Box(x0, y0, x1, y1)
        within = box.relative_to(canvas)
        cells = (slice(within.y0 // c, within.y1 // c), slice(within.x0 // c, within.x1 // c))
        if mask is self._skin_mask and box == canvas:
            # The canvas's own mask (foundation, smoothing): its crop, cell shares and 3-channel copy are at hand.
            weight = level.weight
            return SkinGrid(self, level, box, within, cells, self.skin, weight, weight, self._skin3)
        alpha = self.crop(mask, box)
        coverage = _shrink(alpha, c)
        weight = level.weight[cells] if skin_weights else coverage
        return SkinGrid(self, level, box, within, cells, alpha, weight, coverage)

    def crop(self, mask: RoiMask, box: Box) -> np.ndarray:
        """``mask`` over ``box`` (a box on the canvas) as float32 in 0..1; past the frame, its edge repeated."""
        inside = box.clip(self._frame.shape)
        return _past_edge(unit(mask.crop(inside)), inside, box)

    def flush(self) -> None:
        """Writes what was painted into the frame (rounded and saturated to uint8)."""
        if self._painted:
            # OpenCV rounds and saturates (negatives to 0); an untouched pixel gets its own value back.
            pixels = self.pixels[self._inside.relative_to(self.box).slices]
            cv2.add(pixels, (0.0, 0.0, 0.0, 0.0), dst=self._frame[self._inside.slices], dtype=cv2.CV_8U)
            self._painted = False

    def _paint(
        self,
        grid: SkinGrid,
        full: np.ndarray,
        factor: np.ndarray | None,
        change: np.ndarray,
        multiply: bool,
        gain: np.ndarray | None,
    ) -> None:
        """Paints ``full * alpha`` on the grid's part of the canvas, after scaling what is there by ``factor``.

        ``factor`` is per pixel (one channel) or None; ``change``, ``multiply`` and ``gain`` are the per-cell
        change as :meth:`SkinGrid.add` took it, for the cells' colours.
        """
        pixels = self.pixels[grid.within.slices]
        if factor is not None:
            cv2.multiply(pixels, _merge3(factor), dst=pixels)
        cv2.accumulateProduct(full, grid.alpha3, pixels)
        self._painted = True
        # The cells' colours follow, each by the share of its skin under the mask.
        level, fine = grid.level, self._fine
        if level is fine and self._coarse is not fine:
            if self._to_coarse is None:
                self._to_coarse = np.zeros_like(fine.bgr)
            region = self._to_coarse[grid.cells]
            cv2.add(region, _moved(fine, grid.cells, grid.coverage, change, multiply, gain), dst=region)
        else:
            level.move(grid.cells, _moved(level, grid.cells, grid.coverage, change, multiply, gain))
        self._fine_stale = self._coarse is not fine

    def _skin_sums(self, cell: int) -> np.ndarray:
        """The cells' skin-weighted means of the pixels as painted so far (float32 BGR, 0..255 units)."""
        return _shrink(cv2.multiply(self.pixels, self._skin3), cell)

    def _catch_up(self, level: _Level) -> None:
        """Brings ``level``'s cells up to date with what was painted on the other grid."""
        fine, coarse = self._fine, self._coarse
        if level is coarse and self._to_coarse is not None:  # each coarse cell: its fine cells' weighted mean
            k = coarse.cell // fine.cell
            moved = _shrink(cv2.multiply(self._to_coarse, _merge3(fine.weight)), k)
            everywhere = (slice(None), slice(None))
            coarse.move(everywhere, cv2.divide(moved, _merge3(cv2.max(coarse.weight, 1e-4))))
            self._to_coarse = None
        elif level is fine and self._fine_stale:
            fine.sums = self._skin_sums(fine.cell)
            fine.reset()
            self._fine_stale = False


def _moved(
    level: _Level,
    cells: tuple[slice, slice],
    coverage: np.ndarray,
    change: np.ndarray,
    multiply: bool,
    gain: np.ndarray | None,
) -> np.ndarray:
    """How far the cells' skin colours (0..1) move when ``change`` is painted over ``coverage`` of each cell.

    ``coverage`` is the mask's mean over each cell; over the cell's share of skin (the masks lie on the skin), it
    is the share of its skin that the change reaches.
    """
    bgr = level.bgr[cells]
    moved = cv2.multiply(change, bgr) if multiply else change * np.float32(1.0 / 255.0)
    if gain is not None:
        cv2.add(moved, cv2.multiply(bgr, _merge3(gain)), dst=moved)
    share = cv2.min(cv2.divide(coverage, cv2.max(level.weight[cells], 1e-4)), 1.0)
    return cv2.multiply(moved, _merge3(share))


@dataclass
class SkinGrid:
    """The part of a :class:`SkinCanvas` under one effect's mask, on the coarse or the fine grid.

    Attributes:
        canvas: the canvas it paints.
        level: the canvas's grid it uses.
        box: its box in frame coordinates, a whole number of cells (past the frame's edge with the canvas's).
        within: the same box relative to the canvas.
        cells: its cells' rows and columns in the canvas's grid.
        alpha: the effect's mask over the box (float32, 0..1): where and how much the change is written.
        weight: float32 share of the mask (or of skin, for ``skin_weights``) in each cell, 0..1.
        coverage: float32 share of the mask in each cell, 0..1.

    Example:
        >>> grid = canvas.grid(face.mask("cheeks"))  # doctest: +SKIP
        >>> lab = grid.lab.copy(); lab[:, :, 1] += 10  # doctest: +SKIP
        >>> grid.write(lab, 0.5)  # doctest: +SKIP
    """

    canvas: SkinCanvas
    level: _Level
    box: Box
    within: Box
    cells: tuple[slice, slice]
    alpha: np.ndarray
    weight: np.ndarray
    coverage: np.ndarray
    _alpha3: np.ndarray | None = field(default=None, repr=False)
    _lab: np.ndarray | None = field(default=None, repr=False)

    @property
    def cell(self) -> int:
        """The cell's side in pixels."""
        return self.level.cell

    @property
    def cells_per_face(self) -> float:
        """Grid cells per face width (for sizes given in face widths)."""
        return self.canvas.width / self.level.cell

    @property
    def shape(self) -> tuple[int, int]:
        """The grid's (rows, columns)."""
        return (self.weight.shape[0], self.weight.shape[1])

    @property
    def bgr(self) -> np.ndarray:
        """float32 BGR (0..1) mean skin colour of each cell as painted so far; cells without skin hold the mean."""
        return self.level.bgr[self.cells]

    @property
    def lab(self) -> np.ndarray:
        """The cells' colours in float32 Lab (L in 0..100), as when first read; do not modify in place."""
        if self._lab is None:
            self._lab = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2Lab)
        return self._lab

    @property
    def alpha3(self) -> np.ndarray:
        """``alpha`` over three channels, for BGR arithmetic."""
        if self._alpha3 is None:
            self._alpha3 = _merge3(self.alpha)
        return self._alpha3

    @property
    def pixels(self) -> np.ndarray:
        """The box's pixels as painted so far (float32 BGR, 0..255; a view into the canvas: do not modify)."""
        return self.canvas.pixels[self.within.slices]

    def cells_of(self, mask: RoiMask) -> np.ndarray:
        """Another mask's alpha (float32, 0..1) averaged over the grid's cells."""
        return _shrink(self.canvas.crop(mask, self.box), self.cell)  # the box is a whole number of cells

    def sigma(self, faces: float) -> float:
        """A length given in face widths, in cells."""
        return max(0.5, faces * self.cells_per_face)

    def smooth(self, values: np.ndarray, sigma_faces: float, weight: np.ndarray | None = None) -> np.ndarray:
        """A blur of ``values``, about Gaussian, on a coarser copy of the grid (so broad blurs cost little).

        Args:
            values: an HxW or HxWxC float32 array on the grid.
            sigma_faces: the blur's sigma in face widths.
            weight: per-cell weights for a normalised convolution (the result averages only cells of high weight,
                such as skin); None blurs plainly.
        """
        s = self.sigma(sigma_faces)
        rows, cols = self.shape
        if weight is not None:
            # Premultiplied channels with the weight alongside (cv2 per channel: numpy broadcasting is slow here).
            channels = cv2.split(values) if values.ndim == 3 else [values]
            stack = cv2.merge([*(cv2.multiply(c, weight) for c in channels), weight])
        else:
            stack = values
        factor = max(1.0, s / 1.5)
        if factor > 1.0:
            size = (max(1, round(cols / factor)), max(1, round(rows / factor)))
            stack = cv2.resize(stack, size, interpolation=cv2.INTER_AREA)
            s = s * size[0] / cols
        stack = cv2.GaussianBlur(stack, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
        if weight is not None:  # normalise while the grid is coarse: fewer cells to divide
            *sums, total = cv2.split(stack)
            cv2.max(total, 1e-4, dst=total)
            stack = cv2.merge([cv2.divide(c, total) for c in sums]) if values.ndim == 3 else cv2.divide(sums[0], total)
        if factor > 1.0:
            stack = cv2.resize(stack, (cols, rows), interpolation=cv2.INTER_LINEAR)
        return stack

    def mean(self, values: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        """The weighted mean of ``values`` over the grid (per channel), by the grid's ``weight`` unless given."""
        w = self.weight if weight is None else weight
        total = float(cv2.sumElems(w)[0])
        if total <= 1e-6:
            return np.array(cv2.mean(values)[: _channels(values)], np.float32).squeeze()
        # OpenCV's multiply and sum, not a matrix product: BLAS threads stall for milliseconds on busy cores.
        weighted = cv2.multiply(values, cv2.merge((w,) * values.shape[2]) if values.ndim == 3 else w)
        return np.array(cv2.sumElems(weighted)[: _channels(values)], np.float32).squeeze() / np.float32(total)

    def upsample(self, cells: np.ndarray) -> np.ndarray:
        """A grid array brought to the box's full resolution (bilinear)."""
        return cv2.resize(cells, (self.box.width, self.box.height), interpolation=cv2.INTER_LINEAR)

    def change(
        self,
        target_lab: np.ndarray,
        fade: np.ndarray | None = None,
        multiply: bool = False,
        amount: float = 1.0,
    ) -> np.ndarray:
        """The change of each cell (float32 BGR) that moves it to ``target_lab``, for :meth:`add`.

        Args:
            target_lab: the new Lab colour of each cell.
            fade: per-cell factor (0..1) on the change, for soft edges computed on the grid.
            multiply: a factor on each pixel (keeps relative contrast, like a multiply blend: the change is
                ``new / old - 1``) instead of an offset added to every pixel of the cell (in 0..255 units).
            amount: a factor on the whole change (applied on the grid, where it costs nothing).
        """
        target = cv2.cvtColor(target_lab.astype(np.float32, copy=False), cv2.COLOR_Lab2BGR)
        bgr = self.bgr
        if multiply:
            change = target / np.maximum(bgr, 1.0 / 255.0) - np.float32(1.0)
            np.clip(change, -0.9, 2.0, out=change)
            change *= np.float32(amount)
        else:
            change = (target - bgr) * np.float32(255.0 * amount)
        if fade is not None:
            cv2.multiply(change, _merge3(fade.astype(np.float32, copy=False)), dst=change)
        return change

    def add(
        self,
        change: np.ndarray,
        *,
        multiply: bool = False,
        gain: np.ndarray | None = None,
        extra: np.ndarray | None = None,
        upsampled: np.ndarray | None = None,
    ) -> None:
        """Paints a change of the cells onto the pixels under the mask (by its alpha), keeping their texture.

        Args:
            change: per-cell float32 BGR change, as :meth:`change` gives it (an offset in 0..255 units, or with
                ``multiply`` a factor minus 1); brought to full resolution by bilinear interpolation.
            multiply: ``change`` scales each pixel instead of being added to it.
            gain: per-cell factor minus 1 (one channel) on the pixels themselves, their texture included: the
                pixel becomes ``pixel * (1 + gain * alpha) + change * alpha``.
            extra: a full-resolution float32 BGR change added with ``change`` (fine detail such as sparkles; it
                does not count in the cells' colours).
            upsampled: ``change`` already brought to full resolution (:meth:`upsample`), when the caller has it;
                it is added to in place.
        """
        full = self.upsample(change) if upsampled is None else upsampled
        if multiply:
            cv2.multiply(full, self.pixels, dst=full)
        if extra is not None:
            cv2.add(full, extra, dst=full)
        factor = None
        if gain is not None:
            factor = cv2.multiply(self.upsample(gain), self.alpha)
            factor += np.float32(1.0)
        self.canvas._paint(self, full, factor, change, multiply, gain)

    def write(
        self, target_lab: np.ndarray, amount: float, fade: np.ndarray | None = None, multiply: bool = False
    ) -> None:
        """Moves the pixels under the mask toward ``target_lab`` by the mask's alpha times ``amount``, keeping texture.

        See :meth:`change` for ``fade`` and ``multiply``.
        """
        self.add(self.change(target_lab, fade, multiply, amount), multiply=multiply)


class SkinEffect(Effect):
    """A complexion effect: it paints a face's :class:`SkinCanvas` (shared with the complexion effects beside it).

    Subclasses implement :meth:`paint`; applied alone, the effect paints a canvas of its own.
    """

    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        canvas = SkinCanvas.over(frame, face)
        if canvas is not None:
            self.paint(canvas, face, parse)
            canvas.flush()

    @abstractmethod
    def paint(self, canvas: SkinCanvas, face: Face, parse: FrameParse) -> None:
        """Paints the effect on one face's canvas."""


def apply_effects(effects: Sequence[Effect], frame: np.ndarray, parse: FrameParse) -> np.ndarray:
    """Applies effects in order to ``frame`` in place; consecutive complexion effects share one canvas per face.

    Each face's skin is read, averaged and written once for the whole run of complexion effects instead of once per
    effect. The result is about that of applying each in turn: the frame is not rounded to 8 bits between them,
    and each face takes the whole run before the next (which shows only where two faces' masks overlap).

    Raises:
        InputError: for a frame the effects cannot draw into (see :func:`~tryon.effects.base.check_target`).
    """
    check_target(frame, parse)
    i = 0
    while i < len(effects):
        effect = effects[i]
        if not isinstance(effect, SkinEffect):
            effect.apply(frame, parse)
            i += 1
            continue
        run: list[SkinEffect] = []
        while i < len(effects):
            painter = effects[i]
            if not isinstance(painter, SkinEffect):
                break
            if getattr(painter.options, "intensity", 1.0) > 0:
                run.append(painter)
            i += 1
        for face in parse.faces if run else ():
            canvas = SkinCanvas.over(frame, face)
            if canvas is not None:
                for painter in run:
                    painter.paint(canvas, face, parse)
                canvas.flush()
    return frame
