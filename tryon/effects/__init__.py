"""Effects: makeup and retouching, one small class per module, built by name from the registry."""

from tryon.effects.base import EFFECTS, Effect, create_effect, effect_class

__all__ = ["EFFECTS", "Effect", "create_effect", "effect_class"]
