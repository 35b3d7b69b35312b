"""What the commands share: exit codes, error lines, input kinds, progress bars, look options, Ctrl+C handling."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from tqdm import tqdm

from tryon.errors import ImageReadError, ImageWriteError, InputError
from tryon.image import IMAGE_SUFFIXES
from tryon.looks import Look
from tryon.pipeline import PipelineOptions
from tryon.video import VIDEO_SUFFIXES

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "StopOnInterrupt",
    "add_look_options",
    "add_no_clobber_option",
    "check_parser",
    "error",
    "refuse_existing",
    "exit_code",
    "input_kind",
    "load_look",
    "logging_to_stderr",
    "native_stderr_silenced",
    "progress",
    "suffixes",
    "table",
]

EXIT_OK = 0
EXIT_PARTIAL = 1  # some items of a batch failed, or a damaged video was made up only as far as it decodes
EXIT_ERROR = 2  # a user error: bad input, bad look, bad arguments
EXIT_INTERRUPTED = 130  # Ctrl+C, after finishing what was written

InputKind = Literal["photo", "video", "folder"]


def error(message: object) -> None:
    """Prints one ``tryon: error: ...`` line on stderr."""
    print(f"tryon: error: {message}", file=sys.stderr)


def exit_code(done: int, failed: int) -> int:
    """The exit code of a batch: 0 when nothing failed, 1 when some items failed, 2 when all did."""
    if not failed:
        return EXIT_OK
    return EXIT_PARTIAL if done else EXIT_ERROR


def table(rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> str:
    """Rows as aligned text columns (the first row is the header, underlined); columns in ``right`` align right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in (rows[0], ["-" * w for w in widths], *rows[1:]):
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def suffixes(kinds: frozenset[str]) -> str:
    return ", ".join(sorted(kinds))


def input_kind(path: Path) -> InputKind:
    """Whether ``path`` is a photo, a video or a folder of photos.

    Raises:
        ImageReadError: when it does not exist.
        InputError: for a file type that is neither a photo nor a video.
    """
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise ImageReadError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "photo"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise InputError(
        f"{path}: unsupported input type {suffix or '(none)'!r}; photos: {suffixes(IMAGE_SUFFIXES)}; "
        f"videos: {suffixes(VIDEO_SUFFIXES)}; or a folder of photos"
    )


def add_look_options(parser: argparse.ArgumentParser, default: str | None = "natural") -> None:
    """Adds ``--look``, ``--set`` and ``--max-faces``."""
    parser.add_argument(
        "--look", default=default, metavar="NAME|FILE", help=f"a built-in look or a look file (default: {default})"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a look option, e.g. lipstick.color=#9E1B32, lipstick.sku=TRY-LIP-003, blush=off, "
        "faces.1.lipstick.color=#C0392B (repeatable)",
    )
    add_max_faces_option(parser)


def add_max_faces_option(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    """Adds ``--max-faces N``; None leaves the pipeline's default (8 for photos, 4 for video)."""
    shown = "8 for photos, 4 for video" if default is None else str(default)
    parser.add_argument(
        "--max-faces", type=face_count, default=default, metavar="N", help=f"most faces, 1 to 16 (default: {shown})"
    )


def add_no_clobber_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Adds ``-n/--no-clobber``: leave existing outputs untouched."""
    parser.add_argument("-n", "--no-clobber", action="store_true", help=f"never overwrite an existing file: {what}")


def refuse_existing(*targets: Path | None) -> None:
    """For ``--no-clobber``: an error naming the first output that already exists (None is no output).

    Raises:
        ImageWriteError: when one exists.
    """
    for target in targets:
        if target is not None and (target.exists() or target.is_symlink()):
            raise ImageWriteError(f"{target}: already exists; not overwritten (--no-clobber)")


def add_parser_option(parser: argparse.ArgumentParser) -> None:
    """Adds ``--parser NAME|CARD`` (the parsing backend)."""
    parser.add_argument(
        "--parser",
        default="landmarks",
        metavar="NAME|CARD",
        help="parsing backend: landmarks (no model, the default), auto (the best installed model), a model name "
        "(skin-clothes-hair, mediapipe-hair, ...; see `tryon models list`) or a model card file",
    )


def check_parser(name: str) -> None:
    """Refuses a ``--parser`` that cannot run: an unknown name, a missing or malformed card, a model not installed.

    Commands call it first, before MediaPipe starts (its native log lines would come before the error) and before
    a source, a camera, a window or an output is opened.

    Raises:
        InputError: for an unknown name (listing the valid ones).
        ModelError: for a bad card or a model that is not installed (saying ``tryon models pull NAME``).
    """
    from tryon.parsing.backends.resolve import resolve_model
    from tryon.parsing.registry import resolve_name

    for model in resolve_name(name):
        resolve_model(model)


def pipeline_options(args: argparse.Namespace, mode: str, **more: Any) -> PipelineOptions:
    """Pipeline options from ``--parser``, ``--max-faces`` and ``more`` fields.

    The parser is checked by the command first, with :func:`check_parser`, before it opens anything.
    """
    parsing = getattr(args, "parser", "landmarks")
    return PipelineOptions(mode=mode, max_faces=args.max_faces, parsing=parsing, **more)  # type: ignore[arg-type]


#: The largest count the command line takes (frames, faces ...): far past any real use, and within what Python's
#: slicing and OpenCV's ints hold.
_MAX_COUNT = 10**9


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (and at most a billion)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    if value > _MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {_MAX_COUNT}, got {value}")
    return value


def face_count(text: str) -> int:
    """An argparse type: how many faces to find, 1 to ``MAX_FACES`` (face mesh runs once per face)."""
    from tryon.perception.detector import MAX_FACES

    value = positive_int(text)
    if value > MAX_FACES:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_FACES}, got {value}")
    return value


def camera_or_path(text: str) -> str:
    """An argparse type for ``--source``: a camera index (0 or more), a device or a file; a negative index fails."""
    try:
        index = int(text)
    except ValueError:
        return text
    if Path(text).exists():  # a file that happens to be named like a number
        return text
    if index < 0:
        raise argparse.ArgumentTypeError(f"a camera index must be 0 or more, got {text}")
    return str(index)


def frame_rate(text: str) -> float:
    """An argparse type: frames per second, as a virtual camera takes them."""
    from tryon.sinks.virtualcam import MAX_FPS, MIN_FPS

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not MIN_FPS <= value <= MAX_FPS:  # NaN fails both comparisons
        raise argparse.ArgumentTypeError(f"must be {MIN_FPS:g} to {MAX_FPS:g} frames per second, got {text}")
    return value


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (through links and relative parts too); False if either is missing."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def load_look(args: argparse.Namespace) -> Look:
    """The look that ``--look`` and ``--set`` describe (validated before any input is processed)."""
    return Look.load(args.look, overrides=args.overrides)


def progress(**kwargs: Any) -> tqdm[Any]:
    """A progress bar on stderr, shown only on a terminal."""
    return tqdm(file=sys.stderr, disable=None, dynamic_ncols=True, **kwargs)


class StopOnInterrupt:
    """Turns the first Ctrl+C (and SIGTERM) into a request to stop between two frames.

    A loop checks :attr:`requested` and finishes cleanly; a second Ctrl+C interrupts at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopOnInterrupt:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Sends what native libraries (MediaPipe, TFLite) print on file descriptor 2 to the null device.

    Python's ``sys.stderr`` (our messages, logging, progress bars) keeps writing to the real stderr. Nothing is
    done when disabled, on Windows, or when ``sys.stderr`` is not the process's stderr (as under pytest).
    """
    try:
        redirect = enabled and os.name == "posix" and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        redirect = False
    if not redirect:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    old_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=old_stderr.encoding, errors="backslashreplace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = old_stderr
        os.dup2(saved, 2)
        os.close(saved)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"tryon: {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info and logging.getLogger("tryon").isEnabledFor(logging.DEBUG):
            text += "\n" + self.formatException(record.exc_info)
        return text


@contextlib.contextmanager
def logging_to_stderr(verbose: bool) -> Iterator[None]:
    """Shows tryon's log messages on stderr (warnings, or everything with ``verbose``) for one command."""
    logger = logging.getLogger("tryon")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
