"""LATTICE_TRUST_DIR wiring: the service's verifier answers from the operator's folder first.

An air-gapped state verifier holds copies of an issuer's did:web document, its status list
and its own JSON-LD context; the issuer's host (`.invalid`, RFC 6761) is never reachable.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from app.state import build_verifier
from tests.verification.support import (
    V2,
    DidKeyIssuer,
    credential,
    encoded_status_bits,
    status_entry,
)
from verification import CheckStatus, Dimension, Verdict, Verifier
from verification.trust_dir import TrustDirError

DID = "did:web:district9.invalid"
KEY = f"{DID}#key-1"
LIST_URL = "https://district9.invalid/status/1"
ISSUER = DidKeyIssuer()


def did_document() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": DID,
        "verificationMethod": [
            {
                "id": KEY,
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": ISSUER.did.removeprefix("did:key:"),
            }
        ],
        "assertionMethod": [KEY],
    }


def status_list(*revoked: int) -> dict[str, Any]:
    return ISSUER.sign(
        {
            "@context": [V2],
            "id": LIST_URL,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": DID,
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": {
                "id": f"{LIST_URL}#list",
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": encoded_status_bits(*revoked),
            },
        },
        KEY,
    )


def trust_folder(root: Path, context_url: str, *revoked: int) -> Path:
    (root / "dids").mkdir(parents=True)
    (root / "documents").mkdir()
    (root / "contexts").mkdir()
    (root / "dids" / "district9.json").write_text(json.dumps(did_document()))
    (root / "documents" / "index.json").write_text(json.dumps({LIST_URL: "status-1.json"}))
    (root / "documents" / "status-1.json").write_text(json.dumps(status_list(*revoked)))
    (root / "contexts" / "index.json").write_text(json.dumps({context_url: "licences.jsonld"}))
    context = {"@context": {"licence": "https://district9.invalid/vocab#licence"}}
    (root / "contexts" / "licences.jsonld").write_text(json.dumps(context))
    return root


def badge(context_url: str, status: dict[str, Any]) -> dict[str, Any]:
    document = credential(DID, credentialStatus=status)
    document["@context"].append(context_url)
    document["credentialSubject"]["licence"] = "K-12 Science"
    return ISSUER.sign(document, KEY)


@asynccontextmanager
async def service_verifier(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Verifier]:
    """The verifier the service builds at start-up (which registers the folder's contexts)."""
    fetcher, verifier = build_verifier(settings, sessions)
    try:
        yield verifier
    finally:
        await fetcher.aclose()


def unique_context() -> str:
    # Registered contexts live as long as the process: one URL per test.
    return f"https://district9.invalid/contexts/{uuid.uuid4().hex}"


async def test_an_unreachable_issuer_is_verified_from_the_trust_folder(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    context = unique_context()
    trusted = settings.model_copy(update={"trust_dir": trust_folder(tmp_path, context)})

    async with service_verifier(trusted, sessions) as verifier:
        report = await verifier.verify(badge(context, status_entry(LIST_URL, 3)))

    assert report.verdict is Verdict.VERIFIED, report.to_json()


async def test_a_revocation_in_the_folder_s_status_list_is_seen(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    context = unique_context()
    trusted = settings.model_copy(update={"trust_dir": trust_folder(tmp_path, context, 3)})

    async with service_verifier(trusted, sessions) as verifier:
        report = await verifier.verify(badge(context, status_entry(LIST_URL, 3)))

    assert report.verdict is Verdict.REVOKED, report.to_json()


async def test_trust_dir_only_never_goes_to_the_network(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    context, elsewhere = unique_context(), "https://elsewhere.invalid/status/9"
    folder = trust_folder(tmp_path, context)
    offline = settings.model_copy(update={"trust_dir": folder, "trust_dir_only": True})
    online = settings.model_copy(update={"trust_dir": folder})

    async with service_verifier(offline, sessions) as verifier:
        signed = badge(context, status_entry(elsewhere, 3))
        offline_report = await verifier.verify(signed)
    async with service_verifier(online, sessions) as verifier:
        online_report = await verifier.verify(signed)

    assert offline_report.verdict is not Verdict.VERIFIED
    assert f"{elsewhere} is not available offline" in offline_report.check("status").message
    assert "cannot look up the host elsewhere.invalid (no answer from DNS)" in (
        online_report.check("status").message
    )


async def test_a_registry_in_the_folder_names_the_issuer(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    context = unique_context()
    folder = trust_folder(tmp_path, context)
    (folder / "registries").mkdir()
    listed = {"registry": {DID: {"name": "District 9 Professional Learning"}}}
    (folder / "registries" / "state.json").write_text(json.dumps(listed))
    stranger = DidKeyIssuer()

    async with service_verifier(
        settings.model_copy(update={"trust_dir": folder}), sessions
    ) as verifier:
        known = await verifier.verify(badge(context, status_entry(LIST_URL, 3)))
        unknown = await verifier.verify(stranger.issue())

    assert known.dimensions[Dimension.ISSUER].state == "known"
    assert "as District 9 Professional Learning" in known.check("known_issuer").message
    assert (unknown.verdict, unknown.dimensions[Dimension.ISSUER].state) == (
        Verdict.VERIFIED,
        "not_listed",
    )


async def test_without_a_registry_a_foreign_issuer_is_neither_known_nor_suspect(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_verifier(settings, sessions) as verifier:
        report = await verifier.verify(DidKeyIssuer().issue())
    assert report.verdict is Verdict.VERIFIED
    assert report.check("known_issuer").status is CheckStatus.NOT_APPLICABLE
    assert "no issuer registry is configured" in report.check("known_issuer").message


def test_a_registry_that_is_not_one_stops_start_up(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    (tmp_path / "registries").mkdir()
    (tmp_path / "registries" / "bad.json").write_text('{"issuers": {}}')
    with pytest.raises(TrustDirError, match=r"bad\.json"):
        build_verifier(settings.model_copy(update={"trust_dir": tmp_path}), sessions)


def test_a_malformed_file_stops_start_up_naming_it(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    bad = tmp_path / "dids" / "district9.json"
    bad.parent.mkdir()
    bad.write_text('{"id": "did:web:district9.invalid"')

    with pytest.raises(TrustDirError, match=re.escape(f"trust folder: {bad}: is not valid JSON")):
        build_verifier(settings.model_copy(update={"trust_dir": tmp_path}), sessions)


def test_the_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LATTICE_TRUST_DIR", str(tmp_path))
    monkeypatch.setenv("LATTICE_TRUST_DIR_ONLY", "true")
    read = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (read.trust_dir, read.trust_dir_only) == (tmp_path, True)

    monkeypatch.setenv("LATTICE_TRUST_DIR", "")
    monkeypatch.delenv("LATTICE_TRUST_DIR_ONLY")
    unset = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (unset.trust_dir, unset.trust_dir_only) == (None, False)
