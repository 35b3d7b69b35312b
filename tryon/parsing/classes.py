"""The canonical parsing classes (a partition: one class per pixel) and the effect regions that overlap it."""

from __future__ import annotations

from collections.abc import Set
from typing import Union

__all__ = [
    "CLASSES",
    "CLASS_INDEX",
    "FACE_CLASSES",
    "BODY_CLASSES",
    "BodyRequest",
    "REGIONS",
    "class_index",
    "legend",
]

#: Canonical classes in label-image order. "left" is the subject's left (the image's right).
CLASSES: tuple[str, ...] = (
    "background",
    "face_skin",
    "nose",
    "left_brow",
    "right_brow",
    "left_eye",
    "right_eye",
    "upper_lip",
    "lower_lip",
    "mouth_interior",
    "hair",
    "neck",
    "body_skin",
    "clothes",
)
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}

#: Classes a face carries (built from its landmarks), in painting order.
FACE_CLASSES: tuple[str, ...] = (
    "face_skin",
    "nose",
    "left_brow",
    "right_brow",
    "left_eye",
    "right_eye",
    "upper_lip",
    "lower_lip",
    "mouth_interior",
)

#: Classes of the whole frame (person layout), in painting order.
BODY_CLASSES: tuple[str, ...] = ("clothes", "body_skin", "neck", "hair")

#: What a parser is asked for besides the faces: no body classes (False), all of them (True), or the named ones
#: (and ``"person"`` for the person mask), a hint a parser may go beyond but never below.
BodyRequest = Union[bool, Set[str]]

#: Effect regions: soft masks that overlap the partition, one set per face.
REGIONS: tuple[str, ...] = (
    "lips",  # upper + lower lip
    "cheeks",
    "lids",  # the eyeshadow zone between lash line and brow
    "crease",  # a band along the eye socket's crease
    "upper_lash_line",
    "lower_lash_line",
    "irises",  # clipped by the eyelids, pupils kept
    "teeth",
    "under_eye",
    "contour",  # below the cheekbones, temples, jaw
    "highlight",  # cheekbone tops, nose bridge, cupid's bow, chin
    "brows",  # both brows
    "face",  # the whole facial skin area (skin + nose), for foundation and smoothing
)


def class_index(name: str) -> int:
    """The label index of a canonical class name.

    Raises:
        KeyError: with the valid names, for an unknown name.
    """
    try:
        return CLASS_INDEX[name]
    except KeyError:
        raise KeyError(f"unknown class {name!r}; valid classes: {', '.join(CLASSES)}") from None


def legend() -> dict[int, str]:
    """The label-index to class-name map written by ``tryon parse --legend``."""
    return dict(enumerate(CLASSES))
