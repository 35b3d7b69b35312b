"""Face detection on real footage: the right number of faces, no phantom faces tracked in the background."""

from __future__ import annotations

from tests.conftest import need_file
from tryon.perception import Perception, PerceptionOptions
from tryon.sources import open_source


def test_no_phantom_face_is_tracked_in_a_blurred_background(shared_data):
    # source_s18 has one woman in front of a blurred room; at detection confidence 0.5 the detector locked on to
    # a background shape and face mesh tracked it as a second face for a fifth of the clip.
    counts = []
    with (
        open_source(need_file(shared_data / "videos" / "source_s18.mp4")) as src,
        Perception(PerceptionOptions(mode="video", person_mask=False)) as perception,
    ):
        for frame, _ in zip(src, range(150)):
            counts.append(len(perception(frame.image, person=False).landmarks))
    assert len(counts) == 150
    assert set(counts) == {1}


def test_every_face_of_a_four_person_tile_is_found(shared_data):
    from tryon.bench import tile_photos

    names = ("driving_d8", "driving_d9", "driving_d19", "driving_d30")
    frame = tile_photos([need_file(shared_data / "faces" / f"liveportrait_{n}.jpg") for n in names], (1280, 720))
    with Perception(PerceptionOptions(mode="image", person_mask=False)) as perception:
        faces = perception(frame, person=False).landmarks
    assert len(faces) == 4
    centres = sorted((int(f[:, 0].mean() // 640), int(f[:, 1].mean() // 360)) for f in faces)
    assert centres == [(0, 0), (0, 1), (1, 0), (1, 1)]  # one per tile
