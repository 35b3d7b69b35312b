"""Model cards: what a segmentation network takes and gives, as a validated value object.

A card says how to turn a BGR frame into the network's input tensor (size, layout, colour order, normalisation,
extra input channels) and how to read its output (layout, activation, and which of tryon's classes each output
channel holds). The manifest carries a card for each segmentation model it knows; a card may also come from a
standalone YAML or JSON file, so that a network tryon does not know can be plugged in with a card alone.

Example:
    >>> card = ModelCard.from_dict(
    ...     {
    ...         "input": {"size": [256, 256], "layout": "NHWC", "color": "RGB", "scale": 0.00392156862745098},
    ...         "output": {"layout": "NHWC", "activation": "none", "classes": ["person"]},
    ...     },
    ...     name="my-selfie",
    ... )
    >>> card.input.channels, card.output.classes
    (3, ('person',))
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Optional, Union

import numpy as np
import yaml

from tryon.errors import ModelError
from tryon.parsing.classes import CLASSES

__all__ = [
    "CARD_CLASSES",
    "CARD_SUFFIXES",
    "EXTRA_CHANNELS",
    "Activation",
    "ColorOrder",
    "InputSpec",
    "Layout",
    "ModelCard",
    "OutputSpec",
]

#: Names an output channel may carry: the canonical parsing classes, plus ``person`` for person segmenters.
CARD_CLASSES: tuple[str, ...] = (*CLASSES, "person")

#: Extra input channels a network may take after the colour channels.
EXTRA_CHANNELS: dict[str, str] = {
    "previous_mask": "the previous frame's mask of the model's class in [0, 1] (zeros for a still image)",
}

CARD_SUFFIXES = (".yaml", ".yml", ".json")

#: A channel's classes: one class, the union of several, or None for a channel to ignore.
ChannelClasses = Union[str, tuple[str, ...], None]


class Layout(str, enum.Enum):
    """Tensor layout: batch, channels, height, width in memory order."""

    NCHW = "NCHW"
    NHWC = "NHWC"


class ColorOrder(str, enum.Enum):
    """Order of the colour channels the network expects."""

    RGB = "RGB"
    BGR = "BGR"


class Activation(str, enum.Enum):
    """What to apply to the raw output to get per-channel probabilities."""

    SOFTMAX = "softmax"  # logits, one class per pixel: softmax over the channels
    SIGMOID = "sigmoid"  # independent logits per channel
    NONE = "none"  # already probabilities


def _allowed(enum_type: type[enum.Enum]) -> str:
    return ", ".join(str(m.value) for m in enum_type)


class _Reader:
    """Reads fields of one mapping of a card, with errors that name the card and the field."""

    def __init__(self, data: Any, where: str, path: str, allowed: Sequence[str], required: Sequence[str]) -> None:
        self.where = where
        self.path = path
        if not isinstance(data, Mapping):
            self.fail(f"must be a mapping with {', '.join(allowed)}, got {_show(data)}")
        self.data = data
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise ModelError(f"{where}: {self.field(unknown[0])}: unknown field; allowed: {', '.join(allowed)}")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelError(
                f"{where}: {self.field(missing[0])}: missing field; {self.path or 'a card'} needs {', '.join(required)}"
            )

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, message: str, key: str = "") -> NoReturn:
        name = self.field(key) if key else self.path
        raise ModelError(f"{self.where}: {name}: {message}" if name else f"{self.where}: {message}")

    def enum(self, key: str, enum_type: type[enum.Enum], default: enum.Enum | None = None) -> Any:
        if key not in self.data:
            if default is None:
                self.fail(f"missing field; allowed: {_allowed(enum_type)}", key)
            return default
        value = self.data[key]
        for member in enum_type:
            if isinstance(value, str) and value.lower() == str(member.value).lower():
                return member
        self.fail(f"{_show(value)} is not allowed; allowed: {_allowed(enum_type)}", key)

    def size(self, key: str) -> tuple[int, int]:
        value = self.data.get(key)
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
        ):
            self.fail(f"must be [height, width], two whole numbers >= 1, got {_show(value)}", key)
        return int(value[0]), int(value[1])

    def number(self, key: str, default: float, positive: bool = False) -> float:
        value = self.data.get(key, default)
        if not _is_number(value) or (positive and value <= 0):
            self.fail(f"must be a {'positive ' if positive else ''}number, got {_show(value)}", key)
        return float(value)

    def triple(self, key: str, default: float, nonzero: bool = False) -> tuple[float, float, float]:
        """Three per-channel numbers (in the network's colour order); one number stands for all three."""
        value = self.data.get(key, default)
        values = [value] * 3 if _is_number(value) else value
        if (
            not isinstance(values, (list, tuple))
            or len(values) != 3
            or not all(_is_number(v) and (not nonzero or v != 0) for v in values)
        ):
            what = "non-zero numbers" if nonzero else "numbers"
            self.fail(f"must be a number or a list of 3 {what} (one per colour channel), got {_show(value)}", key)
        return float(values[0]), float(values[1]), float(values[2])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (list, tuple, dict, str, int, float, type(None))) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class InputSpec:
    """How a frame becomes the network's input tensor.

    The tensor is ``(x * scale - mean) / std`` per colour channel, where ``x`` is the pixel value in 0..255 in
    :attr:`color` order, resized to :attr:`size` without keeping the aspect ratio. Extra channels (such as the
    previous frame's mask, already in [0, 1]) follow the colour channels and are not normalised.

    Attributes:
        size: (height, width) of the input.
        layout: NCHW or NHWC (the batch is 1).
        color: RGB or BGR.
        scale: multiplies 0..255 pixel values first (1/255 for inputs in [0, 1]).
        mean: subtracted after scaling, per colour channel.
        std: divides last, per colour channel.
        extra_channels: names of the channels after the colour channels (see :data:`EXTRA_CHANNELS`).
    """

    size: tuple[int, int]
    layout: Layout = Layout.NHWC
    color: ColorOrder = ColorOrder.RGB
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    extra_channels: tuple[str, ...] = ()

    @property
    def channels(self) -> int:
        """Colour channels plus extra channels."""
        return 3 + len(self.extra_channels)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """The input tensor's shape."""
        h, w = self.size
        return (1, self.channels, h, w) if self.layout is Layout.NCHW else (1, h, w, self.channels)


@dataclass(frozen=True)
class OutputSpec:
    """How to read the network's output tensor.

    Attributes:
        classes: per output channel, the tryon class it holds (a canonical class or ``person``), a tuple of
            classes when the channel is their union (a "skin" channel covering face, neck and body), or None for
            a channel to ignore.
        layout: NCHW or NHWC.
        activation: softmax, sigmoid, or none when the output already holds probabilities.
    """

    classes: tuple[ChannelClasses, ...]
    layout: Layout = Layout.NHWC
    activation: Activation = Activation.NONE

    @property
    def channels(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class ModelCard:
    """A segmentation network's input and output, validated.

    Build one with :meth:`from_dict` (a manifest entry's ``card``) or :meth:`from_file` (a standalone card).

    Attributes:
        name: the model's name (the manifest name, or the card file's ``name``/stem), used in messages.
        input: the input tensor.
        output: the output tensor.
        notes: free text (provenance, post-processing hints).
        model: for a standalone card, the model file it describes (relative paths are taken from the card's
            folder); None for manifest cards, whose file the manifest gives.
    """

    name: str
    input: InputSpec
    output: OutputSpec
    notes: str = ""
    model: Optional[Path] = field(default=None, compare=False)

    _FIELDS = ("name", "input", "output", "notes")
    _INPUT_FIELDS = ("size", "layout", "color", "scale", "mean", "std", "extra_channels")
    _OUTPUT_FIELDS = ("layout", "activation", "classes")

    @classmethod
    def from_dict(cls, data: Any, name: str = "", where: str = "", model_base: Path | None = None) -> ModelCard:
        """Builds and validates a card from plain data.

        Args:
            data: the card mapping: ``input`` (``size`` required; ``layout``, ``color``, ``scale``, ``mean``,
                ``std``, ``extra_channels``) and ``output`` (``classes`` required; ``layout``, ``activation``).
            name: the model's name, when the data does not carry one.
            where: what the card came from, for messages (a file, or "models/manifest.json: NAME").
            model_base: the folder of a standalone card file; only then may the card name a ``model`` file.

        Raises:
            ModelError: naming the card, the field and what is allowed, for a missing or unknown field or a
                wrong value.
        """
        where = where or f"card {name or '(unnamed)'}"
        allowed = (*cls._FIELDS, "model") if model_base is not None else cls._FIELDS
        top = _Reader(data, where, "", allowed, ("input", "output"))
        card_name = top.data.get("name", name)
        if not isinstance(card_name, str) or not card_name:
            top.fail(f"must be a non-empty text, got {_show(card_name)}", "name")
        notes = top.data.get("notes", "")
        if not isinstance(notes, str):
            top.fail(f"must be text, got {_show(notes)}", "notes")
        model = None
        if model_base is not None and "model" in top.data:
            value = top.data["model"]
            if not isinstance(value, str) or not value:
                top.fail(f"must be the path of the model file, got {_show(value)}", "model")
            model = Path(value).expanduser()
            model = model if model.is_absolute() else model_base / model
        return cls(
            name=card_name,
            input=_input_spec(_Reader(top.data["input"], where, "input", cls._INPUT_FIELDS, ("size",))),
            output=_output_spec(_Reader(top.data["output"], where, "output", cls._OUTPUT_FIELDS, ("classes",))),
            notes=notes,
            model=model,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> ModelCard:
        """Reads a standalone card (YAML or JSON).

        Beside ``input`` and ``output``, a standalone card may give ``name`` (default: the file's stem) and
        ``model``: the path of the network it describes, relative to the card's folder.

        Raises:
            ModelError: when the file is missing, unreadable, not YAML/JSON, or not a valid card.
        """
        path = Path(path).expanduser()
        if path.suffix.lower() not in CARD_SUFFIXES:
            raise ModelError(f"{path}: a model card must end in {', '.join(CARD_SUFFIXES)}, got {path.suffix!r}")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ModelError(f"{path}: no such model card") from None
        except UnicodeDecodeError:
            raise ModelError(f"{path}: not a text file (expected UTF-8 YAML or JSON)") from None
        except OSError as exc:
            raise ModelError(f"{path}: could not be read ({exc.strerror or exc})") from None
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
            raise ModelError(f"{path}: {at}not valid YAML ({exc.problem or exc.context})") from None
        except yaml.YAMLError as exc:
            raise ModelError(f"{path}: not valid YAML ({exc})") from None
        return cls.from_dict(data, name=path.stem, where=str(path), model_base=path.parent)

    def as_dict(self) -> dict[str, Any]:
        """The card as plain data (what :meth:`from_dict` reads back), without ``model``."""
        out: dict[str, Any] = {
            "name": self.name,
            "input": {
                "size": list(self.input.size),
                "layout": self.input.layout.value,
                "color": self.input.color.value,
                "scale": self.input.scale,
                "mean": list(self.input.mean),
                "std": list(self.input.std),
                "extra_channels": list(self.input.extra_channels),
            },
            "output": {
                "layout": self.output.layout.value,
                "activation": self.output.activation.value,
                "classes": [list(c) if isinstance(c, tuple) else c for c in self.output.classes],
            },
        }
        if self.notes:
            out["notes"] = self.notes
        return out

    def channel(self, name: str) -> int:
        """The output channel holding class ``name`` (alone or within a union).

        Raises:
            ModelError: when no channel holds it, listing the classes the model has.
        """
        for i, classes in enumerate(self.output.classes):
            if classes == name or (isinstance(classes, tuple) and name in classes):
                return i
        known = [c if isinstance(c, str) else "+".join(c) for c in self.output.classes if c is not None]
        raise ModelError(f"model {self.name} has no {name!r} channel; its channels: {', '.join(known)}")

    def check_shapes(self, input_shape: Sequence[Any], output_shape: Sequence[Any], file: str = "") -> None:
        """Checks the network's declared tensor shapes against the card.

        Dimensions that are not whole numbers (dynamic: None or a symbolic name) match anything.

        Raises:
            ModelError: naming the model and saying what the card expects and what the network declares.
        """
        what = f"{file or self.name}: the card {self.name} says"

        def matches(shape: Sequence[Any], expected: Sequence[int | None]) -> bool:
            return len(shape) == len(expected) and all(
                e is None or not isinstance(d, int) or d == e for d, e in zip(shape, expected)
            )

        if not matches(input_shape, self.input.shape):
            raise ModelError(
                f"{what} the input is {self.input.layout.value} {_dims(self.input.shape)}, "
                f"but the network takes {_dims(input_shape)}"
            )
        n = self.output.channels
        expected_out: tuple[int | None, ...] = (
            (1, n, None, None) if self.output.layout is Layout.NCHW else (1, None, None, n)
        )
        if not matches(output_shape, expected_out):
            raise ModelError(
                f"{what} the output is {self.output.layout.value} with {n} channel{'s' * (n != 1)} "
                f"({_dims(expected_out)}), but the network gives {_dims(output_shape)}"
            )

    def prepare(self, frame: np.ndarray, extra: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The network's input tensor (float32) for a BGR uint8 frame (or crop).

        Args:
            frame: HxWx3 uint8 BGR image.
            extra: arrays for the extra channels by name (HxW, in [0, 1], any size: resized); a channel not
                given is zeros.

        Raises:
            ModelError: for a frame that is not HxWx3, or an unknown extra channel.
        """
        import cv2

        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ModelError(f"model {self.name} needs an HxWx3 BGR frame, got shape {frame.shape}")
        spec = self.input
        h, w = spec.size
        resized = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
        if spec.color is ColorOrder.RGB:
            resized = resized[:, :, ::-1]
        gain = np.float32(spec.scale) / np.asarray(spec.std, np.float32)
        offset = np.asarray(spec.mean, np.float32) / np.asarray(spec.std, np.float32)
        colour = resized.astype(np.float32) * gain - offset
        unknown = sorted(set(extra or {}) - set(spec.extra_channels))
        if unknown:
            allowed = ", ".join(spec.extra_channels) or "none"
            raise ModelError(f"model {self.name}: unknown extra input {unknown[0]!r}; this model takes: {allowed}")
        planes = [colour]
        for name in spec.extra_channels:
            given = (extra or {}).get(name)
            plane = (
                np.zeros((h, w), np.float32)
                if given is None
                else cv2.resize(np.asarray(given, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
            )
            planes.append(plane[:, :, None])
        tensor = np.concatenate(planes, axis=2) if len(planes) > 1 else colour
        if spec.layout is Layout.NCHW:
            tensor = tensor.transpose(2, 0, 1)
        return np.ascontiguousarray(tensor[None], dtype=np.float32)

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        """The output tensor as HxWxC float32 probabilities (the card's activation applied).

        Raises:
            ModelError: when the output does not have the card's number of channels.
        """
        out = np.asarray(output, dtype=np.float32)
        if out.ndim == 4:
            out = out[0]
        n = self.output.channels
        if out.ndim == 2 and n == 1:
            out = out[:, :, None]
        elif out.ndim == 3 and self.output.layout is Layout.NCHW:
            out = out.transpose(1, 2, 0)
        if out.ndim != 3 or out.shape[2] != n:
            raise ModelError(
                f"model {self.name}: the output has shape {tuple(np.shape(output))}, but the card says "
                f"{self.output.layout.value} with {n} channel{'s' * (n != 1)}"
            )
        if self.output.activation is Activation.SOFTMAX:
            e = np.exp(out - out.max(axis=2, keepdims=True))
            return e / e.sum(axis=2, keepdims=True)
        if self.output.activation is Activation.SIGMOID:
            return 1.0 / (1.0 + np.exp(-out))
        return out


def _dims(shape: Sequence[Any]) -> str:
    return "x".join("?" if not isinstance(d, int) or d is None else str(d) for d in shape)


def _input_spec(r: _Reader) -> InputSpec:
    extra = r.data.get("extra_channels", [])
    if not isinstance(extra, (list, tuple)):
        r.fail(f"must be a list of names ({', '.join(EXTRA_CHANNELS)}), got {_show(extra)}", "extra_channels")
    for i, name in enumerate(extra):
        if name not in EXTRA_CHANNELS:
            r.fail(f"unknown extra channel {_show(name)}; allowed: {', '.join(EXTRA_CHANNELS)}", f"extra_channels[{i}]")
    return InputSpec(
        size=r.size("size"),
        layout=r.enum("layout", Layout, Layout.NHWC),
        color=r.enum("color", ColorOrder, ColorOrder.RGB),
        scale=r.number("scale", 1.0 / 255.0, positive=True),
        mean=r.triple("mean", 0.0),
        std=r.triple("std", 1.0, nonzero=True),
        extra_channels=tuple(extra),
    )


def _output_spec(r: _Reader) -> OutputSpec:
    classes = r.data["classes"]
    allowed = f"allowed: {', '.join(CARD_CLASSES)}, a list of them (a union), or null to ignore the channel"
    if not isinstance(classes, (list, tuple)) or not classes:
        r.fail(f"must be a list with one entry per output channel ({allowed}), got {_show(classes)}", "classes")
    seen: dict[str, int] = {}
    parsed: list[ChannelClasses] = []
    for i, entry in enumerate(classes):
        key = f"classes[{i}]"
        if entry is None:
            parsed.append(None)
            continue
        names = [entry] if isinstance(entry, str) else entry
        if not isinstance(names, (list, tuple)) or not names:
            r.fail(f"must be a class name, a list of class names or null, got {_show(entry)}; {allowed}", key)
        for name in names:
            if name not in CARD_CLASSES:
                r.fail(f"unknown class {_show(name)}; {allowed}", key)
            if name in seen:
                r.fail(f"class {name!r} is given twice (channels {seen[name]} and {i})", key)
            seen[name] = i
        parsed.append(entry if isinstance(entry, str) else tuple(names))
    activation = r.enum("activation", Activation, Activation.NONE)
    if activation is Activation.SOFTMAX and len(parsed) < 2:
        r.fail("softmax needs at least 2 output channels; use sigmoid (or none) for a single channel", "activation")
    return OutputSpec(classes=tuple(parsed), layout=r.enum("layout", Layout, Layout.NHWC), activation=activation)
