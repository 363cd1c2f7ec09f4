"""Every setting of the service, read once from `LATTICE_*` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


def _source_checkout() -> Path | None:
    """The folder of the source tree this code runs from, if it runs from one."""
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "migrations").is_dir():
        return root
    return None


_CHECKOUT: Final = _source_checkout()


class Settings(BaseSettings):
    # The checkout's .env, then the current folder's (which wins): the CLI run from another
    # folder reads the same settings as `scripts/serve`. The environment beats both.
    model_config = SettingsConfigDict(
        env_prefix="LATTICE_",
        env_file=(".env",) if _CHECKOUT is None else (_CHECKOUT / ".env", ".env"),
        extra="ignore",
    )
    _public_url_given: bool = PrivateAttr(default=False)

    # Declared before the settings derived from them: a validator sees only earlier fields.
    data_dir: Path = Field(
        default=None,
        validate_default=True,
        description="Where the master key file and the default SQLite file live. Unset: var/ "
        "of the source checkout Lattice runs from, else $XDG_DATA_HOME/lattice "
        "(~/.local/share/lattice); never the current folder. A relative path is taken from "
        "the current folder.",
    )
    database_url: str = Field(
        default=None,
        validate_default=True,
        description="SQLAlchemy async URL (sqlite+aiosqlite:// or postgresql+asyncpg://). "
        "Unset: SQLite in <data_dir>/lattice.db.",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        description="Database connections each service process keeps open (up to 10 more "
        "are opened, then closed, under load). On SQLite each is also a thread.",
    )
    master_key: str | None = Field(
        default=None,
        description="Base64url 32-byte key that encrypts private keys; "
        "if unset, read from (or generated into) <data_dir>/master.key.",
    )
    host: str = Field(default="127.0.0.1", description="Address `lattice serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `lattice serve` listens on.")
    public_url: str = Field(
        default=None,
        validate_default=True,
        description="Base of every URL the service writes into a credential, DID or page. "
        "Unset: http://<host>:<port> (127.0.0.1 for a wildcard host), so `lattice serve "
        "--port` alone is enough on one machine; set it to the address others reach.",
    )
    workers: int = Field(
        default=1,
        ge=1,
        description="Service processes `lattice serve` runs (one per core is a good start). "
        "PostgreSQL only: SQLite allocates status-list entries safely within one process.",
    )
    token_ttl_seconds: int = Field(
        default=900, description="Lifetime of provider access tokens (client credentials)."
    )
    max_body_bytes: int = Field(
        default=1_048_576, description="Largest request body accepted, except batch issuance."
    )
    max_batch_body_bytes: int = Field(
        default=16_777_216, description="Largest body accepted by the batch issue endpoint."
    )
    max_batch_items: int = Field(default=1000, description="Most awards in one batch request.")
    sign_workers: int = Field(
        default=0,
        description="Processes that sign batch credentials in parallel, and single ones when "
        "the service runs in one process; 0 means one per CPU.",
    )
    default_jwt_alg: str = Field(
        default="RS256", description="VC-JWT algorithm when the caller names none (RS256|EdDSA)."
    )
    fetch_allow_http: bool = Field(
        default=False,
        description="Development and tests only: let the verifier fetch plain-http URLs and "
        "resolve did:web over http, so anyone on the network path can forge what it reads.",
    )
    fetch_allow_private: bool = Field(
        default=False,
        description="Development and tests only: turn off the verifier's address check, so a "
        "submitted credential can make it fetch from loopback, private and link-local "
        "addresses (the service's own network).",
    )
    fetch_timeout_seconds: float = Field(
        default=5.0, description="Timeout of each outbound fetch (DID documents, status lists)."
    )
    fetch_max_bytes: int = Field(
        default=1_048_576, description="Largest document the verifier fetches."
    )
    trust_dir: Path | None = Field(
        default=None,
        description="Folder of operator-supplied trust material the verifier uses before the "
        "network: DID documents (dids/), fetched documents such as status lists "
        "(documents/index.json) and extra JSON-LD contexts (contexts/index.json). Read once "
        "at start-up; a malformed file stops start-up.",
    )
    trust_dir_only: bool = Field(
        default=False,
        description="Never fetch from the network what the trust folder does not hold "
        "(air-gapped deployments): such fetches fail at once as not available offline.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for e-mail (sign-in codes, claim links). Unset: mail is "
        "written to the log and the outbox table only (development).",
    )
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_username: str | None = Field(default=None, description="SMTP user, if any.")
    smtp_password: str | None = Field(default=None, description="SMTP password, if any.")
    smtp_starttls: bool = Field(default=True, description="Use STARTTLS with the SMTP server.")
    mail_from: str = Field(
        default="Lattice <no-reply@localhost>", description="From address of outgoing mail."
    )
    session_days: int = Field(default=14, description="How long a teacher stays signed in.")
    sign_in_codes_per_client: int = Field(
        default=20,
        description="Sign-in codes one client address may ask for in 15 minutes (the "
        "address is the proxy's X-Forwarded-For client when behind a trusted proxy).",
    )
    sign_in_code_minutes: int = Field(
        default=15, description="How long an e-mailed sign-in code or link stays valid."
    )
    claim_link_days: int = Field(
        default=7,
        ge=1,
        description="How long the claim link e-mailed on issuance (notifyRecipient) stays valid.",
    )
    ob_api_token_ttl_seconds: int = Field(
        default=3600, gt=0, description="Lifetime of OB 3.0 API access tokens (teachers' apps)."
    )
    ob_api_refresh_token_days: int = Field(
        default=90, gt=0, description="Lifetime of OB 3.0 API refresh tokens (rotated on use)."
    )
    privacy_policy_url: str | None = Field(
        default=None,
        description="The service's privacy policy, named in the OB 3.0 discovery document "
        "(`x-imssf-privacyPolicyUrl`); the public URL when unset.",
    )
    terms_of_service_url: str | None = Field(
        default=None,
        description="The service's terms, named in the OB 3.0 discovery document "
        "(`termsOfService`); the public URL when unset.",
    )
    log_level: str = Field(
        default="info",
        description="Log level of the service, as uvicorn names them (critical, error, "
        "warning, info, debug, trace).",
    )
    webhooks_allow_http: bool = Field(
        default=False,
        description="Development and tests only: accept http:// webhook URLs, so events "
        "travel unencrypted; otherwise https only.",
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Development and tests only: send webhooks to loopback, private and "
        "link-local addresses, so a provider can make the service post into its own network "
        "(refused by default, at registration and at each delivery).",
    )
    webhook_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often the delivery worker looks for due webhooks."
    )
    webhook_retry_base_seconds: float = Field(
        default=10.0,
        gt=0,
        description="First retry delay of a failed webhook; each next one is 3 times longer.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest a webhook receiver may take to answer."
    )
    webhook_concurrency: int = Field(
        default=16, ge=1, description="Most webhook requests in flight at once per process."
    )
    foreign_status_sweep_seconds: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="How often each agency's credentials from other issuers have their status "
        "read again, in the background (state queries answer from the last sweep). 0: no "
        "periodic sweep; a state query then starts one when the last is 5 minutes old, and "
        "waits for it.",
    )

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return default_data_dir()
        # Resolved once, here: a later chdir (or a log line) never changes what it means.
        return Path(value).expanduser().absolute() if isinstance(value, str | Path) else value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object, info: ValidationInfo) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            data_dir = info.data.get("data_dir")
            # When LATTICE_DATA_DIR itself is invalid, only its own error is worth reporting.
            folder = data_dir if isinstance(data_dir, Path) else Path("invalid")
            return f"sqlite+aiosqlite:///{folder / 'lattice.db'}"
        return value

    @field_validator("public_url", mode="before")
    @classmethod
    def _public_url(cls, value: object, info: ValidationInfo) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            host, port = info.data.get("host"), info.data.get("port")
            # When LATTICE_HOST or LATTICE_PORT is invalid, only its own error is worth reporting.
            if not isinstance(host, str) or not isinstance(port, int):
                return "http://invalid"
            return derived_public_url(host, port)
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("LATTICE_PUBLIC_URL must be an absolute http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="wrap")
    @classmethod
    def _remember_whether_public_url_was_set(
        cls, data: object, handler: ModelWrapValidatorHandler[Settings]
    ) -> Settings:
        given = data.get("public_url") if isinstance(data, dict) else None
        settings = handler(data)
        settings._public_url_given = isinstance(given, str) and bool(given.strip())
        return settings

    @property
    def public_url_derived(self) -> bool:
        """True when nobody set the public URL, so it was made from host and port."""
        return not self._public_url_given

    @field_validator("trust_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `LATTICE_TRUST_DIR=` in a .env file means no folder, not the working directory.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("default_jwt_alg")
    @classmethod
    def _known_alg(cls, value: str) -> str:
        if value not in {"RS256", "EdDSA"}:
            raise ValueError("LATTICE_DEFAULT_JWT_ALG must be RS256 or EdDSA")
        return value


# Addresses that mean "every interface" (nobody reaches the service there), and the
# loopback ones, as the address a URL on this machine uses for each.
_ON_THIS_MACHINE = {
    "": "127.0.0.1",
    "0.0.0.0": "127.0.0.1",  # noqa: S104 (compared with, never bound)
    "::": "127.0.0.1",  # Linux binds "::" for IPv4 too
    "[::]": "127.0.0.1",
    "::1": "localhost",  # a did:web host cannot be an IPv6 literal
    "[::1]": "localhost",
}


def derived_public_url(host: str, port: int) -> str:
    """The URL `lattice serve` answers at on this machine, for when none is configured."""
    name = _ON_THIS_MACHINE.get(host.strip().lower(), host.strip().lower())
    if ":" in name:
        raise ValueError(
            f"LATTICE_HOST {host!r} is an IPv6 address, which a did:web cannot hold: "
            "set LATTICE_PUBLIC_URL to the name it is reached by"
        )
    return f"http://{name}" if port == 80 else f"http://{name}:{port}"


def default_data_dir() -> Path:
    """`var/` of the source checkout Lattice runs from (`scripts/serve`, an editable
    install), else the user's data folder: the same folder from wherever the command runs."""
    if _CHECKOUT is not None:
        return _CHECKOUT / "var"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).absolute() / "lattice"


@lru_cache
def get_settings() -> Settings:
    return Settings()
