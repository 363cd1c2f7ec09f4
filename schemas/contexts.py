"""Offline store of the JSON-LD contexts and JSON Schemas bundled with Lattice.

Every document listed in `spec/document-loader-map.json` (both `jsonldContexts` and
`jsonSchemas`) is read from disk at most once per process and shared: callers must treat
what `load_document` returns as read-only. Nothing is ever fetched from the network; an
unknown URL raises `UnknownDocumentError`.

An operator may add contexts of their own at start-up (`register_contexts`, fed from the
trust folder, `LATTICE_TRUST_DIR`). They are added, never swapped: a bundled URL cannot be
replaced and a registered one cannot change, because `schemas.jsonld` pins each context
document it has loaded (and pyld caches what it resolved from it) for the life of the process.
A URL that was unknown before has left nothing in those caches (a refused load is not cached),
so adding it later is safe.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

SPEC_DIR: Final[Path] = Path(__file__).resolve().parent / "spec"
"""Directory holding the bundled spec files and `document-loader-map.json`."""

_MAP_FILE: Final = "document-loader-map.json"

_lock = threading.Lock()
_documents: dict[str, dict[str, Any]] = {}
_url_map: tuple[dict[str, str], dict[str, str]] | None = None
_registered: dict[str, dict[str, Any]] = {}


class UnknownDocumentError(LookupError):
    """A context or schema URL that is not bundled with Lattice was requested."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"context {url} is not bundled with Lattice; remote contexts are never fetched"
        )
        self.url = url

    def __reduce__(self) -> tuple[type[UnknownDocumentError], tuple[str]]:
        # Keep the exception picklable across a multiprocessing pool.
        return (type(self), (self.url,))


def _maps() -> tuple[dict[str, str], dict[str, str]]:
    """Return (contexts, schemas): URL -> path relative to SPEC_DIR, read once."""
    global _url_map
    if _url_map is None:
        raw = json.loads((SPEC_DIR / _MAP_FILE).read_text(encoding="utf-8"))
        _url_map = (dict(raw["jsonldContexts"]), dict(raw["jsonSchemas"]))
    return _url_map


def is_known_context(url: str) -> bool:
    """Whether `url` is a JSON-LD context bundled with Lattice or registered at start-up."""
    return url in _maps()[0] or url in _registered


def is_bundled(url: str) -> bool:
    """Whether `url` is a context or JSON Schema shipped with Lattice (not registered later)."""
    contexts, schemas = _maps()
    return url in contexts or url in schemas


def register_contexts(contexts: Mapping[str, Mapping[str, Any]]) -> None:
    """Add operator-supplied contexts (URL -> parsed document) for the rest of the process.

    ValueError, and nothing registered, when a URL is bundled already, is registered with
    other content, or a document is not a JSON-LD context (an object with `@context`).
    """
    added: dict[str, dict[str, Any]] = {}
    for url, document in contexts.items():
        if is_bundled(url):
            raise ValueError(f"{url} is bundled with Lattice and cannot be replaced")
        if not isinstance(document, Mapping) or "@context" not in document:
            raise ValueError(f"the context for {url} is not a JSON object with @context")
        known = _registered.get(url)
        if known is not None and known != document:
            raise ValueError(f"{url} is registered already with other content")
        added[url] = copy.deepcopy(dict(document))
    with _lock:
        for url, document in added.items():
            _registered.setdefault(url, document)
            _documents.setdefault(url, _registered[url])


def load_document(url: str) -> dict[str, Any]:
    """Return the parsed bundled context or JSON Schema for `url` (shared, do not mutate)."""
    document = _documents.get(url)
    if document is not None:
        return document
    contexts, schemas = _maps()
    relative = contexts.get(url) or schemas.get(url)
    if relative is None:
        registered = _registered.get(url)
        if registered is None:
            raise UnknownDocumentError(url)
        return registered
    with _lock:
        document = _documents.get(url)
        if document is None:
            document = json.loads((SPEC_DIR / relative).read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                raise ValueError(f"bundled document {relative} is not a JSON object")
            _documents[url] = document
    return document


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader serving only bundled contexts (a private copy per call).

    The result is tagged `static`, which lets pyld keep the resolved context in its shared
    cache across calls; the copy protects the shared document from pyld, which rewrites
    `@context` URLs inside remote contexts in place.
    """
    if not is_known_context(url):
        raise UnknownDocumentError(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(load_document(url)),
        "tag": "static",
    }


# The context URLs Lattice writes into what it issues.
VC2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
VC1_CONTEXT: Final = "https://www.w3.org/2018/credentials/v1"
DATA_INTEGRITY_CONTEXT: Final = "https://w3id.org/security/data-integrity/v2"
OB3_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB3_EXTENSIONS_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA: Final = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
