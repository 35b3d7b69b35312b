"""``tryon bench``: the report's shape and consistency on real clips (speed itself is never asserted)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.conftest import need_file
from tryon.bench import bench_frame, run_bench, tile_photos
from tryon.cli.main import main
from tryon.errors import ImageReadError, InputError
from tryon.looks import Look

GARMENT = "viton/test_clothes/003434_1.jpg"  # a shirt on its own: no face
DRIVING = ("liveportrait_driving_d8", "liveportrait_driving_d9", "liveportrait_driving_d19", "liveportrait_driving_d30")


def test_bench_json_reports_every_stage_against_the_floor(shared_data, capsys):
    clip = need_file(shared_data / "videos" / "driving_d0.mp4")
    code = main(["bench", "--source", str(clip), "--frames", "30", "--size", "320x240", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert report["frames"] == 30
    assert report["size"] == [320, 240]
    assert set(report["stages"]) == {"decode", "perception", "parsing", "effects"}
    assert report["fps"] == pytest.approx(1000.0 / report["ms_median"], rel=0.01)
    assert report["ms_p95"] >= report["ms_median"] > 0
    assert report["perception_floor_ms"] > 0 and report["peak_rss_mb"] > 0
    assert report["latency_ms_median"] >= report["stages"]["effects"]
    assert report["pipelined"] is True
    assert report["faces_mean"] == pytest.approx(1.0)
    # Parsed in a child process where one can run (POSIX, 2 CPUs), whose memory counts in the peak
    if report["split"] == "process":
        assert 50 < report["child_peak_rss_mb"] < report["peak_rss_mb"]
    else:
        assert report["split"] == "thread" and report["child_peak_rss_mb"] is None


def test_bench_split_on_threads_reports_no_child(shared_data, capsys):
    clip = need_file(shared_data / "videos" / "driving_d0.mp4")
    code = main(["bench", "--source", str(clip), "--frames", "12", "--size", "320x240", "--split", "thread", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["split"] == "thread" and report["child_peak_rss_mb"] is None


def test_sequential_bench_runs_more_frames_than_the_clip_by_looping_it(shared_data):
    clip = need_file(shared_data / "videos" / "driving_d0.mp4")  # 78 frames
    result = run_bench(clip, look="natural", frames=90, size=(256, 256), pipelined=False)
    assert result.frames == 90
    assert result.pipelined is False and result.split == "none"
    # Sequentially a frame costs at least its stages together
    stages = result.stages
    assert result.ms_median >= 0.9 * (stages["perception"] + stages["parsing"] + stages["effects"])


def test_photos_are_tiled_into_one_frame_with_every_face(shared_data):
    photos = [need_file(shared_data / "faces" / f"{name}.jpg") for name in DRIVING]
    frame = tile_photos(photos, (1280, 720))
    assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
    result = run_bench(photos, look="glam", frames=12)
    assert result.size == (1280, 720)
    assert result.faces == pytest.approx(4.0)


def test_bench_on_a_missing_file_is_a_clear_error(tmp_path, capsys):
    code = main(["bench", "--source", str(tmp_path / "nope.mp4"), "--frames", "5"])
    err = capsys.readouterr().err
    assert code != 0
    assert "nope.mp4: no such file" in err and "Traceback" not in err
    with pytest.raises(ImageReadError, match="no such file"):
        run_bench(tmp_path / "nope.mp4")


def test_stability_smoothing_reduces_jitter_and_masks_hold_still(shared_data):
    from tryon.bench import FLICKER_REGIONS, stability

    result = stability(need_file(shared_data / "videos" / "driving_d0.mp4"), window=20)
    assert 0 < result.jitter_px < result.jitter_raw_px
    assert result.lag_frames < 1.5
    # The subject blinks: the smoothed lids follow (2.2 px behind at worst; 4.6 with the speed estimate at 0.5 Hz)
    assert 0 < result.lid_error_px < 3.5
    assert set(result.mask_flicker) == set(FLICKER_REGIONS)
    # On the stillest stretch no mask changes by more than a fifth of its weight per frame
    assert all(0 < v < 0.2 for v in result.mask_flicker.values()), result.mask_flicker


@pytest.mark.parametrize(
    ("name", "not_what"),
    [("faces/deepface_img2.jpg", "not a photo"), ("notes.txt", "not a .txt file"), ("notes", "not a suffix-less file")],
    ids=["photo", "text file", "no suffix"],
)
def test_stability_of_anything_but_a_video_says_it_needs_a_video(shared_data, tmp_path, name, not_what):
    from tryon.bench import stability

    # Given a file that is not a video: a real photo, or a file of another type
    if "/" in name:
        path = need_file(shared_data / name)
    else:
        path = tmp_path / name
        path.write_text("hello", encoding="utf-8")
    # When its stability is measured, then the error says a video is needed, which types are, and what came
    with pytest.raises(InputError) as caught:
        stability(path)
    assert str(caught.value) == (
        f"{path}: stability() measures landmark jitter and lag over time, so it needs a video "
        f"(.avi, .m4v, .mkv, .mov, .mp4, .webm), {not_what}"
    )


def test_bench_effects_times_each_effect_of_the_look_on_the_clips_31st_frame(shared_data, capsys):
    clip = need_file(shared_data / "videos" / "driving_d0.mp4")
    code = main(["bench", "--source", str(clip), "--frames", "12", "--look", "natural", "--effects", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    cost = report["effects_cost"]
    assert set(cost) == {effect.name for effect in Look.load("natural").effects} | {"all"}
    assert all(np.isfinite(v) and v > 0 for v in cost.values()), cost
    # The frame timed is the clip's 31st, as read by OpenCV itself
    capture = cv2.VideoCapture(str(clip))
    for _ in range(31):
        ok, expected = capture.read()
    capture.release()
    assert ok and np.array_equal(bench_frame(clip), expected)


def test_bench_effects_on_a_frame_without_a_face_is_a_clear_error(shared_data, capsys):
    photo = need_file(shared_data / "garments" / GARMENT)
    code = main(["bench", "--source", str(photo), "--frames", "3", "--effects"])
    err = capsys.readouterr().err
    assert code != 0
    assert "a frame with a face" in err and "Traceback" not in err


def test_the_bench_keeps_a_looped_clips_wrap_as_a_cut(shared_data):
    from tryon.bench import _BenchSource

    # The bench loops its clip: the wrap is a cut, so the pipeline forgets the last frame's face, as the demo does
    with _BenchSource(need_file(shared_data / "videos" / "driving_d0.mp4"), None, (320, 240)) as src:
        frames = [src.read() for _ in range(80)]  # 78 frames a round
    assert [f.index for f in frames if f is not None and f.cut] == [78]
    assert all(f is not None and f.image.shape == (240, 320, 3) for f in frames)
