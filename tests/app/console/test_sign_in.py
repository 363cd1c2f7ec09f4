"""Staff sign in with an e-mailed code; the console then opens only their own places."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from badges.issuers.issuers import IssuerDetails, KeyVault, create_issuer
from storage.models import Issuer, OutboxEmail
from storage.session import transaction
from tests.app.console.staff import add_staff_member, code_for, csrf_in, signed_in_client
from tests.app.mailbox import mailed_code


async def _mails_to(sessions: Any, address: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.recipient == address)
        )
    return int(count or 0)


async def test_a_member_signs_in_with_the_mailed_code_and_sees_their_issuer(
    server: str, sessions: Any, vault: KeyVault, issuer: Issuer
):
    address = await add_staff_member(sessions, vault, issuer=issuer)
    async with signed_in_client(server, sessions, address) as http:
        landing = await http.get("/console")

    assert landing.status_code == 200
    assert issuer.name in landing.text and f"/console/issuers/{issuer.slug}" in landing.text
    assert landing.headers["cache-control"] == "no-store"


async def test_the_session_cookie_is_httponly_lax_and_only_for_the_console(
    server: str, sessions: Any, vault: KeyVault, issuer: Issuer
):
    address = await add_staff_member(sessions, vault, issuer=issuer)
    async with httpx.AsyncClient(base_url=server) as http:
        token, code = await code_for(http, sessions, address)
        done = await http.post(
            "/console/sign-in/code", data={"email": address, "code": code, "csrf": token}
        )

    cookie = next(
        h for h in done.headers.get_list("set-cookie") if h.startswith("lattice_console=")
    )
    assert done.status_code == 303 and done.headers["location"] == "/console"
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # the test server's public URL is http


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(server: str, sessions: Any):
    address = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    async with httpx.AsyncClient(base_url=server) as http:
        token = csrf_in((await http.get("/console/sign-in")).text)
        answer = await http.post("/console/sign-in", data={"email": address, "csrf": token})

    assert answer.status_code == 200
    assert "If <strong>" in answer.text and "has a console account" in answer.text
    assert await _mails_to(sessions, address) == 0


async def test_a_wrong_code_is_refused_and_leaves_them_signed_out(
    server: str, sessions: Any, vault: KeyVault, issuer: Issuer
):
    address = await add_staff_member(sessions, vault, issuer=issuer)
    async with httpx.AsyncClient(base_url=server) as http:
        token, code = await code_for(http, sessions, address)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        refused = await http.post(
            "/console/sign-in/code", data={"email": address, "code": wrong, "csrf": token}
        )
        landing = await http.get("/console")

    assert refused.status_code == 400 and "wrong, expired or already used" in refused.text
    assert landing.status_code == 303


async def test_a_teachers_code_does_not_open_the_console(
    server: str, sessions: Any, vault: KeyVault, issuer: Issuer
):
    address = await add_staff_member(sessions, vault, issuer=issuer)
    async with httpx.AsyncClient(base_url=server) as http:
        teacher_form = await http.get("/teacher/sign-in")
        teacher_csrf = csrf_in(teacher_form.text)
        await http.post("/teacher/sign-in", data={"email": address, "csrf": teacher_csrf})
        teacher_code = await mailed_code(sessions, address)
        token = csrf_in((await http.get("/console/sign-in")).text)
        refused = await http.post(
            "/console/sign-in/code",
            data={"email": address, "code": teacher_code, "csrf": token},
        )

    assert refused.status_code == 400


async def test_not_signed_in_redirects_to_the_sign_in_form_and_back(server: str, issuer: Issuer):
    async with httpx.AsyncClient(base_url=server) as http:
        answer = await http.get(f"/console/issuers/{issuer.slug}/achievements")

    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"/console/sign-in?next=/console/issuers/{issuer.slug}/achievements"
    )


async def test_another_issuers_console_is_not_found(
    server: str, sessions: Any, vault: KeyVault, issuer: Issuer
):
    async with transaction(sessions) as session:
        other = await create_issuer(
            session, vault, IssuerDetails(f"other-{uuid.uuid4().hex[:8]}", "Other Provider")
        )
    address = await add_staff_member(sessions, vault, issuer=issuer)
    async with signed_in_client(server, sessions, address) as http:
        theirs = await http.get(f"/console/issuers/{other.slug}")
        missing = await http.get("/console/issuers/no-such-issuer")
        agency = await http.get(f"/console/agencies/{uuid.uuid4()}")

    assert theirs.status_code == 404 and "not yours to open" in theirs.text
    assert missing.status_code == 404 and missing.text == theirs.text
    assert agency.status_code == 404


async def test_a_post_without_the_sessions_csrf_token_is_refused(
    console: httpx.AsyncClient,
):
    forged = await console.post("/console/sign-out", data={"csrf": "forged"})
    still_in = await console.get("/console")

    assert forged.status_code == 403 and "The form expired" in forged.text
    assert still_in.status_code == 200


async def test_sign_out_ends_the_session(console: httpx.AsyncClient):
    token = csrf_in((await console.get("/console")).text)
    out = await console.post("/console/sign-out", data={"csrf": token})
    after = await console.get("/console")

    assert out.status_code == 303 and after.status_code == 303


async def test_the_sign_in_form_refuses_a_post_without_its_cookie(server: str):
    async with httpx.AsyncClient(base_url=server) as http:
        answer = await http.post(
            "/console/sign-in", data={"email": "a@example.org", "csrf": "made-up"}
        )

    assert answer.status_code == 403


async def test_a_disabled_account_is_signed_out_and_cannot_sign_in(
    server: str, sessions: Any, vault: KeyVault, issuer: Issuer
):
    from badges.issuers.staff import disable_staff
    from badges.wallets.teachers import email_key

    address = await add_staff_member(sessions, vault, issuer=issuer)
    async with signed_in_client(server, sessions, address) as http:
        async with transaction(sessions) as session:
            await disable_staff(session, email_key(vault, address))
        after = await http.get("/console")
        mails_before = await _mails_to(sessions, address)
        token = csrf_in((await http.get("/console/sign-in")).text)
        await http.post("/console/sign-in", data={"email": address, "csrf": token})

    assert after.status_code == 303
    assert await _mails_to(sessions, address) == mails_before


async def test_the_link_in_the_mail_signs_in_once_and_only_at_the_console(
    server: str, sessions: Any, vault: KeyVault, issuer: Issuer
):
    import re

    address = await add_staff_member(sessions, vault, issuer=issuer)
    async with httpx.AsyncClient(base_url=server) as http:
        token = csrf_in((await http.get("/console/sign-in")).text)
        await http.post(
            "/console/sign-in",
            data={"email": address, "csrf": token, "next": f"/console/issuers/{issuer.slug}"},
        )
        async with sessions() as session:
            body = await session.scalar(
                select(OutboxEmail.body).where(OutboxEmail.recipient == address)
            )
        link = re.search(r"token=([\w-]+)", body or "")
        assert link
        as_teacher = await http.get(f"/teacher/sign-in/link?token={link.group(1)}")
        opened = await http.get(f"/console/sign-in/link?token={link.group(1)}")
        again = await http.get(f"/console/sign-in/link?token={link.group(1)}")

    assert as_teacher.status_code == 400
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/console/issuers/{issuer.slug}"
    assert again.status_code == 400
