"""What an employer sees of a credential (OB 3.0 Displayer: image, name, description, issuer
name, issued-on date, status), read defensively from whatever the issuer wrote.

Never shows a hashed identifier: the recipient is the unhashed `name` identifier Lattice
writes, the subject's `name`, or its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verification.model import as_list, id_of, subject_of, text
from verification.report import DisplayData


def _image(*candidates: Any) -> str | None:
    for candidate in candidates:
        found = id_of(candidate)
        if found:
            return found
    return None


def _recipient(subject: Mapping[str, Any]) -> str | None:
    for identity in as_list(subject.get("identifier")):
        if (
            isinstance(identity, Mapping)
            and identity.get("identityType") == "name"
            and identity.get("hashed") is False
        ):
            return text(identity.get("identityHash"))
    return text(subject.get("name")) or id_of(subject)


def _aligned(achievement: Mapping[str, Any], target_type: str) -> tuple[tuple[str, str], ...]:
    """Alignments of one kind (Lattice writes stacks and lattice roles this way)."""
    return tuple(
        (str(item.get("targetName", "")), str(item.get("targetUrl", "")))
        for item in as_list(achievement.get("alignment"))
        if isinstance(item, Mapping) and item.get("targetType") == target_type
    )


def _results(subject: Mapping[str, Any], achievement: Mapping[str, Any]) -> tuple[str, ...]:
    names: dict[str, str] = {}
    for description in as_list(achievement.get("resultDescription")):
        if isinstance(description, Mapping) and isinstance(description.get("id"), str):
            names[description["id"]] = text(description.get("name")) or description["id"]
            for level in as_list(description.get("rubricCriterionLevel")):
                if isinstance(level, Mapping) and isinstance(level.get("id"), str):
                    names[level["id"]] = text(level.get("name")) or level["id"]
    shown: list[str] = []
    for item in as_list(subject.get("result")):
        if not isinstance(item, Mapping):
            continue
        label = names.get(str(item.get("resultDescription")), "Result")
        value = item.get("value") or names.get(str(item.get("achievedLevel"))) or item.get("status")
        shown.append(f"{label}: {value}" if value is not None else label)
    return tuple(shown)


def display_data(credential: Mapping[str, Any] | None) -> DisplayData:
    if not isinstance(credential, Mapping):
        return DisplayData()
    subject = subject_of(credential) or {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, Mapping) else {}
    issuer = credential.get("issuer")
    issuer = issuer if isinstance(issuer, Mapping) else {"id": issuer}
    criteria = achievement.get("criteria")
    criteria = criteria if isinstance(criteria, Mapping) else {}
    evidence = [
        id_of(item) or text(item.get("name"))
        for item in as_list(credential.get("evidence"))
        if isinstance(item, Mapping)
    ]
    return DisplayData(
        achievement_name=text(achievement.get("name")) or text(credential.get("name")),
        achievement_description=text(achievement.get("description"))
        or text(credential.get("description")),
        achievement_type=text(achievement.get("achievementType")),
        image=_image(subject.get("image"), achievement.get("image"), credential.get("image")),
        criteria=text(criteria.get("narrative")),
        criteria_url=id_of(criteria),
        issuer_name=text(issuer.get("name")),
        issuer_id=id_of(issuer),
        issuer_url=text(issuer.get("url")),
        recipient=_recipient(subject),
        issued_on=text(
            credential.get("awardedDate")
            or credential.get("validFrom")
            or credential.get("issuanceDate")
        ),
        expires=text(credential.get("validUntil") or credential.get("expirationDate")),
        evidence=tuple(item for item in evidence if item),
        results=_results(subject, achievement),
        stacks=_aligned(achievement, "ext:MicroCredentialStack"),
        lattice_roles=_aligned(achievement, "ext:CareerLatticeRole"),
    )
