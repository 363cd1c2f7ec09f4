"""Where a single credential is signed: in a pool process, or (a service of several
processes) in the serving process itself; the credential is the same either way."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.settings import Settings
from app.state import build_state
from badges.issuing.credential_document import CredentialContent, build_credential
from badges.issuing.signing import Signer, SigningKeys, sign_credential
from keys.keypair import KeyAlgorithm, KeyPair
from keys.master import MasterKey

DID = "did:web:issuer.example"


def _keys() -> SigningKeys:
    return SigningKeys(
        proof_algorithm=KeyAlgorithm.ED25519,
        proof_key=KeyPair.generate(KeyAlgorithm.ED25519).private_bytes(),
        verification_method=f"{DID}#key-1",
        jwt_algorithm=KeyAlgorithm.RSA,
        jwt_key=KeyPair.generate(KeyAlgorithm.RSA).private_bytes(),
        jwt_kid=f"{DID}#key-2",
    )


def _unsigned() -> dict[str, Any]:
    return build_credential(
        CredentialContent(
            credential_id=f"https://issuer.example/credentials/{uuid.uuid4()}",
            issuer={"id": DID, "type": ["Profile"], "name": "Issuer"},
            achievement={
                "id": "https://issuer.example/achievements/1",
                "type": ["Achievement"],
                "name": "Close Reading",
                "description": "Plans and teaches close reading.",
                "criteria": {"narrative": "A lesson plan and a reflection."},
            },
            valid_from=datetime.now(UTC).replace(microsecond=0),
        )
    )


async def test_inline_signing_starts_no_process_and_signs_what_the_pool_signs() -> None:
    keys, unsigned = _keys(), _unsigned()
    created = datetime.now(UTC).replace(microsecond=0)
    # Ed25519 and RSASSA-PKCS1-v1_5 signatures are deterministic: same input, same bytes.
    expected = sign_credential(unsigned, keys, created)

    inline = Signer(2, inline_singles=True)
    before = set(multiprocessing.active_children())
    assert await inline.sign(unsigned, keys, created) == expected
    assert set(multiprocessing.active_children()) == before
    inline.close()

    pooled = Signer(2)
    try:
        assert await pooled.sign(unsigned, keys, created) == expected
        assert set(multiprocessing.active_children()) > before
    finally:
        pooled.close()


async def test_a_service_of_several_processes_signs_single_credentials_inline(
    tmp_path: Path,
) -> None:
    async def inline_with(workers: int) -> bool:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
            data_dir=tmp_path,
            master_key=MasterKey.generate().to_text(),
            workers=workers,
        )
        state = build_state(settings)
        try:
            return state.signer.inline_singles
        finally:
            await state.close()

    assert await inline_with(2)
    assert not await inline_with(1)
