"""The command line end to end: real photos and videos in, files out, clear errors for bad input."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from tests.conftest import need_file
from tests.effects.helpers import lab_distance_to, outside_unchanged
from tryon import __version__
from tryon.cli.main import main
from tryon.cli.parse import PALETTE
from tryon.color import Color, bgr_to_lab
from tryon.image import read_image
from tryon.looks import builtin_looks
from tryon.parsing.classes import CLASS_INDEX, CLASSES, legend
from tryon.pipeline import Pipeline

LIPSTICK_ONLY = 'name: lips\neffects:\n  lipstick: {color: "#9E1B32", intensity: 0.9}\n'


def run(capsys, *args: object) -> tuple[int, str, str]:
    """Runs ``tryon ARGS`` in this process; returns (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*args: object, **kwargs) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m tryon ARGS`` in a child process."""
    env = {k: v for k, v in os.environ.items() if k != "TRYON_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "tryon", *map(str, args)], capture_output=True, text=True, timeout=300, env=env, **kwargs
    )


def decoded(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def photo(shared_data) -> Path:
    return need_file(shared_data / "faces" / "liveportrait_source_s2.jpg")


@pytest.fixture(scope="module")
def small_photo(shared_data) -> Path:
    return need_file(shared_data / "faces" / "deepface_img2.jpg")


@pytest.fixture(scope="module")
def video(shared_data) -> Path:
    return need_file(shared_data / "videos" / "driving_d0.mp4")


@pytest.fixture
def lipstick_look(tmp_path) -> Path:
    path = tmp_path / "lips.yaml"
    path.write_text(LIPSTICK_ONLY, encoding="utf-8")
    return path


@pytest.fixture
def grey(tmp_path) -> Path:
    """A photo without a face."""
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((240, 320, 3), 128, np.uint8))
    return path


# --- basics ---------------------------------------------------------------------------------------------------------


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"tryon {__version__}"


def test_the_console_script_and_python_m_both_run():
    script = Path(sys.executable).with_name("tryon")
    for cmd in ([str(script), "--version"], [sys.executable, "-m", "tryon", "--version"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout.strip() == f"tryon {__version__}", proc.stderr


# --- apply ----------------------------------------------------------------------------------------------------------


def test_apply_photo_changes_only_the_lips_with_a_lipstick_look(capsys, tmp_path, photo, lipstick_look):
    # Given a real face photo and a look with lipstick only
    out_path = tmp_path / "out.png"
    # When applied from the command line
    code, _, err = run(capsys, "apply", photo, "-o", out_path, "--look", lipstick_look, "--max-faces", 1)
    # Then the photo is written, the same size, and only pixels of the lips changed
    assert code == 0, err
    before, after = read_image(photo), read_image(out_path)
    assert after.shape == before.shape
    with Pipeline(mode="image", max_faces=1) as pipe:
        lips = pipe.parse(before).faces[0].mask("lips")
    outside_unchanged(before, after, [lips])
    inside = lips.full(before.shape[:2]) > 200
    assert np.abs(after[inside].astype(int) - before[inside]).mean() > 10


def test_apply_photo_with_a_builtin_look_and_overrides(capsys, tmp_path, small_photo):
    out_path = tmp_path / "out.jpg"
    code, _, err = run(
        capsys,
        "apply",
        small_photo,
        "-o",
        out_path,
        "--look",
        "evening",
        "--set",
        "lipstick.sku=TRY-LIP-001",
        "--set",
        "eyeliner=off",
    )
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]  # no temporary file left
    # The overrides took: against the look as it is, the lips are nearer Crimson Silk (TRY-LIP-001, #9E1B32, in
    # place of Black Cherry) and the upper lash line is not darkened by a liner
    plain_path = tmp_path / "plain" / "out.png"
    plain_path.parent.mkdir()
    code, _, err = run(capsys, "apply", small_photo, "-o", plain_path, "--look", "evening")
    assert code == 0, err
    before, after, plain = read_image(small_photo), read_image(out_path), read_image(plain_path)
    assert after.shape == before.shape
    with Pipeline(mode="image") as pipe:
        face = pipe.parse(before).faces[0]
    shape = before.shape[:2]
    lips = face.mask("lips").full(shape) > 220
    crimson = Color.from_hex("#9E1B32").lab
    assert lab_distance_to(after, lips, crimson) < lab_distance_to(plain, lips, crimson) - 5
    line = face.mask("upper_lash_line").full(shape) > 200
    L = {name: bgr_to_lab(image)[:, :, 0][line].mean() for name, image in (("off", after), ("plain", plain))}
    assert L["off"] > L["plain"] + 5, L


def test_apply_folder_writes_each_photo_and_reports_each_failure(capsys, tmp_path, photo, small_photo, grey):
    # Given a folder of two face photos, a photo without a face, a corrupt photo and a note
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(photo, src / "a.jpg")
    shutil.copy(small_photo, src / "b.jpg")
    shutil.copy(grey, src / "c.png")
    (src / "d.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (src / "notes.txt").write_text("not a photo")
    dst = tmp_path / "out" / "made-up"
    # When the folder is made up
    code, _, err = run(capsys, "apply", src, "-o", dst, "--look", "natural")
    # Then the good photos are written under their names, each failure is reported, and the exit code says so
    assert code == 1
    assert sorted(p.name for p in dst.iterdir()) == ["a.jpg", "b.jpg"]
    assert read_image(dst / "a.jpg").shape == read_image(photo).shape
    lines = err.strip().splitlines()
    assert any("c.png: no face found; nothing written" in line for line in lines)
    assert any("d.jpg: not a readable image" in line for line in lines)
    assert "2 of 4 photos failed" in err and "Traceback" not in err


def test_apply_video_writes_the_frames_and_changes_the_lips(capsys, tmp_path, video, lipstick_look):
    out_path = tmp_path / "out.mp4"
    code, _, err = run(capsys, "apply", video, "-o", out_path, "--look", lipstick_look, "--max-frames", 6)
    assert code == 0, err
    got = decoded(out_path)
    assert len(got) == 6 and got[0].shape == (512, 512, 3)
    first = decoded(video)[0]
    with Pipeline(mode="image", max_faces=1) as pipe:
        face = pipe.parse(first).faces[0]
    lips = face.mask("lips").full(first.shape[:2]) > 200
    far = np.ones(first.shape[:2], bool)
    far[face.box.grow(20).clip(first.shape).slices] = False
    diff = np.abs(got[0].astype(int) - first).mean(axis=2)
    assert diff[lips].mean() > 15  # the lips took the colour
    assert diff[far].mean() < 3  # away from the face only the video coding differs


def test_ctrl_c_finishes_the_video_and_exits_130(tmp_path, shared_data):
    source = need_file(shared_data / "videos" / "driving_d10.mp4")  # 448 frames: long enough to interrupt
    out_path = tmp_path / "out.mp4"
    env = {k: v for k, v in os.environ.items() if k != "TRYON_DEBUG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tryon", "apply", str(source), "-o", str(out_path), "--look", "glam"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out_path.exists() and out_path.stat().st_size > 50_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    frames = decoded(out_path)
    assert 0 < len(frames) < 448 and frames[0].shape == (512, 512, 3)


# --- parse ----------------------------------------------------------------------------------------------------------


def test_parse_writes_labels_and_an_overlay_of_the_photo_size(capsys, tmp_path, small_photo):
    labels_path, viz_path = tmp_path / "labels.png", tmp_path / "viz.jpg"
    code, _, err = run(capsys, "parse", small_photo, "-o", labels_path, "--overlay", viz_path)
    assert code == 0, err
    photo = read_image(small_photo)
    labels = cv2.imread(str(labels_path), cv2.IMREAD_UNCHANGED)
    assert labels.dtype == np.uint8 and labels.shape == photo.shape[:2]
    present = set(np.unique(labels).tolist())
    assert present <= set(range(len(CLASSES)))
    assert {CLASS_INDEX[c] for c in ("face_skin", "nose", "left_eye", "right_eye", "upper_lip", "lower_lip")} <= present
    assert read_image(viz_path).shape == photo.shape


def test_parse_legend_prints_the_class_map(capsys):
    code, out, _ = run(capsys, "parse", "--legend")
    assert code == 0
    assert json.loads(out) == {str(k): v for k, v in legend().items()}
    assert len(PALETTE) == len(CLASSES)


# --- eval -----------------------------------------------------------------------------------------------------------


def test_eval_json_has_the_documented_keys(capsys, shared_data):
    code, out, err = run(capsys, "eval", shared_data / "celebamask-hq-samples", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) == {"dataset", "images", "regions", "mean_f1"}
    assert report["dataset"] == "celebamask-hq-samples" and report["images"] == 4
    assert {"lips", "skin", "eyes", "brows"} <= set(report["regions"])
    for score in report["regions"].values():
        assert set(score) == {"iou", "f1"} and 0 <= score["iou"] <= score["f1"] <= 1
    assert report["regions"]["lips"]["f1"] > 0.5 and 0 < report["mean_f1"] <= 1


def test_eval_several_datasets_in_one_table_or_a_json_list(capsys, shared_data):
    roots = [shared_data / "celebamask-hq-samples", shared_data / "skin-clothes-hair"]
    code, out, err = run(capsys, "eval", *roots)
    assert code == 0, err
    rows = out.strip().splitlines()
    assert rows[0].split() == ["dataset", "images", "region", "IoU", "F1"]
    assert sum(r.startswith("celebamask-hq-samples") and " mean " in r for r in rows) == 1
    assert sum(r.startswith("skin-clothes-hair") and " mean " in r for r in rows) == 1
    code, out, _ = run(capsys, "eval", *roots, "--json")
    assert code == 0 and [r["dataset"] for r in json.loads(out)] == ["celebamask-hq-samples", "skin-clothes-hair"]


# --- looks and catalog ----------------------------------------------------------------------------------------------


def test_looks_lists_show_and_check(capsys, tmp_path, lipstick_look):
    code, out, _ = run(capsys, "looks")
    assert code == 0
    names = [line.split()[0] for line in out.strip().splitlines()]
    assert names == list(builtin_looks())
    code, out, _ = run(capsys, "looks", "show", "evening", "--set", "lipstick.sku=TRY-LIP-001")
    shown = yaml.safe_load(out)
    assert code == 0 and shown["name"] == "evening" and shown["effects"]["lipstick"]["sku"] == "TRY-LIP-001"
    code, out, _ = run(capsys, "looks", "check", lipstick_look)
    assert code == 0 and f"{lipstick_look}: ok (lips: lipstick)" in out


def test_catalog_lists_products_of_a_category(capsys):
    code, out, _ = run(capsys, "catalog", "lipstick")
    rows = out.strip().splitlines()
    assert code == 0 and rows[0].split()[:2] == ["SKU", "category"]
    assert len(rows) >= 22 and all(" lipstick " in r for r in rows[2:])
    code, out, _ = run(capsys, "catalog", "lenses", "--json")
    assert code == 0 and {p["category"] for p in json.loads(out)} == {"lenses"}


# --- errors ---------------------------------------------------------------------------------------------------------

BAD_LOOK = "effects:\n  lipstick: {finish: glitter}\n"

ERRORS = [
    # (case, arguments with {tmp} {photo} {grey} {video} {look} placeholders, message)
    ("missing file", ["apply", "{tmp}/missing.jpg", "-o", "{out}.jpg"], "missing.jpg: no such file or folder"),
    ("corrupt image", ["apply", "{tmp}/garbage.jpg", "-o", "{out}.jpg"], "garbage.jpg: not a readable image"),
    ("unsupported type", ["apply", "{tmp}/notes.txt", "-o", "{out}.jpg"], "unsupported input type '.txt'"),
    ("empty file", ["apply", "{tmp}/empty.jpg", "-o", "{out}.jpg"], "empty.jpg: the file is empty"),
    ("no face", ["apply", "{grey}", "-o", "{out}.png"], "grey.png: no face found; nothing written"),
    ("corrupt video", ["apply", "{tmp}/garbage.mp4", "-o", "{out}.mp4"], "garbage.mp4: not a readable video"),
    ("empty video", ["apply", "{tmp}/empty.mp4", "-o", "{out}.mp4"], "empty.mp4: the file is empty"),
    (
        "bad look file",
        ["apply", "{photo}", "-o", "{out}.jpg", "--look", "{tmp}/bad.yaml"],
        "bad.yaml: effects.lipstick.finish: 'glitter' is not allowed; allowed: matte, satin, gloss, shimmer, metallic",
    ),
    ("unknown look", ["apply", "{photo}", "-o", "{out}.jpg", "--look", "sparkly"], "unknown look 'sparkly'"),
    (
        "bad override value",
        ["apply", "{photo}", "-o", "{out}.jpg", "--set", "lipstick.finish=glitter"],
        "(override 'lipstick.finish=glitter'): effects.lipstick.finish: 'glitter' is not allowed",
    ),
    (
        "malformed override",
        ["apply", "{photo}", "-o", "{out}.jpg", "--set", "lipstick"],
        "override 'lipstick': no '='; expected EFFECT.OPTION=VALUE",
    ),
    ("bad output type", ["apply", "{photo}", "-o", "{out}.gif"], "OUTPUT for a photo must end in one of .bmp"),
    ("missing output folder", ["apply", "{photo}", "-o", "{tmp}/nope/out.jpg"], "does not exist"),
    ("video to a photo", ["apply", "{video}", "-o", "{out}.jpg"], "OUTPUT for a video must end in one of .m4v, .mp4"),
    ("labels as jpeg", ["parse", "{photo}", "-o", "{out}.jpg"], "labels must be written as .png"),
    ("parse a video", ["parse", "{video}", "-o", "{out}.png"], "parse takes one photo"),
    ("parse without output", ["parse", "{photo}"], "parse needs INPUT and -o LABELS.png"),
    ("not a dataset", ["eval", "{tmp}"], "not a dataset folder (no dataset.json)"),
    ("show unknown look", ["looks", "show", "sparkly"], "unknown look 'sparkly'; built-in looks: bold_red"),
    ("check a bad look", ["looks", "check", "{tmp}/bad.yaml"], "effects.lipstick.finish: 'glitter' is not allowed"),
]


@pytest.fixture
def bad_inputs(tmp_path, photo, grey, video) -> dict[str, str]:
    (tmp_path / "garbage.jpg").write_bytes(b"\x00garbage" * 50)
    (tmp_path / "garbage.mp4").write_bytes(b"\x00garbage" * 500)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "bad.yaml").write_text(BAD_LOOK)
    (tmp_path / "outputs").mkdir()
    return {
        "tmp": str(tmp_path),
        "out": str(tmp_path / "outputs" / "out"),
        "photo": str(photo),
        "grey": str(grey),
        "video": str(video),
    }


@pytest.mark.parametrize(("case", "args", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_gets_one_clear_line_exit_2_and_nothing_written(capsys, bad_inputs, tmp_path, case, args, message):
    code, _, err = run(capsys, *(a.format(**bad_inputs) for a in args))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tryon: error: "), err
    assert message in lines[0]
    assert list((tmp_path / "outputs").iterdir()) == []  # nothing written, not even a temporary file


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apply", "x.jpg"], "the following arguments are required: -o/--output"),
        (["apply", "x.jpg", "-o", "y.jpg", "--max-faces", "0"], "--max-faces: must be at least 1"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["catalog", "glitter"], "invalid choice: 'glitter'"),
    ],
)
def test_bad_arguments_exit_2_with_usage(capsys, args, message):
    code, _, err = run(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_debug_shows_the_traceback(capsys, tmp_path, monkeypatch):
    code, _, err = run(capsys, "--debug", "apply", tmp_path / "missing.jpg", "-o", tmp_path / "out.jpg")
    assert code == 2 and "Traceback" in err and "no such file or folder" in err
    monkeypatch.setenv("TRYON_DEBUG", "1")
    code, _, err = run(capsys, "looks", "show", "sparkly")
    assert code == 2 and "Traceback" in err


class _ClosedPipe:
    """A stdout whose reader has gone, as with ``tryon catalog | head -1``."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


def test_a_closed_stdout_stops_quietly(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    code = main(["catalog"])
    assert code == 141 and capsys.readouterr().err == ""


def test_a_child_process_reports_a_photo_without_a_face_in_one_line(tmp_path, grey):
    out_path = tmp_path / "out.png"
    proc = run_process("apply", grey, "-o", out_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"tryon: error: {grey}: no face found; nothing written"]
    assert not out_path.exists()


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(capsys, tmp_path, small_photo):
    photo = tmp_path / "me.jpg"
    shutil.copy(small_photo, photo)
    original = photo.read_bytes()
    link = tmp_path / "link.jpg"
    os.link(photo, link)  # another name for the same file
    for args in (
        ("apply", photo, "-o", photo),
        ("apply", photo, "-o", link),
        ("parse", photo, "-o", tmp_path / "labels.png", "--overlay", photo),
    ):
        code, _, err = run(capsys, *args)
        assert code == 2 and "must differ from INPUT" in err, (args, err)
    code, _, err = run(capsys, "parse", photo, "-o", tmp_path / "l.png", "--overlay", tmp_path / "l.png")
    assert code == 2 and "overlay must differ from the labels" in err
    assert photo.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jpg", "me.jpg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("apply", "IN", "-o", "out.mp4", "--max-frames", "99999999999999999999"), "must be at most"),
        (("apply", "IN", "-o", "out.jpg", "--max-faces", "40"), "must be 1 to 16"),
        (("cam", "--fps", "0"), "must be 1 to 240"),
        (("cam", "--fps", "nan"), "must be 1 to 240"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(capsys, small_photo, args, message):
    code, _, err = run(capsys, *(small_photo if a == "IN" else a for a in args))
    assert code == 2 and message in err and "Traceback" not in err, err


def test_a_video_that_cannot_be_finished_leaves_no_broken_file(capsys, tmp_path, video, monkeypatch):
    from tryon.errors import ImageWriteError
    from tryon.video import VideoWriter

    real_close = VideoWriter.close

    def failing_close(self):  # the encoder fails while finishing the file, as on a full disk
        real_close(self)
        raise ImageWriteError(f"{self.path}: the video encoder failed: No space left on device")

    monkeypatch.setattr(VideoWriter, "close", failing_close)
    out = tmp_path / "out.mp4"
    code, _, err = run(capsys, "apply", video, "-o", out, "--max-frames", "5")
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
    assert not out.exists()


def test_a_folder_where_every_photo_fails_leaves_no_empty_output_folder(capsys, tmp_path, grey):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(grey, folder / "wall.png")  # no face
    (folder / "broken.jpg").write_bytes(b"not a photo")
    out = tmp_path / "out"
    code, _, err = run(capsys, "apply", folder, "-o", out)
    assert code != 0 and "2 of 2 photos failed" in err
    assert not out.exists()
