"""RDFC-1.0 canonicalization: byte-identical to plain pyld, offline, JSON-LD safe mode."""

import copy
import json
import socket
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from pyld import jsonld

from schemas.contexts import (
    UnknownDocumentError,
    document_loader,
    is_known_context,
    register_contexts,
)
from schemas.jsonld import InvalidJsonLdError, JsonLdSafeModeError, canonicalize, expand

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VECTOR_DIR = FIXTURES / "ob3" / "test-vectors" / "eddsa-rdfc-2022"
VECTOR = json.loads((VECTOR_DIR / "ob3-ldp-test-vector.json").read_text(encoding="utf-8"))
EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"

# Fixtures that JSON-LD safe mode must refuse, and the term each message must name. Plain
# pyld accepts all of them, silently dropping the term or turning the type into
# <http://example.org/base/...>; jsonld.js in safe mode (digitalbazaar, 1EdTech) refuses them.
SAFE_MODE_REJECTS = {
    "complete_v1.json": '"1EdTechJsonSchemaValidator2019"',  # no extensions context
    "simple-err-context.json": '"credentialSubject"',  # no credentials context
    "simple-err-credential-subject-achievement-result-description-type.json": '"resultType"',
    "simple-err-credential-subject-identifier-type.json": '"hashed"',
    "simple-err-credential-subject-profile-type.json": '"InvalidProfile"',
    "simple-err-credential-subject-result-type.json": '"achievedLevel"',
    "simple-err-credential-subject-type.json": '"achievement"',
    "simple-err-evidence-type.json": '"audience"',
    "simple-err-issuer-otheridentifier-type.json": '"identifier"',
    "simple-err-issuer-parentorg-type.json": '"InvalidProfile"',
    "simple-err-issuer-type.json": '"InvalidProfile"',
    "simple-err-type.json": '"OtherCredential"',
}


def _contexts(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                found.extend(value if isinstance(value, list) else [value])
            else:
                _contexts(value, found)
    elif isinstance(node, list):
        for value in node:
            _contexts(value, found)
    return found


def _corpus():
    """Every fixture JSON that parses and uses only bundled contexts, with its proof removed."""
    paths = [
        *sorted((FIXTURES / "ob3" / "validator-fixtures" / "ob30").rglob("*.json")),
        *sorted((FIXTURES / "ob3" / "examples").rglob("*.json")),
        *sorted((FIXTURES / "interop").glob("*.json")),
        VECTOR_DIR / "ob3-ldp-test-vector.json",
    ]
    corpus = {}
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if path.name == "ob3-ldp-test-vector.json":
            document = document["unsignedCredential"]
        urls = _contexts(document, [])
        if not urls or not all(isinstance(u, str) and is_known_context(u) for u in urls):
            continue
        document.pop("proof", None)
        corpus[str(path.relative_to(FIXTURES))] = document
    return corpus


CORPUS = _corpus()


def plain_pyld(document):
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": document_loader,
    }
    return jsonld.normalize(copy.deepcopy(document), options)


def reference_credential():
    return copy.deepcopy(CORPUS["interop/ref.json"])


def test_vector_document_canonicalizes_to_document_canon_txt():
    expected = (VECTOR_DIR / "document-canon.txt").read_text(encoding="utf-8")
    assert canonicalize(VECTOR["unsignedCredential"]) == expected


def test_vector_proof_configuration_canonicalizes_to_proof_canon_txt():
    config = {"@context": VECTOR["unsignedCredential"]["@context"], **VECTOR["proofOptions"]}
    expected = (VECTOR_DIR / "proof-canon.txt").read_text(encoding="utf-8")
    assert canonicalize(config) == expected


def test_corpus_is_the_whole_fixture_set():
    assert len(CORPUS) >= 45
    assert set(SAFE_MODE_REJECTS) <= {Path(name).name for name in CORPUS}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_output_is_byte_identical_to_plain_pyld_or_refused_in_safe_mode(name):
    document = CORPUS[name]
    expected_term = SAFE_MODE_REJECTS.get(Path(name).name)
    if expected_term is not None:
        plain_pyld(document)  # plain pyld accepts it, losing data silently
        with pytest.raises(JsonLdSafeModeError, match=expected_term):
            canonicalize(document)
        return
    expected = plain_pyld(document)
    assert canonicalize(document) == expected
    assert canonicalize(document) == expected  # warm caches give the same bytes


def test_proof_configurations_match_plain_pyld():
    for name in ("interop/ref.json", "ob3/validator-fixtures/ob30/simple-eddsa-2022.json"):
        raw = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
        proof = raw["proof"][0] if isinstance(raw["proof"], list) else raw["proof"]
        config = {key: value for key, value in proof.items() if key != "proofValue"}
        config["@context"] = raw["@context"]
        assert canonicalize(config) == plain_pyld(config)


def test_input_is_not_modified():
    document = reference_credential()
    before = copy.deepcopy(document)
    canonicalize(document)
    expand(document)
    assert document == before


def test_inline_context_objects_work_and_match_plain_pyld():
    document = reference_credential()
    document["@context"].append({"ex": "https://example.com/vocab#", "motto": "ex:motto"})
    document["credentialSubject"]["motto"] = "Teach well"
    assert canonicalize(document) == plain_pyld(document)
    assert '<https://example.com/vocab#motto> "Teach well"' in canonicalize(document)


def test_undefined_term_is_refused_and_named():
    document = reference_credential()
    document["credentialSubject"]["favouriteColour"] = "teal"
    with pytest.raises(JsonLdSafeModeError, match='"favouriteColour"') as caught:
        canonicalize(document)
    assert "not defined by the @context" in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert "favouriteColour" not in plain_pyld(document)  # what plain pyld silently does


def test_term_mapped_to_null_and_keyword_lookalikes_are_refused():
    nulled = reference_credential()
    nulled["@context"].append({"motto": None})
    nulled["motto"] = "x"
    with pytest.raises(JsonLdSafeModeError, match='"motto"'):
        canonicalize(nulled)
    lookalike = reference_credential()
    lookalike["@motto"] = "x"
    with pytest.raises(JsonLdSafeModeError, match='"@motto"'):
        canonicalize(lookalike)


def test_relative_type_is_refused_and_named():
    document = reference_credential()
    document["credentialSchema"] = [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ]
    with pytest.raises(JsonLdSafeModeError, match="relative @type reference") as caught:
        canonicalize(document)
    assert '"1EdTechJsonSchemaValidator2019"' in str(caught.value)
    assert EXTENSIONS in str(caught.value)
    # plain pyld resolves it against its made-up default base instead
    assert "<http://example.org/base/1EdTechJsonSchemaValidator2019>" in plain_pyld(document)

    document["@context"].append(EXTENSIONS)
    assert canonicalize(document) == plain_pyld(document)


def test_relative_id_is_refused_unless_the_context_sets_a_base():
    document = reference_credential()
    document["id"] = "credentials/1"
    with pytest.raises(JsonLdSafeModeError, match='relative @id reference "credentials/1"'):
        canonicalize(document)
    document["@context"].append({"@base": "https://issuer.example.org/"})
    assert "<https://issuer.example.org/credentials/1>" in canonicalize(document)
    assert canonicalize(document) == plain_pyld(document)


def test_undefined_terms_vocab_makes_terms_absolute():
    document = reference_credential()
    document["@context"].append("https://www.w3.org/ns/credentials/undefined-terms/v2")
    document["favouriteColour"] = "teal"
    assert canonicalize(document) == plain_pyld(document)


def test_direction_is_kept_as_an_i18n_datatype():
    document = reference_credential()
    document["name"] = {"@value": "شارة", "@language": "ar", "@direction": "rtl"}
    nquads = canonicalize(document)
    assert '"شارة"^^<https://www.w3.org/ns/i18n#ar_rtl>' in nquads
    options = {"algorithm": "URDNA2015", "format": "application/n-quads"}
    options |= {"rdfDirection": "i18n-datatype", "documentLoader": document_loader}
    assert nquads == jsonld.normalize(copy.deepcopy(document), options)


def test_unknown_remote_context_is_refused_and_named():
    document = reference_credential()
    document["@context"].append("https://example.com/contexts/badges.jsonld")
    with pytest.raises(UnknownDocumentError) as caught:
        canonicalize(document)
    assert caught.value.url == "https://example.com/contexts/badges.jsonld"
    assert "https://example.com/contexts/badges.jsonld" in str(caught.value)
    with pytest.raises(UnknownDocumentError):
        expand(document)


def test_network_is_never_touched(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("JSON-LD processing tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    document = reference_credential()
    document["@context"].append("https://w3id.org/security/data-integrity/v2")
    assert canonicalize(document) == plain_pyld(document)
    document["@context"].append("https://example.com/never-fetched")
    with pytest.raises(UnknownDocumentError):
        canonicalize(document)


def test_other_json_ld_errors_are_invalid_json_ld_errors():
    document = reference_credential()
    document["@context"].append({"@version": 2.0})
    with pytest.raises(InvalidJsonLdError, match="invalid @version value"):
        canonicalize(document)


def test_expand_matches_plain_pyld_with_the_same_checks():
    document = reference_credential()
    expected = jsonld.expand(copy.deepcopy(document), {"documentLoader": document_loader})
    assert expand(document) == expected
    document["credentialSubject"]["favouriteColour"] = "teal"
    with pytest.raises(JsonLdSafeModeError, match='"favouriteColour"'):
        expand(document)


def test_concurrent_threads_get_the_same_bytes():
    names = [name for name in sorted(CORPUS) if Path(name).name not in SAFE_MODE_REJECTS]
    expected = [canonicalize(CORPUS[name]) for name in names]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda name: canonicalize(CORPUS[name]), names * 3))
    assert results == expected * 3


def test_fresh_worker_processes_get_the_same_bytes():
    documents = [CORPUS["interop/ref.json"], VECTOR["unsignedCredential"]]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(canonicalize, documents))
    assert results == [canonicalize(document) for document in documents]


@pytest.mark.parametrize(
    ("type_name", "defining_context"),
    [
        ("StatusList2021Entry", "https://w3id.org/vc/status-list/2021/v1"),
        ("StatusList2021Credential", "https://w3id.org/vc/status-list/2021/v1"),
        ("StatusList2021", "https://w3id.org/vc/status-list/2021/v1"),
        ("BitstringStatusListEntry", "https://www.w3.org/ns/credentials/v2"),
        ("1EdTechCredentialRefresh", EXTENSIONS),
        ("Ed25519Signature2020", "https://w3id.org/security/suites/ed25519-2020/v1"),
    ],
)
def test_an_undefined_type_names_the_context_that_defines_it(type_name, defining_context):
    document = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "id": "urn:uuid:2d4b3f0e-6c1e-4d8a-9a57-0f4c2d1b7e11",
        "type": ["VerifiableCredential", type_name],
        "issuer": "did:example:district9",
        "issuanceDate": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:teacher-1"},
    }
    with pytest.raises(JsonLdSafeModeError, match="relative @type reference") as caught:
        canonicalize(document)
    message = str(caught.value)
    assert f'"{type_name}" is defined by {defining_context}; is that context missing?' in message
    assert message.count("https://") == 1  # no other, wrong, suggestion


def test_an_unknown_undefined_type_gets_no_wrong_suggestion():
    document = reference_credential()
    document["type"] = ["VerifiableCredential", "OpenBadgeCredential", "TeachingLicence"]
    with pytest.raises(JsonLdSafeModeError, match='"TeachingLicence"') as caught:
        canonicalize(document)
    assert str(caught.value).endswith("(it is not a term of the @context; is a context missing?)")
    assert "https://" not in str(caught.value)


def test_the_vcdm_2_examples_context_defines_any_example_term():
    document = reference_credential()
    document["@context"].append("https://www.w3.org/ns/credentials/examples/v2")
    document["credentialSubject"]["favouriteSubject"] = "Chemistry"
    assert "<https://www.w3.org/ns/credentials/examples#favouriteSubject>" in canonicalize(document)
    assert canonicalize(document) == plain_pyld(document)


def test_a_context_registered_at_start_up_is_used():
    url = "https://district9.example/contexts/licences-v1"
    register_contexts({url: {"@context": {"licence": "https://district9.example/vocab#licence"}}})
    document = reference_credential()
    document["@context"].append(url)
    document["credentialSubject"]["licence"] = "K-12 Science"
    assert '<https://district9.example/vocab#licence> "K-12 Science"' in canonicalize(document)
