"""MediaPipe face mesh and selfie segmentation behind one small, typed object.

MediaPipe ``0.10.21`` ships these models inside its wheel, so nothing is downloaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from tryon.errors import DependencyError, InputError

__all__ = ["Perception", "PerceptionOptions", "PerceptionResult"]

log = logging.getLogger(__name__)

Mode = Literal["image", "video"]


@dataclass(frozen=True)
class PerceptionOptions:
    """Options of :class:`Perception`.

    Attributes:
        mode: ``"video"`` tracks landmarks from frame to frame (streams); ``"image"`` detects afresh (photos).
        max_faces: the most faces to find per frame.
        person_mask: run selfie segmentation for the person/background mask.
        min_detection_confidence: face detector threshold.
        min_tracking_confidence: below it, video mode re-detects.
    """

    mode: Mode = "video"
    max_faces: int = 4
    person_mask: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in ("image", "video"):
            raise InputError(f"perception mode must be 'image' or 'video', got {self.mode!r}")
        if not isinstance(self.max_faces, int) or not 1 <= self.max_faces <= 16:
            raise InputError(f"max_faces must be an integer in 1..16, got {self.max_faces!r}")
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise InputError(f"{name} must be in [0, 1], got {value!r}")


@dataclass(frozen=True)
class PerceptionResult:
    """Raw perception of one frame.

    Attributes:
        landmarks: one ``478x3`` float32 array per face, in pixels (z scaled like x).
        person: ``HxW`` float32 person probability in [0, 1], or None.
    """

    landmarks: tuple[np.ndarray, ...]
    person: np.ndarray | None


def _solutions() -> Any:
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
        raise DependencyError('mediapipe is missing: pip install "mediapipe==0.10.21"') from exc
    return mp.solutions


class Perception:
    """Runs face mesh (refined: 478 landmarks) and selfie segmentation on BGR frames.

    Example:
        >>> with Perception(PerceptionOptions(mode="image")) as perception:  # doctest: +SKIP
        ...     result = perception(frame_bgr)
    """

    def __init__(self, options: PerceptionOptions | None = None) -> None:
        self.options = options or PerceptionOptions()
        solutions = _solutions()
        o = self.options
        self._mesh = solutions.face_mesh.FaceMesh(
            static_image_mode=o.mode == "image",
            max_num_faces=o.max_faces,
            refine_landmarks=True,
            min_detection_confidence=o.min_detection_confidence,
            min_tracking_confidence=o.min_tracking_confidence,
        )
        self._segmenter = solutions.selfie_segmentation.SelfieSegmentation(model_selection=1) if o.person_mask else None
        self._closed = False

    def __call__(self, frame_bgr: np.ndarray, person: bool = True) -> PerceptionResult:
        """Perceives one BGR uint8 frame; ``person=False`` skips segmentation for this frame."""
        if self._closed:
            raise InputError("this Perception is closed")
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        return PerceptionResult(self.landmarks_rgb(rgb), self.person_rgb(rgb) if person else None)

    def landmarks_rgb(self, rgb: np.ndarray) -> tuple[np.ndarray, ...]:
        """Face mesh alone on an RGB frame: one ``478x3`` pixel array per face."""
        h, w = rgb.shape[:2]
        result = self._mesh.process(rgb)
        faces: list[np.ndarray] = []
        for face in result.multi_face_landmarks or ():
            pts = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
            pts *= np.array([w, h, w], dtype=np.float32)
            faces.append(pts)
        return tuple(faces)

    def person_rgb(self, rgb: np.ndarray) -> np.ndarray | None:
        """Selfie segmentation alone on an RGB frame (None when disabled)."""
        if self._segmenter is None:
            return None
        mask = self._segmenter.process(rgb).segmentation_mask
        return None if mask is None else np.asarray(mask, dtype=np.float32)

    def close(self) -> None:
        """Releases the MediaPipe graphs; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._mesh.close()
        if self._segmenter is not None:
            self._segmenter.close()

    def __enter__(self) -> Perception:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
