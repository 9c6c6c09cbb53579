"""Backend request records: each runs its own client call against the reference server, through
the api worker, and never shows a code, PIN or token in its repr."""

from __future__ import annotations

import queue

import pytest

from kiosk.api.client import BackendClient
from kiosk.api.models import Lookup, Settings
from kiosk.api.requests import (
    KINDS,
    WRITES,
    ConfirmArrival,
    GetParcel,
    ListOverdue,
    LoadSettings,
    LookupMember,
    Pickup,
    StaffLogin,
    rebuild,
)
from kiosk.api.worker import ApiWorker
from kiosk.errors import Rejected

pytestmark = pytest.mark.backend_seed("small")


@pytest.fixture
def client(backend):
    with BackendClient(backend.base_url, backend.kiosk_token, read_timeout=3.0, retries=0) as c:
        yield c


def test_the_worker_runs_records_on_its_client_and_answers_by_name(client):
    results: queue.Queue = queue.Queue()
    with ApiWorker(results.put, client=client) as worker:
        worker.ask(LoadSettings(), token=3)
        worker.ask(LookupMember(member_code="MEMBER-0000001"), token=4)
        worker.ask(StaffLogin(badge_code="STAFF-0001", pin="0000"), token=5)
        settings, lookup, login = (results.get(timeout=10) for _ in range(3))
    assert (settings.request, settings.ok, settings.token) == ("settings", True, 3)
    assert isinstance(settings.value, Settings)
    assert (lookup.request, lookup.token) == ("lookup", 4)
    assert isinstance(lookup.value, Lookup)
    assert lookup.value.member.id == "m_1"
    assert (login.request, login.ok, login.token) == ("login", False, 5)
    assert isinstance(login.error, Rejected)


def test_a_parcel_comes_with_the_doors_taken_when_asked(client):
    token = client.staff_login("STAFF-0001", "2468").token
    info = GetParcel(package_code="PKG1001", staff_token=token, occupied=True).run(client)
    assert info.order.number == "A1001"
    assert info.occupied == frozenset({2, 4})  # A1002 and A1004 are in the store behind doors 2 and 4
    assert GetParcel(package_code="PKG1001", staff_token=token).run(client).occupied is None
    overdue = ListOverdue(staff_token=token).run(client)
    assert [o.number for o in overdue] == ["A1003"]


def test_a_write_runs_with_its_idempotency_key(client, backend):
    token = client.staff_login("STAFF-0001", "2468").token
    write = ConfirmArrival(package_code="PKG1001", staff_token=token, received_by="s_2")
    first = write.run(client, key="k-arrive-1")
    again = write.run(client, key="k-arrive-1")  # a replay: the first answer, not a second arrival
    assert first.status == again.status == "arrived"
    assert backend.count_rows("order_events", idempotency_key="k-arrive-1") == 1


def test_writes_are_rebuilt_from_class_name_or_wire_kind():
    pickup = Pickup(order_id="o_2", lookup_id="l_1", locker_door=2, handed_over_by="s_1", staff_token="t")
    assert rebuild("Pickup", pickup.payload(), "t") == pickup
    assert rebuild("pickup", pickup.payload(), "t") == pickup
    assert set(WRITES) == {cls.__name__ for cls in KINDS.values()}
    with pytest.raises(ValueError, match="unknown outbox event kind"):
        rebuild("Teleport", {}, None)
    with pytest.raises(ValueError, match="exactly one"):
        Pickup(order_id="o_2", lookup_id="l_1")


def test_return_steps_stored_by_field_name_load_again():
    """The three steps of a return share their order and token fields (ReturnStep); rows stored
    by name and fields, as the outbox has always kept them, still load."""
    rows = [
        ("RequestReturn", {"order_id": "o_1", "reason": "damaged"}),
        ("ReviewReturn", {"order_id": "o_1", "approved": False}),
        ("CompleteReturn", {"order_id": "o_1", "destination": "warehouse"}),
    ]
    for kind, payload in rows:
        step = rebuild(kind, payload, "t")
        assert (type(step).__name__, step.payload(), step.staff_token) == (kind, payload, "t")
        assert rebuild(step.kind, payload, "t") == step
    with pytest.raises(ValueError, match="lacks order_id"):
        rebuild("RequestReturn", {"reason": "damaged"}, "t")


def test_reprs_hold_no_codes_pins_or_tokens():
    for record in (
        StaffLogin(badge_code="STAFF-0001", pin="2468"),
        LookupMember(phone="0912345678"),
        ConfirmArrival(package_code="PKG1001", staff_token="secret-token"),
    ):
        text = repr(record)
        for secret in ("STAFF-0001", "2468", "0912345678", "PKG1001", "secret-token"):
            assert secret not in text
