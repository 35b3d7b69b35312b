"""Perception: MediaPipe face mesh (478 points with irises), face identity tracking and the person mask."""

from tryon.perception.detector import HEAD_KEYPOINTS, Perception, PerceptionOptions, PerceptionResult
from tryon.perception.tracker import FaceTracker

__all__ = ["HEAD_KEYPOINTS", "Perception", "PerceptionOptions", "PerceptionResult", "FaceTracker"]
