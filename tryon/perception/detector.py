"""MediaPipe face mesh and selfie segmentation behind one small, typed object.

MediaPipe ``0.10.21`` ships these models inside its wheel, so nothing is downloaded.

Selfie segmentation is made for one person close to the camera. On photos (``mode="image"``) the person mask is
sharpened: both selfie models (general and landscape) run over the frame, the full-range face detector finds every
face, and each person is segmented again in a body-sized crop below their face (where they fill the model's input),
overlapping crops averaged; people whose face was not found (seen from behind) keep the whole frame's mask.

Face mesh's own detector is short-range (faces within about 2 m, 128 px over the whole frame), so on group and
full-body photos it misses most faces. In image mode the full-range detector's faces that face mesh did not find
are meshed again in an upscaled square crop around each, and their landmarks mapped back to the frame.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Optional

import cv2
import numpy as np

from tryon.errors import DependencyError, InputError
from tryon.geometry import Box, pixel_points

__all__ = ["HEAD_KEYPOINTS", "Perception", "PerceptionOptions", "PerceptionResult", "eye_to_mouth"]

log = logging.getLogger(__name__)

Mode = Literal["image", "video"]

# The body below a face, in face-detector boxes (brows to chin, about 0.8 of a head; an adult stands 7.5 heads
# tall): from above the crown to the feet, and the arms' reach either side of the face's centre.
_BODY_ABOVE, _BODY_BELOW, _BODY_ACROSS = 1.2, 10.0, 3.5

# A small face is meshed again in a square this many face-detector boxes wide, resized to this many pixels: the
# face fills 40% of it (as a selfie fills the short-range detector's input) and spans about 190 px, the landmark
# model's input.
_CROP_FACES, _CROP_PX = 2.5, 480

#: The most faces perception looks for (face mesh runs once per face).
MAX_FACES = 16

# Two faces are the same when their landmark boxes overlap by more than this (intersection over union).
_SAME_FACE_IOU = 0.3

# Video: a head without a mesh seen on the last frame is kept at this detector score near where it was, and for
# this many frames where the detector misses it.
_HEAD_KEEP_SCORE, _HEAD_HOLD_FRAMES = 0.4, 5


@dataclass(frozen=True)
class PerceptionOptions:
    """Options of :class:`Perception`.

    Attributes:
        mode: ``"video"`` tracks landmarks from frame to frame (streams); ``"image"`` detects afresh (photos).
        max_faces: the most faces to find per frame.
        person_mask: run selfie segmentation for the person/background mask.
        min_detection_confidence: face detector threshold. 0.65 keeps every face of the shared photos (99, and
            the four small faces of a 2x2 tile, one of which scores under 0.7) and stops the short-range detector
            from locking on to a blurred background shape in ``source_s18.mp4`` (tracked as a second face for 61
            of its 282 frames at 0.5, 56 at 0.6).
        min_tracking_confidence: below it, video mode re-detects.
        fine_person: the finer person mask of photos: both selfie models (general and landscape) over the frame, and
            each person segmented again in a body-sized crop below their face (found by the full-range face
            detector; a few milliseconds a person), for small, distant people. None: on in image mode, off in
            video mode (where, turned on, it runs at the person mask's cadence).
        small_faces: find the faces face mesh misses over the whole frame (small, distant faces of group and
            full-body photos): the full-range face detector's faces are meshed again in an upscaled crop each
            (about 8 ms a face, and 6 ms for the detector where the finer person mask does not run it already).
            Faces face mesh finds over the whole frame come first, in its order, then these, largest first, up to
            ``max_faces``. None: on in image mode, off in video mode (where, turned on, it runs every frame).
    """

    mode: Mode = "video"
    max_faces: int = 4
    person_mask: bool = True
    min_detection_confidence: float = 0.65
    min_tracking_confidence: float = 0.5
    fine_person: Optional[bool] = None
    small_faces: Optional[bool] = None

    def __post_init__(self) -> None:
        if self.mode not in ("image", "video"):
            raise InputError(f"perception mode must be 'image' or 'video', got {self.mode!r}")
        if not isinstance(self.max_faces, int) or not 1 <= self.max_faces <= MAX_FACES:
            raise InputError(f"max_faces must be an integer in 1..{MAX_FACES}, got {self.max_faces!r}")
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise InputError(f"{name} must be in [0, 1], got {value!r}")

    @property
    def fine(self) -> bool:
        """Whether the finer person mask is built (``fine_person``, by default in image mode)."""
        return self.person_mask and (self.fine_person if self.fine_person is not None else self.mode == "image")

    @property
    def small(self) -> bool:
        """Whether faces face mesh misses are looked for in crops (``small_faces``, by default in image mode)."""
        return self.small_faces if self.small_faces is not None else self.mode == "image"


@dataclass(frozen=True)
class PerceptionResult:
    """Raw perception of one frame.

    Attributes:
        landmarks: one ``478x3`` float32 array per face, in pixels (z scaled like x).
        person: ``HxW`` float32 person probability in [0, 1], or None.
        heads: faces the full-range detector found and face mesh could not mesh, even in a crop (profiles, faces
            turned away): the detector's six keypoints each, a ``6x2`` float32 pixel array in
            :data:`HEAD_KEYPOINTS` order. No face classes come from them; the body classes place a head there.
            Looked for in image mode; in video mode on frames with no face meshed where asked (``heads``; the
            pipeline asks when the look reads the body classes), held steady from frame to frame (the detector
            then costs about 6 ms a 720p frame on 2 cores).
    """

    landmarks: tuple[np.ndarray, ...]
    person: np.ndarray | None
    heads: tuple[np.ndarray, ...] = ()


def _solutions() -> Any:
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
        raise DependencyError('mediapipe is missing: pip install "mediapipe==0.10.21"') from exc
    _reuse_output_types()
    return mp.solutions


#: Marks tryon's own MediaPipe calls on each thread (see :func:`_process`) and holds that thread's result types.
_reuse = threading.local()


def _process(solution: Any, image: np.ndarray) -> Any:
    """``solution.process(image)`` with its result type reused: read the result before this thread's next call.

    MediaPipe returns the result *class* with the outputs set on it, so a reused type holds only the latest call's
    outputs. Reuse is confined to these calls and to one thread: other threads' calls, and anyone else's use of
    MediaPipe's solutions in the process, get a class of their own per result, as before.
    """
    _reuse.on = True
    try:
        return solution.process(image)
    finally:
        _reuse.on = False


class _ReusedNamedTuples:
    """Stands in for the ``collections`` module inside MediaPipe's ``solution_base`` (see :func:`_process`)."""

    @staticmethod
    def namedtuple(typename: str, field_names: Any, **kwargs: Any) -> type:
        if kwargs or not getattr(_reuse, "on", False):
            return collections.namedtuple(typename, field_names, **kwargs)
        if isinstance(field_names, str):
            field_names = field_names.replace(",", " ").split()
        key = (typename, tuple(field_names))
        types: dict[tuple[str, tuple[str, ...]], type] = _reuse.__dict__.setdefault("types", {})
        made = types.get(key)
        if made is None:
            made = types[key] = collections.namedtuple(typename, key[1])
        return made


def _reuse_output_types() -> None:
    """Makes MediaPipe's solutions build their result type once instead of on every call.

    ``SolutionBase.process`` (mediapipe 0.10.21, the pinned version) defines a new namedtuple class for every
    frame's result, about 0.2 ms of interpreter time on the perception worker, while the render thread waits for
    the interpreter lock (measured: 1.8 % of the live loop's frame time). The module's only use of ``collections``
    is that call; the classes it gets are the same namedtuples, built once per set of fields and thread, for
    tryon's own calls only (:func:`_process`).
    """
    from mediapipe.python import solution_base

    if getattr(solution_base, "collections", None) is collections:
        solution_base.collections = _ReusedNamedTuples


def _segment(segmenter: Any, rgb: np.ndarray) -> np.ndarray:
    """A selfie segmenter's person probability over an RGB image (float32, zeros if it gives none)."""
    mask = _process(segmenter, rgb).segmentation_mask
    return np.zeros(rgb.shape[:2], np.float32) if mask is None else np.asarray(mask, dtype=np.float32)


#: The face detector's keypoints, in the order of :attr:`PerceptionResult.heads` (MediaPipe's; "right" is the
#: subject's right).
HEAD_KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


class _Detected(NamedTuple):
    """A face the full-range detector found: its box ``(x, y, width, height)``, keypoints and score, in pixels."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float


def _detected(detection: Any, shape: tuple[int, int]) -> _Detected:
    """A MediaPipe face detection in pixels."""
    h, w = shape
    b = detection.location_data.relative_bounding_box
    points = pixel_points(np.array([(k.x, k.y) for k in detection.location_data.relative_keypoints], np.float32), shape)
    score = float(detection.score[0]) if len(detection.score) else 0.0
    return _Detected((b.xmin * w, b.ymin * h, b.width * w, b.height * h), points.reshape(-1, 2), score)


#: One serialised ``NormalizedLandmark`` of face mesh, as a ``LandmarkList`` holds it: the field tag and length,
#: then x, y and z, each a tag and a little-endian float (protobuf's wire format).
_LANDMARK_WIRE = np.dtype(
    [("tag", "u1"), ("size", "u1"), ("tx", "u1"), ("x", "<f4"), ("ty", "u1"), ("y", "<f4"), ("tz", "u1"), ("z", "<f4")]
)


def _landmark_array(face: Any) -> np.ndarray:
    """A ``NormalizedLandmarkList`` as an ``Nx3`` float32 array.

    Read from its serialised bytes when they have the layout face mesh writes (x, y, z and nothing else per point):
    six times faster than reading 478 points' attributes in Python, which holds the interpreter's lock the render
    thread needs. Anything else (a field added or missing) takes the attribute path.
    """
    raw = face.SerializeToString()
    count = len(face.landmark)
    if len(raw) == count * _LANDMARK_WIRE.itemsize:
        rec = np.frombuffer(raw, _LANDMARK_WIRE)
        if (
            (rec["tag"] == 0x0A).all()
            and (rec["size"] == 15).all()
            and (rec["tx"] == 0x0D).all()
            and (rec["ty"] == 0x15).all()
            and (rec["tz"] == 0x1D).all()
        ):
            return np.stack([rec["x"], rec["y"], rec["z"]], axis=1)
    return np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)


def _mesh_points(result: Any, shape: tuple[int, int]) -> list[np.ndarray]:
    """Face mesh's faces as ``478x3`` float32 pixel arrays (z scaled like x) in an image of ``shape``."""
    return [pixel_points(_landmark_array(face), shape) for face in result.multi_face_landmarks or ()]


def eye_to_mouth(keypoints: np.ndarray) -> float:
    """A head's scale: the eye-to-mouth distance of its keypoints (:data:`HEAD_KEYPOINTS` order), in their units."""
    return float(np.hypot(*(keypoints[3] - (keypoints[0] + keypoints[1]) / 2)))


def _crop_around(face: tuple[float, float, float, float]) -> np.ndarray:
    """The ``2x3`` affine map from the frame to the square crop a face detection is meshed again in."""
    x, y, w, h = face
    scale = _CROP_PX / (_CROP_FACES * max(w, h, 1.0))
    half = _CROP_PX / 2
    return np.array([[scale, 0.0, half - scale * (x + w / 2)], [0.0, scale, half - scale * (y + h / 2)]], np.float32)


def _iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    inter = a.intersect(b)
    overlap = inter.width * inter.height
    return overlap / max(a.width * a.height + b.width * b.height - overlap, 1)


def _holds(box: Box, face: tuple[float, float, float, float]) -> bool:
    """Whether a face detection's centre lies in ``box``."""
    cx, cy = face[0] + face[2] / 2, face[1] + face[3] / 2
    return box.x0 <= cx < box.x1 and box.y0 <= cy < box.y1


def _body_window(face: tuple[float, float, float, float], shape: tuple[int, int]) -> tuple[Box, Box]:
    """Where the body of a detected face's person may be, and the square around it that is segmented.

    The square context keeps the person's proportions in the segmenter's input, and shows it what is beside them.
    """
    x, y, w, h = face
    cx = x + w / 2
    body = Box(
        int(cx - _BODY_ACROSS * w), int(y - _BODY_ABOVE * h), int(cx + _BODY_ACROSS * w), int(y + _BODY_BELOW * h)
    ).clip(shape)
    side = max(body.width, body.height)
    x0 = min(max(0, (body.x0 + body.x1 - side) // 2), max(0, shape[1] - side))
    y0 = min(max(0, (body.y0 + body.y1 - side) // 2), max(0, shape[0] - side))
    return body, Box(x0, y0, x0 + side, y0 + side).clip(shape)


def _merge_people(frame_mask: np.ndarray, people: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """The per-person masks inside their body windows; elsewhere the frame's mask.

    Someone the crops found keeps the crops' verdict inside the windows, and the frame's mask beyond them (a raised
    arm, a long coat); a person none of the crops covers (seen from behind) keeps the frame's mask throughout.
    """
    n, comp = cv2.connectedComponents((frame_mask > 0.5).view(np.uint8))
    covered = np.zeros(n, bool)
    covered[np.unique(comp[people > 0.5])] = True
    covered[0] = True
    return np.where(covered[comp] & windows, people, frame_mask)


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
        # Crops are meshed afresh: by the frame's graph in image mode, by a graph of their own in video mode.
        self._crop_mesh = (
            self._mesh
            if not o.small or o.mode == "image"
            else solutions.face_mesh.FaceMesh(
                static_image_mode=True,
                max_num_faces=1,
                refine_landmarks=True,
                min_detection_confidence=o.min_detection_confidence,
            )
        )
        segmentation = solutions.selfie_segmentation.SelfieSegmentation
        self._segmenter = segmentation(model_selection=1) if o.person_mask else None
        self._general = segmentation(model_selection=0) if o.fine else None
        self._faces = solutions.face_detection.FaceDetection(model_selection=1) if o.fine or o.small else None
        self._heads: tuple[np.ndarray, ...] = ()  # video: the heads without a mesh of the last frame
        self._missed = 0  # frames since the detector last confirmed them
        self._closed = False

    def __call__(self, frame_bgr: np.ndarray, person: bool = True, heads: bool | None = None) -> PerceptionResult:
        """Perceives one BGR uint8 frame.

        Args:
            frame_bgr: the frame.
            person: run segmentation for this frame (the person mask).
            heads: where face mesh finds no face, look for :attr:`PerceptionResult.heads` (for the body classes);
                photos (``small_faces``) always do. None: as ``person``.
        """
        if self._closed:
            raise InputError("this Perception is closed")
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        o = self.options
        found = self._detect(rgb) if o.small or (person and o.fine) else []
        landmarks, unmeshed = self._landmarks(rgb, found if o.small else [])
        if (person if heads is None else heads) and not o.small:
            # No face meshed (a profile, a face turned away from the camera): its head still places the hair.
            if landmarks:
                self._heads, self._missed = (), 0
            else:
                unmeshed = self._track_heads(found if o.fine and person else self._detect(rgb))
        boxes = [f.box for f in found]
        return PerceptionResult(landmarks, self._person(rgb, boxes) if person else None, unmeshed)

    def _track_heads(self, found: list[_Detected]) -> tuple[np.ndarray, ...]:
        """The heads of a video frame without a mesh, held steady from frame to frame.

        The detector's score for a profile wavers about its threshold from frame to frame (0.60 to 0.83 on a still
        profile moved by a pixel or two): a head seen on the last frame is kept at a lower score near where it was,
        and for a few frames where the detector misses it, so the hair it places does not blink.
        """
        o = self.options
        last = self._heads

        def near_last(found: _Detected) -> bool:
            nose = found.keypoints[2]
            return any(np.hypot(*(nose - k[2])) < 2.0 * eye_to_mouth(k) for k in last)

        sure = [
            f.keypoints
            for f in found
            if f.score >= o.min_detection_confidence or (f.score >= _HEAD_KEEP_SCORE and near_last(f))
        ][: o.max_faces]
        if sure or self._missed >= _HEAD_HOLD_FRAMES:
            self._heads, self._missed = tuple(sure), 0
            return self._heads
        self._missed += 1
        return last

    def landmarks_rgb(self, rgb: np.ndarray) -> tuple[np.ndarray, ...]:
        """Face mesh alone on an RGB frame: one ``478x3`` pixel array per face (small faces too, where asked)."""
        return self._landmarks(rgb, self._detect(rgb) if self.options.small else [])[0]

    def person_rgb(self, rgb: np.ndarray) -> np.ndarray | None:
        """Selfie segmentation alone on an RGB frame (None when disabled); the finer mask where asked."""
        return self._person(rgb, [f.box for f in self._detect(rgb)] if self.options.fine else [])

    def _detect(self, rgb: np.ndarray) -> list[_Detected]:
        """The full-range face detector's faces (its graph made at the first call where options did not ask for it)."""
        if self._faces is None:
            self._faces = _solutions().face_detection.FaceDetection(model_selection=1)
        shape = (rgb.shape[0], rgb.shape[1])
        return [_detected(d, shape) for d in _process(self._faces, rgb).detections or ()]

    def _landmarks(
        self, rgb: np.ndarray, detected: list[_Detected]
    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Face mesh over the frame, then in a crop around each detected face it missed, up to ``max_faces``.

        Returns:
            The faces' landmarks, and the keypoints of the detected faces no mesh was found for (see
            :attr:`PerceptionResult.heads`; only those the detector is as sure of as a face mesh must be).
        """
        shape = (rgb.shape[0], rgb.shape[1])
        faces = _mesh_points(_process(self._mesh, rgb), shape)
        if not detected:
            return tuple(faces), ()
        heads: list[np.ndarray] = []
        boxes = [Box.around(f) for f in faces]
        for found in sorted(detected, key=lambda f: (-max(f.box[2], f.box[3]), f.box[0], f.box[1])):
            face = found.box
            if len(faces) >= self.options.max_faces:
                break
            if any(_holds(box, face) for box in boxes):
                continue
            points = self._mesh_crop(rgb, face)
            if points is None:
                if found.score >= self.options.min_detection_confidence:
                    heads.append(found.keypoints)
                continue
            box = Box.around(points)
            if all(_iou(box, other) <= _SAME_FACE_IOU for other in boxes):
                faces.append(points)
                boxes.append(box)
        return tuple(faces), tuple(heads)

    def _mesh_crop(self, rgb: np.ndarray, face: tuple[float, float, float, float]) -> np.ndarray | None:
        """Face mesh in an upscaled square crop around a detected face, in frame pixels; None if it finds none there.

        Of the faces found in the crop, the one nearest its centre is kept, if it holds the detection's centre.
        """
        to_crop = _crop_around(face)
        crop = cv2.warpAffine(rgb, to_crop, (_CROP_PX, _CROP_PX), flags=cv2.INTER_LINEAR)
        found = _mesh_points(_process(self._crop_mesh, crop), (_CROP_PX, _CROP_PX))
        if not found:
            return None
        points = min(found, key=lambda f: float(np.hypot(*(f[:, :2].mean(axis=0) - _CROP_PX / 2))))
        scale, shift = to_crop[0, 0], to_crop[:, 2]
        points[:, :2] = (points[:, :2] - shift) / scale
        points[:, 2] /= scale
        return points if _holds(Box.around(points), face) else None

    def _person(self, rgb: np.ndarray, faces: list[tuple[float, float, float, float]]) -> np.ndarray | None:
        """:meth:`person_rgb` with the frame's detected faces."""
        if self._segmenter is None:
            return None
        if self._general is None:
            mask = _process(self._segmenter, rgb).segmentation_mask
            return None if mask is None else np.asarray(mask, dtype=np.float32)
        whole = np.maximum(_segment(self._segmenter, rgb), _segment(self._general, rgb))
        if not faces:
            return whole
        people, count = self._people(rgb, faces)
        return _merge_people(whole, people, count > 0)

    def _people(self, rgb: np.ndarray, faces: list[tuple[float, float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Each face's person, segmented in a body-sized crop below the face, and how many crops cover each pixel.

        Where crops overlap their masks are averaged.
        """
        assert self._segmenter is not None
        total = np.zeros(rgb.shape[:2], np.float32)
        count = np.zeros(rgb.shape[:2], np.float32)
        shape = (rgb.shape[0], rgb.shape[1])
        for body, context in (_body_window(f, shape) for f in faces):
            if body.empty:
                continue
            mask = _segment(self._segmenter, np.ascontiguousarray(rgb[context.slices]))
            total[body.slices] += mask[body.relative_to(context).slices]
            count[body.slices] += 1.0
        return total / np.maximum(count, np.float32(1.0)), count

    def reset(self) -> None:
        """Forgets what video mode tracks from frame to frame (a new stream, or a cut); nothing to do for photos.

        Face mesh in video mode looks for each face where it was in the last frame; after a cut it would mesh the
        old place first.
        """
        if self._closed:
            raise InputError("this Perception is closed")
        self._heads, self._missed = (), 0
        if self.options.mode == "video":
            self._mesh.reset()
            if self._segmenter is not None:  # a fresh run, as for a new stream (it keeps no state today)
                self._segmenter.reset()

    def close(self) -> None:
        """Releases the MediaPipe graphs; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._mesh.close()
        if self._crop_mesh is not self._mesh:
            self._crop_mesh.close()
        for graph in (self._segmenter, self._general, self._faces):
            if graph is not None:
                graph.close()

    def __enter__(self) -> Perception:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
