"""The effect registry: effects by name from plain option data, and errors that say what was expected."""

from __future__ import annotations

import types

import pytest

import tryon
from tryon.effects import EFFECTS, create_effect, effect_class
from tryon.effects.lipstick import Lipstick
from tryon.errors import LookError


@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_every_registered_effect_builds_with_its_defaults(name):
    effect = create_effect(name)
    assert effect.name == name and isinstance(effect, effect_class(name))
    assert isinstance(create_effect(name, {}).options, effect.Options)


def test_any_mapping_of_options_is_accepted():
    effect = create_effect("lipstick", types.MappingProxyType({"color": "#fff"}))
    assert effect.options.color == tryon.Color(255, 255, 255)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("color=#fff", "lipstick: options must be a mapping of option names to values, such as {'color': '#fff'}"),
        (["color", "#fff"], "lipstick: options must be a mapping of option names to values"),
        (0.8, "lipstick: options must be a mapping of option names to values, such as {'color': ...}; got a float"),
        ({0: "#fff"}, "lipstick: option names must be text, got 0"),
    ],
)
def test_option_data_that_is_not_a_mapping_is_refused_naming_the_effect(options, message):
    # Given options as a string (or a list, a number) instead of a mapping
    # When the effect is built by name or from its class
    for build in (lambda: tryon.create_effect("lipstick", options), lambda: Lipstick.from_dict(options)):
        # Then the library's own error says what was expected, and a caller may catch ValueError too
        with pytest.raises(LookError) as info:
            build()
        assert message in str(info.value)
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("lipstik", "unknown effect 'lipstik'; valid effects: background, clothing"),
        (["lipstick"], "effect names are text, such as 'lipstick'; got ['lipstick']"),
        (None, "effect names are text, such as 'lipstick'; got None"),
        ("x" * 100_000, "unknown effect 'xxxx"),
    ],
)
def test_an_unknown_effect_name_is_refused_listing_the_valid_ones(name, message):
    with pytest.raises(LookError) as info:
        create_effect(name)
    assert message in str(info.value) and len(str(info.value)) < 400
