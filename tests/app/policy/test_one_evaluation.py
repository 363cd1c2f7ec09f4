"""One evaluation of an educator, whoever asks, and MCs counted from when they were earned.

Her agency's progress report and her own progress page are the same evaluation: an MC the
agency submitted for her counts on both. And an MC awarded for work done before it was
issued (a backfilled award: `awardedDate` last month, `validFrom` = issuance today) counts
"as of" any date from its awarded date on.
"""

from __future__ import annotations

import html
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from badges.issuers.issuers import KeyVault
from badges.policy.educator_progress import educator_progress
from badges.wallets.teacher_progress import teacher_progress
from badges.wallets.teachers import email_key
from formats.identity import hash_identity
from keys.data_integrity import sign_document
from keys.multikey import did_key_for, did_key_verification_method
from storage.models import Agency, Educator, Teacher, TeacherIdentifier
from tests.app.wallets.wallet_holder import signed_in_teacher
from tests.builders import unsigned_open_badge
from tests.conftest import AgencyClient, Provider


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _foreign_mc(address: str, achievement: str, earned: datetime) -> dict[str, Any]:
    """An MC from another issuer (a did:key) naming her e-mail, hashed."""
    key = Ed25519PrivateKey.generate()
    document = unsigned_open_badge(did_key_for(key.public_key()), issuer_name="District 9 PD")
    subject = document["credentialSubject"]
    subject["achievement"]["id"] = achievement
    salt = secrets.token_hex(8)
    subject["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": hash_identity(address, salt),
            "salt": salt,
        }
    ]
    document |= {"id": f"urn:uuid:{uuid.uuid4()}", "validFrom": _text(earned)}
    vm = did_key_verification_method(key.public_key())
    return sign_document(document, key, vm, earned)


async def _created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _coaching_agency(provider: Provider, agency: AgencyClient) -> tuple[str, str]:
    """A stack of two MCs (one issued here, one from elsewhere) and a role that needs it;
    the two achievements' IRIs."""
    own = await provider.create_achievement(name="Instructional Coaching")
    foreign = f"https://district9.example/achievements/{uuid.uuid4()}"
    await _created(
        agency.http,
        "/v1/agency/approvals",
        {
            "achievementId": foreign,
            "purpose": "advancement",
            "effectiveFrom": "2015-01-01T00:00:00Z",
        },
    )
    stack = await _created(
        agency.http,
        "/v1/agency/stacks",
        {
            "code": "COACH",
            "name": "Coaching",
            "rule": {"all": [{"achievement": own["url"]}, {"achievement": foreign}]},
        },
    )
    await _created(
        agency.http,
        "/v1/agency/lattices",
        {
            "name": "Teacher leadership",
            "roles": [{"key": "coach", "name": "Coach", "rule": {"stack": stack["id"]}}],
        },
    )
    return own["id"], foreign


def _goals_on_page(page: str) -> dict[str, bool]:
    """Each stack and role on her progress page: complete or not."""
    found = re.findall(r"<h4>(.*?)</h4>\s*<p class=\"(met|open)\">", page)
    return {html.unescape(name): state == "met" for name, state in found}


async def test_her_progress_page_and_her_agencys_progress_are_one_evaluation(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    own, foreign = await _coaching_agency(provider, agency)
    issued = await provider.issue(own, recipient={"email": address})
    assert issued.status_code == 201, issued.text
    # The agency counts an MC from elsewhere it verified for her: she must see it counted too.
    submitted = await _created(
        agency.http,
        "/v1/agency/submissions",
        {
            "educator": {"email": address},
            "credentials": [_foreign_mc(address, foreign, _days_ago(9))],
        },
    )
    assert submitted["results"][0]["accepted"] is True
    browser = await signed_in_teacher(server, sessions, vault, address)

    page = await browser.get("/teacher/progress")
    agency_view = await agency.http.post(
        "/v1/agency/progress", json={"educator": {"email": address}}
    )

    await browser.aclose()
    assert page.status_code == 200 and agency_view.status_code == 200, agency_view.text
    answer = agency_view.json()
    agency_goals = {item["name"]: item["met"] for item in answer["stacks"] + answer["roles"]}
    assert agency_goals == {"Coaching": True, "Coach": True}
    assert _goals_on_page(page.text) == agency_goals


async def test_both_views_are_computed_by_the_same_function_on_the_same_holdings(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    own, foreign = await _coaching_agency(provider, agency)
    assert (await provider.issue(own, recipient={"email": address})).status_code == 201
    await _created(
        agency.http,
        "/v1/agency/submissions",
        {
            "educator": {"email": address},
            "credentials": [_foreign_mc(address, foreign, _days_ago(9))],
        },
    )
    await (await signed_in_teacher(server, sessions, vault, address)).aclose()  # her account
    at = datetime.now(UTC)

    async with sessions() as session:
        teacher = await session.scalar(
            select(Teacher)
            .join(TeacherIdentifier, TeacherIdentifier.teacher_id == Teacher.id)
            .where(TeacherIdentifier.lookup_key == email_key(vault, address))
        )
        row = await session.scalar(select(Agency).where(Agency.issuer_id == agency.issuer.id))
        assert teacher is not None and row is not None
        educator = await session.scalar(select(Educator).where(Educator.agency_id == row.id))
        assert educator is not None
        hers = await teacher_progress(session, server, teacher, at)
        theirs = await educator_progress(session, server, row, educator, at)

    [mine] = [item for item in hers if item.name == agency.issuer.name]
    assert [(goal.name, goal.met) for goal in mine.stacks] == [
        (item.stack.name, item.evaluation.met) for item in theirs.stacks
    ]
    assert [(goal.name, goal.met) for lattice in mine.lattices for goal in lattice.roles] == [
        (item.role.name, item.evaluation.met) for item in theirs.roles
    ]
    assert len(mine.stacks[0].counted) == len(theirs.stacks[0].evaluation.counted) == 2


async def test_a_backfilled_mc_counts_from_its_awarded_date_not_its_issuance(
    provider: Provider, agency: AgencyClient
):
    """Awarded 20 days ago, issued (validFrom) today: as of 10 days ago, it was held."""
    address, awarded = _email(), _days_ago(20)
    achievement = await provider.create_achievement(name="Family Engagement")
    issued = await provider.issue(
        achievement["id"], recipient={"email": address}, awardedDate=_text(awarded)
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["credential"]["validFrom"] > _text(awarded)
    educator = (await _created(agency.http, "/v1/agency/educators", {"email": address}))["id"]
    stack = await _created(
        agency.http,
        "/v1/agency/stacks",
        {"code": "FE", "name": "Family engagement", "rule": {"achievement": achievement["url"]}},
    )
    stack_id = stack["id"].rsplit("/", 1)[1]
    between, before = _days_ago(10), _days_ago(25)

    async def evaluated(at: datetime) -> dict[str, Any]:
        body = {"educator": {"email": address}, "stackId": stack_id, "at": _text(at)}
        response = await agency.http.post("/v1/agency/evaluations", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def holders(path: str, at: datetime, **params: str) -> list[str]:
        response = await agency.http.get(path, params={"at": _text(at), **params})
        assert response.status_code == 200, response.text
        return [item["educator"] for item in response.json()["items"]]

    run = await agency.http.post(f"/v1/agency/stacks/{stack_id}/evaluate-all")
    assert run.status_code == 200, run.text

    then = await evaluated(between)
    assert then["met"] is True, then
    assert then["counted"][0]["earnedAt"].startswith(_text(awarded)[:10])
    assert (await evaluated(before))["met"] is False
    by_achievement = {"achievementId": achievement["url"]}
    assert await holders("/v1/agency/holders", between, **by_achievement) == [educator]
    assert await holders("/v1/agency/holders", before, **by_achievement) == []
    assert await holders(f"/v1/agency/stacks/{stack_id}/holders", between) == [educator]
    assert await holders(f"/v1/agency/stacks/{stack_id}/holders", before) == []
