"""`POST /credentials/issue` refuses what the VC Data Model calls invalid, one rule per test.

Each refusal is a 422 problem+json whose field points at the offending item (never a 500),
and the well-formed form of each property is still signed as written.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from keys.data_integrity import verify_document
from keys.multikey import public_key_from_did_key
from tests.builders import unsigned_open_badge
from tests.conftest import Provider

VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY = "https://w3id.org/security/data-integrity/v2"
SCHEMA_URL = "https://example.org/schemas/family-engagement.json"
EVIDENCE_URL = "https://example.org/evidence/literacy-night"
LOGO_URL = "https://example.org/images/family-engagement.png"
LOGO_SRI = "sha384-S57yQDg1MTzF56Oi9DbSQ14u7jBy0RDdx0YbeV7shwhCS88G8SCXeFq82PafhCrW"
LOGO_MULTIBASE = "uEiBZlVztZpfWHgPyslVv6-UwirFoQoRvW1htfx963sknNA"
TERMS_URL = "https://example.org/terms/badges"


async def did_key_of(public: httpx.AsyncClient, slug: str) -> str:
    document = (await public.get(f"/issuers/{slug}/did.json")).json()
    (multikey,) = [m for m in document["verificationMethod"] if m["type"] == "Multikey"]
    return f"did:key:{multikey['publicKeyMultibase']}"


async def sign(provider: Provider, credential: dict[str, Any]) -> httpx.Response:
    return await provider.http.post(
        "/credentials/issue", json={"credential": credential, "options": {}}
    )


def assert_refused(response: httpx.Response, field: str, *words: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == [field], problem
    for word in words:
        assert word in problem["detail"], problem


async def badge(provider: Provider, public: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    """An unsigned VCDM 2.0 OpenBadgeCredential of the provider's did:key, plus `extra`."""
    return unsigned_open_badge(await did_key_of(public, provider.slug)) | extra


# VCDM 2.0 §4.10, §4.11, §5.4, §5.5, §5.6: each item of these properties names its type
# (credentialSchema also its id); each may be one object or an array of them.

TYPED_ITEMS = {
    "credentialStatus without type": (
        {"credentialStatus": {"id": "https://example.org/status/1#3"}},
        "credential.credentialStatus.type",
    ),
    "second credentialStatus without type": (
        {
            "credentialStatus": [
                {"id": "https://example.org/status/1#3", "type": "BitstringStatusListEntry"},
                {"id": "https://example.org/status/2#3"},
            ]
        },
        "credential.credentialStatus[1].type",
    ),
    "credentialSchema without type": (
        {"credentialSchema": {"id": SCHEMA_URL}},
        "credential.credentialSchema.type",
    ),
    "credentialSchema without id": (
        {"credentialSchema": [{"type": "JsonSchema"}]},
        "credential.credentialSchema[0].id",
    ),
    "evidence without type": (
        {"evidence": [{"id": EVIDENCE_URL, "name": "Literacy night"}]},
        "credential.evidence[0].type",
    ),
    "refreshService without type": (
        {"refreshService": {"id": "https://example.org/refresh/1"}},
        "credential.refreshService.type",
    ),
    "termsOfUse without type": (
        {"termsOfUse": {"id": TERMS_URL}},
        "credential.termsOfUse.type",
    ),
    "an empty type": (
        {"termsOfUse": {"id": TERMS_URL, "type": []}},
        "credential.termsOfUse.type",
    ),
    "an id that is not a URL": (
        {"evidence": {"id": "literacy night", "type": ["Evidence"]}},
        "credential.evidence.id",
    ),
    "an item that is not an object": (
        {"evidence": [EVIDENCE_URL]},
        "credential.evidence[0]",
    ),
    "an empty array": ({"credentialStatus": []}, "credential.credentialStatus"),
}


@pytest.mark.parametrize(("extra", "field"), TYPED_ITEMS.values(), ids=TYPED_ITEMS.keys())
async def test_status_schema_evidence_refresh_and_terms_items_must_name_their_type(
    provider: Provider, public, extra: dict[str, Any], field: str
):
    response = await sign(provider, await badge(provider, public, **extra))

    assert_refused(response, field, field.rsplit(".", 1)[-1].split("[")[0])


# VCDM 1.1 §4.9, §5.4: there credentialStatus and refreshService also need an id.

VCDM_1_ITEMS = {
    "credentialStatus without id": (
        {"credentialStatus": {"type": "StatusList2021Entry"}},
        "credential.credentialStatus.id",
    ),
    "refreshService without id": (
        {"refreshService": {"type": "ManualRefreshService2018"}},
        "credential.refreshService.id",
    ),
}


@pytest.mark.parametrize(("extra", "field"), VCDM_1_ITEMS.values(), ids=VCDM_1_ITEMS.keys())
async def test_vcdm_1_1_status_and_refresh_items_must_have_an_id(
    provider: Provider, public, extra: dict[str, Any], field: str
):
    did_key = await did_key_of(public, provider.slug)
    credential = unsigned_open_badge(did_key, VC1, OB3, DATA_INTEGRITY) | extra

    response = await sign(provider, credential)

    assert_refused(response, field, '"id"')


# VCDM 2.0 §5.3: each relatedResource has an id (a URL, listed once) and a digest.

RELATED_RESOURCES = {
    "no digest": (
        {"relatedResource": [{"id": LOGO_URL}]},
        "credential.relatedResource[0]",
        "digestSRI",
    ),
    "no id": (
        {"relatedResource": [{"digestSRI": LOGO_SRI}]},
        "credential.relatedResource[0].id",
        "URL",
    ),
    "an id that is not a URL": (
        {"relatedResource": {"id": "logo", "digestMultibase": LOGO_MULTIBASE}},
        "credential.relatedResource.id",
        "URL",
    ),
    "the same id twice": (
        {
            "relatedResource": [
                {"id": LOGO_URL, "digestSRI": LOGO_SRI},
                {"id": LOGO_URL, "digestMultibase": LOGO_MULTIBASE},
            ]
        },
        "credential.relatedResource[1].id",
        "unique",
    ),
    "a digest that is not a string": (
        {"relatedResource": [{"id": LOGO_URL, "digestSRI": 384}]},
        "credential.relatedResource[0].digestSRI",
        "digestSRI",
    ),
    "a URL instead of an object": (
        {"relatedResource": [LOGO_URL]},
        "credential.relatedResource[0]",
        "object",
    ),
    "an empty array": ({"relatedResource": []}, "credential.relatedResource", "non-empty"),
}


@pytest.mark.parametrize(
    ("extra", "field", "word"), RELATED_RESOURCES.values(), ids=RELATED_RESOURCES.keys()
)
async def test_related_resources_need_a_unique_url_id_and_a_digest(
    provider: Provider, public, extra: dict[str, Any], field: str, word: str
):
    response = await sign(provider, await badge(provider, public, **extra))

    assert_refused(response, field, word)


# VCDM 2.0 §4.8: "each object MUST be the subject of one or more claims".

EMPTY_SUBJECTS = {
    "an empty object": ({}, "credential.credentialSubject"),
    "an empty array": ([], "credential.credentialSubject"),
    "an array of an empty object": ([{}], "credential.credentialSubject[0]"),
    "a second, empty subject": (
        [{"id": "did:example:teacher-1", "name": "Jane"}, {}],
        "credential.credentialSubject[1]",
    ),
    "a string subject": (["did:example:teacher-1"], "credential.credentialSubject[0]"),
}


@pytest.mark.parametrize(("subject", "field"), EMPTY_SUBJECTS.values(), ids=EMPTY_SUBJECTS.keys())
async def test_every_credential_subject_makes_a_claim(
    provider: Provider, public, subject: Any, field: str
):
    response = await sign(provider, await badge(provider, public, credentialSubject=subject))

    assert_refused(response, field, "credentialSubject")


# The same properties, well formed, are signed as written.


async def test_well_formed_items_of_every_kind_are_signed_as_written(provider: Provider, public):
    extra = {
        "credentialSchema": [{"id": SCHEMA_URL, "type": "JsonSchema"}],
        "evidence": [{"id": EVIDENCE_URL, "type": ["Evidence"], "name": "Literacy night"}],
        "termsOfUse": {"id": TERMS_URL, "type": "https://example.org/vocab#BadgePolicy"},
        "refreshService": {"type": "https://example.org/vocab#ManualRefreshService"},
        "relatedResource": [
            {"id": LOGO_URL, "digestSRI": LOGO_SRI, "mediaType": "image/png"},
            {"id": SCHEMA_URL, "digestMultibase": LOGO_MULTIBASE},
        ],
    }
    credential = await badge(provider, public, **extra)

    response = await sign(provider, credential)

    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert {name: signed[name] for name in extra} == extra
    assert verify_document(signed, public_key_from_did_key(credential["issuer"]["id"])).verified


async def test_a_subject_with_only_an_id_is_signed(provider: Provider, public):
    credential = await badge(provider, public, credentialSubject={"id": "did:example:teacher-1"})

    response = await sign(provider, credential)

    assert response.status_code == 201, response.text


# JSON-LD processing recurses once per level: nesting beyond any credential's is refused.


async def test_a_credential_nested_deeper_than_any_credential_is_refused(
    provider: Provider, public
):
    subject: dict[str, Any] = {"id": "did:example:teacher-1", "name": "Jane"}
    for _ in range(900):
        subject = {"id": "did:example:teacher-1", "achievement": subject}
    body = json.dumps(
        {"credential": await badge(provider, public, credentialSubject=subject), "options": {}}
    )

    response = await provider.http.post(
        "/credentials/issue", content=body, headers={"Content-Type": "application/json"}
    )

    assert_refused(response, "credential", "64 levels")
