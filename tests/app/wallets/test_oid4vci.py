"""OpenID4VCI pre-authorized code flow end to end: the teacher's page shows the credential
offer, a wallet with its own did:key reads the metadata, redeems the code (and PIN), gets a
c_nonce, proves its key and receives the badge bound to its DID, as `ldp_vc` and
`jwt_vc_json`. Replays and bad proofs get the standard's errors and leave nothing behind."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from keys.vc_jwt import decode_unverified
from tests.app.wallets.wallet_holder import (
    Holder,
    awarded,
    credentials_of,
    email,
    signed_in_teacher,
    wallet_page,
)
from tests.conftest import Provider, node_verify

PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
LDP_VC = "OpenBadgeCredential_ldp_vc"
JWT_VC_JSON = "OpenBadgeCredential_jwt_vc_json"


@dataclass
class Wallet:
    """The wallet's side: what it learnt from the offer and the issuer's metadata."""

    http: httpx.AsyncClient
    holder: Holder
    offer: dict[str, Any]
    metadata: dict[str, Any]
    token_endpoint: str
    tx_code: str | None
    issued: dict[str, Any]

    @property
    def code(self) -> str:
        return str(self.offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"])

    async def token(self, **form: str) -> httpx.Response:
        body = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": self.code}
        if self.tx_code:
            body["tx_code"] = self.tx_code
        return await self.http.post(self.token_endpoint, data={**body, **form})

    async def access_token(self) -> str:
        response = await self.token()
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def nonce(self) -> str:
        response = await self.http.post(self.metadata["nonce_endpoint"])
        assert response.headers["cache-control"] == "no-store"
        return str(response.json()["c_nonce"])

    async def request(self, token: str | None, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            self.metadata["credential_endpoint"], json=body, headers=headers
        )

    async def proof(self, **options: Any) -> str:
        nonce = options.pop("nonce", None) or await self.nonce()
        audience = options.pop("audience", self.metadata["credential_issuer"])
        return self.holder.key_proof(audience, nonce, **options)


async def _wallet(
    provider: Provider,
    server: str,
    sessions: Any,
    vault: Any,
    http: httpx.AsyncClient,
    pin: bool = False,
) -> Wallet:
    """A badge for a new teacher, whose page's offer a new wallet has scanned and followed."""
    address = email()
    issued = await awarded(provider, address)
    browser = await signed_in_teacher(server, sessions, vault, address)
    page = await wallet_page(browser, issued["id"], pin=pin)
    await browser.aclose()
    link = urlsplit(page.offer)
    assert link.scheme == "openid-credential-offer"
    offer = json.loads(parse_qs(link.query)["credential_offer"][0])
    issuer = offer["credential_issuer"]
    metadata = (await http.get(f"{issuer}/.well-known/openid-credential-issuer")).json()
    [server_id] = metadata["authorization_servers"]
    parts = urlsplit(server_id)
    as_url = f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{parts.path}"
    as_metadata = (await http.get(as_url)).json()
    assert as_metadata["issuer"] == server_id
    assert PRE_AUTHORIZED in as_metadata["grant_types_supported"]
    return Wallet(
        http, Holder(), offer, metadata, as_metadata["token_endpoint"], page.tx_code, issued
    )


async def test_the_offer_and_the_metadata_describe_both_formats(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public)

    configurations = wallet.metadata["credential_configurations_supported"]
    assert wallet.metadata["credential_issuer"] == server == wallet.offer["credential_issuer"]
    assert set(wallet.offer["credential_configuration_ids"]) == {LDP_VC, JWT_VC_JSON}
    assert configurations[LDP_VC]["format"] == "ldp_vc"
    assert configurations[LDP_VC]["credential_definition"]["type"] == [
        "VerifiableCredential",
        "OpenBadgeCredential",
    ]
    assert configurations[JWT_VC_JSON]["format"] == "jwt_vc_json"
    for configuration in configurations.values():
        assert "did:key" in configuration["cryptographic_binding_methods_supported"]
        assert (
            "EdDSA"
            in configuration["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
        )
    assert "tx_code" not in wallet.offer["grants"][PRE_AUTHORIZED]


async def test_a_wallet_gets_the_badge_bound_to_its_did_in_both_formats(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public, pin=True)
    token = await wallet.access_token()

    as_ldp = await wallet.request(
        token, {"credential_configuration_id": LDP_VC, "proofs": {"jwt": [await wallet.proof()]}}
    )
    as_jwt = await wallet.request(
        token,
        {"credential_configuration_id": JWT_VC_JSON, "proofs": {"jwt": [await wallet.proof()]}},
    )

    assert wallet.offer["grants"][PRE_AUTHORIZED]["tx_code"]["length"] == 6
    assert as_ldp.status_code == 200, as_ldp.text
    assert as_ldp.headers["cache-control"] == "no-store"
    [ldp] = as_ldp.json()["credentials"]
    credential = ldp["credential"]
    assert credential["credentialSubject"]["id"] == wallet.holder.did
    assert credential["id"] != wallet.issued["credential"]["id"]
    achievement = wallet.issued["credential"]["credentialSubject"]["achievement"]
    assert credential["credentialSubject"]["achievement"] == achievement
    report = (await public.post("/v1/verify", json={"credential": credential})).json()
    assert report["verdict"] == "verified", report
    assert as_jwt.status_code == 200, as_jwt.text
    token_jwt = as_jwt.json()["credentials"][0]["credential"]
    _, payload = decode_unverified(token_jwt)
    assert payload["sub"] == payload["credentialSubject"]["id"] == wallet.holder.did
    report = (await public.post("/v1/verify", json={"jwt": token_jwt})).json()
    assert report["verdict"] == "verified", report
    assert await credentials_of(sessions, wallet.holder.did) == 2


@pytest.mark.interop
async def test_the_issued_credentials_verify_in_the_independent_verifiers(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient, tmp_path
):
    wallet = await _wallet(provider, server, sessions, vault, public)
    token = await wallet.access_token()
    ldp = await wallet.request(
        token, {"credential_configuration_id": LDP_VC, "proofs": {"jwt": [await wallet.proof()]}}
    )
    jwt_vc = await wallet.request(
        token,
        {"credential_configuration_id": JWT_VC_JSON, "proofs": {"jwt": [await wallet.proof()]}},
    )
    path = tmp_path / "credential.jwt"
    path.write_text(jwt_vc.json()["credentials"][0]["credential"], encoding="utf-8")

    data_integrity = node_verify(
        ldp.json()["credentials"][0]["credential"]["id"], "--verifier", "all"
    )
    vc_jwt = node_verify(path, "--verifier", "all")

    assert {report["verifier"] for report in data_integrity} == {"core", "vc"}, data_integrity
    assert {report["verifier"] for report in vc_jwt} == {"jose"}, vc_jwt
    assert all(report["verified"] for report in data_integrity + vc_jwt), data_integrity + vc_jwt


# Token endpoint: replays and wrong transaction codes (OAuth 2.0 §5.2, OID4VCI §6.3).


async def test_a_pre_authorized_code_works_once(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public)
    first = await wallet.token()

    replayed = await wallet.token()

    assert first.status_code == 200 and first.json()["token_type"] == "Bearer"
    assert first.headers["cache-control"] == "no-store"
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")


async def test_the_transaction_code_is_checked(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public, pin=True)
    assert wallet.tx_code is not None
    wrong = str((int(wallet.tx_code) + 1) % 1_000_000).zfill(6)

    missing = await wallet.http.post(
        wallet.token_endpoint,
        data={"grant_type": PRE_AUTHORIZED, "pre-authorized_code": wallet.code},
    )
    guessed = await wallet.token(tx_code=wrong)
    right = await wallet.token()

    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    assert (guessed.status_code, guessed.json()["error"]) == (400, "invalid_grant")
    assert right.status_code == 200, right.text


async def test_another_grant_type_is_unsupported(public: httpx.AsyncClient):
    response = await public.post("/oid4vci/token", data={"grant_type": "client_credentials"})

    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


# Credential endpoint: proof of possession (App. F), nonces, tokens (RFC 6750).


async def test_a_used_nonce_is_refused(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public)
    token = await wallet.access_token()
    nonce = await wallet.nonce()
    first = await wallet.request(
        token,
        {
            "credential_configuration_id": LDP_VC,
            "proofs": {"jwt": [await wallet.proof(nonce=nonce)]},
        },
    )

    replayed = await wallet.request(
        token,
        {
            "credential_configuration_id": JWT_VC_JSON,
            "proofs": {"jwt": [await wallet.proof(nonce=nonce)]},
        },
    )

    assert first.status_code == 200, first.text
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_nonce")
    assert await credentials_of(sessions, wallet.holder.did) == 1


def _other_key_proof(wallet: Wallet, nonce: str) -> str:
    """Signed by another key than the one its `kid` names."""
    stranger = Holder()
    return stranger.key_proof(wallet.metadata["credential_issuer"], nonce, kid=wallet.holder.vm)


BAD_PROOFS: dict[str, Any] = {
    "another audience": lambda wallet, nonce: wallet.holder.key_proof(
        "https://evil.example", nonce
    ),
    "not typed as a key proof": lambda wallet, nonce: wallet.holder.key_proof(
        wallet.metadata["credential_issuer"], nonce, typ="JWT"
    ),
    "without a nonce": lambda wallet, nonce: wallet.holder.key_proof(
        wallet.metadata["credential_issuer"], None
    ),
    "made an hour ago": lambda wallet, nonce: wallet.holder.key_proof(
        wallet.metadata["credential_issuer"], nonce, issued_at=time.time() - 3600
    ),
    "signed by another key than its kid": _other_key_proof,
    "not a JWT": lambda wallet, nonce: "not-a-jwt",
}


@pytest.mark.parametrize("make", BAD_PROOFS.values(), ids=BAD_PROOFS.keys())
async def test_a_bad_key_proof_is_invalid_proof_and_spends_nothing(
    provider: Provider,
    server: str,
    sessions: Any,
    vault: Any,
    public: httpx.AsyncClient,
    make: Any,
):
    wallet = await _wallet(provider, server, sessions, vault, public)
    token = await wallet.access_token()
    nonce = await wallet.nonce()

    refused = await wallet.request(
        token, {"credential_configuration_id": LDP_VC, "proofs": {"jwt": [make(wallet, nonce)]}}
    )
    honest = await wallet.request(
        token,
        {
            "credential_configuration_id": LDP_VC,
            "proofs": {"jwt": [await wallet.proof(nonce=nonce)]},
        },
    )

    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_proof"), refused.text
    assert honest.status_code == 200, honest.text  # the nonce was not spent by the refusal
    assert await credentials_of(sessions, wallet.holder.did) == 1


async def test_a_request_without_proofs_is_invalid_proof(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public)

    response = await wallet.request(
        await wallet.access_token(), {"credential_configuration_id": LDP_VC}
    )

    assert (response.status_code, response.json()["error"]) == (400, "invalid_proof")


async def test_an_unknown_configuration_is_refused(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public)

    response = await wallet.request(
        await wallet.access_token(),
        {"credential_configuration_id": "mDL", "proofs": {"jwt": [await wallet.proof()]}},
    )

    assert (response.status_code, response.json()["error"]) == (
        400,
        "unknown_credential_configuration",
    )


async def test_each_format_of_an_offer_is_issued_once(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    wallet = await _wallet(provider, server, sessions, vault, public)
    token = await wallet.access_token()
    body = {"credential_configuration_id": LDP_VC}
    first = await wallet.request(token, {**body, "proofs": {"jwt": [await wallet.proof()]}})

    again = await wallet.request(token, {**body, "proofs": {"jwt": [await wallet.proof()]}})

    assert first.status_code == 200
    assert (again.status_code, again.json()["error"]) == (400, "credential_request_denied")
    assert await credentials_of(sessions, wallet.holder.did) == 1


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "unknown"])
async def test_the_credential_endpoint_needs_the_offers_access_token(
    provider: Provider,
    server: str,
    sessions: Any,
    vault: Any,
    public: httpx.AsyncClient,
    token: str | None,
):
    wallet = await _wallet(provider, server, sessions, vault, public)

    response = await wallet.request(
        token, {"credential_configuration_id": LDP_VC, "proofs": {"jwt": [await wallet.proof()]}}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_token"
    assert await credentials_of(sessions, wallet.holder.did) == 0
