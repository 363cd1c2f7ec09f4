"""The agency console over HTTP: only the agency's members get in (admins decide and edit
rules), every page shows the agency's real data, the rule editor saves the rule the API
would, and a form with bad input comes back with the message beside it and a 4xx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from badges.issuers.issuers import KeyVault
from tests.app.console.agency_desk import Desk, make_desk, read, sent
from tests.app.console.staff import add_staff_member, csrf_in, signed_in_client
from tests.conftest import AgencyClient, Provider, make_agency


@pytest.fixture
async def desk(sessions: Any, vault: KeyVault, provider: Provider, agency: AgencyClient) -> Desk:
    return await make_desk(sessions, vault, provider, agency)


@pytest.fixture
async def admin(server: str, sessions: Any, desk: Desk) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_in_client(server, sessions, desk.admin) as http:
        yield http


@pytest.fixture
async def staff(server: str, sessions: Any, desk: Desk) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_in_client(server, sessions, desk.staff) as http:
        yield http


async def _token(http: httpx.AsyncClient, path: str) -> str:
    return csrf_in((await http.get(path)).text)


def _outside_details(html: str) -> str:
    return re.sub(r"<details.*?</details>", "", html, flags=re.DOTALL)


# --- who gets in ---------------------------------------------------------------------------


async def test_only_the_agencys_members_open_its_console(
    server: str, sessions: Any, vault: KeyVault, desk: Desk, staff: httpx.AsyncClient
):
    other = await make_agency(server, sessions, vault, "Ohio Department of Education")
    await other.http.aclose()
    from badges.policy.agencies import agency_of

    async with sessions() as session:
        other_row = await agency_of(session, other.issuer)
    assert other_row is not None
    outsider = await add_staff_member(sessions, vault, agency=other_row, role="admin")

    async with httpx.AsyncClient(base_url=server) as anonymous:
        signed_out = await anonymous.get(desk.home)
    async with signed_in_client(server, sessions, outsider) as http:
        elsewhere = await http.get(f"{desk.home}/stacks")
    mine = await staff.get(desk.home)

    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/console/sign-in?next=")
    assert elsewhere.status_code == 404 and desk.agency.issuer.name not in elsewhere.text
    assert mine.status_code == 200 and desk.agency.issuer.name in mine.text


async def test_staff_review_but_only_admins_decide_withdraw_and_edit_rules(
    desk: Desk, staff: httpx.AsyncClient
):
    token = await _token(staff, f"{desk.home}/vetting/{desk.waiting}")

    editor = await staff.get(f"{desk.home}/stacks/new")
    decided = await staff.post(
        f"{desk.home}/vetting/{desk.waiting}/decision",
        data={"csrf": token, "decision": "declined"},
    )
    withdrawn = await staff.post(
        f"{desk.home}/curated/withdraw",
        data={"csrf": token, "achievement": desk.mcs[0]["url"], "purpose": "license_renewal"},
    )
    request_page = await staff.get(f"{desk.home}/vetting/{desk.waiting}")

    assert editor.status_code == decided.status_code == withdrawn.status_code == 403
    assert "Add your review" in request_page.text and "Record the decision" not in request_page.text


# --- overview and curated list ----------------------------------------------------------------


async def test_the_overview_counts_approved_mcs_open_requests_and_educators(
    desk: Desk, staff: httpx.AsyncClient
):
    overview = await staff.get(desk.home)

    text = re.sub(r"\s+", " ", overview.text)
    assert "<strong>3</strong> <a" in text and "MCs approved</a>" in text
    assert "<strong>1</strong> <a" in text and "open vetting requests" in text
    assert "educators</a> registered" in text
    assert "License renewal" in text and "Additional endorsements" in text


async def test_an_admin_withdraws_an_approval_from_now_on(
    desk: Desk, admin: httpx.AsyncClient, public: httpx.AsyncClient
):
    listed = await admin.get(f"{desk.home}/curated")
    token = csrf_in(listed.text)

    withdrawn = await admin.post(
        f"{desk.home}/curated/withdraw",
        data={
            "csrf": token,
            "achievement": desk.mcs[0]["url"],
            "purpose": "license_renewal",
            "note": "Replaced by a newer MC",
        },
    )
    after = await admin.get(withdrawn.headers["location"])
    feed = await read(public, f"/agencies/{desk.agency.slug}/curated.json")
    earlier = await admin.get(f"{desk.home}/curated", params={"at": "2025-06-01"})

    assert listed.status_code == 200 and "Close Reading" in listed.text
    assert "1 January 2020" in listed.text  # approved from
    assert withdrawn.status_code == 303
    renewal_section = after.text.split('id="purpose-license_renewal"')[1].split("<h2")[0]
    assert "Withdrawn" in after.text and "Close Reading" not in renewal_section
    renewal = next(item for item in feed["purposes"] if item["purpose"] == "license_renewal")
    assert desk.mcs[0]["url"] not in {mc["achievementId"] for mc in renewal["microCredentials"]}
    # A past date shows the list as it stood then (these decisions were all made today).
    assert "as of <strong>1 June 2025</strong>" in earlier.text
    assert "Close Reading" not in earlier.text and "Withdraw from" not in earlier.text


async def test_withdrawing_something_not_approved_comes_back_with_the_reason(
    desk: Desk, admin: httpx.AsyncClient
):
    token = await _token(admin, f"{desk.home}/curated")

    refused = await admin.post(
        f"{desk.home}/curated/withdraw",
        data={"csrf": token, "achievement": desk.mcs[0]["url"], "purpose": "no_such_purpose"},
    )

    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and "purpose must be one of" in refused.text


# --- vetting --------------------------------------------------------------------------------


async def test_a_member_reviews_on_the_rubric_and_an_admin_approves(
    desk: Desk, staff: httpx.AsyncClient, admin: httpx.AsyncClient, public: httpx.AsyncClient
):
    queue = await staff.get(f"{desk.home}/vetting")
    request_page = await staff.get(f"{desk.home}/vetting/{desk.waiting}")
    rubric = await read(desk.agency.http, "/v1/agency/vetting/rubric")
    scores = {f"score_{item['key']}": str(item["passing"]) for item in rubric["criteria"]}

    reviewed = await staff.post(
        f"{desk.home}/vetting/{desk.waiting}/reviews",
        data={"csrf": csrf_in(request_page.text), "recommendation": "approve", **scores},
    )
    admin_page = await admin.get(f"{desk.home}/vetting/{desk.waiting}")
    decided = await admin.post(
        f"{desk.home}/vetting/{desk.waiting}/decision",
        data={
            "csrf": csrf_in(admin_page.text),
            "decision": "approved",
            "effective_from": "2026-01-01",
        },
    )
    closed = await admin.get(f"{desk.home}/vetting/{desk.waiting}")
    detail = await read(desk.agency.http, f"/v1/agency/vetting/{desk.waiting}")
    feed = await read(public, f"/agencies/{desk.agency.slug}/curated.json")

    assert queue.status_code == 200 and "Restorative Circles" in queue.text
    assert "Close Reading" not in queue.text  # decided: not in the open queue
    assert "Competency statement" in request_page.text  # the agency's rubric, to score
    assert reviewed.status_code == 303 and decided.status_code == 303
    assert "Approved" in closed.text and "Add your review" not in closed.text
    assert [event["action"] for event in detail["events"]] == [
        "submitted",
        "review_added",
        "decided",
    ]
    assert detail["events"][1]["actor"].startswith("staff:")
    assert detail["reviews"][0]["meetsRubric"] is True
    renewal = next(item for item in feed["purposes"] if item["purpose"] == "license_renewal")
    assert desk.mcs[3]["url"] in {mc["achievementId"] for mc in renewal["microCredentials"]}


async def test_a_review_missing_a_score_comes_back_with_the_message(
    desk: Desk, staff: httpx.AsyncClient
):
    token = await _token(staff, f"{desk.home}/vetting/{desk.waiting}")

    refused = await staff.post(
        f"{desk.home}/vetting/{desk.waiting}/reviews",
        data={"csrf": token, "recommendation": "approve", "score_competency": "2"},
    )
    detail = await read(desk.agency.http, f"/v1/agency/vetting/{desk.waiting}")

    assert refused.status_code == 422
    assert "Score Research and practice basis from 0 to 3" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert '<option value="2" selected>2</option>' in refused.text  # what was typed stays
    assert detail["reviews"] == [] and detail["state"] == "submitted"


async def test_approving_without_a_review_or_a_date_is_refused_on_the_page(
    desk: Desk, admin: httpx.AsyncClient
):
    token = await _token(admin, f"{desk.home}/vetting/{desk.waiting}")
    path = f"{desk.home}/vetting/{desk.waiting}/decision"

    no_date = await admin.post(path, data={"csrf": token, "decision": "approved"})
    no_review = await admin.post(
        path, data={"csrf": token, "decision": "approved", "effective_from": "2026-01-01"}
    )

    assert no_date.status_code == 422 and "An approval needs the date it starts" in no_date.text
    assert no_review.status_code == 409 and "approving needs at least one review" in no_review.text
    assert (await read(desk.agency.http, f"/v1/agency/vetting/{desk.waiting}"))[
        "state"
    ] == "submitted"


# --- stacks and the rule editor -------------------------------------------------------------


async def _stacks(agency: AgencyClient) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in await read(agency.http, "/v1/agency/stacks")}


async def test_stacks_and_roles_read_as_words_never_as_json(desk: Desk, staff: httpx.AsyncClient):
    await sent(
        desk.agency.http,
        "/v1/agency/lattices",
        {
            "name": "Texas career lattice",
            "roles": [{"key": "leader", "name": "Teacher leader", "rule": {"stack": desk.stack}}],
        },
    )

    listed = await staff.get(f"{desk.home}/stacks")
    one = await staff.get(f"{desk.home}/stacks/{desk.stack.rsplit('/', 1)[-1]}")

    words = (
        "Any 3 different micro-credentials approved for License renewal, each earned within "
        "5 years."
    )
    assert words in listed.text
    assert "Teacher leader" in listed.text and "Needs the License renewal stack." in listed.text
    assert "approvedFor" not in _outside_details(listed.text + one.text)
    assert words in one.text and "approvedFor" in one.text  # in the advanced block only


async def test_the_rule_editor_saves_the_rule_the_api_would(desk: Desk, admin: httpx.AsyncClient):
    editor = await admin.get(f"{desk.home}/stacks/new")
    token = csrf_in(editor.text)
    base = {"csrf": token, "approval_at": "earned"}

    any_three = await admin.post(
        f"{desk.home}/stacks/new",
        data=base
        | {
            "code": "CONSOLE-RENEW",
            "name": "Renewal from the console",
            "kind": "approved",
            "count": "3",
            "pool_purpose": "license_renewal",
            "window": "5",
        },
    )
    two_of = await admin.post(
        f"{desk.home}/stacks/new",
        data=base
        | {
            "code": "TWO-OF",
            "name": "Two of three",
            "kind": "achievements",
            "count": "2",
            "achievements": [mc["url"] for mc in desk.mcs[:3]],
        },
    )
    two_of_id = (await _stacks(desk.agency))["TWO-OF"]["id"]
    nesting = await admin.post(
        f"{desk.home}/stacks/new",
        data=base
        | {"code": "BOTH", "name": "Both", "kind": "stacks", "stacks": [desk.stack, two_of_id]},
    )
    stacks = await _stacks(desk.agency)
    page = await admin.get(any_three.headers["location"])

    assert editor.status_code == 200 and 'value="5"' in editor.text
    assert any_three.status_code == two_of.status_code == nesting.status_code == 303
    api_made = stacks["RENEW"]  # the README's body, through POST /v1/agency/stacks
    console_made = stacks["CONSOLE-RENEW"]
    for key in ("rule", "windowDays", "purpose", "approvalAt"):
        assert console_made[key] == api_made[key], key
    api_two = await sent(
        desk.agency.http,
        "/v1/agency/stacks",
        {
            "code": "API-TWO",
            "name": "Two",
            "rule": {"atLeast": 2, "of": [mc["url"] for mc in desk.mcs[:3]]},
        },
    )
    assert stacks["TWO-OF"]["rule"] == api_two["rule"]
    assert stacks["BOTH"]["rule"] == {
        "all": [{"stack": desk.stack}, {"stack": stacks["TWO-OF"]["id"]}]
    }
    assert "Any 3 different micro-credentials approved for License renewal, each" in page.text
    two = await admin.get(two_of.headers["location"])
    assert "Needs 2 of: Close Reading, Number Talks or Family Engagement." in two.text


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"count": "three"}, 422, "Enter how many, as a whole number"),
        ({"window": "500"}, 422, "The window must be between 1 day and 100 years"),
        ({"name": ""}, 422, "Give the stack a name"),
        ({"kind": "achievements"}, 422, "Choose at least one achievement"),
        ({"kind": "advanced", "advanced": "{not json"}, 422, "The rule is not JSON"),
        (
            {"kind": "advanced", "advanced": '{"achievement": "https://nowhere.example/a/1"}'},
            422,
            "unknown achievement https://nowhere.example/a/1",
        ),
        ({"count": "2000"}, 422, "How many must be between 1 and 1000"),
    ],
)
async def test_a_bad_rule_form_comes_back_with_its_message(
    desk: Desk, admin: httpx.AsyncClient, fields: dict[str, str], status: int, message: str
):
    token = await _token(admin, f"{desk.home}/stacks/new")
    form = {
        "csrf": token,
        "code": "BAD",
        "name": "Typed by hand",
        "kind": "approved",
        "count": "3",
        "pool_purpose": "license_renewal",
        "window": "5",
    } | fields

    refused = await admin.post(f"{desk.home}/stacks/new", data=form)

    assert refused.status_code == status
    assert message in refused.text and 'role="alert"' in refused.text
    assert "<form" in refused.text and 'value="BAD"' in refused.text  # the form, as typed
    assert "BAD" not in await _stacks(desk.agency)


async def test_editing_a_stack_saves_a_new_revision(desk: Desk, admin: httpx.AsyncClient):
    stack_id = desk.stack.rsplit("/", 1)[-1]
    editor = await admin.get(f"{desk.home}/stacks/{stack_id}/edit")

    saved = await admin.post(
        f"{desk.home}/stacks/{stack_id}/edit",
        data={
            "csrf": csrf_in(editor.text),
            "code": "RENEW",
            "name": "License renewal",
            "kind": "approved",
            "count": "2",
            "pool_purpose": "license_renewal",
            "window": "5",
        },
    )
    revised = (await _stacks(desk.agency))["RENEW"]
    shown = await admin.get(saved.headers["location"])

    assert editor.status_code == 200
    assert 'name="count" type="number" min="1" value="3"' in editor.text
    assert saved.status_code == 303
    assert revised["revision"] == 2 and revised["rule"] == {
        "approvedFor": "license_renewal",
        "count": 2,
    }
    assert "Any 2 different micro-credentials" in shown.text


# --- educators --------------------------------------------------------------------------------


async def test_an_educator_is_found_by_her_address_and_her_progress_explained(
    desk: Desk, staff: httpx.AsyncClient
):
    token = await _token(staff, f"{desk.home}/educators")

    found = await staff.post(
        f"{desk.home}/educators/search", data={"csrf": token, "email": desk.email.upper()}
    )
    missing = await staff.post(
        f"{desk.home}/educators/search", data={"csrf": token, "email": "nobody@example.org"}
    )
    her = await staff.get(found.headers["location"])
    listed = await staff.get(f"{desk.home}/educators", params={"district": "SOUTH"})

    assert found.status_code == 303 and found.headers["location"].endswith(desk.educator)
    assert missing.status_code == 404 and "no educator with that identifier" in missing.text
    assert 'value="nobody@example.org"' in missing.text
    assert her.status_code == 200
    assert "South ISD (SOUTH)" in her.text and "Any 3 in 5 years" in her.text  # her requirement
    assert "was met, with 3 credential(s) counted" in her.text
    assert "Close Reading (earned" in her.text  # counted MCs by name
    assert desk.educator[:8] in listed.text


async def test_renewal_and_expiring_lists_name_her(desk: Desk, staff: httpx.AsyncClient):
    # She completed the renewal stack 100 days ago, when her third MC was earned.
    renewals = await staff.get(f"{desk.home}/educators/renewals", params={"days": "365"})
    not_lately = await staff.get(f"{desk.home}/educators/renewals", params={"days": "30"})
    expiring = await staff.get(f"{desk.home}/educators/expiring", params={"days": "2000"})
    not_soon = await staff.get(f"{desk.home}/educators/expiring", params={"days": "10"})
    exported = await staff.get(f"{desk.home}/educators/expiring.csv", params={"days": "2000"})
    refused = await staff.get(f"{desk.home}/educators/expiring", params={"days": "soon"})

    assert renewals.status_code == 200 and desk.educator[:8] in renewals.text
    assert desk.educator[:8] not in not_lately.text
    assert expiring.status_code == 200 and desk.educator[:8] in expiring.text
    assert "License renewal" in expiring.text
    assert desk.educator[:8] not in not_soon.text
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert lines[0] == "educator,district,kind,name,completed_at,expires_at"
    assert lines[1].startswith(f"{desk.educator},SOUTH,stack,License renewal,")
    assert refused.status_code == 422 and "whole number" in refused.text


# --- reports ----------------------------------------------------------------------------------


async def test_reports_are_charts_with_their_figures_and_csv(desk: Desk, staff: httpx.AsyncClient):
    reports = await staff.get(f"{desk.home}/reports")
    earned = await staff.get(f"{desk.home}/reports/earned.svg")
    completed = await staff.get(f"{desk.home}/reports/completed.svg")
    earned_csv = await staff.get(f"{desk.home}/reports/earned.csv")
    completed_csv = await staff.get(f"{desk.home}/reports/completed.csv")
    refused = await staff.get(
        f"{desk.home}/reports", params={"start": "2026-02-01", "end": "2026-01-01"}
    )

    assert reports.status_code == 200
    assert f'src="{desk.home}/reports/earned.svg"' in reports.text
    assert f'href="{desk.home}/reports/completed.csv"' in reports.text
    assert "MCs earned per month, by provider" in reports.text
    assert earned.headers["content-type"] == "image/svg+xml"
    assert earned.text.startswith("<svg") and "Digital Promise" in earned.text
    assert completed.headers["content-type"] == "image/svg+xml"
    assert "South ISD (SOUTH)" in completed.text
    assert earned_csv.text.splitlines()[0] == "period,issuer,count"
    assert earned_csv.text.splitlines()[1].endswith(",3")
    assert "SOUTH" in completed_csv.text
    assert refused.status_code == 422 and "The start must be before the end." in refused.text
