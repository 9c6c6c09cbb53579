"""Fuzzing the flow (issue 7): random sequences of every kind of event into ``kiosk.flow.step``.

Backend answers are made for the calls the flow really made (ok with a typed value, refused with
a contract code, unreachable, or stale), so sequences reach deep into every flow. Whatever comes:
- ``step`` never raises and ``view`` always gives a view the screens can draw;
- a counter never unlocks a door; at a locker a door is unlocked only for an order the backend
  said yes to in a look-up answer (customers) or while staff is logged in (arrival, hand-over,
  return: each also behind a backend yes or the documented offline arrival);
- a step that ends on ``idle`` or ``offline`` unlocks nothing and leaves no door in the session.
"""

from __future__ import annotations

import pygame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import flow
from kiosk.api.models import Lookup, Member, Order, Settings, Staff, StaffSession
from kiosk.api.requests import ParcelInfo
from kiosk.config import KioskSection
from kiosk.errors import BackendUnavailable, Rejected
from kiosk.events import ApiResult, BackendState, CameraState, DoorEvent, OutboxChanged, Scan
from kiosk.screens.i18n import catalogue
from kiosk.screens.render import Renderer
from kiosk.screens.view import RETURN_REASONS, Button, Erase, Press, Typed

ORDERS = {
    "A1002": Order(id="o_2", number="A1002", status="arrived", member_id="m_1", locker_door=2),
    "A1003": Order(id="o_3", number="A1003", status="arrived", member_id="m_1", locker_door=None),
    "A1008": Order(id="o_8", number="A1008", status="overdue", member_id="m_1", overdue=True, locker_door=7),
    "A1013": Order(id="o_13", number="A1013", status="arrived", member_id="m_1", locker_door=40),
}
SHIPPED = Order(id="o_1", number="A1001", status="shipped", member_id="m_1")
CODES = ["MEMBER-0000001", "STAFF-0001", "PKG1001", "A1", "\x07bad", "", "x" * 200, "../etc", "STAFF-0002"]
BUTTONS = [
    "confirm",
    "cancel",
    "back",
    "lang",
    "help",
    "lookup_phone",
    "lookup_email",
    "pickup_all",
    "retry",
    "arrival",
    "overdue",
    "return",
    "pickup",
    "logout",
    "staff:s_1",
    "staff:s_2",
    "staff:s_9",
    "key:1",
    "key:backspace",
    "key:clear",
    *(f"order:{n}" for n in ORDERS),
    f"reason:{RETURN_REASONS[-1]}",
]
CODES_REFUSED = ["member_not_found", "bad_credentials", "locked_out", "wrong_status", "package_mismatch", "x"]

actions = st.one_of(
    st.tuples(st.just("auto")),  # the next step a willing user (and backend) would take
    st.tuples(st.just("auto")),
    st.tuples(st.just("auto")),
    st.tuples(st.just("scan"), st.sampled_from(CODES)),
    st.tuples(st.just("scan"), st.sampled_from(["MEMBER-0000001", "STAFF-0001", "PKG1001"])),
    st.tuples(st.just("press"), st.sampled_from(["confirm", "order:A1002", "pickup_all", "arrival", "overdue"])),
    st.tuples(st.just("answer"), st.just(0), st.just("ok")),
    st.tuples(st.just("answer"), st.just(0), st.just("ok")),
    st.tuples(st.just("press"), st.sampled_from(BUTTONS)),
    st.tuples(st.just("type"), st.sampled_from(["2468", "0912345678", "a@b.co", "\n", "12\n", "x"])),
    st.tuples(st.just("erase"), st.booleans()),
    st.tuples(st.just("timer"), st.sampled_from(["idle", "staff", "message", "probe", "bogus"])),
    st.tuples(st.just("door"), st.integers(1, 12), st.sampled_from(["opened", "closed", "not_opened", "forced"])),
    st.tuples(st.just("answer"), st.integers(0, 3), st.sampled_from(["ok", "ok", "ok", "down", "refused", "stale"])),
    st.tuples(st.just("answer"), st.integers(0, 3), st.sampled_from(CODES_REFUSED)),
    st.tuples(st.just("backend"), st.sampled_from(["up", "down"])),
    st.tuples(st.just("outbox"), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("camera"), st.sampled_from(["ok", "lost"])),
)


def _value(call: flow.Call, draw_orders: tuple):
    r = call.request.name
    if r == "settings":
        return Settings()
    if r == "lookup":
        return Lookup(Member("m_1", "王*明"), draw_orders)
    if r == "login":
        return StaffSession(token="tok", staff=Staff("s_1", "陳小華"), expires_in=3600)
    if r == "staff_list":
        return (Staff("s_1", "陳小華"), Staff("s_2", "林美玲"))
    if r == "occupied":
        return frozenset({2, 3})
    if r == "parcel":
        return ParcelInfo(SHIPPED if draw_orders else ORDERS["A1002"], frozenset({2}))
    if r == "overdue":
        return draw_orders
    if r in ("return", "pickup"):
        return draw_orders[0] if draw_orders else ORDERS["A1002"]
    return None


class Run:
    def __init__(self, mode: str, data):
        doors = tuple(flow.DoorInfo(n, sensorless=(n == 3)) for n in range(1, 13))
        self.state = flow.initial(flow.FlowConfig(kiosk=KioskSection(id="", mode=mode), doors=doors))
        self.data = data
        self.calls: list[flow.Call] = []
        self.yes_doors: set[int] = set()  # doors of orders in the look-up answers given so far

    def send(self, event) -> None:
        before = self.state
        state, fx = flow.step(before, event)
        self.state = state
        flow.view(state)
        unlocks = [e.door for e in fx if isinstance(e, flow.Unlock)]
        if not state.cfg.locker:
            assert unlocks == [], "a counter unlocked a door"
        for door in unlocks:
            assert before.staff is not None or door in self.yes_doors, "a door opened without the backend's yes"
        if state.screen in (flow.Screen.IDLE, flow.Screen.OFFLINE):
            assert unlocks == [], "unlocked on idle"
            assert state.customer.doors == (), "a door left in the session on idle"
        self.calls += [e for e in fx if isinstance(e, flow.Call)]

    def auto(self) -> None:
        s = self.state
        screen = s.screen.value
        waiting = [i for i, c in enumerate(self.calls) if s.pending is not None and c.token == s.pending[1]]
        if waiting:
            self.answer(waiting[0], "ok")
        elif screen in ("idle", "error", "done", "offline"):
            self.send(Scan("QRCODE", self.data.draw(st.sampled_from(["MEMBER-0000001", "STAFF-0001"])), 0.0))
        elif screen == "orders":
            self.send(
                Press(
                    self.data.draw(st.sampled_from(["pickup_all", *(f"order:{o.number}" for o in s.customer.orders)]))
                )
            )
        elif screen == "staff_login":
            self.send(Typed("2468\n"))
        elif screen == "staff_menu":
            self.send(Press(self.data.draw(st.sampled_from(["arrival", "overdue"]))))
        elif screen in ("arrival", "scan_package"):
            self.send(Scan("CODE128", "PKG1001", 0.0))
        elif screen == "arrival_confirm":
            self.send(Press("confirm"))
        elif screen == "overdue" and s.staff is not None and s.staff.overdue:
            self.send(Press(f"order:{s.staff.overdue[0].number}"))
        elif screen == "order_detail":
            self.send(Press(self.data.draw(st.sampled_from(["pickup", "return"]))))
        elif screen == "door_open" and s.customer.doors:
            slot = s.customer.doors[0]
            kind = {"unlocked": "opened", "open": "closed"}.get(slot.state.value, "not_opened")
            self.send(DoorEvent(slot.number, kind))
        else:
            self.send(Press("back"))

    def act(self, action) -> None:
        kind = action[0]
        if kind == "auto":
            self.auto()
        elif kind == "scan":
            self.send(Scan("QRCODE", action[1], 0.0))
        elif kind == "press":
            self.send(Press(action[1]))
        elif kind == "type":
            self.send(Typed(action[1]))
        elif kind == "erase":
            self.send(Erase(action[1]))
        elif kind == "timer":
            self.send(flow.TimerFired(action[1]))
        elif kind == "door":
            self.send(DoorEvent(action[1], action[2]))
        elif kind == "backend":
            self.send(BackendState(action[1]))
        elif kind == "outbox":
            self.send(OutboxChanged(action[1], action[2], "key" if action[1] == 0 else None))
        elif kind == "camera":
            self.send(CameraState(action[1]))
        elif kind == "answer":
            self.answer(action[1], action[2])

    def answer(self, index: int, outcome: str) -> None:
        if not self.calls:
            return
        index = min(index, len(self.calls) - 1)
        call = self.calls[index] if outcome == "stale" else self.calls.pop(index)  # its answer still comes
        token = call.token
        if outcome == "ok":
            orders = tuple(
                self.data.draw(st.lists(st.sampled_from(list(ORDERS.values())), unique=True, min_size=1, max_size=3))
            )
            value = _value(call, orders)
            if call.request.name == "lookup":
                self.yes_doors |= {o.locker_door for o in orders if o.locker_door is not None}
            event = ApiResult(call.request.name, True, value, None, token)
        elif outcome == "down":
            event = ApiResult(call.request.name, False, None, BackendUnavailable("refused"), token)
        elif outcome == "stale":
            event = ApiResult(call.request.name, True, _value(call, (ORDERS["A1003"],)), None, token + 1000)
        else:
            code = "member_not_found" if outcome == "refused" else outcome
            event = ApiResult(call.request.name, False, None, Rejected(code, "", 409), token)
        self.send(event)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(["counter", "locker"]), st.lists(actions, min_size=15, max_size=40), st.data())
def test_random_event_sequences_keep_the_flow_safe(mode, steps, data):
    run = Run(mode, data)
    run.send(flow.Start())
    run.answer(0, "ok")  # settings
    for action in steps:
        run.act(action)


RENDERER: list[Renderer] = []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(["counter", "locker"]), st.lists(actions, min_size=10, max_size=30), st.data())
def test_where_random_events_lead_can_be_drawn(mode, steps, data):
    if not RENDERER:
        pygame.font.init()
        RENDERER.append(Renderer())
    run = Run(mode, data)
    run.send(flow.Start())
    run.answer(0, "ok")
    for action in steps:
        run.act(action)
    surface = pygame.Surface((800, 480))
    surface.fill((255, 0, 255))  # a colour no screen uses: what is left of it was not drawn
    view = flow.view(run.state)
    buttons = RENDERER[0].draw(surface, view)
    assert surface.get_at((400, 240))[:3] != (255, 0, 255)  # the screen was painted
    area = pygame.Rect(0, 0, 800, 480)
    for b in buttons:
        assert isinstance(b, Button)
        assert b.id, b
        assert area.contains(pygame.Rect(b.rect)), b  # every button is on the screen ...
        assert b.rect[2] > 0
        assert b.rect[3] > 0
    # ... and the flow takes a press of each one it offers (no press may break it)
    for b in buttons:
        if b.enabled:
            state, _fx = flow.step(run.state, Press(b.id))
            assert isinstance(state, type(run.state))
    assert catalogue(view.lang).missing == set()  # every text it showed was in the catalogue
