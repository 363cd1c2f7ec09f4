"""LEAs and their options, as a state runs them: North ISD chose option 1 ("5 MCs in 5
years") for license renewal, South ISD option 2 ("3 MCs in 5 years"). The rule that applies
to an educator is her LEA's option on the date asked, and what applied on a past date stays
what applied, whatever she or her LEA did since."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from tests.conftest import AgencyClient, Provider

CHOSEN = "2020-01-01T00:00:00Z"
WINDOW = 5 * 365


def ago(days: float) -> str:
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def teacher() -> dict[str, str]:
    """A fresh license number: tests share one database and credentials are global."""
    return {"educatorId": uuid.uuid4().hex[:12], "state": "TX"}


class Policy:
    """Five approved literacy MCs; two renewal stacks over them (5 of 5, 3 of 5, within 5
    years); option-1 applies the first, option-2 the second; North follows option-1 and
    South option-2 since 2020."""

    def __init__(self, provider: Provider, agency: AgencyClient) -> None:
        self.provider, self.agency = provider, agency
        self.http = agency.http
        self.mcs: list[dict[str, Any]] = []
        self.stacks: dict[str, dict[str, Any]] = {}
        self.leas: dict[str, str] = {}

    async def setup(self) -> Policy:
        for n in range(5):
            mc = await self.provider.create_achievement(name=f"Literacy MC {n}")
            await self.ok(
                "post",
                "/v1/agency/approvals",
                {"achievementId": mc["url"], "purpose": "license_renewal", "effectiveFrom": CHOSEN},
            )
            self.mcs.append(mc)
        self.stacks["five"] = await self.stack("RENEW-5", "Five in five", 5)
        self.stacks["three"] = await self.stack("RENEW-3", "Three in five", 3)
        # By id, and by IRI: either names the stack.
        await self.option("option-1", "5 MCs in 5 years", self.stacks["five"]["id"].rsplit("/")[-1])
        await self.option("option-2", "3 MCs in 5 years", self.stacks["three"]["id"])
        self.leas["NORTH"] = await self.lea("NORTH", "North ISD")
        self.leas["SOUTH"] = await self.lea("SOUTH", "South ISD")
        await self.choose("NORTH", "option-1", CHOSEN)
        await self.choose("SOUTH", "option-2", CHOSEN)
        return self

    async def ok(
        self, method: str, path: str, body: Any = None, status: int = 201, **params: str
    ) -> Any:
        response = await self.http.request(method, path, json=body, params=params)
        assert response.status_code == status, response.text
        return response.json()

    async def stack(self, code: str, name: str, count: int) -> dict[str, Any]:
        body = {
            "code": code,
            "name": name,
            "rule": {"atLeast": count, "of": [mc["url"] for mc in self.mcs]},
            "windowDays": WINDOW,
            "purpose": "license_renewal",
        }
        made: dict[str, Any] = await self.ok("post", "/v1/agency/stacks", body)
        return made

    async def option(self, key: str, name: str, stack: str) -> dict[str, Any]:
        body = {"purpose": "license_renewal", "key": key, "name": name, "stack": stack}
        made: dict[str, Any] = await self.ok("post", "/v1/agency/options", body)
        return made

    async def lea(self, code: str, name: str) -> str:
        made = await self.ok("post", "/v1/agency/districts", {"code": code, "name": name})
        return str(made["id"])

    async def choose(self, code: str, key: str, since: str) -> dict[str, Any]:
        body = {"purpose": "license_renewal", "option": key, "validFrom": since}
        made: dict[str, Any] = await self.ok(
            "post", f"/v1/agency/districts/{self.leas[code]}/choices", body
        )
        return made

    async def educator(self, district: str | None = None) -> str:
        body = teacher() | ({"district": district} if district else {})
        made = await self.ok("post", "/v1/agency/educators", body)
        self.last = body
        return str(made["id"])

    async def award(self, count: int) -> None:
        """The last educator registered earns `count` MCs, 100, 200, ... days ago."""
        recipient = {"educatorId": self.last["educatorId"], "state": "TX"}
        for n in range(count):
            earned = ago(100 * (n + 1))
            response = await self.provider.issue(
                self.mcs[n]["id"], recipient=recipient, awardedDate=earned, validFrom=earned
            )
            assert response.status_code == 201, response.text

    async def requirement(self, educator: str, at: str | None = None) -> dict[str, Any]:
        path = f"/v1/agency/educators/{educator}/requirements/license_renewal"
        found: dict[str, Any] = await self.ok("get", path, status=200, **({"at": at} if at else {}))
        return found


@pytest.fixture
async def policy(provider: Provider, agency: AgencyClient) -> Policy:
    return await Policy(provider, agency).setup()


def _answer(found: dict[str, Any]) -> tuple[Any, ...]:
    """What an answer says of its date (the ends of her membership and of the LEA's choice
    are as recorded now: a move or a new choice since gives them one)."""
    district, option = found["district"] or {}, found["option"] or {}
    return (
        found["status"],
        found["summary"],
        district.get("code"),
        district.get("memberFrom"),
        option.get("key"),
        option.get("chosenFrom"),
        option.get("stack"),
        found["met"],
        [item["credentialId"] for item in found["counted"]],
        found["missing"],
    )


async def test_the_same_three_mcs_renew_under_option_2_and_not_under_option_1(policy: Policy):
    south = await policy.educator("SOUTH")
    await policy.award(3)
    north = await policy.educator("NORTH")
    await policy.award(3)

    in_south = await policy.requirement(south)
    in_north = await policy.requirement(north)

    assert in_south["status"] == "met" and in_south["met"] is True
    assert in_south["district"]["code"] == "SOUTH" and in_south["option"]["key"] == "option-2"
    assert len(in_south["counted"]) == 3
    assert in_south["summary"].endswith("was met, with 3 credential(s) counted.")
    assert in_north["status"] == "not_met" and in_north["option"]["key"] == "option-1"
    assert in_north["missing"][0].startswith("2 more of:")
    assert "South ISD (SOUTH)" in in_south["summary"] and "Missing: 2 more" in in_north["summary"]


async def test_after_she_moves_the_new_leas_rule_applies_and_earlier_dates_keep_theirs(
    policy: Policy,
):
    her = await policy.educator("SOUTH")
    await policy.award(3)
    before_move, after_move = ago(20), ago(5)
    earlier = await policy.requirement(her, before_move)
    later = await policy.requirement(her, after_move)

    await policy.ok(
        "patch", f"/v1/agency/educators/{her}", {"district": "NORTH", "since": ago(10)}, 200
    )

    assert _answer(await policy.requirement(her, before_move)) == _answer(earlier)
    moved = await policy.requirement(her, after_move)
    assert later["status"] == "met" and moved["status"] == "not_met"
    assert moved["district"]["code"] == "NORTH" and moved["option"]["key"] == "option-1"
    assert moved["district"]["memberFrom"] is not None


async def test_when_her_lea_changes_option_earlier_dates_keep_the_old_rule(policy: Policy):
    her = await policy.educator("SOUTH")
    await policy.award(3)
    earlier = await policy.requirement(her, ago(20))

    await policy.choose("SOUTH", "option-1", ago(10))

    assert _answer(await policy.requirement(her, ago(20))) == _answer(earlier)
    now = await policy.requirement(her)
    assert (now["status"], now["option"]["key"]) == ("not_met", "option-1")
    assert now["option"]["chosenFrom"] is not None and now["option"]["chosenUntil"] is None
    lea = await policy.ok("get", f"/v1/agency/districts/{policy.leas['SOUTH']}", status=200)
    assert [(c["option"], c["validUntil"] is None) for c in lea["history"]] == [
        ("option-2", False),
        ("option-1", True),
    ]
    assert [c["option"] for c in lea["options"]] == ["option-1"]


async def test_a_stack_revision_speaks_from_its_creation_on(policy: Policy):
    her = await policy.educator("SOUTH")
    await policy.award(3)
    stack_id = policy.stacks["three"]["id"].rsplit("/", 1)[1]
    revision = {
        "code": "RENEW-3",
        "name": "Four in five",
        "rule": {"atLeast": 4, "of": [mc["url"] for mc in policy.mcs]},
        "windowDays": WINDOW,
        "purpose": "license_renewal",
    }

    await policy.ok("put", f"/v1/agency/stacks/{stack_id}", revision)

    before, after = await policy.requirement(her, ago(1)), await policy.requirement(her)
    assert (before["status"], before["option"]["revision"]) == ("met", 1)
    assert (after["status"], after["option"]["revision"]) == ("not_met", 2)


async def test_no_lea_an_unregistered_lea_or_no_option_is_a_plain_answer(policy: Policy):
    nowhere = await policy.educator()
    ghost = await policy.educator("GHOST ISD")
    await policy.lea("EAST", "East ISD")
    east = await policy.educator("EAST")
    south = await policy.educator("SOUTH")

    answers = {
        name: await policy.requirement(educator)
        for name, educator in (("nowhere", nowhere), ("ghost", ghost), ("east", east))
    }
    before_options = await policy.requirement(south, "2019-06-01T00:00:00Z")

    assert answers["nowhere"]["status"] == "no_district" and answers["nowhere"]["district"] is None
    assert answers["ghost"]["status"] == "district_not_registered"
    assert answers["ghost"]["district"] == {
        "code": "GHOST ISD",
        "name": None,
        "registered": False,
        "memberFrom": None,
        "memberUntil": None,
    }
    assert "LEA not registered" in answers["ghost"]["summary"]
    assert answers["east"]["status"] == "no_option" and answers["east"]["option"] is None
    assert before_options["status"] == "no_option"
    assert all(item["met"] is None for item in [*answers.values(), before_options])


async def test_leas_and_options_list_and_refuse_what_breaks_a_rule(policy: Policy):
    south = policy.leas["SOUTH"]
    http = policy.http

    leas = (await http.get("/v1/agency/districts")).json()
    options = (await http.get("/v1/agency/options", params={"purpose": "license_renewal"})).json()
    assert [(lea["code"], [c["option"] for c in lea["options"]]) for lea in leas] == [
        ("NORTH", ["option-1"]),
        ("SOUTH", ["option-2"]),
    ]
    assert [(o["key"], o["stack"]) for o in options] == [
        ("option-1", policy.stacks["five"]["id"]),
        ("option-2", policy.stacks["three"]["id"]),
    ]

    def choice(option: str, since: str, purpose: str = "license_renewal") -> Any:
        body = {"purpose": purpose, "option": option, "validFrom": since}
        return http.post(f"/v1/agency/districts/{south}/choices", json=body)

    same = await choice("option-2", ago(1))
    assert same.status_code == 200 and same.json()["validFrom"].startswith("2020-01-01")
    statuses = {
        "before the open choice": (await choice("option-1", "2019-01-01T00:00:00Z")).status_code,
        "at its very start": (await choice("option-1", CHOSEN)).status_code,
        "unknown option": (await choice("option-9", ago(1))).status_code,
        "unknown purpose": (await choice("option-1", ago(1), "fishing")).status_code,
        "option of another purpose": (await choice("option-1", ago(1), "endorsement")).status_code,
        "no such LEA": (
            await http.post(
                f"/v1/agency/districts/{uuid.uuid4()}/choices",
                json={"purpose": "license_renewal", "option": "option-1"},
            )
        ).status_code,
        "code taken": (
            await http.post("/v1/agency/districts", json={"code": "SOUTH", "name": "Again"})
        ).status_code,
        "key taken": (
            await http.post(
                "/v1/agency/options",
                json={
                    "purpose": "license_renewal",
                    "key": "option-1",
                    "name": "Again",
                    "stack": policy.stacks["five"]["id"],
                },
            )
        ).status_code,
        "unknown stack": (
            await http.post(
                "/v1/agency/options",
                json={"purpose": "license_renewal", "key": "x", "name": "X", "stack": "nope"},
            )
        ).status_code,
        "stack of another purpose": (
            await http.post(
                "/v1/agency/options",
                json={
                    "purpose": "endorsement",
                    "key": "x",
                    "name": "X",
                    "stack": policy.stacks["five"]["id"],
                },
            )
        ).status_code,
        "unknown educator": (
            await http.get(f"/v1/agency/educators/{uuid.uuid4()}/requirements/license_renewal")
        ).status_code,
    }
    assert statuses == {
        "before the open choice": 422,
        "at its very start": 422,
        "unknown option": 422,
        "unknown purpose": 422,
        "option of another purpose": 422,
        "no such LEA": 404,
        "code taken": 409,
        "key taken": 409,
        "unknown stack": 422,
        "stack of another purpose": 422,
        "unknown educator": 404,
    }


async def test_another_agency_sees_none_of_its_leas(policy: Policy, server: str, sessions, vault):
    from tests.conftest import make_agency

    other = await make_agency(server, sessions, vault, "Oklahoma State Department of Education")
    try:
        lea = await other.http.get(f"/v1/agency/districts/{policy.leas['SOUTH']}")
        listed = await other.http.get("/v1/agency/districts")
    finally:
        await other.http.aclose()

    assert lea.status_code == 404 and listed.json() == []


async def test_parallel_choices_leave_exactly_one_open_period(policy: Policy):
    south = policy.leas["SOUTH"]
    keys = ["option-1", "option-2"]

    async def choose(n: int) -> int:
        body = {"purpose": "license_renewal", "option": keys[n % 2], "validFrom": ago(50 - n)}
        response = await policy.http.post(f"/v1/agency/districts/{south}/choices", json=body)
        return response.status_code

    statuses = await asyncio.gather(*(choose(n) for n in range(12)))

    assert set(statuses) <= {200, 201, 409, 422} and 201 in statuses
    history = (await policy.http.get(f"/v1/agency/districts/{south}")).json()["history"]
    assert [c["validUntil"] for c in history].count(None) == 1
    assert history[-1]["validUntil"] is None
    # The periods follow one another: each ends where the next begins, none overlaps.
    for earlier, later in pairwise(history):
        assert earlier["validUntil"] == later["validFrom"]
        assert earlier["validFrom"] < later["validFrom"]
