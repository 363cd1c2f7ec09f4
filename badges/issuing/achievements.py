"""Achievements: the micro-credential definitions an issuer awards, and their OB 3.0 JSON.

An achievement that has been issued is frozen: a credential embeds it, so editing it in
place would make the public definition disagree with what teachers hold. An edit to an
issued achievement therefore creates the next revision with its own id and URL; the
revisions share a `lineage_id`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import DomainError, InvalidInput, NotFound
from schemas.contexts import OB3_CONTEXT, VC2_CONTEXT
from storage.models import Achievement, Credential, Issuer

ACHIEVEMENT_TYPES = frozenset(
    """Achievement ApprenticeshipCertificate Assessment Assignment AssociateDegree Award Badge
    BachelorDegree Certificate CertificateOfCompletion Certification CommunityService Competency
    Course CoCurricular Degree Diploma DoctoralDegree Fieldwork GeneralEducationDevelopment
    JourneymanCertificate LearningProgram License Membership ProfessionalDoctorate
    QualityAssuranceCredential MasterCertificate MasterDegree MicroCredential ResearchDoctorate
    SecondarySchoolDiploma""".split()
)
_EXTENSION_TYPE = re.compile(r"^ext:[A-Za-z0-9.\-_]+$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RESULT_TYPES = frozenset(
    """GradePointAverage LetterGrade Percent PerformanceLevel PredictedScore RawScore Result
    RubricCriterion RubricCriterionLevel RubricScore ScaledScore Status""".split()
)


@dataclass(frozen=True)
class RubricLevel:
    key: str
    name: str
    description: str | None = None
    level: str | None = None
    points: str | None = None


@dataclass(frozen=True)
class ResultDescription:
    """One rubric row: what is assessed and its ordered levels (lowest first)."""

    key: str
    name: str
    levels: tuple[RubricLevel, ...] = ()
    result_type: str = "RubricCriterionLevel"
    required_level: str | None = None


@dataclass(frozen=True)
class Alignment:
    target_name: str
    target_url: str
    target_description: str | None = None
    target_framework: str | None = None
    target_code: str | None = None
    target_type: str | None = None


@dataclass(frozen=True)
class AchievementDetails:
    name: str
    description: str
    criteria_narrative: str | None = None
    criteria_url: str | None = None
    image_url: str | None = None
    image_caption: str | None = None
    achievement_type: str = "MicroCredential"
    version: str | None = None
    tags: tuple[str, ...] = ()
    alignments: tuple[Alignment, ...] = ()
    result_descriptions: tuple[ResultDescription, ...] = field(default_factory=tuple)


def validate(details: AchievementDetails) -> None:
    """Rules beyond field shapes; raise `InvalidInput` naming the offending field."""
    if not details.criteria_narrative and not details.criteria_url:
        raise InvalidInput(
            "criteria needs a narrative or a URL: verifiers show it as what was required",
            field=("criteria",),
        )
    if not (
        details.achievement_type in ACHIEVEMENT_TYPES
        or _EXTENSION_TYPE.match(details.achievement_type)
    ):
        raise InvalidInput(
            f"achievementType {details.achievement_type!r} is neither an OB 3.0 "
            "AchievementType nor an 'ext:' extension",
            field=("achievementType",),
        )
    _validate_rubric(details.result_descriptions)


def _validate_rubric(rows: Sequence[ResultDescription]) -> None:
    seen: set[str] = set()
    for index, row in enumerate(rows):
        loc: tuple[str | int, ...] = ("resultDescription", index)
        if not _KEY.match(row.key) or row.key in seen:
            raise InvalidInput(f"key {row.key!r} must be unique and URL-safe", field=(*loc, "key"))
        seen.add(row.key)
        if row.result_type not in RESULT_TYPES and not _EXTENSION_TYPE.match(row.result_type):
            raise InvalidInput(
                f"unknown resultType {row.result_type!r}", field=(*loc, "resultType")
            )
        level_keys = [level.key for level in row.levels]
        if len(set(level_keys)) != len(level_keys) or not all(map(_KEY.match, level_keys)):
            raise InvalidInput(
                "rubric level keys must be unique and URL-safe",
                field=(*loc, "rubricCriterionLevel"),
            )
        if row.result_type == "RubricCriterionLevel" and not row.levels:
            raise InvalidInput(
                "a RubricCriterionLevel result needs at least one rubricCriterionLevel",
                field=(*loc, "rubricCriterionLevel"),
            )
        if row.required_level is not None and row.required_level not in level_keys:
            raise InvalidInput(
                f"requiredLevel {row.required_level!r} is not one of this row's levels",
                field=(*loc, "requiredLevel"),
            )


async def create_achievement(
    session: AsyncSession, issuer: Issuer, details: AchievementDetails
) -> Achievement:
    validate(details)
    achievement_id = uuid.uuid4()
    row = Achievement(id=achievement_id, issuer_id=issuer.id, lineage_id=achievement_id, revision=1)
    _apply(row, details)
    session.add(row)
    await session.flush()
    return row


async def update_achievement(
    session: AsyncSession, issuer: Issuer, achievement_id: uuid.UUID, details: AchievementDetails
) -> Achievement:
    """Edit in place while never issued; otherwise add the next revision and return it."""
    validate(details)
    current = await get_achievement(session, issuer, achievement_id)
    if not current.is_current:
        raise InvalidInput(
            "this is an old revision; edit the current one", field=("achievementId",)
        )
    if not await has_been_issued(session, current.id):
        _apply(current, details)
        await session.flush()
        return current
    current.is_current = False
    successor = Achievement(
        id=uuid.uuid4(),
        issuer_id=issuer.id,
        lineage_id=current.lineage_id,
        revision=current.revision + 1,
    )
    _apply(successor, details)
    session.add(successor)
    await session.flush()
    return successor


async def archive_achievement(
    session: AsyncSession, issuer: Issuer, achievement_id: uuid.UUID
) -> Achievement:
    """Stop further awards; the definition stays public because credentials point at it."""
    row = await get_achievement(session, issuer, achievement_id)
    row.archived_at = row.archived_at or datetime.now(UTC)
    await session.flush()
    return row


async def has_been_issued(session: AsyncSession, achievement_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(select(exists().where(Credential.achievement_id == achievement_id)))
    )


# Built once, as every issuance reads it: `Session.get` builds its SELECT anew on every call,
# and working out a new statement's cache key costs more CPU than the query itself.
_BY_ID: Final = select(Achievement).where(Achievement.id == bindparam("achievement_id"))


async def get_achievement(
    session: AsyncSession, issuer: Issuer | None, achievement_id: uuid.UUID
) -> Achievement:
    """Look up by id; with `issuer`, another issuer's achievement is reported as not found."""
    found = await session.execute(_BY_ID, {"achievement_id": achievement_id})
    row = found.scalar_one_or_none()
    if row is None or (issuer is not None and row.issuer_id != issuer.id):
        raise NotFound(f"no achievement {achievement_id}", field=("achievementId",))
    return row


async def list_achievements(
    session: AsyncSession, issuer: Issuer, *, include_archived: bool = False
) -> list[Achievement]:
    query = select(Achievement).where(
        Achievement.issuer_id == issuer.id, Achievement.is_current.is_(True)
    )
    if not include_archived:
        query = query.where(Achievement.archived_at.is_(None))
    return list(await session.scalars(query.order_by(Achievement.created_at)))


def _apply(row: Achievement, details: AchievementDetails) -> None:
    row.name = details.name
    row.description = details.description
    row.criteria_narrative = details.criteria_narrative
    row.criteria_url = details.criteria_url
    row.image_url = details.image_url
    row.image_caption = details.image_caption
    row.achievement_type = details.achievement_type
    row.version = details.version
    row.tags = list(details.tags)
    row.alignments = [asdict(item) for item in details.alignments]
    row.result_descriptions = [asdict(item) for item in details.result_descriptions]


def details_of(row: Achievement) -> AchievementDetails:
    """The stored row back as domain values (the inverse of `_apply`)."""
    return AchievementDetails(
        name=row.name,
        description=row.description,
        criteria_narrative=row.criteria_narrative,
        criteria_url=row.criteria_url,
        image_url=row.image_url,
        image_caption=row.image_caption,
        achievement_type=row.achievement_type,
        version=row.version,
        tags=tuple(row.tags),
        alignments=tuple(Alignment(**item) for item in row.alignments),
        result_descriptions=tuple(
            ResultDescription(
                **{**item, "levels": tuple(RubricLevel(**level) for level in item["levels"])}
            )
            for item in row.result_descriptions
        ),
    )


def achievement_url(public_url: str, achievement_id: uuid.UUID) -> str:
    return f"{public_url}/achievements/{achievement_id}"


# --- naming an achievement in a request: its UUID or its IRI --------------------------------

Location = tuple[str | int, ...]
# As the API writes ids (either case); an IRI has a scheme, so a colon, and never matches.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NOT_IN_AN_IRI = re.compile(r"[\x00-\x20\x7f-\x9f\ud800-\udfff]")


def bare_uuid(value: str) -> uuid.UUID | None:
    """The UUID `value` spells, when it is one rather than an IRI (`urn:uuid:...` is an IRI
    like any other)."""
    return uuid.UUID(value) if _UUID.fullmatch(value) else None


def check_reference(value: str, kind: str, field: Location) -> uuid.UUID | None:
    """`value`'s UUID, None for an IRI; `InvalidInput` for anything else."""
    if _NOT_IN_AN_IRI.search(value):
        # RFC 3987 has no room for them, and PostgreSQL text none for NUL.
        raise InvalidInput("must not contain spaces or control characters", field=field)
    named = bare_uuid(value)
    if named is None and ":" not in value:
        raise InvalidInput(
            f"must be the UUID of {kind} of this service, or an absolute IRI", field=field
        )
    return named


def own_achievement_id(public_url: str, iri: str) -> uuid.UUID | None:
    """The UUID in one of this service's achievement IRIs (None for any other IRI)."""
    prefix = f"{public_url}/achievements/"
    return bare_uuid(iri.removeprefix(prefix)) if iri.startswith(prefix) else None


async def achievement_iri(
    session: AsyncSession,
    public_url: str,
    value: str,
    field: Location,
    missing: type[DomainError] = InvalidInput,
) -> str:
    """The IRI rules, approvals and queries store for the achievement `value` names: one of
    this service's by its UUID (any issuer's, any revision), or any achievement by its IRI
    (kept as given: whether it is known is for the caller's context to say). A UUID naming
    none is `missing` (InvalidInput in a body, NotFound in a path or query) at `field`."""
    named = check_reference(value, "an achievement", field)
    if named is None:
        # This service's own IRIs in one spelling (a UUID's hex case is not part of its name).
        own = own_achievement_id(public_url, value)
        return value if own is None else achievement_url(public_url, own)
    if await session.get(Achievement, named) is None:
        raise missing(f"no achievement {value} on this service", field=field)
    return achievement_url(public_url, named)


def result_description_id(achievement_iri: str, key: str) -> str:
    return f"{achievement_iri}#result-{key}"


def rubric_level_id(achievement_iri: str, row_key: str, level_key: str) -> str:
    return f"{achievement_iri}#result-{row_key}-level-{level_key}"


def achievement_json(public_url: str, row: Achievement) -> dict[str, Any]:
    """The OB 3.0 `Achievement` (no `@context`), as embedded in credentials."""
    iri = achievement_url(public_url, row.id)
    details = details_of(row)
    criteria: dict[str, Any] = {}
    if details.criteria_url:
        criteria["id"] = details.criteria_url
    if details.criteria_narrative:
        criteria["narrative"] = details.criteria_narrative
    document: dict[str, Any] = {
        "id": iri,
        "type": ["Achievement"],
        "achievementType": details.achievement_type,
        "name": details.name,
        "description": details.description,
        "criteria": criteria,
    }
    if details.image_url:
        image: dict[str, Any] = {"id": details.image_url, "type": "Image"}
        if details.image_caption:
            image["caption"] = details.image_caption
        document["image"] = image
    if details.tags:
        document["tag"] = list(details.tags)
    if details.alignments:
        document["alignment"] = [_alignment_json(item) for item in details.alignments]
    if details.result_descriptions:
        document["resultDescription"] = [
            _result_description_json(iri, item) for item in details.result_descriptions
        ]
    if details.version:
        document["version"] = details.version
    return document


def achievement_document(public_url: str, row: Achievement) -> dict[str, Any]:
    """The public JSON-LD document served at the achievement's URL."""
    return {"@context": [VC2_CONTEXT, OB3_CONTEXT], **achievement_json(public_url, row)}


def _alignment_json(item: Alignment) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": item.target_name,
        "targetUrl": item.target_url,
    }
    optional = {
        "targetDescription": item.target_description,
        "targetFramework": item.target_framework,
        "targetCode": item.target_code,
        "targetType": item.target_type,
    }
    document.update({key: value for key, value in optional.items() if value is not None})
    return document


def _result_description_json(iri: str, item: ResultDescription) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": result_description_id(iri, item.key),
        "type": ["ResultDescription"],
        "name": item.name,
        "resultType": item.result_type,
    }
    if item.levels:
        document["rubricCriterionLevel"] = [
            _level_json(iri, item.key, level) for level in item.levels
        ]
    if item.required_level:
        document["requiredLevel"] = rubric_level_id(iri, item.key, item.required_level)
    return document


def _level_json(iri: str, row_key: str, level: RubricLevel) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": rubric_level_id(iri, row_key, level.key),
        "type": ["RubricCriterionLevel"],
        "name": level.name,
    }
    for key in ("description", "level", "points"):
        value = getattr(level, key)
        if value is not None:
            document[key] = value
    return document
