"""The trust folder: operator-supplied DID documents, fetched documents and contexts.

Layout (see verification/trust_dir.py and README "Offline trust material"): `dids/*.json`,
`documents/index.json` (URL -> file), `contexts/index.json` (URL -> file). A malformed file
stops start-up with a message naming it; nothing is skipped silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.verification.support import DidKeyIssuer, signed_status_list
from verification.trust_dir import TrustDirError, TrustMaterial, load_trust_dir

DID = "did:web:district9.invalid"
LIST_URL = "https://district9.invalid/status/1"
CONTEXT_URL = "https://district9.invalid/contexts/licences-v1"
CONTEXT = {"@context": {"licence": "https://district9.invalid/vocab#licence"}}


def write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


def did_document(did: str = DID) -> dict[str, Any]:
    return {"@context": ["https://www.w3.org/ns/did/v1"], "id": did, "verificationMethod": []}


def full_folder(root: Path) -> Path:
    write(root / "dids" / "district9.json", did_document())
    write(root / "documents" / "index.json", {LIST_URL: "status-1.json"})
    write(root / "documents" / "status-1.json", signed_status_list(DidKeyIssuer(), LIST_URL, "x"))
    write(root / "contexts" / "index.json", {CONTEXT_URL: "licences-v1.jsonld"})
    write(root / "contexts" / "licences-v1.jsonld", CONTEXT)
    return root


def refusal(root: Path) -> str:
    with pytest.raises(TrustDirError) as caught:
        load_trust_dir(root)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_a_full_folder_is_read(tmp_path: Path) -> None:
    material = load_trust_dir(full_folder(tmp_path))
    assert material.did_documents == {DID: did_document()}
    assert json.loads(material.documents[LIST_URL])["id"] == LIST_URL
    assert material.contexts == {CONTEXT_URL: CONTEXT}


def test_every_part_is_optional(tmp_path: Path) -> None:
    assert load_trust_dir(tmp_path) == TrustMaterial()


def test_a_vc_jwt_document_is_kept_as_text(tmp_path: Path) -> None:
    write(tmp_path / "documents" / "index.json", {LIST_URL: "status-1.jwt"})
    write(tmp_path / "documents" / "status-1.jwt", "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2ln\n")
    assert load_trust_dir(tmp_path).documents[LIST_URL].startswith(b"eyJhbGciOiJFZERTQSJ9.")


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nowhere") == f"trust folder: {tmp_path / 'nowhere'}: is not a folder"


def test_a_did_document_that_is_not_json_is_named(tmp_path: Path) -> None:
    bad = write(tmp_path / "dids" / "district9.json", '{"id": "did:web:district9.invalid",')
    assert refusal(tmp_path).startswith(f"trust folder: {bad}: is not valid JSON (")


@pytest.mark.parametrize(
    "document", [[], {"id": "https://district9.invalid/"}, {"id": f"{DID}#key-1"}, {}]
)
def test_a_did_document_needs_a_did_as_its_id(tmp_path: Path, document: Any) -> None:
    bad = write(tmp_path / "dids" / "district9.json", document)
    assert refusal(tmp_path) == (
        f'trust folder: {bad}: is not a DID document (its "id" must be a DID)'
    )


def test_two_documents_for_one_did_are_refused(tmp_path: Path) -> None:
    first = write(tmp_path / "dids" / "a.json", did_document())
    second = write(tmp_path / "dids" / "b.json", did_document())
    assert refusal(tmp_path) == (
        f"trust folder: {second}: is a second document for {DID} (see {first})"
    )


def test_an_index_entry_without_its_file_is_refused(tmp_path: Path) -> None:
    index = write(tmp_path / "documents" / "index.json", {LIST_URL: "status-1.json"})
    assert refusal(tmp_path) == (
        f"trust folder: {index}: the file for {LIST_URL}, status-1.json, does not exist"
    )


@pytest.mark.parametrize(
    ("index", "problem"),
    [
        ([LIST_URL], 'must be a JSON object: {"<URL>": "<file name>"}'),
        ({"file:///etc/passwd": "x.json"}, "'file:///etc/passwd' is not an http(s) URL"),
        ({LIST_URL: 7}, f"the file for {LIST_URL} must be a file name"),
    ],
)
def test_a_malformed_index_is_refused(tmp_path: Path, index: Any, problem: str) -> None:
    path = write(tmp_path / "documents" / "index.json", index)
    assert refusal(tmp_path) == f"trust folder: {path}: {problem}"


def test_an_index_cannot_point_outside_its_folder(tmp_path: Path) -> None:
    write(tmp_path / "secret.json", {})
    index = write(tmp_path / "documents" / "index.json", {LIST_URL: "../secret.json"})
    assert refusal(tmp_path).startswith(
        f"trust folder: {index}: the file for {LIST_URL} is outside"
    )


def test_files_without_an_index_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "documents" / "status-1.json", {})
    assert refusal(tmp_path) == (
        f"trust folder: {tmp_path / 'documents'}: holds files but no index.json saying which "
        "URL each is"
    )


def test_a_document_that_is_neither_json_nor_a_jwt_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "documents" / "index.json", {LIST_URL: "status-1.txt"})
    bad = write(tmp_path / "documents" / "status-1.txt", "revoked: none")
    assert refusal(tmp_path) == (
        f"trust folder: {bad}: is neither a JSON object nor a compact JWS (VC-JWT)"
    )


def test_a_context_must_be_a_json_ld_context(tmp_path: Path) -> None:
    write(tmp_path / "contexts" / "index.json", {CONTEXT_URL: "licences-v1.jsonld"})
    bad = write(tmp_path / "contexts" / "licences-v1.jsonld", {"licence": "x"})
    assert refusal(tmp_path) == (
        f'trust folder: {bad}: is not a JSON-LD context (an object with "@context")'
    )


def test_a_bundled_context_cannot_be_replaced(tmp_path: Path) -> None:
    url = "https://www.w3.org/ns/credentials/v2"
    write(tmp_path / "contexts" / "index.json", {url: "v2.jsonld"})
    bad = write(tmp_path / "contexts" / "v2.jsonld", CONTEXT)
    assert refusal(tmp_path) == (
        f"trust folder: {bad}: {url} is bundled with Lattice and cannot be replaced"
    )
