"""The master key that encrypts issuer private keys at rest (AES-256-GCM).

A database dump alone must not yield signing keys, so each private key is stored as
`0x01 || 12-byte random nonce || ciphertext+tag`, encrypted under a 32-byte master key kept
outside the database (a file or an environment value). The caller passes a `context` such
as `b"issuer-key:<uuid>"` as associated data: a blob copied to another row fails to
decrypt instead of silently becoming that row's key.

The key's text form is unpadded base64url. Neither the text nor the key ever appears in
a repr or an error message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_LENGTH: Final = 32
NONCE_LENGTH: Final = 12
TAG_LENGTH: Final = 16
FORMAT_VERSION: Final = b"\x01"
FILE_MODE: Final = 0o600

_TEXT_FORM: Final = re.compile(r"[A-Za-z0-9_-]{43}")


class KeyDecryptionError(Exception):
    """A blob could not be decrypted: wrong master key or context, altered, or malformed."""


class MasterKey:
    """A 256-bit AES-GCM key; encrypts and decrypts blobs bound to a context."""

    __slots__ = ("_aead", "_key")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_LENGTH:
            raise ValueError(f"a master key is {KEY_LENGTH} bytes")
        self._key = key
        self._aead = AESGCM(key)

    @classmethod
    def generate(cls) -> MasterKey:
        """A new random master key."""
        return cls(secrets.token_bytes(KEY_LENGTH))

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        """Parse the text form: unpadded base64url of 32 bytes (43 characters)."""
        if not isinstance(text, str):
            raise ValueError(f"master key text must be a string, not {type(text).__name__}")
        if not _TEXT_FORM.fullmatch(text):
            # Say what is wrong without echoing what may be a secret.
            raise ValueError(
                "master key text must be 43 characters of unpadded base64url (32 bytes); "
                f"got {len(text)} characters"
            )
        try:
            key = base64.urlsafe_b64decode(text + "=")
        except binascii.Error:
            raise ValueError("master key text is not valid base64url") from None
        if _encode(key) != text:
            # The last character carries 2 unused bits; only one spelling is canonical.
            raise ValueError("master key text is not canonical base64url")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKey:
        """Read the key file at `path`; if there is none, create it (mode 0600).

        Creation publishes a complete file atomically and never replaces one: when two
        processes start at once, the loser reads the winner's key, so both agree.
        """
        try:
            return cls._read(path)
        except FileNotFoundError:
            pass
        candidate = cls.generate()
        if _create_exclusively(path, candidate.to_text() + "\n"):
            return candidate
        return cls._read(path)

    @classmethod
    def _read(cls, path: Path) -> MasterKey:
        try:
            return cls.from_text(path.read_text(encoding="ascii").strip())
        except ValueError as error:
            raise ValueError(f"master key file {path}: {error}") from None

    def to_text(self) -> str:
        """The text form, for a key file or an environment variable."""
        return _encode(self._key)

    def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        """`0x01 || nonce || AES-256-GCM(plaintext)`, with `context` as associated data."""
        _require_bytes(plaintext, "plaintext")
        _require_bytes(context, "context")
        nonce = secrets.token_bytes(NONCE_LENGTH)
        return FORMAT_VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, *, context: bytes) -> bytes:
        """The plaintext of `blob`; KeyDecryptionError unless key, context and blob all fit."""
        _require_bytes(blob, "blob")
        _require_bytes(context, "context")
        if len(blob) < len(FORMAT_VERSION) + NONCE_LENGTH + TAG_LENGTH:
            raise KeyDecryptionError(f"encrypted blob is too short ({len(blob)} bytes)")
        if blob[:1] != FORMAT_VERSION:
            raise KeyDecryptionError(f"encrypted blob has unknown format version {blob[0]}")
        nonce, ciphertext = blob[1 : 1 + NONCE_LENGTH], blob[1 + NONCE_LENGTH :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context)
        except InvalidTag:
            raise KeyDecryptionError(
                "cannot decrypt: wrong master key, wrong context, or the blob was altered"
            ) from None

    def derive_key(self, purpose: bytes, length: int = 32) -> bytes:
        """An independent subkey for `purpose` (HKDF-SHA256): one secret to keep, many uses."""
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(
            self._key
        )

    def __repr__(self) -> str:
        return "MasterKey(<hidden>)"


def _encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def _require_bytes(value: object, name: str) -> None:
    if not isinstance(value, bytes):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")


def _create_exclusively(path: Path, text: str) -> bool:
    """Create `path` holding `text` (mode 0600) unless it exists; False if it already did.

    The content goes to a private temporary file first (O_CREAT|O_EXCL), which is then
    hard-linked to `path`. link() fails if `path` exists, like O_EXCL, but a reader can
    never see the file empty or half written.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            os.fchmod(file.fileno(), FILE_MODE)  # exactly 0600, whatever the umask
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True
