"""W3C Data Integrity `DataIntegrityProof` proofs, cryptosuite `eddsa-rdfc-2022`.

Follows VC Data Integrity 1.0 (add/verify proof, proof sets) and VC-DI-EdDSA 1.0 §3.3:
the proof configuration (proof options + the document's `@context`) and the document
without its `proof` are canonicalized with RDFC-1.0, each hashed with SHA-256, and the
Ed25519 signature over `hash(config) || hash(document)` is `proofValue` = `z` + base58btc.

A cryptosuite is a small object satisfying `Cryptosuite` (name, canonicalize, hash, sign,
verify), registered in `CRYPTOSUITES` by name; another one (e.g. the legacy `eddsa-2022`)
is a module that defines one and registers it. As in the digitalbazaar libraries, a proof
that does not verify is a returned `ProofResult(False, reason)`; only misuse by the caller
(wrong argument types, a naive `created`, a document without `@context`) raises.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from keys.multikey import decode_multibase, encode_multibase
from schemas.contexts import UnknownDocumentError
from schemas.jsonld import InvalidJsonLdError, canonicalize, canonicalize_proof_config

PROOF_TYPE: Final = "DataIntegrityProof"
ED25519_SIGNATURE_LENGTH: Final = 64

# XML Schema dateTimeStamp: a dateTime that carries a time zone.
_DATE_TIME_STAMP: Final = re.compile(
    r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"
)


@dataclass(frozen=True)
class ProofResult:
    """Outcome of checking one proof: `reason` says why when `verified` is False."""

    verified: bool
    reason: str | None = None


_VERIFIED: Final = ProofResult(True)


def _failed(reason: str) -> ProofResult:
    return ProofResult(False, reason)


class Cryptosuite(Protocol):
    """What a Data Integrity cryptosuite supplies (cf. digitalbazaar's cryptosuite objects)."""

    @property
    def name(self) -> str:
        """Value of the proof's `cryptosuite`, e.g. `eddsa-rdfc-2022`."""
        ...

    def canonicalize(
        self, document: Mapping[str, Any], expanded: Sequence[Any] | None = None
    ) -> str:
        """Canonical form of a document or proof configuration.

        `expanded` is the document's JSON-LD expansion when the caller already has it.
        """
        ...

    def canonicalize_config(self, config: Mapping[str, Any]) -> str:
        """Canonical form of a proof configuration (the same as `canonicalize(config)`)."""
        ...

    def hash(self, canonical: str) -> bytes:
        """Digest of a canonical form."""
        ...

    def sign(self, private_key: PrivateKeyTypes, data: bytes) -> bytes:
        """Signature over the hash data; raises TypeError for a key of the wrong type."""
        ...

    def verify(self, public_key: PublicKeyTypes, signature: bytes, data: bytes) -> ProofResult:
        """Whether `signature` over `data` is valid for `public_key`."""
        ...


class EddsaRdfc2022:
    """`eddsa-rdfc-2022`: RDFC-1.0 canonicalization, SHA-256, Ed25519 (VC-DI-EdDSA §3.3)."""

    name: Final = "eddsa-rdfc-2022"

    def canonicalize(
        self, document: Mapping[str, Any], expanded: Sequence[Any] | None = None
    ) -> str:
        return canonicalize(document, expanded)

    def canonicalize_config(self, config: Mapping[str, Any]) -> str:
        return canonicalize_proof_config(config)

    def hash(self, canonical: str) -> bytes:
        return hashlib.sha256(canonical.encode("utf-8")).digest()

    def sign(self, private_key: PrivateKeyTypes, data: bytes) -> bytes:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError(f"{self.name} signs with an Ed25519PrivateKey")
        return private_key.sign(data)

    def verify(self, public_key: PublicKeyTypes, signature: bytes, data: bytes) -> ProofResult:
        if not isinstance(public_key, Ed25519PublicKey):
            return _failed(f"{self.name} proofs are verified with an Ed25519 key")
        if len(signature) != ED25519_SIGNATURE_LENGTH:
            return _failed(f'"proofValue" holds {len(signature)} bytes; Ed25519 signs 64')
        try:
            public_key.verify(signature, data)
        except InvalidSignature:
            return _failed("signature does not match the document and the proof options")
        return _VERIFIED


EDDSA_RDFC_2022: Final = EddsaRdfc2022()

CRYPTOSUITES: dict[str, Cryptosuite] = {EDDSA_RDFC_2022.name: EDDSA_RDFC_2022}
"""Cryptosuites that `verify_document` accepts, by the proof's `cryptosuite` value."""


def format_created(created: datetime) -> str:
    """XML Schema dateTime in UTC without fractional seconds, e.g. 2010-01-01T19:23:24Z."""
    if created.tzinfo is None or created.utcoffset() is None:
        raise ValueError("created must be a timezone-aware datetime")
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(
    suite: Cryptosuite,
    proof_config: Mapping[str, Any],
    unsecured: Mapping[str, Any],
    expanded: Sequence[Any] | None = None,
) -> bytes:
    """hash(canonical proof configuration) || hash(canonical document).

    `expanded`: the JSON-LD expansion of `unsecured`, if the caller already made it.
    """
    config_hash = suite.hash(suite.canonicalize_config(proof_config))
    return config_hash + suite.hash(suite.canonicalize(unsecured, expanded))


def sign_document(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """Return `document` with an eddsa-rdfc-2022 `DataIntegrityProof` added.

    A new top-level dict is returned (nested values are shared with `document`). An existing
    proof is kept and the new one added beside it (a proof set); existing proofs are not
    part of what is signed.
    """
    if not isinstance(document, Mapping):
        raise TypeError("document must be a mapping")
    if not isinstance(private_key, Ed25519PrivateKey):
        raise TypeError("private_key must be an Ed25519PrivateKey")
    if "@context" not in document:
        raise ValueError('document has no "@context"; a Data Integrity proof needs one')
    suite = EDDSA_RDFC_2022
    options = {
        "type": PROOF_TYPE,
        "created": format_created(created),
        "verificationMethod": verification_method,
        "cryptosuite": suite.name,
        "proofPurpose": proof_purpose,
    }
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    data = _hash_data(suite, {"@context": document["@context"], **options}, unsecured)
    proof = {**options, "proofValue": encode_multibase(suite.sign(private_key, data))}

    secured = dict(document)
    existing = document.get("proof")
    if existing is None:
        secured["proof"] = proof
    elif isinstance(existing, list):
        secured["proof"] = [*existing, proof]
    else:
        secured["proof"] = [existing, proof]
    return secured


def verify_document(
    document: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    proof: Mapping[str, Any] | None = None,
    *,
    expected_proof_purpose: str = "assertionMethod",
    expanded_unsecured: Sequence[Any] | None = None,
) -> ProofResult:
    """Check a Data Integrity proof of `document` with `public_key`.

    `proof` defaults to the document's proof; in a proof set, each `DataIntegrityProof` is
    tried and the first that verifies wins (other proof types are ignored).
    `expanded_unsecured`, when the caller has it, is `schemas.jsonld.expand` of `document`
    without `proof` (a verifier that checked the document's terms made it): canonicalizing
    the document then skips expanding it again. The result is the same either way.
    """
    if not isinstance(document, Mapping):
        raise TypeError("document must be a mapping")
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError("public_key must be an Ed25519PublicKey")
    if proof is not None:
        return _verify_proof(
            document, proof, public_key, expected_proof_purpose, expanded_unsecured
        )

    found = document.get("proof")
    if found is None:
        return _failed('document has no "proof"')
    proofs = found if isinstance(found, list) else [found]
    candidates = [p for p in proofs if isinstance(p, Mapping) and p.get("type") == PROOF_TYPE]
    if not candidates:
        return _failed(f'document has no proof of type "{PROOF_TYPE}"')
    failures: list[ProofResult] = []
    for candidate in candidates:
        result = _verify_proof(
            document, candidate, public_key, expected_proof_purpose, expanded_unsecured
        )
        if result.verified:
            return result
        failures.append(result)
    return failures[0]


def _check_options(proof: Mapping[str, Any], expected_purpose: str) -> str | None:
    """Why the proof's options are unacceptable, or None."""
    if proof.get("type") != PROOF_TYPE:
        return f'"type" of the proof must be "{PROOF_TYPE}", not {proof.get("type")!r}'
    cryptosuite = proof.get("cryptosuite")
    if cryptosuite not in CRYPTOSUITES:
        supported = ", ".join(sorted(CRYPTOSUITES))
        return f'"cryptosuite" {cryptosuite!r} is not supported (supported: {supported})'
    if proof.get("proofPurpose") != expected_purpose:
        return f'"proofPurpose" must be "{expected_purpose}", not {proof.get("proofPurpose")!r}'
    if not isinstance(proof.get("verificationMethod"), str):
        return '"verificationMethod" of the proof must be a string'
    created = proof.get("created")
    if created is not None and not (
        isinstance(created, str) and _DATE_TIME_STAMP.fullmatch(created)
    ):
        return f'"created" {created!r} is not an XML Schema dateTimeStamp'
    if "previousProof" in proof:
        return '"previousProof" (proof chains) is not supported'
    if not isinstance(proof.get("proofValue"), str):
        return '"proofValue" of the proof must be a string'
    return None


def _verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    expected_purpose: str,
    expanded_unsecured: Sequence[Any] | None = None,
) -> ProofResult:
    if not isinstance(proof, Mapping):
        return _failed('"proof" must be an object')
    problem = _check_options(proof, expected_purpose)
    if problem is not None:
        return _failed(problem)
    suite = CRYPTOSUITES[proof["cryptosuite"]]
    try:
        signature = decode_multibase(proof["proofValue"])
    except ValueError as error:
        return _failed(f'"proofValue" cannot be decoded: {error}')

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if "@context" in options:
        # VC-DI-EdDSA §3.3.2: the document's @context must start with the proof's.
        proof_context = _as_list(options["@context"])
        if _as_list(unsecured.get("@context"))[: len(proof_context)] != proof_context:
            return _failed("the document's \"@context\" does not start with the proof's")
        unsecured["@context"] = options["@context"]
        expanded_unsecured = None  # that expansion was of the document's own @context
    if "@context" not in unsecured:
        return _failed('document has no "@context"')
    options["@context"] = unsecured["@context"]
    try:
        data = _hash_data(suite, options, unsecured, expanded_unsecured)
    except (InvalidJsonLdError, UnknownDocumentError) as error:
        return _failed(str(error))
    return suite.verify(public_key, signature, data)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
