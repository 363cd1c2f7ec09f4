"""Data Integrity suites that predate `eddsa-rdfc-2022` but are still found in real badges.

OB 3.0 credentials issued in 2022-23 (VCDM 1.1 era) carry either a `DataIntegrityProof`
with the draft cryptosuite name `eddsa-2022`, or an `Ed25519Signature2020` proof. Both sign
exactly what `eddsa-rdfc-2022` signs: SHA-256 of the RDFC-1.0 canonical proof options (with
the document's `@context`) followed by SHA-256 of the canonical document without its proof,
with Ed25519, `proofValue` = `z` + base58btc. The 1EdTech validator fixtures
`simple-eddsa-2022.json` and `simple_v1.json` pin this (tests/keys/test_legacy_suites.py).

They are verified here rather than registered in `keys.data_integrity.CRYPTOSUITES`, which
lists what Lattice itself signs and accepts for its own credentials: the legacy names are
for reading other issuers' old badges only, and Lattice never signs with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keys.data_integrity import PROOF_TYPE, EddsaRdfc2022, ProofResult
from keys.multikey import decode_multibase
from schemas.contexts import UnknownDocumentError
from schemas.jsonld import InvalidJsonLdError

ED25519_SIGNATURE_2020: Final = "Ed25519Signature2020"


class Eddsa2022(EddsaRdfc2022):
    """`eddsa-2022`: the 2022 draft name of the same algorithm as `eddsa-rdfc-2022`."""

    name: Final = "eddsa-2022"  # type: ignore[misc]  # a subclass names its own suite


EDDSA_2022: Final = Eddsa2022()


def verify_eddsa_2022(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    *,
    expected_proof_purpose: str = "assertionMethod",
    expanded_unsecured: Sequence[Any] | None = None,
) -> ProofResult:
    """Check one `DataIntegrityProof` / `eddsa-2022` proof of `document` with `public_key`.

    `expanded_unsecured`: `schemas.jsonld.expand` of `document` without `proof`, if the
    caller already made it (it is then not expanded again; the result is the same).
    """
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != EDDSA_2022.name:
        return ProofResult(False, f'proof is not a "{PROOF_TYPE}" with "{EDDSA_2022.name}"')
    return _verify(document, proof, public_key, expected_proof_purpose, expanded_unsecured)


def verify_ed25519_signature_2020(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    *,
    expected_proof_purpose: str = "assertionMethod",
    expanded_unsecured: Sequence[Any] | None = None,
) -> ProofResult:
    """Check one `Ed25519Signature2020` proof of `document` with `public_key`.

    `expanded_unsecured` as for `verify_eddsa_2022`.
    """
    if proof.get("type") != ED25519_SIGNATURE_2020:
        return ProofResult(False, f'"type" of the proof must be "{ED25519_SIGNATURE_2020}"')
    return _verify(document, proof, public_key, expected_proof_purpose, expanded_unsecured)


def _verify(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    expected_proof_purpose: str,
    expanded_unsecured: Sequence[Any] | None,
) -> ProofResult:
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError("public_key must be an Ed25519PublicKey")
    if proof.get("proofPurpose") != expected_proof_purpose:
        return ProofResult(
            False,
            f'"proofPurpose" must be "{expected_proof_purpose}", not {proof.get("proofPurpose")!r}',
        )
    value = proof.get("proofValue")
    if not isinstance(value, str):
        return ProofResult(False, '"proofValue" of the proof must be a string')
    try:
        signature = decode_multibase(value)
    except ValueError as error:
        return ProofResult(False, f'"proofValue" cannot be decoded: {error}')
    if "@context" not in document:
        return ProofResult(False, 'document has no "@context"')
    unsecured = {key: item for key, item in document.items() if key != "proof"}
    options = {key: item for key, item in proof.items() if key != "proofValue"}
    options["@context"] = document["@context"]
    suite = EDDSA_2022
    try:
        data = suite.hash(suite.canonicalize_config(options)) + suite.hash(
            suite.canonicalize(unsecured, expanded_unsecured)
        )
    except (InvalidJsonLdError, UnknownDocumentError) as error:
        return ProofResult(False, str(error))
    return suite.verify(public_key, signature, data)
