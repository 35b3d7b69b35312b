"""A look: an ordered list of effects, with per-face looks by face id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tryon.effects.base import Effect, create_effect
from tryon.parsing.frame_parse import FrameParse

__all__ = ["Look"]


@dataclass(frozen=True)
class Look:
    """An ordered set of effects; ``faces`` maps a face id to its own look."""

    name: str
    effects: tuple[Effect, ...] = ()
    faces: Mapping[int, Look] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Look:
        effects = tuple(create_effect(k, v, f"{source}: effects.{k}") for k, v in (data.get("effects") or {}).items())
        return cls(str(data.get("name", source)), effects)

    @classmethod
    def load(cls, ref: str | Path, overrides: Sequence[str] = ()) -> Look:
        raise NotImplementedError

    def with_overrides(self, overrides: Sequence[str]) -> Look:
        raise NotImplementedError

    def render(self, frame: np.ndarray, parse: FrameParse) -> np.ndarray:
        own = [f.id for f in parse.faces if f.id not in self.faces]
        default = parse.only(own)
        for effect in self.effects:
            effect.apply(frame, default)
        for face_id, look in self.faces.items():
            if any(f.id == face_id for f in parse.faces):
                look.render(frame, parse.only([face_id]))
        return frame
