"""The offline document store: every bundled URL loads from disk, nothing else does."""

import json
import pickle
import re

import pytest

from schemas.contexts import (
    SPEC_DIR,
    UnknownDocumentError,
    document_loader,
    is_known_context,
    load_document,
)

OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
ACHIEVEMENT_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
LOADER_MAP = json.loads((SPEC_DIR / "document-loader-map.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("url", sorted(LOADER_MAP["jsonldContexts"]))
def test_every_bundled_context_loads_and_is_known(url):
    document = load_document(url)
    assert "@context" in document
    assert is_known_context(url)


@pytest.mark.parametrize("url", sorted(LOADER_MAP["jsonSchemas"]))
def test_every_bundled_json_schema_loads_but_is_not_a_context(url):
    assert "$schema" in load_document(url)
    assert not is_known_context(url)


def test_documents_are_parsed_once_and_shared():
    assert load_document(OB_CONTEXT) is load_document(OB_CONTEXT)


def test_aliases_share_one_file():
    alias = "https://purl.imsglobal.org/spec/ob/v3p0/context/ob_v3p0.jsonld"
    original = "https://purl.imsglobal.org/spec/ob/v3p0/context.json"
    assert load_document(alias) == load_document(original)
    schema_id = load_document(ACHIEVEMENT_SCHEMA)["$id"]
    assert schema_id.endswith("achievementcredential-jsonschema1.json")


def test_unknown_url_is_refused_with_a_clear_message():
    url = "https://example.com/contexts/v1"
    with pytest.raises(UnknownDocumentError) as caught:
        load_document(url)
    assert isinstance(caught.value, LookupError)
    assert caught.value.url == url
    assert str(caught.value) == (
        f"context {url} is not bundled with Lattice; remote contexts are never fetched"
    )
    assert not is_known_context(url)


def test_unknown_document_error_survives_pickling():
    # multiprocessing pools send exceptions back to the parent pickled
    error = pickle.loads(pickle.dumps(UnknownDocumentError("https://example.com/x")))  # noqa: S301
    assert error.url == "https://example.com/x"


def test_pyld_loader_serves_a_private_static_copy():
    remote = document_loader(VC_CONTEXT, {})
    assert remote["documentUrl"] == VC_CONTEXT
    assert remote["contextUrl"] is None
    assert remote["tag"] == "static"
    assert remote["document"] == load_document(VC_CONTEXT)
    remote["document"]["@context"]["tampered"] = "https://evil.example/"
    assert "tampered" not in load_document(VC_CONTEXT)["@context"]


def test_pyld_loader_serves_contexts_only():
    with pytest.raises(UnknownDocumentError, match="never fetched"):
        document_loader(ACHIEVEMENT_SCHEMA, {})
    with pytest.raises(UnknownDocumentError, match=re.escape("https://example.org/ctx")):
        document_loader("https://example.org/ctx", {})


def test_spec_dir_lives_inside_the_package():
    assert SPEC_DIR.parent.name == "schemas"
    assert (SPEC_DIR / "ob3" / "contexts" / "context-3.0.3.json").is_file()
