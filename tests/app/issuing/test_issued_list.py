"""GET /v1/issuers/{slug}/credentials: what an issuer issued, newest first, searched, paged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import KeyVault
from storage.models import Issuer
from tests.conftest import Provider, make_provider


async def _issue(provider: Provider, achievement: dict[str, Any], **recipient: Any) -> str:
    response = await provider.issue(achievement["id"], recipient=recipient)
    assert response.status_code == 201, response.text
    issued: str = response.json()["id"]
    return issued


async def _list(provider: Provider, **params: Any) -> dict[str, Any]:
    response = await provider.http.get(f"/v1/issuers/{provider.slug}/credentials", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_an_issuer_lists_its_credentials_newest_first(provider: Provider):
    achievement = await provider.create_achievement()
    first = await _issue(provider, achievement, email="ana@example.org", name="Ana Diaz")
    await asyncio.sleep(1.1)  # issue times are whole seconds
    second = await _issue(provider, achievement, email="ben@example.org", name="Ben Okafor")

    page = await _list(provider)

    assert [item["id"] for item in page["items"]] == [second, first]
    assert page["next"] is None
    newest = page["items"][0]
    assert newest["recipientName"] == "Ben Okafor"
    assert newest["achievementName"] == "Close Reading in the Elementary Classroom"
    assert newest["achievementId"] == achievement["id"]
    assert newest["status"] == "active"
    assert newest["url"].endswith(f"/credentials/{second}")


async def test_pagination_returns_every_credential_exactly_once(provider: Provider):
    achievement = await provider.create_achievement()
    issued = await asyncio.gather(
        *(_issue(provider, achievement, email=f"t{n}@example.org") for n in range(23))
    )
    seen: list[str] = []
    late: list[str] = []
    cursor = None
    while True:
        page = await _list(provider, limit=5, **({"cursor": cursor} if cursor else {}))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
        # Issued while the client pages: it never shifts the others into a page twice.
        late.append(await _issue(provider, achievement, email="late@example.org"))

    assert len(seen) == len(set(seen))
    assert set(issued) <= set(seen)
    # Newer than the first page, so not listed, unless issued in the same second as the
    # end of a page (issue times are whole seconds; the id breaks the tie).
    assert set(seen) - set(issued) <= set(late)


async def test_the_search_text_matches_a_name_an_achievement_or_a_whole_email(
    provider: Provider,
):
    reading = await provider.create_achievement(name="Close Reading")
    math = await provider.create_achievement(name="Number Talks 100%")
    ana = await _issue(provider, reading, email="Ana@Example.org", name="Ana Diaz")
    ben = await _issue(provider, math, email="ben@example.org", name="Ben Okafor")

    by_name = await _list(provider, q="diaz")
    by_achievement = await _list(provider, q="number talks")
    by_email = await _list(provider, q="  ana@example.ORG ")
    partial_email = await _list(provider, q="ana@example")
    wildcard = await _list(provider, q="100%")
    percent_only = await _list(provider, q="%")

    assert [item["id"] for item in by_name["items"]] == [ana]
    assert [item["id"] for item in by_achievement["items"]] == [ben]
    assert [item["id"] for item in by_email["items"]] == [ana]
    # Addresses are stored only as keyed hashes: a part of one matches nothing.
    assert partial_email["items"] == []
    assert [item["id"] for item in wildcard["items"]] == [ben]
    assert [item["id"] for item in percent_only["items"]] == [ben]


async def test_filters_by_achievement_any_revision_status_and_issue_day(provider: Provider):
    reading = await provider.create_achievement(name="Close Reading")
    other = await provider.create_achievement(name="Other")
    kept = await _issue(provider, reading, email="a@example.org")
    revoked = await _issue(provider, reading, email="b@example.org")
    await _issue(provider, other, email="c@example.org")
    await provider.http.post(f"/v1/credentials/{revoked}/revoke", json={"reason": "error"})
    today = datetime.now(UTC).date()

    of_reading = await _list(provider, achievement=reading["id"])
    of_reading_iri = await _list(provider, achievement=reading["id"], status="active")
    only_revoked = await _list(provider, status="revoked")
    today_only = await _list(provider, issuedFrom=today.isoformat(), issuedUntil=today.isoformat())
    yesterday = await _list(provider, issuedUntil=(today - timedelta(days=1)).isoformat())

    assert {item["id"] for item in of_reading["items"]} == {kept, revoked}
    assert [item["id"] for item in of_reading_iri["items"]] == [kept]
    assert [(item["id"], item["status"]) for item in only_revoked["items"]] == [
        (revoked, "revoked")
    ]
    assert len(today_only["items"]) == 3
    assert yesterday["items"] == []


async def test_an_expired_credential_is_listed_as_expired(provider: Provider):
    achievement = await provider.create_achievement()
    soon = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    response = await provider.issue(achievement["id"], validUntil=soon.isoformat())
    assert response.status_code == 201, response.text
    await asyncio.sleep(2.5)

    page = await _list(provider, status="expired")

    assert [item["id"] for item in page["items"]] == [response.json()["id"]]


async def test_another_issuers_client_cannot_list_this_issuers_credentials(
    provider: Provider,
    server: str,
    sessions: async_sessionmaker[AsyncSession],
    vault: KeyVault,
    issuer: Issuer,
):
    from badges.issuers.issuers import IssuerDetails, create_issuer
    from storage.session import transaction

    achievement = await provider.create_achievement()
    await _issue(provider, achievement, email="a@example.org")
    async with transaction(sessions) as session:
        stranger_issuer = await create_issuer(
            session, vault, IssuerDetails(slug=f"other-{issuer.slug}", name="Other Provider")
        )
    stranger = await make_provider(server, sessions, stranger_issuer)
    try:
        response = await stranger.http.get(f"/v1/issuers/{provider.slug}/credentials")
        own = await _list(stranger)
    finally:
        await stranger.http.aclose()

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert own["items"] == []


async def test_listing_needs_the_read_scope(
    server: str, sessions: async_sessionmaker[AsyncSession], issuer: Issuer
):
    issuing_only = await make_provider(server, sessions, issuer, ("credentials:issue",))
    try:
        response = await issuing_only.http.get(f"/v1/issuers/{issuer.slug}/credentials")
    finally:
        await issuing_only.http.aclose()

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"issuedFrom": "2026-02-01", "issuedUntil": "2026-01-01"}, "issuedFrom"),
        ({"issuedFrom": "yesterday"}, "issuedFrom"),
        ({"issuedUntil": "9999-12-31"}, "issuedUntil"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"achievement": "not an achievement"}, "achievement"),
        ({"q": "x" * 201}, "q"),
        ({"q": "ana\x00"}, "q"),
    ],
)
async def test_bad_parameters_are_a_problem_naming_the_field(
    provider: Provider, params: dict[str, str], field: str
):
    response = await provider.http.get(f"/v1/issuers/{provider.slug}/credentials", params=params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def test_a_cursor_of_other_filters_is_refused(provider: Provider):
    achievement = await provider.create_achievement()
    for n in range(3):
        await _issue(provider, achievement, email=f"t{n}@example.org")
    page = await _list(provider, limit=2)

    response = await provider.http.get(
        f"/v1/issuers/{provider.slug}/credentials",
        params={"limit": 2, "status": "revoked", "cursor": page["next"]},
    )

    assert response.status_code == 422


async def test_the_list_reads_the_issuer_index_in_order(
    sessions: async_sessionmaker[AsyncSession], database_url: str
):
    """The page is read from `ix_credentials_issuer_issued` in its order, never sorted."""
    query = (
        "SELECT id FROM credentials WHERE issuer_id = :issuer "
        "ORDER BY issued_at DESC, id DESC LIMIT 51"
    )
    async with sessions() as session:
        if database_url.startswith("sqlite"):
            plan = await session.execute(text(f"EXPLAIN QUERY PLAN {query}"), {"issuer": "0" * 32})
            steps = " ".join(str(row[-1]) for row in plan)
            sorted_by = "TEMP B-TREE"
        else:
            # The test tables are small (a scan, or sorting a row or two, would win): the
            # planner is told to avoid scans and sorts, so it must find the index that
            # serves this order; without one, a Sort stays in the plan.
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            await session.execute(text("SET LOCAL enable_sort = off"))
            plan = await session.execute(
                text(f"EXPLAIN {query}"), {"issuer": "00000000-0000-0000-0000-000000000000"}
            )
            steps = " ".join(str(row[0]) for row in plan)
            sorted_by = "Sort"

    assert "ix_credentials_issuer_issued" in steps
    assert sorted_by not in steps
