"""The manifest: it matches the real model files, its cards match the real networks, and bad manifests are refused."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import REPO, need_file
from tests.models.helpers import entry, payload
from tryon.errors import ModelError
from tryon.models import Manifest, ModelManager, ModelStatus, onnx_session
from tryon.models.manifest import find_manifest

NAMES = (
    "mediapipe-hair",
    "mediapipe-selfie",
    "mediapipe-selfie-landscape",
    "face-detection-short",
    "face-detection-full",
    "face-landmark",
    "face-landmark-attention",
    "iris-landmark",
    "face-landmarker-task",
    "selfie-segmentation-onnx",
    "meet-segmentation-onnx",
    "sinet-portrait-onnx",
    "skin-clothes-hair-onnx",
)
PERSON_SEGMENTERS = ("selfie-segmentation-onnx", "meet-segmentation-onnx", "sinet-portrait-onnx")


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return Manifest.load()


def test_the_manifest_knows_every_model_and_each_segmenter_has_a_card(manifest):
    assert set(NAMES) <= set(manifest.names)
    for e in manifest:
        assert (e.card is not None) == (e.task == "segmentation"), e.name
    hair = manifest.get("mediapipe-hair").card
    assert hair.input.extra_channels == ("previous_mask",) and hair.input.shape == (1, 512, 512, 4)
    assert hair.channel("hair") == 1
    assert manifest.get("skin-clothes-hair-onnx").card.output.classes == (
        ("face_skin", "neck", "body_skin"),
        "clothes",
        "hair",
    )


def test_every_download_is_pinned(manifest):
    for e in manifest:
        if e.url.startswith("https://github.com/"):
            assert re.search(r"/raw/[0-9a-f]{40}/", e.url), f"{e.name}: {e.url} is not pinned to a commit"
        else:
            assert e.url.startswith("https://storage.googleapis.com/mediapipe-models/"), e.url
    assert "float16/1/face_landmarker.task" in manifest.get("face-landmarker-task").url


def test_no_url_or_checksum_is_written_outside_the_manifest(manifest):
    package = REPO / "tryon"
    sources = {p: p.read_text(encoding="utf-8") for p in package.rglob("*.py")}
    for e in manifest:
        for value in (e.url, e.sha256, e.url.rsplit("/", 1)[0]):
            copies = [str(p.relative_to(REPO)) for p, text in sources.items() if value in text]
            assert not copies, f"{e.name}: {value} is written again in {copies}"


def test_the_manifest_matches_the_shared_model_files(manifest, shared_models, tmp_path):
    for e in manifest:
        path = need_file(shared_models / e.file)
        assert path.stat().st_size == e.size, e.name
    # The shared folder is a ready cache: every model verifies (hashed from scratch).
    states = ModelManager(shared_models, manifest, checksums=tmp_path / "checksums.json").verify()
    bad = [(s.name, s.status.value, s.sha256) for s in states if s.status is not ModelStatus.OK]
    assert not bad, f"these shared models do not match the manifest: {bad}"


def test_the_onnx_cards_match_their_networks(manifest, shared_models):
    onnx = [e for e in manifest if e.file.endswith(".onnx")]
    assert len(onnx) == 4
    for e in onnx:
        onnx_session(need_file(shared_models / e.file), "cpu", card=e.card)  # raises when the shapes disagree


def test_the_person_segmenters_agree_on_a_real_photo(manifest, shared_models, shared_data, tmp_path):
    """A card with a wrong colour order, normalisation or activation would make its model disagree with the others."""
    frame = cv2.imread(str(need_file(shared_data / "people" / "idm_00034_00.jpg")))
    masks = {}
    for name in PERSON_SEGMENTERS:
        card = manifest.get(name).card
        session = onnx_session(need_file(shared_models / manifest.get(name).file), "cpu", card=card)
        output = session.run(None, {session.get_inputs()[0].name: card.prepare(frame)})[0]
        person = card.probabilities(output)[:, :, card.channel("person")]
        masks[name] = cv2.resize(person, (frame.shape[1], frame.shape[0])) > 0.5
    for name, mask in masks.items():
        cv2.imwrite(str(tmp_path / f"{name}.png"), mask.astype(np.uint8) * 255)
    for a in PERSON_SEGMENTERS:
        assert 0.2 < masks[a].mean() < 0.8, f"{a}: implausible person share {masks[a].mean():.2f}"
        for b in PERSON_SEGMENTERS:
            iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
            assert iou >= 0.9, f"{a} and {b} disagree (IoU {iou:.3f}); masks saved in {tmp_path}"


BAD = [
    ({"models": []}, r"must be a mapping with 'models'"),
    ({"models": {}, "extra": 1}, r"extra: unknown field; allowed: version, comment, models"),
    ({"models": {"Bad Name": entry(b"x")}}, r"Bad Name: a model name is lower-case letters"),
    ({"models": {"m": {**entry(b"x"), "sha256": "abc"}}}, r"m: sha256: must be 64 lower-case hex digits"),
    ({"models": {"m": {**entry(b"x"), "size": 0}}}, r"m: size: must be the file size in bytes"),
    ({"models": {"m": {**entry(b"x"), "file": "/abs/m.bin"}}}, r"m: file: must be a relative path"),
    ({"models": {"m": {**entry(b"x"), "file": "../m.bin"}}}, r"m: file: must be a relative path"),
    ({"models": {"m": {**entry(b"x"), "url": "ftp://host/m"}}}, r"m: url: must be an http\(s\) URL"),
    ({"models": {"m": {**entry(b"x"), "task": "magic"}}}, r"m: task: 'magic' is not allowed; allowed: segmentation"),
    ({"models": {"m": {**entry(b"x"), "task": "segmentation"}}}, r"m: card: missing field; a segmentation"),
    ({"models": {"m": {**entry(b"x"), "licence": ""}}}, r"m: licence: must be a non-empty text"),
    ({"models": {"m": {**entry(b"x"), "mirror": "x"}}}, r"m: mirror: unknown field; allowed: file, url"),
    ({"models": {"m": {k: v for k, v in entry(b"x").items() if k != "url"}}}, r"m: url: missing field"),
    (
        {"models": {"m": {**entry(b"x"), "task": "segmentation", "card": {"input": {"size": [4, 4]}}}}},
        r"test: m: card: output: missing field",
    ),
    (
        {"models": {"a": entry(b"x", name="a"), "b": entry(b"x", name="b")}},
        r"b and a have the same sha256",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_manifests_are_refused_naming_the_model_and_field(data, message):
    with pytest.raises(ModelError, match=message):
        Manifest.from_dict(data, "test")


def test_a_manifest_file_that_is_not_json_says_where(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('{"models": {\n', encoding="utf-8")
    with pytest.raises(ModelError, match=r"manifest\.json: line 2, column 1: not valid JSON"):
        Manifest.load(path)


def test_lookups(manifest):
    assert manifest.get("mediapipe-hair").file == "mediapipe/hair_segmentation.tflite"
    assert manifest.by_sha256(manifest.get("sinet-portrait-onnx").sha256).name == "sinet-portrait-onnx"
    assert manifest.by_sha256("0" * 64) is None
    with pytest.raises(ModelError, match=r"unknown model 'hair'; known models: mediapipe-hair, mediapipe-selfie, "):
        manifest.get("hair")
    assert Manifest.from_dict({"models": {"x": entry(payload(10))}}).names == ("x",)


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("site/tryon/_models/manifest.json", "site/tryon/_models/manifest.json"),  # a wheel
        ("repo/models/manifest.json", "repo/models/manifest.json"),  # a source checkout
    ],
)
def test_the_manifest_is_found_in_a_wheel_and_in_a_checkout(tmp_path, layout, expected):
    (tmp_path / layout).parent.mkdir(parents=True)
    (tmp_path / layout).write_text("{}", encoding="utf-8")
    package = tmp_path / layout.split("/")[0] / "tryon"
    assert find_manifest(package) == tmp_path / expected


def test_a_missing_manifest_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(ModelError, match=r"manifest was not found .*_models.*reinstall"):
        find_manifest(Path(tmp_path / "tryon"))
