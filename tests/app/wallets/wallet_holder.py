"""A wallet written for the tests: its own Ed25519 did:key, DIDAuth presentations and
OpenID4VCI key proofs, signed here the way a wallet would, plus a signed-in teacher."""

from __future__ import annotations

import asyncio
import html
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from badges.issuers.issuers import KeyVault
from badges.wallets.teachers import start_sign_in
from keys.data_integrity import EDDSA_RDFC_2022, format_created
from keys.multikey import did_key_for, did_key_verification_method, encode_multibase
from storage.models import Credential
from storage.session import transaction
from tests.conftest import Provider

VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
ED25519_2020 = "https://w3id.org/security/suites/ed25519-2020/v1"


async def eventually(call: Callable[[], Awaitable[httpx.Response]], status: int) -> httpx.Response:
    """`call` until it answers `status` (for up to two seconds).

    `app.deps.Session` commits after the response has been sent, so a client acting at once
    on one answer (a sign-in, an award) can briefly find nothing: these tests wait it out.
    """
    response = await call()
    for _ in range(100):
        if response.status_code == status:
            break
        await asyncio.sleep(0.02)
        response = await call()
    return response


@dataclass
class Holder:
    """A wallet's key and DID."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def did(self) -> str:
        return did_key_for(self.key.public_key())

    @property
    def vm(self) -> str:
        return did_key_verification_method(self.key.public_key())

    def did_auth(
        self,
        challenge: str,
        domain: str | None = None,
        *,
        legacy: bool = False,
        holder: str | None = None,
        purpose: str = "authentication",
    ) -> dict[str, Any]:
        """A DIDAuth VP: VCDM 2.0 + eddsa-rdfc-2022, or (legacy, as LCW signs today) VCDM
        1.1 + Ed25519Signature2020; both hash the proof options, then the document."""
        document: dict[str, Any] = {
            "@context": [VC1, ED25519_2020] if legacy else [VC2],
            "type": ["VerifiablePresentation"],
            "holder": holder or self.did,
        }
        options: dict[str, Any] = {
            "type": "Ed25519Signature2020" if legacy else "DataIntegrityProof",
            **({} if legacy else {"cryptosuite": "eddsa-rdfc-2022"}),
            "created": format_created(datetime.now(UTC)),
            "verificationMethod": self.vm,
            "proofPurpose": purpose,
            "challenge": challenge,
            **({"domain": domain} if domain is not None else {}),
        }
        suite = EDDSA_RDFC_2022
        data = suite.hash(suite.canonicalize({"@context": document["@context"], **options}))
        data += suite.hash(suite.canonicalize(document))
        return {
            **document,
            "proof": {**options, "proofValue": encode_multibase(self.key.sign(data))},
        }

    def key_proof(
        self, audience: str, nonce: str | None, *, issued_at: float | None = None, **header: Any
    ) -> str:
        """An OpenID4VCI `jwt` key proof (App. F.1), `kid` = this wallet's did:key method."""
        claims: dict[str, Any] = {"aud": audience, "iat": int(issued_at or time.time())}
        if nonce is not None:
            claims["nonce"] = nonce
        headers = {"typ": "openid4vci-proof+jwt", "kid": self.vm, **header}
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers=headers)


async def signed_in_teacher(
    server: str, sessions: Any, vault: KeyVault, email: str
) -> httpx.AsyncClient:
    """A browser signed in as the teacher: the sign-in form with a code made for her address
    (made directly, so these tests do not spend the per-client sign-in rate limit)."""
    browser = httpx.AsyncClient(base_url=server, timeout=60)
    page = await browser.get("/teacher/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    async with transaction(sessions) as session:
        issued = await start_sign_in(
            session, vault, email, client_address=None, lifetime=timedelta(minutes=15)
        )
    signed_in = await browser.post(
        "/teacher/sign-in/code",
        data={"email": email, "code": issued.code, "csrf": csrf.group(1)},
    )
    assert signed_in.status_code == 303, signed_in.text
    assert (await eventually(lambda: browser.get("/teacher"), 200)).status_code == 200
    return browser


@dataclass(frozen=True)
class WalletPage:
    lcw: str
    offer: str
    tx_code: str | None


async def wallet_page(
    browser: httpx.AsyncClient, credential_id: str, pin: bool = False
) -> WalletPage:
    """Open the badge's "Add to a wallet app" page and ask for the links, as she would."""
    page = await eventually(lambda: browser.get(f"/teacher/badges/{credential_id}/wallet"), 200)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    form = {"csrf": csrf.group(1), **({"pin": "yes"} if pin else {})}
    links = await browser.post(f"/teacher/badges/{credential_id}/wallet", data=form)
    assert links.status_code == 200, links.text
    assert links.text.count("<svg") == 2  # both QR codes
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', links.text)]
    tx_code = re.search(r"enter <strong><code>(\d+)</code>", links.text)
    return WalletPage(
        lcw=next(h for h in hrefs if h.startswith("https://lcw.app/")),
        offer=next(h for h in hrefs if h.startswith("openid-credential-offer://")),
        tx_code=tx_code.group(1) if tx_code else None,
    )


def email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


async def awarded(provider: Provider, address: str, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement(name="Close Reading")
    response = await eventually(
        lambda: provider.issue(achievement["id"], recipient={"email": address}, **fields), 201
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def credentials_of(sessions: Any, did: str) -> int:
    """How many credentials are stored for the holder's DID."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Credential).where(Credential.subject_id == did)
        )
    return int(count or 0)


async def copy_to_wallet(
    server: str, sessions: Any, vault: KeyVault, address: str, credential_id: str
) -> httpx.Response:
    """What the Learner Credential Wallet does with the teacher's link: she opens her badge's
    wallet page, and a fresh wallet answers the VC-API exchange with a DIDAuth presentation.
    The response's presentation holds the wallet copy."""
    browser = await signed_in_teacher(server, sessions, vault, address)
    try:
        link = parse_qs(urlsplit((await wallet_page(browser, credential_id)).lcw).query)
    finally:
        await browser.aclose()
    holder = Holder()
    async with httpx.AsyncClient(base_url=server, timeout=60) as wallet:
        return await wallet.post(
            link["vc_request_url"][0],
            json={"verifiablePresentation": holder.did_auth(link["challenge"][0], server)},
        )
