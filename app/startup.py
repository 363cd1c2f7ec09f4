"""What `lattice serve` and the key-touching CLI commands check and say before they start.

A master key that cannot open the stored signing keys makes every issuance fail (a 500 at
the first award), and a fresh key generated next to an existing database seals new keys
that the old key cannot open: both are refused here, before anything is written, with what
to do instead.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from uvicorn.config import LOGGING_CONFIG

from app.settings import Settings
from badges.issuers.issuers import KeyVault
from badges.issuers.setup import open_setup
from keys.did_web import did_web_for
from keys.keypair import KeyAlgorithm
from keys.master import KeyDecryptionError, MasterKey
from storage.models import Issuer, IssuerKey
from storage.session import transaction

logger = logging.getLogger("lattice")

# The project's own loggers ("lattice.mail" and the rest, and module loggers by __name__).
_OWN_LOGGERS: Final = ("lattice", "app", "badges", "verification")
_WHAT_TO_DO: Final = (
    "Set LATTICE_DATA_DIR to the folder holding the master.key that sealed them, or "
    "LATTICE_MASTER_KEY to that key's text."
)


class StartRefused(Exception):
    """Why this configuration must not start, and what to do instead."""


@dataclass(frozen=True)
class OpenedKeys:
    """The vault whose master key opened the stored keys, and the issuers it could not."""

    vault: KeyVault
    issuers_checked: int
    unopened: tuple[str, ...]


def log_config(level: str) -> dict[str, Any]:
    """Uvicorn's logging, with this service's loggers on its handler: without it their
    records (the mail of a development service among them) went nowhere."""
    config = copy.deepcopy(LOGGING_CONFIG)
    for name in _OWN_LOGGERS:
        config["loggers"][name] = {
            "handlers": ["default"],
            "level": level.upper(),
            "propagate": False,
        }
    return config


def master_key_source(settings: Settings) -> str:
    if settings.master_key:
        return "LATTICE_MASTER_KEY"
    return str(settings.data_dir / "master.key")


def shown_database(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


async def open_keys(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> OpenedKeys:
    """The master key, once it is shown to open the issuers' current keys (one each: all
    of an issuer's keys are sealed together). A first start, with no key anywhere and
    nothing sealed yet, makes the key file."""
    async with sessions() as session:
        rows = list(
            (
                await session.execute(
                    select(Issuer.slug, IssuerKey)
                    .join(Issuer, Issuer.id == IssuerKey.issuer_id)
                    .where(
                        IssuerKey.retired_at.is_(None),
                        IssuerKey.algorithm == KeyAlgorithm.ED25519.value,
                    )
                )
            ).all()
        )
    vault = KeyVault(_master_key(settings, sealed=len(rows)))
    unopened = tuple(sorted(slug for slug, row in rows if not _opens(vault, row)))
    if rows and len(unopened) == len(rows):
        raise StartRefused(
            f"the master key ({master_key_source(settings)}) opens none of the signing keys "
            f"of the {len(rows)} issuer(s) in the database {shown_database(settings)}: they "
            f"were sealed with another master key, so nothing could be signed. {_WHAT_TO_DO}"
        )
    return OpenedKeys(vault, len(rows), unopened)


def _master_key(settings: Settings, *, sealed: int) -> MasterKey:
    if settings.master_key:
        try:
            return MasterKey.from_text(settings.master_key)
        except ValueError as error:
            raise StartRefused(f"LATTICE_MASTER_KEY: {error}") from None
    path = settings.data_dir / "master.key"
    if sealed and not path.exists():
        # A new key here would seal new issuers' keys with one the old ones do not open.
        raise StartRefused(
            f"no master key: {path} does not exist and LATTICE_MASTER_KEY is unset, but the "
            f"database {shown_database(settings)} holds the keys of {sealed} issuer(s), "
            f"sealed with a master key kept elsewhere. {_WHAT_TO_DO}"
        )
    try:
        return MasterKey.load_or_create(path)
    except ValueError as error:
        raise StartRefused(str(error)) from None
    except OSError as error:
        raise StartRefused(f"cannot read or create {path}: {error.strerror}") from None


def _opens(vault: KeyVault, row: IssuerKey) -> bool:
    try:
        vault.keypair(row)
    except KeyDecryptionError:
        return False
    return True


async def first_run_link(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> str | None:
    """While nobody has a staff account, a new one-time link to set up the console in the
    browser (replacing the link of an earlier start); None once anyone has one."""
    async with transaction(sessions) as session:
        token = await open_setup(session)
    return f"{settings.public_url}/console/setup?token={token}" if token else None


def start_up_lines(
    settings: Settings, keys: OpenedKeys, setup_link: str | None = None
) -> list[str]:
    """What `lattice serve` tells the operator before it listens: one line per fact."""
    if settings.public_url_derived:
        origin = "made from host and port: set LATTICE_PUBLIC_URL to the address others "
        origin += "reach the service at"
    else:
        origin = "LATTICE_PUBLIC_URL"
    example = did_web_for(settings.public_url, "issuers") + ":<slug>"
    lines = [
        f"public URL {settings.public_url} ({origin}): written into every credential, page "
        f"and DID, e.g. {example}",
        f"database {shown_database(settings)}",
        f"data dir {settings.data_dir} (master key: {master_key_source(settings)}; it opens "
        f"the keys of {keys.issuers_checked - len(keys.unopened)} issuer(s))",
    ]
    if setup_link:
        lines.append(
            f"first run: nobody has a console account yet. Open {setup_link} to name your "
            "organisation and become its admin (the link works once; each start prints a new one "
            "until the setup is done)"
        )
    return lines


def unopened_warning(keys: OpenedKeys) -> str | None:
    """Some issuers' keys sealed with another master key (a data folder moved once): the
    others can still sign, so this warns instead of refusing."""
    if not keys.unopened:
        return None
    return (
        f"the master key cannot open the keys of issuer(s) {', '.join(keys.unopened)}: they "
        "cannot sign until `lattice keys rotate --issuer SLUG` gives them new keys"
    )
