"""Model cards: validation with precise errors, standalone card files, and the tensors they describe."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from tryon.errors import ModelError
from tryon.models import Activation, ColorOrder, Layout, ModelCard

CARD = {
    "input": {
        "size": [4, 6],
        "layout": "NCHW",
        "color": "RGB",
        "scale": 1 / 255,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
    },
    "output": {"layout": "NCHW", "activation": "softmax", "classes": ["background", "person"]},
}


def with_field(path: str, value: object) -> dict:
    """CARD with one field (dotted path) replaced, or removed when value is ...."""
    card = copy.deepcopy(CARD)
    *parents, key = path.split(".")
    node = card
    for parent in parents:
        node = node[parent]
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return card


def test_a_valid_card_is_read_with_its_defaults():
    card = ModelCard.from_dict({"input": {"size": [256, 256]}, "output": {"classes": ["person"]}}, name="mine")
    assert card.name == "mine"
    assert (card.input.layout, card.input.color, card.input.scale) == (Layout.NHWC, ColorOrder.RGB, 1 / 255)
    assert card.input.shape == (1, 256, 256, 3)
    assert (card.output.activation, card.output.classes) == (Activation.NONE, ("person",))


def test_a_card_round_trips_through_plain_data():
    card = ModelCard.from_dict(
        with_field("output.classes", [None, ["face_skin", "neck", "body_skin"], "hair"]), name="scm"
    )
    assert ModelCard.from_dict(card.as_dict()) == card
    assert card.output.classes[1] == ("face_skin", "neck", "body_skin")
    assert card.channel("neck") == 1 and card.channel("hair") == 2


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("input", ..., r"card bad: input: missing field; a card needs input, output"),
        ("output", ..., r"card bad: output: missing field"),
        ("input.size", ..., r"card bad: input\.size: missing field; input needs size"),
        ("output.classes", ..., r"card bad: output\.classes: missing field"),
        ("input.size", [512], r"input\.size: must be \[height, width\], two whole numbers >= 1, got \[512\]"),
        ("input.size", [512, 0], r"input\.size: must be \[height, width\]"),
        ("input.size", [512.5, 512], r"input\.size: must be \[height, width\]"),
        ("input.size", "512x512", r"input\.size: must be \[height, width\]"),
        ("input.layout", "CHW", r"input\.layout: \"CHW\" is not allowed; allowed: NCHW, NHWC"),
        ("output.layout", "HWC", r"output\.layout: \"HWC\" is not allowed; allowed: NCHW, NHWC"),
        ("input.color", "YUV", r"input\.color: \"YUV\" is not allowed; allowed: RGB, BGR"),
        ("output.activation", "relu", r"output\.activation: \"relu\" is not allowed; allowed: softmax, sigmoid, none"),
        ("input.scale", 0, r"input\.scale: must be a positive number, got 0"),
        ("input.mean", [0.5, 0.5], r"input\.mean: must be a number or a list of 3 numbers"),
        ("input.std", [1, 0, 1], r"input\.std: must be a number or a list of 3 non-zero numbers"),
        (
            "input.extra_channels",
            ["depth"],
            r"input\.extra_channels\[0\]: unknown extra channel \"depth\"; allowed: previous_mask",
        ),
        (
            "output.classes",
            ["background", "skin"],
            r"output\.classes\[1\]: unknown class \"skin\"; allowed: background, face_skin, .*person, "
            r"a list of them \(a union\), or null",
        ),
        ("output.classes", [], r"output\.classes: must be a list with one entry per output channel"),
        ("output.classes", "hair", r"output\.classes: must be a list with one entry per output channel"),
        ("output.classes", ["hair", "hair"], r"output\.classes\[1\]: class 'hair' is given twice \(channels 0 and 1\)"),
        ("output.classes", [["hair", 3]], r"output\.classes\[0\]: unknown class 3"),
        (
            "input.sise",
            [4, 4],
            r"input\.sise: unknown field; allowed: size, layout, color, scale, mean, std, extra_channels",
        ),
        ("labels", ["hair"], r"card bad: labels: unknown field; allowed: name, input, output, notes"),
        ("model", "net.onnx", r"card bad: model: unknown field"),  # only a standalone card names its file
    ],
)
def test_bad_cards_are_refused_naming_the_field_and_what_is_allowed(path, value, message):
    with pytest.raises(ModelError, match=message):
        ModelCard.from_dict(with_field(path, value), name="bad")


def test_softmax_needs_two_channels():
    card = with_field("output.classes", ["person"])
    with pytest.raises(ModelError, match=r"output\.activation: softmax needs at least 2 output channels"):
        ModelCard.from_dict(card, name="bad")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_standalone_card_file_names_its_model_beside_it(tmp_path, suffix):
    data = {"name": "my-parser", "model": "nets/parser.onnx", **CARD}
    path = tmp_path / f"card{suffix}"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is valid YAML too
    card = ModelCard.from_file(path)
    assert card.name == "my-parser"
    assert card.model == tmp_path / "nets" / "parser.onnx"
    assert card.output.classes == ("background", "person")


def test_a_standalone_card_is_named_after_its_file_by_default(tmp_path):
    path = tmp_path / "face-parser.yml"
    path.write_text("input: {size: [512, 512]}\noutput: {classes: [background, face_skin, hair]}\n", encoding="utf-8")
    card = ModelCard.from_file(path)
    assert card.name == "face-parser" and card.model is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("card.yaml", "input: {size: [512, 512]\noutput: {}\n", r"card\.yaml: line 2, column \d+: not valid YAML"),
        ("card.json", '{"input": ', r"card\.json: line 1, column \d+: not valid JSON"),
        ("card.yaml", "- a list\n", r"card\.yaml: must be a mapping with name, input, output, notes, model"),
        (
            "card.yaml",
            "input: {size: [5, 5]}\noutput: {classes: [lips]}\n",
            r"card\.yaml: output\.classes\[0\]: unknown class \"lips\"",
        ),
        ("card.txt", "", r"card\.txt: a model card must end in \.yaml, \.yml, \.json"),
    ],
)
def test_bad_card_files_are_refused_with_the_file_and_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        ModelCard.from_file(path)


def test_a_missing_card_file_is_refused(tmp_path):
    with pytest.raises(ModelError, match=r"missing\.yaml: no such model card"):
        ModelCard.from_file(tmp_path / "missing.yaml")


# The tensors


def test_prepare_normalises_in_the_cards_colour_order_and_layout():
    card = ModelCard.from_dict(CARD, name="t")
    frame = np.zeros((8, 12, 3), np.uint8)
    frame[:] = (10, 128, 250)  # BGR
    tensor = card.prepare(frame)
    assert tensor.shape == (1, 3, 4, 6) and tensor.dtype == np.float32
    rgb = np.array([250, 128, 10]) / 255
    expected = (rgb - np.array(CARD["input"]["mean"])) / np.array(CARD["input"]["std"])
    np.testing.assert_allclose(tensor[0, :, 2, 3], expected, rtol=1e-5)


def test_prepare_keeps_bgr_and_nhwc_when_the_card_says_so():
    card = ModelCard.from_dict(
        {
            "input": {"size": [4, 4], "layout": "NHWC", "color": "BGR", "scale": 1, "mean": 127.5, "std": 127.5},
            "output": {"classes": ["person"]},
        },
        name="t",
    )
    frame = np.full((4, 4, 3), (0, 255, 51), np.uint8)
    tensor = card.prepare(frame)
    assert tensor.shape == (1, 4, 4, 3)
    np.testing.assert_allclose(tensor[0, 1, 1], [-1.0, 1.0, 51 / 127.5 - 1], atol=1e-6)


def test_the_previous_mask_channel_defaults_to_zeros_and_takes_a_mask():
    card = ModelCard.from_dict(
        {
            "input": {"size": [4, 4], "extra_channels": ["previous_mask"]},
            "output": {"activation": "softmax", "classes": [None, "hair"]},
        },
        name="hair",
    )
    frame = np.full((8, 8, 3), 255, np.uint8)
    assert card.input.shape == (1, 4, 4, 4)
    still = card.prepare(frame)
    np.testing.assert_allclose(still[0, :, :, :3], 1.0)
    assert not still[0, :, :, 3].any()
    moving = card.prepare(frame, {"previous_mask": np.ones((8, 8), np.float32) * 0.75})
    np.testing.assert_allclose(moving[0, :, :, 3], 0.75)
    with pytest.raises(ModelError, match=r"unknown extra input 'depth'; this model takes: previous_mask"):
        card.prepare(frame, {"depth": np.zeros((8, 8))})


def test_probabilities_apply_the_activation_in_hwc():
    softmax = ModelCard.from_dict(CARD, name="t")
    logits = np.stack([np.zeros((4, 6)), np.full((4, 6), np.log(3.0))])[None]  # NCHW
    probs = softmax.probabilities(logits)
    assert probs.shape == (4, 6, 2)
    np.testing.assert_allclose(probs[..., 1], 0.75, rtol=1e-6)
    sigmoid = ModelCard.from_dict(with_field("output.activation", "sigmoid"), name="t")
    np.testing.assert_allclose(sigmoid.probabilities(logits)[..., 1], 0.75, rtol=1e-6)
    none = ModelCard.from_dict(with_field("output.activation", "none"), name="t")
    np.testing.assert_allclose(none.probabilities(logits), logits[0].transpose(1, 2, 0), rtol=1e-6)
    with pytest.raises(
        ModelError, match=r"the output has shape \(1, 3, 4, 6\), but the card says NCHW with 2 channels"
    ):
        softmax.probabilities(np.zeros((1, 3, 4, 6)))


@pytest.mark.parametrize(
    ("input_shape", "output_shape", "message"),
    [
        ([1, 3, 4, 6], [1, 2, 4, 6], None),
        (["batch", 3, 4, 6], [None, 2, "h", "w"], None),  # dynamic dimensions match anything
        (
            [1, 4, 6, 3],
            [1, 2, 4, 6],
            r"net\.onnx: the card t says the input is NCHW 1x3x4x6, but the network takes 1x4x6x3",
        ),
        (
            [1, 3, 4, 6],
            [1, 3, 4, 6],
            r"the output is NCHW with 2 channels \(1x2x\?x\?\), but the network gives 1x3x4x6",
        ),
    ],
)
def test_check_shapes_compares_the_network_with_its_card(input_shape, output_shape, message):
    card = ModelCard.from_dict(CARD, name="t")
    if message is None:
        card.check_shapes(input_shape, output_shape, "net.onnx")
    else:
        with pytest.raises(ModelError, match=message):
            card.check_shapes(input_shape, output_shape, "net.onnx")


def test_asking_for_a_class_the_model_lacks_lists_its_channels():
    card = ModelCard.from_dict(CARD, name="t")
    with pytest.raises(ModelError, match=r"model t has no 'hair' channel; its channels: background, person"):
        card.channel("hair")
