"""Look overrides: ``effect.option=value`` strings from the command line or an API call.

Forms:

- ``lipstick.color=#9E1B32``, ``lipstick.sku=TRY-LIP-003``: set one option (the effect is added when the look
  lacks it; a ``sku`` replaces the colour and finish it had);
- ``lipstick=off`` removes an effect, ``blush=on`` adds it with its defaults;
- ``faces.1.lipstick.color=#9E1B32``, ``faces.1.lipstick=off``: the same for face 1's own look (a face without one
  starts from the main look's effects);
- ``faces.1=natural`` (a look name or file) and ``faces.1=off`` (no makeup on face 1); ``faces.1.look=natural``.
  A relative look file is taken from the current folder, as any path given on a command line.

The value ``none`` sets an option to nothing (for optional options such as ``lipstick.color2``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from tryon.color import short_repr
from tryon.effects.base import EFFECTS
from tryon.errors import LookError
from tryon.looks.loader import is_look_file
from tryon.looks.spec import merge_options, parse_face_id, switch

__all__ = ["OVERRIDE_FORMS", "apply_override"]

OVERRIDE_FORMS = (
    "EFFECT.OPTION=VALUE, EFFECT=on|off, faces.ID.EFFECT.OPTION=VALUE, faces.ID.EFFECT=on|off, faces.ID=LOOK|off"
)

Fail = Callable[[str], NoReturn]


def apply_override(spec: dict[str, Any], text: str) -> dict[str, Any]:
    """A copy of the look ``spec`` (in normal form) with the override ``text`` applied.

    Only the override's form and effect name are checked here; the option value is checked when the look is
    built from the result.

    Raises:
        LookError: for a malformed override, saying the expected forms.
    """

    def fail(why: str) -> NoReturn:
        raise LookError(f"override {short_repr(text)}: {why}; expected {OVERRIDE_FORMS}")

    if not isinstance(text, str):
        fail("must be text")
    key, sep, value = (part.strip() for part in text.partition("="))
    if not sep:
        fail("no '='")
    if not key or not value:
        fail("a name and a value are needed on each side of '='")
    parts = key.split(".")
    if not all(parts):
        fail("an empty name between dots")
    out = copy.deepcopy(spec)
    if parts[0] == "faces":
        _face(out, parts[1:], value, text, fail)
    else:
        _effect(out["effects"], parts, value, text, fail, keep_off=False)
    return out


def _effect(effects: dict[str, Any], parts: list[str], value: str, text: str, fail: Fail, keep_off: bool) -> None:
    name = parts[0]
    if name not in EFFECTS:
        raise LookError(
            f"override {short_repr(text)}: unknown effect {short_repr(name)}; valid effects: {', '.join(EFFECTS)}"
        )
    if len(parts) == 1:
        state = switch(value)
        if state is None:
            fail(f"{name}= takes on or off, got {short_repr(value)}")
        if state:
            if not isinstance(effects.get(name), dict):
                effects[name] = {}
        elif keep_off:
            effects[name] = False
        else:
            effects.pop(name, None)
    elif len(parts) == 2:
        current = effects.get(name)
        options = current if isinstance(current, dict) else {}
        effects[name] = merge_options(name, options, {parts[1]: None if value.lower() in ("none", "null") else value})
    else:
        fail(f"too many dots in {short_repr('.'.join(parts))}")


def _face(spec: dict[str, Any], parts: list[str], value: str, text: str, fail: Fail) -> None:
    if not parts:
        fail("faces needs a face id, as in faces.1.lipstick.color=#9E1B32")
    try:
        face_id = parse_face_id(parts[0], "faces")
    except LookError as exc:
        fail(str(exc))
    faces = spec["faces"]
    rest = parts[1:]
    if not rest:  # the face's whole look
        state = switch(value)
        if state is True:
            fail(f"faces.{face_id}= takes a look name or file, or off")
        entry: dict[str, Any] = {"effects": {}} if state is False else {"look": _look_ref(value)}
        faces[face_id] = entry
        return
    if rest == ["look"]:  # the face's base look, keeping its own effect options
        faces[face_id] = {**faces.get(face_id, {}), "look": _look_ref(value)}
        return
    entry = faces.setdefault(face_id, {"effects": copy.deepcopy(spec["effects"])})
    _effect(entry.setdefault("effects", {}), rest, value, text, fail, keep_off=True)


def _look_ref(value: str) -> str:
    """A face's look from an override, a relative file made absolute from the current folder (not the look's)."""
    path = Path(value).expanduser()
    return str(Path.cwd() / path) if is_look_file(value) and not path.is_absolute() else value
