"""Regenerates the before/after hair colour images in docs/images/ from the shared photos.

    TRYON_TEST_DATA=../shared/data .venv/bin/python docs/make_hair_colour.py

Each row is one photo (black hair first, then blond and platinum): the original head, then the same head with each
shade. The hair mask is whatever the default parser gives, so the images show the effect and the mask together.
The photos are read from the shared test material by path (never copied into the repository); only the rendered
crops are written here.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from make_before_after import TILE, face_crop, label  # docs/, beside this script

from tryon.effects import create_effect
from tryon.image import read_image, write_image
from tryon.pipeline import Pipeline

PHOTOS = [
    "faces/deepface_img17.jpg",
    "faces/deepface_img24.jpg",
    "faces/liveportrait_driving_d30.jpg",
    "faces/deepface_img12.jpg",
    "faces/deepface_img28.jpg",
]
SHADES = [
    ("copper", {"color": "#B87333"}),
    ("platinum", {"color": "#E6DCC6"}),
    ("espresso", {"color": "#3B2418"}),
    ("ombre", {"mode": "ombre", "color": "#3B2418", "color2": "#D9B37A"}),
    ("highlights", {"mode": "highlights", "color": "#D9B37A"}),
]


def head_crop(frame: np.ndarray, points: np.ndarray) -> tuple[slice, slice]:
    """A square around the head and its hair: more above (crown) and below (lengths) than the face alone."""
    return face_crop(frame, points, grow=0.95, lift=0.1)


def tile(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_AREA)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("TRYON_TEST_DATA", "../shared/data"))
    parser.add_argument("--out", default=str(Path(__file__).parent / "images"))
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    effects = [(name, create_effect("hair_color", options)) for name, options in SHADES]
    rows = []
    with Pipeline(mode="image", max_faces=1) as pipe:
        for rel in PHOTOS:
            frame = read_image(data / rel)
            parse = pipe.parse(frame)
            if not parse.faces:
                print(f"no face in {rel}; skipped", file=sys.stderr)
                continue
            ys, xs = head_crop(frame, parse.faces[0].points)
            tiles = [label(tile(frame[ys, xs]), "before")]
            for name, effect in effects:
                rendered = effect.apply(frame.copy(), parse)
                tiles.append(label(tile(rendered[ys, xs]), name))
            row = np.hstack(tiles)
            write_image(out / f"hair_colour_{Path(rel).stem}.jpg", row)
            rows.append(row)
    if rows:
        write_image(out / "hair_colour.jpg", np.vstack(rows))
    print(f"wrote {len(rows)} rows to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
