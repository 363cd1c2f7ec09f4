"""Credentials from elsewhere in a state-scale benchmark: issued by a foreign issuer
(`foreign_issuer`), then stored as the agency's service stores them once verified on entry.

An award is either submitted by the agency (`submitted_credentials`, JSON as submitted) or
pushed by the teacher through the OB 3.0 API (`held_credentials`, JSON or VC-JWT as pushed,
tied to her by the keyed hash of her educator ID). Rows are written with COPY, as the rest
of the seed: entry verification is what `bench/verify.py` measures, and is not re-timed.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from foreign_issuer import Award, ForeignIssuer, Issued, issue

from badges.wallets.backpack import match_key

SUBMITTED_COLUMNS = [
    "id",
    "agency_id",
    "educator_id",
    "content",
    "credential_iri",
    "issuer_iri",
    "achievement_iri",
    "earned_at",
    "valid_until",
    "verdict",
    "accepted",
    "report",
    "submitted_at",
]
HELD_COLUMNS = [
    "id",
    "teacher_id",
    "match_key",
    "issuer_iri",
    "credential_iri",
    "achievement_iri",
    "format",
    "content",
    "valid_from",
    "valid_until",
    "earned_at",
    "verdict",
    "lookup_key",
    "created_at",
    "updated_at",
]


@dataclass(frozen=True)
class ForeignAward:
    educator: int  # index of the educator
    achievement: int  # index into the foreign issuer's achievements
    earned: datetime
    valid_until: datetime | None
    revoked: bool  # revoked by its issuer before the first sweep


@dataclass
class Seeded:
    """What was stored, and which credentials (provider, id) are still active at the issuer."""

    submitted: int = 0
    held: int = 0
    held_jwt: int = 0
    teachers: int = 0
    revoked_first: list[tuple[int, str]] = field(default_factory=list)
    active: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Educators:
    """How the seed names its educators: row id, license number, keyed lookup hash."""

    ids: list[uuid.UUID]
    license: Callable[[int], str]
    lookup: Callable[[int], str]


async def seed_foreign(
    connection: asyncpg.Connection,
    foreign: ForeignIssuer,
    agency_id: uuid.UUID,
    educators: Educators,
    awards: list[ForeignAward],
    held_share: float,
    now: datetime,
) -> Seeded:
    """Issue `awards` at the foreign issuer and store each as submitted or pushed."""
    pick = random.Random(11)
    seeded = Seeded()
    teachers: dict[int, uuid.UUID] = {}
    asks = [
        Award(
            provider=foreign.achievements[award.achievement][0],
            achievement=foreign.achievements[award.achievement][1],
            educator_id=educators.license(award.educator),
            earned=award.earned,
            valid_until=award.valid_until,
        )
        for award in awards
    ]

    async def store(batch: list[tuple[int, Issued]]) -> None:
        submitted: list[tuple[Any, ...]] = []
        held: list[tuple[Any, ...]] = []
        new_teachers: list[tuple[Any, ...]] = []
        for index, issued in batch:
            award = awards[index]
            (seeded.revoked_first if award.revoked else seeded.active).append(
                (issued.provider, issued.id)
            )
            if pick.random() >= held_share:
                submitted.append(_submitted(issued, award, agency_id, educators, now))
                continue
            if award.educator not in teachers:
                teachers[award.educator] = uuid.uuid4()
                new_teachers.append((teachers[award.educator], None, now))
            as_jwt = pick.random() < 0.5
            seeded.held_jwt += as_jwt
            held.append(_held(issued, award, teachers[award.educator], as_jwt, educators, now))
        await connection.copy_records_to_table(
            "teachers", records=new_teachers, columns=["id", "display_name", "created_at"]
        )
        await connection.copy_records_to_table(
            "submitted_credentials", records=submitted, columns=SUBMITTED_COLUMNS
        )
        await connection.copy_records_to_table(
            "held_credentials", records=held, columns=HELD_COLUMNS
        )
        seeded.submitted += len(submitted)
        seeded.held += len(held)
        seeded.teachers += len(new_teachers)

    await issue(foreign, asks, store)
    return seeded


def _names(credential: dict[str, Any]) -> tuple[str, str, str]:
    """(issuer id, credential id, achievement id) of a credential."""
    subject = credential["credentialSubject"]
    subject = subject[0] if isinstance(subject, list) else subject
    issuer = credential["issuer"]
    return (
        issuer["id"] if isinstance(issuer, dict) else issuer,
        credential["id"],
        subject["achievement"]["id"],
    )


def _submitted(
    issued: Issued, award: ForeignAward, agency_id: uuid.UUID, educators: Educators, now: datetime
) -> tuple[Any, ...]:
    issuer, credential_id, achievement = _names(issued.credential)
    return (
        uuid.uuid4(),
        agency_id,
        educators.ids[award.educator],
        json.dumps(issued.credential, separators=(",", ":")),
        credential_id,
        issuer,
        achievement,
        award.earned,
        award.valid_until,
        "verified",
        True,
        "{}",
        now,
    )


def _held(
    issued: Issued,
    award: ForeignAward,
    teacher: uuid.UUID,
    as_jwt: bool,
    educators: Educators,
    now: datetime,
) -> tuple[Any, ...]:
    issuer, credential_id, achievement = _names(issued.credential)
    return (
        uuid.uuid4(),
        teacher,
        match_key(issuer, credential_id),
        issuer,
        credential_id,
        achievement,
        "jwt_vc" if as_jwt else "ldp_vc",
        issued.jwt if as_jwt else json.dumps(issued.credential, separators=(",", ":")),
        award.earned,
        award.valid_until,
        award.earned,
        "verified",
        educators.lookup(award.educator),
        now,
        now,
    )
