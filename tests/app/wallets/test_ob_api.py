"""The OB 3.0 REST API (OB 3.0 §6-7) as a teacher's app sees it: discovery, dynamic
registration, authorization with her sign-in and consent, PKCE, tokens, her credentials and
profile, refresh and revocation; and the errors the standards define when a step is wrong.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from badges.issuers.issuers import KeyVault
from badges.wallets.ob_clients import OB_SCOPES
from badges.wallets.teachers import (
    email_key,
    open_session,
    redeem_code,
    start_sign_in,
    teacher_for_code,
)
from formats.identity import hash_identity
from keys.data_integrity import sign_document
from keys.keypair import KeyAlgorithm, KeyPair
from keys.multikey import did_key_for, did_key_verification_method
from keys.vc_jwt import encode_vc_jwt
from schemas.json_schemas import schema_errors
from storage.models import (
    HeldCredential,
    ObApiClient,
    ObApiToken,
    ObAuthorizationCode,
    OutboxEmail,
    TeacherIdentifier,
)
from storage.session import transaction
from tests.builders import unsigned_open_badge
from tests.conftest import Provider

SCHEMAS = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
IMSX = SCHEMAS + "ob_v3p0_imsx_statusinfo-jsonschema1.json"
PROFILE = SCHEMAS + "ob_v3p0_profile-jsonschema1.json"
CREDENTIALS = SCHEMAS + "ob_v3p0_getopenbadgecredentialsresponse-jsonschema1.json"
REDIRECT = "https://backpack.example/callback"


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _response_errors(body: dict[str, Any]) -> list[str]:
    """The getCredentials schema, checked per credential status entry: VCDM 2.0 allows a list
    (revocation + suspension), the bundled pre-v1.3 schema one object (see schema_errors)."""
    errors = schema_errors({**body, "credential": []}, CREDENTIALS)
    for credential in body["credential"]:
        entries = credential.get("credentialStatus")
        several = isinstance(entries, list) and entries
        variants = [{**credential, "credentialStatus": e} for e in entries] if several else []
        for variant in variants or [credential]:
            errors += schema_errors({"credential": [variant]}, CREDENTIALS)
    return errors


def _imsx(response: httpx.Response, status: int, code_minor: str) -> None:
    body = response.json()
    assert response.status_code == status, response.text
    assert schema_errors(body, IMSX) == []
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error"
    minor = body["imsx_codeMinor"]["imsx_codeMinorField"][0]
    assert minor == {
        "imsx_codeMinorFieldName": "TargetEndSystem",
        "imsx_codeMinorFieldValue": code_minor,
    }


@dataclass
class App:
    """A teacher's backpack app, written from the OB 3.0 spec: it discovers, registers,
    sends her to authorize with PKCE, and calls the API with the tokens it gets."""

    http: httpx.AsyncClient
    discovery: dict[str, Any] = field(default_factory=dict)
    client_id: str = ""
    client_secret: str = ""
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def oauth(self) -> dict[str, Any]:
        scheme: dict[str, Any] = self.discovery["components"]["securitySchemes"]["OAuth2ACG"]
        return scheme

    @property
    def api(self) -> str:
        url: str = self.discovery["servers"][0]["url"]
        return url

    async def discover(self) -> None:
        response = await self.http.get("/ims/ob/v3p0/discovery")
        assert response.status_code == 200, response.text
        self.discovery = response.json()

    async def register(self, **overrides: Any) -> httpx.Response:
        metadata = {
            "client_name": "Backpack",
            "client_uri": "https://backpack.example/",
            "logo_uri": "https://backpack.example/logo.png",
            "tos_uri": "https://backpack.example/terms",
            "policy_uri": "https://backpack.example/privacy",
            "software_id": "b2c8e9a1-backpack",
            "software_version": "1.0",
            "redirect_uris": [REDIRECT],
            "scope": " ".join(OB_SCOPES),
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            **overrides,
        }
        response = await self.http.post(self.oauth["x-imssf-registrationUrl"], json=metadata)
        if response.status_code == 201:
            self.client_id = response.json()["client_id"]
            self.client_secret = response.json()["client_secret"]
        return response

    def authorize_url(self, **overrides: str) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": " ".join(OB_SCOPES),
            "state": "st-" + secrets.token_hex(4),
            "code_challenge": _challenge(self.verifier),
            "code_challenge_method": "S256",
            **overrides,
        }
        url = self.oauth["flows"]["authorizationCode"]["authorizationUrl"]
        return str(httpx.URL(url, params={k: v for k, v in params.items() if v is not None}))

    async def token(self, **form: str) -> httpx.Response:
        url = self.oauth["flows"]["authorizationCode"]["tokenUrl"]
        response = await self.http.post(url, data=form, auth=(self.client_id, self.client_secret))
        if response.status_code == 200:
            self.tokens = response.json()
        return response

    async def exchange(self, code: str, **overrides: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": self.verifier,
        }
        return await self.token(**(form | overrides))

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.tokens['access_token']}"}


async def _consent(
    browser: httpx.AsyncClient, url: str, decision: str = "approve"
) -> httpx.Response:
    """She reads the consent page and answers it."""
    page = await browser.get(url)
    assert page.status_code == 200, page.text
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
    fields = {name: html.unescape(value) for name, value in found}
    return await browser.post("/oauth/authorize", data=fields | {"decision": decision})


def _code_from(response: httpx.Response) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    return query.get("code", [""])[0], query


async def _signed_in(
    server: str, sessions: Any, vault: KeyVault, address: str
) -> httpx.AsyncClient:
    """A browser with her session, made by the real sign-in functions (without the form)."""
    async with transaction(sessions) as session:
        issued = await start_sign_in(
            session, vault, address, client_address=None, lifetime=timedelta(minutes=5)
        )
        teacher = await teacher_for_code(
            session, await redeem_code(session, vault, address, issued.code)
        )
        opened = await open_session(session, teacher, timedelta(hours=1))
    browser = httpx.AsyncClient(base_url=server, timeout=60)
    browser.cookies.set("lattice_session", opened.token)
    return browser


async def _ready_app(server: str) -> App:
    app = App(httpx.AsyncClient(base_url=server, timeout=60))
    await app.discover()
    assert (await app.register()).status_code == 201
    return app


def _did_key_badge(
    address: str, *, key: Ed25519PrivateKey | None = None, **extra: Any
) -> dict[str, Any]:
    """A credential from another issuer (a did:key), naming her e-mail in a hashed identity."""
    key = key or Ed25519PrivateKey.generate()
    document = _unsigned_badge(address, key, **extra)
    signed = sign_document(
        document,
        key,
        did_key_verification_method(key.public_key()),
        datetime(2025, 3, 1, tzinfo=UTC),
    )
    return signed | {"proof": [signed["proof"]]}  # the strict bundled schema wants an array


def _did_key_jwt(address: str, **extra: Any) -> str:
    """The same kind of credential from another issuer, as a VC-JWT."""
    key = Ed25519PrivateKey.generate()
    document = _unsigned_badge(address, key, **extra)
    vm = did_key_verification_method(key.public_key())
    return encode_vc_jwt(document, KeyPair(KeyAlgorithm.ED25519, key), kid=vm)


def _unsigned_badge(address: str, key: Ed25519PrivateKey, **extra: Any) -> dict[str, Any]:
    did = did_key_for(key.public_key())
    document = unsigned_open_badge(did, issuer_name="District 9 PD")
    salt = secrets.token_hex(8)
    document["credentialSubject"]["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": hash_identity(address, salt),
            "salt": salt,
        }
    ]
    document |= {"id": f"urn:uuid:{uuid.uuid4()}", "validFrom": "2025-03-01T00:00:00Z", **extra}
    return document


async def _held(sessions: Any, address: str, vault: KeyVault) -> list[HeldCredential]:
    async with sessions() as session:
        teacher_id = await session.scalar(
            select(TeacherIdentifier.teacher_id).where(
                TeacherIdentifier.lookup_key == email_key(vault, address)
            )
        )
        return list(
            await session.scalars(
                select(HeldCredential).where(HeldCredential.teacher_id == teacher_id)
            )
        )


async def _sign_in_by_mail(
    browser: httpx.AsyncClient, sessions: Any, address: str, to: str
) -> None:
    """Her real sign-in: the form, the code from the outbox, back to where she was going."""
    page = await browser.get(to)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    next_path = re.search(r'name="next" value="([^"]+)"', page.text)
    assert csrf and next_path, page.text
    form = {"email": address, "csrf": csrf.group(1), "next": next_path.group(1)}
    assert (await browser.post("/teacher/sign-in", data=form)).status_code == 200
    async with sessions() as session:
        mail = await session.scalar(
            select(OutboxEmail.body)
            .where(OutboxEmail.recipient == address)
            .order_by(OutboxEmail.created_at.desc())
            .limit(1)
        )
    code = re.search(r"code is (\d{6})", str(mail))
    assert code
    signed = await browser.post("/teacher/sign-in/code", data=form | {"code": code.group(1)})
    assert signed.status_code == 303 and signed.headers["location"] == "/oauth/authorize"


async def test_an_app_walks_the_whole_api_for_a_teacher(
    provider: Provider, server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    achievement = await provider.create_achievement(name="Culturally Responsive Teaching")
    issued = (await provider.issue(achievement["id"], recipient={"email": address})).json()
    app = App(httpx.AsyncClient(base_url=server, timeout=60))
    browser = httpx.AsyncClient(base_url=server, timeout=60)

    # Discovery and registration.
    await app.discover()
    registered = await app.register()
    assert registered.status_code == 201, registered.text
    assert app.api == f"{server}/ims/ob/v3p0"
    assert app.oauth["flows"]["authorizationCode"]["tokenUrl"] == f"{server}/oauth/token"
    assert registered.json()["client_secret_expires_at"] == 0

    # Authorization: not signed in, so she signs in first, then consents.
    first = await browser.get(app.authorize_url(state="xyz"))
    assert first.status_code == 303
    assert first.headers["location"] == "/teacher/sign-in?next=/oauth/authorize"
    await _sign_in_by_mail(browser, sessions, address, first.headers["location"])
    resumed = await browser.get("/oauth/authorize")
    assert resumed.status_code == 303
    consent = await browser.get(resumed.headers["location"])
    assert "Allow Backpack" in consent.text and "See your badges" in consent.text
    code, query = _code_from(await _consent(browser, resumed.headers["location"]))
    assert query["state"] == ["xyz"]

    # Token, with the PKCE verifier.
    token = await app.exchange(code)
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    assert token.json()["token_type"] == "Bearer" and token.json()["expires_in"] == 3600
    assert set(token.json()["scope"].split()) == set(OB_SCOPES)

    # Her credentials: the one a provider issued her is there.
    listed = await app.http.get(app.api + "/credentials", headers=app.bearer())
    assert listed.status_code == 200, listed.text
    assert listed.json()["credential"] == [issued["credential"]]
    assert _response_errors(listed.json()) == []
    assert listed.headers["x-total-count"] == "1"

    # Upsert a badge from another issuer: created, then the same again replaces it.
    badge = _did_key_badge(address)
    created = await app.http.post(app.api + "/credentials", json=badge, headers=app.bearer())
    again = await app.http.post(app.api + "/credentials", json=badge, headers=app.bearer())
    assert (created.status_code, again.status_code) == (201, 200), created.text
    assert created.json() == badge
    held = await _held(sessions, address, vault)
    assert len(held) == 1 and held[0].lookup_key is None  # her address is not known in clear

    # Her profile: publishing a verified address ties the badge that names it to her.
    profile = {"id": f"urn:uuid:{uuid.uuid4()}", "type": ["Profile"], "name": "Ada Teacher"}
    put = await app.http.put(
        app.api + "/profile", json=profile | {"email": address}, headers=app.bearer()
    )
    got = await app.http.get(app.api + "/profile", headers=app.bearer())
    assert put.status_code == 200, put.text
    assert got.json() == profile | {"email": address}
    assert schema_errors(got.json(), PROFILE) == []
    assert (await _held(sessions, address, vault))[0].lookup_key == email_key(vault, address)

    # Refresh: a new pair that works; the old pair is spent.
    old = dict(app.tokens)
    refreshed = await app.token(grant_type="refresh_token", refresh_token=old["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert app.tokens["refresh_token"] != old["refresh_token"]
    assert (await app.http.get(app.api + "/profile", headers=app.bearer())).status_code == 200
    stale = await app.http.get(app.api + "/profile", headers=app.bearer(old["access_token"]))
    _imsx(stale, 401, "unauthorizedrequest")

    # Revocation (RFC 7009), after which the token is refused with an Imsx 401.
    revoked = await app.http.post(
        "/oauth/revoke",
        data={"token": app.tokens["access_token"], "token_type_hint": "access_token"},
        auth=(app.client_id, app.client_secret),
    )
    assert revoked.status_code == 200
    gone = await app.http.get(app.api + "/credentials", headers=app.bearer())
    _imsx(gone, 401, "unauthorizedrequest")
    await app.http.aclose()
    await browser.aclose()


async def test_credentials_come_back_as_sent_newest_first_in_pages(
    provider: Provider, server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    achievement = await provider.create_achievement()
    issued = (await provider.issue(achievement["id"], recipient={"email": address})).json()
    app = await _authorized(server, sessions, vault, address, " ".join(OB_SCOPES))
    jwt = _did_key_jwt(address, validFrom="2025-04-01T00:00:00Z")
    badge = _did_key_badge(address)
    text = {**app.bearer(), "Content-Type": "text/plain"}

    from_jwt = await app.http.post(app.api + "/credentials", content=jwt, headers=text)
    from_json = await app.http.post(app.api + "/credentials", json=badge, headers=app.bearer())
    # Her own badge from this service, pushed back by her app: already in her account.
    own = await app.http.post(app.api + "/credentials", content=issued["jwt"], headers=text)
    pages = [
        await app.http.get(
            app.api + "/credentials", params={"limit": 1, "offset": at}, headers=app.bearer()
        )
        for at in (0, 1, 2)
    ]

    assert (from_jwt.status_code, from_jwt.text) == (201, jwt)
    assert from_jwt.headers["content-type"].startswith("text/plain")
    assert from_json.status_code == 201 and own.status_code == 200
    assert [page.headers["x-total-count"] for page in pages] == ["3", "3", "3"]
    assert pages[0].json() == {"credential": [issued["credential"]], "compactJwsString": []}
    assert pages[1].json() == {"credential": [], "compactJwsString": [jwt]}
    assert pages[2].json() == {"credential": [badge], "compactJwsString": []}
    assert all(_response_errors(page.json()) == [] for page in pages)
    first, middle, last = (page.headers["link"] for page in pages)
    assert 'offset=0>; rel="first"' in first and 'offset=2>; rel="last"' in first
    assert 'offset=1>; rel="next"' in first and 'rel="prev"' not in first
    assert 'offset=2>; rel="next"' in middle and 'offset=0>; rel="prev"' in middle
    assert 'rel="next"' not in last and 'offset=1>; rel="prev"' in last
    since = await app.http.get(
        app.api + "/credentials", params={"since": "2025-03-15T00:00:00Z"}, headers=app.bearer()
    )
    assert since.headers["x-total-count"] == "2"
    await app.http.aclose()


async def test_a_spent_refresh_token_ends_the_grant(server: str, sessions: Any, vault: KeyVault):
    app = await _authorized(server, sessions, vault, _email(), " ".join(OB_SCOPES))
    old = dict(app.tokens)
    assert (
        await app.token(grant_type="refresh_token", refresh_token=old["refresh_token"])
    ).status_code == 200

    replay = await app.token(grant_type="refresh_token", refresh_token=old["refresh_token"])

    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    # RFC 9700 §4.14.2: a refresh token used twice was copied; the grant ends.
    _imsx(
        await app.http.get(app.api + "/profile", headers=app.bearer()), 401, "unauthorizedrequest"
    )
    await app.http.aclose()


async def test_discovery_is_public_and_points_here(server: str, public: Any):
    response = await public.get("/ims/ob/v3p0/discovery")

    document = response.json()
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    assert response.status_code == 200
    assert document["servers"] == [{"url": f"{server}/ims/ob/v3p0", "description": "Lattice"}]
    assert scheme["x-imssf-registrationUrl"] == f"{server}/oauth/register"
    assert scheme["flows"]["authorizationCode"]["authorizationUrl"] == f"{server}/oauth/authorize"
    assert document["info"]["x-imssf-privacyPolicyUrl"]
    assert set(OB_SCOPES) <= set(scheme["flows"]["authorizationCode"]["scopes"])


async def test_registration_needs_the_ob_metadata_and_https_redirects(server: str):
    app = App(httpx.AsyncClient(base_url=server, timeout=60))
    await app.discover()

    missing = await app.register(software_id=None)
    insecure = await app.register(redirect_uris=["http://backpack.example/callback"])
    unknown_scope = await app.register(scope="admin")

    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_client_metadata")
    assert (insecure.status_code, insecure.json()["error"]) == (400, "invalid_redirect_uri")
    assert (unknown_scope.status_code, unknown_scope.json()["error"]) == (
        400,
        "invalid_client_metadata",
    )
    await app.http.aclose()


async def _token_rows(sessions: Any, client_id: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ObApiToken)
            .join(ObApiClient, ObApiClient.id == ObApiToken.client_id)
            .where(ObApiClient.client_id == client_id)
        )
    return int(count or 0)


async def test_a_wrong_pkce_verifier_is_invalid_grant(server: str, sessions: Any, vault: KeyVault):
    app = await _ready_app(server)
    browser = await _signed_in(server, sessions, vault, _email())
    code, _ = _code_from(await _consent(browser, app.authorize_url()))

    wrong = await app.exchange(code, code_verifier=secrets.token_urlsafe(48))

    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert await _token_rows(sessions, app.client_id) == 0
    await app.http.aclose()
    await browser.aclose()


async def test_a_plain_challenge_is_refused_at_the_authorization_endpoint(
    server: str, sessions: Any, vault: KeyVault
):
    app = await _ready_app(server)
    browser = await _signed_in(server, sessions, vault, _email())

    plain = await browser.get(
        app.authorize_url(code_challenge=app.verifier, code_challenge_method="plain", state="s1")
    )
    missing = await browser.get(app.authorize_url(code_challenge=None, code_challenge_method=None))

    for response in (plain, missing):
        code, query = _code_from(response)
        assert code == "" and query["error"] == ["invalid_request"]
    assert parse_qs(urlsplit(plain.headers["location"]).query)["state"] == ["s1"]
    async with sessions() as session:
        codes = await session.scalar(
            select(func.count())
            .select_from(ObAuthorizationCode)
            .join(ObApiClient, ObApiClient.id == ObAuthorizationCode.client_id)
            .where(ObApiClient.client_id == app.client_id)
        )
    assert codes == 0
    await app.http.aclose()
    await browser.aclose()


async def test_a_wrong_redirect_uri_is_never_followed(server: str, sessions: Any, vault: KeyVault):
    app = await _ready_app(server)
    browser = await _signed_in(server, sessions, vault, _email())

    unregistered = await browser.get(app.authorize_url(redirect_uri="https://evil.example/cb"))
    code, _ = _code_from(await _consent(browser, app.authorize_url()))
    other = await app.exchange(code, redirect_uri="https://backpack.example/other")

    assert unregistered.status_code == 400 and "location" not in unregistered.headers
    assert "invalid_request" in unregistered.text
    assert (other.status_code, other.json()["error"]) == (400, "invalid_grant")
    assert await _token_rows(sessions, app.client_id) == 0
    await app.http.aclose()
    await browser.aclose()


async def test_a_reused_code_is_refused_and_revokes_what_it_gave(
    server: str, sessions: Any, vault: KeyVault
):
    app = await _ready_app(server)
    browser = await _signed_in(server, sessions, vault, _email())
    code, _ = _code_from(await _consent(browser, app.authorize_url()))
    first = await app.exchange(code)
    access = first.json()["access_token"]

    replay = await app.exchange(code)
    after = await app.http.get(app.api + "/credentials", headers=app.bearer(access))

    assert first.status_code == 200
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    _imsx(after, 401, "unauthorizedrequest")
    await app.http.aclose()
    await browser.aclose()


async def test_denying_sends_access_denied(server: str, sessions: Any, vault: KeyVault):
    app = await _ready_app(server)
    browser = await _signed_in(server, sessions, vault, _email())

    code, query = _code_from(await _consent(browser, app.authorize_url(state="s2"), "deny"))

    assert code == "" and query["error"] == ["access_denied"] and query["state"] == ["s2"]
    await app.http.aclose()
    await browser.aclose()


async def _authorized(server: str, sessions: Any, vault: KeyVault, address: str, scope: str) -> App:
    app = await _ready_app(server)
    browser = await _signed_in(server, sessions, vault, address)
    code, _ = _code_from(await _consent(browser, app.authorize_url(scope=scope)))
    assert (await app.exchange(code)).status_code == 200
    await browser.aclose()
    return app


async def test_a_tampered_credential_is_refused_and_nothing_is_stored(
    server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    app = await _authorized(server, sessions, vault, address, " ".join(OB_SCOPES))
    tampered = copy.deepcopy(_did_key_badge(address))
    tampered["credentialSubject"]["achievement"]["name"] = "Something Else"

    response = await app.http.post(app.api + "/credentials", json=tampered, headers=app.bearer())
    listed = await app.http.get(app.api + "/credentials", headers=app.bearer())

    _imsx(response, 400, "invalid_data")
    assert "did not verify" in response.json()["imsx_description"]
    assert await _held(sessions, address, vault) == []
    assert listed.json() == {"credential": [], "compactJwsString": []}
    await app.http.aclose()


async def test_a_verified_credential_that_is_no_open_badge_is_refused(
    server: str, sessions: Any, vault: KeyVault
):
    """The verifier checks any VC; a backpack keeps only Open Badges."""
    address = _email()
    app = await _authorized(server, sessions, vault, address, " ".join(OB_SCOPES))
    key = Ed25519PrivateKey.generate()
    plain = _unsigned_badge(address, key)
    plain["type"] = ["VerifiableCredential"]
    plain["@context"] = plain["@context"][:1]
    plain["issuer"] = did_key_for(key.public_key())
    plain["credentialSubject"] = {
        "id": "did:example:teacher-1",
        "name": "Licensed teacher",
    }
    signed = sign_document(
        plain, key, did_key_verification_method(key.public_key()), datetime(2025, 3, 1, tzinfo=UTC)
    )

    response = await app.http.post(app.api + "/credentials", json=signed, headers=app.bearer())

    _imsx(response, 400, "invalid_data")
    assert "not an Open Badge" in response.json()["imsx_description"]
    assert await _held(sessions, address, vault) == []
    await app.http.aclose()


async def test_scopes_and_errors_follow_the_api(server: str, sessions: Any, vault: KeyVault):
    address = _email()
    app = await _authorized(server, sessions, vault, address, OB_SCOPES[0])

    upsert = await app.http.post(
        app.api + "/credentials", json=_did_key_badge(address), headers=app.bearer()
    )
    bad_limit = await app.http.get(
        app.api + "/credentials", params={"limit": 0}, headers=app.bearer()
    )
    anonymous = await app.http.get(app.api + "/credentials")
    unknown = await app.http.get(app.api + "/nothing-here")

    oversized = await app.http.post(
        app.api + "/credentials",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers=app.bearer() | {"Content-Type": "application/json"},
    )

    _imsx(upsert, 403, "forbidden")
    _imsx(oversized, 413, "invalid_data")
    _imsx(bad_limit, 400, "invalid_query_parameter")
    _imsx(anonymous, 401, "unauthorizedrequest")
    _imsx(unknown, 404, "not_found")
    await app.http.aclose()


async def test_a_profile_email_must_be_one_she_verified(
    server: str, sessions: Any, vault: KeyVault
):
    address = _email()
    app = await _authorized(server, sessions, vault, address, " ".join(OB_SCOPES))

    before = await app.http.get(app.api + "/profile", headers=app.bearer())
    stranger = await app.http.put(
        app.api + "/profile",
        json={"id": "https://1edtech.org/issuers/cert", "type": ["Profile"], "email": _email()},
        headers=app.bearer(),
    )

    assert before.status_code == 200 and schema_errors(before.json(), PROFILE) == []
    async with sessions() as session:
        teacher_id = await session.scalar(
            select(TeacherIdentifier.teacher_id).where(
                TeacherIdentifier.lookup_key == email_key(vault, address)
            )
        )
    assert before.json()["id"] == f"urn:uuid:{teacher_id}"
    _imsx(stranger, 400, "invalid_data")
    await app.http.aclose()


@pytest.mark.parametrize("hint", ["refresh_token", None])
async def test_revoking_a_refresh_token_ends_the_grant(
    server: str, sessions: Any, vault: KeyVault, hint: str | None
):
    app = await _authorized(server, sessions, vault, _email(), " ".join(OB_SCOPES))
    form = {"token": app.tokens["refresh_token"]} | ({"token_type_hint": hint} if hint else {})

    revoked = await app.http.post(
        "/oauth/revoke", data=form, auth=(app.client_id, app.client_secret)
    )
    unknown = await app.http.post(
        "/oauth/revoke", data={"token": "nonsense"}, auth=(app.client_id, app.client_secret)
    )
    refresh = await app.token(grant_type="refresh_token", refresh_token=form["token"])

    assert (revoked.status_code, unknown.status_code) == (200, 200)
    assert refresh.json()["error"] == "invalid_grant"
    _imsx(
        await app.http.get(app.api + "/credentials", headers=app.bearer()),
        401,
        "unauthorizedrequest",
    )
    await app.http.aclose()


async def test_an_unknown_token_type_hint_is_a_400_and_revokes_nothing(
    server: str, sessions: Any, vault: KeyVault
):
    app = await _authorized(server, sessions, vault, _email(), " ".join(OB_SCOPES))
    form = {"token": app.tokens["access_token"], "token_type_hint": "id_token"}

    refused = await app.http.post(
        "/oauth/revoke", data=form, auth=(app.client_id, app.client_secret)
    )
    listing = await app.http.get(app.api + "/credentials", headers=app.bearer())

    assert refused.status_code == 400  # RFC 7009 §2.2.1
    assert refused.json()["error"] == "unsupported_token_type"
    assert listing.status_code == 200
    await app.http.aclose()


async def test_a_badge_pushed_into_her_account_counts_toward_a_states_stack(
    server: str, sessions: Any, vault: KeyVault, agency: Any
):
    address = _email()
    app = await _authorized(server, sessions, vault, address, " ".join(OB_SCOPES))
    badge = _did_key_badge(address)
    achievement_id = badge["credentialSubject"]["achievement"]["id"]
    await app.http.post(app.api + "/credentials", json=badge, headers=app.bearer())
    profile = {"id": f"urn:uuid:{uuid.uuid4()}", "type": ["Profile"], "email": address}
    await app.http.put(app.api + "/profile", json=profile, headers=app.bearer())
    # The state registered her (by this address): she is its educator to evaluate.
    await agency.http.post("/v1/agency/educators", json={"email": address})
    await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement_id,
            "purpose": "professional_learning",
            "effectiveFrom": "2020-01-01T00:00:00Z",
        },
    )
    stack = (
        await agency.http.post(
            "/v1/agency/stacks",
            json={
                "code": "PL",
                "name": "Professional learning",
                "purpose": "professional_learning",
                "rule": {"achievement": achievement_id},
            },
        )
    ).json()

    result = await agency.http.post(
        "/v1/agency/evaluations",
        json={"educator": {"email": address}, "stackId": stack["id"].rsplit("/", 1)[1]},
    )

    assert result.status_code == 200, result.text
    assert result.json()["met"] is True
    assert result.json()["counted"][0]["credentialId"] == badge["id"]
    await app.http.aclose()
