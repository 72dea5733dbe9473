"""The operator console: queue, case view, messages to the person, referral, audit.

Server-rendered, no build step. Every form carries a CSRF token; every page needs a
login; every view of a case, message, claim, transfer, export and closure is written
to the audit log, which only supervisors can read.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from bot.cases.closing import closing_stats
from bot.cases.events import MEDIA_KINDS
from bot.channels.media import KINDS as MEDIA_TYPES
from bot.channels.whatsapp import within_window
from bot.console import PREFIX, auth
from bot.conversation import inbound_to_dict, outbound_to_dict, stopped
from bot.engine.i18n import N_
from bot.engine.types import Inbound
from bot.hours import LIMA
from bot.risk.codes import PLAIN_ES
from bot.store.records import AuditEntry, Case, CaseMessage, Commit, OutboxItem

bp = Blueprint("console", __name__, url_prefix=PREFIX, template_folder="templates")


@bp.before_request
def _nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


@bp.app_context_processor
def _csp_nonce() -> dict[str, Any]:
    return {"csp_nonce": lambda: g.get("csp_nonce", "")}


@bp.after_request
def _headers(response: Response) -> Response:
    """Nothing of a case stays in a cache, no page can be framed by another site, and
    only the page's own script and style run (a nonce per response)."""
    nonce = g.get("csp_nonce", "")
    response.headers.setdefault(  # a media file sets its own, stricter one
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "img-src 'self'; media-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'",
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


LEVEL_ES = {"urgent": "Urgente", "high": "Alta", "normal": "Normal"}
RESPONSE_TARGET = {"urgent": 15 * 60, "high": 4 * 3600, "normal": 24 * 3600}
# How a case ends (the close form offers exactly these; the audit records which).
OUTCOMES = (
    "Orientada; no requiere más",
    "Derivada a otra organización",
    "Transferida",
    "Sin respuesta de la persona",
    "La persona pidió cerrar",
)
# Media a browser may show inline: photos and sounds the platforms deliver. Anything else
# a person's file claims to be (image/svg+xml carries scripts) is a download.
INLINE_MEDIA = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "audio/ogg",
                          "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr", "audio/wav",
                          "video/mp4"})  # fmt: skip
REFERRAL_DEADLINE = {"urgent": 24 * 3600, "high": 3 * 86400, "normal": 7 * 86400}
REFERRAL_DEADLINE_ES = {
    "urgent": "llamar ya; ficha en 24 h",
    "high": "ficha en 3 días",
    "normal": "ficha en 1 semana",
}
OPERATOR_MARK = N_("Mensaje de una persona de nuestro equipo:")
# Canned replies are flow nodes: already sourced, translated, numbers from the table.
CANNED = (
    ("emergency", "Números de emergencia"),
    ("no_report.needs", "Ayuda sin denunciar"),
    ("reflection", "Periodo de reflexión"),
    ("rights.non_punishment", "No punibilidad"),
    ("rights.health", "Salud sin documentos"),
    ("rights.legal", "Abogado gratis"),
    ("children.unaccompanied", "Niña o niño solo"),
)
CONSENT_NODE = "referral.consent"
WORDS_ES = {
    "open": "abierto", "closed": "cerrado", "asked": "se le preguntó", "notice": "aviso de urgencia",
    "request": "pidió hablar con una persona", "withdrawn": "lo retiró", "operator": "registrado por el equipo",
    "no_complaint": "no quiere denunciar", "external_consent_asked": "se pidió consentimiento para derivar",
    "referral_started": "derivación iniciada", "consent_withdrawn": "retiró el consentimiento",
    "consent_asked": "no aceptó que leamos sus mensajes",
    "stopped": "pidió que no le escribamos", "resumed": "volvió a escribir",
    "level_raised": "subió el nivel de riesgo", "not_safe_to_write": "dijo que no puede escribir con tranquilidad",
    "wants_to_report": "miró cómo denunciar", "reflection_period": "miró el periodo de reflexión",
    "helping_someone": "escribe por otra persona", "child_information": "miró la información para niñas, niños y adolescentes",
    "services": "buscó servicios cerca", "screening": "empezó las preguntas cortas",
    "urgent": "urgente", "high": "alta", "normal": "normal",
}  # fmt: skip
STOPPED_ES = "La persona pidió que no le escribamos. Podrás escribirle cuando vuelva a escribir."


@bp.app_template_filter("es")
def in_spanish(word: str | None) -> str:
    return WORDS_ES.get(word or "", word or "")


def rt() -> Any:
    return current_app.extensions["bot"]


def now() -> float:
    return time.time()


def audit(action: str, case_id: str | None = None, detail: str = "") -> AuditEntry:
    return AuditEntry(now(), current_user.username, action, case_id, detail)


def record(*entries: AuditEntry) -> None:
    rt().store.commit(Commit("console", audit=list(entries)), now())


def ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60:02d} min" if hours < 48 else f"{hours // 24} días"


def answered(case: Case) -> bool:
    return any(c.get("choice") == "operator_replied" for c in case.choices)


def present(case: Case) -> dict[str, Any]:
    """What the queue shows of a case: codes in plain words, no message text."""
    t = now()
    due = case.opened_at + RESPONSE_TARGET.get(case.level, 86400)
    if case.channel == "whatsapp" and case.level == "high":
        last = rt().store.last_inbound(case.user, t)
        if last:
            due = min(due, last + 24 * 3600)  # inside WhatsApp's window
    referral = next((c for c in case.choices if c.get("choice") == "referral_started"), None)
    referral_due = referral["at"] + REFERRAL_DEADLINE[case.level] if referral else None
    return {
        "id": case.id,
        "level": case.level,
        "level_es": LEVEL_ES.get(case.level, case.level),
        "indicators": [PLAIN_ES.get(code, code) for code in case.indicators],
        "lang": case.lang,
        "channel": case.channel,
        "region": case.region or "—",
        "waiting": ago(t - case.opened_at),
        "opened_at": case.opened_at,
        "owner": case.owner,
        "state": case.state,
        "target": ago(max(0, due - t)) if t < due else "vencido",
        "overdue": case.state == "open" and not answered(case) and t > due,
        "referral": REFERRAL_DEADLINE_ES[case.level] if referral else None,
        "referral_overdue": bool(referral_due and t > referral_due),
        "deleted": case.deleted_by_request,
        "requested_human": case.requested_human,
        "stopped": stopped(case),
    }


def queue_cases(tab: str) -> list[Case]:
    store, t = rt().store, now()
    if tab == "mine":
        return store.list_cases(t, owner=current_user.username)
    if tab == "all":
        return store.list_cases(t)
    if tab == "closed":
        return store.list_cases(t, state="closed")
    return store.list_cases(t, unassigned=True)


def get_case_or_404(case_id: str) -> Case:
    case = rt().store.get_case(case_id, now())
    if case is None:
        abort(404)
    return case


def person_translator(case: Case) -> Any:
    return rt().engine.translator(case.lang)


def overnight_backlog() -> int:
    """Open, unassigned cases that arrived while nobody was on duty."""
    hours = rt().engine_hours
    cases = rt().store.list_cases(now(), unassigned=True)
    return sum(1 for c in cases if not hours.is_open(datetime.fromtimestamp(c.opened_at, UTC)))


# ---------------------------------------------------------------- login/out
@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("console/login.html")
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    client = request.remote_addr or "?"  # behind TRUSTED_PROXIES proxies, the real client
    limiter: auth.LoginLimiter = current_app.extensions["console_limiter"]
    if limiter.blocked(username, client):
        operator = None
    else:
        operator = auth.verify(rt().store, username, password)
    if operator is None:
        if limiter.failed(username, client):  # supervisors see it; no address is kept
            record(AuditEntry(now(), "console", "login.locked", None, f"account={username[:40]}"))
        flash(
            "Usuario o contraseña incorrectos, o demasiados intentos. Espera y vuelve a intentar."
        )
        return render_template("console/login.html"), 401
    # A fresh session (and CSRF token) at login: nothing planted before it carries over.
    session.clear()
    login_user(auth.User(operator))
    rt().store.put_operator(operator, now())  # extends the account's expiry
    record(AuditEntry(now(), operator.username, "login"))
    return redirect(url_for("console.queue"))


@bp.post("/logout")
@login_required
def logout() -> Any:
    operator = current_user.operator
    auth.revoke(rt().store, operator)  # every cookie issued before stops working
    record(audit("logout"))
    logout_user()
    return redirect(url_for("console.login"))


# ---------------------------------------------------------------- queue
@bp.get("/")
@login_required
def queue() -> Any:
    tab = request.args.get("tab", "unassigned")
    cases = [present(c) for c in queue_cases(tab)]
    backlog = overnight_backlog() if current_user.supervisor else None
    return render_template("console/queue.html", cases=cases, tab=tab, backlog=backlog)


@bp.get("/queue.json")
@login_required
def queue_json() -> Any:
    tab = request.args.get("tab", "unassigned")
    return jsonify(cases=[present(c) for c in queue_cases(tab)])


# ---------------------------------------------------------------- case view
@bp.get("/cases/<case_id>")
@login_required
def case_view(case_id: str) -> Any:
    case = get_case_or_404(case_id)
    store, t = rt().store, now()
    messages = store.case_messages(case.id, t)
    consents = store.consents(case.user, t)
    record(audit("case.view", case.id))
    tr = person_translator(case)
    canned = [(node, label, tr(rt().engine.flows.node(node).pages[0])) for node, label in CANNED]
    operators = [o.username for o in store.list_operators(t) if o.username != current_user.username]
    return render_template(
        "console/case.html",
        case=case,
        view=present(case),
        messages=messages,
        consents=consents,
        triggers={PLAIN_ES.get(k, k): v for k, v in case.triggers.items()},
        canned=canned,
        operators=operators,
        outcomes=OUTCOMES,
        external=[c for c in consents if c.scope == "external"],
        fmt=lambda ts: datetime.fromtimestamp(ts, LIMA).strftime("%d/%m %H:%M"),
    )


@bp.get("/cases/<case_id>/messages.json")
@login_required
def case_messages_json(case_id: str) -> Any:
    case = get_case_or_404(case_id)
    items = rt().store.case_messages(case.id, now())
    seen = request.args.get("seen", type=int)
    if seen is not None and seen == len(items):
        return jsonify(unchanged=True, count=len(items))  # the page's poll: nothing new read
    record(audit("case.read", case.id))  # every read of the messages leaves a trace
    return jsonify(messages=[_message_json(case, i, m) for i, m in enumerate(items)])


def _message_json(case: Case, index: int, m: Any) -> dict[str, Any]:
    item = {"at": m.at, "direction": m.direction, "text": m.text, "kind": m.kind}
    if m.kind in MEDIA_KINDS:  # the file itself only through its audited URL
        item.update(text="", media_url=url_for("console.case_media", case_id=case.id, index=index))
    return item


@bp.get("/cases/<case_id>/media/<int:index>")
@login_required
def case_media(case_id: str, index: int) -> Any:
    """A voice note or photo the person sent within in-service consent: decrypted for
    this response only, never cached, every view audited."""
    case = get_case_or_404(case_id)
    items = rt().store.case_messages(case.id, now())
    if not 0 <= index < len(items) or items[index].kind not in MEDIA_KINDS:
        abort(404)
    stored = json.loads(items[index].text)
    mime = str(stored.get("mime") or "").split(";")[0].strip().lower()
    if not mime.startswith(MEDIA_TYPES):
        abort(404)
    record(audit("case.media", case.id))
    # Only a type from the short list reaches a header as it was declared: a person's
    # "image/jpeg\r\nX-Evil: 1" made every view of that file a 500.
    inline = mime in INLINE_MEDIA
    response = Response(
        base64.b64decode(stored["data"]), mimetype=mime if inline else "application/octet-stream"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Shown in the page only as what it claims to be, a photo or a sound; anything else
    # (an SVG with a script, a PDF) is a download, and never a document of this origin.
    response.headers["Content-Disposition"] = "inline" if inline else "attachment"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; sandbox; frame-ancestors 'none'"
    )
    return response


NOTE_CHARS = 2000


def _printable(text: str) -> str:
    """What an operator typed, without control characters (a NUL or a stray escape
    reaches the person's phone as garbage); line breaks and tabs stay."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


def _may_refer(case: Case) -> None:
    """The referral record (GET) is for whoever may refer (POST): its owner or a
    supervisor, also once closed. A colleague reading the case does not get the focal
    points' contacts with it."""
    if case.owner == current_user.username or current_user.supervisor:
        return
    record(audit("case.refused", case.id))
    flash("La derivación la hace quien atiende el caso.")
    abort(redirect(url_for("console.case_view", case_id=case.id)))


def _may_act(case: Case, owner_only: bool = False) -> None:
    """Who may act on a case: its owner; for supervisory actions (transfer, release,
    close, notes, referral) also a supervisor. A closed case is read-only for everyone;
    an unowned one can only be claimed. Anything else goes back to the case page."""
    if case.state != "open":
        refusal = "Este caso está cerrado: solo se puede leer."
    elif case.owner == current_user.username:
        return
    elif current_user.supervisor and not owner_only:
        return
    elif case.owner is None:
        refusal = "Primero toma el caso."
    else:
        refusal = "Este caso lo atiende otra persona."
    record(audit("case.refused", case.id))
    flash(refusal)
    abort(redirect(url_for("console.case_view", case_id=case.id)))


@bp.post("/cases/<case_id>/claim")
@login_required
def claim(case_id: str) -> Any:
    case = get_case_or_404(case_id)
    if case.state != "open":
        flash("Este caso está cerrado: solo se puede leer.")
    elif rt().store.claim_case(case_id, current_user.username, now(), expected=None):
        record(audit("case.claim", case_id))
    else:
        flash("Otra persona tomó este caso.")
    return redirect(url_for("console.case_view", case_id=case_id))


@bp.post("/cases/<case_id>/release")
@login_required
def release(case_id: str) -> Any:
    case = get_case_or_404(case_id)
    _may_act(case)
    case.owner, case.updated_at = None, now()
    rt().store.commit(
        Commit("console", cases=[case], audit=[audit("case.release", case_id)]), now()
    )
    return redirect(url_for("console.queue"))


@bp.post("/cases/<case_id>/transfer")
@login_required
def transfer(case_id: str) -> Any:
    to = request.form.get("to") or ""
    if rt().store.get_operator(to, now()) is None:
        abort(400)
    case = get_case_or_404(case_id)
    _may_act(case)  # the owner, or a supervisor reassigning it
    if rt().store.claim_case(case_id, to, now(), expected=case.owner):
        record(audit("case.transfer", case_id, f"to={to}"))
    else:
        flash("No se pudo transferir: el caso ya no es tuyo.")
    return redirect(url_for("console.queue"))


def _send(case: Case, message: dict[str, Any], logged: str) -> bool:
    store, t = rt().store, now()
    if stopped(case):
        flash(STOPPED_ES)
        return False
    contact = store.get_contact(case.user, t)
    if contact is None:
        flash("No hay forma de escribir a esta persona (sus datos se borraron o expiraron).")
        return False
    channel, address = contact
    if channel == "whatsapp" and not within_window(store.last_inbound(case.user, t), t):
        template = rt().config.twilio_operator_template_sid
        if not template:
            flash("Fuera de la ventana de 24 h de WhatsApp y sin plantilla configurada.")
            return False
        message = {"text": "", "content_sid": template, "kind": "operator"}
        logged = "(plantilla neutra enviada: fuera de la ventana de 24 h de WhatsApp)"
    partition = rt().service.partition(channel, address)
    case.updated_at = t
    if not any(c.get("choice") == "operator_replied" for c in case.choices):
        case.choices.append({"choice": "operator_replied", "at": t})
    store.commit(
        Commit(
            "console",
            cases=[case],
            case_messages=[CaseMessage(case.id, t, "operator", logged)],
            outbox=[OutboxItem("", partition, channel, address, message, t)],
            audit=[audit("case.message", case.id)],
        ),
        t,
    )
    return True


@bp.post("/cases/<case_id>/message")
@login_required
def message(case_id: str) -> Any:
    case = get_case_or_404(case_id)
    _may_act(case, owner_only=True)
    text = _printable(request.form.get("text") or "")
    if not text or len(text) > 1500:
        flash("Escribe un mensaje (máximo 1500 caracteres).")
    else:
        marked = f"👤 {person_translator(case)(OPERATOR_MARK)}\n{text}"
        from bot.engine.types import Outbound

        _send(case, outbound_to_dict(Outbound(marked), kind="operator"), text)
    return redirect(url_for("console.case_view", case_id=case_id))


@bp.post("/cases/<case_id>/note")
@login_required
def note(case_id: str) -> Any:
    case = get_case_or_404(case_id)
    _may_act(case)
    text = _printable(request.form.get("text") or "")
    if len(text) > NOTE_CHARS:
        flash(f"La nota tiene más de {NOTE_CHARS} caracteres: acórtala (no se guardó).")
    elif text:
        rt().store.commit(
            Commit(
                "console",
                case_messages=[
                    CaseMessage(case.id, now(), "note", f"{current_user.username}: {text}")
                ],
                audit=[audit("case.note", case.id)],
            ),
            now(),
        )
    return redirect(url_for("console.case_view", case_id=case_id))


@bp.post("/cases/<case_id>/ask-consent")
@login_required
def ask_consent(case_id: str) -> Any:
    """Ask the person, through the bot, whether we may share with another organisation."""
    case = get_case_or_404(case_id)
    _may_act(case, owner_only=True)
    store, t = rt().store, now()
    contact = store.get_contact(case.user, t)
    if stopped(case):
        flash(STOPPED_ES)  # the question would reach the person: stop means stop
    elif contact is None:
        flash("No hay forma de escribir a esta persona.")
    else:
        channel, address = contact
        partition = rt().service.partition(channel, address)
        # Through the person's own inbox: the bot shows the question and records the answer.
        inbound = inbound_to_dict(Inbound(payload=f"go:{CONSENT_NODE}", internal=True))
        store.inbox_put(partition, channel, address, inbound, None, t)
        case.choices.append({"choice": "external_consent_asked", "at": t})
        store.commit(Commit("console", cases=[case], audit=[audit("consent.ask", case.id)]), t)
    return redirect(url_for("console.case_view", case_id=case_id))


@bp.post("/cases/<case_id>/close")
@login_required
def close(case_id: str) -> Any:
    case = get_case_or_404(case_id)
    _may_act(case)
    outcome = (request.form.get("outcome") or "").strip()
    if outcome not in OUTCOMES:
        flash("Indica el resultado para cerrar el caso.")
        return redirect(url_for("console.case_view", case_id=case_id))
    store, t = rt().store, now()
    case.state, case.closed_at, case.outcome, case.updated_at = "closed", t, outcome, t
    stats = []
    if not case.counted:  # once per case: a reopened case closed again is not counted twice
        stats.append(closing_stats(case, store.case_messages(case.id, t), t))
        case.counted = True
    store.commit(
        Commit("console", cases=[case], audit=[audit("case.close", case.id, outcome)], stats=stats),
        t,
    )
    return redirect(url_for("console.queue"))


# ---------------------------------------------------------------- referral
@bp.route("/cases/<case_id>/referral", methods=["GET", "POST"])
@login_required
def referral(case_id: str) -> Any:
    case = get_case_or_404(case_id)
    store, t = rt().store, now()
    consents = store.consents(case.user, t)
    external = [c for c in consents if c.scope == "external"]
    granted = bool(external) and external[-1].granted
    _may_refer(case)  # the record names the focal points: the owner's, or a supervisor's
    if request.method == "POST":
        _may_act(case)
        if not any(c.get("choice") == "referral_started" for c in case.choices):
            case.choices.append({"choice": "referral_started", "at": t})
            store.commit(
                Commit("console", cases=[case], audit=[audit("referral.start", case.id)]), t
            )
        return redirect(url_for("console.referral", case_id=case_id))
    record(audit("case.export", case.id, "referral record"))
    protected = request.args.get("protection") == "1"
    services = [s for s in rt().directory.services if s.kind != "hotline"]
    return render_template(
        "console/referral.html",
        case=case,
        view=present(case),
        granted=granted,
        consent=external[-1] if external else None,
        lead="ACNUR" if protected else "OIM",
        protected=protected,
        services=services,
        needs=[PLAIN_ES.get(code, code) for code in case.indicators],
        transfer=request.args.get("kind") == "transfer",
        today=datetime.now(LIMA).strftime("%d/%m/%Y"),
        fmt=lambda ts: datetime.fromtimestamp(ts, LIMA).strftime("%d/%m/%Y %H:%M"),
    )


@bp.post("/cases/<case_id>/reopen")
@login_required
def reopen(case_id: str) -> Any:
    """A supervisor reopens a closed case: audited, unowned, and nobody is written to
    until someone claims it and decides to."""
    case = get_case_or_404(case_id)
    if not current_user.supervisor or case.state != "closed":
        record(audit("case.refused", case.id))
        abort(403)
    t = now()
    case.state, case.closed_at, case.owner, case.updated_at = "open", None, None, t
    case.choices.append({"choice": "reopened", "at": t})
    rt().store.commit(Commit("console", cases=[case], audit=[audit("case.reopen", case.id)]), t)
    return redirect(url_for("console.case_view", case_id=case_id))


# ---------------------------------------------------------------- audit
@bp.get("/audit")
@login_required
def audit_log() -> Any:
    if not current_user.supervisor:
        abort(403)
    entries = rt().store.audit_log(now(), limit=500)
    record(audit("audit.view"))
    return render_template(
        "console/audit.html",
        entries=entries,
        fmt=lambda ts: datetime.fromtimestamp(ts, LIMA).strftime("%d/%m/%Y %H:%M:%S"),
    )
