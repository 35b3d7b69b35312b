"""From a model reference (a manifest name, a card file, a card) to a validated card and a verified file."""

from __future__ import annotations

from pathlib import Path

from tryon.errors import ModelError
from tryon.models.card import CARD_SUFFIXES, ModelCard
from tryon.models.manager import model_path
from tryon.models.manifest import Manifest

__all__ = ["is_card_path", "resolve_model"]


def is_card_path(ref: str | Path) -> bool:
    """Whether ``ref`` names a card file rather than a model: it ends in .yaml, .yml or .json."""
    return Path(str(ref)).suffix.lower() in CARD_SUFFIXES


def resolve_model(model: str | Path | ModelCard) -> tuple[ModelCard, Path]:
    """The card and the model file for a manifest name, a card file or a card.

    A card file (or card) gives its model with ``model``; without one, its ``name`` must be a manifest model,
    whose installed file is used.

    Raises:
        ModelError: for an unknown model (listing the known ones), a model that is not installed (saying
            ``tryon models pull NAME``), a manifest model without a card, a bad card file, or a card's ``model``
            file that does not exist.
    """
    if isinstance(model, ModelCard):
        card = model
    elif is_card_path(model):
        card = ModelCard.from_file(model)
    else:
        entry = Manifest.default().get(str(model))
        if entry.card is None:
            raise ModelError(f"model {entry.name} is a {entry.task} model, not a segmentation network (no card)")
        return entry.card, model_path(entry.name)
    if card.model is not None:
        if not card.model.is_file():
            raise ModelError(f"card {card.name}: its model file {card.model} does not exist")
        return card, card.model
    manifest = Manifest.default()
    if card.name not in manifest:
        raise ModelError(
            f"card {card.name}: it names no model file (add `model: FILE` beside `input` and `output`) and "
            f"{card.name!r} is not a known model; known models: {', '.join(manifest.names)}"
        )
    return card, model_path(card.name)
