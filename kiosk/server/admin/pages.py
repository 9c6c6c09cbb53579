"""The back office's web pages under ``/admin/`` (Jinja2 templates, plain CSS, no script).

Every page but the sign-in needs the session cookie; every form carries a CSRF token and a post
without the right one changes nothing (403). A post answers with a redirect to a page (post,
redirect, get), whose message comes from a short code in the query (``?ok=saved``), never from
free text. Pages are sent with ``Cache-Control: no-store`` (they hold personal data), a CSP
without inline scripts, and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kiosk.server.admin import auth, i18n
from kiosk.server.admin.service import AdminService
from kiosk.server.common import ApiError
from kiosk.server.settings import DEFAULT_SETTINGS

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
FLEET_REFRESH = 15  # seconds between the fleet page's own reloads
PAGE_LIMIT = 500  # orders shown on one page
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
FILTERS = (
    "",
    "waiting",
    "overdue",
    "arrived",
    "shipped",
    "return_requested",
    "return_reviewed",
    "received",
    "returned_to_warehouse",
    "restocked",
)
_FILTER_STATUS = {"": None, "waiting": "arrived,overdue"}
SETTING_GROUPS = (
    ("group_store", ("store_name", "timezone")),
    ("group_pickup", ("overdue_days", "reminder_days", "member_code_only", "contact_lookup", "commission_enabled")),
    ("group_security", ("member_code_totp", "lookup_ttl_seconds", "lockout_attempts", "lockout_seconds")),
    ("group_codes", ("member_code_pattern", "parcel_code_pattern", "staff_badge_pattern")),
)
# message codes a redirect may carry (?ok=… / ?err=…): i18n keys
_OK = {
    "saved",
    "done",
    "notify_queued",
    "staff_added",
    "pin_reset_done",
    "deactivated",
    "activated",
    "alarm_acked",
    "mode_changed",
}
_ERR = {
    "wrong_status": "err_wrong_status",
    "no_contact": "err_no_contact",
    "order_not_found": "err_not_found",
    "staff_exists": "staff_exists",
    "badge_taken": "badge_taken",
    "staff_not_found": "err_not_found",
    "kiosk_not_found": "err_not_found",
}


@cache
def _env() -> Any:
    """The templates' environment, made when the first page is shown: a server whose back office
    nobody opens (the demo's) does not load jinja2."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["segment"] = lambda value: quote(str(value), safe="")  # one path segment: "/" too
    return env


_CSS = (HERE / "static" / "admin.css").read_bytes()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Taipei")


def _parse_iso(iso: str | None) -> datetime | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _safe_next(value: Any) -> str:
    """A place to go after signing in: only a path of this back office."""
    if isinstance(value, str) and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/orders"


class Pages:
    def __init__(self, service: AdminService):
        self.service = service
        self.store = service.store

    # ------------------------------------------------------------ page frame

    def lang(self, request: Request) -> str:
        return i18n.pick_lang(request.cookies.get(i18n.COOKIE))

    def session(self, request: Request) -> tuple[str, str] | None:
        """(admin username, session token) of a signed-in request."""
        token = request.cookies.get(auth.SESSION_COOKIE)
        admin = auth.admin_for_token(self.store, token)
        return (admin, token) if admin and token else None

    def render(self, request: Request, name: str, http_status: int = 200, **ctx: Any) -> HTMLResponse:
        lang = self.lang(request)
        cfg = self.service.settings()
        zone = _zone(cfg.get("timezone") or "Asia/Taipei")
        now = self.store.now()

        def t(key: str, **fields: Any) -> str:
            return i18n.translate(lang, key, **fields)

        def when(iso: str | None) -> str:
            dt = _parse_iso(iso)
            return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M") if dt else "—"

        def ago(iso: str | None) -> str:
            dt = _parse_iso(iso)
            if dt is None:
                return t("never")
            s = max(0, int(now - dt.timestamp()))
            if s < 120:
                return t("seconds_ago", n=s)
            if s < 7200:
                return t("minutes_ago", n=s // 60)
            if s < 172800:
                return t("hours_ago", n=s // 3600)
            return t("days_ago", n=s // 86400)

        flash = ctx.pop("flash", None)
        ok, err = request.query_params.get("ok"), request.query_params.get("err")
        if flash is None and ok in _OK:
            flash = {"kind": "ok", "text": t(ok)}
        elif flash is None and err in _ERR:
            flash = {"kind": "bad", "text": t(_ERR[err])}
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        base = {
            "t": t,
            "when": when,
            "ago": ago,
            "lang": lang,
            "static": "/admin/static",
            "here": here,
            "admin": None,
            "csrf": "",
            "refresh": None,
            "nav": "",
            "flash": flash,
            "store_name": cfg.get("store_name") or "",
        }
        base.update(ctx)
        html = _env().get_template(name).render(**base)
        return HTMLResponse(html, status_code=http_status, headers=_HEADERS)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})

    def to_login(self, request: Request) -> RedirectResponse:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return self.redirect("/admin/login?" + urlencode({"next": here}))

    def forbidden(self, request: Request, who: tuple[str, str] | None) -> HTMLResponse:
        lang = self.lang(request)
        return self.render(
            request,
            "error.html",
            http_status=403,
            admin=who[0] if who else None,
            csrf=auth.csrf_for(who[1]) if who else "",
            message=i18n.translate(lang, "csrf_failed"),
            back="/admin/",
            title=i18n.translate(lang, "error"),
        )

    async def form(self, request: Request) -> dict[str, str]:
        try:
            data = await request.form()
        except Exception:  # a body that is not a form: treat as empty (the CSRF check refuses it)
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}

    async def guarded(self, request: Request) -> tuple[tuple[str, str] | None, dict[str, str], Response | None]:
        """(session, form, refusal): a post needs a session and its CSRF token."""
        who = self.session(request)
        if who is None:
            return None, {}, self.to_login(request)
        form = await self.form(request)
        if not auth.csrf_ok(auth.csrf_for(who[1]), form.get("csrf_token")):
            return who, form, self.forbidden(request, who)
        return who, form, None

    def page(self, request: Request, who: tuple[str, str], name: str, **ctx: Any) -> HTMLResponse:
        return self.render(request, name, admin=who[0], csrf=auth.csrf_for(who[1]), **ctx)

    def section(self, request: Request, who: tuple[str, str], nav: str, **ctx: Any) -> HTMLResponse:
        """A signed-in page of the menu: template ``<nav>.html``, title ``<nav>_title``."""
        title = i18n.translate(self.lang(request), f"{nav}_title")
        return self.page(request, who, f"{nav}.html", nav=nav, title=title, **ctx)

    def invalid(self, request: Request, exc: ApiError) -> dict[str, str]:
        """The flash for a refused input."""
        return {"kind": "bad", "text": i18n.translate(self.lang(request), "err_invalid", what=exc.message)}


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """A back-office cookie: HTTP-only, same-site strict, under /admin, secure over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/admin",
    )


def pages_router(service: AdminService) -> APIRouter:
    p = Pages(service)
    router = APIRouter(prefix="/admin", include_in_schema=False)

    @router.get("/static/admin.css")
    async def css() -> Response:
        return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    @router.get("/lang/{code}")
    async def set_lang(code: str, request: Request) -> Response:
        response = p.redirect(_safe_next(request.query_params.get("next")))
        _set_cookie(response, request, i18n.COOKIE, i18n.pick_lang(code), 365 * 86400)
        return response

    @router.get("/")
    @router.get("")
    async def home(request: Request) -> Response:
        return p.redirect("/admin/orders" if p.session(request) else "/admin/login")

    # ------------------------------------------------------------ sign-in

    def login_page(request: Request, csrf: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        lang = p.lang(request)
        response = p.render(
            request,
            "login.html",
            http_status=status,
            csrf=csrf,
            title=i18n.translate(lang, "sign_in"),
            next=_safe_next(request.query_params.get("next") or ctx.pop("next", None)),
            **ctx,
        )
        _set_cookie(response, request, auth.LOGIN_CSRF_COOKIE, csrf, 3600)
        return response

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        if p.session(request):
            return p.redirect(_safe_next(request.query_params.get("next")))
        return login_page(request, request.cookies.get(auth.LOGIN_CSRF_COOKIE) or auth.new_login_csrf())

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await p.form(request)
        expected = request.cookies.get(auth.LOGIN_CSRF_COOKIE)
        if not auth.csrf_ok(expected, form.get("csrf_token")):
            return p.forbidden(request, None)
        lang = p.lang(request)
        try:
            answer = await run_in_threadpool(auth.login, p.store, form.get("username", ""), form.get("password", ""))
        except ApiError as exc:
            if exc.status == 429:
                text = i18n.translate(lang, "locked_out", seconds=exc.retry_after or 1)
            else:
                text = i18n.translate(lang, "bad_credentials")
            return login_page(
                request,
                expected or auth.new_login_csrf(),
                status=exc.status,
                flash={"kind": "bad", "text": text},
                username=form.get("username", "")[:128],
                next=form.get("next"),
            )
        response = p.redirect(_safe_next(form.get("next")))
        _set_cookie(response, request, auth.SESSION_COOKIE, answer["admin_token"], answer["expires_in"])
        response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/admin")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        who, _form, refusal = await p.guarded(request)
        if refusal is not None:
            return refusal
        await run_in_threadpool(auth.logout, p.store, who[1])
        response = p.redirect("/admin/login")
        response.delete_cookie(auth.SESSION_COOKIE, path="/admin")
        return response

    # ------------------------------------------------------------ orders

    @router.get("/orders")
    async def orders(request: Request) -> Response:
        who = p.session(request)
        if who is None:
            return p.to_login(request)
        lang = p.lang(request)
        status = request.query_params.get("status", "")
        status = status if status in FILTERS else ""
        q = request.query_params.get("q", "")[:200]
        try:
            rows = service.orders(_FILTER_STATUS.get(status, status), q or None, limit=PAGE_LIMIT)
            flash = None
        except ApiError as exc:
            rows, flash = [], p.invalid(request, exc)
        labels = [
            (f, i18n.translate(lang, "filter_all" if not f else "filter_waiting" if f == "waiting" else f"st_{f}"))
            for f in FILTERS
        ]
        return p.section(
            request,
            who,
            "orders",
            orders=rows,
            status=status,
            q=q,
            filters=labels,
            **({"flash": flash} if flash else {}),
        )

    @router.get("/orders/{order_id}")
    async def order(order_id: str, request: Request) -> Response:
        who = p.session(request)
        if who is None:
            return p.to_login(request)
        lang = p.lang(request)
        try:
            o = service.order(order_id, with_history=True)
        except ApiError as exc:
            return p.page(
                request,
                who,
                "error.html",
                http_status=exc.status if exc.status < 500 else 400,
                title=i18n.translate(lang, "error"),
                message=i18n.translate(lang, "err_not_found"),
                back=None,
            )
        names = service.staff_names()

        def staff_name(staff_id: str | None) -> str:
            return names.get(staff_id, staff_id) if staff_id else "—"

        history = _history(lang, o, staff_name)
        return p.page(
            request, who, "order.html", nav="orders", title=o["number"], o=o, history=history, staff_name=staff_name
        )

    async def order_action(request: Request, order_id: str, run: Any, ok: str) -> Response:
        _who, form, refusal = await p.guarded(request)
        if refusal is not None:
            return refusal
        back = "/admin/orders/" + quote(order_id, safe="")
        try:
            status, answer = await run_in_threadpool(run, form)
        except ApiError as exc:
            status, answer = exc.status, exc.body()
        if status >= 400:
            code = answer.get("error", {}).get("code", "")
            return p.redirect(back + "?" + urlencode({"err": code}))
        return p.redirect(back + "?" + urlencode({"ok": ok}))

    def return_step(suffix: str, call: Any, body_of: Any) -> None:
        """``POST /admin/orders/{id}/return<suffix>``: the form read by ``body_of``, then ``call``."""

        async def step(order_id: str, request: Request) -> Response:
            def run(form: dict[str, str]) -> tuple[int, Any]:
                return call(order_id, body_of(form), None, f"/api/v1/admin/orders/{order_id}/return{suffix}")

            return await order_action(request, order_id, run, "done")

        router.post("/orders/{order_id}/return" + suffix)(step)

    return_step("", service.request_return, _return_reason)
    return_step(
        "/review",
        service.review_return,
        lambda form: {"approved": _choice(form, "approved", ("true", "false")) == "true"},
    )
    return_step(
        "/complete",
        service.complete_return,
        lambda form: {"destination": _choice(form, "destination", ("warehouse", "store_stock"))},
    )

    @router.post("/orders/{order_id}/notify")
    async def do_notify(order_id: str, request: Request) -> Response:
        def run(_form: dict[str, str]) -> tuple[int, Any]:
            service.notify(order_id)
            return 202, {}

        return await order_action(request, order_id, run, "notify_queued")

    # ------------------------------------------------------------ settings

    def settings_page(request: Request, who: tuple[str, str], values: dict[str, Any], **ctx: Any) -> HTMLResponse:
        return p.section(request, who, "settings", settings=values, groups=SETTING_GROUPS, **ctx)

    @router.get("/settings")
    async def settings(request: Request) -> Response:
        who = p.session(request)
        if who is None:
            return p.to_login(request)
        return settings_page(request, who, service.settings())

    @router.post("/settings")
    async def save_settings(request: Request) -> Response:
        who, form, refusal = await p.guarded(request)
        if refusal is not None:
            return refusal
        current = service.settings()
        try:
            changes = _settings_from_form(form, current)
            await run_in_threadpool(service.patch_settings, changes)
        except ApiError as exc:
            shown = {**current, **{k: v for k, v in form.items() if k in current}}
            for key, default in DEFAULT_SETTINGS.items():
                if isinstance(default, bool):
                    shown[key] = form.get(key, str(current[key]).lower()) == "true"
            return settings_page(request, who, shown, http_status=422, flash=p.invalid(request, exc))
        return p.redirect("/admin/settings?ok=saved")

    # ------------------------------------------------------------ staff

    @router.get("/staff")
    async def staff(request: Request) -> Response:
        who = p.session(request)
        if who is None:
            return p.to_login(request)
        return p.section(request, who, "staff", staff=service.staff())

    async def staff_action(request: Request, run: Any) -> Response:
        who, form, refusal = await p.guarded(request)
        if refusal is not None:
            return refusal
        try:
            ok = await run_in_threadpool(run, form)
        except ApiError as exc:
            if exc.code in _ERR:
                return p.redirect("/admin/staff?" + urlencode({"err": exc.code}))
            return p.section(
                request, who, "staff", http_status=exc.status, staff=service.staff(), flash=p.invalid(request, exc)
            )
        return p.redirect("/admin/staff?ok=" + ok)

    @router.post("/staff")
    async def add_staff(request: Request) -> Response:
        def run(form: dict[str, str]) -> str:
            body = {k: form.get(k, "").strip() for k in ("name", "badge_code")}
            body["pin"] = form.get("pin", "")
            for key in ("name", "badge_code", "pin"):
                if not body[key]:
                    raise ApiError(422, "validation_error", f"{key} is required")
            if form.get("id", "").strip():
                body["id"] = form["id"].strip()
            service.add_staff(body)
            return "staff_added"

        return await staff_action(request, run)

    @router.post("/staff/{staff_id:code}")  # any id the API took, "/" (sent as %2F) too
    async def change_staff(staff_id: str, request: Request) -> Response:
        def run(form: dict[str, str]) -> str:
            if form.get("pin"):
                service.patch_staff(staff_id, {"pin": form["pin"]})
                return "pin_reset_done"
            if form.get("active") in ("true", "false"):
                active = form["active"] == "true"
                service.patch_staff(staff_id, {"active": active})
                return "activated" if active else "deactivated"
            raise ApiError(422, "validation_error", "give a new PIN or active")

        return await staff_action(request, run)

    # ------------------------------------------------------------ commission report

    @router.get("/report")
    async def report(request: Request) -> Response:
        who = p.session(request)
        if who is None:
            return p.to_login(request)
        d_from, d_to = service.default_period(p.store.now())
        d_from = request.query_params.get("from") or d_from
        d_to = request.query_params.get("to") or d_to
        flash = None
        try:
            rows = service.commission(d_from, d_to)
        except ApiError as exc:
            rows = []
            flash = p.invalid(request, exc)
            d_from, d_to = service.default_period(p.store.now())
        return p.section(
            request,
            who,
            "report",
            rows=rows,
            date_from=d_from,
            date_to=d_to,
            **({"flash": flash} if flash else {}),
        )

    @router.get("/report.csv")
    async def report_csv(request: Request) -> Response:
        who = p.session(request)
        if who is None:
            return p.to_login(request)
        d_from, d_to = request.query_params.get("from"), request.query_params.get("to")
        try:
            rows = service.commission(d_from, d_to)
        except ApiError as exc:
            return Response(exc.message, status_code=exc.status, media_type="text/plain; charset=utf-8")
        return Response(
            service.commission_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="commission-{d_from}-{d_to}.csv"',
                "Cache-Control": "no-store",
            },
        )

    # ------------------------------------------------------------ fleet

    @router.get("/fleet")
    async def fleet(request: Request) -> Response:
        who = p.session(request)
        if who is None:
            return p.to_login(request)
        kiosks = service.kiosks()
        alarms = [{"kiosk_id": k["id"], **a} for k in kiosks for a in k["alarms"]]
        return p.section(
            request,
            who,
            "fleet",
            kiosks=kiosks,
            alarms=alarms,
            events=service.events(limit=50),
            refresh=FLEET_REFRESH,
        )

    async def kiosk_action(request: Request, run: Any, ok: str) -> Response:
        who, form, refusal = await p.guarded(request)
        if refusal is not None:
            return refusal
        try:
            await run_in_threadpool(run, form, who[0])
        except ApiError as exc:
            return p.redirect("/admin/fleet?" + urlencode({"err": exc.code}))
        return p.redirect("/admin/fleet?ok=" + ok)

    @router.post("/kiosks/{kiosk_id}")
    async def set_mode(kiosk_id: str, request: Request) -> Response:
        return await kiosk_action(
            request, lambda form, _admin: service.set_mode(kiosk_id, form.get("mode")), "mode_changed"
        )

    @router.post("/kiosks/{kiosk_id}/alarms/ack")
    async def ack(kiosk_id: str, request: Request) -> Response:
        def run(form: dict[str, str], admin: str) -> None:
            door_text = form.get("door", "").strip()
            if door_text and not door_text.isdigit():
                raise ApiError(422, "validation_error", "door is a number")
            service.ack_alarm(kiosk_id, form.get("kind"), int(door_text) if door_text else None, admin)

        return await kiosk_action(request, run, "alarm_acked")

    return router


def _return_reason(form: dict[str, str]) -> dict[str, str]:
    """A return request's body: the reason when one is given."""
    return {"reason": form["reason"].strip()} if form.get("reason", "").strip() else {}


def _choice(form: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    """The form's ``name``, which must be one of ``choices`` (else a 422 naming them)."""
    if form.get(name) not in choices:
        raise ApiError(422, "validation_error", f"{name} is {' or '.join(choices)}")
    return form[name]


def _settings_from_form(form: dict[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """The settings a form names, typed like their defaults; only the changed ones."""
    changes: dict[str, Any] = {}
    for key, default in DEFAULT_SETTINGS.items():
        if key not in form:
            continue
        raw = form[key].strip()
        if isinstance(default, bool):
            if raw not in ("true", "false"):
                raise ApiError(422, "validation_error", f"{key} is yes or no")
            value: Any = raw == "true"
        elif isinstance(default, (int, float)):
            try:
                number = float(raw)
            except ValueError:
                raise ApiError(422, "validation_error", f"{key} is not a number") from None
            value = int(number) if number.is_integer() and abs(number) < 1e15 else number
        else:
            value = raw
        if value != current.get(key) or type(value) is not type(current.get(key)):
            changes[key] = value
    unknown = set(form) - set(DEFAULT_SETTINGS) - {"csrf_token"}
    if unknown:
        raise ApiError(422, "validation_error", f"unknown key {sorted(unknown)[0]!r}")
    return changes


def _history(lang: str, o: dict[str, Any], staff_name: Any) -> list[dict[str, Any]]:
    """The order's events and notices as lines, oldest first."""

    def t(key: str, **fields: Any) -> str:
        return i18n.translate(lang, key, **fields)

    lines = []
    events = o.get("history", [])
    if o.get("arrived_at") and not any(e["kind"] == "arrive" for e in events):  # a seed order: no event
        staff = staff_name(o.get("received_by"))
        lines.append({"at": o["arrived_at"], "text": t("ev_arrive", staff=staff), "where": ""})
    for e in events:
        staff = staff_name(e["staff_id"])
        kind = e["kind"]
        text = t(f"ev_{kind}", staff=staff) if f"ev_{kind}" in i18n.TEXT else kind
        if kind not in ("arrive", "pickup") and e["staff_id"]:
            text += f" · {staff}"
        kiosk = e.get("kiosk_id")
        where = t("by_admin") if kiosk in (None, "admin") else t("by_kiosk", kiosk=kiosk)
        lines.append({"at": e["at"], "text": text, "where": where})
    for n in o.get("notice_rows", []):
        text = t("ev_notice", kind=t(f"nk_{n['kind']}"), state=t(f"ns_{n['state']}"))
        lines.append({"at": n["sent_at"] or n["created_at"], "text": text, "where": ""})
    lines.sort(key=lambda line: line["at"] or "")
    return lines
