"""The server as a process (``python -m kiosk server``): kill -9, restart, durable data and tokens."""

from __future__ import annotations

import requests

from kiosk.server.harness import ServerProcess, ServerThread

KIOSK = {"Authorization": "Bearer test-kiosk-token"}


def _login(url: str) -> str:
    r = requests.post(url + "/staff/login", json={"badge_code": "STAFF-0001", "pin": "2468"}, headers=KIOSK, timeout=10)
    assert r.status_code == 200
    return r.json()["staff_token"]


def test_kill_9_then_restart_keeps_acknowledged_writes_tokens_and_keys(seed_data):
    with ServerProcess(seed=seed_data) as server:
        token = _login(server.api_url)
        staff = {**KIOSK, "X-Staff-Token": token, "Idempotency-Key": "arrive-1"}
        first = requests.post(
            server.api_url + "/parcels/PKG1001/arrive", json={"locker_door": 7}, headers=staff, timeout=10
        )
        assert first.status_code == 200
        server.kill()
        try:
            requests.get(server.api_url + "/health", timeout=2)
            raise AssertionError("the killed server still answered")
        except requests.ConnectionError:
            pass
        server.start()
        assert server.order_by_number("A1001")["status"] == "arrived"
        again = requests.post(
            server.api_url + "/parcels/PKG1001/arrive", json={"locker_door": 7}, headers=staff, timeout=10
        )
        assert again.status_code == 200  # same token after the restart, same answer for the same key
        assert again.json() == first.json()
        assert server.count_events("arrive") == 1
        server.stop()  # SIGTERM: graceful
        assert server.proc is None


def test_staff_token_survives_restart_and_expires(seed_data):
    with ServerThread(seed=seed_data) as server:
        token = _login(server.api_url)
        headers = {**KIOSK, "X-Staff-Token": token}
        server.stop()
        server.start()
        assert requests.get(server.api_url + "/parcels/PKG1001", headers=headers, timeout=5).status_code == 200
        with server.admin.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE staff_tokens SET expires_at = expires_at - 43201")
        r = requests.get(server.api_url + "/parcels/PKG1001", headers=headers, timeout=5)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"


def test_deactivated_staff_token_stops_working(seed_data):
    with ServerThread(seed=seed_data) as server:
        headers = {**KIOSK, "X-Staff-Token": _login(server.api_url)}
        with server.admin.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE staff SET active = 0 WHERE id = 's_1'")
        assert requests.get(server.api_url + "/parcels/PKG1001", headers=headers, timeout=5).status_code == 401


def test_server_logs_hold_no_personal_data(seed_data, tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    with ServerThread(seed=seed_data) as server:
        url = server.api_url
        r = requests.post(url + "/members/lookup", json={"member_code": "MEMBER-0000001"}, headers=KIOSK, timeout=5)
        lookup_id = r.json()["lookup_id"]
        requests.post(
            url + "/members/lookup", json={"phone": "0999888777", "pickup_code": "123456"}, headers=KIOSK, timeout=5
        )
        requests.post(url + "/staff/login", json={"badge_code": "STAFF-0001", "pin": "0000"}, headers=KIOSK, timeout=5)
        token = _login(url)
        h = {**KIOSK, "X-Staff-Token": token, "Idempotency-Key": "k1"}
        requests.post(url + "/parcels/PKG1001/arrive", json={}, headers=h, timeout=5)
        requests.get(url + "/parcels/PKG1005", headers=h, timeout=5)
        h["Idempotency-Key"] = "k2"
        requests.post(
            url + "/orders/o_2/pickup", json={"lookup_id": lookup_id, "package_code": "PKG1002"}, headers=h, timeout=5
        )
    text = caplog.text
    assert "event=picked_up" in text
    assert "event=arrived" in text
    assert "event=staff_login_failed" in text
    for secret in (
        "MEMBER-0000001",
        "0999888777",
        "STAFF-0001",
        "0000",
        "2468",
        "PKG100",
        "123456",
        "王小明",
        token,
        "test-kiosk-token",
    ):
        assert secret not in text, secret


def test_cli_server_with_seed_answers_and_stops_on_sigterm(tmp_path, seed_data):
    import json
    import signal
    import subprocess
    import sys
    import time

    from kiosk.server.harness import free_port

    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(seed_data), encoding="utf-8")
    port = free_port()
    log = open(tmp_path / "log.txt", "wb")  # noqa: SIM115
    cmd = [sys.executable, "-m", "kiosk", "server", "--db", f"sqlite:///{tmp_path}/cli.db", "--seed", str(seed)]
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, (tmp_path / "log.txt").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = requests.post(url + "/members/lookup", json={"member_code": "MEMBER-0000001"}, headers=KIOSK, timeout=5)
        assert r.status_code == 200
        assert [o["number"] for o in r.json()["orders"]] == ["A1003", "A1002"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    text = (tmp_path / "log.txt").read_text()
    assert "event=seed_loaded" in text
    assert "event=server_start" in text
    assert "MEMBER-0000001" not in text
