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
