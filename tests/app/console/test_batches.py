"""The console's CSV batches over HTTP: upload, preview, confirm (once), progress, history."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx

from badges.issuers.issuers import KeyVault
from storage.models import Issuer
from tests.app.console.staff import add_staff_member, csrf_in, signed_in_client
from tests.conftest import Provider


def _csv(rows: int, achievement: str = "") -> bytes:
    header = "email,name" + (",achievement" if achievement else "")
    lines = [header] + [
        f"t{n}@example.org,Teacher {n}" + (f",{achievement}" if achievement else "")
        for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


async def _upload(
    console: httpx.AsyncClient, slug: str, data: bytes, achievement: str = ""
) -> httpx.Response:
    token = csrf_in((await console.get(f"/console/issuers/{slug}/batches")).text)
    return await console.post(
        f"/console/issuers/{slug}/batches",
        data={"csrf": token, "achievement": achievement},
        files={"file": ("cohort.csv", data, "text/csv")},
    )


async def _until_done(console: httpx.AsyncClient, url: str) -> str:
    deadline = time.monotonic() + 120
    while True:
        html = (await console.get(url)).text
        if "Done:" in html:
            return html
        head = html.split("</head>", 1)[0]  # valid HTML: the refresh is in the head
        assert 'http-equiv="refresh"' in head
        assert time.monotonic() < deadline, html
        await asyncio.sleep(0.5)


async def test_a_file_with_errors_is_previewed_and_only_its_valid_rows_are_issued(
    console: httpx.AsyncClient, provider: Provider, issuer: Issuer
):
    achievement = await provider.create_achievement(name="Close Reading")
    data = (
        b"\xef\xbb\xbfemail,name,achievement\n"
        + (
            "ana@example.org,Ana,Close Reading\n"
            "not-an-address,Ben,Close Reading\n"
            "cy@example.org,Cy,No Such Badge\n"
            f"di@example.org,Di,{achievement['id']}\n"
        ).encode()
    )

    uploaded = await _upload(console, issuer.slug, data)
    assert uploaded.status_code == 303, uploaded.text
    preview = (await console.get(uploaded.headers["location"])).text
    assert "2 ready to issue" in preview and "2 with errors" in preview
    assert "is not an e-mail address" in preview and "No Such Badge" in preview
    token = csrf_in(preview)
    confirm_url = uploaded.headers["location"] + "/confirm"

    # Two clicks (two tabs) at once: only one confirmation starts the work.
    clicks = await asyncio.gather(
        console.post(confirm_url, data={"csrf": token}),
        console.post(confirm_url, data={"csrf": token}),
    )
    assert [click.status_code for click in clicks] == [303, 303]
    done = await _until_done(console, uploaded.headers["location"])

    assert "Done: 2 issued, 0 failed, of 2." in done
    listed = await provider.http.get(f"/v1/issuers/{issuer.slug}/credentials")
    assert sorted(item["recipientName"] for item in listed.json()["items"]) == ["Ana", "Di"]
    history = (await console.get(f"/console/issuers/{issuer.slug}/batches")).text
    assert "cohort.csv" in history and ">done<" in history


async def test_a_file_that_cannot_be_read_is_refused_beside_its_field(
    console: httpx.AsyncClient, issuer: Issuer
):
    missing = await _upload(console, issuer.slug, b"name\nAna\n")
    too_big = await _upload(console, issuer.slug, b"email,achievement\n" + b"x" * 2_200_000)

    assert missing.status_code == 422
    assert "missing column(s): email, achievement" in missing.text
    assert 'id="file-error"' in missing.text
    assert too_big.status_code == 422
    assert "larger than 2,097,152 bytes (2 MB)" in too_big.text


async def test_a_file_past_the_body_limit_gets_a_page_not_json(
    console: httpx.AsyncClient, issuer: Issuer
):
    """Past twice the largest file the form reads, the body is refused before it is read:
    the browser still shows a page saying what to do."""
    huge = await _upload(console, issuer.slug, b"email,achievement\n" + b"x" * 5_000_000)

    assert huge.status_code == 413
    assert huge.headers["content-type"].startswith("text/html")
    assert "That file is too large" in huge.text
    assert f'href="/console/issuers/{issuer.slug}/batches"' in huge.text


async def test_a_form_without_the_csrf_token_is_refused(console: httpx.AsyncClient, issuer: Issuer):
    response = await console.post(
        f"/console/issuers/{issuer.slug}/batches",
        files={"file": ("cohort.csv", _csv(1), "text/csv")},
    )

    assert response.status_code == 403


async def test_another_issuers_staff_cannot_see_or_confirm_a_batch(
    console: httpx.AsyncClient,
    provider: Provider,
    issuer: Issuer,
    server: str,
    sessions: Any,
    vault: KeyVault,
):
    from badges.issuers.issuers import IssuerDetails, create_issuer
    from storage.session import transaction

    achievement = await provider.create_achievement()
    uploaded = await _upload(console, issuer.slug, _csv(2), achievement["id"])
    batch_path = uploaded.headers["location"].removeprefix(f"/console/issuers/{issuer.slug}")
    async with transaction(sessions) as session:
        other = await create_issuer(
            session, vault, IssuerDetails(slug=f"x-{issuer.slug}", name="Other")
        )
    stranger = await add_staff_member(sessions, vault, issuer=other, role="admin")

    async with signed_in_client(server, sessions, stranger) as http:
        token = csrf_in((await http.get(f"/console/issuers/{other.slug}/batches")).text)
        seen = await http.get(f"/console/issuers/{other.slug}{batch_path}")
        confirmed = await http.post(
            f"/console/issuers/{other.slug}{batch_path}/confirm", data={"csrf": token}
        )
        theirs = await http.get(f"/console/issuers/{issuer.slug}{batch_path}")

    assert (seen.status_code, confirmed.status_code, theirs.status_code) == (404, 404, 404)
    preview = (await console.get(uploaded.headers["location"])).text
    assert re.search(r"Issue 2 badges", preview)
