"""The model manifest: every model tryon knows, with its file, download URL, sha256, licence and card.

There is one manifest, ``models/manifest.json`` in a source checkout (``tryon/_models/manifest.json`` in a wheel);
no URL or checksum is written anywhere else.

Example:
    >>> from tryon.models import Manifest
    >>> entry = Manifest.default().get("mediapipe-hair")
    >>> entry.file, entry.card.input.size
    ('mediapipe/hair_segmentation.tflite', (512, 512))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Optional

from tryon.errors import ModelError
from tryon.models.card import ModelCard

__all__ = ["TASKS", "Manifest", "ModelEntry", "find_manifest"]

_PACKAGE = Path(__file__).resolve().parent.parent

#: What a model does; a segmentation model must carry a card.
TASKS: dict[str, str] = {
    "segmentation": "per-pixel classes (has a card)",
    "face-detection": "face boxes and keypoints",
    "face-landmarks": "a face mesh from a face crop",
    "iris-landmarks": "iris and eye contour points from an eye crop",
    "face-landmarker": "a MediaPipe Tasks bundle: detection, mesh and blendshapes",
    "face-mesh": "a 3D face mesh with UV coordinates",
    "texture": "an image in a mesh's UV space",
}

_ENTRY_FIELDS = ("file", "url", "sha256", "size", "licence", "description", "task", "source", "card")
_REQUIRED = ("file", "url", "sha256", "size", "licence", "description", "task")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


@dataclass(frozen=True)
class ModelEntry:
    """One model of the manifest.

    Attributes:
        name: the model's name, as used by ``tryon models pull NAME``.
        file: its path relative to the models cache folder (POSIX separators).
        url: the public download location.
        sha256: the checksum of the file (lower-case hex).
        size: the file's size in bytes.
        licence: SPDX identifier of the weights' licence.
        description: one line.
        task: what it does (see :data:`TASKS`).
        source: where the file comes from (repository and commit).
        card: the input/output card of a segmentation model.
    """

    name: str
    file: str
    url: str
    sha256: str
    size: int
    licence: str
    description: str
    task: str
    source: str = ""
    card: Optional[ModelCard] = None

    @classmethod
    def from_dict(cls, name: str, data: Any, where: str) -> ModelEntry:
        """Builds and validates one entry; ``where`` names the manifest in messages.

        Raises:
            ModelError: naming the manifest, the model and the field, for a missing, unknown or wrong field.
        """
        at = f"{where}: {name}"
        if not _NAME.fullmatch(name):
            raise ModelError(f"{at}: a model name is lower-case letters, digits, '.', '_' and '-'")
        if not isinstance(data, Mapping):
            raise ModelError(f"{at}: must be a mapping with {', '.join(_REQUIRED)}, got {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in _ENTRY_FIELDS)
        if unknown:
            raise ModelError(f"{at}: {unknown[0]}: unknown field; allowed: {', '.join(_ENTRY_FIELDS)}")
        missing = [k for k in _REQUIRED if k not in data]
        if missing:
            raise ModelError(f"{at}: {missing[0]}: missing field; an entry needs {', '.join(_REQUIRED)}")
        for key in ("file", "url", "licence", "description", "task", "source"):
            if key in data and (not isinstance(data[key], str) or not data[key]):
                raise ModelError(f"{at}: {key}: must be a non-empty text, got {data[key]!r}")
        file = data["file"]
        pure = PurePosixPath(file)
        if "\\" in file or pure.is_absolute() or ".." in pure.parts or file.endswith("/"):
            raise ModelError(f"{at}: file: must be a relative path inside the models folder, got {file!r}")
        if not data["url"].startswith(("https://", "http://")):
            raise ModelError(f"{at}: url: must be an http(s) URL, got {data['url']!r}")
        sha256 = data["sha256"]
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ModelError(f"{at}: sha256: must be 64 lower-case hex digits, got {sha256!r}")
        size = data["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ModelError(f"{at}: size: must be the file size in bytes (a whole number >= 1), got {size!r}")
        task = data["task"]
        if task not in TASKS:
            raise ModelError(f"{at}: task: {task!r} is not allowed; allowed: {', '.join(TASKS)}")
        card = None
        if data.get("card") is not None:
            card = ModelCard.from_dict(data["card"], name=name, where=f"{at}: card")
        elif task == "segmentation":
            raise ModelError(f"{at}: card: missing field; a segmentation model needs a card")
        return cls(
            name=name,
            file=file,
            url=data["url"],
            sha256=sha256,
            size=size,
            licence=data["licence"],
            description=data["description"],
            task=task,
            source=data.get("source", ""),
            card=card,
        )


class Manifest:
    """The known models by name.

    Args:
        entries: the models.
        path: where the manifest was read from (for messages).
    """

    def __init__(self, entries: Mapping[str, ModelEntry] | list[ModelEntry], path: str = "") -> None:
        items = list(entries.values()) if isinstance(entries, Mapping) else list(entries)
        self.path = path
        self._entries = {e.name: e for e in items}
        where = path or "the manifest"
        seen: dict[str, str] = {}
        for entry in items:
            for key in (f"sha256 {entry.sha256}", f"file {entry.file}"):
                if key in seen and seen[key] != entry.name:
                    raise ModelError(f"{where}: {entry.name} and {seen[key]} have the same {key}")
                seen[key] = entry.name

    @classmethod
    def from_dict(cls, data: Any, where: str = "manifest") -> Manifest:
        """Builds a manifest from plain data: ``{"models": {NAME: ENTRY, ...}}``.

        Raises:
            ModelError: for malformed data, naming ``where``, the model and the field.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("models"), Mapping):
            raise ModelError(f"{where}: must be a mapping with 'models' (model name to entry)")
        unknown = sorted(str(k) for k in data if k not in ("models", "version", "comment"))
        if unknown:
            raise ModelError(f"{where}: {unknown[0]}: unknown field; allowed: version, comment, models")
        entries = [ModelEntry.from_dict(str(name), entry, where) for name, entry in data["models"].items()]
        return cls(entries, where)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Manifest:
        """Reads a manifest file (default: tryon's own, see :func:`find_manifest`).

        Raises:
            ModelError: when the file is missing, not JSON or malformed.
        """
        path = Path(path) if path is not None else find_manifest()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"{path}: no such model manifest") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"{path}: could not be read ({exc})") from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
        return cls.from_dict(data, str(path))

    @staticmethod
    @lru_cache(maxsize=1)
    def default() -> Manifest:
        """The manifest shipped with tryon, read once."""
        return Manifest.load()

    @property
    def names(self) -> tuple[str, ...]:
        """The model names, in manifest order."""
        return tuple(self._entries)

    def get(self, name: str) -> ModelEntry:
        """The entry of a model.

        Raises:
            ModelError: for an unknown name, listing the known ones.
        """
        try:
            return self._entries[name]
        except KeyError:
            raise ModelError(f"unknown model {name!r}; known models: {', '.join(self._entries)}") from None

    def by_sha256(self, sha256: str) -> ModelEntry | None:
        """The entry whose file has this checksum, or None."""
        return next((e for e in self._entries.values() if e.sha256 == sha256.lower()), None)

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries


def find_manifest(package_dir: Path = _PACKAGE) -> Path:
    """The manifest of a tryon package installed at ``package_dir``.

    That is ``_models/manifest.json`` inside it in a wheel, else ``models/manifest.json`` beside it in a checkout.

    Raises:
        ModelError: when neither exists.
    """
    candidates = (package_dir / "_models" / "manifest.json", package_dir.parent / "models" / "manifest.json")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ModelError(
        f"tryon's model manifest was not found (looked for {', '.join(map(str, candidates))}); reinstall tryon"
    )
