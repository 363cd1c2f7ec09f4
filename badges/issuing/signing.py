"""Signing credentials: a Data Integrity proof, then the VC-JWT of the signed document.

Signing is CPU-bound (two RDFC-1.0 canonicalizations per credential dominate), and the
GIL means threads do not add throughput. Both single credentials and batches are signed in a
process pool, so the service process keeps its core (and its GIL) for requests and the
database: a signing thread held the GIL for milliseconds at a time, and every database
round trip (a hop to the driver's thread) waited for it, stretching the short write
transactions of concurrent issuers. While a batch occupies the pool, single credentials are
signed on a thread instead of queueing behind it; so they are with fewer than two workers.
Jobs carry the private keys as PKCS#8 bytes because key objects cannot be pickled; each
worker process rebuilds a key once and caches it.

When the service runs several processes (`LATTICE_WORKERS`), they already share the cores,
and a single credential is signed in the process that serves its request (`inline_singles`):
handing one credential to a signing process cost more CPU than signing it (about 1.5 ms of
pickling, queues and waking a cold process, against 1.2 ms of signing), so with two workers
on PostgreSQL the whole service spent 18 % less CPU per issue. Batches still go to the pool.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from multiprocessing import get_context
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badges.issuing.data_model import unknown_context
from keys.data_integrity import sign_document
from keys.keypair import KeyAlgorithm, KeyPair
from keys.vc_jwt import encode_vc_jwt
from schemas.contexts import UnknownDocumentError
from schemas.jsonld import InvalidJsonLdError

# Below this many credentials the pool's pickling and hand-off cost more than they save.
_POOL_THRESHOLD = 16


@dataclass(frozen=True)
class SigningKeys:
    """What one issuer signs with: Ed25519 for the proof, Ed25519 or RSA for the VC-JWT."""

    proof_algorithm: KeyAlgorithm
    proof_key: bytes
    verification_method: str
    # Without a JWT key only the Data Integrity form is made (e.g. VCDM 1.1 input).
    jwt_algorithm: KeyAlgorithm | None = None
    jwt_key: bytes | None = None
    jwt_kid: str | None = None


@dataclass(frozen=True)
class SignedCredential:
    document: str
    jwt: str | None


def sign_credential(
    unsigned: dict[str, Any], keys: SigningKeys, created: datetime, *, proof_array: bool = True
) -> SignedCredential:
    """Sign `unsigned`; `proof_array=False` writes the single proof as one object."""
    proof_key = _keypair(keys.proof_algorithm, keys.proof_key).private_key
    if not isinstance(proof_key, Ed25519PrivateKey):
        raise TypeError("eddsa-rdfc-2022 proofs need an Ed25519 key")
    signed = sign_document(unsigned, proof_key, keys.verification_method, created)
    if proof_array:
        # The OB 3.0 JSON Schema (before its v1.3 compaction-tolerant revision) wants an
        # array. The W3C VC-API returns the proof as one object, so its route opts out.
        signed["proof"] = [signed["proof"]]
    document = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
    jwt = None
    if keys.jwt_algorithm and keys.jwt_key and keys.jwt_kid:
        jwt = encode_vc_jwt(signed, _keypair(keys.jwt_algorithm, keys.jwt_key), kid=keys.jwt_kid)
    return SignedCredential(document=document, jwt=jwt)


SigningJob = tuple[dict[str, Any], SigningKeys, datetime]
# A job that cannot be signed yields the reason (a str), so one bad award fails alone.
SigningOutcome = SignedCredential | str


def sign_or_explain(job: SigningJob, *, proof_array: bool = True) -> SigningOutcome:
    try:
        return sign_credential(*job, proof_array=proof_array)
    except InvalidJsonLdError as error:
        return f"the credential is not valid JSON-LD: {error}"
    except UnknownDocumentError as error:
        # A context the caller named (or one a context imports) that is not bundled: the
        # input is at fault, and remote contexts are never fetched.
        return unknown_context(error.url)


def _sign_chunk(jobs: Sequence[SigningJob]) -> list[SigningOutcome]:
    return [sign_or_explain(job) for job in jobs]


@lru_cache(maxsize=64)
def _keypair(algorithm: KeyAlgorithm, private_bytes: bytes) -> KeyPair:
    return KeyPair.from_private_bytes(algorithm, private_bytes)


class Signer:
    """Signs single credentials in a pool process (or, in a service of several processes, in
    its own), batches across the pool. One per service process."""

    def __init__(self, workers: int = 0, *, inline_singles: bool = False) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._inline_singles = inline_singles
        self._pool: ProcessPoolExecutor | None = None
        self._batches_signing = 0

    @property
    def inline_singles(self) -> bool:
        return self._inline_singles

    async def sign(
        self,
        unsigned: dict[str, Any],
        keys: SigningKeys,
        created: datetime,
        *,
        proof_array: bool = True,
    ) -> SigningOutcome:
        job = (unsigned, keys, created)
        if self._inline_singles:
            return sign_or_explain(job, proof_array=proof_array)
        work = partial(sign_or_explain, job, proof_array=proof_array)
        if self._workers < 2 or self._batches_signing:
            return await asyncio.to_thread(work)
        return await asyncio.get_running_loop().run_in_executor(self._ensure_pool(), work)

    async def sign_many(self, jobs: Sequence[SigningJob]) -> list[SigningOutcome]:
        if self._workers < 2 or len(jobs) < _POOL_THRESHOLD:
            return await asyncio.to_thread(_sign_chunk, jobs)
        pool = self._ensure_pool()
        loop = asyncio.get_running_loop()
        size = -(-len(jobs) // self._workers)
        chunks = [jobs[start : start + size] for start in range(0, len(jobs), size)]
        self._batches_signing += 1
        try:
            parts = await asyncio.gather(
                *(loop.run_in_executor(pool, _sign_chunk, chunk) for chunk in chunks)
            )
        finally:
            self._batches_signing -= 1
        return [signed for part in parts for signed in part]

    async def warm_up(self) -> None:
        """Start the worker processes now, so the first batch does not pay for their imports."""
        if self._workers < 2:
            return
        pool = self._ensure_pool()
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(pool, _sign_chunk, []) for _ in range(self._workers))
        )

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: forking a process that runs an event loop and DB pool is unsafe.
            self._pool = ProcessPoolExecutor(self._workers, mp_context=get_context("spawn"))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
