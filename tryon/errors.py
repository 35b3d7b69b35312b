"""Exception hierarchy.

Every error tryon raises on purpose derives from :class:`TryOnError` and also from the matching builtin, so
callers may catch either ``tryon.LookError`` or ``ValueError``.
"""

from __future__ import annotations

__all__ = [
    "TryOnError",
    "InputError",
    "ImageReadError",
    "ImageWriteError",
    "LookError",
    "CatalogError",
    "ParseError",
    "ModelError",
    "DependencyError",
    "SourceError",
    "SinkError",
]


class TryOnError(Exception):
    """Base class of every error raised by tryon on purpose."""


class InputError(TryOnError, ValueError):
    """A frame or argument has the wrong shape, dtype or value."""


class ImageReadError(TryOnError, OSError):
    """A file could not be read as an image or a video (missing, corrupt or unsupported)."""


class ImageWriteError(TryOnError, OSError):
    """An output file could not be written."""

    @classmethod
    def of(cls, path: object, exc: OSError, reason: str | None = None) -> ImageWriteError:
        """``PATH: reason`` for a failed write, keeping the system's ``errno`` (as ``ENOSPC`` for a full disk).

        Args:
            path: the file or folder that could not be written.
            exc: the operating system's error.
            reason: the words to use instead of the system's.
        """
        failure = cls(f"{path}: {reason or exc.strerror or exc}")
        failure.errno = exc.errno
        return failure


class LookError(TryOnError, ValueError):
    """A look file or look override is malformed: the message names the file, the field and what is allowed."""


class CatalogError(TryOnError, ValueError):
    """A product catalogue is malformed or a SKU is unknown."""


class ParseError(TryOnError, ValueError):
    """A parsing value object was built with inconsistent data."""


class ModelError(TryOnError, RuntimeError):
    """A model is missing, corrupt or failed to run."""


class DependencyError(TryOnError, ImportError):
    """An optional dependency is missing; the message gives the ``pip install`` line."""


class SourceError(TryOnError, OSError):
    """A frame source (camera, video) could not be opened or failed while reading."""


class SinkError(TryOnError, OSError):
    """A frame sink (window, virtual camera, video file) could not be opened or failed while writing."""
