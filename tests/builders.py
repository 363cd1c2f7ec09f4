"""Documents the tests sign or send, built in one place."""

from __future__ import annotations

import struct
import zlib
from typing import Any

VC1 = "https://www.w3.org/2018/credentials/v1"
VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def unsigned_open_badge(
    issuer_id: str,
    *contexts: str,
    subject_id: str | None = None,
    issuer_name: str = "Digital Promise",
) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential with neither `id` nor a start date."""
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if subject_id:
        subject["id"] = subject_id
    subject["achievement"] = {
        "id": "https://example.org/achievements/family-engagement",
        "type": ["Achievement"],
        "name": "Family Engagement",
        "description": "Plans and runs family literacy nights.",
        "criteria": {"narrative": "Host two events and reflect on them."},
    }
    return {
        "@context": list(contexts or (VC2, OB3)),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Family Engagement",
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": issuer_name},
        "credentialSubject": subject,
    }


def tiny_png() -> bytes:
    """A valid 1x1 white PNG, built chunk by chunk (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
