"""The backend client: docs/api.md over one ``requests.Session``.

* One session, one :class:`HTTPAdapter` with a :class:`urllib3.Retry`; a ``(connect, read)``
  timeout on every call; TLS verification on (``ca_bundle`` names a CA file or folder for a
  private CA); redirects are not followed; the environment (proxies, ``.netrc``, CA variables) is
  not consulted, so what the config says is what happens.
* Retries happen inside urllib3, only where they cannot do harm: connection refused/reset before
  the request was sent (any call), and 502/503/504 or a dropped keep-alive connection for GETs
  and calls that carry an ``Idempotency-Key``. A read time-out is never retried (the backend is
  slow; asking again only doubles the wait) and neither is a connect time-out (an unreachable
  host would cost ``retries * connect_timeout``). With the defaults a refused connection gives up
  in well under 3 s (docs/design.md: interactive calls give up within 3 s).
* Results are the typed records of :mod:`kiosk.api.models`. Transport failures, time-outs, 5xx,
  redirects and answers that are not the contract's JSON raise :class:`BackendUnavailable`;
  a 4xx with the contract's error shape raises :class:`Rejected` ``(code, message, status)``.
  No ``requests`` or ``urllib3`` exception reaches a caller.
* Codes, PINs, phones, emails and tokens never go into a log line: :func:`kiosk.privacy.code_ref`.
* ``state`` is ``"up"``/``"down"`` after the last call (a refusal is an answer: up);
  ``on_state(state)`` is called when it changes, from whichever thread made the call, so the app
  can post a :class:`~kiosk.events.BackendState` and kick the outbox when the backend is back.

The session is shared by the api worker and the outbox thread: urllib3's pool is thread-safe,
the retry policy is chosen per request without touching shared state, and cookies are refused,
so no mutable per-request state lives on the session.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from kiosk import __version__
from kiosk.api.models import (
    Health,
    Lookup,
    Order,
    Settings,
    Staff,
    StaffSession,
    malformed,
    orders_from_json,
    staff_list_from_json,
)
from kiosk.errors import BackendUnavailable, ConfigError, Rejected
from kiosk.journal import log_event
from kiosk.lifecycle import Closing
from kiosk.privacy import code_ref

logger = logging.getLogger(__name__)
# urllib3 logs every request line at DEBUG and "Retrying ... <path>" at WARNING, and our paths
# hold package codes: never those (each call is logged as event=backend_call, codes hashed)
logging.getLogger("urllib3").setLevel(logging.ERROR)

API_PREFIX = "/api/v1"
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # a backend that sends more is answering garbage
RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_USER_AGENT = f"pickup-kiosk/{__version__}"


class _KioskRetry(Retry):
    """urllib3's Retry, minus the retries that make a kiosk wait for nothing.

    A connect time-out (not a refusal) and a read time-out end the call at once: the host is
    unreachable or slow, and asking again would only multiply the wait.
    """

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if isinstance(error, ReadTimeoutError):
            raise error  # as urllib3 does for a read error it does not retry: requests makes it a ReadTimeout
        if isinstance(error, ConnectTimeoutError) and not isinstance(error, NewConnectionError):
            raise MaxRetryError(_pool, url, error) from error  # type: ignore[arg-type]  # -> ConnectTimeout
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _retry(retries: int, *, repeatable: bool) -> Retry:
    """Policy for one class of call: ``repeatable`` = GET or carrying an Idempotency-Key."""
    return _KioskRetry(
        total=retries,
        connect=retries,  # nothing was sent: safe for every call
        read=retries if repeatable else False,  # dropped keep-alive connection (time-outs: above)
        status=retries if repeatable else 0,
        other=0,  # TLS failures and the like are not going to heal in a second
        redirect=0,
        status_forcelist=RETRY_STATUSES if repeatable else (),
        allowed_methods=frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"}) if repeatable else frozenset({"GET"}),
        backoff_factor=0.2,  # 0 s, 0.4 s, 0.8 s ... between tries
        backoff_max=1.0,
        backoff_jitter=0.1,
        raise_on_status=False,  # the last 5xx answer comes back and becomes BackendUnavailable
        raise_on_redirect=False,
        respect_retry_after_header=False,  # a proxy's "Retry-After: 120" must not freeze the kiosk
    )


class _KioskAdapter(HTTPAdapter):
    """An HTTPAdapter whose retry policy depends on the request (see module docstring).

    ``HTTPAdapter.send`` reads ``self.max_retries``; here that is a property that answers from a
    thread-local set for the duration of one ``send``, so threads do not disturb each other.
    """

    def __init__(self, retries: int, **kwargs: Any):
        self._repeatable = _retry(retries, repeatable=True)
        self._once = _retry(retries, repeatable=False)
        self._local = threading.local()
        super().__init__(max_retries=self._once, **kwargs)

    @property  # type: ignore[override]
    def max_retries(self) -> Retry:
        return getattr(self._local, "retry", None) or self._once

    @max_retries.setter
    def max_retries(self, value: Retry) -> None:  # HTTPAdapter.__init__ assigns it
        self._once = value

    def send(self, request, *args, **kwargs):  # type: ignore[override]
        repeatable = request.method in ("GET", "HEAD") or "Idempotency-Key" in request.headers
        self._local.retry = self._repeatable if repeatable else self._once
        try:
            return super().send(request, *args, **kwargs)
        finally:
            self._local.retry = None


def _statuses(statuses: str | Iterable[str]) -> str:
    items = [statuses] if isinstance(statuses, str) else list(statuses)
    text = ",".join(s.strip() for s in items if s and s.strip())
    if not text:
        raise ValueError("orders() needs at least one status")
    return text


def _key(idempotency_key: str | None) -> str:
    return idempotency_key or str(uuid.uuid4())


def _given(**fields: Any) -> dict[str, Any]:
    """The optional fields of a body that are given (not None), in their order."""
    return {k: v for k, v in fields.items() if v is not None}


class BackendClient(Closing):
    """The pickup backend, as the kiosk sees it (docs/api.md).

    ``base_url`` is the server's root (``https://pickup.example.com``) or already ends in
    ``/api/v1``. ``ca_bundle`` is a CA file or folder to verify TLS against (default: the system's
    CAs); verification cannot be turned off from here.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        ca_bundle: str | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        retries: int = 2,
        user_agent: str = DEFAULT_USER_AGENT,
        on_state: Callable[[str], None] | None = None,
    ):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        base = base_url.rstrip("/")
        self.base_url = base if base.endswith(API_PREFIX) else base + API_PREFIX
        self._token = token
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.ca_bundle = ca_bundle or None
        session = requests.Session()
        session.trust_env = False  # no proxies, .netrc or CA variables from the environment
        session.verify = self.ca_bundle or True
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        adapter = _KioskAdapter(max(0, int(retries)), pool_connections=2, pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._session = session
        self.on_state = on_state
        self._state_lock = threading.Lock()
        self._calls = 0  # calls started so far; the state follows the latest-started call
        self._state_call = 0  # the call whose answer set the state
        self._local = threading.local()  # the call this thread is making (for _parse)
        self.state: str | None = None  # "up" | "down" | None (not asked yet)

    @classmethod
    def from_config(
        cls, config: Any, environ: Any = None, on_state: Callable[[str], None] | None = None
    ) -> BackendClient:
        """From ``[backend]`` of a :class:`kiosk.config.Config`; the token from its file or credential."""
        from kiosk.config import read_token

        backend = config.backend
        if not backend.url:
            raise ConfigError("the backend's URL is required", path=config.path, key="backend.url")
        try:
            return cls(
                backend.url,
                read_token(config, environ),
                ca_bundle=backend.ca_bundle or None,
                connect_timeout=backend.connect_timeout,
                read_timeout=backend.read_timeout,
                retries=backend.retries,
                on_state=on_state,
            )
        except ValueError as exc:
            raise ConfigError(str(exc), path=config.path, key="backend.url") from None

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"BackendClient({self.base_url!r})"

    # -- the contract ---------------------------------------------------------------------

    def health(self) -> Health:
        return self._parse(Health.from_json, self._call("GET", "/health", "health", auth=False))

    def settings(self) -> Settings:
        return self._parse(Settings.from_json, self._call("GET", "/settings", "settings"))

    def staff(self) -> tuple[Staff, ...]:
        """Active staff, for the commission picker."""
        return self._parse(staff_list_from_json, self._call("GET", "/staff", "staff"))

    def staff_login(self, badge_code: str, pin: str) -> StaffSession:
        data = self._call(
            "POST", "/staff/login", "staff_login", body={"badge_code": badge_code, "pin": pin}, ref=badge_code
        )
        return self._parse(StaffSession.from_json, data)

    def lookup(
        self,
        *,
        member_code: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        pickup_code: str | None = None,
    ) -> Lookup:
        """The member and their waiting orders; exactly one of the three keys. docs/api.md r2: a
        ``pickup_code`` goes with a phone or an email (then the answer holds that one order)."""
        given = {k: v for k, v in (("member_code", member_code), ("phone", phone), ("email", email)) if v is not None}
        if len(given) != 1:
            raise ValueError("lookup() takes exactly one of member_code, phone, email")
        if pickup_code is not None and member_code is not None:
            raise ValueError("a pickup code goes with a phone or an email, not a member code")
        ((kind, value),) = given.items()
        body = dict(given)
        if pickup_code is not None:
            body["pickup_code"] = pickup_code
        data = self._call("POST", "/members/lookup", "lookup", body=body, ref=value, fields={"by": kind})
        return self._parse(Lookup.from_json, data)

    def parcel(self, package_code: str, staff_token: str) -> Order:
        path = "/parcels/" + _segment(package_code)
        return self._parse(
            Order.from_json, self._call("GET", path, "parcel", staff_token=staff_token, ref=package_code)
        )

    def arrive(
        self,
        package_code: str,
        staff_token: str,
        received_by: str | None = None,
        locker_door: int | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """Confirm a parcel's arrival; the order is now ``arrived``. A fresh key when none is given."""
        body = _given(received_by=received_by, locker_door=locker_door)
        path = "/parcels/" + _segment(package_code) + "/arrive"
        fields = {"door": locker_door}
        return self._post_order(path, "arrive", body, staff_token, idempotency_key, ref=package_code, fields=fields)

    def pickup(
        self,
        order_id: str,
        lookup_id: str,
        *,
        package_code: str | None = None,
        locker_door: int | None = None,
        handed_over_by: str | None = None,
        idempotency_key: str | None = None,
        staff_token: str | None = None,
    ) -> Order:
        """Hand an order over: counter (``package_code`` scanned) or locker (``locker_door`` opened)."""
        if (package_code is None) == (locker_door is None):
            raise ValueError("pickup() takes exactly one of package_code, locker_door")
        body = {  # docs/api.md r2: the lookup_id, then the one of package_code, locker_door given
            "lookup_id": lookup_id,
            **_given(package_code=package_code, locker_door=locker_door, handed_over_by=handed_over_by),
        }
        path = "/orders/" + _segment(order_id) + "/pickup"
        fields = {"order": order_id, "door": locker_door}
        return self._post_order(path, "pickup", body, staff_token, idempotency_key, fields=fields)

    def orders(self, statuses: str | Iterable[str], staff_token: str) -> tuple[Order, ...]:
        """Orders in one or more statuses, oldest arrival first (``"arrived,overdue"`` or a list)."""
        query = _statuses(statuses)
        data = self._call("GET", "/orders", "orders", params={"status": query}, staff_token=staff_token)
        return self._parse(orders_from_json, data)

    def request_return(self, order_id: str, reason: str, staff_token: str, idempotency_key: str | None = None) -> Order:
        return self._order_call(order_id, "/return", "return", {"reason": reason}, staff_token, idempotency_key)

    def review_return(
        self, order_id: str, approved: bool, staff_token: str, idempotency_key: str | None = None
    ) -> Order:
        body = {"approved": bool(approved)}
        return self._order_call(order_id, "/return/review", "return_review", body, staff_token, idempotency_key)

    def complete_return(
        self, order_id: str, destination: str, staff_token: str, idempotency_key: str | None = None
    ) -> Order:
        """``destination``: ``"warehouse"`` or ``"store_stock"``."""
        body = {"destination": destination}
        return self._order_call(order_id, "/return/complete", "return_complete", body, staff_token, idempotency_key)

    def heartbeat(self, kiosk_id: str, payload: dict) -> None:
        path = "/kiosks/" + _segment(kiosk_id) + "/heartbeat"
        self._parse(_no_body, self._call("POST", path, "heartbeat", body=payload, empty_ok=True))

    def staff_logout(self, staff_token: str, idempotency_key: str | None = None) -> None:
        """API revision 2: end a staff session; the token is refused from then on (204)."""
        data = self._call(
            "POST",
            "/staff/logout",
            "staff_logout",
            body={},
            staff_token=staff_token,
            key=_key(idempotency_key),
            empty_ok=True,
        )
        self._parse(_no_body, data)

    def kiosk_event(
        self,
        kiosk_id: str,
        kind: str,
        at: str,
        *,
        door: int | None = None,
        detail: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """API revision 2: report a door alarm, a camera change, ... (204)."""
        body = {"kind": kind, "at": at, **_given(door=door, detail=detail)}
        path = "/kiosks/" + _segment(kiosk_id) + "/events"
        data = self._call(
            "POST", path, "kiosk_event", body=body, key=_key(idempotency_key), fields={"door": door}, empty_ok=True
        )
        self._parse(_no_body, data)

    # -- plumbing ---------------------------------------------------------------------------

    def _parse(self, parse: Callable[[Any], Any], data: Any) -> Any:
        """The answer as the contract's record; only an answer that is one means the backend is up
        (garbage with a 200 must not flip the state up and then down again)."""
        call = getattr(self._local, "call", None)
        try:
            value = parse(data)
        except BackendUnavailable:
            self._set_state("down", call)
            raise
        self._set_state("up", call)
        return value

    def _set_state(self, state: str, call: int | None = None) -> None:
        """Remember whether the backend answers; tell ``on_state`` when that changes.

        ``call`` (the number of the call that found it out): an answer to a call started before
        the one that last set the state is old news (calls run on several threads and can finish
        out of order: a garbage answer read after the backend recovered must not mark it down)."""
        with self._state_lock:
            if call is not None:
                if call < self._state_call:
                    return
                self._state_call = call
            changed = state != self.state
            self.state = state
        if changed:
            log_event(logger, "backend_state", logging.INFO if state == "up" else logging.WARNING, state=state)
            if self.on_state is not None:
                try:
                    self.on_state(state)
                except Exception:
                    logger.exception("event=backend_on_state_failed")

    def _order_call(
        self, order_id: str, suffix: str, name: str, body: dict, staff_token: str, key: str | None
    ) -> Order:
        path = "/orders/" + _segment(order_id) + suffix
        return self._post_order(path, name, body, staff_token, key, fields={"order": order_id})

    def _post_order(
        self, path: str, name: str, body: dict, staff_token: str | None, key: str | None, **kwargs: Any
    ) -> Order:
        """POST a change of an order (idempotent: a fresh key when none is given); the order after."""
        data = self._call("POST", path, name, body=body, staff_token=staff_token, key=_key(key), **kwargs)
        return self._parse(Order.from_json, data)

    def _call(self, method: str, path: str, name: str, **kwargs: Any) -> Any:
        with self._state_lock:
            self._calls += 1
            call = self._local.call = self._calls
        try:
            data = self._exchange(method, path, name, **kwargs)
        except BackendUnavailable:
            self._set_state("down", call)
            raise
        except Rejected as exc:
            if not getattr(exc, "local", False):  # the backend's answer, not a value refused here
                self._set_state("up", call)
            raise
        return data  # the state is set once the answer has been read as the contract's (_parse)

    def _exchange(
        self,
        method: str,
        path: str,
        name: str,
        *,
        body: Any = None,
        params: dict | None = None,
        staff_token: str | None = None,
        key: str | None = None,
        auth: bool = True,
        empty_ok: bool = False,
        ref: str | None = None,
        fields: dict | None = None,
    ) -> Any:
        headers = {}
        if auth:
            headers["Authorization"] = f"Bearer {self._token}"
        if staff_token is not None:
            headers["X-Staff-Token"] = staff_token
        if key is not None:
            headers["Idempotency-Key"] = key
        extra = dict(fields or {})
        if ref is not None:
            extra["ref"] = code_ref(ref)
        data = None
        if body is not None:
            try:
                data = json.dumps(body, ensure_ascii=True, allow_nan=False).encode("ascii")
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}: body cannot be sent as JSON ({exc})") from None
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            try:
                content = _read_capped(response)
            finally:
                response.close()
        except BackendUnavailable:
            self._log(name, started, "too_large", extra)
            raise
        except requests.exceptions.SSLError:
            self._log(name, started, "tls_failed", extra)
            raise BackendUnavailable(f"{name}: TLS verification of the backend failed") from None
        except requests.exceptions.Timeout:
            self._log(name, started, "timeout", extra)
            raise BackendUnavailable(f"{name}: the backend did not answer in time") from None
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeError) as exc:
            # a value that cannot even be put on the wire (e.g. a newline in a token)
            self._log(name, started, "bad_input", extra)
            raise _local_reject(f"{name}: cannot be sent ({type(exc).__name__})") from None
        except (requests.exceptions.RequestException, OSError) as exc:
            if _timed_out(exc):  # a time-out while reading the body comes wrapped in a ConnectionError
                self._log(name, started, "timeout", extra)
                raise BackendUnavailable(f"{name}: the backend did not answer in time") from None
            self._log(name, started, "unreachable", extra)
            raise BackendUnavailable(f"{name}: the backend cannot be reached ({_reason(exc)})") from None
        status = response.status_code
        self._log(name, started, status, extra)
        if status >= 500:
            raise BackendUnavailable(f"{name}: the backend answered {status}")
        if 300 <= status < 400 or status < 200:
            raise BackendUnavailable(f"{name}: unexpected answer {status}")
        if status >= 400:
            raise _rejection(name, status, content)
        if status == 204 or (empty_ok and not content):
            return None
        try:
            return json.loads(content)
        except (ValueError, RecursionError):
            raise malformed(f"{name} answer is not JSON") from None

    def _log(self, name: str, started: float, status: Any, extra: dict) -> None:
        ms = round((time.monotonic() - started) * 1000)
        level = logging.DEBUG if isinstance(status, int) and status < 400 else logging.INFO
        log_event(logger, "backend_call", level, call=name, status=status, ms=ms, **extra)


def _no_body(data: Any) -> None:
    """A call answered with 204 No Content (the heartbeat): a body is not the contract's answer."""
    if data is not None:
        raise malformed("the answer has a body where the contract has none (204)")


def _segment(value: str) -> str:
    """One URL path segment, every reserved character escaped (``/`` included). An empty
    segment, ``.`` or ``..`` cannot be sent: HTTP clients remove dot segments (RFC 3986 5.2.4),
    so the request would name another route; it is refused here, the backend not asked."""
    if not isinstance(value, str):
        raise TypeError("path segments are strings")
    if value in ("", ".", ".."):
        raise _local_reject("the code cannot be sent")
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate: cannot be sent, the server would refuse it
        raise _local_reject("the code cannot be sent") from None


def _local_reject(message: str) -> Rejected:
    """``bad_input`` for a value that cannot be put on the wire; the backend was not asked."""
    exc = Rejected("bad_input", message, 400)
    exc.local = True  # type: ignore[attr-defined]
    return exc


def _read_capped(response: requests.Response) -> bytes:
    chunks = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise malformed("the answer is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _rejection(name: str, status: int, content: bytes) -> Exception:
    """A 4xx with the contract's error shape is a Rejected; anything else is garbage."""
    try:
        error = json.loads(content)["error"]
        code = error["code"]
        message = error.get("message", "")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return malformed(f"{name} answered {status} without the contract's error shape")
    if not isinstance(code, str) or not code or not isinstance(message, str):
        return malformed(f"{name} answered {status} without the contract's error shape")
    rejected = Rejected(code, message, status)
    retry_after = error.get("retry_after")  # docs/api.md r2: a 429 says how long the lockout lasts
    if isinstance(retry_after, int) and not isinstance(retry_after, bool) and 0 < retry_after <= 86400:
        rejected.retry_after = retry_after
    return rejected


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and what it wraps (urllib3 reasons, causes, contexts, wrapped first args)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        nxt = getattr(exc, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = exc.__cause__ or exc.__context__
        if nxt is None and exc.args and isinstance(exc.args[0], BaseException):
            nxt = exc.args[0]
        exc = nxt


def _timed_out(exc: BaseException) -> bool:
    return any(isinstance(e, TimeoutError | ReadTimeoutError) for e in _chain(exc))


def _reason(exc: BaseException) -> str:
    """A short, value-free reason: refused, reset, name resolution..."""
    last = exc
    for e in _chain(exc):
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, ConnectionResetError):
            return "connection reset"
        if "NameResolution" in type(e).__name__:
            return "name not resolved"
        last = e
    return type(last).__name__
