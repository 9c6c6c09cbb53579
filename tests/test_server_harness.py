"""The harness others build on: ServerThread start/stop/restart, delay, admin reads."""

from __future__ import annotations

import requests

from kiosk.server.harness import ServerThread


def _settings(server: ServerThread, timeout: float = 5) -> requests.Response:
    return requests.get(
        server.api_url + "/settings", headers={"Authorization": f"Bearer {server.kiosk_token}"}, timeout=timeout
    )


def test_backend_fixture_serves_demo_data(backend):
    assert backend.base_url.startswith("http://127.0.0.1:")
    assert backend.api_url == backend.base_url + "/api/v1"
    assert backend.kiosk_id == "k_1"
    assert backend.kiosk_token == "dev-kiosk-token"
    assert _settings(backend).json()["overdue_days"] == 7
    order = backend.order_by_number("A1002")
    assert order["status"] == "arrived"
    assert order["locker_door"] == 2
    assert backend.order_by_number("A1001")["status"] == "shipped"
    assert backend.order_by_number("nope") is None


def test_stop_refuses_connections_and_start_resumes_same_port_and_data(backend):
    port = backend.port
    headers = {"Authorization": "Bearer dev-kiosk-token", "Idempotency-Key": "k-restart"}
    lookup = requests.post(
        backend.api_url + "/members/lookup", json={"member_code": "MEMBER-0000001"}, headers=headers, timeout=5
    )
    body = {"lookup_id": lookup.json()["lookup_id"], "locker_door": 2}
    r = requests.post(backend.api_url + "/orders/o_2/pickup", json=body, headers=headers, timeout=5)
    assert r.status_code == 200
    backend.stop()
    try:
        _settings(backend, timeout=2)
        raise AssertionError("the stopped server still answered")
    except requests.ConnectionError:
        pass
    backend.start()
    assert backend.port == port
    assert _settings(backend).status_code == 200
    assert backend.order_by_number("A1002")["status"] == "received"
    assert backend.count_events("pickup", number="A1002") == 1
    assert backend.count_rows("idempotency") == 1


def test_delay_slows_every_answer_and_can_be_lifted(backend):
    backend.delay = 0.5
    try:
        _settings(backend, timeout=0.2)
        raise AssertionError("the slow server answered within 0.2 s")
    except requests.Timeout:
        pass
    backend.delay = 0
    assert _settings(backend).status_code == 200


def test_server_thread_without_seed_starts_empty_and_as_context_manager():
    with ServerThread() as server:
        assert server.healthy()
        assert server.kiosk_token is None
        assert server.count_rows("orders") == 0
        r = requests.get(server.api_url + "/settings", timeout=5)
        assert r.status_code == 401
    assert not server.healthy()


def test_seed_dict_is_loaded_once_across_restarts(seed_data):
    with ServerThread(seed=seed_data) as server:
        assert server.kiosk_token == "test-kiosk-token"
        assert server.count_rows("orders") == len(seed_data["orders"])
        server.stop()
        server.start()  # a second load would be refused: the database holds data
        assert server.count_rows("orders") == len(seed_data["orders"])


def test_repr_shows_neither_the_database_url_nor_the_seed(tmp_path):
    """pytest prints a harness in a failed assertion: a PostgreSQL URL's password must not show."""
    from kiosk.server.harness import ServerProcess

    url = "postgresql://kiosk:hunter2@db.example/kiosk"
    thread = ServerThread(db_url=url, seed={"kiosks": [{"id": "k_9", "token": "tok-secret"}]})
    process = ServerProcess(url, None, "127.0.0.1", 8123, "info", tmp_path / "log", 2)
    assert repr(thread) == "ServerThread(host='127.0.0.1', port=0)"
    assert "hunter2" not in repr(process)
    assert (process.db_url, process.port, process.log_level, process.workers) == (url, 8123, "info", 2)
    assert thread.kiosk_token == "tok-secret"
