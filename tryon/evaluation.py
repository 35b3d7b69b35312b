"""Scoring parsing against labelled datasets (the ``dataset.json`` format), as face-parsing papers report it.

Per region, true/false positives and false negatives are summed over every pixel of the dataset (not averaged
per image), then IoU = TP / (TP + FP + FN) and F1 = 2TP / (2TP + FP + FN).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tryon.errors import ImageReadError, InputError
from tryon.image import IMAGE_SUFFIXES, read_image
from tryon.parsing.classes import CLASS_INDEX

__all__ = ["Dataset", "RegionScore", "EvalReport", "evaluate", "score_labels"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Region:
    name: str
    gt: tuple[int, ...]
    pred: tuple[int, ...]


@dataclass(frozen=True)
class Dataset:
    """A labelled dataset folder described by its ``dataset.json``."""

    root: Path
    name: str
    images: Path
    labels: Path
    ignore: tuple[int, ...]
    regions: tuple[Region, ...]

    @classmethod
    def load(cls, root: str | Path) -> Dataset:
        """Reads and validates ``root/dataset.json``.

        Raises:
            InputError: naming the file and the field at fault.
        """
        root = Path(root)
        spec_path = root / "dataset.json"
        if not spec_path.is_file():
            raise InputError(f"{root}: not a dataset folder (no dataset.json)")
        try:
            spec = json.loads(spec_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{spec_path}: not valid JSON ({exc})") from exc
        if not isinstance(spec, dict):
            raise InputError(f"{spec_path}: must hold a JSON object")

        def need(key: str, kind: type) -> object:
            if key not in spec:
                raise InputError(f"{spec_path}: missing field {key!r}")
            if not isinstance(spec[key], kind):
                raise InputError(f"{spec_path}: field {key!r} must be a {kind.__name__}")
            return spec[key]

        regions = []
        for name, reg in dict(need("regions", dict)).items():  # type: ignore[call-overload]
            if not (isinstance(reg, dict) and isinstance(reg.get("gt"), list) and isinstance(reg.get("pred"), list)):
                raise InputError(f"{spec_path}: regions.{name} must be {{'gt': [ints], 'pred': [class names]}}")
            unknown = [p for p in reg["pred"] if p not in CLASS_INDEX]
            if unknown:
                raise InputError(
                    f"{spec_path}: regions.{name}.pred has unknown classes {unknown}; allowed: {', '.join(CLASS_INDEX)}"
                )
            if not all(isinstance(g, int) and 0 <= g <= 255 for g in reg["gt"]):
                raise InputError(f"{spec_path}: regions.{name}.gt must be label indices 0..255")
            regions.append(Region(name, tuple(reg["gt"]), tuple(CLASS_INDEX[p] for p in reg["pred"])))
        ignore = spec.get("ignore", [])
        if not isinstance(ignore, list) or not all(isinstance(g, int) for g in ignore):
            raise InputError(f"{spec_path}: field 'ignore' must be a list of label indices")
        images = root / str(need("images", str))
        labels = root / str(need("labels", str))
        for folder, key in ((images, "images"), (labels, "labels")):
            if not folder.is_dir():
                raise InputError(f"{spec_path}: field {key!r} names {folder}, which is not a folder")
        return cls(root, str(spec.get("name", root.name)), images, labels, tuple(ignore), tuple(regions))

    def pairs(self) -> Iterator[tuple[Path, Path]]:
        """(photo, label) paths, by photo stem; a photo without a label is an error."""
        photos = sorted(p for p in self.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not photos:
            raise InputError(f"{self.images}: no photos ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for photo in photos:
            candidates = sorted(self.labels.glob(photo.stem + ".*"))
            if not candidates:
                raise InputError(f"{self.labels}: no label image for {photo.name}")
            yield photo, candidates[0]


def read_label(path: Path) -> np.ndarray:
    """Reads an 8-bit index label image (grayscale or palette PNG) without colour conversion."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I;16", "I"):
                raise ImageReadError(f"{path}: a label image must be single-channel indices, got mode {im.mode}")
            return np.array(im).astype(np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise ImageReadError(f"{path}: not a readable label image ({exc})") from exc


@dataclass
class RegionScore:
    """Pixel counts of one region, summed over a dataset."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def scored(self) -> bool:
        """Whether the ground truth holds the region at all; without it IoU and F1 are undefined."""
        return self.tp + self.fn > 0

    @property
    def iou(self) -> float | None:
        """Intersection over union, or None when the ground truth never holds the region."""
        return self.tp / (self.tp + self.fp + self.fn) if self.scored else None

    @property
    def f1(self) -> float | None:
        """F1 (Dice), or None when the ground truth never holds the region."""
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.scored else None


@dataclass
class EvalReport:
    """The scores of one dataset."""

    dataset: str
    images: int = 0
    regions: dict[str, RegionScore] = field(default_factory=dict)

    @property
    def unscored(self) -> list[str]:
        """The regions the ground truth never holds: left out of the mean."""
        return [name for name, score in self.regions.items() if not score.scored]

    @property
    def mean_f1(self) -> float | None:
        """The mean F1 of the scored regions (None when there are none)."""
        scores = [r.f1 for r in self.regions.values() if r.f1 is not None]
        return float(np.mean(scores)) if scores else None

    def as_dict(self) -> dict[str, object]:
        """The JSON form: ``{"dataset", "images", "regions": {name: {"iou", "f1"}}, "mean_f1"}``.

        A region with no ground-truth pixels has ``null`` scores and is left out of ``mean_f1``.
        """
        return {
            "dataset": self.dataset,
            "images": self.images,
            "regions": {k: {"iou": _round(v.iou), "f1": _round(v.f1)} for k, v in self.regions.items()},
            "mean_f1": _round(self.mean_f1),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def score_labels(pred: np.ndarray, gt: np.ndarray, dataset: Dataset, report: EvalReport) -> None:
    """Adds one image's counts to ``report``; ``pred`` is resized to the label's size (nearest)."""
    if pred.shape != gt.shape:
        pred = cv2.resize(pred, (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_NEAREST)
    valid = ~np.isin(gt, dataset.ignore) if dataset.ignore else np.ones(gt.shape, bool)
    for region in dataset.regions:
        g = np.isin(gt, region.gt) & valid
        p = np.isin(pred, region.pred) & valid
        score = report.regions.setdefault(region.name, RegionScore())
        score.tp += int(np.count_nonzero(g & p))
        score.fp += int(np.count_nonzero(~g & p))
        score.fn += int(np.count_nonzero(g & ~p))


def evaluate(
    root: str | Path, predict: Callable[[np.ndarray], np.ndarray], progress: Callable[[str], None] | None = None
) -> EvalReport:
    """Scores ``predict`` (BGR frame -> label image of canonical class indices) on a dataset folder."""
    dataset = Dataset.load(root)
    report = EvalReport(dataset.name)
    for photo, label_path in dataset.pairs():
        frame = read_image(photo)
        gt = read_label(label_path)
        pred = predict(frame)
        score_labels(pred, gt, dataset, report)
        report.images += 1
        if progress is not None:
            progress(photo.name)
    for name in report.unscored:
        log.warning(
            "%s: no ground-truth pixels of %r in %d images: not scored (%d pixels predicted)",
            dataset.name,
            name,
            report.images,
            report.regions[name].fp,
        )
    return report
