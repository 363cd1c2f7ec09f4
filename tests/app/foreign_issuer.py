"""Another issuer, as the tests meet one: its own did:key, its revocation list on its own
HTTP server (as another Lattice instance publishes one), awarding OB 3.0 credentials."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from formats.identity import hash_identity
from tests.builders import unsigned_open_badge
from tests.verification.support import (
    DidKeyIssuer,
    LocalServer,
    signed_status_list,
    status_entry,
)


def text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ForeignIssuer:
    """Another issuer: its own did:key, its revocation list served by its own HTTP server."""

    server: LocalServer
    key: DidKeyIssuer = field(default_factory=DidKeyIssuer)
    revoked: set[int] = field(default_factory=set)
    issued: int = 0

    @property
    def list_url(self) -> str:
        return f"{self.server.base}/status/revocation"

    def publish(self) -> None:
        listed = signed_status_list(self.key, self.list_url, "revocation", *self.revoked)
        self.server.serve("/status/revocation", listed)

    def award(
        self, address: str, achievement: str, earned: datetime, *, hashed: bool = True
    ) -> dict[str, Any]:
        """An OB 3.0 credential naming `address`, with a revocation entry."""
        self.issued += 1
        document = unsigned_open_badge(self.key.did, issuer_name="District 9 PD")
        subject = document["credentialSubject"]
        subject["achievement"]["id"] = achievement
        salt = secrets.token_hex(8)
        named = {"hashed": True, "identityHash": hash_identity(address, salt), "salt": salt}
        if not hashed:  # her account matches a salted hash only against a published e-mail
            named = {"hashed": False, "identityHash": address}
        subject["identifier"] = [{"type": "IdentityObject", "identityType": "emailAddress"} | named]
        document |= {
            "id": f"urn:uuid:{uuid.uuid4()}",
            "validFrom": text(earned),
            "awardedDate": text(earned),
            "credentialStatus": status_entry(self.list_url, 1000 + self.issued),
        }
        signed = self.key.sign(document)
        return signed | {"proof": [signed["proof"]]}  # the strict OB schema wants an array

    def revoke(self, credential: dict[str, Any]) -> None:
        self.revoked.add(int(credential["credentialStatus"]["statusListIndex"]))
        self.publish()


@contextmanager
def foreign_issuer() -> Iterator[ForeignIssuer]:
    """A foreign issuer with its (empty) revocation list published, for a test's length."""
    with LocalServer() as server:
        issuer = ForeignIssuer(server)
        issuer.publish()
        yield issuer
