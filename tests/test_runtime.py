from __future__ import annotations

import os
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from tests.conftest import needs_two_cpus
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


def _affinity(tid: int) -> set[int]:
    return set(os.sched_getaffinity(tid))


class _Idle:
    """A thread that waits until told to stop, reporting its native id."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.started = threading.Event()
        self.tid = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.started.wait(5)

    def _run(self) -> None:
        self.tid = threading.get_native_id()
        self.started.set()
        self.stop.wait(30)

    def end(self) -> None:
        self.stop.set()
        self.thread.join(5)


@needs_two_cpus
def test_render_core_gives_the_calling_thread_a_cpu_the_other_threads_leave(monkeypatch):
    monkeypatch.delenv("TRYON_RENDER_CORE", raising=False)
    allowed = set(os.sched_getaffinity(0))
    me = threading.get_native_id()
    before, threads = _Idle(), cv2.getNumThreads()
    try:
        with _runtime.RenderCore() as core:
            assert core.active
            own = _affinity(me)
            assert len(own) == 1 and own < allowed
            assert _affinity(before.tid) == allowed - own
            assert cv2.getNumThreads() == 1
            # A thread started by the render thread inherits its CPU until the next refresh moves it.
            later = _Idle()
            try:
                assert _affinity(later.tid) == own
                core.refresh()
                assert _affinity(later.tid) == allowed - own
            finally:
                later.end()
        assert _affinity(me) == allowed and _affinity(before.tid) == allowed
        assert cv2.getNumThreads() == threads
    finally:
        before.end()


def test_render_core_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("TRYON_RENDER_CORE", "0")
    allowed = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    with _runtime.RenderCore() as core:
        assert not core.active
        if allowed is not None:
            assert set(os.sched_getaffinity(0)) == allowed


@needs_two_cpus
def test_render_core_restores_the_cpus_when_the_block_fails(monkeypatch):
    monkeypatch.delenv("TRYON_RENDER_CORE", raising=False)
    allowed = set(os.sched_getaffinity(0))
    with pytest.raises(RuntimeError), _runtime.RenderCore():
        raise RuntimeError("boom")
    assert set(os.sched_getaffinity(0)) == allowed


@needs_two_cpus
def test_render_core_gives_each_thread_back_the_cpus_it_had(monkeypatch):
    monkeypatch.delenv("TRYON_RENDER_CORE", raising=False)
    allowed = set(os.sched_getaffinity(0))
    own = {min(allowed)}
    narrow, pinned = _Idle(), _Idle()
    try:
        os.sched_setaffinity(narrow.tid, {max(allowed)})
        os.sched_setaffinity(pinned.tid, own)  # pinned by the app to the CPU the renderer will get
        with _runtime.RenderCore() as core:
            assert core.active
            assert _affinity(narrow.tid) == {max(allowed)}
            assert _affinity(pinned.tid) == own  # nowhere else it may go: left where it is
        assert _affinity(narrow.tid) == {max(allowed)} and _affinity(pinned.tid) == own
        assert _affinity(threading.get_native_id()) == allowed
    finally:
        narrow.end()
        pinned.end()


@needs_two_cpus
def test_one_render_core_at_a_time(monkeypatch):
    monkeypatch.delenv("TRYON_RENDER_CORE", raising=False)
    allowed = set(os.sched_getaffinity(0))
    threads = cv2.getNumThreads()
    seen: list[bool] = []
    go, done = threading.Event(), threading.Event()

    def second_loop() -> None:
        go.wait(5)
        try:
            os.sched_setaffinity(0, allowed)  # as on a machine with more CPUs: some left for a second renderer
            with _runtime.RenderCore() as second:
                seen.append(second.active)
        finally:
            done.set()

    other = threading.Thread(target=second_loop, daemon=True)
    other.start()
    with _runtime.RenderCore() as first:
        assert first.active
        go.set()
        assert done.wait(5)
        assert first.active and cv2.getNumThreads() == 1
        os.sched_setaffinity(0, allowed)  # a loop run from the first one's hook, on a thread with 2 CPUs
        with _runtime.RenderCore() as nested:
            assert not nested.active
        assert first.active
    other.join(5)
    assert seen == [False]
    assert set(os.sched_getaffinity(0)) == allowed and cv2.getNumThreads() == threads
    with _runtime.RenderCore() as again:  # free again once the first has ended
        assert again.active
