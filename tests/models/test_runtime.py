"""ONNX sessions: execution providers picked in order and overridable, missing dependencies explained."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from tryon.errors import DependencyError, ModelError
from tryon.models import ModelCard, import_optional, onnx_session, select_providers

ALL = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider", "AzureExecutionProvider"]


@pytest.fixture
def offered(monkeypatch):
    """Sets the providers onnxruntime claims to offer."""
    monkeypatch.delenv("TRYON_PROVIDERS", raising=False)

    def offer(*providers: str) -> None:
        monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: list(providers))

    return offer


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        (ALL, ["CUDAExecutionProvider", "CPUExecutionProvider"]),
        (["CPUExecutionProvider", "CoreMLExecutionProvider"], ["CoreMLExecutionProvider", "CPUExecutionProvider"]),
        (["DmlExecutionProvider", "CPUExecutionProvider"], ["DmlExecutionProvider", "CPUExecutionProvider"]),
        (["AzureExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]),
        (
            ["CPUExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider", "CUDAExecutionProvider"],
            ["CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider", "CPUExecutionProvider"],
        ),
    ],
)
def test_auto_picks_cuda_coreml_directml_then_cpu(offered, available, expected):
    offered(*available)
    assert select_providers() == expected
    assert select_providers("auto") == expected


def test_the_argument_and_tryon_providers_override_auto(offered, monkeypatch):
    offered(*ALL)
    assert select_providers(["cpu"]) == ["CPUExecutionProvider"]
    assert select_providers("tensorrt, CUDA,cpu") == ALL[:3]
    assert select_providers(["CUDAExecutionProvider", "cuda"]) == ["CUDAExecutionProvider"]  # once each
    monkeypatch.setenv("TRYON_PROVIDERS", "cpu")
    assert select_providers() == ["CPUExecutionProvider"]
    assert select_providers(["cuda"]) == ["CUDAExecutionProvider"]  # an explicit argument beats the variable


@pytest.mark.parametrize(
    ("providers", "env", "message"),
    [
        (["cuda2"], None, r"providers: execution provider 'cuda2' is unknown; available here: CPUExecutionProvider"),
        (["coreml"], None, r"execution provider 'coreml' is not available here; available here: CPUExecutionProvider"),
        ("auto", "rocm", r"TRYON_PROVIDERS=rocm: execution provider 'rocm' is not available here"),
        ([], None, r"no execution provider given; available here: CPUExecutionProvider \(short names: coreml, cpu"),
    ],
)
def test_unknown_or_unavailable_providers_list_the_available_ones(offered, monkeypatch, providers, env, message):
    offered("CPUExecutionProvider")
    if env is not None:
        monkeypatch.setenv("TRYON_PROVIDERS", env)
    with pytest.raises(ModelError, match=message):
        select_providers(providers)


def tiny_model(path, channels_out: int = 1) -> None:
    """A 1x4x4x3 -> 1x4x4xN graph (the mean of the colour channels)."""
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 4, 4, 3])
    y = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 4, 4, channels_out])
    nodes = [helper.make_node("ReduceMean", ["image"], ["mean"], axes=[3], keepdims=1)]
    nodes.append(helper.make_node("Concat", ["mean"] * channels_out, ["mask"], axis=3))
    model = helper.make_model(helper.make_graph(nodes, "tiny", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


CARD = {"input": {"size": [4, 4], "layout": "NHWC"}, "output": {"layout": "NHWC", "classes": ["person"]}}


def test_onnx_session_runs_a_model_on_the_chosen_provider(tmp_path, monkeypatch):
    monkeypatch.delenv("TRYON_PROVIDERS", raising=False)
    path = tmp_path / "tiny.onnx"
    tiny_model(path)
    card = ModelCard.from_dict(CARD, name="tiny")
    session = onnx_session(path, ["cpu"], card=card)
    assert session.get_providers() == ["CPUExecutionProvider"]
    frame = np.full((8, 8, 3), 51, np.uint8)
    (out,) = session.run(None, {"image": card.prepare(frame)})
    np.testing.assert_allclose(card.probabilities(out), 0.2, rtol=1e-6)


def test_onnx_session_refuses_a_network_that_contradicts_its_card(tmp_path):
    path = tmp_path / "tiny.onnx"
    tiny_model(path, channels_out=2)
    card = ModelCard.from_dict(CARD, name="tiny")
    with pytest.raises(ModelError, match=r"tiny\.onnx: the card tiny says the output is NHWC with 1 channel"):
        onnx_session(path, "cpu", card=card)


def test_onnx_session_refuses_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"junk\.onnx: onnxruntime could not load it"):
        onnx_session(path, "cpu")


def test_a_missing_optional_dependency_gives_the_pip_line(monkeypatch):
    with pytest.raises(
        DependencyError, match=r'tryon_absent is missing .*; install it with: pip install "tryon\[gpu\]"'
    ):
        import_optional("tryon_absent", "gpu")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r'pip install "tryon\[onnx\]"'):  # a DependencyError is an ImportError
        onnx_session("model.onnx")
