"""Models: the manifest of known models, their cards, the verified cache, and ONNX sessions.

Example:
    >>> from tryon.models import ModelManager
    >>> models = ModelManager()  # TRYON_MODELS_DIR, else ~/.cache/tryon/models
    >>> path = models.path("skin-clothes-hair-onnx")  # doctest: +SKIP  (verified; never downloads)
    >>> card = models.manifest.get("skin-clothes-hair-onnx").card
    >>> card.output.classes[1:]
    ('clothes', 'hair')
"""

from __future__ import annotations

from tryon.models.card import CARD_CLASSES, Activation, ColorOrder, InputSpec, Layout, ModelCard, OutputSpec
from tryon.models.manager import ModelManager, ModelState, ModelStatus, default_cache_dir, model_path
from tryon.models.manifest import Manifest, ModelEntry
from tryon.models.runtime import import_optional, onnx_session, select_providers

__all__ = [
    "CARD_CLASSES",
    "Activation",
    "ColorOrder",
    "InputSpec",
    "Layout",
    "Manifest",
    "ModelCard",
    "ModelEntry",
    "ModelManager",
    "ModelState",
    "ModelStatus",
    "OutputSpec",
    "default_cache_dir",
    "import_optional",
    "model_path",
    "onnx_session",
    "select_providers",
]
