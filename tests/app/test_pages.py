"""The verifier's HTML pages over plain HTTP: content negotiation, escaping, bad input."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx

from formats.baking import bake_png
from tests.builders import tiny_png, unsigned_open_badge
from tests.conftest import Provider
from tests.verification.support import DidKeyIssuer, credential

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def _issued(provider: Provider, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def _verdict(page: httpx.Response) -> str:
    found = re.search(r'data-verdict="([a-z_]+)"', page.text)
    assert found, page.text[:2000]
    return found.group(1)


async def test_the_form_is_a_self_contained_labelled_page(public: httpx.AsyncClient):
    response = await public.get("/verify", headers={"Accept": BROWSER_ACCEPT})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none'
    html = response.text
    assert '<html lang="en">' in html
    assert "<script" not in html and "<link" not in html
    for field in ("url", "credential", "file", "email"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html
    assert 'enctype="multipart/form-data"' in html


async def test_a_url_posted_as_a_plain_form_shows_the_verdict_and_the_badge(
    provider: Provider, public: httpx.AsyncClient
):
    issued = await _issued(provider, recipient={"email": "t@example.org", "name": "Ana Ruiz"})

    page = await public.post("/verify", data={"url": issued["url"]})

    assert page.status_code == 200, page.text
    assert _verdict(page) == "verified"
    assert issued["credential"]["name"] in page.text
    assert "Digital Promise" in page.text and "Ana Ruiz" in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_a_wrong_recipient_email_makes_the_page_say_which_check_failed(
    provider: Provider, public: httpx.AsyncClient
):
    issued = await _issued(provider, recipient={"email": "maria@example.org"})

    right = await public.post("/verify", data={"url": issued["url"], "email": "maria@example.org"})
    wrong = await public.post("/verify", data={"url": issued["url"], "email": "x@example.org"})

    assert _verdict(right) == "verified"
    assert _verdict(wrong) == "invalid"
    assert "the “Recipient” check failed" in wrong.text


async def test_the_credential_url_is_a_page_for_a_browser_and_json_or_jwt_otherwise(
    provider: Provider, public: httpx.AsyncClient
):
    issued = await _issued(provider)
    url, credential_id = issued["url"], issued["id"]

    page = await public.get(url, headers={"Accept": BROWSER_ACCEPT})
    as_json = {
        accept: await public.get(url, headers={"Accept": accept})
        for accept in (
            "application/vc+ld+json",
            "application/json",
            "*/*",
            "text/html;q=0.5, application/json",
        )
    }
    bare = await public.get(url, headers={"Accept": ""})
    as_jwt = await public.get(url, headers={"Accept": "application/jwt"})
    suffixed = await public.get(f"{url}.json", headers={"Accept": BROWSER_ACCEPT})

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["vary"] == "Accept"
    assert _verdict(page) == "verified"
    assert f'href="/credentials/{credential_id}.json"' in page.text
    assert f'href="/credentials/{credential_id}.jwt"' in page.text
    for accept, response in [*as_json.items(), ("none", bare), (".json", suffixed)]:
        assert response.headers["content-type"] == "application/vc+ld+json", accept
        assert response.headers["vary"] == "Accept"
        assert response.json() == issued["credential"], accept
    assert as_jwt.text == issued["jwt"]


async def test_an_unknown_credential_is_a_404_page_for_a_browser_and_a_problem_otherwise(
    public: httpx.AsyncClient,
):
    missing = f"/credentials/{uuid.uuid4()}"

    page = await public.get(missing, headers={"Accept": BROWSER_ACCEPT})
    garbage = await public.get("/credentials/<b>nope</b>", headers={"Accept": BROWSER_ACCEPT})
    api = await public.get(missing)

    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert garbage.status_code == 404 and "<b>nope" not in garbage.text
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


async def test_hostile_names_links_and_images_are_shown_as_harmless_text(
    provider: Provider, public: httpx.AsyncClient
):
    hostile = '<script>alert("x")</script>'
    achievement = await provider.create_achievement(
        name=hostile, description='"><img src=x onerror=alert(1)>'
    )
    issued = (await provider.issue(achievement["id"])).json()
    foreign = unsigned_open_badge("did:example:evil", issuer_name=hostile)
    foreign["issuer"]["url"] = "javascript:alert(1)"
    foreign["credentialSubject"]["achievement"]["image"] = {
        "id": "javascript:alert(2)",
        "type": "Image",
    }
    foreign["evidence"] = [{"id": "javascript:alert(3)", "type": ["Evidence"]}]

    own_page = await public.get(issued["url"], headers={"Accept": BROWSER_ACCEPT})
    foreign_page = await public.post("/verify", data={"credential": json.dumps(foreign)})

    for page in (own_page, foreign_page):
        assert "<script>" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;" in page.text
        assert not re.search(r'(href|src)="\s*javascript:', page.text, re.IGNORECASE)
    assert _verdict(own_page) == "verified"
    assert foreign_page.status_code == 200 and _verdict(foreign_page) == "invalid"
    assert "javascript:alert(3)" in foreign_page.text  # the evidence, shown as text


async def test_bad_input_is_the_form_again_with_the_error_and_a_4xx(
    provider: Provider, public: httpx.AsyncClient, settings: Any
):
    issued = await _issued(provider)
    deep = "[" * 200 + "]" * 200
    pasted = json.dumps(issued["credential"])
    cases: list[tuple[dict[str, str], dict[str, Any] | None, str | None]] = [
        ({}, None, None),
        ({"url": issued["url"], "credential": pasted}, None, "credential"),
        ({"credential": "not a badge"}, None, "credential"),
        ({"credential": '{"a": ' + deep + "}"}, None, "credential"),
        ({"url": "ftp://example.org/badge"}, None, "url"),
        ({"url": "not a url"}, None, "url"),
        ({"url": f"{settings.public_url}/v1/issuers/x/credentials"}, None, "url"),
        ({"url": "http://127.0.0.1:1/nothing-listens-here"}, None, "url"),
        ({"url": f"{settings.public_url}/credentials/{uuid.uuid4()}"}, None, "url"),
        ({"url": issued["url"], "email": "not-an-email"}, None, "email"),
        ({}, {"file": ("x.png", b"\x89PNG" + b"\0" * 100, "image/png")}, "file"),
        ({}, {"file": ("x.json", b"", "application/json")}, "file"),
    ]
    for data, files, field in cases:
        response = await public.post("/verify", data=data, files=files)

        assert 400 <= response.status_code < 500, (data, response.status_code)
        assert response.headers["content-type"].startswith("text/html"), data
        assert 'role="alert"' in response.text, data
        if field:
            assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', response.text), data
    kept = await public.post("/verify", data={"credential": "<not a badge>"})
    assert "&lt;not a badge&gt;</textarea>" in kept.text  # what was typed is kept, escaped

    broken = await public.post(
        "/verify",
        content=b"--xyz\r\nContent-Disposition: form-data; name=\r\n\r\n",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= broken.status_code < 500 and 'role="alert"' in broken.text


async def test_a_baked_png_upload_is_verified_on_the_page(
    provider: Provider, public: httpx.AsyncClient
):
    issued = await _issued(provider)

    page = await public.post(
        "/verify", files={"file": ("badge.png", bake_png(tiny_png(), issued["jwt"]), "image/png")}
    )

    assert _verdict(page) == "verified"


def _dimension_states(page: httpx.Response) -> dict[str, str]:
    found = re.findall(
        r"<dt>([^<]+)</dt>\s*<dd class=\"dimension [a-z_]+\" "
        r'data-dimension-state="([a-z_]+)"',
        page.text,
    )
    return dict(found)


async def test_a_genuine_badge_that_breaks_the_ob_rules_says_its_signature_held(
    public: httpx.AsyncClient,
):
    """The page shows each dimension, so "invalid" never hides that the issuer signed it."""
    issuer = DidKeyIssuer()
    badge = credential(issuer.did)
    del badge["credentialSubject"]["id"]  # OB 3.0 wants an id or an identifier

    page = await public.post("/verify", data={"credential": json.dumps(issuer.sign(badge))})

    assert page.status_code == 200, page.text
    assert _verdict(page) == "invalid"
    assert "genuine signature, but the “Data model” check failed" in page.text
    assert "signature valid; the credential does not conform to Open Badges 3.0" in page.text
    assert _dimension_states(page) == {
        "Authentic": "authentic",
        "Status": "not_checked",
        "Validity period": "current",
        "Follows the standard": "does_not_conform",
    }
