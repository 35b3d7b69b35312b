from __future__ import annotations

import subprocess
import sys

import numpy as np
from threadpoolctl import threadpool_info

from tryon import _runtime
from tryon.image import to_alpha8


def test_a_video_pipeline_holds_blas_to_one_thread(monkeypatch):
    from tryon.pipeline import Pipeline

    monkeypatch.delenv("TRYON_BLAS_THREADS", raising=False)
    monkeypatch.setattr(_runtime, "_blas_limited", False)
    with Pipeline(look="natural", mode="video"):
        assert _runtime._blas_limited
        blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert all(lib["num_threads"] == 1 for lib in blas)


def test_blas_threads_can_be_left_alone(monkeypatch):
    monkeypatch.setattr(_runtime, "_blas_limited", False)
    monkeypatch.setenv("TRYON_BLAS_THREADS", "0")
    assert _runtime.limit_blas_threads() is False


def test_opencv_pool_threads_are_told_to_sleep_unless_the_user_said_otherwise():
    code = "import os, tryon; print(os.environ['OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER'])"
    env_default = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert env_default.stdout.strip() == "0"
    env = {"OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER": "500", "PATH": ""}
    kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert kept.stdout.strip() == "500"


def test_a_photo_pipeline_leaves_blas_alone(monkeypatch):
    from tryon.pipeline import Pipeline

    monkeypatch.setattr(_runtime, "_blas_limited", False)
    with Pipeline(look="natural", mode="image"):
        assert not _runtime._blas_limited


def test_to_alpha8_rounds_and_saturates_like_the_numpy_formula():
    values = np.linspace(-0.2, 1.2, 10_001, dtype=np.float32).reshape(73, 137)
    expected = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
    got = to_alpha8(values)
    assert got.dtype == np.uint8 and got.shape == values.shape
    assert np.abs(got.astype(int) - expected).max() <= 1
    assert got[values <= 0].max() == 0 and got[values >= 1].min() == 255


def test_to_alpha8_takes_any_float_width():
    for dtype in (np.float16, np.float64, np.longdouble):
        got = to_alpha8(np.array([[-0.5, 0.0, 0.5, 1.0, 2.0]], dtype))
        assert got.tolist() == [[0, 0, 128, 255, 255]], dtype
