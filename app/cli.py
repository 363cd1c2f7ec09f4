"""The `lattice` command: run the service and set up issuers, clients and keys from a shell."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings, get_settings
from app.state import load_master_key
from badges.agencies import create_agency
from badges.clients import PROVIDER_SCOPES, create_client
from badges.errors import DomainError
from badges.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
    get_issuer,
    issuer_did,
    rotate_keys,
    set_suspension,
)
from storage import migrate
from storage.session import create_engine, create_session_factory, transaction

T = TypeVar("T")
_SUSPENSION_HELP = (
    "Also give new credentials a suspension status entry, so they can be suspended. Off by "
    "default: two entries fail the strict OB 3.0 JSON schema (credentialStatus 0..1)."
)

cli = typer.Typer(help="Lattice: Open Badges 3.0 micro-credentials.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
issuer_cli = typer.Typer(help="Issuers (provider organisations).", no_args_is_help=True)
client_cli = typer.Typer(help="Provider API clients.", no_args_is_help=True)
keys_cli = typer.Typer(help="Issuer signing keys.", no_args_is_help=True)
agency_cli = typer.Typer(help="State agencies.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(issuer_cli, name="issuer")
cli.add_typer(client_cli, name="client")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(agency_cli, name="agency")


def _prepare_storage(settings: Settings) -> None:
    """Create the data directory (and the SQLite file's), then apply migrations."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)


def _run(operation: Callable[[AsyncSession, KeyVault], Awaitable[T]]) -> T:
    """Run one operation in a transaction against the configured database."""
    settings = get_settings()
    _prepare_storage(settings)
    vault = KeyVault(load_master_key(settings))

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with transaction(create_session_factory(engine)) as session:
                return await operation(session, vault)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except DomainError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (LATTICE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (LATTICE_PORT).")] = None,
) -> None:
    """Apply migrations, make the master key on first start, and serve the API."""
    settings = get_settings()
    if settings.workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        typer.echo("error: LATTICE_WORKERS > 1 needs PostgreSQL", err=True)
        raise typer.Exit(2)
    _prepare_storage(settings)
    load_master_key(settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        workers=settings.workers,
    )


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = get_settings()
    if revision == "head":
        _prepare_storage(settings)
    else:
        migrate.upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@issuer_cli.command("create")
def issuer_create(
    slug: Annotated[str, typer.Argument(help="URL name: did:web:<host>:issuers:<slug>.")],
    name: Annotated[str, typer.Option(help="Organisation name shown on badges.")],
    url: Annotated[str | None, typer.Option(help="Organisation website.")] = None,
    email: Annotated[str | None, typer.Option(help="Contact e-mail.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    image: Annotated[str | None, typer.Option(help="Logo URL.")] = None,
    suspension: Annotated[bool, typer.Option(help=_SUSPENSION_HELP)] = False,
) -> None:
    """Create an issuer with fresh Ed25519 and RSA keys."""
    details = IssuerDetails(slug, name, url, email, description, image, suspension)

    async def operation(session: AsyncSession, vault: KeyVault) -> str:
        issuer = await create_issuer(session, vault, details)
        return issuer_did(get_settings().public_url, issuer)

    did = _run(operation)
    typer.echo(json.dumps({"slug": slug, "did": did, "suspension_enabled": suspension}))


@issuer_cli.command("update")
def issuer_update(
    slug: Annotated[str, typer.Argument(help="Slug of the issuer to change.")],
    suspension: Annotated[bool, typer.Option(help=_SUSPENSION_HELP)],
) -> None:
    """Change an issuer's settings (for credentials issued from now on)."""

    async def operation(session: AsyncSession, vault: KeyVault) -> bool:
        issuer = await set_suspension(session, await get_issuer(session, slug), suspension)
        return issuer.suspension_enabled

    typer.echo(json.dumps({"slug": slug, "suspension_enabled": _run(operation)}))


@agency_cli.command("create")
def agency_create(
    slug: Annotated[str, typer.Argument(help="URL name of the agency's issuer profile.")],
    name: Annotated[str, typer.Option(help="Agency name, e.g. Texas Education Agency.")],
    state: Annotated[str, typer.Option(help="Two-letter state code.")],
    url: Annotated[str | None, typer.Option(help="Agency website.")] = None,
) -> None:
    """Create a state agency (with its own issuer profile and keys, for stack credentials)."""

    async def operation(session: AsyncSession, vault: KeyVault) -> str:
        await create_agency(session, vault, IssuerDetails(slug, name, url), state)
        return state.upper()

    typer.echo(json.dumps({"slug": slug, "state": _run(operation)}))


@client_cli.command("create")
def client_create(
    issuer: Annotated[str, typer.Option(help="Slug of the issuer the client acts for.")],
    name: Annotated[str, typer.Option(help="Who uses the client, for the audit trail.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Repeat; default all of {', '.join(PROVIDER_SCOPES)} (and the agency scopes "
            "for an agency).",
        ),
    ] = None,
) -> None:
    """Create an API client; its secret is printed this once and cannot be shown again."""

    async def operation(session: AsyncSession, vault: KeyVault) -> dict[str, str]:
        created = await create_client(session, await get_issuer(session, issuer), name, scope or ())
        return {
            "client_id": created.client.client_id,
            "client_secret": created.secret,
            "issuer": issuer,
            "scope": created.client.scopes,
        }

    typer.echo(json.dumps(_run(operation)))


@keys_cli.command("rotate")
def keys_rotate(
    issuer: Annotated[str, typer.Option(help="Slug of the issuer whose keys to rotate.")],
) -> None:
    """Make new signing keys current; old public keys stay published so old badges verify."""

    async def operation(session: AsyncSession, vault: KeyVault) -> list[str]:
        found = await get_issuer(session, issuer)
        return [row.key_id for row in await rotate_keys(session, vault, found)]

    typer.echo(json.dumps({"issuer": issuer, "new_keys": _run(operation)}))


def main() -> None:
    cli()
