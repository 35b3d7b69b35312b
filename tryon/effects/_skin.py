"""What the complexion effects share: a patch's skin on a coarse grid, and writing slow colour fields back.

Foundation, concealer, blush, contour, highlighter and smoothing change colour over areas far larger than a pore.
So they work on a grid of square cells, a few pixels each: each cell holds the mean colour of its skin pixels
(pixels outside the mask do not count, so eyes, brows and hair never bleed into the skin), the effect computes a
new colour per cell in Lab, and the change is brought back to full resolution by bilinear interpolation and added
to every pixel under the mask. Whatever is finer than a cell (pores, fine hairs, glints) passes through untouched,
and the full-resolution work is a handful of cheap passes whatever the effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.effects.base import Patch, is_blank
from tryon.geometry import Box, RoiMask
from tryon.parsing.frame_parse import Face

__all__ = ["CELLS_ACROSS", "SkinGrid", "add_field", "affine_map", "face_width"]

#: Grid cells across the face (cheek to cheek), about: a cell is the size of a small blemish.
CELLS_ACROSS = 64

_EMPTY = 0.02  # cells with less skin than this count as empty


def face_width(face: Face) -> float:
    """The face's width in pixels, cheek to cheek (landmarks 234 and 454)."""
    p = face.points
    return max(math.hypot(float(p[454, 0] - p[234, 0]), float(p[454, 1] - p[234, 1])), 1.0)


def add_field(view: np.ndarray, pixels: np.ndarray, delta: np.ndarray, weight: np.ndarray) -> None:
    """Writes ``pixels + delta * weight`` into ``view``, rounded and saturated to uint8.

    Args:
        view: uint8 BGR pixels (a view into the frame).
        pixels: the same pixels as float32 (0..255).
        delta: float32 BGR change in 0..255 units, the view's size; overwritten.
        weight: float32 per-pixel weight (0..1), over three channels like ``delta`` (OpenCV's arithmetic does not
            broadcast); pixels of weight 0 stay byte-identical.
    """
    cv2.multiply(delta, weight, dst=delta)
    cv2.add(delta, pixels, dst=view, dtype=cv2.CV_8U)  # OpenCV rounds and saturates (negatives to 0)


def _unit(alpha: np.ndarray) -> np.ndarray:
    """A uint8 mask as float32 in 0..1."""
    return np.multiply(alpha, np.float32(1.0 / 255.0), dtype=np.float32)


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
    """``box`` grown to whole cells (so the grid is an exact, fast downscale), kept inside the frame."""
    h, w = shape[:2]

    def span(lo: int, hi: int, size: int) -> tuple[int, int]:
        n = -(-(hi - lo) // cell) * cell
        if n > size:
            n = size // cell * cell
        lo = min(max(lo, 0), size - n)
        return lo, lo + n

    x0, x1 = span(box.x0, box.x1, w)
    y0, y1 = span(box.y0, box.y1, h)
    return Box(x0, y0, x1, y1)


@dataclass
class SkinGrid:
    """A patch's skin on a grid of square cells, about ``1 / CELLS_ACROSS`` of the face wide.

    Attributes:
        patch: the full-resolution patch the grid covers (its box is a whole number of cells).
        alpha3: the patch's alpha over three channels (float32, 0..1), for writing BGR changes.
        pixels: the patch's pixels as float32 BGR in 0..255.
        weight: float32 share of skin (the averaging weight) in each cell, 0..1.
        bgr: float32 BGR (0..1) mean skin colour of each cell; cells without skin hold the mean skin colour.
        cell: the cell's side in pixels.
        cells_per_face: grid cells per face width (for sizes given in face widths).

    Example:
        >>> grid = SkinGrid.over(frame, face.mask("cheeks"), face)  # doctest: +SKIP
        >>> lab = grid.lab.copy(); lab[:, :, 1] += 10  # doctest: +SKIP
        >>> grid.write(lab, 0.5)  # doctest: +SKIP
    """

    patch: Patch
    alpha3: np.ndarray
    pixels: np.ndarray
    weight: np.ndarray
    bgr: np.ndarray
    cell: int
    cells_per_face: float
    _lab: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def over(
        cls,
        frame: np.ndarray,
        mask: RoiMask,
        face: Face,
        *,
        pad: int = 0,
        skin: RoiMask | None = None,
        cells_across: float = CELLS_ACROSS,
    ) -> SkinGrid | None:
        """The grid over ``mask``'s box (grown by ``pad`` pixels), or None when the mask is empty.

        Args:
            frame: the frame (the patch is a view into it).
            mask: the effect's mask; the patch's alpha.
            face: the face (for its size).
            pad: pixels to grow the box by, to see the skin around the mask.
            skin: the pixels to average into the cells; ``mask`` by default.
            cells_across: grid cells across the face.
        """
        if is_blank(mask):
            return None
        width = face_width(face)
        cell = max(1, round(width / cells_across))
        box = _aligned(mask.box.grow(pad) if pad else mask.box, cell, frame.shape)
        if box.empty:
            return None
        alpha = _unit(mask.crop(box))
        patch = Patch(box, frame[box.slices], alpha)
        alpha3 = cv2.merge((alpha, alpha, alpha))
        w, w3 = (alpha, alpha3) if skin is None else (_unit(skin.crop(box)), None)
        pixels = patch.view.astype(np.float32)
        small_w = _shrink(w, cell)
        small = _shrink(cv2.multiply(pixels, cv2.merge((w, w, w)) if w3 is None else w3), cell)
        # Each cell's mean skin colour; a cell with (almost) no skin takes the patch's mean skin colour, so
        # interpolation and filters at the mask's edge see skin. OpenCV's masked arithmetic: numpy's boolean
        # indexing is slower.
        empty = cv2.compare(small_w, _EMPTY, cv2.CMP_LT)
        mean = None
        if cv2.countNonZero(empty):  # the patch's mean, from the cell sums before they are divided
            total = float(cv2.sumElems(small_w)[0])
            sums = cv2.sumElems(small)
            mean = (
                [v / (255.0 * total) for v in sums[:3]] if total > 1e-6 else [v / 255.0 for v in cv2.mean(pixels)[:3]]
            )
        small /= cv2.merge((cv2.max(small_w, 1e-4) * np.float32(255.0),) * 3)
        if mean is not None:
            cv2.subtract(small, small, dst=small, mask=empty)
            cv2.add(small, (*mean, 0.0), dst=small, mask=empty)
        return cls(patch, alpha3, pixels, small_w, small, cell, width / cell)

    @property
    def shape(self) -> tuple[int, int]:
        """The grid's (rows, columns)."""
        return (self.weight.shape[0], self.weight.shape[1])

    @property
    def lab(self) -> np.ndarray:
        """The cells' colours in float32 Lab (L in 0..100); computed once, do not modify in place."""
        if self._lab is None:
            self._lab = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2Lab)
        return self._lab

    def cells(self, mask: RoiMask) -> np.ndarray:
        """Another mask's alpha (float32, 0..1) averaged over the grid's cells."""
        alpha = _unit(mask.crop(self.patch.box))
        if self.cell == 1:
            return alpha
        return cv2.resize(alpha, self.shape[::-1], interpolation=cv2.INTER_AREA)

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
        """The weighted mean of ``values`` over the grid (per channel), by skin share unless ``weight`` is given."""
        w = self.weight if weight is None else weight
        total = float(cv2.sumElems(w)[0])
        if total <= 1e-6:
            return np.array(cv2.mean(values)[: _channels(values)], np.float32).squeeze()
        # OpenCV's multiply and sum, not a matrix product: BLAS threads stall for milliseconds on busy cores.
        weighted = cv2.multiply(values, cv2.merge((w,) * values.shape[2]) if values.ndim == 3 else w)
        return np.array(cv2.sumElems(weighted)[: _channels(values)], np.float32).squeeze() / np.float32(total)

    def upsample(self, cells: np.ndarray) -> np.ndarray:
        """A grid array brought to the patch's full resolution (bilinear)."""
        if self.cell == 1:
            return cells
        height, width = self.patch.alpha.shape
        return cv2.resize(cells, (width, height), interpolation=cv2.INTER_LINEAR)

    def delta(
        self,
        target_lab: np.ndarray,
        fade: np.ndarray | None = None,
        multiply: bool = False,
        amount: float = 1.0,
    ) -> np.ndarray:
        """The full-resolution change (float32 BGR, 0..255 units) that moves each cell to ``target_lab``.

        Args:
            target_lab: the new Lab colour of each cell.
            fade: per-cell factor (0..1) on the change, for soft edges computed on the grid.
            multiply: scale each pixel by its cell's change (keeps relative contrast, like a multiply blend)
                instead of adding the same offset to every pixel of the cell.
            amount: a factor on the whole change (applied on the grid, where it costs nothing).
        """
        target = cv2.cvtColor(target_lab.astype(np.float32, copy=False), cv2.COLOR_Lab2BGR)
        if multiply:
            change = target / np.maximum(self.bgr, 1.0 / 255.0) - np.float32(1.0)
            np.clip(change, -0.9, 2.0, out=change)
            change *= np.float32(amount)
        else:
            change = (target - self.bgr) * np.float32(255.0 * amount)
        if fade is not None:
            fade = fade.astype(np.float32, copy=False)
            cv2.multiply(change, cv2.merge((fade, fade, fade)), dst=change)
        full = self.upsample(change)
        if multiply:
            cv2.multiply(full, self.pixels, dst=full)
        return full

    def write(
        self, target_lab: np.ndarray, amount: float, fade: np.ndarray | None = None, multiply: bool = False
    ) -> None:
        """Moves the patch's pixels toward ``target_lab`` by the mask's alpha times ``amount``, keeping texture.

        See :meth:`delta` for ``fade`` and ``multiply``.
        """
        add_field(self.patch.view, self.pixels, self.delta(target_lab, fade, multiply, amount), self.alpha3)
