"""Model backends: a network plugged in with a card alone, the TFLite hair model, probabilities and their errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import need_file
from tests.parsing.model_helpers import FakeBackend, red_blue, tiny_card, tiny_onnx, write_card
from tryon.errors import DependencyError, InputError, ModelError
from tryon.evaluation import Dataset, read_label
from tryon.geometry import Box
from tryon.image import read_image
from tryon.models import Manifest, ModelCard
from tryon.parsing.backends import (
    BodyProbs,
    CombinedBackend,
    load_interpreter,
    onnx_backend,
    smooth_with_previous,
    tflite_backend,
)
from tryon.parsing.backends.base import _Preprocessor, activate, predict_windows

CELEBA = "celebamask-hq-samples"


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


# --- A network plugged in with a card alone -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "color", "activation", "classes", "graph_sigmoid", "left", "right"),
    [
        # hair logit 10 * (first - third colour channel) against a background logit 0
        ("NCHW", "RGB", "softmax", ["background", "hair"], False, _sigmoid(10), _sigmoid(-10)),
        ("NHWC", "RGB", "softmax", ["background", "hair"], False, _sigmoid(10), _sigmoid(-10)),
        ("NCHW", "BGR", "softmax", ["background", "hair"], False, _sigmoid(-10), _sigmoid(10)),
        ("NCHW", "RGB", "sigmoid", [None, "hair"], False, _sigmoid(10), _sigmoid(-10)),
        ("NHWC", "RGB", "none", [None, "hair"], True, _sigmoid(10), _sigmoid(-10)),
    ],
)
def test_a_tiny_network_runs_through_the_generic_backend_with_a_card_alone(
    tmp_path, layout, color, activation, classes, graph_sigmoid, left, right
):
    # Given a 1x1-conv network and a card file naming it
    tiny_onnx(tmp_path / "tiny.onnx", layout=layout, sigmoid=graph_sigmoid)
    card = write_card(
        tmp_path / "tiny.yaml", tiny_card(layout=layout, color=color, activation=activation, classes=classes)
    )
    # When the generic ONNX backend runs it on a red | blue frame
    with onnx_backend(card, providers="cpu") as backend:
        probs = backend.predict(red_blue())
    # Then the hair probabilities are exactly what the card's convention makes of the network's logits
    hair = probs.prob({"hair"})
    assert hair is not None and hair.shape == (8, 8)
    np.testing.assert_allclose(hair[:, :4], left, atol=1e-5)
    np.testing.assert_allclose(hair[:, 4:], right, atol=1e-5)
    assert probs.classes == {c for c in classes if c}
    assert probs.exclusive is (activation == "softmax")


def test_probabilities_are_resized_to_the_frame_only_when_asked(tmp_path):
    tiny_onnx(tmp_path / "tiny.onnx")
    card = write_card(tmp_path / "tiny.yaml", tiny_card())
    frame = cv2.resize(red_blue(), (64, 48), interpolation=cv2.INTER_NEAREST)
    with onnx_backend(card, providers="cpu") as backend:
        probs = backend.predict(frame)
    assert probs.size == (8, 8) and probs.shape == (48, 64)
    full = probs.full({"hair"})
    assert full is not None and full.shape == (48, 64)
    assert full[:, :24].min() > 0.99 and full[:, 40:].max() < 0.01


def test_a_card_may_be_given_as_an_object_with_its_model_path(tmp_path):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    data = tiny_card()
    del data["model"]
    card = ModelCard.from_dict(data, name="tiny")
    object.__setattr__(card, "model", model)
    with onnx_backend(card, providers="cpu") as backend:
        assert backend.predict(red_blue()).prob({"hair"}) is not None


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda c: c["input"].update(size=[16, 16]), "the network takes 1x3x8x8"),
        (lambda c: c["input"].update(layout="NHWC"), "the network takes 1x3x8x8"),
        (lambda c: c["output"].update(classes=["background", "hair", "clothes"]), "3 channels"),
        (lambda c: c["output"].update(classes=[None, None]), "every output channel is ignored"),
        (lambda c: c["output"].update(classes=["background", "hat"]), 'unknown class "hat"'),
        (lambda c: c["output"].update(activation="relu"), "allowed: softmax, sigmoid, none"),
        (lambda c: c["input"].update(std=[1, 0, 1]), "non-zero numbers"),
        (lambda c: c["input"].update(extra_channels=["depth"]), "unknown extra channel"),
        (lambda c: c.update(model="missing.onnx"), "does not exist"),
        (lambda c: c.update(extra=1), "unknown field"),
    ],
)
def test_bad_cards_are_refused_naming_what_is_wrong(tmp_path, change, error):
    tiny_onnx(tmp_path / "tiny.onnx")
    card = tiny_card()
    change(card)
    with pytest.raises(ModelError, match=error):
        onnx_backend(write_card(tmp_path / "tiny.yaml", card), providers="cpu")


def test_a_card_without_a_model_file_must_name_a_known_model(tmp_path):
    card = tiny_card()
    del card["model"]
    with pytest.raises(ModelError, match="names no model file"):
        onnx_backend(write_card(tmp_path / "tiny.yaml", card))


def test_each_engine_refuses_the_other_engines_files(tmp_path):
    tiny_onnx(tmp_path / "tiny.onnx")
    card = write_card(tmp_path / "tiny.yaml", tiny_card())
    with pytest.raises(ModelError, match=r"TFLite backend runs \.tflite files"):
        tflite_backend(card)


def test_a_smoothing_ratio_outside_0_1_is_refused(tmp_path):
    tiny_onnx(tmp_path / "tiny.onnx")
    card = write_card(tmp_path / "tiny.yaml", tiny_card())
    with pytest.raises(ModelError, match="smoothing must be in"):
        onnx_backend(card, providers="cpu", smoothing=1.5)


def test_a_closed_backend_refuses_to_run_and_closes_twice(tmp_path):
    tiny_onnx(tmp_path / "tiny.onnx")
    backend = onnx_backend(write_card(tmp_path / "tiny.yaml", tiny_card()), providers="cpu")
    backend.close()
    backend.close()
    with pytest.raises(ModelError, match="closed"):
        backend.predict(red_blue())


def test_a_network_fed_the_previous_mask_gets_last_frames_foreground(tmp_path):
    # Given a network whose hair logit is 10 * (R - B) + 20 * previous_mask - 10
    weights = ((0.0, 0.0, 0.0, 0.0), (10.0, 0.0, -10.0, 20.0))
    tiny_onnx(tmp_path / "tiny.onnx", weights=weights, bias=(0.0, -10.0), in_channels=4)
    card = write_card(tmp_path / "tiny.yaml", tiny_card(extra_channels=["previous_mask"]))
    gray = np.full((8, 8, 3), 128, np.uint8)  # R = B: the colour says nothing
    with onnx_backend(card, providers="cpu", smoothing=0.0) as backend:
        first = backend.predict(gray).prob({"hair"})
        second = backend.predict(gray).prob({"hair"})
        backend.reset()
        again = backend.predict(gray).prob({"hair"})
    assert first is not None and second is not None and again is not None
    np.testing.assert_allclose(first, _sigmoid(-10), atol=1e-6)  # a still image: the previous mask is zeros
    np.testing.assert_allclose(second, _sigmoid(20 * _sigmoid(-10) - 10), atol=1e-5)
    np.testing.assert_allclose(again, first, atol=1e-7)


def test_feedback_can_be_turned_off(tmp_path):
    weights = ((0.0, 0.0, 0.0, 0.0), (10.0, 0.0, -10.0, 20.0))
    tiny_onnx(tmp_path / "tiny.onnx", weights=weights, bias=(0.0, -10.0), in_channels=4)
    card = write_card(tmp_path / "tiny.yaml", tiny_card(extra_channels=["previous_mask"]))
    gray = np.full((8, 8, 3), 128, np.uint8)
    with onnx_backend(card, providers="cpu", smoothing=0.0, feedback=False) as backend:
        first = backend.predict(gray).prob({"hair"})
        second = backend.predict(gray).prob({"hair"})
    np.testing.assert_array_equal(first, second)


# --- Preprocessing and activations agree with the card's reference ------------------------------------------


@pytest.mark.parametrize("name", [e.name for e in Manifest.default() if e.card is not None])
def test_the_fast_preprocessing_matches_the_cards_reference(name):
    card = Manifest.default().get(name).card
    assert card is not None
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    extra = {n: rng.random(card.input.size, dtype=np.float32) for n in card.input.extra_channels}
    ours = _Preprocessor(card)(frame, extra)
    reference = card.prepare(frame, extra)
    assert ours.shape == reference.shape == card.input.shape
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", [e.name for e in Manifest.default() if e.card is not None])
def test_the_fast_activation_matches_the_cards_reference(name):
    card = Manifest.default().get(name).card
    assert card is not None
    h, w = card.input.size
    n = card.output.channels
    shape = (1, n, h, w) if card.output.layout.value == "NCHW" else (1, h, w, n)
    raw = np.random.default_rng(1).normal(0, 4, shape).astype(np.float32)
    if card.output.activation.value == "none":
        raw = 1.0 / (1.0 + np.exp(-raw))
    np.testing.assert_allclose(activate(raw, card), card.probabilities(raw).transpose(2, 0, 1), atol=1e-6)


def test_an_output_with_the_wrong_channels_is_refused():
    card = Manifest.default().get("skin-clothes-hair-onnx").card
    assert card is not None
    with pytest.raises(ModelError, match="the card says NCHW with 3 channels"):
        activate(np.zeros((1, 2, 8, 8), np.float32), card)


# --- BodyProbs ----------------------------------------------------------------------------------------------


def _probs(exclusive: bool) -> BodyProbs:
    channels = (frozenset({"background"}), frozenset({"face_skin", "neck", "body_skin"}), frozenset({"hair"}))
    stack = np.stack([np.full((2, 2), v, np.float32) for v in (0.2, 0.3, 0.5)])
    return BodyProbs((4, 4), channels, stack, exclusive)


@pytest.mark.parametrize(
    ("names", "exclusive", "expected"),
    [
        ({"hair"}, True, 0.5),
        ({"face_skin", "neck", "body_skin"}, True, 0.3),
        ({"face_skin", "neck", "body_skin", "hair"}, True, 0.8),  # exclusive channels add up
        ({"face_skin", "neck", "body_skin", "hair"}, False, 0.5),  # independent ones: the surest counts
        ({"neck"}, True, None),  # part of a union channel says nothing about the neck alone
        ({"clothes"}, True, None),
    ],
)
def test_prob_reads_channels_whose_classes_all_lie_among_the_names(names, exclusive, expected):
    p = _probs(exclusive).prob(names)
    if expected is None:
        assert p is None
    else:
        assert p is not None and np.allclose(p, expected)


def test_person_is_a_person_channel_or_one_minus_an_exclusive_background():
    assert np.allclose(_probs(True).person(), 0.8)
    assert _probs(False).person() is None


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: BodyProbs((4, 4), (frozenset({"hair"}),), np.zeros((2, 2, 2), np.float32)), "2 planes but 1"),
        (lambda: BodyProbs((4, 4), (frozenset({"hair"}),), np.zeros((1, 2, 2), np.float64)), "float32"),
        (lambda: BodyProbs((0, 4), (frozenset({"hair"}),), np.zeros((1, 2, 2), np.float32)), "positive"),
    ],
)
def test_inconsistent_probabilities_are_refused(build, error):
    with pytest.raises(InputError, match=error):
        build()


def test_smoothing_keeps_sure_values_and_leans_unsure_ones_on_the_previous_frame():
    new = np.array([0.0, 1.0, 0.5, 0.8], np.float32)
    previous = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    out = smooth_with_previous(new, previous, 0.9)
    np.testing.assert_allclose(out[:2], new[:2], atol=1e-4)  # sure: kept
    np.testing.assert_allclose(out[2], 0.5 + 0.5 * 0.9, atol=1e-4)  # entirely unsure: 90% previous
    entropy = -(0.8 * np.log2(0.8) + 0.2 * np.log2(0.2))  # MediaPipe weighs the previous by entropy squared
    np.testing.assert_allclose(out[3], 0.8 - 0.8 * entropy**2 * 0.9, atol=1e-4)


def test_a_combined_backend_averages_the_same_class_and_keeps_the_others():
    a = FakeBackend({"hair": np.full((4, 4), 0.2, np.float32), "clothes": np.full((4, 4), 0.6, np.float32)}, name="a")
    b = FakeBackend({"hair": np.full((2, 2), 0.8, np.float32)}, name="b")
    with CombinedBackend([a, b]) as both:
        probs = both.predict(np.zeros((8, 8, 3), np.uint8))
        assert both.name == "a+b" and both.classes == {"hair", "clothes"}
    assert probs.size == (4, 4)
    assert np.allclose(probs.prob({"hair"}), 0.5) and np.allclose(probs.prob({"clothes"}), 0.6)
    assert a.closed == b.closed == 1


class _SeesWindows(FakeBackend):
    """Hair probability 1 on any image narrower than ``wide`` (a window), 0 on the whole frame."""

    def __init__(self, wide: int) -> None:
        super().__init__({"hair": np.zeros((4, 4), np.float32)})
        self.wide = wide

    def predict(self, frame: np.ndarray) -> BodyProbs:
        self.planes = {"hair": np.full((4, 4), float(frame.shape[1] < self.wide), np.float32)}
        return super().predict(frame)


def test_windows_replace_the_frame_inside_them_and_fade_into_it_at_their_inner_edges():
    frame = np.zeros((100, 200, 3), np.uint8)
    backend = _SeesWindows(wide=200)
    probs = predict_windows(backend, frame, [Box(0, 0, 100, 100), Box(150, 0, 260, 100)])
    # The frame, then each window (the second clipped to the frame), each window on a fresh backend
    assert backend.calls == 3 and backend.resets == 2
    hair = probs.full({"hair"})
    assert probs.shape == (100, 200) and hair.shape == (100, 200)
    assert hair[:, :85].min() > 0.99  # inside the first window, up to the frame's edges (no fade there)
    assert hair[:, 120:130].max() < 0.01  # between the windows: the frame's own result
    assert 0.05 < hair[50, 97] < 0.95  # the first window fades out over its inner (right) edge
    assert hair[:, 165:].min() > 0.99  # the second window reaches the frame's right edge


def test_without_windows_the_frame_result_is_returned_as_it_is():
    backend = _SeesWindows(wide=10)
    frame = np.zeros((20, 30, 3), np.uint8)
    probs = predict_windows(backend, frame, [Box(40, 0, 50, 10)])  # outside the frame: skipped
    assert backend.calls == 1 and backend.resets == 0
    assert probs.size == (4, 4) and probs.full({"hair"}).max() == 0.0


def test_a_combined_backend_needs_two():
    with pytest.raises(InputError, match="at least 2"):
        CombinedBackend([FakeBackend({"hair": np.zeros((2, 2))})])


# --- The TFLite runtime -------------------------------------------------------------------------------------


def test_a_missing_tflite_runtime_says_which_extra_to_install():
    with pytest.raises(DependencyError, match=r'pip install "tryon\[tflite\]"'):
        load_interpreter(("tryon_no_such_runtime.interpreter",))


# --- Real models on real photos -----------------------------------------------------------------------------


def _f1(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> float:
    tp = np.count_nonzero(pred & truth & valid)
    return 2.0 * tp / max(1, np.count_nonzero(pred & valid) + np.count_nonzero(truth & valid))


def _celeba(shared_data: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    dataset = Dataset.load(need_file(shared_data / CELEBA))
    return [(read_image(photo), read_label(label)) for photo, label in dataset.pairs()]


def _hair_f1(backend, pairs):
    tp = fp = fn = 0
    for frame, truth in pairs:
        backend.reset()
        hair = backend.predict(frame).full({"hair"}, truth.shape) >= 0.5
        gt = truth == 13
        valid = ~np.isin(truth, (3, 8, 9, 14, 15, 16))
        tp += np.count_nonzero(hair & gt & valid)
        fp += np.count_nonzero(hair & ~gt & valid)
        fn += np.count_nonzero(~hair & gt & valid)
    return 2.0 * tp / (2 * tp + fp + fn)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "build", "least"),
    [
        ("skin-clothes-hair-onnx", onnx_backend, 0.91),  # measured 0.925
        ("mediapipe-hair", tflite_backend, 0.94),  # measured 0.953
    ],
)
def test_hair_models_find_the_hair_of_celebamask_faces(shared_data, shared_models, name, build, least):
    need_file(shared_models / Manifest.default().get(name).file)
    with build(name) as backend:
        assert _hair_f1(backend, _celeba(shared_data)) >= least


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "least"),
    [("selfie-segmentation-onnx", 0.96), ("meet-segmentation-onnx", 0.95), ("sinet-portrait-onnx", 0.96)],
)
def test_person_models_find_the_celebamask_people(shared_data, shared_models, name, least):
    need_file(shared_models / Manifest.default().get(name).file)
    tp = fp = fn = 0
    with onnx_backend(name) as backend:
        for frame, truth in _celeba(shared_data):
            person = backend.predict(frame).person()
            assert person is not None
            pred = cv2.resize(person, (truth.shape[1], truth.shape[0])) >= 0.5
            gt = truth > 0
            tp += np.count_nonzero(pred & gt)
            fp += np.count_nonzero(pred & ~gt)
            fn += np.count_nonzero(~pred & gt)
    assert 2.0 * tp / (2 * tp + fp + fn) >= least  # measured 0.981, 0.969, 0.983


@pytest.mark.shared
def test_the_hair_model_in_video_feeds_back_its_mask_and_smooths(shared_data, shared_models):
    need_file(shared_models / Manifest.default().get("mediapipe-hair").file)
    frame, truth = _celeba(shared_data)[0]
    with tflite_backend("mediapipe-hair") as hair:
        assert hair.smoothing == pytest.approx(0.9)
        still = hair.predict(frame).prob({"hair"})
        streamed = hair.predict(frame).prob({"hair"})
        hair.reset()
        again = hair.predict(frame).prob({"hair"})
    assert still is not None and streamed is not None and again is not None
    np.testing.assert_array_equal(still, again)  # reset: a still image again (zeros as the 4th channel)
    assert np.abs(streamed - still).max() > 0.01  # the previous mask changed the result
    gt = cv2.resize((truth == 13).astype(np.uint8), still.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    valid = np.ones_like(gt)
    assert _f1(streamed >= 0.5, gt, valid) >= _f1(still >= 0.5, gt, valid) - 0.01  # feeding back does not hurt
