"""The durable outbox against the real reference server on loopback, with a real SQLite file
and a SimClock (backoff elapses only when the test advances the clock)."""

from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid

import pytest

from kiosk.api import BackendClient, Outbox, OutboxError
from kiosk.clock import SimClock
from kiosk.errors import BackendUnavailable
from kiosk.events import OutboxChanged
from kiosk.server.harness import ServerThread

N_ORDERS = 40


def _order(n: int) -> dict:
    return {
        "id": f"o_{n}",
        "number": f"B{2000 + n}",
        "member_id": "m_1",
        "package_code": f"PKG{2000 + n}",
        "status": "shipped",
    }


SEED = {
    "kiosks": [{"id": "k_1", "token": "outbox-kiosk-token"}],
    "staff": [
        {"id": "s_1", "name": "陳小華", "badge_code": "STAFF-0001", "pin": "2468"},
        {"id": "s_2", "name": "林美玲", "badge_code": "STAFF-0002", "pin": "1357"},
    ],
    "members": [{"id": "m_1", "name": "王小明", "phone": "0912345678", "member_code": "MEMBER-0000001"}],
    "orders": [_order(n) for n in range(1, N_ORDERS + 1)],
}


@pytest.fixture(scope="module")
def server():
    with ServerThread(seed=SEED) as srv:
        yield srv


@pytest.fixture
def up(server):
    """The server, running (a test that stops it gets it back afterwards)."""
    server.start()
    yield server
    server.start()


@pytest.fixture(scope="module")
def client(server):
    with BackendClient(server.base_url, server.kiosk_token, retries=0) as c:
        yield c


@pytest.fixture(scope="module")
def token(client):
    return client.staff_login("STAFF-0001", "2468").token


_next = iter(range(1, N_ORDERS + 1))


@pytest.fixture
def order():
    """A shipped order of its own for each test: (id, number, package code)."""
    n = next(_next)
    return f"o_{n}", f"B{2000 + n}", f"PKG{2000 + n}"


@pytest.fixture
def clock():
    return SimClock()


@pytest.fixture
def changes():
    return []


@pytest.fixture
def make_outbox(tmp_path, client, clock, changes):
    made = []

    def make(path=None, **kwargs):
        kwargs.setdefault("rng", random.Random(1))
        box = Outbox(
            path or tmp_path / "outbox.db", kwargs.pop("client", client), clock, on_change=changes.append, **kwargs
        )
        made.append(box)
        return box

    yield make
    for box in made:
        box.close()


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_enqueue_stores_the_event_and_its_key_before_returning(make_outbox, order, token, tmp_path):
    box = make_outbox()  # no delivery thread: nothing is sent
    oid, _number, code = order
    key = box.enqueue("arrive", oid, {"package_code": code, "received_by": "s_2"}, staff_token=token)
    assert uuid.UUID(key).version == 4
    with sqlite3.connect(tmp_path / "outbox.db") as other:  # what a restarted process would read
        row = other.execute("SELECT key, kind, order_ref, staff_token, state FROM events").fetchone()
        mode = other.execute("PRAGMA journal_mode").fetchone()[0]
    assert row == (key, "ConfirmArrival", oid, token, "pending")  # the record's class name
    assert mode == "wal"
    assert box.depth() == 1
    (event,) = box.pending()
    assert event.payload == {"package_code": code, "received_by": "s_2"}
    assert code not in repr(event)
    assert token not in repr(event)


def test_a_row_written_before_the_records_is_read_and_delivered(make_outbox, up, order, token, tmp_path):
    """An outbox file from a kiosk of before stores the wire kind ("arrive"), not the record's
    class name: after the upgrade it is rebuilt as its record and delivered with its own key."""
    from kiosk.api.requests import ConfirmArrival

    box = make_outbox()
    box.close()
    oid, number, code = order
    with sqlite3.connect(tmp_path / "outbox.db") as old:
        old.execute(
            "INSERT INTO events (key, kind, order_ref, payload, staff_token, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            ("old-key-1", "arrive", oid, json.dumps({"package_code": code, "received_by": "s_2"}), token, 1.0),
        )
    box = make_outbox()
    (event,) = box.pending()
    assert event.kind == "arrive"
    assert event.request == ConfirmArrival(package_code=code, staff_token=token, received_by="s_2")
    assert box.flush(5)
    assert up.order_by_number(number)["status"] == "arrived"
    assert up.count_rows("order_events", idempotency_key="old-key-1") == 1


def test_a_fresh_event_is_sent_at_once_and_reported(make_outbox, up, order, token, changes):
    box = make_outbox()
    box.start()
    oid, number, code = order
    key = box.enqueue("arrive", oid, {"package_code": code, "received_by": "s_2", "locker_door": 1}, staff_token=token)
    assert wait_until(lambda: box.depth() == 0)  # no clock advance needed
    got = up.order_by_number(number)
    assert (got["status"], got["received_by"], got["locker_door"]) == ("arrived", "s_2", 1)
    assert up.count_rows("order_events", idempotency_key=key) == 1
    assert changes[0] == OutboxChanged(depth=1, attention=0, delivered=None, order_ref=oid)
    assert wait_until(lambda: any(c.delivered == key for c in changes))
    assert next(c for c in changes if c.delivered == key).depth == 0


def test_events_of_one_order_go_in_order(make_outbox, up, order, token, client):
    box = make_outbox()
    oid, number, code = order
    box.enqueue("arrive", oid, {"package_code": code}, staff_token=token)
    # r2: a pickup needs a look-up made after the arrival; a return shows the order just as well
    box.enqueue("return", oid, {"order_id": oid, "reason": "damaged"}, staff_token=token)
    box.enqueue("return", "other-order", {"order_id": "o_404", "reason": "x"}, staff_token=token)
    assert box.flush(5)  # a return before the arrival would be refused (wrong_status) and parked
    assert [(e.kind, e.error_code) for e in box.attention()] == [("return", "order_not_found")]
    assert up.order_by_number(number)["status"] == "return_requested"


def test_a_pending_event_holds_back_later_ones_of_its_order_only(make_outbox, up, token):
    box = make_outbox()
    box.enqueue("arrive", "o_x", {"package_code": "PKG2001"}, staff_token=token)
    box.enqueue("pickup", "o_x", {"order_id": "o_1", "lookup_id": "lk_1", "locker_door": 1})
    box.enqueue("arrive", "o_y", {"package_code": "PKG2002"}, staff_token=token)
    heads = box._heads()
    assert [(e.order_ref, e.kind) for e in heads] == [("o_x", "arrive"), ("o_y", "arrive")]


def test_backend_down_backs_off_on_the_clock(make_outbox, up, order, token, clock):
    oid, number, code = order
    box = make_outbox(backoff_base=1.0, backoff_max=60.0)
    box.start()
    up.stop()
    box.enqueue("arrive", oid, {"package_code": code}, staff_token=token)
    assert wait_until(lambda: box.holding())  # tried at once, refused, now waiting for the clock
    assert box.pending()[0].attempts == 1
    assert clock.next_due() <= 1.0
    assert not box.flush(5)  # tries once more, refused again: returns without waiting out the timeout
    assert box.pending()[0].attempts == 2
    up.start()
    time.sleep(0.2)  # real time passes; kiosk time does not
    assert box.depth() == 1
    assert 1.0 <= clock.next_due() <= 2.0
    clock.advance(2.0)
    assert wait_until(lambda: box.depth() == 0)
    assert up.order_by_number(number)["status"] == "arrived"
    assert not box.holding()


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(make_outbox, up, order, token, clock):
    oid, _number, code = order
    box = make_outbox(backoff_base=1.0, backoff_max=8.0)
    box.start()
    up.stop()
    box.enqueue("arrive", oid, {"package_code": code}, staff_token=token)
    delays = []
    for attempt in range(1, 8):
        assert wait_until(lambda a=attempt: box.pending()[0].attempts == a and clock.next_due() is not None)
        delays.append(clock.next_due())
        clock.advance(delays[-1])
    ceilings = [1, 2, 4, 8, 8, 8, 8]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays[3:])) > 1  # jitter: capped delays still differ
    up.start()
    box.kick()  # e.g. the app saw the backend come back
    assert wait_until(lambda: box.depth() == 0)


def test_a_refusal_moves_the_event_to_attention_and_it_is_not_retried(make_outbox, up, token, clock, changes):
    box = make_outbox()
    box.start()
    key = box.enqueue("arrive", "PKG-UNKNOWN", {"package_code": "PKG-UNKNOWN"}, staff_token=token)
    assert wait_until(lambda: len(box.attention()) == 1)
    (parked,) = box.attention()
    assert (parked.key, parked.error_code, parked.attempts) == (key, "parcel_not_found", 1)
    assert parked.error_message.startswith("404")
    assert box.depth() == 0
    clock.advance(3600)
    box.kick()
    time.sleep(0.1)
    assert box.attention()[0].attempts == 1  # never retried by itself
    assert changes[-1].attention == 1
    assert box.retry(key)  # a person sends it again
    assert wait_until(lambda: box.attention() and box.attention()[0].attempts == 2)
    assert box.dismiss(key)
    assert box.attention() == []
    assert not box.dismiss(key)


def test_each_event_keeps_the_staff_token_it_was_made_with(make_outbox, up, order, client, clock):
    oid, number, code = order
    first = client.staff_login("STAFF-0002", "1357").token
    box = make_outbox()
    box.start()
    up.stop()
    box.enqueue("arrive", oid, {"package_code": code}, staff_token=first)  # received_by: the token's staff
    assert wait_until(box.holding)
    up.start()  # tokens survive a server restart
    client.staff_login("STAFF-0001", "2468")  # someone else logs in meanwhile
    assert box.pending()[0].staff_token == first
    clock.advance(60)
    assert wait_until(lambda: box.depth() == 0)
    assert up.order_by_number(number)["received_by"] == "s_2"


def test_pending_events_continue_after_a_restart(make_outbox, up, order, token, tmp_path):
    oid, number, code = order
    path = tmp_path / "restart.db"
    box = make_outbox(path)
    box.start()
    up.stop()
    key = box.enqueue("arrive", oid, {"package_code": code}, staff_token=token)
    assert wait_until(box.holding)
    box.close()
    up.start()
    again = make_outbox(path)
    assert [e.key for e in again.pending()] == [key]
    again.start()  # pending events go at once
    assert wait_until(lambda: again.depth() == 0)
    assert up.order_by_number(number)["status"] == "arrived"
    assert up.count_rows("order_events", idempotency_key=key) == 1


def test_a_lost_answer_is_replayed_not_applied_twice(make_outbox, up, order, token, client):
    oid, number, code = order
    key = str(uuid.uuid4())
    client.arrive(code, token, received_by="s_1", idempotency_key=key)  # applied; say the answer was lost
    box = make_outbox()
    assert box.enqueue("arrive", oid, {"package_code": code, "received_by": "s_1"}, staff_token=token, key=key) == key
    assert box.deliver_now() == 1
    assert box.attention() == []
    assert box.depth() == 0
    assert up.count_events("arrive", number=number) == 1
    assert up.count_rows("order_events", idempotency_key=key) == 1


def test_enqueueing_a_known_key_again_is_a_no_op(make_outbox, token):
    box = make_outbox()
    payload = {"package_code": "PKG2999"}
    key = box.enqueue("arrive", "o_z", payload, staff_token=token, key="k-1")
    assert box.enqueue("arrive", "o_z", payload, staff_token=token, key=key) == key
    assert box.depth() == 1
    with pytest.raises(ValueError, match="another event"):
        box.enqueue("arrive", "o_z", {"package_code": "PKG2998"}, staff_token=token, key=key)


@pytest.mark.parametrize(
    ("kind", "payload", "staff", "why"),
    [
        ("teleport", {}, None, "unknown outbox event kind"),
        ("arrive", {}, "t", "lacks package_code"),
        ("arrive", {"package_code": "P1"}, None, "staff token"),
        ("arrive", {"package_code": "P1", "door": 1}, "t", "unknown fields"),
        ("pickup", {"order_id": "o", "lookup_id": "lk"}, None, "exactly one"),
        ("pickup", {"order_id": "o", "lookup_id": "lk", "locker_door": 1, "package_code": "P"}, None, "exactly one"),
    ],
)
def test_malformed_events_are_refused_and_nothing_is_stored(make_outbox, kind, payload, staff, why):
    box = make_outbox()
    with pytest.raises(ValueError, match=why):
        box.enqueue(kind, "o_1", payload, staff_token=staff)
    assert box.depth() == 0


def test_a_corrupt_file_is_kept_aside_and_a_new_one_started(make_outbox, tmp_path, token):
    path = tmp_path / "outbox.db"
    path.write_bytes(b"this is not a database, " * 100)
    box = make_outbox(path)
    assert box.depth() == 0
    box.enqueue("arrive", "o_1", {"package_code": "P1"}, staff_token=token)
    aside = list(tmp_path.glob("outbox.db.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is not a database")


def test_from_config_uses_the_state_dir_and_backoff_cap(tmp_path, client, clock):
    from kiosk import config as kconfig

    cfg = kconfig.parse(f'[kiosk]\nstate_dir = "{tmp_path}/state"\n[backend]\noutbox_backoff_max = 5.0\n')
    with Outbox.from_config(cfg, client, clock) as box:
        assert box.path == tmp_path / "state" / "outbox.db"
        assert box.backoff_max == 5.0
        assert box.path.exists()
        assert oct(box.path.stat().st_mode & 0o777) == "0o600"  # staff tokens live here


def test_an_unusable_folder_is_an_outbox_error(tmp_path, client, clock):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutboxError):
        Outbox(blocker / "sub" / "outbox.db", client, clock)


def test_a_failing_event_does_not_starve_the_others(tmp_path, clock, token, up, order):
    """A 5xx for one event (a server bug) must not hold back events of other orders."""

    class Flaky(BackendClient):
        def arrive(self, package_code, *args, **kwargs):
            if package_code == "PKG-POISON":
                raise BackendUnavailable("arrive: the backend answered 500")
            return super().arrive(package_code, *args, **kwargs)

    flaky = Flaky(up.base_url, up.kiosk_token)
    box = Outbox(tmp_path / "o.db", flaky, clock, rng=random.Random(2), backoff_max=2.0)
    try:
        box.enqueue("arrive", "poison", {"package_code": "PKG-POISON"}, staff_token=token)
        box.start()
        assert wait_until(box.holding)
        oid, number, code = order
        box.enqueue("arrive", oid, {"package_code": code}, staff_token=token)  # fresh: goes at once
        assert wait_until(lambda: box.depth() == 1)
        assert up.order_by_number(number)["status"] == "arrived"
        assert box.pending()[0].order_ref == "poison"
    finally:
        box.close()
        flaky.close()


def test_close_with_a_send_in_flight_is_clean(make_outbox, up, order, token):
    oid, _number, code = order
    up.delay = 0.5
    try:
        box = make_outbox()
        box.start()
        box.enqueue("arrive", oid, {"package_code": code}, staff_token=token)
        assert wait_until(box.busy)
        box.close()
    finally:
        up.delay = 0.0
    assert not box._thread.is_alive()
