"""What the body-effect tests share: real photos parsed once, and exact masks drawn from a face's landmarks.

The parser's own hair and clothes masks are whatever the installed backend gives (rough by default). Tests that
must know where the hair or the shirt is draw an exact mask instead: a soft ellipse on the crown above the
hairline, a box on the chest below the chin, placed from the face's landmarks and checked by eye on each photo
named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import need_file
from tryon.geometry import Box, RoiMask
from tryon.parsing.frame_parse import Face, FrameParse


@dataclass(frozen=True)
class Photo:
    """A real photo and its parse (one face)."""

    name: str
    frame: np.ndarray
    parse: FrameParse


def parse_photos(shared_data: Path, names: list[str]) -> dict[str, Photo]:
    """Reads and parses (pipeline defaults, one face) the shared photos ``names`` (paths under the data folder)."""
    from tryon.image import read_image
    from tryon.pipeline import Pipeline

    out = {}
    with Pipeline(mode="image", max_faces=1) as pipe:
        for name in names:
            frame = read_image(need_file(shared_data / name))
            parse = pipe.parse(frame)
            assert parse.faces, f"no face found in {name}"
            out[name] = Photo(name, frame, parse)
    return out


def with_masks(parse: FrameParse, masks: dict[str, RoiMask], person: RoiMask | None = None) -> FrameParse:
    """``parse`` with its body masks replaced by ``masks`` (and its person mask by ``person`` when given)."""
    return FrameParse(parse.shape, parse.faces, masks, person if person is not None else parse.person)


def _face_frame(face: Face) -> tuple[np.ndarray, np.ndarray, float]:
    """The face's up direction (unit, chin to forehead), its across direction and its width in pixels."""
    p = face.points.astype(np.float64)
    up = p[10] - p[152]
    up /= np.linalg.norm(up)
    width = float(np.linalg.norm(p[454] - p[234]))
    return up, np.array([-up[1], up[0]]), width


def _soft(canvas: np.ndarray, feather: float) -> RoiMask:
    h, w = canvas.shape
    soft = cv2.GaussianBlur(canvas, (0, 0), feather) if feather > 0 else canvas
    return RoiMask(Box(0, 0, w, h), soft).tight()


def crown_mask(face: Face, shape: tuple[int, int], up_by: float = 0.42, feather: float = 2.0) -> RoiMask:
    """A soft ellipse on the hair above the hairline: ``up_by`` face widths above the forehead's top landmark."""
    up, _, width = _face_frame(face)
    centre = face.points[10].astype(np.float64) + up * up_by * width
    angle = float(np.degrees(np.arctan2(up[1], up[0]))) + 90.0
    canvas = np.zeros(shape, np.uint8)
    cv2.ellipse(canvas, ((float(centre[0]), float(centre[1])), (0.5 * width, 0.1 * width), angle), 255, -1)
    return _soft(canvas, feather)


def side_mask(face: Face, shape: tuple[int, int], out_by: float = 0.16, feather: float = 2.0) -> RoiMask:
    """Two soft upright ellipses on long hair beside the cheeks, ``out_by`` face widths out from the face's edge."""
    up, _, width = _face_frame(face)
    angle = float(np.degrees(np.arctan2(up[1], up[0]))) + 90.0
    canvas = np.zeros(shape, np.uint8)
    nose = face.points[1]
    for index in (234, 454):
        edge = face.points[index]
        centre = (float(edge[0] + np.sign(edge[0] - nose[0]) * out_by * width), float(edge[1]))
        cv2.ellipse(canvas, (centre, (0.14 * width, 0.5 * width), angle), 255, -1)
    return _soft(canvas, feather)


def chest_mask(face: Face, shape: tuple[int, int], feather: float = 2.0) -> RoiMask:
    """A soft box on the shirt: from 0.75 to 1.5 face widths below the chin, 0.8 face widths wide."""
    _, _, width = _face_frame(face)
    chin = face.points[152]
    x0, x1 = chin[0] - 0.4 * width, chin[0] + 0.4 * width
    y0, y1 = chin[1] + 0.75 * width, chin[1] + 1.5 * width
    canvas = np.zeros(shape, np.uint8)
    cv2.rectangle(canvas, (round(x0), round(y0)), (round(x1), round(y1)), 255, -1)
    return _soft(canvas, feather)


def inside(mask: RoiMask, shape: tuple[int, int], level: int = 250) -> np.ndarray:
    """The pixels where ``mask`` reaches ``level``, as a full-frame bool image."""
    return mask.full(shape) >= level
