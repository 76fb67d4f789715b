"""The fans: sign up, sign in, and buy medal packs through the sandbox exactly as a browser
does (checkout with an Idempotency-Key, retried with the same key as the platform asks, the
hosted page's form, then polling), recording every answer the gateway gave."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "outage bench passphrase 42"
ADULT_BIRTHDATE = "1994-06-15"
MINOR_BIRTHDATE = "2013-02-01"  # 13 years old: the 5,000 yen monthly cap (COMPLIANCE A2)
FINAL = {"succeeded", "failed", "refunded", "expired", "charged_back"}
RETRIED = {409, 429, 500, 502, 503, 504}
GIVE_UP_SECONDS = 90.0
POLL_SECONDS = 45.0


@dataclass(frozen=True)
class Answer:
    at: float  # seconds since the run started
    flow: str
    status: int  # 0: no answer at all (connection refused, reset, timed out)
    content_type: str
    retry_after: bool
    code: str | None
    seconds: float


@dataclass
class Fan:
    email: str
    minor: bool
    access: str | None = None
    refresh: str | None = None
    busy: bool = False

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access}"} if self.access else {}


@dataclass
class Purchase:
    fan: str
    outcome: str
    started: float
    checkout_id: str | None = None
    result: str = "started"
    create_tries: int = 0
    in_flight_409: int = 0


@dataclass
class Workload:
    http: httpx.AsyncClient
    started: float = field(default_factory=time.monotonic)
    answers: list[Answer] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)
    fans: list[Fan] = field(default_factory=list)
    packs: list[dict[str, Any]] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.started

    async def call(self, flow: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """One request, its answer recorded; None when nothing answered."""
        began = time.monotonic()
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.HTTPError:
            self.answers.append(Answer(self.now(), flow, 0, "", False, None, _since(began)))
            return None
        code = None
        kind = response.headers.get("content-type", "")
        if "json" in kind and response.status_code >= 400:
            with contextlib.suppress(ValueError, AttributeError):
                code = response.json().get("code")
        self.answers.append(
            Answer(
                self.now(),
                flow,
                response.status_code,
                kind.split(";")[0],
                "retry-after" in response.headers,
                code,
                _since(began),
            )
        )
        return response

    # --- accounts -----------------------------------------------------------------------------

    async def sign_up(self, minor: bool) -> Fan:
        fan = Fan(f"fan-{uuid.uuid4().hex[:12]}@example.com", minor)
        body = {
            "email": fan.email,
            "password": PASSWORD,
            "display_name": "Outage Fan",
            "birthdate": MINOR_BIRTHDATE if minor else ADULT_BIRTHDATE,
        }
        response = await self.call("signup", "POST", "/api/v1/auth/signup", json=body)
        if response is None or response.status_code != 201:
            raise RuntimeError(f"signup failed: {response and response.text}")
        await self.sign_in(fan)
        self.fans.append(fan)
        return fan

    async def sign_in(self, fan: Fan, within: float = GIVE_UP_SECONDS) -> bool:
        """Sign in, retrying through an outage like a fan pressing the button again."""
        deadline = time.monotonic() + within
        tries = 0
        while time.monotonic() < deadline:
            response = await self.call(
                "login",
                "POST",
                "/api/v1/auth/login",
                json={"email": fan.email, "password": PASSWORD},
            )
            if response is not None and response.status_code == 200:
                tokens = response.json()
                fan.access, fan.refresh = tokens["access_token"], tokens["refresh_token"]
                return True
            tries += 1
            # A careful app backs off with jitter: after a cache restart every fan signs in
            # again at once, and argon2 makes each sign-in expensive.
            backoff = min(2.0**tries, 20.0) * random.uniform(0.5, 1.5)
            await asyncio.sleep(max(_wait(response), backoff))
        return False

    # --- one purchase, as a browser makes it ---------------------------------------------------

    async def buy(self, fan: Fan, pack: dict[str, Any], outcome: str) -> Purchase:
        purchase = Purchase(fan.email, outcome, self.now())
        self.purchases.append(purchase)
        redirect = await self._create(fan, pack, purchase)
        if redirect is None:
            return purchase
        if not await self._complete(redirect, outcome, purchase):
            return purchase
        await self._poll(fan, purchase)
        return purchase

    async def _create(self, fan: Fan, pack: dict[str, Any], purchase: Purchase) -> str | None:
        key = {"Idempotency-Key": f"outage-{uuid.uuid4().hex}"}
        body = {"pack_id": pack["id"], "provider": "sandbox"}
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while True:
            purchase.create_tries += 1
            response = await self.call(
                "checkout", "POST", "/api/v1/checkouts", json=body, headers=fan.auth | key
            )
            status = 0 if response is None else response.status_code
            if status == 201:
                created = response.json()  # type: ignore[union-attr]
                purchase.checkout_id = created["id"]
                return str(created["redirect_url"])
            if status == 401:
                fan.access = None
                if not await self.sign_in(fan):
                    purchase.result = "gave up (could not sign in)"
                    return None
                continue
            if status == 403:
                purchase.result = "refused at checkout (cap)"
                return None
            if status == 409:
                purchase.in_flight_409 += 1
            if status and status not in RETRIED:
                purchase.result = f"refused at checkout ({status})"
                return None
            if time.monotonic() > deadline:
                purchase.result = f"gave up creating (last {status})"
                return None
            await asyncio.sleep(_wait(response))

    async def _complete(self, redirect: str, outcome: str, purchase: Purchase) -> bool:
        """The hosted page's form; a retry finding the payment already made is a success."""
        deadline = time.monotonic() + GIVE_UP_SECONDS
        tries = 0
        while True:
            tries += 1
            response = await self.call(
                "sandbox", "POST", f"{redirect}/complete", data={"outcome": outcome}
            )
            status = 0 if response is None else response.status_code
            if status and status < 400:
                return True
            if status == 409 and tries > 1:
                return True  # an earlier try went through before its answer was lost
            if status and status not in RETRIED:
                purchase.result = f"hosted page refused ({status})"
                return False
            if time.monotonic() > deadline:
                purchase.result = f"gave up paying (last {status})"
                return False
            await asyncio.sleep(_wait(response))

    async def _poll(self, fan: Fan, purchase: Purchase) -> None:
        deadline = time.monotonic() + POLL_SECONDS
        last = "unknown"
        while time.monotonic() < deadline:
            response = await self.call(
                "poll", "GET", f"/api/v1/checkouts/{purchase.checkout_id}", headers=fan.auth
            )
            if response is not None and response.status_code == 401:
                fan.access = None
                await self.sign_in(fan)
                continue
            if response is not None and response.status_code == 200:
                last = response.json()["status"]
                if last in FINAL:
                    purchase.result = f"checkout {last}"
                    return
            await asyncio.sleep(0.5 if response is None else min(_wait(response), 2.0))
        purchase.result = f"checkout still {last} after {POLL_SECONDS:.0f} s"

    # --- the load ------------------------------------------------------------------------------

    async def run(self, rate: float, stop: asyncio.Event) -> None:
        """Start purchases at ``rate`` per second, each by a fan not already buying."""
        rng = random.Random(14)
        tasks: set[asyncio.Task[None]] = set()
        interval = 1.0 / rate
        next_at = time.monotonic()
        while not stop.is_set():
            idle = [fan for fan in self.fans if not fan.busy]
            if idle:
                fan = rng.choice(idle)
                task = asyncio.create_task(self._session(fan, rng))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            next_at += interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
        if tasks:
            # Purchases under way finish (bounded); the rest are reported as unfinished.
            _, late = await asyncio.wait(set(tasks), timeout=45)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _session(self, fan: Fan, rng: random.Random) -> None:
        fan.busy = True
        try:
            if fan.minor:
                # Two tabs at once near the cap: the second payment breaks it when it arrives.
                pack = next(p for p in self.packs if p["price_jpy"] == 3_060)
                await asyncio.gather(
                    self.buy(fan, pack, "succeeded"), self.buy(fan, pack, "succeeded")
                )
            else:
                pack = rng.choice([p for p in self.packs if p["price_jpy"] <= 3_060])
                await self.buy(fan, pack, "failed" if rng.random() < 0.1 else "succeeded")
        except asyncio.CancelledError:
            for purchase in self.purchases:
                if purchase.fan == fan.email and purchase.result == "started":
                    purchase.result = "unfinished when the load stopped"
        except Exception as exc:  # a bench bug must not stop the load; it is reported
            self.purchases.append(
                Purchase(fan.email, "?", self.now(), result=f"bench error {exc!r}")
            )
        finally:
            fan.busy = False

    async def probe(self, fan: Fan, stop: asyncio.Event, every: float = 0.25) -> None:
        """Auth (/me) and payment (/wallet) asked all along, each in a loop of its own so that
        one hung service does not silence the other: recovery times and latency."""

        async def loop(flow: str, path: str) -> None:
            while not stop.is_set():
                response = await self.call(flow, "GET", path, headers=fan.auth)
                if response is not None and response.status_code == 401 and fan.access:
                    fan.access = None
                    await self.sign_in(fan)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every)

        await asyncio.gather(loop("probe me", "/api/v1/me"), loop("probe wallet", "/api/v1/wallet"))

    def results(self) -> Counter[str]:
        return Counter(p.result for p in self.purchases)


def _since(began: float) -> float:
    return time.monotonic() - began


def _wait(response: httpx.Response | None) -> float:
    """What the platform asked for (Retry-After, bounded), else one second."""
    if response is not None:
        with contextlib.suppress(KeyError, ValueError):
            return min(max(float(response.headers["retry-after"]), 0.2), 10.0)
    return 1.0
