"""From a proof's `verificationMethod` (or a JWT `kid`) to a public key and its controller.

OB 3.0 §8.5 requires dereferencing HTTPS key URLs; did:key, did:jwk and did:web are what
issuers use in practice. Each `KeyResolver` answers the references it understands and
returns None for the others; `CompositeResolver` asks an optional `local` resolver first
(the service answers its own issuers' DIDs from its database, with no HTTP round trip to
itself), then the DID and HTTPS resolvers. Resolution never decides trust: the caller
compares `ResolvedKey.controller` with the credential's issuer (the binding check).

A key listed in a document with an `assertionMethod` (or other relationship) list must be
listed there for that purpose; documents without any such list (bare OB issuer profiles
used as controller documents) are accepted on `verificationMethod` alone, as the 1EdTech
validator does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from keys.did_jwk import DID_JWK_PREFIX, jwk_from_did_jwk
from keys.did_web import DID_WEB_PREFIX, did_web_document_url
from keys.ecdsa_rdfc_2019 import P256_PUB_HEADER, decode_p256_public_key
from keys.jose import VerifyingKey, any_public_key_from_jwk
from keys.keypair import jwk_thumbprint
from keys.multikey import DID_KEY_PREFIX, decode_ed25519_public_key, decode_multibase
from keys.resolution import KeyLister, KeyResolutionError, KeyResolver, ResolvedKey
from verification.fetch import Fetcher, FetchError


def listed_keys(document: Mapping[str, Any], purpose: str) -> list[ResolvedKey]:
    """Every key a DID document lists for `purpose`, by reference or embedded."""
    listed = document.get(purpose, [])
    base = str(document.get("id", ""))
    found: list[ResolvedKey] = []
    for item in listed if isinstance(listed, list) else [listed]:
        reference = item.get("id") if isinstance(item, Mapping) else item
        if isinstance(reference, str):
            found.append(find_method(document, _absolute(reference, base), purpose))
    return found


def key_from_multibase(value: Any) -> VerifyingKey:
    """An Ed25519 (`z6Mk`) or P-256 (`zDn`) Multikey."""
    if not isinstance(value, str):
        raise KeyResolutionError('"publicKeyMultibase" must be a string')
    try:
        if decode_multibase(value)[:2] == P256_PUB_HEADER:
            return decode_p256_public_key(value)
        return decode_ed25519_public_key(value)
    except ValueError as error:
        raise KeyResolutionError(str(error)) from None


def key_from_method(method: Mapping[str, Any]) -> VerifyingKey:
    """The public key of a verification method (Multikey, Ed25519VerificationKey2020, JWK)."""
    if "publicKeyMultibase" in method:
        return key_from_multibase(method["publicKeyMultibase"])
    if "publicKeyJwk" in method:
        try:
            return any_public_key_from_jwk(method["publicKeyJwk"])
        except ValueError as error:
            raise KeyResolutionError(f"verification method {method.get('id')}: {error}") from None
    raise KeyResolutionError(
        f"verification method {method.get('id')!r} has no publicKeyMultibase or publicKeyJwk"
    )


def _absolute(reference: str, base: str) -> str:
    return base + reference if reference.startswith("#") else reference


def find_method(document: Mapping[str, Any], key_ref: str, purpose: str) -> ResolvedKey:
    """The verification method `key_ref` in a DID or controller document, for `purpose`."""
    base = str(document.get("id", ""))
    candidates: list[Any] = []
    for prop in ("verificationMethod", purpose):
        value = document.get(prop, [])
        candidates += value if isinstance(value, list) else [value]
    method = next(
        (
            item
            for item in candidates
            if isinstance(item, Mapping) and _absolute(str(item.get("id", "")), base) == key_ref
        ),
        None,
    )
    if method is None:
        raise KeyResolutionError(f"{base or 'the document'} does not list the key {key_ref}")
    relationship = document.get(purpose)
    if relationship is not None:
        allowed = relationship if isinstance(relationship, list) else [relationship]
        ids = {
            _absolute(str(item.get("id") if isinstance(item, Mapping) else item), base)
            for item in allowed
        }
        if key_ref not in ids:
            raise KeyResolutionError(f"{key_ref} is not listed for {purpose} by {base}")
    controller = method.get("controller")
    if not isinstance(controller, str):
        raise KeyResolutionError(f'verification method {key_ref} has no "controller"')
    return ResolvedKey(key_ref, controller, key_from_method(method))


class DidKeyResolver:
    """did:key (Ed25519 and P-256): the key is the identifier; no network."""

    async def resolve(
        self, key_ref: str, *, purpose: str = "assertionMethod"
    ) -> ResolvedKey | None:
        if not key_ref.startswith(DID_KEY_PREFIX):
            return None
        did, _, fragment = key_ref.partition("#")
        multikey = did[len(DID_KEY_PREFIX) :]
        if fragment and fragment != multikey:
            raise KeyResolutionError(f"did:key URL {key_ref} names a key other than its own")
        return ResolvedKey(f"{did}#{multikey}", did, key_from_multibase(multikey))


class DidJwkResolver:
    """did:jwk: the key is the base64url JWK in the identifier; no network."""

    async def resolve(
        self, key_ref: str, *, purpose: str = "assertionMethod"
    ) -> ResolvedKey | None:
        if not key_ref.startswith(DID_JWK_PREFIX):
            return None
        try:
            key = any_public_key_from_jwk(jwk_from_did_jwk(key_ref))
        except ValueError as error:
            raise KeyResolutionError(str(error)) from None
        did = key_ref.partition("#")[0]
        return ResolvedKey(f"{did}#0", did, key)


async def fetch_json(fetcher: Fetcher, url: str) -> dict[str, Any]:
    """A JSON object from `url`; KeyResolutionError (unreachable for network failures)."""
    try:
        fetched = await fetcher.fetch(url, accept="application/did+json, application/json")
    except FetchError as error:
        raise KeyResolutionError(str(error), unreachable=True) from None
    try:
        document = json.loads(fetched.body)
    except ValueError:
        raise KeyResolutionError(f"{url} did not return JSON") from None
    if not isinstance(document, dict):
        raise KeyResolutionError(f"{url} did not return a JSON object")
    return document


class DidWebResolver:
    """did:web over HTTPS via the safe fetcher (http only if `scheme` says so, for tests)."""

    def __init__(self, fetcher: Fetcher, *, scheme: str = "https") -> None:
        self._fetcher = fetcher
        self._scheme = scheme

    async def resolve(
        self, key_ref: str, *, purpose: str = "assertionMethod"
    ) -> ResolvedKey | None:
        if not key_ref.startswith(DID_WEB_PREFIX):
            return None
        did, _, fragment = key_ref.partition("#")
        if not fragment:
            raise KeyResolutionError(f"{key_ref} names a DID, not one of its keys (no #fragment)")
        return find_method(await self._document(did), key_ref, purpose)

    async def keys_of(
        self, did: str, *, purpose: str = "assertionMethod"
    ) -> list[ResolvedKey] | None:
        """Every key the DID document lists for `purpose` (for a JWT that names its key by
        value in a `jwk` header instead of by `kid`)."""
        if not did.startswith(DID_WEB_PREFIX) or "#" in did:
            return None
        return listed_keys(await self._document(did), purpose)

    async def _document(self, did: str) -> dict[str, Any]:
        try:
            url = did_web_document_url(did, scheme=self._scheme)
        except ValueError as error:
            raise KeyResolutionError(str(error)) from None
        document = await fetch_json(self._fetcher, url)
        if document.get("id") != did:
            raise KeyResolutionError(f"DID document at {url} is for {document.get('id')!r}")
        return document


class TrustedDidDocuments:
    """DID documents the operator supplied (the trust folder, `LATTICE_TRUST_DIR`): answered
    from memory before any fetch, for air-gapped deployments and issuers whose servers the
    verifier cannot reach. The document must list the key, as a fetched one must."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._documents = dict(documents)

    async def resolve(
        self, key_ref: str, *, purpose: str = "assertionMethod"
    ) -> ResolvedKey | None:
        did, _, fragment = key_ref.partition("#")
        document = self._documents.get(did)
        if document is None:
            return None
        if not fragment:
            raise KeyResolutionError(f"{key_ref} names a DID, not one of its keys (no #fragment)")
        return find_method(document, key_ref, purpose)

    async def keys_of(
        self, did: str, *, purpose: str = "assertionMethod"
    ) -> list[ResolvedKey] | None:
        document = self._documents.get(did)
        return None if document is None else listed_keys(document, purpose)


class HttpsResolver:
    """An HTTPS key URL: a controller document listing the key, or a key document itself."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher

    async def resolve(
        self, key_ref: str, *, purpose: str = "assertionMethod"
    ) -> ResolvedKey | None:
        if urlsplit(key_ref).scheme not in ("https", "http"):
            return None
        document_url = key_ref.partition("#")[0]
        document = await fetch_json(self._fetcher, document_url)
        if "verificationMethod" in document or purpose in document:
            document.setdefault("id", document_url)
            return find_method(document, key_ref, purpose)
        if document.get("id") != key_ref:
            raise KeyResolutionError(f"{document_url} is neither a controller nor a key document")
        controller = document.get("controller")
        if not isinstance(controller, str) or not controller.startswith("https://"):
            raise KeyResolutionError(f"key document {key_ref} needs an https controller")
        # The key says who controls it; the controller must say so too.
        controller_document = await fetch_json(self._fetcher, controller)
        listed = find_method(
            {**controller_document, "verificationMethod": [document]}, key_ref, purpose
        )
        return ResolvedKey(key_ref, listed.controller, listed.public_key)


class CompositeResolver:
    """Asks `local` first, then each resolver in turn; unsupported references fail."""

    def __init__(self, resolvers: Sequence[KeyResolver], *, local: KeyResolver | None = None):
        self._resolvers = [*([local] if local is not None else []), *resolvers]

    async def keys_of(self, did: str, *, purpose: str = "assertionMethod") -> list[ResolvedKey]:
        """The keys a DID lists for `purpose`, from the first resolver that handles it (the
        service's own issuers from its database, before any did:web fetch)."""
        for resolver in self._resolvers:
            if isinstance(resolver, KeyLister):
                found = await resolver.keys_of(did, purpose=purpose)
                if found is not None:
                    return found
        return []

    async def resolve(self, key_ref: str, *, purpose: str = "assertionMethod") -> ResolvedKey:
        if not isinstance(key_ref, str) or not key_ref:
            raise KeyResolutionError("verification method must be a non-empty string")
        for resolver in self._resolvers:
            found = await resolver.resolve(key_ref, purpose=purpose)
            if found is not None:
                return found
        scheme = key_ref.split(":", 2)
        kind = ":".join(scheme[:2]) if key_ref.startswith("did:") else scheme[0]
        raise KeyResolutionError(
            f"cannot resolve {key_ref}: {kind!r} keys are not supported "
            "(supported: did:key, did:jwk, did:web, https URLs)"
        )


def default_resolver(
    fetcher: Fetcher,
    *,
    local: KeyResolver | None = None,
    did_web_scheme: str = "https",
    trusted: Mapping[str, Mapping[str, Any]] | None = None,
) -> CompositeResolver:
    """did:key, did:jwk (local), did:web and HTTPS key URLs (through `fetcher`).

    `trusted` DID documents (DID -> document) are answered before any of those.
    `did_web_scheme="http"` is for tests and local development against a loopback server.
    """
    return CompositeResolver(
        [
            *([TrustedDidDocuments(trusted)] if trusted else []),
            DidKeyResolver(),
            DidJwkResolver(),
            DidWebResolver(fetcher, scheme=did_web_scheme),
            HttpsResolver(fetcher),
        ],
        local=local,
    )


async def key_from_issuer_jwks(
    fetcher: Fetcher,
    issuer_id: str,
    *,
    kid: str | None = None,
    jwk: Mapping[str, Any] | None = None,
) -> ResolvedKey:
    """The VC-JWT key published in `https://{issuer authority}/.well-known/jwks.json`.

    OB 3.0 Implementation Guide, key provenance: a `kid` or header `jwk` must be found in the
    issuer's JWK set (by `kid`, or by thumbprint for a header `jwk`), and a JWK `iss` member,
    if present, must name the issuer. Found there, the key is controlled by the issuer.
    """
    parts = urlsplit(issuer_id)
    if parts.scheme != "https" or not parts.netloc:
        raise KeyResolutionError(f"issuer {issuer_id} is not an https URL with a JWK set")
    url = f"https://{parts.netloc}/.well-known/jwks.json"
    keys = (await fetch_json(fetcher, url)).get("keys")
    if not isinstance(keys, list):
        raise KeyResolutionError(f"{url} is not a JWK set")
    wanted = _thumbprint(jwk) if jwk is not None else None
    for candidate in keys:
        if not isinstance(candidate, Mapping):
            continue
        if (kid is not None and candidate.get("kid") == kid) or (
            wanted is not None and _thumbprint(candidate) == wanted
        ):
            if candidate.get("iss", issuer_id) != issuer_id:
                raise KeyResolutionError(f"key in {url} names another issuer")
            try:
                key = any_public_key_from_jwk(candidate)
            except ValueError as error:
                raise KeyResolutionError(f"{url}: {error}") from None
            return ResolvedKey(f"{url}#{candidate.get('kid', '')}", issuer_id, key)
    raise KeyResolutionError(f"the issuer's JWK set {url} does not hold the token's key")


def _thumbprint(jwk: Mapping[str, Any]) -> str | None:
    try:
        return jwk_thumbprint(jwk)
    except ValueError:
        return None
