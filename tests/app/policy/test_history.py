"""History is append-only: what an agency was told about a past date stays what it was.

A revocation takes effect from its time, not before; a move to another district starts a
new membership and leaves earlier report rows where they were; re-running a full evaluation
changes nothing; and any answer about a past date is the same after later events as before.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Completion
from tests.app.policy.test_state_queries import Renewal
from tests.conftest import AgencyClient, Provider


def _ago(days: int) -> datetime:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    return moment.replace(hour=12, minute=0, second=0)


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ids(answer: dict[str, Any]) -> list[str]:
    return [item["educator"] for item in answer["items"]]


@pytest.fixture
async def renewal(provider: Provider, agency: AgencyClient) -> Renewal:
    return await Renewal(provider, agency).setup()


async def _revoke(renewal: Renewal, credential_id: str) -> datetime:
    response = await renewal.provider.http.post(
        f"/v1/credentials/{credential_id}/revoke", json={"reason": "plagiarised evidence"}
    )
    assert response.status_code == 200, response.text
    return _moment(response.json()["events"][-1]["occurredAt"])


async def _get(renewal: Renewal, path: str, **params: Any) -> dict[str, Any]:
    response = await renewal.agency.http.get(path, params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _rows(renewal: Renewal, measure: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await _get(renewal, f"/v1/agency/reports/{measure}", **params))[
        "rows"
    ]
    return rows


async def _fully_complete(renewal: Renewal, teacher: dict[str, str], days: int) -> list[str]:
    return [await renewal.award(teacher, mc, _ago(days)) for mc in range(3)]


# --- a revocation takes effect from its time ---------------------------------------------


async def test_a_revoked_mc_ends_her_completion_when_revoked_not_before(renewal: Renewal):
    teacher = await renewal.educator()
    issued = await _fully_complete(renewal, teacher, 100)
    await renewal.run()
    await _revoke(renewal, issued[0])

    rerun = await renewal.run()
    before = await renewal.holders(at=_text(_ago(50)))
    now = await renewal.holders()
    completed = await _rows(
        renewal, "completed", period="month", **{"from": _text(_ago(101)), "to": _text(_ago(99))}
    )

    assert _ids(before) == [teacher["id"]]  # she held it then: that answer stands
    assert _moment(before["items"][0]["completedAt"]) == _ago(100)
    assert now["items"] == []
    assert rerun["targets"][0]["met"] == 0
    assert [(row["name"], row["count"]) for row in completed] == [("Literacy renewal", 1)]


async def test_the_period_ends_at_the_revocation_and_says_why(
    renewal: Renewal, sessions: async_sessionmaker[AsyncSession]
):
    teacher = await renewal.educator()
    issued = await _fully_complete(renewal, teacher, 100)
    await renewal.run()
    revoked_at = await _revoke(renewal, issued[1])

    await renewal.run()

    async with sessions() as session:
        periods = list(
            await session.scalars(
                select(Completion).where(Completion.educator_id == uuid.UUID(teacher["id"]))
            )
        )
    assert [(row.started_at, row.ended_at, row.end_reason) for row in periods] == [
        (_ago(100), revoked_at, "revoked")
    ]
    assert periods[0].end_detail is not None and periods[0].end_detail.endswith(issued[1])
    assert (await renewal.holders(at=_text(revoked_at - timedelta(seconds=1))))["items"]
    assert (await renewal.holders(at=_text(revoked_at + timedelta(seconds=1))))["items"] == []


async def test_a_suspension_lifted_leaves_a_gap_not_a_rewrite(renewal: Renewal):
    await renewal.provider.http.patch(
        f"/v1/issuers/{renewal.provider.slug}", json={"suspensionEnabled": True}
    )
    teacher = await renewal.educator()
    issued = await _fully_complete(renewal, teacher, 100)
    await renewal.run()
    http = renewal.provider.http
    suspended = await http.post(f"/v1/credentials/{issued[0]}/suspend", json={"reason": "review"})
    assert suspended.status_code == 200, suspended.text
    await renewal.run()
    during = datetime.now(UTC)
    lifted = await http.post(f"/v1/credentials/{issued[0]}/unsuspend", json={"reason": "cleared"})
    assert lifted.status_code == 200, lifted.text

    await renewal.run()

    assert _ids(await renewal.holders(at=_text(_ago(50)))) == [teacher["id"]]
    assert (await renewal.holders(at=during.isoformat()))["items"] == []
    assert _ids(await renewal.holders()) == [teacher["id"]]
    # One completion in the month she first completed it, one when she held it again.
    completed = await _rows(renewal, "completed", period="year")
    assert sum(row["count"] for row in completed) == 2


# --- district membership has dates --------------------------------------------------------


async def test_a_move_to_another_district_leaves_earlier_report_rows_where_they_were(
    renewal: Renewal,
):
    teacher = await renewal.educator("Austin ISD")
    await _fully_complete(renewal, teacher, 60)
    await renewal.run()
    earlier, later = _ago(60).strftime("%Y-%m"), datetime.now(UTC).strftime("%Y-%m")

    # Registered again with another district: a move, from now on.
    moved = await renewal.agency.http.post(
        "/v1/agency/educators",
        json={"educatorId": teacher["educatorId"], "state": "TX", "district": "Dallas ISD"},
    )
    await asyncio.sleep(1.1)  # validFrom of the next MC is kept to the second
    # Earned after the move: validFrom is when it is issued.
    fourth = await renewal.provider.issue(
        renewal.mcs[3]["id"], recipient={"educatorId": teacher["educatorId"], "state": "TX"}
    )
    assert fourth.status_code == 201, fourth.text
    await renewal.run()

    earned = await _rows(renewal, "earned", by="district", period="month")
    completed = await _rows(renewal, "completed", by="district", period="month")
    assert moved.status_code == 201, moved.text
    assert [(row["period"], row["district"], row["count"]) for row in earned] == [
        (earlier, "Austin ISD", 3),
        (later, "Dallas ISD", 1),
    ]
    assert [(row["period"], row["district"], row["count"]) for row in completed] == [
        (earlier, "Austin ISD", 1)
    ]
    assert moved.json()["district"] == "Dallas ISD"
    assert [(row["district"], row["validUntil"] is None) for row in moved.json()["districts"]] == [
        ("Austin ISD", False),
        ("Dallas ISD", True),
    ]


async def test_holders_by_district_use_her_district_on_the_date(renewal: Renewal):
    teacher = await renewal.educator("Austin ISD")
    await _fully_complete(renewal, teacher, 60)
    await renewal.run()
    since = _ago(10)

    moved = await renewal.agency.http.patch(
        f"/v1/agency/educators/{teacher['id']}",
        json={"district": "Dallas ISD", "since": _text(since)},
    )

    assert moved.status_code == 200, moved.text
    month_ago = _text(_ago(30))
    assert _ids(await renewal.holders(at=month_ago, district="Austin ISD")) == [teacher["id"]]
    assert (await renewal.holders(at=month_ago, district="Dallas ISD"))["items"] == []
    assert _ids(await renewal.holders(district="Dallas ISD")) == [teacher["id"]]
    assert (await renewal.holders(district="Austin ISD"))["items"] == []
    holder = (await renewal.holders(at=month_ago))["items"][0]
    assert holder["district"] == "Austin ISD"


async def test_a_move_cannot_rewrite_a_closed_membership(renewal: Renewal):
    teacher = await renewal.educator("Austin ISD")
    path = f"/v1/agency/educators/{teacher['id']}"
    first = await renewal.agency.http.patch(
        path, json={"district": "Dallas ISD", "since": _text(_ago(10))}
    )

    backwards = await renewal.agency.http.patch(
        path, json={"district": "Houston ISD", "since": _text(_ago(20))}
    )
    future = await renewal.agency.http.patch(
        path, json={"district": "Houston ISD", "since": _text(_ago(-5))}
    )
    elsewhere = await renewal.agency.http.patch(
        f"/v1/agency/educators/{uuid.uuid4()}", json={"district": "Houston ISD"}
    )

    assert first.status_code == 200, first.text
    assert (backwards.status_code, future.status_code, elsewhere.status_code) == (422, 422, 404)
    assert backwards.json()["errors"][0]["field"] == "since"


# --- re-running, and later events, change nothing about the past ---------------------------


async def _snapshot(renewal: Renewal, at: str) -> dict[str, Any]:
    """Every answer about `at` (and reports up to it), as the JSON the agency reads."""
    stack = f"/v1/agency/stacks/{renewal.stack}/holders"
    answers: dict[str, Any] = {
        "holders": (await _get(renewal, stack, at=at))["items"],
        "austin": (await _get(renewal, stack, at=at, district="Austin ISD"))["items"],
        "mc holders": (
            await _get(renewal, "/v1/agency/holders", at=at, achievementId=renewal.mcs[0]["url"])
        )["items"],
        "expiring": (await _get(renewal, "/v1/agency/expiring", at=at, days=3650))["items"],
    }
    for measure in ("earned", "completed"):
        answers[measure] = await _rows(renewal, measure, by="district", period="month", to=at)
    # A stack is named by the URL of its current revision: a revision renames, not rewrites.
    for row in answers["expiring"] + answers["completed"]:
        row.pop("target")
    return answers


async def test_running_the_evaluation_again_changes_nothing(renewal: Renewal):
    complete, lapsing, revoked = [await renewal.educator() for _ in range(3)]
    await _fully_complete(renewal, complete, 200)
    await renewal.award(lapsing, 0, _ago(300), until=_ago(-30))
    for mc in (1, 2):
        await renewal.award(lapsing, mc, _ago(300))
    issued = await _fully_complete(renewal, revoked, 150)
    await renewal.run()
    await _revoke(renewal, issued[2])
    await renewal.run()
    before = await _snapshot(renewal, _text(_ago(1)))

    again = await renewal.run()
    once_more = await renewal.run()

    assert [(run["opened"], run["closed"]) for run in (again, once_more)] == [(0, 0), (0, 0)]
    assert await _snapshot(renewal, _text(_ago(1))) == before
    assert sorted(_ids(await renewal.holders())) == sorted([complete["id"], lapsing["id"]])


async def test_answers_about_a_past_date_survive_later_events(renewal: Renewal):
    revoked, mover, late = [await renewal.educator("Austin ISD") for _ in range(3)]
    issued = await _fully_complete(renewal, revoked, 200)
    await _fully_complete(renewal, mover, 150)
    for mc in (0, 1):
        await renewal.award(late, mc, _ago(100))
    await renewal.run()
    past = _text(_ago(20))
    before = await _snapshot(renewal, past)

    # Later events: a revocation, a move, a new MC, a rule revised, runs and refreshes.
    await _revoke(renewal, issued[0])
    await renewal.agency.http.patch(
        f"/v1/agency/educators/{mover['id']}", json={"district": "Dallas ISD"}
    )
    await renewal.provider.issue(
        renewal.mcs[2]["id"], recipient={"educatorId": late["educatorId"], "state": "TX"}
    )
    await renewal.run()
    assert sorted(_ids(await renewal.holders())) == sorted([mover["id"], late["id"]])
    revised = await renewal.agency.http.put(
        f"/v1/agency/stacks/{renewal.stack}",
        json={
            "code": "LIT-RENEW",
            "name": "Literacy renewal",
            "rule": {"atLeast": 2, "of": [mc["url"] for mc in renewal.mcs]},
            "windowDays": 5 * 365,
            "purpose": "license_renewal",
        },
    )
    assert revised.status_code == 201, revised.text
    await renewal.run()

    assert await _snapshot(renewal, past) == before
    assert _ids(await renewal.holders(district="Dallas ISD")) == [mover["id"]]
