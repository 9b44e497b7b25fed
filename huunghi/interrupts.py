"""Ctrl-C and SIGTERM end a command within seconds, whatever its threads, workers and servers are doing.

Python runs a signal's handler in the main thread, between two bytecodes: a main thread inside C code, or
an exit that joins busy worker threads, acts late or never (a run interrupted near its end once stayed
silent for 90 s). Here the C-level handler's wake-up byte (`signal.set_wakeup_fd`) reaches a watching
thread at once. The main thread is asked to unwind (KeyboardInterrupt, or `Interrupted` for SIGTERM)
and the command says what happened in one line; if it has not ended `grace` seconds after the signal,
the watcher says so itself and ends the process — as a kill -9 would, which the warehouse is built for
(nothing is published before COMMIT; worker processes and the temporary server end with the command).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """SIGTERM in the main thread (SIGINT raises KeyboardInterrupt), past every `except Exception`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code(signum: int) -> int:
    """What a shell shows for a command ended by the signal: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum


class Watch:
    """The signals of one command: the first one starts the clock; `finish` says the one line."""

    def __init__(self, fallback: Callable[[int], str], grace: float, hush: Callable[[], None]) -> None:
        self.fallback = fallback  # the line when the command could not say better in time
        self.grace = grace
        self.hush = hush  # silence the terminal's other writers (log lines, progress bars): one line is said
        self.signum: int | None = None
        self.said = False
        self._raised = False
        self._lock = threading.Lock()
        self._started = threading.Event()

    def received(self, signum: int) -> None:
        with self._lock:
            if self.signum is not None:
                return
            self.signum = signum
        with contextlib.suppress(Exception):
            self.hush()
        self._started.set()

    def finish(self, line: str) -> int:
        """Say `line` (once, whoever comes first) and return the exit code of the signal received."""
        assert self.signum is not None
        with self._lock:
            if not self.said:
                self.said = True
                print(line, file=sys.stderr, flush=True)
        return exit_code(self.signum)

    def _deadline(self) -> None:
        self._started.wait()
        time.sleep(self.grace)
        assert self.signum is not None
        code = self.finish(self.fallback(self.signum))
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(code)

    def uninstall(self) -> None:
        """The handlers as they were, for a command that ended without a signal in a process that goes on
        (a test calling `main`)."""
        if self.signum is None:
            signal.set_wakeup_fd(self._previous_fd)
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
            self._sockets[1].close()  # the reading thread sees the end and stops

    def _handler(self, signum: int, frame: object) -> None:
        """Unwind the main thread once: a second Ctrl-C must not cut the unwinding (a rollback) short."""
        self.received(signum)
        if self._raised:
            return
        self._raised = True
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Interrupted(signum)


def _read_wakeups(reader: socket.socket, watch: Watch) -> None:
    while data := reader.recv(64):
        for signum in data:
            if signum in SIGNALS:
                watch.received(signum)


def install(fallback: Callable[[int], str], grace: float, hush: Callable[[], None] = lambda: None) -> Watch:
    """Handle SIGINT and SIGTERM from now on (from the main thread): `fallback(signum)` is the line said when
    the command has not ended `grace` seconds after the signal."""
    watch = Watch(fallback, grace, hush)
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    watch._previous = {signum: signal.signal(signum, watch._handler) for signum in SIGNALS}
    watch._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    watch._sockets = (reader, writer)  # kept open for the life of the process
    threading.Thread(target=_read_wakeups, args=(reader, watch), name="signal-wakeups", daemon=True).start()
    threading.Thread(target=watch._deadline, name="signal-deadline", daemon=True).start()
    return watch
