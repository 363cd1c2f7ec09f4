"""What an agency awards when an educator completes a stack: a stack credential, and the
educator's whole progress as a CLR 2.0 `ClrCredential`.

The stack credential is an ordinary `OpenBadgeCredential` from the agency's issuer profile
whose achievement is the stack itself (its public URL) and whose evidence lists the
constituent credentials by id and URL. The CLR bundles the constituent credentials as
issued (each keeps its own proof) with `association`s between the achievements: each
micro-credential `isPartOf` the stack, and lattice roles `precedes` the next.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput
from badges.issuers.issuers import (
    credential_url,
    profile,
)
from badges.issuing.credential_document import (
    CredentialContent,
    Evidence,
    build_credential,
)
from badges.issuing.issuing import (
    Award,
    IssuedCredential,
    IssuingContext,
    Prepared,
    flush_issued,
    issue_prepared,
    record_credential,
    signing_keys,
)
from badges.issuing.recipients import (
    Recipient,
    identities_for,
)
from badges.policy.stack_rules import HeldCredential
from badges.policy.stacks import stack_url
from formats.dates import xsd_datetime
from schemas.contexts import OB3_CONTEXT, VC2_CONTEXT
from storage.models import Client, Credential, Issuer, Stack, SubmittedCredential

CLR_CONTEXT: Final = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"


@dataclass(frozen=True)
class CompletedRule:
    """A stack or lattice role an educator has met, and the credentials that met it."""

    iri: str
    name: str
    description: str
    code: str
    counted: Sequence[HeldCredential]


def stack_achievement(rule: CompletedRule, agency_profile: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": rule.iri,
        "type": ["Achievement"],
        "achievementType": "ext:MicroCredentialStack",
        "name": rule.name,
        "description": rule.description,
        "criteria": {"id": rule.iri, "narrative": f"Meet the rule of {rule.name}: see {rule.iri}"},
        "creator": dict(agency_profile),
        "humanCode": rule.code,
    }


async def issue_stack_credential(
    session: AsyncSession,
    ctx: IssuingContext,
    agency_issuer: Issuer,
    client: Client,
    rule: CompletedRule,
    recipient: Recipient,
) -> IssuedCredential:
    if not rule.counted:
        raise InvalidInput("the educator has not met this rule", field=("educator",))
    issuer_id, keys = signing_keys(ctx, agency_issuer, "web", None)
    agency_profile = profile(agency_issuer, issuer_id)
    evidence = tuple(
        Evidence(
            url=item.credential_id,
            name=f"Credential for {item.achievement_id}",
            description=f"Earned {xsd_datetime(item.earned_at)}; counted toward {rule.name}.",
        )
        for item in rule.counted
    )
    now = datetime.now(UTC).replace(microsecond=0)
    credential_id = uuid.uuid4()
    identities = identities_for(recipient, lookup_secret=ctx.vault.lookup_secret)
    content = CredentialContent(
        credential_id=credential_url(ctx.public_url, credential_id),
        issuer=agency_profile,
        achievement=stack_achievement(rule, agency_profile),
        valid_from=now,
        identifiers=[identity.as_json() for identity in identities],
        evidence=evidence,
        awarded_date=max(item.earned_at for item in rule.counted),
    )
    award = Award(
        achievement_id=credential_id,
        recipient=recipient,
        evidence=evidence,
        awarded_date=content.awarded_date,
    )
    prepared = Prepared(
        award=award,
        credential_id=credential_id,
        achievement=None,
        issuer_id=issuer_id,
        subject_id=None,
        identities=identities,
        unsigned=build_credential(content),
        keys=keys,
        valid_from=now,
    )
    return await issue_prepared(session, ctx, agency_issuer, client, prepared)


async def constituent_documents(
    session: AsyncSession, public_url: str, counted: Sequence[HeldCredential]
) -> list[Any]:
    """The counted credentials exactly as issued: stored JSON, or the submitted content."""
    documents: list[Any] = []
    own_prefix = f"{public_url}/credentials/"
    for item in counted:
        if item.credential_id.startswith(own_prefix):
            row = await session.get(
                Credential, uuid.UUID(item.credential_id.removeprefix(own_prefix))
            )
            if row is not None:
                documents.append(json.loads(row.document))
                continue
        submitted = await session.scalar(
            select(SubmittedCredential).where(
                SubmittedCredential.credential_iri == item.credential_id
            )
        )
        if submitted is not None:
            documents.append(_embedded(submitted.content))
    return documents


def _embedded(content: str) -> Any:
    """A submitted credential as a CLR carries it: JSON as it came (its proof inside), a
    VC-JWT enveloped. A bare JWT string is no credential to a CLR reader (ClrSubject's
    `verifiableCredential` holds credentials); VCDM 2.0 section 4.13 (enveloped verifiable
    credentials) wraps a secured one as an `EnvelopedVerifiableCredential` whose `id` is
    the `data:application/vc+jwt,` URL of the token, verifiable as it was submitted."""
    if content.startswith("{"):
        return json.loads(content)
    return {
        "@context": VC2_CONTEXT,
        "id": f"data:application/vc+jwt,{content}",
        "type": "EnvelopedVerifiableCredential",
    }


async def issue_clr(
    session: AsyncSession,
    ctx: IssuingContext,
    agency_issuer: Issuer,
    client: Client,
    recipient: Recipient,
    completed: Sequence[CompletedRule],
    order: Sequence[tuple[str, str]] = (),
    name: str = "Micro-credential record",
) -> IssuedCredential:
    """A signed ClrCredential of everything counted toward `completed` rules."""
    issuer_id, keys = signing_keys(ctx, agency_issuer, "web", None)
    keys = type(keys)(keys.proof_algorithm, keys.proof_key, keys.verification_method)
    agency_profile = profile(agency_issuer, issuer_id)
    counted = {item.credential_id: item for rule in completed for item in rule.counted}
    documents = await constituent_documents(session, ctx.public_url, list(counted.values()))
    achievements = [stack_achievement(rule, agency_profile) for rule in completed]
    associations = [
        {
            "type": "Association",
            "associationType": "isPartOf",
            "sourceId": item.achievement_id,
            "targetId": rule.iri,
        }
        for rule in completed
        for item in rule.counted
    ] + [
        {
            "type": "Association",
            "associationType": "precedes",
            "sourceId": before,
            "targetId": after,
        }
        for before, after in order
    ]
    identities = identities_for(recipient, lookup_secret=ctx.vault.lookup_secret)
    now = datetime.now(UTC).replace(microsecond=0)
    credential_id = uuid.uuid4()
    subject: dict[str, Any] = {"type": ["ClrSubject"]}
    if identities:
        subject["identifier"] = [identity.as_json() for identity in identities]
    subject["achievement"] = achievements
    if documents:
        subject["verifiableCredential"] = documents
    if associations:
        subject["association"] = associations
    unsigned = {
        "@context": [VC2_CONTEXT, CLR_CONTEXT, OB3_CONTEXT],
        "id": credential_url(ctx.public_url, credential_id),
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": agency_profile,
        "name": name,
        "validFrom": xsd_datetime(now),
        "credentialSubject": subject,
    }
    signed = await ctx.signer.sign(unsigned, keys, now)
    if isinstance(signed, str):
        raise InvalidInput(signed)
    issued = record_credential(
        session,
        issuer=agency_issuer,
        client=client,
        credential_id=credential_id,
        issuer_id=issuer_id,
        subject_id=None,
        valid_from=now,
        valid_until=None,
        identities=identities,
        signed=signed,
        created=now,
    )
    await flush_issued(session)
    return issued


def completed_stack(
    public_url: str, stack: Stack, counted: Sequence[HeldCredential]
) -> CompletedRule:
    return CompletedRule(
        iri=stack_url(public_url, stack.id),
        name=stack.name,
        description=stack.description or f"The {stack.name} micro-credential stack.",
        code=stack.code,
        counted=counted,
    )
