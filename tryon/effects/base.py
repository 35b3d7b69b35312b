"""The effect contract, the effect registry and the blending primitives every effect shares.

An effect is a small class with typed options (a dataclass) and one method, ``apply(frame, parse) -> frame``.
It changes the frame in place, only inside the bounding boxes of its masks, and returns it.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from tryon.color import Color, short_repr
from tryon.errors import InputError, LookError
from tryon.geometry import Box, RoiMask
from tryon.options import build_options
from tryon.parsing.frame_parse import Face, FrameParse

__all__ = [
    "Effect",
    "EFFECTS",
    "effect_class",
    "create_effect",
    "Patch",
    "is_blank",
    "lab_shift",
    "lab_target_shift",
    "lab_to_bgr255",
    "lerp",
    "mix",
    "unit",
    "weighted_mean",
]


def check_target(frame: object, parse: object) -> None:
    """Refuses what an effect cannot draw into: effects write a writable HxWx3 BGR uint8 frame, in place.

    :meth:`tryon.Pipeline.render` converts other frames (dtypes, layouts, read-only arrays) first.

    Raises:
        InputError: naming what came.
    """
    if not isinstance(parse, FrameParse):
        raise InputError(f"parse must be a FrameParse, got {type(parse).__name__}")
    if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3):
        got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise InputError(
            f"effects draw into an HxWx3 BGR uint8 frame, got {got} (Pipeline.render converts other frames)"
        )
    if not frame.flags.writeable:
        raise InputError("effects draw into the frame in place, and this one is read-only (pass a copy)")
    if frame.shape[:2] != parse.shape:
        h, w = parse.shape
        raise InputError(f"parse is for a {w}x{h} frame, got {frame.shape[1]}x{frame.shape[0]}")


class Effect(ABC):
    """Base class of effects: typed ``options``, and ``apply`` that touches only the effect's mask boxes.

    Subclasses set ``name`` and ``Options`` (a dataclass with an ``intensity`` field in [0, 1]) and implement
    :meth:`apply_face`.
    """

    name: ClassVar[str]
    Options: ClassVar[type]
    #: True when the effect reads the body classes (hair, clothes, ...) or the person mask, which the pipeline
    #: then computes; face-only effects leave it False so live looks skip segmentation.
    needs_body: ClassVar[bool] = False
    #: True when the effect reads only the person mask (the background): the pipeline then computes that mask
    #: without the body classes.
    needs_person: ClassVar[bool] = False
    #: The body classes an effect with ``needs_body`` reads (``{"hair"}``...); the parser may then skip the others
    #: (a model's masks carried to each frame are moved only where they are read). Empty: all of them.
    body_classes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, options: Any = None) -> None:
        self.options = options if options is not None else self.Options()
        if not isinstance(self.options, self.Options):
            raise LookError(f"{self.name}: options must be {self.Options.__name__}, got {type(options).__name__}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "") -> Effect:
        """Builds the effect from plain data, validating every option."""
        return cls(build_options(cls.Options, data, where or cls.name))

    def apply(self, frame: np.ndarray, parse: FrameParse) -> np.ndarray:
        """Applies the effect to every face of ``parse`` in place and returns ``frame``.

        Raises:
            InputError: for a frame it cannot draw into (see :func:`check_target`).
        """
        check_target(frame, parse)
        if getattr(self.options, "intensity", 1.0) <= 0:
            return frame
        for face in parse.faces:
            self.apply_face(frame, face, parse)
        return frame

    @abstractmethod
    def apply_face(self, frame: np.ndarray, face: Face, parse: FrameParse) -> None:
        """Applies the effect to one face, in place."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"


# name -> "module:Class", imported on first use.
EFFECTS: dict[str, str] = {
    "background": "tryon.effects.background:Background",
    "clothing": "tryon.effects.clothing:Clothing",
    "hair_color": "tryon.effects.hair_color:HairColor",
    "smoothing": "tryon.effects.smoothing:Smoothing",
    "foundation": "tryon.effects.foundation:Foundation",
    "concealer": "tryon.effects.concealer:Concealer",
    "contour": "tryon.effects.contour:Contour",
    "blush": "tryon.effects.blush:Blush",
    "highlighter": "tryon.effects.highlighter:Highlighter",
    "eyeshadow": "tryon.effects.eyeshadow:Eyeshadow",
    "eyeliner": "tryon.effects.eyeliner:Eyeliner",
    "mascara": "tryon.effects.mascara:Mascara",
    "brows": "tryon.effects.brows:Brows",
    "lenses": "tryon.effects.lenses:Lenses",
    "lip_liner": "tryon.effects.lip_liner:LipLiner",
    "lipstick": "tryon.effects.lipstick:Lipstick",
    "teeth_whitening": "tryon.effects.teeth:TeethWhitening",
}


def effect_class(name: str) -> type[Effect]:
    """The effect class registered as ``name``.

    Raises:
        LookError: for an unknown name, listing the valid ones.
    """
    if not isinstance(name, str):
        raise LookError(f"effect names are text, such as 'lipstick'; got {short_repr(name)}")
    target = EFFECTS.get(name)
    if target is None:
        raise LookError(f"unknown effect {short_repr(name)}; valid effects: {', '.join(EFFECTS)}")
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls  # type: ignore[no-any-return]


def create_effect(name: str, options: Mapping[str, Any] | None = None, where: str = "") -> Effect:
    """Builds a registered effect from plain option data.

    Args:
        name: a name of :data:`EFFECTS`.
        options: a mapping of option names to values, as a look file gives them (strings are accepted for
            numbers, colours and enums); None for the defaults.
        where: prefix for messages (default: ``name``).

    Raises:
        LookError: for an unknown effect (listing the valid ones), options that are not a mapping, an unknown
            option or a bad value.

    Example:
        >>> create_effect("lipstick", {"color": "#9E1B32", "finish": "matte"}).options.finish.value
        'matte'
    """
    return effect_class(name).from_dict(options, where or name)


# OpenCV's 8-bit Lab (L * 255 / 100, a + 128, b + 128) to float Lab, as a cv2.transform matrix.
_LAB8_TO_LAB = np.array([[100.0 / 255.0, 0, 0, 0], [0, 1, 0, -128.0], [0, 0, 1, -128.0]], np.float32)


@dataclass
class Patch:
    """A frame region to edit: the box, a view of the frame there, and the mask's alpha (float32, 0..1)."""

    box: Box
    view: np.ndarray
    alpha: np.ndarray

    @classmethod
    def of(cls, frame: np.ndarray, mask: RoiMask, pad: int = 0) -> Patch | None:
        """The patch covering ``mask`` (grown by ``pad`` pixels), or None when the mask is empty there."""
        if is_blank(mask):
            return None
        box = mask.box.grow(pad).clip(frame.shape) if pad else mask.box.clip(frame.shape)
        if box.empty:
            return None
        alpha = unit(mask.crop(box))
        return cls(box, frame[box.slices], alpha)

    def lab(self) -> np.ndarray:
        """The patch in float32 Lab (L in 0..100)."""
        return cv2.cvtColor(self.view.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_BGR2Lab)

    def quick_lab(self) -> np.ndarray:
        """The patch in float32 Lab (L in 0..100) through OpenCV's 8-bit conversion, about twice as fast.

        The 8-bit conversion works from lookup tables: L is within about 0.5 and a*, b* within 2 units of
        :meth:`lab` (0.25 on average), far below what shows once a shade's colour replaces the skin's.
        """
        lab = cv2.cvtColor(self.view, cv2.COLOR_BGR2Lab).astype(np.float32)
        return cv2.transform(lab, _LAB8_TO_LAB, dst=lab)

    def mean_lab(self, lab: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        """The alpha-weighted mean Lab colour of the patch."""
        return weighted_mean(lab, self.alpha if weight is None else weight)

    def write(self, new_bgr: np.ndarray, amount: float | np.ndarray = 1.0) -> None:
        """Blends ``new_bgr`` (float32 or uint8 BGR, the patch's size) into the frame by ``alpha * amount``.

        Pixels where the weight is zero are left byte-identical.
        """
        mix(self.view, new_bgr, self.alpha * amount)


def unit(alpha: np.ndarray) -> np.ndarray:
    """A uint8 mask as float32 in 0..1 (one pass: converted and scaled together)."""
    return np.multiply(alpha, np.float32(1.0 / 255.0), dtype=np.float32)


def weighted_mean(lab: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The ``weight``-weighted mean colour of an HxWx3 float32 image (the plain mean where the weights sum to 0).

    OpenCV's multiply and sum: several times faster than numpy's weighted copy and sum, and no BLAS call (whose
    threads stall for milliseconds when the cores are busy).
    """
    w = weight.astype(np.float32, copy=False)
    total = float(cv2.sumElems(w)[0])
    if total <= 1e-6:
        return np.array(cv2.mean(lab)[:3], np.float32)
    sums = cv2.sumElems(cv2.multiply(lab, cv2.merge((w, w, w))))
    return np.array(sums[:3], np.float32) / np.float32(total)


def is_blank(mask: RoiMask) -> bool:
    """``mask.is_empty``, counted by OpenCV (numpy's ``any`` on uint8 first converts the whole mask to bool)."""
    return mask.box.empty or cv2.countNonZero(mask.alpha) == 0


def mix(dst: np.ndarray, new: np.ndarray, weight: np.ndarray) -> None:
    """``dst = dst + (new - dst) * weight`` in place (uint8 BGR ``dst``), leaving weight-0 pixels untouched.

    OpenCV's arithmetic keeps this a few passes over the patch (it runs once or twice per effect and face). A
    pixel of weight 0 gets ``dst + 0`` back exactly, so it stays byte-identical (``new`` is always finite).
    """
    w = cv2.max(cv2.min(weight.astype(np.float32, copy=False), 1.0), 0.0)
    base = dst.astype(np.float32)
    # The last addition writes uint8 straight into ``dst``: OpenCV rounds and saturates (negatives to 0).
    cv2.add(_lerp_step(base, new, w), base, dst=dst, dtype=cv2.CV_8U)


def lerp(a: np.ndarray, b: np.ndarray | float, t: np.ndarray) -> np.ndarray:
    """``a + (b - a) * t`` for float32 BGR ``a``, a colour, image or grey level ``b`` and a per-pixel ``t`` (HxW).

    OpenCV's arithmetic: numpy broadcasting a weight over three channels is several times slower.
    """
    a = a.astype(np.float32, copy=False)
    out = _lerp_step(a, b, t)
    cv2.add(out, a, dst=out)
    return out


def _lerp_step(a: np.ndarray, b: np.ndarray | float, t: np.ndarray) -> np.ndarray:
    """``(b - a) * t`` (a new float32 array) for :func:`lerp`'s arguments, ``a`` already float32."""
    if isinstance(b, np.ndarray) and b.shape == a.shape:
        out = cv2.subtract(b.astype(np.float32, copy=False), a)
    else:  # one colour: a per-channel scalar
        out = cv2.subtract((*np.broadcast_to(np.asarray(b, np.float64), (3,)).tolist(), 0.0), a)
    t = t.astype(np.float32, copy=False)
    cv2.multiply(out, cv2.merge((t, t, t)), dst=out)
    return out


def lab_shift(
    lab: np.ndarray,
    ref: np.ndarray,
    target: Color | tuple[float, float, float],
    lightness: float = 0.7,
    texture: float = 1.0,
    chroma_texture: float = 0.3,
) -> np.ndarray:
    """Like :func:`lab_target_shift` but returns float32 Lab, for effects that layer several shifts."""
    t = np.asarray(target.lab if isinstance(target, Color) else target, dtype=np.float32)
    r = np.asarray(ref, np.float32)
    # A pigment hides the skin's colour variations as much as it outweighs the skin's own colour: a grey or black
    # over skin keeps almost none of the skin's redder folds and blotches (they would show as coloured lines on a
    # neutral shade), a vivid shade keeps them all.
    chroma_texture *= min(1.0, (math.hypot(t[1], t[2]) + 4.0) / (math.hypot(r[1], r[2]) + 4.0))
    # One affine map per pixel: L' = texture * L + (the shifted mean minus texture * its L), and likewise a*, b*.
    shift = np.array(
        [
            [texture, 0.0, 0.0, r[0] + (t[0] - r[0]) * lightness - r[0] * texture],
            [0.0, chroma_texture, 0.0, t[1] - r[1] * chroma_texture],
            [0.0, 0.0, chroma_texture, t[2] - r[2] * chroma_texture],
        ],
        np.float32,
    )
    out = cv2.transform(lab, shift)
    cv2.min(out, (100.0, np.inf, np.inf, 0.0), dst=out)
    cv2.max(out, (0.0, -np.inf, -np.inf, 0.0), dst=out)
    return out


def lab_to_bgr255(lab: np.ndarray) -> np.ndarray:
    """float32 Lab to float32 BGR scaled 0..255 (ready for :meth:`Patch.write`)."""
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)
    np.multiply(out, np.float32(255.0), out=out)  # numpy: OpenCV's multiply by a scalar is ~8x slower
    return out


def lab_target_shift(
    lab: np.ndarray,
    ref: np.ndarray,
    target: Color | tuple[float, float, float],
    lightness: float = 0.7,
    texture: float = 1.0,
    chroma_texture: float = 0.3,
) -> np.ndarray:
    """Moves a Lab patch toward ``target`` while keeping the skin's own texture.

    The mean colour ``ref`` is moved to the target; each pixel keeps its deviation from the mean (its texture,
    pores, lighting), scaled by ``texture`` for L and ``chroma_texture`` for a/b. ``lightness`` < 1 keeps part of
    the original brightness, so a dark shade on pale skin and a pale one on deep skin both stay plausible.

    Returns:
        float32 BGR in [0, 1]-scaled units times 255 (ready for :meth:`Patch.write`).
    """
    return lab_to_bgr255(lab_shift(lab, ref, target, lightness, texture, chroma_texture))
