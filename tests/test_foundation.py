"""Clock, codes, privacy, journal formatting and config: the small shared pieces."""

from __future__ import annotations

import io
import logging

import pytest

from kiosk import config as cfg
from kiosk.clock import SimClock
from kiosk.codes import CodeKind, CodePatterns, clean
from kiosk.errors import ConfigError
from kiosk.journal import format_event, log_event, setup_logging
from kiosk.privacy import code_ref, mask_email, mask_name, mask_phone


def test_simclock_fires_timers_in_order_and_stands_still():
    clock = SimClock()
    fired = []
    clock.call_later(2.0, fired.append, "b")
    clock.call_later(1.0, fired.append, "a")
    t = clock.call_later(1.5, fired.append, "cancelled")
    t.cancel()
    start = clock.monotonic()
    assert clock.monotonic() == start
    clock.advance(1.0)
    assert fired == ["a"]
    clock.advance(5.0)
    assert fired == ["a", "b"]
    assert clock.monotonic() == pytest.approx(start + 6.0)


def test_simclock_timer_scheduled_by_a_timer_fires_in_the_same_advance():
    clock = SimClock()
    seen = []

    def first():
        seen.append(("first", clock.monotonic()))
        clock.call_later(0.5, lambda: seen.append(("second", clock.monotonic())))

    base = clock.monotonic()
    clock.call_later(1.0, first)
    clock.advance(2.0)
    assert [name for name, _ in seen] == ["first", "second"]
    assert seen[1][1] == pytest.approx(base + 1.5)


def test_code_patterns_classify_and_refuse_junk():
    p = CodePatterns()
    assert p.classify("STAFF-0001") is CodeKind.STAFF
    assert p.classify("MEMBER-0000001") is CodeKind.MEMBER
    assert p.classify("PKG1001") is CodeKind.MEMBER  # both patterns match; the screen decides
    assert p.is_parcel("PKG1001")
    assert p.classify("a b") is CodeKind.UNKNOWN
    assert p.classify("PKG\n1001") is CodeKind.JUNK
    assert p.classify("x" * 129) is CodeKind.JUNK
    assert clean("  PKG1001 ") == "PKG1001"
    assert clean("PKG\t1") is None


def test_masking_follows_the_contract():
    assert mask_name("王小明") == "王*明"
    assert mask_name("王明") == "王*"
    assert mask_phone("0912345678") == "0912***678"
    assert mask_email("ming@example.org") == "m***@example.org"
    assert code_ref("MEMBER-0000001") == code_ref("MEMBER-0000001")
    assert "MEMBER" not in code_ref("MEMBER-0000001")


def test_event_lines_have_priority_prefix_and_fields():
    stream = io.StringIO()
    setup_logging(logging.INFO, stream, prefix=True)
    log_event(logging.getLogger("kiosk.test"), "door_forced", logging.WARNING, door=3, note="two words")
    line = stream.getvalue().strip()
    assert line == '<4>kiosk.test: event=door_forced door=3 note="two words"'
    assert format_event("pickup", order="A1002", ms=182.0) == "event=pickup order=A1002 ms=182"


def test_config_refuses_bad_values_naming_file_and_key(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("[locker]\npulse = 3.5\n")
    with pytest.raises(ConfigError) as err:
        cfg.load(path)
    assert str(path) in str(err.value)
    assert "locker.pulse" in str(err.value)
    path.write_text("[kiosk\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        cfg.load(path)
    path.write_text('[kiosk]\nmode = "vending"\n')
    with pytest.raises(ConfigError, match=r"kiosk\.mode"):
        cfg.load(path)
    path.write_text("[[locker.door]]\nnumber = 1\nrelay_pin = 5\n[[locker.door]]\nnumber = 2\nrelay_pin = 5\n")
    with pytest.raises(ConfigError, match="already used"):
        cfg.load(path)


def test_config_defaults_and_token_from_credentials(tmp_path):
    conf = cfg.parse('[kiosk]\nmode = "locker"\n[camera]\nsource = 0\n')
    assert conf.kiosk.mode == "locker"
    assert conf.camera.source == "0"
    assert conf.locker.pulse == 0.5
    (tmp_path / "kiosk-token").write_text("secret-token\n")
    assert cfg.read_token(conf, {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == "secret-token"
    with pytest.raises(ConfigError, match="no kiosk token"):
        cfg.read_token(conf, {})


@pytest.mark.parametrize(
    "url",
    ["http://pickup.example.com", "http://10.0.0.5:8000/api/v1", "http://[2001:db8::1]/", "http://127.example.com"],
)
def test_config_refuses_plain_http_to_another_host(url):
    """Issue 11: the token travels in every request; http:// is for this machine only."""
    with pytest.raises(ConfigError) as err:
        cfg.parse(f'[backend]\nurl = "{url}"\n', "kiosk.toml")
    assert err.value.path == "kiosk.toml"
    assert err.value.key == "backend.url"
    assert "allow_insecure_http" in err.value.reason
    # ... unless the file says so
    conf = cfg.parse(f'[backend]\nurl = "{url}"\nallow_insecure_http = true\n', "kiosk.toml")
    assert conf.backend.url == url
    assert conf.backend.allow_insecure_http is True


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.1.2.3/api/v1", "http://localhost:8000", "http://[::1]:8000", "https://x.org"],
)
def test_config_accepts_https_and_plain_http_on_this_machine(url):
    assert cfg.parse(f'[backend]\nurl = "{url}"\n').backend.url == url


@pytest.mark.parametrize(
    "url", ["https://]x.org", "https://[::1/api/v1", "https://x.org:port/", "https://x.org:70000", "http://[::1]:-1"]
)
def test_config_refuses_a_backend_url_python_cannot_split_with_a_clear_error(url):
    """Found by the config fuzz test: urllib raised a bare ValueError ("Invalid IPv6 URL") out of
    the parser; the kiosk must name the file and the key instead."""
    with pytest.raises(ConfigError, match="is not a URL") as err:
        cfg.parse(f'[backend]\nurl = "{url}"\n', "kiosk.toml")
    assert (err.value.path, err.value.key) == ("kiosk.toml", "backend.url")


@pytest.mark.parametrize("url", ["ftp://pickup.example.com", "pickup.example.com", "https://"])
def test_config_refuses_a_backend_url_that_is_not_http(url):
    with pytest.raises(ConfigError, match="https://") as err:
        cfg.parse(f'[backend]\nurl = "{url}"\n', "kiosk.toml")
    assert err.value.key == "backend.url"


def test_config_refuses_allow_insecure_http_that_is_not_a_boolean():
    with pytest.raises(ConfigError, match="true or false") as err:
        cfg.parse('[backend]\nallow_insecure_http = "yes"\n')
    assert err.value.key == "backend.allow_insecure_http"


def _token_warnings(tmp_path, caplog, mode: int) -> list[str]:
    token = tmp_path / "kiosk-token"
    token.write_text("s3cret-kiosk-token\n")
    token.chmod(mode)
    conf = cfg.parse(f'[backend]\ntoken_file = "{token}"\n')
    with caplog.at_level(logging.WARNING, logger="kiosk.config"):
        assert cfg.read_token(conf, {}) == "s3cret-kiosk-token"
    assert "s3cret" not in caplog.text  # the token itself never goes into a log line
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604])
def test_a_token_file_others_can_read_is_warned_about_without_the_token(tmp_path, caplog, mode):
    (line,) = _token_warnings(tmp_path, caplog, mode)
    assert "event=token_file_readable" in line
    assert str(tmp_path / "kiosk-token") in line
    assert f"mode={mode:04o}" in line


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_token_file_only_its_owner_reads_gives_no_warning(tmp_path, caplog, mode):
    assert _token_warnings(tmp_path, caplog, mode) == []
