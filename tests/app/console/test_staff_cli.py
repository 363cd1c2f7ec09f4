"""`lattice staff ...`: accounts for people, from a shell (no service is started)."""

from __future__ import annotations

from pathlib import Path

from tests.app.test_cli import env, lattice, lattice_fails  # noqa: F401  # `env` is a fixture

# ruff: noqa: F811


def test_staff_are_added_listed_and_disabled_with_a_date(env: dict[str, str], tmp_path: Path):
    lattice(env, "issuer", "create", "nea", "--name", "National Education Association")
    lattice(env, "agency", "create", "tea", "--name", "Texas Education Agency", "--state", "TX")
    added = lattice(env, "staff", "add", "--email", "Pat@Example.org", "--issuer", "nea")
    admin = lattice(
        env, "staff", "add", "--email", "pat@example.org", "--agency", "tea", "--role", "admin"
    )
    disabled = lattice(env, "staff", "disable", "--email", "PAT@example.org")
    listed = lattice(env, "staff", "list")

    assert added == {"email": "p•••@example.org", "issuer": "nea", "role": "staff"}
    assert admin["role"] == "admin" and admin["agency"]
    [account] = listed["staff"]  # type: ignore[misc]
    assert account["email"] == "p•••@example.org"
    assert account["disabled_at"] == disabled["disabled_at"] is not None
    assert [(m["kind"], m["slug"], m["role"]) for m in account["memberships"]] == [
        ("issuer", "nea", "staff"),
        ("agency", "tea", "admin"),
    ]
    # The address itself is never stored: only its keyed hash and the masked label.
    assert b"pat@example.org" not in (tmp_path / "data" / "lattice.db").read_bytes().lower()


def test_a_disabled_account_is_not_added_again(env: dict[str, str]):
    lattice(env, "issuer", "create", "nea", "--name", "National Education Association")
    lattice(env, "staff", "add", "--email", "sam@example.org", "--issuer", "nea")
    lattice(env, "staff", "disable", "--email", "sam@example.org")

    refused = lattice_fails(env, "staff", "add", "--email", "sam@example.org", "--issuer", "nea")

    assert "disabled on" in refused


def test_staff_add_names_exactly_one_place_and_a_known_role(env: dict[str, str]):
    lattice(env, "issuer", "create", "nea", "--name", "National Education Association")

    neither = lattice_fails(env, "staff", "add", "--email", "a@example.org")
    unknown = lattice_fails(env, "staff", "add", "--email", "a@example.org", "--issuer", "nope")
    role = lattice_fails(
        env, "staff", "add", "--email", "a@example.org", "--issuer", "nea", "--role", "owner"
    )

    assert "either --issuer or --agency" in neither
    assert "nope" in unknown
    assert "owner" in role
