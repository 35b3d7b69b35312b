"""Colours as values, and the colour maths the compositor relies on.

All Lab values use CIE L*a*b* (D65) with L in [0, 100] and a, b roughly in [-128, 127], as OpenCV computes them
for float32 input in [0, 1].
"""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from tryon.errors import InputError

__all__ = ["Color", "bgr_to_lab", "lab_to_bgr", "short_repr"]

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_HEX3 = re.compile(r"^#?([0-9a-fA-F]{3})$")

# Error messages quote the user's value: reprlib keeps that short (and cheap) however large or deep the value is.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 2, 6, 6, 4
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 76


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters (containers shown to two levels), for error messages.

    Every message that quotes a user's value uses it, so a huge or deeply nested value (a YAML "billion laughs")
    cannot make a message of megabytes.
    """
    text = _REPR.repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _is_channel(value: object) -> bool:
    """Whether ``value`` is a whole number in 0..255 (an int or numpy integer, not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= int(value) <= 255


@dataclass(frozen=True)
class Color:
    """An sRGB colour.

    Example:
        >>> Color.from_hex("#B0123F").lab  # doctest: +ELLIPSIS
        (...)
    """

    r: int
    g: int
    b: int

    def __post_init__(self) -> None:
        for name in ("r", "g", "b"):
            value = getattr(self, name)
            if not _is_channel(value):
                raise InputError(f"colour channel {name} must be an integer in 0..255, got {short_repr(value)}")

    @classmethod
    def from_hex(cls, text: str) -> Color:
        """Builds a colour from ``#RRGGBB`` (or ``RRGGBB``, ``#RGB``)."""
        if not isinstance(text, str):
            raise InputError(f"colour must be a hex string like '#B0123F', got {short_repr(text)}")
        match = _HEX.match(text.strip())
        if match:
            digits = match.group(1)
        else:
            short = _HEX3.match(text.strip())
            if not short:
                raise InputError(f"colour must be a hex string like '#B0123F', got {short_repr(text)}")
            digits = "".join(c * 2 for c in short.group(1))
        return cls(int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))

    @classmethod
    def parse(cls, value: object) -> Color:
        """Accepts a :class:`Color`, a hex string or an ``[r, g, b]`` list of three whole numbers in 0..255.

        Raises:
            InputError: for anything else, including fractions (``[0.5, 0.5, 0.5]``) and booleans in a list.
        """
        if isinstance(value, Color):
            return value
        if isinstance(value, str):
            return cls.from_hex(value)
        if isinstance(value, (list, tuple)) and len(value) == 3:
            if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
                return cls(*(int(v) for v in value))  # which names a channel out of range
            raise InputError(
                "colour [r, g, b] must be 3 whole numbers in 0..255 (not fractions or true/false), or '#RRGGBB'; "
                f"got {short_repr(value)}"
            )
        raise InputError(f"colour must be '#RRGGBB' or [r, g, b], got {short_repr(value)}")

    @property
    def hex(self) -> str:
        """The colour as ``#RRGGBB``."""
        return f"#{self.r:02X}{self.g:02X}{self.b:02X}"

    @property
    def bgr(self) -> tuple[int, int, int]:
        """The colour in OpenCV's channel order."""
        return (self.b, self.g, self.r)

    @property
    def lab(self) -> tuple[float, float, float]:
        """The colour in CIE Lab (L in 0..100)."""
        return _lab_of(self.r, self.g, self.b)

    def __str__(self) -> str:
        return self.hex


@lru_cache(maxsize=1024)
def _lab_of(r: int, g: int, b: int) -> tuple[float, float, float]:
    pixel = np.array([[(b, g, r)]], dtype=np.float32) / 255.0
    lab = cv2.cvtColor(pixel, cv2.COLOR_BGR2Lab)[0, 0]
    return (float(lab[0]), float(lab[1]), float(lab[2]))


def bgr_to_lab(bgr: np.ndarray) -> np.ndarray:
    """Converts a BGR uint8 image to float32 Lab (L in 0..100)."""
    return cv2.cvtColor(bgr.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_BGR2Lab)


def lab_to_bgr(lab: np.ndarray) -> np.ndarray:
    """Converts float32 Lab back to BGR uint8, clipping out-of-gamut values."""
    bgr = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)
    return np.clip(bgr * 255.0 + 0.5, 0, 255).astype(np.uint8)
