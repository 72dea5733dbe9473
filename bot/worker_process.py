"""The worker and the sender of `python -m bot run`, in child processes it supervises.

Why a process of their own: in threads beside the web server they shared one
interpreter lock with it. Profiled under load (py-spy --gil, issue 15), the web server
(waitress and Flask) had about a third of the interpreter's time while the sender, the
worker, the store's decryption and the inbox writer had the rest, so webhooks were
accepted at 0.19 of an empty endpoint's rate (SQLite) although the machine had a core
to spare. In a child of its own the worker runs on that core: 0.38.

On Redis the worker and the sender run in a child each: on two cores the sender's
platform calls and the worker's engine and store calls then run side by side. In
alternated runs of the end-to-end drain (600 people) one child delivered 158-225
messages/s and two 206-276 (per message the worker child spends about 0.7 ms of CPU
and the sender child 1.1), while the webhooks lost little (1,438-1,667 requests/s with
one child, 1,415-1,624 with two).
On SQLite they share one child: there a file has one writer at a time, and the
sender's acknowledgements as a third writing process cost the webhooks a fifth of
their rate (1,476-1,703 requests/s with one child, 942-1,452 with two), which the
end-to-end gain does not repay.

`bot run` stays one command with one lifetime. Each child (`python -m bot worker
--attached --role both|worker|sender`) reads a pipe from its parent:

- a byte wakes it at once: the worker when a webhook was recorded, the sender when the
  worker committed replies (the worker child writes a byte to a pipe of its own,
  `--notify-fd`, and the parent passes it on), so neither waits for its polling timer;
- end of file stops it, so a parent killed with SIGKILL takes its worker with it
  (the pipe closes with the parent) instead of leaving an orphan writing to the store;
- a child that dies is started again, after a pause that grows while it keeps dying;
  the other keeps running.

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

    def __init__(
        self,
        stop: threading.Event,
        command: list[str] | None = None,
        notify: Callable[[], None] | None = None,
    ) -> None:
        """`notify`: called whenever the child writes to its `--notify-fd` pipe."""
        self.stop = stop
        self.command = command or COMMAND
        self.notify = notify
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.restarts = 0

    def start(self) -> None:
        command, keep = self.command, ()
        if self.notify is not None:
            read, write = os.pipe()
            command, keep = [*command, "--notify-fd", str(write)], (write,)
        self.proc = subprocess.Popen(command, cwd=paths.ROOT, stdin=subprocess.PIPE,  # noqa: S603 - our own command
                                     pass_fds=keep)  # fmt: skip
        assert self.proc.stdin is not None
        os.set_blocking(self.proc.stdin.fileno(), False)  # a webhook never waits on it
        self.started = time.monotonic()
        if self.notify is not None:
            os.close(write)  # the child's end: at its exit the relay reads end of file
            threading.Thread(target=_relay, args=(read, self.notify), name="notify-relay",
                             daemon=True).start()  # fmt: skip

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


def worker_processes(stop: threading.Event, split: bool) -> list[WorkerProcess]:
    """The children of `bot run`, the worker's last: one doing both, or (`split`, on
    Redis) a sender and a worker whose commits wake it through the parent."""
    if not split:
        return [WorkerProcess(stop, [*COMMAND, "--role", "both"])]
    sender = WorkerProcess(stop, [*COMMAND, "--role", "sender"])
    return [sender, WorkerProcess(stop, [*COMMAND, "--role", "worker"], notify=sender.wake)]


def _relay(fd: int, notify: Callable[[], None]) -> None:
    """The parent's side of a child's notify pipe, until the child exits."""
    try:
        while os.read(fd, 4096):
            notify()
    except OSError:
        pass
    finally:
        os.close(fd)


def notifier(fd: int) -> Callable[[], None]:
    """The child's side of its notify pipe: one byte per call, never waiting (a full
    pipe already holds a wake-up the parent has not passed on)."""
    os.set_blocking(fd, False)

    def notify() -> None:
        try:
            os.write(fd, b"\n")
        except OSError:  # full (BlockingIOError), or the parent has gone
            pass

    return notify


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
