"""Frame sinks: window, virtual camera, video file, folder of photos, null; built by name from a registry."""

from __future__ import annotations

import importlib
from typing import Any

from tryon.errors import SinkError
from tryon.sinks.base import Sink

__all__ = ["SINKS", "Sink", "open_sink"]

#: kind -> "module:Class", imported on first use.
SINKS: dict[str, str] = {
    "window": "tryon.sinks.window:WindowSink",
    "virtualcam": "tryon.sinks.virtualcam:VirtualCameraSink",
    "video": "tryon.sinks.video:VideoFileSink",
    "folder": "tryon.sinks.simple:FolderSink",
    "null": "tryon.sinks.simple:NullSink",
}


def open_sink(kind: str, *args: Any, **options: Any) -> Sink:
    """Opens a sink by kind.

    Raises:
        SinkError: for an unknown kind (listing the valid ones) or a sink that fails to open.
    """
    target = SINKS.get(kind)
    if target is None:
        raise SinkError(f"unknown sink kind {kind!r}; valid kinds: {', '.join(SINKS)}")
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    try:
        return cls(*args, **options)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise SinkError(f"{kind} sink: {exc}") from exc
