"""Resumable HTTP downloads into a ``.part`` file, with the standard library only.

A cut connection is resumed with an HTTP ``Range`` request; a server that ignores ``Range`` (answering 200 with
the whole body) is simply read again from the start. Checking what arrived is the caller's job
(:meth:`tryon.models.ModelManager.pull` verifies the sha256 before it renames the file into place).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from tryon import __version__
from tryon.errors import ModelError

__all__ = ["Progress", "download"]

log = logging.getLogger(__name__)

#: Called with (bytes so far, total bytes or None when unknown) as the download goes.
Progress = Callable[[int, Optional[int]], None]

_CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class _CutError(Exception):
    """The body ended before its announced length."""


def download(
    url: str,
    part: Path,
    *,
    size: int | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    retry_wait: float = 1.0,
    label: str = "",
) -> None:
    """Downloads ``url`` into ``part``, resuming what ``part`` already holds.

    Args:
        url: an http(s) URL.
        part: the file to fill (created, or extended when it already holds a beginning).
        size: the expected size in bytes; a download that grows past it is stopped (it cannot be the right file).
        progress: called with (bytes so far, total or None) after each chunk.
        timeout: seconds to wait for the server on each read.
        retries: how many times a cut or failed connection is resumed before giving up.
        retry_wait: seconds before the first retry (doubling after each).
        label: the model's name, for messages.

    Raises:
        ModelError: when the server's name does not resolve at the first try (no network: not retried), the server
            refuses the file, the size is exceeded, or the connection keeps failing (``part`` then keeps what
            arrived, if anything, so a later call resumes; the message says so only when it does).
    """
    if not url.startswith(("https://", "http://")):
        raise ModelError(f"{label or url}: refusing to download from {url!r}: only http(s) URLs are fetched")
    what = label or url
    failures = 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:
            log.info("%s: the partial download exceeds the file (%d > %d bytes); starting over", what, offset, size)
            part.unlink()
            offset = 0
        if size is not None and offset == size:
            return  # complete already: the caller verifies it
        try:
            _fetch(url, part, offset, size, progress, timeout, what)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:  # our range is past the end: the .part is not a prefix of this file
                log.info("%s: the server refused to resume at byte %d; starting over", what, offset)
                part.unlink()
                error: Exception = exc
            elif exc.code >= 500 or exc.code in (408, 429):
                error = exc
            else:
                raise ModelError(f"{what}: the server refused {url} (HTTP {exc.code} {exc.reason})") from None
        except (_CutError, OSError, http.client.HTTPException) as exc:  # URLError, resets and timeouts are OSErrors
            if _unresolved(exc) and not failures:
                # No network or no such host at the first try: trying again will not help. A name that stops
                # resolving mid-download (a Wi-Fi drop) is retried like any cut.
                host = urllib.parse.urlsplit(url).hostname or url
                raise ModelError(
                    f"{what}: cannot reach {host} (its name does not resolve: no network?){_kept(part)}; offline, "
                    f"download {url} elsewhere and use 'tryon models add FILE'"
                ) from None
            error = exc
        failures += 1
        if failures > retries:
            reason = getattr(error, "reason", None) or error
            raise ModelError(
                f"{what}: download from {url} failed after {failures} attempts ({reason}){_kept(part)} (offline? "
                "download the file elsewhere and use 'tryon models add FILE')"
            ) from None
        wait = retry_wait * 2 ** (failures - 1)
        got = part.stat().st_size if part.exists() else 0
        log.warning("%s: attempt %d failed at byte %d (%s); retrying in %.1f s", what, failures, got, error, wait)
        time.sleep(wait)


def _unresolved(exc: BaseException) -> bool:
    """Whether ``exc`` says the server's name did not resolve (a DNS failure, as when offline)."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, socket.gaierror)


def _kept(part: Path) -> str:
    """What a failed download leaves for the next pull, as the end of its message ('' when nothing is kept).

    An empty ``part`` is deleted: it holds nothing to resume.
    """
    try:
        got = part.stat().st_size
    except OSError:
        return ""
    if not got:
        with contextlib.suppress(OSError):
            part.unlink()
        return ""
    return f"; {got} bytes are kept in {part} and the next pull resumes from there"


def _fetch(
    url: str, part: Path, offset: int, size: int | None, progress: Progress | None, timeout: float, what: str
) -> None:
    headers = {"User-Agent": f"tryon/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status = response.status
        start = 0
        if status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            start = int(match.group(1)) if match else -1
            if start != offset:  # a confused server: drop what we have and ask again from the start
                part.unlink()
                raise _CutError(f"the server resumed at the wrong place ({response.headers.get('Content-Range')})")
        elif status != 200:
            raise ModelError(f"{what}: unexpected answer from {url} (HTTP {status})")
        elif offset:
            log.info("%s: the server does not resume downloads; starting over", what)
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        total = start + length if length is not None else size
        done = start
        if progress is not None:
            progress(done, total)
        try:
            out = part.open("ab" if start else "wb")
        except OSError as exc:
            raise ModelError(f"{what}: cannot write {part} ({exc.strerror or exc})") from None
        with out:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                done += len(chunk)
                if size is not None and done > size:
                    out.close()
                    part.unlink()
                    raise ModelError(
                        f"{what}: {url} sent more than the expected {size} bytes; it is not this model (deleted)"
                    )
                try:
                    out.write(chunk)
                except OSError as exc:  # a full disk is not a network failure: no retry
                    raise ModelError(f"{what}: cannot write {part} ({exc.strerror or exc})") from None
                if progress is not None:
                    progress(done, total)
        if length is not None and done < start + length:
            raise _CutError(f"the connection closed after {done} of {start + length} bytes")
