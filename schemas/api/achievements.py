"""Achievement (micro-credential definition) requests and responses.

Names, keys, tags and captions are one line (`TextLine`: no control characters at all);
descriptions and narratives are free text (`TextBlock`: tab and line breaks allowed).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, HttpUrl

from schemas.api.base import ApiModel, TextBlock, TextLine


class RubricLevelIn(ApiModel):
    key: TextLine = Field(min_length=1, max_length=64, description="Short id, unique in its row.")
    name: TextLine = Field(min_length=1, max_length=500)
    description: TextBlock | None = Field(default=None, max_length=10_000)
    level: TextLine | None = Field(default=None, max_length=100)
    points: TextLine | None = Field(default=None, max_length=100)


class ResultDescriptionIn(ApiModel):
    key: TextLine = Field(min_length=1, max_length=64, description="Short id used in results.")
    name: TextLine = Field(min_length=1, max_length=500)
    result_type: str = "RubricCriterionLevel"
    rubric_criterion_level: list[RubricLevelIn] = Field(default_factory=list, max_length=20)
    required_level: TextLine | None = Field(default=None, description="Key of the passing level.")


class AlignmentIn(ApiModel):
    target_name: TextLine = Field(min_length=1, max_length=500)
    target_url: HttpUrl
    target_description: TextBlock | None = Field(default=None, max_length=10_000)
    target_framework: TextLine | None = Field(default=None, max_length=500)
    target_code: TextLine | None = Field(default=None, max_length=200)
    target_type: TextLine | None = Field(default=None, max_length=100)


class CriteriaIn(ApiModel):
    narrative: TextBlock | None = Field(default=None, max_length=50_000)
    url: HttpUrl | None = None


class ImageIn(ApiModel):
    url: HttpUrl
    caption: TextLine | None = Field(default=None, max_length=500)


class AchievementIn(ApiModel):
    name: TextLine = Field(min_length=1, max_length=500)
    description: TextBlock = Field(min_length=1, max_length=50_000)
    criteria: CriteriaIn
    image: ImageIn | None = None
    achievement_type: TextLine = "MicroCredential"
    version: TextLine | None = Field(default=None, max_length=100)
    tags: list[TextLine] = Field(default_factory=list, max_length=50)
    alignment: list[AlignmentIn] = Field(default_factory=list, max_length=50)
    result_description: list[ResultDescriptionIn] = Field(default_factory=list, max_length=50)


class AchievementOut(ApiModel):
    id: str
    lineage_id: str
    revision: int
    is_current: bool
    archived: bool
    url: str
    achievement: dict[str, Any] = Field(description="The OB 3.0 Achievement as issued.")
