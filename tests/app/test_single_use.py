"""Once means once, even when the requests arrive together.

Sign-in codes, sign-in and claim links, OpenID4VCI pre-authorized codes, transaction codes
and c_nonces, and VC-API exchanges are each spent by one conditional UPDATE, so of any
number of parallel requests for one of them exactly one wins, and parallel wrong guesses
each count against the cap. Every race is run for real: parallel HTTP requests against the
running service, and parallel database sessions against the domain functions.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from badges.issuers.issuers import KeyVault
from badges.wallets.oid4vci import MAX_TX_CODE_ATTEMPTS
from badges.wallets.teachers import (
    MAX_ATTEMPTS,
    CodeRejected,
    IssuedCode,
    email_key,
    redeem_code,
    redeem_link,
    start_sign_in,
)
from storage.models import (
    PreAuthorizedCode,
    SignInCode,
    TeacherIdentifier,
    TeacherSession,
)
from storage.session import transaction
from tests.app.mailbox import last_mail
from tests.app.wallets.test_oid4vci import (
    JWT_VC_JSON,
    LDP_VC,
    _wallet,
)
from tests.app.wallets.test_wallet_exchange import _exchange
from tests.app.wallets.wallet_holder import (
    Holder,
    credentials_of,
)
from tests.conftest import Provider

WRONG_GUESSES = 60
PARALLEL_OPENS = 10


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


def _wrong_codes(right: str, count: int) -> list[str]:
    """`count` distinct six-digit codes, none of them `right`."""
    wrong: set[str] = set()
    while len(wrong) < count:
        guess = f"{secrets.randbelow(1_000_000):06d}"
        if guess != right:
            wrong.add(guess)
    return sorted(wrong)


async def _new_code(sessions: Any, vault: KeyVault, address: str) -> IssuedCode:
    async with transaction(sessions) as session:
        return await start_sign_in(
            session, vault, address, client_address=None, lifetime=timedelta(minutes=15)
        )


async def _stored_code(sessions: Any, vault: KeyVault, address: str) -> SignInCode:
    async with sessions() as session:
        row = await session.scalar(
            select(SignInCode).where(SignInCode.email_key == email_key(vault, address))
        )
    assert row is not None
    return row


async def _sessions_of(sessions: Any, vault: KeyVault, address: str) -> int:
    """How many sessions were opened for the teacher who owns `address`."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(TeacherSession)
            .join(TeacherIdentifier, TeacherIdentifier.teacher_id == TeacherSession.teacher_id)
            .where(TeacherIdentifier.lookup_key == email_key(vault, address))
        )
    return int(count or 0)


# --- over HTTP: the sign-in form and the e-mailed links -----------------------------------


async def _sign_in_form(server: str) -> tuple[httpx.AsyncClient, str]:
    browser = httpx.AsyncClient(base_url=server, timeout=120)
    page = await browser.get("/teacher/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    return browser, csrf.group(1)


async def _type_codes(
    browser: httpx.AsyncClient, csrf: str, address: str, codes: list[str]
) -> list[int]:
    """The status of each typed code, all posted at once."""
    answers = await asyncio.gather(
        *(
            browser.post(
                "/teacher/sign-in/code", data={"email": address, "code": code, "csrf": csrf}
            )
            for code in codes
        )
    )
    return [answer.status_code for answer in answers]


async def test_parallel_wrong_codes_all_count_and_then_the_right_code_is_refused(
    server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    issued = await _new_code(sessions, vault, address)
    browser, csrf = await _sign_in_form(server)

    guesses = await _type_codes(browser, csrf, address, _wrong_codes(issued.code, WRONG_GUESSES))
    right = await _type_codes(browser, csrf, address, [issued.code])

    assert guesses == [400] * WRONG_GUESSES
    assert (await _stored_code(sessions, vault, address)).attempts == MAX_ATTEMPTS
    assert right == [400], "the cap was spent: not even the right code may sign her in"
    assert await _sessions_of(sessions, vault, address) == 0
    await browser.aclose()


async def test_of_wrong_and_right_codes_typed_together_at_most_one_signs_in(
    server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    issued = await _new_code(sessions, vault, address)
    browser, csrf = await _sign_in_form(server)
    wrong = _wrong_codes(issued.code, WRONG_GUESSES)
    codes = wrong[:30] + [issued.code] * 5 + wrong[30:]  # the right code, five times, mid-storm

    statuses = Counter(await _type_codes(browser, csrf, address, codes))

    assert statuses[303] <= 1, statuses
    assert statuses[303] + statuses[400] == len(codes), statuses
    assert (await _stored_code(sessions, vault, address)).attempts <= MAX_ATTEMPTS
    assert await _sessions_of(sessions, vault, address) == statuses[303]
    await browser.aclose()


async def _opened_in_parallel(server: str, link: str) -> Counter[int]:
    async with httpx.AsyncClient(base_url=server, timeout=120) as browser:
        answers = await asyncio.gather(*(browser.get(link) for _ in range(PARALLEL_OPENS)))
    return Counter(answer.status_code for answer in answers)


def _link_in(mail: str) -> str:
    found = re.search(r"(/teacher/sign-in/link\?token=[\w-]+)", mail)
    assert found, mail
    return found.group(1)


async def test_ten_parallel_opens_of_a_sign_in_link_open_one_session(
    server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    browser, csrf = await _sign_in_form(server)
    asked = await browser.post("/teacher/sign-in", data={"email": address, "csrf": csrf})
    assert asked.status_code == 200, asked.text
    await browser.aclose()

    statuses = await _opened_in_parallel(server, _link_in(await last_mail(sessions, address)))

    assert statuses == Counter({303: 1, 400: PARALLEL_OPENS - 1})
    assert await _sessions_of(sessions, vault, address) == 1


async def test_ten_parallel_opens_of_a_claim_link_open_one_session(
    provider: Provider, server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    achievement = await provider.create_achievement(name="Restorative Circles")
    issued = await provider.issue(
        achievement["id"], recipient={"email": address}, notifyRecipient=True
    )
    assert issued.status_code == 201, issued.text

    statuses = await _opened_in_parallel(server, _link_in(await last_mail(sessions, address)))

    assert statuses == Counter({303: 1, 400: PARALLEL_OPENS - 1})
    assert await _sessions_of(sessions, vault, address) == 1


# --- in the domain: parallel database sessions --------------------------------------------


async def _redeem_code(sessions: Any, vault: KeyVault, address: str, code: str) -> bool:
    """One try in its own transaction; a refused try is committed too, as the route does, so
    that it counts against the code."""
    async with sessions() as session:
        try:
            await redeem_code(session, vault, address, code)
        except CodeRejected:
            await session.commit()
            return False
        await session.commit()
        return True


async def _redeem_link(sessions: Any, token: str) -> bool:
    async with sessions() as session:
        try:
            await redeem_link(session, token)
        except CodeRejected:
            return False
        await session.commit()
        return True


async def test_a_code_redeemed_by_parallel_sessions_is_accepted_once(
    sessions: Any, vault: KeyVault
):
    address = _email()
    issued = await _new_code(sessions, vault, address)

    accepted = await asyncio.gather(
        *(_redeem_code(sessions, vault, address, issued.code) for _ in range(PARALLEL_OPENS))
    )

    assert accepted.count(True) == 1
    assert (await _stored_code(sessions, vault, address)).used_at is not None


async def test_wrong_codes_from_parallel_sessions_each_spend_an_attempt(
    sessions: Any, vault: KeyVault
):
    address = _email()
    issued = await _new_code(sessions, vault, address)
    wrong = _wrong_codes(issued.code, WRONG_GUESSES)

    guesses = await asyncio.gather(*(_redeem_code(sessions, vault, address, c) for c in wrong))
    right = await _redeem_code(sessions, vault, address, issued.code)

    assert not any(guesses)
    assert (await _stored_code(sessions, vault, address)).attempts == MAX_ATTEMPTS
    assert right is False


async def test_the_right_code_among_parallel_guesses_wins_at_most_once(
    sessions: Any, vault: KeyVault
):
    address = _email()
    issued = await _new_code(sessions, vault, address)
    codes = _wrong_codes(issued.code, WRONG_GUESSES) + [issued.code] * 5

    accepted = await asyncio.gather(*(_redeem_code(sessions, vault, address, c) for c in codes))

    stored = await _stored_code(sessions, vault, address)
    assert accepted.count(True) <= 1
    assert stored.attempts <= MAX_ATTEMPTS
    assert (stored.used_at is not None) == any(accepted)


async def test_a_link_redeemed_by_parallel_sessions_is_accepted_once(
    sessions: Any, vault: KeyVault
):
    address = _email()
    issued = await _new_code(sessions, vault, address)

    accepted = await asyncio.gather(
        *(_redeem_link(sessions, issued.link_token) for _ in range(PARALLEL_OPENS))
    )

    assert accepted.count(True) == 1


# --- OpenID4VCI: pre-authorized codes, transaction codes, c_nonces ------------------------


async def test_parallel_token_requests_with_one_pre_authorized_code_get_one_token(
    provider: Provider, server: str, sessions: Any, vault: KeyVault, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public)

    answers = await asyncio.gather(*(wallet.token() for _ in range(PARALLEL_OPENS)))

    assert Counter(a.status_code for a in answers) == Counter({200: 1, 400: PARALLEL_OPENS - 1})
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}


async def test_parallel_wrong_transaction_codes_all_count_and_then_the_right_one_is_refused(
    provider: Provider, server: str, sessions: Any, vault: KeyVault, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public, pin=True)
    assert wallet.tx_code is not None
    wrong = _wrong_codes(wallet.tx_code, WRONG_GUESSES)

    guesses = await asyncio.gather(*(wallet.token(tx_code=pin) for pin in wrong))
    right = await wallet.token()

    assert {(g.status_code, g.json()["error"]) for g in guesses} == {(400, "invalid_grant")}
    async with sessions() as session:
        attempts = await session.scalar(
            select(PreAuthorizedCode.tx_code_attempts).where(
                PreAuthorizedCode.credential_id == uuid.UUID(wallet.issued["id"])
            )
        )
    assert attempts == MAX_TX_CODE_ATTEMPTS
    assert (right.status_code, right.json()["error"]) == (400, "invalid_grant")


async def test_the_right_transaction_code_among_parallel_guesses_gets_at_most_one_token(
    provider: Provider, server: str, sessions: Any, vault: KeyVault, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public, pin=True)
    assert wallet.tx_code is not None
    pins = _wrong_codes(wallet.tx_code, WRONG_GUESSES) + [wallet.tx_code] * 5

    answers = await asyncio.gather(*(wallet.token(tx_code=pin) for pin in pins))

    statuses = Counter(a.status_code for a in answers)
    assert statuses[200] <= 1 and statuses[200] + statuses[400] == len(pins), statuses


async def test_parallel_credential_requests_with_one_c_nonce_issue_one_credential(
    provider: Provider, server: str, sessions: Any, vault: KeyVault, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public)
    token = await wallet.access_token()
    nonce = await wallet.nonce()
    requests = [
        {
            "credential_configuration_id": LDP_VC if n % 2 else JWT_VC_JSON,
            "proofs": {"jwt": [await wallet.proof(nonce=nonce)]},
        }
        for n in range(PARALLEL_OPENS)
    ]

    answers = await asyncio.gather(*(wallet.request(token, body) for body in requests))

    assert Counter(a.status_code for a in answers) == Counter({200: 1, 400: PARALLEL_OPENS - 1})
    assert await credentials_of(sessions, wallet.holder.did) == 1


# --- VC-API exchanges ---------------------------------------------------------------------


async def test_parallel_presentations_to_one_exchange_issue_one_credential(
    provider: Provider, server: str, sessions: Any, vault: KeyVault, public: httpx.AsyncClient
):
    _, link = await _exchange(provider, server, sessions, vault)
    holder = Holder()
    url = link["vc_request_url"][0]
    body = {"verifiablePresentation": holder.did_auth(link["challenge"][0], server)}

    answers = await asyncio.gather(*(public.post(url, json=body) for _ in range(PARALLEL_OPENS)))

    assert Counter(a.status_code for a in answers) == Counter({200: 1, 400: PARALLEL_OPENS - 1})
    assert await credentials_of(sessions, holder.did) == 1
