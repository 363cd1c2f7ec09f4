"""The `lattice` command: run the service and set up issuers, clients and keys from a shell."""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from uvicorn.config import STARTUP_FAILURE

from app.serving import serve_balanced
from app.settings import Settings, get_settings
from app.startup import (
    OpenedKeys,
    StartRefused,
    first_run_link,
    log_config,
    open_keys,
    start_up_lines,
    unopened_warning,
)
from badges.errors import DomainError, NotFound
from badges.issuers.clients import (
    PROVIDER_SCOPES,
    ListedClient,
    create_client,
    list_clients,
    revoke_client,
    rotate_client_secret,
)
from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
    get_issuer,
    issuer_did,
    rotate_keys,
    set_suspension,
)
from badges.issuers.staff import (
    Address,
    add_staff,
    disable_staff,
    list_staff,
    places_of,
)
from badges.policy.agencies import agency_of, create_agency
from badges.wallets.teachers import email_key, masked
from schemas.api.base import TextLine
from storage import migrate
from storage.models import Agency
from storage.session import create_engine, create_session_factory, transaction

T = TypeVar("T")


class StaffRole(StrEnum):
    admin = "admin"
    staff = "staff"


_ONE_LINE: TypeAdapter[str] = TypeAdapter(TextLine)
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
staff_cli = typer.Typer(help="Console staff (people who sign in).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(issuer_cli, name="issuer")
cli.add_typer(client_cli, name="client")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(agency_cli, name="agency")
cli.add_typer(staff_cli, name="staff")


def _prepare_storage(settings: Settings) -> None:
    """Create the data directory (and the SQLite file's), then apply migrations."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)


def _settings() -> Settings:
    """The settings, or a one-line error naming the variable at fault (exit code 2)."""
    try:
        return get_settings()
    except ValidationError as error:
        for problem in error.errors():
            variable = "LATTICE_" + "_".join(str(part) for part in problem["loc"]).upper()
            detail = str(problem["msg"]).removeprefix("Value error, ")
            typer.echo(f"error: {variable}: {detail}", err=True)
        raise typer.Exit(2) from None


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _on_database(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run `work` against the configured database, migrated first."""
    settings = _settings()
    _prepare_storage(settings)

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(create_session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except StartRefused as refused:
        raise _fail(str(refused), 1) from None
    except DomainError as error:
        raise _fail(error.detail, 2) from None


def _run(operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one operation in a transaction."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> T:
        async with transaction(sessions) as session:
            return await operation(session)

    return _on_database(work)


def _run_with_keys(operation: Callable[[AsyncSession, KeyVault], Awaitable[T]]) -> T:
    """Run one operation that seals or uses issuer keys, in a transaction, once the master
    key is shown to open the keys already stored (else exit code 1, saying why)."""
    settings = _settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> T:
        opened = await open_keys(sessions, settings)
        warning = unopened_warning(opened)
        if warning:
            typer.echo(f"warning: {warning}", err=True)
        async with transaction(sessions) as session:
            return await operation(session, opened.vault)

    return _on_database(work)


def _text(what: str, max_length: int) -> Callable[[str | None], str | None]:
    """A typer callback refusing an empty value, more than `max_length` characters and
    control characters (the API's rule for one-line text), with exit code 2."""

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise typer.BadParameter(f"{what} must not be empty")
        if len(value) > max_length:
            raise typer.BadParameter(f"{what} must be at most {max_length} characters")
        try:
            return _ONE_LINE.validate_python(value)
        except ValidationError as error:
            detail = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
            raise typer.BadParameter(f"{what} {detail}") from None

    return check


_slug = _text("an issuer slug", 64)
_name = _text("a name", 200)


def _version(shown: bool) -> None:
    if shown:
        try:
            typer.echo(f"lattice {version('lattice')}")
        except PackageNotFoundError:
            typer.echo("lattice (not installed: no version)")
        raise typer.Exit()


@cli.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Lattice: Open Badges 3.0 micro-credentials."""


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (LATTICE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (LATTICE_PORT).")] = None,
) -> None:
    """Apply migrations, check (or on first start make) the master key, and serve the API.

    Unless LATTICE_PUBLIC_URL is set, the public URL written into DIDs and credentials is
    http://HOST:PORT.
    """
    # The options are the settings of the same name, exported so that every worker process
    # (and the public URL made from them) sees the same values.
    for variable, value in (("LATTICE_HOST", host), ("LATTICE_PORT", port)):
        if value is not None:
            os.environ[variable] = str(value)
    get_settings.cache_clear()
    settings = _settings()
    if settings.workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        raise _fail("LATTICE_WORKERS > 1 needs PostgreSQL", 2)
    logging_config = log_config(settings.log_level)
    logging.config.dictConfig(logging_config)

    async def prepare(sessions: async_sessionmaker[AsyncSession]) -> tuple[OpenedKeys, str | None]:
        return await open_keys(sessions, settings), await first_run_link(sessions, settings)

    opened, setup_link = _on_database(prepare)
    logger = logging.getLogger("lattice")
    for line in start_up_lines(settings, opened, setup_link):
        logger.info(line)
    warning = unopened_warning(opened)
    if warning:
        logger.warning(warning)
    config = uvicorn.Config(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=logging_config,
        proxy_headers=True,
        workers=settings.workers,
    )
    if settings.workers == 1:
        server = uvicorn.Server(config)
        server.run()
        status = 0 if server.started else STARTUP_FAILURE
    else:
        status = serve_balanced(config, settings.workers)
    if status:
        raise typer.Exit(status)


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
    slug: Annotated[
        str, typer.Argument(help="URL name: did:web:<host>:issuers:<slug>.", callback=_slug)
    ],
    name: Annotated[str, typer.Option(help="Organisation name shown on badges.", callback=_name)],
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

    did = _run_with_keys(operation)
    typer.echo(json.dumps({"slug": slug, "did": did, "suspension_enabled": suspension}))


@issuer_cli.command("update")
def issuer_update(
    slug: Annotated[str, typer.Argument(help="Slug of the issuer to change.", callback=_slug)],
    suspension: Annotated[bool, typer.Option(help=_SUSPENSION_HELP)],
) -> None:
    """Change an issuer's settings (for credentials issued from now on)."""

    async def operation(session: AsyncSession) -> bool:
        issuer = await set_suspension(session, await get_issuer(session, slug), suspension)
        return issuer.suspension_enabled

    typer.echo(json.dumps({"slug": slug, "suspension_enabled": _run(operation)}))


@agency_cli.command("create")
def agency_create(
    slug: Annotated[
        str, typer.Argument(help="URL name of the agency's issuer profile.", callback=_slug)
    ],
    name: Annotated[
        str, typer.Option(help="Agency name, e.g. Texas Education Agency.", callback=_name)
    ],
    state: Annotated[str, typer.Option(help="Two-letter state code.")],
    url: Annotated[str | None, typer.Option(help="Agency website.")] = None,
) -> None:
    """Create a state agency (with its own issuer profile and keys, for stack credentials)."""

    async def operation(session: AsyncSession, vault: KeyVault) -> str:
        await create_agency(session, vault, IssuerDetails(slug, name, url), state)
        return state.upper()

    typer.echo(json.dumps({"slug": slug, "state": _run_with_keys(operation)}))


@client_cli.command("create")
def client_create(
    issuer: Annotated[
        str, typer.Option(help="Slug of the issuer the client acts for.", callback=_slug)
    ],
    name: Annotated[
        str, typer.Option(help="Who uses the client, for the audit trail.", callback=_name)
    ],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Repeat; default all of {', '.join(PROVIDER_SCOPES)} (and the agency scopes "
            "for an agency).",
        ),
    ] = None,
) -> None:
    """Create an API client; its secret is printed this once and cannot be shown again."""

    async def operation(session: AsyncSession) -> dict[str, str]:
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
    issuer: Annotated[
        str, typer.Option(help="Slug of the issuer whose keys to rotate.", callback=_slug)
    ],
) -> None:
    """Make new signing keys current; old public keys stay published so old badges verify."""

    async def operation(session: AsyncSession, vault: KeyVault) -> list[str]:
        found = await get_issuer(session, issuer)
        return [row.key_id for row in await rotate_keys(session, vault, found)]

    typer.echo(json.dumps({"issuer": issuer, "new_keys": _run_with_keys(operation)}))


@client_cli.command("list")
def client_list(
    issuer: Annotated[
        str | None, typer.Option(help="Only the clients of this issuer (slug).", callback=_slug)
    ] = None,
) -> None:
    """List API clients (never their secrets), revoked ones included."""

    async def operation(session: AsyncSession) -> list[ListedClient]:
        return await list_clients(session, await get_issuer(session, issuer) if issuer else None)

    typer.echo(json.dumps({"clients": [_listed(item) for item in _run(operation)]}))


@client_cli.command("revoke")
def client_revoke(
    client_id: Annotated[str, typer.Argument(help="The client's id (lc_...).")],
) -> None:
    """Disable a client for good and revoke its access tokens; revoking again changes nothing."""

    async def operation(session: AsyncSession) -> dict[str, Any]:
        revoked = await revoke_client(session, client_id)
        return {
            "client_id": client_id,
            "revoked_at": _iso(revoked.client.disabled_at),
            "tokens_revoked": revoked.tokens_revoked,
        }

    typer.echo(json.dumps(_run(operation)))


@client_cli.command("rotate")
def client_rotate(
    client_id: Annotated[str, typer.Argument(help="The client's id (lc_...).")],
) -> None:
    """Give a client a new secret, printed this once; the old one and its tokens stop working."""

    async def operation(session: AsyncSession) -> dict[str, Any]:
        rotated = await rotate_client_secret(session, client_id)
        return {
            "client_id": client_id,
            "client_secret": rotated.secret,
            "tokens_revoked": rotated.tokens_revoked,
        }

    typer.echo(json.dumps(_run(operation)))


@staff_cli.command("add")
def staff_add(
    email: Annotated[str, typer.Option(help="The person's work e-mail address.")],
    issuer: Annotated[
        str | None, typer.Option(help="Staff of this issuer (slug).", callback=_slug)
    ] = None,
    agency: Annotated[
        str | None, typer.Option(help="Staff of this agency (its id, or its slug).")
    ] = None,
    role: Annotated[StaffRole, typer.Option(help="admin: also API clients and webhooks.")] = (
        StaffRole.staff
    ),
) -> None:
    """Give a person a console account (made on first use) at an issuer or an agency; adding
    them again changes their role there."""
    if (issuer is None) == (agency is None):
        raise _fail("name either --issuer or --agency", 2)
    if "@" not in email or not email.strip():
        raise _fail("--email must be an e-mail address", 2)

    async def operation(session: AsyncSession, vault: KeyVault) -> dict[str, Any]:
        address = Address(email_key(vault, email), masked(email))
        place = await get_issuer(session, issuer) if issuer else None
        found = await _agency(session, agency) if agency else None
        account = await add_staff(session, address, issuer=place, agency=found, role=role.value)
        where = {"issuer": issuer} if issuer else {"agency": str(found.id) if found else None}
        return {"email": account.email_label, **where, "role": role.value}

    typer.echo(json.dumps(_run_with_keys(operation)))


@staff_cli.command("list")
def staff_list() -> None:
    """List console accounts (masked addresses), their memberships, disabled ones included."""

    async def operation(session: AsyncSession) -> list[dict[str, Any]]:
        return [
            {
                "email": account.email_label,
                "created_at": _iso(account.created_at),
                "disabled_at": _iso(account.disabled_at),
                "memberships": [
                    {
                        "kind": place.kind,
                        "slug": place.slug,
                        "id": str(place.id),
                        "role": place.role,
                    }
                    for place in await places_of(session, account)
                ],
            }
            for account in await list_staff(session)
        ]

    typer.echo(json.dumps({"staff": _run(operation)}))


@staff_cli.command("disable")
def staff_disable(
    email: Annotated[str, typer.Option(help="The person's e-mail address.")],
) -> None:
    """Disable a console account for good (dated; the account stays) and sign it out."""

    async def operation(session: AsyncSession, vault: KeyVault) -> dict[str, Any]:
        account = await disable_staff(session, email_key(vault, email))
        return {"email": account.email_label, "disabled_at": _iso(account.disabled_at)}

    typer.echo(json.dumps(_run_with_keys(operation)))


async def _agency(session: AsyncSession, named: str) -> Agency:
    """An agency by its id, or by the slug of its issuer profile."""
    try:
        found = await session.get(Agency, uuid.UUID(named))
    except ValueError:
        found = await agency_of(session, await get_issuer(session, named))
    if found is None:
        raise NotFound(f"no agency {named!r}")
    return found


def _listed(item: ListedClient) -> dict[str, Any]:
    return {
        "client_id": item.client.client_id,
        "issuer": item.issuer_slug,
        "name": item.client.name,
        "scope": item.client.scopes,
        "created_at": _iso(item.client.created_at),
        "revoked_at": _iso(item.client.disabled_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def main() -> None:
    cli()
