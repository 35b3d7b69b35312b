"""MediaPipe pose (33 body landmarks) behind one small, typed object, for the body classes.

MediaPipe ``0.10.21`` ships the pose model (``model_complexity=1``, "full") inside its wheel, so nothing is
downloaded. It costs tens of milliseconds a frame on a laptop core: photos use it, streams only every few frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from tryon.errors import DependencyError, InputError, ParseError
from tryon.geometry import pixel_points

__all__ = ["BodyPose", "PoseEstimator"]

log = logging.getLogger(__name__)

NUM_POSE_LANDMARKS = 33


@dataclass(frozen=True)
class BodyPose:
    """One person's body pose in a frame.

    Attributes:
        shape: the frame's ``(height, width)``.
        points: ``33x2`` float32 landmark positions in pixels (MediaPipe pose order: 0 nose, 2/5 eyes, 9/10 mouth
            corners, 11/12 shoulders, 13/14 elbows, 15/16 wrists, 17-22 hands, 23/24 hips, ...); they may lie
            outside the frame.
        visibility: ``33`` float32 likelihoods in [0, 1] that each landmark is visible.
    """

    shape: tuple[int, int]
    points: np.ndarray
    visibility: np.ndarray

    def __post_init__(self) -> None:
        p, v = self.points, self.visibility
        if not isinstance(p, np.ndarray) or p.shape != (NUM_POSE_LANDMARKS, 2) or p.dtype != np.float32:
            got = f"{p.shape} {p.dtype}" if isinstance(p, np.ndarray) else type(p).__name__
            raise ParseError(f"pose points must be {NUM_POSE_LANDMARKS}x2 float32 pixels, got {got}")
        if not isinstance(v, np.ndarray) or v.shape != (NUM_POSE_LANDMARKS,) or v.dtype != np.float32:
            got = f"{v.shape} {v.dtype}" if isinstance(v, np.ndarray) else type(v).__name__
            raise ParseError(f"pose visibility must be {NUM_POSE_LANDMARKS} float32 values, got {got}")
        if not (np.all(np.isfinite(p)) and np.all(np.isfinite(v))):
            raise ParseError("pose holds NaN or infinite values")


def _solutions() -> Any:
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
        raise DependencyError('mediapipe is missing: pip install "mediapipe==0.10.21"') from exc
    return mp.solutions


class PoseEstimator:
    """Runs MediaPipe pose on BGR frames.

    Args:
        mode: ``"image"`` detects afresh on every call (photos); ``"video"`` tracks from frame to frame.
        min_detection_confidence: the person detector's threshold.

    Example:
        >>> with PoseEstimator(mode="image") as estimate:  # doctest: +SKIP
        ...     pose = estimate(frame)
    """

    def __init__(self, mode: Literal["image", "video"] = "image", min_detection_confidence: float = 0.5) -> None:
        if mode not in ("image", "video"):
            raise InputError(f"pose mode must be 'image' or 'video', got {mode!r}")
        if not 0.0 <= float(min_detection_confidence) <= 1.0:
            raise InputError(f"min_detection_confidence must be in [0, 1], got {min_detection_confidence!r}")
        self._pose = _solutions().pose.Pose(
            static_image_mode=mode == "image",
            model_complexity=1,  # the model inside the wheel; 0 and 2 would be downloaded
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
        )
        self._closed = False

    def __call__(self, frame_bgr: np.ndarray) -> BodyPose | None:
        """The pose of the most prominent person in a BGR uint8 frame, or None when nobody is found."""
        if self._closed:
            raise InputError("this PoseEstimator is closed")
        if not (isinstance(frame_bgr, np.ndarray) and frame_bgr.dtype == np.uint8 and frame_bgr.ndim == 3):
            raise InputError("frame must be an HxWx3 BGR uint8 array")
        h, w = frame_bgr.shape[:2]
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return None
        lm = result.pose_landmarks.landmark
        points = pixel_points(np.array([(p.x, p.y) for p in lm], np.float32), (h, w))
        visibility = np.array([p.visibility for p in lm], np.float32)
        return BodyPose((h, w), points, np.clip(visibility, 0.0, 1.0))

    def reset(self) -> None:
        """Forgets the tracked person (a new stream, or a cut)."""
        if self._closed:
            raise InputError("this PoseEstimator is closed")
        self._pose.reset()

    def close(self) -> None:
        """Releases the MediaPipe graph; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._pose.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
