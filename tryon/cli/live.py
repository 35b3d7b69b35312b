"""``tryon demo`` (the webcam demo window) and ``tryon cam`` (a virtual camera for video calls)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from tryon.cli.bench import parse_size
from tryon.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_max_faces_option,
    add_parser_option,
    camera_or_path,
    check_parser,
    frame_rate,
    pipeline_options,
)
from tryon.errors import ImageWriteError
from tryon.looks import Catalog, Look, builtin_looks
from tryon.pipeline import Pipeline
from tryon.sinks.virtualcam import BACKEND_PLATFORMS, VirtualCameraSink, check_backend
from tryon.sources import open_source, source_kind
from tryon.sources.base import Source

if TYPE_CHECKING:
    from tryon.live import LiveLoop, LoopStats

__all__ = ["register", "run_demo", "run_cam"]

log = logging.getLogger(__name__)

#: How long a live app shows each photo of a ``--source`` folder.
SLIDE_SECONDS = 3.0


def _source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        type=camera_or_path,
        default="0",
        metavar="0|DEVICE|FILE",
        help="camera index or device path, a video file (looped), a photo, or a folder (a slideshow, "
        f"{SLIDE_SECONDS:.0f} s a photo) (default: 0)",
    )
    parser.add_argument(
        "--size", type=parse_size, default=(1280, 720), metavar="WxH", help="camera size to ask for (default: 1280x720)"
    )
    add_max_faces_option(parser, default=4)
    add_parser_option(parser)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="the webcam demo: try looks live in a window",
        description="Keys: n/p look, s/S shade, 1-9 toggle effects, b before/after, "
        "[ ] move split (or drag), c snapshot, f fps, h help, q quit.",
    )
    _source_options(demo)
    demo.add_argument("--look", default="natural", metavar="NAME|FILE", help="the first look (default: natural)")
    demo.add_argument(
        "--snapshots",
        type=Path,
        default=Path("snapshots"),
        metavar="DIR",
        help="where snapshots are saved, made at the first one; checked before the camera opens (default: ./snapshots)",
    )
    demo.set_defaults(func=run_demo)

    cam = commands.add_parser(
        "cam",
        parents=[common],
        help="a virtual camera with a look, for video calls",
        description="Sends the made-up camera to a virtual camera device (v4l2loopback on "
        "Linux, OBS Virtual Camera on Windows and macOS) at a steady rate.",
    )
    _source_options(cam)
    cam.add_argument("--look", default="natural", metavar="NAME|FILE", help="the look (default: natural)")
    cam.add_argument("--fps", type=frame_rate, default=30.0, help="frames per second sent, 1 to 240 (default: 30)")
    cam.add_argument(
        "--backend",
        default="auto",
        help="pyvirtualcam backend: auto (the first that opens; default), "
        + ", ".join(f"{name} ({' and '.join(where)})" for name, where in BACKEND_PLATFORMS.items()),
    )
    cam.add_argument("--device", default=None, help="a specific virtual camera device, e.g. /dev/video10")
    cam.add_argument("--preview", action="store_true", help="also show a preview window (n/p switch looks, q quits)")
    cam.add_argument(
        "--watch",
        type=Path,
        default=None,
        metavar="LOOK_FILE",
        help="a look file to reload whenever it changes (switch looks during a call)",
    )
    cam.set_defaults(func=run_cam)


def _open(args: argparse.Namespace) -> Source:
    """Opens ``--source``, once ``--parser`` is known to be able to run (a camera is not opened for nothing)."""
    check_parser(args.parser)
    kind = source_kind(args.source)
    if kind == "webcam":
        return open_source(args.source, size=args.size)
    if kind == "video":
        return open_source(args.source, loop=True)
    if kind == "folder":  # a slideshow, on a loop
        return open_source(args.source, repeat=True, seconds_each=SLIDE_SECONDS)
    return open_source(args.source, repeat=True)  # a photo, shown on a loop


def _fit(size: tuple[int, int], limit: tuple[int, int] = (1600, 900)) -> tuple[int, int]:
    """The window size that shows ``size`` whole within ``limit``."""
    scale = min(1.0, limit[0] / size[0], limit[1] / size[1])
    return (round(size[0] * scale), round(size[1] * scale))


def _stop_on_sigterm() -> None:
    """Turns SIGTERM into KeyboardInterrupt, so a terminated app still releases the camera and finishes files."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _look_names(first: str) -> list[str]:
    names = list(builtin_looks())
    if first in names:
        names.remove(first)
    return [first, *names]


def _run_until_ctrl_c(loop: LiveLoop) -> tuple[LoopStats, bool]:
    """Runs a live app's loop until the app stops it (its quit key, its window closed) or Ctrl+C (or SIGTERM).

    The loop has closed the source and the sinks by then; its statistics are returned either way, with whether
    Ctrl+C stopped it.
    """
    try:
        return loop.run(), False
    except KeyboardInterrupt:
        return loop.stats, True


def _ended(summary: str, interrupted: bool) -> int:
    """Prints a live app's summary line; the exit code: 130 after Ctrl+C (as every command), else 0."""
    if interrupted:
        print(f"tryon: interrupted: {summary}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary, file=sys.stderr)
    return EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    from tryon.apps.demo import DemoApp, check_snapshot_dir
    from tryon.live import LiveLoop
    from tryon.sinks.window import WindowSink

    _stop_on_sigterm()
    look = Look.load(args.look)  # a bad look is refused before the camera or the window opens
    try:  # and so is a snapshot folder that could not be written
        check_snapshot_dir(args.snapshots)
    except ImageWriteError as exc:
        raise ImageWriteError(f"{exc} (--snapshots)") from exc
    shades = [p.sku for p in Catalog.builtin().find("lipstick")]
    # Whatever stops the start-up (an error, Ctrl+C while the models load), what was opened is closed; the loop
    # closes the source and the window itself once it runs (closing twice is safe).
    with ExitStack() as opened:
        source = opened.enter_context(_open(args))
        window = WindowSink("tryon demo", size=_fit(source.size))
        opened.callback(window.close)
        pipe = opened.enter_context(Pipeline(look=look, options=pipeline_options(args, "video")))
        app = DemoApp(pipe, _look_names(args.look), shades, args.snapshots, window=window)
        stats, interrupted = _run_until_ctrl_c(LiveLoop(pipe, source, [window], realtime=True, hook=app))
    summary = f"{stats.frames} frames, {stats.frames / max(stats.seconds, 1e-6):.1f} fps"
    return _ended(summary if interrupted else f"{summary} ({stats.stopped_by})", interrupted)


def run_cam(args: argparse.Namespace) -> int:
    from tryon.apps.cam import CamApp, file_mtime
    from tryon.live import LiveLoop
    from tryon.sinks.base import Sink
    from tryon.sinks.window import WindowSink

    _stop_on_sigterm()
    # The cheap checks first: nothing is opened for a bad look or a backend this platform lacks.
    look = Look.load(args.look)
    watch_mtime = None
    if args.watch is not None:  # the watched file is the look it starts with; --look heads the preview's n/p list
        # Its time is taken before it is read: an edit made from now on, while the models load, is a change the
        # first frame picks up.
        watch_mtime = file_mtime(args.watch)
        look = Look.load(args.watch)
    check_backend(args.backend)
    # Whatever stops the start-up (an error, Ctrl+C while the models load), what was opened is closed; the loop
    # closes the source and the sinks itself once it runs (closing twice is safe).
    with ExitStack() as opened:
        source = opened.enter_context(_open(args))
        camera = VirtualCameraSink(source.size, fps=args.fps, backend=args.backend, device=args.device)
        opened.callback(camera.close)
        sinks: list[Sink] = [camera]
        preview = None
        if args.preview:
            preview = WindowSink("tryon cam", size=_fit(source.size))
            opened.callback(preview.close)
            sinks.append(preview)
        print(
            f"virtual camera {camera.device} ({camera.backend}) running: pick it in your video-call app; Ctrl+C stops",
            file=sys.stderr,
        )
        pipe = opened.enter_context(Pipeline(look=look, options=pipeline_options(args, "video")))
        app = CamApp(pipe, _look_names(args.look), preview=preview, watch=args.watch, watch_mtime=watch_mtime)
        # The video-call app runs beside us: a renderer pinned to one CPU cannot dodge it (measured with one busy
        # process on 2 cores: 22.9 ms a frame unpinned, 26.0 pinned), so the scheduler keeps every choice here.
        stats, interrupted = _run_until_ctrl_c(
            LiveLoop(pipe, source, sinks, realtime=True, hook=app, render_core=False)
        )
    return _ended(
        f"{stats.frames} frames processed, {camera.sent} sent ({camera.repeated} repeats to keep the rate)", interrupted
    )
