"""The fast canonicalization paths give plain pyld's bytes, on every credential we have.

"Plain pyld" is `jsonld.normalize` (URDNA2015, N-Quads, rdfDirection "i18n-datatype") with
the bundled document loader: what Lattice signed with before `schemas.rdfc`, the shared
expansion and the proof-configuration templates existed. The fast paths are
`canonicalize(document)` (pyld expansion, then `schemas.rdfc` or pyld's RDF conversion),
`canonicalize(document, expand(document))` (what the verifier's proof step does with the
jsonld step's expansion) and `canonicalize_proof_config`.

The corpus is every JSON credential under tests/fixtures, and, beside the checkout, under
shared/specs/ob3/examples, shared/specs/ob3/validator-fixtures/ob30 and
shared/interop/fixtures. A document plain pyld refuses must be refused by the fast paths too;
a document plain pyld accepts is either canonicalized to the same bytes or refused by JSON-LD
safe mode (what tests/schemas/test_jsonld.py pins, fixture by fixture).
"""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from schemas import rdfc
from schemas.contexts import UnknownDocumentError, document_loader
from schemas.jsonld import (
    RDF_DIRECTION,
    InvalidJsonLdError,
    JsonLdSafeModeError,
    canonicalize,
    canonicalize_proof_config,
    expand,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FOLDERS = (
    ROOT / "tests" / "fixtures",
    SHARED / "specs" / "ob3" / "examples",
    SHARED / "specs" / "ob3" / "validator-fixtures" / "ob30",
    SHARED / "interop" / "fixtures",
)
REFUSED = (InvalidJsonLdError, UnknownDocumentError)


def _credential(path: Path) -> dict[str, Any] | None:
    """The JSON-LD credential a fixture file holds (a test vector's unsigned one), or None."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(document, dict) and "@context" not in document:
        document = document.get("unsignedCredential")
    return document if isinstance(document, dict) and "@context" in document else None


def _corpus() -> dict[str, dict[str, Any]]:
    corpus = {}
    for folder in FOLDERS:
        for path in sorted(folder.rglob("*.json")):
            document = _credential(path)
            if document is not None:
                corpus[f"{folder.name}/{path.relative_to(folder)}"] = document
    return corpus


CORPUS = _corpus()


def plain_pyld(document: dict[str, Any]) -> str:
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "rdfDirection": RDF_DIRECTION,
        "documentLoader": document_loader,
    }
    result: str = jsonld.normalize(copy.deepcopy(document), options)
    return result


def plain_pyld_or_refusal(document: dict[str, Any]) -> str | None:
    try:
        return plain_pyld(document)
    except jsonld.JsonLdError:
        return None


def unsecured(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}


def proof_configs(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each proof's options with the document's @context: what a proof's first hash covers."""
    proofs = document.get("proof")
    found = []
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        if isinstance(proof, dict):
            config = {key: value for key, value in proof.items() if key != "proofValue"}
            found.append({**config, "@context": document["@context"]})
    return found


def assert_same_as_plain_pyld(document: dict[str, Any]) -> None:
    expected = plain_pyld_or_refusal(document)
    if expected is None:
        with pytest.raises(REFUSED):
            canonicalize(document)
        return
    try:
        fast = canonicalize(document)
    except JsonLdSafeModeError:
        with pytest.raises(JsonLdSafeModeError):
            expand(document)  # refused by safe mode while expanding, as before
        return
    assert fast == expected
    assert canonicalize(document, expand(document)) == expected


def test_the_corpus_holds_every_fixture_folder():
    assert len(CORPUS) >= 80
    for folder in FOLDERS:
        assert any(name.startswith(f"{folder.name}/") for name in CORPUS), folder


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_document_canonicalizes_as_plain_pyld_does(name):
    assert_same_as_plain_pyld(unsecured(CORPUS[name]))


@pytest.mark.parametrize(
    "name", sorted(name for name, document in CORPUS.items() if proof_configs(document))
)
def test_proof_configuration_canonicalizes_as_plain_pyld_does(name):
    for config in proof_configs(CORPUS[name]):
        expected = plain_pyld_or_refusal(config)
        if expected is None:
            with pytest.raises(REFUSED):
                canonicalize_proof_config(config)
            continue
        try:
            first = canonicalize_proof_config(config)
        except JsonLdSafeModeError:
            with pytest.raises(JsonLdSafeModeError):
                canonicalize(config)
            continue
        assert first == expected
        assert canonicalize_proof_config(config) == expected  # from the template


def test_every_fixture_with_a_proof_is_covered_by_the_proof_configuration_test():
    assert sum(1 for document in CORPUS.values() if proof_configs(document)) >= 40


def test_the_eddsa_rdfc_2022_vector_holds_on_the_shared_expansion_path():
    folder = ROOT / "tests" / "fixtures" / "ob3" / "test-vectors" / "eddsa-rdfc-2022"
    vector = json.loads((folder / "ob3-ldp-test-vector.json").read_text(encoding="utf-8"))
    document = vector["unsignedCredential"]
    expected = (folder / "document-canon.txt").read_text(encoding="utf-8")
    assert canonicalize(document, expand(document)) == expected
    config = {"@context": document["@context"], **vector["proofOptions"]}
    expected_config = (folder / "proof-canon.txt").read_text(encoding="utf-8")
    assert canonicalize_proof_config(config) == expected_config
    assert canonicalize_proof_config(config) == expected_config


# --- the proof configuration template ------------------------------------------------------


def vector_config() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": "did:key:z6MkhTNL7i2etLerDK8Acz5t528giE5KA4p75T6ka1E1D74r#key-1",
        "proofPurpose": "assertionMethod",
    }


@pytest.mark.parametrize(
    "created",
    [
        "2024-01-01T00:00:00Z",
        "2010-01-01T19:23:24Z",
        "2099-12-31T23:59:59.999+14:00",
        "1999-12-31T23:59:59-05:00",
    ],
)
def test_a_new_created_gets_the_bytes_plain_pyld_gives(created):
    canonicalize_proof_config({**vector_config(), "created": "2000-06-15T12:00:00Z"})
    config = {**vector_config(), "created": created}
    assert canonicalize_proof_config(config) == plain_pyld(config)


@pytest.mark.parametrize("created", ["2024-01-01 00:00:00Z", 'x"y', "a\\b", "", 20240101])
def test_a_created_that_needs_escaping_or_is_not_a_string_takes_the_full_path(created):
    config = {**vector_config(), "created": created}
    assert canonicalize_proof_config(config) == plain_pyld(config)


def test_a_configuration_whose_created_is_an_iri_is_never_templated():
    context = {"@vocab": "https://example.com/vocab#", "created": {"@type": "@id"}}
    for created in ("https://example.com/a", "https://example.com/b"):
        config = {"@context": context, "type": "Proof", "created": created}
        assert canonicalize_proof_config(config) == plain_pyld(config)


def test_a_configuration_with_several_blank_nodes_is_never_templated():
    context = {
        "@vocab": "https://example.com/vocab#",
        "created": {"@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
    }
    for created in ("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"):
        config = {"@context": context, "created": created, "part": {"created": created}}
        assert canonicalize_proof_config(config) == plain_pyld(config)


def test_a_created_equal_to_another_literal_of_the_same_property_is_not_doubled():
    context = {
        "@vocab": "https://example.com/vocab#",
        "created": {"@id": "https://example.com/vocab#when", "@type": "xsd:dateTime"},
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "when": {"@type": "xsd:dateTime"},
    }
    base = {"@context": context, "when": "2024-01-01T00:00:00Z"}
    for created in ("2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z"):
        config = {**base, "created": created}
        assert canonicalize_proof_config(config) == plain_pyld(config)


# --- schemas.rdfc on constructs credentials rarely use --------------------------------------

EX: dict[str, Any] = {
    "@vocab": "https://example.com/vocab#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "items": {"@container": "@list"},
    "link": {"@type": "@id"},
    "data": {"@type": "@json"},
    "count": {"@type": "xsd:integer"},
    "score": {"@type": "xsd:double"},
}

EDGE_CASES: dict[str, dict[str, Any]] = {
    "list of values, nodes and a nested list": {
        "@id": "https://example.com/s",
        "items": ["a", {"name": "b"}, {"@list": [1, 2.5]}, True],
    },
    "list of values": {"@id": "https://example.com/s", "items": ["a", "b", 1]},
    "empty list": {"@id": "https://example.com/s", "items": []},
    "json literal": {"@id": "https://example.com/s", "data": {"b": [1, 2], "a": "x"}},
    "numbers, booleans and typed strings": {
        "@id": "https://example.com/s",
        "n": [1, 2.0, 1e21, -0.5, True, False],
        "count": "007",
        "score": ["1", "abc", 3],
    },
    "escaped strings and languages": {
        "@id": "https://example.com/s",
        "text": ['a "quoted"\\ line\nnext\ttab\r', {"@value": "Hallo", "@language": "de-AT"}],
    },
    "direction": {
        "@id": "https://example.com/s",
        "name": [
            {"@value": "شارة", "@language": "ar", "@direction": "rtl"},
            {"@value": "x", "@direction": "ltr"},
        ],
    },
    "equal values written twice": {
        "@id": "https://example.com/s",
        "n": [1, 1.0, 1, "1"],
        "name": ["same", "same"],
    },
    "equal values that pyld merges into one literal": {
        "@id": "https://example.com/s",
        "name": [
            {"@value": "x", "@language": "ar"},
            {"@value": "x", "@language": "ar", "@direction": "rtl"},
        ],
    },
    "a node described twice": {
        "@id": "https://example.com/s",
        "knows": [
            {"@id": "https://example.com/o", "name": "O"},
            {"@id": "https://example.com/o", "name": ["O", "Oh"]},
        ],
    },
    "blank nodes by label and a cycle": {
        "@id": "_:root",
        "knows": {"@id": "_:friend", "knows": {"@id": "_:root"}, "name": "F"},
        "name": "R",
    },
    "blank nodes that only n-degree hashing tells apart": {
        "@id": "https://example.com/s",
        "knows": [{"knows": {"name": "x"}}, {"knows": {"name": "x"}}, {"name": "x"}],
    },
    "blank node types": {"@id": "https://example.com/s", "@type": "_:kind", "name": "s"},
    "a top-level @graph": {
        "@graph": [{"@id": "https://example.com/a", "name": "A"}, {"name": "B"}],
    },
    "a named graph": {
        "@id": "https://example.com/g",
        "@graph": [{"@id": "https://example.com/a", "name": "A"}],
    },
    "reverse properties": {
        "@id": "https://example.com/s",
        "@reverse": {"knows": {"@id": "https://example.com/o"}},
    },
    "an indexed value": {
        "@id": "https://example.com/s",
        "name": {"@value": "x", "@index": "first"},
    },
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_rdf_conversion_edge_cases_match_plain_pyld(case):
    document = {"@context": EX, **EDGE_CASES[case]}
    assert canonicalize(document) == plain_pyld(document)
    assert canonicalize(document, expand(document)) == plain_pyld(document)


def test_the_fast_path_answers_for_credentials_and_leaves_n_degree_cases_to_pyld():
    def answers(document: dict[str, Any]) -> bool:
        return rdfc.canonical_nquads(expand(document), _literal) is not None

    assert answers(unsecured(CORPUS["fixtures/interop/ref.json"]))
    assert answers({"@context": EX, **EDGE_CASES["list of values"]})
    nested = {"@context": EX, **EDGE_CASES["blank nodes that only n-degree hashing tells apart"]}
    assert not answers(nested)
    assert not answers({"@context": EX, **EDGE_CASES["reverse properties"]})


class GivenExpansion(jsonld.JsonLdProcessor):
    """Plain pyld from the RDF conversion on: `to_rdf` gets this tree as the expansion."""

    def __init__(self, tree: list[Any]) -> None:
        super().__init__()
        self.tree = tree

    def expand(self, input_: Any, options: Any) -> Any:
        return self.tree


def test_relative_iris_that_safe_mode_would_refuse_are_dropped_as_pyld_drops_them():
    # Safe mode refuses these documents before RDF conversion; schemas.rdfc still skips
    # what pyld skips, checked here on an expanded tree given to both directly.
    tree = [
        {
            "@id": "https://example.com/s",
            "https://example.com/vocab#link": [
                {"@id": "relative/path"},
                {"@id": "https://example.com/absolute"},
            ],
            "https://example.com/vocab#knows": [
                {
                    "@id": "relative-node",
                    "@type": ["relative-type", "https://example.com/Type"],
                    "https://example.com/vocab#name": [{"@value": "no subject"}],
                    "https://example.com/vocab#knows": [{"@id": "https://example.com/o"}],
                }
            ],
            "relative-property": [{"@value": "dropped"}],
            "_:blank-property": [{"@value": "dropped"}],
        },
        {
            "@id": "https://example.com/o",
            "https://example.com/vocab#items": [
                {
                    "@list": [
                        {"@value": "a"},
                        {
                            "@id": "https://example.com/p",
                            "https://example.com/vocab#name": [{"@value": "P"}],
                        },
                    ]
                }
            ],
        },
    ]
    options: dict[str, Any] = {"algorithm": "URDNA2015", "format": "application/n-quads"}
    options |= {"rdfDirection": RDF_DIRECTION, "documentLoader": document_loader}
    expected = GivenExpansion(copy.deepcopy(tree)).normalize({}, options)
    assert "relative" not in expected and "dropped" not in expected
    assert "no subject" not in expected and "https://example.com/Type" not in expected
    assert rdfc.canonical_nquads(tree, _literal) == expected


def _literal(item: Any) -> Any:
    processor = jsonld.JsonLdProcessor()
    options = {"rdfDirection": RDF_DIRECTION, "processingMode": "json-ld-1.1"}
    return processor._object_to_rdf(item, None, [], options)


def test_the_shared_expansion_is_not_changed_by_canonicalizing():
    document = {"@context": EX, **EDGE_CASES["blank nodes that only n-degree hashing tells apart"]}
    expanded = expand(document)
    before = copy.deepcopy(expanded)
    canonicalize(document, expanded)
    canonicalize(document, expanded)
    assert expanded == before
