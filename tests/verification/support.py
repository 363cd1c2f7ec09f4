"""Builders for verification tests: real keys, real signatures, a real local HTTP server."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys.data_integrity import sign_document
from keys.multikey import did_key_for, did_key_verification_method

REPO = Path(__file__).resolve().parents[2]
VALIDATOR = REPO.parent / "shared" / "specs" / "ob3" / "validator-fixtures" / "ob30"
INTEROP = REPO.parent / "shared" / "interop" / "fixtures"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
SIGNED_AT = datetime(2025, 1, 1, tzinfo=UTC)
V2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def fixed_clock() -> datetime:
    return NOW


def credential(issuer: str, **extra: Any) -> dict[str, Any]:
    """An unsigned OB 3.0 credential from `issuer`, valid since 2025-01-01."""
    document: dict[str, Any] = {
        "@context": [V2, OB],
        "id": "urn:uuid:9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "District 9 PD"},
        "validFrom": "2025-01-01T00:00:00Z",
        "name": "Close Reading",
        "credentialSubject": {
            "id": "did:example:teacher-1",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://district9.example/achievements/close-reading",
                "type": ["Achievement"],
                "name": "Close Reading",
                "description": "Teaches close reading of complex texts.",
                "criteria": {"narrative": "Submit a lesson plan."},
            },
        },
    }
    document.update(extra)
    return document


@dataclass
class DidKeyIssuer:
    """An issuer whose DID is the did:key of a fresh Ed25519 key."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def did(self) -> str:
        return did_key_for(self.key.public_key())

    @property
    def vm(self) -> str:
        return did_key_verification_method(self.key.public_key())

    def sign(self, document: dict[str, Any], vm: str | None = None) -> dict[str, Any]:
        return sign_document(document, self.key, vm or self.vm, SIGNED_AT)

    def issue(self, **extra: Any) -> dict[str, Any]:
        return self.sign(credential(self.did, **extra))


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((VALIDATOR / name).read_text(encoding="utf-8"))


def tampered(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["credentialSubject"]["achievement"]["name"] = "Something Else"
    return changed


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer:
    """A real HTTP server on 127.0.0.1 serving `routes` (path -> Route); counts hits."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                server.requests.append({k.lower(): v for k, v in self.headers.items()})
                route = server.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                etag = route.headers.get("etag")
                if etag and self.headers.get("if-none-match") == etag:
                    self.send_response(304)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if "content-length" not in route.headers:
                    self.send_header("content-length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve(self, path: str, body: bytes | str | dict[str, Any], **route: Any) -> str:
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body, **route)
        return self.base + path

    @property
    def did_web_host(self) -> str:
        return f"did:web:127.0.0.1%3A{self.port}"


def serve_forever() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


STATUS_LIST_BITS = 131_072  # Bitstring Status List §3.2: the minimum length


def encoded_status_bits(*set_bits: int, length: int = STATUS_LIST_BITS) -> str:
    """`encodedList` of a GZIP bitstring with `set_bits` set (index 0 = left-most bit)."""
    raw = bytearray(length // 8)
    for index in set_bits:
        raw[index // 8] |= 0x80 >> (index % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(raw))).rstrip(b"=").decode()


def signed_status_list(
    issuer: DidKeyIssuer, url: str, purpose: str, *set_bits: int
) -> dict[str, Any]:
    """A BitstringStatusListCredential at `url`, signed by `issuer`."""
    return issuer.sign(
        {
            "@context": [V2],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer.did,
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": encoded_status_bits(*set_bits),
            },
        }
    )


def status_entry(url: str, index: int, purpose: str = "revocation") -> dict[str, Any]:
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }
