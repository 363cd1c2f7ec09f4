"""How a credential names its recipient without showing her (OB 3.0 §9.3), and how a value
she gives is matched against it. Issuing writes these hashes; verification and the
agencies' lookups read them: so they sit below both.

`identityHash` is "sha256$" + hex(sha256(value + salt)) with a fresh random salt per value,
so badges cannot be linked; `lookup_key`, kept only in the database, is a keyed hash equal
wherever the same value appears, so an agency finds an educator's credentials without the
plain e-mail or license number ever being stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

EDUCATOR_ID_TYPE: Final = "ext:StateEducatorId"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def educator_identifier(state: str, educator_id: str) -> str:
    """`TX:1234567`: a license number means nothing without the state that issued it."""
    return f"{state.strip().upper()}:{educator_id.strip()}"


def lookup_key(secret: bytes, identity_type: str, value: str) -> str:
    """A keyed hash of a normalised identifier, equal wherever the same value appears.

    The credential's own salted hash differs per credential (so badges cannot be linked);
    this one, kept only in the database, lets an agency find an educator's credentials
    without the plain e-mail or license number ever being stored.
    """
    message = f"{identity_type}\n{value}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def hash_identity(value: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


def identity_matches(identity: Mapping[str, Any], value: str) -> bool:
    """Whether an `IdentityObject` (as JSON) names `value` (already normalised)."""
    stored = identity.get("identityHash")
    if not isinstance(stored, str):
        return False
    if not identity.get("hashed"):
        return hmac.compare_digest(stored, value)
    salt = identity.get("salt") or ""
    if stored.startswith("sha256$"):
        return hmac.compare_digest(stored.lower(), hash_identity(value, str(salt)))
    if stored.startswith("md5$"):
        digest = hashlib.md5((value + str(salt)).encode(), usedforsecurity=False).hexdigest()
        return hmac.compare_digest(stored.lower(), "md5$" + digest)
    return False
