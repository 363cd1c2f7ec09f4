"""Server-rendered HTML pages (Jinja2, autoescaped), and how a verification reads to a person.

`result_view` turns a `VerificationReport` into what the result templates show: a verdict
in words (naming the check that decided it), each check with a plain sentence of what it
means, and the badge's details. Links and images from a credential are shown only for
http(s) (and `data:image/` for images): a hostile badge cannot smuggle in `javascript:`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from verification.model import as_list, id_of, subject_of, text
from verification.report import (
    CheckResult,
    CheckStatus,
    Dimension,
    DimensionResult,
    DisplayData,
    Verdict,
    VerificationReport,
)

_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _rule_words(document: Any) -> str | None:
    from app.counts_toward import document_words  # it reads names through this module

    return document_words(document)


def _days_words(days: Any) -> str | None:
    return duration_words(days) if isinstance(days, int) and not isinstance(days, bool) else None


_environment.filters["rule_words"] = _rule_words
_environment.filters["duration"] = _days_words

# Pages that show what strangers wrote: no scripts at all, images from anywhere (badge art),
# nothing framed, forms only to this service, and no Referer (a credential URL is private-ish).
PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src http: https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def render(
    template: str,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    return HTMLResponse(
        _environment.get_template(template).render(**context),
        status_code=status_code,
        headers=dict(headers) if headers else None,
    )


def http_url(value: str | None) -> str | None:
    """`value` if it is an http(s) URL, to be linked; None otherwise (shown as text)."""
    if value and re.match(r"https?://[^\s]+\Z", value, re.IGNORECASE):
        return value
    return None


_DATA_IMAGE: Final = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)


def image_src(value: str | None) -> str | None:
    """A badge image URL safe for `<img src>`: http(s) or an inline raster/SVG data URI."""
    if value and (http_url(value) or _DATA_IMAGE.match(value)):
        return value
    return None


@dataclass(frozen=True)
class When:
    """A date from a credential: machine-readable as written, and in words."""

    raw: str
    shown: str


def when(value: str | None) -> When | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return When(value, value)
    shown = f"{moment.day} {moment:%B %Y}"
    if (moment.hour, moment.minute) != (0, 0):
        shown += f", {moment:%H:%M}"
    offset = moment.utcoffset()
    if offset is not None:
        shown += f" {moment:%z}" if offset else " UTC"
    return When(value, shown)


@dataclass(frozen=True)
class Link:
    text: str
    href: str | None  # None: shown as plain text


def duration_words(days: float) -> str:
    """A span in years ("5 years", "1.5 years"), months under a year, days under two months."""
    if days >= 365:
        shown = f"{round(days / 365.25, 1):g}"
        return f"{shown} year" if shown == "1" else f"{shown} years"
    if days >= 60:
        return f"{round(days / 30.44)} months"
    whole = max(0, round(days))
    return "1 day" if whole == 1 else f"{whole} days"


_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TYPE_WORDS: Final = {"MicroCredential": "Micro-credential", "MicroCredentialStack": "Stack"}


def type_words(value: str | None) -> str | None:
    """An OB 3.0 type ("MicroCredential", "ext:CareerLatticeRole") in words: an `ext:`
    prefix is how the standard spells an extension, not something a reader needs."""
    if not value:
        return None
    bare = value.removeprefix("ext:")
    if bare in _TYPE_WORDS:
        return _TYPE_WORDS[bare]
    words = _CAMEL.sub(" ", bare).replace("_", " ").strip()
    return words[:1].upper() + words[1:].lower() if words else None


@dataclass(frozen=True)
class EvidenceView:
    """One piece of evidence: its name, what it shows, and where to see it."""

    name: str | None
    href: str | None
    location: str | None  # an address that is not http(s): shown as text
    narrative: str | None
    description: str | None
    genre: str | None


@dataclass(frozen=True)
class AlignmentView:
    """A standard or framework the achievement aligns with (not a stack or lattice role)."""

    name: str
    href: str | None
    framework: str | None
    code: str | None
    description: str | None
    kind: str | None


@dataclass(frozen=True)
class CheckView:
    title: str
    meaning: str
    status: str  # CheckStatus value: the CSS class
    status_words: str
    symbol: str
    message: str


@dataclass(frozen=True)
class DimensionView:
    """One line of "at a glance": what a dimension says, in words."""

    name: str
    state: str  # DimensionResult.state: the CSS class
    words: str
    symbol: str
    message: str


@dataclass(frozen=True)
class ResultView:
    verdict: str  # Verdict value: the CSS class and a stable hook for tests
    headline: str
    symbol: str
    summary: str
    reason: str | None
    checks: tuple[CheckView, ...]
    dimensions: tuple[DimensionView, ...]
    display: DisplayData
    has_credential: bool
    image: str | None
    issuer_link: Link | None
    issuer_id: str | None  # shown beside the name, unless it is all there is
    issuer_image: str | None
    issued_on: When | None
    expires: When | None
    valid_for: str | None  # from the start of its validity to its end, in years
    kind: str | None  # the achievement type, in words
    evidence: tuple[EvidenceView, ...]
    tags: tuple[str, ...]
    alignments: tuple[AlignmentView, ...]
    counts_toward: tuple[Link, ...]
    criteria_link: str | None
    status_words: str


_VERDICTS: Final[dict[Verdict, tuple[str, str, str]]] = {
    Verdict.VERIFIED: (
        "Verified",
        "✓",
        "This badge is genuine: it was signed by its issuer, has not been changed since, "
        "and is not revoked, suspended or expired.",
    ),
    Verdict.REVOKED: ("Revoked", "✗", "The issuer has revoked this badge: it is no longer valid."),
    Verdict.SUSPENDED: (
        "Suspended",
        "‖",
        "The issuer has suspended this badge: it is not valid while the suspension lasts.",
    ),
    Verdict.EXPIRED: ("Expired", "✗", "This badge was genuine but its validity period is over."),
    Verdict.NOT_YET_VALID: (
        "Not yet valid",
        "…",
        "This badge is genuine but its validity period has not started yet.",
    ),
    Verdict.INVALID: (
        "Invalid",
        "✗",
        "This badge failed a check, so it cannot be trusted as presented.",
    ),
    Verdict.CANNOT_VERIFY: (
        "Cannot be verified",
        "?",
        "A check could not be completed, for example because the issuer's key or status list "
        "could not be reached. This does not mean the badge is fake: try again later.",
    ),
}

_DIMENSION_NAMES: Final[dict[Dimension, str]] = {
    Dimension.AUTHENTICITY: "Authentic",
    Dimension.STATUS: "Status",
    Dimension.VALIDITY: "Validity period",
    Dimension.CONFORMANCE: "Follows the standard",
    Dimension.RECIPIENT: "Recipient",
    Dimension.ENDORSEMENTS: "Endorsements",
    Dimension.ISSUER: "Known issuer",
    Dimension.CONTENTS: "Credentials it contains",
}
# (words, symbol) of each dimension state; a state not listed is shown as its own words.
_STATE_WORDS: Final[dict[str, tuple[str, str]]] = {
    "authentic": ("Yes: signed by its issuer, unchanged since", "✓"),
    "not_authentic": ("No", "✗"),
    "unknown": ("Could not be established", "?"),
    "active": ("Active: not revoked or suspended", "✓"),
    "revoked": ("Revoked", "✗"),
    "suspended": ("Suspended", "‖"),
    "current": ("Current", "✓"),
    "expired": ("Expired", "✗"),
    "not_yet_valid": ("Not yet valid", "…"),
    "invalid_dates": ("Its dates cannot be read", "✗"),
    "conforms": ("Yes", "✓"),
    "does_not_conform": ("No", "✗"),
    "matches": ("Issued to the person named", "✓"),
    "mismatch": ("Not issued to the person named", "✗"),
    "verified": ("Verified", "✓"),
    "invalid": ("Invalid", "✗"),
    "known": ("Listed by a registry this verifier trusts, or approved by a state agency", "✓"),
    "not_listed": ("Not listed by any registry this verifier trusts", "!"),
    "not_checked": ("Not checked", "\N{EN DASH}"),
}

_STATUS_WORDS: Final[dict[CheckStatus, tuple[str, str]]] = {
    CheckStatus.PASSED: ("Passed", "✓"),
    CheckStatus.FAILED: ("Failed", "✗"),
    CheckStatus.WARNING: ("Warning", "!"),
    CheckStatus.NOT_APPLICABLE: ("Not applicable", "\N{EN DASH}"),
    CheckStatus.ERROR: ("Could not check", "?"),
}

# What each check of OB 3.0 §9.1 establishes, for someone who has never heard of a proof.
_MEANINGS: Final[dict[str, str]] = {
    "parse": "It is a Verifiable Credential in a format that can be read.",
    "data_model": "It follows the rules of the credential data model (and of Open Badges 3.0 "
    "when it is a badge).",
    "jsonld": "Every term in it is defined by a known vocabulary.",
    "schema": "Its fields follow the official Open Badges 3.0 schema.",
    "proof": "The issuer's digital signature is intact: nothing was changed after signing.",
    "key_binding": "The key that signed it belongs to the issuer named in the badge.",
    "refresh": "Whether the issuer offers a newer copy (noted, not followed).",
    "status": "The issuer has not revoked or suspended it.",
    "validity": "Today falls within the period the badge is valid for.",
    "recipient": "It was issued to the person you named (only checked if you name someone).",
    "endorsements": "Endorsements of it by third parties are genuine.",
    "contained_credentials": "Each credential a learner record (CLR) carries is genuine.",
    "known_issuer": "A registry this verifier trusts lists the issuer (names who it is), or a "
    "state agency using this service has approved it as a provider.",
}


def _dimension_view(result: DimensionResult) -> DimensionView:
    words, symbol = _STATE_WORDS.get(result.state, (result.state.replace("_", " "), "?"))
    return DimensionView(
        name=_DIMENSION_NAMES[result.dimension],
        state=result.state,
        words=words,
        symbol=symbol,
        message=_sentence(result.message),
    )


def _headline(report: VerificationReport, label: str) -> str:
    decided = report.decided_by
    if decided is None:
        return label
    if report.verdict is Verdict.INVALID:
        if report.dimensions[Dimension.AUTHENTICITY].state == "authentic":
            return f"{label}: genuine signature, but the “{decided.title}” check failed"
        return f"{label}: the “{decided.title}” check failed"
    if report.verdict is Verdict.CANNOT_VERIFY:
        return f"{label}: the “{decided.title}” check could not be completed"
    return label


def _check_view(check: CheckResult) -> CheckView:
    words, symbol = _STATUS_WORDS[check.status]
    return CheckView(
        title=check.title,
        meaning=_MEANINGS.get(check.id, ""),
        status=check.status.value,
        status_words=words,
        symbol=symbol,
        message=_sentence(check.message),
    )


def _sentence(message: str) -> str:
    """Capitalised when it starts with a plain word; an identifier (did:…, eddsa-…) is kept."""
    if re.match(r"[a-z]+(\s|\Z)", message):
        return message[0].upper() + message[1:]
    return message


def _status_words(report: VerificationReport) -> str:
    try:
        check = report.check("status")
    except KeyError:
        return "Not checked"
    if check.status is CheckStatus.PASSED:
        return "Active: not revoked or suspended"
    if check.outcome is Verdict.REVOKED:
        return "Revoked"
    if check.outcome is Verdict.SUSPENDED:
        return "Suspended"
    if check.status is CheckStatus.NOT_APPLICABLE:
        return f"Not checked ({check.message})"
    return f"{_STATUS_WORDS[check.status][0]}: {check.message}"


# Recipient and endorsements are only shown when there was something to check.
_SHOWN_ALWAYS: Final = frozenset(
    {Dimension.AUTHENTICITY, Dimension.STATUS, Dimension.VALIDITY, Dimension.CONFORMANCE}
)


# Alignments Lattice writes for stacks and lattice roles: told as "counts toward" instead.
_GOAL_TYPES: Final = frozenset({"ext:MicroCredentialStack", "ext:CareerLatticeRole"})


def _achievement(credential: Mapping[str, Any] | None) -> Mapping[str, Any]:
    subject = subject_of(credential) if isinstance(credential, Mapping) else None
    found = subject.get("achievement") if subject else None
    return found if isinstance(found, Mapping) else {}


def _evidence(credential: Mapping[str, Any] | None) -> tuple[EvidenceView, ...]:
    items = as_list(credential.get("evidence")) if isinstance(credential, Mapping) else []
    shown = []
    for item in items:
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, Mapping):
            continue
        address = id_of(item)
        view = EvidenceView(
            name=text(item.get("name")),
            href=http_url(address),
            location=address if address and not http_url(address) else None,
            narrative=text(item.get("narrative")),
            description=text(item.get("description")),
            genre=text(item.get("genre")),
        )
        if any((view.name, view.href, view.location, view.narrative, view.description)):
            shown.append(view)
    return tuple(shown)


def _tags(achievement: Mapping[str, Any]) -> tuple[str, ...]:
    tags = (text(tag) for tag in as_list(achievement.get("tag")))
    return tuple(dict.fromkeys(tag.strip() for tag in tags if tag and tag.strip()))


def _alignments(achievement: Mapping[str, Any]) -> tuple[AlignmentView, ...]:
    shown = []
    for item in as_list(achievement.get("alignment")):
        if not isinstance(item, Mapping) or item.get("targetType") in _GOAL_TYPES:
            continue
        url = text(item.get("targetUrl"))
        name = text(item.get("targetName")) or url
        if not name:
            continue
        kind = item.get("targetType")
        shown.append(
            AlignmentView(
                name=name,
                href=http_url(url),
                framework=text(item.get("targetFramework")),
                code=text(item.get("targetCode")),
                description=text(item.get("targetDescription")),
                kind=type_words(kind) if isinstance(kind, str) else None,
            )
        )
    return tuple(shown)


def _valid_for(credential: Mapping[str, Any] | None) -> str | None:
    """How long the credential is valid for, from its start to its end (None: no end)."""
    if not isinstance(credential, Mapping):
        return None
    start = when(text(credential.get("validFrom") or credential.get("issuanceDate")))
    end = when(text(credential.get("validUntil") or credential.get("expirationDate")))
    if start is None or end is None:
        return None
    try:
        span = datetime.fromisoformat(end.raw) - datetime.fromisoformat(start.raw)
    except (ValueError, TypeError):  # unreadable, or one with a zone and one without
        return None
    return duration_words(span.total_seconds() / 86400) if span.total_seconds() > 0 else None


def result_view(
    report: VerificationReport,
    default_image: str | None = None,
    issuer_logo: str | None = None,
) -> ResultView:
    """`default_image`: the badge art to show when the credential names no image;
    `issuer_logo`: where this service serves the issuer's logo (a badge from elsewhere has
    none shown: its logo would be loaded from anywhere)."""
    label, symbol, summary = _VERDICTS[report.verdict]
    display = report.display
    issuer = display.issuer_name or display.issuer_id
    credential = report.credential
    achievement = _achievement(credential)
    issued_on = when(display.issued_on)
    expires = when(display.expires)
    return ResultView(
        verdict=report.verdict.value,
        headline=_headline(report, label),
        symbol=symbol,
        summary=summary,
        reason=report.reason,
        checks=tuple(_check_view(check) for check in report.checks),
        dimensions=tuple(
            _dimension_view(result)
            for result in report.dimensions.values()
            if result.dimension in _SHOWN_ALWAYS or result.state != "not_checked"
        ),
        display=display,
        has_credential=report.credential is not None,
        image=image_src(display.image) or default_image,
        issuer_link=Link(issuer, http_url(display.issuer_url)) if issuer else None,
        issuer_id=display.issuer_id if display.issuer_id != issuer else None,
        issuer_image=issuer_logo,
        issued_on=issued_on,
        expires=expires,
        valid_for=_valid_for(credential),
        kind=type_words(display.achievement_type),
        evidence=_evidence(credential),
        tags=_tags(achievement),
        alignments=_alignments(achievement),
        counts_toward=tuple(
            Link(name, http_url(url)) for name, url in (*display.stacks, *display.lattice_roles)
        ),
        criteria_link=http_url(display.criteria_url),
        status_words=_status_words(report),
    )
