"""Holders of one achievement, read from the achievement-holdings index: every way a
credential comes to name one of the agency's educators puts her on the list (issued before
she was registered, submitted by the agency, pushed by her app), standing is still read
from the credential (a revocation leaves earlier dates as they were), a wallet copy never
makes her a holder twice, and pages list each holder once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import IssuerDetails, KeyVault, create_issuer
from badges.status.achievement_holdings import rebuild
from storage.models import AchievementHolding
from storage.session import transaction
from tests.app.foreign_issuer import ForeignIssuer, foreign_issuer
from tests.app.wallets.teacher_apps import push_with_app, teacher_app_token
from tests.app.wallets.wallet_holder import (
    awarded,
    copy_to_wallet,
)
from tests.conftest import AgencyClient, Provider, make_provider


def _ago(days: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _teacher() -> dict[str, str]:
    """A fresh license number: tests share one database and credentials are global."""
    return {"educatorId": uuid.uuid4().hex[:12], "state": "TX"}


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


@pytest.fixture
def foreign() -> Iterator[ForeignIssuer]:
    with foreign_issuer() as issuer:
        yield issuer


async def _register(agency: AgencyClient, **identifiers: str) -> str:
    response = await agency.http.post("/v1/agency/educators", json=identifiers)
    assert response.status_code == 201, response.text
    educator: str = response.json()["id"]
    return educator


async def _award(provider: Provider, mc: dict[str, Any], teacher: dict[str, str], days: int) -> str:
    response = await provider.issue(
        mc["id"],
        recipient=teacher,
        awardedDate=_text(_ago(days)),
        validFrom=_text(_ago(days)),
    )
    assert response.status_code == 201, response.text
    credential_id: str = response.json()["id"]
    return credential_id


async def _holders(agency: AgencyClient, achievement: str, **params: Any) -> list[dict[str, Any]]:
    response = await agency.http.get(
        "/v1/agency/holders", params={"achievementId": achievement} | params
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _links(sessions: async_sessionmaker[AsyncSession], educator: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AchievementHolding)
            .where(AchievementHolding.educator_id == uuid.UUID(educator))
        )
    return int(count or 0)


async def test_an_educator_registered_after_her_badge_was_issued_holds_it(
    provider: Provider, agency: AgencyClient, sessions: async_sessionmaker[AsyncSession]
):
    mc = await provider.create_achievement(name="Close reading")
    teacher = _teacher()
    await _award(provider, mc, teacher, days=20)

    educator = await _register(agency, **teacher)

    [holder] = await _holders(agency, mc["url"])
    assert holder["educator"] == educator
    assert holder["completedAt"].startswith(_ago(20).date().isoformat())
    assert await _links(sessions, educator) == 1


async def test_a_badge_issued_to_a_registered_educator_makes_her_a_holder(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement(name="Phonics")
    teacher = _teacher()
    educator = await _register(agency, **teacher)

    await _award(provider, mc, teacher, days=5)

    assert [item["educator"] for item in await _holders(agency, mc["url"])] == [educator]


async def test_a_submitted_credential_makes_her_a_holder_and_a_rejected_one_does_not(
    foreign: ForeignIssuer, agency: AgencyClient
):
    achievement = f"https://district9.example/achievements/{uuid.uuid4()}"
    await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement,
            "purpose": "license_renewal",
            "effectiveFrom": "2015-01-01T00:00:00Z",
        },
    )
    accepted, rejected = _email(), _email()
    good = foreign.award(accepted, achievement, _ago(30))
    # Named for someone else: it fails the recipient check and is kept, not counted.
    bad = foreign.award(_email(), achievement, _ago(30))
    answers = [
        await agency.http.post(
            "/v1/agency/submissions",
            json={"educator": {"email": address}, "credentials": [credential]},
        )
        for address, credential in ((accepted, good), (rejected, bad))
    ]
    assert [answer.status_code for answer in answers] == [201, 201]
    assert [answer.json()["results"][0]["accepted"] for answer in answers] == [True, False]

    holders = await _holders(agency, achievement)

    assert [item["educator"] for item in holders] == [answers[0].json()["educator"]]


async def test_a_credential_her_app_pushes_after_she_was_registered_makes_her_a_holder(
    foreign: ForeignIssuer,
    agency: AgencyClient,
    server: str,
    sessions: async_sessionmaker[AsyncSession],
    vault: KeyVault,
):
    achievement = f"https://district9.example/achievements/{uuid.uuid4()}"
    await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement,
            "purpose": "license_renewal",
            "effectiveFrom": "2015-01-01T00:00:00Z",
        },
    )
    address = _email()
    educator = await _register(agency, email=address)
    token = await teacher_app_token(sessions, vault, address)
    credential = foreign.award(address, achievement, _ago(30), hashed=False)
    assert await _holders(agency, achievement) == []

    pushed = await push_with_app(server, token, credential)

    assert pushed.status_code in (200, 201), pushed.text
    assert [item["educator"] for item in await _holders(agency, achievement)] == [educator]
    # Pushing it again (an update of the same row) keeps one link, not two.
    again = await push_with_app(server, token, credential)
    assert again.status_code in (200, 201), again.text
    assert await _links(sessions, educator) == 1


async def test_a_revocation_ends_her_holding_from_then_on_only(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement(name="Numeracy")
    teacher = _teacher()
    educator = await _register(agency, **teacher)
    credential = await _award(provider, mc, teacher, days=20)
    before = datetime.now(UTC)

    revoked = await provider.http.post(
        f"/v1/credentials/{credential}/revoke", json={"reason": "awarded in error"}
    )

    assert revoked.status_code == 200, revoked.text
    assert await _holders(agency, mc["url"]) == []
    then = await _holders(agency, mc["url"], at=before.isoformat())
    assert [item["educator"] for item in then] == [educator]


async def test_two_badges_of_one_achievement_make_one_holder_first_earned_by_the_older(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement(name="Writing")
    teacher = _teacher()
    educator = await _register(agency, **teacher)
    await _award(provider, mc, teacher, days=3)
    await _award(provider, mc, teacher, days=40)

    [holder] = await _holders(agency, mc["url"])

    assert holder["educator"] == educator
    assert holder["completedAt"].startswith(_ago(40).date().isoformat())


async def test_pages_list_each_holder_once_in_educator_order(
    provider: Provider, agency: AgencyClient, sessions: async_sessionmaker[AsyncSession]
):
    mc = await provider.create_achievement(name="Science inquiry")
    registered = []
    for n in range(7):
        teacher = _teacher()
        registered.append(await _register(agency, **teacher))
        for days in (5, 50)[: 1 + n % 2]:  # every other one holds it twice
            await _award(provider, mc, teacher, days)
    # Writing every link again adds none: each is kept once.
    before = [await _links(sessions, educator) for educator in registered]
    async with transaction(sessions) as session:
        await rebuild(session)
    assert [await _links(sessions, educator) for educator in registered] == before
    assert before == [1 + n % 2 for n in range(7)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"achievementId": mc["url"], "limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await agency.http.get("/v1/agency/holders", params=params)
        assert response.status_code == 200, response.text
        seen += [item["educator"] for item in response.json()["items"]]
        pages += 1
        cursor = response.json()["next"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == sorted(registered, key=uuid.UUID)


async def test_the_district_filter_reads_her_district_on_the_date(
    provider: Provider, agency: AgencyClient
):
    mc = await provider.create_achievement(name="Arts")
    austin, dallas = _teacher(), _teacher()
    in_austin = await _register(agency, **austin, district="Austin ISD")
    await _register(agency, **dallas, district="Dallas ISD")
    for teacher in (austin, dallas):
        await _award(provider, mc, teacher, days=10)

    holders = await _holders(agency, mc["url"], district="Austin ISD")

    assert [(item["educator"], item["district"]) for item in holders] == [(in_austin, "Austin ISD")]


async def test_a_wallet_copy_of_her_badge_never_makes_her_a_holder_twice(
    provider: Provider,
    agency: AgencyClient,
    server: str,
    sessions: async_sessionmaker[AsyncSession],
    vault: KeyVault,
):
    address = _email()
    original = await awarded(provider, address, awardedDate=_text(_ago(10)))
    achievement = original["credential"]["credentialSubject"]["achievement"]["id"]
    educator = await _register(agency, email=address)
    answer = await copy_to_wallet(server, sessions, vault, address, original["id"])
    assert answer.status_code == 200, answer.text
    # The copy names her as its original does: it is linked to her too.
    assert await _links(sessions, educator) == 2

    [holding] = await _holders(agency, achievement)

    assert holding["educator"] == educator
    assert holding["completedAt"].startswith(_ago(10).date().isoformat())
    revoked = await provider.http.post(
        f"/v1/credentials/{original['id']}/revoke", json={"reason": "awarded in error"}
    )
    assert revoked.status_code == 200, revoked.text
    # Only the original counts, so its revocation ends her holding though the copy has no
    # revocation of its own.
    assert await _holders(agency, achievement) == []


async def test_holders_of_anything_from_one_provider_are_those_it_awarded(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
):
    """Asked by issuer alone, the candidates are that issuer's links: a teacher holding only
    another provider's MC is not a holder, however the pages fall."""
    async with transaction(sessions) as session:
        small = await create_issuer(
            session, vault, IssuerDetails(f"small-{uuid.uuid4().hex[:8]}", "Small provider")
        )
    other = await make_provider(server, sessions, small)
    try:
        ours, theirs = _teacher(), _teacher()
        mine = await _register(agency, **ours)
        await _register(agency, **theirs)
        await _award(provider, await provider.create_achievement(name="Inquiry"), theirs, days=5)
        await _award(other, await other.create_achievement(name="Argument"), ours, days=3)

        response = await agency.http.get("/v1/agency/holders", params={"issuer": small.slug})
    finally:
        await other.http.aclose()

    assert response.status_code == 200, response.text
    assert [item["educator"] for item in response.json()["items"]] == [mine]


async def test_a_badge_and_her_registration_arriving_together_still_link_her(
    provider: Provider, agency: AgencyClient
):
    """The badge naming her and the agency registering her commit at the same moment, each
    blind to the other's uncommitted row: whichever comes second must still see the first
    (on PostgreSQL, both take the lookup key's lock before reading the other side)."""
    mc = await provider.create_achievement(name="Formative assessment")
    teachers = [_teacher() for _ in range(48)]

    async def together(teacher: dict[str, str]) -> str:
        educator, _ = await asyncio.gather(
            _register(agency, **teacher), _award(provider, mc, teacher, days=1)
        )
        return educator

    educators = []
    for start in range(0, len(teachers), 8):  # eight pairs at a time
        educators += await asyncio.gather(*map(together, teachers[start : start + 8]))

    held = {item["educator"] for item in await _holders(agency, mc["url"], limit=100)}
    assert held == set(educators)
