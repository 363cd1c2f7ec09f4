"""The proof step signs off the expansion the jsonld step made, rather than expanding again."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from schemas.jsonld import expand
from tests.verification.support import DidKeyIssuer, fixed_clock
from verification import CheckStatus, Verdict, Verifier
from verification.context import RunContext
from verification.fetch import DEFAULT_ACCEPT, FetchedDocument
from verification.report import CheckResult
from verification.steps import DEFAULT_STEPS
from verification.steps.jsonld import JsonLdStep


class NoNetwork:
    async def fetch(self, url: str, *, accept: str = DEFAULT_ACCEPT) -> FetchedDocument:
        raise AssertionError(f"unexpected fetch of {url}")


class SwappedExpansion:
    """The jsonld step, then the expansion on the run context replaced by another one's."""

    id: ClassVar[str] = JsonLdStep.id
    title: ClassVar[str] = JsonLdStep.title
    dimension = JsonLdStep.dimension

    def __init__(self, replacement: list[Any]) -> None:
        self.replacement = replacement

    async def run(self, ctx: RunContext) -> CheckResult:
        checked = await JsonLdStep().run(ctx)
        assert ctx.expanded_credential is not None
        ctx.expanded_credential = self.replacement
        return checked


def verifier_with(jsonld_step: Any) -> Verifier:
    steps = [jsonld_step if step.id == "jsonld" else step for step in DEFAULT_STEPS]
    return Verifier(fetcher=NoNetwork(), clock=fixed_clock, steps=steps)


async def test_the_jsonld_step_keeps_the_expansion_of_the_credential_without_its_proof() -> None:
    credential = DidKeyIssuer().issue()
    kept: list[Any] = []

    class Keep(SwappedExpansion):
        async def run(self, ctx: RunContext) -> CheckResult:
            checked = await JsonLdStep().run(ctx)
            kept.append(ctx.expanded_credential)
            return checked

    report = await verifier_with(Keep([])).verify(credential)
    assert report.verdict is Verdict.VERIFIED
    unsecured = {key: value for key, value in credential.items() if key != "proof"}
    assert kept == [expand(unsecured)]


async def test_the_proof_step_canonicalizes_the_shared_expansion() -> None:
    # Given the expansion of a different credential, the signature no longer matches: the
    # proof step used what the jsonld step left, and did not expand the credential again.
    issuer = DidKeyIssuer()
    credential = issuer.issue()
    other = {key: value for key, value in copy.deepcopy(credential).items() if key != "proof"}
    other["name"] = "Another badge"
    report = await verifier_with(SwappedExpansion(expand(other))).verify(credential)
    assert report.check("proof").status is CheckStatus.FAILED
    assert "signature does not match" in report.check("proof").message

    same = {key: value for key, value in credential.items() if key != "proof"}
    report = await verifier_with(SwappedExpansion(expand(same))).verify(credential)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
