"""The ``tryon`` command line (``tryon --help``).

:func:`run` is the console script; :func:`tryon.cli.main.main` is the command line itself.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import Any, NoReturn

__all__ = ["run"]

_INTERRUPTED = 130
#: The commands that run MediaPipe: its import (half a second) is held from Ctrl+C with tryon's own.
_MEDIAPIPE_COMMANDS = frozenset({"apply", "parse", "eval", "demo", "cam", "bench"})


def run() -> NoReturn:
    """The ``tryon`` console script: exits with :func:`tryon.cli.main.main`'s code.

    Ctrl+C while the command's modules load (NumPy, OpenCV, then MediaPipe for the commands that run it: about a
    second) is held until they have loaded and then answered as it is later, with ``tryon: interrupted`` and code
    130. Raised inside an import it gave a traceback, NumPy's ``ImportError``, "mediapipe is missing", or was lost in
    an import lock's callback while the command went on. A second Ctrl+C interrupts the loading at once.
    """
    held: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        if held:  # a second Ctrl+C: a load that hangs (a first run's font cache) is stopped at once
            raise KeyboardInterrupt
        held.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        from tryon.cli.main import main

        args = sys.argv[1:]
        command = next((arg for arg in args if not arg.startswith("-")), None)
        if command in _MEDIAPIPE_COMMANDS and not {"-h", "--help"} & set(args):
            with contextlib.suppress(Exception):  # a broken install is reported by the command, in one line
                import mediapipe.python.solutions  # noqa: F401
    except KeyboardInterrupt:  # raised by a module itself while it loaded
        held.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        if held:
            raise KeyboardInterrupt
        code = main()
    except KeyboardInterrupt:
        print("tryon: interrupted", file=sys.stderr)
        code = _INTERRUPTED
    raise SystemExit(code)
