"""Claim links: on issuance a provider can have the service e-mail the teacher a link that
signs her in (or makes her account) and lands on the badge.

The link is an ordinary one-time sign-in link (`badges.wallets.teachers`, purpose "claim") that
lives longer than a typed code, since she may open the e-mail days later. A failure to
send never fails the issuance: the credential is already stored, and she can sign in with
a code at any time. The address goes to the mailer only, never into a log line here.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from badges.issuers.issuers import KeyVault
from badges.wallets.mail import Mailer
from badges.wallets.teachers import (
    CLAIM,
    TooManyRequests,
    start_sign_in,
)
from formats.identity import normalise_email

logger = logging.getLogger("lattice.claims")


@dataclass(frozen=True)
class ClaimContext:
    vault: KeyVault
    mailer: Mailer
    public_url: str
    lifetime: timedelta


@dataclass(frozen=True)
class Claim:
    """One newly issued credential whose recipient asked to be told."""

    email: str
    credential_id: uuid.UUID
    document: str


def _badge_name(document: str) -> str:
    try:
        subject = json.loads(document).get("credentialSubject", {})
        subject = subject[0] if isinstance(subject, list) and subject else subject
        name = subject.get("achievement", {}).get("name")
    except (ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else "a badge"


async def send_claims(
    session: AsyncSession, context: ClaimContext, issuer_name: str, claims: Sequence[Claim]
) -> int:
    """E-mail each address once: a link to her badge (or her badge list, if several)."""
    by_address: dict[str, list[Claim]] = {}
    for claim in claims:
        by_address.setdefault(normalise_email(claim.email), []).append(claim)
    sent = 0
    for items in by_address.values():
        if await _send(session, context, issuer_name, items):
            sent += 1
    return sent


async def _send(
    session: AsyncSession, context: ClaimContext, issuer_name: str, items: Sequence[Claim]
) -> bool:
    first = items[0]
    landing = f"/teacher/badges/{first.credential_id}" if len(items) == 1 else "/teacher"
    try:
        issued = await start_sign_in(
            session,
            context.vault,
            first.email,
            client_address=None,
            lifetime=context.lifetime,
            purpose=CLAIM,
            next_path=landing,
        )
    except TooManyRequests:
        logger.warning("claim link for credential %s not sent: rate limited", first.credential_id)
        return False
    link = f"{context.public_url}/teacher/sign-in/link?token={issued.link_token}"
    what = f"“{_badge_name(first.document)}”" if len(items) == 1 else f"{len(items)} badges"
    days = max(1, round(context.lifetime.total_seconds() / 86400))
    await context.mailer.send(
        session,
        first.email.strip(),
        f"{issuer_name} awarded you {what}",
        f"{issuer_name} awarded you {what}.\n\nOpen this link to see it, download it as a "
        f"baked image, add it to your LinkedIn profile or share it:\n{link}\n\n"
        f"The link signs you in once and works for {days} days; after that, sign in at "
        f"{context.public_url}/teacher/sign-in with this e-mail address.",
    )
    return True
