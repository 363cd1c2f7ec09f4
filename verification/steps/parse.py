"""Step 1: read the credential and check it is a Verifiable Credential at all.

Accepts any VCDM 2.0 or VCDM 1.1 credential, embedded-proof JSON or a VC-JWT (a VCDM 1.1
JWT's `vc` claim, whose registered claims stand in for fields it omits). What makes it
readable belongs to authenticity: without a recognisable context, type, issuer and subject
there is nothing whose signature could be checked, so a failure here stops the run. The
rules of the data model beyond that (and the Open Badges rules, when it is a badge) are
checked by `steps.data_model`, as conformance.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from keys.vc_jwt import JWT_CLAIMS, VcJwtError, decode_unverified
from verification.context import CredentialKind, RunContext, result
from verification.inputs import InputError, check_credential_object
from verification.model import as_list, issuer_id, types_of, vcdm_version
from verification.report import CheckResult, CheckStatus, Dimension

# What a credential met on the way must be; a presented credential may be any VC.
EXPECTED_TYPES: Final[dict[CredentialKind, tuple[str, ...]]] = {
    "endorsement": ("EndorsementCredential",),
    "status_list": ("BitstringStatusListCredential", "StatusList2021Credential"),
}


def credential_from_jwt_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """VCDM 2.0: the payload minus JWT claims; VCDM 1.1: the `vc` claim, filled from claims."""
    if "vc" not in payload:
        return {name: value for name, value in payload.items() if name not in JWT_CLAIMS}
    credential = payload["vc"]
    if not isinstance(credential, dict):
        raise VcJwtError('JWT "vc" claim must be a JSON object')
    credential = dict(credential)
    if "issuer" not in credential and isinstance(payload.get("iss"), str):
        credential["issuer"] = payload["iss"]
    if "id" not in credential and isinstance(payload.get("jti"), str):
        credential["id"] = payload["jti"]
    if not {"validFrom", "issuanceDate"} & credential.keys() and _is_time(payload.get("nbf")):
        credential["issuanceDate"] = _format_time(payload["nbf"])
    if not {"validUntil", "expirationDate"} & credential.keys() and _is_time(payload.get("exp")):
        credential["expirationDate"] = _format_time(payload["exp"])
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and "id" not in subject and isinstance(payload.get("sub"), str):
        credential["credentialSubject"] = {**subject, "id": payload["sub"]}
    return credential


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 2**35


def _format_time(value: float) -> str:
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ParseStep:
    id: ClassVar[str] = "parse"
    title: ClassVar[str] = "Credential format"
    dimension: ClassVar[Dimension] = Dimension.AUTHENTICITY

    async def run(self, ctx: RunContext) -> CheckResult:
        try:
            credential = self._load(ctx)
        except (VcJwtError, InputError) as error:
            ctx.stop_reason = "the credential could not be read"
            return result(self, CheckStatus.FAILED, str(error))
        if ctx.depth == 0 and "EndorsementCredential" in types_of(credential):
            ctx.kind = "endorsement"  # an endorsement presented on its own (§9.2)
        problems = unreadable_problems(credential, ctx.kind)
        if problems:
            ctx.stop_reason = "the credential is not a Verifiable Credential"
            return result(self, CheckStatus.FAILED, "; ".join(problems))
        version = vcdm_version(credential)
        kind = " / ".join(t for t in types_of(credential) if t != "VerifiableCredential")
        form = "a VC-JWT" if ctx.format == "jwt_vc" else "embedded-proof JSON"
        return result(self, CheckStatus.PASSED, f"{kind} (VCDM {version}) in {form}")

    def _load(self, ctx: RunContext) -> dict[str, Any]:
        presented = ctx.presented
        if presented.jwt is not None:
            ctx.format = "jwt_vc"
            ctx.jwt_header, ctx.jwt_payload = decode_unverified(presented.jwt)
            found: Any = credential_from_jwt_payload(ctx.jwt_payload)
        else:
            ctx.format = "ldp_vc"
            found = presented.credential
        ctx.credential = check_credential_object(found, ctx.services.limits)
        return ctx.credential


def unreadable_problems(credential: dict[str, Any], kind: CredentialKind) -> list[str]:
    """Why `credential` cannot be read as a Verifiable Credential (of `kind`), if it cannot.

    Without a known base context, the type, an issuer and a subject, nothing later can be
    checked meaningfully: no issuer to bind a key to, nothing a signature could be about.
    """
    problems: list[str] = []
    if vcdm_version(credential) is None:
        problems.append(
            '"@context" must start with https://www.w3.org/ns/credentials/v2 (VCDM 2.0) '
            "or https://www.w3.org/2018/credentials/v1 (VCDM 1.1)"
        )
    types = types_of(credential)
    expected = EXPECTED_TYPES.get(kind, ())
    if "VerifiableCredential" not in types:
        problems.append('"type" must include "VerifiableCredential"')
    elif expected and not set(expected) & set(types):
        problems.append(f'"type" must include "{expected[0]}"')
    if issuer_id(credential) is None:
        problems.append('"issuer" must be a URI or an object with an "id"')
    subjects = as_list(credential.get("credentialSubject"))
    if not subjects or not all(isinstance(subject, dict) for subject in subjects):
        problems.append('"credentialSubject" must be an object or a list of objects')
    return problems
