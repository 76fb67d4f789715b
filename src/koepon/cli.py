"""The ``koepon`` command: serve, worker, migrate, seed, and operators' reports and audits."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import click
import uvicorn
import uvloop
from fastapi import FastAPI
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from koepon.auth import settings as auth_settings
from koepon.contracts.clients import Clients
from koepon.gacha import settings as gacha_settings
from koepon.kernel.observability import configure_logging
from koepon.kernel.settings import (
    SERVICES,
    Settings,
    SettingsError,
    bad_variables,
    get_settings,
)
from koepon.ops import commands as ops_commands
from koepon.payment import commands as payment_commands
from koepon.payment import settings as payment_settings
from koepon.rewards import commands as rewards_commands
from koepon.rewards import settings as rewards_settings
from koepon.vtuber import settings as vtuber_settings

# Every service's own business settings, next to the platform's (kernel) settings.
SERVICE_SETTINGS: dict[str, type[BaseSettings]] = {
    "auth": auth_settings.AuthSettings,
    "payment": payment_settings.PaymentSettings,
    "gacha": gacha_settings.GachaSettings,
    "rewards": rewards_settings.RewardsSettings,
    "vtuber": vtuber_settings.VtuberSettings,
}

SERVICE_CHOICE = click.Choice([*SERVICES, "gateway", "all"])


def _services(service: str) -> tuple[str, ...]:
    return SERVICES if service == "all" else (service,)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def check_settings() -> Settings:
    """The platform's settings, once every service's settings are known to be valid too;
    ``SettingsError`` naming every bad variable on one line otherwise."""
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings()
    except ValidationError as exc:
        problems += bad_variables(exc)
    for service, cls in SERVICE_SETTINGS.items():
        try:
            cls(**(settings.service_overrides(service) if settings else {}))
        except ValidationError as exc:
            problems += bad_variables(exc)
    if problems or settings is None:
        raise SettingsError("Invalid settings: " + "; ".join(problems))
    return settings


def _reachable(host: str) -> str:
    """The address a local client uses to reach a server bound to ``host``."""
    if host in ("0.0.0.0", ""):  # noqa: S104 - the wildcard, reached locally
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def serve_settings(settings: Settings, *, host: str, port: int, service: str = "all") -> Settings:
    """The settings of a server bound to ``host:port``. Serving the whole platform, the public
    URL (hosted-page links, return URLs) follows the bound address unless KOEPON_PUBLIC_URL says
    otherwise (one service alone sits behind a gateway whose URL only the environment knows);
    the sandbox posts its webhooks to the bound address unless KOEPON_SANDBOX_WEBHOOK_URL says
    otherwise, so they reach this process whatever the public URL is."""
    bound = f"http://{_reachable(host)}:{port}"
    update: dict[str, Any] = {}
    if service == "all" and "public_url" not in settings.model_fields_set:
        update["public_url"] = bound
    served = settings.model_copy(update=update) if update else settings
    if "sandbox_webhook_url" not in payment_settings.load(settings).model_fields_set:
        served = served.with_service_settings(
            "payment", sandbox_webhook_url=f"{bound}/api/v1/webhooks/sandbox"
        )
    return served


def gateway_app(settings: Settings) -> FastAPI:
    """The gateway alone, in front of services reached over HTTP. Its legal pages state the
    medal terms payment applies, read from the same environment (web imports no service)."""
    from koepon.auth.client import HttpAuthClient
    from koepon.gateway.proxy import create_proxy_app

    # Sessions the cache lost (a Redis restart) are asked of the auth service.
    internal = settings.internal_token.get_secret_value() if settings.internal_token else ""
    auth_url = settings.service_urls.get("auth")
    owner = HttpAuthClient(auth_url, internal, timeout=3.0) if auth_url else None
    app = create_proxy_app(settings, session_owner=owner, accounts=owner)
    app.state.medal_terms = payment_settings.load(settings).medal_terms()
    return app


@asynccontextmanager
async def _service_clients(settings: Settings) -> AsyncIterator[Clients]:
    """Clients of the other services for an operator command: the auth service built here
    (its own database), or reached over HTTP where KOEPON_SERVICE_URLS names it."""
    from koepon.app import Platform

    platform = Platform(settings, () if "auth" in settings.service_urls else ("auth",))
    try:
        yield platform.clients
    finally:
        await platform.stop()


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Koepon (こえポン!) platform command."""
    try:
        check_settings()
    except SettingsError as exc:  # one clear line naming the variable, not a traceback
        raise click.ClickException(str(exc)) from None
    ctx.obj = payment_commands.OtherServices(clients=_service_clients)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--service", type=SERVICE_CHOICE, default="all", show_default=True)
@click.option("--seed/--no-seed", default=False, help="Create the demo data before serving.")
def serve(host: str, port: int, service: str, seed: bool) -> None:
    """Serve the platform: all services (embedded) or one service / the gateway alone."""
    settings = serve_settings(_settings(), host=host, port=port, service=service)
    from koepon.app import Platform, create_app

    if service == "gateway":
        app = gateway_app(settings)
        click.echo(f"Koepon gateway listening on http://{host}:{port}/", err=True)
    else:
        if seed and settings.environment == "production":
            raise click.ClickException("Demo data is never created in production settings.")
        platform = Platform(settings, _services(service))
        app = create_app(
            platform,
            gateway=service == "all",
            migrate=settings.embedded or seed,
            seed=seed,
            consume=settings.amqp_url is None,
            announce=f"Koepon ({service}) is ready at http://{host}:{port}/",
        )
    freeze_startup_objects()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, routes, models: ~250,000 objects) out of the garbage
    collector's full passes. Each full pass walked all of them, ~50–85 ms with the process
    standing still, every few seconds under load: the draws' p99. They live as long as the
    process anyway; only long-running processes call this (never the tests' apps)."""
    gc.collect()
    gc.freeze()


@main.command()
@click.option("--service", type=click.Choice([*SERVICES, "all"]), default="all")
def worker(service: str) -> None:
    """Relay outboxes and consume events for the given service(s) until stopped."""
    settings = _settings()
    from koepon.app import Platform

    async def work() -> None:
        platform = Platform(settings, _services(service))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await platform.start(relay=True, consume=True)
        freeze_startup_objects()
        click.echo(f"Koepon worker running for {service}", err=True)
        try:
            await stop.wait()
        finally:
            await platform.stop()

    # uvloop, as uvicorn picks for `serve`: the relays and consumers are mostly socket I/O
    # (asyncpg, RabbitMQ, Redis), which it runs with less CPU than asyncio's own loop.
    uvloop.run(work())


@main.command()
@click.option("--service", type=click.Choice([*SERVICES, "all"]), default="all")
def migrate(service: str) -> None:
    """Bring the service databases to their newest schema."""
    settings = _settings()
    from koepon.app import Platform

    async def run() -> None:
        platform = Platform(settings, _services(service))
        try:
            await platform.migrate()
        finally:
            await platform.stop()

    asyncio.run(run())
    click.echo("migrated")


@main.command("settings")
def show_settings() -> None:
    """List every environment variable the platform reads, with its meaning."""
    every: tuple[type[BaseSettings], ...] = (Settings, *SERVICE_SETTINGS.values())
    for cls in every:
        for name, field in cls.model_fields.items():
            text = field.description or f"KOEPON_{name.upper()}"
            click.echo(f"KOEPON_{name.upper():<28} {text.split(':', 1)[-1].strip()}")


async def _seed(platform: Any) -> None:
    from koepon.seed import seed_demo

    await platform.migrate()
    await seed_demo(platform)


@main.command()
def seed() -> None:
    """Create the demo data of API.md (never in production)."""
    settings = _settings()
    if settings.environment == "production":
        raise click.ClickException("Demo data is never created in production settings.")
    from koepon.app import Platform

    async def run() -> None:
        platform = Platform(settings)
        try:
            await _seed(platform)
        finally:
            await platform.stop()

    asyncio.run(run())
    click.echo("demo data ready")


# Operators' commands of the services.
main.add_command(payment_commands.audit)
main.add_command(payment_commands.report)
main.add_command(payment_commands.payments)
main.add_command(rewards_commands.trace_leak)
# Backups, restores and the staging copy (docs/RUNBOOK.md).
main.add_command(ops_commands.backup_command)
main.add_command(ops_commands.restore_command)
main.add_command(ops_commands.anonymize_command)

if __name__ == "__main__":
    main()
