"""Helpers for the model tests: a loopback HTTP server with scripted failures, and small test manifests.

The server binds 127.0.0.1 on a free port, answers at most ``max_requests`` requests (then 503), and records each
request's headers so tests can check what the client asked for.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from tryon.models import Manifest


def payload(size: int = 300_000, seed: int = 0) -> bytes:
    """Deterministic random bytes standing in for a model file."""
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def entry(body: bytes, url: str = "https://example.invalid/model.bin", name: str = "test-model", **extra: Any) -> dict:
    """A manifest entry (plain data) for ``body``."""
    return {
        "file": f"test/{name}.bin",
        "url": url,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "licence": "MIT",
        "description": "a test model",
        "task": "face-mesh",
        **extra,
    }


def manifest(models: dict[str, dict]) -> Manifest:
    """A manifest of the given entries (name to plain-data entry)."""
    return Manifest.from_dict({"models": models}, "test-manifest")


class FileServer:
    """Serves ``body`` at ``/model.bin``.

    Args:
        body: the bytes to serve.
        ranges: honour ``Range: bytes=N-`` requests with 206 (else answer 200 with the whole body).
        cuts: for the first requests in turn, close the connection after this many body bytes (None: send all).
        status: answer every request with this HTTP error status instead.
        max_requests: requests answered before the server refuses (503), so a runaway client stops.
    """

    def __init__(
        self,
        body: bytes,
        *,
        ranges: bool = True,
        cuts: list[int | None] | None = None,
        status: int | None = None,
        max_requests: int = 10,
    ) -> None:
        self.body = body
        self.ranges = ranges
        self.cuts = list(cuts or [])
        self.status = status
        self.max_requests = max_requests
        self.requests: list[dict[str, str]] = []
        self.answers: list[int] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/model.bin"

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        owner: FileServer = self.server.owner  # type: ignore[attr-defined]
        owner.requests.append({k.lower(): v for k, v in self.headers.items()})
        self.close_connection = True
        if len(owner.requests) > owner.max_requests:
            return self._answer(owner, 503)
        if owner.status is not None:
            return self._answer(owner, owner.status)
        body, start = owner.body, 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and owner.ranges:
            start = int(match.group(1))
            if start >= len(body):
                return self._answer(owner, 416, {"Content-Range": f"bytes */{len(body)}"})
            owner.answers.append(206)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            owner.answers.append(200)
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        cut = owner.cuts.pop(0) if owner.cuts else None
        self.wfile.write(payload if cut is None else payload[:cut])
        self.wfile.flush()

    def _answer(self, owner: FileServer, status: int, headers: dict[str, str] | None = None) -> None:
        owner.answers.append(status)
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests check ``requests`` instead."""
