"""FastAPI dependencies: the service state, the per-request transaction, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.state import ServiceState
from badges.errors import Forbidden
from badges.issuers.clients import authenticate_token
from badges.issuers.issuers import get_issuer
from badges.policy.agencies import agency_of
from storage.models import Agency, Client, Issuer


# Dependencies are async even when they do no I/O: FastAPI runs a plain `def` one in a
# worker thread, a thread hop on every request.
async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.lattice
    return state


State = Annotated[ServiceState, Depends(get_state)]


async def _open_session(state: State) -> AsyncIterator[AsyncSession]:
    """The request's database session, closed once the response is sent (so a streamed
    body can still read from it)."""
    async with state.sessions() as session:
        yield session


async def get_session(
    session: Annotated[AsyncSession, Depends(_open_session)],
) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed if the handler succeeds, rolled back otherwise."""
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise


# scope="function": the commit happens before the response is sent. (A yield dependency's
# exit code otherwise runs after it is sent: a client could be told 201 for a credential
# whose commit then failed, or read it back before it was committed.)
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Provider:
    """An authenticated provider client and the issuer it acts for."""

    client: Client
    issuer: Issuer
    scopes: frozenset[str]


# The OAuth 2.0 security schemes of the OpenAPI document (app.openapi declares them).
PROVIDER_OAUTH: Final = "ProviderOAuth"  # client credentials: providers' and agencies' clients
TEACHER_APP_OAUTH: Final = "TeacherAppOAuth"  # authorization code: a teacher's OB 3.0 apps


@dataclass(frozen=True)
class SecurityRequirement:
    """What a dependency demands of the caller, for the OpenAPI document: a token of
    `scheme` holding every one of `scopes`. A dependency exposes it as `.security`."""

    scheme: str
    scopes: tuple[str, ...]


def _unauthorized(detail: str, error: str = "invalid_token") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": f'Bearer error="{error}"'})


class RequireScopes:
    """`Depends(RequireScopes("credentials:issue"))`: a bearer token holding every scope."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = frozenset(scopes)
        self.security = SecurityRequirement(PROVIDER_OAUTH, tuple(sorted(self.scopes)))

    async def __call__(self, request: Request, session: Session) -> Provider:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized(
                "a bearer access token from POST /oauth/token is required", "invalid_request"
            )
        grant = await authenticate_token(session, token.strip())
        if grant is None:
            raise _unauthorized("the access token is unknown, expired or revoked")
        missing = self.scopes - grant.scopes
        if missing:
            raise HTTPException(
                403,
                f"the access token lacks the scope(s) {', '.join(sorted(missing))}",
                headers={
                    "WWW-Authenticate": 'Bearer error="insufficient_scope", '
                    f'scope="{" ".join(sorted(self.scopes))}"'
                },
            )
        return Provider(client=grant.client, issuer=grant.issuer, scopes=grant.scopes)


async def issuer_of(slug: str, provider: Provider, session: AsyncSession) -> Issuer:
    """The issuer named in the path, which must be the one the client acts for."""
    if slug == provider.issuer.slug:
        return provider.issuer
    await get_issuer(session, slug)  # 404 for an issuer that does not exist at all
    raise Forbidden(f"this client acts for issuer {provider.issuer.slug!r}, not {slug!r}")


@dataclass(frozen=True)
class AgencyCaller:
    """An authenticated client of a state agency (its issuer profile)."""

    client: Client
    issuer: Issuer
    agency: Agency
    scopes: frozenset[str]


class RequireAgency:
    """`Depends(RequireAgency("stacks:write"))`: an agency client's token with every scope."""

    def __init__(self, *scopes: str) -> None:
        self._provider = RequireScopes(*scopes)
        self.security = self._provider.security

    async def __call__(self, request: Request, session: Session) -> AgencyCaller:
        provider = await self._provider(request, session)
        agency = await agency_of(session, provider.issuer)
        if agency is None:
            raise HTTPException(403, "this client does not act for a state agency")
        return AgencyCaller(provider.client, provider.issuer, agency, provider.scopes)
