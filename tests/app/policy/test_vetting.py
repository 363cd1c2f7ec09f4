"""Vetting, as a state runs it: a provider (or a teacher, or the agency's staff) asks the
agency to vet an MC for a purpose; reviewers score it against the rubric; the decision
becomes an approval with dates that stacks count; every step is in the audit trail."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
)
from badges.policy.vetting_rubric import DEFAULT_RUBRIC
from formats.identity import hash_identity
from keys.data_integrity import sign_document
from keys.multikey import did_key_for, did_key_verification_method
from storage.session import transaction
from tests.app.wallets.wallet_holder import signed_in_teacher
from tests.builders import unsigned_open_badge
from tests.conftest import AgencyClient, Provider, make_provider

EDUCATOR = {"educatorId": "7654321", "state": "TX"}
LONG_AGO = "2015-01-01T00:00:00Z"
PASSING = {item.key: 2 for item in DEFAULT_RUBRIC.criteria}
OUTSIDE_MC = "https://provider.example.org/achievements/family-literacy"


def _ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _ask(
    provider: Provider, agency: AgencyClient, achievement: str, purpose: str = "license_renewal"
) -> httpx.Response:
    return await provider.http.post(
        "/v1/vetting-requests",
        json={
            "agency": agency.slug,
            "purpose": purpose,
            "achievementId": achievement,
            "statement": "Aligned with the state's literacy standards.",
        },
    )


async def _asked(provider: Provider, agency: AgencyClient, achievement: str) -> dict[str, Any]:
    response = await _ask(provider, agency, achievement)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def _review(
    agency: AgencyClient, request_id: str, scores: dict[str, Any] | None = None, **extra: Any
) -> httpx.Response:
    return await agency.http.post(
        f"/v1/agency/vetting/{request_id}/reviews",
        json={"scores": PASSING if scores is None else scores, "recommendation": "approve"} | extra,
    )


async def _decide(agency: AgencyClient, request_id: str, **body: Any) -> httpx.Response:
    payload = {"decision": "approved", "effectiveFrom": LONG_AGO} | body
    return await agency.http.post(f"/v1/agency/vetting/{request_id}/decision", json=payload)


async def _detail(agency: AgencyClient, request_id: str) -> dict[str, Any]:
    response = await agency.http.get(f"/v1/agency/vetting/{request_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _approvals(agency: AgencyClient, iri: str) -> list[dict[str, Any]]:
    response = await agency.http.get("/v1/agency/approvals")
    assert response.status_code == 200, response.text
    return [item for item in response.json() if item["achievementId"] == iri]


async def test_a_vetted_mc_counts_toward_a_stack_for_its_purpose_and_every_step_is_recorded(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement(name="Literacy MC")
    asked = await _asked(provider, agency, mc["id"])
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "LIT",
            "name": "Literacy renewal",
            "rule": {"atLeast": 1, "of": [mc["url"]]},
            "purpose": "license_renewal",
        },
    )
    assert stack.status_code == 201, stack.text
    stack_id = stack.json()["id"].rsplit("/", 1)[1]
    await agency.http.post("/v1/agency/educators", json=EDUCATOR)
    awarded = await provider.issue(
        mc["id"], recipient=EDUCATOR, awardedDate=_ago(100), validFrom=_ago(100)
    )
    assert awarded.status_code == 201, awarded.text

    async def evaluate() -> dict[str, Any]:
        response = await agency.http.post(
            "/v1/agency/evaluations", json={"educator": EDUCATOR, "stackId": stack_id}
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    before = await evaluate()
    assert (await _review(agency, asked["id"])).status_code == 201
    decided = await _decide(agency, asked["id"], note="Meets every criterion.")
    after = await evaluate()

    assert asked["achievementId"] == mc["url"] and asked["state"] == "submitted"
    assert before["met"] is False
    assert decided.status_code == 200, decided.text
    assert after["met"] is True
    [approval] = await _approvals(agency, mc["url"])
    assert approval["purpose"] == "license_renewal" and approval["decision"] == "approved"
    assert decided.json()["approvalId"] == approval["id"]
    trail = decided.json()["events"]
    assert [item["action"] for item in trail] == ["submitted", "review_added", "decided"]
    assert trail[0]["actor"] == f"provider:{provider.client_id}"
    assert all(item["actor"].startswith("agency:") for item in trail[1:])
    assert [item["at"] for item in trail] == sorted(item["at"] for item in trail)
    mine = (await provider.http.get(f"/v1/vetting-requests/{asked['id']}")).json()
    assert mine["state"] == "approved"
    assert mine["outcome"]["note"] == "Meets every criterion."
    assert mine["outcome"]["effectiveFrom"].startswith("2015-01-01")


async def test_the_agency_sees_its_queue_oldest_first_a_page_at_a_time(
    provider: Provider, agency: AgencyClient
):
    mcs = [await provider.create_achievement(name=f"MC {n}") for n in range(3)]
    asked = [await _asked(provider, agency, item["id"]) for item in mcs]
    await _review(agency, asked[1]["id"])

    first = (await agency.http.get("/v1/agency/vetting", params={"limit": 2})).json()
    second = (
        await agency.http.get("/v1/agency/vetting", params={"limit": 2, "cursor": first["next"]})
    ).json()
    in_review = (await agency.http.get("/v1/agency/vetting", params={"state": "in_review"})).json()
    elsewhere = await agency.http.get("/v1/agency/vetting", params={"purpose": "endorsement"})
    foreign_cursor = await agency.http.get(
        "/v1/agency/vetting", params={"state": "submitted", "cursor": first["next"]}
    )

    ids = [item["id"] for item in first["items"] + second["items"]]
    assert ids == [item["id"] for item in asked] and second["next"] is None
    assert first["items"][0]["requestedBy"] == {"kind": "provider", "id": str(provider.issuer.id)}
    assert [item["id"] for item in in_review["items"]] == [asked[1]["id"]]
    assert in_review["items"][0]["reviewCount"] == 1
    assert elsewhere.json()["items"] == []
    assert foreign_cursor.status_code == 422


async def test_the_default_rubric_can_be_replaced_and_each_review_keeps_the_one_it_used(
    provider: Provider, agency: AgencyClient
):
    asked = await _asked(provider, agency, (await provider.create_achievement())["id"])
    default = (await agency.http.get("/v1/agency/vetting/rubric")).json()
    assert (await _review(agency, asked["id"])).status_code == 201
    own = {
        "criteria": [
            {
                "key": "impact",
                "name": "Impact on students",
                "description": "Evidence of student learning.",
                "scale": {"min": 1, "max": 5},
                "passing": 4,
            },
            {"key": "cost", "name": "Cost", "scale": {"min": 0, "max": 1}, "passing": 1},
        ]
    }
    replaced = await agency.http.put("/v1/agency/vetting/rubric", json=own)
    second = await _review(agency, asked["id"], {"impact": 3, "cost": 1}, recommendation="revise")
    old_scores = await _review(agency, asked["id"])
    detail = await _detail(agency, asked["id"])

    assert default["default"] is True
    assert [item["key"] for item in default["criteria"]] == list(PASSING)
    assert all(item["scale"] == {"min": 0, "max": 3} for item in default["criteria"])
    assert replaced.status_code == 200 and replaced.json()["default"] is False
    assert second.status_code == 201, second.text
    assert second.json()["meetsRubric"] is False and second.json()["belowPassing"] == ["impact"]
    assert old_scores.status_code == 422
    first, kept = detail["reviews"]
    assert [item["key"] for item in first["rubric"]["criteria"]] == list(PASSING)
    assert first["meetsRubric"] is True
    assert kept["rubric"]["criteria"][0]["scale"] == {"min": 1, "max": 5}


async def test_a_rubric_that_breaks_a_rule_is_refused_naming_it(agency: AgencyClient):
    one = {"key": "a", "name": "A", "scale": {"min": 0, "max": 3}, "passing": 2}
    cases = [
        ({"criteria": []}, "criteria"),
        ({"criteria": [one, one]}, "criteria[1].key"),
        ({"criteria": [one | {"passing": 4}]}, "criteria[0].passing"),
        ({"criteria": [one | {"scale": {"min": 3, "max": 3}}]}, "criteria[0].scale"),
        ({"criteria": [one | {"key": "Not a key"}]}, "criteria[0].key"),
    ]
    for body, field in cases:
        response = await agency.http.put("/v1/agency/vetting/rubric", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [item["field"] for item in response.json()["errors"]], response.text
    assert (await agency.http.get("/v1/agency/vetting/rubric")).json()["default"] is True


async def test_a_review_scores_every_criterion_within_its_scale(
    provider: Provider, agency: AgencyClient
):
    asked = await _asked(provider, agency, (await provider.create_achievement())["id"])
    missing = await _review(
        agency, asked["id"], {k: v for k, v in PASSING.items() if k != "evidence"}
    )
    too_high = await _review(agency, asked["id"], PASSING | {"evidence": 4})
    unknown = await _review(agency, asked["id"], PASSING | {"charisma": 3})
    not_a_number = await _review(agency, asked["id"], PASSING | {"evidence": "2"})
    untouched = await _detail(agency, asked["id"])
    done = await _review(agency, asked["id"], comment="Solid evidence.", reviewer="R. Diaz")

    for response, field in (
        (missing, "scores.evidence"),
        (too_high, "scores.evidence"),
        (unknown, "scores.charisma"),
        (not_a_number, "scores.evidence"),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    assert untouched["state"] == "submitted" and untouched["reviews"] == []
    assert done.status_code == 201 and done.json()["reviewer"] == "R. Diaz"
    assert (await _detail(agency, asked["id"]))["state"] == "in_review"


async def test_an_open_request_for_the_same_mc_and_purpose_is_a_conflict_naming_it(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement()
    first = await _asked(provider, agency, mc["id"])

    again = await _ask(provider, agency, mc["url"])  # by its IRI this time
    other_purpose = await _ask(provider, agency, mc["id"], purpose="endorsement")
    declined = await _decide(agency, first["id"], decision="declined", effectiveFrom=None)
    after_decline = await _ask(provider, agency, mc["id"])

    assert again.status_code == 409 and first["id"] in again.json()["detail"]
    assert other_purpose.status_code == 201
    assert declined.status_code == 200 and declined.json()["approvalId"] is None
    assert await _approvals(agency, mc["url"]) == []  # a decline leaves the list as it was
    assert after_decline.status_code == 201


async def test_parallel_decisions_make_exactly_one_approval(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement()
    asked = await _asked(provider, agency, mc["id"])
    await _review(agency, asked["id"])

    answers = await asyncio.gather(
        *(_decide(agency, asked["id"], note=f"decision {n}") for n in range(6)),
        _decide(agency, asked["id"], decision="declined", effectiveFrom=None),
    )

    statuses = sorted(item.status_code for item in answers)
    assert statuses == [200] + [409] * 6, [item.text for item in answers]
    detail = await _detail(agency, asked["id"])
    decided = [item for item in detail["events"] if item["action"] == "decided"]
    assert len(decided) == 1
    approvals = await _approvals(agency, mc["url"])
    if detail["state"] == "approved":
        assert [item["id"] for item in approvals] == [detail["approvalId"]]
    else:
        assert approvals == [] and detail["approvalId"] is None


async def test_parallel_withdrawal_and_decision_end_the_request_once(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement()
    asked = await _asked(provider, agency, mc["id"])
    await _review(agency, asked["id"])

    withdrawn, decided = await asyncio.gather(
        provider.http.post(f"/v1/vetting-requests/{asked['id']}/withdraw", json={}),
        _decide(agency, asked["id"]),
    )

    assert sorted([withdrawn.status_code, decided.status_code]) == [200, 409]
    detail = await _detail(agency, asked["id"])
    closing = [item for item in detail["events"] if item["action"] in ("decided", "withdrawn")]
    assert len(closing) == 1
    assert len(await _approvals(agency, mc["url"])) == (detail["state"] == "approved")


async def test_a_withdrawn_request_takes_no_review_nor_decision(
    provider: Provider, agency: AgencyClient
):
    asked = await _asked(provider, agency, (await provider.create_achievement())["id"])

    withdrawn = await provider.http.post(
        f"/v1/vetting-requests/{asked['id']}/withdraw", json={"reason": "A new revision is due."}
    )
    review = await _review(agency, asked["id"])
    decision = await _decide(agency, asked["id"])
    again = await provider.http.post(f"/v1/vetting-requests/{asked['id']}/withdraw", json={})

    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert withdrawn.json()["outcome"]["note"] == "A new revision is due."
    assert (review.status_code, decision.status_code, again.status_code) == (409, 409, 409)
    trail = (await _detail(agency, asked["id"]))["events"]
    assert [item["action"] for item in trail] == ["submitted", "withdrawn"]


async def test_approving_needs_a_review_and_dates_and_bad_input_is_a_4xx(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement()
    asked = await _asked(provider, agency, mc["id"])

    unreviewed = await _decide(agency, asked["id"])
    await _review(agency, asked["id"])
    undated = await _decide(agency, asked["id"], effectiveFrom=None)
    backwards = await _decide(agency, asked["id"], effectiveUntil="2014-01-01T00:00:00Z")
    dated_decline = await _decide(agency, asked["id"], decision="declined")
    unknown = await _decide(agency, str(uuid.uuid4()))
    not_an_id = await agency.http.get("/v1/agency/vetting/not-a-uuid")
    bad_purpose = await _ask(provider, agency, mc["id"], purpose="world_peace")
    no_agency = await provider.http.post(
        "/v1/vetting-requests",
        json={"agency": "no-such-agency", "purpose": "endorsement", "achievementId": mc["id"]},
    )
    not_an_agency = await provider.http.post(
        "/v1/vetting-requests",
        json={"agency": provider.slug, "purpose": "endorsement", "achievementId": mc["id"]},
    )
    bad_cursor = await agency.http.get("/v1/agency/vetting", params={"cursor": "garbage"})

    assert unreviewed.status_code == 409 and "review" in unreviewed.json()["detail"]
    for response, status in (
        (undated, 422),
        (backwards, 422),
        (dated_decline, 422),
        (unknown, 404),
        (not_an_id, 422),
        (bad_purpose, 422),
        (no_agency, 404),
        (not_an_agency, 404),
        (bad_cursor, 422),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert (await _detail(agency, asked["id"]))["state"] == "in_review"


async def test_the_agency_is_named_by_slug_profile_url_did_or_id(
    provider: Provider, agency: AgencyClient, server: str
):
    did = (await provider.http.get(f"/issuers/{agency.slug}")).json()["id"]
    names = [f"{server}/issuers/{agency.slug}", did]
    for name in names:
        mc = await provider.create_achievement()
        response = await provider.http.post(
            "/v1/vetting-requests",
            json={"agency": name, "purpose": "endorsement", "achievementId": mc["id"]},
        )
        assert response.status_code == 201, (name, response.text)
        assert response.json()["agency"] == agency.slug


async def test_a_provider_cannot_submit_or_see_another_providers_requests(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
):
    async with transaction(sessions) as session:
        issuer = await create_issuer(
            session, vault, IssuerDetails(f"other-{uuid.uuid4().hex[:8]}", "Other provider")
        )
    other = await make_provider(server, sessions, issuer)
    try:
        mc = await provider.create_achievement()
        asked = await _asked(provider, agency, mc["id"])

        theirs = await _ask(other, agency, mc["id"])
        seen = await other.http.get(f"/v1/vetting-requests/{asked['id']}")
        withdrawn = await other.http.post(f"/v1/vetting-requests/{asked['id']}/withdraw", json={})
        listed = (await other.http.get("/v1/vetting-requests")).json()
        own = (await provider.http.get("/v1/vetting-requests")).json()
    finally:
        await other.http.aclose()

    assert (theirs.status_code, seen.status_code, withdrawn.status_code) == (404, 404, 404)
    assert listed["items"] == []
    assert [item["id"] for item in own["items"]] == [asked["id"]]


async def test_agency_staff_open_a_request_for_an_mc_from_elsewhere(agency: AgencyClient):
    nameless = await agency.http.post(
        "/v1/agency/vetting", json={"purpose": "endorsement", "achievementId": OUTSIDE_MC}
    )
    opened = await agency.http.post(
        "/v1/agency/vetting",
        json={
            "purpose": "endorsement",
            "achievementId": OUTSIDE_MC,
            "name": "Family Literacy",
            "provider": "Provider Example",
            "url": "https://provider.example.org/family-literacy",
        },
    )
    request_id = opened.json()["id"]
    withdrawn = await agency.http.post(f"/v1/agency/vetting/{request_id}/withdraw", json={})

    assert nameless.status_code == 422 and nameless.json()["errors"][0]["field"] == "name"
    assert opened.status_code == 201, opened.text
    assert opened.json()["requestedBy"]["kind"] == "agency"
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert withdrawn.json()["events"][-1]["actor"].startswith("agency:")


def _held_credential(email: str) -> dict[str, Any]:
    """An OB 3.0 badge from another issuer (a did:key) that the teacher holds."""
    key = Ed25519PrivateKey.generate()
    credential = unsigned_open_badge(did_key_for(key.public_key()), issuer_name="Provider Example")
    credential["id"] = f"urn:uuid:{uuid.uuid4()}"
    credential["validFrom"] = _ago(30)
    subject = credential["credentialSubject"]
    subject["achievement"]["id"] = OUTSIDE_MC
    subject["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "salt": "pepper",
            "identityHash": hash_identity(email, "pepper"),
        }
    ]
    return sign_document(
        credential,
        key,
        did_key_verification_method(key.public_key()),
        datetime.now(UTC).replace(microsecond=0),
    )


def _address() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


async def test_a_teacher_asks_for_her_outside_mc_with_the_badge_she_holds(
    agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
):
    address = _address()
    teacher = await signed_in_teacher(server, sessions, vault, address)
    stranger = await signed_in_teacher(server, sessions, vault, _address())
    anonymous = httpx.AsyncClient(base_url=server)
    try:
        body = {
            "agency": agency.slug,
            "purpose": "license_renewal",
            "credential": _held_credential(address),
            "statement": "I earned it last year; my district counts it.",
        }
        asked = await teacher.post("/teacher/vetting-requests", json=body)
        request_id = asked.json()["id"]
        mine = await teacher.get(f"/teacher/vetting-requests/{request_id}")
        listed = await teacher.get("/teacher/vetting-requests")
        hers_to_them = await stranger.get(f"/teacher/vetting-requests/{request_id}")
        withdrawn_by_them = await stranger.post(
            f"/teacher/vetting-requests/{request_id}/withdraw", json={}
        )
        signed_out = await anonymous.get("/teacher/vetting-requests")
        as_a_form = await teacher.post(
            "/teacher/vetting-requests",
            content="reason=x",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    finally:
        for client in (teacher, stranger, anonymous):
            await client.aclose()
    detail = await _detail(agency, request_id)

    assert asked.status_code == 201, asked.text
    made = asked.json()
    assert made["achievementId"] == OUTSIDE_MC  # as her badge names it
    assert made["name"] == "Family Engagement" and made["provider"] == "Provider Example"
    assert made["issuerId"].startswith("did:key:")
    assert mine.status_code == 200 and mine.json()["state"] == "submitted"
    assert [item["id"] for item in listed.json()["items"]] == [request_id]
    assert (hers_to_them.status_code, withdrawn_by_them.status_code) == (404, 404)
    assert signed_out.status_code == 401
    assert as_a_form.status_code == 422
    assert detail["requestedBy"]["kind"] == "teacher"
    assert detail["credential"] is not None
    submitted = detail["events"][0]
    assert submitted["actor"] == f"teacher:{detail['requestedBy']['id']}"
    assert submitted["detail"]["credentialCheck"]["verdict"] == "verified"


async def test_a_teacher_uses_the_form_in_her_area(
    agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
):
    teacher = await signed_in_teacher(server, sessions, vault, _address())
    try:
        page = await teacher.get("/teacher/vetting")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text
        choice = f"{agency.slug} license_renewal"
        form = {"csrf": csrf.group(1), "choice": choice, "name": "Family Literacy"}
        incomplete = await teacher.post("/teacher/vetting", data=form)
        sent = await teacher.post(
            "/teacher/vetting",
            data=form | {"provider": "Provider Example", "url": OUTSIDE_MC},
        )
        location = sent.headers.get("location", "")
        waiting = await teacher.get(location)
        withdrawn = await teacher.post(
            f"{location}/withdraw", data={"csrf": csrf.group(1), "reason": "Sent twice."}
        )
        after = await teacher.get(location)
        listing = await teacher.get("/teacher/vetting")
    finally:
        await teacher.aclose()

    assert page.status_code == 200 and f'value="{choice}"' in page.text
    assert incomplete.status_code == 422
    assert 'role="alert"' in incomplete.text and "provider" in incomplete.text.lower()
    assert 'value="Family Literacy"' in incomplete.text  # what she typed is kept
    assert sent.status_code == 303 and location.startswith("/teacher/vetting/")
    assert "Waiting for review" in waiting.text
    assert withdrawn.status_code == 303
    assert "Withdrawn" in after.text and "Sent twice." in after.text
    assert "Family Literacy" in listing.text
    trail = (await _detail(agency, location.rsplit("/", 1)[1]))["events"]
    assert [item["action"] for item in trail] == ["submitted", "withdrawn"]
    assert trail[1]["actor"].startswith("teacher:")


async def test_a_badge_that_fails_verification_is_kept_with_its_verdict_for_the_reviewers(
    agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
):
    address = _address()
    tampered = _held_credential(address)
    tampered["credentialSubject"]["achievement"]["name"] = "Changed after signing"
    teacher = await signed_in_teacher(server, sessions, vault, address)
    try:
        body = {"agency": agency.slug, "purpose": "endorsement"}
        nothing_to_go_on = await teacher.post(
            "/teacher/vetting-requests", json=body | {"name": "X", "provider": "Y"}
        )
        unreadable = await teacher.post(
            "/teacher/vetting-requests", json=body | {"credential": "not a badge"}
        )
        asked = await teacher.post(
            "/teacher/vetting-requests", json=body | {"credential": tampered}
        )
    finally:
        await teacher.aclose()

    assert nothing_to_go_on.status_code == 422
    assert nothing_to_go_on.json()["errors"][0]["field"] == "url"
    assert unreadable.status_code == 422
    assert unreadable.json()["errors"][0]["field"] == "credential"
    assert asked.status_code == 201, asked.text
    check = (await _detail(agency, asked.json()["id"]))["events"][0]["detail"]["credentialCheck"]
    assert check["verdict"] == "invalid" and check["reason"]
