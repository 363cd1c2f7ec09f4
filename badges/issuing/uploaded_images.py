"""Badge images a provider uploads (from the console): PNG only, checked and kept as sent.

PNG because it is what Open Badges bakes into and what every verifier shows; an uploaded
SVG could carry script. The image is served at a public URL (`image_url`), which the
achievement names, as it would name an image hosted elsewhere.
"""

from __future__ import annotations

import struct
import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput, NotFound
from storage.models import Issuer, UploadedImage

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
MAX_BYTES: Final = 1024 * 1024
MAX_SIDE: Final = 4096


def check_png(body: bytes) -> None:
    """InvalidInput (field `image`) unless `body` is a PNG of sensible size."""
    if len(body) > MAX_BYTES:
        raise InvalidInput("the image is larger than 1 MB", field=("image",))
    # The signature, then the IHDR chunk: length 13, type, width and height.
    if len(body) < 24 or body[:8] != PNG_SIGNATURE or body[12:16] != b"IHDR":
        raise InvalidInput("the image must be a PNG file", field=("image",))
    width, height = struct.unpack(">II", body[16:24])
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise InvalidInput(
            f"the image must be between 1 and {MAX_SIDE} pixels each way", field=("image",)
        )


async def store_image(session: AsyncSession, issuer: Issuer, body: bytes) -> UploadedImage:
    check_png(body)
    row = UploadedImage(id=uuid.uuid4(), issuer_id=issuer.id, media_type="image/png", body=body)
    session.add(row)
    await session.flush()
    return row


async def get_image(session: AsyncSession, image_id: uuid.UUID) -> UploadedImage:
    row = await session.get(UploadedImage, image_id)
    if row is None:
        raise NotFound(f"no image {image_id}")
    return row


def image_url(public_url: str, image_id: uuid.UUID) -> str:
    return f"{public_url}/images/{image_id}.png"
