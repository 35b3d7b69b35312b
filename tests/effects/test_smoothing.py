from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.effects._complexion import Crop, band
from tests.effects.helpers import outside_unchanged
from tryon.color import bgr_to_lab
from tryon.effects import create_effect
from tryon.errors import LookError


def _gradient(light: np.ndarray) -> np.ndarray:
    return np.hypot(cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3))


class _Measures:
    """Before/after measures of the skin's L on a face: mid-frequency unevenness, pores, and edges."""

    def __init__(self, crop: Crop) -> None:
        self.crop = crop
        fw = crop.fw
        self.fw = fw
        self.light = crop.lab(crop.case.frame)[:, :, 0]
        core = crop.inside("face", erode_faces=0.03)
        self.core = core
        # Flat skin: the half of the skin whose local variance is lowest (where blemishes and unevenness show).
        mean = cv2.GaussianBlur(self.light, (0, 0), 0.03 * fw)
        var = cv2.GaussianBlur(self.light * self.light, (0, 0), 0.03 * fw) - mean * mean
        self.flat = core & (var < np.percentile(var[core], 50))
        # Edges: the strongest 2% of gradients inside the skin (nostrils, the nose's side, folds).
        grad = _gradient(self.light)
        self.edges = core & (grad > np.percentile(grad[core], 98))
        self.grad = grad

    def mid(self, light: np.ndarray) -> float:
        """Mid-frequency (blemish-sized) unevenness on flat skin, relative to before."""
        lo, hi = 0.004 * self.fw, 0.03 * self.fw
        return band(light, self.flat, lo, hi) / band(self.light, self.flat, lo, hi)

    def pores(self, light: np.ndarray, flat_only: bool = False) -> float:
        """The finest texture (of all the skin, or of flat skin only), relative to before."""
        where = self.flat if flat_only else self.core
        return band(light, where, 0.0, 0.003 * self.fw) / band(self.light, where, 0.0, 0.003 * self.fw)

    def edge(self, light: np.ndarray) -> float:
        """Gradient at the strongest edges, relative to before."""
        return float(_gradient(light)[self.edges].mean() / self.grad[self.edges].mean())


def test_smoothing_reduces_unevenness_keeps_pores_and_edges_and_touches_only_the_face(face_cases):
    for case in face_cases:
        # Given a real face
        crop = Crop.around(case)
        m = _Measures(crop)
        # When it is smoothed at full intensity, keeping all the fine detail
        out = crop.apply("smoothing", intensity=1.0, detail=1.0)
        light = crop.lab(out)[:, :, 0]
        # Then only the face changed ...
        outside_unchanged(case.frame, out, [crop.face.mask("face")])
        # ... the blemish-sized unevenness of flat skin dropped, while pores and strong edges stayed
        assert m.mid(light) < 0.7, (case.name, m.mid(light))
        assert m.pores(light) > 0.9, (case.name, m.pores(light))
        assert m.edge(light) > 0.85, (case.name, m.edge(light))
        # ... unlike a plain blur, which evens out less of the skin yet loses more of the edges and the pores
        blurred = bgr_to_lab(cv2.GaussianBlur(crop.of(case.frame), (0, 0), 0.006 * m.fw))[:, :, 0]
        assert m.mid(blurred) > m.mid(light), case.name
        assert m.edge(blurred) < m.edge(light) - 0.1, case.name
        assert m.pores(blurred) < 0.5 * m.pores(light), case.name


def test_intensity_sets_how_much_is_smoothed(face_case):
    crop = Crop.around(face_case)
    m = _Measures(crop)
    mids = [m.mid(crop.lab(crop.apply("smoothing", intensity=i, detail=1.0))[:, :, 0]) for i in (0.25, 0.5, 1.0)]
    assert 1.0 > mids[0] > mids[1] > mids[2], mids


def test_lower_detail_fades_the_pores_but_not_the_edges(face_cases):
    for case in face_cases:
        crop = Crop.around(case)
        m = _Measures(crop)
        keep = crop.lab(crop.apply("smoothing", intensity=1.0, detail=1.0))[:, :, 0]
        airbrush = crop.lab(crop.apply("smoothing", intensity=1.0, detail=0.0))[:, :, 0]
        assert m.pores(airbrush, flat_only=True) < 0.85 * m.pores(keep, flat_only=True), case.name
        assert m.edge(airbrush) > 0.7, (case.name, m.edge(airbrush))


def test_intensity_zero_is_identity(face_case):
    out = create_effect("smoothing", {"intensity": 0}).apply(face_case.frame.copy(), face_case.parse)
    assert np.array_equal(out, face_case.frame)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"intensity": 1.01}, "intensity: must be in [0.0, 1.0]"),
        ({"detail": -1}, "detail: must be in [0.0, 1.0]"),
        ({"detail": "high"}, "detail: must be a number"),
        ({"radius": 5}, "radius: unknown option; allowed: detail, intensity"),
    ],
)
def test_bad_options_are_refused_with_the_field_and_allowed_values(options, message):
    with pytest.raises(LookError) as info:
        create_effect("smoothing", options)
    assert message in str(info.value)
