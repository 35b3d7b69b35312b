"""Regenerates the built-in clothing textures (seamless 256x256 PNG tiles) in this folder.

    .venv/bin/python assets/textures/make_textures.py

Every pattern is drawn procedurally here (no image is copied from anywhere): each is periodic over the tile, so
:class:`tryon.effects.clothing.Clothing` can repeat it across a garment without seams. Names are the files' stems,
which is how looks refer to them (``texture: plaid``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

SIZE = 256
HERE = Path(__file__).resolve().parent


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates over the tile, in tile units (0..1)."""
    t = (np.arange(SIZE, dtype=np.float32) + 0.5) / SIZE
    return np.meshgrid(t, t)


def _bgr(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[4:6], 16), int(h[2:4], 16), int(h[0:2], 16)], np.float32)


def _paint(base: str, layers: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """A tile of colour ``base`` with each ``(coverage 0..1, colour)`` layer painted over it in order."""
    out = np.empty((SIZE, SIZE, 3), np.float32)
    out[:] = _bgr(base)
    for cover, colour in layers:
        out += (_bgr(colour) - out) * cover[:, :, None]
    return out


def _weave(strength: float, seed: int) -> np.ndarray:
    """A faint seamless fabric grain (multiplicative, around 1)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    pad = 8
    noise = cv2.GaussianBlur(np.pad(noise, pad, mode="wrap"), (0, 0), 0.8)[pad:-pad, pad:-pad]
    x, y = _grid()
    twill = np.sin(2 * np.pi * 64 * (x + y)).astype(np.float32)  # diagonal twill lines, 64 per tile
    return 1.0 + strength * (0.6 * noise / noise.std() + 0.4 * twill)


def _smooth_band(phase: np.ndarray, width: float, softness: float = 0.01) -> np.ndarray:
    """Coverage of a band ``width`` wide around phase 0 of a 1-periodic coordinate, antialiased over ``softness``."""
    d = np.abs((phase + 0.5) % 1.0 - 0.5)
    return np.clip((width / 2 - d) / softness + 0.5, 0.0, 1.0).astype(np.float32)


def stripes() -> np.ndarray:
    """Breton stripes: navy on off-white, four per tile."""
    _, y = _grid()
    band = _smooth_band(y * 4, 0.4, 0.016)  # phase units: one stripe period per unit
    return _paint("#F4F1E8", [(band, "#1C2B4A")]) * _weave(0.04, 1)[:, :, None]


def polka_dots() -> np.ndarray:
    """White dots on red in a staggered grid, four rows per tile."""
    x, y = _grid()
    n = 4
    row = np.floor(y * n)
    xs = x * n + 0.5 * (row % 2)
    dx = (xs % 1.0) - 0.5
    dy = (y * n % 1.0) - 0.5
    r = np.hypot(dx, dy) / n
    dots = np.clip((0.045 - r) / 0.004 + 0.5, 0.0, 1.0).astype(np.float32)
    return _paint("#B3202A", [(dots, "#FAF7F0")]) * _weave(0.03, 2)[:, :, None]


def plaid() -> np.ndarray:
    """A tartan: warp and weft bands of green, navy, red and yellow, crossed in a 2/2 twill."""
    x, y = _grid()
    sett = [("#1E3D2B", 0.0, 0.30), ("#1A2340", 0.5, 0.22), ("#A3212B", 0.25, 0.05), ("#D9B44A", 0.75, 0.025)]

    def threads(t: np.ndarray) -> np.ndarray:
        out = np.empty((SIZE, SIZE, 3), np.float32)
        out[:] = _bgr("#2F5A3A")
        for colour, centre, width in sett:
            cover = _smooth_band(t - centre, width, 0.003)
            out += (_bgr(colour) - out) * cover[:, :, None]
        return out

    warp, weft = threads(x), threads(y)
    px, py = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    over = (((px + py) // 2) % 2 == 0)[:, :, None]  # 2/2 twill: which thread shows, in diagonal steps
    woven = np.where(over, warp, weft)
    mixed = 0.5 * (warp + weft)
    return (0.55 * woven + 0.45 * mixed) * _weave(0.03, 3)[:, :, None]


def floral() -> np.ndarray:
    """Five-petal flowers with leaves on cream, placed at seeded spots (wrapping around the tile)."""
    rng = np.random.default_rng(7)
    x, y = _grid()
    leaves = np.zeros((SIZE, SIZE), np.float32)
    petals = np.zeros((SIZE, SIZE), np.float32)
    hearts = np.zeros((SIZE, SIZE), np.float32)
    shades = np.zeros((SIZE, SIZE), np.float32)
    for _ in range(14):
        cx, cy = rng.random(2)
        size = rng.uniform(0.06, 0.1)
        turn = rng.uniform(0, 2 * np.pi)
        dx = (x - cx + 0.5) % 1.0 - 0.5
        dy = (y - cy + 0.5) % 1.0 - 0.5
        r = np.hypot(dx, dy)
        theta = np.arctan2(dy, dx)
        outline = size * (0.55 + 0.45 * np.abs(np.cos(2.5 * (theta - turn))))
        petal = np.clip((outline - r) / 0.004 + 0.5, 0, 1)
        shade = rng.uniform(0, 1)
        shades = np.where(petal > petals, shade, shades)
        petals = np.maximum(petals, petal)
        hearts = np.maximum(hearts, np.clip((0.22 * size - r) / 0.004 + 0.5, 0, 1))
        for k in range(2):  # two leaves per flower
            a = turn + np.pi * (k + rng.uniform(0.2, 0.5))
            lx, ly = cx + np.cos(a) * size * 1.25, cy + np.sin(a) * size * 1.25
            ddx = (x - lx + 0.5) % 1.0 - 0.5
            ddy = (y - ly + 0.5) % 1.0 - 0.5
            along = ddx * np.cos(a) + ddy * np.sin(a)
            side = -ddx * np.sin(a) + ddy * np.cos(a)
            leaf = (along / (0.7 * size)) ** 2 + (side / (0.28 * size)) ** 2
            leaves = np.maximum(leaves, np.clip((1.0 - leaf) / 0.15 + 0.5, 0, 1))
    rose = _bgr("#D46A8C")
    coral = _bgr("#E8906A")
    out = _paint("#F3EBDD", [(leaves.astype(np.float32), "#5E8A5A")])
    petal_colour = rose + (coral - rose) * shades[:, :, None]
    out += (petal_colour - out) * petals[:, :, None]
    out += (_bgr("#F2C84B") - out) * hearts[:, :, None]
    return out * _weave(0.03, 4)[:, :, None]


def denim() -> np.ndarray:
    """Indigo twill with the slubs and fading of denim."""
    rng = np.random.default_rng(5)
    slub = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    pad = 24  # slubs run along the weft: long across, one thread high
    slub = cv2.GaussianBlur(np.pad(slub, pad, mode="wrap"), (0, 0), sigmaX=6.0, sigmaY=0.7)[pad:-pad, pad:-pad]
    slub /= slub.std()
    out = _paint("#2C4A7A", [])
    fade = np.clip(0.5 + 0.18 * slub, 0, 1)[:, :, None]
    light = _bgr("#6E8DB8")
    out = out + (light - out) * fade * 0.6
    return out * _weave(0.12, 6)[:, :, None]


PATTERNS: dict[str, Callable[[], np.ndarray]] = {
    "stripes": stripes,
    "polka_dots": polka_dots,
    "plaid": plaid,
    "floral": floral,
    "denim": denim,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args()
    out = Path(args.out)
    for name, draw in PATTERNS.items():
        tile = np.clip(draw() + 0.5, 0, 255).astype(np.uint8)
        cv2.imwrite(str(out / f"{name}.png"), tile, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {len(PATTERNS)} textures to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
