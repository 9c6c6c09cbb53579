"""Spoken guidance (issue 12): real clips rendered by espeak-ng into a tmp folder, played through
pygame.mixer under SDL's dummy audio driver, driven by a real App against the reference server.
What the player handed the mixer is read from ``MixerPlayer.queued`` (the seam)."""

from __future__ import annotations

import array
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
import wave
from pathlib import Path

import pygame
import pytest

from kiosk import cli, voice
from kiosk.api.client import BackendClient
from kiosk.api.outbox import Outbox
from kiosk.app import App
from kiosk.assembly import event_queue
from kiosk.assembly import gpio as gpio_parts
from kiosk.clock import SimClock
from kiosk.config import Config, KioskSection, VoiceSection, parse
from kiosk.errors import ConfigError
from kiosk.events import Scan
from kiosk.screens.view import Message, Press, View
from kiosk.server.harness import DEMO_SEED, ServerThread

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup)")

DOORS = (2,)  # the seed's locker parcel A1002 is behind door 2; render as little as the tests need


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("voice")
    result = voice.build(folder, DOORS)
    assert result.rendered == len(voice.PHRASES) * 2 + len(DOORS) * 2
    return folder


@pytest.fixture
def mixer():
    """pygame.mixer as the kiosk opens it, quit afterwards (other tests never start it)."""
    pygame.mixer.quit()
    yield pygame.mixer
    pygame.mixer.quit()


def _view(**fields):
    """A View; r2 screens and fields the View does not know yet (door_alarm, alarm_door: the
    screens branch adds them) stand in as a namespace with the View's own field values."""
    try:
        return View(**fields)
    except (TypeError, ValueError):
        base = {name: getattr(View(), name) for name in View.__dataclass_fields__}
        ns = types.SimpleNamespace(**{**base, "alarm_door": None, "alarm_kind": "", **fields})
        ns.is_staff = False
        return ns


def _until(app, cond, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        app.pump()
        if cond():
            return True
        app.wait(0.01)
    return False


def _said(app) -> list[tuple[str, tuple[str, ...]]]:
    return [(q.prompt.lang, q.prompt.clips) for q in app.voice.player.queued]


# -- which prompt for which View (pure) -----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "clips"),
    [
        ({"screen": "idle"}, ("welcome",)),
        ({"screen": "pickup_code"}, ("pickup_code",)),
        ({"screen": "door_open", "doors": ((3, "unlocked"),)}, ("door_3", "is_open")),
        ({"screen": "door_open", "doors": ((3, "open"), (7, "unlocked"))}, ("door_3", "is_open", "door_7", "is_open")),
        ({"screen": "door_alarm", "alarm_door": 5, "alarm_kind": "door_left_open"}, ("please_close", "door_5")),
        (
            {"screen": "door_alarm", "alarm_door": 5, "alarm_kind": "door_forced"},
            ("please_close", "door_5", "staff_alerted"),
        ),
        ({"screen": "done"}, ("done",)),
        ({"screen": "scan_package", "mode": "counter"}, ("wait_staff",)),
        ({"screen": "scan_package", "mode": "locker"}, None),
        ({"screen": "help", "message": Message.of("msg.staff_called")}, ("wait_staff",)),
        ({"screen": "orders"}, None),
        ({"screen": "member_entry"}, None),
        ({"screen": "staff_menu", "staff_name": "陳小華"}, None),
        ({"screen": "door_open", "doors": ((3, "unlocked"),), "staff_name": "陳小華"}, None),  # a staff return
    ],
)
def test_prompt_for_each_screen(fields, clips):
    from kiosk.screens.view import DoorRow

    if "doors" in fields:
        fields = {**fields, "doors": tuple(DoorRow(n, s) for n, s in fields["doors"])}
    for lang in ("zh-TW", "en"):
        prompt = voice.prompt_for(_view(lang=lang, **fields))
        if clips is None:
            assert prompt is None
        else:
            assert prompt == voice.Prompt(lang, clips)


# -- rendering ---------------------------------------------------------------------------------


def test_clips_are_wav_in_each_language_with_its_own_voice(clips, mixer):
    mixer.init(frequency=22050, size=-16, channels=1)
    for lang in ("zh-TW", "en"):
        for name in (*voice.PHRASES, "door_2"):
            sound = mixer.Sound(str(clips / lang / f"{name}.wav"))
            assert sound.get_length() > 0.3, (lang, name)
    # espeak-ng's trailing 0.4 s of silence is cut to 0.12 s: a prompt's clips run on
    with wave.open(str(clips / "en" / "door_2.wav"), "rb") as w:
        samples = array.array("h", w.readframes(w.getnframes()))
    tail = len(samples) - max(i for i, v in enumerate(samples) if abs(v) > 300)
    assert 0.1 * 22050 <= tail <= 0.13 * 22050
    # the two languages are different recordings of different texts
    assert (clips / "zh-TW" / "done.wav").read_bytes() != (clips / "en" / "done.wav").read_bytes()
    assert voice.VOICES == {"zh-TW": "cmn-latn-pinyin", "en": "en-us"}


def test_render_is_idempotent_and_renders_only_what_changed(tmp_path, monkeypatch):
    first = voice.build(tmp_path, (4,), langs=("en",))
    assert (first.rendered, first.kept) == (len(voice.PHRASES) + 1, 0)
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "en").iterdir()}
    again = voice.build(tmp_path, (4,), langs=("en",))
    assert (again.rendered, again.kept, again.removed) == (0, len(voice.PHRASES) + 1, 0)
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "en").iterdir()} == stamps
    assert again.bytes == first.bytes > 0
    # a changed text renders that clip alone; a door no longer configured goes, a new one comes
    monkeypatch.setitem(voice.PHRASES, "done", {**voice.PHRASES["done"], "en": "Parcel collected."})
    changed = voice.build(tmp_path, (5,), langs=("en",))
    assert (changed.rendered, changed.removed) == (2, 1)  # done + door_5; door_4 removed
    assert not (tmp_path / "en" / "door_4.wav").exists()
    assert (tmp_path / "en" / "door_5.wav").stat().st_size > 44
    assert (tmp_path / "en" / "welcome.wav").stat().st_mtime_ns == stamps["welcome.wav"]
    # a clip deleted by hand is rendered again
    (tmp_path / "en" / "welcome.wav").unlink()
    assert voice.build(tmp_path, (5,), langs=("en",)).rendered == 1


def test_a_damaged_manifest_renders_again_and_deletes_nothing_outside(tmp_path):
    folder = tmp_path / "clips"
    voice.build(folder, (), langs=("en",))
    victim = tmp_path / "victim.wav"
    victim.write_bytes(b"keep me")
    manifest = folder / voice.MANIFEST
    manifest.write_text('{"format": 1, "clips": {"en/../../victim": "x", "/tmp/x": "y"}}', encoding="utf-8")
    result = voice.build(folder, (), langs=("en",))
    assert (result.rendered, result.removed) == (len(voice.PHRASES), 0)
    assert victim.read_bytes() == b"keep me"
    manifest.write_text("not json", encoding="utf-8")
    assert voice.build(folder, (), langs=("en",)).rendered == len(voice.PHRASES)


def test_render_without_espeak_is_a_clear_error(tmp_path):
    with pytest.raises(voice.VoiceError, match="apt-get install espeak-ng"):
        voice.build(tmp_path, (1,), espeak=str(tmp_path / "espeak-ng"))
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cli_renders_a_locker_configs_doors_into_its_folder(tmp_path, capsys):
    folder = tmp_path / "clips"
    conf = tmp_path / "kiosk.toml"
    conf.write_text(
        f'[kiosk]\nmode = "locker"\n[voice]\ndir = "{folder}"\n[[locker.door]]\nnumber = 7\nrelay_pin = 5\n',
        encoding="utf-8",
    )
    assert cli.main(["voice", "--build", "--config", str(conf)]) == 0
    assert "clips rendered" in capsys.readouterr().out
    assert sorted(p.name for p in (folder / "en").glob("door_*")) == ["door_7.wav"]
    assert cli.main(["voice", "--build", "--config", str(conf)]) == 0
    assert "0 clips rendered" in capsys.readouterr().out
    # a counter has no doors to say
    counter = tmp_path / "counter"
    conf.write_text(f'[voice]\ndir = "{counter}"\n', encoding="utf-8")
    assert cli.main(["voice", "--build", "--config", str(conf)]) == 0
    assert list((counter / "zh-TW").glob("door_*")) == []
    assert (counter / "zh-TW" / "wait_staff.wav").is_file()


# -- config --------------------------------------------------------------------------------------


def test_voice_config_defaults_follow_the_mode():
    assert voice.enabled_for(Config(kiosk=KioskSection(mode="locker")))
    assert not voice.enabled_for(Config(kiosk=KioskSection(mode="counter")))
    assert voice.enabled_for(Config(kiosk=KioskSection(mode="counter"), voice=VoiceSection(enabled=True)))
    assert not voice.enabled_for(Config(kiosk=KioskSection(mode="locker"), voice=VoiceSection(enabled=False)))
    assert voice.clip_dir(Config(kiosk=KioskSection(state_dir="/var/lib/x"))) == Path("/var/lib/x/voice")
    config = parse('[voice]\nenabled = true\nvolume = 0.25\ndir = "/srv/clips"\n')
    assert (config.voice.enabled, config.voice.volume, config.voice.dir) == (True, 0.25, "/srv/clips")


@pytest.mark.parametrize(
    ("text", "reason"),
    [("volume = 1.5", "from 0 to 1"), ("volume = -0.1", "from 0 to 1"), ('enabled = "yes"', "true or false")],
)
def test_bad_voice_config_names_the_key(text, reason):
    with pytest.raises(ConfigError) as err:
        parse(f"[voice]\n{text}\n", "k.toml")
    assert err.value.key == f"voice.{text.split()[0]}"
    assert reason in err.value.reason


# -- the app says each new screen's prompt once -------------------------------------------------


@pytest.fixture
def kiosk(backend, tmp_path, clips, mixer):
    made = []

    def make(mode="locker", folder=None, voice_section=None, **app_kw):
        clock = SimClock()
        events = event_queue(window=False)
        section = voice_section or VoiceSection(dir=str(folder if folder is not None else clips))
        config = Config(kiosk=KioskSection(mode=mode, state_dir=str(tmp_path)), voice=section)
        parts = gpio_parts(config, clock, events, simulate={"doors": 4, "csv_path": tmp_path / "gpio.csv"})
        gpio = parts.hardware.sim
        config = parts.config
        client = BackendClient(
            backend.base_url, backend.kiosk_token, read_timeout=3.0, retries=0, on_state=events.backend_state
        )
        app = App(
            config,
            clock=clock,
            events=events,
            client=client,
            outbox=Outbox(tmp_path / "outbox.db", client, clock, on_change=events.post),
            hardware=parts.hardware,
            display=None,  # nothing drawn: the voice follows the views
            voice=voice.Voice.from_config(config),
            **app_kw,
        )
        made.append((app, gpio, client, clock))
        app.start()
        assert _until(app, lambda: app.state.backend.settings_loaded and app.quiet())
        return app, gpio, clock

    yield make
    for app, gpio, client, clock in made:
        app.close()
        app.voice.close()
        gpio.close()
        client.close()
        clock.close()


def test_locker_pickup_says_welcome_door_and_done_once_each(kiosk, clips):
    app, gpio, clock = kiosk("locker")
    assert app.voice.active  # on by default in locker mode
    assert _said(app) == [("zh-TW", ("welcome",))]
    queued = app.voice.player.queued[-1]
    assert queued.files == (clips / "zh-TW" / "welcome.wav",)
    assert pygame.mixer.Channel(0).get_busy()  # handed to the mixer, playing
    assert pygame.mixer.Channel(0).get_sound() is queued.sound

    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    assert not pygame.mixer.Channel(0).get_busy()  # the welcome stops when the screen changes
    app.post(Press("order:A1002"))
    assert _until(app, lambda: app.view.screen == "door_open")
    assert _said(app)[-1] == ("zh-TW", ("door_2", "is_open"))
    queued = app.voice.player.queued[-1]
    assert queued.files == (clips / "zh-TW" / "door_2.wav", clips / "zh-TW" / "is_open.wav")
    parts = [pygame.mixer.Sound(str(f)).get_length() for f in queued.files]
    assert queued.seconds == pytest.approx(sum(parts), abs=0.01)  # one Sound: both clips in order
    # the door's state changes redraw door_open: no second prompt
    clock.advance(0.5)
    gpio.open_door(2)
    assert _until(app, lambda: app.view.doors and app.view.doors[0].state == "open")
    for _ in range(20):
        app.pump()
    assert len(_said(app)) == 2
    gpio.close_door(2)
    assert _until(app, lambda: app.view.screen == "done")
    # the done countdown redraws every second: still one prompt
    for _ in range(3):
        clock.advance(1)
        assert _until(app, lambda: app.quiet())
    assert _said(app) == [("zh-TW", ("welcome",)), ("zh-TW", ("door_2", "is_open")), ("zh-TW", ("done",))]


def test_the_prompt_follows_the_language(kiosk, clips):
    app, _gpio, _clock = kiosk("locker")
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    app.post(Press("lang"))
    assert _until(app, lambda: app.view.lang == "en")
    app.post(Press("order:A1002"))
    assert _until(app, lambda: app.view.screen == "door_open")
    assert _said(app)[-1] == ("en", ("door_2", "is_open"))
    assert app.voice.player.queued[-1].files[0] == clips / "en" / "door_2.wav"


def test_counter_is_silent_by_default_and_says_wait_for_staff_when_on(kiosk, clips):
    app, _gpio, _clock = kiosk("counter")
    assert not app.voice.active  # off by default at a counter
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    app.post(Press("order:A1002"))
    assert _until(app, lambda: app.view.screen == "scan_package")
    assert list(app.voice.player.queued) == []
    assert not pygame.mixer.get_init()  # off: the mixer is never opened

    on, _gpio, _clock = kiosk("counter", voice_section=VoiceSection(enabled=True, volume=0.3, dir=str(clips)))
    on.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(on, lambda: on.view.screen == "orders")
    on.post(Press("order:A1002"))
    assert _until(on, lambda: on.view.screen == "scan_package")
    assert _said(on) == [("zh-TW", ("welcome",)), ("zh-TW", ("wait_staff",))]
    assert pygame.mixer.Channel(0).get_volume() == pytest.approx(0.3, abs=0.01)


def test_a_door_not_rendered_is_said_as_the_door(kiosk, clips):
    app, _gpio, _clock = kiosk("locker")
    prompt = voice.Prompt("en", ("door_42", "is_open"))
    assert app.voice.files(prompt) == (clips / "en" / "door.wav", clips / "en" / "is_open.wav")


# -- a kiosk without audio works on, silent ---------------------------------------------------


def _silent_run(app, gpio, clock):
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    app.post(Press("order:A1002"))
    assert _until(app, lambda: app.view.screen == "door_open")
    clock.advance(0.5)
    gpio.open_door(2)
    gpio.close_door(2)
    assert _until(app, lambda: app.view.screen == "done")


def _warnings(caplog):
    return [r for r in caplog.records if r.levelno >= logging.WARNING and "voice" in r.getMessage()]


def test_no_sound_card_one_warning_then_silence(kiosk, monkeypatch, caplog):
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    with caplog.at_level(logging.INFO):
        app, gpio, clock = kiosk("locker")
        _silent_run(app, gpio, clock)
    assert not app.voice.active
    assert not pygame.mixer.get_init()
    assert list(app.voice.player.queued) == []
    [warning] = _warnings(caplog)
    assert "event=voice_unavailable" in warning.getMessage()
    assert "no-such-driver" in warning.getMessage()


def test_no_clips_rendered_one_warning_then_silence(kiosk, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))  # and no espeak-ng either
    with caplog.at_level(logging.INFO):
        app, gpio, clock = kiosk("locker", folder=tmp_path / "never-built")
        _silent_run(app, gpio, clock)
    assert not app.voice.active
    assert not pygame.mixer.get_init()  # the mixer is not even opened
    [warning] = _warnings(caplog)
    assert "no clips rendered" in warning.getMessage()
    assert "espeak-ng is not installed" in warning.getMessage()


def test_a_mixer_failing_while_playing_silences_the_voice_not_the_kiosk(kiosk, caplog):
    app, gpio, clock = kiosk("locker")
    pygame.mixer.quit()  # the sound card went away under the kiosk
    with caplog.at_level(logging.INFO):
        _silent_run(app, gpio, clock)
    assert not app.voice.active
    assert len([r for r in _warnings(caplog) if "voice_unavailable" in r.getMessage()]) == 1


# -- pickup-kiosk run speaks ---------------------------------------------------------------------


def test_run_says_the_welcome_from_the_configured_clips(tmp_path, clips):
    """``main_run`` builds the Voice from ``[voice]`` and the app hands it the first screen."""
    with ServerThread(seed=DEMO_SEED) as server:
        (tmp_path / "token").write_text(server.kiosk_token + "\n")
        config = tmp_path / "kiosk.toml"
        config.write_text(
            f'[kiosk]\nid = "{server.kiosk_id}"\nmode = "locker"\nstate_dir = "{tmp_path / "state"}"\n'
            f'[backend]\nurl = "{server.base_url}"\ntoken_file = "{tmp_path / "token"}"\n'
            '[camera]\nsource = "none"\n[gpio]\npin_factory = "mock"\n'
            "[[locker.door]]\nnumber = 2\nrelay_pin = 23\nsensor_pin = 24\n"
            "[display]\nfullscreen = false\nwidth = 800\nheight = 480\n"
            f'[voice]\nvolume = 0.5\ndir = "{clips}"\n'
        )
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(tmp_path / "notify"))
        sock.settimeout(60)
        env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"), SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
        env.pop("CREDENTIALS_DIRECTORY", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "run", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert sock.recv(4096).decode().startswith("READY=1")
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            sock.close()
    assert proc.returncode == 0, err
    assert f"event=voice_on clips={2 * (len(voice.PHRASES) + len(DOORS))}" in err
    assert "event=voice_say lang=zh-TW clips=welcome" in err
    assert "voice_unavailable" not in err
