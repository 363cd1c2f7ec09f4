"""Key resolution: did:key (Ed25519, P-256), did:jwk, unsupported references."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from keys.ecdsa_rdfc_2019 import encode_p256_public_key, sign_ecdsa_document
from tests.verification.support import DidKeyIssuer, credential, fixed_clock
from verification import KeyResolutionError, Verdict, Verifier
from verification.fetch import MappedFetcher, SafeFetcher
from verification.resolvers import (
    DidJwkResolver,
    DidKeyResolver,
    TrustedDidDocuments,
    default_resolver,
)


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


def did_web_document(did: str, issuer: DidKeyIssuer) -> dict[str, Any]:
    """A DID document listing `issuer`'s Ed25519 key as `<did>#key-1`, for assertions."""
    multikey = issuer.did.removeprefix("did:key:")
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey,
            }
        ],
        "assertionMethod": [f"{did}#key-1"],
    }


async def test_an_unreachable_did_web_host_is_named_plainly() -> None:
    did = "did:web:district9.invalid"
    async with SafeFetcher() as fetcher:
        with pytest.raises(KeyResolutionError) as caught:
            await default_resolver(fetcher).resolve(f"{did}#key-1")
    assert caught.value.unreachable
    assert str(caught.value) == (
        "https://district9.invalid/.well-known/did.json could not be fetched: cannot look up "
        "the host district9.invalid (no answer from DNS)"
    )


async def test_trusted_did_documents_answer_before_any_fetch() -> None:
    did, issuer = "did:web:district9.invalid", DidKeyIssuer()
    resolver = default_resolver(MappedFetcher({}), trusted={did: did_web_document(did, issuer)})
    found = await resolver.resolve(f"{did}#key-1")
    assert (found.id, found.controller) == (f"{did}#key-1", did)
    assert [key.id for key in await resolver.keys_of(did)] == [f"{did}#key-1"]
    with pytest.raises(KeyResolutionError, match="does not list the key"):
        await resolver.resolve(f"{did}#key-2")  # the document decides, as a fetched one would
    with pytest.raises(KeyResolutionError, match="no #fragment"):
        await resolver.resolve(did)
    assert await TrustedDidDocuments({}).resolve(f"{did}#key-1") is None
