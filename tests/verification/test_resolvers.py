"""Key resolution: did:key (Ed25519, P-256), did:jwk, unsupported references."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from keys.ecdsa_rdfc_2019 import encode_p256_public_key, sign_ecdsa_document
from tests.verification.support import DidKeyIssuer, credential, fixed_clock
from verification import KeyResolutionError, Verdict, Verifier
from verification.fetch import MappedFetcher
from verification.resolvers import DidJwkResolver, DidKeyResolver, default_resolver


async def test_did_key_resolves_to_itself() -> None:
    issuer = DidKeyIssuer()
    found = await DidKeyResolver().resolve(issuer.vm)
    assert found is not None and found.controller == issuer.did and found.id == issuer.vm
    assert await DidKeyResolver().resolve("did:web:x") is None


async def test_did_jwk_is_answered_locally() -> None:
    assert await DidJwkResolver().resolve("did:key:z6Mk") is None
    with pytest.raises(KeyResolutionError):
        await DidJwkResolver().resolve("did:jwk:not-base64!")


@pytest.mark.parametrize("reference", ["did:example:123#k", "xxx:abc", "z6Mk", ""])
async def test_unsupported_references_fail_clearly(reference: str) -> None:
    resolver = default_resolver(MappedFetcher({}))
    with pytest.raises(KeyResolutionError) as caught:
        await resolver.resolve(reference)
    assert not caught.value.unreachable


async def test_ecdsa_rdfc_2019_credential_from_a_p256_did_key() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    multikey = encode_p256_public_key(private.public_key())
    did = f"did:key:{multikey}"
    signed = sign_ecdsa_document(
        credential(did), private, f"{did}#{multikey}", datetime(2025, 1, 1, tzinfo=UTC)
    )
    report = await Verifier(fetcher=MappedFetcher({}), clock=fixed_clock).verify(signed)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.check("proof").message.startswith("ecdsa-rdfc-2019 proof")
