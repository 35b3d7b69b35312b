"""Reading look files (YAML or JSON) and finding the built-in looks, with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tryon.assets import assets_dir
from tryon.color import short_repr
from tryon.errors import LookError

__all__ = ["LOOK_SUFFIXES", "builtin_looks", "is_look_file", "read_look_file", "resolve_look"]

LOOK_SUFFIXES = (".yaml", ".yml", ".json")


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (YAML would keep the last silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        mark = key_node.start_mark
        if not isinstance(key_node, yaml.ScalarNode):  # a "? [a]" key: a list or mapping, which no look field is
            raise LookError(f"line {mark.line + 1}, column {mark.column + 1}: a key must be a name or a number")
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise LookError(f"line {mark.line + 1}, column {mark.column + 1}: {short_repr(key)} is given twice")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (as the YAML loader does; ``json`` would keep the last)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise LookError(f"{short_repr(key)} is given twice in one object")
        out[key] = value
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def builtin_looks() -> dict[str, Path]:
    """The built-in looks: name to file, sorted by name."""
    return {p.stem: p for p in sorted(assets_dir("looks").glob("*.yaml"))}


def is_look_file(ref: str | Path) -> bool:
    """Whether a look reference is a file path (it has a suffix or a folder part) rather than a built-in name."""
    text = str(ref)
    return isinstance(ref, Path) or Path(text).suffix != "" or "/" in text or "\\" in text


def resolve_look(ref: str | Path, base_dir: Path | None = None) -> Path:
    """The file of a look reference: a built-in name (``"evening"``) or a look file path.

    A relative path is taken relative to ``base_dir`` when given (the folder of the look that refers to it).

    Raises:
        LookError: for an unknown built-in name (listing them), a file type that is not a look, or a reference
            that is neither text nor a path.
    """
    if not isinstance(ref, (str, Path)):
        raise LookError(f"a look must be a built-in look's name or a look file's path, got {short_repr(ref)}")
    text = str(ref)
    if not is_look_file(ref):
        looks = builtin_looks()
        if text not in looks:
            raise LookError(
                f"unknown look {short_repr(text)}; built-in looks: {', '.join(looks)} "
                f"(or give a {', '.join(LOOK_SUFFIXES)} file)"
            )
        return looks[text]
    path = Path(text).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if path.suffix.lower() not in LOOK_SUFFIXES:
        raise LookError(f"{path}: a look file must end in {', '.join(LOOK_SUFFIXES)}, got {short_repr(path.suffix)}")
    return path


def read_look_file(path: Path) -> Any:
    """The plain data of a look file (not yet validated as a look).

    JSON and YAML are read alike: a leading UTF-8 byte order mark is skipped, and a key given twice in one
    mapping is refused.

    Raises:
        LookError: when the file is missing, empty, not UTF-8, not valid YAML/JSON (with the line), has a key
            given twice, or is nested too deeply to parse.
    """
    if not path.is_file():
        raise LookError(f"{path}: no such look file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise LookError(f"{path}: not a text file (expected UTF-8 YAML or JSON)") from None
    except OSError as exc:
        raise LookError(f"{path}: could not be read ({exc.strerror or exc})") from None
    if not text.strip():
        raise LookError(f"{path}: the file is empty; a look needs at least 'effects'")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text, object_pairs_hook=_json_object)
        return yaml.load(text, Loader=_StrictLoader)
    except LookError as exc:
        raise LookError(f"{path}: {exc}") from None
    except RecursionError:
        raise LookError(f"{path}: nested too deeply; a look is a few levels of mappings") from None
    except json.JSONDecodeError as exc:
        raise LookError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise LookError(f"{path}: {where}not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise LookError(f"{path}: not valid YAML ({exc})") from None
