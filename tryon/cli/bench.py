"""``tryon bench``: the pipeline's speed per stage on a video, against the MediaPipe perception floor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tryon.bench import bench_frame, check_stability_source, effects_cost, run_bench, stability
from tryon.cli.common import EXIT_OK, add_parser_option, check_parser, positive_int, progress, table
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
        description="Runs the live loop on a video into the null sink and reports fps, per-stage medians, the "
        "perception floor (MediaPipe face mesh + selfie segmentation alone on the same frames) and peak memory. "
        "Several photos instead of a video are tiled into one frame (a group of faces).",
    )
    parser.add_argument(
        "--source",
        type=Path,
        nargs="+",
        required=True,
        metavar="VIDEO|PHOTO",
        help="a video file, or several photos to tile into one frame (e.g. 4 faces)",
    )
    parser.add_argument("--look", default="glam", metavar="NAME|FILE", help="look to apply (default: glam)")
    parser.add_argument("--frames", type=positive_int, default=300, metavar="N", help="frames to run (default: 300)")
    parser.add_argument("--size", type=parse_size, default=None, metavar="WxH", help="resize frames first")
    add_parser_option(parser)
    parser.add_argument(
        "--sequential", action="store_true", help="run every stage in turn (no parsing ahead of rendering)"
    )
    parser.add_argument(
        "--split",
        choices=("auto", "process", "thread"),
        default="auto",
        help="where the next frame is perceived and parsed while this one renders: a child process, a worker "
        "thread (perceiving only), or auto (a process where one can run; default)",
    )
    parser.add_argument("--stability", action="store_true", help="also measure landmark jitter and lag (a video)")
    parser.add_argument(
        "--effects",
        action="store_true",
        help="also time each effect of the look alone, and the whole render, on one frame (the video's 31st, or "
        "the tiled photos) with its parse reused",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def _check_stability_source(sources: list[Path]) -> None:
    """Refuses a ``--stability`` source other than one video (jitter and lag are motion over time)."""
    if len(sources) > 1:
        raise InputError("--stability measures one video; give a single --source")
    check_stability_source(sources[0], name="--stability")


def run(args: argparse.Namespace) -> int:
    check_parser(args.parser)
    for path in args.source:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    if args.stability:
        _check_stability_source(args.source)
    with progress(total=args.frames, desc="bench", unit="frame") as bar:
        result = run_bench(
            args.source,
            look=args.look,
            frames=args.frames,
            size=args.size,
            progress=lambda _: _tick(bar),
            pipelined=not args.sequential,
            parsing=args.parser,
            split=args.split,
        )
    report = result.as_dict()
    if args.stability:
        report["stability"] = stability(args.source[0], size=args.size).as_dict()
    if args.effects:
        report["effects_cost"] = effects_cost(bench_frame(args.source, args.size), args.look, parsing=args.parser)
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
        ["latency ms median", f"{result.latency_ms_median:.2f}"],
        ["peak RSS MB", f"{result.peak_rss_mb:.0f}"],
        ["faces (mean)", f"{result.faces:.2f}"],
        ["split", result.split],
    ]
    if result.child_peak_rss_mb is not None:
        rows.insert(-2, ["  of which parse process", f"{result.child_peak_rss_mb:.0f}"])
    if args.stability:
        s = report["stability"]
        assert isinstance(s, dict)
        rows += [
            ["jitter px (raw)", f"{s['jitter_px']:.3f} ({s['jitter_raw_px']:.3f})"],
            ["lag frames", f"{s['lag_frames']:.2f}"],
            ["lid gap error px (worst)", f"{s['lid_error_px']:.2f}"],
        ]
        rows += [[f"  {k} mask change/frame", f"{v:.3f}"] for k, v in s["mask_flicker"].items()]
    if args.effects:
        cost = report["effects_cost"]
        assert isinstance(cost, dict)
        rows += [["render ms (whole look)", f"{cost['all']:.2f}"]]
        rows += [[f"  {k} alone", f"{v:.2f}"] for k, v in cost.items() if k != "all"]
    print(table(rows, right={1}))
    return EXIT_OK
