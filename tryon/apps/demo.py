"""The webcam demo app: a window to try looks live, compare before/after, and take snapshots.

Keys (also shown on screen with ``h``)::

    n / p        next / previous look          s / S   next / previous lipstick shade (catalogue)
    1..9, 0      toggle the look's effects      b       before/after split on/off
    [ / ]        move the split (or drag it)    c       snapshot (saved photo)
    f            fps and stage timings          h       help
    q / Esc      quit
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tryon.errors import ImageWriteError
from tryon.image import write_image
from tryon.looks import Look
from tryon.pipeline import Pipeline
from tryon.sinks.window import WindowSink
from tryon.sources.base import Frame

__all__ = ["DemoApp", "DemoState", "HELP", "check_snapshot_dir"]

log = logging.getLogger(__name__)

HELP = (
    "n/p look   s/S shade   1-9,0 toggle effect",
    "b before/after   [ ] or drag: move split",
    "c snapshot   f fps/timing   h help   q quit",
)


#: Keys that turn the before/after split on.
_SPLIT_KEYS = frozenset(map(ord, "b[]"))

#: How long an on-screen message stays: a note, and a failure (longer, to be read).
_SAY_SECONDS = 2.0
_WARN_SECONDS = 5.0


def check_snapshot_dir(folder: Path) -> None:
    """Refuses a snapshot folder that could not be written, before the demo opens the camera and loads the models.

    A folder that does not exist yet passes where it could be made: it is made at the first snapshot, so a session
    without one leaves nothing behind. A snapshot can still fail later (a full disk, the folder removed); the demo
    then says so and goes on.

    Raises:
        ImageWriteError: when ``folder`` (or a part of its path) is a file, or the folder the snapshots would be
            saved in (or made in) is on a read-only file system or not writable by this user.

    Example:
        >>> check_snapshot_dir(Path("snapshots"))  # doctest: +SKIP
    """
    existing = folder
    while not (existing.exists() or existing.is_symlink()) and existing.parent != existing:
        existing = existing.parent  # the nearest part of the path that exists: where the folders would be made
    if not existing.is_dir():
        problem = "not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = "on a read-only file system" if _read_only(existing) else "not writable"
    else:
        return
    what = problem if existing == folder else f"{existing} is {problem}"
    raise ImageWriteError(f"{folder}: {what}; snapshots cannot be saved there")


def _read_only(path: Path) -> bool:
    """Whether ``path`` is on a file system mounted read-only (POSIX; False where that cannot be told)."""
    return hasattr(os, "statvfs") and bool(os.statvfs(path).f_flag & os.ST_RDONLY)


@dataclass
class DemoState:
    """What the user has chosen so far."""

    look_index: int = 0
    shade_index: int = -1  # -1: the look's own lipstick
    disabled: set[int] = field(default_factory=set)
    split: bool = False
    split_x: float = 0.5
    show_stats: bool = True
    show_help: bool = True
    message: str = ""
    message_until: float = 0.0


class DemoApp:
    """The demo's per-frame hook for :class:`tryon.live.LiveLoop`: applies the user's choices and draws the UI.

    Args:
        pipeline: the pipeline whose look the app switches.
        looks: look names (or files) to step through.
        shades: lipstick SKUs to step through with ``s``.
        snapshot_dir: where ``c`` saves photos (made at the first one); a snapshot that cannot be saved is reported
            (a warning, and on screen) and the demo goes on.
        window: the window sink (keys and mouse), or None when there is none (tests drive :meth:`handle_key`).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        looks: list[str],
        shades: list[str],
        snapshot_dir: Path,
        window: WindowSink | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.looks = looks
        self.shades = shades
        self.snapshot_dir = snapshot_dir
        self.state = DemoState()
        self.stats: dict[str, float] = {}
        self.fps = 0.0
        self._last = time.perf_counter()
        self._base: Look | None = None
        self._dragging = False
        self._width = 1
        self.window = window
        self._apply_look()
        if window is not None:
            cv2.setMouseCallback(window.title, self._on_mouse)

    # -- choices -------------------------------------------------------------------------------------------

    @property
    def look(self) -> Look | None:
        return self.pipeline.look

    @property
    def reads_input(self) -> bool:
        """Whether the next frame's input is read; else the loop renders that frame in place.

        True while the before/after split is on, and when a key waiting to be handled turns it on.
        """
        if self.state.split:
            return True
        key = self.window.last_key if self.window is not None else -1
        return key >= 0 and (key & 0xFF) in _SPLIT_KEYS

    def _apply_look(self) -> None:
        s = self.state
        name = self.looks[s.look_index % len(self.looks)]
        overrides = [f"lipstick.sku={self.shades[s.shade_index]}"] if s.shade_index >= 0 and self.shades else []
        base = Look.load(name, overrides=overrides)
        self._base = base
        effects = tuple(e for i, e in enumerate(base.effects) if i not in s.disabled)
        self.pipeline.set_look(Look(base.name, effects, base.faces, base.description, base.source))

    def _say(self, text: str, level: int = logging.INFO) -> None:
        """Shows ``text`` on screen for a while, and logs it (a warning stays on screen longer)."""
        self.state.message = text
        self.state.message_until = time.monotonic() + (_WARN_SECONDS if level >= logging.WARNING else _SAY_SECONDS)
        log.log(level, text)

    def handle_key(self, key: int, frame: np.ndarray | None = None) -> bool:
        """Applies one key press; returns False when the user asked to quit."""
        if key < 0:
            return True
        s = self.state
        ch = chr(key & 0xFF) if (key & 0xFF) < 128 else ""
        if key in (27,) or ch == "q":
            return False
        if ch in ("n", "p"):
            s.look_index = (s.look_index + (1 if ch == "n" else -1)) % len(self.looks)
            s.disabled.clear()
            s.shade_index = -1
            self._apply_look()
            self._say(f"look: {self.looks[s.look_index]}")
        elif ch in ("s", "S") and self.shades:
            s.shade_index = (s.shade_index + (1 if ch == "s" else -1)) % len(self.shades)
            self._apply_look()
            self._say(f"lipstick: {self.shades[s.shade_index]}")
        elif ch.isdigit() and self._base is not None:
            index = (int(ch) - 1) % 10
            if index < len(self._base.effects):
                s.disabled ^= {index}
                self._apply_look()
                name = self._base.effects[index].name
                self._say(f"{name} {'off' if index in s.disabled else 'on'}")
        elif ch == "b":
            s.split = not s.split
        elif ch in ("[", "]"):
            s.split = True
            s.split_x = float(np.clip(s.split_x + (-0.05 if ch == "[" else 0.05), 0.0, 1.0))
        elif ch == "f":
            s.show_stats = not s.show_stats
        elif ch == "h":
            s.show_help = not s.show_help
        elif ch == "c" and frame is not None:
            try:
                self.snapshot(frame)
            except ImageWriteError as exc:  # a full disk, the folder gone: the session goes on
                self._say(f"snapshot not saved: {exc}", logging.WARNING)
        return True

    def snapshot(self, image: np.ndarray) -> Path:
        """Saves ``image`` as a timestamped photo in the snapshot folder, making the folder if need be.

        Raises:
            ImageWriteError: when the photo could not be saved (its ``errno`` set, as ``ENOSPC`` for a full disk).
        """
        try:
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = "not a folder" if isinstance(exc, FileExistsError) else None
            raise ImageWriteError.of(self.snapshot_dir, exc, reason) from exc
        path = self.snapshot_dir / f"tryon_{time.strftime('%Y%m%d_%H%M%S')}_{int(time.time() * 1000) % 1000:03d}.jpg"
        write_image(path, image)
        self._say(f"saved {path}")
        return path

    def _on_mouse(self, event: int, x: int, y: int, flags: int, param: object) -> None:
        if event == cv2.EVENT_LBUTTONDOWN:
            self._dragging = True
            self.state.split = True
        elif event == cv2.EVENT_LBUTTONUP:
            self._dragging = False
        if self._dragging and event in (cv2.EVENT_MOUSEMOVE, cv2.EVENT_LBUTTONDOWN):
            self.state.split_x = float(np.clip(x / max(self._width, 1), 0.0, 1.0))

    # -- drawing -------------------------------------------------------------------------------------------

    def __call__(self, frame: Frame, out: np.ndarray, timings: dict[str, float]) -> np.ndarray | None:
        """The loop hook: draws the split, overlays and messages; None when the user quit."""
        key = self.window.last_key if self.window is not None else -1
        if not self.handle_key(key, out):
            return None
        now = time.perf_counter()
        dt = now - self._last
        self._last = now
        self.fps = 0.9 * self.fps + 0.1 * (1.0 / dt) if self.fps and dt > 0 else (1.0 / dt if dt > 0 else 0.0)
        for k, v in timings.items():
            self.stats[k] = 0.9 * self.stats.get(k, v) + 0.1 * v
        self._width = out.shape[1]
        shown = out  # the loop's own frame (rendered on a copy, or in place when the input is not needed)
        s = self.state
        if s.split:
            x = round(s.split_x * out.shape[1])
            if frame.image is not out:  # else rendered in place (a loop told not to keep the input): no before
                shown[:, :x] = frame.image[:, :x]
            cv2.line(shown, (x, 0), (x, out.shape[0]), (255, 255, 255), 2, cv2.LINE_AA)
            _text(shown, "before", (max(8, x - 80), 28))
            _text(shown, "after", (min(out.shape[1] - 70, x + 10), 28))
        lines = []
        name = self.look.name if self.look is not None else "(none)"
        lines.append(f"look: {name}")
        if s.show_stats:
            lines.append(f"{self.fps:5.1f} fps")
            lines.append(
                "  ".join(f"{k} {self.stats[k]:.1f}" for k in ("perception", "parsing", "effects") if k in self.stats)
                + " ms"
            )
        if s.show_help:
            lines.extend(HELP)
        if s.message and time.monotonic() < s.message_until:
            lines.append(s.message)
        y = out.shape[0] - 12 - 22 * (len(lines) - 1)
        for line in lines:
            _text(shown, line, (10, y))
            y += 22
        return shown


def _text(image: np.ndarray, text: str, org: tuple[int, int]) -> None:
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
