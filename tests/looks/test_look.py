from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from tests.conftest import need_file
from tests.effects.helpers import outside_unchanged
from tryon.color import Color
from tryon.effects import EFFECTS
from tryon.errors import LookError
from tryon.image import read_image
from tryon.looks import Look, builtin_looks
from tryon.pipeline import Pipeline

REQUIRED_LOOKS = ("natural", "office", "evening", "bold_red", "smoky_eye", "glam", "no_makeup")


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def options(look: Look, effect: str):
    return next(e.options for e in look.effects if e.name == effect)


# --- loading ------------------------------------------------------------------------------------------------------


def test_effects_run_in_registry_order_whatever_the_file_order(tmp_path):
    path = write(tmp_path, "x.yaml", "effects:\n  lipstick: {}\n  blush: {}\n  foundation: {}\n")
    look = Look.load(path)
    assert [e.name for e in look.effects] == ["foundation", "blush", "lipstick"]
    assert look.name == "x"


def test_a_sku_sets_the_product_colour_and_finish_and_explicit_options_win(tmp_path):
    path = write(
        tmp_path, "x.yaml", 'effects:\n  lipstick: {sku: TRY-LIP-013}\n  blush: {sku: NOVA-BLU-001, color: "#FF0000"}\n'
    )
    look = Look.load(path)
    lipstick = options(look, "lipstick")
    assert lipstick.color == Color.from_hex("#E8A0A0") and lipstick.finish.value == "gloss"
    assert options(look, "blush").color == Color.from_hex("#FF0000")


def test_part_skus_set_the_matching_colour_option():
    look = Look.from_dict({"effects": {"eyeshadow": {"sku": "NOVA-ESH-003", "crease_sku": "NOVA-ESH-004"}}})
    shadow = options(look, "eyeshadow")
    assert shadow.lid_color == Color.from_hex("#9A6A3F") and shadow.crease_color == Color.from_hex("#4A3328")
    assert shadow.finish.value == "metallic"


def test_json_look_files_load_like_yaml(tmp_path):
    path = write(
        tmp_path,
        "x.json",
        '{"name": "j", "effects": {"lipstick": {"color": "#9E1B32"}}, "faces": {"1": {"look": "natural"}}}',
    )
    look = Look.load(path)
    assert look.name == "j" and options(look, "lipstick").color == Color.from_hex("#9E1B32")
    assert set(look.faces) == {1}


def test_as_dict_round_trips(tmp_path):
    look = Look.load("evening")
    again = Look.from_dict(yaml.safe_load(yaml.safe_dump(look.as_dict())), "again")
    assert [e.options for e in again.effects] == [e.options for e in look.effects]
    assert look.as_dict()["effects"]["lipstick"] == {"sku": "TRY-LIP-007", "intensity": 0.85}


def test_a_look_built_from_effects_has_a_plain_form():
    from tryon.effects import create_effect

    look = Look("mine", (create_effect("lipstick", {"color": "#112233", "finish": "gloss"}),))
    assert look.as_dict() == {"name": "mine", "effects": {"lipstick": {"color": "#112233", "finish": "gloss"}}}
    assert options(look.with_overrides(["lipstick.intensity=0.3"]), "lipstick").intensity == 0.3


BAD_LOOKS = [
    # (file name, content, what the message must say besides the file name)
    ("bad.yaml", "effects:\n  lipstick: {color: '#9E1B32'\n", ["line 3", "not valid YAML"]),
    ("bad.json", '{"effects": {"lipstick": {}},}', ["line 1", "not valid JSON"]),
    ("unknown.yaml", "effects:\n  lipstik: {}\n", ["effects.lipstik: unknown effect", "valid effects: background"]),
    (
        "finish.yaml",
        "effects:\n  lipstick: {finish: glitter}\n",
        ["effects.lipstick.finish: 'glitter' is not allowed; allowed: matte, satin, gloss, shimmer, metallic"],
    ),
    ("colour.yaml", "effects:\n  lipstick: {color: red}\n", ["effects.lipstick.color", "hex string like '#B0123F'"]),
    ("unquoted.yaml", "effects:\n  lipstick:\n    color: #9E1B32\n", ["effects.lipstick.color", "unquoted #"]),
    ("range.yaml", "effects:\n  blush: {intensity: 1.5}\n", ["effects.blush.intensity: must be in [0.0, 1.0]"]),
    ("number.yaml", "effects:\n  blush: {intensity: lots}\n", ["effects.blush.intensity: must be a number"]),
    (
        "option.yaml",
        "effects:\n  lipstick: {shade: x}\n",
        ["effects.lipstick.shade: unknown option; allowed: color, intensity", "sku"],
    ),
    (
        "sku.yaml",
        "effects:\n  lipstick: {sku: TRY-LIP-999}\n",
        ["effects.lipstick.sku: unknown SKU 'TRY-LIP-999'", "lipstick SKUs include TRY-LIP-0"],
    ),
    (
        "category.yaml",
        "effects:\n  lipstick: {sku: TRY-BLU-001}\n",
        ["effects.lipstick.sku: TRY-BLU-001", "is a product for blush, not for lipstick", "lipstick SKUs include"],
    ),
    ("top.yaml", "colour: red\neffects: {}\n", ["colour: unknown key; allowed: name, description, effects, faces"]),
    ("list.yaml", "- lipstick\n", ["a look must be a mapping with keys name, description, effects, faces"]),
    ("empty.yaml", "  \n", ["the file is empty"]),
    ("twice.yaml", "effects:\n  lipstick: {}\n  lipstick: {}\n", ["line 3", "'lipstick' is given twice"]),
    ("effects.yaml", "effects: [lipstick]\n", ["effects: must be a mapping of effect names to options"]),
    ("value.yaml", "effects:\n  lipstick: 3\n", ["effects.lipstick: must be a mapping of options, or on/off"]),
    ("none.yaml", "effects:\n  lipstick:\n", ["effects.lipstick: has no options", "on for the defaults"]),
    ("faceid.yaml", "faces:\n  left: natural\n", ["faces.left: a face id must be a whole number"]),
    ("facelook.yaml", "faces:\n  1: {look: sparkly}\n", ["faces.1.look: unknown look 'sparkly'", "built-in looks:"]),
    ("facekey.yaml", "faces:\n  1: {looks: natural}\n", ["faces.1.looks: unknown key; allowed: look, effects"]),
    (
        "faceopt.yaml",
        "faces:\n  1: {effects: {lipstick: {finish: glitter}}}\n",
        ["faces.1.effects.lipstick.finish: 'glitter' is not allowed; allowed: matte"],
    ),
    ("name.yaml", "name: [x]\n", ["name: must be text"]),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_LOOKS, ids=[case[0] for case in BAD_LOOKS])
def test_malformed_look_files_name_the_file_the_field_and_what_is_allowed(tmp_path, name, content, expected):
    path = write(tmp_path, name, content)
    with pytest.raises(LookError) as info:
        Look.load(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("sparkly", "unknown look 'sparkly'; built-in looks: bold_red"),
        ("missing.yaml", "missing.yaml: no such look file"),
        ("look.txt", "a look file must end in .yaml, .yml, .json"),
    ],
)
def test_bad_look_references_are_refused(ref, message):
    with pytest.raises(LookError) as info:
        Look.load(ref)
    assert message in str(info.value)


def test_a_face_look_cannot_have_faces_of_its_own(tmp_path):
    write(tmp_path, "inner.yaml", "faces:\n  0: natural\n")
    path = write(tmp_path, "outer.yaml", "faces:\n  1: {look: inner.yaml}\n")  # relative to outer.yaml
    with pytest.raises(LookError, match=r"faces\.1\.look: .*inner\.yaml has per-face looks of its own"):
        Look.load(path)
    selfish = write(tmp_path, "selfish.yaml", "faces:\n  1: selfish.yaml\n")
    with pytest.raises(LookError, match=r"faces\.1\.look: .*selfish\.yaml has per-face looks of its own"):
        Look.load(selfish)


# --- overrides ----------------------------------------------------------------------------------------------------


def test_overrides_set_add_and_remove_effects():
    look = Look.load(
        "evening",
        overrides=["lipstick.color=#9E1B32", "blush=off", "teeth_whitening.intensity=0.4", "eyeliner.wing=false"],
    )
    names = [e.name for e in look.effects]
    assert "blush" not in names and "teeth_whitening" in names
    assert options(look, "lipstick").color == Color.from_hex("#9E1B32")
    assert options(look, "lipstick").intensity == 0.85  # the rest of the look's options stay
    assert options(look, "teeth_whitening").intensity == 0.4
    assert options(look, "eyeliner").wing is False


def test_a_sku_override_replaces_the_colour_and_finish():
    look = Look.from_dict({"effects": {"lipstick": {"color": "#000000", "finish": "metallic"}}})
    lipstick = options(look.with_overrides(["lipstick.sku=TRY-LIP-003"]), "lipstick")
    assert lipstick.color == Color.from_hex("#A05A5A") and lipstick.finish.value == "matte"


def test_face_overrides_give_a_face_its_own_look():
    look = Look.load("bold_red", overrides=["faces.1.lipstick.color=#C0392B", "faces.2=natural", "faces.3=off"])
    assert options(look.faces[1], "lipstick").color == Color.from_hex("#C0392B")
    assert [e.name for e in look.faces[1].effects] == [e.name for e in look.effects]  # starts from the main look
    assert [e.name for e in look.faces[2].effects] == [e.name for e in Look.load("natural").effects]
    assert look.faces[3].effects == ()
    assert options(look, "lipstick").color == Color.from_hex("#A4161A")  # the main look is untouched


def test_face_look_with_its_own_options_over_a_base_look(tmp_path):
    path = write(
        tmp_path,
        "x.yaml",
        "effects: {lipstick: {}}\nfaces:\n  1: {look: natural, effects: {lipstick: {sku: TRY-LIP-001}, blush: off}}\n",
    )
    face = Look.load(path).faces[1]
    assert "blush" not in [e.name for e in face.effects] and "brows" in [e.name for e in face.effects]
    assert options(face, "lipstick").color == Color.from_hex("#9E1B32")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lipstick", "no '='"),
        ("=red", "a name and a value"),
        ("lipstick.color=", "a name and a value"),
        ("lipstick..color=#fff", "an empty name between dots"),
        ("lipstick.color.deep=#fff", "too many dots"),
        ("lipstick=maybe", "lipstick= takes on or off"),
        ("faces.one.lipstick=off", "faces.one: a face id must be a whole number"),
        ("faces=natural", "faces needs a face id"),
        ("faces.1=on", "faces.1= takes a look name or file, or off"),
    ],
)
def test_malformed_overrides_say_the_expected_form(override, message):
    with pytest.raises(LookError) as info:
        Look.load("natural", overrides=[override])
    assert f"override {override!r}" in str(info.value)
    assert message in str(info.value)
    assert "expected EFFECT.OPTION=VALUE" in str(info.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lipstik.color=#fff", "unknown effect 'lipstik'; valid effects: background"),
        ("lipstick.finish=glitter", "effects.lipstick.finish: 'glitter' is not allowed; allowed: matte"),
        ("lipstick.sku=TRY-BLU-001", "is a product for blush, not for lipstick"),
        ("blush.intensity=2", "effects.blush.intensity: must be in [0.0, 1.0]"),
        ("faces.1.lipstick.finish=glitter", "faces.1.effects.lipstick.finish: 'glitter' is not allowed"),
    ],
)
def test_bad_override_values_name_the_override_field_and_allowed_values(override, message):
    with pytest.raises(LookError) as info:
        Look.load("natural", overrides=[override])
    assert override in str(info.value) and message in str(info.value)


# --- built-in looks and rendering -------------------------------------------------------------------------------


def test_the_builtin_looks_are_there():
    looks = builtin_looks()
    assert len(looks) >= 8
    assert set(REQUIRED_LOOKS) <= set(looks)
    body_effects = ("background", "clothing", "hair_color")
    face_effects = [name for name in EFFECTS if name not in body_effects]
    assert [e.name for e in Look.load("glam").effects] == face_effects  # every face effect on
    assert [e.name for e in Look.load("no_makeup").effects] == ["smoothing", "concealer"]


@pytest.mark.parametrize("name", sorted(builtin_looks()))
def test_every_builtin_look_loads_and_renders_on_real_faces(face_cases, name):
    look = Look.load(name)
    assert look.description
    for case in face_cases:
        frame = case.frame.copy()
        out = look.render(frame, case.parse)
        assert out is frame
        face = case.parse.faces[0]
        changed = np.any(out != case.frame, axis=2)
        assert changed.sum() > 500, f"{name} changed too little on {case.name}"
        effects = {e.name for e in look.effects}
        if "background" in effects:  # the room behind changes; inside the person only the face effects act
            person = case.parse.person.full(case.parse.shape)
            assert changed[person == 0].mean() > 0.5, f"{name} left the background of {case.name} unchanged"
            face_support = np.zeros_like(changed)
            for m in face.masks.values():
                face_support |= m.full(case.parse.shape) > 0
            # The effect refines the person's edge itself, so only the person's inner core is sure to be kept
            band = max(25, round(0.02 * person.shape[1]))  # the refined edge's reach grows with the frame
            core = cv2.erode((person == 255).astype(np.uint8), np.ones((band, band), np.uint8)) > 0
            assert not (changed & core & ~face_support).any()
            continue
        allowed = list(face.masks.values())
        if any(e.needs_body for e in look.effects):
            allowed += list(case.parse.masks.values())  # hair, neck, body skin, clothes
        outside_unchanged(case.frame, out, allowed)  # nothing beyond the face (and the body classes)


def test_a_lipstick_only_look_changes_only_the_lips(face_case):
    look = Look.from_dict({"effects": {"lipstick": {"sku": "TRY-LIP-001"}}})
    out = look.render(face_case.frame.copy(), face_case.parse)
    lips = face_case.parse.faces[0].mask("lips")
    outside_unchanged(face_case.frame, out, [lips])
    assert np.any(out != face_case.frame)


@pytest.fixture(scope="module")
def couple(shared_data):
    frame = read_image(need_file(shared_data / "faces" / "deepface_couple.jpg"))
    with Pipeline(mode="image", max_faces=2) as pipe:
        parse = pipe.parse(frame)
    assert [f.id for f in parse.faces] == [0, 1]
    return frame, parse


def test_per_face_looks_apply_to_their_face_only(couple):
    frame, parse = couple
    look = Look.from_dict(
        {
            "effects": {"lipstick": {"color": "#9E1B32"}},
            "faces": {1: {"effects": {"lipstick": {"color": "#2E86C1"}}}, 0: "off"},
        }
    )
    out = look.render(frame.copy(), parse)
    lips0, lips1 = (parse.face(i).mask("lips") for i in (0, 1))
    outside_unchanged(frame, out, [lips1])  # face 0 wears no makeup
    assert np.any(out != frame)
    inside = lips1.full(frame.shape[:2]) > 200
    assert out[inside][:, 0].mean() > frame[inside][:, 0].mean() + 10  # face 1's lips turned bluer (B channel)
    main = Look.from_dict({"effects": {"lipstick": {"color": "#9E1B32"}}, "faces": {1: "off"}})
    out = main.render(frame.copy(), parse)
    outside_unchanged(frame, out, [lips0])  # faces without their own look wear the main look


def test_a_per_face_hair_colour_stays_on_that_person(couple):
    # Given two people and a look that dyes only the second one's hair
    frame, parse = couple
    assert parse.masks["hair"].alpha.any()
    look = Look.from_dict({"faces": {1: {"effects": {"hair_color": {"color": "#1F6FEB", "intensity": 1.0}}}}})
    out = look.render(frame.copy(), parse)
    changed = np.any(out != frame, axis=2)
    # Then the pixels nearer the first person's face are untouched, and the second person's hair changed
    h, w = parse.shape
    ys, xs = np.mgrid[0:h, 0:w]
    c0, c1 = (parse.face(i).points.mean(axis=0) for i in (0, 1))
    nearer0 = (xs - c0[0]) ** 2 + (ys - c0[1]) ** 2 < (xs - c1[0]) ** 2 + (ys - c1[1]) ** 2
    assert not changed[nearer0].any()
    assert changed[~nearer0].sum() > 500
    # While a frame-wide look dyes both
    both = Look.from_dict({"effects": {"hair_color": {"color": "#1F6FEB", "intensity": 1.0}}}).render(
        frame.copy(), parse
    )
    assert np.any(both != frame, axis=2)[nearer0].sum() > 500


def test_pipeline_takes_a_builtin_look_by_name_with_overrides(face_case):
    with Pipeline("bold_red", mode="image", max_faces=1, overrides=["lipstick.sku=TRY-LIP-007"]) as pipe:
        assert options(pipe.look, "lipstick").color == Color.from_hex("#5C1A2E")
        out = pipe.process(face_case.frame)
    assert out.shape == face_case.frame.shape and np.any(out != face_case.frame)
