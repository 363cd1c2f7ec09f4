"""Validation against the bundled 1EdTech OB 3.0 JSON Schemas (never fetched).

The document is validated exactly as given: where the bundled schema disagrees with what
VCDM 2.0 allows (it types `credentialStatus` as one object, multiplicity 0..1, while VCDM 2.0
allows a list, e.g. revocation and suspension), the disagreement is reported, not hidden.

Messages are built from the kind of rule broken and where, never from jsonschema's own text,
which quotes the offending value: verification reports are public, and that value may be a
recipient's name or e-mail address put in the wrong place.

Two validators, one answer: `jsonschema_rs` (compiled, well kept, about 30x faster here)
first says whether a document is valid at all, and only an invalid one is walked again by
`jsonschema`, whose errors carry what the messages are built from. Most documents verified
are valid, so most pay only the fast check (it was the largest part of a verification).
Both are set up alike (Draft 2019-09, `format` an annotation only, nothing fetched);
tests/schemas/test_json_schemas.py checks they agree on every bundled example and fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final

import jsonschema_rs
from jsonschema import Draft201909Validator
from jsonschema.exceptions import ValidationError

from schemas.contexts import OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA, load_document

# Allowed values listed in a message before "…": OB enumerations run to dozens of entries.
_MAX_LISTED: Final = 6


@lru_cache(maxsize=16)
def _validator(schema_url: str) -> Draft201909Validator:
    schema = load_document(schema_url)
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


@lru_cache(maxsize=16)
def _fast(schema_url: str) -> jsonschema_rs.Draft201909Validator:
    return jsonschema_rs.Draft201909Validator(
        load_document(schema_url), validate_formats=False, offline=True
    )


def is_valid(document: Mapping[str, Any], schema_url: str) -> bool:
    """Whether the document is valid, by the fast validator alone."""
    return bool(_fast(schema_url).is_valid(document))


def schema_errors(
    document: Mapping[str, Any], schema_url: str = OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA
) -> list[str]:
    """Every violation as `<json path>: <rule broken>`; empty when the document is valid.

    The whole document is validated as given. Raises `UnknownDocumentError` for a schema
    that is not bundled.
    """
    if is_valid(document, schema_url):
        return []
    errors = sorted(_validator(schema_url).iter_errors(document), key=lambda e: list(e.path))
    messages: list[str] = []
    for error in errors:
        message = f"{error.json_path}: {describe(error)}"
        if message not in messages:
            messages.append(message)
    return messages


def describe(error: ValidationError) -> str:
    """The rule `error` breaks, in words, naming schema values only, never the instance's."""
    if error.validator == "additionalProperties":
        return _additional_properties(error)
    phrase = _PHRASES.get(str(error.validator))
    if phrase is None:
        return f'does not meet the schema\'s "{error.validator}" rule'
    return phrase(error.validator_value, error.instance)


def _listing(values: Any) -> str:
    items = [str(value) for value in (values if isinstance(values, list) else [values])]
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (", …" if len(items) > _MAX_LISTED else "")


def _type(expected: Any, _: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return "must be of type " + " or ".join(str(name) for name in names)


def _required(properties: Any, instance: Any) -> str:
    present = instance if isinstance(instance, Mapping) else {}
    missing = [name for name in properties if name not in present]
    names = ", ".join(f'"{name}"' for name in missing or properties)
    return f"must have the propert{'y' if len(missing) == 1 else 'ies'} {names}"


def _additional_properties(error: ValidationError) -> str:
    # Property names are the document's structure, not its values: naming them is safe.
    defined = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    extra = [f'"{name}"' for name in instance if name not in defined]
    if not extra or error.validator_value is not False:
        return "has a property the schema does not allow"
    return f"has {'a property' if len(extra) == 1 else 'properties'} the schema does not " + (
        f"define: {', '.join(extra)}"
    )


def _contains(subschema: Any, _: Any) -> str:
    if isinstance(subschema, Mapping) and "const" in subschema:
        return f"must contain {subschema['const']}"
    if isinstance(subschema, Mapping) and "enum" in subschema:
        return f"must contain one of: {_listing(subschema['enum'])}"
    return "must contain an item the schema requires"


def _plural(count: Any, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


_PHRASES: Final[dict[str, Callable[[Any, Any], str]]] = {
    "type": _type,
    "required": _required,
    "contains": _contains,
    "enum": lambda values, _: f"must be one of: {_listing(values)}",
    "const": lambda value, _: f"must be {value}",
    "minItems": lambda count, _: f"must have at least {_plural(count, 'item')}",
    "maxItems": lambda count, _: f"must have at most {_plural(count, 'item')}",
    "minLength": lambda count, _: f"must be at least {_plural(count, 'character')} long",
    "maxLength": lambda count, _: f"must be at most {_plural(count, 'character')} long",
    "minimum": lambda bound, _: f"must be at least {bound}",
    "maximum": lambda bound, _: f"must be at most {bound}",
    "pattern": lambda pattern, _: f"must match the pattern {pattern}",
    "format": lambda name, _: f"must be a valid {name}",
    "oneOf": lambda _, __: "must match exactly one of the forms the schema allows",
    "anyOf": lambda _, __: "must match one of the forms the schema allows",
    "not": lambda _, __: "has a form the schema forbids",
    "additionalItems": lambda _, __: "has more items than the schema allows",
    "uniqueItems": lambda _, __: "must not repeat an item",
}
