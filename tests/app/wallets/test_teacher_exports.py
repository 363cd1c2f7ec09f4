"""A teacher takes her badge elsewhere: baked PNG/SVG, JSON, VC-JWT, LinkedIn, a share link;
a provider's claim link brings her to it; her progress toward stacks and lattices.

Baked files are checked as OB 3.0 §5.3 says they are made, then verified by this service
(`POST /v1/verify`, as an upload) and, once unbaked, by the independent Node verifiers.
"""

from __future__ import annotations

import io
import json
import re
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from formats.baking import (
    unbake_png,
    unbake_svg,
)
from storage.models import OutboxEmail
from tests.conftest import AgencyClient, Provider, node_verify

OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG = "{http://www.w3.org/2000/svg}"


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


@pytest.fixture
async def browser(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        yield client


async def _signed_in_with_badge(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any, **achievement: Any
) -> dict[str, Any]:
    address = _email()
    created = await provider.create_achievement(**achievement)
    response = await provider.issue(
        created["id"],
        recipient={"email": address},
        validUntil="2031-08-31T00:00:00Z",
        notifyRecipient=True,
    )
    assert response.status_code == 201, response.text
    await _claim(browser, sessions, address)
    issued: dict[str, Any] = response.json()
    return issued


async def _claim(browser: httpx.AsyncClient, sessions: Any, address: str) -> None:
    """Sign in by the claim link mailed on issuance. (Typed codes are left to the sign-in
    tests: every test signs in from 127.0.0.1, and codes are rate-limited per client.)"""
    followed = await browser.get(_link((await _mails_to(sessions, address))[-1]))
    assert followed.status_code == 303, followed.text


def _text_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    found, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        if kind in (b"iTXt", b"zTXt", b"tEXt"):
            found.append((kind, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return found


async def _verdict(public: httpx.AsyncClient, name: str, content: bytes, media: str) -> Any:
    response = await public.post("/v1/verify", files={"file": (name, content, media)})
    assert response.status_code == 200, response.text
    return response.json()["verdict"]


@pytest.mark.interop
async def test_the_baked_png_carries_the_signed_json_and_verifies_everywhere(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any, public: Any, tmp_path: Path
):
    issued = await _signed_in_with_badge(provider, browser, sessions)

    response = await browser.get(f"/teacher/badges/{issued['id']}/download.png")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert f'filename="badge-{issued["id"]}.png"' in response.headers["content-disposition"]
    chunks = _text_chunks(response.content)
    assert len(chunks) == 1
    kind, body = chunks[0]
    assert kind == b"iTXt" and body.startswith(b"openbadgecredential\x00\x00\x00")  # flag 0
    assert Image.open(io.BytesIO(response.content)).size == (400, 400)
    baked = unbake_png(response.content)
    assert json.loads(baked) == issued["credential"]
    assert await _verdict(public, "badge.png", response.content, "image/png") == "verified"
    extracted = tmp_path / "badge.json"
    extracted.write_text(baked, encoding="utf-8")
    reports = node_verify(extracted, "--verifier", "all")
    assert {report["verifier"] for report in reports} == {"core", "vc"}
    assert all(report["verified"] is True for report in reports), reports


@pytest.mark.interop
async def test_the_baked_svg_has_one_credential_element_and_verifies_everywhere(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any, public: Any, tmp_path: Path
):
    issued = await _signed_in_with_badge(provider, browser, sessions, name="Text Sets & <Talk>")

    response = await browser.get(f"/teacher/badges/{issued['id']}/download.svg")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in response.headers["content-security-policy"]
    text = response.text
    assert f'xmlns:openbadges="{OB_NAMESPACE}"' in text
    root = ElementTree.fromstring(text)  # noqa: S314  # the service's own output
    assert len(list(root.iter(f"{{{OB_NAMESPACE}}}credential"))) == 1
    assert root.findtext(f"{SVG}title") == "Text Sets & <Talk>"
    baked = unbake_svg(text)
    assert json.loads(baked) == issued["credential"]
    assert await _verdict(public, "badge.svg", response.content, "image/svg+xml") == "verified"
    extracted = tmp_path / "badge.json"
    extracted.write_text(baked, encoding="utf-8")
    reports = node_verify(extracted, "--verifier", "all")
    assert all(report["verified"] is True for report in reports), reports


@pytest.mark.interop
async def test_the_json_and_jwt_downloads_verify_elsewhere(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any, tmp_path: Path
):
    issued = await _signed_in_with_badge(provider, browser, sessions)

    document = await browser.get(f"/teacher/badges/{issued['id']}/download.json")
    token = await browser.get(f"/teacher/badges/{issued['id']}/download.jwt")

    assert document.json() == issued["credential"]
    assert token.text == issued["jwt"]
    path = tmp_path / "badge.jwt"
    path.write_text(token.text, encoding="utf-8")
    reports = node_verify(path, "--verifier", "all")
    assert [report["verified"] for report in reports] == [True], reports


async def test_the_achievements_own_png_is_baked_when_it_can_be_fetched_safely(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any, server: str
):
    art = await provider.create_achievement(name="Some Other Art")
    own_picture = f"{server}/achievements/{art['id']}/image.png"
    source = (await browser.get(own_picture)).content
    issued = await _signed_in_with_badge(
        provider, browser, sessions, image={"url": own_picture, "caption": "art"}
    )

    baked = (await browser.get(f"/teacher/badges/{issued['id']}/download.png")).content
    page = await browser.get(f"/teacher/badges/{issued['id']}")
    shown = await browser.get(f"/teacher/badges/{issued['id']}/image")

    assert _without_text_chunks(baked) == _without_text_chunks(source)
    assert f'src="/teacher/badges/{issued["id"]}/image"' in page.text
    assert shown.status_code == 200 and shown.content == source


def _without_text_chunks(png: bytes) -> bytes:
    out, offset = bytearray(png[:8]), 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        if png[offset + 4 : offset + 8] not in (b"iTXt", b"zTXt", b"tEXt"):
            out += png[offset : offset + 12 + length]
        offset += 12 + length
    return bytes(out)


async def test_an_image_that_cannot_be_had_falls_back_to_the_default_picture(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any, public: Any
):
    issued = await _signed_in_with_badge(
        provider, browser, sessions, image={"url": "http://127.0.0.1:9/gone.png"}
    )
    achievement_id = issued["credential"]["credentialSubject"]["achievement"]["id"]
    default = (await public.get(f"{achievement_id}/image.png")).content

    baked = (await browser.get(f"/teacher/badges/{issued['id']}/download.png")).content
    svg = (await browser.get(f"/teacher/badges/{issued['id']}/download.svg")).text

    assert _without_text_chunks(baked) == _without_text_chunks(default)
    assert await _verdict(public, "badge.png", baked, "image/png") == "verified"
    assert "<title" in svg and unbake_svg(svg)


async def test_the_default_image_is_public_deterministic_and_accessible(
    provider: Provider, public: Any
):
    achievement = await provider.create_achievement(name="Culturally Responsive Teaching")
    base = f"/achievements/{achievement['id']}/image"

    svg, again, png = (
        await public.get(f"{base}.svg"),
        await public.get(f"{base}.svg"),
        await public.get(f"{base}.png"),
    )
    missing = await public.get(f"/achievements/{uuid.uuid4()}/image.svg")

    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text == again.text
    root = ElementTree.fromstring(svg.text)  # noqa: S314  # the service's own output
    assert root.get("role") == "img" and root.get("aria-labelledby") == "title desc"
    assert root.findtext(f"{SVG}title") == "Culturally Responsive Teaching"
    assert "Digital Promise" in (root.findtext(f"{SVG}desc") or "")
    assert "http" not in svg.text.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (400, 400)
    assert missing.status_code == 404


async def test_the_badge_page_offers_linkedin_share_and_every_download(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any, server: str
):
    issued = await _signed_in_with_badge(provider, browser, sessions, name="Family Engagement")

    page = await browser.get(f"/teacher/badges/{issued['id']}")

    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data:" in csp and "script-src" not in csp
    assert page.headers["cache-control"] == "no-store"
    for kind in ("png", "svg", "json", "jwt"):
        assert f"/teacher/badges/{issued['id']}/download.{kind}" in page.text
    verification_url = f"{server}/credentials/{issued['id']}"
    assert f'value="{verification_url}" readonly' in page.text
    link = re.search(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', page.text)
    assert link, page.text
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query, strict_parsing=True)
    valid_from = issued["credential"]["validFrom"]
    assert query == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": ["Family Engagement"],
        "organizationName": ["Digital Promise"],
        "issueYear": [valid_from[:4]],
        "issueMonth": [str(int(valid_from[5:7]))],
        "expirationYear": ["2031"],
        "expirationMonth": ["8"],
        "certUrl": [verification_url],
        "certId": [issued["id"]],
    }
    public_page = await browser.get(verification_url, headers={"accept": "text/html"})
    assert public_page.status_code == 200 and "Verified" in public_page.text


async def test_the_badge_list_shows_each_badge_with_its_picture(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any
):
    issued = await _signed_in_with_badge(provider, browser, sessions, name="Number Talks")
    achievement_id = issued["credential"]["credentialSubject"]["achievement"]["id"]

    listing = await browser.get("/teacher")

    assert "Number Talks" in listing.text
    path = urlsplit(achievement_id).path
    assert f'<img src="{path}/image.svg" alt=""' in listing.text


async def test_a_baked_png_with_two_credential_chunks_is_refused(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any, public: Any
):
    issued = await _signed_in_with_badge(provider, browser, sessions)
    baked = (await browser.get(f"/teacher/badges/{issued['id']}/download.png")).content
    chunk = next(body for kind, body in _text_chunks(baked) if kind == b"iTXt")
    second = struct.pack(">I", len(chunk)) + b"iTXt" + chunk
    second += struct.pack(">I", zlib.crc32(b"iTXt" + chunk))
    doubled = baked[:-12] + second + baked[-12:]  # before IEND

    response = await public.post("/v1/verify", files={"file": ("two.png", doubled, "image/png")})

    assert response.status_code == 422
    problem = response.json()
    assert 'more than one "openbadgecredential" chunk' in problem["detail"]
    assert problem["errors"][0]["field"] == "file"


async def test_another_teachers_downloads_are_not_found(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any
):
    achievement = await provider.create_achievement()
    theirs = (await provider.issue(achievement["id"], recipient={"email": _email()})).json()
    await _signed_in_with_badge(provider, browser, sessions)

    statuses = [
        (await browser.get(f"/teacher/badges/{theirs['id']}/{path}")).status_code
        for path in ("download.png", "download.svg", "download.jwt", "image")
    ]
    unknown_kind = await browser.get(f"/teacher/badges/{theirs['id']}/download.gif")

    assert statuses == [404, 404, 404, 404]
    assert unknown_kind.status_code == 422


async def test_a_baked_download_needs_a_session(provider: Provider, public: Any):
    achievement = await provider.create_achievement()
    issued = (await provider.issue(achievement["id"])).json()

    response = await public.get(f"/teacher/badges/{issued['id']}/download.png")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/teacher/sign-in?next=")


# --- claim links ------------------------------------------------------------------------


async def _mails_to(sessions: Any, address: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxEmail.body)
            .where(OutboxEmail.recipient == address)
            .order_by(OutboxEmail.created_at)
        )
        return list(rows)


def _link(mail: str) -> str:
    found = re.search(r"(/teacher/sign-in/link\?token=[\w-]+)", mail)
    assert found, mail
    return found.group(1)


async def test_a_claim_link_signs_her_in_and_lands_on_the_badge(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any
):
    address = _email()
    achievement = await provider.create_achievement(name="Restorative Circles")
    body = {
        "achievementId": achievement["id"],
        "recipient": {"email": address},
        "notifyRecipient": True,
    }
    headers = {"Idempotency-Key": f"claim-{uuid.uuid4()}"}
    first = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials", json=body, headers=headers
    )
    replay = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials", json=body, headers=headers
    )
    issued = first.json()

    mails = await _mails_to(sessions, address)
    landed = await browser.get(_link(mails[0]))
    page = await browser.get(landed.headers["location"])

    assert (first.status_code, replay.status_code) == (201, 200)
    assert len(mails) == 1, "a replay must not send the claim e-mail again"
    assert "Restorative Circles" in mails[0] and "Digital Promise" in mails[0]
    assert landed.status_code == 303
    assert landed.headers["location"] == f"/teacher/badges/{issued['id']}"
    assert page.status_code == 200 and "Restorative Circles" in page.text


async def test_no_claim_mail_unless_asked_and_a_claim_never_blocks_her_code(
    provider: Provider, server: str, sessions: Any
):
    address = _email()
    achievement = await provider.create_achievement()
    await provider.issue(achievement["id"], recipient={"email": address})
    assert await _mails_to(sessions, address) == []
    async with httpx.AsyncClient(base_url=server) as browser:
        page = await browser.get("/teacher/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        await browser.post("/teacher/sign-in", data={"email": address, "csrf": csrf.group(1)})
        code = re.search(r"code is (\d{6})", (await _mails_to(sessions, address))[-1])
        assert code
        # A provider's claim e-mail arrives between her asking for a code and typing it.
        await provider.issue(achievement["id"], recipient={"email": address}, notifyRecipient=True)

        typed = await browser.post(
            "/teacher/sign-in/code",
            data={"email": address, "code": code.group(1), "csrf": csrf.group(1)},
        )

    assert len(await _mails_to(sessions, address)) == 2
    assert typed.status_code == 303


async def test_a_batch_sends_each_address_one_claim_mail(
    provider: Provider, server: str, sessions: Any
):
    address, other = _email(), _email()
    achievement = await provider.create_achievement()
    items = [
        {"achievementId": achievement["id"], "recipient": {"email": email}, "notifyRecipient": True}
        for email in (address, address, other)
    ]
    items.append({"achievementId": achievement["id"], "recipient": {"email": _email()}})

    response = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials:batch", json={"items": items}
    )

    assert response.status_code == 200 and response.json()["succeeded"] == 4
    mine, theirs = await _mails_to(sessions, address), await _mails_to(sessions, other)
    assert (len(mine), len(theirs)) == (1, 1)
    assert "2 badges" in mine[0]
    async with httpx.AsyncClient(base_url=server) as browser:
        landed = await browser.get(_link(mine[0]))
    assert landed.headers["location"] == "/teacher"
    async with sessions() as session:
        total = await session.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.recipient == address)
        )
    assert total == 1


# --- progress -----------------------------------------------------------------------------


async def test_her_progress_shows_stacks_and_lattice_roles_with_what_is_missing(
    provider: Provider, agency: AgencyClient, browser: httpx.AsyncClient, sessions: Any
):
    address = _email()
    earned = await provider.create_achievement(name="Close Reading Basics")
    pending = await provider.create_achievement(name="Text-Dependent Questions")
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "LIT-1",
            "name": "Literacy Foundations",
            "rule": {"all": [{"achievement": earned["url"]}, {"achievement": pending["url"]}]},
        },
    )
    assert stack.status_code == 201, stack.text
    lattice = await agency.http.post(
        "/v1/agency/lattices",
        json={
            "name": "Teacher Leader Pathway",
            "roles": [
                {"key": "lead", "name": "Literacy Lead", "rule": {"stack": stack.json()["id"]}}
            ],
        },
    )
    assert lattice.status_code == 201, lattice.text
    await provider.issue(earned["id"], recipient={"email": address}, notifyRecipient=True)
    await _claim(browser, sessions, address)

    before = (await browser.get("/teacher/progress")).text
    await provider.issue(pending["id"], recipient={"email": address})
    after = (await browser.get("/teacher/progress")).text

    assert "Texas Education Agency" in before and "Literacy Foundations" in before
    assert "Teacher Leader Pathway" in before and "Literacy Lead" in before
    assert "Not complete yet" in before and "Text-Dependent Questions" in before
    assert "stack Literacy Foundations" in before  # the role's gap, by name, not URL
    assert "/achievements/" not in before.split("<main", 1)[1]
    assert "Not complete yet" not in after and after.count("✓ Complete") == 2


async def test_progress_without_any_stack_says_so(
    provider: Provider, browser: httpx.AsyncClient, sessions: Any
):
    await _signed_in_with_badge(provider, browser, sessions)

    page = await browser.get("/teacher/progress")

    assert page.status_code == 200
    assert "None of your badges counts toward" in page.text
