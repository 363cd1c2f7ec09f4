"""Names and descriptions hold text people can read: control characters are refused at the
API with a 422 naming the field, and names stored before that still make a well-formed
badge image.

One-line fields (names, keys, tags, captions) refuse every control character (C0, DEL, C1)
and the code points XML 1.0 cannot hold (surrogates, U+FFFE, U+FFFF); free-text fields
(descriptions, narratives) also keep tab, line feed and carriage return.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Achievement, Issuer
from storage.session import transaction
from tests.conftest import AgencyClient, Provider

SVG = "{http://www.w3.org/2000/svg}"
CONTROLS = [chr(code) for code in range(0x20)] + ["\x7f", "\x80", "\x9f"]


def achievement(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Close Reading",
        "description": "The educator plans and teaches close reading of complex texts.",
        "criteria": {"narrative": "Submit a lesson plan."},
        **overrides,
    }


def refused_fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {error["field"]: error["detail"] for error in response.json()["errors"]}


@pytest.mark.parametrize("char", CONTROLS, ids=lambda char: f"U+{ord(char):04X}")
async def test_an_achievement_name_with_a_control_character_is_refused(
    provider: Provider, char: str
):
    response = await provider.http.post(
        f"/v1/issuers/{provider.slug}/achievements", json=achievement(name=f"Close{char}Reading")
    )

    assert refused_fields(response) == {
        "name": "Value error, must not contain control or invisible characters "
        f"(found U+{ord(char):04X} at character 6)"
    }


async def test_a_description_keeps_tabs_and_line_breaks_but_no_other_control(
    provider: Provider,
):
    text = "Plans a unit.\r\n\tTeaches it.\nReflects."
    kept = await provider.create_achievement(description=text, criteria={"narrative": text})
    refused = await provider.http.post(
        f"/v1/issuers/{provider.slug}/achievements",
        json=achievement(description="Plans a unit.\x07", criteria={"narrative": "A\x1bB"}),
    )

    assert kept["achievement"]["description"] == text
    assert kept["achievement"]["criteria"]["narrative"] == text
    assert set(refused_fields(refused)) == {"description", "criteria.narrative"}


async def test_nested_names_and_tags_are_named_by_their_path(provider: Provider):
    body = achievement(
        tags=["reading", "k-2\n"],
        resultDescription=[
            {
                "key": "plan",
                "name": "Lesson plan",
                "rubricCriterionLevel": [
                    {"key": "developing", "name": "Developing"},
                    {"key": "proficient", "name": "Proficient\x1b[31m"},
                ],
            }
        ],
        alignment=[{"targetName": "CCSS\tRL.1", "targetUrl": "https://example.org/rl1"}],
    )

    response = await provider.http.post(f"/v1/issuers/{provider.slug}/achievements", json=body)

    assert set(refused_fields(response)) == {
        "tags[1]",
        "resultDescription[0].rubricCriterionLevel[1].name",
        "alignment[0].targetName",
    }


@pytest.mark.parametrize("spelt", ["\\ud800", "\\udfff", "\\ufffe", "\\uffff"])
async def test_code_points_xml_cannot_hold_are_refused_not_a_server_error(
    provider: Provider, spelt: str
):
    # Written by hand: a JSON encoder would not send a lone surrogate.
    raw = json.dumps(achievement(name="Close Reading")).replace("Close Reading", f"Close{spelt}")

    response = await provider.http.post(
        f"/v1/issuers/{provider.slug}/achievements",
        content=raw.encode("ascii"),
        headers={"content-type": "application/json"},
    )

    assert set(refused_fields(response)) == {"name"}


async def test_a_recipient_or_evidence_name_with_a_control_character_is_refused(
    provider: Provider,
):
    created = await provider.create_achievement()

    response = await provider.issue(
        created["id"],
        recipient={"email": "teacher@example.org", "name": "Ada\x00Lovelace"},
        evidence=[{"name": "Lesson\x08plan", "narrative": "Taught it.\n\tTwice."}],
    )

    assert set(refused_fields(response)) == {"recipient.name", "evidence[0].name"}


async def test_a_stack_name_with_a_control_character_is_refused(agency: AgencyClient):
    response = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "FE",
            "name": "Family\x0cEngagement",
            "description": "Three badges.\x00",
            "rule": {"achievement": "https://example.org/achievements/1"},
        },
    )

    assert set(refused_fields(response)) == {"name", "description"}


async def test_names_stored_before_the_check_still_make_a_well_formed_badge_image(
    provider: Provider,
    public: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
):
    created = await provider.create_achievement()
    # PostgreSQL text cannot hold NUL; every other control character could have been stored.
    legacy = "Close" + "".join(CONTROLS[1:]) + "Reading ]]> <&>"
    async with transaction(sessions) as session:
        await session.execute(
            update(Achievement)
            .where(Achievement.id == uuid.UUID(created["id"]))
            .values(name=legacy)
        )
        await session.execute(
            update(Issuer).where(Issuer.id == provider.issuer.id).values(name="Digital\x1fPromise")
        )

    response = await public.get(f"/achievements/{created['id']}/image.svg")

    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)  # noqa: S314  # raises if not well-formed
    assert root.findtext(f"{SVG}title") == "Close Reading ]]> <&>"
    assert root.findtext(f"{SVG}desc") == "Badge awarded by Digital Promise"
