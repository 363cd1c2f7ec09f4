"""Data Integrity cryptosuite `ecdsa-rdfc-2019` with P-256 keys (W3C VC-DI-ECDSA §3.2).

Same shape as `eddsa-rdfc-2022` (RDFC-1.0 canonical proof configuration and document, each
hashed with SHA-256, concatenated) but signed with ECDSA P-256 / SHA-256; `proofValue` is
`z` + base58btc of the 64-byte IEEE P1363 signature (r || s). A P-256 Multikey is
`z` + base58btc(0x80 0x24 || 33-byte compressed point) (`zDn...`).

`keys.data_integrity.verify_document` takes only Ed25519 keys, so this module has its own
`verify_ecdsa_proof`; `sign_ecdsa_document` exists for tests and interop fixtures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from keys.data_integrity import PROOF_TYPE, ProofResult, format_created
from keys.multikey import decode_multibase, encode_multibase
from schemas.contexts import UnknownDocumentError
from schemas.jsonld import InvalidJsonLdError, canonicalize, canonicalize_proof_config

CRYPTOSUITE: Final = "ecdsa-rdfc-2019"
P256_PUB_HEADER: Final = b"\x80\x24"
_COORDINATE: Final = 32


def encode_p256_public_key(key: ec.EllipticCurvePublicKey) -> str:
    """A P-256 public key as a Multikey (`zDn...`)."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("only P-256 keys are supported")
    point = key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    return encode_multibase(P256_PUB_HEADER + point)


def decode_p256_public_key(multikey: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a Multikey `zDn...`; ValueError otherwise."""
    data = decode_multibase(multikey)
    if data[:2] != P256_PUB_HEADER:
        raise ValueError(f"Multikey {multikey!r} is not a P-256 public key (expected 8024)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data[2:])
    except ValueError as error:
        raise ValueError(f"Multikey {multikey!r} is not a valid P-256 point: {error}") from None


def _hash_data(
    options: Mapping[str, Any],
    unsecured: Mapping[str, Any],
    expanded: Sequence[Any] | None = None,
) -> bytes:
    config = hashlib.sha256(canonicalize_proof_config(options).encode("utf-8")).digest()
    return config + hashlib.sha256(canonicalize(unsecured, expanded).encode("utf-8")).digest()


def sign_ecdsa_document(
    document: Mapping[str, Any],
    private_key: ec.EllipticCurvePrivateKey,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """`document` with one `ecdsa-rdfc-2019` proof (replacing any proof it had)."""
    options = {
        "type": PROOF_TYPE,
        "created": format_created(created),
        "verificationMethod": verification_method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": "assertionMethod",
    }
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    data = _hash_data({"@context": document["@context"], **options}, unsecured)
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")
    return {**unsecured, "proof": {**options, "proofValue": encode_multibase(raw)}}


def verify_ecdsa_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: ec.EllipticCurvePublicKey,
    *,
    expected_proof_purpose: str = "assertionMethod",
    expanded_unsecured: Sequence[Any] | None = None,
) -> ProofResult:
    """Check one `ecdsa-rdfc-2019` proof of `document` with a P-256 `public_key`.

    `expanded_unsecured`: `schemas.jsonld.expand` of `document` without `proof`, if the
    caller already made it (it is then not expanded again; the result is the same).
    """
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return ProofResult(False, f'proof is not a "{PROOF_TYPE}" with "{CRYPTOSUITE}"')
    if proof.get("proofPurpose") != expected_proof_purpose:
        return ProofResult(False, f'"proofPurpose" must be "{expected_proof_purpose}"')
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return ProofResult(False, f"{CRYPTOSUITE} proofs are verified here with P-256 keys only")
    try:
        signature = decode_multibase(str(proof.get("proofValue")))
    except ValueError as error:
        return ProofResult(False, f'"proofValue" cannot be decoded: {error}')
    if len(signature) != 2 * _COORDINATE:
        return ProofResult(False, f'"proofValue" holds {len(signature)} bytes; P-256 signs 64')
    if "@context" not in document:
        return ProofResult(False, 'document has no "@context"')
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    options["@context"] = document["@context"]
    try:
        data = _hash_data(options, unsecured, expanded_unsecured)
    except (InvalidJsonLdError, UnknownDocumentError) as error:
        return ProofResult(False, str(error))
    der = encode_dss_signature(
        int.from_bytes(signature[:_COORDINATE], "big"),
        int.from_bytes(signature[_COORDINATE:], "big"),
    )
    try:
        public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return ProofResult(False, "signature does not match the document and the proof options")
    return ProofResult(True)
