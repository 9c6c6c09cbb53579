"""Audit of the kiosk side against docs/design.md: scenarios of our own (other seeds, codes and
orders of steps than the shipped ones), played headless by the scenario runner against the
reference server, each pinning a place where the kiosk did not do what the contract says."""

from __future__ import annotations

import io
import json
from pathlib import Path

from kiosk import scenario as scenario_mod

SEED = {
    "settings": {"overdue_days": 5},
    "kiosks": [{"id": "kiosk-east", "token": "tok-east-77", "mode": "locker"}],
    "staff": [{"id": "st_9", "name": "趙大同", "badge_code": "STAFF-Q7Q7", "pin": "9090"}],
    "members": [
        {"id": "mem_a", "name": "周杰倫", "phone": "0977000111", "email": "jay@example.tw", "member_code": "APP_7731xq"}
    ],
    "orders": [
        {"id": "ord_1", "number": "Z-501", "member_id": "mem_a", "package_code": "BOX-501",
         "items_summary": "Lamp", "status": "arrived", "locker_door": 4, "pickup_code": "000123"},
    ],
}  # fmt: skip


def play(tmp_path: Path, text: str, seed: dict | None = None) -> tuple[int, str]:
    (tmp_path / "seed.json").write_text(json.dumps(seed or SEED), encoding="utf-8")
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    stream = io.StringIO()
    rc = scenario_mod.run_file(path, tmp_path / "out", stream)
    return rc, stream.getvalue()


def test_a_scenario_may_start_the_kiosk_in_english(tmp_path, monkeypatch):
    """`[setup] lang` (and `demo --lang`) start the kiosk in English, and each session ends back in
    it: building the App used to crash (FlowConfig keeps the language in its [kiosk] section)."""
    from kiosk.app import App

    built: list[App] = []
    real_init = App.__init__

    def spy(self, *a, **kw):
        real_init(self, *a, **kw)
        built.append(self)

    monkeypatch.setattr(App, "__init__", spy)
    rc, out = play(
        tmp_path,
        """
[setup]
mode = "locker"
seed = "seed.json"
lang = "en"
[[step]]
scan = "APP_7731xq"
[[step]]
expect_screen = "orders"
[[step]]
press = "lang"
[[step]]
press = "cancel"
[[step]]
expect_screen = "idle"
""",
    )
    assert rc == 0, out
    assert built[0].state.lang == "en"  # zh-TW chosen by the customer, English again for the next
    assert built[0].drawn_view.lang == "en"


def test_every_symbology_the_runner_accepts_is_read_by_its_kiosk(tmp_path):
    """Rule 4: `scan` renders the code in the symbology named, then it is decoded. The runner
    accepts EAN8 but its kiosk did not look for it, so such a step could never pass."""
    seed = json.loads(json.dumps(SEED))
    seed["orders"].append(
        {"id": "ord_8", "number": "Z-508", "member_id": "mem_a", "package_code": "96385074", "status": "shipped"}
    )
    rc, out = play(
        tmp_path,
        """
[setup]
mode = "counter"
seed = "seed.json"
[[step]]
scan = "STAFF-Q7Q7"
symbology = "CODE39"
[[step]]
type = "9090"
[[step]]
press = "confirm"
[[step]]
press = "arrival"
[[step]]
scan = "96385074"
symbology = "EAN8"
[[step]]
expect_screen = "arrival_confirm"
[[step]]
press = "confirm"
[[step]]
expect_order = {number = "Z-508", status = "arrived", received_by = "st_9"}
""",
        seed,
    )
    assert rc == 0, out
