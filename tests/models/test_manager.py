"""The model cache: downloads from a loopback server (resumed, verified), offline imports, verification."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import time
import urllib.error
from pathlib import Path

import pytest

import tryon.models.manager as manager_module
from tests.models.helpers import FileServer, entry, manifest, payload
from tryon.errors import ModelError
from tryon.models import ModelManager, ModelStatus, default_cache_dir

BODY = payload()
SHA = hashlib.sha256(BODY).hexdigest()


def make_manager(tmp_path: Path, url: str = "https://example.invalid/model.bin", body: bytes = BODY) -> ModelManager:
    return ModelManager(
        tmp_path / "cache", manifest({"test-model": entry(body, url)}), timeout=5, retries=2, retry_wait=0
    )


def installed(manager: ModelManager) -> Path:
    return manager.cache_dir / "test" / "test-model.bin"


def leftovers(manager: ModelManager) -> list[str]:
    folder = manager.cache_dir / "test"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# Downloads


def test_pull_downloads_verifies_and_reports_progress(tmp_path):
    calls: list[tuple[int, int | None]] = []
    with FileServer(BODY) as server:
        manager = make_manager(tmp_path, server.url)
        path = manager.pull("test-model", progress=lambda done, total: calls.append((done, total)))
    assert path == installed(manager)
    assert path.read_bytes() == BODY
    assert leftovers(manager) == ["test-model.bin"]  # no .part left behind
    assert len(server.requests) == 1 and "range" not in server.requests[0]
    # Progress: starts at 0, never goes back, ends at the full size, with the total known throughout.
    done = [d for d, _ in calls]
    assert done[0] == 0 and done[-1] == len(BODY) and done == sorted(done) and len(calls) > 3
    assert {t for _, t in calls} == {len(BODY)}
    assert manager.path("test-model") == path


def test_pull_refuses_wrong_bytes_and_deletes_them(tmp_path):
    wrong = payload(seed=1)  # same size, other bytes
    with FileServer(wrong) as server:
        manager = make_manager(tmp_path, server.url)
        with pytest.raises(ModelError) as info:
            manager.pull("test-model")
    message = str(info.value)
    assert "test-model" in message and "wrong checksum" in message
    assert SHA in message and hashlib.sha256(wrong).hexdigest() in message
    assert leftovers(manager) == []  # neither the file nor its .part is kept
    with pytest.raises(ModelError, match="not installed"):
        manager.path("test-model")


def test_pull_refuses_a_file_larger_than_the_manifest_says(tmp_path):
    with FileServer(BODY + b"more") as server:
        manager = make_manager(tmp_path, server.url)
        with pytest.raises(ModelError, match=rf"more than the expected {len(BODY)} bytes"):
            manager.pull("test-model")
    assert leftovers(manager) == []


def test_pull_resumes_with_a_range_request_after_a_cut_connection(tmp_path):
    calls: list[int] = []
    with FileServer(BODY, cuts=[100_000]) as server:
        manager = make_manager(tmp_path, server.url)
        path = manager.pull("test-model", progress=lambda done, total: calls.append(done))
    assert path.read_bytes() == BODY
    assert len(server.requests) == 2
    assert "range" not in server.requests[0]
    assert server.requests[1]["range"] == "bytes=100000-"
    assert server.answers == [200, 206]
    assert calls == sorted(calls) and calls[-1] == len(BODY)  # resumed, not restarted


def test_pull_starts_over_when_the_server_ignores_range(tmp_path):
    calls: list[int] = []
    with FileServer(BODY, ranges=False, cuts=[100_000]) as server:
        manager = make_manager(tmp_path, server.url)
        path = manager.pull("test-model", progress=lambda done, total: calls.append(done))
    assert path.read_bytes() == BODY
    assert server.requests[1]["range"] == "bytes=100000-"  # it asked to resume...
    assert server.answers == [200, 200]  # ...got the whole file again, and wrote it from the start
    assert 0 in calls[calls.index(100_000) :]  # the progress went back to 0


def test_pull_resumes_a_part_left_by_an_earlier_run(tmp_path):
    with FileServer(BODY) as server:
        manager = make_manager(tmp_path, server.url)
        installed(manager).parent.mkdir(parents=True)
        installed(manager).with_suffix(".bin.part").write_bytes(BODY[:1234])
        manager.pull("test-model")
    assert installed(manager).read_bytes() == BODY
    assert [r.get("range") for r in server.requests] == ["bytes=1234-"]


def test_a_stale_part_that_is_not_a_prefix_is_downloaded_again_from_scratch(tmp_path):
    with FileServer(BODY) as server:
        manager = make_manager(tmp_path, server.url)
        installed(manager).parent.mkdir(parents=True)
        installed(manager).with_suffix(".bin.part").write_bytes(b"x" * 1234)
        manager.pull("test-model")
    assert installed(manager).read_bytes() == BODY
    assert [r.get("range") for r in server.requests] == ["bytes=1234-", None]


def test_a_connection_that_keeps_failing_gives_up_keeps_the_part_and_the_next_pull_resumes(tmp_path):
    with FileServer(BODY, cuts=[1000, 1000, 1000]) as server:
        manager = make_manager(tmp_path, server.url)  # retries=2: three attempts
        with pytest.raises(ModelError, match=r"test-model: download from .* failed after 3 attempts.*resumes"):
            manager.pull("test-model")
        assert leftovers(manager) == ["test-model.bin.part"]
        assert not installed(manager).exists()
        manager.pull("test-model")
    assert installed(manager).read_bytes() == BODY
    assert [r.get("range") for r in server.requests] == [None, "bytes=1000-", "bytes=2000-", "bytes=3000-"]


def test_a_refused_download_is_not_retried(tmp_path):
    with FileServer(BODY, status=404) as server:
        manager = make_manager(tmp_path, server.url)
        with pytest.raises(ModelError, match=r"test-model: the server refused .*HTTP 404"):
            manager.pull("test-model")
    assert len(server.requests) == 1


#: A host that never resolves: the .invalid top-level domain is reserved (RFC 2606), so this fails at once offline.
UNRESOLVABLE = "http://nonexistent.invalid/model.bin"


def test_a_host_that_does_not_resolve_is_reported_as_no_network_and_not_retried(tmp_path, caplog):
    # Given no network (a host name that does not resolve)
    manager = make_manager(tmp_path, UNRESOLVABLE)
    # When a model is pulled
    with pytest.raises(ModelError) as info:
        manager.pull("test-model")
    # Then the error says the host cannot be reached, at the first attempt, and claims no partial file
    message = str(info.value)
    assert message.startswith("test-model: cannot reach nonexistent.invalid (its name does not resolve: no network?)")
    assert "tryon models add FILE" in message
    assert "kept" not in message and "connection lost" not in caplog.text and "retrying" not in caplog.text
    assert leftovers(manager) == []


def test_a_part_from_an_earlier_run_is_kept_and_said_so_when_the_host_does_not_resolve(tmp_path):
    manager = make_manager(tmp_path, UNRESOLVABLE)
    part = installed(manager).with_suffix(".bin.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(BODY[:1234])
    with pytest.raises(ModelError, match=r"cannot reach nonexistent\.invalid .*1234 bytes are kept in .*resumes"):
        manager.pull("test-model")
    assert part.read_bytes() == BODY[:1234]


def closed_port_url() -> str:
    """A loopback URL where nothing listens: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/model.bin"


@pytest.mark.parametrize("case", ["refused", "no body"])
def test_a_download_that_keeps_failing_before_any_byte_keeps_nothing_and_claims_nothing(tmp_path, case):
    # Given a server that refuses connections, or one that sends headers and closes before the first byte
    with FileServer(BODY, cuts=[0, 0, 0]) as server:
        manager = make_manager(tmp_path, closed_port_url() if case == "refused" else server.url)
        # When the download fails each time
        with pytest.raises(ModelError, match="failed after 3 attempts") as info:
            manager.pull("test-model")
    # Then no empty .part is left behind, and the message does not speak of one
    assert "kept" not in str(info.value) and "resumes" not in str(info.value)
    assert leftovers(manager) == []


@pytest.mark.parametrize("failure", ["wrong checksum", "no network"])
@pytest.mark.parametrize("existing", ["none", "models folder", "both"])
def test_a_failed_pull_leaves_no_folder_it_made_and_keeps_those_that_were_there(tmp_path, failure, existing):
    with FileServer(payload(seed=1)) as server:  # the right size, the wrong bytes
        manager = make_manager(tmp_path, server.url if failure == "wrong checksum" else UNRESOLVABLE)
        # Given no models folder yet, or one without the model's own folder, or both
        folders = [manager.cache_dir, installed(manager).parent]
        there = {"none": [], "models folder": folders[:1], "both": folders}[existing]
        for folder in there:
            folder.mkdir()
        # When the pull fails
        with pytest.raises(ModelError, match="wrong checksum" if failure == "wrong checksum" else "cannot reach"):
            manager.pull("test-model")
    # Then the folders that were there are still there, and none that the pull made is left
    assert [folder for folder in folders if folder.exists()] == there


def test_pull_of_an_installed_model_downloads_nothing(tmp_path):
    with FileServer(BODY) as server:
        manager = make_manager(tmp_path, server.url)
        manager.pull("test-model")
        manager.pull("test-model")
        assert len(server.requests) == 1
        manager.pull("test-model", force=True)
        assert len(server.requests) == 2


def test_a_second_pull_of_the_same_model_waits_for_the_first_and_downloads_nothing(tmp_path, caplog):
    import logging
    import threading

    caplog.set_level(logging.WARNING, logger="tryon.models.manager")
    waiting = "test-model: another pull of it is under way; waiting for it to finish"
    results: dict[str, Path | BaseException] = {}

    def pull(who: str, manager: ModelManager, progress=None) -> None:
        try:
            results[who] = manager.pull("test-model", progress=progress)
        except BaseException as exc:  # reported by the assertions below
            results[who] = exc

    with FileServer(BODY) as server:
        # Given two managers of one models folder (two processes: each has its own lock object)
        first, second = make_manager(tmp_path, server.url), make_manager(tmp_path, server.url)
        started = threading.Event()
        other = threading.Thread(target=pull, args=("second", second))

        def progress(done: int, total: int | None) -> None:
            # When the second pull starts while the first is downloading, the first goes on once it waits
            if not started.is_set():
                started.set()
                other.start()
                deadline = time.monotonic() + 10
                while waiting not in caplog.text and time.monotonic() < deadline:
                    time.sleep(0.01)

        pull("first", first, progress)
        other.join(timeout=10)
    # Then both get the intact file, downloaded once, and the second said it was waiting
    assert results == {"first": installed(first), "second": installed(first)}
    assert installed(first).read_bytes() == BODY
    assert len(server.requests) == 1 and waiting in caplog.text
    assert leftovers(first) == ["test-model.bin"]  # no lock file in the models folder


def test_an_add_waits_for_a_pull_of_the_same_model(tmp_path, caplog):
    import logging
    import threading

    caplog.set_level(logging.WARNING, logger="tryon.models.manager")
    source = tmp_path / "m.bin"
    source.write_bytes(BODY)
    puller, adder = make_manager(tmp_path), make_manager(tmp_path)
    done = threading.Event()
    # Given a pull of the model under way (its lock held)
    with puller._one_pull("test-model", installed(puller)):
        worker = threading.Thread(target=lambda: (adder.add(source), done.set()))
        worker.start()
        deadline = time.monotonic() + 10
        while "another pull of it is under way" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        # Then an add of the same model waits (before: it copied into the .part the pull was writing)
        assert not done.is_set() and "another pull of it is under way" in caplog.text
    worker.join(timeout=10)
    assert done.is_set() and installed(adder).read_bytes() == BODY


def test_a_pull_without_a_writable_user_cache_goes_on_unlocked(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with FileServer(BODY) as server:
        manager = ModelManager(
            tmp_path / "cache",
            make_manager(tmp_path, server.url).manifest,
            checksums=tmp_path / "a-file" / "checksums.json",
        )
        assert manager.pull("test-model").read_bytes() == BODY


def test_pull_replaces_a_corrupt_installed_file(tmp_path):
    with FileServer(BODY) as server:
        manager = make_manager(tmp_path, server.url)
        installed(manager).parent.mkdir(parents=True)
        installed(manager).write_bytes(b"junk")
        manager.pull("test-model")
    assert installed(manager).read_bytes() == BODY


def test_only_http_urls_are_fetched(tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(BODY)
    with pytest.raises(ModelError, match="url: must be an http"):
        make_manager(tmp_path, source.as_uri())


# Finding models


def test_path_never_downloads_and_says_how_to_fetch(tmp_path):
    with FileServer(BODY) as server:
        manager = make_manager(tmp_path, server.url)
        with pytest.raises(ModelError) as info:
            manager.path("test-model")
    assert "tryon models pull test-model" in str(info.value)
    assert "tryon models add FILE" in str(info.value)
    assert server.requests == []


def test_path_refuses_a_corrupt_file_with_both_checksums(tmp_path):
    manager = make_manager(tmp_path)
    installed(manager).parent.mkdir(parents=True)
    installed(manager).write_bytes(BODY[:-1] + b"!")
    with pytest.raises(ModelError) as info:
        manager.path("test-model")
    message = str(info.value)
    assert "corrupt" in message and SHA in message
    assert hashlib.sha256(BODY[:-1] + b"!").hexdigest() in message
    assert "tryon models pull test-model" in message


def test_an_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(ModelError, match=r"unknown model 'nope'; known models: test-model"):
        make_manager(tmp_path).path("nope")


# Offline imports


def test_add_recognises_a_file_by_its_checksum(tmp_path):
    manager = make_manager(tmp_path)
    source = tmp_path / "downloaded.bin"
    source.write_bytes(BODY)
    state = manager.add(source)
    assert (state.name, state.status) == ("test-model", ModelStatus.OK)
    assert state.path == installed(manager) and state.path.read_bytes() == BODY
    assert source.exists()  # copied, not moved
    assert manager.path("test-model") == state.path


def test_add_with_a_name_checks_the_file_is_that_model(tmp_path):
    manager = make_manager(tmp_path)
    good, bad = tmp_path / "good.bin", tmp_path / "bad.bin"
    good.write_bytes(BODY)
    bad.write_bytes(payload(seed=2))
    assert manager.add(good, "test-model").status is ModelStatus.OK
    installed(manager).unlink()
    with pytest.raises(ModelError) as info:
        manager.add(bad, "test-model")
    assert "is not model test-model" in str(info.value)
    assert SHA in str(info.value) and hashlib.sha256(bad.read_bytes()).hexdigest() in str(info.value)
    assert leftovers(manager) == []


def test_add_refuses_a_file_that_matches_no_model(tmp_path):
    manager = make_manager(tmp_path)
    other = tmp_path / "other.bin"
    other.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"matches no known model \(sha256 [0-9a-f]{64}\); known models: test-model"):
        manager.add(other)
    with pytest.raises(ModelError, match="no such file"):
        manager.add(tmp_path / "missing.bin")
    assert leftovers(manager) == []


def test_an_add_that_cannot_copy_says_why_and_leaves_no_folder_it_made(tmp_path, monkeypatch):
    manager = make_manager(tmp_path)
    source = tmp_path / "downloaded.bin"
    source.write_bytes(BODY)

    # Given a disk that fills up while the file is copied
    def disk_full(src: object, dst: Path) -> None:
        Path(dst).write_bytes(BODY[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(manager_module.shutil, "copyfile", disk_full)
    # When the file is added, then the error says why, and neither the partial copy nor its folders are left
    with pytest.raises(ModelError, match=r"test-model: cannot copy .* \(No space left on device\)"):
        manager.add(source)
    assert not manager.cache_dir.exists()


# Verification and the checksum cache


def age(path: Path, seconds: float = 3600) -> None:
    """Sets a file's modification time in the past (as for any model installed before this run)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_verify_reports_ok_missing_and_corrupt(tmp_path):
    other = payload(1000, seed=3)
    manager = ModelManager(
        tmp_path / "cache", manifest({"good": entry(BODY, name="good"), "gone": entry(other, name="gone")})
    )
    source = tmp_path / "good.bin"
    source.write_bytes(BODY)
    manager.add(source)
    assert [(s.name, s.status) for s in manager.verify()] == [("good", ModelStatus.OK), ("gone", ModelStatus.MISSING)]
    # Bit rot: the same size and modification time, one byte changed.
    path = manager.file("good")
    age(path)
    assert manager.state("good").status is ModelStatus.OK  # cached for this size and mtime from now on
    stat = path.stat()
    with path.open("r+b") as f:
        f.seek(1000)
        f.write(bytes([BODY[1000] ^ 0xFF]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    states = {s.name: s for s in manager.verify()}  # verify hashes again whatever the cache says
    assert states["good"].status is ModelStatus.CORRUPT
    assert states["good"].expected == SHA and states["good"].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_modified_file_is_hashed_again(tmp_path):
    manager = make_manager(tmp_path)
    source = tmp_path / "m.bin"
    source.write_bytes(BODY)
    path = manager.add(source).path
    age(path)
    assert manager.path("test-model") == path
    path.write_bytes(BODY[::-1])  # same size, new modification time
    age(path, 60)
    with pytest.raises(ModelError, match="corrupt"):
        manager.path("test-model")


def test_checksums_are_cached_by_size_and_mtime_across_managers(tmp_path, monkeypatch):
    manager = make_manager(tmp_path)
    source = tmp_path / "m.bin"
    source.write_bytes(BODY)
    path = manager.add(source).path
    age(path)
    hashed: list[Path] = []
    real = manager_module.sha256
    monkeypatch.setattr(manager_module, "sha256", lambda p: hashed.append(p) or real(p))
    manager.path("test-model")
    manager.path("test-model")
    assert hashed == [path]
    manager_module._memo.clear()  # a new process: only the cache file remains
    make_manager(tmp_path).path("test-model")
    assert hashed == [path]
    assert manager.checksums.is_file()


def test_a_file_modified_just_now_is_not_trusted_to_the_cache(tmp_path, monkeypatch):
    manager = make_manager(tmp_path)
    installed(manager).parent.mkdir(parents=True)
    installed(manager).write_bytes(BODY)  # mtime: now, a later change in the same clock tick would keep it
    hashed: list[Path] = []
    real = manager_module.sha256
    monkeypatch.setattr(manager_module, "sha256", lambda p: hashed.append(p) or real(p))
    manager.path("test-model")
    manager.path("test-model")
    assert len(hashed) == 2


def test_finding_and_verifying_never_write_into_the_models_folder(tmp_path):
    manager = make_manager(tmp_path)
    source = tmp_path / "m.bin"
    source.write_bytes(BODY)
    path = manager.add(source).path
    age(path)
    before = sorted(manager.cache_dir.rglob("*"))
    manager.path("test-model")
    manager.verify()
    assert sorted(manager.cache_dir.rglob("*")) == before  # a shared read-only copy stays untouched
    assert manager.checksums.is_file() and manager.checksums.parent == tmp_path / "user-cache" / "tryon"


def test_an_unwritable_checksums_file_only_costs_hashing_again(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    manager = ModelManager(
        tmp_path / "cache", make_manager(tmp_path).manifest, checksums=tmp_path / "a-file" / "checksums.json"
    )
    source = tmp_path / "m.bin"
    source.write_bytes(BODY)
    path = manager.add(source).path
    age(path)
    assert manager.path("test-model") == path
    assert manager.path("test-model") == path


# The cache folder


def test_the_cache_folder_follows_tryon_models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRYON_MODELS_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    assert ModelManager().cache_dir == tmp_path / "mine"


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", "home/.cache/tryon/models"),
        ("darwin", "home/Library/Caches/tryon/models"),
        ("win32", "local/tryon/Cache/models"),
    ],
)
def test_the_default_cache_folder_per_platform(tmp_path, monkeypatch, platform, expected):
    monkeypatch.delenv("TRYON_MODELS_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    monkeypatch.setattr(manager_module.sys, "platform", platform)
    assert default_cache_dir() == tmp_path / expected


def test_the_linux_cache_folder_honours_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("TRYON_MODELS_DIR", raising=False)
    monkeypatch.setattr(manager_module.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "tryon" / "models"


def test_a_name_that_stops_resolving_mid_download_is_retried_and_resumed(tmp_path, monkeypatch):
    # Given a download cut after 100 bytes, then a DNS failure (the Wi-Fi came back slowly), then a good attempt
    from tryon.models import download as dl

    attempts: list[int] = []

    def fetch(url, part, offset, size, progress, timeout, what):
        attempts.append(offset)
        if len(attempts) == 1:
            part.write_bytes(BODY[:100])
            raise dl._CutError("cut")
        if len(attempts) == 2:
            raise urllib.error.URLError(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"))
        with part.open("ab") as out:
            out.write(BODY[offset:])

    monkeypatch.setattr(dl, "_fetch", fetch)
    part = tmp_path / "model.bin.part"
    dl.download("https://example.invalid/model.bin", part, size=len(BODY), retries=3, retry_wait=0)
    # Then the failure was retried (only a first try that cannot resolve gives up) and the download resumed
    assert attempts == [0, 100, 100] and part.read_bytes() == BODY
