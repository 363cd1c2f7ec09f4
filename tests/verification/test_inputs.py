"""Recognising what was presented, by content, and refusing hostile input clearly."""

from __future__ import annotations

import json

import pytest

from formats.baking import (
    bake_png,
    bake_svg,
)
from tests.formats.test_baking import (
    VALIDATOR_SVG,
    tiny_png,
)
from tests.verification.support import VALIDATOR, DidKeyIssuer, fixed_clock
from verification import InputError, InputLimits, Verdict, Verifier, read_presented
from verification.fetch import MappedFetcher


def test_json_object_text_and_bytes() -> None:
    for given in ({"a": 1}, '  {"a": 1}', b'\xef\xbb\xbf{"a": 1}'):
        presented = read_presented(given)
        assert presented.container == "json" and presented.credential == {"a": 1}


def test_compact_jws_is_recognised() -> None:
    presented = read_presented(b"eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2ln\n")
    assert (
        presented.container == "jwt"
        and presented.jwt == "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2ln"
    )


@pytest.mark.parametrize(
    ("name", "container", "form"),
    [
        ("simple-json.png", "png", "credential"),
        ("simple-jwt.png", "png", "jwt"),
        ("simple-json.svg", "svg", "credential"),
        ("simple-jwt.svg", "svg", "jwt"),
    ],
)
def test_1edtech_baked_fixtures(name: str, container: str, form: str) -> None:
    presented = read_presented((VALIDATOR / name).read_bytes())
    assert presented.container == container
    assert getattr(presented, form) is not None


def test_huge_input_is_refused() -> None:
    with pytest.raises(InputError, match="larger than 1000 bytes"):
        read_presented(b"{" + b" " * 2000 + b"}", InputLimits(max_input_bytes=1000))


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deep_json_nesting_is_refused(depth: int) -> None:
    text = '{"a":' * depth + "1" + "}" * depth
    limits = InputLimits(max_credential_bytes=10_000_000, max_input_bytes=10_000_000)
    with pytest.raises(InputError, match="nests deeper than 64 levels"):
        read_presented(text, limits)


def test_not_json_or_a_list() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        read_presented("{nope")
    with pytest.raises(InputError, match="not a credential"):
        read_presented("[1, 2]")
    with pytest.raises(InputError, match="neither UTF-8 text nor a PNG"):
        read_presented(b"\xff\xfe\x00junk")
    with pytest.raises(InputError, match="empty"):
        read_presented("   ")


def test_svg_entity_bomb_is_an_input_error() -> None:
    laughs = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "a">]><svg xmlns="http://www.w3.org/2000/svg"/>'
    with pytest.raises(InputError, match="ENTITY"):
        read_presented(laughs.encode())


async def test_baked_png_and_svg_verify_end_to_end() -> None:
    signed = DidKeyIssuer().issue()
    verifier = Verifier(fetcher=MappedFetcher({}), clock=fixed_clock)
    png = await verifier.verify(bake_png(tiny_png(), signed))
    svg = await verifier.verify(bake_svg(VALIDATOR_SVG, json.dumps(signed)).encode())
    assert png.verdict is Verdict.VERIFIED and svg.verdict is Verdict.VERIFIED
    assert read_presented(bake_png(tiny_png(), signed)).container == "png"
