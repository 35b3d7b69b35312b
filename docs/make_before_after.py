"""Regenerates the before/after images in docs/ from the shared photos.

    TRYON_TEST_DATA=../shared/data .venv/bin/python docs/make_before_after.py

Each row is one photo: the original face, then the same face with each look. The photos are read from the shared
test material by path (never copied into the repository); only the rendered crops are written here. Two rows are
frames of the shared videos where the head is turned (``VIDEO#FRAME``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from tryon.image import read_image, write_image
from tryon.pipeline import Pipeline

# Across skin tones, ages, hair and lighting.
PHOTOS = [
    "faces/deepface_img12.jpg",
    "faces/liveportrait_source_s42.jpg",
    "faces/deepface_img24.jpg",
    "people/idm_00035_00.jpg",
    "people/ootd_model_4.png",
    "people/ootd_model_7.png",
    "faces/deepface_img38.jpg",
    "faces/liveportrait_driving_d30.jpg",
    "videos/driving_d3.mp4#275",  # turned toward the image's right (yaw 0.33 of a profile's 0.5)
    "videos/source_s18.mp4#0",
]
LOOKS = ["natural", "evening", "bold_red", "smoky_eye", "glam"]
TILE = 256


def face_crop(frame: np.ndarray, points: np.ndarray, grow: float = 0.62, lift: float = 0.0) -> tuple[slice, slice]:
    """A square around the face landmarks: ``grow`` times their extent each side, moved up by ``lift``."""
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    cx, cy = (lo + hi) / 2
    cy -= lift * max(hi - lo)
    half = grow * max(hi - lo)
    y0, y1 = int(max(0, cy - half)), int(min(frame.shape[0], cy + half))
    x0, x1 = int(max(0, cx - half)), int(min(frame.shape[1], cx + half))
    return slice(y0, y1), slice(x0, x1)


def read_frame(path: Path) -> np.ndarray:
    """A photo, or one frame of a video given as ``VIDEO#INDEX``."""
    video, _, index = str(path).partition("#")
    if not index:
        return read_image(path)
    cap = cv2.VideoCapture(video)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok:
        raise SystemExit(f"{video}: no frame {index}")
    return np.asarray(frame)


def label(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    cv2.rectangle(out, (0, 0), (TILE, 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("TRYON_TEST_DATA", "../shared/data"))
    parser.add_argument("--out", default=str(Path(__file__).parent / "images"))
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    pipes = {name: Pipeline(look=name, mode="image", max_faces=1) for name in LOOKS}
    try:
        for rel in PHOTOS:
            frame = read_frame(data / rel)
            parse = pipes[LOOKS[0]].parse(frame)
            if not parse.faces:
                print(f"no face in {rel}; skipped", file=sys.stderr)
                continue
            ys, xs = face_crop(frame, parse.faces[0].points)
            tiles = [label(cv2.resize(frame[ys, xs], (TILE, TILE), interpolation=cv2.INTER_AREA), "before")]
            for name, pipe in pipes.items():
                rendered = pipe.render(frame, parse)
                tiles.append(label(cv2.resize(rendered[ys, xs], (TILE, TILE), interpolation=cv2.INTER_AREA), name))
            row = np.hstack(tiles)
            write_image(out / f"before_after_{Path(rel.replace('.mp4#', '_')).stem}.jpg", row)
            rows.append(row)
    finally:
        for pipe in pipes.values():
            pipe.close()
    if rows:
        write_image(out / "before_after.jpg", np.vstack(rows))
    print(f"wrote {len(rows)} rows to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
