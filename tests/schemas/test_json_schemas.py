"""OB 3.0 JSON Schema validation: the whole document as given, in words that quote no value."""

from __future__ import annotations

import copy
from typing import Any

from schemas.json_schemas import schema_errors
from tests.verification.support import credential, status_entry

LIST = "https://status.district9.example/lists/1"


def valid() -> dict[str, Any]:
    return copy.deepcopy(credential("did:web:district9.example"))


def test_a_valid_credential_has_no_errors() -> None:
    assert schema_errors(valid()) == []
    assert schema_errors({**valid(), "credentialStatus": status_entry(LIST, 7)}) == []


def test_a_list_of_status_entries_is_reported_as_the_schema_types_it() -> None:
    # The official OB 3.0 schema types credentialStatus as one object (0..1); VCDM 2.0 allows
    # a list. The report must say so rather than validate each entry on its own.
    document = valid()
    document["credentialStatus"] = [
        status_entry(LIST, 7, "revocation"),
        status_entry(LIST, 8, "suspension"),
    ]
    assert schema_errors(document) == ["$.credentialStatus: must be of type object"]


def test_a_name_in_the_wrong_place_is_never_repeated() -> None:
    document = valid()
    subject = document["credentialSubject"]
    subject["source"] = "Jane Doe"  # a Profile object is expected here
    subject["identifier"] = "Jane Doe"  # a list of IdentityObjects
    subject["achievement"]["achievementType"] = "Jane Doe"  # a vocabulary term
    errors = schema_errors(document)
    assert errors == [
        "$.credentialSubject.achievement.achievementType: must match exactly one of the "
        "forms the schema allows",
        "$.credentialSubject.identifier: must be of type array",
        "$.credentialSubject.source: must be of type object",
    ]
    assert not any("Jane" in error or "Doe" in error for error in errors)


def test_a_missing_property_is_named() -> None:
    document = valid()
    del document["credentialSubject"]["achievement"]["criteria"]
    del document["validFrom"]
    assert schema_errors(document) == [
        '$: must have the property "validFrom"',
        '$.credentialSubject.achievement: must have the property "criteria"',
    ]


def test_allowed_values_are_listed_but_the_given_one_is_not() -> None:
    document = valid()
    document["type"] = ["VerifiableCredential", "jane.doe@example.org"]
    assert schema_errors(document) == [
        "$.type: must contain one of: AchievementCredential, OpenBadgeCredential"
    ]


def test_an_undefined_property_is_named_but_its_value_is_not() -> None:
    document = valid()
    document["credentialSubject"]["identifier"] = [
        {
            "type": "IdentityObject",
            "hashed": False,
            "identityHash": "jane.doe@example.org",
            "identityType": "emailAddress",
            "recipientName": "Jane Doe",  # IdentityObject allows no other properties
        }
    ]
    errors = schema_errors(document)
    assert errors == [
        "$.credentialSubject.identifier[0]: has a property the schema does not define: "
        '"recipientName"'
    ]


def _documents() -> list[Any]:
    """Every JSON object among the shared spec examples and the test fixtures."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found: list[Any] = []
    for folder in (root / "tests" / "fixtures", root.parent / "shared" / "specs"):
        for path in sorted(folder.rglob("*.json")):
            try:
                document = json.loads(path.read_text())
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(document, dict):
                found.append(document)
    return found


def _mutations(document: dict[str, Any], pick: Any) -> list[Any]:
    """The document with one member removed, retyped or emptied, at random depths."""
    made = []
    for _ in range(6):
        changed = copy.deepcopy(document)
        node: Any = changed
        for _ in range(pick.randint(0, 3)):
            members = [key for key, value in node.items() if isinstance(value, dict)]
            if not members:
                break
            node = node[pick.choice(members)]
        if not node:
            continue
        key = pick.choice(sorted(node))
        action = pick.choice(("delete", "number", "string", "list"))
        if action == "delete":
            del node[key]
        else:
            node[key] = {"number": 7, "string": "x", "list": []}[action]
        made.append(changed)
    return made


def test_the_fast_validator_and_jsonschema_agree_on_every_document() -> None:
    """The fast check decides whether errors are looked for at all: it must say "valid"
    exactly when jsonschema finds no error, on real documents and on broken ones."""
    import random

    from schemas.contexts import OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA
    from schemas.json_schemas import _validator, is_valid

    pick = random.Random(3)
    documents = _documents()
    assert len(documents) > 50
    checked = valid_seen = 0
    for document in documents:
        for candidate in [document, *_mutations(document, pick)]:
            expected = not any(
                True for _ in _validator(OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA).iter_errors(candidate)
            )
            assert is_valid(candidate, OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA) == expected, candidate
            checked += 1
            valid_seen += expected
    assert valid_seen > 10 and checked - valid_seen > 100
