"""The demo and virtual-camera apps' hooks, driven without a window: keys, the before/after split, snapshots,
look switching and the watched look file."""

from __future__ import annotations

import logging
import os

import numpy as np

from tests.conftest import need_file
from tests.live.helpers import KeepingSource, RecordingSink
from tryon.apps.cam import CamApp
from tryon.apps.demo import DemoApp
from tryon.image import read_image
from tryon.live import LiveLoop
from tryon.pipeline import Pipeline
from tryon.sources import open_source
from tryon.sources.base import Frame


def test_demo_keys_step_looks_shades_and_effects(tmp_path):
    with Pipeline(mode="video") as pipe:
        app = DemoApp(pipe, ["bold_red", "glam"], ["NOVA-LIP-001", "NOVA-LIP-002"], tmp_path)
        assert pipe.look is not None and pipe.look.name == "bold_red"
        # n: the next look, its effects all on
        assert app.handle_key(ord("n"))
        assert pipe.look.name == "glam"
        names = [e.name for e in pipe.look.effects]
        # 1: the look's first effect off, then on again
        app.handle_key(ord("1"))
        assert [e.name for e in pipe.look.effects] == names[1:]
        app.handle_key(ord("1"))
        assert [e.name for e in pipe.look.effects] == names
        # s: the catalogue's shades, in turn, on the lipstick
        app.handle_key(ord("s"))
        lipstick = next(e for e in pipe.look.effects if e.name == "lipstick")
        assert lipstick.options.color.hex.upper() == "#A4161A"
        app.handle_key(ord("s"))
        lipstick = next(e for e in pipe.look.effects if e.name == "lipstick")
        assert lipstick.options.color.hex.upper() == "#B98472"
        # q and Esc quit
        assert not app.handle_key(ord("q"))
        assert not app.handle_key(27)


class FakeWindow:
    """Stands in for the window sink: the key "pressed" while the last frame was shown."""

    title = "fake"
    last_key = -1


def test_demo_split_shows_the_frame_as_read_beside_the_look_and_snapshots_the_look(shared_data, tmp_path):
    video = need_file(shared_data / "videos" / "driving_d0.mp4")
    src = KeepingSource(open_source(video))
    sink = RecordingSink(copies=False)
    window = FakeWindow()
    with Pipeline(mode="video") as pipe:
        app = DemoApp(pipe, ["bold_red"], [], tmp_path / "snaps")
        app.window = window  # type: ignore[assignment]
        app.state.show_help = app.state.show_stats = False
        keys = {1: ord("b"), 3: ord("c")}  # pressed while frames 1 and 3 are shown: handled with frames 2 and 4

        class Keys:
            """The app as the loop's hook, with keys pressed while given frames are on screen."""

            @property
            def reads_input(self) -> bool:
                return app.reads_input

            def __call__(self, frame: Frame, out: np.ndarray, timings: dict) -> np.ndarray | None:
                shown = app(frame, out, timings)
                window.last_key = keys.get(frame.index, -1)
                return shown

        LiveLoop(pipe, src, [sink], hook=Keys(), pipelined=False).run(max_frames=6)
    assert src.fresh_frames and len(sink.images) == 6
    # Frames were rendered in place until the split key waited, then on a copy: even the first split frame has a
    # before to show
    assert [out is frame.image for (frame, _), out in zip(src.given, sink.images)] == [True] * 2 + [False] * 4
    rows = slice(40, sink.images[0].shape[0] - 60)  # between the labels above and the text below
    x = sink.images[0].shape[1] // 2
    for (frame, before), shown in list(zip(src.given, sink.images))[2:]:
        # Left of the line: the frame as read; right of it: the look; the frame itself as the source gave it
        np.testing.assert_array_equal(shown[rows, : x - 2], before[rows, : x - 2])
        assert np.any(shown[rows, x + 2 :] != before[rows, x + 2 :])
        np.testing.assert_array_equal(frame.image, before)
    # The snapshot is the rendered frame of that moment, without the split's line or labels
    snaps = list((tmp_path / "snaps").glob("*.jpg"))
    assert len(snaps) == 1
    snap = read_image(snaps[0]).astype(np.int32)
    (_, before), shown = src.given[4], sink.images[4].astype(np.int32)
    assert snap.shape == before.shape
    made_up = np.zeros(snap.shape[:2], bool)
    made_up[rows, x + 3 :] = np.abs(shown - before).max(axis=2)[rows, x + 3 :] > 12  # where the look shows
    assert made_up.sum() > 100
    assert np.abs(snap - shown)[made_up].mean() < 0.4 * np.abs(snap - before)[made_up].mean()
    assert shown[rows, x].min() >= 250 and snap[rows, x].mean() < 200  # the split's white line is not in it


def test_cam_app_reloads_a_watched_look_and_keeps_the_last_good_one(tmp_path):
    look = tmp_path / "call.yaml"
    look.write_text("name: call\neffects:\n  lipstick: {color: '#9E1B32'}\n")
    with Pipeline(look=str(look), mode="video") as pipe:
        app = CamApp(pipe, [], watch=look)
        assert not app.reads_input
        look.write_text("name: call2\neffects:\n  blush: {color: '#E58F87'}\n")
        os.utime(look, (1_000_000_000, 1_000_000_000))
        app.poll_watch()
        assert app.reloads == 1 and pipe.look is not None and pipe.look.name == "call2"
        # A broken edit is reported and the look stays
        look.write_text("name: call3\neffects:\n  lipstick: {color: 'not a colour'}\n")
        os.utime(look, (1_000_000_100, 1_000_000_100))
        app.poll_watch()
        assert app.reloads == 1 and pipe.look.name == "call2"
        assert len(app.errors) == 1 and "call.yaml" in app.errors[0] and "color" in app.errors[0]


def test_demo_snapshot_that_cannot_be_saved_is_said_on_screen_and_the_demo_goes_on(tmp_path, caplog):
    # Given a demo whose snapshot folder became a file after it started
    snaps = tmp_path / "snaps"
    frame = np.full((240, 320, 3), 90, np.uint8)
    with Pipeline(mode="video") as pipe:
        app = DemoApp(pipe, ["bold_red"], [], snaps)
        app.state.show_help = app.state.show_stats = False  # on screen: the look's name, and a message if any
        snaps.write_bytes(b"")
        # When c is pressed
        with caplog.at_level(logging.WARNING, logger="tryon"):
            going_on = app.handle_key(ord("c"), frame)
        shown = app(Frame(frame.copy(), 0, 0.0), frame.copy(), {})
        app.state.message_until = 0.0  # the message gone
        plain = app(Frame(frame.copy(), 1, 0.1), frame.copy(), {})
    # Then the demo goes on, with a warning naming the folder and why, also shown on screen (the bottom line)
    assert going_on and shown is not None and plain is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"snapshot not saved: {snaps}: not a folder"]
    assert app.state.message == warnings[0]
    right = (slice(-24, None), slice(170, None))  # past the end of "look: bold_red", the line it pushes up
    assert np.any(shown[right] != frame[right]) and np.array_equal(plain[right], frame[right])
    assert snaps.read_bytes() == b""
