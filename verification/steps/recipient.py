"""Step 9: recipient (OB 3.0 §9.1 step 5, §9.3), only when the verifier says whom it expects.

An e-mail address or a state educator ID is compared with the subject's hashed
`IdentityObject`s (`sha256$` of value + salt) exactly as Lattice hashes them when issuing;
a DID with `credentialSubject.id`. A mismatch fails: the badge is genuine but not this
person's.
"""

from __future__ import annotations

from typing import ClassVar

from formats.identity import (
    EDUCATOR_ID_TYPE,
    educator_identifier,
    identity_matches,
    normalise_email,
)
from verification.context import RunContext, result
from verification.model import as_list, subject_of
from verification.report import CheckResult, CheckStatus, Dimension


class RecipientStep:
    id: ClassVar[str] = "recipient"
    title: ClassVar[str] = "Recipient"
    dimension: ClassVar[Dimension] = Dimension.RECIPIENT

    async def run(self, ctx: RunContext) -> CheckResult:
        query = ctx.recipient
        if query is None or ctx.kind != "credential":
            return result(self, CheckStatus.NOT_APPLICABLE, "no recipient was given to compare")
        subject = subject_of(ctx.credential or {}) or {}
        wanted: list[tuple[str, str, str]] = []  # (identityType, value, shown)
        if query.email:
            wanted.append(("emailAddress", normalise_email(query.email), query.email))
        if query.educator_id and query.state:
            value = educator_identifier(query.state, query.educator_id)
            wanted.append((EDUCATOR_ID_TYPE, value, value))
        if query.did and subject.get("id") == query.did:
            return result(self, CheckStatus.PASSED, f"issued to {query.did}")
        identities = [i for i in as_list(subject.get("identifier")) if isinstance(i, dict)]
        for identity_type, value, shown in wanted:
            for identity in identities:
                if identity.get("identityType") == identity_type and identity_matches(
                    identity, value
                ):
                    return result(self, CheckStatus.PASSED, f"issued to {shown}")
        given = ", ".join([shown for _, _, shown in wanted] + ([query.did] if query.did else []))
        return result(self, CheckStatus.FAILED, f"not issued to {given or 'the given recipient'}")
