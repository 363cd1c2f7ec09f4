"""Revocation and suspension as the independent verifiers see them, through our lists."""

from __future__ import annotations

import pytest

from tests.conftest import Provider, node_verify

pytestmark = pytest.mark.interop


def _statuses(url: str) -> dict[str, str]:
    return {
        report["verifier"]: report["checks"]["status"]
        for report in node_verify(url, "--verifier", "all")
    }


async def _change(provider: Provider, credential_id: str, action: str) -> None:
    response = await provider.http.post(
        f"/v1/credentials/{credential_id}/{action}", json={"reason": f"test {action}"}
    )
    assert response.status_code == 200, response.text


async def test_both_verifiers_follow_suspend_unsuspend_and_revoke(provider: Provider):
    """An issuer that opted in to suspension: two entries, both read by both verifiers."""
    opted_in = await provider.http.patch(
        f"/v1/issuers/{provider.slug}", json={"suspensionEnabled": True}
    )
    assert opted_in.status_code == 200, opted_in.text
    achievement = await provider.create_achievement()
    issued = (await provider.issue(achievement["id"])).json()
    url, credential_id = issued["url"], issued["id"]
    assert len(issued["credential"]["credentialStatus"]) == 2

    assert _statuses(url) == {"core": "ok", "vc": "ok"}
    await _change(provider, credential_id, "suspend")
    assert _statuses(url) == {"core": "suspended", "vc": "suspended"}
    await _change(provider, credential_id, "unsuspend")
    assert _statuses(url) == {"core": "ok", "vc": "ok"}
    await _change(provider, credential_id, "revoke")
    assert _statuses(url) == {"core": "revoked", "vc": "revoked"}


async def test_a_default_credential_with_its_one_revocation_entry_is_revoked(
    provider: Provider,
):
    achievement = await provider.create_achievement()
    issued = (await provider.issue(achievement["id"])).json()

    assert issued["credential"]["credentialStatus"]["statusPurpose"] == "revocation"
    assert _statuses(issued["url"]) == {"core": "ok", "vc": "ok"}
    await _change(provider, issued["id"], "revoke")
    assert _statuses(issued["url"]) == {"core": "revoked", "vc": "revoked"}


async def test_a_did_key_credential_is_revoked_through_a_list_signed_as_that_did_key(
    provider: Provider,
):
    achievement = await provider.create_achievement()
    issued = (await provider.issue(achievement["id"], didMethod="key", jwtAlgorithm="EdDSA")).json()

    assert _statuses(issued["url"]) == {"core": "ok", "vc": "ok"}
    await _change(provider, issued["id"], "revoke")
    assert _statuses(issued["url"]) == {"core": "revoked", "vc": "revoked"}
