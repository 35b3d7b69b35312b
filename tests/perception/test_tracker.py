from __future__ import annotations

import numpy as np

from tryon.perception import FaceTracker


def face_at(x: float, y: float, size: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(int(x * 7 + y))
    pts = rng.uniform(-size / 2, size / 2, (478, 3)).astype(np.float32)
    pts[:, 0] += x
    pts[:, 1] += y
    return pts


def test_ids_follow_faces_that_move_and_swap_order():
    tracker = FaceTracker()
    assert tracker.assign((face_at(100, 100), face_at(400, 100))) == [0, 1]
    # Given the same two faces, moved a little and listed in the other order
    # Then each keeps its id
    assert tracker.assign((face_at(410, 105), face_at(110, 95))) == [1, 0]


def test_lost_face_frees_its_id_after_max_missed():
    tracker = FaceTracker(max_missed=2)
    tracker.assign((face_at(100, 100), face_at(400, 100)))
    for _ in range(3):
        assert tracker.assign((face_at(100, 100),)) == [0]
    # A new face far away takes the smallest free id
    assert tracker.assign((face_at(100, 100), face_at(700, 400))) == [0, 1]


def test_a_jump_larger_than_the_face_is_a_new_face():
    tracker = FaceTracker()
    tracker.assign((face_at(100, 100),))
    assert tracker.assign((face_at(900, 600),)) == [1]


def test_faces_keep_their_ids_when_the_stream_changes_resolution():
    tracker = FaceTracker()
    assert tracker.assign((face_at(200, 150), face_at(500, 150))) == [0, 1]
    # The same view at twice the size: in pixels both faces moved further than their own size
    tracker.rescale((480, 640), (960, 1280))
    assert tracker.assign((face_at(1000, 300, 200), face_at(400, 300, 200))) == [1, 0]


def test_reset_forgets_every_face():
    tracker = FaceTracker()
    tracker.assign((face_at(100, 100), face_at(400, 100)))
    tracker.reset()
    assert tracker.assign((face_at(400, 100),)) == [0]
