"""What a verifier reads about an issuer: its DID document, JWK sets, profile and achievements."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from badges.issuers.issuers import (
    IssuerDetails,
    create_issuer,
    get_issuer,
    rotate_keys,
)
from keys.vc_jwt import decode_unverified
from storage.session import transaction
from tests.conftest import Provider

# Members that only a private JWK carries (RFC 7518 §6.2.2, §6.3.2, §6.4).
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def all_member_names(document: Any) -> set[str]:
    """Every object member name anywhere in a JSON document."""
    if isinstance(document, dict):
        return set(document).union(*(all_member_names(value) for value in document.values()))
    if isinstance(document, list):
        return set().union(*(all_member_names(value) for value in document))
    return set()


def expected_did(server: str, slug: str) -> str:
    return f"did:web:127.0.0.1%3A{urlsplit(server).port}:issuers:{slug}"


async def did_document(public, slug: str) -> dict[str, Any]:
    response = await public.get(f"/issuers/{slug}/did.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/did+json")
    document: dict[str, Any] = response.json()
    return document


# The DID document


async def test_the_did_document_is_named_by_the_issuers_did_web(public, server, issuer):
    document = await did_document(public, issuer.slug)

    assert document["id"] == expected_did(server, issuer.slug)
    assert document["@context"][0] == "https://www.w3.org/ns/did/v1"


async def test_every_key_is_published_as_a_verification_method_for_assertions(
    public, server, issuer
):
    document = await did_document(public, issuer.slug)

    did = expected_did(server, issuer.slug)
    methods = document["verificationMethod"]
    assert all(method["controller"] == did for method in methods)
    assert all(method["id"].startswith(did + "#") for method in methods)
    multikeys = [method for method in methods if method["type"] == "Multikey"]
    jwks = {
        method["publicKeyJwk"]["kty"]: method
        for method in methods
        if method["type"] == "JsonWebKey"
    }
    assert len(multikeys) == 1 and multikeys[0]["publicKeyMultibase"].startswith("z6Mk")
    assert set(jwks) == {"OKP", "RSA"}
    assert jwks["OKP"]["publicKeyJwk"]["crv"] == "Ed25519"
    assert set(document["assertionMethod"]) == {method["id"] for method in methods}


async def test_no_private_key_member_is_published_anywhere(public, issuer):
    documents = [
        await did_document(public, issuer.slug),
        (await public.get(f"/issuers/{issuer.slug}/jwks.json")).json(),
        (await public.get("/.well-known/jwks.json")).json(),
        (await public.get(f"/issuers/{issuer.slug}")).json(),
    ]

    for document in documents:
        assert all_member_names(document) & PRIVATE_JWK_MEMBERS == set()


async def test_a_key_rotation_keeps_the_old_keys_and_adds_new_ones(public, issuer, sessions, vault):
    before = await did_document(public, issuer.slug)

    async with transaction(sessions) as session:
        await rotate_keys(session, vault, await get_issuer(session, issuer.slug))
    after = await did_document(public, issuer.slug)

    old_ids = [method["id"] for method in before["verificationMethod"]]
    new_ids = [method["id"] for method in after["verificationMethod"]]
    assert new_ids[: len(old_ids)] == old_ids
    assert after["verificationMethod"][: len(old_ids)] == before["verificationMethod"]
    assert len(new_ids) == 2 * len(old_ids)
    assert set(after["assertionMethod"]) == set(new_ids)
    jwks = (await public.get(f"/issuers/{issuer.slug}/jwks.json")).json()
    assert len(jwks["keys"]) == 4


# JWK sets


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
async def test_the_vc_jwt_kid_is_in_the_issuer_and_service_jwk_sets(
    provider: Provider, public, algorithm: str
):
    achievement = await provider.create_achievement()
    issued = (await provider.issue(achievement["id"], jwtAlgorithm=algorithm)).json()
    header, payload = decode_unverified(issued["jwt"])

    issuer_set = await public.get(f"/issuers/{provider.slug}/jwks.json")
    service_set = await public.get("/.well-known/jwks.json")

    assert issuer_set.headers["content-type"].startswith("application/jwk-set+json")
    for jwk_set in (issuer_set.json(), service_set.json()):
        (key,) = [key for key in jwk_set["keys"] if key["kid"] == header["kid"]]
        assert key["alg"] == algorithm
        assert key["iss"] == payload["iss"] == issued["credential"]["issuer"]["id"]
        assert key["use"] == "sig"


# The issuer profile


async def test_the_profile_is_json_ld_by_default(public, server, issuer):
    response = await public.get(f"/issuers/{issuer.slug}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    profile = response.json()
    assert profile["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert profile["id"] == expected_did(server, issuer.slug)
    assert profile["type"] == ["Profile"]
    assert profile["name"] == "Digital Promise"


async def test_a_browser_gets_the_profile_as_a_page(public, issuer):
    response = await public.get(f"/issuers/{issuer.slug}", headers={"Accept": BROWSER_ACCEPT})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Digital Promise</h1>" in response.text
    assert f"/issuers/{issuer.slug}/did.json" in response.text


async def test_the_profile_page_escapes_the_issuers_name(public, sessions, vault):
    slug = f"issuer-{uuid.uuid4().hex[:10]}"
    async with transaction(sessions) as session:
        await create_issuer(
            session, vault, IssuerDetails(slug=slug, name='<script>alert("x")</script> & Co')
        )

    page = await public.get(f"/issuers/{slug}", headers={"Accept": BROWSER_ACCEPT})

    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page.text


@pytest.mark.parametrize(
    "path", ["/issuers/{slug}", "/issuers/{slug}/did.json", "/issuers/{slug}/jwks.json"]
)
async def test_an_unknown_issuer_is_a_404_problem(public, path: str):
    response = await public.get(path.format(slug="no-such-issuer"))

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404
    assert "no-such-issuer" in response.json()["detail"]


# Achievements


async def test_the_public_achievement_is_the_one_embedded_in_credentials(
    provider: Provider, public
):
    achievement = await provider.create_achievement()
    credential = (await provider.issue(achievement["id"])).json()["credential"]
    embedded = credential["credentialSubject"]["achievement"]

    response = await public.get(embedded["id"])

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    assert document.pop("@context") == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert document == embedded
