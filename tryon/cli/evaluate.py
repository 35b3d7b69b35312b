"""``tryon eval DATASET_DIR [...] [--json]``: parsing scores (IoU and F1 per region) on labelled datasets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tryon.cli.common import (
    EXIT_OK,
    add_max_faces_option,
    add_parser_option,
    check_parser,
    pipeline_options,
    progress,
    table,
)
from tryon.evaluation import Dataset, EvalReport, evaluate
from tryon.pipeline import Pipeline

__all__ = ["format_table", "register", "run"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "eval",
        parents=[common],
        help="score face parsing on labelled datasets",
        description="Score the parser on dataset folders (each with a dataset.json): IoU and F1 per region, "
        "pixels summed over the dataset, and the mean F1.",
    )
    parser.add_argument("datasets", nargs="+", type=Path, metavar="DATASET_DIR", help="a folder with dataset.json")
    parser.add_argument("--json", action="store_true", help="print JSON (a list for several datasets)")
    add_max_faces_option(parser)
    add_parser_option(parser)
    parser.set_defaults(func=run)


def format_table(reports: list[EvalReport]) -> str:
    """One table for all datasets: a row per region (IoU, F1), then each dataset's mean F1.

    A region the ground truth never holds shows ``-`` (no ground truth) and is left out of the mean.
    """
    rows: list[tuple[str, ...]] = [("dataset", "images", "region", "IoU", "F1")]
    for report in reports:
        for name, score in report.regions.items():
            rows.append((report.dataset, str(report.images), name, _figure(score.iou), _figure(score.f1)))
        rows.append((report.dataset, str(report.images), "mean", "", _figure(report.mean_f1)))
    return table(rows, right=(1, 3, 4))


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    check_parser(args.parser)
    for root in args.datasets:
        Dataset.load(root)  # refuse a bad folder before loading the models
    reports = []
    with Pipeline(None, options=pipeline_options(args, "image")) as pipe:
        for root in args.datasets:
            with progress(desc=root.name, unit="image") as bar:

                def tick(photo: str) -> None:
                    bar.update()

                reports.append(evaluate(root, lambda frame: pipe.parse(frame).labels(), progress=tick))
    if args.json:
        data = [r.as_dict() for r in reports]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))
    else:
        print(format_table(reports))
    return EXIT_OK
