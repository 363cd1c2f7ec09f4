"""Where endorsements are found (verification/steps/endorsements.py); that each is verified
is shown with the spec's full example in test_spec_examples.py."""

from __future__ import annotations

from typing import Any

from verification.steps.endorsements import MAX_PROFILES, embedded_endorsements


def test_endorsements_are_looked_for_on_every_embedded_profile() -> None:
    def endorsed(name: str, **more: Any) -> dict[str, Any]:
        return {"id": name, "type": ["Profile"], "endorsementJwt": [f"{name}.jwt.x"], **more}

    holders = embedded_endorsements(
        {
            "issuer": endorsed("issuer", parentOrg=endorsed("issuer-parent")),
            "credentialSubject": {
                "source": endorsed("source"),
                "achievement": {"creator": endorsed("creator")},
            },
        }
    )

    tokens = {presented.jwt for presented in holders}
    assert tokens == {f"{name}.jwt.x" for name in ("issuer", "issuer-parent", "source", "creator")}


def test_a_parent_organisation_chain_is_followed_only_so_far() -> None:
    profile: dict[str, Any] = {"id": "root", "endorsementJwt": ["root.jwt.x"]}
    for depth in range(50):
        profile = {"id": f"p{depth}", "endorsementJwt": [f"p{depth}.jwt.x"], "parentOrg": profile}

    assert len(embedded_endorsements({"issuer": profile})) == MAX_PROFILES
