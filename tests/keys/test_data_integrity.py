"""DataIntegrityProof / eddsa-rdfc-2022: pinned to the OB test vector, checked on real fixtures."""

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld import jsonld

from keys.data_integrity import (
    CRYPTOSUITES,
    EDDSA_RDFC_2022,
    ProofResult,
    format_created,
    sign_document,
    verify_document,
)
from keys.multikey import (
    decode_ed25519_public_key,
    decode_multibase,
    did_key_verification_method,
    encode_multibase,
    public_key_from_fragment,
)
from schemas.contexts import document_loader
from schemas.jsonld import canonicalize, expand

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VECTOR_DIR = FIXTURES / "ob3" / "test-vectors" / "eddsa-rdfc-2022"
VECTOR = json.loads((VECTOR_DIR / "ob3-ldp-test-vector.json").read_text(encoding="utf-8"))
VALIDATOR = FIXTURES / "ob3" / "validator-fixtures" / "ob30"
PRIVATE_KEY = Ed25519PrivateKey.from_private_bytes(
    bytes.fromhex(VECTOR["keyPair"]["privateKeyHex_seedPlusPublic"])[:32]
)
PUBLIC_KEY = decode_ed25519_public_key(VECTOR["keyPair"]["publicKeyMultibase"])
VECTOR_CREATED = datetime(2010, 1, 1, 19, 23, 24, tzinfo=UTC)


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def signed_vector():
    return copy.deepcopy(VECTOR["signedCredential"])


def data_integrity_proofs(document):
    proofs = document["proof"] if isinstance(document["proof"], list) else [document["proof"]]
    return [proof for proof in proofs if proof.get("type") == "DataIntegrityProof"]


def key_of(document):
    return public_key_from_fragment(data_integrity_proofs(document)[0]["verificationMethod"])


def test_hash_data_of_the_vector():
    config = {"@context": VECTOR["unsignedCredential"]["@context"], **VECTOR["proofOptions"]}
    proof_hash = EDDSA_RDFC_2022.hash(canonicalize(config))
    document_hash = hashlib.sha256(canonicalize(VECTOR["unsignedCredential"]).encode()).digest()
    assert proof_hash.hex() == VECTOR["proofOptionsHashHex"]
    assert document_hash.hex() == VECTOR["documentHashHex"]
    assert (proof_hash + document_hash).hex() == VECTOR["dataToSignHex"]


def test_signing_reproduces_the_vector_byte_for_byte():
    signed = sign_document(
        VECTOR["unsignedCredential"],
        PRIVATE_KEY,
        VECTOR["keyPair"]["verificationMethod"],
        VECTOR_CREATED,
    )
    assert signed["proof"]["proofValue"] == VECTOR["proofValue"]
    assert json.dumps(signed) == json.dumps(VECTOR["signedCredential"])


def test_signing_returns_a_new_document():
    unsigned = copy.deepcopy(VECTOR["unsignedCredential"])
    signed = sign_document(unsigned, PRIVATE_KEY, "did:example:issuer#key-1", VECTOR_CREATED)
    assert "proof" not in unsigned
    assert unsigned == VECTOR["unsignedCredential"]
    assert signed is not unsigned


def test_the_vector_verifies():
    assert verify_document(signed_vector(), PUBLIC_KEY) == ProofResult(True, None)


@pytest.mark.parametrize(
    "name",
    [
        "simple.json",
        "simple-did-key-method.json",
        "simple-did-web-method.json",
        "simple-context-alias.json",
        "simple-context-version.json",
        "simple-multiple-proofs.json",  # one unknown proof type + one valid proof
        "complete.json",
        "endorsement-valid.json",
        "bit-string-list/credential-status-revoked.json",
    ],
)
def test_valid_validator_fixtures_verify(name):
    document = load(VALIDATOR / name)
    assert verify_document(document, key_of(document)).verified


def test_interop_reference_credential_verifies_with_its_did_key():
    document = load(FIXTURES / "interop" / "ref.json")
    assert document["proof"]["verificationMethod"].startswith("did:key:z6Mk")
    assert verify_document(document, key_of(document)) == ProofResult(True)


def test_tampered_credentials_fail_with_a_reason():
    document = signed_vector()
    document["credentialSubject"]["achievement"]["name"] = "Leadership"
    result = verify_document(document, PUBLIC_KEY)
    assert not result.verified
    assert result.reason == "signature does not match the document and the proof options"

    tampered = load(FIXTURES / "interop" / "ref.tampered.json")
    assert not verify_document(tampered, key_of(tampered)).verified
    wrong_value = load(VALIDATOR / "simple-err-proof-value.json")
    assert not verify_document(wrong_value, key_of(wrong_value)).verified


def test_tampered_proof_options_fail():
    document = signed_vector()
    document["proof"]["created"] = "2011-01-01T19:23:24Z"
    assert not verify_document(document, PUBLIC_KEY).verified


def test_wrong_key_fails():
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_document(signed_vector(), other).verified


def test_wrong_cryptosuite_fails_naming_it():
    document = signed_vector()
    document["proof"]["cryptosuite"] = "eddsa-2022"
    result = verify_document(document, PUBLIC_KEY)
    assert result == ProofResult(
        False, "\"cryptosuite\" 'eddsa-2022' is not supported (supported: eddsa-rdfc-2022)"
    )


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("proofPurpose", "authentication", '"proofPurpose" must be "assertionMethod"'),
        ("proofValue", "uAAAA", "must be base58btc"),
        ("proofValue", "z0OIl", "invalid base58btc value"),
        ("proofValue", "z3QJmnh", "holds 4 bytes; Ed25519 signs 64"),
        ("created", "2010-01-01T19:23:24", "is not an XML Schema dateTimeStamp"),
        ("verificationMethod", None, '"verificationMethod" of the proof must be a string'),
        ("previousProof", "urn:uuid:1", "proof chains"),
    ],
)
def test_malformed_proofs_fail_with_a_reason(field, value, reason):
    document = signed_vector()
    document["proof"][field] = value
    result = verify_document(document, PUBLIC_KEY)
    assert not result.verified
    assert reason in result.reason


def test_undefined_term_fails_verification_in_safe_mode():
    document = signed_vector()
    document["credentialSubject"]["favouriteColour"] = "teal"
    result = verify_document(document, PUBLIC_KEY)
    assert not result.verified
    assert '"favouriteColour"' in result.reason


def test_unknown_context_fails_verification_naming_it():
    document = signed_vector()
    document["@context"].append("https://example.com/contexts/badges.jsonld")
    result = verify_document(document, PUBLIC_KEY)
    assert not result.verified
    assert "https://example.com/contexts/badges.jsonld is not bundled" in result.reason


def test_documents_without_a_usable_proof_fail():
    unsigned = copy.deepcopy(VECTOR["unsignedCredential"])
    assert verify_document(unsigned, PUBLIC_KEY) == ProofResult(False, 'document has no "proof"')
    unsigned["proof"] = [{"type": "SomeProofType"}]
    assert not verify_document(unsigned, PUBLIC_KEY).verified
    assert not verify_document(signed_vector(), PUBLIC_KEY, proof="not a proof").verified


def test_a_second_proof_makes_a_proof_set_and_both_verify():
    other_key = Ed25519PrivateKey.generate()
    method = did_key_verification_method(other_key.public_key())
    twice = sign_document(signed_vector(), other_key, method, datetime(2026, 1, 1, tzinfo=UTC))
    first, second = twice["proof"]
    assert first == VECTOR["signedCredential"]["proof"]
    assert verify_document(twice, PUBLIC_KEY, first).verified
    assert verify_document(twice, other_key.public_key(), second).verified
    assert verify_document(twice, other_key.public_key()).verified  # tries each proof
    assert not verify_document(twice, PUBLIC_KEY, second).verified


def test_created_is_utc_without_fractional_seconds():
    assert format_created(datetime(2026, 3, 1, 12, 0, 5, 999_999, tzinfo=UTC)) == (
        "2026-03-01T12:00:05Z"
    )
    plus_two = timezone(timedelta(hours=2))
    assert format_created(datetime(2026, 3, 1, 12, 0, tzinfo=plus_two)) == "2026-03-01T10:00:00Z"


def test_misuse_raises():
    unsigned = VECTOR["unsignedCredential"]
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_document(unsigned, PRIVATE_KEY, "did:example:1#k", datetime(2026, 1, 1))
    no_context = {key: value for key, value in unsigned.items() if key != "@context"}
    with pytest.raises(ValueError, match='no "@context"'):
        sign_document(no_context, PRIVATE_KEY, "did:example:1#k", VECTOR_CREATED)
    with pytest.raises(TypeError, match="Ed25519PrivateKey"):
        sign_document(unsigned, PUBLIC_KEY, "did:example:1#k", VECTOR_CREATED)
    with pytest.raises(TypeError, match="Ed25519PublicKey"):
        verify_document(signed_vector(), PRIVATE_KEY)
    with pytest.raises(TypeError, match="mapping"):
        verify_document("{}", PUBLIC_KEY)


def test_cryptosuites_are_registered_by_name():
    assert CRYPTOSUITES == {"eddsa-rdfc-2022": EDDSA_RDFC_2022}


def test_a_proof_with_its_own_context_must_prefix_the_documents():
    document = signed_vector()
    document["proof"]["@context"] = list(document["@context"])
    assert verify_document(document, PUBLIC_KEY).verified
    document["proof"]["@context"] = ["https://www.w3.org/2018/credentials/v1"]
    result = verify_document(document, PUBLIC_KEY)
    assert result == ProofResult(
        False, "the document's \"@context\" does not start with the proof's"
    )


# VCDM 2.0 §11.1 (language and base direction): values with "@direction" are canonicalized
# with rdfDirection "i18n-datatype", as the digitalbazaar eddsa-rdfc-2022 cryptosuite does,
# so the direction is signed instead of being dropped or refused.

ARABIC_NAME = "شارة إشراك الأسرة"


def with_direction(language: str = "ar", direction: str = "rtl") -> dict:
    document = copy.deepcopy(VECTOR["unsignedCredential"])
    document["name"] = {"@value": ARABIC_NAME, "@language": language, "@direction": direction}
    return document


def test_a_base_direction_is_canonicalized_as_an_i18n_datatype():
    nquads = canonicalize(with_direction("ar-EG", "rtl"))
    # JSON-LD 1.1 API §8.6: https://www.w3.org/ns/i18n# + language (lower case) + _ + direction
    assert f'"{ARABIC_NAME}"^^<https://www.w3.org/ns/i18n#ar-eg_rtl> .' in nquads
    assert '"@direction"' not in nquads


def test_a_credential_with_a_base_direction_is_signed_and_verifies():
    signed = sign_document(
        with_direction(), PRIVATE_KEY, "did:example:issuer#key-1", VECTOR_CREATED
    )
    assert verify_document(signed, PUBLIC_KEY).verified

    for member, other in (("@direction", "ltr"), ("@language", "fa")):
        tampered = copy.deepcopy(signed)
        tampered["name"][member] = other
        assert not verify_document(tampered, PUBLIC_KEY).verified, member


def test_without_a_direction_canonicalization_is_what_it_was_without_rdf_direction():
    unsigned = copy.deepcopy(VECTOR["unsignedCredential"])
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": document_loader,
    }
    assert canonicalize(unsigned) == jsonld.normalize(copy.deepcopy(unsigned), options)


def without_proof(document):
    return {key: value for key, value in document.items() if key != "proof"}


def test_a_given_expansion_of_the_document_verifies_as_before():
    document = signed_vector()
    expanded = expand(without_proof(document))
    before = copy.deepcopy(expanded)
    result = verify_document(document, PUBLIC_KEY, expanded_unsecured=expanded)
    assert result == ProofResult(True, None)
    assert expanded == before  # canonicalizing it does not change the caller's copy


def test_the_given_expansion_is_what_the_document_hash_covers():
    # A verifier hands over the expansion it already made: it must be of this very document.
    document = signed_vector()
    other = without_proof(signed_vector())
    other["credentialSubject"]["achievement"]["name"] = "Leadership"
    result = verify_document(document, PUBLIC_KEY, expanded_unsecured=expand(other))
    assert result.reason == "signature does not match the document and the proof options"


def test_a_proof_with_its_own_context_canonicalizes_the_document_under_that_context():
    # VC-DI-EdDSA §3.3.2: the document is signed with the proof's @context, so an expansion
    # made with the document's own @context is not used.
    unsigned = copy.deepcopy(VECTOR["unsignedCredential"])
    signed = sign_document(
        unsigned, PRIVATE_KEY, VECTOR["keyPair"]["verificationMethod"], VECTOR_CREATED
    )
    signed["proof"]["@context"] = unsigned["@context"]
    resigned_config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    data = EDDSA_RDFC_2022.hash(canonicalize(resigned_config)) + EDDSA_RDFC_2022.hash(
        canonicalize(unsigned)
    )
    signed["proof"]["proofValue"] = encode_multibase(PRIVATE_KEY.sign(data))
    other = copy.deepcopy(unsigned)
    other["name"] = "Something else"
    result = verify_document(signed, PUBLIC_KEY, expanded_unsecured=expand(other))
    assert result == ProofResult(True, None)


def test_each_created_is_signed_over_plain_pyld_canonical_forms():
    # Proof configurations that differ only by `created` share a template: the signature
    # must still cover exactly what plain pyld canonicalizes for each of them.
    document = copy.deepcopy(VECTOR["unsignedCredential"])
    method = VECTOR["keyPair"]["verificationMethod"]
    options = {"algorithm": "URDNA2015", "format": "application/n-quads"}
    options |= {"rdfDirection": "i18n-datatype", "documentLoader": document_loader}

    def plain(value):
        return hashlib.sha256(jsonld.normalize(copy.deepcopy(value), options).encode()).digest()

    for seconds in range(3):
        created = VECTOR_CREATED + timedelta(seconds=seconds)
        signed = sign_document(document, PRIVATE_KEY, method, created)
        config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
        config["@context"] = document["@context"]
        signature = decode_multibase(signed["proof"]["proofValue"])
        PUBLIC_KEY.verify(signature, plain(config) + plain(document))  # raises if not
        assert verify_document(signed, PUBLIC_KEY).verified
