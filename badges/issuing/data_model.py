"""The W3C VC Data Model rules a caller's credential must meet before this service signs it.

Used by the VC-API issuer (`badges.issuing.supplied`): what the caller wrote is signed as it is, so
what VCDM 2.0 (or 1.1, for a credential in that form) calls invalid must be refused, not
signed. Each refusal is an `InvalidInput` whose field locates the offending item under
`credential`, e.g. `credential.credentialStatus[1].type`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, Literal, TypeGuard

from badges.errors import InvalidInput
from schemas.contexts import is_known_context

Version = Literal[1, 2]
Location = tuple[str | int, ...]

# VCDM 2.0 §4.4 Identifiers: an `id` "MUST be a single URL" (here: a scheme, ":", the rest).
_URL: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")

# Members every item of these properties must carry, by data model version.
# VCDM 2.0 §4.10 (credentialStatus: "MUST include ... type"), §4.11 ("Each credentialSchema
# MUST specify its type ... and an id property"), §5.4 ("Each refreshService value MUST
# specify its type"), §5.5 ("Each termsOfUse value MUST specify its type"), §5.6 (each
# evidence "MUST specify its type"). VCDM 1.1 also requires the `id` of credentialStatus and
# of refreshService.
_REQUIRED_MEMBERS: Final[dict[Version, dict[str, tuple[str, ...]]]] = {
    2: {
        "credentialStatus": ("type",),
        "credentialSchema": ("id", "type"),
        "refreshService": ("type",),
        "termsOfUse": ("type",),
        "evidence": ("type",),
    },
    1: {
        "credentialStatus": ("id", "type"),
        "credentialSchema": ("id", "type"),
        "refreshService": ("id", "type"),
        "termsOfUse": ("type",),
        "evidence": ("type",),
    },
}
_DIGESTS: Final = ("digestSRI", "digestMultibase")
# Far deeper than any credential (an OB 3.0 endorsement inside an achievement is ~12 levels),
# shallow enough that JSON-LD processing, which recurses per level, cannot exhaust the stack.
MAX_DEPTH: Final = 64


def fail(detail: str, *location: str | int) -> InvalidInput:
    return InvalidInput(detail, field=("credential", *location))


def unknown_context(url: str) -> str:
    """Why a credential naming the context `url` cannot be signed here."""
    return f"context {url} is not known to this service; only bundled contexts are used"


def check_data_model(credential: Mapping[str, Any], version: Version) -> None:
    """Refuse what the data model calls invalid, naming the first offending item."""
    check_depth(credential)
    check_contexts(credential)
    check_subjects(credential)
    for name, members in _REQUIRED_MEMBERS[version].items():
        if name in credential:
            _check_typed_items(credential, name, members)
    if "relatedResource" in credential:
        _check_related_resources(credential)


def check_depth(credential: Mapping[str, Any]) -> None:
    """Objects and arrays nest at most MAX_DEPTH levels (counted without recursion)."""
    level: list[Any] = [credential]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    raise fail(f"the credential nests objects and arrays more than {MAX_DEPTH} levels deep")


def check_contexts(credential: Mapping[str, Any]) -> None:
    """Each `@context` entry is a bundled context URL or an inline context object.

    Contexts are never fetched, so an unknown URL could never be expanded; say so before
    signing rather than failing inside JSON-LD processing.
    """
    for index, entry in enumerate(credential["@context"]):
        if isinstance(entry, str):
            if not is_known_context(entry):
                raise fail(unknown_context(entry), "@context", index)
        elif not isinstance(entry, dict):
            raise fail('each "@context" entry must be a URL or an object', "@context", index)


def check_subjects(credential: Mapping[str, Any]) -> None:
    # VCDM 2.0 §4.8: "each object MUST be the subject of one or more claims"; an object
    # with nothing in it claims nothing (1.1 §4.4 says the same of its subjects).
    if "credentialSubject" not in credential:
        raise fail('"credentialSubject" is required', "credentialSubject")
    for location, item in _items(credential, "credentialSubject"):
        if not item:
            raise fail(
                '"credentialSubject" must make at least one claim about its subject; it is empty',
                *location,
            )


def _check_typed_items(credential: Mapping[str, Any], name: str, members: tuple[str, ...]) -> None:
    for location, item in _items(credential, name):
        for member in members:
            if member not in item:
                raise fail(f'each "{name}" must have "{member}"', *location, member)
        if "type" in item and not _is_type(item["type"]):
            raise fail(f'"type" of "{name}" must be a name or a list of names', *location, "type")
        if "id" in item and not _is_url(item["id"]):
            raise fail(f'"id" of "{name}" must be a URL', *location, "id")


def _check_related_resources(credential: Mapping[str, Any]) -> None:
    # VCDM 2.0 §5.3: each relatedResource object has an `id` (a URL, each listed once) and
    # "MUST contain at least a digestSRI or a digestMultibase value".
    seen: set[str] = set()
    for location, item in _items(credential, "relatedResource"):
        identifier = item.get("id")
        if not _is_url(identifier):
            raise fail('each "relatedResource" must have an "id" that is a URL', *location, "id")
        if identifier in seen:
            raise fail(
                f'"relatedResource" lists {identifier} more than once; each id must be unique',
                *location,
                "id",
            )
        seen.add(identifier)
        if not any(digest in item for digest in _DIGESTS):
            raise fail(
                'each "relatedResource" must have a "digestSRI" or a "digestMultibase"',
                *location,
            )
        for digest in _DIGESTS:
            if digest in item and not _is_strings(item[digest]):
                raise fail(
                    f'"{digest}" must be a digest string or a list of them', *location, digest
                )


def _items(credential: Mapping[str, Any], name: str) -> Iterator[tuple[Location, dict[str, Any]]]:
    """The objects of a property that holds one object or an array of them, with locations."""
    value = credential[name]
    if isinstance(value, dict):
        yield (name,), value
        return
    if not isinstance(value, list) or not value:
        raise fail(f'"{name}" must be an object or a non-empty array of objects', name)
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise fail(f'each "{name}" must be an object', name, index)
        yield (name, index), item


def _is_url(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and _URL.fullmatch(value) is not None


def _is_type(value: Any) -> bool:
    names = value if isinstance(value, list) else [value]
    return bool(names) and all(isinstance(name, str) and name for name in names)


def _is_strings(value: Any) -> bool:
    return _is_type(value)
