"""The parsing value objects that flow from perception to effects: :class:`Face` and :class:`FrameParse`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from tryon.errors import InputError, ParseError
from tryon.geometry import Box, RoiMask, nearest_centre
from tryon.parsing.classes import BODY_CLASSES, CLASS_INDEX, CLASSES, FACE_CLASSES, REGIONS

__all__ = ["Face", "FrameParse"]

NUM_LANDMARKS = 478

#: What :meth:`FrameParse.mask` gives: every class, every effect region, and the person mask.
_MASK_NAMES: tuple[str, ...] = (*CLASSES, *REGIONS, "person")


def _check_masks(masks: Mapping[str, RoiMask], allowed: Iterable[str], owner: str, shape: tuple[int, int]) -> None:
    allowed = set(allowed)
    for name, mask in masks.items():
        if name not in allowed:
            raise ParseError(f"{owner}: unknown mask {name!r}; allowed: {', '.join(sorted(allowed))}")
        if not isinstance(mask, RoiMask):
            raise ParseError(f"{owner}: mask {name!r} must be a RoiMask, got {type(mask).__name__}")
        b = mask.box
        if not mask.box.empty and (b.x0 < 0 or b.y0 < 0 or b.x1 > shape[1] or b.y1 > shape[0]):
            raise ParseError(f"{owner}: mask {name!r} box {b} lies outside the frame {shape[1]}x{shape[0]}")


@dataclass(frozen=True, eq=False)  # compared by identity: numpy fields make field-wise == ambiguous
class Face:
    """One face in a frame.

    Attributes:
        id: stable identity across frames of a stream (0, 1, ... in order of appearance).
        landmarks: ``478x3`` float32 MediaPipe face mesh points in pixels (x, y; z in the same scale).
        box: the face's box in the frame (clipped to it).
        masks: soft masks of the face classes (``face_skin`` ... ``mouth_interior``) and effect regions.
        cut_by_edge: True when part of the face lies outside the frame.
    """

    id: int
    landmarks: np.ndarray
    box: Box
    masks: Mapping[str, RoiMask] = field(default_factory=dict)
    cut_by_edge: bool = False

    def __post_init__(self) -> None:
        lm = self.landmarks
        if not isinstance(lm, np.ndarray) or lm.dtype != np.float32 or lm.shape != (NUM_LANDMARKS, 3):
            got = f"{lm.shape} {lm.dtype}" if isinstance(lm, np.ndarray) else type(lm).__name__
            raise ParseError(f"face {self.id}: landmarks must be {NUM_LANDMARKS}x3 float32 pixels, got {got}")
        if not np.all(np.isfinite(lm)):
            raise ParseError(f"face {self.id}: landmarks hold NaN or infinite values")
        object.__setattr__(self, "masks", MappingProxyType(dict(self.masks)))

    def __reduce__(self) -> tuple[object, ...]:  # the read-only view of the masks does not pickle; a dict does
        return (Face, (self.id, self.landmarks, self.box, dict(self.masks), self.cut_by_edge))

    def mask(self, name: str) -> RoiMask:
        """The face's soft mask ``name`` (a face class or an effect region).

        Raises:
            KeyError: listing the masks this face has.
        """
        try:
            return self.masks[name]
        except KeyError:
            raise KeyError(f"face {self.id} has no mask {name!r}; it has: {', '.join(sorted(self.masks))}") from None

    @property
    def points(self) -> np.ndarray:
        """Landmarks as ``478x2`` float32 pixel coordinates."""
        return self.landmarks[:, :2]


@dataclass(frozen=True, eq=False)  # as Face
class FrameParse:
    """Everything tryon knows about one frame: faces, per-class soft masks, and the person mask.

    Built once per frame by a parser and validated here, so effects can rely on it.

    Attributes:
        shape: the frame's ``(height, width)``.
        faces: the faces found, ordered by id.
        masks: frame-level soft masks of the body classes (``hair``, ``neck``, ``body_skin``, ``clothes``).
        person: soft person-versus-background mask, or None when no segmenter ran.
    """

    shape: tuple[int, int]
    faces: tuple[Face, ...] = ()
    masks: Mapping[str, RoiMask] = field(default_factory=dict)
    person: RoiMask | None = None

    def __post_init__(self) -> None:
        if len(self.shape) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in self.shape):
            raise ParseError(f"frame shape must be (height, width) of positive ints, got {self.shape!r}")
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))
        object.__setattr__(self, "faces", tuple(self.faces))
        ids = [f.id for f in self.faces]
        if len(set(ids)) != len(ids):
            raise ParseError(f"face ids must be unique, got {ids}")
        for face in self.faces:
            _check_masks(face.masks, (*FACE_CLASSES, *REGIONS), f"face {face.id}", self.shape)
        _check_masks(self.masks, BODY_CLASSES, "frame", self.shape)
        object.__setattr__(self, "masks", MappingProxyType(dict(self.masks)))
        if self.person is not None:
            _check_masks({"person": self.person}, ("person",), "frame", self.shape)

    def __reduce__(self) -> tuple[object, ...]:  # as Face: parses can go to other processes (batch rendering)
        return (FrameParse, (self.shape, self.faces, dict(self.masks), self.person))

    def face(self, face_id: int) -> Face:
        """The face with ``face_id``.

        Raises:
            KeyError: listing the ids present.
        """
        for f in self.faces:
            if f.id == face_id:
                return f
        raise KeyError(f"no face with id {face_id}; ids present: {[f.id for f in self.faces]}")

    def only(self, face_ids: Iterable[int], split_body: bool = True) -> FrameParse:
        """A copy that keeps only the faces in ``face_ids`` and their people's body classes (for per-face looks).

        Each body-class pixel goes to the person whose face centre is nearest, so one person's hair colour or
        clothing does not reach their neighbour's. The person mask stays whole: the background is everyone's.
        ``split_body=False`` skips that split (a look that reads no body class need not pay for it).
        """
        keep = set(face_ids)
        faces = tuple(f for f in self.faces if f.id in keep)
        if not split_body or len(faces) == len(self.faces) or not self.faces:
            return FrameParse(self.shape, faces, self.masks, self.person)
        centres = [f.points.mean(axis=0) for f in self.faces]
        kept = np.array([f.id in keep for f in self.faces])
        masks = {}
        for name, mask in self.masks.items():
            if mask.box.empty:
                masks[name] = mask
                continue
            mine = kept[nearest_centre(mask.box, centres)]
            masks[name] = RoiMask(mask.box, np.where(mine, mask.alpha, 0).astype(np.uint8))
        return FrameParse(self.shape, faces, masks, self.person)

    def mask(self, name: str) -> np.ndarray:
        """A full-frame uint8 soft mask of a class, an effect region or ``person``, merged over all faces.

        ``background`` is what no class claims: 255 less the strongest class, so it reaches 128 exactly where
        :meth:`labels` says background. A class that was not parsed (the body classes, for a look that reads none)
        is all zeros.

        Raises:
            KeyError: for a name that is none of those, listing them.
        """
        if name not in _MASK_NAMES:
            raise KeyError(f"no mask {name!r}; masks are: {', '.join(_MASK_NAMES)}")
        out = np.zeros(self.shape, np.uint8)
        if name == "background":
            for mask in self.masks.values():
                mask.paste_max(out)
            for face in self.faces:
                for part in FACE_CLASSES:
                    if part in face.masks:
                        face.masks[part].paste_max(out)
            return np.subtract(255, out, out=out)
        if name in self.masks:
            self.masks[name].paste_max(out)
        elif name == "person" and self.person is not None:
            self.person.paste_max(out)
        else:
            for face in self.faces:
                if name in face.masks:
                    face.masks[name].paste_max(out)
        return out

    def labels(self, threshold: int = 128) -> np.ndarray:
        """The partition as an ``HxW`` uint8 label image (indices of :data:`~tryon.parsing.classes.CLASSES`).

        Body classes are painted first, then each face's classes in :data:`FACE_CLASSES` order, each where its
        soft mask reaches ``threshold``; later classes win, so a parser keeps them consistent.

        Raises:
            InputError: for a ``threshold`` that is not a whole number in 1..255.
        """
        if not isinstance(threshold, (int, np.integer)) or isinstance(threshold, bool) or not 1 <= threshold <= 255:
            raise InputError(f"threshold must be a whole number in 1..255, got {threshold!r}")
        out = np.zeros(self.shape, np.uint8)

        def paint(name: str, mask: RoiMask) -> None:
            clip = mask.box.clip(self.shape)
            if clip.empty:
                return
            alpha = mask.alpha[clip.relative_to(mask.box).slices]
            out[clip.slices][alpha >= threshold] = CLASS_INDEX[name]

        for name in BODY_CLASSES:
            if name in self.masks and name != "hair":
                paint(name, self.masks[name])
        for face in sorted(self.faces, key=lambda f: f.box.width * f.box.height):
            if "face_skin" in face.masks:
                paint("face_skin", face.masks["face_skin"])
        if "hair" in self.masks:
            paint("hair", self.masks["hair"])
        for face in sorted(self.faces, key=lambda f: f.box.width * f.box.height):
            for name in FACE_CLASSES[1:]:
                if name in face.masks:
                    paint(name, face.masks[name])
        return out
