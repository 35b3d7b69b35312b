"""The command line end to end: real photos and videos in, files out, clear errors for bad input."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from tests.conftest import need_file, restore_ctrl_c, small_filesystem
from tests.effects.helpers import lab_distance_to, outside_unchanged
from tests.video_helpers import decoded
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


def test_apply_hair_colour_to_a_profile_face_mesh_cannot_mesh(capsys, tmp_path, shared_data, grey):
    from tryon.evaluation import read_label

    # Given a woman in profile (no face mesh: the detector's head places her hair) and the copper hair look
    root = shared_data / "skin-clothes-hair"
    photo = need_file(root / "images" / "0.png")
    label = read_label(need_file(root / "labels" / "0.png"))
    hair, skin, background = label == 3, label == 1, label == 0
    out = tmp_path / "copper.png"
    code, _, err = run(capsys, "apply", photo, "-o", out, "--look", "copper_hair")
    # Then the photo is written, with a warning that the face effects had no face
    assert code == 0, err
    assert "no face found; only the look's hair, clothes and background effects were applied" in err
    before, after = read_image(photo), read_image(out)
    changed = np.any(np.abs(after.astype(np.int16) - before) > 8, axis=2)
    # And the change is her hair: most of the labelled hair recoloured, her skin and the background hardly touched
    # (the rough labels stop the hair at the shirt, where it falls on: 3166 changed "clothes" pixels are hair)
    assert changed[hair].mean() > 0.6  # 0.986
    assert changed[skin].mean() < 0.03  # 0.010
    assert changed[background].mean() < 0.002  # 0.0009
    # A makeup look on the same photo, hair colour only for face 0 (a per-face look needs its face), or a hair look
    # on a photo with nobody, still writes nothing
    per_face = tmp_path / "per_face.yaml"
    per_face.write_text("effects:\n  lipstick: {color: '#9E1B32'}\nfaces:\n  0:\n    effects:\n      hair_color: {}\n")
    for source, look in ((photo, "bold_red"), (photo, per_face), (grey, "copper_hair")):
        code, _, err = run(capsys, "apply", source, "-o", tmp_path / "none.png", "--look", look)
        assert code == 2 and "no face found; nothing written" in err
    assert not (tmp_path / "none.png").exists()


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_apply_keeps_a_cut_outs_transparency(capsys, tmp_path, small_photo, suffix):
    # Given a photo with an alpha channel: half transparent, its top-left corner fully so
    bgr = read_image(small_photo)
    alpha = np.full(bgr.shape[:2], 128, np.uint8)
    alpha[:40, :60] = 0
    source = tmp_path / "cut-out.png"
    cv2.imwrite(str(source), np.dstack([bgr, alpha]))
    # When it is made up into a file that can hold transparency
    out = tmp_path / f"out{suffix}"
    code, _, err = run(capsys, "apply", source, "-o", out, "--look", "bold_red")
    assert code == 0, err
    # Then the alpha comes through unchanged, beside the made-up colours (before: dropped, the corner opaque)
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.shape == (*bgr.shape[:2], 4)
    np.testing.assert_array_equal(written[:, :, 3], alpha)
    opaque = tmp_path / "opaque.png"
    cv2.imwrite(str(opaque), bgr)
    code, _, err = run(capsys, "apply", opaque, "-o", tmp_path / f"plain{suffix}", "--look", "bold_red")
    assert code == 0, err
    plain = cv2.imread(str(tmp_path / f"plain{suffix}"), cv2.IMREAD_UNCHANGED)
    assert plain.shape == bgr.shape  # no alpha made up for a photo without one
    if suffix != ".webp":  # lossless: the colours are the same as without alpha
        np.testing.assert_array_equal(written[:, :, :3], plain)
    # And into a JPEG, which holds none, it says the transparency is dropped
    code, _, err = run(capsys, "apply", source, "-o", tmp_path / "out.jpg", "--look", "bold_red")
    assert code == 0 and "cut-out.png: its transparency is dropped: .jpg files hold none" in err


def test_apply_writes_nothing_where_only_the_person_mask_sees_someone(capsys, tmp_path):
    from tryon.perception import Perception, PerceptionOptions

    # Given a grey disc on a green wall, which the selfie model marks as a person, and nobody else
    wall = np.zeros((600, 800, 3), np.uint8)
    wall[:] = (60, 140, 90)
    cv2.circle(wall, (400, 300), 100, (200, 200, 200), -1)
    photo = tmp_path / "wall.jpg"
    cv2.imwrite(str(photo), wall)
    with Perception(PerceptionOptions(mode="image")) as perception:
        seen = perception(wall)
    assert seen.landmarks == () and seen.heads == ()
    assert seen.person is not None and np.count_nonzero(seen.person >= 0.5) > 10_000  # 31,470 px
    # When a hair or a background look is applied to it
    for look in ("copper_hair", "video_call"):
        out = tmp_path / f"{look}.jpg"
        code, _, err = run(capsys, "apply", photo, "-o", out, "--look", look)
        # Then nothing is made up or written (before: written, the wall blurred by video_call)
        assert code == 2 and "no face found; nothing written" in err, err
        assert not out.exists()


@pytest.mark.parametrize(
    ("look", "message"),
    [
        ("bold_red", "no face found in any frame; the video was copied unchanged"),
        ("copper_hair", "no face found in any frame; only the hair, clothes and background effects could apply"),
    ],
)
def test_apply_video_without_a_face_says_what_could_apply(capsys, tmp_path, look, message):
    from tryon.video import VideoWriter

    src = tmp_path / "wall.mp4"
    writer = VideoWriter(src, fps=10.0)
    for i in range(5):
        writer.write(np.full((120, 160, 3), 100 + i, np.uint8))
    writer.close()
    code, _, err = run(capsys, "apply", src, "-o", tmp_path / "out.mp4", "--look", look)
    assert code == 0, err
    assert message in err
    assert len(decoded(tmp_path / "out.mp4")) == 5


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


def start_tryon(*args: str) -> subprocess.Popen[str]:
    """``python -m tryon ARGS`` in a process of its own, as a user runs it, ready for Ctrl+C (SIGINT)."""
    env = {k: v for k, v in os.environ.items() if k != "TRYON_DEBUG"}
    return subprocess.Popen(
        [sys.executable, "-m", "tryon", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=restore_ctrl_c,
    )


def test_ctrl_c_finishes_the_video_and_exits_130(tmp_path, shared_data):
    source = need_file(shared_data / "videos" / "driving_d10.mp4")  # 448 frames: long enough to interrupt
    out_path = tmp_path / "out.mp4"
    proc = start_tryon("apply", str(source), "-o", str(out_path), "--look", "glam")
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


def test_parse_writes_neither_file_when_the_overlay_cannot_be_written(capsys, tmp_path, small_photo):
    # Given an overlay path that is a folder (the write fails whoever runs the test, root included)
    labels_path, viz_path = tmp_path / "labels.png", tmp_path / "viz.png"
    viz_path.mkdir()
    # When the photo is parsed
    code, _, err = run(capsys, "parse", small_photo, "-o", labels_path, "--overlay", viz_path)
    # Then it fails in one line, and the labels are not left behind without their overlay (before: they were, and a
    # second run with -n refused them)
    assert code == 2 and f"{viz_path}: " in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["viz.png"] and not any(viz_path.iterdir())


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
    scored = {name: score for name, score in report["regions"].items() if score["f1"] is not None}
    for score in report["regions"].values():
        assert set(score) == {"iou", "f1"}
    for score in scored.values():
        assert 0 <= score["iou"] <= score["f1"] <= 1
    # The samples draw no mouth interior: that region is unscored (null) and left out of the mean
    assert report["regions"]["mouth_interior"] == {"iou": None, "f1": None}
    assert report["mean_f1"] == pytest.approx(sum(s["f1"] for s in scored.values()) / len(scored), abs=1e-4)
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


@pytest.mark.parametrize("brand", ["Kobo Beauty", "kobo beauty", "KOBO", "kobo"])
def test_catalog_matches_a_brand_whatever_its_case_or_by_its_first_words(capsys, brand):
    # When products are listed by a brand written in any case, or by the start of its name
    code, out, err = run(capsys, "catalog", "--brand", brand, "--json")
    # Then that brand's products are listed, and only those
    assert code == 0, err
    products = json.loads(out)
    assert len(products) >= 10 and {p["brand"] for p in products} == {"Kobo Beauty"}


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
    (
        "folder to a photo",
        ["apply", "{tmp}/photos", "-o", "{out}.jpg"],
        "out.jpg: OUTPUT for a folder of photos must be a folder, not a photo or video file name",
    ),
    (
        "folder to a video",
        ["apply", "{tmp}/photos", "-o", "{out}.mp4"],
        "out.mp4: OUTPUT for a folder of photos must be a folder, not a photo or video file name",
    ),
    (
        "unknown brand",
        ["catalog", "--brand", "Glitterco"],
        "unknown brand 'Glitterco'; known brands: Atelier Nova, Kobo Beauty, Tryon Studio",
    ),
    ("brand without the category", ["catalog", "mascara", "--brand", "kobo"], "Kobo Beauty has no mascara; its "),
    (
        "stability of a photo",
        ["bench", "--source", "{photo}", "--stability", "--frames", "3"],
        "--stability measures landmark jitter and lag over time, so it needs a video (.avi, .m4v",
    ),
    ("folder into a file", ["apply", "{tmp}/photos", "-o", "{tmp}/notes.txt/made"], "notes.txt/made: Not a directory"),
    (
        "bench on two videos",
        ["bench", "--source", "{video}", "{video}", "--frames", "3"],
        ": the source is one video, or several photos (.bmp, .jpeg",
    ),
    (
        "bench on a video and a photo",
        ["bench", "--source", "{photo}", "{video}", "--frames", "3"],
        ": the source is one video, or several photos (.bmp, .jpeg",
    ),
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
    (tmp_path / "photos").mkdir()
    shutil.copy(photo, tmp_path / "photos" / "a.jpg")
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


# --- damaged videos, huge photos, existing outputs, full disks ------------------------------------------------------


def video_frames(path: Path) -> tuple[int, int]:
    """(frames the header announces, frames that decode)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    announced, read = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0
    while cap.grab():
        read += 1
    cap.release()
    return announced, read


def test_a_truncated_video_keeps_what_decodes_warns_where_it_stopped_and_exits_1(
    capsys, tmp_path, shared_data, lipstick_look
):
    # Given a video cut to 60 % of its bytes (its header, at the front, still announces every frame)
    source = need_file(shared_data / "videos" / "tps_driving.mp4")
    cut = tmp_path / "cut.mp4"
    data = source.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    announced, readable = video_frames(cut)
    assert 0 < readable < announced - 10  # the premise: decoding stops early
    out = tmp_path / "out.mp4"
    # When it is made up
    code, _, err = run(capsys, "apply", cut, "-o", out, "--look", lipstick_look, "--max-faces", 1)
    # Then the frames that decode are written and play, a warning says where decoding stopped, and the exit is 1
    assert code == 1, err
    assert len(decoded(out)) == readable
    assert f"{cut}: decoding stopped at frame {readable + 1} of the {announced} frames its header announces" in err
    assert "Traceback" not in err


def test_a_video_whose_header_announces_a_frame_too_many_is_not_flagged(capsys, tmp_path, shared_data, lipstick_look):
    # Given an AVI of 8 frames whose stream header says 10 (some containers only estimate the count)
    frames = decoded(need_file(shared_data / "videos" / "tps_driving.mp4"))[:8]
    avi = tmp_path / "clip.avi"
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 25, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    data = bytearray(avi.read_bytes())
    strh = data.find(b"strh")
    data[strh + 40 : strh + 44] = (10).to_bytes(4, "little")  # AVISTREAMHEADER.dwLength
    avi.write_bytes(bytes(data))
    assert video_frames(avi) == (10, 8)
    # When it is made up, it counts as whole: every frame written, no warning, exit 0
    out = tmp_path / "out.mp4"
    code, _, err = run(capsys, "apply", avi, "-o", out, "--look", lipstick_look, "--max-faces", 1)
    assert code == 0 and "decoding stopped" not in err, err
    assert len(decoded(out)) == 8


def huge_png(path: Path, width: int, height: int) -> Path:
    """A valid all-black 1-bit PNG of ``width`` x ``height`` that takes a few kB on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the row's bits
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


PEAK_RSS = """\
import resource, sys
from pathlib import Path
from tryon.cli.main import main
code = main(sys.argv[1:])
status = Path("/proc/self/status")  # VmHWM: this program's own peak (ru_maxrss would carry pytest's over fork)
if status.exists():
    print(next(int(line.split()[1]) * 1024 for line in status.read_text().splitlines() if line.startswith("VmHWM")))
else:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024))
sys.exit(code)
"""


@pytest.mark.parametrize("command", ["apply", "parse"])
def test_a_huge_photo_is_refused_from_its_header_before_it_is_decoded(tmp_path, command):
    # Given a 16000x16000 photo (768 MB once decoded, gigabytes to make up) in a 30 kB file
    photo = huge_png(tmp_path / "huge.png", 16000, 16000)
    out = tmp_path / "outputs"
    out.mkdir()
    # When a child process makes it up or parses it
    env = {k: v for k, v in os.environ.items() if k != "TRYON_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, command, str(photo), "-o", str(out / "out.png")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    # Then one line names the file, its size and the limit; nothing is written; the photo was never decoded
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"tryon: error: {photo}: 16000x16000 is 256 megapixels; photos may have up to 67 megapixels (8192x8192): "
        "scale it down first"
    ]
    assert list(out.iterdir()) == []
    peak_mb = int(proc.stdout) / 2**20
    assert peak_mb < 400, f"peak memory {peak_mb:.0f} MB: the photo was decoded"


@pytest.mark.parametrize(
    ("case", "args", "existing"),
    [
        ("photo", ["apply", "{photo}", "-o", "{out}/out.jpg"], "out.jpg"),
        ("video", ["apply", "{video}", "-o", "{out}/out.mp4", "--max-frames", "2"], "out.mp4"),
        ("labels", ["parse", "{photo}", "-o", "{out}/labels.png", "--overlay", "{out}/viz.jpg"], "labels.png"),
        ("overlay", ["parse", "{photo}", "-o", "{out}/labels.png", "--overlay", "{out}/viz.jpg"], "viz.jpg"),
    ],
)
def test_no_clobber_leaves_an_existing_output_untouched_and_says_so(
    capsys, tmp_path, small_photo, video, case, args, existing
):
    out = tmp_path / "outputs"
    out.mkdir()
    (out / existing).write_bytes(b"mine")
    fields = {"photo": small_photo, "video": video, "out": out}
    for flag in ("-n", "--no-clobber"):
        code, _, err = run(capsys, *(a.format(**fields) for a in args), flag)
        assert code == 2, err
        assert err.strip().splitlines() == [
            f"tryon: error: {out / existing}: already exists; not overwritten (--no-clobber)"
        ]
        assert [p.name for p in out.iterdir()] == [existing] and (out / existing).read_bytes() == b"mine"


def test_no_clobber_on_a_folder_skips_the_photos_already_made_up(capsys, tmp_path, small_photo):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    dst.mkdir()
    shutil.copy(small_photo, src / "a.jpg")
    shutil.copy(small_photo, src / "b.jpg")
    (dst / "a.jpg").write_bytes(b"mine")
    code, _, err = run(capsys, "apply", src, "-o", dst, "--no-clobber")
    assert code == 0, err
    assert (dst / "a.jpg").read_bytes() == b"mine"
    assert read_image(dst / "b.jpg").shape == read_image(small_photo).shape
    assert f"1 written to {dst}, 1 skipped (already there)" in err
    assert sorted(p.name for p in dst.iterdir()) == ["a.jpg", "b.jpg"]


@pytest.mark.parametrize(
    ("case", "options", "message"),
    [("full disk", "size=4k", "No space left on device"), ("read-only", "ro", "Read-only file system")],
)
def test_a_folder_run_stops_at_a_write_error_every_photo_would_hit(tmp_path, small_photo, case, options, message):
    # Given four photos, and an OUTPUT folder on a full (or read-only) filesystem
    src, mount = tmp_path / "in", tmp_path / "mnt"
    src.mkdir()
    mount.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        shutil.copy(small_photo, src / name)
    # When the folder is made up
    env = {k: v for k, v in os.environ.items() if k != "TRYON_DEBUG"}
    command = [
        *small_filesystem(options),
        str(mount),
        sys.executable,
        "-m",
        "tryon",
        "apply",
        str(src),
        "-o",
        str(mount),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    # Then the error is said once, the run stops with a summary, and the folder holds no temporary file
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"tryon: error: {mount}/a.jpg: {message}",
        f"tryon: error: stopped after 1 of 4 photos: the others would fail to be written the same way; 0 written to "
        f"{mount}",
    ]
    assert proc.stdout == ""  # `ls -A` of the output folder after the run


def test_ctrl_c_in_a_folder_run_says_how_many_photos_were_done_and_exits_130(tmp_path, small_photo):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(12):
        shutil.copy(small_photo, src / f"{i:02}.jpg")
    proc = start_tryon("apply", str(src), "-o", str(dst))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (dst / "00.jpg").exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    written = sorted(dst.iterdir())
    assert 0 < len(written) < 12
    assert f"tryon: interrupted: {len(written)} of 12 photos done; {len(written)} written to {dst}" in err
    assert "Traceback" not in err
    for path in written:  # whole photos only, no temporary file
        assert path.suffix == ".jpg" and read_image(path).shape == read_image(small_photo).shape


# --- per-face looks, parsers, models, cameras -----------------------------------------------------------------------


def test_a_relative_face_look_on_the_command_line_is_taken_from_the_current_folder(
    capsys, tmp_path, monkeypatch, small_photo
):
    monkeypatch.chdir(tmp_path)
    Path("mine.yaml").write_text(LIPSTICK_ONLY, encoding="utf-8")
    code, out, err = run(capsys, "looks", "show", "natural", "--set", "faces.1=mine.yaml")
    assert code == 0, err
    assert yaml.safe_load(out)["faces"][1] == {"look": str(tmp_path / "mine.yaml")}
    code, _, err = run(capsys, "apply", small_photo, "-o", "out.jpg", "--set", "faces.0=mine.yaml")
    assert code == 0, err
    assert read_image(tmp_path / "out.jpg").shape == read_image(small_photo).shape


@pytest.mark.parametrize(
    ("look", "override", "message"),
    [
        (
            "natural",
            "faces.1=bad.yaml",
            "faces.1.look: {tmp}/bad.yaml: effects.lipstick.finish: 'glitter' is not allowed",
        ),
        ("natural", "faces.1.look=bad.yaml", "faces.1.look: {tmp}/bad.yaml: effects.lipstick.finish: 'glitter'"),
        ("natural", "faces.2=nope.yaml", "faces.2.look: {tmp}/nope.yaml: no such look file"),
        ("lips.yaml", "faces.1=bad.yaml", "faces.1.look: {tmp}/bad.yaml: effects.lipstick.finish: 'glitter'"),
    ],
)
def test_an_error_in_a_face_look_names_the_override_the_field_and_the_file(
    capsys, tmp_path, monkeypatch, small_photo, look, override, message
):
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(BAD_LOOK, encoding="utf-8")
    Path("lips.yaml").write_text(LIPSTICK_ONLY, encoding="utf-8")
    code, _, err = run(capsys, "apply", small_photo, "-o", "out.jpg", "--look", look, "--set", override)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"(override {override!r}): {message.format(tmp=tmp_path)}" in lines[0], err
    assert not Path("out.jpg").exists()


BAD_CARD = "input: {size: 256}\n"  # no output


@pytest.mark.parametrize(
    "args",
    [
        ["apply", "{photo}", "-o", "{tmp}/out.jpg"],
        ["apply", "{photo}", "-o", "{tmp}/out.jpg", "--parser", "{tmp}/missing.yaml"],
        ["apply", "{tmp}/in", "-o", "{tmp}/out"],
        ["parse", "{photo}", "-o", "{tmp}/labels.png"],
        ["eval", "{data}/celebamask-hq-samples"],
        ["cam", "--source", "{photo}"],
        ["demo", "--source", "{photo}"],
        ["bench", "--source", "{video}", "--frames", "3"],
    ],
    ids=["apply", "apply-missing-card", "apply-folder", "parse", "eval", "cam", "demo", "bench"],
)
def test_a_bad_parser_card_is_refused_before_anything_starts(tmp_path, shared_data, photo, video, args):
    # Given a malformed card (or one that does not exist)
    card = tmp_path / "card.yaml"
    card.write_text(BAD_CARD, encoding="utf-8")
    (tmp_path / "in").mkdir()
    shutil.copy(photo, tmp_path / "in" / "a.jpg")
    fields = {"photo": photo, "video": video, "tmp": tmp_path, "data": shared_data}
    argv = [a.format(**fields) for a in args]
    if "--parser" not in argv:
        argv += ["--parser", str(card)]
    env = {k: v for k, v in os.environ.items() if k not in ("TRYON_DEBUG", "DISPLAY")}
    # When a command is given it
    proc = subprocess.run([sys.executable, "-m", "tryon", *argv], capture_output=True, text=True, timeout=300, env=env)
    # Then its error is the one line printed: no MediaPipe log line before it, no camera or window opened, no
    # output folder made
    assert proc.returncode == 2
    expected = "no such model card" if "missing" in argv[-1] else "output: missing field"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tryon: error: {argv[-1]}: {expected}"), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.yaml", "in"]


def test_models_take_the_parser_names_too(capsys, shared_models, monkeypatch):
    monkeypatch.setenv("TRYON_MODELS_DIR", str(shared_models))
    code, by_model, err = run(capsys, "models", "path", "skin-clothes-hair-onnx")
    assert code == 0, err
    code, by_parser, err = run(capsys, "models", "path", "skin-clothes-hair")
    assert code == 0 and by_parser == by_model, err
    code, _, err = run(capsys, "models", "path", "skin-clothes-hair+mediapipe-hair")
    assert code == 2 and "runs 2 models: skin-clothes-hair-onnx, mediapipe-hair; name one of them" in err
    code, _, err = run(capsys, "models", "path", "bisenet")
    assert code == 2 and "known models: " in err and "or a parser name: skin-clothes-hair, mediapipe-hair" in err


@pytest.mark.parametrize("command", ["demo", "cam"])
@pytest.mark.parametrize("source", ["-1", "-7"])
def test_a_negative_camera_index_is_a_usage_error(capsys, command, source):
    code, _, err = run(capsys, command, "--source", source)
    assert code == 2 and f"argument --source: a camera index must be 0 or more, got {source}" in err
    assert "usage: tryon" in err and "no such file" not in err and "Traceback" not in err
