"""Frame sources: webcam, video file, photo, folder of photos; built by name from a registry.

Example:
    >>> from tryon.sources import open_source
    >>> with open_source("clip.mp4", loop=True) as source:  # doctest: +SKIP
    ...     for frame in source:
    ...         ...
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from tryon.errors import SourceError
from tryon.image import IMAGE_SUFFIXES
from tryon.sources.base import Frame, Source

__all__ = ["SOURCES", "Frame", "Source", "open_source", "source_kind"]

#: kind -> "module:Class", imported on first use.
SOURCES: dict[str, str] = {
    "webcam": "tryon.sources.webcam:WebcamSource",
    "video": "tryon.sources.video:VideoSource",
    "photo": "tryon.sources.photos:PhotoSource",
    "folder": "tryon.sources.photos:FolderSource",
}


def source_kind(spec: str | int | Path) -> str:
    """Guesses the kind of a source spec: a camera index or ``/dev/video*``, a folder, a photo, else a video."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return "webcam"
    text = str(spec)
    if text.startswith("/dev/video"):
        return "webcam"
    path = Path(text)
    if path.is_dir():
        return "folder"
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "photo"
    return "video"


def open_source(spec: str | int | Path, kind: str = "auto", **options: Any) -> Source:
    """Opens a source by spec; ``kind="auto"`` guesses it (see :func:`source_kind`).

    Raises:
        SourceError: for an unknown kind (listing the valid ones), unknown options, or a source that fails to open.
    """
    if kind == "auto":
        kind = source_kind(spec)
    target = SOURCES.get(kind)
    if target is None:
        raise SourceError(f"unknown source kind {kind!r}; valid kinds: auto, {', '.join(SOURCES)}")
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if kind == "webcam" and isinstance(spec, str) and spec.isdigit():
        spec = int(spec)
    try:
        return cls(spec, **options)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise SourceError(f"{kind} source: {exc}") from exc
