"""A look: effects and their options, applied in registry order, with per-face looks by stable face id.

A look file (YAML or JSON)::

    name: evening
    description: Deep berry lips, smoky lids, defined brows.
    effects:                          # applied complexion first, lips last, whatever the file's order
      foundation: {color: "#D9B59A", coverage: 0.4}
      lipstick: {sku: TRY-LIP-007}    # a catalogue product: its colour, and its finish when the effect has one
      eyeliner: {wing: true}
    faces:                            # optional: face 1 wears its own look
      1: {look: natural}              # a built-in name or a file; or {effects: {...}}; or {look: ..., effects: ...}
"""

from __future__ import annotations

import copy
import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from tryon.color import Color, short_repr
from tryon.effects._skin import apply_effects
from tryon.effects.base import EFFECTS, Effect
from tryon.errors import InputError, LookError
from tryon.looks.loader import LOOK_SUFFIXES, builtin_looks, read_look_file, resolve_look
from tryon.looks.overrides import apply_override
from tryon.looks.spec import build_effect, merge_options, normalize_look
from tryon.parsing.frame_parse import FrameParse

__all__ = ["Look"]


@dataclass(frozen=True)
class Look:
    """Effects to apply in order, and per-face looks by face id (other faces wear this one).

    Attributes:
        name: the look's name.
        effects: the effects, in registry order (complexion first, lips last).
        faces: face id to that face's own look.
        description: one line for listings.
        source: the file it came from, or a label such as ``"<dict>"``.

    Example:
        >>> look = Look.load("evening", overrides=["lipstick.color=#9E1B32"])  # doctest: +SKIP
        >>> look.render(frame, parse)  # doctest: +SKIP
    """

    name: str
    effects: tuple[Effect, ...] = ()
    faces: Mapping[int, Look] = field(default_factory=dict)
    description: str = ""
    source: str = "<dict>"
    # The look as plain data in normal form (see tryon.looks.spec); derived from ``effects`` when not given.
    spec: Optional[Mapping[str, Any]] = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Checks the fields' types (a list of effects is kept as a tuple).

        Raises:
            InputError: for a field of the wrong type, such as an effect given by name rather than built.
        """
        if not isinstance(self.name, str):
            raise InputError(f"Look: name must be text, got {short_repr(self.name)}")
        where = f"Look {short_repr(self.name)}"
        if isinstance(self.effects, list):
            object.__setattr__(self, "effects", tuple(self.effects))
        if not isinstance(self.effects, tuple) or not all(isinstance(e, Effect) for e in self.effects):
            raise InputError(
                f"{where}: effects must be a tuple of effects, such as (tryon.create_effect('lipstick'),); "
                f"got {short_repr(self.effects)} (Look.from_dict takes effects by name)"
            )
        if not isinstance(self.faces, Mapping) or not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 and isinstance(look, Look)
            for i, look in self.faces.items()
        ):
            raise InputError(
                f"{where}: faces must map face ids 0, 1, ... to Look objects; got {short_repr(self.faces)} "
                "(Look.from_dict takes looks by name)"
            )
        for key in ("description", "source"):
            if not isinstance(getattr(self, key), str):
                raise InputError(f"{where}: {key} must be text, got {short_repr(getattr(self, key))}")
        if self.spec is not None and not isinstance(self.spec, Mapping):
            raise InputError(f"{where}: spec must be a mapping or None, got {short_repr(self.spec)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Look:
        """Builds and validates a look from plain data.

        Args:
            data: ``{"name", "description", "effects", "faces"}`` as in a look file.
            source: the file or label to name in messages; a relative per-face look file is found beside it.

        Raises:
            LookError: naming ``source``, the field path and what is allowed.
        """
        path = Path(source)
        default = path.stem if path.suffix.lower() in LOOK_SUFFIXES else source
        return cls._build(normalize_look(data, source, default), source, source)

    @classmethod
    def load(cls, ref: str | Path, overrides: Sequence[str] = ()) -> Look:
        """Loads a built-in look by name (``"evening"``) or a ``.yaml``/``.yml``/``.json`` file.

        Args:
            ref: a built-in look name or a look file.
            overrides: ``effect.option=value`` strings applied after loading (see :meth:`with_overrides`).

        Raises:
            LookError: for an unknown name, a missing or malformed file, or a bad override.
        """
        path = resolve_look(ref)
        look = cls.from_dict(read_look_file(path), str(path))
        return look.with_overrides(overrides) if overrides else look

    def with_overrides(self, overrides: Sequence[str] | str) -> Look:
        """A copy with overrides applied in order, such as ``["lipstick.color=#9E1B32", "blush=off"]``.

        See :mod:`tryon.looks.overrides` for the forms.

        Args:
            overrides: a list (or any sequence) of override texts; a single text is one override.

        Raises:
            LookError: for overrides that are not texts (None, bytes, numbers...), a malformed override (saying the
                expected forms) or a bad value.
        """
        if isinstance(overrides, str):
            overrides = [overrides]
        where = self._where()
        if not isinstance(overrides, Sequence) or isinstance(overrides, (bytes, bytearray)):
            raise LookError(
                f"{where}: overrides must be a list of texts such as ['lipstick.color=#9E1B32'], "
                f"got {short_repr(overrides)}"
            )
        for i, text in enumerate(overrides):
            if not isinstance(text, str):
                raise LookError(
                    f"{where}: overrides[{i}] must be a text such as 'lipstick.color=#9E1B32', got {short_repr(text)}"
                )
        look = self
        for text in overrides:
            try:
                spec = apply_override(look._spec(), text)
            except LookError as exc:
                raise LookError(f"{where}: {exc}") from None
            look = Look._build(spec, self.source, f"{where} (override {short_repr(text)})")
        return look

    def _where(self) -> str:
        """How messages name this look: its file, or ``look 'NAME'`` for a built-in one (its file is tryon's own)."""
        builtin = next((name for name, path in builtin_looks().items() if str(path) == self.source), None)
        return self.source if builtin is None else f"look {builtin!r}"

    def render(self, frame: np.ndarray, parse: FrameParse) -> np.ndarray:
        """Applies the look to ``frame`` in place and returns it; faces listed in ``faces`` get their own look."""
        if not self.faces:
            return apply_effects(self.effects, frame, parse)
        default = parse.only((f.id for f in parse.faces if f.id not in self.faces), split_body=self._reads_body())
        apply_effects(self.effects, frame, default)
        for face_id, look in self.faces.items():
            if any(f.id == face_id for f in parse.faces):
                look.render(frame, parse.only([face_id], split_body=look._reads_body()))
        return frame

    def _reads_body(self) -> bool:
        """Whether an effect of this look (not counting per-face looks) reads the body classes."""
        return any(getattr(effect, "needs_body", False) for effect in self.effects)

    def as_dict(self) -> dict[str, Any]:
        """The look as plain data, as a look file would hold it (``tryon looks show`` prints it as YAML)."""
        spec = self._spec()
        out: dict[str, Any] = {"name": spec["name"]}
        if spec["description"]:
            out["description"] = spec["description"]
        out["effects"] = spec["effects"]
        if spec["faces"]:
            out["faces"] = spec["faces"]
        return out

    def _spec(self) -> dict[str, Any]:
        if self.spec is not None:
            return copy.deepcopy(dict(self.spec))
        return {
            "name": self.name,
            "description": self.description,
            "effects": {e.name: _plain_options(e.options) for e in self.effects},
            "faces": {i: {"effects": look._spec()["effects"]} for i, look in self.faces.items()},
        }

    @classmethod
    def _build(cls, spec: dict[str, Any], source: str, prefix: str, effects_at: str | None = None) -> Look:
        """Builds a look from its normal form.

        Args:
            spec: the look in normal form.
            source: its file (relative per-face look files are found beside it) or label.
            prefix: what every message starts with (the file, and the override being applied).
            effects_at: the field path of the effects in messages (``"<prefix>: effects"`` by default).
        """
        at = effects_at or f"{prefix}: effects"
        effects = tuple(
            build_effect(name, spec["effects"][name], f"{at}.{name}") for name in EFFECTS if name in spec["effects"]
        )
        base_dir = Path(source).parent if Path(source).is_file() else None
        faces = {
            face_id: _face_look(spec["name"], face_id, entry, source, base_dir, f"{prefix}: faces.{face_id}")
            for face_id, entry in spec["faces"].items()
        }
        return cls(spec["name"], effects, faces, spec["description"], source, spec)


def _face_look(
    name: str, face_id: int, entry: Mapping[str, Any], source: str, base_dir: Path | None, where: str
) -> Look:
    """The look of one face: its base look (if any) with its own effect options laid over."""
    effects: dict[str, Any] = {}
    if "look" in entry:
        try:
            path = resolve_look(entry["look"], base_dir)
            base = normalize_look(read_look_file(path), str(path), path.stem)
            if not base["faces"]:
                Look._build(base, str(path), str(path))  # its own errors name its own file, after the field
        except LookError as exc:
            raise LookError(f"{where}.look: {exc}") from None
        if base["faces"]:  # checked before building it, so a look naming itself cannot recurse
            raise LookError(f"{where}.look: {path} has per-face looks of its own; a face's look cannot")
        source = str(path)
        effects, name = base["effects"], base["name"]
    for effect, options in entry.get("effects", {}).items():
        if options is False:
            effects.pop(effect, None)
        else:
            effects[effect] = merge_options(effect, effects.get(effect, {}), options)
    spec = {"name": f"{name} (face {face_id})", "description": "", "effects": effects, "faces": {}}
    return Look._build(spec, source, where, f"{where}.effects")


def _plain_options(options: Any) -> dict[str, Any]:
    """An options dataclass as plain data: the fields that differ from their defaults."""
    out = {}
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if value != default:
            out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Color):
        return value.hex
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
