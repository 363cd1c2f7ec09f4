"""State queries, as an agency asks them: who holds the renewal stack, since when and until
when; whose renewal lapses soon; where an educator stands; how many MCs were earned where."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import KeyVault
from badges.status.completion_marks import credentials_changed
from storage.session import transaction
from tests.conftest import AgencyClient, Provider, make_agency

WINDOW = 5 * 365
DAY = timedelta(days=1)


def _ago(days: int) -> datetime:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    return moment.replace(hour=12, minute=0, second=0)


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _teacher() -> dict[str, str]:
    """A fresh license number: tests share one database and credentials are global."""
    return {"educatorId": uuid.uuid4().hex[:12], "state": "TX"}


class Renewal:
    """One agency's literacy renewal: 4 approved MCs, "3 of them within 5 years"."""

    def __init__(self, provider: Provider, agency: AgencyClient) -> None:
        self.provider, self.agency = provider, agency
        self.mcs: list[dict[str, Any]] = []
        self.stack = ""

    async def setup(self, count: int = 4) -> Renewal:
        for n in range(count):
            mc = await self.provider.create_achievement(name=f"Literacy MC {n}")
            await self.approve(mc["url"])
            self.mcs.append(mc)
        response = await self.agency.http.post(
            "/v1/agency/stacks",
            json={
                "code": "LIT-RENEW",
                "name": "Literacy renewal",
                "rule": {"atLeast": 3, "of": [mc["url"] for mc in self.mcs]},
                "windowDays": WINDOW,
                "purpose": "license_renewal",
            },
        )
        assert response.status_code == 201, response.text
        self.stack = response.json()["id"].rsplit("/", 1)[1]
        return self

    async def approve(self, iri: str, since: str = "2015-01-01T00:00:00Z") -> None:
        response = await self.agency.http.post(
            "/v1/agency/approvals",
            json={"achievementId": iri, "purpose": "license_renewal", "effectiveFrom": since},
        )
        assert response.status_code == 201, response.text

    async def educator(self, district: str = "Austin ISD") -> dict[str, str]:
        teacher = _teacher()
        response = await self.agency.http.post(
            "/v1/agency/educators", json=teacher | {"district": district}
        )
        assert response.status_code == 201, response.text
        return teacher | {"id": response.json()["id"]}

    async def award(
        self, teacher: dict[str, str], mc: int, earned: datetime, until: datetime | None = None
    ) -> str:
        extra = {"validUntil": _text(until)} if until else {}
        response = await self.provider.issue(
            self.mcs[mc]["id"],
            recipient={"educatorId": teacher["educatorId"], "state": teacher["state"]},
            awardedDate=_text(earned),
            validFrom=_text(earned),
            **extra,
        )
        assert response.status_code == 201, response.text
        credential_id: str = response.json()["id"]
        return credential_id

    async def run(self) -> dict[str, Any]:
        response = await self.agency.http.post(f"/v1/agency/stacks/{self.stack}/evaluate-all")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def holders(self, **params: Any) -> dict[str, Any]:
        response = await self.agency.http.get(
            f"/v1/agency/stacks/{self.stack}/holders", params=params
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
async def renewal(provider: Provider, agency: AgencyClient) -> Renewal:
    return await Renewal(provider, agency).setup()


async def test_a_full_run_lists_who_renews_since_when_and_until_when(renewal: Renewal):
    renews, short, _nothing = [await renewal.educator() for _ in range(3)]
    for mc, days in ((0, 1500), (1, 400), (2, 100)):
        await renewal.award(renews, mc, _ago(days))
    await renewal.award(short, 0, _ago(50))

    run = await renewal.run()
    holders = await renewal.holders()

    assert (run["educators"], run["evaluated"], run["targets"][0]["met"]) == (3, 2, 1)
    assert [item["educator"] for item in holders["items"]] == [renews["id"]]
    holder = holders["items"][0]
    # Complete when the third MC was earned; lapses when the oldest leaves the 5-year window.
    assert _moment(holder["completedAt"]) == _ago(100)
    assert _moment(holder["expiresAt"]) == _ago(1500) + timedelta(days=WINDOW)
    assert holders["next"] is None


async def test_the_mc_that_completes_a_stack_puts_her_on_the_holders_without_a_new_run(
    renewal: Renewal,
):
    teacher = await renewal.educator()
    for mc, days in ((0, 400), (1, 100)):
        await renewal.award(teacher, mc, _ago(days))
    await renewal.run()
    assert (await renewal.holders())["items"] == []

    await renewal.award(teacher, 2, _ago(1))

    assert [item["educator"] for item in (await renewal.holders())["items"]] == [teacher["id"]]


async def test_holders_on_a_past_date_are_those_complete_then(renewal: Renewal):
    teacher = await renewal.educator()
    for mc, days in ((0, 300), (1, 200), (2, 100)):
        await renewal.award(teacher, mc, _ago(days))
    await renewal.run()

    before = await renewal.holders(at=_text(_ago(150)))
    after = await renewal.holders(at=_text(_ago(50)))

    assert before["items"] == []
    assert [item["educator"] for item in after["items"]] == [teacher["id"]]


async def test_a_revoked_mc_takes_the_educator_off_the_holders_without_a_new_run(
    renewal: Renewal,
):
    teacher = await renewal.educator()
    issued = [await renewal.award(teacher, mc, _ago(100)) for mc in range(3)]
    await renewal.run()
    assert len((await renewal.holders())["items"]) == 1

    revoked = await renewal.provider.http.post(
        f"/v1/credentials/{issued[0]}/revoke", json={"reason": "plagiarised evidence"}
    )

    assert revoked.status_code == 200, revoked.text
    assert (await renewal.holders())["items"] == []


async def test_an_educator_registered_after_the_run_is_counted_without_a_new_run(
    renewal: Renewal,
):
    teacher = _teacher()
    for mc in range(3):
        await renewal.award(teacher, mc, _ago(30))
    await renewal.run()
    assert (await renewal.holders())["items"] == []

    registered = await renewal.agency.http.post("/v1/agency/educators", json=teacher)

    holders = await renewal.holders()
    assert [item["educator"] for item in holders["items"]] == [registered.json()["id"]]


async def test_credentials_issued_after_the_run_count_once_issuing_marks_them(
    renewal: Renewal, sessions: async_sessionmaker[AsyncSession]
):
    teacher = await renewal.educator()
    await renewal.run()
    issued = [await renewal.award(teacher, mc, _ago(5)) for mc in range(3)]

    async with transaction(sessions) as session:  # what issuing calls in its transaction
        marked = await credentials_changed(session, [uuid.UUID(item) for item in issued])

    assert marked == 1
    assert [item["educator"] for item in (await renewal.holders())["items"]] == [teacher["id"]]


async def test_pages_follow_the_cursor_to_the_end(renewal: Renewal):
    teachers = [await renewal.educator() for _ in range(5)]
    for teacher in teachers:
        for mc in range(3):
            await renewal.award(teacher, mc, _ago(10))
    await renewal.run()

    seen, cursor, pages = [], None, 0
    while True:
        page = await renewal.holders(limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [item["educator"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break

    assert pages == 3
    assert sorted(seen) == sorted(teacher["id"] for teacher in teachers)
    assert len(set(seen)) == 5


async def test_holders_by_district_provider_and_purpose(renewal: Renewal, provider: Provider):
    austin = await renewal.educator("Austin ISD")
    dallas = await renewal.educator("Dallas ISD")
    for teacher in (austin, dallas):
        for mc in range(3):
            await renewal.award(teacher, mc, _ago(10))
    await renewal.run()

    in_dallas = await renewal.holders(district="Dallas ISD")
    by_provider = await renewal.holders(issuer=provider.slug)
    for_renewal = await renewal.holders(purpose="license_renewal")
    for_endorsement = await renewal.holders(purpose="endorsement")

    assert [item["educator"] for item in in_dallas["items"]] == [dallas["id"]]
    assert len(by_provider["items"]) == 2
    assert len(for_renewal["items"]) == 2
    assert for_endorsement["items"] == []  # none of its MCs is approved for endorsements


async def test_expiring_soon_lists_lapsing_renewals_not_spare_mcs(renewal: Renewal):
    lapsing, spare = await renewal.educator(), await renewal.educator()
    soon = _ago(-10)
    await renewal.award(lapsing, 0, _ago(100), until=soon)
    await renewal.award(spare, 0, _ago(100), until=soon)
    for teacher in (lapsing, spare):
        for mc in (1, 2):
            await renewal.award(teacher, mc, _ago(100))
    await renewal.award(spare, 3, _ago(100))  # a fourth MC: one expiring changes nothing
    await renewal.run()

    response = await renewal.agency.http.get(
        "/v1/agency/expiring", params={"days": 30, "stackId": renewal.stack}
    )

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(item["educator"], item["name"]) for item in items] == [
        (lapsing["id"], "Literacy renewal")
    ]
    assert _moment(items[0]["expiresAt"]) == soon


async def test_educator_progress_across_stacks_and_roles_explains_itself(renewal: Renewal):
    teacher = await renewal.educator()
    revoked = await renewal.award(teacher, 0, _ago(100))
    await renewal.award(teacher, 1, _ago(100))
    await renewal.provider.http.post(
        f"/v1/credentials/{revoked}/revoke", json={"reason": "issued in error"}
    )
    stack_url = f"{renewal.provider.http.base_url}/stacks/{renewal.stack}"
    lattice = await renewal.agency.http.post(
        "/v1/agency/lattices",
        json={
            "name": "Career lattice",
            "roles": [{"key": "leader", "name": "Teacher Leader", "rule": {"stack": stack_url}}],
        },
    )
    assert lattice.status_code == 201, lattice.text

    response = await renewal.agency.http.post(
        "/v1/agency/progress",
        json={"educator": {"educatorId": teacher["educatorId"], "state": "TX"}},
    )

    assert response.status_code == 200, response.text
    progress = response.json()
    assert progress["educator"] == teacher["id"]
    stack = progress["stacks"][0]
    assert (stack["met"], len(stack["counted"])) == (False, 1)
    assert stack["rejected"][0]["reason"].startswith("revoked on")
    assert stack["missing"][0].startswith("2 more of:")
    assert [(role["key"], role["met"]) for role in progress["roles"]] == [("leader", False)]


async def test_achievement_holders_count_valid_credentials_in_good_standing(renewal: Renewal):
    good, revoked, expired, suspended = [await renewal.educator() for _ in range(4)]
    # Suspension is an issuer's opt-in: without it a credential has no suspension entry.
    await renewal.provider.http.patch(
        f"/v1/issuers/{renewal.provider.slug}", json={"suspensionEnabled": True}
    )
    await renewal.award(good, 0, _ago(20))
    await renewal.award(expired, 0, _ago(400), until=_ago(10))
    revoke = await renewal.award(revoked, 0, _ago(20))
    suspend = await renewal.award(suspended, 0, _ago(20))
    http = renewal.provider.http
    await http.post(f"/v1/credentials/{revoke}/revoke", json={"reason": "fraud"})
    await http.post(f"/v1/credentials/{suspend}/suspend", json={"reason": "under review"})
    query = {"achievementId": renewal.mcs[0]["url"]}

    now = await renewal.agency.http.get("/v1/agency/holders", params=query)
    last_year = await renewal.agency.http.get(
        "/v1/agency/holders", params=query | {"at": _text(_ago(30))}
    )
    approved = await renewal.agency.http.get(
        "/v1/agency/holders", params={"purpose": "license_renewal"}
    )

    assert now.status_code == 200, now.text
    assert [item["educator"] for item in now.json()["items"]] == [good["id"]]
    # 30 days ago only the one that has since expired had been earned.
    assert [item["educator"] for item in last_year.json()["items"]] == [expired["id"]]
    assert [item["educator"] for item in approved.json()["items"]] == [good["id"]]


async def test_reports_count_mcs_earned_and_stacks_completed_per_period(renewal: Renewal):
    austin, dallas = await renewal.educator("Austin ISD"), await renewal.educator("Dallas ISD")
    for mc in range(3):
        await renewal.award(austin, mc, _ago(10))
    await renewal.award(dallas, 0, _ago(10))
    await renewal.run()
    month = _ago(10).strftime("%Y-%m")

    earned = await renewal.agency.http.get(
        "/v1/agency/reports/earned", params={"by": "issuer,district", "period": "month"}
    )
    completed = await renewal.agency.http.get(
        "/v1/agency/reports/completed", params={"by": ["district", "purpose"], "period": "year"}
    )

    assert earned.status_code == 200, earned.text
    assert sorted(
        (row["period"], row["district"], row["count"]) for row in earned.json()["rows"]
    ) == [(month, "Austin ISD", 3), (month, "Dallas ISD", 1)]
    assert {row["issuer"] for row in earned.json()["rows"]} == {renewal.provider.slug}
    assert completed.status_code == 200, completed.text
    assert [
        (row["name"], row["district"], row["purpose"], row["count"])
        for row in completed.json()["rows"]
    ] == [("Literacy renewal", "Austin ISD", "license_renewal", 1)]


async def test_any_query_exports_as_streamed_csv(renewal: Renewal):
    teachers = [await renewal.educator() for _ in range(3)]
    for teacher in teachers:
        for mc in range(3):
            await renewal.award(teacher, mc, _ago(10))
    await renewal.run()

    response = await renewal.agency.http.get(
        f"/v1/agency/stacks/{renewal.stack}/holders", params={"format": "csv", "limit": 1}
    )
    report = await renewal.agency.http.get(
        "/v1/agency/reports/earned", params={"format": "csv", "by": "district"}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment; filename=" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["educator", "district", "completed_at", "expires_at"]
    assert sorted(row[0] for row in rows[1:]) == sorted(teacher["id"] for teacher in teachers)
    assert list(csv.reader(io.StringIO(report.text)))[1][1:] == ["Austin ISD", "9"]


async def test_an_agency_sees_only_its_own_stacks(
    renewal: Renewal,
    server: str,
    sessions: async_sessionmaker[AsyncSession],
    vault: KeyVault,
):
    other = await make_agency(server, sessions, vault, "Another State")
    try:
        holders = await other.http.get(f"/v1/agency/stacks/{renewal.stack}/holders")
        run = await other.http.post(f"/v1/agency/stacks/{renewal.stack}/evaluate-all")
        unknown = await renewal.agency.http.get(f"/v1/agency/stacks/{uuid.uuid4()}/holders")
    finally:
        await other.http.aclose()

    assert (holders.status_code, run.status_code, unknown.status_code) == (404, 404, 404)


async def test_bad_queries_get_a_clear_4xx(renewal: Renewal):
    http = renewal.agency.http
    stack = f"/v1/agency/stacks/{renewal.stack}"
    not_run = await http.get(f"{stack}/holders")
    await renewal.run()
    answers = {
        "not run yet": not_run,
        "bad cursor": await http.get(f"{stack}/holders", params={"cursor": "bm90IGEgY3Vyc29y"}),
        "negative days": await http.get("/v1/agency/expiring", params={"days": -1}),
        "too many days": await http.get("/v1/agency/expiring", params={"days": 100_000}),
        "unknown issuer": await http.get(f"{stack}/holders", params={"issuer": "nobody-x"}),
        "no time zone": await http.get(f"{stack}/holders", params={"at": "2025-01-01T00:00:00"}),
        "nothing named": await http.get("/v1/agency/holders"),
        "unknown purpose": await http.get("/v1/agency/holders", params={"purpose": "fun"}),
        "unknown achievement": await http.get(
            "/v1/agency/holders", params={"achievementId": "https://nowhere.example/a/1"}
        ),
        "bad grouping": await http.get("/v1/agency/reports/completed", params={"by": "issuer"}),
        "bad role": await http.get(f"/v1/agency/lattices/{uuid.uuid4()}/roles/x/holders"),
    }

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "not run yet": 409,
        "bad cursor": 422,
        "negative days": 422,
        "too many days": 422,
        "unknown issuer": 422,
        "no time zone": 422,
        "nothing named": 422,
        "unknown purpose": 422,
        "unknown achievement": 404,
        "bad grouping": 422,
        "bad role": 404,
    }
    assert "evaluate-all" in not_run.json()["detail"]
    assert answers["bad cursor"].json()["errors"][0]["field"] == "cursor"
    assert answers["negative days"].json()["errors"][0]["field"] == "days"


async def test_a_cursor_belongs_to_its_query(renewal: Renewal):
    for _ in range(2):
        teacher = await renewal.educator()
        for mc in range(3):
            await renewal.award(teacher, mc, _ago(10))
    await renewal.run()
    cursor = (await renewal.holders(limit=1))["next"]

    elsewhere = await renewal.agency.http.get(
        f"/v1/agency/stacks/{renewal.stack}/holders",
        params={"cursor": cursor, "district": "Austin ISD"},
    )

    assert elsewhere.status_code == 422
    assert elsewhere.json()["errors"][0]["field"] == "cursor"
