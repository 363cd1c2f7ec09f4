"""Canonicalization and eddsa-rdfc-2022 sign/verify rates for the interop reference credential.

Run: .venv/bin/python bench/canonicalize.py [seconds per measurement, default 2]
One process, warm caches. "plain pyld" is jsonld.normalize with the bundled document loader
(which tags contexts `static`, so pyld caches them by URL); "plain pyld, untagged" is the
same loader without that tag, i.e. pyld as usually configured (PERFORMANCE.md's 3.1 ms).
"canonicalize" is what signing does: expand with pyld, then schemas.rdfc (pyld where it
declines), and the proof configuration from its template after the first. "verifier path" is
what the proof step does once the jsonld step has expanded the credential: the document from
that expansion, the configuration from its template.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld import jsonld

from keys.data_integrity import sign_document, verify_document
from keys.multikey import did_key_verification_method
from schemas.contexts import document_loader
from schemas.jsonld import canonicalize, canonicalize_proof_config, expand

REF = ROOT / "tests" / "fixtures" / "interop" / "ref.json"


def untagged_loader(url: str, options: dict[str, Any]) -> dict[str, Any]:
    remote = document_loader(url, options)
    del remote["tag"]
    return remote


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second, after a warm-up call."""
    operation()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        operation()
        count += 1
    return count / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    signed = json.loads(REF.read_text(encoding="utf-8"))
    credential = {key: value for key, value in signed.items() if key != "proof"}
    proof_config = {key: value for key, value in signed["proof"].items() if key != "proofValue"}
    proof_config["@context"] = credential["@context"]

    def plain(loader: Callable[..., dict[str, Any]]) -> Callable[[], object]:
        options = {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": loader,
        }
        return lambda: (
            jsonld.normalize(credential, options),
            jsonld.normalize(proof_config, options),
        )

    for document in (credential, proof_config):
        expected = jsonld.normalize(
            document,
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": document_loader,
            },
        )
        if (
            canonicalize(document) != expected
            or canonicalize(document, expand(document)) != expected
        ):
            raise SystemExit("canonicalize differs from plain pyld: benchmark aborted")
    if canonicalize_proof_config(proof_config) != canonicalize(proof_config):
        raise SystemExit("the proof configuration template differs: benchmark aborted")

    key = Ed25519PrivateKey.generate()
    method = did_key_verification_method(key.public_key())
    created = datetime(2025, 1, 1, tzinfo=UTC)
    mine = sign_document(credential, key, method, created)
    if not verify_document(mine, key.public_key()).verified:
        raise SystemExit("sign/verify round trip failed: benchmark aborted")

    untagged = rate(plain(untagged_loader), seconds)
    tagged = rate(plain(document_loader), seconds)
    fast = rate(
        lambda: (canonicalize(credential), canonicalize_proof_config(proof_config)), seconds
    )
    expanded = expand(credential)
    verifier = rate(
        lambda: (canonicalize(credential, expanded), canonicalize_proof_config(proof_config)),
        seconds,
    )
    expanding = rate(lambda: expand(credential), seconds)
    signing = rate(lambda: sign_document(credential, key, method, created), seconds)
    verifying = rate(lambda: verify_document(mine, key.public_key()), seconds)

    print(f"interop ref.json, credential + proof configuration ({seconds:g} s per figure)")
    print(f"  plain pyld, untagged loader   {untagged:8.0f}/s  {1000 / untagged:6.2f} ms")
    print(f"  plain pyld, bundled loader    {tagged:8.0f}/s  {1000 / tagged:6.2f} ms")
    print(f"  schemas.jsonld.canonicalize   {fast:8.0f}/s  {1000 / fast:6.2f} ms")
    print(f"  verifier path (expansion kept){verifier:8.0f}/s  {1000 / verifier:6.2f} ms")
    print(f"  (pyld expansion of the document alone: {1000 / expanding:.2f} ms)")
    print(
        f"  speed-up                      {fast / tagged:8.1f}x  "
        f"({fast / untagged:.1f}x vs untagged)"
    )
    print(f"  eddsa-rdfc-2022 sign          {signing:8.0f}/s")
    print(f"  eddsa-rdfc-2022 verify        {verifying:8.0f}/s")


if __name__ == "__main__":
    main()
