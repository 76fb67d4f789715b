"""One service behind the gateway: its own connection pool, bulkhead, timeout and breaker.

Each service is isolated from the others (a hung payment service must not cost auth its
logins): requests to it share only its own pool; at most ``max_concurrent`` are in flight
(beyond that the gateway answers 503 at once instead of queueing); each waits at most the
service's own timeout; and after ``breaker_failures`` consecutive failures (unreachable, timed
out) a circuit breaker answers 503 at once for ``breaker_reset_seconds``.

The trial that closes the breaker again is the gateway's own, never a fan's request: one GET of
the service's ``/readyz`` within ``TRIAL_TIMEOUT_SECONDS``, made by the first request after the
reset period while every other request waits for its answer. Ready → the circuit closes and
those requests go through; anything else → another reset period. A fan's request as the trial
could be a checkout that spends the whole timeout on a process still warming up, and a
half-open aiobreaker lets every request through while the trial runs.

The bulkhead lets a burst queue briefly: up to ``max_concurrent`` more requests wait at most
``queue_seconds`` for a slot; anyone beyond that queue is refused at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from aiobreaker import CircuitBreaker, CircuitBreakerError

from koepon.kernel.breakers import is_open, seconds_until_trial
from koepon.kernel.metrics import breaker_metrics
from koepon.kernel.problems import Problem
from koepon.kernel.settings import Settings
from koepon.kernel.tracing import traced_hooks

log = structlog.get_logger(__name__)
# A retry this soon finds a busy service's bulkhead freed or a restarted process listening.
BUSY_RETRY_AFTER = 1
# The readiness question that closes an open breaker: cheap, so it may be asked often.
TRIAL_TIMEOUT_SECONDS = 2.0
READINESS_PATH = "/readyz"
FAILED_RETRY_AFTER = 5


@dataclass(frozen=True)
class UpstreamPolicy:
    timeout_seconds: float
    max_concurrent: int
    queue_seconds: float
    breaker_failures: int
    breaker_reset_seconds: float

    @classmethod
    def for_service(cls, settings: Settings, service: str) -> UpstreamPolicy:
        return cls(
            timeout_seconds=settings.gateway_upstream_timeouts.get(
                service, settings.gateway_upstream_timeout_seconds
            ),
            max_concurrent=settings.gateway_upstream_max_concurrent,
            queue_seconds=settings.gateway_upstream_queue_seconds,
            breaker_failures=settings.gateway_breaker_failures,
            breaker_reset_seconds=settings.gateway_breaker_reset_seconds,
        )


def _counts_as_failure(exc: Exception) -> bool:
    # Only the service failing counts: a full pool of our own is congestion, not an outage.
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.PoolTimeout)


class Upstream:
    """The gateway's door to one service."""

    def __init__(
        self,
        name: str,
        base_url: str,
        policy: UpstreamPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                policy.timeout_seconds, connect=min(policy.timeout_seconds, 3.0), pool=1.0
            ),
            limits=httpx.Limits(
                max_connections=policy.max_concurrent,
                max_keepalive_connections=min(policy.max_concurrent, 50),
            ),
            transport=transport,
            follow_redirects=False,
            event_hooks=traced_hooks(),
        )
        self.breaker = CircuitBreaker(
            fail_max=policy.breaker_failures,
            timeout_duration=timedelta(seconds=policy.breaker_reset_seconds),
            exclude=[lambda exc: not _counts_as_failure(exc)],
            name=f"gateway-{name}",
            listeners=breaker_metrics(),
        )
        self.in_flight = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(policy.max_concurrent)
        self._trial: asyncio.Future[bool] | None = None

    @property
    def circuit_open(self) -> bool:
        return is_open(self.breaker)

    def _reopens_in(self) -> int:
        return seconds_until_trial(self.breaker, unknown=FAILED_RETRY_AFTER)

    def _problem(self, status: int, code: str, detail: str, retry_after: int) -> Problem:
        return Problem(
            status,
            code,
            detail,
            headers={"Retry-After": str(retry_after)},
            service=self.name,
        )

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` (streamed); the caller calls ``done()`` once the body is consumed."""
        await self._take_slot()
        self.in_flight += 1
        try:
            if self.circuit_open:
                await self._await_trial()
            response: httpx.Response = await self.breaker.call_async(self._send, request)
        except CircuitBreakerError as exc:
            self.done()
            cause = exc.__cause__
            if isinstance(cause, httpx.TransportError):
                # This very request failed and tripped the breaker: report what happened to it.
                raise self._failed(cause) from exc
            raise self._paused() from exc
        except httpx.TransportError as exc:
            self.done()
            raise self._failed(exc) from exc
        except BaseException:
            self.done()
            raise
        return response

    def _paused(self) -> Problem:
        log.warning("gateway.circuit_open", service=self.name)
        return self._problem(
            503,
            "upstream_unavailable",
            f"The {self.name} service is failing; calls to it are paused",
            self._reopens_in(),
        )

    def _trial_due(self) -> bool:
        opened_at: datetime | None = self.breaker._state_storage.opened_at  # naive UTC
        now = datetime.now(UTC).replace(tzinfo=None)
        return opened_at is None or opened_at + self.breaker.timeout_duration <= now

    async def _await_trial(self) -> None:
        """Pass once the service is ready again (asking it at most once at a time); else 503."""
        if not self._trial_due():
            raise self._paused()
        if self._trial is None:
            self._trial = asyncio.ensure_future(self._ask_readiness())
        # Shielded: the request that started the trial may go away; the others still wait on it.
        if not await asyncio.shield(self._trial):
            raise self._paused()

    async def _ask_readiness(self) -> bool:
        try:
            # One deadline for the whole question, as for requests (httpx bounds each read).
            async with asyncio.timeout(TRIAL_TIMEOUT_SECONDS):
                response = await self.http.get(
                    self.base_url + READINESS_PATH, timeout=TRIAL_TIMEOUT_SECONDS
                )
            ready = response.status_code == 200
        except (httpx.HTTPError, TimeoutError):
            ready = False
        finally:
            self._trial = None
        if ready:
            self.breaker.close()  # and its failure count starts again from nothing
            log.info("gateway.circuit_closed", service=self.name)
        else:
            self.breaker.open()  # another reset period from now
            log.warning("gateway.circuit_trial_failed", service=self.name)
        return ready

    async def _take_slot(self) -> None:
        if self._slots.locked():
            if self.waiting >= self.policy.max_concurrent:
                raise self._busy()
            self.waiting += 1
            try:
                async with asyncio.timeout(self.policy.queue_seconds):
                    await self._slots.acquire()
            except TimeoutError:
                raise self._busy() from None
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()

    def _busy(self) -> Problem:
        log.warning("gateway.upstream_busy", service=self.name, in_flight=self.in_flight)
        return self._problem(
            503,
            "upstream_busy",
            f"The {self.name} service has too many requests in progress; retry shortly",
            BUSY_RETRY_AFTER,
        )

    async def _send(self, request: httpx.Request) -> httpx.Response:
        # One deadline for the whole wait for the answer's head: httpx's own timeouts bound
        # each read, so a service trickling bytes could otherwise hold a slot for ever.
        try:
            async with asyncio.timeout(self.policy.timeout_seconds):
                return await self.http.send(request, stream=True)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(
                f"no answer within {self.policy.timeout_seconds} s", request=request
            ) from exc

    def done(self) -> None:
        """The request's slot is free again (its answer was read, or it failed)."""
        self.in_flight -= 1
        self._slots.release()

    def _failed(self, exc: httpx.TransportError) -> Problem:
        if isinstance(exc, httpx.TimeoutException):
            log.warning("gateway.upstream_timeout", service=self.name, error=type(exc).__name__)
            return self._problem(
                504,
                "upstream_timeout",
                f"The {self.name} service did not answer in time",
                FAILED_RETRY_AFTER,
            )
        log.warning("gateway.upstream_unreachable", service=self.name, error=type(exc).__name__)
        return self._problem(
            502,
            "upstream_unavailable",
            f"The {self.name} service cannot be reached",
            FAILED_RETRY_AFTER,
        )

    async def close(self) -> None:
        await self.http.aclose()
