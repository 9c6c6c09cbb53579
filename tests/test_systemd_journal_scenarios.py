"""The whole log of real scenarios: every kiosk line is an event line, no personal data anywhere.

Plays shipped scenarios that handle phones, emails, member codes, badges, PINs and parcel codes
(look-ups, a wrong PIN, a staff arrival, an offline arrival, a locker pickup) and checks the
kiosk's log (``log.txt``) and the runner's output against the scenario's seed.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from kiosk import scenario as scenario_mod
from kiosk.privacy import find_personal_data
from kiosk.server.harness import DEMO_SEED

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PLAYED = [
    "counter_phone_lookup",
    "counter_email_lookup",
    "counter_wrong_pin",
    "counter_staff_arrival",
    "counter_offline_arrival",
    "locker_pickup_one",
]
LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (?P<logger>[\w.]+): (?P<message>.*)$")
EVENT = re.compile(r"^event=[a-z][a-z0-9_]*( [a-z][a-z0-9_]*=(\"(\\.|[^\"\\])*\"|[^\s\"=]+))*$")


@pytest.mark.parametrize("name", PLAYED)
def test_scenario_log_is_events_only_and_free_of_personal_data(tmp_path, name):
    path = SCENARIOS / f"{name}.toml"
    if not path.exists():
        pytest.skip(f"{path.name} not shipped")
    played = scenario_mod.load(path)
    seed = json.loads(Path(played.seed or DEMO_SEED).read_text(encoding="utf-8"))
    stream = io.StringIO()
    rc = scenario_mod.run_file(path, tmp_path, stream)
    runner_output = stream.getvalue()
    assert rc == 0, runner_output
    log = (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert "event=scenario_end" in log

    assert find_personal_data(log, seed) == []
    assert find_personal_data(runner_output, seed) == []

    kiosk_lines = 0
    for line in log.splitlines():
        match = LINE.match(line)
        if match is None or not match["logger"].startswith("kiosk."):
            continue  # uvicorn's own lines from the in-process reference server
        kiosk_lines += 1
        assert EVENT.match(match["message"]), line
    assert kiosk_lines > 5
