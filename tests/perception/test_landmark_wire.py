from __future__ import annotations

import threading

import cv2
import numpy as np
from mediapipe.framework.formats import landmark_pb2

from tests.conftest import need_file
from tryon.image import read_image
from tryon.perception import detector
from tryon.perception.detector import Perception, PerceptionOptions, _landmark_array


def _landmarks(points: np.ndarray, visibility: bool = False) -> landmark_pb2.NormalizedLandmarkList:
    out = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in points.tolist():
        p = out.landmark.add(x=x, y=y, z=z)
        if visibility:
            p.visibility = 0.5
    return out


def test_landmarks_read_from_their_bytes_equal_the_attributes():
    points = np.random.default_rng(3).normal(0.5, 0.3, (478, 3)).astype(np.float32)
    points[0] = 0.0  # zeros are written too (proto2 optional fields)
    got = _landmark_array(_landmarks(points))
    assert got.dtype == np.float32 and got.shape == (478, 3)
    np.testing.assert_array_equal(got, points)


def test_the_bytes_path_is_taken_for_face_mesh_s_layout():
    class BytesOnly:  # no point attributes to read: only the bytes path can answer
        def __init__(self, proto: landmark_pb2.NormalizedLandmarkList) -> None:
            self._proto = proto
            self.landmark = [None] * len(proto.landmark)

        def SerializeToString(self) -> bytes:
            return self._proto.SerializeToString()

    points = np.random.default_rng(5).random((478, 3)).astype(np.float32)
    np.testing.assert_array_equal(detector._landmark_array(BytesOnly(_landmarks(points))), points)


def test_another_layout_falls_back_to_the_attributes():
    points = np.random.default_rng(4).random((478, 3)).astype(np.float32)
    np.testing.assert_array_equal(_landmark_array(_landmarks(points, visibility=True)), points)
    assert _landmark_array(landmark_pb2.NormalizedLandmarkList()).shape[0] == 0


def test_mediapipe_results_reuse_one_type_per_set_of_fields(shared_data):
    from mediapipe.python import solution_base

    from tryon.perception.detector import _process, _ReusedNamedTuples

    image = read_image(need_file(shared_data / "faces" / "deepface_img12.jpg"))
    with Perception(PerceptionOptions(mode="image")) as perception:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        blank = np.zeros_like(rgb)
        assert perception.landmarks_rgb(rgb)
        assert solution_base.collections is _ReusedNamedTuples
        first = _process(perception._mesh, rgb)
        assert first._fields == ("multi_face_landmarks",) and first.multi_face_landmarks is not None
        assert _process(perception._mesh, rgb) is first  # tryon's calls on one thread: one type
        other: list[object] = []
        worker = threading.Thread(target=lambda: other.append(_process(perception._mesh, rgb)))
        worker.start()
        worker.join()
        assert other[0] is not first  # another thread's calls: a type of their own
        # Anyone else's calls (an app using MediaPipe itself) keep a result of their own, as MediaPipe made them.
        mine = perception._mesh.process(rgb)
        empty = perception._mesh.process(blank)
        assert mine is not empty and mine is not first
        assert mine.multi_face_landmarks is not None and empty.multi_face_landmarks is None
