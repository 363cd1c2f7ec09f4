"""What the running service holds for its lifetime: settings, database, keys, signer, verifier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.known_issuers import AgencyApprovedProviders
from app.settings import Settings
from badges.issuers.issuers import KeyVault
from badges.issuing.issuing import IssuingContext
from badges.issuing.signing import Signer
from badges.policy.approved_providers import ApprovedProviders
from badges.policy.badge_alignments import badge_alignments
from badges.policy.foreign_status import FRESH_FOR, StatusCache
from badges.policy.foreign_sweeps import Sweeps
from badges.wallets.mail import (
    Mailer,
    SmtpSettings,
)
from keys.did_web import did_web_for
from keys.master import MasterKey
from schemas.contexts import register_contexts
from storage.session import create_engine, create_session_factory
from verification.fetch import Fetcher, FetchSettings, MappedFetcher, SafeFetcher
from verification.issuer_registry import IssuerRegistries, OwnIssuers
from verification.local import OwnCredentials, OwnIssuerKeys, OwnStatusLists
from verification.pipeline import Verifier
from verification.resolvers import default_resolver
from verification.static_cache import StaticCheckCache
from verification.status import BitstringStatusListChecker
from verification.trust_dir import TrustMaterial, load_trust_dir

# Issued credentials kept in memory for verification by URL: about 9 KB each (JSON and JWT).
OWN_CREDENTIALS_CACHED: Final = 2048


@dataclass
class ServiceState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    vault: KeyVault
    signer: Signer
    fetcher: SafeFetcher
    verifier: Verifier
    own_credentials: OwnCredentials
    mailer: Mailer
    # The verifier's registry of agencies' approved providers; `changed()` after a change.
    approved_providers: ApprovedProviders
    # Status readings of credentials issued elsewhere, reused for 5 minutes (README).
    foreign_status: StatusCache = field(default_factory=StatusCache)
    # The background re-reads of those statuses, one per agency at a time.
    foreign_sweeps: Sweeps = field(default_factory=Sweeps)

    @property
    def issuing(self) -> IssuingContext:
        return IssuingContext(
            public_url=self.settings.public_url,
            vault=self.vault,
            signer=self.signer,
            default_jwt_algorithm="EdDSA" if self.settings.default_jwt_alg == "EdDSA" else "RS256",
            alignments=badge_alignments,
        )

    async def close(self) -> None:
        await self.foreign_sweeps.cancel()
        self.signer.close()
        await self.fetcher.aclose()
        await self.engine.dispose()


def load_master_key(settings: Settings) -> MasterKey:
    if settings.master_key:
        return MasterKey.from_text(settings.master_key)
    return MasterKey.load_or_create(settings.data_dir / "master.key")


def build_verifier(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    approved_providers: ApprovedProviders | None = None,
) -> tuple[SafeFetcher, Verifier]:
    """One outbound client for the whole process, and a verifier that answers this
    service's own keys and status lists from the database, and what the operator's trust
    folder holds (read here, once; TrustDirError names a malformed file) from memory."""
    public = settings.public_url
    trust = load_trust_dir(settings.trust_dir) if settings.trust_dir else TrustMaterial()
    register_contexts(trust.contexts)
    fetcher = SafeFetcher(
        FetchSettings(
            allow_insecure_http=settings.fetch_allow_http,
            allow_private_networks=settings.fetch_allow_private,
            max_bytes=settings.fetch_max_bytes,
            timeout_seconds=settings.fetch_timeout_seconds,
            # The verifier must never be a way to call this service's own private API.
            blocked_prefixes=(f"{public}/v1/", f"{public}/oauth/", f"{public}/credentials/issue"),
        )
    )
    # The trust folder answers first; with trust_dir_only nothing else is fetched.
    outbound: Fetcher = MappedFetcher(
        trust.documents, fallback=None if settings.trust_dir_only else fetcher
    )
    resolver = default_resolver(
        outbound,
        local=OwnIssuerKeys(sessions, public),
        did_web_scheme="http" if settings.fetch_allow_http else "https",
        trusted=trust.did_documents,
    )
    checker = OwnStatusLists(sessions, public, BitstringStatusListChecker(outbound))
    own = did_web_for(public, "issuers") + ":"

    def own_issuer(credential: Mapping[str, Any] | None) -> bool:
        issuer = (credential or {}).get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        return isinstance(issuer_id, str) and issuer_id.startswith(own)

    registries = IssuerRegistries(
        [
            OwnIssuers(lambda issuer_id: issuer_id.startswith(own)),
            *trust.registries,
            AgencyApprovedProviders(approved_providers or ApprovedProviders(sessions)),
        ]
    )
    verifier = Verifier(
        fetcher=outbound,
        resolver=resolver,
        status_checker=checker,
        static_cache=StaticCheckCache(own_issuer),
        issuer_registry=registries,
    )
    return fetcher, verifier


def build_state(settings: Settings) -> ServiceState:
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    sessions = create_session_factory(engine)
    approved_providers = ApprovedProviders(sessions)
    fetcher, verifier = build_verifier(settings, sessions, approved_providers)
    return ServiceState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        vault=KeyVault(load_master_key(settings)),
        signer=Signer(settings.sign_workers, inline_singles=settings.workers > 1),
        fetcher=fetcher,
        verifier=verifier,
        own_credentials=OwnCredentials(sessions, settings.public_url, OWN_CREDENTIALS_CACHED),
        mailer=build_mailer(settings),
        approved_providers=approved_providers,
        foreign_sweeps=Sweeps(sweep_period(settings)),
    )


def sweep_period(settings: Settings) -> timedelta:
    """How often an agency's foreign credentials are swept: the setting, or (periodic sweeps
    off) the freshness window, for the sweeps state queries start."""
    seconds = settings.foreign_status_sweep_seconds
    return timedelta(seconds=seconds) if seconds > 0 else FRESH_FOR


def build_mailer(settings: Settings) -> Mailer:
    smtp = None
    if settings.smtp_host:
        smtp = SmtpSettings(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_starttls,
        )
    return Mailer(sender=settings.mail_from, smtp=smtp)
