"""What the employer handed us, recognised by content (never by file name) and bounded.

A presented credential arrives as a JSON object, a compact JWS, a baked PNG or SVG, or the
bytes of any of those (an upload, a fetched URL). `read_presented` turns it into a
`Presented`: either a credential object (embedded proof) or a JWS string. Hostile input
(too big, nested past any real credential, a decompression bomb, an SVG with entities) is
refused with an `InputError` whose message says what was wrong, which the HTTP layer
renders as a 4xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from formats.baking import (
    PNG_SIGNATURE,
    BakingError,
    unbake_png,
    unbake_svg,
)

_COMPACT_JWS: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class InputError(ValueError):
    """The presented input is not something a credential can be read from."""


@dataclass(frozen=True)
class InputLimits:
    """Bounds on what is read; the defaults fit any real badge with room to spare."""

    max_input_bytes: int = 8 * 1024 * 1024  # a baked image
    max_credential_bytes: int = 1024 * 1024  # the credential text itself
    max_json_depth: int = 64


Container = Literal["json", "jwt", "png", "svg"]


@dataclass(frozen=True)
class Presented:
    """A credential as presented: `credential` (embedded proof) or `jwt`, never both."""

    container: Container
    credential: dict[str, Any] | None = None
    jwt: str | None = None


def _depth_ok(value: Any, limit: int) -> bool:
    """Whether `value` nests no deeper than `limit` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping | list):
            if depth > limit:
                return False
            children = node.values() if isinstance(node, Mapping) else node
            stack.extend((child, depth + 1) for child in children)
    return True


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); Python would accept them and JSON-LD choke.
    raise ValueError(f"{name} is not a JSON value")


def parse_json_credential(text: str, limits: InputLimits = InputLimits()) -> dict[str, Any]:
    """Parse credential JSON: an object, within the size and nesting limits."""
    if len(text.encode("utf-8")) > limits.max_credential_bytes:
        raise InputError(f"credential is larger than {limits.max_credential_bytes} bytes")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InputError(f"JSON nests deeper than {limits.max_json_depth} levels") from None
    except ValueError as error:
        raise InputError(f"not valid JSON: {error}") from None
    return check_credential_object(value, limits)


def check_credential_object(value: Any, limits: InputLimits = InputLimits()) -> dict[str, Any]:
    """A JSON value that must be an object nesting within the limit."""
    if not isinstance(value, dict):
        raise InputError(f"a credential must be a JSON object, not {type(value).__name__}")
    if not _depth_ok(value, limits.max_json_depth):
        raise InputError(f"JSON nests deeper than {limits.max_json_depth} levels")
    return value


def _from_text(text: str, container: Container, limits: InputLimits) -> Presented:
    text = text.lstrip("\ufeff").strip()
    if text.startswith("{"):
        return Presented(container, credential=parse_json_credential(text, limits))
    if _COMPACT_JWS.fullmatch(text):
        if len(text) > limits.max_credential_bytes:
            raise InputError(f"JWT is larger than {limits.max_credential_bytes} bytes")
        return Presented("jwt" if container == "json" else container, jwt=text)
    if container == "json" and text.startswith("<") and re.search(r"<svg\b", text[:4096]):
        try:
            inner = unbake_svg(text, max_text_bytes=limits.max_credential_bytes)
        except BakingError as error:
            raise InputError(str(error)) from None
        return _from_text(inner, "svg", limits)
    if container != "json":
        raise InputError(f"the baked {container} holds neither credential JSON nor a JWT")
    raise InputError(
        "not a credential: expected JSON, a compact JWS (VC-JWT), or a baked PNG/SVG image"
    )


def read_presented(
    data: bytes | str | Mapping[str, Any], limits: InputLimits = InputLimits()
) -> Presented:
    """Recognise and read a presented credential; InputError if it is not one."""
    if isinstance(data, Mapping):
        return Presented("json", credential=check_credential_object(dict(data), limits))
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8"))
    if size > limits.max_input_bytes:
        raise InputError(f"input is larger than {limits.max_input_bytes} bytes")
    if isinstance(data, bytes):
        if data.startswith(PNG_SIGNATURE):
            try:
                inner = unbake_png(data, max_text_bytes=limits.max_credential_bytes)
            except BakingError as error:
                raise InputError(str(error)) from None
            return _from_text(inner, "png", limits)
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("input is neither UTF-8 text nor a PNG image") from None
    if not data.strip():
        raise InputError("input is empty")
    return _from_text(data, "json", limits)
