"""Fusion of the landmark faces with a body model, and the model parser's cadence in video."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, need_file
from tests.parsing.model_helpers import FakeBackend
from tryon.errors import InputError, ModelError
from tryon.geometry import Box, RoiMask
from tryon.image import read_image
from tryon.parsing import fusion
from tryon.parsing.classes import BODY_CLASSES, class_index
from tryon.parsing.frame_parse import Face, FrameParse
from tryon.parsing.fusion import FusionOptions, ModelFrameParser, fuse, person_windows
from tryon.parsing.model_worker import LatestWorker, carry_masks, face_motion, warp_mask
from tryon.parsing.parser import LandmarkFrameParser, ParserOptions
from tryon.perception import Perception, PerceptionOptions, PerceptionResult
from tryon.perception import topology as tp

SKIN = ("face_skin", "neck", "body_skin")
PHOTO = "liveportrait_source_s2.jpg"


@pytest.fixture(scope="module")
def portrait(shared_data: Path) -> tuple[np.ndarray, PerceptionResult, FrameParse]:
    """A real portrait, its perception, and its faces (no body classes)."""
    frame = read_image(need_file(shared_data / "faces" / PHOTO))
    with Perception(PerceptionOptions(mode="image", max_faces=1)) as perception:
        result = perception(frame)
    assert len(result.landmarks) == 1, f"one face expected in {PHOTO}"
    faces = LandmarkFrameParser(ParserOptions(body=False)).parse(frame, result)
    return frame, result, faces


def _const(shape: tuple[int, int], **values: float) -> FakeBackend:
    """A backend whose classes have the same probability everywhere (``skin`` is the face+neck+body union)."""
    planes = {(SKIN if k == "skin" else k): np.full((16, 16), v, np.float32) for k, v in values.items()}
    return FakeBackend(planes)


def _masks(frame, faces, backend, person=None, **options):
    probs = backend.predict(frame)
    return {k: m.full(frame.shape[:2]) for k, m in fuse(frame, faces, probs, person, FusionOptions(**options)).items()}


def _point(face, index: int) -> tuple[int, int]:
    x, y = face.points[index]
    return round(float(y)), round(float(x))


@pytest.mark.shared
def test_fused_masks_are_a_partition_that_leaves_the_face_to_the_face_classes(portrait):
    # Given a model that says hair, skin and clothes everywhere with some confidence
    frame, _, parse = portrait
    face = parse.faces[0]
    masks = _masks(frame, parse.faces, _const(frame.shape[:2], hair=0.6, skin=0.7, clothes=0.5))
    # Then the body classes add up to at most one
    total = sum(m.astype(np.int32) for m in masks.values())
    assert total.max() <= 255 + len(masks)  # each mask rounds on its own
    # And none of them reaches one half where a face class does
    face_area = np.zeros(frame.shape[:2], np.uint8)
    for name, mask in face.masks.items():
        if name in ("face_skin", "nose", "upper_lip", "lower_lip", "left_eye", "right_eye"):
            mask.paste_max(face_area)
    for name, mask in masks.items():
        assert np.count_nonzero((mask >= 128) & (face_area >= 128)) == 0, name


@pytest.mark.shared
def test_sure_hair_wins_over_the_forehead_but_never_over_the_lower_face(portrait):
    frame, _, parse = portrait
    face = parse.faces[0]
    forehead = _point(face, tp.FOREHEAD)
    forehead = (forehead[0] + int(0.05 * face.box.height), forehead[1])  # inside the face skin
    cheek = _point(face, tp.RIGHT_CHEEK_CENTER)
    assert face.mask("face_skin").full(frame.shape[:2])[forehead] >= 128
    sure = _masks(frame, parse.faces, _const(frame.shape[:2], hair=1.0))["hair"]
    unsure = _masks(frame, parse.faces, _const(frame.shape[:2], hair=0.6))["hair"]
    assert sure[forehead] >= 128  # bangs
    assert unsure[forehead] < 128
    assert sure[cheek] == 0
    # Even where the face classes leave the lower face out (a beard), it is not hair
    bare = (dataclasses.replace(face, masks={}),)
    beard = _masks(frame, bare, _const(frame.shape[:2], hair=1.0))["hair"]
    assert beard[cheek] == 0 and beard[_point(face, tp.CHIN)] < 128
    assert beard[forehead] >= 128


@pytest.mark.shared
def test_skin_below_the_jaw_is_neck_and_lower_down_body_skin(portrait):
    frame, _, parse = portrait
    face = parse.faces[0]
    masks = _masks(frame, parse.faces, _const(frame.shape[:2], skin=1.0), skin_colour=False)
    chin_y, chin_x = _point(face, tp.CHIN)
    height = face.points[tp.CHIN, 1] - face.points[tp.FOREHEAD, 1]
    below_chin = (chin_y + int(0.15 * height), chin_x)
    far_below = (min(frame.shape[0] - 1, chin_y + int(0.9 * height)), chin_x)
    beside_head = (chin_y - int(0.5 * height), max(0, int(face.box.x0 - 0.3 * face.box.width)))
    assert masks["neck"][below_chin] >= 128 and masks["body_skin"][below_chin] < 128
    if far_below[0] > below_chin[0] + 10:
        assert masks["body_skin"][far_below] >= 128 and masks["neck"][far_below] < 128
    assert masks["neck"][beside_head] < 128


@pytest.mark.shared
def test_a_model_neck_channel_is_taken_at_its_word(portrait):
    frame, _, parse = portrait
    h, w = frame.shape[:2]
    neck = np.zeros((16, 16), np.float32)
    neck[:, :8] = 1.0
    backend = FakeBackend({"neck": neck, "body_skin": 1.0 - neck}, exclusive=True)
    masks = _masks(frame, parse.faces, backend, skin_colour=False, refine_radius=0)
    bottom = h - 2
    assert masks["neck"][bottom, w // 8] >= 128 and masks["body_skin"][bottom, w // 8] < 128
    assert masks["body_skin"][bottom, 7 * w // 8] >= 128 and masks["neck"][bottom, 7 * w // 8] < 128


@pytest.mark.shared
def test_the_person_mask_clips_the_classes_and_unclaimed_person_below_the_face_is_clothes(portrait):
    frame, _, parse = portrait
    h, w = frame.shape[:2]
    face = parse.faces[0]
    person = np.zeros((h, w), np.float32)
    person[:, : w // 2] = 1.0
    clipped = _masks(frame, parse.faces, _const((h, w), clothes=1.0), person, clothes_fill=False)["clothes"]
    assert clipped[:, w // 2 + 8 :].max() == 0
    assert clipped[h - 2, w // 4] >= 128
    # Given a model that claims nothing, the person below the chin becomes clothes, above it nothing does
    filled = _masks(frame, parse.faces, _const((h, w), hair=0.0), person)["clothes"]
    chin_y = face.points[tp.CHIN, 1]
    height = chin_y - face.points[tp.FOREHEAD, 1]
    assert filled[h - 2, w // 4] >= 128
    assert filled[: int(chin_y - 0.1 * height), :].max() == 0


@pytest.mark.shared
def test_the_guided_filter_moves_hair_edges_onto_the_image_edges(portrait):
    # Given dark hair against a bright wall with a sharp edge, and a coarse model (one pixel = 1/16 of the frame)
    h, w = 256, 256
    frame = np.full((h, w, 3), 230, np.uint8)
    frame[:, :128] = 20
    coarse = np.zeros((16, 16), np.float32)
    coarse[:, :8] = 1.0
    backend = FakeBackend({"hair": coarse})
    plain = _masks(frame, (), backend, refine_radius=0, work_size=256)["hair"]
    refined = _masks(frame, (), backend, refine_radius=4, refine_eps=1e-4, work_size=256)["hair"]
    # Then the refined mask drops most at the image's edge, far more steeply than the model's ramp
    steps = -np.diff(refined[128].astype(np.int32))
    assert int(np.argmax(steps)) == 127
    assert steps[127] > 3 * int(plain[128, 127]) - 3 * int(plain[128, 128])


@pytest.mark.parametrize(("person_p", "clothes_p"), [(0.4, 1.0), (0.4, 0.0), (0.4, 0.5), (1.0, 0.3)])
def test_unclaimed_person_becomes_clothes_only_up_to_the_person_probability(person_p, clothes_p):
    # Given a person mask unsure everywhere (or sure), and a model that is sure (or not) of clothes
    frame = np.full((64, 96, 3), 90, np.uint8)
    person = np.full((64, 96), person_p, np.float32)
    masks = _masks(frame, (), _const((64, 96), clothes=clothes_p), person, refine_radius=0, refine_person=False)
    # Then the classes together fill the person, and no more: a pixel the person mask doubts is not clothes
    clothes = masks["clothes"].astype(np.float32) / 255.0
    assert abs(float(clothes.max()) - person_p) <= 0.01 and abs(float(clothes.min()) - person_p) <= 0.01
    assert masks["hair"].max() == 0


def test_the_person_mask_edge_is_snapped_to_the_picture_where_the_mask_is_unsure():
    # Given a dark person on the left against a bright wall (the picture's edge at x = 52), and a person mask that
    # fades from 1 at x = 40 to 0 at x = 72, so it crosses one half right of the edge
    h, w = 64, 128
    frame = np.full((h, w, 3), 230, np.uint8)
    frame[:, :52] = 30
    person = np.tile(np.clip((72.0 - np.arange(w, dtype=np.float32)) / 32.0, 0.0, 1.0), (h, 1))
    plain = _masks(frame, (), _const((h, w), clothes=0.0), person, refine_person=False)["clothes"][h // 2]
    snapped = _masks(frame, (), _const((h, w), clothes=0.0), person, refine_person=True)["clothes"][h // 2]
    # Then the clothes end at the picture's edge, where the snapped mask drops steeply
    assert np.count_nonzero(plain >= 128) >= 56
    assert 51 <= np.count_nonzero(snapped >= 128) <= 54
    assert int(snapped[51]) - int(snapped[52]) > 3 * (int(plain[51]) - int(plain[52]))
    # Where the mask is sure it is left as it is: a hard edge stays hard
    hard = np.zeros((h, w), np.float32)
    hard[:, :96] = 1.0
    kept = _masks(frame, (), _const((h, w), clothes=0.0), hard, refine_person=True)["clothes"]
    assert kept[:, :92].min() == 255 and kept[:, 100:].max() == 0


def _row_face(face_id: int, cx: float, top: float, height: float) -> Face:
    """A synthetic face: landmarks spread over a square of ``height``, forehead at its top and chin at its bottom."""
    rng = np.random.default_rng(face_id)
    points = np.zeros((478, 3), np.float32)
    points[:, 0] = cx + rng.uniform(-0.4, 0.4, 478) * height
    points[:, 1] = top + rng.uniform(0.05, 0.95, 478) * height
    points[tp.FOREHEAD, :2] = (cx, top)
    points[tp.CHIN, :2] = (cx, top + height)
    return Face(face_id, points, Box.around(points))


def test_small_people_in_a_wide_photo_get_a_few_square_windows_that_hold_them():
    # Given a row of six people with 30 px faces, 110 px apart, across a 1000x400 photo
    shape = (400, 1000)
    faces = [_row_face(i, 80.0 + 110.0 * i, 40.0, 30.0) for i in range(6)]

    def holds(boxes: list[Box], face: Face) -> bool:
        cx, cy = face.points[:, 0].mean(), face.points[:, 1].mean()
        return any(b.x0 <= cx < b.x1 and b.y0 <= cy < b.y1 for b in boxes)

    # Then they share windows: squares of 8 face heights inside the frame, every face in one
    windows = person_windows(faces, shape)
    assert len(windows) == 3
    assert all(b.width == b.height == 240 and b == b.clip(shape) for b in windows)
    assert all(holds(windows, f) for f in faces)
    # With fewer windows allowed, the windows grow to hold everyone
    two = person_windows(faces, shape, most=2)
    assert len(two) == 2 and all(240 < b.width == b.height <= 400 for b in two)
    assert all(holds(two, f) for f in faces)


def test_a_person_who_fills_the_frame_gets_no_window():
    assert person_windows([_row_face(0, 200.0, 60.0, 120.0)], (400, 400)) == []  # a portrait
    assert person_windows([], (300, 900)) == []
    assert person_windows([_row_face(0, 80.0, 40.0, 30.0)], (300, 900), most=0) == []


@pytest.mark.parametrize(("mode", "calls"), [("image", 3), ("video", 1)])
def test_photos_run_the_model_again_in_the_windows_and_video_does_not(monkeypatch, mode, calls):
    windows = [Box(0, 0, 32, 32), Box(32, 16, 64, 48)]
    monkeypatch.setattr(fusion, "person_windows", lambda faces, shape, side: windows)
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    with ModelFrameParser(backend, mode=mode, background=False) as parser:
        parse = parser.parse(_frames(1)[0], NO_FACES)
    assert backend.calls == calls and parse.mask("hair").min() == 255


def test_the_person_snap_is_on_for_photos_and_off_in_video_unless_asked():
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    assert ModelFrameParser(backend, mode="image")._fusion.refine_person is None  # fuse: on
    assert ModelFrameParser(backend, mode="video", background=False)._fusion.refine_person is False
    asked = FusionOptions(refine_person=True)
    assert ModelFrameParser(backend, fusion=asked, mode="video", background=False)._fusion.refine_person is True


def test_without_faces_or_person_the_model_alone_decides():
    frame = np.zeros((64, 96, 3), np.uint8)
    hair = np.zeros((16, 16), np.float32)
    hair[:8] = 1.0
    masks = _masks(frame, (), FakeBackend({"hair": hair, "clothes": 1.0 - hair}), refine_radius=0)
    assert masks["hair"][:28].min() >= 250 and masks["hair"][36:].max() <= 5
    assert masks["clothes"][36:].min() >= 250
    assert masks["neck"].max() == 0 and masks["body_skin"].max() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("work_size", 10),
        ("hair_over_face", 1.5),
        ("neck_depth", -1.0),
        ("refine_radius", 100),
        ("refine_eps", 0.0),
        ("person_radius", 0),
        ("window_faces", 1.0),
    ],
)
def test_fusion_options_out_of_range_are_refused_naming_the_field(field, value):
    with pytest.raises(InputError, match=f"fusion option {field} must be in"):
        FusionOptions(**{field: value})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"mode": "stream"}, "mode must be 'image' or 'video'"), ({"every": 0}, "every must be a whole number")],
)
def test_a_model_parser_refuses_bad_settings_at_construction(kwargs, error):
    with pytest.raises(InputError, match=error):
        ModelFrameParser(FakeBackend({"hair": np.zeros((4, 4))}), **kwargs)


def _frames(n: int, shape: tuple[int, int] = (48, 64)) -> list[np.ndarray]:
    return [np.full((*shape, 3), i, np.uint8) for i in range(n)]


NO_FACES = PerceptionResult((), None)


def test_in_video_the_model_runs_every_n_frames_and_its_masks_are_carried_between():
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    with ModelFrameParser(backend, mode="video", every=3, background=False) as parser:
        parses = [parser.parse(frame, NO_FACES) for frame in _frames(7)]
        assert backend.calls == 3  # frames 0, 3 and 6
        assert all(p.mask("hair").min() == 255 for p in parses)  # carried forward in between
        parser.parse(_frames(1, (40, 40))[0], NO_FACES)  # a new frame size: run at once
        assert backend.calls == 4
        parser.reset()
        parser.parse(_frames(1)[0], NO_FACES)
        assert backend.calls == 5 and backend.resets >= 1
    assert backend.closed == 1


def test_in_image_mode_every_photo_is_parsed_afresh_with_no_memory():
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    parser = ModelFrameParser(backend, mode="image", every=5)
    for frame in _frames(3):
        parser.parse(frame, NO_FACES)
    assert backend.calls == 3 and backend.resets == 3
    parser.close()
    parser.close()
    assert backend.closed == 1
    with pytest.raises(InputError, match="closed"):
        parser.parse(_frames(1)[0], NO_FACES)


def test_body_false_skips_the_model():
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    parse = ModelFrameParser(backend).parse(_frames(1)[0], NO_FACES, body=False)
    assert backend.calls == 0 and not parse.masks


def test_body_classes_named_bring_only_those_masks_to_the_frame():
    # Given a model that gives hair and a person mask
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32), "person": np.ones((8, 8), np.float32)})
    with ModelFrameParser(backend, mode="video", every=2, background=False) as parser:
        frames = _frames(3)
        # When a look that reads only the hair asks for it, then one that also reads the person mask
        hair_only = [parser.parse(frame, NO_FACES, body=frozenset({"hair"})) for frame in frames]
        with_person = parser.parse(frames[0], NO_FACES, body=frozenset({"hair", "person"}))
        everything = parser.parse(frames[0], NO_FACES, body=True)
    # Then the parse holds just what was named (carried frames too), and everything when asked for all
    assert all(set(p.masks) == {"hair"} and p.person is None for p in hair_only)
    assert all(p.mask("hair").max() >= 128 for p in hair_only)
    assert set(with_person.masks) == {"hair"} and with_person.person is not None
    assert set(everything.masks) == set(BODY_CLASSES) and everything.person is not None


@pytest.mark.shared
def test_classes_the_model_lacks_come_from_the_landmark_default(portrait):
    frame, perception, _ = portrait
    # Given a hair-only model that sees no hair
    parse = ModelFrameParser(FakeBackend({"hair": np.zeros((8, 8), np.float32)})).parse(frame, perception)
    assert set(parse.masks) == set(BODY_CLASSES)
    assert parse.mask("hair").max() == 0
    default = LandmarkFrameParser().parse(frame, perception)
    if default.mask("clothes").max() >= 128:
        assert parse.mask("clothes").max() >= 128  # the default's clothes survive the fusion
    labels = parse.labels()
    assert np.count_nonzero(labels == class_index("face_skin")) > 1000


@pytest.mark.shared
def test_a_person_model_gives_the_parse_its_person_mask(portrait):
    frame, perception, _ = portrait
    person = np.zeros((8, 8), np.float32)
    person[:, :4] = 1.0
    parse = ModelFrameParser(FakeBackend({"person": person})).parse(frame, perception)
    assert parse.person is not None
    full = parse.mask("person")
    assert full[:, : frame.shape[1] // 4].min() == 255 and full[:, 3 * frame.shape[1] // 4 :].max() == 0


class _GatedBackend(FakeBackend):
    """A fake backend whose every call waits for the test to open its gate, remembering which frames it saw."""

    def __init__(self) -> None:
        super().__init__({"hair": np.ones((8, 8), np.float32)})
        self.gate = threading.Semaphore(0)
        self.entered = threading.Semaphore(0)
        self.seen: list[int] = []

    def predict(self, frame: np.ndarray):
        self.entered.release()
        assert self.gate.acquire(timeout=10), "the test never let the model run"
        self.seen.append(int(frame[0, 0, 0]))
        return super().predict(frame)


def test_in_video_the_model_runs_on_a_background_thread_always_on_the_newest_frame():
    backend = _GatedBackend()
    frames = _frames(6)
    with ModelFrameParser(backend, mode="video") as parser:
        assert parser.background
        backend.gate.release()  # the first frame of a stream waits for the model once
        first = parser.parse(frames[0], NO_FACES)
        assert backend.seen == [0] and first.mask("hair").min() == 255
        assert backend.entered.acquire(timeout=10)
        # While the model is held on frame 1, frames 2 to 4 queue up: only the newest (4) waits its turn
        for i, frame in enumerate(frames[1:5]):
            parse = parser.parse(frame, NO_FACES)
            assert parse.mask("hair").min() == 255  # the last finished masks, at once
            if i == 0:
                assert backend.entered.acquire(timeout=10)  # the model is on frame 1
        backend.gate.release()
        backend.gate.release()
        assert parser.wait(timeout=10)
        assert backend.seen == [0, 1, 4]
        thread = parser._worker._thread  # the test checks that close() joins it
    assert not thread.is_alive() and backend.closed == 1


def test_the_background_model_follows_the_cadence_and_restarts_on_a_new_size():
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    with ModelFrameParser(backend, mode="video", every=3) as parser:
        for frame in _frames(7):
            parser.parse(frame, NO_FACES)
            parser.wait()
        assert backend.calls == 3  # frames 0, 3 and 6
        parse = parser.parse(_frames(1, (40, 40))[0], NO_FACES)  # a new size: waits for the model on it
        assert backend.calls == 4 and backend.resets >= 1 and parse.shape == (40, 40)
        parser.reset()
        parser.parse(_frames(1)[0], NO_FACES)
        assert backend.calls == 5


def test_a_failing_background_model_raises_in_the_frame_loop():
    class Failing(FakeBackend):
        def predict(self, frame: np.ndarray):
            raise ModelError("the model broke")

    parser = ModelFrameParser(Failing({"hair": np.ones((8, 8), np.float32)}), mode="video")
    with parser, pytest.raises(ModelError, match="broke"):
        parser.parse(_frames(1)[0], NO_FACES)


def test_the_worker_runs_the_newest_job_and_closes_cleanly():
    gate = threading.Event()
    seen: list[int] = []

    def work(job: int) -> int:
        gate.wait(10)
        seen.append(job)
        return job * 10

    worker: LatestWorker[int, int] = LatestWorker(work)
    assert worker.latest() is None
    for job in range(4):
        worker.submit(job)
    gate.set()
    assert worker.wait(timeout=10)
    assert worker.latest() == seen[-1] * 10 and seen[-1] == 3 and len(seen) <= 2
    worker.close()
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(5)


def test_an_unclosed_worker_finishes_its_job_before_the_interpreter_exits(tmp_path):
    # Given a script whose worker is mid-job when the script ends, never closed
    script = tmp_path / "unclosed.py"
    done = tmp_path / "done"
    script.write_text(
        "import pathlib, time\n"
        "from tryon.parsing.model_worker import LatestWorker\n"
        f"def work(job):\n    time.sleep(0.5)\n    pathlib.Path({str(done)!r}).write_text('ok')\n"
        "LatestWorker(work).submit(1)\n"
        "time.sleep(0.1)\n"
    )
    run = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=60)
    # Then the exit waits for the job (a daemon thread left inside a native runtime at exit aborts the process)
    assert run.returncode == 0, run.stderr
    assert done.read_text() == "ok"


def test_a_video_pipeline_with_a_model_left_open_exits_cleanly(shared_models: Path, shared_data: Path):
    # Given a script that runs a model parser on a background thread and ends without closing its pipeline
    photo = need_file(shared_data / "faces" / "liveportrait_source_s42.jpg")
    code = (
        "import cv2, tryon\n"
        f"frame = cv2.imread({str(photo)!r})\n"
        "pipe = tryon.Pipeline('copper_hair', options=tryon.PipelineOptions(mode='video', parsing='auto'))\n"
        "for i in range(5):\n    pipe.process(frame, timestamp=i / 30)\n"
    )
    env = {**os.environ, "TRYON_MODELS_DIR": str(shared_models)}
    for _ in range(2):  # it aborted 2 runs in 3 before
        run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, timeout=120)
        # Then it exits 0, not with SIGABRT ("terminate called without an active exception")
        assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]


def test_face_motion_recovers_a_similarity_despite_a_moving_mouth():
    rng = np.random.default_rng(1)
    before = rng.uniform(200, 400, (478, 2))
    angle, scale, shift = np.deg2rad(4.0), 1.05, np.array([12.0, -7.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    after = before @ rotation.T + shift
    after[:40] += rng.normal(0, 15, (40, 2))  # some points move on their own (the mouth opens)
    motion = face_motion({7: before}, {7: after, 8: after})
    assert motion is not None
    np.testing.assert_allclose(motion[:, :2], rotation, atol=1e-3)
    np.testing.assert_allclose(motion[:, 2], shift, atol=0.2)
    assert face_motion({1: before}, {2: after}) is None  # no face in both frames


def test_warp_mask_moves_the_mask_with_the_motion():
    alpha = np.zeros((20, 30), np.uint8)
    alpha[5:15, 10:20] = 255
    mask = RoiMask(Box(100, 50, 130, 70), alpha)
    shift = np.array([[1.0, 0.0, 25.0], [0.0, 1.0, -10.0]])
    moved = warp_mask(mask, shift, (200, 300)).full((200, 300))
    expected = np.zeros((200, 300), np.uint8)
    expected[45:55, 135:145] = 255
    assert np.array_equal(moved, expected)
    doubled = warp_mask(mask, np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), (200, 300)).full((200, 300))
    ys, xs = np.nonzero(doubled >= 128)
    assert abs(len(ys) - 400) <= 45 and abs(ys.mean() - 119) <= 1 and abs(xs.mean() - 229) <= 1
    outside = np.array([[1.0, 0.0, 500.0], [0.0, 1.0, 0.0]])
    assert warp_mask(mask, outside, (200, 300)).is_empty


def _face_points(cx: float, cy: float) -> np.ndarray:
    rng = np.random.default_rng(int(cx))
    return rng.uniform(-40, 40, (478, 2)) + np.array([cx, cy])


def test_each_person_masks_follow_their_own_face():
    # Given two people 200 px apart, each with hair under a 60x60 square below their face
    shape = (300, 400)
    full = np.zeros(shape, np.uint8)
    full[120:180, 70:130] = 255  # the left person's
    full[120:180, 270:330] = 255  # the right person's
    mask = RoiMask(Box(0, 0, 400, 300), full)
    before = {1: _face_points(100, 80), 2: _face_points(300, 80)}
    # When the left person moves 20 px down and the right one stays still
    after = {1: before[1] + np.array([0.0, 20.0]), 2: before[2].copy()}
    (moved,) = carry_masks(before, after, [mask], shape)
    out = moved.full(shape)
    # Then the left square moved 20 px down and the right one did not move at all
    assert out[140:200, 70:130].min() == 255 and out[120:138, 70:130].max() == 0
    assert np.array_equal(out[:, 200:], full[:, 200:])


def test_masks_of_people_who_left_are_not_carried():
    shape = (300, 400)
    mask = RoiMask(Box(50, 100, 150, 200), np.full((100, 100), 255, np.uint8))
    before = {1: _face_points(100, 80), 2: _face_points(300, 80)}
    assert carry_masks(before, {}, [mask], shape) is None  # a cut, or everyone left
    # One of two left: only the part nearest the one who stayed is kept
    (kept,) = carry_masks(before, {2: before[2]}, [mask], shape)
    assert kept.is_empty  # the square was the left person's
    # Everyone moving together: one motion for all
    together = {i: p + np.array([5.0, 0.0]) for i, p in before.items()}
    (shifted,) = carry_masks(before, together, [mask], shape)
    assert shifted.box == Box(55, 100, 155, 200)


@pytest.mark.shared
def test_carried_hair_follows_the_face_between_model_runs(portrait):
    # Given the portrait parsed in video with the model run on the first frame only
    frame, perception, _ = portrait
    hair = np.zeros((64, 64), np.float32)
    hair[:16, 16:48] = 1.0  # a band of hair above the face
    dx = 24
    moved_frame = np.roll(frame, dx, axis=1)
    moved = PerceptionResult(tuple(p + np.array([dx, 0, 0], np.float32) for p in perception.landmarks), None)
    with ModelFrameParser(FakeBackend({"hair": hair}), mode="video", every=100) as parser:
        first = parser.parse(frame, perception).mask("hair")
        second = parser.parse(moved_frame, moved).mask("hair")
    # Then on the next frame, whose face moved right, the hair moved with it
    assert first.max() >= 200 and np.count_nonzero(first >= 128) > 1000
    expected = np.roll(first, dx, axis=1)[:, dx:].astype(np.int16)
    assert np.abs(expected - second[:, dx:]).max() <= 2


@pytest.mark.shared
@pytest.mark.parametrize("background", [True, False])
def test_after_a_cut_the_last_masks_are_not_painted_on_nobody(portrait, background):
    # Given a stream whose model saw a face, then a cut to a frame where nobody is
    frame, perception, _ = portrait
    backend = FakeBackend({"hair": np.ones((8, 8), np.float32)})
    blank = np.full_like(frame, 128)
    with ModelFrameParser(backend, mode="video", every=5, background=background) as parser:
        assert parser.parse(frame, perception, [0]).mask("hair").any()
        after_cut = parser.parse(blank, NO_FACES)
        # Then the face's hair is not carried onto the empty frame: either no body classes until the model has
        # seen the new frame (background), or the model runs on it at once (in line)
        if background:
            assert not after_cut.mask("hair").any()
            assert parser.wait(timeout=10)
        assert backend.calls == 2
