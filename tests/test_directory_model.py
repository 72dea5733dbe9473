"""directory.json: complete against the seeds, valid, sourced, and safe to show."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bot import paths
from bot.directory.model import DirectoryError, load_directory
from bot.engine.types import LANGS

# Every organisation and state service named in 001 §5.1, §5.2, Anexo 3, the FISTRAP and
# FECCOR lists of §3.3.2 paso 3, and 002 §1 (with the seed section each comes from).
SEED_SERVICES = {
    # 001 §5.1 — state services
    "comisarias": "Comisarías", "mininter-linea-1818": "1818", "mininter-mesa-partes-virtual": "MININTER",
    "pnp-divindat": "DIVINDAT", "pnp-dirctptim": "DIRCTPTIM", "pnp-unidades-regionales": "Policía",
    "mininter-dgsd-convenios-bilaterales": "Convenios", "mp-denuncias-virtual": "virtual",
    "udavit": "UDAVIT", "uaivt": "UAIVT", "migraciones-extranjero-vulnerable": "vulnerables",
    "mimp-linea-100": "100", "mimp-chat-100": "Chat 100", "mimp-linea-1810": "1810",
    "mimp-sau": "SAU", "mimp-mesa-partes-virtual": "Mesa de Partes", "mimp-cedif": "CEDIF",
    "mimp-cem": "CEM", "mimp-dpe": "Protección Especial", "mimp-upe": "Protección Especial",
    "mimp-car-especializados": "Acogida", "mimp-hogares-refugio-temporal": "Refugio Temporal",
    "conadis": "CONADIS", "minsa-centros-salud-mental": "Salud Mental", "mre-cepr": "Refugiados",
    "mre-odes": "ODE", "minjusdh-fono-alegra": "Alegra", "minjusdh-defensa-publica": "Defensa Pública",
    "minjusdh-mesa-partes-virtual": "Mesa de partes", "sunafil": "SUNAFIL", "demuna": "DEMUNA",
    "defensoria-del-pueblo": "Defensoría",
    # 001 §3.3.2 paso 3 — prosecutors (FISTRAP per city, FECCOR); 002 §1 Lima numbers
    **{f"fistrap-{c}": "Trata" for c in (
        "cusco", "lima-centro", "lima-norte", "callao", "loreto", "madre-de-dios", "puno",
        "tacna", "tumbes", "piura", "la-libertad", "huanuco", "arequipa")},
    "feccor": "Criminalidad Organizada",
    # 001 §5.2 and Anexo 3 — humanitarian organisations
    "casa-mujer-santa-maria-micaela": "Micaela", "caps": "CAPS", "centro-yanapanakusun": "Yanapanakusun",
    "encuentros-sjs": "ENCUENTROS", "encuentros-clinica-juridica-pedro-arrupe": "Arrupe",
    "encuentros-caremi": "CAREMI", "ifrc": "IFRC", "terre-des-hommes-suisse": "Terre des Hommes",
    "union-venezolana-peru": "Unión Venezolana", "hias": "HIAS", "red-kawsay-peru": "Kawsay",
    "movimiento-el-pozo": "Pozo", "caritas-chosica": "Chosica", "caritas-cusco": "Cusco",
    "veneactiva": "Veneactiva", "acnur": "ACNUR", "oim": "OIM", "unodc": "UNODC",
    "care-peru": "CARE", "chs-alternativo": "CHS",
}  # fmt: skip
FECCOR_CITIES = ("Lima", "Ventanilla", "Abancay", "Andahuaylas", "Arequipa", "Ayacucho", "Bagua",
                 "Cajamarca", "Santa", "Huancavelica", "Huaura", "Ica", "Lambayeque", "Junín",
                 "San Martín")  # fmt: skip


@pytest.fixture(scope="module")
def directory():
    return load_directory()


def test_every_seed_service_is_in_the_directory(directory) -> None:
    ids = {s.id: s for s in directory.services}
    for service_id, word in SEED_SERVICES.items():
        assert service_id in ids, service_id
        service = ids[service_id]
        text = f"{service.organisation} {service.name} {service.hotline or ''}"
        assert word.lower() in text.lower(), (service_id, text)


def test_feccor_has_an_office_in_every_seed_city(directory) -> None:
    offices = directory.service("feccor").offices
    described = " ".join(f"{o.label} {o.city} {o.region} {o.district}" for o in offices)
    assert len(offices) == len(FECCOR_CITIES)
    for city in FECCOR_CITIES:
        assert city.lower() in described.lower(), city


def test_lima_fistrap_numbers_from_the_municipal_manual(directory) -> None:
    assert directory.service("fistrap-lima-centro").phones == ("939 482 768", "939 479 473")
    assert "002 §1" in directory.service("fistrap-callao").source


def test_every_entry_cites_a_seed_and_a_date(directory) -> None:
    for service in directory.services:
        assert re.search(r"\b00[12]\b", service.source), service.id
        assert service.verified in ("2023-01", "2024-01"), service.id
    for line in directory.hotlines.values():
        assert line.source


def test_every_office_has_coordinates_with_a_stated_precision(directory) -> None:
    for service in directory.services:
        for office in service.offices:
            assert -18.4 <= office.lat <= -0.03 and -81.4 <= office.lon <= -68.6, office.key
            assert office.precision in ("district", "city", "region"), office.key


def test_descriptions_in_four_languages(directory) -> None:
    for service in directory.services:
        for lang in LANGS:
            assert service.description.get(lang, "").strip(), (service.id, lang)
            assert len(service.description[lang]) <= 200, (service.id, lang)
    for need, labels in directory.need_labels.items():
        assert set(labels) >= set(LANGS), need


def test_hotline_numbers_live_in_one_place(directory) -> None:
    """A service reached through a hotline references it; it never repeats the number."""
    numbers = {re.sub(r"\D", "", h.number) for h in directory.hotlines.values()}
    for service in directory.services:
        office_phones = [p for o in service.offices for p in (*o.phones, *o.whatsapp)]
        for phone in (*service.phones, *service.whatsapp, *office_phones):
            assert re.sub(r"\D", "", phone) not in numbers, (service.id, phone)


def test_a_broken_entry_is_a_load_error_naming_it(tmp_path: Path) -> None:
    raw = json.loads(paths.DIRECTORY_PATH.read_text(encoding="utf-8"))
    acnur = next(s for s in raw["services"] if s["id"] == "acnur")
    del acnur["source"]
    acnur["offices"][0]["lat"] = 40.0
    broken = tmp_path / "directory.json"
    broken.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(DirectoryError) as info:
        load_directory(broken)
    assert "services entry 'acnur'" in str(info.value)
    assert "'source' is a required property" in str(info.value)


def test_unknown_hotline_reference_is_a_load_error(tmp_path: Path) -> None:
    raw = json.loads(paths.DIRECTORY_PATH.read_text(encoding="utf-8"))
    raw["services"][0]["hotline"] = "1819"
    broken = tmp_path / "directory.json"
    broken.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(DirectoryError, match="hotline '1819' is not in the table"):
        load_directory(broken)


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "directory.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DirectoryError, match="cannot be read"):
        load_directory(bad)
    shutil.rmtree(tmp_path)
