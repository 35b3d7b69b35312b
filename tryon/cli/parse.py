"""``tryon parse INPUT -o LABELS.png [--overlay VIZ.png]``: the per-pixel classes of a photo; ``--legend``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from tryon.cli.common import (
    EXIT_OK,
    add_max_faces_option,
    add_no_clobber_option,
    add_parser_option,
    check_parser,
    input_kind,
    pipeline_options,
    refuse_existing,
    same_file,
    suffixes,
)
from tryon.errors import ImageWriteError, InputError
from tryon.image import IMAGE_SUFFIXES, read_image, write_images
from tryon.parsing.classes import CLASSES, legend
from tryon.pipeline import Pipeline

__all__ = ["PALETTE", "overlay", "register", "run"]

log = logging.getLogger(__name__)

#: BGR colour of each class in the overlay, by class index.
PALETTE = np.array(
    [
        (0, 0, 0),  # background
        (128, 192, 255),  # face_skin
        (0, 165, 255),  # nose
        (0, 100, 0),  # left_brow
        (50, 205, 50),  # right_brow
        (255, 0, 0),  # left_eye
        (255, 191, 0),  # right_eye
        (60, 20, 220),  # upper_lip
        (147, 20, 255),  # lower_lip
        (0, 0, 128),  # mouth_interior
        (19, 69, 139),  # hair
        (180, 105, 255),  # neck
        (203, 192, 255),  # body_skin
        (128, 128, 0),  # clothes
    ],
    dtype=np.uint8,
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "parse",
        parents=[common],
        help="write a photo's per-pixel classes as a label image",
        description="Write an 8-bit label PNG the size of INPUT holding one class index per pixel "
        "(`tryon parse --legend` prints the index -> class map), and optionally a colour overlay.",
    )
    parser.add_argument("input", nargs="?", type=Path, metavar="INPUT", help="a photo")
    parser.add_argument("-o", "--output", type=Path, metavar="LABELS.png", help="the label image to write")
    parser.add_argument("--overlay", type=Path, metavar="VIZ", help="also write a colour overlay of the classes")
    parser.add_argument("--legend", action="store_true", help="print the index -> class name map as JSON and exit")
    add_max_faces_option(parser)
    add_parser_option(parser)
    add_no_clobber_option(parser, "an existing labels file or overlay is an error")
    parser.set_defaults(func=run)


def overlay(frame: np.ndarray, labels: np.ndarray, opacity: float = 0.55) -> np.ndarray:
    """The photo with each class painted in its :data:`PALETTE` colour (background left as is)."""
    out = frame.copy()
    fg = labels > 0
    out[fg] = (frame[fg] * (1.0 - opacity) + PALETTE[labels[fg]] * opacity + 0.5).astype(np.uint8)
    return out


def run(args: argparse.Namespace) -> int:
    if args.legend:
        print(json.dumps({str(k): v for k, v in legend().items()}, indent=2))
        return EXIT_OK
    if args.input is None or args.output is None:
        raise InputError("parse needs INPUT and -o LABELS.png (or --legend)")
    if input_kind(args.input) != "photo":
        raise InputError(f"{args.input}: parse takes one photo ({suffixes(IMAGE_SUFFIXES)})")
    if args.output.suffix.lower() != ".png":
        raise InputError(f"{args.output}: labels must be written as .png (lossless), got {args.output.suffix!r}")
    for target in (args.output, args.overlay):
        if target is not None and not target.parent.is_dir():
            raise ImageWriteError(f"{target}: the folder {target.parent} does not exist")
    if args.overlay is not None and args.overlay.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"{args.overlay}: the overlay must end in one of {suffixes(IMAGE_SUFFIXES)}")
    for target in (args.output, args.overlay):
        if target is not None and same_file(target, args.input):
            raise InputError(f"{target}: must differ from INPUT (it would overwrite the photo)")
    if args.overlay is not None and same_file(args.overlay, args.output):
        raise InputError(f"{args.overlay}: the overlay must differ from the labels file")
    if args.no_clobber:
        refuse_existing(args.output, args.overlay)
    check_parser(args.parser)
    frame = read_image(args.input)
    with Pipeline(None, options=pipeline_options(args, "image")) as pipe:
        parse = pipe.parse(frame)
    if not parse.faces:
        log.warning("%s: no face found; the labels hold only the person's body classes", args.input)
    labels = parse.labels()
    outputs: list[tuple[Path, np.ndarray]] = [(args.output, labels)]
    if args.overlay is not None:
        outputs.append((args.overlay, overlay(frame, labels)))
    write_images(outputs)  # both or neither
    present = ", ".join(CLASSES[i] for i in np.unique(labels) if i)
    log.info("%s: %d face(s); classes: %s", args.input, len(parse.faces), present or "none")
    return EXIT_OK
