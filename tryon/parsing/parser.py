"""The default parser: face classes from landmarks, body classes from the person mask, one :class:`FrameParse`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np

from tryon.geometry import Box, RoiMask
from tryon.image import to_alpha8
from tryon.parsing.body import BodyOptions, BodyParser
from tryon.parsing.classes import BodyRequest
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.parsing.landmarks import FaceMemory, LandmarkParser, LandmarkParserOptions
from tryon.perception.detector import PerceptionResult

__all__ = ["LandmarkFrameParser", "ParserOptions"]


@dataclass(frozen=True)
class ParserOptions:
    """Options of :class:`LandmarkFrameParser`.

    Attributes:
        face: options of the per-face landmark parser (None: the live defaults in video,
            ``LandmarkParserOptions.photo()`` for photos).
        body: also build the body classes (hair, neck, body skin, clothes).
        body_options: how they are built (None: the live defaults; ``BodyOptions.photo()`` adds pose).
    """

    face: Optional[LandmarkParserOptions] = None
    body: bool = True
    body_options: Optional[BodyOptions] = None


class LandmarkFrameParser:
    """Turns a frame and its perception into a validated :class:`FrameParse`.

    Example:
        >>> parser = LandmarkFrameParser()
        >>> parse = parser.parse(frame, perception(frame), ids=[0])  # doctest: +SKIP
    """

    name = "landmarks"

    def __init__(self, options: ParserOptions | None = None, mode: Literal["image", "video"] = "video") -> None:
        self.options = options or ParserOptions()
        face = self.options.face or (LandmarkParserOptions.photo() if mode == "image" else LandmarkParserOptions())
        self._faces = LandmarkParser(face)
        # In video, each tracked face keeps its colour models between frames (see FaceMemory).
        self._memories: dict[int, FaceMemory] | None = {} if mode == "video" else None
        # The live body options serve photos too: BodyOptions.photo() (pose, 384 px) scored within 0.01 on every
        # dataset at ten times the cost, so it stays opt-in.
        self._body = BodyParser(self.options.body_options or BodyOptions(), mode=mode)

    def reset(self) -> None:
        """Forgets the faces' colour models and the body's pose (a new stream, or a cut)."""
        if self._memories is not None:
            self._memories.clear()
        self._body.reset()

    def close(self) -> None:
        """Releases the body parser's pose graph, if any; safe to call twice."""
        self._body.close()

    def __enter__(self) -> LandmarkFrameParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def parse(
        self,
        frame: np.ndarray,
        perception: PerceptionResult,
        ids: Sequence[int] | None = None,
        body: BodyRequest = True,
    ) -> FrameParse:
        """Parses one BGR uint8 frame given its perception.

        Args:
            frame: the frame.
            perception: its landmarks and person mask.
            ids: the faces' stable ids (default 0..n-1).
            body: also build the body classes (hair, neck, body skin, clothes): True for all, False for none (looks
                that only touch the face skip them), or the classes wanted (this parser builds them all together).
        """
        h, w = frame.shape[:2]
        ids = list(ids) if ids is not None else list(range(len(perception.landmarks)))
        faces = []
        for face_id, lm in zip(ids, perception.landmarks):
            pts = lm[:, :2]
            cut = bool(
                (pts[:, 0] < 0).any() or (pts[:, 1] < 0).any() or (pts[:, 0] >= w).any() or (pts[:, 1] >= h).any()
            )
            box = Box.around(pts, shape=(h, w))
            if box.empty:
                continue
            memory = None if self._memories is None else self._memories.setdefault(face_id, FaceMemory())
            masks = self._faces.parse_face(frame, lm, memory)
            faces.append(Face(face_id, lm, box, masks, cut_by_edge=cut))
        if self._memories is not None:
            for gone in self._memories.keys() - set(ids):
                del self._memories[gone]
        faces.sort(key=lambda f: f.id)
        person = None
        if perception.person is not None:
            alpha = to_alpha8(perception.person)
            person = RoiMask(Box(0, 0, w, h), alpha)
        wanted = self.options.body and body
        masks = self._body(frame, tuple(faces), perception.person, perception.heads) if wanted else {}
        return FrameParse((h, w), tuple(faces), masks, person)
