"""``tryon.evaluation`` on a tiny dataset built in the test: sums, F1 and regions the ground truth never holds."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from tryon.cli.evaluate import format_table
from tryon.evaluation import evaluate
from tryon.parsing.classes import CLASS_INDEX


def _dataset(root: Path) -> Path:
    """Two 16x16 photos; ground truth 1 = lips in the left half, 2 = mouth interior never drawn."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for stem in ("a", "b"):
        cv2.imwrite(str(root / "images" / f"{stem}.png"), np.zeros((16, 16, 3), np.uint8))
        label = np.zeros((16, 16), np.uint8)
        label[:, :8] = 1
        cv2.imwrite(str(root / "labels" / f"{stem}.png"), label)
    spec = {
        "name": "tiny",
        "images": "images",
        "labels": "labels",
        "classes": {"0": "background", "1": "lips", "2": "mouth"},
        "regions": {
            "lips": {"gt": [1], "pred": ["upper_lip"]},
            "mouth_interior": {"gt": [2], "pred": ["mouth_interior"]},
        },
    }
    (root / "dataset.json").write_text(json.dumps(spec), encoding="utf-8")
    return root


def _predict(frame: np.ndarray) -> np.ndarray:
    """Upper lip over the left 12 columns (8 right, 4 wrong); the mouth interior in 4 pixels of the right side."""
    pred = np.zeros(frame.shape[:2], np.uint8)
    pred[:, :12] = CLASS_INDEX["upper_lip"]
    pred[0, 12:] = CLASS_INDEX["mouth_interior"]
    return pred


def test_a_region_with_no_ground_truth_is_not_scored_nor_averaged(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="tryon.evaluation"):
        report = evaluate(_dataset(tmp_path / "tiny"), _predict)
    lips = report.regions["lips"]
    assert (lips.tp, lips.fp, lips.fn) == (256, 128, 0)
    assert lips.f1 == pytest.approx(512 / 640) and lips.iou == pytest.approx(256 / 384)
    interior = report.regions["mouth_interior"]
    assert interior.f1 is None and interior.iou is None and interior.fp == 8
    assert report.unscored == ["mouth_interior"]
    assert report.mean_f1 == pytest.approx(lips.f1)
    assert report.as_dict()["regions"]["mouth_interior"] == {"iou": None, "f1": None}
    assert report.as_dict()["mean_f1"] == 0.8
    assert "'mouth_interior'" in caplog.text and "not scored" in caplog.text and "8 pixels predicted" in caplog.text
    rows = {line.split()[2]: line.split()[3:] for line in format_table([report]).splitlines()[1:]}
    assert rows["mouth_interior"] == ["-", "-"] and rows["mean"] == ["0.8000"]
