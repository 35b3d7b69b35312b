"""Model inference off the render path: a background worker, and body masks carried forward by the face's motion.

In video, a body model (tens of milliseconds) must not stall the frame loop. :class:`LatestWorker` runs one job at
a time on a thread (onnxruntime and the TFLite interpreter release the GIL while they run): a job submitted while
another is in flight waits in a single slot that the next submission replaces, so the model always works on the
newest frame and never falls behind. The frame loop takes the latest finished result whenever it wants one.

That result belongs to an older frame. :func:`face_motion` measures how the faces moved since (a similarity
transform fitted to the landmarks of the faces seen in both frames) and :func:`warp_mask` carries each body mask
along, so the hair stays on the head while the model catches up.

Example:
    >>> worker = LatestWorker(lambda x: x * 2, name="double")
    >>> worker.submit(21)
    >>> worker.wait()
    True
    >>> worker.latest()
    42
    >>> worker.close()
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, Optional, TypeVar

import cv2
import numpy as np

from tryon.geometry import Box, RoiMask, nearest_centre

__all__ = ["LatestWorker", "carry_masks", "face_motion", "is_still", "warp_mask"]

log = logging.getLogger(__name__)

Job = TypeVar("Job")
Result = TypeVar("Result")

#: A motion whose every corner of a 2000-pixel frame moves less than this many pixels counts as no motion.
_STILL_PX = 0.25


#: Workers not yet closed: they are closed at exit, before the interpreter tears down what their jobs run on.
_LIVE: weakref.WeakSet[LatestWorker] = weakref.WeakSet()


@atexit.register
def _close_live_workers() -> None:
    """Closes every worker still running, at exit.

    A daemon thread still inside a native runtime (onnxruntime, TFLite) while the interpreter finalizes aborts the
    process ("terminate called without an active exception"): a script that ends without closing its pipeline
    would exit with SIGABRT.
    """
    for worker in list(_LIVE):
        worker.close()


class LatestWorker(Generic[Job, Result]):
    """Runs ``work(job)`` on a background thread, one job at a time, always on the newest job submitted.

    Args:
        work: what to run; it is only ever called from the worker thread, one call at a time.
        name: the thread's name (for logs and debuggers).

    An exception raised by ``work`` is re-raised by the next :meth:`latest` or :meth:`wait` call, on the caller's
    thread. :meth:`close` joins the thread.
    """

    def __init__(self, work: Callable[[Job], Result], name: str = "tryon-model") -> None:
        self._work = work
        self._cond = threading.Condition()
        self._pending: Optional[tuple[Job]] = None
        self._busy = False
        self._result: Optional[tuple[Result]] = None
        self._error: Optional[BaseException] = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def submit(self, job: Job) -> None:
        """Queues ``job``, replacing a queued one that has not started (the one in flight finishes)."""
        with self._cond:
            if self._stop:
                raise RuntimeError("the worker is closed")
            self._pending = (job,)
            self._cond.notify_all()

    @property
    def idle(self) -> bool:
        """Whether no job is queued or running."""
        with self._cond:
            return self._pending is None and not self._busy

    def latest(self) -> Optional[Result]:
        """The result of the last job that finished (None before the first), re-raising the worker's error."""
        with self._cond:
            self._raise()
            return None if self._result is None else self._result[0]

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until every submitted job has finished; False when ``timeout`` seconds passed first."""
        with self._cond:
            done = self._cond.wait_for(lambda: (self._pending is None and not self._busy) or self._stop, timeout)
            self._raise()
            return done

    def clear(self) -> None:
        """Drops the queued job and, once the one in flight has finished, its result and any stored error."""
        with self._cond:
            self._pending = None
            self._cond.wait_for(lambda: not self._busy)
            self._result = None
            self._error = None

    def close(self) -> None:
        """Drops the queued job, lets the one in flight finish and joins the thread; safe to call twice."""
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._stop)
                if self._stop:
                    return
                assert self._pending is not None
                (job,), self._pending = self._pending, None
                self._busy = True
            try:
                result: Optional[tuple[Result]] = (self._work(job),)
                error = None
            except BaseException as exc:  # handed to the caller's thread
                log.debug("worker job failed: %r", exc)
                result, error = None, exc
            with self._cond:
                if result is not None:
                    self._result = result
                else:
                    self._error = error
                self._busy = False
                self._cond.notify_all()


def face_motion(before: Mapping[int, np.ndarray], after: Mapping[int, np.ndarray]) -> Optional[np.ndarray]:
    """The similarity transform (2x3) that takes the faces' landmarks in one frame to another.

    Fitted over the landmarks of every face present in both frames (matched by face id), robustly (least median of
    squares: a mouth opening or a blink does not pull it).

    Args:
        before: face id to ``Nx2`` landmark pixels in the earlier frame.
        after: the same in the later frame.

    Returns:
        The 2x3 float64 matrix, or None when no face is in both frames (or the fit fails).
    """
    ids = [i for i in before if i in after and len(before[i]) == len(after[i])]
    if not ids:
        return None
    src = np.concatenate([np.asarray(before[i], np.float32).reshape(-1, 2) for i in ids])
    dst = np.concatenate([np.asarray(after[i], np.float32).reshape(-1, 2) for i in ids])
    if len(src) < 2:
        return None
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    return None if matrix is None else np.asarray(matrix, np.float64)


def is_still(matrix: Optional[np.ndarray]) -> bool:
    """Whether a motion from :func:`face_motion` moves nothing visibly (or is None)."""
    if matrix is None:
        return True
    linear = matrix[:, :2] - np.eye(2)
    return bool(np.abs(matrix[:, 2]).max() < _STILL_PX and np.abs(linear).max() * 2000.0 < _STILL_PX)


def warp_mask(mask: RoiMask, matrix: np.ndarray, shape: tuple[int, int]) -> RoiMask:
    """``mask`` moved by the 2x3 affine ``matrix`` (frame pixels), clipped to the frame ``shape``.

    Only the mask's box is warped, into the box its corners land in. A motion that is a translation to within half
    a pixel over the box just moves the box by whole pixels (no resampling).
    """
    if mask.box.empty:
        return mask
    b = mask.box
    if np.abs(matrix[:, :2] - np.eye(2)).max() * max(b.width, b.height) < 0.5:
        dx, dy = (round(float(v)) for v in matrix[:, 2])
        moved = Box(b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy)
        inside = moved.clip(shape)
        if inside.empty:
            return RoiMask.empty_at(Box(0, 0, 0, 0))
        return RoiMask(inside, mask.alpha[inside.relative_to(moved).slices])
    corners = np.array([[b.x0, b.y0, 1.0], [b.x1, b.y0, 1.0], [b.x0, b.y1, 1.0], [b.x1, b.y1, 1.0]]) @ matrix.T
    out = Box.around(corners, pad=1.0, shape=shape)
    if out.empty:
        return RoiMask.empty_at(Box(0, 0, 0, 0))
    local = matrix.copy()
    local[:, 2] += matrix[:, :2] @ np.array([b.x0, b.y0], np.float64) - np.array([out.x0, out.y0], np.float64)
    alpha = cv2.warpAffine(
        mask.alpha, local, (out.width, out.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return RoiMask(out, alpha)


#: Two faces' motions that disagree by more than this many pixels (at the faces' scale) are carried separately.
_AGREE_PX = 1.0


def carry_masks(
    before: Mapping[int, np.ndarray],
    after: Mapping[int, np.ndarray],
    masks: Sequence[RoiMask],
    shape: tuple[int, int],
) -> Optional[list[RoiMask]]:
    """Body masks of an earlier frame moved as each person moved since, or None when nobody is left to follow.

    With one face (or several moving together) the masks follow that one motion. When faces move differently,
    each mask is split between the people by nearest face (in the earlier frame) and each part follows its own
    face's motion, so a still person's hair stays put while their neighbour walks; the part of someone who has
    left is dropped.

    Args:
        before: face id to ``Nx2`` landmark pixels in the masks' frame.
        after: the same in the current frame.
        masks: the masks, in frame pixels.
        shape: the frame's ``(height, width)``.

    Returns:
        The moved masks in the same order, or None when no face of the earlier frame is in the current one.
    """
    motions = {i: m for i in before if (m := face_motion({i: before[i]}, after)) is not None}
    if not motions:
        return None
    centres = {i: np.asarray(before[i], np.float64).reshape(-1, 2).mean(axis=0) for i in before}
    if len(before) == 1 or _agree(motions, before):
        motion = next(iter(motions.values())) if len(motions) == 1 else face_motion(before, after)
        if motion is None or is_still(motion):
            return list(masks)
        return [warp_mask(mask, motion, shape) for mask in masks]
    return [_carry_split(mask, centres, motions, shape) for mask in masks]


def _agree(motions: Mapping[int, np.ndarray], before: Mapping[int, np.ndarray]) -> bool:
    """Whether every face's motion, applied to every face's landmarks, lands within :data:`_AGREE_PX` of the others.

    A face that left (no motion) disagrees with everyone who stayed.
    """
    if len(motions) != len(before):
        return False
    points = np.concatenate([np.asarray(p, np.float64).reshape(-1, 2) for p in before.values()])
    homogeneous = np.hstack([points, np.ones((len(points), 1))])
    moved = [homogeneous @ m.T for m in motions.values()]
    return all(float(np.abs(m - moved[0]).max()) <= _AGREE_PX for m in moved[1:])


def _carry_split(
    mask: RoiMask, centres: Mapping[int, np.ndarray], motions: Mapping[int, np.ndarray], shape: tuple[int, int]
) -> RoiMask:
    """``mask`` split by nearest face centre, each part moved by its face's motion (faces without one dropped)."""
    if mask.box.empty:
        return mask
    b = mask.box
    ids = list(centres)
    nearest = nearest_centre(b, [centres[i] for i in ids])
    parts = []
    for k, face_id in enumerate(ids):
        motion = motions.get(face_id)
        part = np.where(nearest == k, mask.alpha, 0).astype(np.uint8)
        if motion is not None and part.any():
            parts.append(warp_mask(RoiMask(b, part), motion, shape))
    parts = [p for p in parts if not p.box.empty]
    if not parts:
        return RoiMask.empty_at(b)
    box = parts[0].box
    for p in parts[1:]:
        box = box.union(p.box)
    out = np.zeros((box.height, box.width), np.uint8)  # only where the moved parts land, not the whole frame
    for p in parts:
        view = out[p.box.relative_to(box).slices]
        np.maximum(view, p.alpha, out=view)
    return RoiMask(box, out).tight()
