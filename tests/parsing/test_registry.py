"""The parser registry: names, card files and combinations to parsers; ``auto``; helpful errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import need_file
from tests.parsing.model_helpers import red_blue, tiny_card, tiny_onnx, write_card
from tryon.errors import DependencyError, InputError, ModelError
from tryon.models import Manifest
from tryon.parsing import registry
from tryon.parsing.backends import CardBackend, CombinedBackend
from tryon.parsing.fusion import ModelFrameParser
from tryon.parsing.parser import LandmarkFrameParser
from tryon.parsing.registry import PARSERS, create_backend, create_parser, parser_names, resolve_name


@pytest.fixture
def no_models(tmp_path, monkeypatch):
    """An empty models folder: every model is missing."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("TRYON_MODELS_DIR", str(folder))
    return folder


@pytest.mark.parametrize(
    ("name", "models"),
    [
        ("landmarks", ()),
        ("skin-clothes-hair", ("skin-clothes-hair-onnx",)),
        ("mediapipe-hair", ("mediapipe-hair",)),
        ("sinet-portrait-onnx", ("sinet-portrait-onnx",)),  # any manifest model with a card
        ("skin-clothes-hair+mediapipe-hair", ("skin-clothes-hair-onnx", "mediapipe-hair")),
        ("selfie+mediapipe-hair", ("selfie-segmentation-onnx", "mediapipe-hair")),
        ("cards/my-bisenet.yaml", ("cards/my-bisenet.yaml",)),
    ],
)
def test_names_resolve_to_the_models_they_run(name, models):
    assert resolve_name(name) == models


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("bisenet", "unknown parser 'bisenet'; valid names: landmarks, skin-clothes-hair"),
        ("face-landmark", "unknown parser 'face-landmark'"),  # in the manifest, but no segmentation card
        ("skin-clothes-hair+", "an empty name"),
        ("landmarks+mediapipe-hair", "'landmarks' cannot be combined"),
    ],
)
def test_unknown_names_are_refused_listing_the_valid_ones(name, error):
    with pytest.raises(InputError, match=error):
        create_parser(name)


def test_the_unknown_name_error_lists_every_parser_and_segmentation_model():
    with pytest.raises(InputError) as info:
        resolve_name("nope")
    for name in (*PARSERS, "auto", "selfie-segmentation-onnx", ".yaml"):
        assert name in str(info.value)


def test_landmarks_is_todays_default_with_no_model():
    assert create_backend("landmarks") is None
    assert isinstance(create_parser("landmarks"), LandmarkFrameParser)
    assert "landmarks" in parser_names() and "auto" in parser_names()


def test_auto_is_a_parser_choice_not_a_backend():
    with pytest.raises(InputError, match="use create_parser"):
        create_backend("auto")


@pytest.mark.parametrize("name", ["skin-clothes-hair", "mediapipe-hair", "sinet"])
def test_a_missing_model_says_how_to_fetch_it(no_models, name):
    with pytest.raises(ModelError, match=rf"tryon models pull {PARSERS[name].models[0]}"):
        create_parser(name)


def _registry_records(caplog):
    return [r for r in caplog.records if r.name == "tryon.parsing.registry"]


def test_auto_falls_back_to_the_landmark_parser_when_no_model_is_installed(no_models, caplog):
    # Given no model installed, and INFO logged (what `-v` shows)
    caplog.set_level("INFO", logger="tryon.parsing.registry")
    # When auto picks a parser
    parser = create_parser("auto")
    # Then it takes the landmark parser and says so once: each model it looked for, where, and how to fetch it
    assert isinstance(parser, LandmarkFrameParser)
    (record,) = _registry_records(caplog)
    message = record.getMessage()
    assert record.levelname == "INFO" and "using the landmark parser" in message
    assert "skin-clothes-hair: model skin-clothes-hair-onnx is not installed" in message
    for model in ("skin-clothes-hair-onnx", "mediapipe-hair"):
        assert str(no_models / Manifest.default().get(model).file) in message
        assert message.count(f"fetch it with: tryon models pull {model} ") == 1


def test_auto_logs_the_model_it_picks(shared_models, caplog):
    # Given both models installed
    for model in ("skin-clothes-hair-onnx", "mediapipe-hair"):
        need_file(shared_models / Manifest.default().get(model).file)
    caplog.set_level("INFO", logger="tryon.parsing.registry")
    # When auto picks, then it says once which parser and which model files it runs
    with create_parser("auto"):
        pass
    (record,) = _registry_records(caplog)
    message = record.getMessage()
    assert record.levelname == "INFO" and message.startswith("parser auto: using skin-clothes-hair+mediapipe-hair")
    for model in ("skin-clothes-hair-onnx", "mediapipe-hair"):
        file = Manifest.default().get(model).file
        found = re.search(rf"{model}: (/\S*{re.escape(file)})", message)
        assert found and os.path.samefile(found[1], shared_models / file), message


def test_auto_passes_over_a_missing_runtime(monkeypatch, shared_models, caplog):
    # Given every model installed but no TFLite runtime, and auto preferring the hair model
    need_file(shared_models / Manifest.default().get("skin-clothes-hair-onnx").file)
    from tryon.parsing.backends import tflite

    def missing(modules=()):
        raise DependencyError('a TFLite interpreter is missing; install it with: pip install "tryon[tflite]"')

    monkeypatch.setattr(tflite, "load_interpreter", missing)
    monkeypatch.setattr(registry, "AUTO", ("mediapipe-hair", "skin-clothes-hair", "landmarks"))
    caplog.set_level("INFO", logger="tryon.parsing.registry")
    # When auto picks, then it takes the next model and says why it passed over the first
    with create_parser("auto") as parser:
        assert isinstance(parser, ModelFrameParser) and parser.name == "skin-clothes-hair-onnx"
    # (a warning first, shown without -v: the model is installed, so its user wants it used)
    warning, record = _registry_records(caplog)
    assert warning.levelname == "WARNING" and warning.getMessage() == (
        "parser auto: passing over mediapipe-hair: a TFLite interpreter is missing; install it with: "
        'pip install "tryon[tflite]"'
    )
    assert record.getMessage().startswith("parser auto: using skin-clothes-hair")
    assert (
        'mediapipe-hair: a TFLite interpreter is missing; install it with: pip install "tryon[tflite]"'
        in record.getMessage()
    )
    # And asking for the hair model by name raises the pip line
    with pytest.raises(DependencyError, match=r'pip install "tryon\[tflite\]"'):
        create_parser("mediapipe-hair")


def test_auto_warns_when_it_passes_over_a_corrupt_model(no_models, shared_models, caplog):
    # Given the hair model installed but corrupt (two bytes appended), and no other model
    entry = Manifest.default().get("mediapipe-hair")
    corrupt = no_models / entry.file
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(need_file(shared_models / entry.file).read_bytes() + b"\0\0")
    caplog.set_level("WARNING", logger="tryon.parsing.registry")
    # When auto picks a parser
    parser = create_parser("auto")
    # Then it takes the landmark parser, and says at WARNING (without -v) which model it passed over and why, once
    # (before: only with -v); the missing model is no surprise and is not warned about
    assert isinstance(parser, LandmarkFrameParser)
    (record,) = _registry_records(caplog)
    message = record.getMessage()
    assert record.levelname == "WARNING" and message.startswith("parser auto: passing over ")
    assert f"{corrupt} is corrupt" in message and "tryon models pull mediapipe-hair" in message
    assert "skin-clothes-hair-onnx" not in message


def test_auto_resolves_to_no_model_when_none_is_installed(no_models):
    assert resolve_name("auto") == ()  # nothing installed: the landmark parser


def test_auto_picks_the_best_installed_model(shared_models):
    for model in ("skin-clothes-hair-onnx", "mediapipe-hair"):
        need_file(shared_models / Manifest.default().get(model).file)
    with create_parser("auto", mode="video", every=2) as parser:
        assert isinstance(parser, ModelFrameParser)
        assert parser.name == "skin-clothes-hair+mediapipe-hair" and parser.every == 2 and parser.mode == "video"
        assert parser.background
    assert resolve_name("auto") == ("skin-clothes-hair-onnx", "mediapipe-hair")


def test_a_card_file_makes_a_parser_with_no_code(tmp_path):
    tiny_onnx(tmp_path / "tiny.onnx")
    card = write_card(tmp_path / "tiny.yaml", tiny_card())
    backend = create_backend(card, providers="cpu")
    assert isinstance(backend, CardBackend) and backend.name == "tiny"
    hair = backend.predict(red_blue()).prob({"hair"})
    assert hair is not None and hair[:, :4].min() > 0.99
    backend.close()
    with create_parser(str(card)) as parser:
        assert isinstance(parser, ModelFrameParser) and parser.name == "tiny"


def test_names_joined_by_plus_run_side_by_side(tmp_path, shared_models):
    need_file(shared_models / Manifest.default().get("selfie-segmentation-onnx").file)
    tiny_onnx(tmp_path / "tiny.onnx")
    card = write_card(tmp_path / "tiny.yaml", tiny_card())
    backend = create_backend(f"selfie+{card}", providers="cpu")
    assert isinstance(backend, CombinedBackend)
    probs = backend.predict(np.zeros((64, 64, 3), np.uint8))
    assert probs.classes == {"background", "hair", "person"}
    backend.close()


def test_a_failing_part_closes_the_parts_already_built(tmp_path, no_models, monkeypatch):
    tiny_onnx(tmp_path / "tiny.onnx")
    card = write_card(tmp_path / "tiny.yaml", tiny_card())
    closed = []
    monkeypatch.setattr(CardBackend, "close", lambda self: closed.append(self.name))
    with pytest.raises(ModelError, match="tryon models pull mediapipe-hair"):
        create_backend(f"{card}+mediapipe-hair", providers="cpu")
    assert closed == ["tiny"]


def test_importing_the_registry_loads_no_runtime():
    code = (
        "import sys, tryon.parsing.registry, tryon.parsing.backends, tryon.parsing.fusion; "
        "print(sorted(m for m in ('onnxruntime', 'ai_edge_litert', 'tflite_runtime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
