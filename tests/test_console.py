"""Console security and behaviour, through Flask's test client on the real SQLite store."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot import paths
from bot.config import load_config, new_data_key
from bot.console.auth import create_operator
from bot.runtime import Runtime
from bot.store.crypto import Crypto
from bot.store.records import Case, CaseMessage, Commit, new_id
from bot.store.sqlite import SQLiteStore
from bot.web import create_app

PASSWORD = "una clave bien larga 123"


@pytest.fixture
def app(tmp_path: Path):
    key = new_data_key()
    config = load_config({"DATA_DIR": str(tmp_path), "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU", "DATA_KEY": key,
                          "OPERATOR_HOURS": "mon-sun 00:00-23:59"})  # fmt: skip
    store = SQLiteStore(tmp_path / "bot.sqlite3", Crypto([key]))
    runtime = Runtime(config, store_override=store, senders_override={})
    create_operator(store, "ana", PASSWORD, "operator")
    create_operator(store, "bea", PASSWORD, "operator")
    create_operator(store, "sara", PASSWORD, "supervisor")
    application = create_app(runtime=runtime)
    application.config["TESTING"] = True
    yield application
    store.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf(client, path: str = "/console/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client, username: str = "ana", password: str = PASSWORD):
    token = csrf(client)
    return client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": token}
    )


def make_case(app, level: str = "high", text: str = "me quitaron el pasaporte") -> Case:
    store = app.extensions["bot"].store
    t = time.time()
    user = store.resolve_user([new_id("h")], t)
    store.put_contact(user, "telegram", "5555", t)
    case = Case(id=new_id("c"), user=user, level=level, indicators=["documents_withheld"],
                triggers={"documents_withheld": ["me quitaron el pasaporte"]}, lang="es",
                channel="telegram", region="Tumbes", opened_at=t, updated_at=t, expires_at=t,
                consent_scope="in_service", consent_at=t)  # fmt: skip
    store.commit(Commit(user, cases=[case], case_messages=[CaseMessage(case.id, t, "in", text)]), t)
    return case


def test_no_console_page_answers_without_login(app, client) -> None:
    case = make_case(app)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.endpoint == "console.login":
            continue
        url = rule.rule.replace("<case_id>", case.id).replace("<int:index>", "0")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            assert response.status_code in (302, 400, 401), (method, url, response.status_code)
            assert "pasaporte" not in response.get_data(as_text=True)


def test_login_then_queue_then_logout_by_post_only(app, client) -> None:
    assert login(client).status_code == 302
    case = make_case(app)
    page = client.get("/console/?tab=all").get_data(as_text=True)
    assert (case.id in page and "Le quitaron" in page) or "documentos" in page.lower()
    assert client.get("/console/logout").status_code == 405  # never logout on GET


def test_csrf_missing_is_400(app, client) -> None:
    login(client)
    case = make_case(app)
    assert client.post(f"/console/cases/{case.id}/claim").status_code == 400
    assert (
        client.post("/console/login", data={"username": "ana", "password": PASSWORD}).status_code
        == 400
    )


def test_script_in_a_message_renders_as_text(app, client) -> None:
    login(client)
    case = make_case(app, text="<script>alert('x')</script>")
    html = client.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert "<script>alert('x')</script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_two_simultaneous_claims_one_owner(app) -> None:
    case = make_case(app, "urgent")
    clients = []
    for name in ("ana", "bea"):
        c = app.test_client()
        login(c, name)
        clients.append((c, csrf(c, "/console/")))
    barrier, results = threading.Barrier(2), []

    def claim(c, token) -> None:
        barrier.wait()
        results.append(c.post(f"/console/cases/{case.id}/claim", data={"csrf_token": token}))

    threads = [threading.Thread(target=claim, args=pair) for pair in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    owner = app.extensions["bot"].store.get_case(case.id, time.time()).owner
    assert owner in ("ana", "bea")
    claims = [
        e
        for e in app.extensions["bot"].store.audit_log(time.time(), case.id)
        if e.action == "case.claim"
    ]
    assert len(claims) == 1


def test_operator_cannot_read_the_audit_log_supervisor_can(app, client) -> None:
    login(client, "ana")
    case = make_case(app)
    client.get(f"/console/cases/{case.id}")
    assert client.get("/console/audit").status_code == 403
    supervisor = app.test_client()
    login(supervisor, "sara")
    page = supervisor.get("/console/audit").get_data(as_text=True)
    assert "case.view" in page and "ana" in page


def test_cookie_stops_working_after_logout(app, client) -> None:
    login(client)
    cookie = client.get_cookie("session")
    assert client.get("/console/").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf(client, "/console/")})
    stolen = app.test_client()
    stolen.set_cookie("session", cookie.value)
    assert stolen.get("/console/").status_code == 302  # the old cookie is revoked


def test_login_is_rate_limited_with_one_generic_error(app, client) -> None:
    for _ in range(5):
        response = login(client, "ana", "wrong password here")
        assert response.status_code == 401
        assert "Usuario o contraseña incorrectos" in response.get_data(as_text=True)
    blocked = login(client, "ana", PASSWORD)  # right password, but too many failures
    assert blocked.status_code == 401 and "Usuario o contraseña incorrectos" in blocked.get_data(
        as_text=True
    )
    assert login(app.test_client(), "nobody", "whatever password").status_code == 401


def test_secure_cookie_flags(tmp_path: Path) -> None:
    config = load_config({"DATA_DIR": str(tmp_path), "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU", "DATA_KEY": new_data_key(),
                          "PUBLIC_BASE_URL": "https://bot.example.org"})  # fmt: skip
    application = create_app(config)
    assert application.config["SESSION_COOKIE_SECURE"] is True
    assert application.config["SESSION_COOKIE_HTTPONLY"] is True
    assert application.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_writing_to_the_person_goes_to_the_outbox_marked_and_audited(app, client) -> None:
    login(client)
    case = make_case(app)
    token = csrf(client, "/console/")
    client.post(
        f"/console/cases/{case.id}/message", data={"text": "Hola, soy Ana", "csrf_token": token}
    )
    store = app.extensions["bot"].store
    assert not any(
        m.direction == "operator" for m in store.case_messages(case.id, time.time())
    )  # not owner
    client.post(f"/console/cases/{case.id}/claim", data={"csrf_token": token})
    client.post(
        f"/console/cases/{case.id}/message", data={"text": "Hola, soy Ana", "csrf_token": token}
    )
    queued = [i for p in range(8) for i in store.outbox_batch(p, time.time())]
    assert len(queued) == 1 and queued[0].address == "5555"
    assert queued[0].message["text"].startswith("👤 Mensaje de una persona de nuestro equipo:")
    actions = [e.action for e in store.audit_log(time.time(), case.id)]
    assert "case.message" in actions and "case.claim" in actions


def test_a_person_who_said_stop_is_not_written_to_until_they_write(app, client) -> None:
    """Stop means stop: the case shows it, and the operator's message and the consent
    question are refused with the reason, until the person writes again."""
    from bot.engine.types import Inbound

    runtime = app.extensions["bot"]
    service, store = runtime.service, runtime.store
    for text in ("hola", "1", "me quitaron el pasaporte", "sí", "salir"):
        service.handle("telegram", "6060", Inbound(text=text, lang_hint="es"))
    [case] = store.list_cases(time.time())
    login(client)
    token = csrf(client, "/console/")
    client.post(f"/console/cases/{case.id}/claim", data={"csrf_token": token})
    page = client.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert "pidió que no le escribamos" in page and 'id="stopped"' in page
    refused = client.post(f"/console/cases/{case.id}/message", data={"text": "Hola", "csrf_token": token},
                          follow_redirects=True).get_data(as_text=True)  # fmt: skip
    client.post(f"/console/cases/{case.id}/ask-consent", data={"csrf_token": token})
    assert "cuando vuelva a escribir" in refused
    assert [i for p in range(8) for i in store.outbox_batch(p, time.time())] == []
    assert all(store.inbox_next(p, time.time()) is None for p in range(8))
    service.handle("telegram", "6060", Inbound(text="hola", lang_hint="es"))  # writes again
    client.post(f"/console/cases/{case.id}/message", data={"text": "Hola", "csrf_token": token})
    queued = [i for p in range(8) for i in store.outbox_batch(p, time.time())]
    assert len(queued) == 1 and queued[0].address == "6060"


def test_referral_record_needs_external_consent(app, client) -> None:
    login(client)
    case = make_case(app)
    _post(client, case.id, "claim")
    page = client.get(f"/console/cases/{case.id}/referral").get_data(as_text=True)
    assert "no ha dado su consentimiento" in page and "Puntos focales" not in page


def test_only_who_may_refer_sees_the_referral_record(app) -> None:
    """The review: POST was refused to a colleague, but GET showed the record, focal
    points' contacts included. Now both are the owner's or a supervisor's."""
    store = app.extensions["bot"].store
    case = make_case(app)
    ana, bea, sara = app.test_client(), app.test_client(), app.test_client()
    login(ana, "ana"), login(bea, "bea"), login(sara, "sara")
    _post(ana, case.id, "claim")
    url = f"/console/cases/{case.id}/referral"
    refused = bea.get(url)
    assert refused.status_code == 302 and "Ficha" not in refused.get_data(as_text=True)
    assert ana.get(url).status_code == 200 and sara.get(url).status_code == 200
    actions = [e.action for e in store.audit_log(time.time(), case_id=case.id)]
    assert "case.refused" in actions


def test_a_case_closes_only_with_a_listed_outcome_which_is_shown_and_audited(app) -> None:
    store = app.extensions["bot"].store
    case = make_case(app)
    ana = app.test_client()
    login(ana, "ana")
    _post(ana, case.id, "claim")
    _post(ana, case.id, "close", outcome="<b>bogus</b>")
    assert store.get_case(case.id, time.time()).state == "open"
    _post(ana, case.id, "close", outcome="Sin respuesta de la persona")
    assert store.get_case(case.id, time.time()).state == "closed"
    [entry] = [e for e in store.audit_log(time.time(), case_id=case.id) if e.action == "case.close"]
    assert entry.detail == "Sin respuesta de la persona"
    page = ana.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert "Sin respuesta de la persona" in page


def test_operators_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    env = {
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
        "DATA_KEY": new_data_key(),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run([sys.executable, "-m", "bot", "operators", "add", "rosa", "--role", "supervisor"],
                          input=PASSWORD + "\n", capture_output=True, text=True, cwd=paths.ROOT, env=env,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0 and "rosa" in done.stdout
    store = SQLiteStore(tmp_path / "bot.sqlite3", Crypto([env["DATA_KEY"]]))
    assert store.get_operator("rosa", time.time()).role == "supervisor"
    short = subprocess.run([sys.executable, "-m", "bot", "operators", "add", "x"], input="short\n",
                           capture_output=True, text=True, cwd=paths.ROOT, env=env, timeout=60)  # fmt: skip
    assert short.returncode == 2 and "at least 12" in short.stderr


def test_case_media_is_served_only_as_audio_or_image_and_audited(app, client) -> None:
    import base64
    import json
    import time

    from bot.store.records import CaseMessage, Commit

    case = make_case(app)
    store = app.extensions["bot"].store
    note = json.dumps({"mime": "audio/ogg", "data": base64.b64encode(b"OggS-voice").decode()})
    html = json.dumps({"mime": "text/html", "data": base64.b64encode(b"<script>").decode()})
    store.commit(Commit("t", case_messages=[CaseMessage(case.id, time.time(), "in", note, "audio"),
                                            CaseMessage(case.id, time.time() + 1, "in", html, "photo")]),
                 time.time())  # fmt: skip
    kinds = [m.kind for m in store.case_messages(case.id, time.time())]
    voice, fake = kinds.index("audio"), kinds.index("photo")
    login(client)
    first = client.get(f"/console/cases/{case.id}/media/{voice}")
    assert first.status_code == 200 and first.data == b"OggS-voice"
    assert first.mimetype == "audio/ogg" and first.headers["Cache-Control"] == "no-store"
    assert client.get(f"/console/cases/{case.id}/media/{fake}").status_code == 404  # not media
    assert client.get(f"/console/cases/{case.id}/media/{len(kinds)}").status_code == 404
    if voice:
        assert client.get(f"/console/cases/{case.id}/media/0").status_code == 404  # a text
    actions = [e.action for e in store.audit_log(time.time())]
    assert actions.count("case.media") == 1


def test_console_pages_are_never_cached_framed_or_scripted_from_elsewhere(app, client) -> None:
    login(client)
    case = make_case(app)
    for url in (
        "/console/",
        f"/console/cases/{case.id}",
        f"/console/cases/{case.id}/messages.json",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        nonce = csp.split("'nonce-")[1].split("'")[0]
        if url.endswith("json"):
            continue
        page = response.get_data(as_text=True)
        assert page.count("<script") == page.count(f'<script nonce="{nonce}"')
        assert ' style="' not in page and "onclick=" not in page


def _post(client, case_id: str, action: str, **form: str):
    token = csrf(client, f"/console/cases/{case_id}")
    return client.post(f"/console/cases/{case_id}/{action}", data={"csrf_token": token, **form})


def test_a_colleague_cannot_act_on_a_case_someone_else_holds(app) -> None:
    """The review's reproduction: B closes, notes, refers and writes on A's case; after
    A releases it, B claims the closed case and writes to the person."""
    store = app.extensions["bot"].store
    case = make_case(app)
    ana, bea, sara = app.test_client(), app.test_client(), app.test_client()
    login(ana, "ana"), login(bea, "bea"), login(sara, "sara")
    _post(ana, case.id, "claim")
    for action, form in (("close", {"outcome": "x"}), ("note", {"text": "curioso"}),
                         ("referral", {}), ("message", {"text": "hola"}),
                         ("ask-consent", {}), ("release", {}), ("transfer", {"to": "bea"})):  # fmt: skip
        _post(bea, case.id, action, **form)
        current = store.get_case(case.id, time.time())
        assert current.owner == "ana" and current.state == "open", action
    texts = [m.text for m in store.case_messages(case.id, time.time())]
    assert not any("curioso" in t or t == "hola" for t in texts)
    queued = [i.message for p in range(8) for i in store.outbox_batch(p, time.time())]
    assert not any("hola" in str(m) for m in queued)
    # a supervisor may reassign and close, but not write as the owner
    _post(sara, case.id, "message", text="soy supervisora")
    assert not any("soy supervisora" in m.text for m in store.case_messages(case.id, time.time()))
    _post(sara, case.id, "transfer", to="bea")
    assert store.get_case(case.id, time.time()).owner == "bea"
    _post(sara, case.id, "close", outcome="Derivada a otra organización")
    closed = store.get_case(case.id, time.time())
    assert closed.state == "closed"
    # closed: read-only for everyone, its owner included; nobody can claim it
    _post(bea, case.id, "release")
    _post(ana, case.id, "claim")
    _post(bea, case.id, "message", text="seguimos?")
    after = store.get_case(case.id, time.time())
    assert after.state == "closed" and after.owner == "bea"
    assert not any("seguimos" in m.text for m in store.case_messages(case.id, time.time()))
    # reopening is a supervisor's, audited, and hands the case to nobody
    assert _post(ana, case.id, "reopen").status_code == 403
    _post(sara, case.id, "reopen")
    reopened = store.get_case(case.id, time.time())
    assert reopened.state == "open" and reopened.owner is None
    actions = [e.action for e in store.audit_log(time.time(), case_id=case.id)]
    assert "case.reopen" in actions and actions.count("case.refused") >= 7


def test_closing_a_case_leaves_anonymous_counts_once(app) -> None:
    """What stays after CLOSED_CASE_DAYS: counts without an id, a word or the outcome
    text; a case reopened and closed again is still one case."""
    store = app.extensions["bot"].store
    case = make_case(app)
    sara = app.test_client()
    login(sara, "sara")
    _post(sara, case.id, "close", outcome="Derivada a otra organización")
    _post(sara, case.id, "reopen")
    _post(sara, case.id, "close", outcome="Transferida")
    [stats] = store.case_stats(time.time())
    assert stats.level == case.level and stats.indicators == sorted(case.indicators)
    assert stats.messages.get("in", 0) == len(
        [m for m in store.case_messages(case.id, time.time()) if m.direction == "in"]
    )
    record = repr(stats)
    assert case.id not in record and case.user not in record and "Derivada" not in record


def test_reading_the_messages_as_json_is_audited_but_an_idle_poll_is_not(app, client) -> None:
    store = app.extensions["bot"].store
    case = make_case(app)
    login(client)
    url = f"/console/cases/{case.id}/messages.json"
    assert client.get(url).get_json()["messages"]
    count = len(store.case_messages(case.id, time.time()))
    for _ in range(3):
        assert client.get(f"{url}?seen={count}").get_json() == {"unchanged": True, "count": count}
    actions = [e.action for e in store.audit_log(time.time(), case_id=case.id)]
    assert actions.count("case.read") == 1
    assert client.get(f"{url}?seen=0").get_json()["messages"]
    actions = [e.action for e in store.audit_log(time.time(), case_id=case.id)]
    assert actions.count("case.read") == 2


def test_a_stranger_cannot_lock_a_colleague_out_and_spoofed_addresses_do_not_help(app) -> None:
    """Five wrong passwords from one address lock that account for that address only;
    X-Forwarded-For is not believed without TRUSTED_PROXIES; lock events are audited."""
    store = app.extensions["bot"].store
    attacker, colleague = app.test_client(), app.test_client()
    for i in range(6):
        token = csrf(attacker)
        attacker.post("/console/login", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                      headers={"X-Forwarded-For": f"198.51.100.{i}"},
                      data={"username": "ana", "password": "wrong password", "csrf_token": token})  # fmt: skip
    token = csrf(attacker)
    blocked = attacker.post("/console/login", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                            data={"username": "ana", "password": PASSWORD, "csrf_token": token})  # fmt: skip
    assert blocked.status_code == 401  # the spoofed header changed nothing
    token = csrf(colleague)
    ok = colleague.post("/console/login", environ_base={"REMOTE_ADDR": "192.0.2.10"},
                        data={"username": "ana", "password": PASSWORD, "csrf_token": token})  # fmt: skip
    assert ok.status_code == 302  # ana herself, from her own address, still gets in
    locks = [e for e in store.audit_log(time.time()) if e.action == "login.locked"]
    assert len(locks) == 1 and "203.0.113" not in repr(locks)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_failed_logins_are_counted_across_processes_in_the_store(kind, make_store) -> None:
    from bot.console.auth import LoginLimiter
    from bot.store.crypto import Crypto

    store = make_store(kind, Crypto([new_data_key()]))
    first, second = LoginLimiter(store, "k" * 40), LoginLimiter(store, "k" * 40)  # two workers
    for limiter in (first, second, first, second):
        limiter.failed("ana", "203.0.113.9")
    assert not second.blocked("ana", "203.0.113.9")
    assert first.failed("ana", "203.0.113.9")  # the fifth, wherever it lands
    assert second.blocked("ana", "203.0.113.9") and not second.blocked("ana", "192.0.2.10")


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_failed_logins_from_one_ipv6_network_count_together(kind, make_store) -> None:
    """The review: 30 guesses from 30 addresses of one /64 never locked the account."""
    from bot.console.auth import LoginLimiter
    from bot.store.crypto import Crypto

    limiter = LoginLimiter(make_store(kind, Crypto([new_data_key()])), "k" * 40)
    for n in range(5):
        limiter.failed("ana", f"2001:db8:1:2::{n + 1:x}")
    assert limiter.blocked("ana", "2001:db8:1:2::ffff")
    assert not limiter.blocked("ana", "2001:db8:1:3::1")  # another network is not


@pytest.mark.parametrize("guess", ["changeme", "a", "secret", "dev"])
def test_a_session_cookie_forged_with_a_guessed_key_opens_nothing(app, guess: str) -> None:
    """The review forged a supervisor's cookie with the weak SECRET_KEY it guessed.
    Production refuses weak keys at start-up (tests/test_config.py); here, a real
    supervisor session re-signed with a guess is a stranger's, while the same session
    re-signed with the real key opens the audit log (so the test can fail)."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    def signer(secret: str):
        holder = Flask("signer")
        holder.secret_key = secret
        return SecureCookieSessionInterface().get_signing_serializer(holder)

    name = app.config["SESSION_COOKIE_NAME"]
    sara = app.test_client()
    login(sara, "sara")
    payload = signer(app.secret_key).loads(sara.get_cookie(name).value)
    for secret, expected in ((guess, 302), (app.secret_key, 200)):
        client = app.test_client()
        client.set_cookie(name, signer(secret).dumps(payload))
        answer = client.get("/console/audit")
        assert answer.status_code == expected, secret
    assert "/console/login" in app.test_client().get("/console/audit").headers["Location"]


def test_a_file_that_is_not_a_photo_or_a_sound_is_a_download_in_a_sandbox(app, client) -> None:
    """The review: an SVG "photo" was served inline from the console's origin, a live
    document (only the CSP stopped its script)."""
    import base64
    import json

    from bot.store.records import CaseMessage, Commit

    case = make_case(app)
    store = app.extensions["bot"].store
    svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>x</script></svg>"
    items = [("image/svg+xml", svg), ("image/jpeg", b"\xff\xd8jpeg"),
             ("image/jpeg\r\nX-Evil: 1", b"\xff\xd8jpeg")]  # fmt: skip
    store.commit(Commit("t", case_messages=[
        CaseMessage(case.id, time.time() + n, "in",
                    json.dumps({"mime": mime, "data": base64.b64encode(data).decode()}), "photo")
        for n, (mime, data) in enumerate(items)]), time.time())  # fmt: skip
    login(client)
    kinds = [m.kind for m in store.case_messages(case.id, time.time())]
    first = kinds.index("photo")
    drawing = client.get(f"/console/cases/{case.id}/media/{first}")
    assert drawing.status_code == 200 and drawing.headers["Content-Disposition"] == "attachment"
    assert drawing.mimetype == "application/octet-stream"
    assert "sandbox" in drawing.headers["Content-Security-Policy"]
    photo = client.get(f"/console/cases/{case.id}/media/{first + 1}")
    assert photo.headers["Content-Disposition"] == "inline" and photo.mimetype == "image/jpeg"
    forged = client.get(f"/console/cases/{case.id}/media/{first + 2}")  # was a 500, forever
    assert forged.status_code == 200 and "X-Evil" not in forged.headers
    assert forged.mimetype == "application/octet-stream"


def _session_signer(app, signed_at: float | None = None):
    """Flask's own cookie serializer, optionally signing as if at `signed_at`."""
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import TimestampSigner

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(signed_at) if signed_at is not None else super().get_timestamp()

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    serializer.signer = Then
    return serializer


def test_a_console_session_ends_with_the_shift(app) -> None:
    """The review: a session cookie was honoured for 31 days. Twelve hours now."""
    name = app.config["SESSION_COOKIE_NAME"]
    sara = app.test_client()
    login(sara, "sara")
    payload = _session_signer(app).loads(sara.get_cookie(name).value)
    for hours, expected in ((11, 200), (13, 302)):
        client = app.test_client()
        old = _session_signer(app, time.time() - hours * 3600).dumps(payload)
        client.set_cookie(name, old)
        assert client.get("/console/audit").status_code == expected, hours


def test_login_starts_a_new_session_and_csrf_token(app) -> None:
    """The review: the anonymous session's CSRF token carried over into the logged-in
    one, so a token planted before login (cookie tossing) stayed valid after it."""
    name = app.config["SESSION_COOKIE_NAME"]
    ana = app.test_client()
    csrf(ana)
    before = _session_signer(app).loads(ana.get_cookie(name).value)
    login(ana, "ana")
    ana.get("/console/")
    after = _session_signer(app).loads(ana.get_cookie(name).value)
    assert before.get("csrf_token") and after.get("csrf_token")
    assert before["csrf_token"] != after["csrf_token"]


def test_operator_text_loses_control_characters_and_a_long_note_is_refused(app) -> None:
    """The review: NUL and CR reached the person's phone; a note over 2000 characters
    was cut without a word."""
    store = app.extensions["bot"].store
    case = make_case(app)
    ana = app.test_client()
    login(ana, "ana")
    _post(ana, case.id, "claim")
    _post(ana, case.id, "note", text="x" * 2001)
    assert not [m for m in store.case_messages(case.id, time.time()) if m.direction == "note"]
    _post(ana, case.id, "note", text="llamar\x00 mañana\r\nsin falta 👩‍⚕️")
    [note] = [m for m in store.case_messages(case.id, time.time()) if m.direction == "note"]
    assert note.text == "ana: llamar mañana\nsin falta 👩‍⚕️"


def test_only_the_console_reads_or_writes_its_cookie(app, client) -> None:
    """Webhooks are authenticated by signatures and /healthz by nothing: an operator's
    cookie sent there is neither verified nor refreshed (ConsoleSessions)."""
    login(client)
    page = client.get("/console/")
    assert page.status_code == 200 and "Cookie" in page.headers.get("Vary", "")
    for response in (client.get("/healthz"), client.post("/webhooks/telegram", json={})):
        assert "Set-Cookie" not in response.headers, response.status_code
        assert "Cookie" not in response.headers.get("Vary", ""), response.status_code
    assert client.get("/console/").status_code == 200  # the console session is intact
