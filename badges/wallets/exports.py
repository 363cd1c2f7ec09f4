"""Taking a badge elsewhere: baked PNG and SVG files, the picture, the LinkedIn link.

Baked files carry the credential JSON exactly as it was signed, not the VC-JWT. OB 3.0
§5.3 allows either; the JSON keeps its embedded `eddsa-rdfc-2022` proof, which is what
wallets and verifiers of the Learner Credential Wallet family check, while the VC-JWT
stays a download of its own (`.jwt`).

The picture a badge is baked into is the achievement's own image when that is a PNG (for
`.png`) or a safe SVG (for `.svg`), read from a `data:` URI or through the caller's
`fetch`: the service passes its `SafeFetcher`, so nothing on a private address is ever
requested and a slow or failing host costs only the default picture. Anything else (no
image, a JPEG, an SVG for a PNG download, a fetch that fails) gets the service's default
badge image, drawn for this achievement.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import quote, unquote_to_bytes, urlencode
from xml.etree import ElementTree

from badges.issuing.badge_art import (
    default_png,
    default_svg,
)
from formats.baking import (
    PNG_SIGNATURE,
    BakingError,
    bake_png,
    bake_svg,
)
from storage.models import Credential

ImageKind = Literal["png", "svg"]
# Fetches an image URL: its bytes, or None when it cannot be had (never raises).
ImageFetch = Callable[[str], Awaitable[bytes | None]]

MAX_IMAGE_BYTES: Final = 1024 * 1024
LINKEDIN_ADD_TO_PROFILE: Final = "https://www.linkedin.com/profile/add"
SVG_NAMESPACE: Final = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class BadgeFacts:
    """What a person sees of a stored credential, read from its signed document."""

    credential_id: uuid.UUID
    name: str
    description: str
    issuer_name: str
    achievement_id: str
    image: str | None
    issued: datetime
    expires: datetime | None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _image_id(value: Any) -> str | None:
    value = _first(value)
    found = value.get("id") if isinstance(value, Mapping) else value
    return found if isinstance(found, str) and found else None


def badge_facts(row: Credential) -> BadgeFacts:
    document = json.loads(row.document)
    achievement = _dict(_dict(_first(document.get("credentialSubject"))).get("achievement"))
    issuer = document.get("issuer")
    issuer_name = _dict(issuer).get("name") if isinstance(issuer, Mapping) else None
    name = achievement.get("name") or document.get("name") or "Badge"
    return BadgeFacts(
        credential_id=row.id,
        name=str(name),
        description=str(achievement.get("description") or ""),
        issuer_name=str(issuer_name or (issuer if isinstance(issuer, str) else "")),
        achievement_id=str(achievement.get("id") or f"urn:uuid:{row.id}"),
        image=_image_id(achievement.get("image")),
        issued=row.awarded_date or row.valid_from,
        expires=row.valid_until,
    )


# --- the picture ---------------------------------------------------------------------------

_DATA_URI: Final = re.compile(
    r"data:(image/[\w.+-]+)((?:;[\w.-]+=[^;,]*)*)(;base64)?,(.*)\Z", re.IGNORECASE | re.DOTALL
)


def data_uri_bytes(uri: str, limit: int = MAX_IMAGE_BYTES) -> bytes | None:
    """The bytes of a `data:image/...` URI; None if it is not one, is malformed or too big."""
    match = _DATA_URI.match(uri)
    if match is None or len(uri) > limit * 2:
        return None
    payload = match.group(4)
    try:
        body = (
            base64.b64decode(payload, validate=False)
            if match.group(3)
            else unquote_to_bytes(payload)
        )
    except (binascii.Error, ValueError):
        return None
    return body if len(body) <= limit else None


_UNSAFE_ELEMENTS: Final = {"script", "foreignobject", "iframe", "embed", "object", "audio", "video"}
# References that would make the picture load something from elsewhere when opened.
_OUTSIDE_REFERENCE: Final = re.compile(
    r"<!ENTITY|<!DOCTYPE[^>]*\[|<\?xml-stylesheet|@import|url\(\s*['\"]?\s*(?!#)", re.IGNORECASE
)


def safe_svg(data: bytes) -> str | None:
    """`data` as SVG text if it is an SVG document with no script, event handler or
    reference outside itself (the teacher will open the file); None otherwise."""
    try:
        text = data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return None
    if _OUTSIDE_REFERENCE.search(text):
        return None
    try:
        root = ElementTree.fromstring(text)  # noqa: S314  # entities and DTD subsets refused above
    except ElementTree.ParseError:
        return None
    if root.tag != f"{SVG_NAMESPACE}svg":
        return None
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag.rsplit("}", 1)[-1].lower() in _UNSAFE_ELEMENTS:
            return None
        for attribute, value in element.attrib.items():
            name = attribute.rsplit("}", 1)[-1].lower()
            if name.startswith("on"):
                return None
            if name == "href" and not value.strip().startswith(("#", "data:image/")):
                return None
    return text


async def _image_bytes(facts: BadgeFacts, fetch: ImageFetch) -> bytes | None:
    if not facts.image:
        return None
    if facts.image.lower().startswith("data:"):
        return data_uri_bytes(facts.image)
    if facts.image.lower().startswith(("https://", "http://")):
        return await fetch(facts.image)
    return None


def _as_kind(body: bytes | None, kind: ImageKind) -> bytes | None:
    if body is None:
        return None
    if kind == "png":
        return body if body.startswith(PNG_SIGNATURE) else None
    text = safe_svg(body)
    return text.encode("utf-8") if text is not None else None


async def own_image(facts: BadgeFacts, kind: ImageKind, fetch: ImageFetch) -> bytes | None:
    """The achievement's own picture in the format `kind`, if it has a usable one."""
    return _as_kind(await _image_bytes(facts, fetch), kind)


def default_image(facts: BadgeFacts, kind: ImageKind) -> bytes:
    if kind == "png":
        return default_png(facts.achievement_id, facts.name, facts.issuer_name)
    return default_svg(facts.achievement_id, facts.name, facts.issuer_name).encode("utf-8")


async def badge_picture(facts: BadgeFacts, fetch: ImageFetch) -> tuple[ImageKind, bytes]:
    """The picture to show for a badge: its own PNG or SVG, else the default SVG."""
    body = await _image_bytes(facts, fetch)
    kinds: tuple[ImageKind, ...] = ("png", "svg")
    for kind in kinds:
        found = _as_kind(body, kind)
        if found is not None:
            return kind, found
    return "svg", default_image(facts, "svg")


async def baked_badge(row: Credential, kind: ImageKind, fetch: ImageFetch) -> bytes:
    """The badge image with its credential JSON baked in (OB 3.0 §5.3)."""
    facts = badge_facts(row)
    picture = await own_image(facts, kind, fetch)
    if picture is not None:
        try:
            return _bake(kind, picture, row.document)
        except BakingError:
            pass  # a picture that cannot carry the credential: use the default one
    return _bake(kind, default_image(facts, kind), row.document)


def _bake(kind: ImageKind, picture: bytes, document: str) -> bytes:
    if kind == "png":
        return bake_png(picture, document)
    return bake_svg(picture.decode("utf-8"), document).encode("utf-8")


# --- LinkedIn ------------------------------------------------------------------------------


def linkedin_url(facts: BadgeFacts, certificate_url: str) -> str:
    """LinkedIn's "Add to profile" link for a certification, with every field filled in."""
    parameters = {
        "startTask": "CERTIFICATION_NAME",
        "name": facts.name,
        "organizationName": facts.issuer_name,
        "issueYear": str(facts.issued.year),
        "issueMonth": str(facts.issued.month),
    }
    if facts.expires is not None:
        parameters["expirationYear"] = str(facts.expires.year)
        parameters["expirationMonth"] = str(facts.expires.month)
    parameters["certUrl"] = certificate_url
    parameters["certId"] = str(facts.credential_id)
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(parameters, quote_via=quote)}"
