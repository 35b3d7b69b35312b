"""Perception and parsing in a child process, so that rendering has a core of its own.

The live loop's two heavy stages are parsing and rendering: many small NumPy/OpenCV calls whose Python glue holds
the global interpreter lock. On two threads of one process they take turns on that lock, so a frame costs about
their sum (measured: 13-14 ms at 720p for ``glam``). :class:`ParseProcess` runs perception and parsing in a
second Python process and hands frames over through shared memory; the parse comes back pickled (about 0.4 MB
for one face: 0.4 ms to pickle, 0.2 ms to read). A frame then costs about the slower of the two processes
(11-12 ms on 2 cores).

The child is a fresh interpreter (``python -m tryon.parse_process``), not a :mod:`multiprocessing` child, so the
caller's script is not imported again in it and needs no ``if __name__ == "__main__"`` guard. It builds its own
:class:`~tryon.pipeline.Pipeline` from the caller's options (no look: the caller plans each frame with
:meth:`~tryon.pipeline.Pipeline.plan`, so a look changed meanwhile takes effect at once). Face ids and landmark
stabilisation live in the child, which sees every frame in order. The child ignores Ctrl+C (the caller stops
it) and leaves when the caller closes it or goes away.

POSIX only (the child gets its pipes as inherited descriptors); :meth:`ParseProcess.available` says whether it
can run here.

Example:
    >>> with Pipeline(look="glam") as pipe, ParseProcess(pipe.options) as remote:  # doctest: +SKIP
    ...     remote.submit(frame, pipe.plan(), timestamp=0.0)
    ...     parse, timings = remote.result()
    ...     out = pipe.render(frame, parse)
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

import numpy as np

from tryon.errors import TryOnError
from tryon.image import to_bgr8
from tryon.parsing.frame_parse import FrameParse
from tryon.pipeline import MAX_IN_FLIGHT, ParsePlan, PipelineOptions

__all__ = ["ParseProcess", "ParseProcessError"]

log = logging.getLogger(__name__)

#: Seconds to wait for the child to import tryon and load its models (a cold disk cache can take a while).
_START_TIMEOUT = 120.0
#: Seconds the child gets to leave after being asked, before it is terminated.
_STOP_TIMEOUT = 5.0
#: Seconds between checks that the child is still there (and that the caller has not given up) while waiting.
_POLL = 0.1


class ParseProcessError(TryOnError, RuntimeError):
    """The parse process could not start, or stopped while frames were being parsed."""


class _NoMemoryError(OSError):
    """Shared memory for a frame could not be made."""


class ParseProcess:
    """Perceives and parses frames in a child process, in the order they are submitted.

    Call :meth:`submit` from one thread and :meth:`result` from one thread (the same or another): results come
    back in submission order. At most ``depth`` frames are in flight; :meth:`submit` waits for room.

    Args:
        options: the pipeline options the child builds its pipeline from.
        depth: frames in flight at most (2: the child can start the next frame as soon as it hands one back).
        start_timeout: seconds to wait for the child to be ready.

    Raises:
        ParseProcessError: when processes cannot be started here or the child fails to start; the child's own
            error (a missing model: :class:`~tryon.errors.ModelError`) is raised as it was.
    """

    def __init__(
        self, options: PipelineOptions, depth: int = MAX_IN_FLIGHT, start_timeout: float = _START_TIMEOUT
    ) -> None:
        if not self.available():
            raise ParseProcessError("a parse process needs a POSIX system (Linux, macOS)")
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.depth = depth
        self._room = threading.Semaphore(depth)
        self._held = False  # a room taken by wait_for_room for the next submit
        self._lock = threading.Lock()
        self._seq = 0  # frames submitted
        self._done = 0  # results taken
        self._shm: SharedMemory | None = None
        self._slot_bytes = 0
        self._retired: deque[tuple[int, SharedMemory]] = deque()  # (first frame not in it, memory)
        self._closed = False
        # Set when a message was cut short (Ctrl+C, an error part-way through sending or receiving one): what
        # follows on the pipes is no longer whole messages, so they are not read or written again.
        self._cut = False
        self.last_peak_rss_mb: float | None = None
        ours_in, theirs_out = socket.socketpair()  # child -> caller: results
        theirs_in, ours_out = socket.socketpair()  # caller -> child: frames
        self._results = Connection(ours_in.detach(), writable=False)
        self._frames = Connection(ours_out.detach(), readable=False)
        fds = (theirs_in.fileno(), theirs_out.fileno())
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tryon.parse_process", str(fds[0]), str(fds[1])],
                pass_fds=fds,
                env=env,
                start_new_session=True,  # Ctrl+C at a terminal is the caller's to handle (it stops the child)
            )
        except OSError as exc:
            self._close_pipes()
            raise ParseProcessError(f"could not start the parse process: {exc}") from exc
        finally:
            theirs_in.close()
            theirs_out.close()
        try:
            self._send((options, logging.getLogger("tryon").getEffectiveLevel()))
            _value(self._receive(start_timeout, starting=True))
            log.debug("parse process %d ready", self._proc.pid)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def available() -> bool:
        """Whether a parse process can run here (a POSIX system)."""
        return os.name == "posix"

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._proc.pid

    @property
    def in_flight(self) -> int:
        """Frames submitted whose result has not been taken yet."""
        return self._seq - self._done

    def wait_for_room(self, cancelled: Callable[[], bool] | None = None) -> bool:
        """Waits until fewer than ``depth`` frames are in flight and holds that room for the next :meth:`submit`.

        Args:
            cancelled: polled while waiting; when it returns True, False is returned and no room is held.

        Raises:
            ParseProcessError: when the child has gone.
        """
        self._check_open()
        if self._held:
            return True
        while not self._room.acquire(timeout=_POLL):
            if cancelled is not None and cancelled():
                return False
            self._check_alive()
        self._held = True
        return True

    def submit(self, frame: np.ndarray, plan: ParsePlan, timestamp: float | None = None, *, cut: bool = False) -> None:
        """Hands a frame to the child, first waiting (:meth:`wait_for_room`) while ``depth`` frames are in flight.

        Args:
            frame: the frame (any layout :func:`~tryon.image.to_bgr8` accepts); copied, so the caller may reuse it.
            plan: what to parse besides the faces (:meth:`~tryon.pipeline.Pipeline.plan`).
            timestamp: the frame's time in seconds (for stabilisation), or None for the child's clock.
            cut: the frame starts a new scene: the child's pipeline forgets the stream before it (see
                :meth:`~tryon.pipeline.Pipeline.parse`).

        Raises:
            ParseProcessError: when the child has gone.
        """
        bgr = to_bgr8(frame)  # a frame that cannot be converted holds no room
        self.wait_for_room()
        self._held = False
        with self._lock:  # not while close() sends the child away and frees the memory
            try:
                self._check_open()
                offset = self._slot(bgr.nbytes) * self._slot_bytes
                assert self._shm is not None
                np.copyto(np.ndarray(bgr.shape, np.uint8, buffer=self._shm.buf, offset=offset), bgr)
                self._send((self._seq, self._shm.name, offset, bgr.shape, timestamp, plan, bool(cut)))
            except (OSError, EOFError) as exc:
                self._room.release()
                if isinstance(exc, _NoMemoryError):
                    size = f"{bgr.shape[1]}x{bgr.shape[0]}"
                    raise ParseProcessError(f"no shared memory for a {size} frame: {exc}") from exc
                raise self._gone() from exc
            except BaseException:
                self._room.release()
                raise
            self._seq += 1

    def result(self) -> tuple[FrameParse, dict[str, float]]:
        """The parse of the oldest frame in flight, and its ``perception`` and ``parsing`` milliseconds.

        Raises:
            ParseProcessError: when nothing is in flight or the child has gone; the child's error for that frame
                (such as :class:`~tryon.errors.InputError`) is raised as it was.
        """
        self._check_open()
        if self.in_flight <= 0:
            raise ParseProcessError("no frame is being parsed")
        message = self._receive(None)
        try:
            self._done += 1
        finally:
            self._room.release()
        while self._retired and self._retired[0][0] <= self._done:
            _, old = self._retired.popleft()
            _free(old)
        parse, timings = _value(message)
        return parse, timings

    def _slot(self, nbytes: int) -> int:
        """The shared-memory slot of the next frame, made (larger) when the frame does not fit the current one."""
        if self._shm is None or nbytes > self._slot_bytes:
            try:
                made = SharedMemory(create=True, size=nbytes * self.depth)
            except OSError as exc:
                raise _NoMemoryError(str(exc)) from exc
            if self._shm is not None:  # frames in flight still read it: freed once their results are in
                self._retired.append((self._seq, self._shm))
            self._shm, self._slot_bytes = made, nbytes
        return self._seq % self.depth

    def _receive(self, timeout: float | None, starting: bool = False) -> tuple[Any, ...]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._results.poll(_POLL):
            self._check_alive(starting)
            if deadline is not None and time.monotonic() > deadline:
                raise ParseProcessError(f"the parse process was not ready within {timeout:.0f} s")
        # Whatever stops a message part-way (or loses a whole one: its frame's reply would be missing) leaves the
        # connection unusable.
        try:
            message = self._results.recv()
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self._cut = True
            raise self._gone(starting) from exc
        except BaseException:
            self._cut = True
            raise
        if message[0] in ("ok", "error") and not starting and message[1] != self._done:
            raise ParseProcessError(f"the parse process answered frame {message[1]}, expected {self._done}")
        return message

    def _send(self, message: tuple[Any, ...]) -> None:
        data = ForkingPickler.dumps(message)  # a message that does not pickle is refused before a byte is sent
        try:
            self._frames.send_bytes(data)
        except BaseException:
            self._cut = True
            raise

    def _check_alive(self, starting: bool = False) -> None:
        if self._proc.poll() is not None:
            raise self._gone(starting)

    def _gone(self, starting: bool = False) -> ParseProcessError:
        try:  # its pipe closes a moment before it can be reaped
            code: int | None = self._proc.wait(1.0)
        except subprocess.TimeoutExpired:
            code = None
        how = "ended" if code is None or code == 0 else f"ended with exit code {code}"
        if code is not None and code < 0:
            how = f"was killed by signal {-code} ({signal.Signals(-code).name})"
        when = "while starting (see the messages above)" if starting else "while parsing"
        return ParseProcessError(f"the parse process {how} {when}")

    def _check_open(self) -> None:
        if self._closed:
            raise ParseProcessError("this parse process is closed")
        if self._cut:
            raise ParseProcessError("a message to or from the parse process was interrupted; close it, start another")

    def _close_pipes(self) -> None:
        for conn in (self._frames, self._results):
            with contextlib.suppress(OSError):
                conn.close()

    def peak_rss_mb(self) -> float | None:
        """The child's peak resident memory so far in MB (Linux; None elsewhere or once it has gone)."""
        try:
            with open(f"/proc/{self._proc.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except (OSError, ValueError, IndexError):
            pass
        return None

    def close(self) -> None:
        """Asks the child to leave (terminating it if it does not within seconds) and frees the shared memory.

        The child's peak memory is kept in :attr:`last_peak_rss_mb` (where it can be read).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        proc = getattr(self, "_proc", None)
        try:
            if proc is not None and proc.poll() is None:
                self.last_peak_rss_mb = self.peak_rss_mb()
                if not self._cut:  # else the child would read the rest of a message as the next one: no goodbye
                    with contextlib.suppress(OSError, EOFError):
                        self._frames.send(None)
                    self._drain(proc, time.monotonic() + _STOP_TIMEOUT)
                if proc.poll() is None:
                    if not self._cut:
                        log.warning("the parse process did not stop within %.0f s; terminating it", _STOP_TIMEOUT)
                    proc.kill()
                proc.wait()
        except BaseException:  # Ctrl+C while it leaves: killed and reaped all the same
            if proc is not None:
                with contextlib.suppress(OSError):
                    proc.kill()
                proc.wait()
            raise
        finally:
            self._close_pipes()
            for _, old in self._retired:
                _free(old)
            self._retired.clear()
            if self._shm is not None:
                _free(self._shm)
                self._shm = None

    def _drain(self, proc: subprocess.Popen[bytes], deadline: float) -> None:
        """Reads (and drops) the results still coming, so the child is not stuck sending one, until it leaves."""
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if self._results.poll(0.02):
                    self._results.recv_bytes()
            except (OSError, EOFError):
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> ParseProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _value(message: tuple[Any, ...]) -> Any:
    """A reply's value; a reply that is an error is raised."""
    if message[0] == "error":
        error = message[-1]
        raise error if isinstance(error, BaseException) else ParseProcessError(str(error))
    return message[-1]


def _free(shm: SharedMemory) -> None:
    try:
        shm.close()
    finally:
        with contextlib.suppress(FileNotFoundError):
            shm.unlink()


def _close_quietly(shm: SharedMemory) -> None:
    """Closes the child's view of the caller's memory; a view still held somewhere keeps it open (no error)."""
    try:
        shm.close()
    except BufferError:
        log.debug("shared memory %s still in use; left to the caller to free", shm.name)


def _attach(name: str) -> SharedMemory:
    """The caller's shared memory, opened without this process's tracker claiming it (the caller frees it)."""
    shm = SharedMemory(name=name)
    # Python < 3.13 registers memory it merely opens, and would unlink the caller's at exit (bpo-38119).
    resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
    return shm


def _portable(exc: BaseException) -> BaseException:
    """``exc`` without its traceback if it survives pickling, else a :class:`ParseProcessError` with its message.

    The traceback's frames would keep views of the shared memory alive (and are not sent anyway).
    """
    link: BaseException | None = exc
    seen: set[int] = set()
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.with_traceback(None)
        link = link.__cause__ or link.__context__
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ParseProcessError(f"{type(exc).__name__}: {exc}")
    return exc


def _log_as_the_caller(level: int) -> None:
    """Shows tryon's log messages (not every library's) on stderr at the caller's ``level``, as the CLI does.

    The parser that ``auto`` picks, and the installed models it passed over, are not logged again: the caller's
    pipeline, built from the same options before the child (as the live loop builds it), has logged them already.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s tryon parse process: %(message)s"))
    logger = logging.getLogger("tryon")
    logger.addHandler(handler)
    logger.setLevel(level)
    logging.getLogger("tryon.parsing.registry").setLevel(max(level, logging.ERROR))


def _serve(frames: Connection, results: Connection) -> int:
    """The child's loop: build the pipeline, then perceive and parse each frame sent until told to stop."""
    from tryon.pipeline import Pipeline

    options, level = frames.recv()
    _log_as_the_caller(level)
    try:
        pipe = Pipeline(None, options=options)
    except Exception as exc:
        results.send(("error", _portable(exc)))
        return 1
    results.send(("ready", os.getpid()))
    # Replies go out on a thread of their own: a parse (about 0.4 MB) fills the pipe until the caller reads it,
    # which it does only between renders, and meanwhile the next frame can be parsed.
    replies: queue.SimpleQueue[tuple[object, ...] | None] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(replies, results), name="tryon-parse-replies", daemon=True)
    sender.start()
    shm: SharedMemory | None = None
    with pipe:
        while True:
            try:
                message = frames.recv()
            except (EOFError, OSError):  # the caller went away
                break
            except Exception as exc:  # not a whole message: the caller broke off mid-way (and stops this process)
                log.warning("the parse process stops: a message from the caller did not read (%s)", exc)
                break
            if message is None:
                break
            seq, name, offset, shape, timestamp, plan, cut = message
            if shm is None or shm.name != name:
                if shm is not None:
                    _close_quietly(shm)
                shm = _attach(name)
            frame: np.ndarray = np.ndarray(shape, np.uint8, buffer=shm.buf, offset=offset)
            timings: MutableMapping[str, float] = {}
            try:
                parse = pipe.parse_perceived(pipe.perceive_planned(frame, plan, timings, timestamp, cut=cut), timings)
                reply: tuple[object, ...] = ("ok", seq, (parse, dict(timings)))
            except Exception as exc:
                reply = ("error", seq, _portable(exc))
            del frame
            if not sender.is_alive():  # the caller went away
                break
            replies.put(reply)
    replies.put(None)
    sender.join(_STOP_TIMEOUT)
    if shm is not None:
        _close_quietly(shm)
    return 0


def _send_all(replies: queue.SimpleQueue[tuple[object, ...] | None], results: Connection) -> None:
    while (reply := replies.get()) is not None:
        try:
            results.send(reply)
        except (OSError, EOFError):
            return


def main(argv: list[str]) -> int:
    """The child's entry point: ``python -m tryon.parse_process FD_IN FD_OUT``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole process group: the caller stops us
    frames = Connection(int(argv[0]), writable=False)
    results = Connection(int(argv[1]), readable=False)
    try:
        return _serve(frames, results)
    finally:
        frames.close()
        results.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
