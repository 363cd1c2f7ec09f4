"""Step 1: read the credential and check the data model (OB 3.0 §9.1 step 1, App. B).

Accepts VCDM 2.0 and VCDM 1.1 OB 3.0 credentials (`issuanceDate`; a VC-JWT's `vc` claim,
whose registered claims stand in for fields it omits), typed `OpenBadgeCredential` or its
alias `AchievementCredential` (an `EndorsementCredential` or a status list credential when
verifying those). Everything later depends on this, so a failure here stops the run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from keys.vc_jwt import JWT_CLAIMS, VcJwtError, decode_unverified
from verification.context import CredentialKind, RunContext, result
from verification.inputs import InputError, check_credential_object
from verification.model import (
    as_list,
    issuer_id,
    parse_datetime,
    subject_of,
    types_of,
    vcdm_version,
)
from verification.report import CheckResult, CheckStatus

EXPECTED_TYPES: Final[dict[CredentialKind, tuple[str, ...]]] = {
    "achievement": ("OpenBadgeCredential", "AchievementCredential"),
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
    title: ClassVar[str] = "Credential format and data model"

    async def run(self, ctx: RunContext) -> CheckResult:
        try:
            credential = self._load(ctx)
        except (VcJwtError, InputError) as error:
            ctx.stop_reason = "the credential could not be read"
            return result(self, CheckStatus.FAILED, str(error))
        if ctx.depth == 0 and "EndorsementCredential" in types_of(credential):
            ctx.kind = "endorsement"  # an endorsement presented on its own (§9.2)
        problems, fatal = data_model_problems(credential, ctx.kind)
        if fatal:
            ctx.stop_reason = "the credential does not follow the data model"
        if problems:
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


def data_model_problems(credential: dict[str, Any], kind: CredentialKind) -> tuple[list[str], bool]:
    """Why `credential` is not a well-formed credential of `kind`, and whether that is fatal.

    Fatal: nothing later can be checked meaningfully (no recognisable context, type, issuer
    or subject). Other gaps still fail, but the remaining checks run and are reported.
    """
    fatal: list[str] = []
    version = vcdm_version(credential)
    if version is None:
        fatal.append(
            '"@context" must start with https://www.w3.org/ns/credentials/v2 (VCDM 2.0) '
            "or https://www.w3.org/2018/credentials/v1 (VCDM 1.1)"
        )
    types = types_of(credential)
    expected = EXPECTED_TYPES[kind]
    if "VerifiableCredential" not in types or not set(expected) & set(types):
        fatal.append(f'"type" must include "VerifiableCredential" and "{expected[0]}"')
    if issuer_id(credential) is None:
        fatal.append('"issuer" must be a URI or an object with an "id"')
    subject = subject_of(credential)
    if subject is None:
        count = len(as_list(credential.get("credentialSubject")))
        fatal.append(f'"credentialSubject" must be one object, not {count} values')
    problems: list[str] = []
    if kind != "status_list" and not isinstance(credential.get("id"), str):
        problems.append('"id" must be a URI string')
    wanted = "issuanceDate" if version == "1.1" else "validFrom"
    date_value = credential.get(wanted)
    optional = kind == "status_list" and date_value is None
    if not optional and parse_datetime(date_value) is None:
        problems.append(f'"{wanted}" must be a date and time, not {date_value!r}')
    if subject is not None and kind == "achievement":
        if "id" not in subject and not as_list(subject.get("identifier")):
            problems.append('"credentialSubject" must have an "id" or at least one "identifier"')
        if not isinstance(subject.get("achievement"), dict):
            problems.append('"credentialSubject.achievement" must be an object')
    return fatal + problems, bool(fatal)
