"""The ``tryon`` command line.

Commands: ``demo``, ``cam``, ``apply``, ``parse``, ``eval``, ``looks``, ``catalog``, ``models``, ``bench``.

Exit codes: 0 done; 1 some items of a batch failed, or a damaged video was made up as far as it decodes; 2 a user
error (bad input, look or arguments), reported as one ``tryon: error: ...`` line; 3 an internal error; 130
interrupted by Ctrl+C (after finishing what was written); 141 stdout was closed early (as by ``| head``).
``--debug`` (or ``TRYON_DEBUG=1``) shows tracebacks; ``-v`` shows progress messages.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence

from tryon import __version__
from tryon.cli import apply, bench, catalog, evaluate, live, looks, models, parse
from tryon.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, error, logging_to_stderr, native_stderr_silenced
from tryon.errors import TryOnError

__all__ = ["build_parser", "main"]

EXIT_INTERNAL = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports it
COMMANDS = (live, apply, parse, evaluate, looks, catalog, models, bench)

EPILOG = """\
examples:
  tryon demo --look evening                      # webcam demo (or --source clip.mp4)
  tryon cam --look natural                       # virtual camera for video calls
  tryon apply selfie.jpg -o out.jpg --look evening
  tryon apply clip.mp4 -o out.mp4 --look glam --set lipstick.sku=TRY-LIP-007
  tryon parse selfie.jpg -o labels.png --overlay viz.jpg
  tryon eval data/celebamask-hq-samples --json
  tryon looks show natural
  tryon models pull mediapipe-hair               # the only command that downloads

exit codes: 0 ok, 1 some items failed (or a damaged video), 2 error, 3 internal error, 130 interrupted"""


def _flags(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="log what is done")
    parser.add_argument("--debug", action="store_true", default=default, help="show tracebacks (or TRYON_DEBUG=1)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="tryon",
        description="Virtual makeup on photos and videos, offline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tryon {__version__}")
    _flags(parser, False)
    # The same flags after the command name; SUPPRESS keeps the value given before it.
    common = argparse.ArgumentParser(add_help=False)
    _flags(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(commands, common)
    return parser


def _said(exc: BaseException) -> str:
    """An error as one line: an operating system's error as ``PATH: reason`` (not ``[Errno 30] ...: 'PATH'``)."""
    if isinstance(exc, OSError) and not isinstance(exc, TryOnError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename is not None else exc.strerror
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line and returns the exit code (the ``tryon`` console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse already reported
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    debug = args.debug or os.environ.get("TRYON_DEBUG", "") not in ("", "0")
    with native_stderr_silenced(not (debug or args.verbose)), logging_to_stderr(args.verbose or debug):
        try:
            return int(args.func(args))
        except KeyboardInterrupt:
            print("tryon: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # stdout closed early, as by `tryon catalog | head`: stop quietly
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_BROKEN_PIPE
        except (TryOnError, OSError) as exc:
            if debug:
                traceback.print_exc()
            error(_said(exc))
            return EXIT_ERROR
        except Exception as exc:
            if debug:
                traceback.print_exc()
            error(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback, and please "
                "report it)"
            )
            return EXIT_INTERNAL
