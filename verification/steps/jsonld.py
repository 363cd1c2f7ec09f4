"""Step 3: JSON-LD — every term is defined by a known context (JSON-LD safe mode, as the
1EdTech validator and the digitalbazaar verifiers run it: an undefined term is an error).

For an embedded proof this is part of authenticity: the signature covers the canonical
RDF of the document, and a term no context defines would be dropped from it, so it would
be unsigned. For a VC-JWT the signature covers the bytes, and JSON-LD is conformance only.

Only the contexts bundled with Lattice (and any the operator added to its trust folder) are
used, and a context is never fetched: a verifier that fetched contexts would let whoever
serves them change what a signature means. A credential naming a context this verifier
does not know is therefore not "forged" but "cannot verify", with the context named.
"""

from __future__ import annotations

from typing import ClassVar

from schemas.contexts import UnknownDocumentError
from schemas.jsonld import InvalidJsonLdError, expand
from verification.context import RunContext, result
from verification.report import CheckResult, CheckStatus, Dimension


def unknown_context_message(url: str) -> str:
    return (
        f"context {url} is not known to this verifier (contexts are never fetched), so "
        "the credential's terms and signature cannot be checked"
    )


class JsonLdStep:
    id: ClassVar[str] = "jsonld"
    title: ClassVar[str] = "JSON-LD terms and contexts"
    dimension: ClassVar[Dimension] = Dimension.AUTHENTICITY

    async def run(self, ctx: RunContext) -> CheckResult:
        if ctx.credential is None:
            return result(self, CheckStatus.NOT_APPLICABLE, "no credential to expand")
        signed_as_rdf = ctx.format != "jwt_vc"
        dimension = Dimension.AUTHENTICITY if signed_as_rdf else Dimension.CONFORMANCE
        try:
            # The proof is not part of what is signed; its own terms are checked when it is
            # canonicalized in the proof step, which reuses this expansion of the document.
            unsecured = {key: value for key, value in ctx.credential.items() if key != "proof"}
            ctx.expanded_credential = expand(unsecured)
        except UnknownDocumentError as error:
            if signed_as_rdf:
                return result(
                    self, CheckStatus.ERROR, unknown_context_message(error.url), dimension=dimension
                )
            return result(
                self,
                CheckStatus.WARNING,
                f"context {error.url} is not known to this verifier, so its terms were not "
                "checked (the VC-JWT signature does not depend on them)",
                dimension=dimension,
            )
        except InvalidJsonLdError as error:
            return result(self, CheckStatus.FAILED, str(error), dimension=dimension)
        return result(
            self,
            CheckStatus.PASSED,
            "every term is defined by a known context",
            dimension=dimension,
        )
