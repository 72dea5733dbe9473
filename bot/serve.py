"""Run modes: the whole system from one command, or the worker alone (Procfile `worker`).

`python -m bot run` is the embedded default: the web server (waitress) on $PORT,
Telegram long polling when a bot token is set but no public URL exists (webhooks need
one), and the worker and the sender in child processes it supervises and takes down
with it (bot/worker_process.py says why). `python -m bot worker` runs the worker and
the sender for a scale-out deployment whose web processes run under gunicorn.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from bot.channels import telegram
from bot.config import Config, load_config
from bot.conversation import inbound_to_dict
from bot.runtime import Runtime
from bot.web import MAX_BODY
from bot.worker import Sender, Worker
from bot.worker_process import listen, notifier, worker_processes

log = logging.getLogger(__name__)

# How `bot run` serves (the benchmark's empty endpoint uses the same). Platforms hold
# many connections open at once (Twilio opens one per message, Telegram up to 100):
# waitress's default limit of 100 open connections made webhooks queue for seconds
# behind idle keep-alive connections. Idle ones are closed after 30 s. Bodies over
# MAX_BODY are refused by waitress itself, before it buffers them to disk (its default
# accepts 1 GB, written beside the SQLite file and the spool).
WAITRESS = {"threads": 16, "connection_limit": 1000, "channel_timeout": 30,
            "max_request_body_size": MAX_BODY}  # fmt: skip


# The worker of `bot run` yields the processor to its web server in a burst: a webhook
# not answered in time is sent again by the platform (Twilio gives up after 15 s), a
# reply computed a little later is not lost. When the burst passes it has the CPU.
ATTACHED_NICE = 10


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def start_loops(
    runtime: Runtime,
    stop: threading.Event,
    role: str = "both",
    on_work: Callable[[], None] | None = None,
) -> list[threading.Thread]:
    """The loops of `role`, each in a thread. `runtime.on_recorded` wakes this process's
    first loop: a webhook recorded here, or the parent's wake-up of an attached child.
    `on_work`: what a worker without a sender beside it calls when replies are waiting."""
    threads = []
    loops: list[Worker | Sender] = []
    if role in ("both", "worker"):
        worker = Worker(runtime.store, runtime.service, runtime.spool)
        runtime.on_recorded.append(worker.wake.set)
        if on_work is not None:
            worker.on_work = on_work
        loops.append(worker)
    if role in ("both", "sender"):
        sender = Sender(runtime.store, runtime.senders)
        if role == "both":
            worker.on_work = sender.wake.set
        else:  # a sender alone: the parent's wake-up means replies are waiting
            runtime.on_recorded.append(sender.wake.set)
        loops.append(sender)
    for loop in loops:
        threads.append(
            threading.Thread(target=loop.run_forever, args=(stop,), name=loop.kind, daemon=True)
        )
    for thread in threads:
        thread.start()
    return threads


def poll_telegram(runtime: Runtime, stop: threading.Event) -> None:
    """Long polling for the embedded default: updates go through the same durable
    inbox as webhooks (deduplicated by update_id)."""
    bot = runtime.telegram_bot
    loop = asyncio.new_event_loop()
    offset: int | None = None
    loop.run_until_complete(bot.delete_webhook())
    while not stop.is_set():
        try:
            updates = loop.run_until_complete(bot.get_updates(offset=offset, timeout=20))
        except Exception as exc:  # network trouble: wait and try again
            log.warning("telegram polling: %s", exc.__class__.__name__)
            stop.wait(3)
            continue
        for update in updates:
            offset = update.update_id + 1
            try:
                parsed = telegram.parse(update.to_dict())
            except telegram.BadUpdate:
                log.warning("telegram polling: an update without a chat id; skipped")
                continue
            if parsed is None:
                continue
            if parsed.inbound is not None:
                inbound = {**inbound_to_dict(parsed.inbound), "seq": parsed.update_id}
                runtime.accept_inbound(telegram.NAME, parsed.address, inbound, parsed.dedup_key)
            direct = runtime.telegram_direct(parsed)
            if direct:  # what a webhook would have answered: leave a group, stop a spinner
                method = str(direct.pop("method"))
                try:
                    loop.run_until_complete(bot.do_api_request(method, api_kwargs=direct))
                except Exception as exc:
                    log.warning("telegram polling: %s failed: %s", method, exc.__class__.__name__)
    loop.close()


def announce(config: Config, out: TextIO, polling: bool, console: bool) -> None:
    base = config.public_base_url or f"http://localhost:{config.port}"
    out.write(
        f"Serving on port {config.port} ({'Redis' if config.redis_url else 'SQLite in ' + str(config.data_dir)})\n"
    )
    if console:
        out.write(f"  console:            {base}/console/\n")
    out.write(f"  Telegram webhook:   {base}/webhooks/telegram\n")
    out.write(f"  WhatsApp webhook:   {base}/webhooks/whatsapp\n")
    out.write(f"  WhatsApp status:    {base}/webhooks/whatsapp/status\n")
    out.write(f"  health:             {base}/healthz  {base}/readyz\n")
    if polling:
        out.write("  Telegram: long polling (no PUBLIC_BASE_URL)\n")
    elif not config.telegram_bot_token:
        out.write("  Telegram: not configured (TELEGRAM_BOT_TOKEN)\n")
    if not config.twilio_account_sid:
        out.write(
            "  WhatsApp: not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_NUMBER)\n"
        )
    out.write("  terminal conversation: python -m bot chat\n")
    out.flush()


def waitress_options(config: Config) -> dict[str, object]:
    """WAITRESS, and behind TRUSTED_PROXIES proxies the forwarded headers left to the app.

    Waitress drops X-Forwarded-* from any sender it was not told to trust, before the app
    sees them: behind a proxy, every login then counted the proxy's address, and five
    wrong passwords from a stranger locked an operator out (the review's finding). The
    one place that decides which hops to believe is ProxyFix in `bot.web.create_app`, as
    under gunicorn."""
    if not config.trusted_proxies:
        return dict(WAITRESS)
    return {**WAITRESS, "clear_untrusted_proxy_headers": False}


def run(out: TextIO = sys.stdout) -> int:
    from waitress.server import create_server

    from bot.web import create_app

    config = load_config()
    runtime = Runtime(config)
    stop = threading.Event()
    _stop_on_signals(stop)
    runtime.store.ping()  # the schema exists before the worker process opens it too
    children = worker_processes(stop, split=bool(config.redis_url))
    runtime.on_recorded.append(children[-1].wake)  # the worker's: a webhook was recorded
    for child in children:
        child.start()
        threading.Thread(target=child.supervise, name="supervisor", daemon=True).start()
    polling = bool(config.telegram_bot_token and not config.public_base_url)
    if polling:
        threading.Thread(
            target=poll_telegram, args=(runtime, stop), name="telegram", daemon=True
        ).start()
    app = create_app(runtime=runtime)
    runtime.warm()
    server = create_server(app, host="0.0.0.0", port=config.port, **waitress_options(config))  # noqa: S104
    announce(config, out, polling, console="console" in app.blueprints)

    def serve() -> None:
        try:
            server.run()
        except (OSError, ValueError):  # the socket closed under it at shutdown
            if not stop.is_set():
                raise

    threading.Thread(target=serve, name="web", daemon=True).start()
    stop.wait()
    server.close()
    for child in reversed(children):  # the worker first: the sender sends what it committed
        child.close()
    return 0


def worker(
    role: str = "both", out: TextIO = sys.stdout, attached: bool = False,
    notify_fd: int | None = None,
) -> int:  # fmt: skip
    """`attached`: a child of `bot run`, woken and stopped through its stdin; with
    `notify_fd` (the worker child) it writes there when it has committed replies."""
    config = load_config()
    runtime = Runtime(config)
    stop = threading.Event()
    _stop_on_signals(stop)
    runtime.warm()  # the first message after a start is not kept waiting
    on_work = notifier(notify_fd) if notify_fd is not None else None
    threads = start_loops(runtime, stop, role, on_work=on_work)
    if attached:
        os.nice(ATTACHED_NICE)
        listen(runtime.on_recorded, stop)
    else:
        out.write(f"{role} running ({'Redis' if config.redis_url else 'SQLite'})\n")
        out.flush()
    stop.wait()
    for thread in threads:
        thread.join(timeout=5)
    return 0


def set_webhook(out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    config = load_config()
    missing = [
        name
        for name, value in (
            ("TELEGRAM_BOT_TOKEN", config.telegram_bot_token),
            ("TELEGRAM_WEBHOOK_SECRET", config.telegram_webhook_secret),
            ("PUBLIC_BASE_URL", config.public_base_url),
        )
        if not value
    ]
    if missing:
        err.write(f"error: set {', '.join(missing)} first\n")
        return 2
    bot = telegram.make_bot(config.telegram_bot_token or "", config.telegram_api_base_url)
    url = f"{config.public_base_url}/webhooks/telegram"

    async def register() -> bool:
        return await bot.set_webhook(
            url=url,
            secret_token=config.telegram_webhook_secret,
            allowed_updates=["message", "callback_query"],
            drop_pending_updates=False,
        )

    ok = asyncio.run(register())
    out.write(f"webhook {'set' if ok else 'NOT set'}: {url}\n")
    return 0 if ok else 1
