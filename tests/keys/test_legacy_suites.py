"""eddsa-2022 and Ed25519Signature2020, pinned to 1EdTech's VCDM 1.1 fixtures."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys.data_integrity import CRYPTOSUITES
from keys.legacy_suites import verify_ed25519_signature_2020, verify_eddsa_2022
from keys.multikey import public_key_from_fragment
from schemas.jsonld import expand

VALIDATOR = Path(__file__).resolve().parents[1] / "fixtures" / "ob3" / "validator-fixtures" / "ob30"


def load(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    document = json.loads((VALIDATOR / name).read_text(encoding="utf-8"))
    return document, document["proof"][0]


def test_eddsa_2022_fixture_verifies_and_tampering_fails() -> None:
    document, proof = load("simple-eddsa-2022.json")
    key = public_key_from_fragment(proof["verificationMethod"])
    assert verify_eddsa_2022(document, proof, key).verified
    changed = copy.deepcopy(document)
    changed["name"] = "Other"
    result = verify_eddsa_2022(changed, proof, key)
    assert not result.verified and result.reason is not None and "signature" in result.reason


def test_ed25519_signature_2020_fixture_verifies() -> None:
    document, proof = load("simple_v1.json")
    key = public_key_from_fragment(proof["verificationMethod"])
    assert verify_ed25519_signature_2020(document, proof, key).verified
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_ed25519_signature_2020(document, proof, other).verified


def test_wrong_purpose_or_type_is_refused() -> None:
    document, proof = load("simple_v1.json")
    key = public_key_from_fragment(proof["verificationMethod"])
    result = verify_ed25519_signature_2020(
        document, {**proof, "proofPurpose": "authentication"}, key
    )
    assert result.reason == '"proofPurpose" must be "assertionMethod", not \'authentication\''
    assert not verify_eddsa_2022(document, proof, key).verified  # not a DataIntegrityProof


def test_legacy_names_are_not_registered_for_signing() -> None:
    assert "eddsa-2022" not in CRYPTOSUITES


def test_non_ed25519_key_is_misuse() -> None:
    document, proof = load("simple_v1.json")
    with pytest.raises(TypeError):
        verify_ed25519_signature_2020(document, proof, "key")  # type: ignore[arg-type]


def without_proof(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}


@pytest.mark.parametrize(
    ("name", "verify"),
    [
        ("simple-eddsa-2022.json", verify_eddsa_2022),
        ("simple_v1.json", verify_ed25519_signature_2020),
    ],
)
def test_a_given_expansion_is_what_the_document_hash_covers(name: str, verify: Any) -> None:
    document, proof = load(name)
    key = public_key_from_fragment(proof["verificationMethod"])
    own = expand(without_proof(document))
    assert verify(document, proof, key, expanded_unsecured=own).verified
    other = without_proof(copy.deepcopy(document))
    other["name"] = "Other"
    result = verify(document, proof, key, expanded_unsecured=expand(other))
    assert not result.verified and result.reason is not None and "signature" in result.reason
