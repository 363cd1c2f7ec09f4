"""The OB 3.0 spec examples and the eddsa-rdfc-2022 test vector (../shared/specs/ob3), and what
test_validator_fixtures.py leaves unasserted about the 1EdTech fixtures: why each
simple-err-* fixture fails, in the words of the check that fires.

The spec examples are published unsigned (the spec renderer adds proofs). As published they
are invalid on the proof; signed here by a key each issuer publishes in its controller
document (its https `id`, served offline through a URL -> document map, as OB 3.0 §8.5 key
dereferencing does), each gets the verdict below. Nothing is fetched.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys.data_integrity import sign_document
from keys.multikey import encode_ed25519_public_key
from tests.verification.support import SIGNED_AT, V2, VALIDATOR, fixed_clock
from tests.verification.test_status import encoded_list
from tests.verification.test_validator_fixtures import offline_web
from verification import CheckStatus, Verdict, Verifier
from verification.fetch import MappedFetcher
from verification.model import issuer_id

SPECS = VALIDATOR.parents[1]
EXAMPLES = SPECS / "examples" / "spec-v1.2"
VECTOR = json.loads(
    (SPECS / "test-vectors" / "eddsa-rdfc-2022" / "ob3-ldp-test-vector.json").read_text("utf-8")
)
EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
STATUS_INDEX = 23  # the index the v1.4.2+ examples use


def before_2020() -> datetime:
    """fullOpenBadge's endorsements are valid 2010-2020."""
    return datetime(2019, 6, 1, tzinfo=UTC)


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return document


@dataclass
class IssuersWeb:
    """Each https issuer's key, its controller document and (on request) its status list."""

    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # issuers whose list has the bit set

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        issuer = issuer_id(document)
        assert issuer is not None
        key = self.keys.setdefault(issuer, Ed25519PrivateKey.generate())
        return sign_document(document, key, f"{issuer}#key-1", SIGNED_AT)

    def status_entry(self, issuer: str) -> dict[str, Any]:
        """A BitstringStatusListEntry on the issuer's own list, as the v1.4.2 examples have."""
        url = status_list_url(issuer)
        return {
            "id": f"{url}#{STATUS_INDEX}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(STATUS_INDEX),
            "statusListCredential": url,
        }

    def documents(self) -> dict[str, str]:
        served: dict[str, Any] = {}
        for issuer, key in list(self.keys.items()):
            method = {
                "id": f"{issuer}#key-1",
                "type": "Multikey",
                "controller": issuer,
                "publicKeyMultibase": encode_ed25519_public_key(key.public_key()),
            }
            served[issuer] = {
                "id": issuer,
                "verificationMethod": [method],
                "assertionMethod": [method["id"]],
            }
            url = status_list_url(issuer)
            served[url] = self.sign(
                {
                    "@context": [V2],
                    "id": url,
                    "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                    "issuer": issuer,
                    "validFrom": "2010-01-01T00:00:00Z",
                    "credentialSubject": {
                        "id": f"{url}#list",
                        "type": "BitstringStatusList",
                        "statusPurpose": "revocation",
                        "encodedList": encoded_list(
                            *([STATUS_INDEX] if issuer in self.revoked else [])
                        ),
                    },
                }
            )
        return {url: json.dumps(document) for url, document in served.items()}

    def verifier(self, clock: Callable[[], datetime] = fixed_clock) -> Verifier:
        """A verifier of the web as it is now: sign everything before calling this."""
        return Verifier(fetcher=MappedFetcher(self.documents()), clock=clock)


def status_list_url(issuer: str) -> str:
    return f"https://{urlsplit(issuer).netloc}/credentials/revocationList"


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("*.json")))
async def test_published_examples_are_unsigned_and_so_invalid(name: str) -> None:
    report = await IssuersWeb().verifier().verify(example(name))
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "proof"
    assert report.decided_by.message == 'the credential has no "proof"'


SIGNED_EXAMPLES: list[tuple[str, Verdict, str | None]] = [
    ("basicOpenBadgeCredential.json", Verdict.VERIFIED, None),
    ("achievementAlignmentCase.json", Verdict.VERIFIED, None),
    ("achievementAlignmentCe.json", Verdict.VERIFIED, None),
    ("skillAssertionCase.json", Verdict.VERIFIED, None),
    ("skillAssertionCtdl.json", Verdict.VERIFIED, None),
    # The deprecated 1EdTechRevocationList (these pre-v1.4.2 examples) cannot be read, so
    # revocation cannot be ruled out.
    ("endorsement.json", Verdict.CANNOT_VERIFY, "status"),
    # Its embedded endorsements use 1EdTechJsonSchemaValidator2019 without the extensions
    # context: JSON-LD safe mode refuses them (as for the validator's complete.json).
    ("fullOpenBadge.json", Verdict.INVALID, "endorsements"),
]


@pytest.mark.parametrize(("name", "verdict", "check"), SIGNED_EXAMPLES, ids=lambda v: str(v))
async def test_signed_example_verdict(name: str, verdict: Verdict, check: str | None) -> None:
    web = IssuersWeb()
    signed = web.sign(example(name))
    report = await web.verifier().verify(signed)
    decided = report.decided_by.id if report.decided_by else None
    assert (report.verdict, decided) == (verdict, check), report.decided_by
    assert report.check("key_binding").status is CheckStatus.PASSED
    if verdict is Verdict.VERIFIED:
        assert report.check("schema").status is CheckStatus.PASSED


async def test_endorsement_example_notes_its_unbundled_schema_and_refresh_service() -> None:
    web = IssuersWeb()
    signed = web.sign(example("endorsement.json"))
    report = await web.verifier().verify(signed)
    schema = report.check("schema")
    assert schema.status is CheckStatus.WARNING
    assert "https://state.gov/schema/endorsementcredential.json is not bundled" in schema.message
    refresh = report.check("refresh")
    assert "not followed" in refresh.message and "1EdTechCredentialRefresh" in refresh.message


def embedded_endorsements(node: Any) -> list[dict[str, Any]]:
    """Every embedded EndorsementCredential, innermost first (so signing order is right)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            found += embedded_endorsements(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            found += embedded_endorsements(value)
            if key == "endorsement":
                found += [item for item in value if isinstance(item, dict)]
    return found


def modernised_full_badge(web: IssuersWeb) -> dict[str, Any]:
    """fullOpenBadge.json as spec v1.4.2+ publishes it: BitstringStatusListEntry status and
    eddsa-rdfc-2022 endorsement proofs (each endorsement also gets the extensions context its
    credentialSchema type needs). Endorsements are re-signed by their issuers, then the badge."""
    badge = example("fullOpenBadge.json")
    for endorsement in embedded_endorsements(badge):
        signed = resign_endorsement(web, endorsement)
        endorsement.clear()
        endorsement.update(signed)
    badge["credentialStatus"] = web.status_entry(str(issuer_id(badge)))
    return web.sign(badge)


def resign_endorsement(web: IssuersWeb, endorsement: dict[str, Any]) -> dict[str, Any]:
    unsigned = {key: value for key, value in endorsement.items() if key != "proof"}
    if EXTENSIONS not in unsigned["@context"]:
        unsigned["@context"] = [*unsigned["@context"], EXTENSIONS]
    unsigned["credentialStatus"] = web.status_entry(str(issuer_id(unsigned)))
    return web.sign(unsigned)


async def test_full_example_in_its_current_form_verifies() -> None:
    web = IssuersWeb()
    signed = modernised_full_badge(web)
    report = await web.verifier(before_2020).verify(signed)
    assert report.verdict is Verdict.VERIFIED, report.decided_by
    # One each on the credential, its achievement and its issuer; two on the achievement's
    # creator (the same issuer Profile, embedded there with its own endorsements).
    assert report.check("endorsements").message == "5 endorsement(s) verified"
    assert report.check("status").status is CheckStatus.PASSED
    assert report.display.achievement_name == "1EdTech University Degree"


async def test_full_example_revoked_by_its_issuer() -> None:
    web = IssuersWeb()
    signed = modernised_full_badge(web)
    web.revoked.add(str(issuer_id(signed)))
    report = await web.verifier(before_2020).verify(signed)
    assert report.verdict is Verdict.REVOKED, report.decided_by


async def test_full_example_with_a_revoked_endorsement_is_still_verified_with_a_warning() -> None:
    web = IssuersWeb()
    signed = modernised_full_badge(web)
    web.revoked.add("https://accrediter.edu/issuers/565049")
    report = await web.verifier(before_2020).verify(signed)
    assert report.verdict is Verdict.VERIFIED, report.decided_by
    assert report.check("endorsements").status is CheckStatus.WARNING
    assert "is revoked" in report.check("endorsements").message


async def test_full_example_with_a_forged_endorsement_is_invalid() -> None:
    web = IssuersWeb()
    signed = modernised_full_badge(web)
    forged = copy.deepcopy(signed)
    del forged["proof"]
    forged["issuer"]["endorsement"][0]["credentialSubject"]["endorsementComment"] = "Forged"
    resigned = web.sign(forged)  # the badge's own proof is good
    report = await web.verifier(before_2020).verify(resigned)
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "endorsements"


async def test_a_forged_endorsement_of_the_achievement_creator_is_caught() -> None:
    web = IssuersWeb()
    forged = copy.deepcopy(modernised_full_badge(web))
    del forged["proof"]
    creator = forged["credentialSubject"]["achievement"]["creator"]
    creator["endorsement"][0]["credentialSubject"]["endorsementComment"] = "Forged"
    resigned = web.sign(forged)
    report = await web.verifier(before_2020).verify(resigned)
    assert report.verdict is Verdict.INVALID


async def test_the_test_vector_credential_verifies_through_its_controller_document() -> None:
    pair = VECTOR["keyPair"]
    method = {
        "id": pair["verificationMethod"],
        "type": "Multikey",
        "controller": pair["controller"],
        "publicKeyMultibase": pair["publicKeyMultibase"],
    }
    web = {
        pair["controller"]: json.dumps({"id": pair["controller"], "verificationMethod": [method]})
    }
    verifier = Verifier(fetcher=MappedFetcher(web), clock=fixed_clock)
    report = await verifier.verify(VECTOR["signedCredential"])
    assert report.verdict is Verdict.VERIFIED, report.decided_by
    assert pair["verificationMethod"] in report.check("proof").message
    forged = copy.deepcopy(VECTOR["signedCredential"])
    forged["validFrom"] = "2010-01-01T00:00:01Z"
    assert (await verifier.verify(forged)).verdict is Verdict.INVALID


# The 1EdTech simple-err-* fixtures: which check fires is asserted in
# test_validator_fixtures.py; here, that its sentence names the defect the fixture is about.
ERROR_SENTENCES = [
    ("simple-err-context.json", "parse", '"@context" must start with'),
    ("simple-err-type.json", "jsonld", '"OtherCredential"'),
    ("simple-err-issuer.json", "parse", '"issuer" must be a URI or an object with an "id"'),
    ("simple-err-expired.json", "validity", "expired on 2010-01-01T00:00:00Z"),
    ("simple-err-issued.json", "validity", "not valid until 2040-01-01T00:00:00Z"),
    ("simple-err-proof-value.json", "proof", "signature does not match the document"),
    ("simple-err-proof-method.json", "proof", "is not an Ed25519 public key"),
    ("simple-err-proof-method-no-scheme.json", "proof", "cannot resolve z6Mk"),
    ("simple-err-proof-method-unknown-scheme.json", "proof", "'xxx' keys are not supported"),
    (
        "simple-err-proof-method-unknown-did-method.json",
        "proof",
        "'did:example' keys are not supported",
    ),
    ("simple-err-issuer-type.json", "jsonld", '"InvalidProfile"'),
    ("simple-err-credential-subject-type.json", "jsonld", '"achievement"'),
]


@pytest.fixture(scope="module")
def fixture_verifier() -> Verifier:
    return Verifier(fetcher=MappedFetcher(offline_web()), clock=fixed_clock)


@pytest.mark.parametrize(("name", "check", "sentence"), ERROR_SENTENCES, ids=lambda v: str(v))
async def test_error_fixture_is_explained_in_words(
    fixture_verifier: Verifier, name: str, check: str, sentence: str
) -> None:
    report = await fixture_verifier.verify((VALIDATOR / name).read_bytes())
    assert report.check(check).status is CheckStatus.FAILED
    assert sentence in report.check(check).message
