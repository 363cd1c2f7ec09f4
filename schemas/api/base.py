"""Shared configuration of API models: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    # A misspelt field must be an error, not silently ignored (e.g. `validUntill`).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def _require_zone(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (e.g. 2026-01-31T12:00:00Z)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_require_zone)]
