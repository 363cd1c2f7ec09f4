"""The pages employers and teachers see, read from their real HTML.

A badge's public page: its art and its issuer's logo, evidence with its name and narrative,
alignments and tags, what it counts toward in words ("Texas license renewal, 1 of 3"), and
when and why it was revoked. The issuer's page with the badges it awards. Her own pages: a
status on every badge, each award once (not its wallet copies), and when a completed stack
lapses. The home page, and `/docs` working with no network but this service.
"""

# The browser fixtures are imported, so pytest sees them here; a local `page` or `browser`
# (a response, an HTTP client) "redefines" them.
# ruff: noqa: F811

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import update

from storage.models import Issuer
from storage.session import transaction
from tests.app.test_pages_browser import browser, page  # noqa: F401  # fixtures
from tests.app.wallets.wallet_holder import (
    Holder,
    email,
    eventually,
    signed_in_teacher,
    wallet_page,
)
from tests.builders import tiny_png
from tests.conftest import AgencyClient, Provider

if TYPE_CHECKING:
    from playwright.async_api import Page

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _main(page: httpx.Response) -> str:
    """The page's content, without the site's header and footer."""
    return page.text.split("<main", 1)[1].split("</main>", 1)[0]


def _words(html: str) -> str:
    """The text a reader sees, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def _issued(provider: Provider, achievement: dict[str, Any], **fields: Any) -> Any:
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    return response.json()


# --- the public credential page ----------------------------------------------------------


async def test_the_credential_page_shows_art_logo_evidence_alignments_and_tags(
    provider: Provider, public: httpx.AsyncClient
):
    achievement = await provider.create_achievement(
        name="Close Reading",
        tags=["literacy", "grades 3-5"],
        alignment=[
            {
                "targetName": "Read closely to determine what the text says",
                "targetUrl": "https://www.thecorestandards.org/ELA-Literacy/CCRA/R/1/",
                "targetFramework": "Common Core State Standards",
                "targetCode": "CCRA.R.1",
                "targetType": "ext:StateStandard",
            }
        ],
    )
    issued = await _issued(
        provider,
        achievement,
        validFrom="2026-01-15T00:00:00Z",
        validUntil="2031-01-15T00:00:00Z",
        evidence=[
            {
                "url": "https://portfolio.example.org/close-reading",
                "name": "Lesson plan: The Lorax",
                "narrative": "Planned and taught a close reading of a complex text.",
            }
        ],
    )

    page = await public.get(issued["url"], headers=BROWSER)
    main = _main(page)
    words = _words(main)

    assert page.status_code == 200
    art = f'src="/achievements/{achievement["id"]}/image.svg" alt="Badge image for Close Reading"'
    assert art in main
    assert f'src="/issuers/{provider.slug}/logo" alt="Logo of Digital Promise"' in main
    assert '<h3 id="evidence-heading">Evidence</h3>' in main
    assert (
        '<a href="https://portfolio.example.org/close-reading">Lesson plan: The Lorax</a>' in main
    )
    assert "Planned and taught a close reading of a complex text." in words
    assert "Aligned with Read closely to determine what the text says CCRA.R.1" in words
    assert "(Common Core State Standards) State standard" in words
    assert "Tags literacy grades 3-5" in words
    assert "Kind Micro-credential" in words
    assert "(valid for 5 years)" in words
    assert "ext:" not in main and " days" not in words


async def test_what_it_counts_toward_is_said_in_words_not_rule_json(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient
):
    names = ["Close Reading", "Text Sets", "Number Talks", "Fraction Sense"]
    achievements = [await provider.create_achievement(name=name) for name in names]
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "TX-RENEW",
            "name": "Texas license renewal",
            "rule": {"atLeast": 3, "of": [item["url"] for item in achievements]},
            "windowDays": 1826,
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
    issued = await _issued(provider, achievements[0])

    page = await public.get(issued["url"], headers=BROWSER)
    main = _main(page)
    words = _words(main)

    assert "Counts toward Texas license renewal (Texas Education Agency), 1 of 3" in words
    assert (
        "Needs 3 of: Close Reading, Text Sets, Number Talks or Fraction Sense. "
        "Each must have been earned within 5 years." in words
    )
    assert (
        "A step toward Literacy Lead (Teacher Leader Pathway, Texas Education Agency), 1 of 3"
        in words
    )
    assert "Counts through Texas license renewal. Needs the Texas license renewal stack." in words
    assert f'<a href="{stack.json()["id"]}">Texas license renewal</a>' in main
    for raw in ("ext:", "atLeast", "windowDays", "1826", '{"', "/achievements/"):
        assert raw not in main.replace(f"/achievements/{achievements[0]['id']}/image.svg", ""), raw
    # The stack's own page, where its name links to, says the same without JSON.
    stack_page = _main(await public.get(stack.json()["id"], headers=BROWSER))
    assert "Needs 3 of: " in stack_page and "earned within 5 years before" in stack_page
    assert '{"' not in stack_page and "1826" not in stack_page


async def test_a_revoked_badge_says_when_and_why(provider: Provider, public: httpx.AsyncClient):
    issued = await _issued(provider, await provider.create_achievement())
    revoked = await provider.http.post(
        f"/v1/credentials/{issued['id']}/revoke", json={"reason": "awarded in <error>"}
    )
    assert revoked.status_code < 300, revoked.text
    today = datetime.now(UTC)

    page = await public.get(issued["url"], headers=BROWSER)
    words = _words(_main(page))

    assert 'data-verdict="revoked"' in page.text
    assert 'data-standing="revoked"' in page.text
    assert f"Revoked on {today.day} {today:%B %Y}" in words
    assert "Reason given by the issuer: awarded in &lt;error&gt;" in words


# --- the issuer's page ---------------------------------------------------------------------


async def test_the_issuer_page_shows_its_logo_description_and_the_badges_it_awards(
    provider: Provider, public: httpx.AsyncClient
):
    first = await provider.create_achievement(name="Close Reading", tags=["literacy"])
    second = await provider.create_achievement(name="<b>Number Talks</b>")

    page = await public.get(f"/issuers/{provider.slug}", headers=BROWSER)
    main = _main(page)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Digital Promise</h1>" in main
    assert f'<img src="/issuers/{provider.slug}/logo" alt="Logo of Digital Promise"' in main
    assert "Micro-credentials for educators." in main
    assert '<h2 id="badges-heading">Badges it awards</h2>' in main
    assert "<h3>Close Reading</h3>" in main and "<h3>&lt;b&gt;Number Talks&lt;/b&gt;</h3>" in main
    for item in (first, second):
        assert f'src="/achievements/{item["id"]}/image.svg" alt="Badge image of ' in main
    assert "<b>Number" not in page.text
    assert (await public.get(f"/issuers/{provider.slug}")).json()["name"] == "Digital Promise"


async def test_the_logo_is_served_here_or_not_at_all(
    provider: Provider, public: httpx.AsyncClient, sessions: Any
):
    unreachable = await public.get(f"/issuers/{provider.slug}/logo")
    png = tiny_png()
    inline = "data:image/png;base64," + base64.b64encode(png).decode()
    async with transaction(sessions) as session:
        await session.execute(
            update(Issuer).where(Issuer.id == provider.issuer.id).values(image_url=inline)
        )

    served = await public.get(f"/issuers/{provider.slug}/logo")
    page = await public.get(f"/issuers/{provider.slug}", headers=BROWSER)

    assert unreachable.status_code == 404  # example.org is not reachable from the tests
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"
    assert "sandbox" in served.headers["content-security-policy"]
    assert f'<img src="{inline}" alt="Logo of Digital Promise"' in page.text
    assert (await public.get(f"/issuers/no-such-{uuid.uuid4().hex[:6]}/logo")).status_code == 404


# --- home and docs -------------------------------------------------------------------------


async def test_the_home_page_points_to_the_verifier_and_the_docs(public: httpx.AsyncClient):
    page = await public.get("/", headers=BROWSER)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    main = _main(page)
    assert "<h1>Lattice</h1>" in main
    assert '<a class="go" href="/verify">Verify a badge</a>' in main
    assert '<a class="go" href="/docs">Read the API documentation</a>' in main
    assert "<script" not in page.text


async def test_the_docs_load_swagger_ui_from_this_service(public: httpx.AsyncClient):
    page = await public.get("/docs")
    assets = {
        name: await public.get(f"/docs/assets/{name}")
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
    }
    other = await public.get("/docs/assets/index.html")

    assert page.status_code == 200
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in page.text
    assert 'href="/docs/assets/swagger-ui.css"' in page.text
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assert not re.search(r"(src|href)=\"https?://", page.text), page.text
    assert {name: r.status_code for name, r in assets.items()} == dict.fromkeys(assets, 200)
    assert assets["swagger-ui-bundle.js"].headers["content-type"].startswith("text/javascript")
    assert assets["swagger-ui.css"].headers["content-type"].startswith("text/css")
    assert other.status_code == 422  # only the files the page uses are served
    assert (await public.get("/redoc")).status_code == 404  # its assets would come from a CDN


@pytest.mark.browser
async def test_the_docs_work_with_no_network_but_this_service(page: Page, server: str):
    refused: list[str] = []

    async def local_only(route: Any) -> None:
        if route.request.url.startswith(server):
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort()

    await page.route("**/*", local_only)
    await page.goto("/docs")
    await page.locator(".opblock-summary").first.wait_for()

    assert refused == []
    title = await page.locator(".information-container .title").inner_text()
    assert title.startswith("Lattice")
    assert await page.locator(".opblock-summary").count() > 50


# --- her pages -----------------------------------------------------------------------------


async def _award(provider: Provider, address: str, name: str, **fields: Any) -> Any:
    achievement = await provider.create_achievement(name=name)
    response = await eventually(
        lambda: provider.issue(achievement["id"], recipient={"email": address}, **fields), 201
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_every_badge_of_hers_says_its_status_and_a_revoked_one_offers_no_sharing(
    provider: Provider, server: str, sessions: Any, vault: Any
):
    address = email()
    valid = await _award(provider, address, "Number Talks")
    expired = await _award(
        provider,
        address,
        "Fraction Sense",
        validFrom="2020-01-01T00:00:00Z",
        validUntil="2021-01-01T00:00:00Z",
    )
    revoked = await _award(provider, address, "Close Reading")
    answer = await provider.http.post(
        f"/v1/credentials/{revoked['id']}/revoke", json={"reason": "awarded in error"}
    )
    assert answer.status_code < 300, answer.text
    browser = await signed_in_teacher(server, sessions, vault, address)

    listing = await browser.get("/teacher")
    revoked_page = await browser.get(f"/teacher/badges/{revoked['id']}")
    valid_page = await browser.get(f"/teacher/badges/{valid['id']}")
    await browser.aclose()

    statuses = re.findall(r'data-status="([a-z_]+)"', listing.text)
    assert sorted(statuses) == ["expired", "revoked", "valid"]
    words = _words(_main(listing))
    assert "Status: Expired on 2021-01-01" in words
    assert "Status: Revoked on" in words and "The issuer's reason: awarded in error" in words
    assert 'data-status="revoked"' in revoked_page.text
    assert "The issuer has revoked this badge" in revoked_page.text
    for offer in ("Add to LinkedIn profile", "<h2>Share</h2>", "Add to a wallet app", "share-url"):
        assert offer not in revoked_page.text, offer
        assert offer in valid_page.text, offer
    assert "Status: Valid" in _words(_main(valid_page))
    assert expired["id"] in listing.text


async def test_a_wallet_copy_is_shown_once_as_its_original(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    address = email()
    original = await _award(provider, address, "Text Sets")
    browser = await signed_in_teacher(server, sessions, vault, address)
    link = re.search(r"vc_request_url=([^&]+)", (await wallet_page(browser, original["id"])).lcw)
    assert link
    url = httpx.URL(httpx.QueryParams(f"u={link.group(1)}")["u"])
    request = (await public.post(str(url), json={})).json()["verifiablePresentationRequest"]
    holder = Holder()
    answer = await public.post(
        str(url),
        json={"verifiablePresentation": holder.did_auth(request["challenge"], request["domain"])},
    )
    assert answer.status_code == 200, answer.text
    [copy] = answer.json()["verifiablePresentation"]["verifiableCredential"]
    copy_id = copy["id"].rsplit("/", 1)[1]

    listing = await eventually(lambda: browser.get("/teacher"), 200)
    opened = await browser.get(f"/teacher/badges/{copy_id}")
    await browser.aclose()

    assert listing.text.count("Text Sets</a></h2>") == 1
    assert f"/teacher/badges/{original['id']}" in listing.text and copy_id not in listing.text
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/teacher/badges/{original['id']}"


async def test_her_progress_says_when_each_completion_lapses(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any, vault: Any
):
    address = email()
    earned = datetime.now(UTC).replace(microsecond=0) - timedelta(days=100)
    expiring = await _award(provider, address, "Close Reading", validUntil="2031-08-31T00:00:00Z")
    recent = await _award(
        provider, address, "Text Sets", validFrom=earned.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    lasting = await _award(provider, address, "Number Talks")
    for code, name, credential, window in (
        ("EXP", "Literacy Foundations", expiring, None),
        ("WIN", "Recent Reading", recent, 730),
        ("ALL", "Numeracy", lasting, None),
    ):
        achievement = credential["credential"]["credentialSubject"]["achievement"]["id"]
        body: dict[str, Any] = {"code": code, "name": name, "rule": {"achievement": achievement}}
        if window:
            body["windowDays"] = window
        created = await agency.http.post("/v1/agency/stacks", json=body)
        assert created.status_code == 201, created.text
    browser = await signed_in_teacher(server, sessions, vault, address)

    page = await browser.get("/teacher/progress")
    await browser.aclose()

    goals = {
        name: body for name, body in re.findall(r"<h4>([^<]+)</h4>(.*?)</li>", page.text, re.DOTALL)
    }
    assert 'data-lapses="2031-08-31"' in goals["Literacy Foundations"]
    lapse = (earned + timedelta(days=730)).date().isoformat()
    assert f'data-lapses="{lapse}"' in goals["Recent Reading"]
    assert "It does not lapse with time." in goals["Numeracy"]
    assert all("✓ Complete" in body for body in goals.values())
