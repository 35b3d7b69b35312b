"""Fusion: the landmark parser's faces, a model's body probabilities and the person mask, as one partition.

The faces come from landmarks and are authoritative on the face; a body model (:mod:`tryon.parsing.backends`)
says hair, skin and clothes everywhere else. :func:`fuse` resolves them into the frame's body masks (``hair``,
``neck``, ``body_skin``, ``clothes``) so that :meth:`FrameParse.labels` stays a partition:

- face classes win on the face; hair wins over the facial skin only where the model is confident and above the
  eyes (bangs), never on the lower face (a beard is not hair);
- skin below the jaw is ``neck`` (fading out about half a face height under the chin, along the face's axis), the
  rest of the skin ``body_skin``; a model with its own neck channel is taken at its word. With faces, the model's
  skin must also look like the faces' skin (a chroma model from the face pixels), so a beige jacket is not skin;
- ``body_skin`` versus ``clothes`` is the model's; where a person mask exists, everything is clipped by it (except
  skin the model is sure of near the person: person masks miss outstretched hands), and the person below the
  faces that no class claims becomes clothes, as far as the person mask is sure of the person (a pixel it gives
  0.4 is at most 0.4 clothes). On photos the mask's unsure edges are first snapped to the frame's colour edges
  for the skin and clothes (a guided filter): segmenters' edges are blobby between legs and beside people;
- the body masks are made to add up to at most one, and within the person to fill what the faces leave (no
  unlabelled seam between the face and the hair); then the hair's edges are refined with a guided filter on the
  frame (``cv2.ximgproc``), so they follow the hair.

The work is done on a grid of at most :attr:`FusionOptions.work_size` pixels on the long side, and each mask is
brought back to the frame within its own box.

On photos, :class:`ModelFrameParser` runs the model on the whole frame and again in a few square windows around
the faces' people (:func:`person_windows`) when they are small in the frame, as in a group photo, where the whole
frame squeezed into the network's input leaves each person a thin, stretched sliver of it.

Example:
    >>> from tryon.parsing.backends import onnx_backend
    >>> parser = ModelFrameParser(onnx_backend("skin-clothes-hair-onnx"))  # doctest: +SKIP
    >>> parse = parser.parse(frame, perception(frame))  # doctest: +SKIP
    >>> parse.mask("hair").shape == frame.shape[:2]  # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Literal, Optional

import cv2
import numpy as np

from tryon.errors import InputError
from tryon.geometry import Box, RoiMask
from tryon.image import to_alpha8
from tryon.options import option_range
from tryon.parsing._features import covariance
from tryon.parsing.backends.base import BodyBackend, BodyProbs, predict_windows, resize_plane
from tryon.parsing.body import body_masks
from tryon.parsing.classes import BODY_CLASSES, FACE_CLASSES, BodyRequest
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.parsing.model_worker import LatestWorker, carry_masks
from tryon.parsing.parser import LandmarkFrameParser, ParserOptions
from tryon.perception import topology as tp
from tryon.perception.detector import PerceptionResult

__all__ = ["FusionOptions", "ModelFrameParser", "fuse", "person_windows"]

log = logging.getLogger(__name__)

#: Every class that is skin: what a model's "skin" channel may cover.
SKIN_CLASSES: frozenset[str] = frozenset((*FACE_CLASSES, "neck", "body_skin"))

#: The jaw, from the subject's left jaw angle through the chin to the right one (face-oval points).
_JAW = tuple(tp.FACE_OVAL[tp.FACE_OVAL.index(361) : tp.FACE_OVAL.index(132) + 1])
#: Masks are cut to the pixels above this alpha (of 255) when brought back to the frame.
_TIGHT = 4
#: A person probability this close to 0 or 1 is sure: edge refinement leaves it alone.
_SURE = 0.02


@dataclass(frozen=True)
class FusionOptions:
    """Options of :func:`fuse`.

    Attributes:
        work_size: the long side, in pixels, of the grid the fusion works on (masks are upsampled from it).
        hair_over_face: the hair probability from which hair wins over the facial skin (bangs, strands).
        neck_depth: how far the neck reaches below the jaw, in face heights (forehead to chin).
        neck_width: the neck's width at its base, as a fraction of the jaw's width.
        clothes_fill: person pixels below the faces (anywhere without faces) that no class claims become clothes
            (needs a person mask).
        skin_colour: with faces, weigh the model's skin by how much its colour looks like the faces' skin.
        skin_colour_spread: how far from the faces' skin chroma a colour still counts as skin (in standard
            deviations of the face's own chroma).
        skin_over_person: the skin probability from which skin near the person survives outside the person mask
            (1 turns this off).
        refine_radius: the guided filter's radius in grid pixels (0 turns the classes' edge refinement off; the
            person mask's is ``refine_person``).
        refine_eps: the guided filter's regularisation (on a guide in [0, 1]): smaller follows edges more closely.
        refine_all: refine every class's edges, not only the hair's.
        refine_person: snap the person mask's edges to the frame (a guided filter on its colours) before it clips
            the skin and clothes; the hair keeps the mask as it is (its own edges are refined). None: on for
            photos (and in :func:`fuse`), off in video, where it would add about 3 ms to each model run.
        person_radius: that filter's radius in grid pixels (its regularisation is ``refine_eps``).
        windows: on photos, run the model again in square windows around the faces' people where they are small
            in the frame (see :func:`person_windows`); video is unaffected.
        window_faces: a window's side, in face heights (at most the frame's short side).
    """

    work_size: int = field(default=384, metadata=option_range(64, 4096))
    hair_over_face: float = field(default=0.8, metadata=option_range(0.0, 1.0))
    neck_depth: float = field(default=0.6, metadata=option_range(0.0, 3.0))
    neck_width: float = field(default=0.8, metadata=option_range(0.1, 2.0))
    clothes_fill: bool = True
    skin_colour: bool = True
    skin_colour_spread: float = field(default=3.0, metadata=option_range(0.5, 100.0))
    skin_over_person: float = field(default=0.9, metadata=option_range(0.0, 1.0))
    refine_radius: int = field(default=4, metadata=option_range(0, 64))
    refine_eps: float = field(default=1e-3, metadata=option_range(1e-6, 1.0))
    refine_all: bool = False
    refine_person: Optional[bool] = None
    person_radius: int = field(default=8, metadata=option_range(1, 64))
    windows: bool = True
    window_faces: float = field(default=8.0, metadata=option_range(2.0, 100.0))

    def __post_init__(self) -> None:
        for f in self.__dataclass_fields__.values():
            bounds = f.metadata.get("range")
            value = getattr(self, f.name)
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                raise InputError(f"fusion option {f.name} must be in [{bounds[0]}, {bounds[1]}], got {value!r}")


def _grid(shape: tuple[int, int], work_size: int) -> tuple[float, tuple[int, int]]:
    h, w = shape
    scale = min(1.0, work_size / max(h, w))
    return scale, (max(1, round(h * scale)), max(1, round(w * scale)))


def _to_grid(mask: RoiMask, scale: float, grid: tuple[int, int], out: np.ndarray) -> None:
    """Merges a full-frame mask into ``out`` (float32 on the grid, 0..1) by maximum, resizing only its box."""
    if mask.box.empty:
        return
    b = mask.box
    gb = Box(int(b.x0 * scale), int(b.y0 * scale), int(np.ceil(b.x1 * scale)), int(np.ceil(b.y1 * scale))).clip(grid)
    if gb.empty:
        return
    small = cv2.resize(mask.alpha, (gb.width, gb.height), interpolation=cv2.INTER_AREA)
    np.maximum(out[gb.slices], small.astype(np.float32) * np.float32(1.0 / 255.0), out=out[gb.slices])


def _face_area(faces: Sequence[Face], scale: float, grid: tuple[int, int]) -> np.ndarray:
    """The union of every face class of every face, on the grid."""
    area = np.zeros(grid, np.float32)
    for face in faces:
        names = [n for n in FACE_CLASSES if n in face.masks and not face.masks[n].box.empty]
        if not names:
            continue
        box = Box(0, 0, 0, 0)
        for n in names:
            box = box.union(face.masks[n].box)
        union = np.zeros((box.height, box.width), np.uint8)
        for n in names:
            np.maximum(union, face.masks[n].crop(box), out=union)
        _to_grid(RoiMask(box, union), scale, grid, area)
    return area


def _neck_prior(faces: Sequence[Face], scale: float, grid: tuple[int, int], options: FusionOptions) -> np.ndarray:
    """Where a neck may be: from the jaw down ``neck_depth`` face heights along each face's axis, fading out."""
    prior = np.zeros(grid, np.float32)
    for face in faces:
        pts = face.points.astype(np.float64) * scale
        axis = pts[tp.CHIN] - pts[tp.FOREHEAD]
        height = float(np.linalg.norm(axis))
        if height < 1e-3:
            continue
        down = axis / height
        jaw = pts[list(_JAW)] - down * (0.15 * height)  # up into the face (masked out there): full at the jaw
        left, right = jaw[0], jaw[-1]
        centre = (left + right) / 2.0
        depth = (options.neck_depth + 0.15) * height
        bottom = [centre + (p - centre) * options.neck_width + down * depth for p in (right, left)]
        poly = np.vstack([jaw, *bottom])
        sigma = 0.06 * height
        box = Box.around(poly, pad=3.0 * sigma, shape=grid)
        if box.empty:
            continue
        local = np.zeros((box.height, box.width), np.float32)
        shifted = (poly - (box.x0, box.y0)) * 4
        cv2.fillPoly(local, [np.round(shifted).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)
        local = cv2.GaussianBlur(local, (0, 0), sigma) if sigma >= 0.5 else local
        np.maximum(prior[box.slices], local, out=prior[box.slices])
    return prior


def _below_faces(faces: Sequence[Face], scale: float, grid: tuple[int, int]) -> np.ndarray:
    """1 below the highest chin (the torso side of the frame), 0 above, on the grid; 1 everywhere without faces."""
    if not faces:
        return np.ones(grid, np.float32)
    out = np.zeros(grid, np.float32)
    if faces:
        chin = min(float(f.points[tp.CHIN, 1]) for f in faces) * scale
        out[max(0, min(grid[0], int(np.ceil(chin)))) :, :] = 1.0
    return out


def _face_oval(faces: Sequence[Face], scale: float, grid: tuple[int, int]) -> np.ndarray:
    """The filled face oval of every face, on the grid."""
    out = np.zeros(grid, np.float32)
    for face in faces:
        poly = face.points[list(tp.FACE_OVAL)].astype(np.float64) * scale
        cv2.fillPoly(out, [np.round(poly * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)
    return out


def _upper_face(faces: Sequence[Face], scale: float, grid: tuple[int, int]) -> np.ndarray:
    """Around each face, 1 above its eyes (along the face's axis) fading to 0 at the nose tip: where bangs fall."""
    out = np.zeros(grid, np.float32)
    for face in faces:
        pts = face.points.astype(np.float64) * scale
        axis = pts[tp.CHIN] - pts[tp.FOREHEAD]
        length = float(np.linalg.norm(axis))
        box = Box.around(pts, pad=0.25 * length, shape=grid)
        if length < 1e-3 or box.empty:
            continue
        down = axis / length
        eyes = (pts[tp.RIGHT_EYE_UPPER[4]] + pts[tp.LEFT_EYE_UPPER[4]]) / 2.0
        t0, t1 = float(eyes @ down), float(pts[tp.NOSE_TIP] @ down)
        ys, xs = np.mgrid[box.y0 : box.y1, box.x0 : box.x1].astype(np.float32)
        along = xs * np.float32(down[0]) + ys * np.float32(down[1])
        np.maximum(out[box.slices], 1.0 - _smoothstep(t0, max(t1, t0 + 1.0), along), out=out[box.slices])
    return out


def _skin_likeness(small: np.ndarray, face: np.ndarray, spread: float) -> np.ndarray | None:
    """How much each pixel's chroma looks like the faces' skin (a Gaussian on Lab a, b), or None without samples.

    Computed at half the grid's resolution (chroma is smooth) and brought back to it.
    """
    half = np.ascontiguousarray(small[::2, ::2])
    lab = cv2.cvtColor(half, cv2.COLOR_BGR2Lab)
    samples = lab[face[::2, ::2] > 0.9]
    if samples.shape[0] < 32:
        return None
    ab = samples[:, 1:].astype(np.float32)
    mu = np.median(ab, axis=0)
    cov = covariance(ab) + np.eye(2) * 4.0
    inv = np.linalg.inv(cov * spread**2).astype(np.float32)
    da = lab[:, :, 1].astype(np.float32)
    da -= np.float32(mu[0])
    db = lab[:, :, 2].astype(np.float32)
    db -= np.float32(mu[1])
    d2 = (inv[0, 0] * -0.5) * da * da
    d2 -= inv[0, 1] * da * db
    d2 -= (inv[1, 1] * 0.5) * db * db
    like = np.exp(d2, out=d2)
    return cv2.resize(like, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_LINEAR)


def _near(person: np.ndarray, reach: float) -> np.ndarray:
    """1 within ``reach`` grid pixels of the person (probability above one half), else 0."""
    outside = (person <= 0.5).astype(np.uint8)
    if not outside.all():
        distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
        return (distance <= reach).astype(np.float32)
    return np.zeros(person.shape, np.float32)


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _from_fallback(fallback: Mapping[str, RoiMask], name: str, scale: float, grid: tuple[int, int]) -> np.ndarray:
    out = np.zeros(grid, np.float32)
    if name in fallback:
        _to_grid(fallback[name], scale, grid, out)
    return out


def _to_frame(plane: np.ndarray, scale: float, shape: tuple[int, int]) -> RoiMask:
    """A grid plane (0..1) as a full-frame :class:`RoiMask`, resizing only the box of its non-zero pixels."""
    alpha = to_alpha8(plane)
    small = RoiMask(Box(0, 0, plane.shape[1], plane.shape[0]), alpha).tight(_TIGHT)
    if scale >= 1.0 or small.box.empty:
        return small if not small.box.empty else RoiMask.empty_at(Box(0, 0, 0, 0))
    b = small.box.grow(1).clip(plane.shape)
    full = Box(int(b.x0 / scale), int(b.y0 / scale), int(np.ceil(b.x1 / scale)), int(np.ceil(b.y1 / scale)))
    full = full.clip(shape)
    crop = small.crop(b)
    return RoiMask(full, cv2.resize(crop, (full.width, full.height), interpolation=cv2.INTER_LINEAR)).tight(_TIGHT)


#: A person's width either side of their face's centre, and the window's reach above the face, in face heights.
_PERSON_HALF_WIDTH, _WINDOW_ABOVE = 1.5, 1.0
#: Windows are used only when they magnify the people at least this much over the whole frame.
_WINDOW_GAIN = 1.25

#: A person as :func:`person_windows` sees them: face centre x, face top y, face height (forehead to chin).
_Person = tuple[float, float, float]


def person_windows(faces: Sequence[Face], shape: tuple[int, int], side_faces: float = 8.0, most: int = 4) -> list[Box]:
    """Square windows of the frame that frame the faces' people, where a model sees them better than in the frame.

    A segmentation network squeezes the whole frame into its square input: in a group photo each person gets a
    thin, stretched sliver of it. Each window is ``side_faces`` face heights square (at most the frame's short
    side), from a face height above the faces down over their bodies; neighbours share a window while their
    bodies (1.5 face heights either side of the face) fit in it, so a row of people costs a few windows, not one
    each. When that takes more than ``most`` windows, the windows grow until it does not (a window is one more
    model run).

    Args:
        faces: the frame's faces.
        shape: the frame's ``(height, width)``.
        side_faces: a window's side in face heights.
        most: the most windows.

    Returns:
        The windows; none for a person who would not be magnified at least 1.25 times over the whole frame
        (portraits, where the person fills the frame already).
    """
    h, w = shape
    people: list[_Person] = []
    for face in faces:
        pts = face.points.astype(np.float64)
        height = float(np.linalg.norm(pts[tp.CHIN] - pts[tp.FOREHEAD]))
        if height >= 1.0:
            people.append((float(pts[:, 0].mean()), float(pts[:, 1].min()), height))
    if not people or most < 1:
        return []
    people.sort()
    factor = side_faces
    groups = _groups(people, shape, factor)
    while len(groups) > most and factor * min(p[2] for p in people) < min(shape):
        factor *= 1.25
        groups = _groups(people, shape, factor)
    groups = sorted(groups, key=len, reverse=True)[:most]
    windows = []
    for group in groups:
        side = _group_side(group, shape, factor)
        if side is None or max(h, w) < _WINDOW_GAIN * side:
            continue
        left, right = _span(group)
        top = min(y - _WINDOW_ABOVE * fh for _, y, fh in group)
        x0 = round(min(max(0.0, (left + right - side) / 2.0), w - side))
        y0 = round(min(max(0.0, top), h - side))
        windows.append(Box(x0, y0, x0 + side, y0 + side))
    return sorted(windows, key=lambda b: (b.x0, b.y0))


def _groups(people: Sequence[_Person], shape: tuple[int, int], side_faces: float) -> list[list[_Person]]:
    """People (sorted left to right) gathered into runs of neighbours that fit in one window each."""
    groups: list[list[_Person]] = []
    for person in people:
        if groups and _group_side([*groups[-1], person], shape, side_faces) is not None:
            groups[-1].append(person)
        else:
            groups.append([person])
    return groups


def _span(group: Sequence[_Person]) -> tuple[float, float]:
    """The left and right ends of the group's bodies (each reaching 1.5 face heights beside its face's centre)."""
    return (
        min(cx - _PERSON_HALF_WIDTH * fh for cx, _, fh in group),
        max(cx + _PERSON_HALF_WIDTH * fh for cx, _, fh in group),
    )


def _group_side(group: Sequence[_Person], shape: tuple[int, int], side_faces: float) -> Optional[int]:
    """The side of the window that frames ``group``, or None when their bodies do not fit in one.

    They do not fit when their bodies are wider than the window, or their faces more than half of it apart up and
    down.
    """
    side = int(min(min(shape), side_faces * max(fh for _, _, fh in group)))
    left, right = _span(group)
    tops = [y for _, y, _ in group]
    if right - left > side or max(tops) - min(tops) > side / 2.0:
        return None
    return side


def _snap(plane: np.ndarray, small: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """A soft mask's unsure edges moved onto the frame's colour edges (a guided filter, the grid frame its guide).

    Segmentation networks that see the frame at a few hundred pixels draw blurred, blobby edges: between legs,
    around hands, over the background beside a person. Where the mask hedges (between 0.02 and 0.98, and two grid
    pixels around), the colour guide pulls it to where the picture changes; where it is sure, it stays.
    """
    out = cv2.ximgproc.createGuidedFilter(small, radius, eps * 255.0**2).filter(plane)
    np.clip(out, 0.0, 1.0, out=out)
    unsure = ((plane > _SURE) & (plane < 1.0 - _SURE)).view(np.uint8)
    unsure = cv2.dilate(unsure, np.ones((5, 5), np.uint8))
    return np.where(unsure > 0, out, plane)


def fuse(
    frame: np.ndarray,
    faces: Sequence[Face],
    probs: BodyProbs | None,
    person: np.ndarray | None = None,
    options: FusionOptions | None = None,
    fallback: Mapping[str, RoiMask] | None = None,
) -> dict[str, RoiMask]:
    """The frame's body masks, consistent with the faces' classes.

    Args:
        frame: the BGR uint8 frame (the guide of the edge refinement).
        faces: the faces, with their face-class masks (from the landmark parser).
        probs: the body model's probabilities (any resolution), or None.
        person: ``HxW`` (any size) float32 person probability, or None; a person channel of ``probs`` takes
            precedence.
        options: fusion options.
        fallback: masks for the classes the model does not give (the landmark default's), by class name.

    Returns:
        ``hair``, ``neck``, ``body_skin`` and ``clothes`` as full-frame soft masks.
    """
    o = options or FusionOptions()
    shape = (int(frame.shape[0]), int(frame.shape[1]))
    scale, grid = _grid(shape, o.work_size)
    small = cv2.resize(frame, (grid[1], grid[0]), interpolation=cv2.INTER_LINEAR) if scale < 1.0 else frame
    fallback = fallback or {}
    p = probs.resized(grid) if probs is not None else None

    def model(names: Iterable[str]) -> np.ndarray | None:
        return None if p is None else p.prob(names)

    def given(name: str) -> np.ndarray:
        return _from_fallback(fallback, name, scale, grid)

    pers = p.person() if p is not None else None
    if pers is None and person is not None:
        pers = resize_plane(np.asarray(person, np.float32), grid)
    body_pers = pers
    if pers is not None and o.refine_person is not False:
        body_pers = _snap(pers, small, o.person_radius, o.refine_eps)

    # Face classes win where they reach one half (labels are painted at 0.5): no gap, no overlap at their edge.
    not_face = 1.0 - _smoothstep(0.3, 0.5, _face_area(faces, scale, grid))
    # Over the face, hair only where the model is sure of it and above the eyes (bangs); never on the lower face
    # (a beard is not hair), whatever the face classes say there.
    upper = _upper_face(faces, scale, grid)
    lower_face = _face_oval(faces, scale, grid) * (1.0 - upper)
    hair = model({"hair"})
    hair = given("hair") if hair is None else hair.copy()
    gate = _smoothstep(o.hair_over_face - 0.1, o.hair_over_face + 0.1, hair) * upper
    hair_keep = (1.0 - (1.0 - not_face) * (1.0 - gate)) * (1.0 - lower_face)
    hair *= hair_keep

    skin = model(SKIN_CLASSES)
    if skin is None:
        neck = given("neck")
        body = given("body_skin")
    else:
        if o.skin_colour and faces:
            like = _skin_likeness(small, 1.0 - not_face, o.skin_colour_spread)
            if like is not None:
                skin = skin * like
        exact_neck = model({"neck"})
        if exact_neck is not None:
            neck = np.minimum(exact_neck, skin)
            exact_body = model({"body_skin"})
            body = np.minimum(exact_body, skin) if exact_body is not None else np.maximum(skin - neck, 0.0)
        else:
            prior = _neck_prior(faces, scale, grid, o)
            neck = skin * prior
            body = skin * (1.0 - prior)
    clothes = model({"clothes"})
    clothes = given("clothes") if clothes is None else clothes.copy()
    for plane in (neck, body, clothes):
        plane *= not_face

    planes = [hair, neck, body, clothes]
    cover = None
    if pers is not None:
        assert body_pers is not None  # set with pers
        if o.skin_over_person < 1.0:
            # Person masks miss outstretched hands and arms: near the person (a quarter of the frame), where the
            # model is sure of skin, the skin stays.
            near = _near(pers, 0.25 * max(grid))
            sure_skin = _smoothstep(o.skin_over_person - 0.1, o.skin_over_person, body) * near
            pers = np.maximum(pers, sure_skin)
            body_pers = np.maximum(body_pers, sure_skin)
        hair *= pers
        for plane in planes[1:]:
            plane *= body_pers
        cover = body_pers * not_face
        if o.clothes_fill:  # person pixels (below the faces) that no class claims are clothes
            free = cover - (hair + neck + body + clothes)
            np.clip(free, 0.0, 1.0, out=free)
            if faces:
                free *= _below_faces(faces, scale, grid)
            clothes += free
    _resolve(planes, cover)
    if o.refine_radius > 0:
        guide = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        refine = cv2.ximgproc.createGuidedFilter(guide, o.refine_radius, o.refine_eps * 255.0**2)
        keep = (hair_keep, not_face, not_face, not_face)
        for i in range(len(planes) if o.refine_all else 1):
            out = refine.filter(planes[i])
            np.clip(out, 0.0, 1.0, out=out)
            out *= keep[i]
            if pers is not None and body_pers is not None:
                out *= pers if i == 0 else body_pers
            planes[i] = out
        _resolve(planes, cover)
    names = ("hair", "neck", "body_skin", "clothes")
    return {name: _to_frame(plane, scale, shape) for name, plane in zip(names, planes)}


def _resolve(planes: list[np.ndarray], cover: np.ndarray | None, most: float = 4.0) -> None:
    """Makes the class planes add up to at most one, and up to ``cover`` where it is given (in place).

    Where the classes claim less than ``cover`` (the person minus the faces), they are scaled up (at most ``most``
    times), so pixels between the face's edge and the model's classes go to the likeliest class, not to nothing.
    """
    total = planes[0] + planes[1]
    for plane in planes[2:]:
        total += plane
    target = np.minimum(total, 1.0)
    if cover is not None:
        np.maximum(target, np.minimum(cover, 1.0), out=target)
    gain = target / np.maximum(total, 1e-6)
    np.minimum(gain, most, out=gain)
    gain[total < 0.05] = 1.0
    for plane in planes:
        plane *= gain


Mode = Literal["image", "video"]


@dataclass(frozen=True)
class _ModelJob:
    """One frame for the model: the frame, its faces, the perception's person mask and its heads without a mesh."""

    frame: np.ndarray
    faces: tuple[Face, ...]
    person: np.ndarray | None
    heads: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class _ModelResult:
    """The body masks of one frame, and where its faces were (to carry the masks to a later frame)."""

    shape: tuple[int, int]
    masks: Mapping[str, RoiMask]
    person: RoiMask | None
    points: Mapping[int, np.ndarray]

    def carried_to(
        self, faces: Sequence[Face], wanted: Set[str] | None = None
    ) -> tuple[Mapping[str, RoiMask], RoiMask | None] | None:
        """The masks and the model's person mask moved as each person moved from this frame to ``faces``' frame.

        Args:
            faces: the later frame's faces.
            wanted: the classes to move (``"person"`` for the person mask); None: all. Each is a warp of its box
                on the caller's thread, about a millisecond for a 720p person: a hair-only look moves the hair.

        Returns:
            The masks and the person mask (None when not wanted or absent), or None when this frame had faces and
            none of them is in ``faces`` (a cut, or everyone left): its masks belong to nobody any more. Without
            faces in either frame the masks stay where they are.
        """
        names = [n for n in self.masks if wanted is None or n in wanted]
        person = self.person if wanted is None or "person" in wanted else None
        if not self.points:
            return {n: self.masks[n] for n in names}, person
        moved = carry_masks(
            self.points,
            {f.id: f.points for f in faces},
            [*(self.masks[n] for n in names), *([] if person is None else [person])],
            self.shape,
        )
        if moved is None:
            return None
        return dict(zip(names, moved)), (moved[-1] if person is not None else None)


class ModelFrameParser:
    """The landmark parser's faces plus a body model's classes, fused (see :func:`fuse`).

    Same interface as :class:`~tryon.parsing.parser.LandmarkFrameParser`. Classes the model does not give (a
    hair-only or a person-only model) come from the landmark default; a network that takes the previous mask is fed
    it.

    In video, the model runs on a background thread by default (``background``): each frame is parsed with the
    body masks of the model's latest finished frame, moved along with the faces since (a similarity transform
    fitted to the landmarks), so a frame costs only the faces and the carrying; the model always works on the
    newest frame submitted, one at a time, every ``every`` frames. Only the first frame of a stream (and of a new
    frame size) waits for the model. Without the background thread, the model runs in the frame loop every
    ``every`` frames, its masks carried forward the same way in between. Photos (``mode="image"``) are always
    parsed synchronously, with no memory.

    Args:
        backend: the body model; the parser owns it and closes it.
        options: the landmark parser's options (``body=False`` turns the body classes off).
        fusion: fusion options.
        mode: ``"image"`` for unrelated photos (no state kept from one call to the next), ``"video"`` for streams.
        every: in video, run the model every this many frames.
        background: in video, run the model on a background thread (see above); ignored for photos.

    Example:
        >>> from tryon.parsing.backends import tflite_backend
        >>> with ModelFrameParser(tflite_backend("mediapipe-hair"), mode="video") as parser:  # doctest: +SKIP
        ...     parse = parser.parse(frame, perception(frame))
    """

    def __init__(
        self,
        backend: BodyBackend,
        options: ParserOptions | None = None,
        fusion: FusionOptions | None = None,
        *,
        mode: Mode = "image",
        every: int = 1,
        background: bool = True,
    ) -> None:
        if mode not in ("image", "video"):
            raise InputError(f"mode must be 'image' or 'video', got {mode!r}")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise InputError(f"every must be a whole number >= 1, got {every!r}")
        self.backend = backend
        self.name = backend.name
        self.options = options or ParserOptions()
        self.fusion = fusion or FusionOptions()
        self._fusion = self.fusion  # as run: the mode settles what the options leave open
        if mode == "video" and self.fusion.refine_person is None:
            self._fusion = dataclasses.replace(self.fusion, refine_person=False)
        self.mode = mode
        self.every = every
        self.background = bool(background) and mode == "video"
        self._landmarks = LandmarkFrameParser(ParserOptions(face=self.options.face, body=False), mode=mode)
        self._missing = tuple(c for c in ("hair", "skin", "clothes") if not self._gives(c))
        self._carried: Optional[_ModelResult] = None
        self._count = 0
        self._closed = False
        self._worker: Optional[LatestWorker[_ModelJob, _ModelResult]] = None
        if self.background:
            self._worker = LatestWorker(self._run_model, name=f"tryon-parse-{self.name}")

    def _gives(self, what: str) -> bool:
        classes = self.backend.classes
        return bool(classes & SKIN_CLASSES) if what == "skin" else what in classes

    def parse(
        self,
        frame: np.ndarray,
        perception: PerceptionResult,
        ids: Sequence[int] | None = None,
        body: BodyRequest = True,
    ) -> FrameParse:
        """Parses one BGR uint8 frame given its perception (see ``LandmarkFrameParser.parse``).

        In video, the body masks (and the model's person mask) may come from an earlier frame, moved along with
        the faces; the faces are always this frame's. With ``body`` naming classes, only those are moved to this
        frame and the others are left out of the parse; the model's person mask comes too only when ``"person"`` is
        named (else the parse keeps the perception's).
        """
        if self._closed:
            raise InputError("this ModelFrameParser is closed")
        base = self._landmarks.parse(frame, perception, ids, body=False)
        if not (self.options.body and body):
            return base
        job = _ModelJob(frame, base.faces, perception.person, perception.heads)
        if self.mode == "image":
            self.backend.reset()
            result = self._run_model(job)
        elif self._worker is not None:
            result = self._from_worker(job)
        else:
            result = self._in_loop(job)
        wanted = frozenset(body) if isinstance(body, Set) else None
        carried = result.carried_to(base.faces, wanted)
        if carried is None and self._worker is None:  # a cut or everyone left: the last masks fit nobody
            result = self._carried = self._run_model(job)
            carried = result.carried_to(base.faces, wanted)
        if carried is None:  # the same with the worker: no body classes until it has seen the new people
            assert self._worker is not None
            self._worker.submit(dataclasses.replace(job, frame=job.frame.copy()))
            return FrameParse(base.shape, base.faces, {}, base.person)
        masks, person = carried
        return FrameParse(base.shape, base.faces, masks, person if person is not None else base.person)

    def _in_loop(self, job: _ModelJob) -> _ModelResult:
        """Video without the worker: the model runs on this frame every ``every`` frames (and on a new size)."""
        last = self._carried
        count = self._count
        self._count += 1
        if last is not None and last.shape != job.frame.shape[:2]:
            self.backend.reset()
            last = None
        if last is None or count % self.every == 0:
            last = self._carried = self._run_model(job)
        return last

    def _from_worker(self, job: _ModelJob) -> _ModelResult:
        """Video with the worker: submits the frame when due and returns the latest finished result."""
        assert self._worker is not None
        result = self._worker.latest()
        if result is not None and result.shape != job.frame.shape[:2]:  # a new frame size: start afresh
            self._restart()
            result = None
        count = self._count
        self._count += 1
        if result is None or count % self.every == 0:
            self._worker.submit(dataclasses.replace(job, frame=job.frame.copy()))  # the caller may reuse its buffer
        if result is None:  # the first frame of a stream waits for the model once
            self._worker.wait()
            result = self._worker.latest()
            assert result is not None
        return result

    def _run_model(self, job: _ModelJob) -> _ModelResult:
        """Runs the model on one frame and fuses its classes with the frame's faces (on the worker in video)."""
        frame = job.frame
        shape = (int(frame.shape[0]), int(frame.shape[1]))
        if self.mode == "image" and self.fusion.windows:
            windows = person_windows(job.faces, shape, self.fusion.window_faces)
            probs = predict_windows(self.backend, frame, windows)
        else:
            probs = self.backend.predict(frame)
        full_person = job.person
        person = None
        model_person = probs.person()
        if model_person is not None:
            full_person = resize_plane(model_person, shape)
            alpha = to_alpha8(full_person)
            person = RoiMask(Box(0, 0, shape[1], shape[0]), alpha)
        fallback = body_masks(frame, job.faces, full_person, heads=job.heads) if self._missing else None
        masks = fuse(frame, job.faces, probs, full_person, self._fusion, fallback)
        points = {f.id: f.points.copy() for f in job.faces}
        return _ModelResult(shape, {n: masks[n] for n in BODY_CLASSES}, person, points)

    def _restart(self) -> None:
        """Drops the worker's queued frame and last result (waiting for the one in flight) and the model's memory."""
        if self._worker is not None:
            self._worker.clear()
        self._carried = None
        self._count = 0
        self.backend.reset()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the background model has finished every frame given so far (True at once without one).

        Between :meth:`parse` calls this makes a stream's parses deterministic (tests, offline renders): the next
        frame then uses the model's result for the last frame submitted.

        Args:
            timeout: the most seconds to wait (None: no limit).

        Returns:
            False when the timeout passed first.
        """
        return True if self._worker is None else self._worker.wait(timeout)

    def reset(self) -> None:
        """Forgets the last frame and the faces' colour models (a new stream, or a cut)."""
        self._restart()
        self._landmarks.reset()

    def close(self) -> None:
        """Stops the background model (joining its thread) and releases the model; safe to call twice."""
        if not self._closed:
            self._closed = True
            if self._worker is not None:
                self._worker.close()
            self.backend.close()
            self._landmarks.close()

    def __enter__(self) -> ModelFrameParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
