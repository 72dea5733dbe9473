"""One writer for the webhooks' inbox: concurrent webhooks, one transaction.

Each webhook must record its message before it answers (guarantee 1), within a
deadline (guarantee 6: a slow store gets the inline emergency answer, never a timeout).
Sixteen request threads each opening a SQLite write transaction queue on the file lock
and on one fsync each; here the messages that arrive while one transaction runs are
written together in the next (group commit), by one thread, and each request waits for
its own result at most `deadline` seconds. On Redis the same batch is one round trip.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from bot.store.port import InboxPut, Store, StoreUnavailable

MAX_BATCH = 64


class InboxWriter:
    def __init__(self, store: Store, deadline: float) -> None:
        self.store, self.deadline = store, deadline
        self._queue: queue.SimpleQueue[tuple[InboxPut, Future[bool]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        self._thread.start()

    def put(self, put: InboxPut) -> bool:
        """Recorded (True) or a redelivery (False); StoreUnavailable when the store
        fails or does not answer within the deadline (the caller spools the message)."""
        future: Future[bool] = Future()
        self._queue.put((put, future))
        try:
            return future.result(timeout=self.deadline)
        except FutureTimeout as exc:
            raise StoreUnavailable("store call over the webhook deadline") from exc

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                added = self.store.inbox_put_many([p for p, _ in batch], time.time())
            except Exception as exc:  # StoreUnavailable, or a bug: each request spools
                failure = (
                    exc
                    if isinstance(exc, StoreUnavailable)
                    else StoreUnavailable(f"inbox write failed: {exc.__class__.__name__}")
                )
                for _, future in batch:
                    future.set_exception(failure)
                continue
            for (_, future), result in zip(batch, added, strict=True):
                future.set_result(result)
