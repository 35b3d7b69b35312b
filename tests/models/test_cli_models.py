"""``tryon models`` end to end: list, pull from a loopback server, add, verify, path."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from tqdm import tqdm

import tryon.cli.main as cli_main
from tests.conftest import need_file
from tests.models.helpers import FileServer, entry, manifest, payload
from tryon.cli import models as models_command
from tryon.models import Manifest

GOOD, OTHER = payload(200_000, seed=10), payload(5_000, seed=11)


def test_the_models_command_is_registered():
    commands = next(a for a in cli_main.build_parser()._actions if a.dest == "command")
    assert "models" in commands.choices, "register tryon.cli.models in tryon/cli/main.py COMMANDS"


@pytest.fixture
def tryon(capsys):
    """Runs ``tryon ARGS`` in this process; returns (exit code, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        code = cli_main.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("TRYON_MODELS_DIR", str(folder))
    return folder


def use_manifest(monkeypatch, url: str = "https://example.invalid/good.bin") -> Manifest:
    known = manifest({"good-model": entry(GOOD, url, name="good"), "other-model": entry(OTHER, name="other")})
    monkeypatch.setattr(Manifest, "default", staticmethod(lambda: known))
    return known


def install(cache: Path, name: str, body: bytes) -> Path:
    path = cache / "test" / f"{name}.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def test_list_shows_size_licence_and_status(tryon, cache, monkeypatch):
    use_manifest(monkeypatch)
    install(cache, "good", GOOD)
    install(cache, "other", b"junk")
    code, out, _ = tryon("models")
    assert code == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["good-model"][1:5] == ["0.2", "MB", "MIT", "installed"]
    assert lines["other-model"][3:5] == ["MIT", "corrupt"]
    assert f"models folder: {cache}" in out
    (cache / "test" / "good.bin").unlink()
    _, out, _ = tryon("models", "list")
    assert "missing" in next(line for line in out.splitlines() if line.startswith("good-model"))
    _, out, _ = tryon("models", "list", "--long")
    assert "url: https://example.invalid/good.bin" in out and f"sha256: {hashlib.sha256(GOOD).hexdigest()}" in out


def test_the_progress_bar_follows_a_download_that_starts_over():
    bar = tqdm(total=None, file=io.StringIO(), disable=False)
    report = models_command._reporter(bar)
    report(0, 1000)
    report(600, 1000)
    report(0, 1000)  # the server ignored Range: back to the start
    report(1000, 1000)
    assert (bar.n, bar.total) == (1000, 1000)


def test_pull_downloads_with_a_checksum(tryon, cache, monkeypatch):
    with FileServer(GOOD) as server:
        use_manifest(monkeypatch, server.url)
        code, out, err = tryon("models", "pull", "good-model")
        assert (code, err.count("tryon: error")) == (0, 0)
        assert (cache / "test" / "good.bin").read_bytes() == GOOD
        assert out.strip() == f"good-model: {cache / 'test' / 'good.bin'}"
        code, out, _ = tryon("models", "pull", "good-model")
        assert code == 0 and "already installed" in out
    assert len(server.requests) == 1


def test_pull_reports_a_wrong_file_and_keeps_nothing(tryon, cache, monkeypatch):
    with FileServer(payload(200_000, seed=99)) as server:
        use_manifest(monkeypatch, server.url)
        code, _, err = tryon("models", "pull", "good-model")
    assert code == 2
    assert err.startswith("tryon: error: good-model: the file downloaded from") and "wrong checksum" in err
    assert hashlib.sha256(GOOD).hexdigest() in err
    assert not cache.exists()  # not even the folders the pull made for the file


def test_pull_without_network_says_so_in_one_line(tryon, cache, monkeypatch):
    # Given no network: the model's host name does not resolve
    use_manifest(monkeypatch, "http://nonexistent.invalid/good.bin")
    # When it is pulled
    code, out, err = tryon("models", "pull", "good-model")
    # Then one error line says the host cannot be reached, with the offline way, and nothing is left behind
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tryon: error: good-model: cannot reach nonexistent.invalid (")
    assert "no network?" in lines[0] and "tryon models add FILE" in lines[0] and ".part" not in lines[0]
    assert not cache.exists()


def test_pull_of_an_unknown_name_downloads_nothing(tryon, cache, monkeypatch):
    with FileServer(GOOD) as server:
        use_manifest(monkeypatch, server.url)
        code, _, err = tryon("models", "pull", "good-model", "nope")
    assert code == 2
    known = "known models: good-model, other-model; or a parser name:"
    assert err.startswith(f"tryon: error: unknown model 'nope'; {known}")
    assert server.requests == []


def test_add_imports_the_right_file_and_refuses_a_wrong_one(tryon, cache, monkeypatch, tmp_path):
    use_manifest(monkeypatch)
    good, bad = tmp_path / "good-download.bin", tmp_path / "bad-download.bin"
    good.write_bytes(GOOD)
    bad.write_bytes(b"bad")
    code, out, _ = tryon("models", "add", good)
    assert code == 0 and out.strip() == f"good-model: added as {cache / 'test' / 'good.bin'}"
    code, _, err = tryon("models", "add", bad, "--name", "other-model")
    assert code == 2 and "is not model other-model" in err and err.count("\n") == 1
    assert not (cache / "test" / "other.bin").exists()


def test_verify_exits_non_zero_when_a_model_is_corrupt(tryon, cache, monkeypatch):
    use_manifest(monkeypatch)
    install(cache, "good", GOOD)
    code, out, _ = tryon("models", "verify")
    assert code == 0
    assert "good-model: ok" in out and "other-model: missing" in out and "1 ok, 1 missing, 0 corrupt" in out
    install(cache, "other", OTHER[:-1] + b"!")
    code, out, _ = tryon("models", "verify")
    assert code == 1
    assert f"other-model: corrupt: {cache / 'test' / 'other.bin'} has sha256" in out


def test_path_prints_the_verified_file_or_how_to_get_it(tryon, cache, monkeypatch):
    use_manifest(monkeypatch)
    code, _, err = tryon("models", "path", "good-model")
    assert code == 2 and "fetch it with: tryon models pull good-model" in err
    path = install(cache, "good", GOOD)
    code, out, _ = tryon("models", "path", "good-model")
    assert (code, out.strip()) == (0, str(path))


def test_the_shared_models_folder_verifies_as_a_ready_cache(tryon, shared_models, monkeypatch):
    need_file(shared_models / "mediapipe" / "hair_segmentation.tflite")
    monkeypatch.setenv("TRYON_MODELS_DIR", str(shared_models))
    code, out, _ = tryon("models", "verify")
    assert code == 0, out
    assert f"{len(Manifest.load())} ok, 0 missing, 0 corrupt" in out
