"""Key rotation that finishes (`python -m bot keys rotate`, DESIGN.md "Command line").

Adding a key in front of DATA_KEY (`K2,K1`) makes new data use K2 while K1 still reads
the old. Rotation then does what the old key was still needed for, on either adapter:

- every encrypted item is re-encrypted with the newest key, in small transactions that
  replace an item only if it is unchanged since it was read (a concurrent write wins);
- every person is re-linked under the newest key's lookup hash, computed from their
  stored contact, and the old hashes are dropped, so nobody becomes a stranger.

It is safe to stop at any moment (kill -9 included) and to run again: items already on
the newest key are skipped. It ends with a report; `done` means no stored item needs an
older key, and the old key can leave DATA_KEY.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from bot.store.crypto import Crypto, CryptoError

Progress = Callable[[str, int, int], None]  # kind, items checked, items re-encrypted


@dataclass
class KindCount:
    checked: int = 0
    rotated: int = 0
    unreadable: int = 0  # no configured key reads it: it will expire by itself
    waiting: int = 0  # queued on a Redis stream, which cannot be rewritten in place


@dataclass
class RotationReport:
    kinds: dict[str, KindCount] = field(default_factory=dict)
    relinked: int = 0  # people given their newest lookup hash
    unlinked: int = 0  # lookup hashes of a person whose contact is gone (they expire)

    def kind(self, name: str) -> KindCount:
        return self.kinds.setdefault(name, KindCount())

    @property
    def waiting(self) -> int:
        return sum(k.waiting for k in self.kinds.values())

    @property
    def unreadable(self) -> int:
        return sum(k.unreadable for k in self.kinds.values())

    @property
    def done(self) -> bool:
        """No readable item needs an older key. (A lookup hash without a contact cannot
        be re-linked by anyone; it belongs to nobody the service can write to.)"""
        return self.waiting == 0

    def lines(self) -> list[str]:
        out = []
        for name, k in self.kinds.items():
            extra = "".join(
                f", {n} {label}"
                for n, label in ((k.unreadable, "unreadable"), (k.waiting, "still queued"))
                if n
            )
            out.append(f"{name}: {k.checked} checked, {k.rotated} re-encrypted{extra}")
        out.append(f"people re-linked under the newest key: {self.relinked}")
        if self.unlinked:
            out.append(
                f"lookup hashes without a stored contact: {self.unlinked} "
                "(they cannot be re-linked; they expire within 30 days)"
            )
        return out


def fresh(crypto: Crypto, token: bytes, report: RotationReport, kind: str) -> bytes | None:
    """The token re-encrypted with the newest key; None when it already is, or when no
    configured key reads it (counted as unreadable)."""
    if crypto.is_current(token):
        return None
    try:
        return crypto.rotate(token)
    except CryptoError:
        report.kind(kind).unreadable += 1
        return None


def count_batch(
    report: RotationReport, kind: str, checked: int, rotated: int, progress: Progress | None
) -> None:
    entry = report.kind(kind)
    entry.checked += checked
    entry.rotated += rotated
    if progress is not None:
        progress(kind, entry.checked, entry.rotated)


def run(store: object, spooled: int, rotating: bool, now: float, out: IO[str], err: IO[str]) -> int:
    """`python -m bot keys rotate`: progress on stderr, the report and the verdict on
    stdout; exit 0 when the old key can go, 1 while queued items still need it.
    `spooled`: lines of this host's spool (DATA_DIR) the newest key cannot read."""

    def progress(kind: str, checked: int, rotated: int) -> None:
        err.write(f"  {kind}: {checked} checked, {rotated} re-encrypted\n")
        err.flush()

    report: RotationReport = store.rotate_keys(now, progress=progress)  # type: ignore[attr-defined]
    if spooled:
        report.kind("spool").waiting += spooled
    for line in report.lines():
        out.write(line + "\n")
    if report.unreadable:
        out.write(
            f"{report.unreadable} items cannot be read with any configured key: they were "
            "written with a key no longer in DATA_KEY, and expire by themselves.\n"
        )
    if not report.done:
        out.write(
            f"NOT DONE: {report.waiting} queued messages still need the old key. They leave "
            "the queue as the worker and sender process them: run this again in a minute. "
            "Keep the old key in DATA_KEY until this command says DONE.\n"
        )
        return 1
    if rotating:
        out.write(
            "DONE: no stored item needs an older key. You can now remove the old key(s) from "
            "DATA_KEY and restart every process. Keep the old key apart only as long as you "
            "keep backups made before today: they can be read only with it.\n"
        )
    else:
        out.write("DONE: DATA_KEY has one key, and every readable item uses it.\n")
    return 0
