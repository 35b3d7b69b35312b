"""The pipeline: perception -> parsing -> effects, for photos and streams."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Union

import numpy as np

from tryon._runtime import limit_blas_threads, tune_allocator
from tryon.errors import InputError
from tryon.image import to_bgr8
from tryon.looks import Look
from tryon.parsing.classes import BODY_CLASSES, BodyRequest
from tryon.parsing.frame_parse import FrameParse
from tryon.parsing.parser import ParserOptions
from tryon.parsing.registry import create_parser
from tryon.perception import FaceTracker, Perception, PerceptionOptions, PerceptionResult
from tryon.perception.smoothing import LandmarkSmoother, OneEuroOptions

__all__ = ["ParsePlan", "Perceived", "Pipeline", "PipelineOptions"]

log = logging.getLogger(__name__)

LookRef = Union[str, Path, Look, None]


@dataclass(frozen=True)
class PipelineOptions:
    """Options of :class:`Pipeline`.

    Attributes:
        mode: ``"video"`` for streams (landmark tracking, stable face ids); ``"image"`` for unrelated photos.
        max_faces: the most faces to find and make up per frame; None: 4 in video (each face costs every frame),
            8 for photos (group photos; a face beyond the first few costs about 8 ms once).
        person_mask: load selfie segmentation (the person mask and the body classes).
        body: when to build the person mask and the body classes (hair, neck, body skin, clothes): ``"auto"``
            when there is no look (parsing) or the look has an effect that needs them; ``"always"``; ``"never"``.
        person_every: in video mode, run segmentation every N frames and reuse the last mask in between.
        parsing: the parser: ``"landmarks"`` (no model), ``"auto"`` (the best installed model), a model name or a
            card file (see ``tryon.parsing.registry``).
        parse_every: in video mode, run a parsing model every N frames, carrying its masks forward in between;
            None: every 4th frame on the background thread (about 7 runs a second, which leaves the second core to
            the loop), every frame in line.
        parse_background: in video mode, run a parsing model on a background thread, always on the newest frame,
            its latest masks carried to each frame by the faces' motion (live use: no stutter); False runs it in
            line every ``parse_every`` frames (offline renders: the same output however fast the machine is).
        model_threads: threads of a parsing model's runtime; None: one on the background thread of live video (the
            model gets the spare core, not the loop's), the runtime's choice otherwise.
        parser: options of the landmark parser.
        smoothing: One Euro filter settings for landmarks in video mode; None turns stabilisation off.
    """

    mode: Literal["image", "video"] = "video"
    max_faces: Optional[int] = None
    person_mask: bool = True
    body: Literal["auto", "always", "never"] = "auto"
    person_every: int = 1
    parsing: str = "landmarks"
    parse_every: Optional[int] = None
    parse_background: bool = True
    model_threads: Optional[int] = None
    parser: ParserOptions = field(default_factory=ParserOptions)
    smoothing: Optional[OneEuroOptions] = field(default_factory=OneEuroOptions)

    @property
    def faces(self) -> int:
        """The most faces per frame (``max_faces``, or its default for the mode)."""
        if self.max_faces is not None:
            return self.max_faces
        return 4 if self.mode == "video" else 8

    @property
    def runtime_threads(self) -> Optional[int]:
        """The parsing model's runtime threads (``model_threads``, or its default)."""
        if self.model_threads is not None:
            return self.model_threads
        return 1 if self.mode == "video" and self.parse_background else None

    @property
    def model_every(self) -> int:
        """The parsing model's cadence in frames (``parse_every``, or its default)."""
        if self.parse_every is not None:
            return self.parse_every
        return 4 if self.mode == "video" and self.parse_background else 1

    def __post_init__(self) -> None:
        if self.mode not in ("image", "video"):
            raise InputError(f"mode must be 'image' or 'video', got {self.mode!r}")
        if self.body not in ("auto", "always", "never"):
            raise InputError(f"body must be 'auto', 'always' or 'never', got {self.body!r}")
        if self.parse_every is not None and (not isinstance(self.parse_every, int) or self.parse_every < 1):
            raise InputError(f"parse_every must be a whole number >= 1, got {self.parse_every!r}")
        if not isinstance(self.person_every, int) or self.person_every < 1:
            raise InputError(f"person_every must be a whole number >= 1, got {self.person_every!r}")


@dataclass(frozen=True)
class Perceived:
    """A frame as :meth:`Pipeline.perceive` saw it, ready for :meth:`Pipeline.parse_perceived`.

    Attributes:
        frame: the frame, BGR uint8.
        perception: the stabilised landmarks (and the person mask when the look needs it).
        ids: each face's stable id, in the order of ``perception.landmarks``.
        body: the body classes to parse: all (True), none (False), or the ones the look reads (a set, with
            ``"person"`` for the person mask), as decided when the frame was perceived.
        cut: the frame starts a new scene: the parser forgets its memory before parsing it.
    """

    frame: np.ndarray
    perception: PerceptionResult
    ids: tuple[int, ...]
    body: BodyRequest
    cut: bool = False


@dataclass(frozen=True)
class ParsePlan:
    """What to perceive and parse in a frame besides the faces, as :meth:`Pipeline.plan` decides from the look.

    Attributes:
        person: run (or reuse) the person mask.
        body: the body classes to parse: all (True), none (False), or a set (with ``"person"`` for the mask).
    """

    person: bool
    body: BodyRequest


def _body_classes(look: Look) -> frozenset[str] | None:
    """The body classes the effects of ``look`` (and its per-face looks) read; None when one reads all of them."""
    wanted: set[str] = set()
    for effect in look.effects:
        if getattr(effect, "needs_body", False):
            classes: frozenset[str] = getattr(effect, "body_classes", frozenset())
            if not classes:
                return None
            wanted |= classes
    for sub in look.faces.values():
        more = _body_classes(sub)
        if more is None:
            return None
        wanted |= more
    return frozenset(wanted)


def _needs(look: Look, what: str, per_face: bool = True) -> bool:
    """Whether any effect of ``look`` (or of its per-face looks) has the class flag ``what`` (``needs_body``...)."""
    if any(getattr(effect, what, False) for effect in look.effects):
        return True
    return per_face and any(_needs(sub, what) for sub in look.faces.values())


#: The most frames a live loop holds between planning and rendering (:class:`~tryon.parse_process.ParseProcess`'s
#: depth; a worker thread holds one).
MAX_IN_FLIGHT = 2


class Pipeline:
    """Applies a look to BGR frames: ``out = pipe.process(frame)``.

    Args:
        look: a built-in look name, a look file, a :class:`~tryon.looks.Look`, or None (parsing only).
        options: pipeline options; keyword shortcuts ``mode`` and ``max_faces`` override them.
        overrides: ``key=value`` look overrides, such as ``"lipstick.color=#9E1B32"``.

    Example:
        >>> with Pipeline(look="evening", mode="image") as pipe:  # doctest: +SKIP
        ...     out = pipe.process(cv2.imread("face.jpg"))
        ...     labels = pipe.parse(frame).labels()
    """

    def __init__(
        self,
        look: LookRef = None,
        *,
        options: PipelineOptions | None = None,
        mode: Literal["image", "video"] | None = None,
        max_faces: int | None = None,
        overrides: Sequence[str] = (),
    ) -> None:
        o = options or PipelineOptions()
        if mode is not None or max_faces is not None:
            o = dataclasses.replace(
                o, mode=mode or o.mode, max_faces=max_faces if max_faces is not None else o.max_faces
            )
        self.options = o
        tune_allocator()
        if o.mode == "video":  # live: the loop's threads need the cores (photos leave the user's BLAS alone)
            limit_blas_threads()
        self.look = self._resolve(look, overrides)
        self._perception = Perception(PerceptionOptions(mode=o.mode, max_faces=o.faces, person_mask=o.person_mask))
        self._tracker = FaceTracker()
        self._smoother = LandmarkSmoother(o.smoothing) if o.smoothing is not None and o.mode == "video" else None
        self._parser = create_parser(
            o.parsing,
            options=o.parser,
            mode=o.mode,
            every=o.model_every,
            background=o.parse_background,
            threads=o.runtime_threads,
        )
        self._frames = 0
        self._last_person: np.ndarray | None = None
        self._shape: tuple[int, int] | None = None  # the last frame's (height, width), in video mode
        # Frames are rendered in the order they were planned: those planned and not yet rendered when the look
        # changes were parsed for the old one (see set_look).
        self._plans = 0
        self._renders = 0
        self._previous_look: Look | None = None
        self._stale = 0  # how many of the next renders were planned for the previous look
        self._switching = threading.Lock()
        self._closed = False

    @staticmethod
    def _resolve(look: LookRef, overrides: Sequence[str]) -> Look | None:
        if look is None:
            if overrides:
                raise InputError("look overrides were given without a look")
            return None
        if isinstance(look, Look):
            return look.with_overrides(overrides) if overrides else look
        return Look.load(look, overrides=overrides)

    def set_look(self, look: LookRef, overrides: Sequence[str] = ()) -> None:
        """Switches the look, from the next frame planned (:meth:`plan`, :meth:`perceive`, :meth:`parse`).

        Frames planned for the old look and not yet rendered (a live loop holds one or two) may lack the new look's
        masks (a makeup look's frames have no hair for a hair colour): :meth:`render` draws those with the old look,
        so the switch never shows a frame with neither. Safe to call from another thread than the renderer's.
        """
        resolved = self._resolve(look, overrides)
        with self._switching:
            self._previous_look, self.look = self.look, resolved
            self._stale = min(MAX_IN_FLIGHT, max(0, self._plans - self._renders))

    def parse(
        self,
        frame: np.ndarray,
        timings: MutableMapping[str, float] | None = None,
        timestamp: float | None = None,
        body: bool | None = None,
        *,
        cut: bool = False,
    ) -> FrameParse:
        """Perceives and parses one frame (any supported dtype/layout; see :func:`tryon.image.to_bgr8`).

        Args:
            frame: the frame.
            timings: when given, receives the milliseconds spent in ``perception`` and ``parsing``.
            timestamp: the frame's time in seconds (video mode; the monotonic clock when None). Files should
                pass ``index / fps`` so stabilisation does not depend on processing speed.
            body: whether to parse the person mask and the body classes (all of them when True); None decides from
                the options and the look: a look that reads none (makeup alone) gets the faces alone, and a parsing
                model's masks may be limited to the classes the look reads. A pipeline without a look parses
                everything.
            cut: the frame starts a new scene (a video's first frame after a cut, a looped file at its wrap): the
                pipeline forgets the stream first, as :meth:`reset` does.
        """
        return self.parse_perceived(self.perceive(frame, timings, timestamp, body, cut=cut), timings)

    def perceive(
        self,
        frame: np.ndarray,
        timings: MutableMapping[str, float] | None = None,
        timestamp: float | None = None,
        body: bool | None = None,
        *,
        cut: bool = False,
    ) -> Perceived:
        """The first half of :meth:`parse`: MediaPipe, face ids and stabilisation, no parsing.

        MediaPipe runs in C++ without Python's global lock, so a live loop can perceive the next frame on one
        thread while another parses and renders this one (:meth:`parse_perceived`); call each half from one
        thread only, in frame order. A ``cut`` (see :meth:`parse`) resets each half on its own thread: the
        tracking here, the parser's memory when :meth:`parse_perceived` takes this frame.
        """
        return self.perceive_planned(frame, self.plan(body), timings, timestamp, cut=cut)

    def plan(self, body: bool | None = None) -> ParsePlan:
        """What :meth:`perceive` would get for the next frame given the current look: the person mask, body classes.

        Args:
            body: as for :meth:`parse`.
        """
        self._plans += 1
        return self._plan_for(self.look, body)

    def _plan_for(self, look: Look | None, body: bool | None = None) -> ParsePlan:
        """:meth:`plan` for ``look``."""
        explicit = body is not None
        body = self._wants_body(look) if body is None else body and self.options.person_mask
        # Asked for explicitly, the body classes are all given; decided from the look, only those it reads.
        return ParsePlan(
            person=bool(body or self._wants_person(look)),
            body=bool(body) if explicit else self._body_request(body, look),
        )

    def perceive_planned(
        self,
        frame: np.ndarray,
        plan: ParsePlan,
        timings: MutableMapping[str, float] | None = None,
        timestamp: float | None = None,
        *,
        cut: bool = False,
    ) -> Perceived:
        """:meth:`perceive` with what to get decided beforehand by :meth:`plan` (perhaps in another process)."""
        self._check_open()
        if timestamp is not None and not (
            isinstance(timestamp, (int, float, np.integer, np.floating))
            and not isinstance(timestamp, bool)
            and math.isfinite(timestamp)
        ):
            raise InputError(f"timestamp must be a finite number of seconds, or None, got {timestamp!r}")
        bgr = to_bgr8(frame)
        if cut:
            self._forget_tracking()
        person = plan.person
        t0 = time.perf_counter()
        fresh_person = person and (
            self.options.mode == "image"
            or self._frames % self.options.person_every == 0
            or self._last_person is None
            or self._last_person.shape != bgr.shape[:2]
        )
        perception = self._perception(bgr, person=fresh_person, heads=bool(plan.body))
        if person and not fresh_person:
            perception = dataclasses.replace(perception, person=self._last_person)
        self._last_person = perception.person if person else None
        self._frames += 1
        if self.options.mode == "video":
            shape = (bgr.shape[0], bgr.shape[1])
            if self._shape is not None and shape != self._shape:  # the stream changed resolution
                self._tracker.rescale(self._shape, shape)
                if self._smoother is not None:  # its state is in the old frame's pixels
                    self._smoother.reset()
            self._shape = shape
            ids = self._tracker.assign(perception.landmarks)
            if self._smoother is not None:
                t = time.monotonic() if timestamp is None else timestamp
                self._smoother.forget_except(set(ids))
                steady = tuple(self._smoother(i, lm, t) for i, lm in zip(ids, perception.landmarks))
                perception = dataclasses.replace(perception, landmarks=steady)
        else:
            ids = list(range(len(perception.landmarks)))
        if timings is not None:
            timings["perception"] = (time.perf_counter() - t0) * 1000.0
        return Perceived(bgr, perception, tuple(ids), plan.body, cut)

    def parse_perceived(self, perceived: Perceived, timings: MutableMapping[str, float] | None = None) -> FrameParse:
        """The second half of :meth:`parse`: the parser's masks for a frame :meth:`perceive` has seen."""
        self._check_open()
        if perceived.cut:
            self._parser.reset()
        t0 = time.perf_counter()
        parse = self._parser.parse(perceived.frame, perceived.perception, list(perceived.ids), body=perceived.body)
        if timings is not None:
            timings["parsing"] = (time.perf_counter() - t0) * 1000.0
        return parse

    def _body_request(self, body: bool, look: Look | None) -> bool | frozenset[str]:
        """What to ask the parser for: no body classes, all, or the ones ``look`` reads (and ``person``)."""
        if not body:
            return False
        if self.options.body == "always" or look is None:
            return True
        wanted = _body_classes(look)
        if not wanted:  # an effect that reads them all, or body classes asked for a look that reads none
            return True
        return wanted | {"person"} if _needs(look, "needs_person") else wanted

    def wants_body(self) -> bool:
        """Whether frames get the person mask and the body classes, given the options and the current look."""
        return self._wants_body(self.look)

    def wants_person(self) -> bool:
        """Whether frames get the person mask: for the body classes, or for an effect that reads only it."""
        return self._wants_person(self.look)

    def draws_without_faces(self) -> bool:
        """Whether the current look draws on a frame without faces: hair, clothes or background effects of its own.

        A per-face look's effects need their face.
        """
        look = self.look
        return (
            self.wants_person()
            and look is not None
            and (_needs(look, "needs_body", per_face=False) or _needs(look, "needs_person", per_face=False))
        )

    def _wants_body(self, look: Look | None) -> bool:
        o = self.options
        if not o.person_mask or o.body == "never":
            return False
        if o.body == "always" or look is None:
            return True
        return _needs(look, "needs_body")

    def _wants_person(self, look: Look | None) -> bool:
        return self._wants_body(look) or (
            self.options.person_mask
            and self.options.body != "never"
            and look is not None
            and _needs(look, "needs_person")
        )

    def render(
        self,
        frame: np.ndarray,
        parse: FrameParse,
        timings: MutableMapping[str, float] | None = None,
        *,
        inplace: bool = False,
    ) -> np.ndarray:
        """Applies the look to ``frame`` given its parse: on a copy, or with ``inplace`` into ``frame`` itself.

        Args:
            frame: the frame that was parsed.
            parse: its parse.
            timings: receives the ``effects`` milliseconds, when given.
            inplace: render into ``frame`` itself, when it is a writable BGR uint8 array (other frames are
                converted to one, which is rendered and returned). Saves a copy of the frame (0.3 ms at 720p)
                for callers that own it and no longer need it as it was, as the live loop does with frames
                freshly read from a video or a camera.

        Returns:
            The rendered frame: a new array, or ``frame`` itself with ``inplace``.
        """
        if not isinstance(parse, FrameParse):
            raise InputError(f"parse must be a FrameParse, got {type(parse).__name__}")
        bgr = to_bgr8(frame)
        if parse.shape != bgr.shape[:2]:
            raise InputError(
                f"parse is for a {parse.shape[1]}x{parse.shape[0]} frame, got {bgr.shape[1]}x{bgr.shape[0]}"
            )
        t0 = time.perf_counter()
        out = bgr if inplace and bgr.flags.writeable else bgr.copy()
        look = self._look_for(parse)
        if look is not None:
            look.render(out, parse)
        if timings is not None:
            timings["effects"] = (time.perf_counter() - t0) * 1000.0
        return out

    def _look_for(self, parse: FrameParse) -> Look | None:
        """The look to draw ``parse`` with: the current one, or the one before for a frame planned for it."""
        with self._switching:
            self._renders += 1
            previous, look = self._previous_look, self.look
            if self._stale <= 0 or previous is None:
                self._previous_look = None
                return look
            self._stale -= 1
        if look is None or self._serves(parse, look) or not self._serves(parse, previous):
            return look
        return previous

    def _serves(self, parse: FrameParse, look: Look) -> bool:
        """Whether ``parse`` holds what a frame planned for ``look`` gets: the person mask, the body classes."""
        plan = self._plan_for(look)
        if plan.person and parse.person is None:
            return False
        if not plan.body:
            return True
        wanted = frozenset(BODY_CLASSES) if plan.body is True else plan.body - {"person"}
        return wanted <= parse.masks.keys()

    def process(
        self,
        frame: np.ndarray,
        timings: MutableMapping[str, float] | None = None,
        timestamp: float | None = None,
        *,
        cut: bool = False,
    ) -> np.ndarray:
        """Parses ``frame`` and returns a new BGR uint8 frame with the look applied.

        A frame without faces comes back with the look's hair, clothes and background effects alone, if it has any
        (:meth:`draws_without_faces`; else unchanged, as a copy). ``timings``, when given, receives the milliseconds
        of each stage (``perception``, ``parsing``, ``effects``); ``timestamp`` and ``cut`` are as for :meth:`parse`.
        """
        bgr = to_bgr8(frame)
        return self.render(bgr, self.parse(bgr, timings, timestamp, cut=cut), timings)

    def reset(self) -> None:
        """Starts afresh, as for a new stream: call it at a scene cut or before unrelated frames.

        Forgets the face ids, the landmark smoothing, MediaPipe's tracking, the carried person mask and the
        parser's memory (colour models, a model's carried masks). A video pipeline fed unrelated frames without it
        meshes each new face where the last one was first, and smooths the landmarks across the cut.

        Call it between frames, from the thread that perceives them. While a :class:`~tryon.live.LiveLoop` runs
        this pipeline (perceiving on a worker thread or in a child process), call :meth:`LiveLoop.reset
        <tryon.live.LiveLoop.reset>` instead; to reset at a known frame, pass ``cut=True`` to :meth:`parse` or
        :meth:`perceive` (or give the loop :class:`~tryon.sources.Frame` values with ``cut`` set).
        """
        self._check_open()
        self._forget_tracking()
        self._parser.reset()

    def _forget_tracking(self) -> None:
        """The perceiving half of :meth:`reset`: MediaPipe's tracking, face ids, smoothing, the carried person."""
        self._perception.reset()
        self._tracker.reset()
        if self._smoother is not None:
            self._smoother.reset()
        self._frames = 0
        self._last_person = None
        self._shape = None

    def _check_open(self) -> None:
        if self._closed:
            raise InputError("this Pipeline is closed")

    def close(self) -> None:
        """Releases the perception graphs and the parser's models; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._perception.close()
            self._parser.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
