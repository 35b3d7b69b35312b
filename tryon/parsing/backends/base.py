"""Body-parsing backends: a segmentation network, described by its model card, turned into class probabilities.

A backend takes a BGR uint8 frame and returns :class:`BodyProbs`: per output channel, the probability of one
canonical class (or of a union of classes, or of ``person``), at the network's own resolution. Nothing is
resized to the frame here: the fusion (:mod:`tryon.parsing.fusion`) upsamples only what it uses, with linear
interpolation.

:class:`CardBackend` is the one generic backend: the card says how to build the input tensor (size, layout,
colour order, normalisation, extra channels) and how to read the output (layout, activation, class per channel);
an :class:`Engine` (onnxruntime, a TFLite interpreter) only runs the tensor. So a face- or human-parsing network
plugs in with a card alone.

For video, a backend keeps the last probabilities: a card whose input takes ``previous_mask`` is fed the previous
frame's foreground, and with ``smoothing`` the new probabilities are blended with the previous ones where the
network is unsure (MediaPipe's ``SegmentationSmoothingCalculator``, ratio 0.9 in its hair graph). Call
:meth:`BodyBackend.reset` between unrelated photos.

Example:
    >>> from tryon.parsing.backends import onnx_backend
    >>> with onnx_backend("skin-clothes-hair-onnx") as backend:  # doctest: +SKIP
    ...     probs = backend.predict(frame)
    ...     hair = probs.full({"hair"})  # HxW float32 at the frame's size
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional, Protocol

import cv2
import numpy as np

from tryon.errors import InputError, ModelError
from tryon.geometry import Box
from tryon.models.card import Activation, ColorOrder, Layout, ModelCard

__all__ = [
    "BodyBackend",
    "BodyProbs",
    "CardBackend",
    "CombinedBackend",
    "Engine",
    "MEDIAPIPE_SMOOTHING",
    "activate",
    "predict_windows",
    "resize_plane",
    "smooth_with_previous",
]

log = logging.getLogger(__name__)

#: MediaPipe's hair graph blends each new mask with the previous one at this ratio (where the new one is unsure).
MEDIAPIPE_SMOOTHING = 0.9

_PERSON = "person"
_BACKGROUND = "background"


@dataclass(frozen=True)
class BodyProbs:
    """Class probabilities of one frame, at a backend's resolution.

    Attributes:
        shape: the frame's ``(height, width)`` (the maps cover the whole frame, squeezed to their own size).
        channels: the classes of each channel: one class, or several when the channel is their union (a "skin"
            channel covering face, neck and body). Canonical class names and ``person``.
        probs: ``C x h x w`` float32 probabilities in [0, 1], one plane per channel.
        exclusive: True when the channels are one class per pixel (softmax: probabilities add up), False when each
            is independent (sigmoid).
    """

    shape: tuple[int, int]
    channels: tuple[frozenset[str], ...]
    probs: np.ndarray
    exclusive: bool = False

    def __post_init__(self) -> None:
        p = self.probs
        if not isinstance(p, np.ndarray) or p.dtype != np.float32 or p.ndim != 3:
            got = f"{p.shape} {p.dtype}" if isinstance(p, np.ndarray) else type(p).__name__
            raise InputError(f"body probabilities must be a C x h x w float32 array, got {got}")
        if p.shape[0] != len(self.channels):
            raise InputError(f"body probabilities have {p.shape[0]} planes but {len(self.channels)} channel names")
        if len(self.shape) != 2 or not all(int(v) > 0 for v in self.shape):
            raise InputError(f"frame shape must be (height, width) of positive ints, got {self.shape!r}")
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))

    @property
    def size(self) -> tuple[int, int]:
        """The maps' ``(height, width)``."""
        return int(self.probs.shape[1]), int(self.probs.shape[2])

    @property
    def classes(self) -> frozenset[str]:
        """Every class some channel holds."""
        return frozenset().union(*self.channels) if self.channels else frozenset()

    def has(self, names: Iterable[str]) -> bool:
        """Whether some channel holds only classes among ``names``."""
        wanted = frozenset(names)
        return any(c <= wanted for c in self.channels)

    def prob(self, names: Iterable[str]) -> np.ndarray | None:
        """The probability that a pixel is one of ``names``, at the maps' size (None when no channel says).

        Channels whose classes all lie among ``names`` count: they add up when the channels are exclusive, else the
        most confident one counts. A union channel that holds other classes too does not count.
        """
        wanted = frozenset(names)
        idx = [i for i, c in enumerate(self.channels) if c <= wanted]
        if not idx:
            return None
        if len(idx) == 1:
            return self.probs[idx[0]]
        planes = self.probs[idx]
        out = planes.sum(axis=0) if self.exclusive else planes.max(axis=0)
        return np.minimum(out, 1.0, out=out)

    def person(self) -> np.ndarray | None:
        """The person probability: a ``person`` channel, else one minus an exclusive ``background`` channel."""
        p = self.prob({_PERSON})
        if p is not None:
            return p
        if self.exclusive:
            bg = self.prob({_BACKGROUND})
            if bg is not None:
                return 1.0 - bg
        return None

    def full(self, names: Iterable[str], shape: tuple[int, int] | None = None) -> np.ndarray | None:
        """:meth:`prob` resized (linear) to ``shape`` (default: the frame's)."""
        p = self.prob(names)
        return None if p is None else resize_plane(p, shape or self.shape)

    def resized(self, size: tuple[int, int]) -> BodyProbs:
        """The same probabilities at another ``(height, width)`` (linear interpolation)."""
        if size == self.size:
            return self
        return BodyProbs(self.shape, self.channels, _resize_stack(self.probs, size), self.exclusive)


def resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A 2-D float map resized to ``(height, width)`` with linear interpolation."""
    if plane.shape[:2] == tuple(size):
        return plane
    return cv2.resize(plane, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def _resize_stack(stack: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A ``C x h x w`` stack resized plane by plane (linear)."""
    if stack.shape[1:] == tuple(size):
        return stack
    return np.stack([resize_plane(plane, size) for plane in stack])


class Engine(Protocol):
    """What runs a network: one input tensor in, the first output tensor out."""

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """Runs the network on one input tensor."""
        ...

    def close(self) -> None:
        """Releases the runtime; safe to call twice."""
        ...


class BodyBackend(abc.ABC):
    """Something that turns a BGR uint8 frame into :class:`BodyProbs`; a context manager.

    Subclasses give :attr:`name`, :attr:`classes` and :meth:`predict`; stateful ones (video) override
    :meth:`reset`.
    """

    name: str = "backend"

    @property
    @abc.abstractmethod
    def classes(self) -> frozenset[str]:
        """The classes (and ``person``) the backend gives."""

    @abc.abstractmethod
    def predict(self, frame: np.ndarray) -> BodyProbs:
        """Class probabilities of one BGR uint8 frame."""

    def reset(self) -> None:  # noqa: B027 - stateless backends have nothing to forget
        """Forgets the previous frame (call between unrelated photos or at a cut)."""

    def close(self) -> None:  # noqa: B027 - backends without resources have nothing to release
        """Releases the runtime; safe to call twice."""

    def __enter__(self) -> BodyBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, classes={sorted(self.classes)})"


def smooth_with_previous(new: np.ndarray, previous: np.ndarray, ratio: float) -> np.ndarray:
    """Blends new probabilities with the previous ones where the new ones are unsure (MediaPipe's smoothing).

    As MediaPipe's ``TfLiteTensorsToSegmentationCalculator`` does in its hair graph: per value ``p``, with ``H(p)``
    the binary entropy in bits (1 at ``p = 0.5``, 0 at 0 and 1), the result is
    ``p + (previous - p) * H(p)**2 * ratio``: confident values stay, unsure ones lean on the last frame.

    Args:
        new: probabilities in [0, 1] (any shape).
        previous: the previous frame's, same shape.
        ratio: how much an entirely unsure value takes from the previous one, in [0, 1].
    """
    p = np.clip(new, 1e-6, 1.0 - 1e-6)
    entropy = -(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p))
    weight = np.minimum(entropy, 1.0)
    weight *= weight
    weight *= np.float32(ratio)
    return (new + (previous - new) * weight).astype(np.float32, copy=False)


class _Preprocessor:
    """The card's input tensor from a BGR frame: one resize and one colour swap.

    Without extra channels, OpenCV does it all in one pass (``blobFromImageWithParams``: resize, channel swap,
    per-channel scale and layout); with extra channels, the colour planes are normalised one by one and
    interleaved with the extra planes.
    """

    def __init__(self, card: ModelCard) -> None:
        spec = card.input
        self.name = card.name
        self.size = spec.size
        std = np.asarray(spec.std, np.float64)
        self.gain = (spec.scale / std).astype(np.float32)
        self.offset = (np.asarray(spec.mean, np.float64) / std).astype(np.float32)
        self.order = (2, 1, 0) if spec.color is ColorOrder.RGB else (0, 1, 2)
        self.nchw = spec.layout is Layout.NCHW
        self.extra = spec.extra_channels
        self._params = None
        if not self.extra and hasattr(cv2.dnn, "blobFromImageWithParams"):  # OpenCV >= 4.9
            params = cv2.dnn.Image2BlobParams()
            params.scalefactor = (*(float(g) for g in self.gain), 0.0)
            params.mean = (*(float(m) / spec.scale for m in spec.mean), 0.0)
            params.size = (self.size[1], self.size[0])
            params.swapRB = spec.color is ColorOrder.RGB
            params.ddepth = cv2.CV_32F
            params.datalayout = cv2.dnn.DNN_LAYOUT_NCHW if self.nchw else cv2.dnn.DNN_LAYOUT_NHWC
            self._params = params

    def __call__(self, frame: np.ndarray, extra: Mapping[str, np.ndarray]) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InputError(f"model {self.name} needs an HxWx3 uint8 BGR frame, got {frame.shape} {frame.dtype}")
        if self._params is not None:
            return np.asarray(cv2.dnn.blobFromImageWithParams(frame, self._params))
        h, w = self.size
        bgr = cv2.split(cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR))
        planes = []
        for i, c in enumerate(self.order):
            plane = bgr[c].astype(np.float32)
            plane *= self.gain[i]
            plane -= self.offset[i]
            planes.append(plane)
        for name in self.extra:
            given = extra.get(name)
            planes.append(np.zeros((h, w), np.float32) if given is None else resize_plane(given, (h, w)))
        return np.stack(planes)[None] if self.nchw else cv2.merge(planes)[None]


def activate(output: np.ndarray, card: ModelCard) -> np.ndarray:
    """The network's output as ``C x h x w`` float32 probabilities (the card's layout and activation).

    Works on contiguous planes: a softmax over two channels is one sigmoid of their difference.

    Raises:
        ModelError: when the output does not have the card's number of channels.
    """
    out = np.asarray(output, dtype=np.float32)
    n = card.output.channels
    if out.ndim == 4 and out.shape[0] == 1:
        out = out[0]
    if out.ndim == 2 and n == 1:
        out = out[None]
    elif out.ndim == 3 and card.output.layout is Layout.NHWC:
        out = out.transpose(2, 0, 1)
    if out.ndim != 3 or out.shape[0] != n:
        raise ModelError(
            f"model {card.name}: the output has shape {tuple(np.shape(output))}, but the card says "
            f"{card.output.layout.value} with {n} channel{'s' * (n != 1)}"
        )
    activation = card.output.activation
    if activation is Activation.SOFTMAX and n == 2:
        p1 = _sigmoid(out[1] - out[0])
        return np.stack([1.0 - p1, p1])
    planes = np.ascontiguousarray(out, dtype=np.float32)
    if activation is Activation.SOFTMAX:
        planes = planes - planes.max(axis=0)
        np.exp(planes, out=planes)
        planes /= planes.sum(axis=0)
        return planes
    if activation is Activation.SIGMOID:
        return _sigmoid(planes)
    return planes


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-x)
    e += 1.0
    return np.reciprocal(e, out=e)


class CardBackend(BodyBackend):
    """The generic backend: a network described by a :class:`~tryon.models.ModelCard`, run by an :class:`Engine`.

    Args:
        card: the network's card.
        engine: what runs it (see :func:`tryon.parsing.backends.onnx_backend` and
            :func:`tryon.parsing.backends.tflite_backend`, which build both).
        smoothing: in video, blend each new result with the previous one at this ratio where the network is unsure
            (see :func:`smooth_with_previous`); None picks :data:`MEDIAPIPE_SMOOTHING` for networks that take the
            previous mask (MediaPipe's convention) and no smoothing for others; 0 turns it off.
        feedback: in video, feed a network that takes ``previous_mask`` the previous frame's mask (MediaPipe's hair
            graph does: steadier masks); False feeds zeros, as for a still image.
        name: the backend's name (default: the card's).

    Raises:
        ModelError: for a card whose every channel is ignored, or a smoothing ratio outside [0, 1].
    """

    def __init__(
        self,
        card: ModelCard,
        engine: Engine,
        *,
        smoothing: Optional[float] = None,
        feedback: bool = True,
        name: str | None = None,
    ) -> None:
        self.card = card
        self.engine = engine
        self.name = name or card.name
        keep = [i for i, c in enumerate(card.output.classes) if c is not None]
        if not keep:
            raise ModelError(f"model {card.name}: every output channel is ignored (null); nothing to parse")
        self._keep = keep
        self._channels = tuple(frozenset([c] if isinstance(c, str) else c) for c in card.output.classes if c)
        self._exclusive = card.output.activation is Activation.SOFTMAX
        foreground = [i for i, c in enumerate(self._channels) if not c <= {_BACKGROUND}]
        self._foreground = foreground
        takes_previous = "previous_mask" in card.input.extra_channels
        ratio = (MEDIAPIPE_SMOOTHING if takes_previous else 0.0) if smoothing is None else float(smoothing)
        if not 0.0 <= ratio <= 1.0:
            raise ModelError(f"model {card.name}: smoothing must be in [0, 1], got {smoothing!r}")
        self.smoothing = ratio
        self.feedback = feedback
        self._prepare = _Preprocessor(card)
        self._previous: np.ndarray | None = None
        self._closed = False

    @property
    def classes(self) -> frozenset[str]:
        return frozenset().union(*self._channels)

    def reset(self) -> None:
        self._previous = None

    def predict(self, frame: np.ndarray) -> BodyProbs:
        if self._closed:
            raise ModelError(f"backend {self.name} is closed")
        previous = self._previous
        extra: dict[str, np.ndarray] = {}
        if previous is not None and self.feedback and "previous_mask" in self.card.input.extra_channels:
            extra["previous_mask"] = self._foreground_of(previous)
        output = self.engine.run(self._prepare(frame, extra))
        probs = activate(output, self.card)
        if len(self._keep) != probs.shape[0]:
            probs = probs[self._keep]
        if previous is not None and self.smoothing > 0 and previous.shape == probs.shape:
            probs = smooth_with_previous(probs, previous, self.smoothing)
        self._previous = probs
        return BodyProbs((int(frame.shape[0]), int(frame.shape[1])), self._channels, probs, self._exclusive)

    def _foreground_of(self, probs: np.ndarray) -> np.ndarray:
        """The previous frame's mask of the model's class(es): every channel but the background."""
        if len(self._foreground) == 1:
            return probs[self._foreground[0]]
        return np.minimum(probs[self._foreground].sum(axis=0), 1.0)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._previous = None
            self.engine.close()


class CombinedBackend(BodyBackend):
    """Several backends on the same frame, their channels side by side (a hair model beside a body model).

    Maps are brought to the largest backend's resolution; channels with the same classes are averaged.

    Args:
        backends: the backends, at least two; the combined backend owns and closes them.
    """

    def __init__(self, backends: Sequence[BodyBackend]) -> None:
        if len(backends) < 2:
            raise InputError(f"a combined backend needs at least 2 backends, got {len(backends)}")
        self.backends = tuple(backends)
        self.name = "+".join(b.name for b in self.backends)

    @property
    def classes(self) -> frozenset[str]:
        return frozenset().union(*(b.classes for b in self.backends))

    def reset(self) -> None:
        for b in self.backends:
            b.reset()

    def predict(self, frame: np.ndarray) -> BodyProbs:
        parts = [b.predict(frame) for b in self.backends]
        size = max((p.size for p in parts), key=lambda s: s[0] * s[1])
        sums: dict[frozenset[str], np.ndarray] = {}
        counts: dict[frozenset[str], int] = {}
        for part in parts:
            for classes, plane in zip(part.channels, _resize_stack(part.probs, size)):
                if classes in sums:
                    sums[classes] = sums[classes] + plane
                    counts[classes] += 1
                else:
                    sums[classes] = plane
                    counts[classes] = 1
        channels = tuple(sums)
        stack = np.stack([sums[c] / counts[c] if counts[c] > 1 else sums[c] for c in channels])
        return BodyProbs(
            (int(frame.shape[0]), int(frame.shape[1])),
            channels,
            np.ascontiguousarray(stack, dtype=np.float32),
            exclusive=False,
        )

    def close(self) -> None:
        for b in self.backends:
            b.close()


#: Windows' probabilities fade into the whole frame's over this fraction of their side, at edges inside the frame.
_FEATHER = 0.1
#: :func:`predict_windows` merges maps at the frame's size, at most this many pixels on the long side.
_MERGED_MAX = 1024


def _ramp(n: int, fade: float, start: bool, end: bool) -> np.ndarray:
    """Weights along one side of a window: 1 inside, fading to 0 over ``fade`` pixels at the ends that fade."""
    ramp = np.ones(n, np.float32)
    if fade >= 1.0:
        step = (np.arange(n, dtype=np.float32) + 0.5) / np.float32(fade)
        if start:
            np.minimum(ramp, step, out=ramp)
        if end:
            np.minimum(ramp, step[::-1], out=ramp)
    return ramp


def predict_windows(backend: BodyBackend, frame: np.ndarray, windows: Sequence[Box]) -> BodyProbs:
    """A backend's probabilities over the whole frame, run again in windows of it where people are small.

    A network squeezes the whole frame into its input: people who fill little of a wide photo get few of its
    pixels, stretched. Here it runs on the frame, then on each window (each crop squeezed into the input on its
    own, so the people in it fill it). Inside a window its probabilities replace the frame's, fading into them
    over the window's inner edges; where windows overlap they are averaged. The backend is reset before each
    window (an unrelated image to it): this is for photos, not streams.

    Args:
        backend: the model.
        frame: the BGR uint8 frame.
        windows: boxes of the frame (clipped to it; empty ones are skipped).

    Returns:
        Probabilities at the frame's size (at most 1024 pixels on the long side); the whole frame's result as
        it is when no window is left.
    """
    shape = (int(frame.shape[0]), int(frame.shape[1]))
    whole = backend.predict(frame)
    boxes = [b for b in (w.clip(shape) for w in windows) if not b.empty]
    if not boxes:
        return whole
    scale = min(1.0, _MERGED_MAX / max(shape))
    size = (max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale)))
    total = np.zeros((len(whole.channels), *size), np.float32)
    weight = np.zeros(size, np.float32)
    for box in boxes:
        backend.reset()
        part = backend.predict(np.ascontiguousarray(frame[box.slices]))
        if part.channels != whole.channels:
            raise ModelError(f"backend {backend.name}: a window's channels differ from the frame's")
        x0, y0 = min(round(box.x0 * scale), size[1] - 1), min(round(box.y0 * scale), size[0] - 1)
        x1, y1 = max(x0 + 1, round(box.x1 * scale)), max(y0 + 1, round(box.y1 * scale))
        fade = _FEATHER * max(x1 - x0, y1 - y0)
        w = np.minimum(
            _ramp(y1 - y0, fade, box.y0 > 0, box.y1 < shape[0])[:, None],
            _ramp(x1 - x0, fade, box.x0 > 0, box.x1 < shape[1])[None, :],
        )
        total[:, y0:y1, x0:x1] += _resize_stack(part.probs, (y1 - y0, x1 - x0)) * w
        weight[y0:y1, x0:x1] += w
    rest = np.clip(1.0 - weight, 0.0, 1.0)
    total += _resize_stack(whole.probs, size) * rest
    weight += rest
    total /= np.maximum(weight, np.float32(1e-6))
    return BodyProbs(shape, whole.channels, total, whole.exclusive)
