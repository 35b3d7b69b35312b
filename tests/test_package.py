"""The top-level package: every public name the docs use is exported, and importing it loads nothing heavy."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import tryon
from tests.conftest import REPO


def _documented_names() -> set[str]:
    """The ``tryon.Name`` names the README and the docs' scripts use, and the README's ``LiveLoop`` and ``RoiMask``."""
    texts = [REPO / "README.md", *sorted((REPO / "docs").glob("*.py"))]
    names = {m for path in texts for m in re.findall(r"\btryon\.([A-Z]\w*)", path.read_text(encoding="utf-8"))}
    return names | {"LiveLoop", "RoiMask"}


def test_the_live_loop_is_exported():
    from tryon.live import LiveLoop

    assert tryon.LiveLoop is LiveLoop
    assert "LiveLoop" in tryon.__all__


@pytest.mark.parametrize("name", sorted(_documented_names()))
def test_names_the_docs_use_are_exported(name):
    assert name in tryon.__all__
    assert getattr(tryon, name) is not None


@pytest.mark.parametrize("name", sorted(set(tryon.__all__) - {"__version__"}))
def test_every_exported_name_resolves_to_its_module(name):
    value = getattr(tryon, name)
    assert getattr(value, "__module__", None) is None or value.__module__.startswith("tryon.")


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'tryon' has no attribute 'Pipe'"):
        tryon.Pipe  # noqa: B018


def test_importing_tryon_loads_no_heavy_module():
    # Given a fresh interpreter, when it imports tryon, then neither OpenCV, NumPy nor MediaPipe is loaded yet
    heavy = ("cv2", "numpy", "mediapipe", "tryon.live")
    code = f"import sys, tryon; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
