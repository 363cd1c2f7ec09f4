"""What `POST /credentials/issue` signs for a did:key issuer verifies in Digital Bazaar's `vc`.

VCDM 2.0 and 1.1 credentials, and one with a base direction (`@direction`, canonicalized
with rdfDirection "i18n-datatype" on both sides), are written to a file and checked by the
Node harness (../shared/interop), which resolves the did:key itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import VC1, VC2, unsigned_open_badge
from tests.conftest import Provider, node_verify

pytestmark = pytest.mark.interop

OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY = "https://w3id.org/security/data-integrity/v2"
RTL_DESCRIPTION = {"@value": "شارة إشراك الأسرة", "@language": "ar", "@direction": "rtl"}


async def did_key_of(public: httpx.AsyncClient, slug: str) -> str:
    document = (await public.get(f"/issuers/{slug}/did.json")).json()
    (multikey,) = [m for m in document["verificationMethod"] if m["type"] == "Multikey"]
    return f"did:key:{multikey['publicKeyMultibase']}"


async def issue(provider: Provider, credential: dict[str, Any]) -> dict[str, Any]:
    response = await provider.http.post(
        "/credentials/issue", json={"credential": credential, "options": {}}
    )
    assert response.status_code == 201, response.text
    signed: dict[str, Any] = response.json()["verifiableCredential"]
    return signed


def verify_with_vc(tmp_path: Path, signed: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "vc-api.json"
    path.write_text(json.dumps(signed, ensure_ascii=False), encoding="utf-8")
    (report,) = node_verify(path, "--verifier", "vc")
    return report


CASES = {
    "vcdm-2.0": ((VC2, OB3), {}),
    "vcdm-1.1": ((VC1, OB3, DATA_INTEGRITY), {}),
    "vcdm-2.0 with @direction": ((VC2, OB3), {"description": RTL_DESCRIPTION}),
}


@pytest.mark.parametrize(("contexts", "extra"), CASES.values(), ids=CASES.keys())
async def test_a_did_key_vc_api_credential_verifies_in_digital_bazaars_vc(
    provider: Provider, public, tmp_path, contexts: tuple[str, ...], extra: dict[str, Any]
):
    credential = unsigned_open_badge(await did_key_of(public, provider.slug), *contexts) | extra

    signed = await issue(provider, credential)

    assert isinstance(signed["proof"], dict)
    report = verify_with_vc(tmp_path, signed)
    assert report["verified"] is True, report
    assert report["checks"]["signature"] is True, report


async def test_a_changed_direction_fails_the_signature_in_digital_bazaars_vc(
    provider: Provider, public, tmp_path
):
    credential = unsigned_open_badge(await did_key_of(public, provider.slug))
    signed = await issue(provider, credential | {"description": RTL_DESCRIPTION})

    signed["description"] = {**RTL_DESCRIPTION, "@direction": "ltr"}

    report = verify_with_vc(tmp_path, signed)
    assert report["verified"] is False, report
    assert report["checks"]["signature"] is False, report
