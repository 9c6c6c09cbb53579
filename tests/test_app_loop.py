"""The app loop against the real reference server: effects carried out, timers on the injected
clock, redraw only on change, READY after the first screen, the USB keyboard wedge."""

from __future__ import annotations

import socket
import time

import pygame
import pytest

from kiosk import flow
from kiosk.api.client import BackendClient
from kiosk.api.outbox import Outbox
from kiosk.app import App, Display
from kiosk.assembly import event_queue
from kiosk.assembly import gpio as gpio_parts
from kiosk.clock import SimClock
from kiosk.config import Config, KioskSection
from kiosk.events import Scan
from kiosk.screens.render import Renderer
from kiosk.screens.view import Press
from kiosk.systemd import Systemd


class CountingRenderer(Renderer):
    def __init__(self):
        super().__init__()
        self.draws = 0

    def draw(self, surface, view, **kw):
        self.draws += 1
        return super().draw(surface, view, **kw)


@pytest.fixture(scope="module")
def renderer_fonts():
    pygame.font.init()
    return Renderer().fonts


def _until(app, cond, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        app.pump()
        if cond():
            return True
        app.wait(0.01)
    return False


def _settle(app, limit=5.0):
    return _until(app, lambda: app.quiet(), limit)


@pytest.fixture
def kiosk(backend, tmp_path, renderer_fonts):
    made = []

    def make(mode="counter", systemd=None, display=False):
        clock = SimClock()
        events = event_queue(window=display)
        config = Config(kiosk=KioskSection(mode=mode, state_dir=str(tmp_path)))
        parts = gpio_parts(config, clock, events, simulate={"doors": 4, "csv_path": tmp_path / "gpio.csv"})
        gpio = parts.hardware.sim
        client = BackendClient(
            backend.base_url, backend.kiosk_token, read_timeout=3.0, retries=0, on_state=events.backend_state
        )
        renderer = CountingRenderer()
        renderer.fonts = renderer_fonts
        surface = pygame.display.set_mode((800, 480)) if display else pygame.Surface((800, 480))
        app = App(
            parts.config,
            clock=clock,
            events=events,
            client=client,
            outbox=Outbox(tmp_path / "outbox.db", client, clock, on_change=events.post),
            hardware=parts.hardware,
            display=Display(surface, renderer, window=display),
            systemd=systemd,
        )
        made.append((app, gpio, client, clock))
        app.start()
        assert _until(app, lambda: app.state.backend.settings_loaded and app.quiet())
        return app, gpio, clock

    yield make
    for app, gpio, client, clock in made:
        app.close()
        gpio.close()
        client.close()
        clock.close()
    if pygame.display.get_init():
        pygame.display.quit()


def test_idle_kiosk_does_not_redraw(kiosk):
    app, _gpio, _clock = kiosk()
    draws = app.renderer.draws
    for _ in range(50):
        app.pump()
    assert app.renderer.draws == draws
    assert app.view.screen == "idle"


def test_scan_to_orders_and_buttons_drawn(kiosk):
    app, _gpio, _clock = kiosk()
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders" and app.drawn_view.screen == "orders")
    ids = {b.id for b in app.buttons}
    assert {"order:A1002", "order:A1003", "pickup_all"} <= ids


def test_idle_timer_runs_on_the_injected_clock(kiosk):
    app, _gpio, clock = kiosk()
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    clock.advance(59)
    _settle(app)
    assert app.view.screen == "orders"
    clock.advance(1)
    assert _until(app, lambda: app.view.screen == "idle")


def test_restarted_timer_ignores_the_old_firing(kiosk):
    app, _gpio, clock = kiosk()
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    clock.advance(40)
    app.post(Press("lang"))  # input restarts the 60 s idle timer
    _settle(app)
    clock.advance(30)
    _settle(app)
    assert app.view.screen == "orders"
    clock.advance(30)
    assert _until(app, lambda: app.view.screen == "idle")


def test_locker_pickup_unlocks_and_writes_through_outbox(kiosk, backend):
    app, gpio, clock = kiosk("locker")
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    app.post(Press("order:A1002"))
    assert _until(app, lambda: gpio.bank.state(2) == "unlocked")
    assert gpio.bank.relay_on(2)
    clock.advance(0.5)
    _settle(app)
    assert not gpio.bank.relay_on(2)
    assert backend.order_by_number("A1002")["status"] == "arrived"  # nothing before the door opens
    gpio.open_door(2)
    assert _until(app, lambda: backend.order_by_number("A1002")["status"] == "received")
    gpio.close_door(2)
    assert _until(app, lambda: app.view.screen == "done")


def test_counter_mode_never_unlocks(kiosk):
    app, gpio, _clock = kiosk("counter")
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    app.post(Press("order:A1002"))
    assert _until(app, lambda: app.view.screen == "scan_package")
    assert gpio.bank.last_unlocked is None


def test_ready_after_first_screen_and_status_on_change(kiosk, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    sd = Systemd(path)
    try:
        app, _gpio, _clock = kiosk(systemd=sd)
        first = sock.recv(4096).decode()
        assert "READY=1" in first.split("\n")
        assert "STATUS=state=idle camera=ok backend=up outbox=0" in first
        app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
        assert _until(app, lambda: app.view.screen == "orders")
        assert "STATUS=state=orders" in sock.recv(4096).decode()
    finally:
        app.systemd = None
        sd.close()
        sock.close()


def test_usb_keyboard_wedge_burst_is_a_scan(kiosk):
    app, _gpio, _clock = kiosk(display=True)
    for ch in "MEMBER-0000001":
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=ord(ch.lower()), unicode=ch, mod=0))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, unicode="\r", mod=0))
    assert _until(app, lambda: app.view.screen == "orders")


def test_slow_typing_goes_to_the_pin(kiosk):
    app, _gpio, _clock = kiosk(display=True)
    app.post(Scan("CODE128", "STAFF-0001", 0.0))
    assert _until(app, lambda: app.view.screen == "staff_login")
    for ch in "2468":
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=ord(ch), unicode=ch, mod=0))
        app.pump()
        time.sleep(0.08)  # slower than a scanner's burst: typing
    assert _until(app, lambda: app.view.pin_length == 4)


def test_flow_effect_failure_does_not_stop_the_loop(kiosk):
    app, _gpio, _clock = kiosk("counter")
    app.handle(flow.StartTimer("x", 1))  # not an event the flow knows: ignored
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")


def test_arrow_keys_move_a_visible_focus_and_enter_presses_it(kiosk):
    app, _gpio, _clock = kiosk(display=True)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_TAB, unicode="", mod=0))
    assert _until(app, lambda: app.view.focus is not None)
    focused = app.view.focus
    assert focused in {b.id for b in app.buttons}
    assert app.drawn_view.focus == focused


def test_countdown_on_done_and_in_the_last_seconds(kiosk):
    app, _gpio, clock = kiosk()
    app.post(Scan("QRCODE", "MEMBER-0000001", 0.0))
    assert _until(app, lambda: app.view.screen == "orders")
    assert app.view.countdown is None
    clock.advance(52)
    _settle(app)
    assert app.view.countdown == 8
    assert app.drawn_view.countdown == 8
    app.post(Press("order:A1003"))
    assert _until(app, lambda: app.view.screen == "scan_package")
    assert app.view.countdown is None  # a touch restarted the 60 s
    app.post(Scan("CODE128", "PKG1003", 0.0))
    assert _until(app, lambda: app.view.screen == "done")
    assert app.view.countdown == 8
    clock.advance(3)
    _settle(app)
    assert app.view.countdown == 5
    assert app.drawn_view.countdown == 5
