"""Redis adapter: several web and worker processes share one Redis.

Every key has a TTL (set in the same MULTI as the write), so Redis itself forgets
what has expired. The two sorted-set indexes (case queue, audit log) cannot expire
member by member: reads drop members whose case key is gone, and the audit log is
trimmed by age on every write. The inbox and outbox streams are the exception: they
never expire (a quiet week must not drop unacknowledged messages), and they hold only
entries waiting to be processed, each deleted once acknowledged.

Redis must persist (`appendonly yes`, or RDB snapshots): `persistence_warning` checks
it at start-up, because an acknowledged message lives only here.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter, OrderedDict
from typing import Any

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from bot.store.crypto import Crypto, CryptoError
from bot.store.keys import Keys
from bot.store.port import UNREADABLE, InboxPut, LeaseLost, StoreUnavailable
from bot.store.records import (
    AUDIT_TTL,
    CLOSED_CASE_TTL,
    CONSENT_TTL,
    DEAD_LETTER_TTL,
    DEDUP_TTL,
    IDENTITY_TTL,
    OPERATOR_TTL,
    PARTITIONS,
    QUEUE_TTL,
    SESSION_TTL,
    STATS_TTL,
    AuditEntry,
    Case,
    CaseMessage,
    CaseStats,
    Commit,
    Consent,
    DeadLetter,
    Deletion,
    InboxItem,
    Operator,
    OutboxItem,
    case_expiry,
    new_id,
    queue_order,
    recipient_key,
)
from bot.store.rotation import Progress, RotationReport, count_batch, fresh

log = logging.getLogger(__name__)

WORKERS, SENDERS = "workers", "senders"
SCAN = 1000  # entries looked at for a batch that caps each person's share
PLAIN_KEPT = 64  # decrypted inbox entries kept for the next window (`_read_once`)

# Dedup and append in one step: a redelivery neither passes nor half-records.
_INBOX_PUT = """
if KEYS[1] ~= '' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end
end
redis.call('XADD', KEYS[2], '*', 'channel', ARGV[1], 'blob', ARGV[2])
return 1
"""
# Take or renew a lease only if it is free or already ours.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# A fenced write: the queued commands run only while the partition's lease is still
# the caller's, checked and applied in one atomic step (one round trip; WATCH, GET and
# MULTI/EXEC were three, on every worker commit and every sender acknowledgement, and
# the caller's own heartbeat renewing the lease made the EXEC fail). pcall as in EXEC:
# a failing command does not stop the others; the errors are returned.
# KEYS[1] the lease; ARGV[1] its holder; ARGV[2] the commands, a JSON list of lists.
_FENCED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local failed = 0
for _, command in ipairs(cjson.decode(ARGV[2])) do
  local reply = redis.pcall(unpack(command))
  if type(reply) == 'table' and reply.err then failed = failed + 1 end
end
return failed
"""
# Compare-and-set for `keys rotate`: replace an item only if nobody changed it since
# it was read (the TTL stays). KEYS[1]; ARGV: kind, field or index, old, new.
_SWAP = """
local kind, where, old, new = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if kind == 'string' then
  if redis.call('GET', KEYS[1]) ~= old then return 0 end
  redis.call('SET', KEYS[1], new, 'KEEPTTL')
elseif kind == 'hash' then
  if redis.call('HGET', KEYS[1], where) ~= old then return 0 end
  redis.call('HSET', KEYS[1], where, new)
else
  if redis.call('LINDEX', KEYS[1], tonumber(where)) ~= old then return 0 end
  redis.call('LSET', KEYS[1], tonumber(where), new)
end
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _arg(value: Any) -> str:
    """A command argument as the text redis-py would send (`_FENCED` gets them in
    JSON): every value written here is ASCII or UTF-8 (tokens, JSON, numbers)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _extend(pipe: Any, key: str, at_ms: int) -> None:
    """Expire an index no earlier than `at_ms`: lengthen an expiry, or set a missing one
    (GT alone would leave a key without TTL untouched)."""
    pipe.pexpireat(key, at_ms, gt=True)
    pipe.pexpireat(key, at_ms, nx=True)


class RedisStore:
    # A worker's partitions in two threads (bot/worker.py `Worker`): a message waits
    # for about seven round trips, in which another partition's goes on. Measured on
    # this 2-core machine, a worker alone drained 1,000 messages 10-20% faster with
    # threads, and spent 35% more CPU per message with four than with one; in the
    # end-to-end drain, where the web server and the sender want the same cores, one,
    # two and four threads were within the noise (250-340 messages/s each).
    partition_threads = 2

    def __init__(
        self,
        url: str,
        crypto: Crypto,
        prefix: str = "bot:",
        closed_case_ttl: float = CLOSED_CASE_TTL,
    ) -> None:
        self.crypto = crypto
        self.closed_case_ttl = closed_case_ttl
        self.keys = Keys(prefix)
        self.r = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
        self._inbox_put = self.r.register_script(_INBOX_PUT)
        self._lease = self.r.register_script(_LEASE)
        self._release = self.r.register_script(_RELEASE)
        self._swap = self.r.register_script(_SWAP)
        self._fenced = self.r.register_script(_FENCED)
        self._groups: set[str] = set()
        # Decrypted inbox entries still waiting, oldest first (`_read_once`).
        self._plain: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self.stats: Counter[str] = Counter()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: {exc.__class__.__name__}") from exc

    # identity and contact ----------------------------------------------------
    def resolve_user(self, hashes: list[str], now: float, create: bool = True) -> str | None:
        k = self.keys
        found = self._call(self.r.mget, [k.identity(h) for h in hashes])
        user = next((v.decode() for v in found if v), None)
        if user is None:
            if not create:
                return None
            candidate = new_id("u")
            # NX: two first messages of the same person race to one id.
            if not self._call(
                self.r.set, k.identity(hashes[0]), candidate, nx=True, px=_ms(IDENTITY_TTL)
            ):
                existing = self._call(self.r.get, k.identity(hashes[0]))
                if existing:
                    return existing.decode()
            user = candidate
        # Link the newest hash (a key rotation re-links here) and extend the link.
        pipe = self.r.pipeline(transaction=True)
        pipe.set(k.identity(hashes[0]), user, px=_ms(IDENTITY_TTL))
        pipe.sadd(k.identities_of(user), hashes[0])
        _extend(pipe, k.identities_of(user), _ms(now + IDENTITY_TTL))
        self._call(pipe.execute)
        return user

    def put_contact(self, user: str, channel: str, address: str, now: float) -> None:
        self._call(self._set_contact, self.r, user, channel, address, now)

    def _set_contact(self, client: Any, user: str, channel: str, address: str, now: float) -> None:
        """On the connection, or queued on a commit's pipeline."""
        value = self.crypto.encrypt_json({"channel": channel, "address": address, "at": now})
        client.set(self.keys.contact(user), value, px=_ms(IDENTITY_TTL))

    def get_contact(self, user: str, now: float) -> tuple[str, str] | None:
        raw = self._call(self.r.get, self.keys.contact(user))
        if not raw:
            return None
        value = self.crypto.decrypt_json(raw)
        return value["channel"], value["address"]

    def last_inbound(self, user: str, now: float) -> float | None:
        raw = self._call(self.r.get, self.keys.contact(user))
        return self.crypto.decrypt_json(raw).get("at") if raw else None

    # conversation ------------------------------------------------------------
    def load_session(self, user: str, now: float) -> dict[str, Any] | None:
        raw = self._call(self.r.get, self.keys.session(user))
        return self.crypto.decrypt_json(raw) if raw else None

    def mark_seen(self, key: str, now: float) -> bool:
        return bool(self._call(self.r.set, self.keys.seen(key), b"1", nx=True, px=_ms(DEDUP_TTL)))

    def count(self, key: str, window: float, now: float, add: bool = True) -> int:
        name = self.keys.counter(key)
        if not add:
            raw = self._call(self.r.get, name)
            return int(raw) if raw else 0
        pipe = self.r.pipeline(transaction=True)
        pipe.set(name, 0, nx=True, px=_ms(window))  # the window starts at the first event
        pipe.incr(name)
        return int(self._call(pipe.execute)[1])

    def _case_expiry(self, case_id: str | None, now: float, pending: dict[str, Case]) -> float:
        if case_id is None:
            return now + CONSENT_TTL
        if case_id in pending:
            return pending[case_id].expires_at
        raw = self._call(self.r.hget, self.keys.case(case_id), "public")
        return json.loads(raw)["expires_at"] if raw else now + CONSENT_TTL

    def commit(self, change: Commit, now: float) -> None:
        k = self.keys
        pending = {}
        for case in change.cases:
            case.expires_at = case_expiry(case, now, self.closed_case_ttl)
            pending[case.id] = case
        expiries = {
            m.case_id: self._case_expiry(m.case_id, now, pending) for m in change.case_messages
        }
        consent_expiries = [
            max(now + CONSENT_TTL, self._case_expiry(c.case_id, now, pending))
            for c in change.consents
        ]
        pipe = self.r.pipeline(transaction=True)
        if change.contact is not None:
            self._set_contact(pipe, change.user, *change.contact, now)
        if change.delete_session:
            pipe.delete(k.session(change.user))
        elif change.session is not None:
            pipe.set(
                k.session(change.user),
                self.crypto.encrypt_json(change.session),
                px=_ms(SESSION_TTL),
            )
        for case in change.cases:
            self._queue_case(pipe, case, now)
        for message in change.case_messages:
            key = k.case_messages(message.case_id)
            pipe.rpush(key, self.crypto.encrypt_json(message.__dict__))
            pipe.pexpireat(key, _ms(expiries[message.case_id]))
        for consent, expires in zip(change.consents, consent_expiries, strict=True):
            key = k.consents(consent.user)
            pipe.rpush(key, self.crypto.encrypt_json(consent.__dict__))
            pipe.pexpireat(key, _ms(expires))
        for item in change.outbox:
            key = k.outbox(item.partition)
            blob = self.crypto.encrypt_json({"address": item.address, "message": item.message})
            who = recipient_key(self.crypto.lookup_hashes(f"{item.channel}:{item.address}"))
            pipe.xadd(key, {"channel": item.channel, "blob": blob, "at": str(now), "who": who})
        if change.inbox_done is not None:
            done = change.inbox_done
            pipe.xack(k.inbox(done.partition), WORKERS, done.id)
            pipe.xdel(k.inbox(done.partition), done.id)
        for entry in change.audit:
            member = json.dumps({**entry.__dict__, "n": secrets.token_hex(4)})
            pipe.zadd(k.audit(), {member: entry.at})
        if change.audit:
            pipe.zremrangebyscore(k.audit(), "-inf", now - AUDIT_TTL)
            _extend(pipe, k.audit(), _ms(now + AUDIT_TTL))
        for stats in change.stats:  # codes and counts only: kept in clear
            member = json.dumps({**stats.__dict__, "n": secrets.token_hex(4)})
            pipe.zadd(k.stats(), {member: now})
        if change.stats:
            pipe.zremrangebyscore(k.stats(), "-inf", now - STATS_TTL)
            _extend(pipe, k.stats(), _ms(now + STATS_TTL))
        self._execute_fenced(pipe, change.fence)
        if change.inbox_done is not None:
            self._plain.pop((k.inbox(change.inbox_done.partition), change.inbox_done.id), None)

    def _execute_fenced(self, pipe: Any, fence: tuple[str, str] | None) -> None:
        """Run a transaction's queued commands; with a fence, in `_FENCED`: nothing is
        written (LeaseLost) unless the lease is still the caller's."""
        if fence is None:
            self._call(pipe.execute)
            return
        commands = [[_arg(a) for a in args] for args, _ in pipe.command_stack]
        pipe.reset()
        lease = self.keys.lease(fence[0])
        failed = self._call(self._fenced, keys=[lease], args=[fence[1], json.dumps(commands)])
        if failed == -1:
            raise LeaseLost(fence[0])
        if failed:
            raise StoreUnavailable(f"redis: {failed} commands of a fenced write failed")

    def _queue_case(self, pipe: Any, case: Case, now: float) -> None:
        k = self.keys
        case.expires_at = case_expiry(case, now, self.closed_case_ttl)
        at = _ms(case.expires_at)
        pipe.hset(
            k.case(case.id),
            mapping={
                "public": json.dumps(case.public()),
                "private": self.crypto.encrypt_json(case.private()),
            },
        )
        pipe.pexpireat(k.case(case.id), at)
        pipe.zadd(k.cases(), {case.id: case.opened_at})
        _extend(pipe, k.cases(), at)
        pipe.sadd(k.user_cases(case.user), case.id)
        pipe.pexpireat(k.user_cases(case.user), at)
        pipe.pexpireat(k.case_messages(case.id), at)
        if case.state == "open" or case.deleted_by_request:
            # Keep the means to reach the person while the case needs it. GT only ever
            # lengthens: these keys already carry their own expiry.
            for key in (k.contact(case.user), k.consents(case.user), k.identities_of(case.user)):
                pipe.pexpireat(key, at, gt=True)

    # cases -------------------------------------------------------------------
    def _load(self, raw: dict[bytes, bytes]) -> Case | None:
        if not raw or b"public" not in raw:
            return None
        return Case.from_parts(
            json.loads(raw[b"public"]), self.crypto.decrypt_json(raw[b"private"])
        )

    def get_case(self, case_id: str, now: float) -> Case | None:
        return self._load(self._call(self.r.hgetall, self.keys.case(case_id)))

    def _cases_of(self, user: str) -> list[Case]:
        ids = [i.decode() for i in self._call(self.r.smembers, self.keys.user_cases(user))]
        pipe = self.r.pipeline(transaction=False)
        for case_id in ids:
            pipe.hgetall(self.keys.case(case_id))
        return [c for c in (self._load(raw) for raw in self._call(pipe.execute)) if c]

    def open_case_of(self, user: str, now: float) -> Case | None:
        open_cases = [c for c in self._cases_of(user) if c.state == "open"]
        return max(open_cases, key=lambda c: c.opened_at) if open_cases else None

    def list_cases(
        self,
        now: float,
        *,
        state: str | None = "open",
        level: str | None = None,
        owner: str | None = None,
        unassigned: bool = False,
        opened_before: float | None = None,
        limit: int = 200,
    ) -> list[Case]:
        k = self.keys
        upper = "+inf" if opened_before is None else f"({opened_before}"
        ids = [i.decode() for i in self._call(self.r.zrangebyscore, k.cases(), "-inf", upper)]
        pipe = self.r.pipeline(transaction=False)
        for case_id in ids:
            pipe.hgetall(k.case(case_id))
        cases, gone = [], []
        for case_id, raw in zip(ids, self._call(pipe.execute), strict=True):
            case = self._load(raw)
            if case is None:
                gone.append(case_id)
                continue
            if (state is None or case.state == state) and (level is None or case.level == level):
                if (owner is None or case.owner == owner) and not (unassigned and case.owner):
                    cases.append(case)
        if gone:
            self._call(self.r.zrem, k.cases(), *gone)
        return sorted(cases, key=queue_order)[:limit]

    def case_messages(self, case_id: str, now: float) -> list[CaseMessage]:
        raw = self._call(self.r.lrange, self.keys.case_messages(case_id), 0, -1)
        return [CaseMessage(**self.crypto.decrypt_json(item)) for item in raw]

    def claim_case(self, case_id: str, operator: str, now: float, expected: str | None) -> bool:
        key = self.keys.case(case_id)
        try:
            with self.r.pipeline(transaction=True) as pipe:
                pipe.watch(key)
                case = self._load(pipe.hgetall(key))
                if case is None or case.owner != expected or case.state != "open":
                    pipe.unwatch()
                    return False
                case.owner, case.updated_at = operator, now
                pipe.multi()
                self._queue_case(pipe, case, now)
                pipe.execute()
                return True
        except redis.WatchError:
            return False
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: {exc.__class__.__name__}") from exc

    def consents(self, user: str, now: float) -> list[Consent]:
        raw = self._call(self.r.lrange, self.keys.consents(user), 0, -1)
        return [Consent(**self.crypto.decrypt_json(item)) for item in raw]

    def audit_log(
        self, now: float, case_id: str | None = None, limit: int = 500
    ) -> list[AuditEntry]:
        raw = self._call(self.r.zrevrangebyscore, self.keys.audit(), "+inf", now - AUDIT_TTL)
        entries = []
        for member in raw:
            data = json.loads(member)
            data.pop("n", None)
            if case_id is None or data.get("case_id") == case_id:
                entries.append(AuditEntry(**data))
            if len(entries) >= limit:
                break
        return entries

    def case_stats(self, now: float) -> list[CaseStats]:
        raw = self._call(self.r.zrangebyscore, self.keys.stats(), now - STATS_TTL, "+inf")
        out = []
        for member in raw:
            data = json.loads(member)
            data.pop("n", None)
            out.append(CaseStats(**data))
        return out

    # durable delivery --------------------------------------------------------
    def _group(self, stream: str, group: str) -> None:
        if stream in self._groups:
            return
        try:
            self.r.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise StoreUnavailable(f"redis: {exc.__class__.__name__}") from exc
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: {exc.__class__.__name__}") from exc
        self._groups.add(stream)

    def _entries(
        self, stream: str, group: str, partition: int, limit: int, consumer: str | None
    ) -> list[tuple[str, dict]]:
        """Pending entries first (this consumer's, and those of a process that held the
        partition before: claimed here), then new ones, in stream order.

        Each process reads under its own consumer name. Only the partition's lease
        holder calls this, so it takes over every pending entry (XAUTOCLAIM). The
        claim and the reads of pending and new entries go in one round trip (they
        were three, for every message the worker processed): new entries read beyond
        `limit` wait in this consumer's pending list for the next call. A stream or
        group that vanished (a Redis restart without persistence) is recreated.
        """
        consumer = consumer or f"p{partition}"

        def read() -> list[Any]:
            pipe = self.r.pipeline(transaction=False)
            pipe.xautoclaim(stream, group, consumer, 0, "0-0", count=1000, justid=True)
            for start in ("0", ">"):
                pipe.xreadgroup(group, consumer, {stream: start}, count=limit)
            return pipe.execute()[1:]

        out: list[tuple[str, dict]] = []
        for reply in self._stream_call(stream, group, read):
            for entry_id, fields in reply[0][1] if reply else []:
                if fields:  # an entry deleted while pending comes back empty
                    out.append((entry_id.decode(), {k.decode(): v for k, v in fields.items()}))
                else:
                    self._call(self.r.xack, stream, group, entry_id)
        return out[:limit]

    def _stream_call(self, stream: str, group: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call a consumer-group command; on NOGROUP, recreate the group and retry once."""
        self._group(stream, group)
        try:
            return fn(*args, **kwargs)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise StoreUnavailable(f"redis: {exc.__class__.__name__}") from exc
            self.stats["groups_recreated"] += 1
            log.warning("redis: consumer group %s vanished; recreating it", group)
            self._groups.discard(stream)
            self._group(stream, group)
            return self._call(fn, *args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: {exc.__class__.__name__}") from exc

    def inbox_put(
        self,
        partition: int,
        channel: str,
        address: str,
        inbound: dict[str, Any],
        dedup_key: str | None,
        now: float,
    ) -> bool:
        return self.inbox_put_many([(partition, channel, address, inbound, dedup_key)], now)[0]

    def inbox_put_many(self, puts: list[InboxPut], now: float) -> list[bool]:
        """Several webhooks' messages in one round trip (each still atomic on its own)."""
        calls = []
        for partition, channel, address, inbound, dedup_key in puts:
            stream = self.keys.inbox(partition)
            self._group(stream, WORKERS)
            blob = self.crypto.encrypt_json({"address": address, "inbound": inbound})
            seen = self.keys.seen(dedup_key) if dedup_key is not None else ""
            calls.append(([seen, stream], [channel, blob, _ms(DEDUP_TTL)]))
        return [bool(added) for added in self._script_many(self._inbox_put, calls)]

    def _script_many(self, script: Script, calls: list[tuple[list, list]]) -> list[Any]:
        """Many calls of one script in one round trip.

        EVALSHA goes straight into the pipeline: a `Script` called on a pipeline makes
        redis-py ask SCRIPT EXISTS first, a second round trip on every webhook batch
        (py-spy under webhook load, issue 15: a fifth of the web process's samples).
        A server that no longer has the script (restarted, SCRIPT FLUSH) answers
        NOSCRIPT to those calls alone: the script is loaded and they run again.
        """

        def run(todo: list[tuple[list, list]]) -> list[Any]:
            pipe = self.r.pipeline(transaction=False)
            for keys, args in todo:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return pipe.execute(raise_on_error=False)

        results = self._call(run, calls)
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:
            script.sha = self._call(self.r.script_load, script.script)
            again = self._call(run, [calls[i] for i in missing])
            for i, result in zip(missing, again, strict=True):
                results[i] = result
        for result in results:
            if isinstance(result, Exception):
                raise StoreUnavailable(f"redis: {result.__class__.__name__}")
        return results

    def inbox_next(
        self, partition: int, now: float, consumer: str | None = None
    ) -> InboxItem | None:
        window = self.inbox_window(partition, now, 1, consumer)
        return window[0] if window else None

    def inbox_window(
        self, partition: int, now: float, limit: int = 16, consumer: str | None = None
    ) -> list[InboxItem]:
        stream = self.keys.inbox(partition)
        found = self._entries(stream, WORKERS, partition, limit, consumer)
        items = []
        for entry_id, fields in found:
            data = self._read_once(stream, entry_id, fields, now)
            if data is None:
                continue
            at = float(entry_id.split("-")[0]) / 1000
            items.append(
                InboxItem(
                    entry_id,
                    partition,
                    fields["channel"].decode(),
                    data["address"],
                    data["inbound"],
                    at,
                )
            )
        return items

    def outbox_batch(
        self,
        partition: int,
        now: float,
        limit: int = 50,
        consumer: str | None = None,
        per_person: int | None = None,
    ) -> list[OutboxItem]:
        stream = self.keys.outbox(partition)
        if per_person is None:
            found = self._entries(stream, SENDERS, partition, limit, consumer)
        else:  # each person's oldest few: one person's backlog cannot fill the batch
            found, mine = [], Counter()
            for entry_id, fields in self._entries(stream, SENDERS, partition, SCAN, consumer):
                who = fields.get("who", entry_id.encode()).decode()
                mine[who] += 1
                if mine[who] <= per_person:
                    found.append((entry_id, fields))
                    if len(found) >= limit:
                        break
        pipe = self.r.pipeline(transaction=False)
        for entry_id, _ in found:
            pipe.hgetall(self.keys.outbox_meta(entry_id))
        metas = self._call(pipe.execute) if found else []
        items = []
        for (entry_id, fields), meta in zip(found, metas, strict=True):
            data = self._readable(self.keys.outbox(partition), SENDERS, entry_id, fields, now)
            if data is None:
                continue
            items.append(
                OutboxItem(
                    entry_id,
                    partition,
                    fields["channel"].decode(),
                    data["address"],
                    data["message"],
                    float(fields.get("at", b"0")),
                    int(meta.get(b"attempts", 0)),
                    float(meta.get(b"not_before", 0)),
                    fields.get("who", b"").decode(),
                )
            )
        return items

    def _read_once(
        self, stream: str, entry_id: str, fields: dict, now: float
    ) -> dict[str, Any] | None:
        """An inbox entry's content, decrypted once: the worker reads a window of
        entries for every message it processes, and decrypting all of them each time
        was an eighth of its time (py-spy, issue 15). The few kept are those of
        entries still waiting; an entry's content never changes under its id."""
        key = (stream, entry_id)
        data = self._plain.pop(key, None)
        if data is None:
            data = self._readable(stream, WORKERS, entry_id, fields, now)
            if data is None:
                return None
        self._plain[key] = data
        while len(self._plain) > PLAIN_KEPT:
            self._plain.popitem(last=False)
        return data

    def _readable(
        self, stream: str, group: str, entry_id: str, fields: dict, now: float
    ) -> dict[str, Any] | None:
        """A queued item no configured key reads (an old key removed before `keys rotate`
        finished) is set aside as a dead letter, so the rest of its partition goes on."""
        try:
            return self.crypto.decrypt_json(fields["blob"])
        except CryptoError:
            partition = int(stream.rsplit(":", 1)[1])
            pipe = self.r.pipeline(transaction=True)
            pipe.xack(stream, group, entry_id)
            pipe.xdel(stream, entry_id)
            self._dead(pipe, fields["channel"].decode(), partition, 0, UNREADABLE, now)
            self._call(pipe.execute)
            return None

    def busy_partitions(self, kind: str, now: float) -> list[int]:
        """Streams hold only entries not yet acknowledged: a non-empty one has work
        (one round trip for every partition)."""
        stream = self.keys.inbox if kind == "inbox" else self.keys.outbox
        pipe = self.r.pipeline(transaction=False)
        for partition in range(PARTITIONS):
            pipe.xlen(stream(partition))
        lengths = self._call(pipe.execute)
        return [p for p, n in enumerate(lengths) if n]

    def _outbox_remove(self, pipe: Any, item: OutboxItem) -> None:
        stream = self.keys.outbox(item.partition)
        pipe.xack(stream, SENDERS, item.id)
        pipe.xdel(stream, item.id)
        pipe.delete(self.keys.outbox_meta(item.id))

    def outbox_done(
        self, item: OutboxItem, now: float, fence: tuple[str, str] | None = None
    ) -> None:
        pipe = self.r.pipeline(transaction=True)
        self._outbox_remove(pipe, item)
        self._execute_fenced(pipe, fence)

    def outbox_retry(self, item: OutboxItem, not_before: float, now: float) -> None:
        key = self.keys.outbox_meta(item.id)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(key, mapping={"attempts": item.attempts + 1, "not_before": not_before})
        pipe.pexpire(key, _ms(QUEUE_TTL))
        self._call(pipe.execute)

    def outbox_dead(self, item: OutboxItem, reason: str, now: float) -> None:
        pipe = self.r.pipeline(transaction=True)
        self._outbox_remove(pipe, item)
        self._dead(pipe, item.channel, item.partition, item.attempts, reason, now)
        self._call(pipe.execute)

    def record_dead_letter(
        self, channel: str, partition: int, attempts: int, reason: str, now: float
    ) -> None:
        pipe = self.r.pipeline(transaction=True)
        self._dead(pipe, channel, partition, attempts, reason, now)
        self._call(pipe.execute)

    def _dead(
        self, pipe: Any, channel: str, partition: int, attempts: int, reason: str, now: float
    ) -> None:
        record = json.dumps(
            {"at": now, "channel": channel, "partition": partition, "attempts": attempts,
             "reason": reason[:200], "n": secrets.token_hex(4)}
        )  # fmt: skip
        pipe.zadd(self.keys.dead_letters(), {record: now})
        pipe.zremrangebyscore(self.keys.dead_letters(), "-inf", now - DEAD_LETTER_TTL)
        _extend(pipe, self.keys.dead_letters(), _ms(now + DEAD_LETTER_TTL))

    def dead_letters(self, now: float) -> list[DeadLetter]:
        raw = self._call(
            self.r.zrevrangebyscore, self.keys.dead_letters(), "+inf", now - DEAD_LETTER_TTL
        )
        out = []
        for member in raw:
            d = json.loads(member)
            out.append(
                DeadLetter(d["at"], d["channel"], d["partition"], d["attempts"], d["reason"])
            )
        return out

    def lease(self, name: str, owner: str, ttl: float, now: float) -> bool:
        return bool(self._call(self._lease, keys=[self.keys.lease(name)], args=[owner, _ms(ttl)]))

    def release(self, name: str, owner: str) -> None:
        self._call(self._release, keys=[self.keys.lease(name)], args=[owner])

    # console accounts ----------------------------------------------------------
    def put_operator(self, operator: Operator, now: float) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.set(
            self.keys.operator(operator.username),
            self.crypto.encrypt_json(operator.__dict__),
            px=_ms(OPERATOR_TTL),
        )
        pipe.sadd(self.keys.operators(), operator.username)
        _extend(pipe, self.keys.operators(), _ms(now + OPERATOR_TTL))
        self._call(pipe.execute)

    def get_operator(self, username: str, now: float) -> Operator | None:
        raw = self._call(self.r.get, self.keys.operator(username))
        return Operator(**self.crypto.decrypt_json(raw)) if raw else None

    def list_operators(self, now: float) -> list[Operator]:
        names = sorted(n.decode() for n in self._call(self.r.smembers, self.keys.operators()))
        found = [self.get_operator(n, now) for n in names]
        return [o for o in found if o is not None]

    # lifecycle ---------------------------------------------------------------
    def delete_user(self, user: str, now: float) -> Deletion:
        k = self.keys
        cases = self._cases_of(user)
        linked = self._call(self.r.smembers, k.identities_of(user))
        hashes = [k.identity(h.decode()) for h in linked]
        kept: str | None = None
        pipe = self.r.pipeline(transaction=True)
        for case in cases:
            pipe.delete(k.case_messages(case.id))
            if case.state == "open" and case.level in ("urgent", "high"):
                case.triggers, case.choices, case.deleted_by_request = {}, [], True
                case.updated_at = now
                self._queue_case(pipe, case, now)
                # The means to reach them lasts as the safety record, not longer.
                pipe.pexpireat(k.contact(user), _ms(case.expires_at))
                kept = case.id
            else:
                pipe.delete(k.case(case.id))
                pipe.zrem(k.cases(), case.id)
                pipe.srem(k.user_cases(user), case.id)
        pipe.delete(k.session(user), k.consents(user), k.identities_of(user), *hashes)
        if kept is None:
            pipe.delete(k.contact(user), k.user_cases(user))
        self._call(pipe.execute)
        return Deletion(kept_safety_record=kept is not None, case_id=kept)

    def purge_expired(self, now: float) -> int:
        """Keys expire by themselves; this trims what cannot: the indexes by age, and
        stream entries older than QUEUE_TTL (an item nobody could process in 7 days;
        its entry id is its arrival time in milliseconds)."""
        k = self.keys
        pipe = self.r.pipeline(transaction=False)
        pipe.zremrangebyscore(k.audit(), "-inf", now - AUDIT_TTL)
        pipe.zremrangebyscore(k.stats(), "-inf", now - STATS_TTL)
        pipe.zremrangebyscore(k.dead_letters(), "-inf", now - DEAD_LETTER_TTL)
        oldest = f"{_ms(now - QUEUE_TTL)}-0"
        for partition in range(PARTITIONS):
            for stream in (k.inbox(partition), k.outbox(partition)):
                pipe.xtrim(stream, minid=oldest, approximate=False)
        removed = sum(int(n or 0) for n in self._call(pipe.execute))
        self.list_cases(now, state=None)  # drops queue members whose case expired
        return removed

    def rotate_keys(
        self, now: float, batch: int = 200, progress: Progress | None = None
    ) -> RotationReport:
        """Re-encrypt with the newest key and re-link people (bot/store/rotation.py).

        Strings, the private part of cases and list items are swapped in place. Stream
        entries (inbox, outbox) cannot be: they are counted as still queued, and leave
        within seconds as the worker and sender process them."""
        k, report = self.keys, RotationReport()
        for kind, pattern in (("contacts", k.contact("*")), ("sessions", k.session("*")),
                              ("operators", k.operator("*"))):  # fmt: skip
            self._rotate_keys(report, kind, pattern, "string", batch, progress)
        self._rotate_keys(report, "cases", k.case("*"), "hash", batch, progress)
        for kind, pattern in (("case_messages", k.case_messages("*")),
                              ("consents", k.consents("*"))):  # fmt: skip
            self._rotate_keys(report, kind, pattern, "list", batch, progress)
        for partition in range(PARTITIONS):
            for kind, stream in (("inbox", k.inbox(partition)), ("outbox", k.outbox(partition))):
                entries = self._call(self.r.xrange, stream)
                entry = report.kind(kind)
                entry.checked += len(entries)
                entry.waiting += sum(
                    1 for _, f in entries if b"blob" in f and not self.crypto.is_current(f[b"blob"])
                )
        self._relink(report)
        return report

    def _scan(self, pattern: str, batch: int) -> list[bytes]:
        return list(self._call(self.r.scan_iter, match=pattern, count=batch))

    def _rotate_keys(
        self,
        report: RotationReport,
        kind: str,
        pattern: str,
        shape: str,
        batch: int,
        progress: Progress | None,
    ) -> None:
        names = self._scan(pattern, batch)
        for start in range(0, len(names), batch):
            chunk, checked, rotated = names[start : start + batch], 0, 0
            for name in chunk:
                items: list[tuple[str, bytes | None]]
                if shape == "string":
                    items = [("", self._call(self.r.get, name))]
                elif shape == "hash":
                    items = [("private", self._call(self.r.hget, name, "private"))]
                else:
                    items = list(
                        (str(i), v) for i, v in enumerate(self._call(self.r.lrange, name, 0, -1))
                    )
                for where, token in items:
                    if token is None:
                        continue
                    checked += 1
                    new = fresh(self.crypto, token, report, kind)
                    if new is not None:
                        swap = self._call(self._swap, keys=[name], args=[shape, where, token, new])
                        rotated += int(swap)
            count_batch(report, kind, checked, rotated, progress)

    def _relink(self, report: RotationReport) -> None:
        """Give each person with a contact the newest key's lookup hash, drop the rest."""
        k = self.keys
        prefix = k.contact("").encode()
        contacts = self._scan(k.contact("*"), 500)
        for name in contacts:
            user = name[len(prefix) :].decode()
            raw = self._call(self.r.get, name)
            try:
                contact = self.crypto.decrypt_json(raw) if raw else None
            except CryptoError:
                continue
            if not contact:
                continue
            newest = self.crypto.lookup_hashes(f"{contact['channel']}:{contact['address']}")[0]
            linked = [h.decode() for h in self._call(self.r.smembers, k.identities_of(user))]
            if not linked or linked == [newest]:
                continue
            ttl = max(self._call(self.r.pttl, k.identity(h)) for h in linked)
            if ttl <= 0:  # every link has expired: the person is already forgotten
                continue
            pipe = self.r.pipeline(transaction=True)
            pipe.set(k.identity(newest), user, px=ttl)
            pipe.sadd(k.identities_of(user), newest)
            for old in (h for h in linked if h != newest):
                pipe.delete(k.identity(old))
                pipe.srem(k.identities_of(user), old)
            self._call(pipe.execute)
            report.relinked += 1
        users = {n[len(prefix) :] for n in contacts}
        sets = self._scan(k.identities_of("*"), 500)
        ids_prefix = len(k.identities_of("").encode())
        report.unlinked = sum(
            int(self._call(self.r.scard, s)) for s in sets if s[ids_prefix:] not in users
        )

    def persistence_warning(self) -> str | None:
        """A warning when this server would lose acknowledged messages on a crash."""
        try:
            aof = self.r.config_get("appendonly").get("appendonly")
            save = self.r.config_get("save").get("save")
        except redis.RedisError:
            return None  # CONFIG may be disabled by a managed Redis: nothing to check
        if aof == "yes" or (save or "").strip():
            return None
        return (
            "Redis persists nothing (appendonly no, no RDB snapshots): a Redis crash would "
            "lose acknowledged messages. Set 'appendonly yes' (recommended) or 'save'."
        )

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self.r.close()
