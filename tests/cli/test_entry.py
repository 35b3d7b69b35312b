"""The ``tryon`` console script: Ctrl+C at any moment, the start-up included, is one line and code 130."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest

from tryon.cli import run


class _Interrupted(types.ModuleType):
    """A module whose names cannot be read: Ctrl+C arrives while it loads."""

    def __getattr__(self, name: str) -> object:
        raise KeyboardInterrupt


def test_ctrl_c_while_the_commands_load_is_answered_in_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tryon.cli.main", _Interrupted("tryon.cli.main"))
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == "tryon: interrupted\n"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is a POSIX signal")
@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4, 0.6])
def test_ctrl_c_at_any_moment_of_a_real_run_gives_no_traceback(tmp_path, delay):
    from tryon.video import VideoWriter

    # Given a video to make up (loading the modules takes about 0.9 s here, MediaPipe's included, the models and
    # the 300 frames seconds)
    clip = tmp_path / "clip.mp4"
    writer = VideoWriter(clip, fps=10.0)
    for i in range(300):
        writer.write(np.full((240, 320, 3), 60 + i % 100, np.uint8))
    writer.close()
    # When Ctrl+C comes while it starts, loads or works
    child = subprocess.Popen(
        [sys.executable, "-m", "tryon", "apply", str(clip), "-o", str(tmp_path / "out.mp4"), "--look", "natural"],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    # Then it stops with code 130, never with a traceback (before, up to ~0.4 s: the import's traceback, NumPy's
    # ImportError with code 1, or the interrupt lost in an import lock's callback and the video made up in full)
    assert child.returncode == 130, err
    assert "Traceback" not in err and "tryon: interrupted" in err, err


def test_a_broken_mediapipe_is_reported_by_the_command_not_by_the_preload(monkeypatch, capsys):
    import builtins

    # Given a MediaPipe whose import fails with something other than ImportError (a protobuf mismatch, say)
    real_import = builtins.__import__

    def importing(name, *args, **kwargs):
        if name.startswith("mediapipe"):
            raise RuntimeError("Descriptors cannot be created directly")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "mediapipe.python.solutions", raising=False)
    monkeypatch.setattr(builtins, "__import__", importing)
    # When a command that runs MediaPipe starts (this one does not reach it)
    monkeypatch.setattr(sys, "argv", ["tryon", "parse", "--legend"])
    with pytest.raises(SystemExit) as exit_info:
        run()
    # Then the command runs (before: the preload's traceback ended the program)
    assert exit_info.value.code == 0
    assert '"0": "background"' in capsys.readouterr().out
