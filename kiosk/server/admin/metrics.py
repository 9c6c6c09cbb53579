"""``GET /metrics``: Prometheus text (docs/api.md r2) for the fleet, the orders and the notices.

The gauges and the events counter are computed from the database at scrape time (a collector),
so every worker process answers the same, whichever one a scrape reaches. Request latency is a
histogram labelled by route template (``/api/v1/parcels/{package_code}``), never the raw path,
which would hold codes; with ``--workers N`` the workers share it through prometheus_client's
multi-process files (the server command makes the folder), so a scrape shows all of them.
Kiosk ids, statuses and kinds are the only labels: no personal data.

Access: with a token file (``--metrics-token-file``), ``Authorization: Bearer <token>``
(anything else 401); without, only loopback clients (others 403).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from starlette.routing import Match

from kiosk.server import db, notices
from kiosk.server.admin.service import ONLINE_SECONDS
from kiosk.server.kiosks import ALARM_KINDS, EVENT_KINDS
from kiosk.server.seed import API_STATUSES

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multi-process mode (set before it is imported)
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def read_token_file(path: str | Path) -> str:
    """The token in ``path`` (whitespace around it dropped); an empty file is an error."""
    token = Path(path).read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"{path} holds no token")
    return token


class FleetCollector:
    """Gauges of docs/api.md, read from the database at each scrape."""

    def __init__(self, store: Any):
        self.store = store

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        store = self.store
        now = store.now()
        up = GaugeMetricFamily("pickup_kiosk_up", "1 when the kiosk sent a heartbeat within 90 s", labels=["kiosk"])
        age = GaugeMetricFamily(
            "pickup_kiosk_heartbeat_age_seconds", "seconds since the kiosk's last heartbeat", labels=["kiosk"]
        )
        outbox = GaugeMetricFamily("pickup_kiosk_outbox", "events waiting in the kiosk's outbox", labels=["kiosk"])
        alarms = GaugeMetricFamily("pickup_kiosk_alarms", "open door alarms", labels=["kiosk", "kind"])
        orders = GaugeMetricFamily("pickup_orders", "orders by status (overdue computed)", labels=["status"])
        events = CounterMetricFamily("pickup_events", "kiosk events received, by kind", labels=["kind"])
        unsent = GaugeMetricFamily("pickup_notices_unsent", "customer notices not sent yet")
        k, h, a, o, e = db.kiosks, db.heartbeats, db.alarms, db.orders, db.kiosk_events
        with store.read() as conn:
            kiosks = conn.execute(
                select(k.c.id, h.c.at, h.c.outbox).select_from(k.outerjoin(h, h.c.kiosk_id == k.c.id)).order_by(k.c.id)
            ).all()
            open_alarms = dict(
                ((r.kiosk_id, r.kind), r.n)
                for r in conn.execute(
                    select(a.c.kiosk_id, a.c.kind, func.count().label("n"))
                    .where(a.c.closed_at.is_(None))
                    .group_by(a.c.kiosk_id, a.c.kind)
                )
            )
            cutoff = now - float(store.settings["overdue_days"]) * 86400.0
            by_status = dict(
                conn.execute(select(o.c.status, func.count()).where(o.c.status != "arrived").group_by(o.c.status)).all()
            )
            by_status["overdue"] = conn.execute(
                select(func.count()).where(o.c.status == "arrived", o.c.arrived_at <= cutoff)
            ).scalar_one()
            by_status["arrived"] = conn.execute(
                select(func.count()).where(o.c.status == "arrived", o.c.arrived_at > cutoff)
            ).scalar_one()
            by_kind = dict(conn.execute(select(e.c.kind, func.count()).group_by(e.c.kind)).all())
            waiting = notices.count_unsent(conn)
        for r in kiosks:
            up.add_metric([r.id], 1.0 if r.at is not None and now - r.at <= ONLINE_SECONDS else 0.0)
            if r.at is not None:
                age.add_metric([r.id], max(0.0, now - r.at))
            outbox.add_metric([r.id], float(r.outbox or 0))
            for kind in ALARM_KINDS:
                alarms.add_metric([r.id, kind], float(open_alarms.get((r.id, kind), 0)))
        for status in API_STATUSES:
            orders.add_metric([status], float(by_status.get(status, 0)))
        for kind in sorted(set(EVENT_KINDS) | set(by_kind)):
            events.add_metric([kind], float(by_kind.get(kind, 0)))
        unsent.add_metric([], float(waiting))
        return [up, age, outbox, alarms, orders, events, unsent]


class Metrics:
    """The registry of one app: the fleet collector and the request latency histogram."""

    def __init__(self, store: Any, token: str | None = None):
        self.store = store
        self.token = token
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(FleetCollector(store))
        histograms: CollectorRegistry | None = self.registry
        shared = os.environ.get(MULTIPROC_ENV)
        if shared:  # --workers N: every worker writes its histogram to files there; a scrape adds them up
            from prometheus_client.multiprocess import MultiProcessCollector

            MultiProcessCollector(self.registry, shared)
            histograms = None
        self.latency = Histogram(
            "pickup_http_request_duration_seconds",
            "time to answer a request, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=histograms,
        )

    def allowed(self, request: Request) -> Response | None:
        """None when the scrape may go on, else the refusal."""
        if self.token is not None:
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode()):
                return None
            return JSONResponse(
                {"error": {"code": "unauthorized", "message": "missing or wrong metrics token"}}, status_code=401
            )
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return None
        return JSONResponse(
            {"error": {"code": "forbidden", "message": "metrics are served to loopback clients only"}},
            status_code=403,
        )

    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        @router.get("/metrics")
        def metrics(request: Request) -> Response:
            refusal = self.allowed(request)
            if refusal is not None:
                return refusal
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return router


class LatencyMiddleware:
    """Pure ASGI: time each HTTP request into ``metrics.latency`` under its route template."""

    def __init__(self, app: Any, metrics: Metrics, routes: Any):
        self.app = app
        self.metrics = metrics
        self.routes = routes

    def _route(self, scope: dict) -> str:
        for route in self.routes():
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", "other")
        return "unmatched"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.latency.labels(method, self._route(scope)).observe(time.perf_counter() - start)
