"""``tryon apply INPUT -o OUTPUT``: a look on a photo, a folder of photos, or a video."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from contextlib import closing, suppress
from itertools import islice
from pathlib import Path

import numpy as np

from tryon.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    StopOnInterrupt,
    add_look_options,
    add_no_clobber_option,
    add_parser_option,
    check_parser,
    error,
    exit_code,
    input_kind,
    load_look,
    pipeline_options,
    positive_int,
    progress,
    refuse_existing,
    same_file,
    suffixes,
)
from tryon.errors import ImageWriteError, InputError, TryOnError
from tryon.image import ALPHA_SUFFIXES, IMAGE_SUFFIXES, MAX_PIXELS, read_alpha, read_image, write_image
from tryon.live import parse_ahead
from tryon.looks import Look
from tryon.pipeline import Pipeline
from tryon.sources.base import Frame
from tryon.video import VIDEO_SUFFIXES, WRITE_SUFFIXES, VideoReader, VideoWriter

__all__ = ["register", "run"]

log = logging.getLogger(__name__)

HELP = "apply a look to a photo, a folder of photos or a video"
DESCRIPTION = f"""\
Apply a look to INPUT and write the result to OUTPUT:
  a photo           -> OUTPUT is a photo path (.jpg, .png, ...)
  a folder          -> OUTPUT is a folder (created); each photo keeps its name
  a video           -> OUTPUT is an .mp4 (H.264, audio dropped); Ctrl+C keeps what was written

Photos are written atomically (never half-written). A photo without a face is an error (unless the look has hair,
clothes or background effects and a head turned from the camera is found: those are applied), and so is one of more
than {MAX_PIXELS / 1e6:.0f} megapixels. A folder run stops at the first write error that every photo would hit (a full
disk, a read-only or forbidden OUTPUT folder); Ctrl+C stops it after the photo being made up. With -n, existing
outputs are left untouched: a photo or video is an error, a folder's photo is skipped.

exit codes: 0 ok; 1 some photos of a folder failed, or the video is damaged or truncated (the frames that decode
are written, and a warning says where decoding stopped); 2 error; 130 interrupted"""

#: Write errors that every photo of a folder run would hit too: the run stops at the first.
_RECURRING_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "apply",
        parents=[common],
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="a photo, a folder of photos, or a video")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTPUT", help="where to write")
    add_look_options(parser)
    add_parser_option(parser)
    parser.add_argument("--max-frames", type=positive_int, metavar="N", help="video: stop after N frames")
    add_no_clobber_option(parser, "a photo or video is an error, a folder's photo is skipped")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kind = input_kind(args.input)
    if kind == "folder":
        _check_folder_output(args.input, args.output)
    else:
        _check_output(args.output, IMAGE_SUFFIXES if kind == "photo" else frozenset(WRITE_SUFFIXES), kind)
        if same_file(args.output, args.input):
            raise InputError(f"{args.output}: OUTPUT must differ from INPUT (it would overwrite it)")
        if args.no_clobber:
            refuse_existing(args.output)
    check_parser(args.parser)
    look = load_look(args)
    if kind == "photo":
        return _photo(args, look)
    if kind == "folder":
        return _folder(args, look)
    return _video(args, look)


def _check_output(output: Path, allowed: frozenset[str], kind: str) -> None:
    if output.suffix.lower() not in allowed:
        raise InputError(f"{output}: OUTPUT for a {kind} must end in one of {suffixes(allowed)}")
    if not output.parent.is_dir():
        raise ImageWriteError(f"{output}: the folder {output.parent} does not exist")
    if output.is_dir():
        raise ImageWriteError(f"{output}: is a folder")


def _check_folder_output(input_dir: Path, output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise ImageWriteError(f"{output}: OUTPUT for a folder must be a folder, and this is a file")
    if not output.exists() and output.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:  # a slip, not a folder name
        raise InputError(
            f"{output}: OUTPUT for a folder of photos must be a folder, not a photo or video file name; give a "
            "folder (created), e.g. made-up/"
        )
    if same_file(output, input_dir):
        raise InputError(f"{output}: OUTPUT must be another folder than INPUT (photos keep their names)")


def _one_photo(pipe: Pipeline, source: Path, target: Path, frame: np.ndarray | None = None) -> None:
    """Reads (unless ``frame`` is given), makes up and writes one photo.

    A photo without a face is an error, and nothing is written, unless the look has effects for the person's body
    (hair, clothes, background) and the face detector found a head face mesh could not mesh (a profile): those are
    applied. The person mask alone is no proof of a person: it marks a disc on a wall, or a bare backdrop.
    """
    if frame is None:
        frame = read_image(source)
    perceived = pipe.perceive(frame)
    parse = pipe.parse_perceived(perceived)
    if not parse.faces:
        if not (pipe.draws_without_faces() and perceived.perception.heads):
            raise InputError(f"{source}: no face found; nothing written")
        log.warning("%s: no face found; only the look's hair, clothes and background effects were applied", source)
    out = pipe.render(frame, parse)
    alpha = read_alpha(source, frame.shape)
    if alpha is not None:  # a cut-out keeps its transparency where the output can hold it
        if target.suffix.lower() in ALPHA_SUFFIXES:
            out = np.dstack([out, alpha])
        else:
            log.warning(
                "%s: its transparency is dropped: %s files hold none (write %s to keep it)",
                source,
                target.suffix.lower(),
                ", ".join(sorted(ALPHA_SUFFIXES)),
            )
    write_image(target, out)
    log.info("%s -> %s (%d face%s)", source, target, len(parse.faces), "" if len(parse.faces) == 1 else "s")


def _photo(args: argparse.Namespace, look: Look) -> int:
    frame = read_image(args.input)  # a bad or too big photo is refused before the models load
    with Pipeline(look, options=pipeline_options(args, "image")) as pipe:
        _one_photo(pipe, args.input, args.output, frame)
    return EXIT_OK


def _folder(args: argparse.Namespace, look: Look) -> int:
    photos = sorted(p for p in args.input.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise InputError(f"{args.input}: no photos in this folder ({suffixes(IMAGE_SUFFIXES)})")
    options = pipeline_options(args, "image")
    created = not args.output.exists()
    args.output.mkdir(parents=True, exist_ok=True)
    done = failed = skipped = 0
    stopped: ImageWriteError | None = None
    interrupted = False
    try:
        with StopOnInterrupt() as stop, Pipeline(look, options=options) as pipe:
            with progress(total=len(photos), unit="photo") as bar:
                for photo in photos:
                    if stop.requested:
                        break
                    target = args.output / photo.name
                    if args.no_clobber and (target.exists() or target.is_symlink()):
                        skipped += 1
                    else:
                        try:
                            _one_photo(pipe, photo, target)
                            done += 1
                        except TryOnError as exc:
                            failed += 1
                            bar.clear()
                            error(exc)
                            if isinstance(exc, ImageWriteError) and exc.errno in _RECURRING_WRITE_ERRORS:
                                stopped = exc
                                break
                    bar.update()
            interrupted = stop.requested
    except KeyboardInterrupt:  # a second Ctrl+C, in the middle of a photo (which is not written)
        interrupted = True
    finished = done + failed + skipped
    written = f"{done} written to {args.output}" + (f", {skipped} skipped (already there)" if skipped else "")
    if interrupted:
        print(f"tryon: interrupted: {finished} of {len(photos)} photos done; {written}", file=sys.stderr)
    elif stopped is not None:
        error(
            f"stopped after {finished} of {len(photos)} photos: the others would fail to be written the same way; "
            f"{written}"
        )
    elif failed:
        error(f"{failed} of {len(photos)} photos failed; {written}")
    elif skipped:
        print(f"tryon: {written}", file=sys.stderr)
    if not done and created:
        with suppress(OSError):  # leave no empty folder of ours behind
            args.output.rmdir()
    return EXIT_INTERRUPTED if interrupted else exit_code(done, failed)


def _video(args: argparse.Namespace, look: Look) -> int:
    with VideoReader(args.input) as reader:
        total = min(filter(None, (reader.frame_count, args.max_frames)), default=None)
        writer = VideoWriter(args.output, fps=reader.fps, colors=reader.colors)  # the frames keep the source's YUV
        try:
            faces_seen, interrupted, body_look = _frames(args, look, reader, writer, total)
        except KeyboardInterrupt:
            writer.close()  # a second Ctrl+C: keep what was written
            raise
        except BaseException:
            writer.abort()  # a failure: leave no half-written file
            raise
        try:
            writer.close()
        except BaseException:
            writer.abort()  # finishing failed (a full disk): no unplayable file left behind
            raise
    if not faces_seen:
        if body_look:
            log.warning(
                "%s: no face found in any frame; only the hair, clothes and background effects could apply", args.input
            )
        else:
            log.warning("%s: no face found in any frame; the video was copied unchanged", args.input)
    if interrupted:
        print(f"tryon: interrupted: wrote {writer.frames} frames to {args.output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if reader.ended_early:
        log.warning(
            "%s: decoding stopped at frame %d of the %d frames its header announces (a damaged or truncated "
            "file); the %d frames before it were written to %s",
            args.input,
            reader.frames_read + 1,
            reader.frame_count,
            writer.frames,
            args.output,
        )
        return EXIT_PARTIAL
    log.info("%s -> %s (%d frames)", args.input, args.output, writer.frames)
    return EXIT_OK


def _frames(
    args: argparse.Namespace, look: Look, reader: VideoReader, writer: VideoWriter, total: int | None
) -> tuple[int, bool, bool]:
    """Makes up frames until the end, ``--max-frames`` or Ctrl+C.

    Returns:
        The frames with a face, whether Ctrl+C stopped it, and whether the look has body effects (drawn without a
        face).
    """
    faces_seen = 0
    # A parsing model runs in line (not on a background thread): the file comes out the same on any machine.
    options = pipeline_options(args, "video", parse_background=False)
    with Pipeline(look, options=options) as pipe, StopOnInterrupt() as stop:
        with progress(total=total, unit="frame") as bar:
            # Stream timestamps (not the wall clock) drive stabilisation, so the output does not depend on speed.
            frames = (Frame(image, i, i / reader.fps) for i, image in enumerate(islice(reader, args.max_frames)))
            with closing(parse_ahead(pipe, frames)) as parsed:
                for frame, parse in parsed:
                    if stop.requested:
                        break
                    faces_seen += bool(parse.faces)
                    writer.write(pipe.render(frame.image, parse, inplace=True))  # each frame freshly decoded
                    bar.update()
        return faces_seen, stop.requested, pipe.draws_without_faces()
