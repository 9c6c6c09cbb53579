"""The admin calls of docs/api.md r2 under ``/api/v1/admin/`` (JSON; ``Authorization: Bearer <admin
token>``). A kiosk or staff token is not an admin token: 401 ``unauthorized``.

Reads are ``async def`` (sub-millisecond queries on the event loop, like the kiosk calls); writes
and the sign-in (which runs the password KDF) are plain ``def`` and run in the threadpool.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from kiosk.server.admin import auth
from kiosk.server.admin.service import AdminService
from kiosk.server.app import CompleteIn, OrderOut, ReturnIn, ReviewIn, keyed  # the staff calls' bodies
from kiosk.server.common import ApiError, Caller, check_code

API = "/api/v1/admin"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AdminLoginIn(_In):
    username: str
    password: str


class AdminLoginOut(BaseModel):
    admin_token: str
    expires_in: int


class NotifyIn(_In):
    pass


class StaffIn(_In):
    id: str | None = None
    name: str = Field(min_length=1)
    badge_code: str = Field(min_length=1)
    pin: str = Field(min_length=1)
    active: bool = True


class StaffPatch(_In):
    name: str | None = Field(default=None, min_length=1)
    badge_code: str | None = Field(default=None, min_length=1)
    pin: str | None = Field(default=None, min_length=1)
    active: bool | None = None


class StaffOut(BaseModel):
    id: str
    name: str
    badge_code: str
    active: bool


class KioskPatch(_In):
    mode: Literal["locker", "counter"]


class AckIn(_In):
    kind: Literal["door_forced", "door_left_open"]
    door: int | None = None


class CustomerOut(BaseModel):
    name: str | None
    phone: str | None
    email: str | None


class NoticeOut(BaseModel):
    kind: str
    state: str
    sent_at: str | None


class AdminOrderOut(OrderOut):  # the kiosk's order, and what only the back office sees
    customer: CustomerOut
    pickup_code: str | None
    notices: list[NoticeOut]


class AlarmOut(BaseModel):
    kind: str
    door: int | None
    at: str


class KioskOut(BaseModel):
    id: str
    mode: str
    online: bool
    last_seen: str | None
    state: str | None
    camera: str | None
    gpio: str | None
    outbox: int | None
    version: str | None
    alarms: list[AlarmOut]


class EventOut(BaseModel):
    kiosk_id: str
    kind: str
    door: int | None
    at: str
    detail: str | None


class CommissionRow(BaseModel):
    staff_id: str
    name: str
    received: int
    handed_over: int


def _json(status: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def admin_router(service: AdminService) -> APIRouter:
    store = service.store
    router = APIRouter(prefix=API, tags=["admin"])
    bearer = HTTPBearer(auto_error=False, description="the admin token from /admin/login")

    async def admin_auth(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        username = auth.admin_for_token(store, creds.credentials) if creds else None
        if username is None:
            raise ApiError(401, "unauthorized", "missing or wrong admin token")
        return username

    async def opt_key(
        request: Request,
        _admin: Annotated[str, Depends(admin_auth)],
        key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> str | None:
        """An admin call's optional Idempotency-Key (admin scope), kept on the request (``keyed``)."""
        if not key:
            return None
        return keyed(request, Caller.admin(check_code(key, "Idempotency-Key"), request.url.path)).key

    Admin = Annotated[str, Depends(admin_auth)]
    Key = Annotated[str | None, Depends(opt_key)]
    order_errors = {404: {"description": "order_not_found"}, 409: {"description": "wrong_status"}}

    @router.post("/login", response_model=AdminLoginOut, responses={401: {"description": "bad_credentials"}})
    def login(body: AdminLoginIn) -> JSONResponse:
        return _json(200, auth.login(store, body.username, body.password))

    @router.post("/logout", status_code=204)
    def logout(_admin: Admin, request: Request) -> Response:
        auth.logout(store, request.headers.get("authorization", "").partition(" ")[2].strip())
        return Response(status_code=204)

    @router.get("/settings")
    async def get_settings(_admin: Admin) -> JSONResponse:
        return _json(200, service.settings())

    @router.patch("/settings", responses={422: {"description": "unknown key or bad value"}})
    def patch_settings(_admin: Admin, body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        return _json(200, service.patch_settings(body))

    @router.get("/orders", response_model=list[AdminOrderOut])
    async def list_orders(
        _admin: Admin,
        status: Annotated[str | None, Query(description="one status or a comma-separated list")] = None,
        q: Annotated[str | None, Query(description="order number, phone or e-mail, exact")] = None,
    ) -> JSONResponse:
        return _json(200, service.orders(status, q))

    @router.get("/orders/{order_id}", response_model=AdminOrderOut, responses=order_errors)
    async def get_order(order_id: str, _admin: Admin) -> JSONResponse:
        return _json(200, service.order(order_id))

    @router.post("/orders/{order_id}/return", response_model=AdminOrderOut, responses=order_errors)
    def request_return(
        order_id: str, request: Request, _admin: Admin, key: Key, body: ReturnIn | None = None
    ) -> JSONResponse:
        given = body.model_dump(exclude_unset=True) if body is not None else {}
        return _json(*service.request_return(order_id, given, key, request.url.path))

    @router.post("/orders/{order_id}/return/review", response_model=AdminOrderOut, responses=order_errors)
    def review_return(order_id: str, request: Request, body: ReviewIn, _admin: Admin, key: Key) -> JSONResponse:
        return _json(*service.review_return(order_id, body.model_dump(), key, request.url.path))

    @router.post("/orders/{order_id}/return/complete", response_model=AdminOrderOut, responses=order_errors)
    def complete_return(order_id: str, request: Request, body: CompleteIn, _admin: Admin, key: Key) -> JSONResponse:
        return _json(*service.complete_return(order_id, body.model_dump(), key, request.url.path))

    @router.post(
        "/orders/{order_id}/notify",
        status_code=202,
        responses={404: {"description": "order_not_found"}, 409: {"description": "wrong_status, no_contact"}},
    )
    def notify(order_id: str, request: Request, _admin: Admin, key: Key, _body: NotifyIn | None = None) -> JSONResponse:
        status, answer = service.notify(order_id, key, request.url.path)
        return _json(202 if status == 200 else status, answer)

    @router.get("/reports/commission", response_model=list[CommissionRow])
    async def commission(
        _admin: Admin,
        date_from: Annotated[str | None, Query(alias="from")] = None,
        date_to: Annotated[str | None, Query(alias="to")] = None,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Response:
        rows = service.commission(date_from, date_to)
        if format == "csv":
            return Response(
                service.commission_csv(rows),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="commission-{date_from}-{date_to}.csv"'},
            )
        return _json(200, rows)

    @router.get("/staff", response_model=list[StaffOut])
    async def list_staff(_admin: Admin) -> JSONResponse:
        return _json(200, service.staff())

    @router.post("/staff", response_model=StaffOut, responses={409: {"description": "staff_exists, badge_taken"}})
    def add_staff(body: StaffIn, request: Request, _admin: Admin, key: Key) -> JSONResponse:
        return _json(*service.add_staff(body.model_dump(exclude_unset=True), key, request.url.path))

    @router.patch(
        "/staff/{staff_id:code}", response_model=StaffOut, responses={404: {"description": "staff_not_found"}}
    )
    def patch_staff(staff_id: str, body: StaffPatch, _admin: Admin) -> JSONResponse:
        given = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
        return _json(200, service.patch_staff(staff_id, given))

    @router.get("/kiosks", response_model=list[KioskOut])
    async def list_kiosks(_admin: Admin) -> JSONResponse:
        return _json(200, service.kiosks())

    @router.patch("/kiosks/{kiosk_id}", response_model=KioskOut, responses={404: {"description": "kiosk_not_found"}})
    def patch_kiosk(kiosk_id: str, body: KioskPatch, _admin: Admin) -> JSONResponse:
        return _json(200, service.set_mode(kiosk_id, body.mode))

    @router.post("/kiosks/{kiosk_id}/alarms/ack", status_code=204)
    def ack_alarm(kiosk_id: str, body: AckIn, admin: Admin) -> Response:
        service.ack_alarm(kiosk_id, body.kind, body.door, admin)
        return Response(status_code=204)

    @router.get("/events", response_model=list[EventOut])
    async def list_events(
        _admin: Admin,
        kiosk: str | None = None,
        kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONResponse:
        return _json(200, service.events(kiosk, kind, limit))

    return router
