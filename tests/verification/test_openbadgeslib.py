"""Credentials made by a second Python implementation, openbadgeslib (PyPI, a dev extra used
only here), verify with our verifier; tampered copies do not. And the other way round:
openbadgeslib accepts what our library signs.

openbadgeslib canonicalizes with PyLD like we do, but its proof, JWT, DID document and status
list code is its own. Its issuers' web (JWK sets, DID documents, status lists) is served
offline through a URL -> document map. Credentials of this service, status included, are
issued by the whole service running on loopback and fetched by openbadgeslib's own fetcher.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from app.settings import Settings
from keys.keypair import KeyAlgorithm, KeyPair
from keys.vc_jwt import encode_vc_jwt
from storage.models import Issuer
from tests.conftest import Provider, make_provider, serve
from tests.processes import free_port
from tests.verification.support import DidKeyIssuer, credential, fixed_clock, tampered
from verification import CheckStatus, Verdict, Verifier
from verification.fetch import MappedFetcher

ob3 = pytest.importorskip(
    "openbadgeslib.ob3", reason="openbadgeslib is a dev extra: pip install -e '.[dev]'"
)
from openbadgeslib.keys import public_jwk_from_pem  # noqa: E402
from openbadgeslib.util import download_file  # noqa: E402

HTTPS_ISSUER = "https://py.example.org/issuers/1"
DID_WEB = "did:web:py.example.org"
STATUS_URL = "https://py.example.org/status/1"
ISSUED = datetime(2025, 1, 1, tzinfo=UTC)
REVOKED_INDEX = 5

PrivateKey = Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def pem(key: PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def badge(issuer: str, **extra: Any) -> Any:
    """An openbadgeslib OpenBadgeCredential from `issuer`, valid since 2025-01-01."""
    return ob3.OpenBadgeCredential(
        issuer=ob3.Issuer(
            id=issuer, name="Python cross-check issuer", url="https://py.example.org"
        ),
        recipient_id="did:example:learner-py",
        achievement=ob3.Achievement(
            id="https://py.example.org/achievements/1",
            name="Cross-check",
            description="Issued by openbadgeslib",
            criteria_narrative="Verify in two implementations.",
        ),
        issuance_date=ISSUED,
        **extra,
    )


def with_subject(token: str, **changes: Any) -> str:
    """The same header and signature over a payload whose credentialSubject changed."""
    header, _, signature = token.split(".")
    payload = jwt.decode(token, options={"verify_signature": False})
    payload["credentialSubject"].update(changes)
    body = jwt.utils.base64url_encode(json.dumps(payload).encode()).decode()
    return f"{header}.{body}.{signature}"


def forged_jwt(token: str) -> str:
    """Same header and signature, payload with another achievement name."""
    payload = jwt.decode(token, options={"verify_signature": False})
    return with_subject(
        token, achievement={**payload["credentialSubject"]["achievement"], "name": "Forged"}
    )


def verifier(
    documents: dict[str, Any] | None = None, clock: Callable[[], datetime] = fixed_clock
) -> Verifier:
    served = {
        url: doc if isinstance(doc, str) else json.dumps(doc)
        for url, doc in (documents or {}).items()
    }
    return Verifier(fetcher=MappedFetcher(served), clock=clock)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def ldp_signer(key: Ed25519PrivateKey) -> Any:
    return ob3.OB3LdpSigner(pem(key))  # did:key verification method


@pytest.fixture(scope="module")
def did_key(ldp_signer: Any) -> str:
    did: str = ldp_signer.verification_method.partition("#")[0]
    return did


# openbadgeslib issues, we verify.


async def test_data_integrity_credential_verifies(ldp_signer: Any, did_key: str) -> None:
    signed = ldp_signer.sign(badge(did_key), created=ISSUED)
    report = await verifier().verify(signed)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.check("schema").status is CheckStatus.PASSED  # it names the 1EdTech schema
    assert report.check("key_binding").status is CheckStatus.PASSED


async def test_tampered_data_integrity_credential_is_invalid(ldp_signer: Any, did_key: str) -> None:
    report = await verifier().verify(tampered(ldp_signer.sign(badge(did_key), created=ISSUED)))
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "proof"


async def test_eddsa_vc_jwt_with_a_jwk_header_verifies(
    key: Ed25519PrivateKey, did_key: str
) -> None:
    token = ob3.OB3Signer(pem(key), algorithm="EdDSA").sign(badge(did_key))
    assert "jwk" in jwt.get_unverified_header(token)
    report = await verifier().verify(token)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.format == "jwt_vc"


async def test_tampered_vc_jwt_is_invalid(key: Ed25519PrivateKey, did_key: str) -> None:
    token = ob3.OB3Signer(pem(key), algorithm="EdDSA").sign(badge(did_key))
    report = await verifier().verify(forged_jwt(token))
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "proof"


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(65537, 2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
async def test_rs256_and_es256_vc_jwts_from_an_https_issuer_with_a_jwk_set(
    algorithm: str, make_key: Any
) -> None:
    """OB 3.0 key provenance: the header `jwk` is found in the issuer's JWK set."""
    signing_key = make_key()
    token = ob3.OB3Signer(pem(signing_key), algorithm=algorithm).sign(badge(HTTPS_ISSUER))
    jwks = {"keys": [public_jwk_from_pem(public_pem(signing_key))]}
    report = await verifier({"https://py.example.org/.well-known/jwks.json": jwks}).verify(token)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.check("proof").message.startswith(f"{algorithm} VC-JWT signature")
    report = await verifier().verify(token)  # no JWK set: the key is nobody's
    assert report.verdict is not Verdict.VERIFIED


async def test_did_web_issuer_with_openbadgeslib_did_document(key: Ed25519PrivateKey) -> None:
    """Its DID documents publish `JsonWebKey2020` methods (OKP JWKs)."""
    document = ob3.build_did_document(DID_WEB, [("key-1", public_jwk_from_pem(public_pem(key)))])
    signer = ob3.OB3LdpSigner(pem(key), verification_method=f"{DID_WEB}#key-1")
    signed = signer.sign(badge(DID_WEB), created=ISSUED)
    report = await verifier({"https://py.example.org/.well-known/did.json": document}).verify(
        signed
    )
    assert report.verdict is Verdict.VERIFIED, report.to_json()


async def test_did_web_issuer_vc_jwt_with_a_jwk_header(key: Ed25519PrivateKey) -> None:
    document = ob3.build_did_document(DID_WEB, [("key-1", public_jwk_from_pem(public_pem(key)))])
    token = ob3.OB3Signer(pem(key), algorithm="EdDSA").sign(badge(DID_WEB))
    report = await verifier({"https://py.example.org/.well-known/did.json": document}).verify(token)
    assert report.verdict is Verdict.VERIFIED, report.decided_by


async def test_a_jwk_header_key_the_did_document_does_not_list_is_not_the_issuers(
    key: Ed25519PrivateKey,
) -> None:
    other = Ed25519PrivateKey.generate()
    document = ob3.build_did_document(DID_WEB, [("key-1", public_jwk_from_pem(public_pem(key)))])
    token = ob3.OB3Signer(pem(other), algorithm="EdDSA").sign(badge(DID_WEB))
    report = await verifier({"https://py.example.org/.well-known/did.json": document}).verify(token)
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "key_binding"


def status_list_documents(key: Ed25519PrivateKey, ldp_signer: Any, did_key: str) -> dict[str, Any]:
    """openbadgeslib's BitstringStatusListCredential (bit 5 set), Data Integrity-signed."""
    unsigned = ob3.build_status_list_credential(
        did_key, STATUS_URL, "revocation", [REVOKED_INDEX], issued=ISSUED
    )
    signed = ob3.add_data_integrity_proof(
        unsigned, pem(key), ldp_signer.verification_method, created=ISSUED
    )
    return {STATUS_URL: signed}


@pytest.mark.parametrize(
    ("index", "verdict"), [(REVOKED_INDEX, Verdict.REVOKED), (REVOKED_INDEX + 1, Verdict.VERIFIED)]
)
async def test_status_list_encoded_by_openbadgeslib(
    key: Ed25519PrivateKey, ldp_signer: Any, did_key: str, index: int, verdict: Verdict
) -> None:
    entry = ob3.status_entry(STATUS_URL, "revocation", index)
    signed = ldp_signer.sign(badge(did_key, credential_status=[entry]), created=ISSUED)
    report = await verifier(status_list_documents(key, ldp_signer, did_key)).verify(signed)
    assert report.verdict is verdict, report.decided_by


async def test_status_list_published_as_a_vc_jwt(
    key: Ed25519PrivateKey, ldp_signer: Any, did_key: str
) -> None:
    """openbadgeslib can publish a list as a VC-JWT, whose `nbf` is when it was signed."""
    unsigned = ob3.build_status_list_credential(
        did_key, STATUS_URL, "revocation", [REVOKED_INDEX], issued=ISSUED
    )
    token = ob3.sign_status_list_credential(unsigned, pem(key), "EdDSA")

    def badge_at(index: int) -> dict[str, Any]:
        entry = ob3.status_entry(STATUS_URL, "revocation", index)
        signed: dict[str, Any] = ldp_signer.sign(
            badge(did_key, credential_status=[entry]), created=ISSUED
        )
        return signed

    def wall_clock() -> datetime:
        return datetime.now(UTC)

    served = verifier({STATUS_URL: token}, clock=wall_clock)
    revoked = await served.verify(badge_at(REVOKED_INDEX))
    kept = await served.verify(badge_at(REVOKED_INDEX + 1))
    forged_list = verifier({STATUS_URL: forged_list_jwt(token)}, clock=wall_clock)
    unknown = await forged_list.verify(badge_at(REVOKED_INDEX))

    assert revoked.verdict is Verdict.REVOKED, revoked.decided_by
    assert kept.verdict is Verdict.VERIFIED, kept.decided_by
    assert unknown.verdict is Verdict.CANNOT_VERIFY, unknown.decided_by
    assert "does not verify" in unknown.check("status").message


def forged_list_jwt(token: str) -> str:
    """Same header and signature, the list emptied (every credential unrevoked)."""
    return with_subject(token, encodedList=ob3.encode_bitstring([], 131_072))


# We issue, openbadgeslib verifies.


def test_openbadgeslib_verifies_our_data_integrity_credential() -> None:
    issuer = DidKeyIssuer()
    signed = issuer.issue()
    verified = ob3.OB3LdpVerifier().verify(json.dumps(signed))
    assert verified.issuer.id == issuer.did
    with pytest.raises(ob3.OB3VerificationError, match="signature"):
        ob3.OB3LdpVerifier().verify(json.dumps(tampered(signed)))


def test_openbadgeslib_verifies_our_vc_jwt() -> None:
    issuer = DidKeyIssuer()
    document = credential(issuer.did)
    token = encode_vc_jwt(document, KeyPair(KeyAlgorithm.ED25519, issuer.key), kid=issuer.vm)
    verified = ob3.OB3Verifier(public_pem(issuer.key)).verify(token)
    assert verified.id == document["id"]
    with pytest.raises(ob3.OB3VerificationError):
        ob3.OB3Verifier(public_pem(issuer.key)).verify(forged_jwt(token))


# We issue through the running service, with status; openbadgeslib verifies.


@pytest.fixture(scope="module")
def lattice(settings: Settings) -> Iterator[str]:
    """The whole service on its own loopback port (`server` in this folder is a file server)."""
    port = free_port()
    own = settings.model_copy(update={"port": port, "public_url": f"http://127.0.0.1:{port}"})
    yield from serve(own)


@pytest.fixture
async def lattice_provider(lattice: str, sessions: Any, issuer: Issuer) -> AsyncIterator[Provider]:
    made = await make_provider(lattice, sessions, issuer)
    yield made
    await made.http.aclose()


def loopback_download(base_url: str) -> Callable[[str], bytes]:
    """openbadgeslib's own fetcher (so the list is asked for with its headers: none), let
    through to the service on loopback over plain HTTP. A did:web resolves to https, which on
    loopback is sent as http, as the Node harness in ../shared/interop does."""
    secure = "https://" + base_url.removeprefix("http://")

    def download(url: str) -> bytes:
        if url.startswith(secure + "/"):
            url = base_url + url.removeprefix(secure)
        return download_file(url, allow_insecure=True, allow_private=True)

    return download


@pytest.mark.parametrize(
    "fields",
    [{}, {"didMethod": "key", "jwtAlgorithm": "EdDSA"}],
    ids=["did:web issuer, RS256", "did:key issuer, EdDSA"],
)
async def test_openbadgeslib_accepts_our_credential_with_status_until_it_is_revoked(
    lattice: str, lattice_provider: Provider, fields: dict[str, Any]
) -> None:
    """openbadgeslib checks status by default with the list's own JWT signature (the key the
    credential's issuer DID resolves to); it reads a list only as a VC-JWT."""
    provider = lattice_provider
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued = response.json()
    assert issued["credential"]["credentialStatus"]["statusPurpose"] == "revocation"
    download = loopback_download(lattice)
    did = issued["credential"]["issuer"]["id"]
    verifier = await asyncio.to_thread(ob3.OB3Verifier.for_issuer_did, did, download)

    def check() -> Any:
        return verifier.verify(issued["jwt"], check_status=True, download=download)

    active = await asyncio.to_thread(check)
    revoked = await provider.http.post(
        f"/v1/credentials/{issued['id']}/revoke", json={"reason": "awarded in error"}
    )
    assert revoked.status_code == 200, revoked.text

    assert active.id == issued["credential"]["id"]
    with pytest.raises(ob3.OB3VerificationError, match="'revocation' is set"):
        await asyncio.to_thread(check)
