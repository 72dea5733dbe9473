"""The worker and the sender of `python -m bot run`, in a child process it supervises.

Why a process of their own: in threads beside the web server they shared one
interpreter lock with it. Profiled under load (py-spy --gil, issue 15), the web server
(waitress and Flask) had about a third of the interpreter's time while the sender, the
worker, the store's decryption and the inbox writer had the rest, so webhooks were
accepted at 0.19 of an empty endpoint's rate (SQLite) although the machine had a core
to spare. In a child of its own the worker runs on that core: 0.38.

`bot run` stays one command with one lifetime. The child (`python -m bot worker
--attached`) reads a pipe from its parent:

- a byte wakes its worker at once (a webhook was recorded: no polling delay);
- end of file stops it, so a parent killed with SIGKILL takes its worker with it
  (the pipe closes with the parent) instead of leaving an orphan writing to the store;
- a child that dies is started again, after a pause that grows while it keeps dying.

What the child had not committed when it died is done again by the next one: the
store's leases and exactly-once commits (DESIGN.md guarantees 3 and 7) are the same as
for any worker process of a scale-out deployment.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from bot import paths

log = logging.getLogger(__name__)

COMMAND = [sys.executable, "-m", "bot", "worker", "--attached"]
# A child that lived this long was healthy: the pause before the next restart resets.
HEALTHY_AFTER = 60.0
MAX_PAUSE = 30.0


class WorkerProcess:
    """The parent's side: start, wake, supervise and stop the child."""

    def __init__(self, stop: threading.Event, command: list[str] | None = None) -> None:
        self.stop = stop
        self.command = command or COMMAND
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.restarts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command, cwd=paths.ROOT, stdin=subprocess.PIPE)  # noqa: S603 - our own command
        assert self.proc.stdin is not None
        os.set_blocking(self.proc.stdin.fileno(), False)  # a webhook never waits on it
        self.started = time.monotonic()

    def wake(self) -> None:
        """Called by the web server's threads after each recorded message. A full pipe
        means the child has wake-ups it has not read yet: nothing is lost by skipping."""
        proc = self.proc
        if proc is None or proc.stdin is None:
            return
        try:
            os.write(proc.stdin.fileno(), b"\n")
        except (BlockingIOError, BrokenPipeError, ValueError, OSError):
            pass

    def supervise(self) -> None:
        """Start the child again whenever it ends while the parent runs."""
        pause = 1.0
        while not self.stop.wait(0.5):
            proc = self.proc
            if proc is None or proc.poll() is None:
                continue
            if time.monotonic() - self.started >= HEALTHY_AFTER:
                pause = 1.0
            log.error("worker process ended (exit %s); starting it again in %.0f s",
                      proc.returncode, pause)  # fmt: skip
            if self.stop.wait(pause):
                return
            pause = min(MAX_PAUSE, pause * 2)
            self.restarts += 1
            self.start()

    def close(self, timeout: float = 15.0) -> None:
        """End of file on the pipe: the child finishes its pass and exits."""
        proc = self.proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


def listen(wakes: list[Callable[[], None]], stop: threading.Event, fd: int = 0) -> threading.Thread:
    """The child's side: each read from the parent's pipe calls `wakes`; end of file
    (the parent stopped or died) sets `stop`."""

    def read() -> None:
        while True:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                stop.set()
                return
            for wake in wakes:
                wake()

    thread = threading.Thread(target=read, name="parent-pipe", daemon=True)
    thread.start()
    return thread
