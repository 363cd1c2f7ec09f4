"""Step 2: JSON-LD — every term is defined by a known context (1EdTech certification runs
JSON-LD safe mode: an undefined term is an error).

Only the contexts bundled with Lattice are used (OB 3.0 context versions, VC v1/v2, Data
Integrity, Ed25519Signature2020, status lists); a credential naming any other context is
refused with a message naming it, and the context is never fetched: a verifier that
fetched contexts would let whoever serves them change what a signature means.
"""

from __future__ import annotations

from typing import ClassVar

from schemas.contexts import UnknownDocumentError
from schemas.jsonld import InvalidJsonLdError, expand
from verification.context import RunContext, result
from verification.report import CheckResult, CheckStatus


class JsonLdStep:
    id: ClassVar[str] = "jsonld"
    title: ClassVar[str] = "JSON-LD terms and contexts"

    async def run(self, ctx: RunContext) -> CheckResult:
        if ctx.credential is None:
            return result(self, CheckStatus.NOT_APPLICABLE, "no credential to expand")
        try:
            # The proof is not part of what is signed; its own terms are checked when it is
            # canonicalized in the proof step.
            expand({key: value for key, value in ctx.credential.items() if key != "proof"})
        except UnknownDocumentError as error:
            return result(
                self,
                CheckStatus.FAILED,
                f"unknown context {error.url}: only bundled contexts are used and remote "
                "contexts are never fetched",
            )
        except InvalidJsonLdError as error:
            return result(self, CheckStatus.FAILED, str(error))
        return result(self, CheckStatus.PASSED, "every term is defined by a known context")
