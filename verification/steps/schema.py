"""Step 4: JSON Schema conformance (OB 3.0 §9.1 step 1, `1EdTechJsonSchemaValidator2019`).

Every VCDM 2.0 Open Badge is validated against the bundled OB 3.0 schema for its type (as
the 1EdTech validator does, which is how `"type": "InvalidProfile"` is caught), plus any
other bundled schema its `credentialSchema` names. The bundled schemas are the strict
pre-v1.3 build, so values that OB 3.0 App. A allows in compacted form (a single `type`,
`proof`, `credentialSchema`, `termsOfUse`) are wrapped in arrays first, as the newer
schemas accept. A schema URL that is not bundled is a warning, never a failure, and is not
fetched. The bundled schemas describe VCDM 2.0 only, so a VCDM 1.1 credential is noted.
A credential that is not an Open Badge has no OB schema to follow: not applicable.

`credentialStatus` is 0..1 in OB 3.0 but a list in VCDM 2.0, and credentials with a
revocation and a suspension entry exist in the wild (Lattice issued them too). Such a list
is checked entry by entry and reported as a warning: strict OB 3.0 validators refuse the
document, but nothing in it is false, and its status is still read from every entry.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from schemas.contexts import UnknownDocumentError
from schemas.json_schemas import schema_errors
from verification.context import RunContext, result
from verification.model import as_list, is_open_badge, types_of, vcdm_version
from verification.report import CheckResult, CheckStatus, Dimension

SCHEMA_TYPE: Final = "1EdTechJsonSchemaValidator2019"
_BASE: Final = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
ACHIEVEMENT_SCHEMA: Final = _BASE + "ob_v3p0_achievementcredential_schema.json"
ENDORSEMENT_SCHEMA: Final = _BASE + "ob_v3p0_endorsementcredential_schema.json"
# OB 3.0 App. A "Compacted document form": classes whose `type` may be a single string.
COMPACTABLE_TYPES: Final = frozenset(
    {
        "Achievement",
        "AchievementCredential",
        "OpenBadgeCredential",
        "AchievementSubject",
        "Address",
        "Alignment",
        "EndorsementCredential",
        "EndorsementSubject",
        "Evidence",
        "Profile",
        "Related",
        "Result",
        "ResultDescription",
        "RubricCriterionLevel",
        "VerifiableCredential",
    }
)
_CREDENTIAL_ARRAYS: Final = ("proof", "credentialSchema", "termsOfUse")
_MAX_REPORTED: Final = 5


def normalise(node: Any) -> Any:
    """A copy with compacted single values wrapped in arrays where App. A allows it."""
    if isinstance(node, list):
        return [normalise(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: normalise(value) for key, value in node.items()}
    kind = copy.get("type")
    if isinstance(kind, str) and kind in COMPACTABLE_TYPES:
        copy["type"] = [kind]
    if "credentialSubject" in copy:
        for name in _CREDENTIAL_ARRAYS:
            if name in copy and not isinstance(copy[name], list):
                copy[name] = [copy[name]]
    return copy


class SchemaStep:
    id: ClassVar[str] = "schema"
    title: ClassVar[str] = "OB 3.0 JSON Schema"
    dimension: ClassVar[Dimension] = Dimension.CONFORMANCE

    async def run(self, ctx: RunContext) -> CheckResult:
        credential = ctx.credential
        if credential is None or ctx.kind == "status_list" or not is_open_badge(credential):
            return result(
                self, CheckStatus.NOT_APPLICABLE, "not an Open Badge: no OB 3.0 schema applies"
            )
        declared = [
            entry
            for entry in as_list(credential.get("credentialSchema"))
            if isinstance(entry, dict) and entry.get("type") == SCHEMA_TYPE
        ]
        if vcdm_version(credential) != "2.0":
            return result(
                self,
                CheckStatus.WARNING,
                "VCDM 1.1 credential: the bundled OB 3.0 schemas describe VCDM 2.0, so only "
                "the data model checks apply",
            )
        endorsement = "EndorsementCredential" in types_of(credential)
        urls = [ENDORSEMENT_SCHEMA if endorsement else ACHIEVEMENT_SCHEMA]
        urls += [str(entry.get("id")) for entry in declared if entry.get("id") not in urls]
        documents, status_warning = _status_variants(normalise(credential))
        unknown: list[str] = []
        for url in urls:
            try:
                errors = [e for document in documents for e in schema_errors(document, url)]
            except UnknownDocumentError:
                unknown.append(url)
                continue
            errors = list(dict.fromkeys(errors))
            if errors:
                shown = "; ".join(errors[:_MAX_REPORTED])
                more = f" (and {len(errors) - _MAX_REPORTED} more)" if len(errors) > 5 else ""
                return result(self, CheckStatus.FAILED, f"{url}: {shown}{more}")
        kind = next((t for t in types_of(credential) if t != "VerifiableCredential"), "")
        warnings = [status_warning] if status_warning else []
        if unknown:
            warnings.append(f"schema {', '.join(unknown)} is not bundled and was not fetched")
        if warnings:
            return result(self, CheckStatus.WARNING, f"valid {kind}; " + "; ".join(warnings))
        return result(self, CheckStatus.PASSED, f"valid against the OB 3.0 {kind} schema")


def _status_variants(document: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The document once per status entry when `credentialStatus` is a list, and what to
    tell about it; the document itself otherwise."""
    status = document.get("credentialStatus")
    if not isinstance(status, list) or not status:
        return [document], None
    warning = (
        f'"credentialStatus" is a list of {len(status)}, where OB 3.0 allows one object '
        "(VCDM 2.0 allows a list; strict OB 3.0 validators refuse it)"
    )
    return [{**document, "credentialStatus": entry} for entry in status], warning
