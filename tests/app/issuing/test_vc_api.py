"""W3C VC-API `POST /credentials/issue`: a provider signs a credential it wrote itself."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from keys.data_integrity import verify_document
from keys.multikey import decode_ed25519_public_key, public_key_from_did_key
from schemas.contexts import is_known_context
from tests.builders import unsigned_open_badge
from tests.conftest import Provider, make_provider
from verification import CheckStatus, FetchSettings, SafeFetcher, Verifier

VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


async def issuer_did(public: httpx.AsyncClient, slug: str) -> str:
    did: str = (await public.get(f"/issuers/{slug}")).json()["id"]
    return did


def open_badge(issuer_id: str, *contexts: str) -> dict[str, Any]:
    return unsigned_open_badge(issuer_id, *contexts)


async def sign(provider: Provider, credential: dict[str, Any], **options: Any) -> httpx.Response:
    return await provider.http.post(
        "/credentials/issue", json={"credential": credential, "options": options}
    )


async def issuer_did_key(public: httpx.AsyncClient, slug: str) -> str:
    document = (await public.get(f"/issuers/{slug}/did.json")).json()
    (multikey,) = [m for m in document["verificationMethod"] if m["type"] == "Multikey"]
    return f"did:key:{multikey['publicKeyMultibase']}"


async def assertion_key(public: httpx.AsyncClient, slug: str, method_id: str):
    """The Ed25519 key a verifier finds for `method_id` in the issuer's DID document."""
    document = (await public.get(f"/issuers/{slug}/did.json")).json()
    assert method_id in document["assertionMethod"]
    (method,) = [item for item in document["verificationMethod"] if item["id"] == method_id]
    return decode_ed25519_public_key(method["publicKeyMultibase"])


def assert_problem(response: httpx.Response, status: int, field: str, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == [field]
    for word in words:
        assert word in problem["detail"]


# Signing


async def test_a_vcdm_2_credential_gets_an_id_a_start_date_and_a_proof(
    provider: Provider, public, server
):
    did = await issuer_did(public, provider.slug)
    before = datetime.now(UTC).replace(microsecond=0)

    response = await sign(provider, open_badge(did))

    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert signed["id"].startswith(f"{server}/credentials/")
    valid_from = datetime.fromisoformat(signed["validFrom"])
    assert before <= valid_from <= datetime.now(UTC) + timedelta(seconds=1)
    proof = signed["proof"]
    assert (proof["type"], proof["cryptosuite"]) == ("DataIntegrityProof", "eddsa-rdfc-2022")
    assert proof["proofPurpose"] == "assertionMethod"
    key = await assertion_key(public, provider.slug, proof["verificationMethod"])
    assert verify_document(signed, key).verified


async def test_what_the_caller_wrote_is_signed_unchanged(provider: Provider, public):
    did = await issuer_did(public, provider.slug)
    credential = open_badge(did) | {
        "id": "urn:uuid:6f1b3f2c-7a1e-4c55-9d0e-000000000042",
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2035-01-01T00:00:00Z",
    }

    response = await sign(provider, copy.deepcopy(credential))

    signed = response.json()["verifiableCredential"]
    added = {"proof", "credentialStatus"}
    assert {name: value for name, value in signed.items() if name not in added} == credential
    assert signed["credentialStatus"]["statusPurpose"] == "revocation"


async def test_a_did_key_issuer_is_signed_with_its_did_key(provider: Provider, public):
    document = (await public.get(f"/issuers/{provider.slug}/did.json")).json()
    (multikey,) = [m for m in document["verificationMethod"] if m["type"] == "Multikey"]
    did_key = f"did:key:{multikey['publicKeyMultibase']}"

    response = await sign(provider, open_badge(did_key))

    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    proof = signed["proof"]
    assert proof["verificationMethod"] == f"{did_key}#{multikey['publicKeyMultibase']}"
    assert verify_document(signed, public_key_from_did_key(did_key)).verified


async def test_a_vcdm_1_1_credential_gets_an_issuance_date_and_a_proof(provider: Provider, public):
    did = await issuer_did(public, provider.slug)

    response = await sign(provider, open_badge(did, VC1, OB3))

    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert "validFrom" not in signed
    datetime.fromisoformat(signed["issuanceDate"])
    proof = signed["proof"]
    key = await assertion_key(public, provider.slug, proof["verificationMethod"])
    assert verify_document(signed, key).verified


async def test_a_vcdm_1_1_credential_naming_the_data_integrity_context_is_signed(
    provider: Provider, public
):
    did = await issuer_did(public, provider.slug)
    contexts = (VC1, OB3, "https://w3id.org/security/data-integrity/v2")

    response = await sign(provider, open_badge(did, *contexts))

    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert signed["@context"] == list(contexts)
    datetime.fromisoformat(signed["issuanceDate"])
    proof = signed["proof"]
    key = await assertion_key(public, provider.slug, proof["verificationMethod"])
    assert verify_document(signed, key).verified


async def test_the_signed_credential_is_stored_and_served_at_its_url(provider: Provider, public):
    did = await issuer_did(public, provider.slug)
    signed = (await sign(provider, open_badge(did))).json()["verifiableCredential"]

    served = await public.get(signed["id"])

    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/vc+ld+json")
    assert served.json() == signed


async def test_the_proof_is_one_object_as_the_vc_api_returns_it(provider: Provider, public):
    did = await issuer_did(public, provider.slug)

    response = await sign(provider, open_badge(did))

    proof = response.json()["verifiableCredential"]["proof"]
    assert isinstance(proof, dict)
    assert proof["type"] == "DataIntegrityProof"


async def test_what_is_served_at_the_url_is_byte_for_byte_what_was_returned(
    provider: Provider, public
):
    did = await issuer_did(public, provider.slug)
    response = await sign(provider, open_badge(did))
    credential_id = response.json()["verifiableCredential"]["id"]

    served = await public.get(credential_id)

    assert response.text == f'{{"verifiableCredential":{served.text}}}'


async def test_the_ob_issue_route_keeps_its_proof_array(provider: Provider):
    achievement = await provider.create_achievement()

    issued = (await provider.issue(achievement["id"])).json()

    assert isinstance(issued["credential"]["proof"], list)


# Status: one Bitstring Status List entry, as options.credentialStatus asks


async def test_a_vcdm_2_credential_gets_one_revocation_entry_by_default(
    provider: Provider, public, server
):
    did = await issuer_did(public, provider.slug)

    signed = (await sign(provider, open_badge(did))).json()["verifiableCredential"]

    status = signed["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"
    assert status["statusListCredential"].startswith(f"{server}/status/{provider.slug}/")
    assert status["id"] == f"{status['statusListCredential']}#{status['statusListIndex']}"
    assert (await public.get(status["statusListCredential"])).status_code == 200


@pytest.mark.parametrize(
    "asked",
    [
        {"type": "BitstringStatusListEntry"},
        {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
    ],
    ids=["type only", "revocation"],
)
async def test_options_credential_status_is_honoured(
    provider: Provider, public, asked: dict[str, str]
):
    did = await issuer_did(public, provider.slug)

    response = await sign(provider, open_badge(did), credentialStatus=asked)

    assert response.status_code == 201, response.text
    status = response.json()["verifiableCredential"]["credentialStatus"]
    assert (status["type"], status["statusPurpose"]) == ("BitstringStatusListEntry", "revocation")


async def test_suspension_is_asked_for_only_where_the_issuer_enabled_it_and_stays_revocable(
    provider: Provider, public
):
    did = await issuer_did(public, provider.slug)
    asked = {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"}

    refused = await sign(provider, open_badge(did), credentialStatus=asked)
    enabled = await provider.http.patch(
        f"/v1/issuers/{provider.slug}", json={"suspensionEnabled": True}
    )
    granted = await sign(provider, open_badge(did), credentialStatus=asked)

    assert refused.status_code == 422, refused.text
    assert "has not enabled suspension" in refused.json()["detail"]
    assert enabled.status_code == 200, enabled.text
    assert granted.status_code == 201, granted.text
    entries = granted.json()["verifiableCredential"]["credentialStatus"]
    assert [entry["statusPurpose"] for entry in entries] == ["revocation", "suspension"]


async def test_a_credential_with_its_own_status_keeps_it_and_gets_none_added(
    provider: Provider, public
):
    own = {"id": "https://example.org/status/7#12", "type": "BitstringStatusListEntry"}
    own |= {
        "statusPurpose": "revocation",
        "statusListIndex": "12",
        "statusListCredential": "https://example.org/status/7",
    }
    credential = open_badge(await issuer_did(public, provider.slug)) | {"credentialStatus": own}

    response = await sign(provider, credential)

    assert response.status_code == 201, response.text
    assert response.json()["verifiableCredential"]["credentialStatus"] == own


async def test_a_vcdm_1_1_credential_gets_no_status_entry(provider: Provider, public):
    did = await issuer_did(public, provider.slug)

    signed = (await sign(provider, open_badge(did, VC1, OB3))).json()["verifiableCredential"]

    assert "credentialStatus" not in signed


OWN_STATUS = {"id": "https://example.org/status/7#12", "type": "BitstringStatusListEntry"}


@pytest.mark.parametrize(
    ("extra", "base", "asked", "field", "words"),
    [
        ({}, VC2, {"type": "StatusList2021Entry"}, "options.credentialStatus.type", ["only"]),
        ({}, VC2, {}, "options.credentialStatus.type", ["None", "not supported"]),
        ({}, VC2, "BitstringStatusListEntry", "options.credentialStatus", ["object"]),
        (
            {},
            VC2,
            {"type": "BitstringStatusListEntry", "statusPurpose": "refresh"},
            "options.credentialStatus.statusPurpose",
            ["refresh", "revocation or suspension"],
        ),
        (
            {},
            VC2,
            {"type": "BitstringStatusListEntry", "statusListIndex": "3"},
            "options.credentialStatus",
            ["statusListIndex"],
        ),
        (
            {"credentialStatus": OWN_STATUS},
            VC2,
            {"type": "BitstringStatusListEntry"},
            "options.credentialStatus",
            ["already has a credentialStatus", "not both"],
        ),
        ({}, VC1, {"type": "BitstringStatusListEntry"}, "options.credentialStatus", ["2.0"]),
    ],
    ids=[
        "unknown type",
        "no type",
        "not an object",
        "unknown purpose",
        "unknown member",
        "the credential has its own",
        "vcdm 1.1",
    ],
)
async def test_an_unusable_credential_status_option_is_refused(
    provider: Provider,
    public,
    extra: dict[str, Any],
    base: str,
    asked: Any,
    field: str,
    words: list[str],
):
    credential = open_badge(await issuer_did(public, provider.slug), base, OB3) | extra

    response = await sign(provider, credential, credentialStatus=asked)

    assert_problem(response, 422, field, *words)


# Language and direction (VCDM 2.0 §11.1): signed with rdfDirection i18n-datatype


async def test_a_value_with_a_base_direction_is_signed_and_verifies(provider: Provider, public):
    did_key = await issuer_did_key(public, provider.slug)
    credential = open_badge(did_key)
    credential["description"] = {"@value": "شارة المعلم", "@language": "ar", "@direction": "rtl"}

    response = await sign(provider, credential)

    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert signed["description"] == credential["description"]
    assert verify_document(signed, public_key_from_did_key(did_key)).verified
    tampered = copy.deepcopy(signed)
    tampered["description"]["@direction"] = "ltr"
    assert not verify_document(tampered, public_key_from_did_key(did_key)).verified
    settings = FetchSettings(allow_insecure_http=True, allow_private_networks=True)
    async with SafeFetcher(settings) as fetcher:
        report = await Verifier(fetcher=fetcher).verify(signed)
    assert report.check("proof").status is CheckStatus.PASSED, report.to_json()


# Refusals: 422 problem+json naming the field at fault


UNKNOWN_CONTEXT = "https://example.com/contexts/unknown.jsonld"
EXAMPLES_CONTEXT = "https://www.w3.org/ns/credentials/examples/v2"


async def test_a_context_that_is_not_bundled_is_refused_naming_it(provider: Provider, public):
    credential = open_badge(await issuer_did(public, provider.slug), VC2, OB3, UNKNOWN_CONTEXT)

    response = await sign(provider, credential)

    assert_problem(
        response,
        422,
        "credential.@context[2]",
        f"context {UNKNOWN_CONTEXT} is not known to this service; only bundled contexts are used",
    )


async def test_a_context_imported_by_an_inline_context_that_is_not_bundled_is_refused(
    provider: Provider, public
):
    inline = {"@import": UNKNOWN_CONTEXT}
    credential = open_badge(await issuer_did(public, provider.slug)) | {
        "@context": [VC2, OB3, inline]
    }

    response = await sign(provider, credential)

    assert_problem(response, 422, "credential", UNKNOWN_CONTEXT, "not known to this service")


@pytest.mark.skipif(
    not is_known_context(EXAMPLES_CONTEXT), reason="the VCDM 2.0 examples context is not bundled"
)
async def test_a_credential_in_the_vcdm_examples_context_is_signed(provider: Provider, public):
    did_key = await issuer_did_key(public, provider.slug)
    credential = {
        "@context": [VC2, EXAMPLES_CONTEXT],
        "type": ["VerifiableCredential", "ExampleAlumniCredential"],
        "issuer": did_key,
        "credentialSubject": {"id": "did:example:alumna", "alumniOf": "Example University"},
    }

    response = await sign(provider, credential)

    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert verify_document(signed, public_key_from_did_key(did_key)).verified


async def test_an_undefined_term_is_refused_in_json_ld_safe_mode(provider: Provider, public):
    credential = open_badge(await issuer_did(public, provider.slug))
    credential["credentialSubject"]["favouriteColour"] = "teal"

    response = await sign(provider, credential)

    assert_problem(response, 422, "credential", "favouriteColour")


async def test_a_credential_of_another_issuer_is_refused(provider: Provider):
    credential = open_badge("did:web:example.org:issuers:someone-else")

    response = await sign(provider, credential)

    assert_problem(response, 422, "credential.issuer", "issuer must be this issuer")


async def test_a_credential_that_already_has_a_proof_is_refused(provider: Provider, public):
    credential = open_badge(await issuer_did(public, provider.slug))
    signed = (await sign(provider, credential)).json()["verifiableCredential"]

    response = await sign(provider, signed)

    assert_problem(response, 422, "credential.proof", "already signed")


async def test_a_credential_without_a_subject_is_refused(provider: Provider, public):
    credential = open_badge(await issuer_did(public, provider.slug))
    del credential["credentialSubject"]

    response = await sign(provider, credential)

    assert_problem(response, 422, "credential.credentialSubject", "credentialSubject")


async def test_options_created_is_the_proofs_created(provider: Provider, public):
    credential = open_badge(await issuer_did(public, provider.slug))

    response = await sign(provider, credential, created="2025-02-03T04:05:06Z")

    assert response.json()["verifiableCredential"]["proof"]["created"] == "2025-02-03T04:05:06Z"


@pytest.mark.parametrize("created", ["yesterday", "2025-02-03T04:05:06", 5])
async def test_an_options_created_that_is_not_a_date_time_stamp_is_refused(
    provider: Provider, public, created: Any
):
    credential = open_badge(await issuer_did(public, provider.slug))

    response = await sign(provider, credential, created=created)

    assert_problem(response, 422, "options.created", '"created"')


async def test_an_unknown_option_is_refused(provider: Provider, public):
    credential = open_badge(await issuer_did(public, provider.slug))

    response = await sign(provider, credential, challenge="abc")

    assert_problem(response, 422, "options", "challenge")


# Who may sign


async def test_a_client_without_the_issue_scope_is_forbidden(server, sessions, issuer, public):
    reader = await make_provider(server, sessions, issuer, scopes=("achievements:write",))
    try:
        response = await sign(reader, open_badge(await issuer_did(public, issuer.slug)))
    finally:
        await reader.http.aclose()

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_anonymous_caller_is_unauthorized(public, issuer):
    body = {"credential": open_badge(await issuer_did(public, issuer.slug)), "options": {}}

    response = await public.post("/credentials/issue", json=body)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("base", "start", "end"),
    [(VC2, "validFrom", "validUntil"), (VC1, "issuanceDate", "expirationDate")],
    ids=["vcdm-2.0", "vcdm-1.1"],
)
async def test_an_end_date_before_the_start_is_refused(
    provider: Provider, public, base: str, start: str, end: str
):
    credential = open_badge(await issuer_did(public, provider.slug), base, OB3) | {
        start: "2030-01-01T00:00:00Z",
        end: "2029-01-01T00:00:00Z",
    }

    response = await sign(provider, credential)

    assert_problem(response, 422, f"credential.{end}", end)
