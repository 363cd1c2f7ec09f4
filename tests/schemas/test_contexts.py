"""The offline document store: every bundled URL loads from disk, nothing else does."""

import copy
import hashlib
import json
import pickle
import re
import uuid

import pytest

from schemas.contexts import (
    SPEC_DIR,
    UnknownDocumentError,
    document_loader,
    is_bundled,
    is_known_context,
    load_document,
    register_contexts,
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


MANIFEST = json.loads((SPEC_DIR / "MANIFEST.json").read_text(encoding="utf-8"))
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


@pytest.mark.parametrize("relative", sorted(set(LOADER_MAP["jsonldContexts"].values())))
def test_every_bundled_context_file_is_in_the_manifest_as_shipped(relative):
    entry = next((item for item in MANIFEST["files"] if item["file"] == relative), None)
    assert entry is not None, f"{relative} has no MANIFEST.json entry"
    body = (SPEC_DIR / relative).read_bytes()
    assert (hashlib.sha256(body).hexdigest(), len(body)) == (entry["sha256"], entry["bytes"])
    assert entry["source"]


def test_the_vcdm_2_examples_context_is_bundled():
    # VCDM 2.0 §C.1: the examples context only sets @vocab, so any example term is defined.
    assert is_known_context(EXAMPLES_V2)
    assert load_document(EXAMPLES_V2) == {
        "@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}
    }


def _unique_url() -> str:
    return f"https://district9.example/contexts/{uuid.uuid4().hex}"


def test_a_registered_context_is_known_and_served():
    url = _unique_url()
    context = {"@context": {"licence": "https://district9.example/vocab#licence"}}
    assert not is_known_context(url)
    register_contexts({url: context})
    assert is_known_context(url)
    assert load_document(url) == context
    assert document_loader(url, {})["document"] == context
    register_contexts({url: copy.deepcopy(context)})  # the same again: nothing changes


def test_a_registered_context_cannot_change():
    url = _unique_url()
    register_contexts({url: {"@context": {"a": "https://district9.example/vocab#a"}}})
    with pytest.raises(ValueError, match="registered already with other content"):
        register_contexts({url: {"@context": {"a": "https://evil.example/a"}}})
    assert load_document(url)["@context"]["a"] == "https://district9.example/vocab#a"


def test_a_bundled_context_cannot_be_replaced():
    with pytest.raises(ValueError, match="bundled with Lattice"):
        register_contexts({VC_CONTEXT: {"@context": {"issuer": "https://evil.example/i"}}})
    assert "evil.example" not in json.dumps(load_document(VC_CONTEXT))
    assert is_bundled(VC_CONTEXT) and is_bundled(ACHIEVEMENT_SCHEMA)


def test_nothing_is_registered_when_one_context_is_not_a_context():
    good, bad = _unique_url(), _unique_url()
    with pytest.raises(ValueError, match="not a JSON object with @context"):
        register_contexts({good: {"@context": {}}, bad: {"vocab": "x"}})
    assert not is_known_context(good) and not is_known_context(bad)
