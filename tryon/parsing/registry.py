"""Parsers by name: ``landmarks`` (no model), model backends, a card file, or ``auto`` (the best one installed).

A parser name is one of :data:`PARSERS`, a manifest model name with a card (``sinet-portrait-onnx``), a path to a
model card (``my-bisenet.yaml``, whose ``model`` names the network), or several of those joined by ``+`` (their
channels side by side: ``skin-clothes-hair+mediapipe-hair``). ``auto`` takes the first of :data:`AUTO` whose models
are installed and whose runtime imports, else ``landmarks``, logging why each better one was passed over.

Backends are imported only when built; nothing is loaded at import time.

Example:
    >>> from tryon.parsing.registry import create_parser, parser_names
    >>> "skin-clothes-hair" in parser_names()
    True
    >>> parser = create_parser("auto", mode="video")  # doctest: +SKIP
    >>> parse = parser.parse(frame, perception(frame))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Optional, Protocol, Union

import numpy as np

from tryon.errors import InputError, TryOnError
from tryon.models.manifest import Manifest
from tryon.parsing.classes import BodyRequest
from tryon.parsing.frame_parse import FrameParse
from tryon.perception.detector import PerceptionResult

if TYPE_CHECKING:  # the backends and the fusion are imported when a parser is built
    from tryon.parsing.backends.base import BodyBackend
    from tryon.parsing.fusion import FusionOptions
    from tryon.parsing.parser import ParserOptions

__all__ = [
    "AUTO",
    "PARSERS",
    "FrameParser",
    "ParserEntry",
    "create_backend",
    "create_parser",
    "parser_names",
    "resolve_name",
]

log = logging.getLogger(__name__)

EngineKind = Literal["onnx", "tflite"]


class FrameParser(Protocol):
    """What the pipeline calls: ``parse(frame, perception, ids, body) -> FrameParse``."""

    name: str

    def parse(
        self,
        frame: np.ndarray,
        perception: PerceptionResult,
        ids: Sequence[int] | None = None,
        body: BodyRequest = True,
    ) -> FrameParse:
        """Parses one BGR uint8 frame given its perception."""
        ...

    def reset(self) -> None:
        """Forgets what is carried from frame to frame (a new stream, or a cut)."""
        ...

    def close(self) -> None:
        """Releases models and graphs; safe to call twice."""
        ...


@dataclass(frozen=True)
class ParserEntry:
    """One named parser.

    Attributes:
        name: the name given to ``--parser``.
        description: one line for ``--help`` and errors.
        models: the manifest models it runs (none for ``landmarks``), side by side when several.
    """

    name: str
    description: str
    models: tuple[str, ...] = ()


#: The named parsers. Any manifest model with a card, or a card file, works too.
PARSERS: dict[str, ParserEntry] = {
    e.name: e
    for e in (
        ParserEntry("landmarks", "face classes from landmarks, rough body classes from the person mask (no model)"),
        ParserEntry(
            "skin-clothes-hair",
            "PAN MobileNetV3 skin/clothes/hair segmentation (ONNX, 512 px)",
            ("skin-clothes-hair-onnx",),
        ),
        ParserEntry(
            "mediapipe-hair", "MediaPipe hair segmentation (TFLite, 512 px; needs tryon[tflite])", ("mediapipe-hair",)
        ),
        ParserEntry(
            "skin-clothes-hair+mediapipe-hair",
            "skin/clothes/hair (ONNX) with MediaPipe's hair model averaged in (TFLite)",
            ("skin-clothes-hair-onnx", "mediapipe-hair"),
        ),
        ParserEntry(
            "selfie",
            "MediaPipe selfie person mask (ONNX, 256 px); body classes from landmarks",
            ("selfie-segmentation-onnx",),
        ),
        ParserEntry(
            "meet",
            "MediaPipe Meet person mask (ONNX, 144x256); body classes from landmarks",
            ("meet-segmentation-onnx",),
        ),
        ParserEntry(
            "sinet", "SINet portrait person mask (ONNX, 320 px); body classes from landmarks", ("sinet-portrait-onnx",)
        ),
    )
}

#: What ``auto`` tries, best first; ``landmarks`` closes the list. Both models together score best on hair (the
#: hair model's is averaged in) and keep the body model's skin and clothes; in video the models run off the frame
#: loop (see :class:`~tryon.parsing.fusion.ModelFrameParser`), so the second model costs no frame time.
AUTO: tuple[str, ...] = ("skin-clothes-hair+mediapipe-hair", "skin-clothes-hair", "mediapipe-hair", "landmarks")

ParserRef = Union[str, Path]


def parser_names() -> tuple[str, ...]:
    """The named parsers, plus ``auto``."""
    return (*PARSERS, "auto")


def resolve_name(name: ParserRef) -> tuple[str, ...]:
    """The models (manifest names or card paths) that a parser name runs; () for ``landmarks``.

    For ``auto``, the models of the first :data:`AUTO` entry whose model files are all installed (whether their
    runtime imports is only known when :func:`create_parser` builds them).

    Raises:
        InputError: for an unknown name, listing the valid names, the manifest's segmentation models and the
            card-file form.
    """
    from tryon.parsing.backends.resolve import is_card_path

    text = str(name).strip()
    if text in PARSERS:
        return PARSERS[text].models
    if text == "auto":
        return next((PARSERS[c].models for c in AUTO if _installed(PARSERS[c].models)), ())
    if isinstance(name, Path) or (is_card_path(text) and ("+" not in text or Path(text).is_file())):
        return (text,)
    if "+" in text:
        out: list[str] = []
        for part in (p.strip() for p in text.split("+")):
            if not part or part in ("landmarks", "auto"):
                raise InputError(f"parser {text!r}: {part or 'an empty name'!r} cannot be combined with '+'")
            out.extend(resolve_name(part))
        return tuple(out)
    manifest = Manifest.default()
    if text in manifest and manifest.get(text).card is not None:
        return (text,)
    models = [e.name for e in manifest if e.card is not None]
    raise InputError(
        f"unknown parser {text!r}; valid names: {', '.join(parser_names())}; or a segmentation model: "
        f"{', '.join(models)}; or a model card file (.yaml, .yml, .json); or names joined by '+'"
    )


def _installed(models: Sequence[str]) -> bool:
    """Whether every model's card and file are there (no runtime is loaded)."""
    from tryon.parsing.backends.resolve import resolve_model

    try:
        for model in models:
            resolve_model(model)
    except TryOnError:
        return False
    return True


def _present(models: Sequence[str]) -> bool:
    """Whether every model's file is in the models folder, intact or not (a missing one is no surprise for auto)."""
    from tryon.models import ModelManager

    manager = ModelManager()
    try:
        return all(manager.file(m).is_file() for m in models)
    except TryOnError:
        return False


def _engine_of(model: str) -> EngineKind:
    from tryon.parsing.backends.resolve import resolve_model

    _, path = resolve_model(model)
    return "tflite" if path.suffix.lower() == ".tflite" else "onnx"


def _one_backend(model: str, providers: str, threads: Optional[int]) -> BodyBackend:
    """A backend for one manifest model or card file: the engine follows the model file's suffix."""
    if _engine_of(model) == "tflite":
        from tryon.parsing.backends.tflite import tflite_backend

        return tflite_backend(model, threads=threads)
    from tryon.parsing.backends.onnx import onnx_backend

    return onnx_backend(model, providers=providers, threads=threads)


def create_backend(name: ParserRef, *, providers: str = "auto", threads: Optional[int] = None) -> Optional[BodyBackend]:
    """The body backend of parser ``name`` (None for ``landmarks``). ``auto`` is resolved by :func:`create_parser`.

    Args:
        name: a parser name, a manifest segmentation model, a card file, or names joined by ``+``.
        providers: ONNX execution providers ("auto" or names).
        threads: runtime threads (default: the runtime's choice).

    Raises:
        InputError: for an unknown name (listing the valid ones).
        ModelError: for a model that is not installed (saying ``tryon models pull NAME``) or a bad card.
        DependencyError: for a missing runtime (saying ``pip install "tryon[EXTRA]"``).
    """
    if str(name).strip() == "auto":
        raise InputError("'auto' picks a parser, not a backend: use create_parser('auto')")
    models = resolve_name(name)
    if not models:
        return None
    backends: list[BodyBackend] = []
    try:
        for model in models:
            backends.append(_one_backend(model, providers, threads))
    except BaseException:
        for b in backends:
            b.close()
        raise
    if len(backends) == 1:
        return backends[0]
    from tryon.parsing.backends.base import CombinedBackend

    combined = CombinedBackend(backends)
    combined.name = str(name)
    return combined


def _auto_backend(providers: str, threads: Optional[int]) -> Optional[BodyBackend]:
    """The backend of the first :data:`AUTO` entry that builds, or None for the landmark parser.

    Logs the choice once at INFO (what ``-v`` shows): the parser and its model files, or, falling back to the
    landmark parser, why each better one was passed over (a missing model's error says where it was looked for and
    the ``tryon models pull NAME`` that fetches it). A candidate whose model files are all there but that cannot be
    used (a corrupt file, its runtime not installed) is a WARNING: the user installed it to have it used.
    """
    passed_over: dict[str, list[str]] = {}  # reason -> the candidates it stopped, as one model stops several
    warned: set[str] = set()
    for candidate in AUTO:
        if candidate == "landmarks":
            break
        try:
            backend = create_backend(candidate, providers=providers, threads=threads)
        except TryOnError as exc:
            passed_over.setdefault(str(exc), []).append(candidate)
            if str(exc) not in warned and _present(PARSERS[candidate].models):
                warned.add(str(exc))
                log.warning("parser auto: passing over %s: %s", candidate, exc)
            continue
        if backend is not None:
            reasons = "".join(f". Passed over {', '.join(c)}: {r}" for r, c in passed_over.items())
            log.info("parser auto: using %s (%s)%s", candidate, ", ".join(_model_files(backend)), reasons)
            return backend
    reasons = "".join(f". {', '.join(c)}: {r}" for r, c in passed_over.items())
    log.info("parser auto: using the landmark parser, as no model could be used%s", reasons)
    return None


def _model_files(backend: BodyBackend) -> list[str]:
    """``name: file`` for each model a backend runs, for the log."""
    from tryon.parsing.backends.base import CombinedBackend

    parts = backend.backends if isinstance(backend, CombinedBackend) else (backend,)
    out = []
    for part in parts:
        path = getattr(getattr(part, "engine", None), "path", None)
        out.append(part.name if path is None else f"{part.name}: {os.path.abspath(path)}")
    return out


def create_parser(
    name: ParserRef = "auto",
    *,
    options: ParserOptions | None = None,
    fusion: FusionOptions | None = None,
    mode: Literal["image", "video"] = "image",
    every: int = 1,
    background: bool = True,
    providers: str = "auto",
    threads: Optional[int] = None,
) -> FrameParser:
    """A frame parser by name.

    Args:
        name: ``landmarks``, ``auto``, a name of :data:`PARSERS`, a manifest segmentation model, a card file, or
            names joined by ``+``.
        options: the landmark parser's options (faces, and whether to build the body classes).
        fusion: how model classes and faces are fused.
        mode: ``"image"`` (unrelated photos) or ``"video"`` (a stream: the model's last masks are reused between
            runs and fed back to networks that take them).
        every: in video, run the model every this many frames.
        background: in video, run the model on a background thread, off the frame loop (see
            :class:`~tryon.parsing.fusion.ModelFrameParser`).
        providers: ONNX execution providers.
        threads: runtime threads.

    Raises:
        InputError: for an unknown name (listing the valid ones) or bad options.
        ModelError: for a model that is not installed (saying ``tryon models pull NAME``) or a bad card.
        DependencyError: for a missing runtime (saying ``pip install "tryon[EXTRA]"``).
    """
    from tryon.parsing.parser import LandmarkFrameParser

    text = str(name).strip()
    if text == "auto":
        backend = _auto_backend(providers, threads)
    else:
        backend = create_backend(name, providers=providers, threads=threads)
    if backend is None:
        return LandmarkFrameParser(options, mode=mode)
    from tryon.parsing.fusion import ModelFrameParser

    try:
        return ModelFrameParser(backend, options, fusion, mode=mode, every=every, background=background)
    except BaseException:
        backend.close()
        raise
