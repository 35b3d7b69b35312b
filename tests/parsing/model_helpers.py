"""Helpers for the model-backend tests: tiny ONNX graphs built with the ``onnx`` package, their cards, fake backends.

The tiny network is one 1x1 convolution: output channel ``k`` is ``sum_c weights[k][c] * input[c] + bias[k]`` at
every pixel, so a test can say exactly what each pixel's probabilities must be.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tryon.parsing.backends.base import BodyBackend, BodyProbs

#: Hair logit = 10 * (first colour channel - third), background logit 0: in RGB order red is hair, blue is not.
HAIR_WEIGHTS = ((0.0, 0.0, 0.0), (10.0, 0.0, -10.0))


def tiny_onnx(
    path: Path,
    *,
    layout: str = "NCHW",
    size: tuple[int, int] = (8, 8),
    weights: Sequence[Sequence[float]] = HAIR_WEIGHTS,
    bias: Sequence[float] | None = None,
    in_channels: int = 3,
    sigmoid: bool = False,
) -> Path:
    """Writes a ``1 x in x H x W -> 1 x C x H x W`` 1x1-convolution network (NHWC: transposed in and out)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    h, w = size
    out_channels = len(weights)
    kernel = np.zeros((out_channels, in_channels, 1, 1), np.float32)
    kernel[:, : len(weights[0]), 0, 0] = np.asarray(weights, np.float32)
    b = np.zeros(out_channels, np.float32) if bias is None else np.asarray(bias, np.float32)
    init = [numpy_helper.from_array(kernel, "W"), numpy_helper.from_array(b, "B")]
    result = "logits" if sigmoid else "y"
    if layout == "NHWC":
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, h, w, in_channels])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, h, w, out_channels])
        nodes = [
            helper.make_node("Transpose", ["x"], ["xc"], perm=[0, 3, 1, 2]),
            helper.make_node("Conv", ["xc", "W", "B"], ["yc"]),
            helper.make_node("Transpose", ["yc"], [result], perm=[0, 2, 3, 1]),
        ]
    else:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, in_channels, h, w])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, out_channels, h, w])
        nodes = [helper.make_node("Conv", ["x", "W", "B"], [result])]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["y"]))
    graph = helper.make_graph(nodes, "tiny", [x], [y], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tiny_card(
    model: str = "tiny.onnx",
    *,
    layout: str = "NCHW",
    color: str = "RGB",
    activation: str = "softmax",
    classes: Sequence[Any] = ("background", "hair"),
    size: tuple[int, int] = (8, 8),
    **input_fields: Any,
) -> dict[str, Any]:
    """A card (plain data) for :func:`tiny_onnx`: inputs in [0, 1]."""
    return {
        "name": "tiny",
        "model": model,
        "input": {
            "size": list(size),
            "layout": layout,
            "color": color,
            "scale": 1.0 / 255.0,
            "mean": 0,
            "std": 1,
            **input_fields,
        },
        "output": {"layout": layout, "activation": activation, "classes": list(classes)},
    }


def write_card(path: Path, card: dict[str, Any]) -> Path:
    """Writes a card as YAML."""
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


def red_blue(size: tuple[int, int] = (8, 8)) -> np.ndarray:
    """A BGR frame: the left half pure red, the right half pure blue."""
    h, w = size
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, : w // 2] = (0, 0, 255)
    frame[:, w // 2 :] = (255, 0, 0)
    return frame


class FakeBackend(BodyBackend):
    """Returns fixed probabilities and counts its calls.

    Args:
        planes: class name (or tuple of names for a union) to an ``h x w`` map in [0, 1].
        exclusive: whether the channels are exclusive.
    """

    def __init__(self, planes: dict[Any, np.ndarray], exclusive: bool = False, name: str = "fake") -> None:
        self.name = name
        self.planes = planes
        self.exclusive = exclusive
        self.calls = 0
        self.resets = 0
        self.closed = 0

    @property
    def classes(self) -> frozenset[str]:
        out: set[str] = set()
        for key in self.planes:
            out |= {key} if isinstance(key, str) else set(key)
        return frozenset(out)

    def predict(self, frame: np.ndarray) -> BodyProbs:
        self.calls += 1
        channels = tuple(frozenset([k] if isinstance(k, str) else k) for k in self.planes)
        stack = np.stack([np.asarray(v, np.float32) for v in self.planes.values()])
        return BodyProbs((frame.shape[0], frame.shape[1]), channels, stack, self.exclusive)

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        self.closed += 1
