"""Frames at the edge of the pipeline: conversion to BGR uint8, reading and writing image files.

Inside tryon every frame is a C-contiguous ``HxWx3`` BGR ``uint8`` array (OpenCV's convention). Anything
else a caller hands in (grayscale, BGRA, 16-bit, float in [0, 1], bool) is converted once by
:func:`to_bgr8`; anything that cannot be a picture is refused with an :class:`~tryon.errors.InputError`.
"""

from __future__ import annotations

import os
import struct
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from tryon.errors import ImageReadError, ImageWriteError, InputError

__all__ = [
    "ALPHA_SUFFIXES",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "read_alpha",
    "read_image",
    "to_alpha8",
    "to_bgr8",
    "write_image",
    "write_images",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
MIN_SIDE = 16
MAX_SIDE = 16384
#: The most pixels :func:`read_image` takes: 8192x8192 (67 megapixels), room for a 50-megapixel phone photo
#: (8192x6144, which ``tryon apply --look glam`` makes up in 0.7 GB at its peak). Memory grows with the pixels.
MAX_PIXELS = 8192 * 8192


#: How far outside [0, 1] a float frame may stray (resampling overshoots) and still be taken, saturated.
_FLOAT_SLACK = 0.25


def to_bgr8(frame: object, *, name: str = "frame") -> np.ndarray:
    """Returns ``frame`` as a contiguous HxWx3 BGR uint8 array, converting when needed.

    Accepted: HxW (gray), HxWx1, HxWx3 (BGR), HxWx4 (BGRA, alpha dropped) in uint8, uint16 (scaled by 1/257),
    bool, or float in [0, 1] (values a little outside it, from resampling, saturate). Either byte order. The same
    array is returned when it already fits.

    Raises:
        InputError: for anything else, naming what came.
    """
    if not isinstance(frame, np.ndarray):
        raise InputError(f"{name} must be a numpy array (HxWx3 BGR uint8), got {type(frame).__name__}")
    arr = frame
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(f"{name} must be HxW, HxWx1, HxWx3 or HxWx4, got shape {frame.shape}")
    h, w = arr.shape[:2]
    if min(h, w) < MIN_SIDE or max(h, w) > MAX_SIDE:
        raise InputError(f"{name} must be between {MIN_SIDE} and {MAX_SIDE} pixels a side, got {w}x{h}")
    if not arr.dtype.isnative:  # big-endian data (from a file or another machine)
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype == np.uint8:
        pass
    elif arr.dtype == np.uint16:
        arr = (arr.astype(np.uint32) * 255 + 32767) // 65535
        arr = arr.astype(np.uint8)
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        lo, hi = float(np.min(arr)), float(np.max(arr))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise InputError(f"{name} holds NaN or infinite values")
        if lo < -_FLOAT_SLACK or hi > 1.0 + _FLOAT_SLACK:
            hint = " (0..255 values: divide by 255 first)" if hi > 2.0 else ""
            raise InputError(f"{name}: a float frame must hold values in [0, 1], got {lo:g} to {hi:g}{hint}")
        arr = to_alpha8(arr)
    else:
        raise InputError(f"{name} dtype must be uint8, uint16, bool or float in [0, 1], got {arr.dtype}")
    if arr.ndim == 2:
        arr = cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    elif arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(arr)


def to_alpha8(values: np.ndarray) -> np.ndarray:
    """Float values in [0, 1] (a soft mask, a probability) as uint8 0..255, rounded; values outside saturate.

    Two OpenCV passes (a maximum with 0, then a saturating scale): about 3x faster than numpy's scale, clip and
    cast on a 720p plane, and every pixel within one level of it.
    """
    if values.dtype not in (np.float32, np.float64):  # float16, long double, integers: OpenCV's arithmetic lacks them
        values = values.astype(np.float32)
    return np.asarray(cv2.convertScaleAbs(cv2.max(values, 0.0), alpha=255.0))


def _too_big(name: object, pixels: str) -> ImageReadError:
    side = int(MAX_PIXELS**0.5)
    return ImageReadError(
        f"{name}: {pixels}; photos may have up to {MAX_PIXELS / 1e6:.0f} megapixels ({side}x{side}): "
        "scale it down first"
    )


def _header_size(data: memoryview) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG's or a JPEG's header (a few bytes, nothing decoded); None for other files."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack_from(">II", data, 16)
        return width, height
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 <= len(data) and data[i] == 0xFF:  # JPEG segments up to the frame header (SOFn)
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte
            i += 1
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOF0..SOF15 but DHT, JPG, DAC
            height, width = struct.unpack_from(">HH", data, i + 5)
            return width, height
        else:
            i += 2 + struct.unpack_from(">H", data, i + 2)[0]
    return None


#: ``warnings.catch_warnings`` swaps the process's warning filters and puts them back: two threads doing it at once
#: (a folder source's reader and the loop reading a look's picture) can put back each other's, leaving a filter on
#: or losing one. Pillow's header reads here take turns.
_QUIET_PILLOW = threading.Lock()


def _pillow_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` as Pillow reads it from the header (nothing decoded); None when it cannot."""
    try:
        with _QUIET_PILLOW, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data" of a damaged file: OpenCV reports it
            with Image.open(path) as image:
                return image.size
    except Image.DecompressionBombError:  # over twice Pillow's own limit, far above ours
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise _too_big(path, f"more than {limit / 1e6:.0f} megapixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):  # damaged: OpenCV reports it
        return None


def _check_pixels(path: Path, data: np.ndarray) -> None:
    """Refuses an image of more than :data:`MAX_PIXELS` from its header, before anything is decoded.

    PNG and JPEG headers are read here; Pillow reads the others' (header only). A file that neither reads is left
    to OpenCV, and checked once decoded.
    """
    size = _header_size(data.data) or _pillow_size(path)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise _too_big(path, f"{size[0]}x{size[1]} is {size[0] * size[1] / 1e6:.0f} megapixels")


#: The first bytes of each image format tryon reads, and its name.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _format_of(head: bytes) -> str | None:
    """The image format a file's first bytes announce (None when they announce none tryon reads)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Reads an image file as BGR uint8 (EXIF orientation applied).

    An image of more than :data:`MAX_PIXELS` pixels is refused from its header, before it is decoded.

    Raises:
        ImageReadError: when the file is missing, empty, unreadable, corrupt, not an image, or too big.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{p}: no such file")
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"{p}: could not be read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageReadError(f"{p}: the file is empty")
    _check_pixels(p, data)
    # IMREAD_COLOR applies EXIF orientation and brings gray, alpha and 16-bit files to BGR uint8.
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        kind = _format_of(data[:16].tobytes())
        if kind is not None:
            raise ImageReadError(f"{p}: a corrupt or truncated {kind} file (it could not be decoded)")
        raise ImageReadError(f"{p}: not a readable image (supported: {', '.join(sorted(IMAGE_SUFFIXES))})")
    height, width = image.shape[:2]
    if width * height > MAX_PIXELS:
        raise _too_big(p, f"{width}x{height} is {width * height / 1e6:.0f} megapixels")
    try:
        return to_bgr8(image, name=str(p))
    except InputError as exc:
        raise ImageReadError(str(exc)) from exc


#: The image types whose files hold transparency (an alpha channel).
ALPHA_SUFFIXES = frozenset({".png", ".webp", ".tif", ".tiff"})


#: EXIF orientation -> how an array stored that way is turned upright (as OpenCV turns the colours when it reads).
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].T,
    8: lambda a: np.rot90(a, 1),
}


def _orientation(path: Path) -> int:
    """The EXIF orientation of an image file (1, upright, when it has none or it cannot be read)."""
    try:
        with _QUIET_PILLOW, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                value = image.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return 1
    return value if isinstance(value, int) and value in _UPRIGHT else 1


def read_alpha(path: str | os.PathLike[str], shape: tuple[int, ...]) -> np.ndarray | None:
    """The transparency of an image file :func:`read_image` has read, as ``HxW`` uint8 (255 opaque).

    Turned upright by the file's EXIF orientation, as :func:`read_image` turns its colours.

    Args:
        path: the file.
        shape: the shape :func:`read_image` gave it.

    Returns:
        The alpha channel, or None when the file has none, none that is not fully opaque, or one that does not fit
        ``shape``.
    """
    p = Path(path)
    if p.suffix.lower() not in ALPHA_SUFFIXES:
        return None
    try:
        image = cv2.imdecode(np.fromfile(str(p), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except OSError:
        return None
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return None
    alpha = image[:, :, 3]
    if alpha.dtype == np.uint16:
        alpha = (alpha >> 8).astype(np.uint8)
    elif alpha.dtype != np.uint8:  # float TIFF
        alpha = np.clip(np.asarray(alpha, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    turn = _UPRIGHT.get(_orientation(p))
    if turn is not None:
        alpha = turn(alpha)
    if alpha.shape != tuple(shape[:2]) or alpha.min() == 255:
        return None
    return np.ascontiguousarray(alpha)


def write_image(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Writes an image atomically: a temporary file in the same folder, renamed when complete.

    Raises:
        ImageWriteError: for an unknown suffix or a failed write (its ``errno`` set, as ``ENOSPC`` for a full disk);
            no partial file is left behind, even when the write is interrupted (Ctrl+C).
    """
    return write_images([(path, image)])[0]


def write_images(items: Sequence[tuple[str | os.PathLike[str], np.ndarray]]) -> list[Path]:
    """Writes several images as one: each to a temporary file beside it, and all renamed once every one is written.

    A failure (a full disk, a read-only folder, a target that is a folder, Ctrl+C) leaves none of the new files
    behind, rather than the first without the others (a labels file without its overlay); a file the set was
    replacing is never deleted (if a later rename fails after it was replaced, it keeps the new content).

    Raises:
        ImageWriteError: as :func:`write_image`, for the first image that cannot be encoded or written.
    """
    paths = [Path(path) for path, _ in items]
    if not paths:
        return []
    encoded = []
    for p, (_, image) in zip(paths, items):
        suffix = p.suffix.lower()
        if suffix not in IMAGE_SUFFIXES:
            raise ImageWriteError(
                f"{p}: unsupported image type {suffix or '(none)'!r}; use one of {', '.join(sorted(IMAGE_SUFFIXES))}"
            )
        ok, data = cv2.imencode(suffix, image)
        if not ok:
            raise ImageWriteError(f"{p}: OpenCV could not encode the image as {suffix}")
        if p.parent and not p.parent.exists():
            raise ImageWriteError(f"{p}: the folder {p.parent} does not exist")
        if p.is_dir():  # found now, before any file of the set replaces one the user had
            raise ImageWriteError(f"{p}: is a folder")
        encoded.append(data)
    temps: list[str] = []
    placed: list[Path] = []  # the new files put in place (a file replaced is not brought back, nor deleted)
    p = paths[0]
    try:
        umask = os.umask(0)
        os.umask(umask)
        for p, data in zip(paths, encoded):
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=str(p.parent or Path(".")))
            temps.append(tmp)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.tobytes())
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        for p, tmp in zip(paths, temps):
            existed = p.exists()
            os.replace(tmp, p)
            if not existed:
                placed.append(p)
    except BaseException as exc:  # a failed write, or Ctrl+C: never leave a temporary file, nor some of the set
        for leftover in [*map(Path, temps), *placed]:
            leftover.unlink(missing_ok=True)
        if not isinstance(exc, OSError):
            raise
        raise ImageWriteError.of(p, exc) from exc
    return paths
