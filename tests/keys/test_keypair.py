"""Issuer key pairs and public JWKs, pinned to the RFC 8037 and RFC 7638 examples."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_private_key

from keys.keypair import (
    JWT_ALGORITHMS,
    KeyAlgorithm,
    KeyPair,
    algorithm_of,
    jwk_thumbprint,
    public_jwk,
    public_key_from_jwk,
)

# RFC 8037 Appendix A.1-A.3: an Ed25519 key, its public JWK and its RFC 7638 thumbprint.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_PUBLIC_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

# RFC 7638 §3.1: an RSA JWK (with non-required members) and its thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
        "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vM"
        "QFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rfc8037_key_pair():
    seed = base64.urlsafe_b64decode(RFC8037_D + "=")
    return KeyPair(KeyAlgorithm.ED25519, Ed25519PrivateKey.from_private_bytes(seed))


@pytest.fixture(scope="module")
def rsa_pair():
    return KeyPair.generate(KeyAlgorithm.RSA)


def test_generated_ed25519_key_signs_with_eddsa():
    pair = KeyPair.generate(KeyAlgorithm.ED25519)
    assert pair.algorithm is KeyAlgorithm.ED25519
    assert isinstance(pair.private_key, Ed25519PrivateKey)
    assert isinstance(pair.public_key, Ed25519PublicKey)
    assert pair.jwt_algorithm == "EdDSA"


def test_generated_rsa_key_is_2048_bits_e_65537_and_signs_with_rs256(rsa_pair):
    assert isinstance(rsa_pair.private_key, RSAPrivateKey)
    assert isinstance(rsa_pair.public_key, RSAPublicKey)
    assert rsa_pair.private_key.key_size == 2048
    assert rsa_pair.public_key.public_numbers().e == 65537
    assert rsa_pair.jwt_algorithm == "RS256"


def test_two_generated_keys_differ():
    first, second = (KeyPair.generate(KeyAlgorithm.ED25519) for _ in range(2))
    assert first.public_jwk() != second.public_jwk()


def test_algorithm_given_as_text_becomes_the_enum():
    pair = KeyPair("Ed25519", Ed25519PrivateKey.generate())  # type: ignore[arg-type]
    assert pair.algorithm is KeyAlgorithm.ED25519
    assert JWT_ALGORITHMS[pair.algorithm] == "EdDSA"


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_private_bytes_are_pkcs8_der_and_round_trip(algorithm, rsa_pair):
    pair = rsa_pair if algorithm is KeyAlgorithm.RSA else KeyPair.generate(algorithm)
    data = pair.private_bytes()
    assert data[0] == 0x30  # a DER SEQUENCE
    assert load_der_private_key(data, password=None) is not None
    loaded = KeyPair.from_private_bytes(algorithm, data)
    assert loaded.algorithm is algorithm
    assert loaded.public_jwk() == pair.public_jwk()
    assert loaded.private_bytes() == data


def test_from_private_bytes_refuses_a_key_of_the_other_algorithm(rsa_pair):
    with pytest.raises(ValueError, match="RSA key, not Ed25519"):
        KeyPair.from_private_bytes(KeyAlgorithm.ED25519, rsa_pair.private_bytes())


def test_from_private_bytes_refuses_garbage():
    with pytest.raises(ValueError, match="PKCS#8 DER"):
        KeyPair.from_private_bytes(KeyAlgorithm.ED25519, b"\x30\x03\x02\x01\x00")


def test_key_pair_refuses_a_mismatched_key():
    with pytest.raises(ValueError, match="Ed25519 key, not RSA"):
        KeyPair(KeyAlgorithm.RSA, Ed25519PrivateKey.generate())


def test_rsa_keys_under_2048_bits_are_refused():
    small = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the weak key under test
    with pytest.raises(ValueError, match="at least 2048 bits"):
        KeyPair(KeyAlgorithm.RSA, small)
    with pytest.raises(ValueError, match="at least 2048 bits"):
        public_key_from_jwk(public_jwk(small.public_key()))


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_repr_shows_no_key_material(algorithm, rsa_pair):
    pair = rsa_pair if algorithm is KeyAlgorithm.RSA else rfc8037_key_pair()
    text = repr(pair)
    assert text == f"KeyPair(algorithm={algorithm.value}, private_key=<hidden>)"
    assert b64url(pair.private_bytes())[:16] not in text


def test_ed25519_public_jwk_matches_rfc8037():
    pair = rfc8037_key_pair()
    assert pair.public_jwk() == RFC8037_PUBLIC_JWK
    assert public_jwk(pair.public_key) == RFC8037_PUBLIC_JWK


def test_rsa_public_jwk_has_only_kty_n_e(rsa_pair):
    jwk = rsa_pair.public_jwk()
    assert list(jwk) == ["kty", "n", "e"]
    assert jwk["kty"] == "RSA"
    assert jwk["e"] == "AQAB"
    assert len(base64.urlsafe_b64decode(jwk["n"] + "==")) == 256  # no leading zero octet


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_public_key_from_jwk_round_trips(algorithm, rsa_pair):
    pair = rsa_pair if algorithm is KeyAlgorithm.RSA else KeyPair.generate(algorithm)
    key = public_key_from_jwk(pair.public_jwk())
    assert algorithm_of(key) is algorithm
    assert public_jwk(key) == pair.public_jwk()


def test_public_key_from_jwk_ignores_non_key_members():
    jwk = {**RFC8037_PUBLIC_JWK, "kid": "did:web:x.org#key-1-jwk", "alg": "EdDSA", "use": "sig"}
    assert public_jwk(public_key_from_jwk(jwk)) == RFC8037_PUBLIC_JWK


def test_public_key_from_jwk_refuses_a_private_jwk():
    with pytest.raises(ValueError, match="private key members"):
        public_key_from_jwk({**RFC8037_PUBLIC_JWK, "d": RFC8037_D})


@pytest.mark.parametrize(
    ("jwk", "message"),
    [
        ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "\"kty\" 'EC' is not supported"),
        ({"crv": "Ed25519", "x": RFC8037_PUBLIC_JWK["x"]}, '"kty" None is not supported'),
        ({**RFC8037_PUBLIC_JWK, "crv": "X25519"}, '"crv" must be "Ed25519"'),
        ({**RFC8037_PUBLIC_JWK, "x": RFC8037_PUBLIC_JWK["x"][:-3]}, "30 bytes; expected 32"),
        ({**RFC8037_PUBLIC_JWK, "x": RFC8037_PUBLIC_JWK["x"] + "="}, "unpadded base64url"),
        ({**RFC8037_PUBLIC_JWK, "x": 12}, "unpadded base64url"),
        ({"kty": "RSA", "e": "AQAB"}, '"n" must be'),
    ],
)
def test_public_key_from_jwk_refuses_bad_or_unsupported_jwks(jwk, message):
    with pytest.raises(ValueError, match=message):
        public_key_from_jwk(jwk)


def test_thumbprint_of_the_rfc7638_example():
    assert jwk_thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT


def test_thumbprint_of_the_rfc8037_example():
    assert jwk_thumbprint(RFC8037_PUBLIC_JWK) == RFC8037_THUMBPRINT
    assert jwk_thumbprint({**RFC8037_PUBLIC_JWK, "kid": "x", "use": "sig"}) == RFC8037_THUMBPRINT


def test_thumbprint_needs_the_required_members():
    with pytest.raises(ValueError, match='needs a string "e"'):
        jwk_thumbprint({"kty": "RSA", "n": RFC7638_JWK["n"]})
    with pytest.raises(ValueError, match="thumbprint of a JWK"):
        jwk_thumbprint({"kty": "oct", "k": "AA"})
