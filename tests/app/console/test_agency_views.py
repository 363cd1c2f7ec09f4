"""The rule editor's form and the rule it stands for, both ways, without a database."""

from __future__ import annotations

import pytest

from app.console.agency_views import (
    FormError,
    StackForm,
    days_to_years,
    form_of,
    rule_of,
    stack_details,
    years_to_days,
)

A, B, C = (f"https://lattice.example/achievements/{n}" for n in "abc")
S = "https://lattice.example/stacks/1"


def test_five_years_is_the_readmes_1826_days_and_back():
    assert years_to_days("5") == 1826
    assert days_to_years(1826) == "5"
    assert years_to_days("") is None and days_to_years(None) == ""


@pytest.mark.parametrize(
    ("form", "rule", "purpose"),
    [
        (
            StackForm(kind="approved", count="3", pool_purpose="license_renewal"),
            {"approvedFor": "license_renewal", "count": 3},
            "license_renewal",
        ),
        (
            StackForm(kind="achievements", count="2", achievements=(A, B, C)),
            {"any": [{"achievement": A}, {"achievement": B}, {"achievement": C}], "count": 2},
            None,
        ),
        (
            StackForm(kind="achievements", count="2", achievements=(A,), other_achievements=B),
            {"all": [{"achievement": A}, {"achievement": B}]},
            None,
        ),
        (StackForm(kind="stacks", count="", stacks=(S,)), {"all": [{"stack": S}]}, None),
    ],
)
def test_each_shape_builds_the_api_rule(form: StackForm, rule: dict[str, object], purpose: str):
    assert rule_of(form) == (rule, purpose)


@pytest.mark.parametrize(
    ("rule", "purpose", "kind", "count"),
    [
        ({"approvedFor": "license_renewal", "count": 3}, "license_renewal", "approved", "3"),
        ({"any": [{"achievement": A}, {"achievement": B}], "count": 1}, None, "achievements", "1"),
        ({"all": [{"stack": S}]}, None, "stacks", "1"),
        ({"all": [{"stack": S}, {"any": [{"achievement": A}]}]}, None, "advanced", "3"),
    ],
)
def test_a_stored_rule_opens_in_its_shape(
    rule: dict[str, object], purpose: str, kind: str, count: str
):
    form = form_of("RENEW", "Renewal", None, rule, 1826, purpose, "earned")

    assert (form.kind, form.count, form.window) == (kind, count, "5")
    assert rule_of(form)[0] == rule or kind == "advanced"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (StackForm(code="", name="R"), "code"),
        (StackForm(code="R", name="R", count="0"), "count"),
        (StackForm(code="R", name="R", window="101"), "window"),
        (StackForm(code="R", name="R", kind="stacks"), "stacks"),
        (StackForm(code="R", name="R", kind="advanced", advanced="[1]"), "advanced"),
    ],
)
def test_a_form_the_editor_can_tell_is_wrong_names_its_field(form: StackForm, field: str):
    with pytest.raises(FormError) as refused:
        stack_details(form)

    assert refused.value.field == field
