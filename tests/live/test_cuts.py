"""Scene cuts: frames marked as starting a new scene make a video pipeline forget the stream where they are
perceived (the calling thread, a worker thread or the parse process), and sources mark their own cuts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from tests.conftest import need_file
from tests.live.helpers import Generated, RecordingSink
from tryon.errors import SourceError
from tryon.image import read_image
from tryon.live import LiveLoop
from tryon.looks import Look
from tryon.pipeline import Pipeline
from tryon.sources.base import Frame, Source
from tryon.sources.grabber import LatestFrameGrabber
from tryon.sources.photos import SLIDESHOW_FPS, FolderSource
from tryon.sources.video import VideoSource

LIPSTICK = Look.from_dict({"effects": {"lipstick": {"color": "#9E1B32", "intensity": 1.0}}})
PHOTOS = ("deepface_img12.jpg", "deepface_img24.jpg")


@pytest.fixture(scope="module")
def scenes(shared_data):
    """Two unrelated faces at one size, and the second as a still pipeline makes it up (the reference)."""
    first, second = (cv2.resize(read_image(need_file(shared_data / "faces" / n)), (640, 480)) for n in PHOTOS)
    with Pipeline(look=LIPSTICK, mode="image") as still:
        expected = still.process(second)
        landmarks = still.parse(second).faces[0].landmarks
    return first, second, expected, landmarks


def two_scenes(first: np.ndarray, second: np.ndarray, marked: bool, on_switch=None) -> Source:
    """Three frames of the first face, then three of the second; the switch is marked as a cut when ``marked``.

    With ``on_switch``, that is called while the first face's last frame is read (as if another thread asked for a
    reset then: the loop marks the next frame it reads).
    """

    def frames() -> Iterator[Frame]:
        for i, image in enumerate([first] * 3 + [second] * 3):
            if i == 2 and on_switch is not None:
                on_switch()
            yield Frame(image.copy(), i, i / 30.0, cut=marked and i == 3)

    return Generated(frames(), (640, 480), fps=30.0)


def _lips_error(out: np.ndarray, expected: np.ndarray) -> float:
    """Mean absolute difference between two renders: 0 when the lipstick sits where the still pipeline put it."""
    return float(np.abs(out.astype(np.int16) - expected).mean())


def test_a_frame_parsed_as_a_cut_is_meshed_afresh_and_the_parser_forgets(scenes, monkeypatch):
    first, second, _, expected = scenes
    with Pipeline(mode="video") as pipe:
        resets: list[int] = []
        monkeypatch.setattr(pipe._parser, "reset", lambda: resets.append(1))
        for i in range(3):
            pipe.parse(first, timestamp=i / 30)
        # The two halves on their own: perceiving forgets the tracking, parsing the cut frame the parser's memory
        perceived = pipe.perceive(second, timestamp=0.1, cut=True)
        assert perceived.cut and resets == []
        faces = pipe.parse_perceived(perceived).faces
        assert resets == [1]
    # The new face is found afresh, as in a still photo (without the cut: one face 19 px off, or two, and id 1)
    assert [f.id for f in faces] == [0]
    assert float(np.abs(faces[0].landmarks[:, :2] - expected[:, :2]).mean()) < 0.5


def test_without_a_cut_the_new_face_is_looked_for_where_the_old_one_was(scenes):
    # The failure the cut is for, so the loop tests below can tell it happened
    first, second, still, _ = scenes
    with Pipeline(look=LIPSTICK, mode="video") as pipe:
        for i in range(3):
            pipe.process(first, timestamp=i / 30)
        carried = _lips_error(pipe.process(second, timestamp=0.1), still)
        pipe.reset()
        fresh = _lips_error(pipe.process(second, timestamp=0.2), still)
    assert fresh < 0.05 < carried


@pytest.mark.parametrize("split", ["none", "thread", "process"])
@pytest.mark.parametrize("how", ["source", "loop.reset"])
def test_a_cut_reaches_the_pipeline_wherever_it_perceives(scenes, split, how):
    # Given six frames, two faces, the switch marked by the source or asked for through LiveLoop.reset()
    first, second, still, _ = scenes
    loop: LiveLoop | None = None

    def reset() -> None:
        assert loop is not None
        loop.reset()

    if how == "source":
        src = two_scenes(first, second, marked=True)
    else:
        src = two_scenes(first, second, marked=False, on_switch=reset)
    sink = RecordingSink()
    with Pipeline(look=LIPSTICK, mode="video") as pipe:
        pipelined = split != "none"
        loop = LiveLoop(pipe, src, [sink], pipelined=pipelined, split="thread" if split == "none" else split)
        stats = loop.run()
    assert stats.frames == 6
    assert stats.split == split
    # Then the second face's first frame is made up exactly as a still photo would be, as are the next
    errors = [_lips_error(out, still) for out in sink.images[3:]]
    assert max(errors) < 0.05, errors


@pytest.mark.parametrize("pipelined", [False, True])
def test_the_parser_forgets_at_the_cut_frame_on_the_thread_that_parses(scenes, monkeypatch, pipelined):
    # Given a loop that parses on the calling thread (in turn, or beside a perceiving worker), its parser watched
    first, second, _, _ = scenes
    events: list[str] = []
    with Pipeline(look=LIPSTICK, mode="video") as pipe:
        parse, reset = pipe._parser.parse, pipe._parser.reset
        monkeypatch.setattr(pipe._parser, "parse", lambda *a, **k: events.append("parse") or parse(*a, **k))
        monkeypatch.setattr(pipe._parser, "reset", lambda: events.append("reset") or reset())
        stats = LiveLoop(
            pipe, two_scenes(first, second, marked=True), [RecordingSink()], pipelined=pipelined, split="thread"
        ).run()
    assert stats.frames == 6
    # Then its memory was forgotten once, just before the cut frame was parsed
    assert events == ["parse"] * 3 + ["reset"] + ["parse"] * 3


def test_a_looped_video_marks_its_wrap_as_a_cut(shared_data):
    with VideoSource(need_file(shared_data / "videos" / "driving_d0.mp4"), loop=True) as src:
        frames = [src.read() for _ in range(160)]  # 78 frames a round
    cuts = [f.index for f in frames if f is not None and f.cut]
    assert cuts == [78, 156]
    with VideoSource(need_file(shared_data / "videos" / "driving_d0.mp4")) as src:
        assert not any(f.cut for f in iter(src.read, None))


def _folder(tmp_path, sizes):
    for i, size in enumerate(sizes):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((size[1], size[0], 3), 40 + 60 * i, np.uint8))
    return tmp_path


def test_a_folder_marks_each_new_photo_as_a_cut(tmp_path):
    with FolderSource(_folder(tmp_path, [(64, 48), (80, 60)]), repeat=True) as src:
        frames = [src.read() for _ in range(5)]
        assert src.fps == 0.0
    assert [f.cut for f in frames] == [True] * 5
    assert [f.image.shape[1] for f in frames] == [64, 80, 64, 80, 64]  # photos may differ in size
    one = tmp_path / "one"
    one.mkdir()
    with FolderSource(_folder(one, [(64, 48)]), repeat=True) as src:
        assert [src.read().cut for _ in range(3)] == [True, False, False]  # one photo again is one scene


def test_a_folder_slideshow_holds_each_photo_in_fresh_arrays(tmp_path):
    folder = _folder(tmp_path, [(64, 48), (80, 60)])
    with FolderSource(folder, repeat=True, seconds_each=0.1) as src:
        assert src.fps == SLIDESHOW_FPS
        frames = [src.read() for _ in range(7)]  # three frames a photo
    assert [f.name for f in frames] == ["0.png"] * 3 + ["1.png"] * 3 + ["0.png"]
    assert [f.cut for f in frames] == [True, False, False, True, False, False, True]
    assert [f.timestamp for f in frames] == pytest.approx([i / SLIDESHOW_FPS for i in range(7)])
    # Each frame its own array: a loop drawing into one leaves the next as the photo is
    frames[0].image[:] = 0
    assert frames[1].image.min() == 40 and frames[2].image.min() == 40
    assert len({id(f.image) for f in frames}) == 7
    # Shorter than a frame: still a slideshow, a photo a frame at its rate
    with FolderSource(folder, repeat=True, seconds_each=0.01) as src:
        assert src.fps == SLIDESHOW_FPS
        assert [f.name for f in (src.read(), src.read())] == ["0.png", "1.png"]


@pytest.mark.parametrize("bad", [-1, float("nan"), "3", True, 1e9])
def test_a_bad_slideshow_time_is_refused(tmp_path, bad):
    with pytest.raises(SourceError, match="seconds_each must be a number of seconds"):
        FolderSource(_folder(tmp_path, [(64, 48)]), seconds_each=bad)


@pytest.mark.parametrize(("cuts", "kept"), [((), False), ((2,), True), ((1,), True), ((3,), True)])
def test_the_grabber_keeps_a_cut_when_it_drops_the_frame_that_had_it(cuts, kept):
    # Three frames at once, faster than anyone takes them
    three = (Frame(np.zeros((8, 8, 3), np.uint8), i, float(i), cut=i in cuts) for i in (1, 2, 3))
    with LatestFrameGrabber(Generated(three, (8, 8))) as grab:
        deadline = time.monotonic() + 5.0
        while grab.captured < 3 and time.monotonic() < deadline:
            time.sleep(0.001)
        frame = grab.get()
        assert grab.get() is None
    # Frames 1 and 2 were dropped; the last one carries the cut any of the three had
    assert grab.dropped == 2
    assert frame is not None and frame.index == 3
    assert frame.cut is kept
