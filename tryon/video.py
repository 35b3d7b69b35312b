"""Video files: :class:`VideoReader` (OpenCV) and :class:`VideoWriter` (H.264 through ffmpeg), both context managers.

The reader turns frames upright the way players show them (a phone's rotation tag is applied), so the output of a
phone clip is written upright, with no rotation tag.

The writer pipes raw BGR frames to the ``ffmpeg`` that the ``imageio-ffmpeg`` wheel ships and writes *fragmented*
MP4: the file is playable after every fragment (one per keyframe, one a second by default), so a recording that is
interrupted, even killed, still plays up to its last fragment. ffmpeg runs in its own process group, so Ctrl+C in a
terminal reaches only Python, which then closes the writer cleanly. Its first frame is shown at time 0 (audio muxed
back in later stays in sync), and its colours are tagged (:class:`ColorTags`).

Colours: OpenCV decodes every video with the BT.601 matrix, whatever the file's tags say, and the writer encodes with
the same matrix, so a frame that is read and written unchanged keeps its YUV values. The source's tags then describe
the output too, and ``VideoWriter(..., colors=reader.colors)`` copies them; without them the writer tags what it
encodes (BT.601, limited range).

Example:
    >>> with VideoReader("in.mp4") as reader, VideoWriter("out.mp4", fps=reader.fps) as writer:  # doctest: +SKIP
    ...     for frame in reader:
    ...         writer.write(frame)
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from tryon.errors import DependencyError, ImageReadError, ImageWriteError, InputError
from tryon.image import to_bgr8

__all__ = [
    "FRAME_COUNT_SLACK",
    "FRAME_COUNT_SLACK_SHARE",
    "VIDEO_SUFFIXES",
    "WRITER_COLORS",
    "ColorTags",
    "VideoReader",
    "VideoWriter",
]

log = logging.getLogger(__name__)

#: Video file types the reader accepts.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm"})
#: Video file types the writer produces (MP4 containers).
WRITE_SUFFIXES = (".mp4", ".m4v")
_DEFAULT_FPS = 30.0
#: How many frames short of the count its header announces a video may end and still count as whole: the larger of
#: these frames and this share of the count (some containers only estimate it from the duration).
FRAME_COUNT_SLACK = 2
FRAME_COUNT_SLACK_SHARE = 0.01
_PROBE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ColorTags:
    """How a video's YUV samples are to be shown: its colour tags, in ffmpeg's names (None: not tagged).

    Attributes:
        matrix: the YUV matrix (``bt709``, ``smpte170m``, ``bt470bg``, ...).
        primaries: the colour primaries (``bt709``, ...).
        transfer: the transfer characteristics (``bt709``, ``smpte170m``, ...).

    Example:
        >>> ColorTags("bt709", "bt709", "bt709").matrix
        'bt709'
    """

    matrix: str | None = None
    primaries: str | None = None
    transfer: str | None = None

    def __post_init__(self) -> None:
        for name in ("matrix", "primaries", "transfer"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and re.fullmatch(r"[a-z0-9_-]+", value)):
                raise InputError(f"ColorTags.{name} must be an ffmpeg colour name (as 'bt709') or None, got {value!r}")


#: What the writer encodes when it is given no tags: OpenCV's BGR, through the BT.601 matrix (ffmpeg's bt470bg).
WRITER_COLORS = ColorTags(matrix="bt470bg")


class VideoReader:
    """Reads a video file as BGR uint8 frames, upright as players show them (a phone's rotation tag applied).

    Args:
        path: the video file.

    Attributes:
        fps: frames per second (30 when the file does not say).
        size: ``(width, height)`` of the frames, upright (a rotation tag applied).
        frame_count: the number of frames the file declares (an estimate for some containers; 0 if unknown).
        frames_read: the frames read so far.

    Raises:
        ImageReadError: when the file is missing, empty, of an unsupported type, corrupt, or has no frames.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        self.path = p
        if not p.exists():
            raise ImageReadError(f"{p}: no such file")
        if not p.is_file():
            raise ImageReadError(f"{p}: not a file")
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            raise ImageReadError(
                f"{p}: unsupported video type {p.suffix or '(none)'!r}; use one of {', '.join(sorted(VIDEO_SUFFIXES))}"
            )
        if p.stat().st_size == 0:
            raise ImageReadError(f"{p}: the file is empty")
        self._cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
        first = None
        if self._cap.isOpened():
            # Frames upright, as players show them: OpenCV leaves a phone's rotation tag unapplied by default.
            if not self._cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1):
                log.debug("%s: this OpenCV cannot apply rotation tags; frames are read as stored", p)
            ok, first = self._cap.read()
            first = first if ok else None
        if first is None:
            self._cap.release()
            raise ImageReadError(f"{p}: not a readable video (corrupt, truncated or an unsupported codec)")
        self._next: np.ndarray | None = to_bgr8(first, name=str(p))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        if not math.isfinite(fps) or not 0 < fps <= 1000:
            log.debug("%s declares no usable frame rate (%r); assuming %s", p, fps, _DEFAULT_FPS)
            fps = _DEFAULT_FPS
        self.fps = fps
        self.size = (self._next.shape[1], self._next.shape[0])
        self.frame_count = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self.frames_read = 0
        self._ended = False
        self._closed = False
        self._colors: ColorTags | None = None

    @property
    def colors(self) -> ColorTags:
        """The file's colour tags, as ffmpeg decodes its first frame (asked once, on first use; about 50 ms).

        All None when the file is untagged or ffmpeg cannot tell.
        """
        if self._colors is None:
            self._colors = _probe_colors(self.path)
        return self._colors

    def read(self) -> np.ndarray | None:
        """The next frame, or None at the end of the video (or once closed)."""
        if self._closed:
            return None
        if self._next is not None:
            frame, self._next = self._next, None
        else:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                self._ended = True
                return None
            frame = to_bgr8(frame, name=str(self.path))
        self.frames_read += 1
        return frame

    @property
    def ended_early(self) -> bool:
        """Whether decoding stopped well before the frame count the header announces (a damaged or truncated file).

        Only known once :meth:`read` has returned None at the end; a video that ends within
        :data:`FRAME_COUNT_SLACK` frames (or :data:`FRAME_COUNT_SLACK_SHARE` of the count) of it counts as whole.
        """
        slack = max(FRAME_COUNT_SLACK, math.ceil(self.frame_count * FRAME_COUNT_SLACK_SHARE))
        return self._ended and self.frames_read < self.frame_count - slack

    def __iter__(self) -> Iterator[np.ndarray]:
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        """Releases the file; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._next = None
            self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise DependencyError('writing video needs ffmpeg: pip install "imageio-ffmpeg"') from None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        raise DependencyError(f"ffmpeg was not found ({exc}); pip install --force-reinstall imageio-ffmpeg") from None


def _probe_colors(path: Path) -> ColorTags:
    """The colour tags ffmpeg reports for the first frame of ``path`` (all None when it cannot tell)."""
    try:
        proc = subprocess.run(
            [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-frames:v", "1",
             "-vf", "showinfo", "-f", "null", "-"],
            capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired, DependencyError) as exc:
        log.debug("%s: could not ask ffmpeg for its colour tags (%s)", path, exc)
        return ColorTags()
    found = re.search(rb"color_space:(\S+) color_primaries:(\S+) color_trc:(\S+)", proc.stderr)  # showinfo's
    if found is None:
        log.debug("%s: ffmpeg reported no colour tags", path)
        return ColorTags()
    matrix, primaries, transfer = (
        None if v in (b"unknown", b"reserved", b"unspecified") else v.decode("ascii", "replace") for v in found.groups()
    )
    if matrix == "gbr":  # RGB frames (PNG in MOV, FFV1, raw): our YUV output is what the writer encodes it in
        matrix = WRITER_COLORS.matrix
    return ColorTags(matrix, primaries, transfer)


#: The file system's reasons a write fails: ffmpeg prints them as the C library words them (``os.strerror``).
_FILE_ERRNOS = tuple(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "ENOENT", "ENOTDIR", "EISDIR", "EIO", "EFBIG",
                 "ENAMETOOLONG", "ELOOP", "ENXIO", "ETXTBSY")
    if hasattr(errno, name)
)  # fmt: skip


def _failure(path: Path, log_text: str, fallback: str) -> ImageWriteError:
    """One line for ffmpeg's messages: ``PATH: reason``, with the errno of the first file-system error named.

    ffmpeg reports a failed write over several lines (``[...] Error submitting a packet to the muxer: No space left
    on device``, then five more that repeat it); the first file-system error it names is the cause. Other failures
    keep ffmpeg's first line, after ``fallback``.
    """
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    for line in lines:
        for code in _FILE_ERRNOS:
            text = os.strerror(code)
            if f": {text}" in line or f"({text})" in line:
                failure = ImageWriteError(f"{path}: {text}")
                failure.errno = code
                return failure
    detail = re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", lines[0]) if lines else ""
    return ImageWriteError(f"{path}: {fallback}" + (f": {detail}" if detail else ""))


class VideoWriter:
    """Writes BGR uint8 frames to an H.264 MP4 that stays playable if the writing is interrupted.

    The encoder starts with the first frame (which fixes the size), so a writer that gets no frame creates no
    file. Odd widths or heights gain one replicated edge row/column (H.264 4:2:0 needs even sizes). The first frame
    is shown at time 0 (an edit list takes out the B-frames' reordering delay).

    Args:
        path: the ``.mp4`` (or ``.m4v``) file; its folder must exist. An existing file is replaced.
        fps: frames per second.
        crf: x264 quality, 0 (lossless) to 51; 18 looks like the source.
        preset: x264 speed preset (``ultrafast`` ... ``veryslow``).
        keyframe_interval: seconds between keyframes, which is also how much an interrupted file may lose.
        colors: the colour tags to write; a source's (:attr:`VideoReader.colors`) when its frames are written back,
            as the writer encodes with the matrix OpenCV decodes with. None tags what the writer encodes:
            :data:`WRITER_COLORS`.

    Raises:
        ImageWriteError: for a bad path, or when the file cannot be created or written (one line, ``PATH: reason``,
            with ``errno`` set when the system said why: ``ENOSPC`` for a full disk).
        DependencyError: when ffmpeg (``imageio-ffmpeg``) is missing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = _DEFAULT_FPS,
        *,
        crf: int = 18,
        preset: str = "veryfast",
        keyframe_interval: float = 1.0,
        colors: ColorTags | None = None,
    ) -> None:
        p = Path(path)
        if p.suffix.lower() not in WRITE_SUFFIXES:
            raise ImageWriteError(
                f"{p}: unsupported video type {p.suffix or '(none)'!r}; use one of {', '.join(WRITE_SUFFIXES)}"
            )
        if not p.parent.is_dir():
            raise ImageWriteError(f"{p}: the folder {p.parent} does not exist")
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= 1000):
            raise InputError(f"fps must be a number in (0, 1000], got {fps!r}")
        if not 0 <= crf <= 51:
            raise InputError(f"crf must be in [0, 51], got {crf!r}")
        self.path = p
        self.fps = float(fps)
        self.crf = crf
        self.preset = preset
        self.keyframe_interval = keyframe_interval
        self.colors = WRITER_COLORS if colors is None else colors
        self.frames = 0
        self.size: tuple[int, int] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdin: IO[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The encoder's process id, or None before the first frame."""
        return self._proc.pid if self._proc is not None else None

    def write(self, frame: np.ndarray) -> None:
        """Appends one frame (any layout :func:`tryon.image.to_bgr8` accepts); all frames must share one size.

        Raises:
            InputError: when the writer is closed or the frame's size differs from the first.
            ImageWriteError: when the encoder has stopped.
        """
        if self._closed:
            raise InputError(f"{self.path}: this VideoWriter is closed")
        bgr = to_bgr8(frame)
        h, w = bgr.shape[:2]
        if self._stdin is None:
            self._stdin = self._start(w, h)
        elif (w, h) != self.size:
            raise InputError(f"{self.path}: every frame must be {self.size[0]}x{self.size[1]}, got {w}x{h}")  # type: ignore[index]
        if w % 2 or h % 2:
            bgr = cv2.copyMakeBorder(bgr, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
        try:
            self._stdin.write(bgr.data)
        except OSError:  # BrokenPipeError: ffmpeg has exited
            self._closed = True
            self._finish()
            failure = _failure(self.path, self._errors(), "the video encoder stopped")
            if self._log is not None:  # read: close() and __exit__ return early once closed
                self._log.close()
            raise failure from None
        self.frames += 1

    def _start(self, width: int, height: int) -> IO[bytes]:
        self.size = (width, height)
        rate = Fraction(self.fps).limit_denominator(1001)
        gop = max(1, round(self.fps * self.keyframe_interval))
        # BGR -> YUV through BT.601, the inverse of OpenCV's decoding, and then tagged as told: setparams only labels.
        tags = {"colorspace": self.colors.matrix, "color_primaries": self.colors.primaries,
                "color_trc": self.colors.transfer}  # fmt: skip
        colors = "scale=out_color_matrix=bt601:out_range=tv,setparams=range=tv:" + ":".join(
            f"{name}={value or 'unknown'}" for name, value in tags.items()
        )
        exe = _ffmpeg_exe()
        self._create()
        cmd = [
            exe,
            "-hide_banner",
            "-loglevel", "error",
            "-y",
            "-f", "rawvideo",
            "-pix_fmt", "bgr24",
            "-s", f"{width + width % 2}x{height + height % 2}",
            "-framerate", f"{rate.numerator}/{rate.denominator}",
            "-i", "pipe:0",
            "-an",
            "-c:v", "libx264",
            "-preset", self.preset,
            "-crf", str(self.crf),
            "-vf", colors,
            "-pix_fmt", "yuv420p",
            "-g", str(gop),
            # delay_moov: the moov goes out with the first fragment, when the B-frames' delay is known, and its edit
            # list shows the first frame at 0 (an empty moov written up front has none: 2 frames late)
            "-movflags", "frag_keyframe+empty_moov+delay_moov+default_base_moof",
            "-flush_packets", "1",  # each fragment starts a write, so a killed writer never cuts a fragment header
            "-f", "mp4",
            str(self.path),
        ]  # fmt: skip
        # Its own process group: Ctrl+C reaches only Python, which finishes the file by closing ffmpeg's input.
        group: dict[str, Any] = (
            {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
            if sys.platform == "win32"
            else {"start_new_session": True}
        )
        try:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the encoder
        except OSError as exc:  # a full or unwritable temporary folder: the empty output goes too
            self._remove()
            raise ImageWriteError(
                f"{self.path}: no temporary file for the encoder's messages ({exc.strerror or exc})"
            ) from None
        log.debug("starting %s", " ".join(cmd))
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log, **group
            )
        except OSError as exc:
            self._log.close()
            self._remove()
            raise DependencyError(
                f"could not start ffmpeg ({exc}); pip install --force-reinstall imageio-ffmpeg"
            ) from exc
        return self._proc.stdin  # type: ignore[return-value]  # stdin=PIPE

    def _create(self) -> None:
        """Creates (or empties) the file before ffmpeg opens it, for the system's own reason when that fails."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        except OSError as exc:
            raise ImageWriteError.of(self.path, exc) from None
        os.close(fd)

    def _remove(self) -> None:
        """Deletes the file, if it can (a read-only folder may refuse even a missing file)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.debug("%s: could not be removed (%s)", self.path, exc.strerror or exc)

    def _errors(self) -> str:
        """What ffmpeg printed (its head: the first error names the cause), or its exit code if it printed nothing."""
        if self._log is None or self._log.closed:
            return "no messages"
        self._log.seek(0)
        text = self._log.read(20_000).decode("utf-8", "replace").strip()
        return text or f"exit code {self._proc.returncode if self._proc is not None else '?'}"

    def _finish(self, kill: bool = False) -> int:
        """Closes ffmpeg's input (it then completes the file), or kills it; returns its exit code."""
        if self._proc is None:
            return 0
        if kill and self._proc.poll() is None:
            self._proc.kill()
        if self._stdin is not None:
            with contextlib.suppress(OSError):  # the pipe may already be broken
                self._stdin.close()
        return self._proc.wait()

    def close(self) -> None:
        """Completes the file (waits for the encoder); safe to call twice.

        Raises:
            ImageWriteError: when the encoder failed.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._finish() != 0:
                raise _failure(self.path, self._errors(), "the video encoder failed")
        finally:
            if self._log is not None:
                self._log.close()
        if self._proc is not None:
            log.debug("wrote %d frames to %s", self.frames, self.path)

    def abort(self) -> None:
        """Stops the encoder at once and deletes the file (for a failed job); safe to call twice."""
        self._closed = True
        if self._proc is not None:
            self._finish(kill=True)
            self._remove()
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
