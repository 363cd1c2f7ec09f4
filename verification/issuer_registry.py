"""Known issuers: who vouches that a credential's issuer is who it says it is.

A valid signature bound to the issuer's DID proves the DID signed; it does not prove the
DID belongs to "Digital Promise". That is what issuer registries are for: the Digital
Credentials Consortium's registries (the format verifier-core and the Learner Credential
Wallet read: `{"registry": {"<did>": {"name", "url", "location"}}}`), and, for this
service, its own issuers and the providers state agencies approved. A registry only adds
knowledge: an issuer it does not list is reported, never made invalid, because most genuine
issuers are in no registry at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class KnownIssuer:
    issuer_id: str
    name: str | None
    source: str  # who lists it, in words: "this Lattice service", "registry acme.json"
    # What the listing says, when more than "listed by <source> as <name>" (an agency's
    # approval and since when).
    statement: str | None = None

    @property
    def told(self) -> str:
        if self.statement is not None:
            return self.statement
        return f"listed by {self.source}" + (f" as {self.name}" if self.name else "")


class IssuerRegistry(Protocol):
    @property
    def description(self) -> str:
        """What this registry is, in words, for a report."""
        ...

    @property
    def lists_other_issuers(self) -> bool:
        """Whether it may list issuers other than this service's own: only then is an
        unlisted issuer worth a warning."""
        ...

    async def lookup(self, issuer_id: str, at: datetime) -> KnownIssuer | None:
        """The registry's entry for `issuer_id` on the verification date `at`, or None when
        it does not list it then."""
        ...


class RegistryFileError(ValueError):
    """A registry file that cannot be read as a DCC-format issuer registry."""


class StaticIssuerRegistry:
    """Issuers listed in a DCC-format registry document, read once."""

    lists_other_issuers = True

    def __init__(self, entries: Mapping[str, KnownIssuer], description: str) -> None:
        self._entries = dict(entries)
        self.description = description

    @classmethod
    def from_document(cls, document: Any, source: str) -> StaticIssuerRegistry:
        listed = document.get("registry") if isinstance(document, dict) else None
        if not isinstance(listed, dict):
            raise RegistryFileError(f'{source}: expected {{"registry": {{"<did>": {{...}}}}}}')
        entries: dict[str, KnownIssuer] = {}
        for issuer_id, entry in listed.items():
            if not isinstance(entry, dict):
                raise RegistryFileError(f"{source}: the entry of {issuer_id} is not an object")
            name = entry.get("name")
            entries[issuer_id] = KnownIssuer(
                issuer_id, name if isinstance(name, str) else None, source
            )
        return cls(entries, source)

    @classmethod
    def from_file(cls, path: Path) -> StaticIssuerRegistry:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RegistryFileError(f"{path}: cannot be read as JSON ({error})") from None
        return cls.from_document(document, f"registry {path.name}")

    async def lookup(self, issuer_id: str, at: datetime) -> KnownIssuer | None:
        return self._entries.get(issuer_id)


class OwnIssuers:
    """This service's own issuers: it knows them because it holds their keys."""

    description = "this Lattice service"
    lists_other_issuers = False

    def __init__(self, is_own: Callable[[str], bool]) -> None:
        self._is_own = is_own

    async def lookup(self, issuer_id: str, at: datetime) -> KnownIssuer | None:
        return KnownIssuer(issuer_id, None, self.description) if self._is_own(issuer_id) else None


class IssuerRegistries:
    """Several registries asked in order; every one that lists an issuer is told (this
    service's own issuer may also be a provider an agency approved)."""

    def __init__(self, registries: Iterable[IssuerRegistry]) -> None:
        self.registries: Sequence[IssuerRegistry] = tuple(registries)

    @property
    def description(self) -> str:
        return ", ".join(registry.description for registry in self.registries)

    @property
    def lists_other_issuers(self) -> bool:
        return any(registry.lists_other_issuers for registry in self.registries)

    async def lookup(self, issuer_id: str, at: datetime) -> KnownIssuer | None:
        found = [
            entry
            for registry in self.registries
            if (entry := await registry.lookup(issuer_id, at)) is not None
        ]
        if len(found) < 2:
            return found[0] if found else None
        return KnownIssuer(
            issuer_id,
            next((entry.name for entry in found if entry.name), None),
            ", ".join(entry.source for entry in found),
            "; ".join(entry.told for entry in found),
        )
