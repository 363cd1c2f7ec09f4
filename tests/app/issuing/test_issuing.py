"""Issuing through the HTTP API: what a provider sends and what the teacher receives."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from schemas.json_schemas import schema_errors
from storage.models import (
    Credential,
    CredentialEvent,
    CredentialEvidence,
    CredentialRecipient,
    WebhookDelivery,
)
from tests.conftest import Provider


async def test_an_award_returns_a_signed_open_badge_credential_and_its_vc_jwt(provider: Provider):
    achievement = await provider.create_achievement()

    response = await provider.issue(achievement["id"])

    assert response.status_code == 201, response.text
    body = response.json()
    credential = body["credential"]
    assert credential["@context"][:2] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"] == body["url"] == response.headers["location"]
    assert credential["issuer"]["id"].endswith(f":issuers:{provider.slug}")
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert credential["proof"][0]["proofPurpose"] == "assertionMethod"
    assert credential["credentialSubject"]["achievement"]["id"] == achievement["url"]
    assert body["jwt"].count(".") == 2
    assert schema_errors(credential) == []


async def test_the_recipient_email_is_hashed_with_a_salt(provider: Provider):
    achievement = await provider.create_achievement()

    response = await provider.issue(
        achievement["id"], recipient={"email": "Jane.Doe@Example.org", "name": "Jane Doe"}
    )

    identifiers = response.json()["credential"]["credentialSubject"]["identifier"]
    email = next(item for item in identifiers if item["identityType"] == "emailAddress")
    assert email["hashed"] is True
    assert email["identityHash"].startswith("sha256$")
    assert "jane" not in json.dumps(email).lower()
    assert {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": False,
        "identityHash": "Jane Doe",
    } in identifiers


async def test_the_stored_credential_is_the_exact_bytes_returned(
    provider: Provider, public, sessions
):
    achievement = await provider.create_achievement()
    issued = (
        await provider.issue(
            achievement["id"],
            recipient={"email": "t@example.org", "educatorId": "123456", "state": "tx"},
            evidence=[
                {
                    "url": "https://example.org/evidence/1",
                    "name": "Lesson plan",
                    "genre": "Lesson plan",
                }
            ],
            results=[{"resultDescription": "lesson-plan", "achievedLevel": "proficient"}],
            validUntil="2031-06-30T00:00:00Z",
        )
    ).json()

    served = await public.get(issued["url"])

    assert served.headers["content-type"].startswith("application/vc+ld+json")
    assert json.loads(served.content) == issued["credential"]
    credential_id = issued["id"]
    async with sessions() as session:
        row = await session.get(Credential, __import__("uuid").UUID(credential_id))
        assert row is not None and json.loads(row.document) == issued["credential"]
        assert row.document.encode() == served.content
        evidence = list(
            await session.scalars(
                select(CredentialEvidence).where(CredentialEvidence.credential_id == row.id)
            )
        )
        assert [item.url for item in evidence] == ["https://example.org/evidence/1"]
        recipients = list(
            await session.scalars(
                select(CredentialRecipient).where(CredentialRecipient.credential_id == row.id)
            )
        )
        assert {item.identity_type for item in recipients} == {
            "emailAddress",
            "ext:StateEducatorId",
        }
        events = list(
            await session.scalars(
                select(CredentialEvent).where(CredentialEvent.credential_id == row.id)
            )
        )
        assert [event.event_type for event in events] == ["issued"]


async def test_the_vc_jwt_is_served_on_request(provider: Provider, public):
    achievement = await provider.create_achievement()
    issued = (await provider.issue(achievement["id"])).json()

    by_accept = await public.get(issued["url"], headers={"Accept": "application/jwt"})
    by_suffix = await public.get(issued["url"] + ".jwt")

    assert by_accept.text == by_suffix.text == issued["jwt"]
    assert by_accept.headers["content-type"].startswith("application/jwt")


async def test_a_retried_request_with_the_same_idempotency_key_returns_the_same_credential(
    provider: Provider, sessions
):
    achievement = await provider.create_achievement()
    body = {"achievementId": achievement["id"], "recipient": {"email": "t@example.org"}}
    headers = {"Idempotency-Key": "award-42"}
    url = f"/v1/issuers/{provider.slug}/credentials"

    first = await provider.http.post(url, json=body, headers=headers)
    second = await provider.http.post(url, json=body, headers=headers)
    other = await provider.http.post(
        url, json=body | {"recipient": {"email": "x@example.org"}}, headers=headers
    )

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["idempotent-replayed"] == "true"
    assert second.content == first.content
    assert other.status_code == 409
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Credential)
            .where(
                Credential.idempotency_key == "award-42", Credential.issuer_id == provider.issuer.id
            )
        )
    assert count == 1


async def test_a_batch_reports_each_item_on_its_own(provider: Provider):
    achievement = await provider.create_achievement()
    good = {"achievementId": achievement["id"], "recipient": {"email": "a@example.org"}}
    items = [good] * 20 + [
        {"achievementId": achievement["id"], "recipient": {"email": "not-an-email"}},
        {
            "achievementId": "00000000-0000-0000-0000-000000000000",
            "recipient": {"email": "b@example.org"},
        },
    ]

    response = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials:batch", json={"items": items}
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["succeeded"], body["failed"]) == (20, 2)
    assert [result["status"] for result in body["results"][-2:]] == [422, 422]
    assert body["results"][-2]["problem"]["errors"][0]["field"] == "recipient.email"
    assert body["results"][-1]["problem"]["errors"][0]["field"] == "achievementId"
    ids = {result["id"] for result in body["results"][:20]}
    assert len(ids) == 20
    assert all(schema_errors(result["credential"]) == [] for result in body["results"][:20])


async def test_a_batch_over_the_limit_is_refused(provider: Provider, settings):
    achievement = await provider.create_achievement()
    good = {"achievementId": achievement["id"], "recipient": {"email": "a@example.org"}}

    response = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials:batch",
        json={"items": [good] * (settings.max_batch_items + 1)},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_identical_requests_racing_with_one_idempotency_key_get_one_credential(
    provider: Provider, sessions
):
    """The retry of a request still running (a client timing out and retrying at once) must
    not issue twice, nor be refused: every copy answers with the one credential, and its
    webhook event is queued once."""
    webhook = await provider.http.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["credential.issued"]}
    )
    assert webhook.status_code == 201, webhook.text
    achievement = await provider.create_achievement()
    body = {"achievementId": achievement["id"], "recipient": {"email": "t@example.org"}}
    url = f"/v1/issuers/{provider.slug}/credentials"

    responses = await asyncio.gather(
        *(provider.http.post(url, json=body, headers={"Idempotency-Key": "race"}) for _ in range(8))
    )

    assert sorted(response.status_code for response in responses) == [200] * 7 + [201]
    assert len({response.content for response in responses}) == 1
    async with sessions() as session:
        stored = list(
            await session.scalars(
                select(Credential.id).where(Credential.issuer_id == provider.issuer.id)
            )
        )
        events = await session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.credential_id.in_(stored))
        )
    assert (len(stored), events) == (1, 1)
