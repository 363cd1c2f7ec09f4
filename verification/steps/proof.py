"""Step 4: proof (OB 3.0 §8, §9.1 step 2). Any one valid proof of several suffices.

Embedded Data Integrity proofs: `DataIntegrityProof` with `eddsa-rdfc-2022` (what OB 3.0
certification requires), the draft name `eddsa-2022`, `ecdsa-rdfc-2019` (P-256), and the
older `Ed25519Signature2020` still found in VCDM 1.1 badges. `ecdsa-sd-2023` (selective
disclosure) is not implemented: such a proof makes the credential "cannot verify", not
"invalid". A VC-JWT is checked by `steps.jwt_proof`.

A key that cannot be fetched is an error (cannot verify), a key that does not exist or a
signature that does not match is a failure (invalid). A context this verifier does not know
is an error too: the signed RDF cannot be rebuilt without it, which says nothing about
forgery. The keys of proofs that verify are kept for the binding check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keys.data_integrity import ProofResult, verify_document
from keys.ecdsa_rdfc_2019 import verify_ecdsa_proof
from keys.legacy_suites import (
    ED25519_SIGNATURE_2020,
    verify_ed25519_signature_2020,
    verify_eddsa_2022,
)
from keys.resolution import (
    KeyResolutionError,
    ResolvedKey,
)
from schemas.contexts import is_known_context
from verification.context import ProofOutcome, RunContext, result
from verification.model import as_list, context_urls
from verification.report import CheckResult, CheckStatus, Dimension
from verification.steps.jsonld import unknown_context_message
from verification.steps.jwt_proof import check_jwt

EDDSA_SUITES: Final = ("eddsa-rdfc-2022", "eddsa-2022")
ECDSA_SUITES: Final = ("ecdsa-rdfc-2019",)


def suite_name(proof: Mapping[str, Any]) -> str:
    kind = str(proof.get("type"))
    return str(proof.get("cryptosuite")) if kind == "DataIntegrityProof" else kind


def _verify(
    document: dict[str, Any],
    proof: dict[str, Any],
    key: ResolvedKey,
    expanded: list[Any] | None = None,
) -> ProofResult:
    """Check one proof; `expanded` is the JSON-LD expansion of `document` without its proof."""
    suite, public_key = suite_name(proof), key.public_key
    if suite in EDDSA_SUITES or suite == ED25519_SIGNATURE_2020:
        if not isinstance(public_key, Ed25519PublicKey):
            return ProofResult(False, f"{suite} needs an Ed25519 key; {key.id} is not one")
        if suite == ED25519_SIGNATURE_2020:
            return verify_ed25519_signature_2020(
                document, proof, public_key, expanded_unsecured=expanded
            )
        if suite == "eddsa-2022":
            return verify_eddsa_2022(document, proof, public_key, expanded_unsecured=expanded)
        return verify_document(document, public_key, proof, expanded_unsecured=expanded)
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return ProofResult(False, f"{suite} needs a P-256 key; {key.id} is not one")
    return verify_ecdsa_proof(document, proof, public_key, expanded_unsecured=expanded)


async def check_data_integrity(
    ctx: RunContext, credential: dict[str, Any], proof: Any
) -> ProofOutcome:
    if not isinstance(proof, dict):
        return ProofOutcome(None, '"proof" entries must be objects')
    suite = suite_name(proof)
    if suite not in (*EDDSA_SUITES, *ECDSA_SUITES, ED25519_SIGNATURE_2020):
        return ProofOutcome(None, f"{suite} proofs are not supported", error=True)
    unknown = [url for url in context_urls([credential, proof]) if not is_known_context(url)]
    if unknown:
        return ProofOutcome(None, unknown_context_message(unknown[0]), error=True)
    method = proof.get("verificationMethod")
    try:
        key = await ctx.services.resolver.resolve(str(method), purpose="assertionMethod")
    except KeyResolutionError as error:
        return ProofOutcome(None, f"key {method}: {error}", error=error.unreachable)
    if key is None:
        return ProofOutcome(None, f"key {method}: this kind of key reference is not supported")
    # The jsonld step expanded this very credential (without its proof): reuse that.
    expanded = ctx.expanded_credential if credential is ctx.credential else None
    # On the event loop, like the jsonld and schema steps: with the expansion reused and
    # schemas.rdfc canonicalizing, a proof is a few tenths of a millisecond of pure Python.
    # A worker thread gave no parallelism under the GIL and cost two thread switches per
    # proof, a quarter of the library verify rate on a busy 2-core machine (bench/verify.py).
    checked = _verify(credential, proof, key, expanded)
    if not checked.verified:
        return ProofOutcome(None, f"{suite} proof by {key.id}: {checked.reason}")
    return ProofOutcome(key, f"{suite} proof by {key.id} verifies")


class ProofStep:
    id: ClassVar[str] = "proof"
    title: ClassVar[str] = "Signature"
    dimension: ClassVar[Dimension] = Dimension.AUTHENTICITY

    async def run(self, ctx: RunContext) -> CheckResult:
        if ctx.credential is None:
            return result(self, CheckStatus.NOT_APPLICABLE, "no credential")
        if ctx.format == "jwt_vc":
            outcomes = [await check_jwt(ctx)]
        else:
            proofs = as_list(ctx.credential.get("proof"))
            if not proofs:
                return result(self, CheckStatus.FAILED, 'the credential has no "proof"')
            outcomes = [await check_data_integrity(ctx, ctx.credential, proof) for proof in proofs]
        good = [outcome for outcome in outcomes if outcome.key is not None]
        if good:
            ctx.proof_ok = True
            ctx.verified_keys = [outcome.key for outcome in good if outcome.key is not None]
            others = len(outcomes) - len(good)
            note = f" ({others} other proof(s) could not be used)" if others else ""
            return result(self, CheckStatus.PASSED, good[0].message + note)
        messages = "; ".join(outcome.message for outcome in outcomes)
        if all(outcome.error for outcome in outcomes):
            return result(self, CheckStatus.ERROR, f"could not check the proof: {messages}")
        return result(self, CheckStatus.FAILED, messages)
