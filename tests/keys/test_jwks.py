"""The JWK set: one public signing key per issuer key, named like the VC-JWTs it verifies."""

import pytest

from keys.did_web import PublishedKey, build_did_document, jwk_id
from keys.jwks import jwk_set
from keys.keypair import KeyAlgorithm, KeyPair, jwk_thumbprint, public_jwk, public_key_from_jwk

DP = "did:web:x.org:issuers:dp"
ACME = "did:web:x.org:issuers:acme"
JWKS_MEMBERS = ("kid", "alg", "use", "iss")


@pytest.fixture(scope="module")
def keys():
    ed_pair = KeyPair.generate(KeyAlgorithm.ED25519)
    rsa_pair = KeyPair.generate(KeyAlgorithm.RSA)
    return [
        (DP, PublishedKey("key-1", KeyAlgorithm.ED25519, ed_pair.public_key)),
        (ACME, PublishedKey("key-1", KeyAlgorithm.RSA, rsa_pair.public_key)),
    ]


def without_jwks_members(entry):
    return {name: value for name, value in entry.items() if name not in JWKS_MEMBERS}


def test_one_entry_per_key_in_order(keys):
    entries = jwk_set(keys)["keys"]
    assert [entry["kid"] for entry in entries] == [
        f"{DP}#key-1-jwk",
        f"{ACME}#key-1",
    ]


def test_entries_name_algorithm_use_and_issuer(keys):
    ed_entry, rsa_entry = jwk_set(keys)["keys"]
    assert without_jwks_members(ed_entry) == public_jwk(keys[0][1].public_key)
    assert without_jwks_members(rsa_entry) == public_jwk(keys[1][1].public_key)
    assert (ed_entry["alg"], ed_entry["use"], ed_entry["iss"]) == ("EdDSA", "sig", DP)
    assert (rsa_entry["alg"], rsa_entry["use"], rsa_entry["iss"]) == ("RS256", "sig", ACME)
    assert list(ed_entry) == ["kty", "crv", "x", *JWKS_MEMBERS]
    assert list(rsa_entry) == ["kty", "n", "e", *JWKS_MEMBERS]


def test_kid_is_the_json_web_key_method_of_the_did_document(keys):
    for (did, key), entry in zip(keys, jwk_set(keys)["keys"], strict=True):
        assert entry["kid"] == jwk_id(did, key)
        methods = {m["id"]: m for m in build_did_document(did, [key])["verificationMethod"]}
        method = methods[entry["kid"]]
        assert method["type"] == "JsonWebKey"
        assert method["publicKeyJwk"] == without_jwks_members(entry)


def test_entries_are_public_keys_only(keys):
    for (_, key), entry in zip(keys, jwk_set(keys)["keys"], strict=True):
        assert "d" not in entry
        assert public_jwk(public_key_from_jwk(entry)) == public_jwk(key.public_key)
        assert jwk_thumbprint(entry) == jwk_thumbprint(public_jwk(key.public_key))


def test_empty_set():
    assert jwk_set([]) == {"keys": []}
