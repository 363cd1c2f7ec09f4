"""Small readers over credential JSON, shared by the steps: lists, ids, types, dates.

Credentials come from anyone, so nothing here assumes a shape: every reader returns None
or an empty list for a value of the wrong type, and the steps turn that into a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

VC2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
VC1_CONTEXT: Final = "https://www.w3.org/2018/credentials/v1"
ACHIEVEMENT_TYPES: Final = ("OpenBadgeCredential", "AchievementCredential")
BADGE_TYPES: Final = (*ACHIEVEMENT_TYPES, "EndorsementCredential")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def types_of(node: Any) -> list[str]:
    if not isinstance(node, Mapping):
        return []
    return [item for item in as_list(node.get("type")) if isinstance(item, str)]


def is_open_badge(credential: Mapping[str, Any] | None) -> bool:
    """Whether the credential claims to be an Open Badge (so the OB 3.0 rules apply)."""
    return bool(set(types_of(credential)) & set(BADGE_TYPES))


def id_of(value: Any) -> str | None:
    """A reference's id: the string itself, or the object's `id`."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    return id_of(credential.get("issuer"))


def subject_of(credential: Mapping[str, Any]) -> dict[str, Any] | None:
    """The single credentialSubject (OB credentials have exactly one)."""
    subjects = as_list(credential.get("credentialSubject"))
    if len(subjects) == 1 and isinstance(subjects[0], dict):
        return subjects[0]
    return None


def vcdm_version(credential: Mapping[str, Any]) -> str | None:
    """ "2.0" or "1.1" from the first `@context` entry, else None."""
    contexts = as_list(credential.get("@context"))
    first = contexts[0] if contexts else None
    return {VC2_CONTEXT: "2.0", VC1_CONTEXT: "1.1"}.get(first) if isinstance(first, str) else None


def valid_from(credential: Mapping[str, Any]) -> tuple[str, Any]:
    """(field name, value) of the start of validity, VCDM 2.0 or 1.1 name."""
    name = "validFrom" if "validFrom" in credential else "issuanceDate"
    return name, credential.get(name)


def valid_until(credential: Mapping[str, Any]) -> tuple[str, Any]:
    name = "validUntil" if "validUntil" in credential else "expirationDate"
    return name, credential.get(name)


def parse_datetime(value: Any) -> datetime | None:
    """An XML Schema dateTime as an aware datetime (no zone = UTC), else None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def text(value: Any) -> str | None:
    """A display string: a plain string, or the first value of a language map / list."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        return text(value[0])
    if isinstance(value, Mapping):
        if "@value" in value:
            return text(value["@value"])
        return next((item for item in value.values() if isinstance(item, str)), None)
    return None


def context_urls(node: Any) -> list[str]:
    """Every context URL a JSON-LD document names, at any depth (in order, once each)."""
    found: list[str] = []
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, Mapping):
            for url in as_list(item.get("@context")):
                if isinstance(url, str) and url not in found:
                    found.append(url)
            stack.extend(reversed([v for k, v in item.items() if k != "@context"]))
    return found
