"""Validation against the bundled 1EdTech OB 3.0 JSON Schemas (never fetched)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft201909Validator

from schemas.contexts import OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA, load_document


@lru_cache(maxsize=16)
def _validator(schema_url: str) -> Draft201909Validator:
    schema = load_document(schema_url)
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


def schema_errors(
    document: Mapping[str, Any], schema_url: str = OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA
) -> list[str]:
    """Every violation as `<json path>: <message>`; empty when the document is valid.

    Raises `UnknownDocumentError` for a schema that is not bundled.
    """
    validator = _validator(schema_url)
    status = document.get("credentialStatus")
    # VCDM 2.0 allows several status entries (revocation and suspension); the bundled
    # pre-v1.3 schema types `credentialStatus` as one object, so check each entry as one.
    variants = (
        [{**document, "credentialStatus": entry} for entry in status]
        if isinstance(status, list) and status
        else [document]
    )
    messages: list[str] = []
    for variant in variants:
        errors = sorted(validator.iter_errors(variant), key=lambda e: list(e.path))
        for error in errors:
            message = f"{error.json_path}: {error.message}"
            if message not in messages:
                messages.append(message)
    return messages
