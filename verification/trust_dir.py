"""Operator-supplied trust material, read once at start-up from one folder (`LATTICE_TRUST_DIR`).

An air-gapped state deployment cannot fetch an issuer's DID document or status list, and a
test should not need to; the operator copies them into a folder the verifier reads first:

    <trust dir>/
      dids/*.json           one DID document per file; its "id" is the DID it answers for
      documents/index.json  {"<URL>": "<file in documents/>", ...}: what a fetch of that URL
                            returns (status list credentials, JSON or VC-JWT; key documents;
                            JWK sets; credentials)
      contexts/index.json   {"<context URL>": "<file in contexts/>", ...}: JSON-LD contexts
                            added to the bundled ones (a bundled URL cannot be replaced)
      registries/*.json     issuer registries in the Digital Credentials Consortium format,
                            {"registry": {"<issuer DID>": {"name": ..., "url": ...}}}: the
                            issuers the verifier reports as known

Each part is optional. Every file is checked while loading: a malformed one stops start-up
with `TrustDirError` naming it, because a silently skipped file would surface much later as
an "issuer key not found" or "status list unreachable" on someone's credential.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from schemas.contexts import is_bundled
from verification.issuer_registry import RegistryFileError, StaticIssuerRegistry

DIDS: Final = "dids"
DOCUMENTS: Final = "documents"
CONTEXTS: Final = "contexts"
REGISTRIES: Final = "registries"
INDEX: Final = "index.json"
_COMPACT_JWS: Final = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")


class TrustDirError(ValueError):
    """A trust folder file is missing, unreadable or malformed; the message names it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"trust folder: {path}: {problem}")
        self.path = path


@dataclass(frozen=True)
class TrustMaterial:
    did_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    registries: tuple[StaticIssuerRegistry, ...] = ()


def load_trust_dir(root: Path) -> TrustMaterial:
    """Everything in the trust folder at `root`; TrustDirError for the first bad file."""
    if not root.is_dir():
        raise TrustDirError(root, "is not a folder")
    return TrustMaterial(
        did_documents=_did_documents(root / DIDS),
        documents={url: _document_bytes(path) for url, path in _index(root / DOCUMENTS)},
        contexts={url: _context(url, path) for url, path in _index(root / CONTEXTS)},
        registries=_registries(root / REGISTRIES),
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as error:
        raise TrustDirError(path, f"cannot be read ({error.strerror or 'read error'})") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise TrustDirError(path, f"is not valid JSON ({_json_problem(error)})") from None


def _json_problem(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}"
    return "not UTF-8 text"


def _did_documents(folder: Path) -> dict[str, dict[str, Any]]:
    if not folder.is_dir():
        return {}
    found: dict[str, dict[str, Any]] = {}
    origin: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")):
        document = _read_json(path)
        did = document.get("id") if isinstance(document, dict) else None
        if not isinstance(did, str) or not did.startswith("did:") or "#" in did:
            raise TrustDirError(path, 'is not a DID document (its "id" must be a DID)')
        if did in origin:
            raise TrustDirError(path, f"is a second document for {did} (see {origin[did]})")
        found[did], origin[did] = document, path
    return found


def _registries(folder: Path) -> tuple[StaticIssuerRegistry, ...]:
    if not folder.is_dir():
        return ()
    found: list[StaticIssuerRegistry] = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append(StaticIssuerRegistry.from_file(path))
        except RegistryFileError as error:
            raise TrustDirError(path, str(error).removeprefix(f"{path}: ")) from None
    return tuple(found)


def _index(folder: Path) -> list[tuple[str, Path]]:
    """The (URL, file) pairs of `folder`/index.json; none when the folder has no index."""
    index_path = folder / INDEX
    if not index_path.exists():
        if folder.is_dir() and any(folder.iterdir()):
            raise TrustDirError(folder, f"holds files but no {INDEX} saying which URL each is")
        return []
    index = _read_json(index_path)
    if not isinstance(index, dict):
        raise TrustDirError(index_path, 'must be a JSON object: {"<URL>": "<file name>"}')
    pairs: list[tuple[str, Path]] = []
    for url, name in index.items():
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise TrustDirError(index_path, f"{url!r} is not an http(s) URL")
        if not isinstance(name, str) or not name:
            raise TrustDirError(index_path, f"the file for {url} must be a file name")
        path = (folder / name).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise TrustDirError(index_path, f"the file for {url} is outside {folder}")
        if not path.is_file():
            raise TrustDirError(index_path, f"the file for {url}, {name}, does not exist")
        pairs.append((url, path))
    return pairs


def _document_bytes(path: Path) -> bytes:
    """A served document: a JSON object, or a compact JWS (a VC-JWT status list)."""
    try:
        body = path.read_bytes()
    except OSError as error:
        raise TrustDirError(path, f"cannot be read ({error.strerror or 'read error'})") from None
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        if not isinstance(_read_json(path), dict):
            raise TrustDirError(path, "is not a JSON object")
    elif not _COMPACT_JWS.match(text):
        raise TrustDirError(path, "is neither a JSON object nor a compact JWS (VC-JWT)")
    return body


def _context(url: str, path: Path) -> dict[str, Any]:
    if is_bundled(url):
        # Replacing a bundled context would change what every signature is checked against.
        raise TrustDirError(path, f"{url} is bundled with Lattice and cannot be replaced")
    document = _read_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("@context"), dict | list):
        raise TrustDirError(path, 'is not a JSON-LD context (an object with "@context")')
    return document
