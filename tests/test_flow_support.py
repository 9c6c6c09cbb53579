"""Helpers for the flow tests: drive the pure state machine with events, read its effects."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from kiosk import flow
from kiosk.api.models import Lookup, Member, Order, Settings, Staff, StaffSession
from kiosk.config import KioskSection
from kiosk.errors import BackendUnavailable, Rejected
from kiosk.events import ApiResult, DoorEvent, Scan
from kiosk.screens.view import Press, Typed

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
LOOKUP_ID = "lk_test"  # docs/api.md r2: the look-up's id, which pickups name


def order(number="A1002", oid=None, door=None, status="arrived", overdue=False, member="m_1"):
    return Order(
        id=oid or "o_" + number,
        number=number,
        status=status,
        member_id=member,
        customer_masked="王*明 / 0912***678",
        items_summary="T-shirt x2",
        arrived_at=T0,
        overdue=overdue,
        locker_door=door,
    )


def section(mode="counter", kiosk_id=""):
    """The config's ``[kiosk]`` section the flow reads: no kiosk id (so no kiosk events) unless given."""
    return KioskSection(id=kiosk_id, mode=mode)


def cfg(mode="counter", doors=12, kiosk_id="", **kw):
    doors_ = tuple(flow.DoorInfo(n) for n in range(1, doors + 1))
    return flow.FlowConfig(kiosk=section(mode, kiosk_id), doors=doors_, **kw)


class Driver:
    """A flow state plus everything it asked for, fed one event at a time."""

    def __init__(self, mode="counter", settings=None, *, config=None, start=True, **kw):
        """A started flow (``Start`` sent, the settings answered) unless ``start`` is False; its
        ``config`` (a :class:`flow.FlowConfig`) is built by :func:`cfg` from ``mode`` and ``kw`` unless given."""
        self.state = flow.initial(config if config is not None else cfg(mode, **kw))
        self.effects: list = []
        if not start:
            return
        self.send(flow.Start())
        self.answer("settings", settings or Settings(), token=self.state.backend.probing)
        self.effects.clear()

    @property
    def screen(self) -> str:
        return self.state.screen.value

    def send(self, event):
        self.state, fx = flow.step(self.state, event)
        self.effects.extend(fx)
        return fx

    def last_call(self) -> flow.Call:
        calls = [e for e in self.effects if isinstance(e, flow.Call)]
        assert calls, "no backend call was made"
        return calls[-1]

    def calls(self, request=None):
        return [e for e in self.effects if isinstance(e, flow.Call) and (request is None or e.request.name == request)]

    def of(self, kind):
        return [e for e in self.effects if isinstance(e, kind)]

    def answer(self, request, value=None, error=None, token=None):
        if token is None:
            assert self.state.pending is not None
            assert self.state.pending[0] == request, self.state.pending
            token = self.state.pending[1]
        return self.send(ApiResult(request, error is None, value, error, token))

    def scan(self, text, symbology="QRCODE"):
        return self.send(Scan(symbology, text, 0.0))

    def press(self, button):
        return self.send(Press(button))

    def type(self, text):
        return self.send(Typed(text))

    def door(self, number, kind):
        return self.send(DoorEvent(number, kind))

    def timer(self, name):
        return self.send(flow.TimerFired(name))

    # common paths
    def member(self, orders, code="MEMBER-0000001"):
        self.scan(code)
        assert self.last_call().request.name == "lookup"
        self.answer("lookup", Lookup(Member("m_1", "王*明"), tuple(orders), lookup_id=LOOKUP_ID, expires_in=300))

    def login(self, staff_id="s_1", name="陳*華"):
        self.scan("STAFF-0001")
        self.type("2468")
        self.press("confirm")
        self.answer("login", StaffSession(token="tok-" + staff_id, staff=Staff(staff_id, name), expires_in=3600))
        staff_call = self.calls("staff_list")[-1]
        self.send(
            ApiResult("staff_list", True, (Staff("s_1", "陳小華"), Staff("s_2", "林美玲")), None, staff_call.token)
        )


def args(request) -> dict:
    """A request record's fields as the call's arguments: set ones only, the staff token aside."""
    return {
        f.name: getattr(request, f.name)
        for f in dataclasses.fields(request)
        if f.name != "staff_token" and getattr(request, f.name) is not None
    }


def down():
    return BackendUnavailable("connection refused")


def rejected(code, status=409):
    return Rejected(code, "", status)
