from __future__ import annotations

import numpy as np
import pytest

from tryon.errors import InputError
from tryon.perception.smoothing import LandmarkSmoother, OneEuroOptions

FPS = 30.0


def base_face() -> np.ndarray:
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 200, (478, 3)).astype(np.float32)
    pts[:, 0] += 400
    pts[:, 1] += 200
    return pts


@pytest.mark.parametrize(
    ("noise_px", "cut_by"),
    [
        (0.35, 2.5),  # iid noise at every landmark, about the raw jitter of the shared 720p video (0.33 px)
        (1.0, 1.5),  # three times that: the dead band passes more of it, the filter still halves it
    ],
)
def test_still_face_jitter_is_cut_several_times(noise_px, cut_by):
    rng = np.random.default_rng(0)
    face = base_face()
    smoother = LandmarkSmoother()
    raw, smooth = [], []
    for i in range(120):
        noisy = face + rng.normal(0, noise_px, face.shape).astype(np.float32)
        raw.append(noisy[:, :2])
        smooth.append(smoother(0, noisy, i / FPS)[:, :2])
    raw_std = np.std(np.array(raw[30:]), axis=0).mean()
    smooth_std = np.std(np.array(smooth[30:]), axis=0).mean()
    assert smooth_std < raw_std / cut_by


def test_moving_face_lags_less_than_a_frame():
    face = base_face()
    smoother = LandmarkSmoother()
    speed = 12.0  # pixels per frame: a head turning briskly
    errors = []
    for i in range(60):
        moved = face.copy()
        moved[:, 0] += speed * i
        out = smoother(0, moved, i / FPS)
        errors.append(float(np.mean(moved[:, 0] - out[:, 0])))
    assert np.mean(errors[20:]) < speed  # behind by less than one frame's motion


def test_faces_are_smoothed_independently_and_forgotten():
    smoother = LandmarkSmoother()
    a, b = base_face(), base_face() + 500
    smoother(0, a, 0.0)
    out = smoother(1, b, 0.0)
    assert np.array_equal(out, b)
    smoother.forget_except({1})
    assert np.array_equal(smoother(0, a + 50, 0.1), a + 50)  # a new track starts unsmoothed


@pytest.mark.parametrize("field", ["min_cutoff", "beta", "d_cutoff"])
def test_options_must_be_positive(field):
    with pytest.raises(InputError, match=field):
        OneEuroOptions(**{field: 0})


def test_a_blink_is_followed_at_once():
    # Given a still face whose upper lids close (8 px on a 200 px face) over two frames, as a blink does
    face = base_face()
    lids = [159, 158, 160, 386, 385, 387]
    smoother = LandmarkSmoother()
    for i in range(30):
        smoother(0, face, i / FPS)
    behind = []
    for step in (1, 2, 3):
        closing = face.copy()
        closing[lids, 1] += 4.0 * min(step, 2)
        out = smoother(0, closing, (29 + step) / FPS)
        behind.append(float(np.abs(out[lids, 1] - closing[lids, 1]).max()))
    # Then the smoothed lids are at most a pixel and a half behind at the first frame, and half a pixel after
    assert behind[0] < 1.5 and behind[2] < 0.5, behind
    # (the rest of the face stays put)
    assert np.abs(out[:100] - face[:100]).max() < 1e-3


def test_a_deadband_must_not_be_negative():
    with pytest.raises(InputError, match="deadband"):
        OneEuroOptions(deadband=-0.1)


def test_frames_a_hair_apart_in_time_restart_the_filter_instead_of_dividing_by_nothing():
    smoother = LandmarkSmoother()
    face = base_face()
    smoother(0, face, 0.0)
    with np.errstate(all="raise"):  # no overflow, no division by zero
        out = smoother(0, face + 3.0, 1e-300)
        # The filter starts afresh from the new landmarks, and goes on smoothing from there
        assert np.array_equal(out, face + 3.0)
        later = smoother(0, face + 4.0, 1 / FPS)
    assert np.all(np.isfinite(later)) and np.all(later[:, 0] >= face[:, 0] + 3.0)
