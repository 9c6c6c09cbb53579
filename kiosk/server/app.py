"""The HTTP face of the reference server: FastAPI routes for every call of API.md.

Routes are thin: parse (pydantic models, strict types, unknown fields refused), check tokens,
call :class:`kiosk.server.store.Store`, answer. Every refusal, FastAPI's own included, uses the
contract's shape ``{"error": {"code", "message"}}``.

Threads vs event loop (measured with benchmarks/server_bench.py): reads that take well under a
millisecond (token checks, settings, look-ups, parcel and order lists) are ``async def`` and run
on the event loop one after another, which keeps their tail latency low under concurrency;
writes (which wait for an fsync) and staff login (which runs the PIN KDF) are plain ``def`` and
run in the threadpool, so they never stall the loop.

Uvicorn's access log is off: its request lines would hold package codes from the path. The
store logs ``event=...`` lines without personal data instead.
"""

import asyncio
import json
import logging
import re
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk import __version__
from kiosk.journal import log_event
from kiosk.server.store import ApiError, Store, check_code, health, is_bad_text

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
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
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

    ``delay``: seconds before every answer. ``garbage``: every call (but ``/health``) is answered
    200 with a body that is not the contract's (not JSON, or JSON of the wrong shape), without
    reaching the store. ``requests``: every request seen, as ``(method, raw path)`` (still
    percent-encoded, without the query; the drills count what reached the backend).
    """

    def __init__(self) -> None:
        self.delay = 0.0
        self.garbage = False
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


class ArriveIn(_In):
    received_by: str | None = None
    locker_door: int | None = None


class PickupIn(_In):
    member_id: str
    package_code: str | None = None
    locker_door: int | None = None
    handed_over_by: str | None = None


class ReturnIn(_In):
    reason: str | None = None


class ReviewIn(_In):
    approved: bool


class CompleteIn(_In):
    destination: str


class HeartbeatIn(_In):
    state: str | None = None
    camera: str | None = None
    gpio: str | None = None
    outbox: int | None = None
    version: str | None = None
    uptime: float | None = None  # seconds since the kiosk started (optional, beyond v1's list)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class HealthOut(BaseModel):
    status: str
    version: str
    time: str


class SettingsOut(BaseModel):
    overdue_days: float
    member_code_only: bool
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
    member: MemberOut
    orders: list[OrderOut]


_ERR = {"model": ErrorOut}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_ERR, "description": "bad_input, idempotency_key_required"},
    401: {**_ERR, "description": "unauthorized (or bad_credentials at login)"},
    413: {**_ERR, "description": "body_too_large"},
    422: {**_ERR, "description": "validation_error, idempotency_mismatch"},
}


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _answer(status: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


# ---------------------------------------------------------------- ASGI middleware


class BodyLimitAndDelay:
    """Pure ASGI: refuse bodies over 64 KiB with 413 (declared or streamed); add ``control.delay``."""

    def __init__(self, app: Any, control: Control):
        self.app = app
        self.control = control

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
            try:
                parsed = json.loads(body, parse_constant=_no_constants)
                if _SURROGATE_ESCAPE.search(body):  # a lone surrogate cannot be stored or compared
                    json.dumps(parsed, ensure_ascii=False).encode("utf-8")
            except (ValueError, UnicodeEncodeError):
                await _error(400, "bad_input", "the body is not valid JSON")(scope, receive, send)
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
        description="The pickup backend contract (v1) as implemented by the reference server.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.store = store
    app.state.control = control
    app.add_middleware(BodyLimitAndDelay, control=control)

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
        """(kiosk id, staff id) of a kiosk token plus a valid staff token."""
        staff_id = store.staff_for_token(token) if token and not is_bad_text(token, 256) else None
        if staff_id is None:
            raise ApiError(401, "unauthorized", "missing, wrong or expired staff token")
        return kiosk_id, staff_id

    async def idem_key(key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> str:
        if not key:
            raise ApiError(400, "idempotency_key_required", "this call needs an Idempotency-Key header")
        return check_code(key, "Idempotency-Key")

    # --- error handlers: always the contract's shape

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "bad_input", "the body is not valid JSON")
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        what = first.get("msg") or first.get("type", "invalid")  # pydantic's text, never the input
        return _error(422, "validation_error", f"{where}: {what}")

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
        responses={**ERRORS, 429: {**_ERR, "description": "locked_out"}},
        tags=["staff"],
    )
    def staff_login(body: LoginIn, kiosk_id: Annotated[str, Depends(kiosk_auth)]) -> JSONResponse:
        return _answer(200, store.staff_login(kiosk_id, body.badge_code, body.pin))

    @app.post(
        f"{API}/members/lookup",
        response_model=LookupOut,
        responses={
            **ERRORS,
            403: {**_ERR, "description": "member_code_only"},
            404: {**_ERR, "description": "member_not_found"},
            429: {**_ERR, "description": "locked_out"},
        },
        tags=["kiosk"],
    )
    async def lookup(body: LookupIn, kiosk_id: Annotated[str, Depends(kiosk_auth)]) -> JSONResponse:
        given = body.model_dump(exclude_unset=True)
        return _answer(
            200,
            store.lookup(
                kiosk_id, member_code=given.get("member_code"), phone=given.get("phone"), email=given.get("email")
            ),
        )

    @app.get(
        f"{API}/parcels/{{package_code:code}}",
        response_model=OrderOut,
        responses={**ERRORS, 404: {**_ERR, "description": "parcel_not_found"}},
        tags=["staff"],
    )
    async def get_parcel(package_code: str, _staff: Annotated[tuple[str, str], Depends(staff_auth)]) -> JSONResponse:
        return _answer(200, store.parcel(package_code))

    @app.post(
        f"{API}/parcels/{{package_code:code}}/arrive",
        response_model=OrderOut,
        responses={
            **ERRORS,
            404: {**_ERR, "description": "parcel_not_found"},
            409: {**_ERR, "description": "wrong_status, door_occupied"},
        },
        tags=["staff"],
    )
    def arrive(
        package_code: str,
        request: Request,
        who: Annotated[tuple[str, str], Depends(staff_auth)],
        key: Annotated[str, Depends(idem_key)],
        body: ArriveIn | None = None,
    ) -> JSONResponse:
        kiosk_id, staff_id = who
        given = body.model_dump(exclude_unset=True) if body is not None else {}
        status, answer = store.arrive(
            key, request.url.path, given, kiosk_id=kiosk_id, staff_id=staff_id, package_code=package_code
        )
        return _answer(status, answer)

    @app.post(
        f"{API}/orders/{{order_id}}/pickup",
        response_model=OrderOut,
        responses={
            **ERRORS,
            403: {**_ERR, "description": "not_your_order"},
            404: {**_ERR, "description": "order_not_found"},
            409: {**_ERR, "description": "wrong_status, package_mismatch"},
        },
        tags=["kiosk"],
    )
    def pickup(
        order_id: str,
        request: Request,
        body: PickupIn,
        kiosk_id: Annotated[str, Depends(kiosk_auth)],
        key: Annotated[str, Depends(idem_key)],
    ) -> JSONResponse:
        given = body.model_dump(exclude_unset=True)
        status, answer = store.pickup(key, request.url.path, given, kiosk_id=kiosk_id, order_id=order_id)
        return _answer(status, answer)

    @app.get(f"{API}/orders", response_model=list[OrderOut], responses=ERRORS, tags=["staff"])
    async def list_orders(
        status: Annotated[str, Query(description="one status or a comma-separated list")],
        _staff: Annotated[tuple[str, str], Depends(staff_auth)],
    ) -> JSONResponse:
        if is_bad_text(status, 400):
            raise ApiError(400, "bad_input", "status is too long or holds a control character")
        return _answer(200, store.list_orders(status))

    order_write = {
        **ERRORS,
        404: {**_ERR, "description": "order_not_found"},
        409: {**_ERR, "description": "wrong_status"},
    }

    @app.post(f"{API}/orders/{{order_id}}/return", response_model=OrderOut, responses=order_write, tags=["staff"])
    def request_return(
        order_id: str,
        request: Request,
        who: Annotated[tuple[str, str], Depends(staff_auth)],
        key: Annotated[str, Depends(idem_key)],
        body: ReturnIn | None = None,
    ) -> JSONResponse:
        status, answer = store.request_return(
            key,
            request.url.path,
            body.model_dump(exclude_unset=True) if body is not None else {},
            kiosk_id=who[0],
            staff_id=who[1],
            order_id=order_id,
        )
        return _answer(status, answer)

    @app.post(
        f"{API}/orders/{{order_id}}/return/review", response_model=OrderOut, responses=order_write, tags=["staff"]
    )
    def review_return(
        order_id: str,
        request: Request,
        body: ReviewIn,
        who: Annotated[tuple[str, str], Depends(staff_auth)],
        key: Annotated[str, Depends(idem_key)],
    ) -> JSONResponse:
        status, answer = store.review_return(
            key,
            request.url.path,
            body.model_dump(exclude_unset=True),
            kiosk_id=who[0],
            staff_id=who[1],
            order_id=order_id,
        )
        return _answer(status, answer)

    @app.post(
        f"{API}/orders/{{order_id}}/return/complete", response_model=OrderOut, responses=order_write, tags=["staff"]
    )
    def complete_return(
        order_id: str,
        request: Request,
        body: CompleteIn,
        who: Annotated[tuple[str, str], Depends(staff_auth)],
        key: Annotated[str, Depends(idem_key)],
    ) -> JSONResponse:
        status, answer = store.complete_return(
            key,
            request.url.path,
            body.model_dump(exclude_unset=True),
            kiosk_id=who[0],
            staff_id=who[1],
            order_id=order_id,
        )
        return _answer(status, answer)

    @app.post(
        f"{API}/kiosks/{{kiosk_id}}/heartbeat",
        status_code=204,
        responses={**ERRORS, 403: {**_ERR, "description": "forbidden"}},
        tags=["kiosk"],
    )
    def heartbeat(kiosk_id: str, body: HeartbeatIn, me: Annotated[str, Depends(kiosk_auth)]) -> Response:
        check_code(kiosk_id, "kiosk id")
        if kiosk_id != me:
            raise ApiError(403, "forbidden", "a kiosk sends only its own heartbeat")
        store.heartbeat(me, body.model_dump(exclude_unset=True))
        return Response(status_code=204)

    from kiosk.server.admin import install as install_backoffice  # the back office (issue 13)

    install_backoffice(app, store)
    return app


def openapi_document(app: FastAPI) -> str:
    """The OpenAPI document as the repo keeps it (``kiosk/server/openapi.json``)."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
