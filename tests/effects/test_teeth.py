from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import need_file
from tests.effects.helpers import outside_unchanged
from tryon.color import bgr_to_lab
from tryon.effects import create_effect
from tryon.errors import LookError
from tryon.parsing.frame_parse import FrameParse

# Smiles with visible teeth, across skin tones and lighting.
SMILES = ("deepface_img49.jpg", "deepface_img24.jpg", "deepface_img39.jpg")


@dataclass(frozen=True)
class Smile:
    name: str
    frame: np.ndarray
    parse: FrameParse


@pytest.fixture(scope="module")
def smiles(shared_data: Path) -> list[Smile]:
    from tryon.image import read_image
    from tryon.pipeline import Pipeline

    out = []
    with Pipeline(mode="image", max_faces=1) as pipe:
        for name in SMILES:
            frame = read_image(need_file(shared_data / "faces" / name))
            parse = pipe.parse(frame)
            assert parse.faces, f"no face found in {name}"
            out.append(Smile(name, frame, parse))
    return out


def _teeth(smile: Smile, threshold: int = 128) -> np.ndarray:
    where = smile.parse.faces[0].mask("teeth").full(smile.frame.shape[:2]) > threshold
    assert where.sum() > 100, f"{smile.name}: too few teeth pixels to test"
    return where


def test_whitening_changes_only_the_teeth_and_makes_them_whiter(smiles):
    for smile in smiles:
        # Given a smile
        teeth = _teeth(smile)
        # When the teeth are whitened
        out = create_effect("teeth_whitening", {"intensity": 1.0}).apply(smile.frame.copy(), smile.parse)
        # Then nothing outside the teeth mask changed; inside, less yellow (b*) and brighter (L), texture kept
        outside_unchanged(smile.frame, out, [smile.parse.faces[0].mask("teeth")])
        before, after = bgr_to_lab(smile.frame)[teeth], bgr_to_lab(out)[teeth]
        # (at least half of the yellow above a neutral white's b* of 3 is gone)
        assert after[:, 2].mean() - 3.0 < 0.5 * (before[:, 2].mean() - 3.0), smile.name
        assert after[:, 0].mean() > before[:, 0].mean() + 1.0, smile.name
        assert after[:, 0].std() > 0.85 * before[:, 0].std(), smile.name


def test_more_intensity_is_whiter(smiles):
    smile = smiles[0]
    teeth = _teeth(smile)
    b = []
    for intensity in (0.3, 0.6, 1.0):
        out = create_effect("teeth_whitening", {"intensity": intensity}).apply(smile.frame.copy(), smile.parse)
        b.append(bgr_to_lab(out)[teeth][:, 2].mean())
    assert b[0] > b[1] > b[2]


def test_gum_red_pixels_are_left_alone(smiles):
    # Given a smile whose teeth were painted gum-red (as the mask may reach gums and tongue)
    smile = smiles[0]
    teeth = smile.parse.faces[0].mask("teeth").full(smile.frame.shape[:2]) > 0
    frame = smile.frame.copy()
    frame[teeth] = (90, 80, 190)  # BGR: a* about 45
    # When whitened
    out = create_effect("teeth_whitening", {"intensity": 1.0}).apply(frame.copy(), smile.parse)
    # Then nothing changed
    assert np.array_equal(out, frame)


def test_intensity_zero_is_identity(smiles):
    smile = smiles[0]
    out = create_effect("teeth_whitening", {"intensity": 0}).apply(smile.frame.copy(), smile.parse)
    assert np.array_equal(out, smile.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"intensity": 1.2}, "teeth_whitening.intensity: must be in [0.0, 1.0]"),
        ({"intensity": "max"}, "teeth_whitening.intensity: must be a number"),
        ({"shade": "B1"}, "shade: unknown option; allowed: intensity"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("teeth_whitening", options)
    assert message in str(info.value)
