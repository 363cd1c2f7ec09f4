"""Stack and role rules as a state writes them: when an approval must hold, one MC counted
once across the stacks of a role, missing parts spelled out whole, and stored completions
kept up to date when a rule is revised."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import AgencyClient, Provider


def _ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _teacher() -> dict[str, str]:
    return {"educatorId": str(uuid.uuid4().int)[:9], "state": "TX"}


def _id(document: dict[str, Any]) -> str:
    return str(document["id"]).rsplit("/", 1)[1]


async def _decide(
    agency: AgencyClient, iri: str, since: str, decision: str = "approved", **extra: Any
) -> None:
    response = await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": iri,
            "purpose": "license_renewal",
            "decision": decision,
            "effectiveFrom": since,
        }
        | extra,
    )
    assert response.status_code == 201, response.text


async def _mcs(provider: Provider, agency: AgencyClient, *names: str) -> list[str]:
    """Achievements, each on the agency's list for license renewal since long ago."""
    urls = []
    for name in names:
        achievement = await provider.create_achievement(name=name)
        await _decide(agency, achievement["url"], "2015-01-01T00:00:00Z")
        urls.append(achievement["url"])
    return urls


async def _educator(agency: AgencyClient) -> dict[str, str]:
    teacher = _teacher()
    response = await agency.http.post("/v1/agency/educators", json=teacher)
    assert response.status_code == 201, response.text
    return teacher


async def _award(provider: Provider, mc: str, teacher: dict[str, str], days_ago: int) -> None:
    response = await provider.issue(
        mc.rsplit("/", 1)[1],
        recipient=teacher,
        awardedDate=_ago(days_ago),
        validFrom=_ago(days_ago),
    )
    assert response.status_code == 201, response.text


async def _stack(agency: AgencyClient, code: str, rule: dict[str, Any], **extra: Any) -> Any:
    response = await agency.http.post(
        "/v1/agency/stacks", json={"code": code, "name": code.title(), "rule": rule} | extra
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _lattice(agency: AgencyClient, rule: dict[str, Any]) -> Any:
    response = await agency.http.post(
        "/v1/agency/lattices",
        json={"name": "Career lattice", "roles": [{"key": "lead", "name": "Lead", "rule": rule}]},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _evaluate(agency: AgencyClient, teacher: dict[str, str], **target: str) -> Any:
    response = await agency.http.post("/v1/agency/evaluations", json={"educator": teacher} | target)
    assert response.status_code == 200, response.text
    return response.json()


# --- 5: an approval is asked of the day the MC was earned -----------------------------------


async def _withdrawn_after_earning(
    provider: Provider, agency: AgencyClient, **stack_extra: Any
) -> tuple[dict[str, str], str]:
    """An MC earned 200 days ago while approved; the approval withdrawn 100 days ago."""
    (mc,) = await _mcs(provider, agency, "Vetted literacy MC")
    stack = await _stack(
        agency, "renew", {"achievement": mc}, purpose="license_renewal", **stack_extra
    )
    teacher = await _educator(agency)
    await _award(provider, mc, teacher, 200)
    await _decide(agency, mc, _ago(100), decision="declined", note="withdrawn from the list")
    return teacher, _id(stack)


async def test_an_mc_earned_while_approved_keeps_counting_after_the_approval_is_withdrawn(
    provider: Provider, agency: AgencyClient
):
    teacher, stack = await _withdrawn_after_earning(provider, agency)

    result = await _evaluate(agency, teacher, stackId=stack)
    run = await agency.http.post(f"/v1/agency/stacks/{stack}/evaluate-all")

    assert result["stack"]["approvalAt"] == "earned"
    assert result["met"] is True, result
    assert run.json()["targets"][0]["met"] == 1  # the bulk run agrees


async def test_a_stack_may_ask_for_approval_on_the_evaluation_date_instead(
    provider: Provider, agency: AgencyClient
):
    teacher, stack = await _withdrawn_after_earning(provider, agency, approvalAt="evaluation")

    result = await _evaluate(agency, teacher, stackId=stack)
    run = await agency.http.post(f"/v1/agency/stacks/{stack}/evaluate-all")

    assert result["stack"]["approvalAt"] == "evaluation"
    assert result["met"] is False
    assert result["rejected"][0]["reason"] == "not approved for license_renewal on that date"
    assert run.json()["targets"][0]["met"] == 0


async def test_an_mc_earned_before_it_was_ever_approved_counts_from_its_approval(
    provider: Provider, agency: AgencyClient
):
    achievement = await provider.create_achievement(name="Approved late")
    mc = achievement["url"]
    await _decide(agency, mc, _ago(30))
    stack = _id(await _stack(agency, "late", {"achievement": mc}, purpose="license_renewal"))
    teacher = await _educator(agency)
    await _award(provider, mc, teacher, 200)

    before = await _evaluate(agency, teacher, stackId=stack, at=_ago(60))
    after = await _evaluate(agency, teacher, stackId=stack)

    assert before["met"] is False
    assert before["rejected"][0]["reason"] == (
        "not approved for license_renewal when earned, nor on that date"
    )
    assert after["met"] is True


async def test_approval_at_must_be_one_of_the_two_choices(agency: AgencyClient, provider: Provider):
    (mc,) = await _mcs(provider, agency, "Any MC")

    response = await agency.http.post(
        "/v1/agency/stacks",
        json={"code": "X", "name": "X", "rule": {"achievement": mc}, "approvalAt": "issuance"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "approvalAt"


# --- 7: roles --------------------------------------------------------------------------------


async def test_one_mc_does_not_satisfy_two_stacks_of_a_role(
    provider: Provider, agency: AgencyClient
):
    shared, other = await _mcs(provider, agency, "Coaching cycles", "Peer observation")
    coaching = await _stack(agency, "coaching", {"any": [{"achievement": shared}]})
    mentoring = await _stack(
        agency, "mentoring", {"any": [{"achievement": shared}, {"achievement": other}]}
    )
    rule = {"all": [{"stack": coaching["id"]}, {"stack": mentoring["id"]}]}
    lattice = await _lattice(agency, rule)
    one_mc, two_mcs = await _educator(agency), await _educator(agency)
    await _award(provider, shared, one_mc, 10)
    await _award(provider, shared, two_mcs, 10)
    await _award(provider, other, two_mcs, 10)

    alone = (await _evaluate(agency, one_mc, latticeId=_id(lattice)))["roles"][0]
    both = (await _evaluate(agency, two_mcs, latticeId=_id(lattice)))["roles"][0]
    run = await agency.http.post(f"/v1/agency/lattices/{_id(lattice)}/evaluate-all")

    assert alone["met"] is False
    assert alone["missing"] == [
        f"stack {mentoring['id']} (its MCs already count toward another part of the rule: "
        "one MC counts once)"
    ]
    # Two MCs: the shared one goes to coaching, the other to mentoring.
    assert both["met"] is True
    assert sorted(item["achievementId"] for item in both["counted"]) == sorted([shared, other])
    assert run.json()["targets"][0]["met"] == 1  # the bulk run counts once too


async def test_a_role_may_let_its_stacks_share_an_mc_when_it_says_so(
    provider: Provider, agency: AgencyClient
):
    (shared,) = await _mcs(provider, agency, "Coaching cycles")
    first = await _stack(agency, "first", {"achievement": shared})
    second = await _stack(agency, "second", {"achievement": shared})
    rule = {"all": [{"stack": first["id"]}, {"stack": second["id"]}], "shareCredentials": True}
    lattice = await _lattice(agency, rule)
    teacher = await _educator(agency)
    await _award(provider, shared, teacher, 10)

    role = (await _evaluate(agency, teacher, latticeId=_id(lattice)))["roles"][0]

    assert role["met"] is True
    assert lattice["roles"][0]["rule"]["shareCredentials"] is True


async def test_what_a_role_still_needs_lists_every_missing_part_of_an_option(
    provider: Provider, agency: AgencyClient
):
    """A teacher holding nothing toward the pathway must not read that the interview alone
    would earn the role: the pathway's stacks are missing too."""
    coaching_mc, mentoring_mc, interview, national_board = await _mcs(
        provider, agency, "Coaching MC", "Mentoring MC", "Interview", "National Board"
    )
    coaching = await _stack(agency, "coaching", {"achievement": coaching_mc})
    mentoring = await _stack(agency, "mentoring", {"achievement": mentoring_mc})
    pathway = {"all": [{"stack": coaching["id"]}, {"stack": mentoring["id"]}]}
    rule = {
        "any": [
            {"all": [*pathway["all"], {"achievement": interview}]},
            {"achievement": national_board},
        ]
    }
    lattice = await _lattice(agency, rule)
    teacher = await _educator(agency)

    role = (await _evaluate(agency, teacher, latticeId=_id(lattice)))["roles"][0]

    assert role["missing"] == [
        f"1 more of these options: stack {coaching['id']}, stack {mentoring['id']} and "
        f"{interview}, all of them; or {national_board}"
    ]


async def test_evaluate_all_says_why_educators_were_not_evaluated(
    provider: Provider, agency: AgencyClient
):
    (mc,) = await _mcs(provider, agency, "Literacy MC")
    stack = _id(await _stack(agency, "lit", {"achievement": mc}))
    holder = await _educator(agency)
    await _educator(agency)
    await _educator(agency)
    await _award(provider, mc, holder, 10)

    run = (await agency.http.post(f"/v1/agency/stacks/{stack}/evaluate-all")).json()

    assert (run["educators"], run["evaluated"]) == (3, 1)
    assert run["notEvaluated"] == [
        {
            "reason": "holds no credential of an achievement these rules name "
            "(so cannot meet them)",
            "educators": 2,
        }
    ]


async def _finished(agency: AgencyClient, url: str) -> Any:
    for _ in range(200):
        response = await agency.http.get(url)
        assert response.status_code == 200, response.text
        if response.json()["status"] in ("done", "failed"):
            return response.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"the run at {url} did not finish")


async def test_a_stack_revision_re_evaluates_its_holders_and_roles_in_the_background(
    provider: Provider, agency: AgencyClient
):
    first, second = await _mcs(provider, agency, "Literacy MC", "Numeracy MC")
    stack = await _stack(agency, "lit", {"achievement": first})
    lattice = await _lattice(agency, {"stack": stack["id"]})
    teacher = await _educator(agency)
    await _award(provider, first, teacher, 10)
    await agency.http.post(f"/v1/agency/stacks/{_id(stack)}/evaluate-all")
    await agency.http.post(f"/v1/agency/lattices/{_id(lattice)}/evaluate-all")
    role_holders = f"/v1/agency/lattices/{_id(lattice)}/roles/lead/holders"
    assert len((await agency.http.get(role_holders)).json()["items"]) == 1

    revised = await agency.http.put(
        f"/v1/agency/stacks/{_id(stack)}",
        json={
            "code": "lit",
            "name": "Lit",
            "rule": {"all": [{"achievement": first}, {"achievement": second}]},
        },
    )
    assert revised.status_code == 201, revised.text
    run = await _finished(agency, revised.json()["evaluationRun"])
    stack_holders = await agency.http.get(f"/v1/agency/stacks/{_id(stack)}/holders")

    assert run["status"] == "done", run
    assert {(item["kind"], item["met"]) for item in run["targets"]} == {("stack", 0), ("role", 0)}
    assert run["stack"] == revised.json()["id"]
    assert stack_holders.json()["items"] == []
    assert (await agency.http.get(role_holders)).json()["items"] == []


async def test_another_agency_cannot_read_an_evaluation_run(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any, vault: Any
):
    from tests.conftest import make_agency

    (mc,) = await _mcs(provider, agency, "Literacy MC")
    stack = _id(await _stack(agency, "lit", {"achievement": mc}))
    revised = await agency.http.put(
        f"/v1/agency/stacks/{stack}", json={"code": "lit", "name": "L", "rule": {"achievement": mc}}
    )
    url = revised.json()["evaluationRun"]
    other = await make_agency(server, sessions, vault, "Another State")

    mine = await _finished(agency, url)
    theirs = await other.http.get(url)

    assert mine["targets"] == []  # never evaluated in full: no stored completions to refresh
    assert theirs.status_code == 404
    await other.http.aclose()
