"""The load generator of `make bench-load`: logged-in users walking pages over real HTTP.

Plain asyncio and httpx, no Django: it only sees what a browser sees. Each user is one httpx
client (its own connection, as a browser keeps one) and its own session: it fetches the login
form, posts it with the CSRF token the form carries, then walks pages drawn from a weighted
menu, pausing a random think time between clicks. A user waits for each answer before its
next click (a closed loop with think time), so the load is what that many people generate;
with no think time it is a stress test instead.

Why not `wrk`: one Lua script would have to log 50 users in through the form, keep their
cookies apart and draw pages from the menu; here that is plain Python, and one asyncio process
spends a few milliseconds of CPU per request, a few per cent of one core at the load measured
(`make bench-load` reports the generator's own CPU time, so that stays checked).

Behind a TLS proxy (`proxy_https`), the generator plays the proxy: it sends
`X-Forwarded-Proto: https` and `X-Forwarded-For` (one address per user) and the HTTPS origin on
the login form's POST. The product then sets `Secure` cookies, which httpx would not send over
plain HTTP: cookies are kept per user here and sent by hand.

A request counts as an error when it fails to connect or times out, answers anything but
2xx/3xx, or redirects to the login page (the session was lost: a browser would show the
login form instead of the page).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

REQUEST_TIMEOUT_SECONDS = 30.0
LOGINS_AT_ONCE = 4
LOGIN_PATH = "/login/"
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# httpx logs every request at INFO: thousands of lines, and CPU the generator keeps for itself.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class PageChoice:
    """One entry of the menu users draw their next click from.

    `path` gives the URL path (with its query) for a random generator, so a page with
    variations (filters, page numbers, one order among many) is one entry. `htmx` sends the
    headers of an htmx request, as a polling row does."""

    label: str
    weight: float
    path: Callable[[random.Random], str]
    htmx: bool = False


@dataclass(frozen=True)
class Sample:
    label: str
    started: float  # time.monotonic()
    seconds: float
    status: int | None
    error: str  # "" when the request succeeded

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class PageStats:
    label: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, label: str, samples: Sequence[Sample]) -> PageStats:
        times = sorted(s.seconds * 1000 for s in samples)
        return cls(
            label=label,
            requests=len(samples),
            errors=sum(1 for s in samples if not s.ok),
            p50_ms=percentile(times, 0.50),
            p95_ms=percentile(times, 0.95),
            p99_ms=percentile(times, 0.99),
            max_ms=times[-1] if times else 0.0,
        )


@dataclass
class LoadResult:
    """What one run measured. `samples` are the requests started inside the measured window;
    warm-up requests are left out. `warmup_seconds` is how long the warm-up lasted."""

    users: int
    warmup_seconds: float
    duration_seconds: float
    samples: list[Sample]
    logins: list[Sample]
    error_examples: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if not s.ok) + sum(1 for s in self.logins if not s.ok)

    @property
    def throughput(self) -> float:
        return len(self.samples) / self.duration_seconds if self.duration_seconds else 0.0

    def overall(self) -> PageStats:
        return PageStats.of("All pages", self.samples)

    def per_page(self) -> list[PageStats]:
        """Per label, in the order the labels were first requested."""
        grouped: dict[str, list[Sample]] = {}
        for sample in self.samples:
            grouped.setdefault(sample.label, []).append(sample)
        return [PageStats.of(label, samples) for label, samples in grouped.items()]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


class LoginFailed(Exception):
    """The login form did not log the user in (wrong answer, no CSRF token, no session)."""


def keep_cookies(cookies: dict[str, str], response: httpx.Response) -> None:
    """Update a session's cookie jar from `response`: kept by hand because the proxied site
    sets Secure cookies that httpx would not send back over plain HTTP."""
    for header in response.headers.get_list("set-cookie"):
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        if "max-age=0" in attributes.lower().replace(" ", ""):
            cookies.pop(name, None)
        else:
            cookies[name] = value


class UserSession:
    """One user's browser: a connection, a cookie jar of its own, the proxy's headers."""

    def __init__(
        self, base_url: str, credentials: Credentials, *, proxy_https: bool, address: str
    ) -> None:
        self.credentials = credentials
        self.cookies: dict[str, str] = {}
        self._base = base_url.rstrip("/")
        host = urlsplit(self._base).netloc
        self.origin = f"{'https' if proxy_https else urlsplit(self._base).scheme}://{host}"
        self._proxy_headers = (
            {"X-Forwarded-Proto": "https", "X-Forwarded-For": address} if proxy_https else {}
        )
        self.client = httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT_SECONDS,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    async def close(self) -> None:
        await self.client.aclose()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(self._proxy_headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _keep_cookies(self, response: httpx.Response) -> None:
        keep_cookies(self.cookies, response)
        # httpx would also keep them, and send the ones that are not Secure twice.
        self.client.cookies.clear()

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs
    ) -> httpx.Response:
        response = await self.client.request(
            method, self._base + path, headers=self._headers(headers), **kwargs
        )
        self._keep_cookies(response)
        return response

    async def log_in(self) -> None:
        """Through the login form, as a browser does. Raises LoginFailed."""
        form = await self.request("GET", LOGIN_PATH)
        match = _CSRF_FIELD.search(form.text)
        if form.status_code != 200 or match is None:
            raise LoginFailed(f"the login form answered {form.status_code} without a CSRF token")
        answer = await self.request(
            "POST",
            LOGIN_PATH,
            data={
                "username": self.credentials.username,
                "password": self.credentials.password,
                "csrfmiddlewaretoken": match.group(1),
                "next": "",
            },
            headers={"Origin": self.origin, "Referer": self.origin + LOGIN_PATH},
        )
        if answer.status_code != 302 or "sessionid" not in self.cookies:
            raise LoginFailed(
                f"the login POST answered {answer.status_code}"
                + (" without a session" if "sessionid" not in self.cookies else "")
            )

    async def visit(self, label: str, path: str, *, htmx: bool) -> Sample:
        headers = {"HX-Request": "true", "HX-Current-URL": self.origin + "/"} if htmx else None
        started = time.monotonic()
        begin = time.perf_counter()
        try:
            response = await self.request("GET", path, headers=headers)
        except httpx.HTTPError as error:
            seconds = time.perf_counter() - begin
            return Sample(label, started, seconds, None, f"{path}: {type(error).__name__}")
        seconds = time.perf_counter() - begin
        return Sample(label, started, seconds, response.status_code, _error_of(path, response))


def _error_of(path: str, response: httpx.Response) -> str:
    status = response.status_code
    if not 200 <= status < 400:
        return f"{path}: HTTP {status}"
    if 300 <= status < 400 and urlsplit(response.headers.get("location", "")).path == LOGIN_PATH:
        return f"{path}: redirected to the login page"
    return ""


def _drawer(pages: Sequence[PageChoice]) -> Callable[[random.Random], PageChoice]:
    weights = [p.weight for p in pages]

    def draw(rng: random.Random) -> PageChoice:
        return rng.choices(pages, weights=weights)[0]

    return draw


async def run_load(
    base_url: str,
    users: Sequence[Credentials],
    pages: Sequence[PageChoice],
    *,
    warmup_seconds: float,
    duration_seconds: float,
    think_seconds: tuple[float, float],
    proxy_https: bool = False,
    seed: int = 1,
    at_walk_start: Callable[[], Awaitable[None]] | None = None,
    warm_until: Callable[[], Awaitable[None]] | None = None,
    at_measure_start: Callable[[], Awaitable[None]] | None = None,
    at_measure_end: Callable[[], Awaitable[None]] | None = None,
) -> LoadResult:
    """Log every user in, then let them walk `pages` through the warm-up and the measured
    window. Requests started in the window count, each to its end.

    `at_walk_start` runs once every user is logged in, before the walk. The warm-up lasts
    `warmup_seconds` and, when given, until `warm_until` returns (e.g. until the worker is at
    work). `at_measure_start` and `at_measure_end` run when the window opens and closes (e.g.
    to read the worker's progress). A user whose login fails does not walk; its login counts
    as an error.
    """
    if not users or not pages:
        raise ValueError("a load needs users and pages")
    sessions = [
        UserSession(base_url, c, proxy_https=proxy_https, address=f"10.0.{i // 250}.{i % 250 + 1}")
        for i, c in enumerate(users)
    ]
    draw = _drawer(pages)
    # Every login hashes a password (hundreds of milliseconds of CPU on purpose): a few at a
    # time, so none waits long enough to time out.
    gate = asyncio.Semaphore(LOGINS_AT_ONCE)
    logins = await asyncio.gather(*(_timed_login(s, gate) for s in sessions))
    if at_walk_start is not None:
        await at_walk_start()
    samples: list[Sample] = []
    window: dict[str, float] = {"walk": time.monotonic()}

    async def keep_time() -> None:
        await asyncio.sleep(warmup_seconds)
        if warm_until is not None:
            await warm_until()
        window["start"] = time.monotonic()
        window["end"] = window["start"] + duration_seconds
        if at_measure_start is not None:
            await at_measure_start()
        await asyncio.sleep(max(0.0, window["end"] - time.monotonic()))
        if at_measure_end is not None:
            await at_measure_end()

    async def walk(session: UserSession, rng: random.Random) -> None:
        # Users arrive spread over one think time rather than all in the same millisecond.
        await asyncio.sleep(rng.uniform(0, max(think_seconds)))
        while "end" not in window or time.monotonic() < window["end"]:
            page = draw(rng)
            sample = await session.visit(page.label, page.path(rng), htmx=page.htmx)
            if "start" in window and sample.started >= window["start"]:
                samples.append(sample)
            pause = rng.uniform(*think_seconds)
            if pause:
                await asyncio.sleep(pause)
            else:
                await asyncio.sleep(0)  # let the other users' answers in

    clock = asyncio.create_task(keep_time())
    try:
        walkers = [
            walk(session, random.Random(f"{seed}:{index}"))
            for index, (session, login) in enumerate(zip(sessions, logins, strict=True))
            if login.ok
        ]
        walking = asyncio.gather(*walkers)
        # The clock's errors (a warm-up condition that never came) end the walk at once.
        await asyncio.wait([clock, walking], return_when=asyncio.FIRST_EXCEPTION)
        if clock.done() and clock.exception() is not None:
            walking.cancel()
            await asyncio.gather(walking, return_exceptions=True)
            raise clock.exception()
        await walking
        await clock
    finally:
        clock.cancel()
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    failed = [s.error for s in samples if not s.ok] + [s.error for s in logins if not s.ok]
    return LoadResult(
        users=len(users),
        warmup_seconds=window["start"] - window["walk"],
        duration_seconds=duration_seconds,
        samples=samples,
        logins=list(logins),
        error_examples=sorted(set(failed))[:10],
    )


async def _timed_login(session: UserSession, gate: asyncio.Semaphore) -> Sample:
    async with gate:
        started = time.monotonic()
        begin = time.perf_counter()
        try:
            await session.log_in()
        except (LoginFailed, httpx.HTTPError) as error:
            message = f"login of {session.credentials.username}: {error or type(error).__name__}"
            return Sample("Login", started, time.perf_counter() - begin, None, message)
        return Sample("Login", started, time.perf_counter() - begin, 302, "")
