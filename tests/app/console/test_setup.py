"""First run in the browser: `lattice serve` prints a one-time setup link while nobody has a
console account (and the sign-in page says where to look); the link's form creates the
organisation and its admin and mails her a code; then /console/setup is a 404.

Each test runs a brand-new service on an empty database of its own (`fresh_server`), of the
suite's backend (SQLite or PostgreSQL).
"""

# ruff: noqa: F811

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from app.settings import Settings
from storage.models import Issuer, OutboxEmail, StaffAccount
from tests.app.console.fresh import (  # noqa: F401  # fixtures
    fresh_server,
    fresh_sessions,
    fresh_settings,
    setup_link,
)
from tests.app.console.staff import csrf_in, mailed_code
from tests.app.test_first_hour import (  # noqa: F401  # fixtures
    data_dir,
    env,
    lattice,
    serving,
    written,
)
from tests.processes import free_port


def _path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def _count(sessions: Any, model: type[Any]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _setup_form(http: httpx.AsyncClient, link: str) -> dict[str, str]:
    """The form's hidden fields, as the browser would send them back."""
    form = await http.get(_path(link))
    assert form.status_code == 200, form.text
    token = _path(link).split("token=")[1]
    return {"csrf": csrf_in(form.text), "token": token}


async def test_the_link_creates_the_organisation_and_its_admin_then_signs_her_in(
    fresh_server: str, fresh_sessions: Any, fresh_settings: Settings
):
    link = await setup_link(fresh_sessions, fresh_settings)
    async with httpx.AsyncClient(base_url=fresh_server, timeout=60) as http:
        hidden = await _setup_form(http, link)
        done = await http.post(
            "/console/setup",
            data=hidden | {"organisation": "Springfield PD", "email": "chief@springfield.example"},
        )
        code = await mailed_code(fresh_sessions, "chief@springfield.example")
        signed_in = await http.post(
            "/console/sign-in/code",
            data={
                "email": "chief@springfield.example",
                "code": code,
                "csrf": hidden["csrf"],
                "next": "/console/issuers/springfield-pd",
            },
        )
        home = await http.get("/console/issuers/springfield-pd")
        did = (await http.get("/issuers/springfield-pd/did.json")).json()

    assert done.status_code == 200
    assert "Springfield PD is set up, and you are its admin" in done.text
    assert "the e-mail is on the service&#39;s log" in done.text  # no SMTP server here
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/console/issuers/springfield-pd"
    assert home.status_code == 200 and "Springfield PD" in home.text
    assert did["id"] == f"did:web:127.0.0.1%3A{fresh_settings.port}:issuers:springfield-pd"


async def test_once_anyone_has_an_account_setup_is_a_404(
    fresh_server: str, fresh_sessions: Any, fresh_settings: Settings
):
    link = await setup_link(fresh_sessions, fresh_settings)
    async with httpx.AsyncClient(base_url=fresh_server, timeout=60) as http:
        hidden = await _setup_form(http, link)
        await http.post(
            "/console/setup",
            data=hidden | {"organisation": "Springfield PD", "email": "chief@springfield.example"},
        )
        again = await http.get(_path(link))
        resent = await http.post(
            "/console/setup",
            data=hidden | {"organisation": "Shelbyville PD", "email": "mayor@example.org"},
        )
        bare = await http.get("/console/setup")
        sign_in = await http.get("/console/sign-in")

    assert again.status_code == resent.status_code == bare.status_code == 404
    assert "Set up Lattice" not in again.text
    assert "First run?" not in sign_in.text
    assert await _count(fresh_sessions, Issuer) == 1


async def test_two_browsers_racing_with_one_link_set_up_once(
    fresh_server: str, fresh_sessions: Any, fresh_settings: Settings
):
    link = await setup_link(fresh_sessions, fresh_settings)
    browsers = [httpx.AsyncClient(base_url=fresh_server, timeout=60) for _ in range(2)]
    try:
        forms = [await _setup_form(http, link) for http in browsers]
        answers = await asyncio.gather(
            *(
                http.post(
                    "/console/setup",
                    data=hidden | {"organisation": f"Org {n}", "email": f"admin{n}@example.org"},
                )
                for n, (http, hidden) in enumerate(zip(browsers, forms, strict=True))
            )
        )
    finally:
        for http in browsers:
            await http.aclose()

    assert sorted(answer.status_code for answer in answers) == [200, 404]
    assert await _count(fresh_sessions, StaffAccount) == 1
    assert await _count(fresh_sessions, Issuer) == 1
    assert await _count(fresh_sessions, OutboxEmail) == 1


async def test_a_bad_field_shows_the_form_again_with_the_message_beside_it(
    fresh_server: str, fresh_sessions: Any, fresh_settings: Settings
):
    link = await setup_link(fresh_sessions, fresh_settings)
    async with httpx.AsyncClient(base_url=fresh_server, timeout=60) as http:
        hidden = await _setup_form(http, link)
        no_email = await http.post(
            "/console/setup", data=hidden | {"organisation": "Springfield PD", "email": "chief"}
        )
        no_name = await http.post(
            "/console/setup", data=hidden | {"organisation": "  ", "email": "chief@example.org"}
        )
        two_lines = await http.post(
            "/console/setup",
            data=hidden | {"organisation": "Springfield\nPD", "email": "chief@example.org"},
        )
        forged = await http.post(
            "/console/setup",
            data=hidden | {"csrf": "forged", "organisation": "X", "email": "chief@example.org"},
        )
        still = await http.get(_path(link))

    assert no_email.status_code == no_name.status_code == two_lines.status_code == 422
    assert 'id="email-error">enter your e-mail address' in no_email.text
    assert 'value="Springfield PD"' in no_email.text  # what was typed stays
    assert 'id="organisation-error">enter the organisation' in no_name.text
    assert 'id="organisation-error">the name must be one line' in two_lines.text
    assert forged.status_code == 403 and "The form expired" in forged.text
    assert still.status_code == 200  # none of them spent the link
    assert await _count(fresh_sessions, Issuer) == 0


async def test_the_sign_in_page_says_where_the_setup_link_is_before_anyone_has_an_account(
    fresh_server: str,
):
    async with httpx.AsyncClient(base_url=fresh_server, timeout=60) as http:
        page = await http.get("/console/sign-in")
        wrong = await http.get("/console/setup?token=guessed")

    assert "First run? Nobody has a console account yet." in page.text
    assert "printed a one-time setup link on its log" in page.text
    assert "/console/setup?token=" not in page.text  # the page never shows the link itself
    assert wrong.status_code == 404 and "a newer one has replaced it" in wrong.text


def test_serve_prints_the_setup_link_and_staff_added_by_the_cli_ends_it(
    env: dict[str, str], data_dir: Path, fresh_settings: Settings
):
    env = env | {"LATTICE_DATABASE_URL": fresh_settings.database_url}
    port = str(free_port())
    with serving(env, "--port", port) as (base, output):
        link = written(output, r"first run: .*?Open (http://\S+/console/setup\?token=\S+)")[1]
        form = httpx.get(link, timeout=10)
        assert lattice(env, "issuer", "create", "nea", "--name", "NEA").returncode == 0
        added = lattice(env, "staff", "add", "--email", "a@example.org", "--issuer", "nea")
        assert added.returncode == 0, added.stderr
        after = httpx.get(link, timeout=10)

    assert link.startswith(f"{base}/console/setup?token=")
    assert form.status_code == 200 and "Set up Lattice" in form.text
    assert after.status_code == 404  # (and the next start prints none: tests/badges/issuers)
