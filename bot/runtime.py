"""Everything a process needs, built once from the configuration.

The web app, the worker, the sender and `python -m bot run` all take their pieces
from here, so that they agree on the store, the keys, the engine and the channels.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from bot.bootstrap import build_engine
from bot.cases.handlers import lead_for_words
from bot.channels import sms, telegram, whatsapp
from bot.channels.delivery import ChannelSender, RateLimiter
from bot.channels.media import MediaFetcher
from bot.config import Config
from bot.conversation import ANSWERED_INLINE, ConversationService, inline_digest
from bot.directory.model import Directory, load_directory
from bot.engine.engine import Engine
from bot.engine.langguess import guess_lang
from bot.engine.types import Inbound, Outbound
from bot.hours import OperatorHours
from bot.inbox_writer import InboxWriter
from bot.risk import assess
from bot.spool import Spool
from bot.store import open_store
from bot.store.crypto import Crypto
from bot.store.port import Store, StoreUnavailable
from bot.store.records import URGENT_PRIORITY, Commit, OutboxItem

log = logging.getLogger(__name__)

# Twilio gives up on a webhook after 15 s: whatever the store does, the webhook has its
# answer (recorded, or spooled with the inline emergency reply) within this deadline.
WEBHOOK_STORE_DEADLINE = 2.5


_REPLAYER_LOCK = threading.Lock()
T = TypeVar("T")


@dataclass
class Runtime:
    config: Config
    store_override: Store | None = None
    engine_override: Engine | None = None
    senders_override: dict[str, ChannelSender] | None = None
    limiter: RateLimiter | None = None  # tests pass a fast one; production uses the defaults
    on_urgent: list = field(default_factory=list)
    # Called after a message is recorded in the inbox (the worker of this process wakes).
    on_recorded: list[Callable[[], None]] = field(default_factory=list)
    store_deadline: float = WEBHOOK_STORE_DEADLINE
    # What the last store call on the webhook path found (for /healthz, which must never
    # wait for the store itself). None until the first call.
    store_ok: bool | None = None

    @cached_property
    def inbox_writer(self) -> InboxWriter:
        """Webhooks record their messages through one writer (bot/inbox_writer.py)."""
        return InboxWriter(self.store, self.store_deadline)

    @cached_property
    def _bounded(self) -> ThreadPoolExecutor:
        """Store calls of the webhook path run here, so that one waits at most
        `store_deadline` for them; a stuck call occupies a thread, never the request."""
        return ThreadPoolExecutor(max_workers=8, thread_name_prefix="store-call")

    def bounded(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) within the deadline; StoreUnavailable when it fails or is late."""
        future = self._bounded.submit(fn, *args)
        try:
            result = future.result(timeout=self.store_deadline)
        except FutureTimeout as exc:
            self.store_ok = False
            raise StoreUnavailable("store call over the webhook deadline") from exc
        except StoreUnavailable:
            self.store_ok = False
            raise
        self.store_ok = True
        return result

    @cached_property
    def crypto(self) -> Crypto:
        return Crypto(self.config.data_keys)

    @cached_property
    def store(self) -> Store:
        return self.store_override or open_store(self.config)

    @cached_property
    def engine(self) -> Engine:
        return self.engine_override or build_engine(operator_hours=self.config.operator_hours)

    @cached_property
    def service(self) -> ConversationService:
        hooks = [*self.on_urgent]
        if self.config.operator_alert_telegram_chat and self.config.telegram_bot_token:
            hooks.append(self.alert_on_call)
        return ConversationService(
            self.engine, self.store, self.crypto, on_urgent=hooks, fetch_media=self.media.fetch
        )

    @cached_property
    def media(self) -> MediaFetcher:
        c = self.config
        twilio = (c.twilio_account_sid, c.twilio_auth_token) if c.twilio_auth_token else None
        bot = None
        if c.telegram_bot_token:  # its own Bot: its event loop is the worker's, not the sender's
            bot = telegram.make_bot(c.telegram_bot_token, c.telegram_api_base_url)
        return MediaFetcher(bot, twilio, c.twilio_api_base_url)  # type: ignore[arg-type]

    def warm(self) -> None:
        """Build the engine, the risk lexicon and its second opinion before the first
        webhook: otherwise the first person to write after a restart (perhaps in danger)
        waits for them."""
        self.engine.emergency()
        assess("")

    def urgent_inline(self, inbound: Inbound, record: dict) -> Outbound | None:
        """The urgent numbers for a message that is urgent on its own words, for the
        webhook to answer inline: the worker may be waiting for a slow store, the person
        must not (guarantee 6's deadline). The record is marked so that the worker
        leaves that message out of its replies."""
        if not inbound.text:
            return None
        lead = lead_for_words(assess, inbound.text, inbound.lang_hint)
        if lead is None:
            return None
        message = self.engine.say(lead, inbound.lang_hint or guess_lang(inbound.text))[0]
        record[ANSWERED_INLINE] = inline_digest(message.text)
        return message

    def accept_inbound(
        self, channel: str, address: str, inbound: dict, dedup_key: str | None
    ) -> bool:
        """Record an inbound message durably (guarantee 1). True when recorded or a
        redelivery; False when the store was down and it went to the spool instead,
        in which case the caller answers inline with the emergency message."""
        started = time.monotonic()
        # The platform's message id (a MessageSid can be looked up in the platform's logs)
        # is kept only as a keyed hash: the dedup record names no message.
        if dedup_key is not None:
            dedup_key = "d:" + self.crypto.lookup_hashes(dedup_key)[0]
        recorded = self._record(channel, address, inbound, dedup_key)
        took = time.monotonic() - started
        if took > 1.0:  # metadata only: a slow store shows before a platform gives up
            log.warning("recording took %.1f s (%s)", took, "stored" if recorded else "spooled")
        return recorded

    def _record(self, channel: str, address: str, inbound: dict, dedup_key: str | None) -> bool:
        partition = self.service.partition(channel, address)
        record = self.spool.record(partition, channel, address, inbound, dedup_key)
        if self.spool.pending() and self.spool.append(record):
            # Earlier messages still wait in the spool: this one goes behind them, so
            # each person's messages keep their arrival order (guarantee 3). While the
            # store is still down, the caller answers inline with the emergency reply.
            self._replay_soon()
            return self.store_ok is not False
        try:
            added = self.inbox_writer.put((partition, channel, address, inbound, dedup_key))
        except StoreUnavailable:
            self.store_ok = False
            self.spool.append(record)  # a late inbox_put is harmless: the dedup key
            log.error("store unavailable: %s message spooled", channel)
            self._replay_soon()
            return False
        self.store_ok = True
        if not added:
            log.info("%s redelivery ignored", channel)
        for wake in self.on_recorded:
            wake()
        return True

    def _replay_soon(self) -> None:
        """Move the spool into the inbox once the store answers, from this process too
        (a web process may run on a host where no worker runs)."""
        with _REPLAYER_LOCK:
            thread = self.__dict__.get("_replayer")
            if thread is not None and thread.is_alive():
                return
            thread = threading.Thread(target=self._replay_loop, daemon=True, name="spool")
            self.__dict__["_replayer"] = thread
            thread.start()

    def _replay_loop(self) -> None:
        delay = 0.5
        while self.spool.pending():
            try:
                self.spool.replay(self.store, time.time())
            except Exception:  # never let the replayer die with messages waiting
                log.exception("spool replay failed; retrying")
            self.store_ok = not self.spool.pending()  # it replays only while the store answers
            if self.spool.pending():
                time.sleep(delay)
                delay = min(5.0, delay * 2)

    def telegram_direct(self, parsed: telegram.Parsed) -> dict[str, object] | None:
        """The one Bot API call that answers an update on the spot, if any: leave a
        group (never the on-call alert chat), or stop a button's spinner. Only the
        event is logged, never the group's id."""
        if parsed.leave:
            if parsed.address == (self.config.operator_alert_telegram_chat or "").strip():
                return None
            log.info("telegram: a group, supergroup or channel update; leaving the chat")
            return {"method": "leaveChat", "chat_id": int(parsed.address)}
        if parsed.callback_query_id:
            return {"method": "answerCallbackQuery", "callback_query_id": parsed.callback_query_id}
        return None

    def alert_on_call(self, case: object) -> None:
        """A content-free alert to the on-call chat, through the durable outbox."""
        chat = self.config.operator_alert_telegram_chat or ""
        text = "⚠️ Nuevo caso URGENTE en la consola. Ábrela para atenderlo."
        item = OutboxItem("", self.service.partition("telegram", chat), "telegram", chat,
                          {"text": text, "buttons": [], "kind": "alert", "priority": URGENT_PRIORITY},
                          time.time())  # fmt: skip
        self.store.commit(Commit("alerts", outbox=[item]), time.time())

    @cached_property
    def directory(self) -> Directory:
        return load_directory()

    @cached_property
    def engine_hours(self) -> OperatorHours:
        return OperatorHours.parse(self.config.operator_hours)

    @cached_property
    def spool(self) -> Spool:
        return Spool(self.config.data_dir, self.crypto)

    @cached_property
    def telegram_bot(self):
        if not self.config.telegram_bot_token:
            return None
        return telegram.make_bot(self.config.telegram_bot_token, self.config.telegram_api_base_url)

    @cached_property
    def senders(self) -> dict[str, ChannelSender]:
        if self.senders_override is not None:
            return self.senders_override
        out: dict[str, ChannelSender] = {}
        if self.config.telegram_bot_token:
            # The sender posts with its own pooled client; of the Bot it needs the URL.
            out[telegram.NAME] = telegram.TelegramSender(
                self.telegram_bot, self.limiter or self._limit(self.config.telegram_mps)
            )
        c = self.config
        if c.twilio_account_sid and c.twilio_auth_token and c.twilio_whatsapp_number:
            out[whatsapp.NAME] = whatsapp.WhatsAppSender(
                c.twilio_account_sid, c.twilio_auth_token, c.twilio_whatsapp_number,
                c.twilio_api_base_url, self.limiter or self._limit(c.twilio_mps),
            )  # fmt: skip
        if c.twilio_account_sid and c.twilio_auth_token and c.twilio_sms_number:
            out[sms.NAME] = sms.SmsSender(
                c.twilio_account_sid, c.twilio_auth_token, c.twilio_sms_number,
                c.twilio_api_base_url, self.limiter or self._limit(c.twilio_mps),
            )  # fmt: skip
        return out

    @staticmethod
    def _limit(per_second: float) -> RateLimiter:
        """A channel's limits: `per_second` in all, about one per second per person."""
        return RateLimiter(per_second=per_second, per_recipient_per_second=1)
