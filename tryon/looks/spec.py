"""Validating look data: the plain mapping a look file holds, checked and brought to one normal form.

The normal form (what :meth:`tryon.looks.Look.as_dict` returns, less its empty fields) is::

    {"name": str, "description": str,
     "effects": {effect: {option: value, ...}, ...},          # registry order
     "faces": {face_id: {"look": ref, "effects": {effect: {...} | False}}}}

Option values stay plain data here; :func:`build_effect` turns them into an effect, resolving a catalogue ``sku``
into the product's colour and finish.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import typing
from collections.abc import Mapping
from typing import Any

from tryon.color import Color, short_repr
from tryon.effects.base import EFFECTS, Effect, effect_class
from tryon.errors import LookError
from tryon.looks.catalog import CATEGORIES, Catalog

__all__ = [
    "FACE_KEYS",
    "TOP_KEYS",
    "build_effect",
    "merge_options",
    "normalize_look",
    "parse_face_id",
    "product_keys",
    "switch",
]

TOP_KEYS = ("name", "description", "effects", "faces")
FACE_KEYS = ("look", "effects")

_ON = frozenset({"on", "true", "yes"})
_OFF = frozenset({"off", "false", "no"})
_QUOTE_HINT = 'a colour left empty? In YAML an unquoted # starts a comment: write color: "#9E1B32"'

# Limits on look data, checked before anything else reads it (a look's deepest value, such as
# faces.1.effects.lipstick.color[0], is 6 levels down; the built-in looks hold under 100 values).
MAX_DEPTH = 12
MAX_VALUES = 10_000  # YAML aliases counted each time they are used, so a "billion laughs" file stops here
MAX_KEY = 100
MAX_TEXT = 4096


def _kind(value: object) -> str:
    return "nothing" if value is None else f"a {type(value).__name__} ({short_repr(value)})"


def _check_size(data: object, where: str) -> None:
    """Refuses look data too deep, too large, or with too long a name or text (see the limits above).

    It visits at most :data:`MAX_VALUES` values, so it is quick whatever the data (even self-referential), and
    every later message may quote the data's values.

    Raises:
        LookError: naming ``where`` and the field path at fault.
    """
    count = 1
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        field = path.partition("[")[0]  # the field the file names, not the list items inside it
        at = f"{where}: {field}" if field else where
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise LookError(f"{at}: a text of {len(value)} characters; at most {MAX_TEXT} are allowed")
        if not isinstance(value, (Mapping, list, tuple)):
            continue
        count += len(value)
        if count > MAX_VALUES:
            raise LookError(f"{at}: too large: over {MAX_VALUES} values (each use of a YAML alias counts)")
        if depth >= MAX_DEPTH:
            raise LookError(f"{at}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, Mapping):
            for key, item in value.items():
                if len(str(key)) > MAX_KEY:
                    raise LookError(f"{at}: the name {short_repr(key)} is over {MAX_KEY} characters long")
                stack.append((item, f"{path}.{key}" if path else str(key), depth + 1))
        else:
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


def switch(value: object) -> bool | None:
    """True for on/true/yes, False for off/false/no (booleans or text), None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _ON:
            return True
        if text in _OFF:
            return False
    return None


def parse_face_id(key: object, where: str) -> int:
    """A face id from a mapping key (``1`` in YAML, ``"1"`` in JSON or an override).

    Raises:
        LookError: unless it is a whole number >= 0.
    """
    if isinstance(key, int) and not isinstance(key, bool) and key >= 0:
        return key
    if isinstance(key, str) and key.strip().isdecimal():  # not isdigit: int() refuses "²"
        return int(key)
    raise LookError(
        f"{where}.{key}: a face id must be a whole number 0, 1, ... (faces are numbered in order of appearance)"
    )


def merge_options(effect: str, lower: Mapping[str, Any], upper: Mapping[str, Any]) -> dict[str, Any]:
    """Options ``upper`` laid over ``lower``; a SKU in ``upper`` drops the colour (and finish) it replaces below."""
    replaced = set()
    for key, target in product_keys(effect).items():
        if key in upper:
            replaced |= {key, target, "finish"} if key == "sku" else {key, target}
    return {**{k: v for k, v in lower.items() if k not in replaced}, **upper}


def product_keys(effect: str) -> dict[str, str]:
    """The SKU options of an effect and the colour option each sets.

    ``sku`` sets the main colour (``color``, else the effect's first colour option, as eyeshadow's ``lid_color``);
    ``<part>_sku`` sets ``<part>_color`` (as ``crease_sku`` -> ``crease_color``). Effects of no product category
    have none.
    """
    if effect not in CATEGORIES:
        return {}
    hints = typing.get_type_hints(effect_class(effect).Options)
    colors = [name for name, kind in hints.items() if kind is Color or Color in typing.get_args(kind)]
    if not colors:
        return {}
    keys = {"sku": "color" if "color" in colors else colors[0]}
    keys.update({f"{name[: -len('_color')]}_sku": name for name in colors if name.endswith("_color")})
    return keys


def normalize_effects(value: object, where: str, keep_off: bool) -> dict[str, Any]:
    """The ``effects`` mapping in normal form, in registry order.

    Args:
        value: ``{effect: options}``; options are a mapping, or on/off.
        where: the message prefix, such as ``"looks/x.yaml: effects"``.
        keep_off: keep ``effect: off`` as False (a per-face look removing an effect of its base look).
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise LookError(f"{where}: must be a mapping of effect names to options, got {_kind(value)}")
    out: dict[str, Any] = {}
    for name, options in value.items():
        at = f"{where}.{name}"
        if name not in EFFECTS:
            raise LookError(f"{at}: unknown effect; valid effects: {', '.join(EFFECTS)}")
        state = switch(options)
        if state is not None:
            if state or keep_off:
                out[name] = {} if state else False
            continue
        if options is None:
            raise LookError(
                f"{at}: has no options; write {{}} or on for the defaults, off to leave it out ({_QUOTE_HINT})"
            )
        if not isinstance(options, Mapping):
            raise LookError(f"{at}: must be a mapping of options, or on/off, got {_kind(options)}")
        for key in options:
            if not isinstance(key, str):
                raise LookError(f"{at}: option names must be text, got {short_repr(key)}")
        out[name] = dict(options)
    return {name: out[name] for name in EFFECTS if name in out}


def _normalize_faces(value: object, where: str) -> dict[int, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise LookError(
            f"{where}: must be a mapping of face ids to looks, such as {{1: {{look: natural}}}}; got {_kind(value)}"
        )
    out: dict[int, dict[str, Any]] = {}
    for key, entry in value.items():
        face_id = parse_face_id(key, where)
        at = f"{where}.{face_id}"
        if face_id in out:
            raise LookError(f"{at}: given twice")
        if switch(entry) is False:
            out[face_id] = {"effects": {}}
            continue
        if isinstance(entry, str) and entry.strip():
            out[face_id] = {"look": entry.strip()}
            continue
        if not isinstance(entry, Mapping) or not entry:
            raise LookError(
                f"{at}: must be a look name, off, or a mapping with {' and/or '.join(FACE_KEYS)}; got {_kind(entry)}"
            )
        unknown = [k for k in entry if k not in FACE_KEYS]
        if unknown:
            raise LookError(f"{at}.{unknown[0]}: unknown key; allowed: {', '.join(FACE_KEYS)}")
        face: dict[str, Any] = {}
        if "look" in entry:
            if not isinstance(entry["look"], str) or not entry["look"].strip():
                raise LookError(f"{at}.look: must be a look name or file, got {_kind(entry['look'])}")
            face["look"] = entry["look"].strip()
        if "effects" in entry:
            face["effects"] = normalize_effects(entry["effects"], f"{at}.effects", keep_off=True)
        out[face_id] = face
    return out


def normalize_look(data: object, source: str, default_name: str) -> dict[str, Any]:
    """Checks a look's plain data and returns it in normal form.

    Args:
        data: the parsed file (or a mapping built in code).
        source: the file or label to name in messages.
        default_name: the name when the data gives none (the file's stem).

    Raises:
        LookError: naming ``source``, the field path and what is allowed.
    """
    if not isinstance(data, Mapping):
        raise LookError(f"{source}: a look must be a mapping with keys {', '.join(TOP_KEYS)}; got {_kind(data)}")
    _check_size(data, source)
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise LookError(f"{source}: {unknown[0]}: unknown key; allowed: {', '.join(TOP_KEYS)}")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise LookError(f"{source}: {key}: must be text, got {_kind(data[key])}")
    return {
        "name": str(data.get("name") or default_name),
        "description": str(data.get("description") or ""),
        "effects": normalize_effects(data.get("effects"), f"{source}: effects", keep_off=False),
        "faces": _normalize_faces(data.get("faces"), f"{source}: faces"),
    }


def build_effect(name: str, options: Mapping[str, Any], where: str) -> Effect:
    """Builds effect ``name`` from its options in normal form.

    A SKU option (see :func:`product_keys`) sets the product's colour, and ``sku`` also its finish when the effect
    takes that finish; options given beside it win.

    Raises:
        LookError: for an unknown option or SKU or a bad value, prefixed with ``where``.
    """
    cls = effect_class(name)
    skus = product_keys(name)
    allowed = [f.name for f in dataclasses.fields(cls.Options)] + list(skus)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise LookError(f"{where}.{unknown[0]}: unknown option; allowed: {', '.join(allowed)}")
    data = dict(options)
    from_products: dict[str, Any] = {}
    for key in skus:
        if key in data:
            from_products.update(_product_options(cls, name, key, skus[key], data.pop(key), f"{where}.{key}"))
    data = {**from_products, **data}
    try:
        return cls.from_dict(data, where)
    except LookError as exc:
        message = str(exc)
        if not message.startswith(where):  # the effect's own check (an unreadable image) knows only its name
            message = where + message[len(name) :] if message.startswith(f"{name}.") else f"{where}: {message}"
        if any(value is None for value in data.values()):
            message = f"{message} ({_QUOTE_HINT})"
        raise LookError(message) from None


def _product_options(cls: type[Effect], name: str, key: str, target: str, sku: object, where: str) -> dict[str, Any]:
    """The options a product sets: its colour in ``target``, and for ``sku`` its finish if the effect takes it."""
    catalog = Catalog.builtin()
    nearest = difflib.get_close_matches(str(sku).upper(), [p.sku for p in catalog.find(name)], n=5, cutoff=0.0)
    hint = f"{name} SKUs include {', '.join(nearest)} (`tryon catalog {name}` lists them all)"
    if not isinstance(sku, str) or sku not in catalog:
        raise LookError(f"{where}: unknown SKU {short_repr(sku)}; {hint}")
    product = catalog.get(sku)
    if product.category != name:
        raise LookError(
            f"{where}: {product.sku} ({product.brand} {product.product}, {product.shade}) is a product for "
            f"{product.category}, not for {name}; {hint}"
        )
    out: dict[str, Any] = {target: product.color.hex}
    kind = typing.get_type_hints(cls.Options).get("finish")
    if key == "sku" and product.finish is not None and kind is not None and _accepts(kind, product.finish):
        out["finish"] = product.finish
    return out


def _accepts(kind: Any, value: str) -> bool:
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return value in {str(m.value) for m in kind}
    return kind is str
