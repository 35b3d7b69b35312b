"""Stable face ids across the frames of a stream."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FaceTracker"]


@dataclass
class _Track:
    id: int
    center: np.ndarray
    size: float
    missed: int = 0


class FaceTracker:
    """Gives each face a stable id by matching face centres to the previous frame's.

    A face keeps its id while it moves less than ``max_jump`` face sizes between frames and is not lost for
    more than ``max_missed`` frames. New faces get the smallest id not in use, so with one face it is always 0.
    """

    def __init__(self, max_jump: float = 0.6, max_missed: int = 15) -> None:
        self.max_jump = max_jump
        self.max_missed = max_missed
        self._tracks: list[_Track] = []

    def reset(self) -> None:
        """Forgets every face (a new stream, or a cut): the next faces get ids from 0."""
        self._tracks = []

    def rescale(self, old: tuple[int, int], new: tuple[int, int]) -> None:
        """Moves the tracks from frames of ``old`` (height, width) to ``new``: a stream that changed resolution.

        Faces keep their ids as long as the new frames show the same view, scaled.
        """
        sy, sx = new[0] / old[0], new[1] / old[1]
        for t in self._tracks:
            t.center = t.center * np.array([sx, sy], np.float64)
            t.size *= (sx + sy) / 2

    def assign(self, landmarks: tuple[np.ndarray, ...]) -> list[int]:
        """Returns one id per face, in the order given."""
        centers = [lm[:, :2].mean(axis=0) for lm in landmarks]
        sizes = [float(np.ptp(lm[:, 0]) + np.ptp(lm[:, 1])) / 2 + 1e-3 for lm in landmarks]
        pairs = []
        for i, (c, s) in enumerate(zip(centers, sizes)):
            for j, t in enumerate(self._tracks):
                d = float(np.linalg.norm(c - t.center)) / max(s, t.size)
                if d <= self.max_jump:
                    pairs.append((d, i, j))
        pairs.sort()
        ids: list[int | None] = [None] * len(landmarks)
        used: set[int] = set()
        for _, i, j in pairs:
            if ids[i] is None and j not in used:
                ids[i] = self._tracks[j].id
                used.add(j)
                t = self._tracks[j]
                t.center, t.size, t.missed = centers[i], sizes[i], 0
        for j, t in enumerate(self._tracks):
            if j not in used:
                t.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        taken = {t.id for t in self._tracks}
        for i in range(len(ids)):
            if ids[i] is None:
                new_id = next(k for k in range(len(taken) + 1) if k not in taken)
                taken.add(new_id)
                self._tracks.append(_Track(new_id, centers[i], sizes[i]))
                ids[i] = new_id
        return [int(i) for i in ids if i is not None]
