"""``tryon bench``: the pipeline's speed per stage on a video, against the MediaPipe perception floor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tryon.bench import run_bench, stability
from tryon.cli.common import EXIT_OK, positive_int, progress, table
from tryon.errors import InputError

__all__ = ["register", "run", "parse_size"]


def parse_size(text: str) -> tuple[int, int]:
    """An argparse type: ``WxH`` (e.g. ``1280x720``)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"width and height must be 16..8192, got {text!r}")
    return (w, h)


def _tick(bar: Any) -> None:
    bar.update(1)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "bench",
        parents=[common],
        help="measure speed per stage on a video",
        description="Runs the pipeline through the null sink and reports fps, per-stage medians, the perception "
        "floor (MediaPipe face mesh + selfie segmentation alone on the same frames) and peak memory.",
    )
    parser.add_argument("--source", type=Path, required=True, metavar="VIDEO", help="a video file")
    parser.add_argument("--look", default="glam", metavar="NAME|FILE", help="look to apply (default: glam)")
    parser.add_argument("--frames", type=positive_int, default=300, metavar="N", help="frames to run (default: 300)")
    parser.add_argument("--size", type=parse_size, default=None, metavar="WxH", help="resize frames first")
    parser.add_argument("--stability", action="store_true", help="also measure landmark jitter and lag")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.source.is_file():
        raise InputError(f"{args.source}: no such file")
    with progress(total=args.frames, desc="bench", unit="frame") as bar:
        result = run_bench(
            args.source, look=args.look, frames=args.frames, size=args.size, progress=lambda _: _tick(bar)
        )
    report = result.as_dict()
    if args.stability:
        report["stability"] = stability(args.source, size=args.size).as_dict()
    if args.json:
        print(json.dumps(report, indent=2))
        return EXIT_OK
    rows = [
        ["frames", str(result.frames)],
        ["size", f"{result.size[0]}x{result.size[1]}"],
        ["fps", f"{result.fps:.1f}"],
        ["ms median", f"{result.ms_median:.2f}"],
        ["ms p95", f"{result.ms_p95:.2f}"],
    ]
    rows += [[f"  {k}", f"{v:.2f}"] for k, v in result.stages.items()]
    rows += [
        ["perception floor ms", f"{result.perception_floor_ms:.2f}"],
        ["peak RSS MB", f"{result.peak_rss_mb:.0f}"],
        ["faces (mean)", f"{result.faces:.2f}"],
    ]
    if args.stability:
        s = report["stability"]
        assert isinstance(s, dict)
        rows += [
            ["jitter px (raw)", f"{s['jitter_px']:.3f} ({s['jitter_raw_px']:.3f})"],
            ["lag frames", f"{s['lag_frames']:.2f}"],
        ]
    print(table(rows, right={1}))
    return EXIT_OK
