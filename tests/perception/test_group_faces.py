"""Small faces of group and full-body photos: found by the full-range detector, meshed again in upscaled crops."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import need_file
from tryon.perception import Perception, PerceptionOptions

CIHP_FACE = 13  # the face class of CIHP's labels


def _landmarks(frame: np.ndarray, **options: object) -> tuple[np.ndarray, ...]:
    with Perception(PerceptionOptions(person_mask=False, **options)) as perception:  # type: ignore[arg-type]
        return perception(frame, person=False).landmarks


def _cihp(shared_data: Path, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """A CIHP photo, its labelled faces as connected components, and how many there are."""
    root = shared_data / "cihp-samples"
    frame = cv2.imread(str(need_file(root / "images" / f"{name}.jpg")))
    label = cv2.imread(str(need_file(root / "labels" / f"{name}.png")), cv2.IMREAD_UNCHANGED)
    count, components = cv2.connectedComponents((label == CIHP_FACE).astype(np.uint8))
    return frame, components, count - 1


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    (ax0, ay0), (ax1, ay1) = a[:, :2].min(axis=0), a[:, :2].max(axis=0)
    (bx0, by0), (bx1, by1) = b[:, :2].min(axis=0), b[:, :2].max(axis=0)
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    return float(inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter))


@pytest.mark.parametrize("name", ["0005008", "0012008"])
def test_every_labelled_face_of_a_group_photo_gets_its_own_mesh(shared_data, name):
    # Faces 20 to 35 px wide: face mesh over the whole frame finds none of them.
    frame, components, labelled = _cihp(shared_data, name)
    assert labelled >= 3
    assert _landmarks(frame, mode="image", max_faces=8, small_faces=False) == ()
    faces = _landmarks(frame, mode="image", max_faces=8)
    assert len(faces) == labelled
    h, w = components.shape
    worn = []
    for face in faces:
        assert face.shape == (478, 3) and face.dtype == np.float32
        x = np.clip(np.round(face[:468, 0]).astype(int), 0, w - 1)
        y = np.clip(np.round(face[:468, 1]).astype(int), 0, h - 1)
        on = components[y, x]
        component = int(np.bincount(on).argmax())
        assert component > 0
        assert np.mean(on == component) >= 0.85  # the mesh lies on that face, not beside it
        worn.append(component)
    assert sorted(worn) == list(range(1, labelled + 1))  # each labelled face once


def test_max_faces_still_caps_the_faces_and_keeps_the_same_first_ones(shared_data):
    frame, _, labelled = _cihp(shared_data, "0005008")
    many = _landmarks(frame, mode="image", max_faces=8)
    few = _landmarks(frame, mode="image", max_faces=4)
    assert len(many) == labelled > 4 and len(few) == 4
    for a, b in zip(few, many):
        np.testing.assert_allclose(a, b, atol=1e-3)  # image-mode ids stay put whatever the cap


def test_faces_found_over_the_whole_frame_come_first_unchanged(shared_data):
    frame = cv2.imread(str(need_file(shared_data / "faces" / "deepface_selfie-many-people.jpg")))
    whole = _landmarks(frame, mode="image", max_faces=8, small_faces=False)
    faces = _landmarks(frame, mode="image", max_faces=8)
    assert len(faces) > len(whole) >= 3
    for a, b in zip(whole, faces):
        np.testing.assert_array_equal(a, b)
    for i, a in enumerate(faces):
        for b in faces[i + 1 :]:
            assert _box_iou(a, b) < 0.1  # no face twice


@pytest.mark.parametrize("name", ["ootd_model_8.png", "ootd_model_9.png"])
def test_the_face_of_a_full_body_photo_is_found(shared_data, name):
    # One standing model, head at the top centre: her face is too small for face mesh's short-range detector.
    frame = cv2.imread(str(need_file(shared_data / "people" / name)))
    h, w = frame.shape[:2]
    assert _landmarks(frame, mode="image", small_faces=False) == ()
    faces = _landmarks(frame, mode="image")
    assert len(faces) == 1
    eyes_nose = faces[0][[468, 473, 1], :2]
    assert np.all(eyes_nose[:, 1] < 0.2 * h)
    assert np.all((eyes_nose[:, 0] > w / 3) & (eyes_nose[:, 0] < 2 * w / 3))
    assert eyes_nose[0, 0] < eyes_nose[1, 0] < eyes_nose[0, 0] + 0.1 * w  # iris 468 on the image's left, near 473


@pytest.mark.parametrize("name", ["deepface_couple.jpg", "liveportrait_source_s2.jpg", "deepface_img12.jpg"])
def test_photos_whose_faces_face_mesh_finds_are_unchanged(shared_data, name):
    frame = cv2.imread(str(need_file(shared_data / "faces" / name)))
    whole = _landmarks(frame, mode="image", small_faces=False)
    faces = _landmarks(frame, mode="image")
    assert len(whole) >= 1 and len(faces) == len(whole)
    for a, b in zip(whole, faces):
        np.testing.assert_array_equal(a, b)


def test_small_faces_are_looked_for_only_when_asked(shared_data):
    assert PerceptionOptions(mode="image").small and not PerceptionOptions(mode="video").small
    assert not PerceptionOptions(mode="image", small_faces=False).small
    frame, _, labelled = _cihp(shared_data, "0005008")
    assert _landmarks(frame, mode="video", max_faces=8) == ()
    assert len(_landmarks(frame, mode="video", max_faces=8, small_faces=True)) == labelled
    # The finer person mask detects the same faces; they are not meshed unless asked.
    with Perception(PerceptionOptions(mode="image", max_faces=8, small_faces=False)) as perception:
        result = perception(frame)
    assert result.landmarks == () and result.person is not None


def test_a_profile_face_mesh_cannot_mesh_is_kept_as_a_head(shared_data):
    # Given a woman in profile, looking up (face mesh finds no face there, even in the upscaled crop)
    from tryon.evaluation import read_label

    root = shared_data / "skin-clothes-hair"
    frame = cv2.imread(str(need_file(root / "images" / "0.png")))
    label = read_label(need_file(root / "labels" / "0.png"))
    with Perception(PerceptionOptions(mode="image")) as perception:
        result = perception(frame)
    assert result.landmarks == ()
    # Then the detector's keypoints come as a head: the eyes and mouth on her labelled skin, the ear beside them
    assert len(result.heads) == 1
    head = result.heads[0]
    assert head.shape == (6, 2) and head.dtype == np.float32
    # (within 5 pixels: the labels are rough, and a profile's nose tip is on the outline they follow)
    off_skin = cv2.distanceTransform((label != 1).view(np.uint8), cv2.DIST_L2, 5)
    for name, (x, y) in zip(("right_eye", "left_eye", "nose_tip", "mouth"), head[:4]):
        assert off_skin[round(y), round(x)] <= 5.0, name
    # And video finds the same head on a frame without a mesh when asked (for the body classes), not otherwise
    with Perception(PerceptionOptions(mode="video")) as perception:
        found = perception(frame, heads=True).heads
        assert len(found) == 1 and np.abs(found[0] - head).max() < 1.0
        assert perception(frame, person=False).heads == ()
        assert perception(frame, heads=False).heads == ()
    # And photos whose faces are meshed have none
    with Perception(PerceptionOptions(mode="image")) as perception:
        photo = cv2.imread(str(need_file(shared_data / "faces" / "deepface_img12.jpg")))
        assert len(perception(photo).landmarks) == 1 and perception(photo).heads == ()
