"""Research data on the rollout: at the end of each period, how many educators were in each
LEA (or under each option) and how many met the rule of their LEA's option then; as JSON,
CSV or an SVG chart. Counts of a past period stay what they were after later moves."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.app.policy.test_districts import (
    Policy,
    ago,
)
from tests.conftest import AgencyClient, Provider

SVG = "{http://www.w3.org/2000/svg}"


class Rollout(Policy):
    """South (option-2): one educator with 3 MCs, one with 1. North (option-1): one with 3.
    One in GHOST (not registered), one in no LEA."""

    async def people(self) -> Rollout:
        self.south_met = await self.educator("SOUTH")
        await self.award(3)
        await self.educator("SOUTH")
        await self.award(1)
        await self.educator("NORTH")
        await self.award(3)
        await self.educator("GHOST")
        await self.educator()
        return self

    async def run(self, stack: str) -> None:
        stack_id = self.stacks[stack]["id"].rsplit("/", 1)[1]
        await self.ok("post", f"/v1/agency/stacks/{stack_id}/evaluate-all", status=200)

    async def report(self, **params: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.ok(
            "get", "/v1/agency/reports/options", status=200, purpose="license_renewal", **params
        )
        return found


@pytest.fixture
async def rollout(provider: Provider, agency: AgencyClient) -> Rollout:
    made = Rollout(provider, agency)
    await made.setup()
    return await made.people()


def _last(report: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    """The last period's rows, by option key (or LEA code)."""
    last = report["rows"][-1]["period"]
    key = "district" if report["by"] == "district" else "option"
    return {row[key]: row for row in report["rows"] if row["period"] == last}


async def test_before_evaluate_all_the_report_counts_educators_and_says_met_is_unknown(
    rollout: Rollout,
):
    report = await rollout.report(period="quarter", **{"from": ago(200)})

    rows = _last(report)
    assert {key: (row["educators"], row["met"]) for key, row in rows.items()} == {
        "option-1": (1, None),
        "option-2": (2, None),
        None: (2, None),
    }
    assert rows["option-2"]["districts"] == 1 and rows[None]["districts"] == 1  # GHOST
    assert [item["evaluatedAt"] for item in report["options"]] == [None, None]
    assert any("evaluate-all" in note for note in report["notes"])
    assert rows["option-1"]["note"].startswith("the option's stack has not been evaluated")


async def test_after_evaluate_all_it_counts_who_met_their_own_leas_rule(rollout: Rollout):
    await rollout.run("five")
    await rollout.run("three")

    by_option = _last(await rollout.report(period="month", **{"from": ago(100)}))
    by_lea = _last(await rollout.report(period="month", by="district", **{"from": ago(100)}))

    assert {key: (row["educators"], row["met"]) for key, row in by_option.items()} == {
        "option-1": (1, 0),  # 3 MCs are not 5
        "option-2": (2, 1),
        None: (2, None),
    }
    assert {
        key: (row["option"], row["registered"], row["educators"], row["met"], row["note"])
        for key, row in by_lea.items()
    } == {
        "NORTH": ("option-1", True, 1, 0, None),
        "SOUTH": ("option-2", True, 2, 1, None),
        "GHOST": (None, False, 1, None, "LEA not registered"),
        None: (None, False, 1, None, "in no LEA"),
    }


async def test_a_move_changes_later_periods_and_leaves_earlier_ones_as_they_were(
    rollout: Rollout,
):
    await rollout.run("five")
    await rollout.run("three")
    window = {"from": ago(90), "to": ago(15), "by": "district"}
    before = await rollout.report(**window)

    await rollout.ok(
        "patch",
        f"/v1/agency/educators/{rollout.south_met}",
        {"district": "NORTH", "since": ago(10)},
        200,
    )

    assert (await rollout.report(**window))["rows"] == before["rows"]
    now = _last(await rollout.report(by="district", **{"from": ago(30)}))
    assert (now["NORTH"]["educators"], now["NORTH"]["met"]) == (2, 0)
    assert (now["SOUTH"]["educators"], now["SOUTH"]["met"]) == (1, 0)


async def test_the_report_exports_as_csv_when_asked_by_accept(rollout: Rollout):
    await rollout.run("three")

    response = await rollout.http.get(
        "/v1/agency/reports/options",
        params={"purpose": "license_renewal", "period": "year", "by": "option"},
        headers={"Accept": "text/csv"},
    )

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "period",
        "as_of",
        "option",
        "option_name",
        "districts",
        "educators",
        "met",
        "note",
    ]
    last = {row["option"]: row for row in rows if row["period"] == rows[-1]["period"]}
    assert (last["option-2"]["educators"], last["option-2"]["met"]) == ("2", "1")
    assert last["option-1"]["met"] == ""  # its stack was never evaluated


async def test_the_chart_is_an_accessible_svg_with_a_line_per_option(rollout: Rollout):
    await rollout.run("five")
    await rollout.run("three")

    response = await rollout.http.get(
        "/v1/agency/reports/options/chart.svg",
        params={"purpose": "license_renewal", "from": ago(100)},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(response.text)  # noqa: S314  # our own document
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "chart-title chart-desc"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None and title.text == (
        "License renewal: share meeting their option's rule, by option, per month"
    )
    assert desc is not None and "3 MCs in 5 years (option-2): 50%" in (desc.text or "")
    texts = {node.text for node in svg.iter(f"{SVG}text")}
    assert {"3 MCs in 5 years (option-2)", "5 MCs in 5 years (option-1)", "100%"} <= texts
    assert "<script" not in response.text and "http://" not in response.text.replace(
        "http://www.w3.org/2000/svg", ""
    )


async def test_the_earned_report_has_a_chart_too(rollout: Rollout):
    response = await rollout.http.get(
        "/v1/agency/reports/earned/chart.svg",
        params={"period": "year", "by": "district", "from": ago(800)},
    )

    assert response.status_code == 200
    svg = ElementTree.fromstring(response.text)  # noqa: S314  # our own document
    texts = {node.text for node in svg.iter(f"{SVG}text")}
    assert {"MCs earned per year, by district", "SOUTH", "NORTH"} <= texts


async def test_bad_report_queries_get_a_clear_4xx(rollout: Rollout):
    http = rollout.http
    path = "/v1/agency/reports/options"
    base = {"purpose": "license_renewal"}

    statuses = {
        "unknown purpose": (await http.get(path, params={"purpose": "fishing"})).status_code,
        "no purpose": (await http.get(path)).status_code,
        "from after to": (
            await http.get(path, params=base | {"from": ago(1), "to": ago(2)})
        ).status_code,
        "too many periods": (
            await http.get(path, params=base | {"from": "1990-01-01T00:00:00Z"})
        ).status_code,
        "by what": (await http.get(path, params=base | {"by": "issuer"})).status_code,
        "date without zone": (
            await http.get(path, params=base | {"from": "2025-01-01T00:00:00"})
        ).status_code,
        "chart of nothing": (
            await http.get(f"{path}/chart.svg", params={"purpose": "nothing"})
        ).status_code,
    }

    assert statuses == dict.fromkeys(statuses, 422)
