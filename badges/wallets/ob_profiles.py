"""A teacher's OB 3.0 `Profile` for her apps (`getProfile`/`putProfile`, OB 3.0 §6).

Until an app puts one, her profile is `urn:uuid:<account>` with the name she gave. A put
profile is kept as sent (it must validate against the OB 3.0 Profile schema); its `email`
must be one of her verified addresses. Publishing an address there is also what lets a
credential that names it in a salted hash be tied to her (see `badges.wallets.backpack`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput
from badges.issuers.issuers import KeyVault
from badges.wallets.backpack import rematch
from badges.wallets.teachers import (
    email_key,
    verified_keys,
)
from schemas.json_schemas import schema_errors
from storage.models import Teacher, TeacherProfile

PROFILE_SCHEMA: Final = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile-jsonschema1.json"
)
_MAX_NAME: Final = 300


def default_profile_id(teacher: Teacher) -> str:
    return f"urn:uuid:{teacher.id}"


async def profile_of(session: AsyncSession, teacher: Teacher) -> dict[str, Any]:
    row = await session.get(TeacherProfile, teacher.id)
    document: dict[str, Any] = {"id": default_profile_id(teacher), "type": ["Profile"]}
    if teacher.display_name:
        document["name"] = teacher.display_name
    if row is not None:
        document.update(row.document)
        if row.email:
            document["email"] = row.email
    return document


async def published_email(session: AsyncSession, teacher: Teacher) -> str | None:
    """The verified address she published in her profile, if any."""
    row = await session.get(TeacherProfile, teacher.id)
    return row.email if row is not None else None


async def put_profile(
    session: AsyncSession, vault: KeyVault, teacher: Teacher, document: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace her profile with `document`; InvalidInput if it breaks the schema or names
    an address she has not verified."""
    errors = schema_errors(document, PROFILE_SCHEMA)
    if errors:
        raise InvalidInput(f"not an OB 3.0 Profile: {'; '.join(errors[:5])}", field=("profile",))
    email = document.get("email")
    if email is not None and email_key(vault, str(email)) not in verified_keys(teacher):
        raise InvalidInput(
            "email must be one of your verified addresses; add it to your account first",
            field=("email",),
        )
    name = document.get("name")
    if isinstance(name, str) and len(name) > _MAX_NAME:
        raise InvalidInput(f"name is longer than {_MAX_NAME} characters", field=("name",))
    stored = {key: value for key, value in document.items() if key != "email"}
    row = await session.get(TeacherProfile, teacher.id)
    if row is None:
        row = TeacherProfile(teacher_id=teacher.id, document=stored)
        session.add(row)
    row.document = stored
    row.email = str(email).strip() if email is not None else None
    row.updated_at = datetime.now(UTC)
    teacher.display_name = name.strip() if isinstance(name, str) and name.strip() else None
    await session.flush()
    if row.email:
        await rematch(session, vault, teacher, row.email)
    return await profile_of(session, teacher)
