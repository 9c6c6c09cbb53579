"""The HTTP face of the reference server: FastAPI routes for every call of docs/api.md.

Routes are thin: parse (pydantic models, strict types, unknown fields refused), check tokens,
call :class:`kiosk.server.store.Store`, answer. Every refusal, FastAPI's own included, uses the
contract's shape ``{"error": {"code", "message"}}``.

Threads vs event loop (measured with benchmarks/server_bench.py): reads that take well under a
millisecond (token checks, settings, parcel and order lists) are ``async def`` and run on the
event loop one after another, which keeps their tail latency low under concurrency. A look-up
(one short unsynced write, docs/api.md r2) runs there too while no other writer holds the lock, else
in the threadpool. Writes that wait for an fsync and staff login (which runs the PIN KDF) are
plain ``def`` and run in the threadpool, so they never stall the loop.

Hostile input (docs/api.md r2) is refused before any route: JSON nested deeper than 32 levels (counted
before parsing), lone surrogates anywhere in the body, paths and queries that are not UTF-8;
more than ``Control.max_in_flight`` requests at once are a contract-shaped 503 ``busy``. Header
and body read time-outs live in the HTTP protocol (:mod:`kiosk.server.http`).

Uvicorn's access log is off: its request lines would hold package codes from the path. The
store logs ``event=...`` lines without personal data instead.
"""

import asyncio
import json
import logging
import re
import urllib.parse
from collections.abc import Callable
from typing import Annotated, Any, Literal, NamedTuple

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk import __version__
from kiosk.journal import log_event
from kiosk.server.common import ApiError, Caller, check_code, health, is_bad_text
from kiosk.server.kiosks import EVENT_KINDS
from kiosk.server.store import Store, WouldBlock

logger = logging.getLogger(__name__)

API = "/api/v1"


class _CodeConvertor(Convertor):
    """A package code in the path: any characters, ``/`` (sent as ``%2F``) and control characters
    included, so the store can answer ``parcel_not_found`` or ``bad_input`` instead of the router
    answering a bare 404."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("code", _CodeConvertor())
MAX_BODY = 64 * 1024
MAX_DEPTH = 32  # docs/api.md r2: the top-level value is level 1
MAX_IN_FLIGHT = 64  # requests served at once by one process; more are 503 busy (not /health)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_DRAIN_LIMIT = 8 * 1024 * 1024


GARBAGE_BODIES = (
    (b"<html><body>502 Bad Gateway (nginx)</body></html>", b"text/html"),
    (b'{"unexpected": [1, 2, 3]}', b"application/json"),
    (b"[]", b"application/json"),
    (b'{"member": "nobody", "orders": 7, "status": null}', b"application/json"),
    (b"\xff\xfe not even text", b"application/octet-stream"),
)


class Control:
    """Knobs a test harness turns while the server runs.

    ``delay``: seconds before every answer. ``max_in_flight``: the concurrency limit.
    ``garbage``: every call (but ``/health``) is answered 200 with a body that is not the
    contract's (not JSON, or JSON of the wrong shape), without reaching the store.
    ``requests``: every request seen, as ``(method, raw path)`` (still percent-encoded, without
    the query; the drills count what reached the backend).
    """

    def __init__(self) -> None:
        self.delay = 0.0
        self.garbage = False
        self.max_in_flight = MAX_IN_FLIGHT  # requests served at once; more are 503 busy
        self.requests: list[tuple[str, str]] = []
        self._garbled = 0

    def garbage_body(self) -> tuple[bytes, bytes]:
        body = GARBAGE_BODIES[self._garbled % len(GARBAGE_BODIES)]
        self._garbled += 1
        return body


# ---------------------------------------------------------------- models (also the OpenAPI doc)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LoginIn(_In):
    badge_code: str
    pin: str


class LookupIn(_In):
    member_code: str | None = None
    phone: str | None = None
    email: str | None = None
    pickup_code: str | None = None


class ArriveIn(_In):
    received_by: str | None = None
    locker_door: int | None = None


class PickupIn(_In):
    lookup_id: str
    package_code: str | None = None
    locker_door: int | None = None
    handed_over_by: str | None = None


class ReturnIn(_In):
    reason: str | None = None


class ReviewIn(_In):
    approved: bool


class CompleteIn(_In):
    destination: str  # "warehouse" or "store_stock"; another value is 400 bad_input (complete_return)


class HeartbeatIn(_In):
    state: str | None = None
    camera: str | None = None
    gpio: str | None = None
    outbox: int | None = None
    version: str | None = None
    uptime: float | None = None  # seconds since the kiosk started (optional, beyond v1's list)


class LogoutIn(_In):
    pass


class EventIn(_In):
    kind: Literal[EVENT_KINDS]  # type: ignore[valid-type]
    door: int | None = None
    at: str
    detail: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    retry_after: int | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class HealthOut(BaseModel):
    status: str
    version: str
    time: str


class SettingsOut(BaseModel):
    overdue_days: float
    member_code_only: bool
    contact_lookup: Literal["pickup_code", "open"]
    member_code_totp: bool
    lookup_ttl_seconds: float
    reminder_days: float
    commission_enabled: bool
    lockout_attempts: int
    lockout_seconds: float
    member_code_pattern: str
    parcel_code_pattern: str
    staff_badge_pattern: str


class StaffOut(BaseModel):
    id: str
    name: str


class LoginOut(BaseModel):
    staff_token: str
    staff: StaffOut
    expires_in: int


class OrderOut(BaseModel):
    id: str
    number: str
    status: str
    member_id: str
    customer_masked: str
    items_summary: str | None
    arrived_at: str | None
    overdue: bool
    overdue_at: str | None
    locker_door: int | None
    received_by: str | None
    handed_over_by: str | None


class MemberOut(BaseModel):
    id: str
    display_name_masked: str


class LookupOut(BaseModel):
    lookup_id: str
    expires_in: float
    member: MemberOut
    orders: list[OrderOut]


def refusals(codes: dict[int, str], *, common: bool = True) -> dict[int | str, dict[str, Any]]:
    """A route's documented error answers (OpenAPI ``responses``): the ones every route may give
    (``ERRORS``), then its own, each an ``ErrorOut`` with the error codes it carries."""
    own = {status: {"model": ErrorOut, "description": text} for status, text in codes.items()}
    return {**ERRORS, **own} if common else own


ERRORS = refusals(
    {
        400: "bad_input, idempotency_key_required",
        401: "unauthorized (or bad_credentials at login)",
        413: "body_too_large",
        422: "validation_error, idempotency_mismatch",
    },
    common=False,
)
LOCKED = "locked_out (retry_after, Retry-After header)"


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _utf8(scope: dict) -> bool:
    """The percent-decoded path and query are UTF-8 (a lone surrogate escaped as ``%ED%A0%80``
    is not; the router would see replacement characters)."""
    try:
        urllib.parse.unquote_to_bytes(scope.get("raw_path") or b"").decode("utf-8")
        urllib.parse.unquote_to_bytes(scope.get("query_string") or b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def json_depth(body: bytes) -> int:
    """How deep the JSON text nests (strings skipped); counted before parsing, so a body nested
    40,000 deep never reaches the recursive parser."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b'""', body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _has_lone_surrogate(value: Any) -> bool:
    """A lone surrogate in any string of a parsed body, keys included (raw or ``\\ud800``-escaped:
    the parser keeps both as a lone code point; an escaped pair became one character)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_problem(body: bytes) -> str | None:
    """Why a body is 400 ``bad_input`` (not JSON, nested too deep, a lone surrogate), or None."""
    if json_depth(body) > MAX_DEPTH:
        return f"the body nests deeper than {MAX_DEPTH} levels"
    try:
        parsed = json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return "the body is not valid JSON"
    if _has_lone_surrogate(parsed):
        return "the body holds a lone surrogate"
    return None


def _answer(status: int, body: Any) -> Response:
    if status == 204:
        return Response(status_code=204)
    return JSONResponse(body, status_code=status)


class Replayed(Exception):
    """A stored answer for a replayed Idempotency-Key, answered before the staff token check."""

    def __init__(self, status: int, body: Any):
        super().__init__(status)
        self.status = status
        self.body = body


class StaffCall(NamedTuple):
    """A staff write that passed its checks: the store's caller, and the staff token (for logout)."""

    caller: Caller
    token: str


# fields whose bad contents are 400 even when another field makes the body a 422
CODE_FIELDS = ("badge_code", "pin", "member_code", "phone", "email", "package_code", "lookup_id")


def bad_code_field(body: Any) -> str | None:
    """The first code field of a body holding a bad string (docs/api.md: too long, a control
    character), or a pickup code that is not six digits; else None."""
    if not isinstance(body, dict):
        return None
    for name in CODE_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and (not value or is_bad_text(value)):
            return name
    code = body.get("pickup_code")
    if isinstance(code, str) and not (len(code) == 6 and code.isascii() and code.isdigit()):
        return "pickup_code"
    return None


def keyed(request: Request, caller: Caller) -> Caller:
    """``caller``, also kept on the request: a keyed call's dependencies run before its body is
    read, so a refusal of the body (the validation handler) is stored against the key as well."""
    request.state.caller = caller
    return caller


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


# ---------------------------------------------------------------- ASGI middleware


# staff calls (a staff token besides the kiosk token): parcels, the order list, returns, logout
_STAFF_PATH = re.compile(API + r"/(parcels/.+|orders(/[^/]+/return(/review|/complete)?)?|staff/logout)", re.DOTALL)


def _bearer(value: bytes | None) -> str | None:
    scheme, _, credentials = (value or b"").decode("latin-1").partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else None


class BodyLimitAndDelay:
    """Pure ASGI: refuse bodies over 64 KiB with 413 (declared or streamed); add ``control.delay``."""

    def __init__(self, app: Any, control: Control, store: Store | None = None):
        self.app = app
        self.control = control
        self.store = store
        self.in_flight = 0

    def _unauthorized(self, scope: dict) -> JSONResponse | None:
        """The 401 a route would give this request's tokens, or None: docs/api.md puts 401 before 400,
        so a body or path refused here is 400 only for a caller the route would serve."""
        path = scope.get("path", "")
        if self.store is None or not path.startswith(API + "/") or path in (f"{API}/health", f"{API}/admin/login"):
            return None
        headers = dict(scope["headers"])
        bearer = _bearer(headers.get(b"authorization"))
        if path.startswith(f"{API}/admin/"):
            from kiosk.server.admin import auth  # the back office (issue 13)

            ok = auth.admin_for_token(self.store, bearer) is not None
        else:
            kiosk_id = self.store.kiosk_for_token(bearer) if bearer else None
            ok = kiosk_id is not None
            if ok and _STAFF_PATH.fullmatch(path):
                staff = headers.get(b"x-staff-token", b"").decode("latin-1")
                ok = bool(staff) and not is_bad_text(staff, 256) and self.store.staff_for_token(staff, kiosk_id)
        return None if ok else _error(401, "unauthorized", "missing or wrong token")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path", "").endswith("/health"):
            await self._handle(scope, receive, send)
            return
        if self.in_flight >= self.control.max_in_flight:
            log_event(logger, "busy", logging.WARNING, in_flight=self.in_flight)
            response = _error(503, "busy", "the server is busy; try again shortly")
            response.headers["Retry-After"] = "1"
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self._handle(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _handle(self, scope: dict, receive: Any, send: Any) -> None:
        raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
        self.control.requests.append((scope["method"], raw.decode("latin-1")))
        if self.control.delay > 0:
            await asyncio.sleep(self.control.delay)
        if self.control.garbage and not scope.get("path", "").endswith("/health"):
            body, kind = self.control.garbage_body()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if not _utf8(scope):
            refusal = self._unauthorized(scope) or _error(400, "bad_input", "the path or query is not UTF-8")
            await refusal(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        chunks: list[bytes] = []
        size = 0
        too_large = declared is not None and declared > MAX_BODY
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                too_large = True
            if not too_large:
                chunks.append(chunk)
            if not message.get("more_body", False) or size > _DRAIN_LIMIT:
                break
        if too_large:
            log_event(logger, "body_too_large", logging.WARNING, bytes=max(size, declared or 0))
            response = _error(413, "body_too_large", f"the body is over {MAX_BODY} bytes")
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        body = b"".join(chunks)
        if body.strip() and scope.get("path", "").startswith("/api/"):  # /admin/ pages post forms
            # JSON whatever the Content-Type says; unparseable JSON is bad input, not a 422
            problem = json_problem(body)
            if problem is not None:
                await (self._unauthorized(scope) or _error(400, "bad_input", problem))(scope, receive, send)
                return
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = dict(scope, headers=[*headers, (b"content-type", b"application/json")])
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# ---------------------------------------------------------------- the app


def create_app(store: Store, control: Control | None = None) -> FastAPI:
    """The FastAPI app serving ``store`` under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``)."""
    control = control or Control()
    app = FastAPI(
        title="pickup-kiosk backend",
        version=__version__,
        description="The pickup backend contract (revision 2) as implemented by the reference server.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.store = store
    app.state.control = control
    app.add_middleware(BodyLimitAndDelay, control=control, store=store)

    bearer = HTTPBearer(auto_error=False, description="the kiosk token")
    staff_header = APIKeyHeader(name="X-Staff-Token", auto_error=False, description="from /staff/login")

    async def kiosk_auth(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        kiosk_id = store.kiosk_for_token(creds.credentials) if creds else None
        if kiosk_id is None:
            raise ApiError(401, "unauthorized", "missing or wrong kiosk token")
        return kiosk_id

    async def staff_auth(
        kiosk_id: Annotated[str, Depends(kiosk_auth)], token: Annotated[str | None, Depends(staff_header)]
    ) -> tuple[str, str]:
        """(kiosk id, staff id) of a kiosk token plus a valid staff token given to this kiosk."""
        staff_id = store.staff_for_token(token, kiosk_id) if token and not is_bad_text(token, 256) else None
        if staff_id is None:
            raise ApiError(401, "unauthorized", "missing, wrong, expired or another kiosk's staff token")
        return kiosk_id, staff_id

    async def idem_key(key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> str:
        if not key:
            raise ApiError(400, "idempotency_key_required", "this call needs an Idempotency-Key header")
        return check_code(key, "Idempotency-Key")

    async def kiosk_call(
        request: Request, kiosk_id: Annotated[str, Depends(kiosk_auth)], key: Annotated[str, Depends(idem_key)]
    ) -> Caller:
        """A kiosk's own keyed write (pickup, events)."""
        return keyed(request, Caller.kiosk(key, request.url.path, kiosk_id))

    async def staff_write(
        request: Request,
        kiosk_id: Annotated[str, Depends(kiosk_auth)],
        token: Annotated[str | None, Depends(staff_header)],
        key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> StaffCall:
        """A staff write: a replayed key is answered here, right after the kiosk token and
        before the staff token is looked at (docs/api.md r2: a retried logout gets its 204)."""
        path = request.url.path
        if key and not is_bad_text(key):
            raw = await request.body()
            try:
                parsed = json.loads(raw) if raw.strip() else None
            except ValueError:
                parsed = []
            if parsed is None:  # no body or JSON null: the route reads both as {}
                parsed = {}
            if isinstance(parsed, dict):  # another JSON value is the route's 422, never a replay
                stored = store.replay(Caller.kiosk(key, path, kiosk_id), parsed)
                if stored is not None:
                    raise Replayed(*stored)
        _, staff_id = await staff_auth(kiosk_id, token)
        return StaffCall(keyed(request, Caller.kiosk(await idem_key(key), path, kiosk_id, staff_id)), token or "")

    def staff_step(step: Callable[..., tuple[int, Any]], call: StaffCall, body: _In | None, **target: str) -> Response:
        """Run the store's write ``step`` (arrive, a return step) for a staff call on ``target``
        (the parcel or order of the path) with the call's caller and body."""
        given = body.model_dump(exclude_unset=True) if body is not None else {}
        return _answer(*step(call.caller, given, **target))

    # --- error handlers: always the contract's shape

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        response = JSONResponse(exc.body(), status_code=exc.status)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(Replayed)
    async def _replayed(_request: Request, exc: Replayed) -> Response:
        return _answer(exc.status, exc.body)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "bad_input", "the body is not valid JSON")
        bad = bad_code_field(exc.body)
        if bad is not None:  # docs/api.md: 400 comes before 422
            refusal = ApiError(400, "bad_input", f"{bad} is empty, too long or holds a control character")
        else:
            first = errors[0] if errors else {}
            where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
            what = first.get("msg") or first.get("type", "invalid")  # pydantic's text, never the input
            refusal = ApiError(422, "validation_error", f"{where}: {what}")
        caller: Caller | None = getattr(request.state, "caller", None)  # see keyed()
        if caller is None or caller.key is None:
            return JSONResponse(refusal.body(), status_code=refusal.status)
        # docs/api.md: every answer but 401, 429 and 5xx is stored against the key, this one too
        body = {} if exc.body is None else exc.body
        return _answer(*await run_in_threadpool(store.refuse, caller, body, refusal))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log_event(logger, "server_error", logging.ERROR, error=type(exc).__name__)
        return _error(500, "internal_error", "the server failed; nothing was changed")

    # --- routes

    @app.get(f"{API}/health", response_model=HealthOut, tags=["kiosk"])
    async def get_health() -> JSONResponse:
        return _answer(200, health())

    @app.get(f"{API}/settings", response_model=SettingsOut, responses=ERRORS, tags=["kiosk"])
    async def get_settings(_kiosk: Annotated[str, Depends(kiosk_auth)]) -> JSONResponse:
        return _answer(200, store.settings_view())

    @app.get(f"{API}/staff", response_model=list[StaffOut], responses=ERRORS, tags=["kiosk"])
    async def get_staff(_kiosk: Annotated[str, Depends(kiosk_auth)]) -> JSONResponse:
        return _answer(200, store.list_staff())

    @app.post(
        f"{API}/staff/login",
        response_model=LoginOut,
        responses=refusals({429: LOCKED}),
        tags=["staff"],
    )
    def staff_login(body: LoginIn, kiosk_id: Annotated[str, Depends(kiosk_auth)]) -> JSONResponse:
        return _answer(200, store.staff_login(kiosk_id, body.badge_code, body.pin))

    @app.post(
        f"{API}/staff/logout",
        status_code=204,
        responses=ERRORS,
        tags=["staff"],
    )
    def staff_logout(call: Annotated[StaffCall, Depends(staff_write)], body: LogoutIn | None = None) -> Response:
        given = body.model_dump(exclude_unset=True) if body is not None else {}
        return _answer(*store.staff_logout(call.caller, given, token=call.token))

    @app.post(
        f"{API}/members/lookup",
        response_model=LookupOut,
        responses=refusals(
            {403: "member_code_only, pickup_code_required", 404: "member_not_found", 409: "code_used", 429: LOCKED}
        ),
        tags=["kiosk"],
    )
    async def lookup(body: LookupIn, kiosk_id: Annotated[str, Depends(kiosk_auth)]) -> JSONResponse:
        given = body.model_dump(exclude_unset=True)
        if store.is_sqlite:
            # a look-up is one short, unsynced write: on the event loop when no other writer
            # holds the lock (as fast as revision 1's read), else in the threadpool
            try:
                return _answer(200, store.lookup(kiosk_id, given, nowait=True))
            except WouldBlock:
                pass
        return _answer(200, await run_in_threadpool(store.lookup, kiosk_id, given))

    @app.get(
        f"{API}/parcels/{{package_code:code}}",
        response_model=OrderOut,
        responses=refusals({404: "parcel_not_found"}),
        tags=["staff"],
    )
    async def get_parcel(package_code: str, _staff: Annotated[tuple[str, str], Depends(staff_auth)]) -> JSONResponse:
        return _answer(200, store.parcel(package_code))

    @app.post(
        f"{API}/parcels/{{package_code:code}}/arrive",
        response_model=OrderOut,
        responses=refusals({404: "parcel_not_found", 409: "wrong_status, door_occupied"}),
        tags=["staff"],
    )
    def arrive(
        package_code: str,
        call: Annotated[StaffCall, Depends(staff_write)],
        body: ArriveIn | None = None,
    ) -> Response:
        return staff_step(store.arrive, call, body, package_code=package_code)

    @app.post(
        f"{API}/orders/{{order_id}}/pickup",
        response_model=OrderOut,
        responses=refusals(
            {403: "lookup_expired, not_your_order", 404: "order_not_found", 409: "wrong_status, package_mismatch"}
        ),
        tags=["kiosk"],
    )
    def pickup(order_id: str, body: PickupIn, caller: Annotated[Caller, Depends(kiosk_call)]) -> Response:
        return _answer(*store.pickup(caller, body.model_dump(exclude_unset=True), order_id=order_id))

    @app.get(f"{API}/orders", response_model=list[OrderOut], responses=ERRORS, tags=["staff"])
    async def list_orders(
        status: Annotated[str, Query(description="one status or a comma-separated list")],
        _staff: Annotated[tuple[str, str], Depends(staff_auth)],
    ) -> JSONResponse:
        if is_bad_text(status, 400):
            raise ApiError(400, "bad_input", "status is too long or holds a control character")
        return _answer(200, store.list_orders(status))

    order_write = refusals({404: "order_not_found", 409: "wrong_status"})

    @app.post(f"{API}/orders/{{order_id}}/return", response_model=OrderOut, responses=order_write, tags=["staff"])
    def request_return(
        order_id: str,
        call: Annotated[StaffCall, Depends(staff_write)],
        body: ReturnIn | None = None,
    ) -> Response:
        return staff_step(store.request_return, call, body, order_id=order_id)

    @app.post(
        f"{API}/orders/{{order_id}}/return/review", response_model=OrderOut, responses=order_write, tags=["staff"]
    )
    def review_return(order_id: str, body: ReviewIn, call: Annotated[StaffCall, Depends(staff_write)]) -> Response:
        return staff_step(store.review_return, call, body, order_id=order_id)

    @app.post(
        f"{API}/orders/{{order_id}}/return/complete", response_model=OrderOut, responses=order_write, tags=["staff"]
    )
    def complete_return(order_id: str, body: CompleteIn, call: Annotated[StaffCall, Depends(staff_write)]) -> Response:
        return staff_step(store.complete_return, call, body, order_id=order_id)

    forbidden = refusals({403: "forbidden"})

    def own_kiosk(kiosk_id: str, me: str | None, what: str) -> None:
        check_code(kiosk_id, "kiosk id")
        if kiosk_id != me:
            raise ApiError(403, "forbidden", f"a kiosk sends only its own {what}")

    @app.post(f"{API}/kiosks/{{kiosk_id}}/heartbeat", status_code=204, responses=forbidden, tags=["kiosk"])
    def heartbeat(kiosk_id: str, body: HeartbeatIn, me: Annotated[str, Depends(kiosk_auth)]) -> Response:
        own_kiosk(kiosk_id, me, "heartbeat")
        store.heartbeat(me, body.model_dump(exclude_unset=True))
        return Response(status_code=204)

    @app.post(f"{API}/kiosks/{{kiosk_id}}/events", status_code=204, responses=forbidden, tags=["kiosk"])
    def kiosk_event(kiosk_id: str, body: EventIn, caller: Annotated[Caller, Depends(kiosk_call)]) -> Response:
        given = body.model_dump(exclude_unset=True)
        try:
            own_kiosk(kiosk_id, caller.kiosk_id, "events")
        except ApiError as exc:  # stored against the key like every answer but 401, 429, 5xx
            return _answer(*store.refuse(caller, given, exc))
        return _answer(*store.kiosk_event(caller, given))

    from kiosk.server.admin import install as install_backoffice  # the back office (issue 13)

    install_backoffice(app, store)
    return app


def openapi_document(app: FastAPI) -> str:
    """The OpenAPI document as the repo keeps it (``kiosk/server/openapi.json``)."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
