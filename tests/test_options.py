"""Option dataclasses from plain data: what is accepted, and errors that stay short whatever came."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

import pytest

from tryon.color import Color
from tryon.errors import LookError
from tryon.options import build_options, option_range

HUGE = "x" * 100_000


class Finish(enum.Enum):
    MATTE = "matte"
    GLOSS = "gloss"


@dataclass
class Options:
    color: Color = Color.from_hex("#B0123F")
    intensity: float = field(default=0.5, metadata=option_range(0.0, 1.0))
    count: int = 1
    finish: Finish = Finish.MATTE
    lower: bool = False
    label: str = ""
    stops: tuple[float, ...] = ()
    width: Optional[float] = None


def test_plain_data_builds_the_options():
    data = {"color": "#fff", "intensity": "0.25", "count": 2.0, "finish": "gloss", "lower": "yes", "stops": [1, 2]}
    options = build_options(Options, data)
    assert options == Options(Color(255, 255, 255), 0.25, 2, Finish.GLOSS, True, "", (1.0, 2.0))
    assert build_options(Options, None) == Options() == build_options(Options, {})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("color=#fff", "lipstick: options must be a mapping of option names to values, such as {'color': '#fff'}"),
        ("color=#fff, intensity=0.5", "such as {'color': '#fff', 'intensity': '0.5'}; got a str"),
        ("#fff", "lipstick: options must be a mapping of option names to values, such as {'color': ...}; got a str"),
        (["color", "#fff"], "got a list (['color', '#fff'])"),
        (("color", "#fff"), "got a tuple"),
        (0.5, "got a float (0.5)"),
        (b"color", "got a bytes"),
        ({1: "#fff"}, "lipstick: option names must be text, got 1"),
        ({("color",): "#fff"}, "lipstick: option names must be text, got ('color',)"),
    ],
)
def test_option_data_that_is_not_a_mapping_of_names_is_refused(data, message):
    with pytest.raises(LookError) as info:
        build_options(Options, data, "lipstick")
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_huge_non_mapping_is_quoted_briefly():
    with pytest.raises(LookError, match="options must be a mapping") as info:
        build_options(Options, HUGE, "lipstick")
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("data", "field_name"),
    [
        ({"intensity": HUGE}, "intensity"),  # not a number
        ({"intensity": "1" + "0" * 5000}, "intensity"),  # a number, out of range
        ({"count": "1.5" + "0" * 5000 + "1"}, "count"),  # not a whole number
        ({"count": [0] * 100_000}, "count"),
        ({"count": "1e400"}, "count"),  # too large for an int (was a bare OverflowError)
        ({"intensity": 10**400}, "intensity"),  # too large for a float (likewise)
        ({"finish": HUGE}, "finish"),  # not an allowed value
        ({"lower": HUGE}, "lower"),
        ({"label": [HUGE] * 1000}, "label"),
        ({"stops": HUGE}, "stops"),  # not a list
        ({"stops": [0, HUGE]}, "stops[1]"),
        ({"width": HUGE}, "width"),  # an Optional
        ({"color": HUGE}, "color"),
        ({HUGE: 1}, "xxxx"),  # an unknown option's name
        ({"color": {str(i): [HUGE] * 100 for i in range(100)}}, "color"),
    ],
)
def test_errors_quote_a_value_briefly_however_large(data, field_name):
    # Given a value (or a name) of megabytes, when it is refused, then the message names the field but stays short
    with pytest.raises(LookError) as info:
        build_options(Options, data, "looks/big.yaml: effects.lipstick")
    message = str(info.value)
    assert message.startswith("looks/big.yaml: effects.lipstick.") and field_name in message
    assert len(message) < 400, message[:500]
