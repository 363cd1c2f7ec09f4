"""Recipients as OB 3.0 `IdentityObject`s: e-mail and state educator ID, salted and hashed.

A teacher's e-mail address or license number must not be readable from a badge she shares,
yet whoever already knows it (an employer, a state) must be able to check it: the hashing
is `formats.identity`'s, which verification shares. The plain name, if given, is shown as
an unhashed `name` identifier, the only place OB 3.0 has for it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from badges.errors import InvalidInput
from formats.identity import (
    EDUCATOR_ID_TYPE,
    educator_identifier,
    hash_identity,
    lookup_key,
    normalise_email,
)

_STATE = re.compile(r"^[A-Z]{2}$")
_EDUCATOR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}$")
_DID = re.compile(r"^did:[a-z0-9]+:\S+$")


@dataclass(frozen=True)
class Recipient:
    email: str | None = None
    educator_id: str | None = None
    educator_state: str | None = None
    name: str | None = None
    did: str | None = None


@dataclass(frozen=True)
class Identity:
    identity_type: str
    identity_hash: str
    salt: str | None
    hashed: bool
    lookup_key: str | None = None

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": "IdentityObject",
            "identityType": self.identity_type,
            "hashed": self.hashed,
            "identityHash": self.identity_hash,
        }
        if self.salt is not None:
            document["salt"] = self.salt
        return document


def plain_identifiers(recipient: Recipient) -> list[tuple[str, str]]:
    """(identity type, normalised value) of each identifier a recipient is known by."""
    found = []
    if recipient.email:
        found.append(("emailAddress", normalise_email(recipient.email)))
    if recipient.educator_id and recipient.educator_state:
        found.append(
            (EDUCATOR_ID_TYPE, educator_identifier(recipient.educator_state, recipient.educator_id))
        )
    return found


def validate_recipient(recipient: Recipient) -> None:
    if not (recipient.email or recipient.educator_id or recipient.did):
        raise InvalidInput(
            "a recipient needs an email, a state educator ID or a DID", field=("recipient",)
        )
    if (recipient.educator_id is None) != (recipient.educator_state is None):
        raise InvalidInput(
            "educatorId and state go together: a license number is only unique within its state",
            field=("recipient", "state" if recipient.educator_state is None else "educatorId"),
        )
    if recipient.educator_state is not None and not _STATE.match(
        recipient.educator_state.strip().upper()
    ):
        raise InvalidInput(
            "state must be a two-letter US state or territory code", field=("recipient", "state")
        )
    if recipient.educator_id is not None and not _EDUCATOR_ID.match(recipient.educator_id.strip()):
        raise InvalidInput(
            "educatorId must be 1-64 letters, digits, spaces or . _ / -",
            field=("recipient", "educatorId"),
        )
    if recipient.did is not None and not _DID.match(recipient.did):
        raise InvalidInput("did must be a DID (did:<method>:<id>)", field=("recipient", "did"))


def identities_for(
    recipient: Recipient,
    *,
    lookup_secret: bytes | None = None,
    new_salt: Callable[[], str] = lambda: secrets.token_hex(16),
) -> list[Identity]:
    identities: list[Identity] = []
    for identity_type, value in plain_identifiers(recipient):
        salt = new_salt()
        lookup = lookup_key(lookup_secret, identity_type, value) if lookup_secret else None
        identities.append(Identity(identity_type, hash_identity(value, salt), salt, True, lookup))
    if recipient.name:
        identities.append(Identity("name", recipient.name.strip(), None, False))
    return identities
