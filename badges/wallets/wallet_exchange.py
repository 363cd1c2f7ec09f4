"""W3C VC-API exchange for wallets: DIDAuth, then the badge re-issued to the proven DID.

The flow (VC-API "Workflows and Exchanges"; the DCC Learner Credential Wallet speaks it):

1. The teacher opens a wallet link or QR code naming `POST {public}/exchanges/{id}`.
2. The wallet POSTs `{}` and gets a `verifiablePresentationRequest`: a `DIDAuthentication`
   query with this exchange's `challenge` and our `domain`.
3. The wallet POSTs `{"verifiablePresentation": VP}`: a presentation signed for
   `authentication` by a key of its DID, carrying that challenge. Older LCW builds skip
   step 2 (the challenge is in their link) and POST the bare VP; both are accepted, and
   each gets its answer in the shape it sent (enveloped, or a bare VP).
4. The answer holds one new credential whose `credentialSubject.id` is the holder's DID.

An exchange is single-use and short-lived; a replayed or late VP gets a 400 and nothing is
stored. Holders are `did:key` / `did:jwk` (resolved locally, so a wallet cannot make the
service fetch URLs), signing with `eddsa-rdfc-2022` or `Ed25519Signature2020`, the suite
LCW uses today.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import DomainError, NotFound
from badges.issuing.issuing import IssuingContext
from badges.wallets.wallet_credentials import (
    is_did,
    reissue_to_holder,
)
from keys.data_integrity import PROOF_TYPE, ProofResult, verify_document
from keys.legacy_suites import ED25519_SIGNATURE_2020, verify_ed25519_signature_2020
from keys.resolution import (
    KeyResolutionError,
    KeyResolver,
)
from schemas.contexts import VC2_CONTEXT
from storage.models import Credential, Teacher, WalletExchange

EXCHANGE_LIFETIME: Final = timedelta(minutes=15)
AUTHENTICATION: Final = "authentication"
CRYPTOSUITE: Final = "eddsa-rdfc-2022"
LCW_REQUEST_PAGE: Final = "https://lcw.app/request.html"


class ExchangeRejected(DomainError):
    """The wallet's message cannot complete the exchange (VC-API: 400 invalid input)."""

    status_code = 400
    title = "Exchange not accepted"


def exchange_url(public_url: str, exchange_id: uuid.UUID) -> str:
    return f"{public_url}/exchanges/{exchange_id}"


def request_domain(public_url: str) -> str:
    """The `domain` a DIDAuth proof must name: this service's origin."""
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{parts.netloc}"


async def start_exchange(
    session: AsyncSession,
    teacher: Teacher,
    credential: Credential,
    *,
    lifetime: timedelta = EXCHANGE_LIFETIME,
) -> WalletExchange:
    row = WalletExchange(
        id=uuid.uuid4(),
        credential_id=credential.id,
        teacher_id=teacher.id,
        challenge=secrets.token_urlsafe(24),
        state="pending",
        expires_at=datetime.now(UTC) + lifetime,
    )
    session.add(row)
    await session.flush()
    return row


def lcw_deep_link(public_url: str, exchange: WalletExchange) -> str:
    """The Learner Credential Wallet link: LCW signs a DIDAuth with `challenge` and POSTs it
    to `vc_request_url` (the format DCC's own exchange coordinator hands out for claims)."""
    query = urlencode(
        {
            "issuer": urlsplit(public_url).netloc,
            "auth_type": "bearer",
            "challenge": exchange.challenge,
            "vc_request_url": exchange_url(public_url, exchange.id),
        },
        quote_via=quote,
    )
    return f"{LCW_REQUEST_PAGE}?{query}"


def presentation_request(public_url: str, exchange: WalletExchange) -> dict[str, Any]:
    """The VC-API answer to a wallet that starts the exchange: prove a DID, for this challenge."""
    return {
        "verifiablePresentationRequest": {
            "query": [
                {
                    "type": "DIDAuthentication",
                    "acceptedMethods": [{"method": "key"}, {"method": "jwk"}],
                    "acceptedCryptosuites": [
                        {"cryptosuite": CRYPTOSUITE},
                        {"cryptosuite": ED25519_SIGNATURE_2020},
                    ],
                }
            ],
            "challenge": exchange.challenge,
            "domain": request_domain(public_url),
            "interact": {
                "service": [
                    {
                        "type": "UnmediatedHttpPresentationService2021",
                        "serviceEndpoint": exchange_url(public_url, exchange.id),
                    }
                ]
            },
        }
    }


@dataclass(frozen=True)
class ExchangeStep:
    """What to answer a wallet's POST with."""

    body: dict[str, Any]
    issued_credential_id: uuid.UUID | None = None


async def participate(
    session: AsyncSession,
    ctx: IssuingContext,
    resolver: KeyResolver,
    exchange_id: uuid.UUID,
    message: Any,
) -> ExchangeStep:
    """One wallet POST to the exchange: a request for DIDAuth, or the credential."""
    exchange = await session.get(WalletExchange, exchange_id)
    if exchange is None:
        raise NotFound(f"no exchange {exchange_id}")
    if exchange.state != "pending":
        raise ExchangeRejected("this exchange is already complete; start a new one")
    if exchange.expires_at <= datetime.now(UTC):
        raise ExchangeRejected("this exchange has expired; start a new one")
    if not isinstance(message, dict):
        raise ExchangeRejected("the exchange takes a JSON object")
    enveloped = "verifiablePresentation" in message
    presentation = message["verifiablePresentation"] if enveloped else message
    if not enveloped and "VerifiablePresentation" not in _types(presentation):
        return ExchangeStep(presentation_request(ctx.public_url, exchange))
    holder = await verify_did_auth(
        presentation,
        challenge=exchange.challenge,
        domain=request_domain(ctx.public_url),
        resolver=resolver,
    )
    await _complete(session, exchange)
    credential = await session.get(Credential, exchange.credential_id)
    if credential is None:
        raise NotFound("the badge of this exchange no longer exists")
    issued = await reissue_to_holder(session, ctx, credential, holder)
    exchange.issued_credential_id = issued.id
    await session.flush()
    vp = {
        "@context": [VC2_CONTEXT],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [json.loads(issued.document)],
    }
    return ExchangeStep({"verifiablePresentation": vp} if enveloped else vp, issued.id)


async def _complete(session: AsyncSession, exchange: WalletExchange) -> None:
    """Claim the exchange: of concurrent VPs for it, exactly one gets through, and only
    while it is live (it may have expired while the presentation was being checked)."""
    now = datetime.now(UTC)
    claimed = await session.execute(
        update(WalletExchange)
        .where(
            WalletExchange.id == exchange.id,
            WalletExchange.state == "pending",
            WalletExchange.expires_at > now,
        )
        .values(state="complete", completed_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise ExchangeRejected("this exchange is already complete or has expired; start a new one")
    await session.refresh(exchange)


def _types(value: Any) -> set[str]:
    if not isinstance(value, Mapping):
        return set()
    found = value.get("type", [])
    return {str(item) for item in (found if isinstance(found, list) else [found])}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _holder_of(presentation: Mapping[str, Any]) -> str | None:
    holder = presentation.get("holder")
    if isinstance(holder, Mapping):
        holder = holder.get("id")
    return holder if isinstance(holder, str) else None


async def verify_did_auth(
    presentation: Any, *, challenge: str, domain: str, resolver: KeyResolver
) -> str:
    """The DID a DIDAuth presentation proves control of; ExchangeRejected saying why not.

    The proof must be for `authentication`, carry `challenge`, name `domain` if it names
    one (LCW's link flow signs no domain), be signed by a key the resolver finds for
    `authentication`, and that key's controller must be the presentation's `holder`.
    """
    if "VerifiablePresentation" not in _types(presentation):
        raise ExchangeRejected('"verifiablePresentation" must be a VerifiablePresentation')
    proofs = [p for p in _as_list(presentation.get("proof")) if isinstance(p, Mapping)]
    if not proofs:
        raise ExchangeRejected("the presentation is not signed; DIDAuth needs a proof")
    reasons = []
    for proof in proofs:
        problem = _option_problem(proof, challenge, domain)
        if problem is None:
            controller, problem = await _check_signature(presentation, proof, resolver)
            if controller is not None:
                return _bind_holder(presentation, controller)
        reasons.append(problem)
    raise ExchangeRejected("DIDAuth failed: " + "; ".join(r for r in reasons if r))


def _option_problem(proof: Mapping[str, Any], challenge: str, domain: str) -> str | None:
    if proof.get("proofPurpose") != AUTHENTICATION:
        return f'"proofPurpose" must be "{AUTHENTICATION}", not {proof.get("proofPurpose")!r}'
    if not secrets.compare_digest(str(proof.get("challenge", "")), challenge):
        return '"challenge" is not the one this exchange asked for'
    domains = _as_list(proof.get("domain"))
    if domains and domain not in domains:
        return f'"domain" {proof.get("domain")!r} is not {domain!r}'
    if not isinstance(proof.get("verificationMethod"), str):
        return '"verificationMethod" of the proof must be a string'
    return None


async def _check_signature(
    presentation: Mapping[str, Any], proof: Mapping[str, Any], resolver: KeyResolver
) -> tuple[str | None, str]:
    method = str(proof["verificationMethod"])
    try:
        key = await resolver.resolve(method, purpose=AUTHENTICATION)
    except KeyResolutionError as error:
        return None, f"key {method}: {error}"
    if key is None or not isinstance(key.public_key, Ed25519PublicKey):
        return None, f"key {method}: only Ed25519 did:key and did:jwk holders are supported"
    public_key = key.public_key
    if proof.get("type") == PROOF_TYPE and proof.get("cryptosuite") == CRYPTOSUITE:
        result: ProofResult = await asyncio.to_thread(
            verify_document,
            presentation,
            public_key,
            proof,
            expected_proof_purpose=AUTHENTICATION,
        )
    elif proof.get("type") == ED25519_SIGNATURE_2020:
        result = await asyncio.to_thread(
            verify_ed25519_signature_2020,
            presentation,
            proof,
            public_key,
            expected_proof_purpose=AUTHENTICATION,
        )
    else:
        suite = proof.get("cryptosuite") or proof.get("type")
        accepted = f"{CRYPTOSUITE}, {ED25519_SIGNATURE_2020}"
        return None, f"{suite} proofs are not accepted (only {accepted})"
    if not result.verified:
        return None, f"proof by {method}: {result.reason}"
    return key.controller, ""


def _bind_holder(presentation: Mapping[str, Any], controller: str) -> str:
    holder = _holder_of(presentation)
    if holder is not None and holder != controller:
        raise ExchangeRejected(f"signed by a key of {controller}, not of the holder {holder}")
    if not is_did(controller):
        raise ExchangeRejected(f"the holder {controller!r} is not a DID")
    return controller
