"""Malformed look input: every refusal is a LookError (or InputError) naming the file and the field, kept short."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from tryon.effects import create_effect
from tryon.errors import InputError, LookError
from tryon.looks import Look
from tryon.looks.loader import read_look_file
from tryon.looks.spec import MAX_VALUES

# Nine lists of nine aliases, eight deep: 399 bytes that expand to 9**8 values.
LAUGHS = (
    "effects:\n  lipstick:\n    intensity: [&x0 [lol,lol,lol,lol,lol,lol,lol,lol,lol], "
    + ", ".join(f"&x{i} [{','.join([f'*x{i - 1}'] * 9)}]" for i in range(1, 8))
    + "]\n"
)


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def refusal(path) -> str:
    with pytest.raises(LookError) as info:
        Look.load(path)
    message = str(info.value)
    assert str(path) in message
    return message


# --- size and nesting -----------------------------------------------------------------------------------------------


def test_a_billion_laughs_file_is_refused_at_the_size_limit_with_a_short_message(tmp_path):
    # Given 399 bytes whose aliases expand to 9**8 values
    path = write(tmp_path, "laughs.yaml", LAUGHS)
    # When it is loaded, then it is refused at the size limit (each use of an alias counts), naming the field, in
    # a short message that quotes none of the values
    message = refusal(path)
    assert f"effects.lipstick.intensity: too large: over {MAX_VALUES} values" in message
    assert len(message) < 300


class _CountedList(list):
    """A list that counts the items read from it into a shared tally, and stops a reader that reads far more than
    a look's size limit (which would otherwise walk the 43 million values of the bomb)."""

    def __init__(self, items: list, tally: list[int]) -> None:
        super().__init__(items)
        self.tally = tally

    def __iter__(self):
        for item in super().__iter__():
            self.tally[0] += 1
            if self.tally[0] > 10 * MAX_VALUES:
                raise AssertionError(f"over {10 * MAX_VALUES} values read: the size check does not stop")
            yield item


def _counted(value, tally: list[int], seen: dict[int, _CountedList]):
    """``value`` with every list a :class:`_CountedList`, shared as the YAML aliases share them (not expanded)."""
    if isinstance(value, dict):
        return {key: _counted(item, tally, seen) for key, item in value.items()}
    if isinstance(value, list):
        if id(value) not in seen:
            seen[id(value)] = _CountedList([_counted(item, tally, seen) for item in value], tally)
        return seen[id(value)]
    return value


def test_a_billion_laughs_is_refused_having_read_no_more_values_than_the_limit(tmp_path):
    # Given the billion laughs as the file reader gives it (nine lists shared through aliases), each list counting
    # the values read from it
    tally = [0]
    data = _counted(read_look_file(write(tmp_path, "laughs.yaml", LAUGHS)), tally, {})
    # When a look is built from it, then it is refused having read at most the size limit's worth of values
    with pytest.raises(LookError, match="too large"):
        Look.from_dict(data, "laughs.yaml")
    assert 0 < tally[0] <= MAX_VALUES


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deep.json", '{"effects": ' + "[" * 5000 + "]" * 5000 + "}"),
        ("deep.yaml", "effects: " + "[" * 5000 + "]" * 5000),
    ],
)
def test_data_nested_past_the_parser_is_refused(tmp_path, name, content):
    assert "nested too deeply" in refusal(write(tmp_path, name, content))


def test_data_nested_deeper_than_a_look_is_refused_naming_the_field(tmp_path):
    path = write(tmp_path, "deep.yaml", "effects:\n  lipstick:\n    color: " + "[" * 30 + "]" * 30 + "\n")
    assert "effects.lipstick.color: nested more than" in refusal(path)


def test_overlong_text_and_names_are_refused():
    with pytest.raises(LookError, match=r"x: description: a text of 10000 characters"):
        Look.from_dict({"description": "d" * 10_000}, "x")
    with pytest.raises(LookError, match=r"x: effects: the name 'lll.*' is over 100 characters long") as info:
        Look.from_dict({"effects": {"l" * 10_000: {}}}, "x")
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    "make",
    [
        lambda big: Look.from_dict(big, "x"),
        lambda big: Look.from_dict({"effects": {"lipstick": {"color": big}}}, "x"),
        lambda big: Look.from_dict({"effects": {"lipstick": big}}, "x"),
        lambda big: Look.from_dict({"faces": {1: big}}, "x"),
        lambda big: Look.load("evening").with_overrides([f"lipstick.sku={'A' * 5000}"]),
        lambda big: Look.load("evening").with_overrides([f"lipstik.color={'A' * 5000}"]),
        lambda big: Look.load("a" * 5000),
    ],
)
def test_messages_quote_values_briefly(make):
    big = [["a" * 1000] * 50] * 50  # under the size limits, but a repr of 2.5 MB
    with pytest.raises(LookError) as info:
        make(big)
    assert len(str(info.value)) < 600


# --- parsing: YAML and JSON alike -----------------------------------------------------------------------------------


def test_a_complex_yaml_key_is_refused_with_its_line(tmp_path):
    message = refusal(write(tmp_path, "key.yaml", "effects:\n  ? [a]\n  : {}\n"))
    assert "line 2, column 5: a key must be a name or a number" in message


def test_a_key_given_twice_in_json_is_refused_naming_it(tmp_path):
    path = write(tmp_path, "twice.json", '{"effects": {"lipstick": {"intensity": 0.2}, "lipstick": {}}}')
    assert "'lipstick' is given twice" in refusal(path)


@pytest.mark.parametrize("name", ["bom.json", "bom.yaml"])
def test_a_utf8_byte_order_mark_is_accepted_in_json_and_yaml(tmp_path, name):
    path = write(tmp_path, name, '{"effects": {"lipstick": {}}}', encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert [e.name for e in Look.load(path).effects] == ["lipstick"]


# --- colours --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "color", ["[0.5, 0.5, 0.5]", "[1.5, 0, 0]", "[255.0, 0, 0]", "[true, 0, 0]", "[a, 0, 0]", "[null, 0, 0]"]
)
def test_a_colour_list_must_be_three_whole_numbers(tmp_path, color):
    message = refusal(write(tmp_path, "c.yaml", f"effects:\n  lipstick: {{color: {color}}}\n"))
    assert "effects.lipstick.color: colour [r, g, b] must be 3 whole numbers in 0..255" in message


# --- errors raised by an effect itself ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("{mode: image, image: /nonexistent.png}", "effects.background.image: /nonexistent.png: no such file"),
        ("{mode: image}", "effects.background.image: required with mode 'image'"),
    ],
)
def test_an_effects_own_errors_name_the_file_and_the_field(tmp_path, options, message):
    assert message in refusal(write(tmp_path, "bg.yaml", f"effects:\n  background: {options}\n"))


def test_an_effects_own_errors_name_the_override(tmp_path):
    with pytest.raises(LookError) as info:
        Look.load("video_call").with_overrides(["background.mode=image", "background.image=/x.png"])
    assert "(override 'background.mode=image'): effects.background.image: required" in str(info.value)
    picture = tmp_path / "room.png"
    cv2.imwrite(str(picture), np.zeros((32, 32, 3), np.uint8))
    look = Look.from_dict({"effects": {"background": {"mode": "image", "image": str(picture)}}}, "mine")
    with pytest.raises(LookError) as info:
        look.with_overrides("background.image=/x.png")
    assert "mine (override 'background.image=/x.png'): effects.background.image: /x.png: no such file" in str(
        info.value
    )


# --- the Look constructor and overrides from code -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"effects": ("lipstick",)}, "effects must be a tuple of effects"),
        ({"effects": "lipstick"}, "effects must be a tuple of effects"),
        ({"faces": {0: "natural"}}, "faces must map face ids 0, 1, ... to Look objects"),
        ({"faces": {"0": Look("y")}}, "faces must map face ids"),
        ({"faces": [Look("y")]}, "faces must map face ids"),
        ({"description": None}, "description must be text"),
    ],
)
def test_the_look_constructor_checks_its_fields(kwargs, message):
    with pytest.raises(InputError, match=r"^Look 'x': ") as info:
        Look("x", **kwargs)
    assert message in str(info.value)


def test_the_look_constructor_takes_a_list_of_effects_as_a_tuple():
    look = Look("x", [create_effect("lipstick")], {1: Look("y")})
    assert isinstance(look.effects, tuple) and [e.name for e in look.effects] == ["lipstick"]
    with pytest.raises(InputError, match="name must be text"):
        Look(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (None, "overrides must be a list of texts"),
        (b"lipstick=off", "overrides must be a list of texts"),
        (5, "overrides must be a list of texts"),
        (["lipstick=off", 5], "overrides[1] must be a text"),
        ([b"lipstick=off"], "overrides[0] must be a text"),
    ],
)
def test_overrides_must_be_texts(overrides, message):
    look = Look.load("evening")
    with pytest.raises(LookError) as info:
        look.with_overrides(overrides)
    assert str(info.value).startswith("look 'evening': ") and message in str(info.value)


def test_a_single_override_text_is_one_override():
    look = Look.load("evening")
    assert "lipstick" not in [e.name for e in look.with_overrides("lipstick=off").effects]
    assert look.with_overrides([]) is look


def test_a_malformed_override_names_the_look_it_was_applied_to(tmp_path):
    # A built-in look by its name (its file is tryon's own, in site-packages once installed), a user's by its file
    with pytest.raises(LookError, match=r"^look 'evening': override 'lipstik\.color=#fff': unknown effect 'lipstik'"):
        Look.load("evening", overrides=["lipstik.color=#fff"])
    mine = tmp_path / "mine.yaml"
    mine.write_text("effects:\n  lipstick: {color: '#9E1B32'}\n")
    with pytest.raises(LookError, match=rf"^{re.escape(str(mine))}: override 'lipstik\.color=#fff': unknown effect"):
        Look.load(mine, overrides=["lipstik.color=#fff"])


@pytest.mark.parametrize("face", ["²", "1²"])
def test_a_face_id_of_other_digits_is_refused(face):
    with pytest.raises(LookError, match="a face id must be a whole number"):
        Look.load("natural", overrides=[f"faces.{face}=off"])
    with pytest.raises(LookError, match=r"x: faces\..*: a face id must be a whole number"):
        Look.from_dict({"faces": {face: "off"}}, "x")


@pytest.mark.parametrize("ref", [None, b"evening", 5, {"effects": {}}])
def test_a_look_reference_must_be_a_name_or_a_path(ref):
    with pytest.raises(LookError, match="a look must be a built-in look's name or a look file's path, got "):
        Look.load(ref)
