"""Typed results: strict checks on the backend's answers, only BackendUnavailable on garbage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.api.models import Health, Lookup, Order, Settings, StaffSession
from kiosk.errors import BackendUnavailable

ORDER = {
    "id": "o_123",
    "number": "A1001",
    "status": "arrived",
    "member_id": "m_1",
    "customer_masked": "王*明 / 0912***678",
    "items_summary": "T-shirt x2",
    "arrived_at": "2026-11-20T03:00:00Z",
    "overdue": False,
    "overdue_at": "2026-11-27T03:00:00Z",
    "locker_door": 3,
    "received_by": "s_2",
    "handed_over_by": None,
}


def test_the_contracts_example_order():
    order = Order.from_json(ORDER)
    assert order.arrived_at == datetime(2026, 11, 20, 3, tzinfo=UTC)
    assert order.locker_door == 3
    assert order.pickable
    assert order.to_json() == ORDER


def test_times_with_offsets_become_utc():
    order = Order.from_json({**ORDER, "arrived_at": "2026-11-20T11:00:00+08:00"})
    assert order.arrived_at == datetime(2026, 11, 20, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "gone"},
        {"id": ""},
        {"id": 5},
        {"overdue": 0},
        {"locker_door": True},
        {"locker_door": 3.0},
        {"arrived_at": "20.11.2026"},
        {"arrived_at": 1763607600},
        {"received_by": 2},
    ],
)
def test_wrong_order_fields_are_malformed(change):
    with pytest.raises(BackendUnavailable, match="malformed answer: order"):
        Order.from_json({**ORDER, **change})


@pytest.mark.parametrize("missing", ["id", "status", "overdue", "arrived_at", "locker_door", "handed_over_by"])
def test_missing_order_fields_are_malformed(missing):
    with pytest.raises(BackendUnavailable, match=rf"order\.{missing} is missing"):
        Order.from_json({k: v for k, v in ORDER.items() if k != missing})


def test_malformed_messages_hold_no_values():
    with pytest.raises(BackendUnavailable) as err:
        Order.from_json({**ORDER, "received_by": ["0912345678"]})
    assert "0912345678" not in str(err.value)


def test_settings_defaults_and_checks():
    assert Settings.from_json({}) == Settings()
    assert Settings.from_json({"member_code_only": True, "future_key": 1}).member_code_only is True
    for bad in ({"overdue_days": -1}, {"lockout_attempts": "5"}, {"staff_badge_pattern": "(("}, []):
        with pytest.raises(BackendUnavailable):
            Settings.from_json(bad)


def test_lookup_staff_session_and_health():
    lookup = Lookup.from_json({"member": {"id": "m_1", "display_name_masked": "王*明"}, "orders": [ORDER]})
    assert lookup.member.id == "m_1"
    assert lookup.orders[0].number == "A1001"
    session = StaffSession.from_json({"staff_token": "tok", "staff": {"id": "s_1", "name": "x"}, "expires_in": 5})
    assert session.token == "tok"
    assert "tok" not in repr(session)
    with pytest.raises(BackendUnavailable):
        StaffSession.from_json({"staff_token": "tok", "staff": None, "expires_in": 5})
    assert Health.from_json({"status": "ok"}).ok
    with pytest.raises(BackendUnavailable):
        Lookup.from_json({"member": {"id": "m_1"}, "orders": {"0": ORDER}})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries({}, optional={k: json_values for k in ORDER})))
def test_any_json_is_a_model_or_backend_unavailable(data):
    for model in (Order, Settings, Lookup, StaffSession, Health):
        try:
            model.from_json(data)
        except BackendUnavailable:
            pass
