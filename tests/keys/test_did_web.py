"""did:web identifiers, their document URLs, and the DID documents that publish issuer keys."""

import pytest

from keys.did_web import (
    PublishedKey,
    build_did_document,
    did_web_document_url,
    did_web_for,
    jwk_id,
    multikey_id,
    verification_method_ids,
)
from keys.keypair import KeyAlgorithm, KeyPair, public_jwk, public_key_from_jwk
from keys.multikey import decode_ed25519_public_key, encode_ed25519_public_key

DID = "did:web:127.0.0.1%3A8000:issuers:dp"


@pytest.fixture(scope="module")
def rsa_pair():
    return KeyPair.generate(KeyAlgorithm.RSA)


def published(key_id, pair):
    return PublishedKey(key_id, pair.algorithm, pair.public_key)


def ed25519_key(key_id="key-1"):
    return published(key_id, KeyPair.generate(KeyAlgorithm.ED25519))


def walk(value):
    """Every dict inside a JSON value, the value itself included."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


@pytest.mark.parametrize(
    ("public_url", "path", "did"),
    [
        ("http://127.0.0.1:8000", ("issuers", "dp"), "did:web:127.0.0.1%3A8000:issuers:dp"),
        ("https://x.org", (), "did:web:x.org"),
        ("https://x.org/", ("issuers", "dp"), "did:web:x.org:issuers:dp"),
        ("https://Badges.X.org", ("issuers", "dp"), "did:web:badges.x.org:issuers:dp"),
        ("https://x.org/lattice", ("issuers", "dp"), "did:web:x.org:lattice:issuers:dp"),
        ("https://x.org/a/b/", ("c",), "did:web:x.org:a:b:c"),
        ("https://x.org:8443/lattice", (), "did:web:x.org%3A8443:lattice"),
        ("https://x.org", ("a:b",), "did:web:x.org:a%3Ab"),
        ("https://x.org", ("a b", "c~d", "e/f"), "did:web:x.org:a%20b:c%7Ed:e%2Ff"),
        ("https://x.org", ("résumé",), "did:web:x.org:r%C3%A9sum%C3%A9"),
        ("https://x.org/my%20org", ("dp",), "did:web:x.org:my%20org:dp"),  # not encoded twice
        ("https://x.org", ("u_1.v-2",), "did:web:x.org:u_1.v-2"),
    ],
)
def test_did_web_for(public_url, path, did):
    assert did_web_for(public_url, *path) == did


@pytest.mark.parametrize(
    ("public_url", "path", "message"),
    [
        ("ftp://x.org", (), "must be http or https"),
        ("x.org", (), "must be http or https"),
        ("https://", (), "no host name"),
        ("https://[::1]:8000", (), "no host name"),
        ("https://x.org/?a=1", (), "query"),
        ("https://x.org/#top", (), "fragment"),
        ("https://user@x.org", (), "user"),
        ("https://x.org:99999", (), "invalid port"),
        ("https://x.org", ("issuers", ""), "non-empty names"),
        ("https://x.org", ("issuers", ".."), "non-empty names"),
        ("https://x.org/a/../b", (), "non-empty names"),
    ],
)
def test_did_web_for_refuses(public_url, path, message):
    with pytest.raises(ValueError, match=message):
        did_web_for(public_url, *path)


@pytest.mark.parametrize(
    ("did", "url"),
    [
        (DID, "https://127.0.0.1:8000/issuers/dp/did.json"),
        ("did:web:x.org", "https://x.org/.well-known/did.json"),
        ("did:web:x.org%3A8443", "https://x.org:8443/.well-known/did.json"),
        ("did:web:X.ORG:lattice", "https://x.org/lattice/did.json"),
        ("did:web:x.org:a%3Ab:c", "https://x.org/a%3Ab/c/did.json"),
    ],
)
def test_did_web_document_url(did, url):
    assert did_web_document_url(did) == url


def test_did_web_document_url_for_a_plain_http_service():
    assert did_web_document_url(DID, scheme="http") == "http://127.0.0.1:8000/issuers/dp/did.json"


@pytest.mark.parametrize(
    ("did", "message"),
    [
        ("did:key:z6Mkq4C4CXm2Xu2JRqMDZxZfnvGwf5s7BKiDkbMzveamSeFH", "not a did:web DID"),
        ("did:web:", "invalid host"),
        ("did:web:x.org#key-1", "is a DID URL"),
        ("did:web:x.org/path", "is a DID URL"),
        ("did:web:x.org%3Ahttp", "invalid host"),
        ("did:web:x_y.org", "invalid host"),
        ("did:web:x.org::dp", "invalid path segment ''"),
        ("did:web:x.org:a%3", "invalid path segment"),
        ("did:web:x.org:a~b", "invalid path segment"),
        ("did:web:x.org:issuers:..", "invalid path segment '..'"),
    ],
)
def test_did_web_document_url_refuses(did, message):
    with pytest.raises(ValueError, match=message):
        did_web_document_url(did)


def test_did_web_document_url_refuses_other_schemes():
    with pytest.raises(ValueError, match="scheme"):
        did_web_document_url(DID, scheme="ftp")


@pytest.mark.parametrize(
    ("public_url", "path"),
    [("http://127.0.0.1:8000", ("issuers", "dp")), ("https://x.org/lattice", ("issuers", "a:b"))],
)
def test_the_did_document_is_served_under_the_public_url(public_url, path):
    did = did_web_for(public_url, *path)
    url = did_web_document_url(did, scheme=public_url.split(":")[0])
    assert url.startswith(public_url + "/")
    assert url.endswith("/did.json")


def test_published_key_must_match_its_algorithm():
    pair = KeyPair.generate(KeyAlgorithm.ED25519)
    with pytest.raises(ValueError, match="not an RSA public key"):
        PublishedKey("key-1", KeyAlgorithm.RSA, pair.public_key)


@pytest.mark.parametrize("key_id", ["", "#key-1", "key 1", "key:1", "key/1"])
def test_published_key_id_is_a_plain_fragment(key_id):
    pair = KeyPair.generate(KeyAlgorithm.ED25519)
    with pytest.raises(ValueError, match="DID URL fragment"):
        PublishedKey(key_id, KeyAlgorithm.ED25519, pair.public_key)


def test_an_ed25519_key_has_a_multikey_and_a_json_web_key_method():
    key = ed25519_key("key-1")
    assert multikey_id(DID, key) == f"{DID}#key-1"
    assert jwk_id(DID, key) == f"{DID}#key-1-jwk"
    assert verification_method_ids(DID, key) == [f"{DID}#key-1", f"{DID}#key-1-jwk"]


def test_an_rsa_key_has_only_a_json_web_key_method(rsa_pair):
    key = published("key-2", rsa_pair)
    assert jwk_id(DID, key) == f"{DID}#key-2"
    assert verification_method_ids(DID, key) == [f"{DID}#key-2"]
    with pytest.raises(ValueError, match="only Ed25519 keys are Multikeys"):
        multikey_id(DID, key)


def test_did_document_of_one_ed25519_key():
    key = ed25519_key("key-1")
    document = build_did_document(DID, [key])
    assert document == {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/jwk/v1",
        ],
        "id": DID,
        "verificationMethod": [
            {
                "id": f"{DID}#key-1",
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": encode_ed25519_public_key(key.public_key),
            },
            {
                "id": f"{DID}#key-1-jwk",
                "type": "JsonWebKey",
                "controller": DID,
                "publicKeyJwk": public_jwk(key.public_key),
            },
        ],
        "assertionMethod": [f"{DID}#key-1", f"{DID}#key-1-jwk"],
        "authentication": [f"{DID}#key-1", f"{DID}#key-1-jwk"],
    }


def test_did_document_lists_rotated_keys_in_order_for_assertion(rsa_pair):
    old, rsa_key, current = ed25519_key("key-1"), published("key-2", rsa_pair), ed25519_key("key-3")
    document = build_did_document(DID, [old, rsa_key, current])
    ids = [f"{DID}#key-1", f"{DID}#key-1-jwk", f"{DID}#key-2", f"{DID}#key-3", f"{DID}#key-3-jwk"]
    assert [method["id"] for method in document["verificationMethod"]] == ids
    assert document["assertionMethod"] == ids
    assert document["authentication"] == ids
    types = [method["type"] for method in document["verificationMethod"]]
    assert types == ["Multikey", "JsonWebKey", "JsonWebKey", "Multikey", "JsonWebKey"]
    assert all(method["controller"] == DID for method in document["verificationMethod"])


def test_did_document_methods_carry_the_published_keys(rsa_pair):
    ed_key, rsa_key = ed25519_key("key-1"), published("key-2", rsa_pair)
    methods = {m["id"]: m for m in build_did_document(DID, [ed_key, rsa_key])["verificationMethod"]}
    multikey = decode_ed25519_public_key(methods[multikey_id(DID, ed_key)]["publicKeyMultibase"])
    assert public_jwk(multikey) == public_jwk(ed_key.public_key)
    for key in (ed_key, rsa_key):
        from_jwk = public_key_from_jwk(methods[jwk_id(DID, key)]["publicKeyJwk"])
        assert public_jwk(from_jwk) == public_jwk(key.public_key)


def test_did_document_holds_no_private_key_member(rsa_pair):
    document = build_did_document(DID, [ed25519_key("key-1"), published("key-2", rsa_pair)])
    for member in ("d", "p", "q", "dp", "dq", "qi", "secretKeyMultibase"):
        assert all(member not in node for node in walk(document))


def test_did_document_refuses_colliding_method_ids(rsa_pair):
    with pytest.raises(ValueError, match="collide"):
        build_did_document(DID, [ed25519_key("key-1"), published("key-1-jwk", rsa_pair)])
    with pytest.raises(ValueError, match="collide"):
        build_did_document(DID, [ed25519_key("key-1"), ed25519_key("key-1")])


def test_did_document_without_keys_publishes_nothing():
    document = build_did_document(DID, [])
    assert document["verificationMethod"] == []
    assert document["assertionMethod"] == document["authentication"] == []
