"""The locker bank: one relay (and optionally one door sensor) per door, with the safety rules.

Rules (issue 4; docs/design.md "Flow rules" for lockers):

* A relay is energised for ``locker.pulse`` seconds (default 0.5, more than 3 refused) and then
  released by a clock timer, whatever happens to the caller. Never two relays at once: unlocks
  queue and their pulses run one after another, :data:`PULSE_GAP` apart (a relay's contacts need a
  few milliseconds to open; the gap keeps two lock solenoids from ever drawing current together).
* Every relay is driven off when the bank starts and on :meth:`LockerBank.close`, at interpreter
  exit (``atexit``), and by :meth:`LockerBank.all_off`, which the app calls from its SIGTERM
  handler (it drives the relays off before it touches any lock, and waits for the lock at most
  0.5 s, so it is safe in a signal handler).
* Door states, the kiosk's view: ``unlocked`` from the unlock request (queued or pulsing: the
  scenario clock stands still between steps, so every door of a ``pickup_all`` reads unlocked
  at once, though their pulses follow one another) until
  the door opens or ``locker.open_timeout`` after its pulse started (also after the relay is
  released); ``open`` while the sensor reports open; ``locked`` otherwise (closed, latched).
* The relay is released as soon as the door opens. Not opened in time: ``not_opened`` (the app
  may :meth:`~LockerBank.unlock` once more as its retry). Open longer than ``locker.left_open``:
  ``left_open`` (attention). Opened while not unlocked: ``forced`` (alarm).
* A sensor that already reports "open" when an unlock comes does not stop the relay: the pulse
  runs in full (a damaged sensor cable must not lock a customer's parcel in); the door counts as
  ``opened`` when the pulse starts.
* Sensorless doors (``sensorless = true`` or no ``sensor_pin``): the pulse runs in full, then the
  door reports ``opened`` and at once ``closed``, and is ``locked`` again. The kiosk cannot see
  such a door, so it claims nothing it cannot know: the latch catches again when the door is
  pushed shut, and no ``left_open``/``forced`` can come from it.

Events go to the injected ``post`` callback as :class:`kiosk.events.DoorEvent` (door, kind, at),
with ``at`` on the kiosk clock; kinds: ``unlocked`` (pulse starts), ``opened``, ``closed``,
``not_opened``, ``left_open``, ``forced``. ``post`` is called without the bank's lock held.

Thread-safety: sensor callbacks come from gpiozero's threads (or, with mock pins, the thread that
drives the pin), timers from the clock's thread, calls from the main loop; one re-entrant lock
guards the bank's state.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator

from gpiozero import DigitalInputDevice, DigitalOutputDevice
from gpiozero.exc import GPIOZeroError

from kiosk.clock import Clock, Timer
from kiosk.config import DoorSection, LockerSection
from kiosk.errors import ConfigError, GPIOError
from kiosk.events import DoorEvent
from kiosk.journal import log_event
from kiosk.lifecycle import Closing

logger = logging.getLogger(__name__)

LOCKED, UNLOCKED, OPEN = "locked", "unlocked", "open"
EVENT_KINDS = ("unlocked", "opened", "closed", "not_opened", "left_open", "forced")
MAX_PULSE = 3.0
PULSE_GAP = 0.1  # seconds between one relay's release and the next one's energise
SENSOR_BOUNCE = 0.02  # reed switch debounce, done by the pin driver (lgpio filters glitches)


class _Door:
    __slots__ = (
        "awaiting",
        "cfg",
        "energised",
        "gen",
        "left_open_timer",
        "number",
        "open_seq",
        "open_timer",
        "pulse_timer",
        "queued",
        "relay",
        "sensor",
        "sensor_open",
        "sensorless",
    )

    def __init__(self, cfg: DoorSection):
        self.cfg = cfg
        self.number = cfg.number
        self.sensorless = cfg.sensorless or cfg.sensor_pin is None
        self.relay: DigitalOutputDevice | None = None
        self.sensor: DigitalInputDevice | None = None
        self.sensor_open = False  # last sensor reading; always False without a sensor
        self.queued = False  # waiting for its turn to pulse
        self.energised = False  # its relay is on
        self.awaiting = False  # unlocked, not opened yet, not timed out
        self.gen = 0  # counts unlocks, so stale timers do nothing
        self.open_seq = 0  # counts openings, for the left-open timer
        self.pulse_timer: Timer | None = None
        self.open_timer: Timer | None = None
        self.left_open_timer: Timer | None = None

    @property
    def state(self) -> str:
        if self.sensor_open:
            return OPEN
        if self.awaiting or self.queued or self.energised:
            return UNLOCKED
        return LOCKED


class LockerBank(Closing):
    """Relays and door sensors from ``[locker]``; see the module docstring for the rules.

    ``post(DoorEvent)`` receives the events (default: dropped, but logged). ``pin_factory`` is
    handed to every gpiozero device (``None``: gpiozero's default). ``gap`` is the pause between
    two queued pulses; ``bounce_time`` the sensor debounce handed to gpiozero.
    """

    def __init__(
        self,
        locker: LockerSection,
        *,
        clock: Clock,
        post: Callable[[DoorEvent], object] | None = None,
        pin_factory=None,
        gap: float = PULSE_GAP,
        bounce_time: float | None = SENSOR_BOUNCE,
    ):
        if not 0 < locker.pulse <= MAX_PULSE:
            raise ConfigError(
                f"relay pulse {locker.pulse} s refused: must be more than 0 and at most {MAX_PULSE} s "
                "(a relay held longer can burn out a door lock)",
                key="locker.pulse",
            )
        if locker.open_timeout <= 0 or locker.left_open <= 0:
            raise ConfigError("must be greater than 0", key="locker.open_timeout/left_open")
        numbers = [d.number for d in locker.door]
        if len(set(numbers)) != len(numbers):
            raise ConfigError("door numbers must be unique", key="locker.door")
        if any(n <= 0 for n in numbers):
            raise ConfigError("door numbers must be greater than 0", key="locker.door")
        for d in locker.door:
            if d.relay_pin is None:
                raise ConfigError("every door needs its relay_pin (BCM)", key=f"locker.door[{d.number}].relay_pin")
        self.clock = clock
        self.pulse = locker.pulse
        self.open_timeout = locker.open_timeout
        self.left_open = locker.left_open
        self.gap = max(0.0, gap)
        self.post = post
        self._lock = threading.RLock()
        self._doors: dict[int, _Door] = {d.number: _Door(d) for d in sorted(locker.door, key=lambda d: d.number)}
        self._queue: deque[int] = deque()
        self._active: int | None = None
        self._gap_timer: Timer | None = None
        self._last_unlocked: int | None = None
        self._halted = False
        self._closed = False
        self._idle = threading.Event()
        self._idle.set()
        atexit.register(self.all_off)
        try:
            for door in self._doors.values():
                self._claim(door, pin_factory, bounce_time)
        except BaseException:
            self.close()
            raise
        with self._lock:
            for door in self._doors.values():
                # a door open at start is "open" (no alarm: nobody saw it happen); left open
                # for long it raises attention like any other
                if door.sensor is not None and not door.sensor_open and not door.sensor.is_active:
                    door.sensor_open = True
                    log_event(logger, "door_open_at_start", logging.WARNING, door=door.number)
                    self._start_left_open(door)

    def _claim(self, door: _Door, pin_factory, bounce_time) -> None:
        cfg = door.cfg
        try:
            # initial_value=False: the relay starts released whatever the board's polarity
            door.relay = DigitalOutputDevice(
                cfg.relay_pin, active_high=cfg.active_high, initial_value=False, pin_factory=pin_factory
            )
            door.relay.off()
        except GPIOZeroError as exc:
            raise GPIOError(
                f"door {cfg.number}: relay pin BCM {cfg.relay_pin} cannot be claimed ({type(exc).__name__}: {exc})"
            ) from exc
        if door.sensorless:
            return
        try:
            # pull-up and a reed switch to ground: a closed door pulls the pin low = "active"
            door.sensor = DigitalInputDevice(
                cfg.sensor_pin, pull_up=cfg.sensor_pull_up, bounce_time=bounce_time, pin_factory=pin_factory
            )
        except GPIOZeroError as exc:
            raise GPIOError(
                f"door {cfg.number}: sensor pin BCM {cfg.sensor_pin} cannot be claimed ({type(exc).__name__}: {exc})"
            ) from exc
        door.sensor.when_activated = self._sensor_callback(door.number)
        door.sensor.when_deactivated = self._sensor_callback(door.number)

    def _sensor_callback(self, number: int) -> Callable[[], None]:
        def changed() -> None:
            self._on_sensor(number)

        return changed

    # -- queries ------------------------------------------------------------------------------
    @property
    def doors(self) -> tuple[int, ...]:
        """Every configured door number, ascending."""
        return tuple(self._doors)

    def door(self, number: int) -> DoorSection:
        """The config of door ``number``; ValueError for a door the bank does not have."""
        return self._get(number).cfg

    def state(self, number: int) -> str:
        """``"locked"``, ``"unlocked"`` or ``"open"`` (docs/design.md: the kiosk's view)."""
        with self._lock:
            return self._get(number).state

    def states(self) -> dict[int, str]:
        with self._lock:
            return {n: d.state for n, d in self._doors.items()}

    def relay_on(self, number: int) -> bool:
        """Whether door ``number``'s relay is energised now (read from its output)."""
        relay = self._get(number).relay
        return bool(relay is not None and not relay.closed and relay.value)

    def is_sensorless(self, number: int) -> bool:
        return self._get(number).sensorless

    def sensor_open(self, number: int) -> bool | None:
        """The last sensor reading (None for a sensorless door)."""
        door = self._get(number)
        return None if door.sensorless else door.sensor_open

    @property
    def last_unlocked(self) -> int | None:
        """The door whose unlock was asked for last (scenario ``open_door = "last"``)."""
        return self._last_unlocked

    @property
    def energised(self) -> int | None:
        """The door whose relay is on now, if any."""
        return self._active

    @property
    def queued(self) -> tuple[int, ...]:
        with self._lock:
            return tuple(self._queue)

    @property
    def busy(self) -> bool:
        """A pulse is running or waiting to run."""
        return not self._idle.is_set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no pulse runs or waits (real clock; a SimClock must be advanced by others)."""
        return self._idle.wait(timeout)

    # -- commands -----------------------------------------------------------------------------
    def unlock(self, number: int) -> bool:
        """Queue a pulse for door ``number``; False if that door is already queued or pulsing.

        Raises ValueError for an unknown door and GPIOError once the bank is closed or halted.
        """
        with self._locked() as events:
            door = self._get(number)
            if self._halted or self._closed:
                raise GPIOError("the locker bank is shut down; no door can be unlocked")
            if door.queued or door.energised:
                return False
            door.gen += 1
            door.queued = True
            door.awaiting = True
            self._cancel(door, "open_timer")
            self._queue.append(number)
            self._last_unlocked = number
            self._idle.clear()
            log_event(logger, "door_unlock_queued", door=number, queue=len(self._queue))
            self._start_next(events)
        return True

    def all_off(self) -> None:
        """Every relay off now and no more pulses; for signal handlers and exit.

        The relays go off before any lock is taken; the bookkeeping after waits at most 0.5 s.
        Afterwards :meth:`unlock` raises GPIOError.
        """
        self._halted = True
        for door in list(self._doors.values()):
            relay = door.relay
            if relay is None or relay.closed:
                continue
            try:
                relay.off()
            except Exception:
                logger.exception("event=relay_off_failed door=%s", door.number)
        if self._lock.acquire(timeout=0.5):
            try:
                self._queue.clear()
                for door in self._doors.values():
                    door.queued = False
                    door.energised = False
                    self._cancel(door, "pulse_timer")
                self._active = None
                self._idle.set()
            finally:
                self._lock.release()

    def close(self) -> None:
        """All relays off, timers cancelled, pins released; safe to call twice."""
        self.all_off()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._gap_timer is not None:
                self._gap_timer.cancel()
            for door in self._doors.values():
                for name in ("pulse_timer", "open_timer", "left_open_timer"):
                    self._cancel(door, name)
                for dev in (door.relay, door.sensor):
                    if dev is None:
                        continue
                    try:
                        if dev is door.relay:
                            dev.off()
                        dev.close()
                    except Exception:
                        logger.exception("event=locker_close_failed door=%s", door.number)
        atexit.unregister(self.all_off)

    # -- internals (called with the lock held unless said otherwise) ----------------------------
    def _get(self, number: int) -> _Door:
        try:
            return self._doors[number]
        except (KeyError, TypeError):
            raise ValueError(f"no locker door {number!r} (doors: {', '.join(map(str, self._doors))})") from None

    @staticmethod
    def _cancel(door: _Door, name: str) -> None:
        timer = getattr(door, name)
        if timer is not None:
            timer.cancel()
            setattr(door, name, None)

    def _event(self, events: list[DoorEvent], door: _Door, kind: str) -> None:
        events.append(DoorEvent(door.number, kind, self.clock.monotonic()))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[DoorEvent]]:
        """The bank's lock, and a list for the events of what happens under it; once the lock
        is released they go to ``post`` (a failing ``post`` is logged, never fatal)."""
        events: list[DoorEvent] = []
        with self._lock:
            yield events
        post = self.post
        for event in events:
            if post is None:
                continue
            try:
                post(event)
            except Exception:
                logger.exception("event=door_event_post_failed door=%s kind=%s", event.door, event.kind)

    def _start_next(self, events: list[DoorEvent]) -> None:
        if self._active is not None or self._halted or self._gap_timer is not None:
            return
        while self._queue and self._active is None and not self._halted:
            door = self._doors[self._queue.popleft()]
            door.queued = False
            self._energise(door, events)
        if self._active is None and not self._queue:
            self._idle.set()

    def _energise(self, door: _Door, events: list[DoorEvent]) -> None:
        self._active = door.number
        door.energised = True
        try:
            door.relay.on()
        except Exception as exc:
            # a relay that cannot be driven: make sure it is off, tell the app the door did not
            # open (it offers the retry), and go on with the next door in the queue
            self._active = None
            door.energised = False
            try:
                door.relay.off()
            except Exception:
                logger.exception("event=relay_off_failed door=%s", door.number)
            log_event(logger, "relay_failed", logging.ERROR, door=door.number, error=type(exc).__name__)
            if door.awaiting:
                door.awaiting = False
                self._event(events, door, "not_opened")
            return
        if self._halted:  # all_off() ran meanwhile (signal handler): never leave it on
            door.relay.off()
            door.energised = False
            self._active = None
            return
        log_event(logger, "door_unlocked", door=door.number, pulse=self.pulse)
        door.pulse_timer = self.clock.call_later(self.pulse, self._pulse_end, door.number, door.gen)
        self._event(events, door, "unlocked")
        if door.sensorless:
            return
        if door.sensor_open and door.awaiting:
            # the sensor already says open: the pulse still runs in full (a faulty sensor must
            # not keep a parcel locked in) and the door counts as opened
            door.awaiting = False
            log_event(logger, "door_open_before_pulse", logging.WARNING, door=door.number)
            self._event(events, door, "opened")
        elif door.awaiting:
            door.open_timer = self.clock.call_later(self.open_timeout, self._open_timeout, door.number, door.gen)

    def _release(self, door: _Door) -> None:
        try:
            door.relay.off()
        finally:
            door.energised = False
            self._cancel(door, "pulse_timer")
            if self._active == door.number:
                self._active = None
            log_event(logger, "relay_released", logging.DEBUG, door=door.number)

    def _next_after_release(self, events: list[DoorEvent]) -> None:
        if self._queue and self.gap > 0 and not self._halted:
            self._gap_timer = self.clock.call_later(self.gap, self._gap_over)
        else:
            self._start_next(events)

    def _gap_over(self) -> None:
        with self._locked() as events:
            self._gap_timer = None
            if not self._closed:
                self._start_next(events)

    def _pulse_end(self, number: int, gen: int) -> None:
        with self._locked() as events:
            door = self._doors[number]
            if not door.energised or door.gen != gen:
                return
            self._release(door)
            if door.sensorless and door.awaiting:
                door.awaiting = False
                log_event(logger, "door_assumed_opened", door=number)
                self._event(events, door, "opened")
                self._event(events, door, "closed")
            self._next_after_release(events)

    def _open_timeout(self, number: int, gen: int) -> None:
        with self._locked() as events:
            door = self._doors[number]
            door.open_timer = None
            if door.gen != gen or not door.awaiting or door.sensor_open:
                return
            door.awaiting = False
            log_event(logger, "door_not_opened", door=number, timeout=self.open_timeout)
            self._event(events, door, "not_opened")

    def _start_left_open(self, door: _Door) -> None:
        door.open_seq += 1
        self._cancel(door, "left_open_timer")
        door.left_open_timer = self.clock.call_later(self.left_open, self._left_open, door.number, door.open_seq)

    def _left_open(self, number: int, seq: int) -> None:
        with self._locked() as events:
            door = self._doors[number]
            door.left_open_timer = None
            if door.open_seq != seq or not door.sensor_open or self._closed:
                return
            log_event(logger, "door_left_open", logging.WARNING, door=number, limit=self.left_open)
            self._event(events, door, "left_open")

    def _on_sensor(self, number: int) -> None:
        """A sensor edge (any thread): read the pin and act on a real change only."""
        with self._locked() as events:
            door = self._doors[number]
            if self._closed or door.sensor is None or door.sensor.closed:
                return
            is_open = not door.sensor.is_active
            if is_open == door.sensor_open:
                return
            door.sensor_open = is_open
            if is_open:
                self._start_left_open(door)
                if door.awaiting or door.queued or door.energised:
                    door.awaiting = False
                    self._cancel(door, "open_timer")
                    log_event(logger, "door_opened", door=number)
                    self._event(events, door, "opened")
                    if door.energised:  # opened: the latch has done its work
                        self._release(door)
                        self._next_after_release(events)
                else:
                    log_event(logger, "door_forced", logging.WARNING, door=number)
                    self._event(events, door, "forced")
            else:
                self._cancel(door, "left_open_timer")
                log_event(logger, "door_closed", door=number)
                self._event(events, door, "closed")
