"""The README's settings table is the operator's reference: it names every setting the
service reads, with the default the code really has and what the setting does.

A row may name several variables; its default cell then lists their defaults in the same
order. A default is written `value` (as the environment would spell it) or `unset`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
# Settings that switch off part of a safety check: each row must say who they are for.
WEAKENING = (
    "LATTICE_FETCH_ALLOW_HTTP",
    "LATTICE_FETCH_ALLOW_PRIVATE",
    "LATTICE_WEBHOOKS_ALLOW_HTTP",
    "LATTICE_WEBHOOKS_ALLOW_PRIVATE",
)


@dataclass(frozen=True)
class Documented:
    default: str
    meaning: str


def documented_settings() -> dict[str, Documented]:
    """Each variable of the one table under README "## Settings", with its row's text."""
    section = README.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1]
    lines = section.split("\n| variable |", 1)[1].splitlines()[2:]
    found: dict[str, Documented] = {}
    for line in lines:
        if not line.startswith("|"):
            break
        variables, defaults, meaning = (cell.strip() for cell in line.strip("|").split(" | "))
        names = re.findall(r"`(LATTICE_[A-Z_]+)`", variables)
        values = re.findall(r"`[^`]*`|unset", defaults)
        assert len(names) == len(values), f"one default per variable: {line}"
        found |= {
            name: Documented(value, meaning) for name, value in zip(names, values, strict=True)
        }
    return found


def readme_default(value: Any) -> str:
    """A field default as the README writes it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def test_every_setting_is_documented_in_the_one_readme_table() -> None:
    documented = set(documented_settings())
    expected = {f"LATTICE_{name.upper()}" for name in Settings.model_fields}

    assert sorted(expected - documented) == []
    assert sorted(documented - expected) == []  # no row for a setting that is gone


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_each_row_gives_the_real_default_and_a_meaning(name: str) -> None:
    row = documented_settings()[f"LATTICE_{name.upper()}"]

    assert row.default == readme_default(Settings.model_fields[name].default)
    assert len(row.meaning) > 10


@pytest.mark.parametrize("variable", WEAKENING)
def test_settings_that_weaken_a_safety_check_say_they_are_for_development(variable: str):
    row = documented_settings()[variable]

    assert row.default == "`false`"
    assert row.meaning.startswith("**Development and tests only.**")
    field = Settings.model_fields[variable.removeprefix("LATTICE_").lower()]
    assert (field.description or "").startswith("Development and tests only:")
