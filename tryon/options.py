"""Typed option dataclasses built from plain data (look files, CLI overrides), with precise errors.

An option dataclass declares each field's type; numeric fields may declare ``metadata={"range": (lo, hi)}``.
:func:`build_options` turns a mapping into the dataclass, refusing unknown keys and wrong values with a message
that names the field and what is allowed. Values are quoted briefly (:func:`~tryon.color.short_repr`), however
large they are.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from tryon.color import Color, short_repr
from tryon.errors import InputError, LookError

__all__ = ["build_options", "describe_options", "option_range"]

T = TypeVar("T")
_UnionType = getattr(types, "UnionType", None)


def option_range(lo: float, hi: float) -> dict[str, Any]:
    """Field metadata for a numeric option bounded to ``[lo, hi]``."""
    return {"range": (lo, hi)}


def _convert(value: Any, kind: Any, field_name: str) -> Any:
    origin = typing.get_origin(kind)
    if origin is typing.Union or (_UnionType is not None and origin is _UnionType):
        members = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None:
            return None
        errors = []
        for arg in members:
            try:
                return _convert(value, arg, field_name)
            except LookError as exc:
                errors.append(str(exc))
        raise LookError(errors[0] if errors else f"{field_name}: invalid value {short_repr(value)}")
    if origin in (tuple, list):
        args = typing.get_args(kind)
        if not isinstance(value, (list, tuple)):
            raise LookError(f"{field_name}: must be a list, got {short_repr(value)}")
        inner = args[0] if args else Any
        return tuple(_convert(v, inner, f"{field_name}[{i}]") for i, v in enumerate(value))
    if kind is Color:
        try:
            return Color.parse(value)
        except InputError as exc:
            raise LookError(f"{field_name}: {exc}") from None
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise LookError(f"{field_name}: {short_repr(value)} is not allowed; allowed: {allowed}") from None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off", "1", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise LookError(f"{field_name}: must be true or false, got {short_repr(value)}")
    if kind in (float, int):
        if isinstance(value, bool):
            raise LookError(f"{field_name}: must be a number, got {short_repr(value)}")
        try:
            number = kind(float(value)) if isinstance(value, str) else kind(value)
            whole = kind is float or isinstance(value, int) or float(value) == number
        except (TypeError, ValueError, OverflowError):  # OverflowError: "1e400" as an int, 10**400 as a float
            raise LookError(f"{field_name}: must be a number, got {short_repr(value)}") from None
        if not whole:
            raise LookError(f"{field_name}: must be a whole number, got {short_repr(value)}")
        return number
    if kind is str:
        if not isinstance(value, str):
            raise LookError(f"{field_name}: must be text, got {short_repr(value)}")
        return value
    return value


def build_options(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """Builds the option dataclass ``cls`` from ``data``.

    Args:
        cls: a dataclass whose fields are the options.
        data: a mapping of option names to values (strings are accepted for numbers, colours and enums), or None
            for the defaults.
        where: prefix for messages, such as ``"looks/evening.yaml: effects.lipstick"``.

    Raises:
        LookError: for data that is not a mapping of option names, an unknown option (listing the valid ones) or a
            bad value (saying what is allowed).

    Example:
        >>> from tryon.effects.lipstick import LipstickOptions
        >>> build_options(LipstickOptions, {"color": "#9E1B32", "intensity": "0.6"}).intensity
        0.6
    """
    at = f"{where}: " if where else ""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise LookError(
            f"{at}options must be a mapping of option names to values, such as {_example(cls, data)}; got {_kind(data)}"
        )
    for key in data:
        if not isinstance(key, str):
            raise LookError(f"{at}option names must be text, got {short_repr(key)}")
    prefix = f"{where}." if where else ""
    data = dict(data)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise LookError(f"{prefix}{_name(unknown[0])}: unknown option; allowed: {', '.join(sorted(fields))}")
    values = {}
    for name, value in data.items():
        converted = _convert(value, hints[name], f"{prefix}{name}")
        bounds = fields[name].metadata.get("range")
        if bounds is not None and converted is not None and not bounds[0] <= converted <= bounds[1]:
            raise LookError(f"{prefix}{name}: must be in [{bounds[0]}, {bounds[1]}], got {short_repr(value)}")
        values[name] = converted
    try:
        return cls(**values)
    except (InputError, LookError) as exc:
        raise LookError(f"{where}: {exc}" if where else str(exc)) from None


def _kind(value: object) -> str:
    """What came instead of a mapping, for messages: ``a str ('color=#fff')``."""
    kind = type(value).__name__
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} ({short_repr(value)})"


def _example(cls: type, data: object) -> str:
    """A mapping like the one meant: ``"color=#fff"`` becomes ``{'color': '#fff'}``, else the first option's name."""
    if isinstance(data, str) and "=" in data:
        pairs = [part.partition("=") for part in data.split(",")]
        if all(sep and key.strip() for key, sep, _ in pairs):
            return short_repr({key.strip(): value.strip() for key, _, value in pairs})
    names = [f.name for f in dataclasses.fields(cls)]
    return f"{{{names[0]!r}: ...}}" if names else "{}"


def _name(name: str) -> str:
    """An option name as messages show it: bare, or quoted and cut when it is long or holds odd characters."""
    return name if len(name) <= 40 and name.isprintable() else short_repr(name, 40)


def describe_options(cls: type) -> dict[str, str]:
    """Option name to a short 'type (range) = default' text, for help and listings."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            text = "|".join(str(m.value) for m in kind)
        else:
            text = getattr(kind, "__name__", str(kind))
        if "range" in f.metadata:
            text += f" in [{f.metadata['range'][0]}, {f.metadata['range'][1]}]"
        default = f.default if f.default is not dataclasses.MISSING else None
        if isinstance(default, enum.Enum):
            default = default.value
        out[f.name] = f"{text} = {default}"
    return out
