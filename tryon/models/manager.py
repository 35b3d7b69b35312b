"""The model cache: where models live, how they get there, and proof that they are the right bytes.

Models live in one folder: ``TRYON_MODELS_DIR`` when set, else the platform's cache folder (``~/.cache/tryon/models``
on Linux or ``$XDG_CACHE_HOME/tryon/models``, ``~/Library/Caches/tryon/models`` on macOS,
``%LOCALAPPDATA%/tryon/Cache/models`` on Windows). Each model sits at its manifest ``file`` path inside it.

Nothing is ever downloaded implicitly: :meth:`ModelManager.path` only finds and verifies; :meth:`ModelManager.pull`
downloads when asked (``tryon models pull NAME``), and :meth:`ModelManager.add` imports a file fetched by other
means (offline).

Example:
    >>> from tryon.models import ModelManager
    >>> models = ModelManager()
    >>> models.path("mediapipe-hair")  # doctest: +SKIP
    PosixPath('/home/me/.cache/tryon/models/mediapipe/hair_segmentation.tflite')
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

from tryon.errors import ModelError
from tryon.models.download import Progress, download
from tryon.models.manifest import Manifest, ModelEntry

__all__ = [
    "ENV_MODELS_DIR",
    "ModelManager",
    "ModelState",
    "ModelStatus",
    "default_cache_dir",
    "model_path",
    "sha256",
    "user_cache_dir",
]

log = logging.getLogger(__name__)

ENV_MODELS_DIR = "TRYON_MODELS_DIR"
_CHECKSUMS = "checksums.json"
#: A file modified this recently is hashed again next time: its mtime may not yet tell a later change apart.
_RACY_NS = 2_000_000_000
_memo: dict[tuple[str, int, int], str] = {}
_memo_lock = threading.Lock()


class ModelStatus(str, enum.Enum):
    """Whether a model is in the cache and has the right checksum."""

    OK = "ok"
    MISSING = "missing"
    CORRUPT = "corrupt"


@dataclass(frozen=True)
class ModelState:
    """A model's state in the cache.

    Attributes:
        name: the model's name.
        status: ok, missing or corrupt.
        path: where the file is (or would be).
        sha256: the checksum of the file found (None when missing).
        expected: the manifest's checksum.
    """

    name: str
    status: ModelStatus
    path: Path
    sha256: str | None
    expected: str

    @property
    def message(self) -> str:
        """One line saying what is wrong and how to fix it ('' when ok)."""
        if self.status is ModelStatus.MISSING:
            return (
                f"model {self.name} is not installed (looked for {self.path}); fetch it with: tryon models pull "
                f"{self.name} (or offline: download it elsewhere and run: tryon models add FILE)"
            )
        if self.status is ModelStatus.CORRUPT:
            return (
                f"model {self.name} at {self.path} is corrupt (sha256 {self.sha256}, expected {self.expected}); "
                f"fetch it again with: tryon models pull {self.name}"
            )
        return ""


def user_cache_dir() -> Path:
    """The tryon folder in the platform's user cache (``~/.cache/tryon`` on Linux, honouring ``XDG_CACHE_HOME``)."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "tryon" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "tryon"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache") / "tryon"


def default_cache_dir() -> Path:
    """The models folder: ``TRYON_MODELS_DIR``, else ``models`` in :func:`user_cache_dir`."""
    value = os.environ.get(ENV_MODELS_DIR, "").strip()
    return Path(value).expanduser() if value else user_cache_dir() / "models"


def sha256(path: Path) -> str:
    """The sha256 of a file (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _folder_for(name: str, folder: Path) -> Iterator[None]:
    """Makes ``folder`` (and the folders above it that are missing) for writing model ``name`` into it.

    If what is done in it fails (Ctrl+C included), the folders made here that are left empty are removed again:
    a failed download leaves no trace in the models folder, while a ``.part`` kept to resume keeps its folder.

    Raises:
        ModelError: when the folder cannot be made.
    """
    made = []  # deepest first
    missing = folder
    while not missing.exists():
        made.append(missing)
        missing = missing.parent
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelError(f"{name}: cannot create the models folder {folder} ({exc.strerror or exc})") from None
        yield
    except BaseException:
        for empty in made:
            try:
                empty.rmdir()
            except OSError:  # not empty, or already gone: neither it nor the folders above are ours to remove
                break
        raise


class ModelManager:
    """Finds, verifies, downloads and imports models.

    Args:
        cache_dir: the models folder (default: :func:`default_cache_dir`).
        manifest: the known models (default: tryon's manifest).
        timeout: seconds to wait for a server on each read.
        retries: how many times a cut download is resumed before giving up.
        retry_wait: seconds before the first retry (doubling after each).
        checksums: the file caching the checksums of verified models by path, size and modification time
            (default: ``checksums.json`` in :func:`user_cache_dir`; nothing is ever written into the models folder
            except by :meth:`pull` and :meth:`add`, so a shared read-only copy stays untouched).
    """

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        manifest: Manifest | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        retry_wait: float = 1.0,
        checksums: str | Path | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.manifest = manifest if manifest is not None else Manifest.default()
        self.timeout = timeout
        self.retries = retries
        self.retry_wait = retry_wait
        self.checksums = Path(checksums) if checksums is not None else user_cache_dir() / _CHECKSUMS

    def __repr__(self) -> str:
        return f"ModelManager({str(self.cache_dir)!r}, {len(self.manifest)} models)"

    def file(self, name: str) -> Path:
        """Where model ``name`` lives in the cache (whether or not it is there).

        Raises:
            ModelError: for an unknown name, listing the known ones.
        """
        return self.cache_dir / self.manifest.get(name).file

    def state(self, name: str, *, rehash: bool = False) -> ModelState:
        """Whether model ``name`` is installed and intact.

        Args:
            name: a model name.
            rehash: hash the file even when its checksum is cached for its size and modification time.
        """
        entry = self.manifest.get(name)
        path = self.cache_dir / entry.file
        if not path.is_file():
            return ModelState(name, ModelStatus.MISSING, path, None, entry.sha256)
        actual = self._checksum(path, entry, rehash)
        status = ModelStatus.OK if actual == entry.sha256 else ModelStatus.CORRUPT
        return ModelState(name, status, path, actual, entry.sha256)

    def path(self, name: str) -> Path:
        """The verified file of model ``name``. Never downloads.

        Raises:
            ModelError: for an unknown name (listing the known ones), a missing model (saying which command
                fetches it) or a corrupt one (with the expected and the actual checksum).
        """
        state = self.state(name)
        if state.status is not ModelStatus.OK:
            raise ModelError(state.message)
        return state.path

    def verify(self, names: list[str] | None = None) -> list[ModelState]:
        """Hashes every installed model (or those named) again and reports ok, missing or corrupt for each."""
        return [self.state(name, rehash=True) for name in (names if names is not None else self.manifest.names)]

    def pull(self, name: str, progress: Progress | None = None, *, force: bool = False) -> Path:
        """Downloads model ``name`` into the cache (unless it is there and intact) and returns its path.

        The file arrives in ``FILE.part`` (resumed after a cut connection, even by a later call), is checked
        against the manifest's sha256, and only then renamed into place.

        Args:
            name: a model name.
            progress: called with (bytes so far, total or None) as the download goes.
            force: download even when an intact copy is installed.

        Raises:
            ModelError: for an unknown name, a download that fails, or a file whose checksum is wrong (the file is
                deleted; the message gives the expected and the actual sha256).
        """
        entry = self.manifest.get(name)
        dest = self.cache_dir / entry.file
        with self._one_pull(name, dest):
            if not force:
                state = self.state(name)
                if state.status is ModelStatus.OK:
                    log.info("%s: already installed at %s", name, dest)
                    return dest
                if state.status is ModelStatus.CORRUPT:
                    log.warning("%s: %s is corrupt (sha256 %s); downloading it again", name, dest, state.sha256)
            return self._download(name, entry, dest, progress)

    @contextlib.contextmanager
    def _one_pull(self, name: str, dest: Path) -> Iterator[None]:
        """Holds the lock of ``dest``'s download or import, waiting while another pull or add (any process) holds it.

        Two pulls of one model would append to the same ``.part`` (and one's clean-up could remove the folder the
        other writes in): the second waits for the first, then finds the model installed. The lock files live in
        :func:`user_cache_dir`, not in the models folder; without a writable one the pull goes on unlocked.
        """
        key = hashlib.sha256(str(dest.resolve()).encode()).hexdigest()[:32]
        path = self.checksums.parent / "locks" / f"{key}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = filelock.FileLock(path)
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                log.warning("%s: another pull of it is under way; waiting for it to finish", name)
                lock.acquire()
        except OSError as exc:
            log.debug("%s: pulling without a lock (%s: %s)", name, path, exc)
            yield
            return
        try:
            yield
        finally:
            lock.release()

    def _download(self, name: str, entry: ModelEntry, dest: Path, progress: Progress | None) -> Path:
        """Downloads ``entry`` to ``dest`` through ``FILE.part``, checks its sha256 and renames it into place."""
        part = dest.with_name(dest.name + ".part")
        with _folder_for(name, dest.parent):
            resumed = part.exists() and part.stat().st_size > 0
            log.info("%s: downloading %s (%d bytes) to %s", name, entry.url, entry.size, dest)
            for attempt in (1, 2):
                download(
                    entry.url,
                    part,
                    size=entry.size,
                    progress=progress,
                    timeout=self.timeout,
                    retries=self.retries,
                    retry_wait=self.retry_wait,
                    label=name,
                )
                actual = sha256(part)
                if actual == entry.sha256:
                    break
                part.unlink()
                if attempt == 1 and resumed:  # the old .part may not have been a prefix of this file: once anew
                    log.warning(
                        "%s: the resumed download has the wrong checksum; downloading it again from scratch", name
                    )
                    continue
                raise ModelError(
                    f"{name}: the file downloaded from {entry.url} has the wrong checksum (sha256 {actual}, "
                    f"expected {entry.sha256}); it was deleted"
                )
            os.replace(part, dest)
        log.info("%s: installed at %s", name, dest)
        return dest

    def add(self, path: str | Path, name: str | None = None) -> ModelState:
        """Imports a model file fetched by other means (the offline way), identified by its checksum.

        Args:
            path: the file.
            name: the model it should be; when None, the manifest entry with the file's sha256.

        Returns:
            The installed model's state (ok).

        Raises:
            ModelError: when the file is missing, matches no known model, or is not the named model (with the
                expected and the actual sha256); nothing is copied then.
        """
        source = Path(path).expanduser()
        if not source.is_file():
            raise ModelError(f"{source}: no such file")
        actual = sha256(source)
        if name is not None:
            entry = self.manifest.get(name)
            if actual != entry.sha256:
                raise ModelError(
                    f"{source} is not model {name}: its sha256 is {actual}, expected {entry.sha256} "
                    f"({entry.size} bytes, from {entry.url})"
                )
        else:
            found = self.manifest.by_sha256(actual)
            if found is None:
                raise ModelError(
                    f"{source} matches no known model (sha256 {actual}); known models: {', '.join(self.manifest.names)}"
                )
            entry = found
        dest = self.cache_dir / entry.file
        if dest.exists() and dest.resolve() == source.resolve():
            return ModelState(entry.name, ModelStatus.OK, dest, actual, entry.sha256)
        part = dest.with_name(dest.name + ".part")
        with self._one_pull(entry.name, dest), _folder_for(entry.name, dest.parent):  # a pull writes the same .part
            try:
                shutil.copyfile(source, part)
                copied = sha256(part)
                if copied != entry.sha256:  # the source changed while it was copied
                    part.unlink()
                    raise ModelError(f"{source} changed while it was copied (sha256 {copied}, expected {entry.sha256})")
                os.replace(part, dest)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    part.unlink()
                raise ModelError(f"{entry.name}: cannot copy {source} to {dest} ({exc.strerror or exc})") from None
        log.info("%s: added %s as %s", entry.name, source, dest)
        return ModelState(entry.name, ModelStatus.OK, dest, actual, entry.sha256)

    # Checksums cached by (path, size, mtime), in memory and in the checksums file.

    def _checksum(self, path: Path, entry: ModelEntry, rehash: bool) -> str:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if not rehash:
            with _memo_lock:
                known = _memo.get(key)
            if known is None:
                record = self._records().get(key[0])
                if record and record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns:
                    known = str(record.get("sha256"))
            if known is not None:
                return known
        actual = sha256(path)
        if time.time_ns() - stat.st_mtime_ns > _RACY_NS:
            with _memo_lock:
                _memo[key] = actual
            if actual == entry.sha256:
                self._store(key[0], stat.st_size, stat.st_mtime_ns, actual)
        return actual

    def _records(self) -> dict[str, Any]:
        try:
            data = json.loads(self.checksums.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _store(self, file: str, size: int, mtime_ns: int, digest: str) -> None:
        records = {k: v for k, v in self._records().items() if Path(k).exists()}  # forget deleted files
        records[file] = {"size": size, "mtime_ns": mtime_ns, "sha256": digest}
        temp = self.checksums.with_name(f"{self.checksums.name}.{os.getpid()}.tmp")
        try:
            self.checksums.parent.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps(records, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(temp, self.checksums)
        except OSError as exc:  # no writable cache: keep the checksum in memory only
            log.debug("not caching checksums in %s (%s)", self.checksums, exc)
            with contextlib.suppress(OSError):
                temp.unlink()


def model_path(name: str) -> Path:
    """The verified file of model ``name`` in the default cache (see :meth:`ModelManager.path`). Never downloads.

    Raises:
        ModelError: for an unknown, missing or corrupt model, saying how to fetch it.
    """
    return ModelManager().path(name)
