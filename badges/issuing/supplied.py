"""Signing a credential the issuer wrote itself (the W3C VC-API `POST /credentials/issue`).

The caller supplies an unsigned VCDM 2.0 or 1.1 credential; the service checks it is one
(`badges.issuing.data_model`), that it names this issuer (as its did:web or did:key), fills in what
the data model makes mandatory (`id`, `validFrom`/`issuanceDate`), adds one Bitstring Status
List entry (VCDM 2.0 only, unless the credential brings its own `credentialStatus`), signs
it in JSON-LD safe mode and stores it. As the VC-API returns it, `proof` is one object.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput
from badges.issuers.issuers import (
    credential_url,
    issuer_did,
    issuer_did_key,
)
from badges.issuing.data_model import (
    Version,
    check_data_model,
)
from badges.issuing.issuing import (
    DidMethod,
    IssuedCredential,
    IssuingContext,
    flush_issued,
    record_credential,
    signing_keys,
)
from badges.issuing.recipients import Identity
from badges.status.status_lists import (
    PURPOSES,
    Purpose,
    StatusEntry,
    allocate,
    credential_status,
)
from formats.dates import xsd_datetime
from schemas.contexts import DATA_INTEGRITY_CONTEXT, VC1_CONTEXT, VC2_CONTEXT
from storage.models import Client, Issuer

_SUPPORTED_OPTIONS: Final = frozenset({"proofPurpose", "created", "credentialStatus"})
_STATUS_TYPE: Final = "BitstringStatusListEntry"
_STATUS_OPTION_MEMBERS: Final = frozenset({"type", "statusPurpose"})
# Without options.credentialStatus a credential can still be revoked: one entry, not two,
# so it validates against the OB 3.0 JSON Schema (credentialStatus 0..1, an object).
_DEFAULT_PURPOSE: Final[Purpose] = "revocation"


def _fail(detail: str, *field: str | int) -> InvalidInput:
    return InvalidInput(detail, field=("credential", *field) if field else ("credential",))


def _check_options(options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - _SUPPORTED_OPTIONS)
    if unknown:
        raise InvalidInput(f"unsupported option(s): {', '.join(unknown)}", field=("options",))
    if options.get("proofPurpose", "assertionMethod") != "assertionMethod":
        raise InvalidInput(
            "only proofPurpose assertionMethod is issued", field=("options", "proofPurpose")
        )


def _requested_status(options: dict[str, Any]) -> Purpose | None:
    """The purpose `options.credentialStatus` asks an entry for (VC-API: `{"type": ...}`)."""
    if "credentialStatus" not in options:
        return None
    asked = options["credentialStatus"]
    field = ("options", "credentialStatus")
    if not isinstance(asked, dict):
        raise InvalidInput(
            f'credentialStatus must be an object such as {{"type": "{_STATUS_TYPE}"}}', field=field
        )
    unknown = sorted(set(asked) - _STATUS_OPTION_MEMBERS)
    if unknown:
        raise InvalidInput(
            f"unsupported credentialStatus option(s): {', '.join(unknown)}", field=field
        )
    if asked.get("type") != _STATUS_TYPE:
        raise InvalidInput(
            f"credentialStatus type {asked.get('type')!r} is not supported; "
            f"only {_STATUS_TYPE} is issued",
            field=(*field, "type"),
        )
    asked_purpose = asked.get("statusPurpose", _DEFAULT_PURPOSE)
    for purpose in PURPOSES:
        if asked_purpose == purpose:
            return purpose
    raise InvalidInput(
        f"statusPurpose {asked_purpose!r} is not supported; use revocation or suspension",
        field=(*field, "statusPurpose"),
    )


def _status_to_add(
    credential: dict[str, Any], version: Version, options: dict[str, Any]
) -> Purpose | None:
    """Which status entry this service adds, if any."""
    requested = _requested_status(options)
    if "credentialStatus" in credential:
        if requested is not None:
            raise InvalidInput(
                "the credential already has a credentialStatus; send it or ask for one in "
                "options.credentialStatus, not both",
                field=("options", "credentialStatus"),
            )
        return None  # the caller's own status entry is kept as written
    if version == 1:
        if requested is not None:
            # BitstringStatusListEntry is a VCDM 2.0 term; the 1.1 context does not define it.
            raise InvalidInput(
                "a status entry is only added to VCDM 2.0 credentials",
                field=("options", "credentialStatus"),
            )
        return None
    return requested or _DEFAULT_PURPOSE


def _data_model_version(credential: dict[str, Any]) -> Version:
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts:
        raise _fail('"@context" must be a non-empty array', "@context")
    if contexts[0] == VC2_CONTEXT:
        return 2
    if contexts[0] == VC1_CONTEXT:
        return 1
    raise _fail(f'the first "@context" must be {VC2_CONTEXT} or {VC1_CONTEXT}', "@context")


def _check_shape(credential: dict[str, Any]) -> None:
    if "proof" in credential:
        raise _fail("the credential is already signed; send it without a proof", "proof")
    types = credential.get("type")
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise _fail('"type" must include "VerifiableCredential"', "type")
    identifier = credential.get("id")
    if identifier is not None and (not isinstance(identifier, str) or ":" not in identifier):
        raise _fail('"id" must be an absolute URI', "id")


def _issuer_method(ctx: IssuingContext, issuer: Issuer, credential: dict[str, Any]) -> DidMethod:
    named = credential.get("issuer")
    named_id = named.get("id") if isinstance(named, dict) else named
    if named_id == issuer_did(ctx.public_url, issuer):
        return "web"
    if named_id == issuer_did_key(issuer)[0]:
        return "key"
    raise _fail(
        f"issuer must be this issuer: {issuer_did(ctx.public_url, issuer)} "
        f"or {issuer_did_key(issuer)[0]}",
        "issuer",
    )


def _parse_time(values: dict[str, Any], name: str, where: str = "credential") -> datetime | None:
    """`values[name]` (in the request's `where` object) as a UTC datetime, if present."""
    value = values.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f'"{name}" must be an XML Schema dateTime', field=(where, name)
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f'"{name}" must carry a time zone', field=(where, name))
    return moment.astimezone(UTC)


def _identities(credential: dict[str, Any]) -> list[Identity]:
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    found = []
    for item in subjects:
        for entry in (item or {}).get("identifier", []) if isinstance(item, dict) else []:
            if isinstance(entry, dict) and entry.get("type") == "IdentityObject":
                found.append(
                    Identity(
                        identity_type=str(entry.get("identityType", "")),
                        identity_hash=str(entry.get("identityHash", "")),
                        salt=entry.get("salt"),
                        hashed=bool(entry.get("hashed")),
                    )
                )
    return found


async def _add_status(
    ctx: IssuingContext,
    session: AsyncSession,
    issuer: Issuer,
    issuer_id: str,
    document: dict[str, Any],
    purpose: Purpose | None,
) -> list[StatusEntry]:
    """Allocate what `purpose` asks for and write it as the credential's status.

    A suspendable credential stays revocable: asking for suspension gives a revocation and
    a suspension entry, as the issue route gives credentials of a suspension-enabled issuer.
    """
    if purpose is None:
        return []
    purposes = PURPOSES if purpose == "suspension" else (purpose,)
    entries = [
        entry
        for each in purposes
        for entry in await allocate(session, ctx.public_url, ctx.vault, issuer, issuer_id, each, 1)
    ]
    document["credentialStatus"] = credential_status(entries)
    return entries


def _check_purpose_allowed(issuer: Issuer, purpose: Purpose | None) -> None:
    if purpose == "suspension" and not issuer.suspension_enabled:
        raise InvalidInput(
            "this issuer has not enabled suspension (PATCH /v1/issuers/{slug} with "
            '"suspensionEnabled": true); ask for a revocation entry instead',
            field=("options", "credentialStatus", "statusPurpose"),
        )


async def issue_supplied(
    ctx: IssuingContext,
    session: AsyncSession,
    issuer: Issuer,
    client: Client,
    credential: dict[str, Any],
    options: dict[str, Any],
) -> IssuedCredential:
    _check_options(options)
    created = _parse_time(options, "created", "options")
    version = _data_model_version(credential)
    _check_shape(credential)
    check_data_model(credential, version)
    status_purpose = _status_to_add(credential, version, options)
    _check_purpose_allowed(issuer, status_purpose)
    method = _issuer_method(ctx, issuer, credential)
    document = dict(credential)
    if version == 1 and DATA_INTEGRITY_CONTEXT not in document["@context"]:
        # VCDM 1.1's context predates DataIntegrityProof; without this one its terms
        # (cryptosuite, proofValue...) do not expand and safe mode rejects the proof.
        document["@context"] = [*document["@context"], DATA_INTEGRITY_CONTEXT]
    credential_id = uuid.uuid4()
    document.setdefault("id", credential_url(ctx.public_url, credential_id))
    start_name, end_name = (
        ("validFrom", "validUntil") if version == 2 else ("issuanceDate", "expirationDate")
    )
    now = datetime.now(UTC).replace(microsecond=0)
    document.setdefault(start_name, xsd_datetime(now))
    valid_from = _parse_time(document, start_name) or now
    valid_until = _parse_time(document, end_name)
    if valid_until is not None and valid_until <= valid_from:
        raise _fail(f'"{end_name}" must be after "{start_name}"', end_name)
    # A VC-JWT is made for VCDM 2.0 only; 1.1 JWTs use another (`vc` claim) encoding.
    _, keys = signing_keys(ctx, issuer, method, "EdDSA" if method == "key" else None)
    if version == 1:
        keys = type(keys)(keys.proof_algorithm, keys.proof_key, keys.verification_method)
    issuer_id = str(
        document["issuer"] if isinstance(document["issuer"], str) else document["issuer"]["id"]
    )
    status_entries = await _add_status(ctx, session, issuer, issuer_id, document, status_purpose)
    # VC-API `IssueCredentialResponse`: the proof is one object, not a one-element set.
    signed = await ctx.signer.sign(document, keys, created or now, proof_array=False)
    if isinstance(signed, str):
        raise _fail(signed)
    subject = document["credentialSubject"]
    subject_id = subject.get("id") if isinstance(subject, dict) else None
    issued = record_credential(
        session,
        issuer=issuer,
        client=client,
        credential_id=credential_id,
        issuer_id=issuer_id,
        subject_id=subject_id if isinstance(subject_id, str) else None,
        valid_from=valid_from,
        valid_until=valid_until,
        identities=_identities(document),
        signed=signed,
        created=now,
        status_entries=status_entries,
    )
    await flush_issued(session)
    return issued
