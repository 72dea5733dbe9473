"""The services directory (directory.json): loading, validation, public views.

The file is validated against `directory.schema.json` at load; a broken entry stops
start-up with a message naming the entry, because a wrong phone number or a
misplaced office can send a person in danger to the wrong door.

Named focal points (`referral_contacts`, `referral_note`) are for caseworkers making
referrals. They are kept apart from everything public: `Service` exposes them only
through `caseworker_view()`, and no public renderer receives them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from bot.directory.hotlines import Hotline, localized
from bot.paths import DIRECTORY_PATH, ROOT

SCHEMA_PATH = ROOT / "directory.schema.json"
NEEDS = (
    "emergency", "report", "legal", "psychosocial", "shelter", "health",
    "child_protection", "refugee", "migration_status", "labour", "basic_needs", "disability",
)  # fmt: skip


class DirectoryError(ValueError):
    """directory.json cannot be served; the message names the entry."""


@dataclass(frozen=True)
class Office:
    service_id: str
    index: int
    region: str
    lat: float
    lon: float
    precision: str
    city: str | None = None
    district: str | None = None
    address: str | None = None
    label: str | None = None
    reference: str | None = None
    type: str = "office"
    phones: tuple[str, ...] = ()
    whatsapp: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.service_id}#{self.index}"

    def place(self) -> str:
        """Where it is, as precisely as the seed says and no more."""
        parts = [self.address, self.district, self.city or self.region]
        seen: list[str] = []
        for part in parts:
            if part and part not in seen:
                seen.append(part)
        return ", ".join(seen)


@dataclass(frozen=True)
class Service:
    id: str
    organisation: str
    name: str
    kind: str
    needs: tuple[str, ...]
    coverage: str | tuple[str, ...]
    description: dict[str, str]
    offices: tuple[Office, ...]
    phones: tuple[str, ...]
    whatsapp: tuple[str, ...]
    emails: tuple[str, ...]
    web: tuple[str, ...]
    hours: dict[str, str] | None
    verified: str
    source: str
    hotline: str | None = None
    caseworker_only: bool = False
    serves: dict[str, str] | None = None
    _referral: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def national(self) -> bool:
        return self.coverage == "national"

    def text(self, field_value: dict[str, str] | None, lang: str) -> str:
        return localized(field_value, lang)

    def caseworker_view(self) -> dict[str, Any]:
        """Focal points and referral notes: for the operator console's referral form only."""
        return dict(self._referral)


@dataclass
class Directory:
    hotlines: dict[str, Hotline]
    services: list[Service]
    need_labels: dict[str, dict[str, str]]

    def service(self, service_id: str) -> Service:
        return next(s for s in self.services if s.id == service_id)

    def public_services(self) -> list[Service]:
        return [s for s in self.services if not s.caseworker_only]

    def offices(self) -> list[Office]:
        return [o for s in self.public_services() for o in s.offices]

    def need_label(self, need: str, lang: str) -> str:
        return localized(self.need_labels.get(need), lang) or need


def _entry_name(raw: dict[str, Any], path: list[Any]) -> str:
    if len(path) >= 2 and path[0] in ("services", "hotlines") and isinstance(path[1], int):
        items = raw.get(path[0]) or []
        if path[1] < len(items) and isinstance(items[path[1]], dict):
            return f"{path[0]} entry '{items[path[1]].get('id', path[1])}'"
    return "/".join(str(p) for p in path) or "(top)"


def validate(raw: Any) -> None:
    with SCHEMA_PATH.open(encoding="utf-8") as fh:
        schema = json.load(fh)
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(raw),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        lines = [
            f"{_entry_name(raw, list(e.absolute_path))}: "
            f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in errors[:10]
        ]
        raise DirectoryError("directory.json is invalid:\n  " + "\n  ".join(lines))
    ids = [e["id"] for e in raw["hotlines"]] + [e["id"] for e in raw["services"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise DirectoryError(f"directory.json: duplicate ids {duplicates}")
    hotline_ids = {h["id"] for h in raw["hotlines"]}
    for entry in raw["services"]:
        if entry.get("hotline") and entry["hotline"] not in hotline_ids:
            raise DirectoryError(
                f"services entry '{entry['id']}': hotline '{entry['hotline']}' is not in the table"
            )


def _office(service_id: str, index: int, raw: dict[str, Any]) -> Office:
    return Office(
        service_id=service_id,
        index=index,
        region=raw["region"],
        lat=float(raw["lat"]),
        lon=float(raw["lon"]),
        precision=raw["precision"],
        city=raw.get("city"),
        district=raw.get("district"),
        address=raw.get("address"),
        label=raw.get("label"),
        reference=raw.get("reference"),
        type=raw.get("type", "office"),
        phones=tuple(raw.get("phones") or ()),
        whatsapp=tuple(raw.get("whatsapp") or ()),
    )


def _service(raw: dict[str, Any]) -> Service:
    coverage = raw["coverage"]
    return Service(
        id=raw["id"],
        organisation=raw["organisation"],
        name=raw["name"],
        kind=raw["kind"],
        needs=tuple(raw["needs"]),
        coverage=coverage if coverage == "national" else tuple(coverage),
        description=raw["description"],
        offices=tuple(_office(raw["id"], i, o) for i, o in enumerate(raw["offices"])),
        phones=tuple(raw["phones"]),
        whatsapp=tuple(raw["whatsapp"]),
        emails=tuple(raw["emails"]),
        web=tuple(raw["web"]),
        hours=raw.get("hours"),
        verified=raw["verified"],
        source=raw["source"],
        hotline=raw.get("hotline"),
        caseworker_only=bool(raw.get("caseworker_only")),
        serves=raw.get("serves"),
        _referral={
            "referral_contacts": raw.get("referral_contacts") or [],
            "referral_note": raw.get("referral_note"),
        },
    )


def load_directory(path: Path = DIRECTORY_PATH) -> Directory:
    try:
        with path.open(encoding="utf-8") as fh:
            raw = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise DirectoryError(f"{path.name} cannot be read: {exc}") from exc
    validate(raw)
    return Directory(
        hotlines={h["id"]: Hotline.from_raw(h) for h in raw["hotlines"]},
        services=[_service(s) for s in raw["services"]],
        need_labels=raw.get("needs", {}),
    )
